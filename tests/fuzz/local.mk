# libFuzzer targets (./configure --enable-fuzzing CC=clang); run briefly by tests/fuzz/run.sh.
# `make fuzz-targets` builds just them (what CI's fuzz stage needs).
FUZZ_TARGETS =
if ENABLE_FUZZING
include $(srcdir)/tests/fuzz/values.mk
include $(srcdir)/tests/fuzz/ditto.mk
endif
noinst_PROGRAMS += $(FUZZ_TARGETS)

.PHONY: fuzz-targets
fuzz-targets: $(FUZZ_TARGETS)
include $(srcdir)/tests/fuzz/dist.mk
