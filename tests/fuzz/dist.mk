# fuzz: what ships in every configuration. local.mk includes the targets only under
# ENABLE_FUZZING; automake distributes their _SOURCES regardless, but EXTRA_DIST and
# scripts set under a false conditional are empty at `make dist` time.
dist_noinst_SCRIPTS += tests/fuzz/run.sh
EXTRA_DIST += \
	tests/fuzz/corpus/fuzz_size \
	tests/fuzz/corpus/fuzz_signal \
	tests/fuzz/corpus/fuzz_restart \
	tests/fuzz/corpus/fuzz_name \
	tests/fuzz/corpus/fuzz_env \
	tests/fuzz/corpus/fuzz_resources \
	tests/fuzz/corpus/fuzz_ditto
