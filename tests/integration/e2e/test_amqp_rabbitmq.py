# SPDX-License-Identifier: Apache-2.0
"""The Container API over AMQP 1.0 through a real broker: RabbitMQ 3.10 with the
rabbitmq_amqp1_0 plugin (lib/rabbitmq.sh; used when running, else started here and
stopped at the end). berthd takes its commands from a queue (command_source
/queue/<name>) and sends its twin events to another (event_address); the broker offers
no ANONYMOUS-RELAY, so berthd opens a sender link per address (the reply queue, the
event queue). The application side is tests/integration/amqp/rabbit_client.py session:
it sends createWithConfig / stop / start / stopWithOptions / remove with reply-to = a
reply queue and checks the answers (correlation-id and its type, status) and Docker.

Over plain AMQP and over TLS (the broker's TLS listener, verified against the test CA,
host name localhost), SASL PLAIN guest/guest both."""
import sys

sys.dont_write_bytecode = True

import os  # noqa: E402
import re  # noqa: E402
import unittest  # noqa: E402

from amqptest import (AmqpCloud, AmqpE2ETestCase, LifecycleMixin, Rabbit,  # noqa: E402
                      proton_missing)
from berthtest import ENV, LIVE_CHILDREN, install_signal_cleanup, log, main  # noqa: E402

RABBIT = Rabbit()


class _StopRabbit:
    """For berthtest's emergency cleanup (SIGTERM/SIGINT of the test process)."""

    def kill(self):
        RABBIT.stop()


def setUpModule():
    why = proton_missing() or Rabbit.missing() or ENV.missing("amqp")
    if why:
        raise unittest.SkipTest(why)
    install_signal_cleanup()
    LIVE_CHILDREN.add(_StopRabbit())
    RABBIT.start()


def tearDownModule():
    RABBIT.stop()


class RabbitMixin(LifecycleMixin):
    """berthd on the broker: the queues, the transport settings, the checks."""
    tls = False
    berthd_options = {"stop_timeout": 3}

    @classmethod
    def make_cloud(cls):
        tag = "%d-%s" % (os.getpid(), cls.__name__.lower())
        cls.q_cmd = "/queue/berth-e2e-cmd-" + tag
        cls.q_reply = "/queue/berth-e2e-reply-" + tag
        cls.q_event = "/queue/berth-e2e-event-" + tag
        return AmqpCloud(RABBIT.client_argv([cls.q_reply, cls.q_event]),
                         "rabbit-client-%s" % cls.__name__, ready="ready",
                         event_address=cls.q_event, command_address=cls.q_cmd,
                         reply_address=cls.q_reply)

    @classmethod
    def transport_settings(cls):
        tr = {"module": "amqp", "username": RABBIT.user, "password": RABBIT.password,
              "command_source": cls.q_cmd, "event_address": cls.q_event,
              "reconnect_min": 0.2, "reconnect_max": 1.0}
        if cls.tls:
            tr.update(url="amqps://localhost:%d" % RABBIT.tls_port,
                      ca_file=os.path.join(RABBIT.certs, "ca.crt"))
        else:
            tr.update(url="amqp://127.0.0.1:%d" % RABBIT.port)
        return tr

    def check_event_message(self, ev):
        # what rabbit_client.py reports of a message: no durable / settled
        self.assertEqual(ev.to, self.q_event)
        self.assertEqual(ev.get("source"), self.q_event)
        self.assertEqual(ev.get("content_type"), "application/vnd.eclipse.ditto+json", ev)

    def test_sender_link_per_address(self):
        """No ANONYMOUS-RELAY at RabbitMQ: a sender link to the reply queue and one to the
        event queue (berthd's debug log says so; the answers arriving in the reply queue
        and the events in the event queue show they work)."""
        self.assertStatus(self.cmd("ping", "ContainerFactory"), 404, "probe")
        text = self.agent.log_text()
        self.assertIn("the peer does not offer anonymous relay", text)
        self.assertIn("a sender link per address", text)
        for q in (self.q_reply, self.q_event):
            self.assertRegex(text, r"opened sender link \S+ to %s\b" % re.escape(q))
        self.assertNotIn("berth-anonymous", text)


class RabbitPlainTest(RabbitMixin, AmqpE2ETestCase):
    """amqp://127.0.0.1:5674, uuid correlation-ids."""
    tls = False
    cid_type = "uuid"


class RabbitTlsTest(RabbitMixin, AmqpE2ETestCase):
    """amqps://localhost:5675 (verified), string correlation-ids."""
    tls = True
    cid_type = "string"


if __name__ == "__main__":
    log("RabbitMQ e2e (lib/rabbitmq.sh)")
    main()
