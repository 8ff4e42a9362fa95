# Configuration, service unit, tmpfiles.

# $(sysconfdir)/berth/berth.conf (packages mark it a conffile; `make install`
# overwrites it) and an empty conf.d/ holding only its README.
berthconfdir = $(sysconfdir)/berth
dist_berthconf_DATA = etc/berth.conf
berthconfddir = $(sysconfdir)/berth/conf.d
dist_berthconfd_DATA = etc/conf.d/README

# The unit and the tmpfiles.d entry name the installed paths, so they are generated
# here (not by configure) with make's fully expanded directory variables.
systemdsystemunit_DATA = etc/berthd.service
tmpfiles_DATA = etc/tmpfiles.d/berth.conf
EXTRA_DIST += etc/berthd.service.in etc/berth.tmpfiles.in
CLEANFILES += etc/berthd.service etc/tmpfiles.d/berth.conf

etc_subst = sed \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@berthstatedir[@]|$(localstatedir)/lib/berth|g' \
	-e 's|@berthrundir[@]|$(runstatedir)/berth|g'

etc/berthd.service: $(srcdir)/etc/berthd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(etc_subst) $(srcdir)/etc/berthd.service.in > $@.tmp && mv -f $@.tmp $@

etc/tmpfiles.d/berth.conf: $(srcdir)/etc/berth.tmpfiles.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(etc_subst) $(srcdir)/etc/berth.tmpfiles.in > $@.tmp && mv -f $@.tmp $@
