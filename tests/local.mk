# Tests: unit (CUnit), fuzz (libFuzzer), integration (real peers), bench.
include $(srcdir)/tests/harness/local.mk
include $(srcdir)/tests/unit/local.mk
include $(srcdir)/tests/fuzz/local.mk
include $(srcdir)/tests/integration/local.mk
include $(srcdir)/tests/bench/local.mk
include $(srcdir)/tests/data/local.mk
include $(srcdir)/tests/sdk/local.mk
