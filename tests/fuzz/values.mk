# fuzz: values (core/values.c), one libFuzzer target per parser. values.c is compiled
# into each target so that the fuzzer's coverage instrumentation sees it.
values_fuzz_cflags = $(AM_CFLAGS) -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
values_fuzz_ldflags = $(AM_LDFLAGS) -fsanitize=fuzzer,address,undefined

FUZZ_TARGETS += \
	tests/fuzz/fuzz_size \
	tests/fuzz/fuzz_signal \
	tests/fuzz/fuzz_restart \
	tests/fuzz/fuzz_name \
	tests/fuzz/fuzz_env \
	tests/fuzz/fuzz_resources

tests_fuzz_fuzz_size_SOURCES = tests/fuzz/fuzz_size.c tests/fuzz/values_fuzz.h core/values.c
tests_fuzz_fuzz_size_CFLAGS = $(values_fuzz_cflags)
tests_fuzz_fuzz_size_LDFLAGS = $(values_fuzz_ldflags)

tests_fuzz_fuzz_signal_SOURCES = tests/fuzz/fuzz_signal.c tests/fuzz/values_fuzz.h core/values.c
tests_fuzz_fuzz_signal_CFLAGS = $(values_fuzz_cflags)
tests_fuzz_fuzz_signal_LDFLAGS = $(values_fuzz_ldflags)

tests_fuzz_fuzz_restart_SOURCES = tests/fuzz/fuzz_restart.c tests/fuzz/values_fuzz.h core/values.c
tests_fuzz_fuzz_restart_CFLAGS = $(values_fuzz_cflags)
tests_fuzz_fuzz_restart_LDFLAGS = $(values_fuzz_ldflags)

tests_fuzz_fuzz_name_SOURCES = tests/fuzz/fuzz_name.c tests/fuzz/values_fuzz.h core/values.c
tests_fuzz_fuzz_name_CFLAGS = $(values_fuzz_cflags)
tests_fuzz_fuzz_name_LDFLAGS = $(values_fuzz_ldflags)

tests_fuzz_fuzz_env_SOURCES = tests/fuzz/fuzz_env.c tests/fuzz/values_fuzz.h core/values.c
tests_fuzz_fuzz_env_CFLAGS = $(values_fuzz_cflags)
tests_fuzz_fuzz_env_LDFLAGS = $(values_fuzz_ldflags)

tests_fuzz_fuzz_resources_SOURCES = tests/fuzz/fuzz_resources.c tests/fuzz/values_fuzz.h \
	core/values.c
tests_fuzz_fuzz_resources_CFLAGS = $(values_fuzz_cflags)
tests_fuzz_fuzz_resources_LDFLAGS = $(values_fuzz_ldflags)
