# Distribution packaging (.deb, .rpm), the manual pages, and the scripts that build
# and test the packages (packaging/build-deb.sh, build-rpm.sh, test-packages.sh).

# roff sources, man(7) macros; checked by packaging/check-man.sh (`make check-man`).
dist_man_MANS += \
	packaging/man/berthctl.1 \
	packaging/man/berth.conf.5 \
	packaging/man/berth-module.7 \
	packaging/man/berthd.8

dist_noinst_SCRIPTS += \
	packaging/build-deb.sh \
	packaging/build-rpm.sh \
	packaging/check-man.sh \
	packaging/test-packages.sh

# packaging/debian/ becomes ./debian in build-deb.sh's copy of the release tarball.
EXTRA_DIST += \
	packaging/debian/berth-backend-docker.install \
	packaging/debian/berth-backend-containerd.install \
	packaging/debian/berth-backend-nspawn.install \
	packaging/debian/berth-backend-podman.install \
	packaging/debian/berth-dev.install \
	packaging/debian/berth-transport-amqp.install \
	packaging/debian/berth-transport-mqtt.install \
	packaging/debian/berth.install \
	packaging/debian/changelog \
	packaging/debian/control \
	packaging/debian/copyright \
	packaging/debian/rules \
	packaging/debian/source/format

# The spec carries the version of configure.ac, so that `rpmbuild -ta` works on the
# tarball of `make dist` as it is.
EXTRA_DIST += packaging/rpm/berth.spec.in packaging/rpm/berth.spec
DISTCLEANFILES += packaging/rpm/berth.spec
packaging/rpm/berth.spec: $(srcdir)/packaging/rpm/berth.spec.in $(top_srcdir)/configure.ac
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' $(srcdir)/packaging/rpm/berth.spec.in > $@.tmp && \
	mv -f $@.tmp $@

.PHONY: check-man
check-man:
	$(SHELL) $(srcdir)/packaging/check-man.sh $(addprefix $(srcdir)/,$(dist_man_MANS))
