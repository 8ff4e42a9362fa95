# libFuzzer targets (./configure --enable-fuzzing CC=clang); run briefly by tests/fuzz/run.sh.
if ENABLE_FUZZING
include $(srcdir)/tests/fuzz/values.mk
include $(srcdir)/tests/fuzz/ditto.mk
endif
include $(srcdir)/tests/fuzz/dist.mk
