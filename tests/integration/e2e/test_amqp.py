# SPDX-License-Identifier: Apache-2.0
"""The Container API over AMQP 1.0, Hono conventions: berthd connects to a Hono-AMQP-
adapter-like peer (tests/integration/amqp/hono_peer.py) that sends the commands on
berthd's command link; checked in the answers (to = reply-to, the typed correlation-id,
application property status as AMQP int, the Ditto envelope), in the twin events on
event_address and in Docker itself.

- plain + SASL PLAIN, TLS + PLAIN (CA and host name verified), TLS + EXTERNAL (client
  certificate; the peer requires it): createWithConfig, stop, start, stopWithOptions,
  remove;
- bad input over AMQP: the status and error code test_errors expects over MQTT, Docker
  unchanged, berthd alive; one-way commands; messages that cannot be commands are
  rejected;
- the peer killed (SIGKILL) and restarted mid-run: berthd reconnects, what the peer sends
  again is answered (a remove that already ran: 404, a start: 409), nothing is lost.

RabbitMQ: test_amqp_rabbitmq.py."""
import sys

sys.dont_write_bytecode = True

import json  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from amqptest import (DEVICE_USER, DITTO_CONTENT_TYPE, AmqpE2ETestCase,  # noqa: E402
                      LifecycleMixin)
from berthtest import (CMD_IGNORE_TERM, CMD_TRAP_TERM, ENV, NOVALUE,  # noqa: E402
                       event_state, feature_path, is_delete, main, snapshot, wait_for)
# what the MQTT suite expects: the topic of the answer to an undecodable envelope, the
# envelope size limit its berthd runs with (only the constants: no test class comes along)
from test_errors import ERRORS_TOPIC, MAX_PAYLOAD  # noqa: E402


class AmqpPlainTest(LifecycleMixin, AmqpE2ETestCase):
    """amqp://127.0.0.1, SASL PLAIN (password_file), string correlation-ids."""
    amqp_mode = "plain"
    cid_type = "string"
    berthd_options = {"stop_timeout": 3}

    def test_authenticated_with_plain(self):
        rec = self.connection_record()
        self.assertEqual(rec.get("user"), DEVICE_USER)
        link = self.cloud.wait_message(lambda m: m.kind == "command-link", 0, 5)
        self.assertEqual(link.get("source"), "command")
        # Hono: AT LEAST ONCE (snd-settle-mode unsettled = 0, rcv-settle-mode first = 0)
        self.assertEqual((link.get("snd_settle_mode"), link.get("rcv_settle_mode")), (0, 0))


class AmqpTlsPlainTest(LifecycleMixin, AmqpE2ETestCase):
    """amqps://localhost (test CA, host name verified), SASL PLAIN, uuid correlation-ids."""
    amqp_mode = "tls-plain"
    cid_type = "uuid"
    berthd_options = {"stop_timeout": 3}

    def test_authenticated_with_plain_over_tls(self):
        self.assertEqual(self.connection_record().get("user"), DEVICE_USER)


class AmqpTlsExternalTest(LifecycleMixin, AmqpE2ETestCase):
    """amqps://localhost, client certificate (CN=device-1) and SASL EXTERNAL, ulong
    correlation-ids."""
    amqp_mode = "tls-external"
    cid_type = "ulong"
    berthd_options = {"stop_timeout": 3}

    def test_authenticated_with_client_certificate(self):
        user = self.connection_record().get("user") or ""
        self.assertIn("device-1", user, "EXTERNAL: the certificate's subject")

    def test_binary_correlation_id(self):
        r = self.cmd("ping", "ContainerFactory", cid_type="binary")
        self.assertAnswer(r, 404, "binary correlation-id")


# ---- bad input --------------------------------------------------------------------------------

class AmqpBadInputTest(AmqpE2ETestCase):
    """What test_errors.py expects over MQTT, over AMQP: same status and error code,
    nothing changed in Docker, berthd alive."""
    amqp_mode = "plain"
    berthd_options = {"max_payload": MAX_PAYLOAD, "stop_timeout": 3}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            config = {"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}}
            cls.running = cls.class_container(config, start=True)
            cls.stopped = cls.class_container(config, start=False)
        except BaseException:
            cls.tearDownClass()  # unittest does not when setUpClass fails
            raise

    def tearDown(self):
        self.assertAlive()
        super().tearDown()

    def docker_state(self):
        return {
            "containers": {cid: snapshot(self.docker.by_berth_id(cid))
                           for cid in (self.running, self.stopped)},
            "berth": sorted(c["Id"] for c in self.docker.list(label="berth.id")),
            "records": self.agent.records(),
        }

    def refused(self, status, op, feature, value=NOVALUE, what=None, **kw):
        """Sends a bad command; checks the answer (AMQP and Ditto parts), that the peer saw
        it accepted (it was answered) and that Docker did not change."""
        what = what or "%s %s %s" % (op, feature, json.dumps(value)[:80]
                                     if value is not NOVALUE else "")
        before = self.docker_state()
        since = self.cloud.mark()
        r = self.cmd(op, feature, value, **kw)
        self.assertStatus(r, status, what)
        self.assertEqual(r.content_type, DITTO_CONTENT_TYPE, what)
        out = self.cloud.wait_outcome(r.sent, since, 5)
        self.assertEqual(out and out.get("outcome"), "accepted", "%s: outcome %r" % (what, out))
        self.assertEqual(self.docker_state(), before, "%s changed Docker or the records" % what)
        return r

    def crefused(self, status, op, value=NOVALUE, container=None, **kw):
        return self.refused(status, op, "Container:%s" % (container or self.running), value,
                            **kw)

    # -- envelopes (test_errors: test_unparseable_payloads, ..._without_correlation_id,
    #    test_bad_headers, test_oversized_payload) --------------------------------------------

    def test_non_json_body(self):
        for raw in ('{"topic": "edge/device/things/live/messages/start", "headers": {',
                    "hello", "[1, 2, 3]", '"just a string"', "   ", b"\xff\xfe",
                    '{"topic": "x"} trailing'):
            with self.subTest(raw=raw):
                r = self.refused(400, "start", "Container:%s" % self.running, raw_payload=raw,
                                 what="body %r" % raw)
                self.assertEqual(r.env.get("topic"), ERRORS_TOPIC, r)
                self.assertEqual(r.path, "/", r)
                self.assertNotIn("correlation-id", r.headers, r)

    def test_missing_correlation_id_header(self):
        feature = "Container:%s" % self.running
        r = self.refused(400, "stop", feature, headers={"response-required": True},
                         what="no correlation-id header")
        self.assertEqual(r.env.get("topic"), "%s/things/live/messages/stop"
                         % self.cloud.ditto_prefix, "the request topic is echoed")
        self.assertIn("correlation", r.value["message"])
        # the AMQP correlation-id is still the command's (wire_problem checked it)
        self.assertEqual(r.correlation_id, r.sent.cid)

    def test_missing_amqp_correlation_id(self):
        """No AMQP correlation-id: the answer carries the Ditto correlation-id (a string)."""
        r = self.crefused(409, "start", amqp_cid=None,
                          correlation_id="ditto-only-%s" % uuid.uuid4().hex[:8],
                          what="start while running, no AMQP correlation-id")
        self.assertEqual((r.correlation_id, r.cid_type), (r.sent.ditto_cid, "string"))
        self.assertEqual(r.headers.get("correlation-id"), r.sent.ditto_cid)

    def test_missing_both_correlation_ids(self):
        r = self.refused(400, "stop", "Container:%s" % self.running, amqp_cid=None,
                         headers={"response-required": True}, what="no correlation-id at all")
        self.assertIsNone(r.correlation_id)
        self.assertIn("correlation", r.value["message"])

    def test_non_json_content_type(self):
        feature = "Container:%s" % self.running
        for ct in ("text/plain", "application/xml"):
            with self.subTest(content_type=ct):
                c = "ct-%s" % uuid.uuid4().hex[:8]
                r = self.refused(400, "stop", feature, {}, correlation_id=c,
                                 headers={"correlation-id": c, "content-type": ct},
                                 what="content-type " + ct)
                self.assertIn(ct, r.value["message"])

    def test_amqp_content_type_does_not_decide(self):
        """MQTT 3.1.1 has no content-type: the envelope's content-type header decides (see
        above), the AMQP property does not. An envelope labelled text/plain or with no
        content-type gets what it gets over MQTT (here: 409, start while running)."""
        for ct in ("text/plain", None):
            with self.subTest(content_type=ct):
                r = self.crefused(409, "start", content_type=ct,
                                  what="AMQP content-type %s" % ct)
                self.assertEqual(r.headers.get("correlation-id"), r.sent.ditto_cid)

    def test_wrong_value_types(self):
        for op, value in (("remove", "true"), ("remove", {"force": True}),
                          ("stopWithOptions", {"timeout": "5"}), ("rename", 5)):
            with self.subTest(op=op, value=value):
                self.crefused(400, op, value)

    def test_oversized_body(self):
        value = {"imageRef": ENV.image, "config": {"env": ["E2E_PAD=" + "x" * MAX_PAYLOAD]}}
        r = self.refused(400, "createWithConfig", "ContainerFactory", value, what="oversized")
        self.assertIn(str(MAX_PAYLOAD), r.value["message"])

    # -- addressing (test_errors: test_unknown_container, test_unknown_operation) ----------

    def test_unknown_container(self):
        other = str(uuid.uuid4())
        for op, value in (("start", NOVALUE), ("stop", NOVALUE), ("remove", True)):
            with self.subTest(op=op):
                r = self.refused(404, op, "Container:%s" % other, value)
                self.assertEqual(r.path, "%s/outbox/messages/%s" % (feature_path(other), op))
                self.assertEqual(r.headers.get("correlation-id"), r.sent.ditto_cid)

    def test_unknown_operation(self):
        r = self.crefused(404, "explode")
        self.assertEqual(r.path, "%s/outbox/messages/explode" % feature_path(self.running))
        self.refused(404, "start", "ContainerFactory", what="start on ContainerFactory")

    def test_state_conflict(self):
        self.crefused(409, "start", what="start while running")
        self.crefused(409, "stop", container=self.stopped, what="stop while stopped")

    # -- one-way and not-a-command --------------------------------------------------------

    def test_one_way_runs_without_answer(self):
        cid = self.running_container()
        feature = "Container:%s" % cid
        since = self.cloud.mark()
        sent = self.cloud.send("stop", feature, reply_to=None)
        out = self.cloud.wait_outcome(sent, since)
        self.assertEqual(out and out.get("outcome"), "accepted", out)
        self.wait_docker(cid, lambda i: not i["State"]["Running"], "stopped by a one-way stop")
        # response-required false (with a reply-to): runs, no answer either
        r = self.ccmd("start", cid)
        self.assertStatus(r, 204, "start")
        quiet = self.cloud.send("stop", feature, response_required=False)
        self.wait_docker(cid, lambda i: not i["State"]["Running"],
                         "stopped (response-required false)")
        # barrier: commands of one container run in order, an answer would have come first
        self.assertStatus(self.ccmd("start", cid), 204, "barrier")
        self.assertEqual(self.cloud.answers(quiet, since), [], "response-required false answered")
        self.assertEqual(self.cloud.find(lambda m: m.kind == "message" and (
            m.get("correlation_id") == sent.cid or m.to is None), since), [],
            "the one-way command was answered")

    def test_one_way_bad_body_is_rejected(self):
        """Non-JSON without a reply-to: nobody to tell, so the message is refused."""
        since = self.cloud.mark()
        sent = self.cloud.send("start", "Container:%s" % self.running, raw_payload="hello",
                               reply_to=None)
        out = self.cloud.wait_outcome(sent, since)
        self.assertEqual(out and out.get("outcome"), "rejected", out)
        self.assertEqual(out.get("condition"), "hono:bad-request", out)

    def test_not_a_command_is_rejected(self):
        before = self.docker_state()
        # no body, an empty Data section, not AMQP at all, an AmqpValue map
        for kind in ("none", "empty", "garbage", "map"):
            with self.subTest(body=kind):
                since = self.cloud.mark()
                sent = self.cloud.send("start", "Container:%s" % self.running, body_kind=kind)
                out = self.cloud.wait_outcome(sent, since)
                self.assertEqual(out and out.get("outcome"), "rejected", out)
                self.assertEqual(out.get("condition"), "amqp:decode-error", out)
                self.assertIsNone(self.cloud.wait_response(sent, since, 0.5),
                                  "a rejected message was answered")
                self.assertAlive()
        self.assertEqual(self.docker_state(), before)

    def test_amqp_value_string_body_is_a_command(self):
        """Hono also allows the envelope as an AmqpValue string."""
        r = self.crefused(409, "start", body_kind="string", what="AmqpValue string body")
        self.assertEqual(r.headers.get("correlation-id"), r.sent.ditto_cid)


# ---- the peer killed and restarted -------------------------------------------------------------

class AmqpPeerRestartTest(AmqpE2ETestCase):
    """SIGKILL of the Hono peer with commands in flight, then a new peer on the same port.

    berthd runs one command at a time (max_workers 1), so a slow first command (a forced
    stopWithOptions of a process that ignores SIGTERM: 2 s) holds back the answers of the
    ones after it: the peer is killed once berthd has accepted them all and before any
    answer came; one more command goes 20 ms before the kill without waiting for its
    outcome. berthd runs them while the peer is down. The new peer sends every command
    that had no answer again, as it was (Hono redelivers what it has not seen completed),
    then a new one. Every command gets its answers, all after the reconnect: the
    original's (queued by berthd while the peer was down) and the redelivered one's, which
    must do no harm (a remove or stop of a removed container: 404; a start of a running or
    a stop of a stopped one: 409); a command sent once is answered once."""
    amqp_mode = "plain"
    berthd_options = {"stop_timeout": 3, "max_workers": 1}

    def test_peer_killed_and_restarted_loses_nothing(self):
        x = self.running_container(cmd=CMD_IGNORE_TERM)  # slow stop, then removed
        y = self.create(config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}},
                        start=False)                     # started
        z = self.running_container()                     # stopped
        w = self.create(config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}},
                        start=False)                     # started by the last-moment command
        x_native = self.dinspect(x)["Id"]
        # the creates were answered before the kill: never again
        creates = [m for m in self.cloud.find(lambda m: m.kind == "message" and
                                              m.json and m.json.get("status") == 200 and
                                              "createWithConfig" in m.json.get("topic", ""))]
        self.assertEqual(len(creates), 4, creates)

        # -- the batch, all accepted, none answered; then one more and the kill
        since = self.cloud.mark()
        batch = [
            self.cloud.send("stopWithOptions", "Container:%s" % x,
                            {"signal": "SIGTERM", "timeout": 2, "force": True}),
            self.cloud.send("start", "Container:%s" % y),
            self.cloud.send("stop", "Container:%s" % z),
            self.cloud.send("remove", "Container:%s" % x, True),
        ]
        for s in batch:
            out = self.cloud.wait_outcome(s, since, 10)
            self.assertEqual(out and out.get("outcome"), "accepted", "%r: %r" % (s, out))
        # one more, handed to the peer's link 20 ms before the kill: it may or may not reach
        # berthd, its outcome may or may not come back; it has no answer either way
        last = self.cloud.send("start", "Container:%s" % w)
        self.assertIsNotNone(self.cloud.wait_message(
            lambda m: m.kind == "command-sent" and m.get("id") == last.tag, since, 10))
        time.sleep(0.02)
        self.cloud.kill9()
        answered = {s.tag for s in batch + [last] if self.cloud.answers(s, since)}
        self.assertFalse(answered & {s.tag for s in batch},
                         "answers came before the kill: the scenario did not hold them back")
        unanswered = [s for s in batch + [last] if s.tag not in answered]

        # -- while the peer is down berthd runs them (Docker shows it)
        self.docker.wait_until(x_native, lambda i: i is None, timeout=30, what="x removed")
        self.wait_docker(y, lambda i: i["State"]["Running"], "y started")
        self.wait_docker(z, lambda i: not i["State"]["Running"], "z stopped")
        y_started = self.dinspect(y)["State"]["StartedAt"]
        self.assertTrue(self.agent.alive(), self.agent.log_tail())

        # -- a new peer on the same port: it has the unanswered commands to deliver again
        # (queued until berthd's command link is back) and one new one; berthd reconnects
        t_restart = time.monotonic()
        self.cloud.start()
        gen = self.cloud.gen
        again = [self.cloud.resend(s) for s in unanswered]
        fresh = self.cloud.send("stop", "Container:%s" % y)  # after the redelivered start
        link = self.cloud.wait_connected(timeout=30, since=since)
        self.assertIsNotNone(link, "berthd did not reconnect; log:\n%s" % self.agent.log_tail())
        back_after = link.time - t_restart
        for s in again + [fresh]:
            out = self.cloud.wait_outcome(s, since, 10)
            self.assertEqual(out and out.get("outcome"), "accepted", "%r: %r" % (s, out))
        r = self.cloud.wait_response(fresh, since, 30)
        self.assertIsNotNone(r, "the command after the restart was not answered:\n%s"
                             % self.agent.log_tail())
        self.assertStatus(r, 204, "stop y after the restart")

        # every command: its answers (wait until each has what it must have, then a little);
        # the original's answer, produced while the peer was down, comes after the reconnect
        expected = {  # the original's answer + the redelivered one's
            batch[0].tag: [204, 404],   # stopWithOptions x; redelivered: x is gone
            batch[1].tag: [204, 409],   # start y; redelivered: y runs already
            batch[2].tag: [204, 409],   # stop z; redelivered: z is stopped
            batch[3].tag: [204, 404],   # remove x; redelivered: x is gone
        }

        def statuses(s):
            return sorted(a.wire_status for a in self.cloud.answers(s, since))

        def complete():
            return all(len(statuses(s)) >= len(expected.get(s.tag, [1])) for s in batch) and \
                self.cloud.answers(last, since)

        wait_for(complete, 30)
        time.sleep(1.0)  # duplicates, if any, would come now
        for s in batch:
            self.assertEqual(statuses(s), expected[s.tag], "answers to %r: %s" % (
                s, self.cloud.answers(s, since)))
            for a in self.cloud.answers(s, since):
                self.assertIsNone(a.wire_problem(a.wire_status), a)
                self.assertEqual(a.status, a.wire_status, a)
                self.assertEqual(a.headers.get("correlation-id"), s.ditto_cid, a)
                self.assertEqual(a.gen, gen, "answered before the kill: %r" % a)
        # the one sent at the last moment: berthd may or may not have got it before the
        # kill; the start ran exactly once either way
        st = statuses(last)
        self.assertIn(st, ([204], [204, 409]), "answers to the last-moment start: %s" % st)
        self.assertEqual(statuses(fresh), [204])
        for m in creates:
            n = len(self.cloud.find(lambda a, m=m: a.kind == "message" and
                                    a.get("correlation_id") == m.get("correlation_id"),
                                    0))
            self.assertEqual(n, 1, "create %s answered %d times" % (m.get("correlation_id"), n))

        # twin events of what ran while the peer was down reach the new peer
        def ev(pred, what):
            e = self.cloud.wait_event(pred, since, 10)
            self.assertIsNotNone(e, "no event %s after the restart" % what)
            self.assertEqual(e.gen, gen, "%s: %r" % (what, e))
        ev(lambda e: is_delete(e, x), "delete of x")
        ev(lambda e: event_state(e, y) == "RUNNING", "y RUNNING")
        ev(lambda e: event_state(e, z) == "STOPPED", "z STOPPED")

        # Docker: x gone, y stopped by the fresh stop (the redelivered start did nothing),
        # z stopped once, w started once
        self.assertIsNone(self.docker.by_berth_id(x))
        yi = self.dinspect(y)
        self.assertFalse(yi["State"]["Running"])
        self.assertEqual(yi["State"]["StartedAt"], y_started, "y was started again")
        self.assertFalse(self.dinspect(z)["State"]["Running"])
        self.assertTrue(self.dinspect(w)["State"]["Running"])
        self.assertAlive()
        sys.stderr.write("# measured: AMQP peer restart: berthd reconnected %.1f s after the "
                         "new peer started; %d commands redelivered; the last-moment start "
                         "answered %s\n" % (back_after, len(again), st))


if __name__ == "__main__":
    main()
