# SPDX-License-Identifier: Apache-2.0
"""Bad input: every error class is answered with the right status and Ditto error code,
berthd stays alive, and nothing changes in Docker (checked through the Docker API:
the test containers' state, name, policy and limits, and no new berth container)."""
import sys

sys.dont_write_bytecode = True

import json  # noqa: E402
import uuid  # noqa: E402

from berthtest import (CMD_TRAP_TERM, ENV, E2ETestCase, NOVALUE, feature_path,  # noqa: E402
                       main, snapshot)

MAX_PAYLOAD = 4096
# Refused creates name this tag of the test image: a container that a refused command
# created anyway is recognised by it, whatever else runs on the shared dockerd.
BAD_IMAGE = "localhost/berth-e2e-refused:latest"
ERRORS_TOPIC = "unknown/unknown/things/twin/errors"


class ErrorsTest(E2ETestCase):
    berthd_options = {"max_payload": MAX_PAYLOAD, "stop_timeout": 3}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        repo, tag = BAD_IMAGE.rsplit(":", 1)
        status, value = cls.docker.request("POST", "/images/%s/tag?repo=%s&tag=%s"
                                           % (ENV.image, repo, tag))
        if status != 201:
            raise AssertionError("cannot tag %s as %s: %s %s"
                                 % (ENV.image, BAD_IMAGE, status, value))
        config = {"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "on-failure", "maxRetryCount": 2},
                  "resources": {"memory": "64m"}}
        cls.running = cls.class_container(config, start=True, name="e2e-err-run-%d" % id(cls))
        cls.stopped = cls.class_container(config, start=False, name="e2e-err-stop-%d" % id(cls))

    # -- helpers ------------------------------------------------------------------------

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.docker.request("DELETE", "/images/%s?noprune=1" % BAD_IMAGE)  # untag only

    def docker_state(self):
        return {
            "containers": {cid: snapshot(self.docker.by_berth_id(cid))
                           for cid in (self.running, self.stopped)},
            "refused": sorted(c["Id"] for c in self.docker.list() if c["Image"] == BAD_IMAGE),
            "records": self.agent.records(),
        }

    def assertDockerUnchanged(self, before, what):
        after = self.docker_state()
        for cid, snap in before["containers"].items():
            self.assertEqual(after["containers"][cid], snap,
                             "%s changed container %s in Docker" % (what, cid))
        new = set(after["refused"]) - set(before["refused"])
        details = [self.docker.inspect(n) for n in new]
        details = ["%s %s %s" % (d["Id"][:12], d["Name"], d["Config"].get("Cmd"))
                   for d in details if d]
        self.assertEqual(details, [], "%s created containers in Docker" % what)
        self.assertEqual(after["records"], before["records"],
                         "%s changed berthd's container records" % what)

    def refused(self, status, op, feature, value=NOVALUE, what=None, **kw):
        """Sends a bad command; checks the answer and that Docker did not change."""
        what = what or "%s %s %s" % (op, feature, json.dumps(value)[:80]
                                     if value is not NOVALUE else "")
        before = self.docker_state()
        r = self.cmd(op, feature, value, **kw)
        self.assertStatus(r, status, what)
        self.assertDockerUnchanged(before, what)
        return r

    def crefused(self, status, op, value=NOVALUE, cid=None, **kw):
        return self.refused(status, op, "Container:%s" % (cid or self.running), value, **kw)

    def tearDown(self):
        self.assertAlive()
        super().tearDown()

    # -- envelopes ------------------------------------------------------------------------

    def test_unparseable_payloads(self):
        for raw in ('{"topic": "edge/device/things/live/messages/start", "headers": {',
                    "hello", "[1, 2, 3]", '"just a string"', "", "   ", "\xff\xfe",
                    '{"topic": "x"} trailing'):
            with self.subTest(raw=raw):
                r = self.refused(400, "start", "Container:%s" % self.running,
                                 raw_payload=raw.encode("latin-1"), what="payload %r" % raw)
                self.assertEqual(r.env.get("topic"), ERRORS_TOPIC, r)
                self.assertEqual(r.path, "/", r)
                self.assertNotIn("correlation-id", r.headers, r)

    def test_envelope_without_correlation_id(self):
        env = self.cloud.envelope("stop", "Container:%s" % self.running)
        del env["headers"]["correlation-id"]
        r = self.refused(400, "stop", None, raw_payload=json.dumps(env), what="no correlation-id")
        self.assertEqual(r.env.get("topic"), env["topic"], "the request topic is echoed")
        self.assertIn("correlation", r.value["message"])
        env["headers"] = None
        self.refused(400, "stop", None, raw_payload=json.dumps(env), what="headers null")
        del env["headers"]
        self.refused(400, "stop", None, raw_payload=json.dumps(env), what="no headers")

    def test_bad_headers(self):
        feature = "Container:%s" % self.running
        cases = {
            "correlation-id a number": {"correlation-id": 5},
            "correlation-id empty": {"correlation-id": ""},
            "response-required not boolean": {"correlation-id": "c1", "response-required": "maybe"},
            "content-type not json": {"correlation-id": "c2", "content-type": "text/plain"},
        }
        for what, headers in cases.items():
            with self.subTest(what=what):
                self.refused(400, "stop", feature, {}, headers=headers, what=what)
        env = self.cloud.envelope("stop", feature)
        env["headers"] = ["correlation-id", "x"]
        self.refused(400, "stop", None, raw_payload=json.dumps(env), what="headers an array")

    def test_missing_topic_or_path(self):
        env = self.cloud.envelope("stop", "Container:%s" % self.running)
        for key in ("topic", "path"):
            with self.subTest(missing=key):
                e = dict(env)
                del e[key]
                self.refused(400, "stop", None, raw_payload=json.dumps(e), what="no " + key)
                e[key] = 42
                self.refused(400, "stop", None, raw_payload=json.dumps(e), what=key + " a number")

    def test_oversized_payload(self):
        value = {"imageRef": BAD_IMAGE, "config": {"env": ["E2E_PAD=" + "x" * MAX_PAYLOAD]}}
        payload = json.dumps(self.cloud.envelope("createWithConfig", "ContainerFactory", value))
        self.assertGreater(len(payload), MAX_PAYLOAD)
        r = self.refused(400, "createWithConfig", None, raw_payload=payload, what="oversized")
        self.assertIn(str(MAX_PAYLOAD), r.value["message"])
        # much larger than the limit too
        self.refused(400, "stop", None, raw_payload=" " * 10 + json.dumps(
            self.cloud.envelope("stop", "Container:%s" % self.running, "y" * 200000)),
            what="200 kB")

    def test_too_deep_json(self):
        deep = {}
        for _ in range(40):
            deep = {"a": deep}
        payload = json.dumps(self.cloud.envelope("update", "Container:%s" % self.running, deep))
        self.assertLess(len(payload), MAX_PAYLOAD)
        self.refused(400, "update", None, raw_payload=payload, what="40 levels")
        arr = "[" * 100 + "]" * 100
        payload = ('{"topic":"edge/device/things/live/messages/stop","headers":{"correlation-id":'
                   '"c"},"path":"/features/Container:%s/inbox/messages/stop","value":%s}'
                   % (self.running, arr))
        self.refused(400, "stop", None, raw_payload=payload, what="100 nested arrays")

    # -- addressing -----------------------------------------------------------------------

    def test_unknown_container(self):
        other = str(uuid.uuid4())
        for op, value in (("start", NOVALUE), ("stop", NOVALUE), ("remove", True),
                          ("rename", "e2e-x"), ("update", {"restartPolicy": {"type": "no"}})):
            with self.subTest(op=op):
                r = self.refused(404, op, "Container:%s" % other, value)
                self.assertEqual(r.path, "%s/outbox/messages/%s" % (feature_path(other), op))

    def test_unknown_operation(self):
        r = self.crefused(404, "explode")
        self.assertEqual(r.path, "%s/outbox/messages/explode" % feature_path(self.running))
        self.refused(404, "start", "ContainerFactory", what="start on ContainerFactory")
        self.refused(404, "create", "Container:%s" % self.running, {"imageRef": BAD_IMAGE},
                     what="create on a container")

    def test_unknown_feature(self):
        self.refused(404, "start", "Metrics", what="feature Metrics")
        self.refused(404, "start", "Containers:%s" % self.running, what="feature Containers:")
        self.refused(404, "start", "Container:", what="feature Container: without id")

    def test_wrong_thing(self):
        r = self.refused(404, "stop", "Container:%s" % self.running, thing="other/device",
                         what="other thing")
        self.assertEqual(r.env.get("topic"), "other/device/things/live/messages/stop")
        self.refused(404, "stop", "Container:%s" % self.running,
                     thing=ENV.thing.split(":")[0] + "/other", what="same namespace, other name")

    def test_bad_paths_and_topics(self):
        feature = "Container:%s" % self.running
        self.refused(404, "stop", feature, path="/inbox/messages/stop", what="thing-level message")
        for path in ("/attributes/x", "/features/%s/outbox/messages/stop" % feature,
                     "/features/%s/inbox/messages/stop/extra" % feature, "features"):
            with self.subTest(path=path):
                self.refused(400, "stop", feature, path=path, what="path " + path)
        env = self.cloud.envelope("stop", feature)
        for topic in ("edge/device/things/twin/commands/modify", "edge",
                      "/device/things/live/messages/stop", "edge/device/things/live/messages/"):
            with self.subTest(topic=topic):
                env["topic"] = topic
                self.refused(400, "stop", None, raw_payload=json.dumps(env), what="topic " + topic)

    # -- values ---------------------------------------------------------------------------

    def test_invalid_sizes(self):
        for size in ("12x", "2m", "1t", "-5m", "64", "1.2.3m", "m", "64 mb"):
            with self.subTest(size=size):
                self.crefused(400, "update", {"resources": {"memory": size}})
                self.refused(400, "createWithConfig", "ContainerFactory", {
                    "imageRef": BAD_IMAGE, "config": {"cmd": CMD_TRAP_TERM,
                                                      "resources": {"memory": size}}})
        self.crefused(400, "update", {"resources": {"memoryReservation": "1t"}})
        self.crefused(400, "update", {"resources": {"memorySwap": "12x"}})

    def test_swap_below_memory(self):
        self.crefused(400, "update", {"resources": {"memory": "64m", "memorySwap": "32m"}})
        # merged with the stored memory (64m): swap 32m is below it
        self.crefused(400, "update", {"resources": {"memorySwap": "32m"}})
        self.crefused(400, "update", {"resources": {"memoryReservation": "128m"}},
                      what="reservation above memory")
        self.refused(400, "createWithConfig", "ContainerFactory", {
            "imageRef": BAD_IMAGE, "config": {"resources": {"memory": "64m", "memorySwap": "32m"}}})

    def test_invalid_signals(self):
        for sig in ("SIGFOO", "0", "FOO", "sigterm", "65", "-9", "SIG", 0, 65, -1, 2.5, True,
                    ["SIGTERM"]):
            with self.subTest(signal=sig):
                self.crefused(400, "stopWithOptions", {"signal": sig, "timeout": 1})

    def test_invalid_names(self):
        for name in ("-bad", "a b", "x/y", ".dot", "a" * 300, "tab\there"):
            with self.subTest(name=name):
                self.crefused(400, "rename", name)
                self.refused(400, "createWithConfig", "ContainerFactory",
                             {"imageRef": BAD_IMAGE, "name": name})

    def test_invalid_restart_policies(self):
        cases = [
            {"type": "sometimes"},
            {"type": "ALWAYS", "maxRetryCount": 3},
            {"type": "always", "maxRetryCount": 3},
            {"type": "unless-stopped", "maxRetryCount": 1},
            {"type": "on-failure", "maxRetryCount": -1},
            {"type": "on-failure", "timeout": -1},
            {"type": "on-failure", "maxRetryCount": "3"},
            {"type": 5},
            {"type": "on-failure", "timeout": 5, "retryTimeout": 5},
            "always",
        ]
        for policy in cases:
            with self.subTest(policy=policy):
                self.crefused(400, "update", {"restartPolicy": policy})
                self.refused(400, "createWithConfig", "ContainerFactory",
                             {"imageRef": BAD_IMAGE, "config": {"restartPolicy": policy}})
        # on create a policy without a type is incomplete
        self.refused(400, "createWithConfig", "ContainerFactory",
                     {"imageRef": BAD_IMAGE, "config": {"restartPolicy": {"maxRetryCount": 2}}})

    def test_wrong_value_types(self):
        cases = [
            ("remove", "true"), ("remove", 1), ("remove", {"force": True}),
            ("rename", 5), ("rename", {"name": "x"}), ("rename", ["x"]),
            ("stopWithOptions", "x"), ("stopWithOptions", {"timeout": -1}),
            ("stopWithOptions", {"timeout": "5"}), ("stopWithOptions", {"timeout": 1.5}),
            ("stopWithOptions", {"force": "yes"}), ("stopWithOptions", {"unknown": 1}),
            ("update", "x"), ("update", {"resources": {"memory": 64}}),
            ("update", {"resources": "64m"}), ("update", {"restart": {"type": "no"}}),
        ]
        for op, value in cases:
            with self.subTest(op=op, value=value):
                self.crefused(400, op, value)
        factory = [
            ("create", NOVALUE), ("create", {}), ("create", {"imageRef": 5}),
            ("create", {"imageRef": ""}), ("create", {"imageRef": "a b"}),
            ("create", {"imageRef": BAD_IMAGE, "start": "true"}),
            ("create", {"imageRef": BAD_IMAGE, "name": "x"}), ("create", "image"),
            ("createWithConfig", {"imageRef": BAD_IMAGE, "config": {"cmd": "sleep 1"}}),
            ("createWithConfig", {"imageRef": BAD_IMAGE, "config": {"env": ["1BAD=x"]}}),
            ("createWithConfig", {"imageRef": BAD_IMAGE, "config": {"env": "A=1"}}),
            ("createWithConfig", {"imageRef": BAD_IMAGE, "config": {"bogus": 1}}),
            ("createWithConfig", {"imageRef": BAD_IMAGE, "config": []}),
            ("createWithConfig", {"imageRef": BAD_IMAGE, "name": 5}),
        ]
        for op, value in factory:
            with self.subTest(op=op, value=value):
                self.refused(400, op, "ContainerFactory", value)

    def test_unsupported_is_501(self):
        # Docker cannot lift a memory limit of an existing container
        r = self.crefused(501, "update", {"resources": {"memory": "", "memorySwap": ""}})
        self.assertIn("memory", r.value["message"])
        # options this agent does not implement
        self.refused(501, "createWithConfig", "ContainerFactory", {
            "imageRef": BAD_IMAGE, "config": {"devices": [{"pathOnHost": "/dev/null",
                                                          "pathInContainer": "/dev/x",
                                                          "cgroupPermissions": "rwm"}]}})

    def test_missing_image_is_500(self):
        r = self.refused(500, "create", "ContainerFactory",
                         {"imageRef": "localhost/e2e-no-such-image:%s" % uuid.uuid4().hex[:6],
                          "start": True})
        self.assertIn("e2e-no-such-image", r.value["message"], "the runtime's words")

    def test_name_in_use_is_409(self):
        name = self.docker.by_berth_id(self.running)["Name"][1:]
        self.refused(409, "createWithConfig", "ContainerFactory",
                     {"imageRef": BAD_IMAGE, "name": name, "config": {"cmd": CMD_TRAP_TERM}})
        self.crefused(409, "rename", name, cid=self.stopped)

    # -- state conflicts (409) --------------------------------------------------------------

    def test_state_conflicts(self):
        r = self.crefused(409, "remove", False, what="remove running without force")
        self.assertEqual(r.path, "%s/outbox/messages/remove" % feature_path(self.running))
        self.crefused(409, "remove", what="remove running, no value")
        self.crefused(409, "start", what="start while running")
        self.crefused(409, "resume", what="resume while running")
        self.crefused(409, "pause", cid=self.stopped, what="pause while stopped")
        self.crefused(409, "resume", cid=self.stopped, what="resume while stopped")
        self.crefused(409, "stop", cid=self.stopped, what="stop while stopped")
        self.crefused(409, "stopWithOptions", {"force": True}, cid=self.stopped,
                      what="stopWithOptions while stopped")
        self.assertStatus(self.cmd("pause", "Container:%s" % self.running), 204, "pause")
        try:
            self.crefused(409, "start", what="start while paused")
            self.crefused(409, "pause", what="pause while paused")
        finally:
            self.assertStatus(self.cmd("resume", "Container:%s" % self.running), 204, "resume")

    def test_one_way_errors_are_not_answered(self):
        """response-required false: not even an error is answered (and nothing changes)."""
        before = self.docker_state()
        since = self.cloud.mark()
        self.cloud.send("start", "Container:%s" % self.running, response_required=False,
                        req_id="oneway-409")
        self.cloud.send("rename", "Container:%s" % self.running, "-bad", response_required=False,
                        req_id="oneway-400")
        self.cloud.send("start", "Container:%s" % uuid.uuid4(), response_required=False,
                        req_id="oneway-404")
        self.cloud.send("start", "Container:%s" % self.running, response_required=False,
                        req_id="oneway-400h", headers={"response-required": False})
        r = self.cmd("start", "Container:%s" % self.running)  # barrier: same container
        self.assertStatus(r, 409, "barrier")
        self.assertEqual(self.cloud.find(lambda m: "/res/oneway-" in m.topic, since), [])
        self.assertDockerUnchanged(before, "one-way bad commands")


if __name__ == "__main__":
    main()
