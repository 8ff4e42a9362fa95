# CUnit unit tests, one program per area; each area keeps its own fragment.
if HAVE_CUNIT
include $(srcdir)/tests/unit/values.mk
include $(srcdir)/tests/unit/config.mk
include $(srcdir)/tests/unit/core.mk
include $(srcdir)/tests/unit/ctl.mk
include $(srcdir)/tests/unit/unixhttp.mk
include $(srcdir)/tests/unit/nspawn.mk
include $(srcdir)/tests/unit/podman.mk
endif
