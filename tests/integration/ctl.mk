# berthctl and the control socket against a real berthd and dockerd:
# tests/integration/ctl/run-ctl.sh BUILD_DIR (found and run by the integration runner).
EXTRA_DIST += tests/integration/ctl/run-ctl.sh
