# End-to-end suite and integration runner (tests/integration/README.md, "The runner").
#   make check-integration [INTEGRATION_FILTER="e2e/test_errors ..."]
# builds the check programs, then runs tests/integration/run.sh on this build tree: the
# module-level programs, tests/integration/*/run-*.sh and the e2e suite (berthd driven
# through MQTT against a real mosquitto, through AMQP 1.0 against hono_peer.py and
# RabbitMQ, and a real dockerd). Not part of `make check`: it needs the peers (dockerd,
# mosquitto, RabbitMQ) and root.
EXTRA_DIST += \
	tests/integration/README.md \
	tests/integration/run.sh \
	tests/integration/e2e/berthtest.py \
	tests/integration/e2e/test_container_api.py \
	tests/integration/e2e/test_errors.py \
	tests/integration/e2e/test_concurrency.py \
	tests/integration/e2e/test_restart_policy.py \
	tests/integration/e2e/test_faults.py \
	tests/integration/e2e/amqptest.py \
	tests/integration/e2e/test_amqp.py \
	tests/integration/e2e/test_amqp_rabbitmq.py \
	tests/integration/e2e/test_containerd.py \
	tests/integration/e2e/test_nspawn.py \
	tests/integration/e2e/test_podman.py

check-integration: all $(check_PROGRAMS)
	bash $(srcdir)/tests/integration/run.sh $(abs_top_builddir) $(INTEGRATION_FILTER)

.PHONY: check-integration

# berthd's sd_notify protocol and command line (discovered by run.sh as daemon/run-daemon)
EXTRA_DIST += tests/integration/daemon/run-daemon.sh tests/integration/daemon/notify_test.py
