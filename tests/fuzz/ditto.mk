# fuzz: ditto (core/ditto.c, core/router.c, core/ops_parse.c over core/spec.c and
# core/values.c): the intake of a command, from raw bytes to parsed operation values.
# Compiled into the target so that the fuzzer's coverage instrumentation sees them.
ditto_fuzz_cflags = $(AM_CFLAGS) $(JSONC_CFLAGS) -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
ditto_fuzz_ldflags = $(AM_LDFLAGS) -fsanitize=fuzzer,address,undefined

FUZZ_TARGETS += tests/fuzz/fuzz_ditto

tests_fuzz_fuzz_ditto_SOURCES = tests/fuzz/fuzz_ditto.c core/ditto.c core/router.c \
	core/ops_parse.c core/spec.c core/values.c
tests_fuzz_fuzz_ditto_CFLAGS = $(ditto_fuzz_cflags)
tests_fuzz_fuzz_ditto_LDFLAGS = $(ditto_fuzz_ldflags)
tests_fuzz_fuzz_ditto_LDADD = $(JSONC_LIBS) -lm
