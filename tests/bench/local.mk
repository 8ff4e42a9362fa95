# Benchmarks (make bench): tests/bench/run.sh BUILD_DIR starts its peers (private dockerd
# and mosquitto from tests/integration/lib) and berthd, measures berth beside its
# baselines in one run, prints the table and writes tests/bench/results/latest.md.
# `tests/bench/run.sh --short BUILD_DIR` is the CI mode (tests/run-all.sh bench).
#
# The C programs are noinst: `make` builds them (they need libmosquitto, and libcurl for
# the direct Engine API baseline), `make bench` runs them. Never part of `make check`.
if BUILD_MQTT
if BUILD_DOCKER
if HAVE_CURL
BENCH_PROGS = \
	tests/bench/bench_overhead \
	tests/bench/bench_load \
	tests/bench/bench_echo \
	tests/bench/bench_stopall \
	tests/bench/bench_ready
noinst_PROGRAMS += $(BENCH_PROGS)

BENCH_COMMON = tests/bench/bench.c tests/bench/bench.h
BENCH_CFLAGS = $(AM_CFLAGS) $(MQTT_DEPS_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
BENCH_LIBS = $(MQTT_DEPS_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lm

tests_bench_bench_overhead_SOURCES = tests/bench/bench_overhead.c $(BENCH_COMMON)
tests_bench_bench_overhead_CFLAGS = $(BENCH_CFLAGS)
tests_bench_bench_overhead_LDADD = $(BENCH_LIBS)
tests_bench_bench_load_SOURCES = tests/bench/bench_load.c $(BENCH_COMMON)
tests_bench_bench_load_CFLAGS = $(BENCH_CFLAGS)
tests_bench_bench_load_LDADD = $(BENCH_LIBS)
tests_bench_bench_echo_SOURCES = tests/bench/bench_echo.c
tests_bench_bench_echo_CFLAGS = $(BENCH_CFLAGS)
tests_bench_bench_echo_LDADD = $(MQTT_DEPS_LIBS)
tests_bench_bench_stopall_SOURCES = tests/bench/bench_stopall.c $(BENCH_COMMON)
tests_bench_bench_stopall_CFLAGS = $(BENCH_CFLAGS)
tests_bench_bench_stopall_LDADD = $(BENCH_LIBS)
tests_bench_bench_ready_SOURCES = tests/bench/bench_ready.c $(BENCH_COMMON)
tests_bench_bench_ready_CFLAGS = $(BENCH_CFLAGS)
tests_bench_bench_ready_LDADD = $(BENCH_LIBS)
endif
endif
endif

dist_noinst_SCRIPTS += tests/bench/run.sh
EXTRA_DIST += tests/bench/README.md tests/bench/report.awk tests/bench/results/latest.md

.PHONY: bench
bench: all
	sh $(abs_top_srcdir)/tests/bench/run.sh $(abs_top_builddir)
