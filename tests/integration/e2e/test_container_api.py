# SPDX-License-Identifier: Apache-2.0
"""The Container API through MQTT, checked in the responses, in the twin events and in
Docker itself: create, createWithConfig, start, stop, stopWithOptions, pause, resume,
rename, update, remove; response envelopes, the empty request id form, response-required
false."""
import sys

sys.dont_write_bytecode = True

import time  # noqa: E402
import unittest  # noqa: E402

from berthtest import (CMD_IGNORE_TERM, CMD_TRAP_INT, CMD_TRAP_TERM, ENV, MIB,  # noqa: E402
                       E2ETestCase, UUID_RE, event_state, feature_path, is_delete, log,
                       main)

STOP_TIMEOUT = 3


class ContainerApiTest(E2ETestCase):
    berthd_options = {"stop_timeout": STOP_TIMEOUT}

    # -- create ---------------------------------------------------------------------------

    def test_create_response_envelope_and_twin_feature(self):
        since = self.cloud.mark()
        r = self.cmd("create", "ContainerFactory", {"imageRef": ENV.image, "start": False},
                     correlation_id="corr-create-1", req_id="create1")
        if isinstance(r.value, str):
            self.track(r.value)
        self.assertStatus(r, 200, "create")
        cid = r.value
        self.assertRegex(cid, UUID_RE)
        self.assertEqual(r.topic, "command//%s/res/create1/200" % ENV.thing)
        self.assertEqual(r.env["topic"], "edge/device/things/live/messages/create"
                         if ENV.thing == "edge:device" else r.env["topic"])
        self.assertEqual(r.path, "/features/ContainerFactory/outbox/messages/create")
        self.assertEqual(r.headers.get("correlation-id"), "corr-create-1")

        info = self.dinspect(cid)
        self.assertEqual(info["State"]["Status"], "created")
        self.assertEqual(info["Config"]["Labels"].get("berth.id"), cid)
        self.assertEqual(info["Config"]["Image"], ENV.image)

        ev = self.cloud.wait_event(lambda e: e.get("path") == feature_path(cid), since)
        self.assertIsNotNone(ev, "no whole-feature twin event for the new container")
        e = ev.json
        self.assertEqual(e["topic"], "edge/device/things/twin/commands/modify"
                         if ENV.thing == "edge:device" else e["topic"])
        self.assertIs(e["headers"].get("response-required"), False)
        self.assertEqual(e["value"]["definition"],
                         ["com.bosch.iot.suite.edge.containers:Container:1.5.0"])
        status = e["value"]["properties"]["status"]
        self.assertEqual(status["imageRef"], ENV.image)
        self.assertEqual(status["state"]["status"], "CREATED")
        self.assertIn("createdAt", status)
        self.assertIn("config", status)

    def test_create_reports_created_state(self):
        since = self.cloud.mark()
        cid = self.create(start=False, config={"cmd": CMD_TRAP_TERM})
        feature = self.cloud.wait_event(lambda e: e.get("path") == feature_path(cid), since)
        self.assertIsNotNone(feature, "no whole-feature event")
        # barrier: an answered command for the same container (events come before answers)
        self.assertStatus(self.ccmd("rename", cid, "e2e-created-%s" % cid[:8]), 204, "barrier")
        paths = [m.json.get("path") for m in self.cloud.events(since)
                 if isinstance(m.json, dict) and event_state(m.json, cid)]
        self.assertIn(feature_path(cid) + "/properties/status/state", paths,
                      "no status/state CREATED event after the feature: %s" % paths)

    def test_create_start_runs_container(self):
        since = self.cloud.mark()
        cid = self.create(start=True, op="create")
        # the image's default command is /bin/sh, which ends at once without a tty: the
        # container ran (RUNNING, or already EXITED when berthd looked); Docker's
        # unless-stopped (berth's default policy) restarts it
        info = self.dinspect(cid)
        self.assertEqual(info["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped")
        self.assertNotEqual(info["State"]["StartedAt"], "0001-01-01T00:00:00Z")
        self.wait_state(cid, ("RUNNING", "EXITED"), since)

    def test_create_with_config_reaches_docker(self):
        since = self.cloud.mark()
        name = "e2e-cfg-%d" % int(time.time() * 1000 % 1e9)
        cid = self.create(name=name, start=True, config={
            "cmd": CMD_TRAP_TERM,
            "env": ["E2E_A=1", "E2E_B=two words"],
            "restartPolicy": {"type": "ON_FAILURE", "maxRetryCount": 2, "retryTimeout": 5},
            "resources": {"memory": "64m", "memoryReservation": "32m"},
        })
        info = self.wait_docker(cid, lambda i: i["State"]["Running"], "running")
        self.assertEqual(info["Name"], "/" + name)
        self.assertEqual(info["Config"]["Cmd"], CMD_TRAP_TERM)
        self.assertIn("E2E_A=1", info["Config"]["Env"])
        self.assertIn("E2E_B=two words", info["Config"]["Env"])
        hc = info["HostConfig"]
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 2})
        self.assertEqual(hc["Memory"], 64 * MIB)
        self.assertEqual(hc["MemoryReservation"], 32 * MIB)
        self.assertEqual(hc["MemorySwap"], 128 * MIB, "swap defaults to twice the memory")

        ev = self.cloud.wait_event(lambda e: e.get("path") == feature_path(cid), since)
        self.assertIsNotNone(ev)
        st = ev.json["value"]["properties"]["status"]
        self.assertEqual(st["name"], name)
        self.assertEqual(st["config"]["cmd"], CMD_TRAP_TERM)
        self.assertEqual(st["config"]["restartPolicy"]["type"], "ON_FAILURE")
        self.assertEqual(st["config"]["restartPolicy"]["maxRetryCount"], 2)
        self.assertEqual(st["config"]["resources"]["memory"], "64m")
        running = self.wait_state(cid, "RUNNING", since)
        pid = running.json["value"].get("pid")
        self.assertEqual(pid, info["State"]["Pid"], "twin pid is Docker's pid")

    # -- topics and headers ----------------------------------------------------------------

    def test_empty_request_id_answers_on_operation_topic(self):
        """The Container API page's form: command//<thing>/req//<op>."""
        cid = self.create(config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}},
                          start=False, req_id="")
        r = self.ccmd("start", cid, req_id="", correlation_id="corr-empty-req")
        self.assertEqual(r.topic, "command//%s/res//start" % ENV.thing)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers.get("correlation-id"), "corr-empty-req")
        self.assertEqual(r.path, "%s/outbox/messages/start" % feature_path(cid))
        self.assertNotIn("value", r.env)
        self.wait_docker(cid, lambda i: i["State"]["Running"], "running")
        # an error too answers on .../res//<op>
        r = self.ccmd("start", cid, req_id="")
        self.assertEqual(r.topic, "command//%s/res//start" % ENV.thing)
        self.assertEqual(r.status, 409)
        self.assertEqual(r.value["error"], "messages:execution.conflict")

    def test_response_required_false_runs_without_answer(self):
        cid = self.running_container()
        since = self.cloud.mark()
        self.cloud.send("stop", "Container:%s" % cid, response_required=False, req_id="noresp1")
        # Commands for one container run in order: when the next answer arrives, the stop
        # has run and would have been answered before it.
        r = self.ccmd("rename", cid, "e2e-after-noresp-%s" % cid[:8])
        self.assertStatus(r, 204, "rename after the one-way stop")
        self.assertEqual(self.cloud.find(lambda m: "/res/noresp1/" in m.topic, since), [],
                         "a command with response-required false was answered")
        info = self.dinspect(cid)
        self.assertFalse(info["State"]["Running"], "the one-way stop did not run")
        self.assertEqual(info["State"]["ExitCode"], 3)
        self.wait_state(cid, "STOPPED", since)
        # the string form "false" is accepted too
        since = self.cloud.mark()
        self.cloud.send("start", "Container:%s" % cid, req_id="noresp2",
                        headers={"correlation-id": "c-noresp2", "response-required": "false"})
        self.assertStatus(self.ccmd("pause", cid), 204, "pause after the one-way start")
        self.assertEqual(self.cloud.find(lambda m: "/res/noresp2/" in m.topic, since), [])

    def test_response_required_absent_means_true(self):
        r = self.cmd("ping", "ContainerFactory", response_required=None)
        self.assertStatus(r, 404, "unknown op without response-required")

    # -- lifecycle -----------------------------------------------------------------------

    def test_start_stop_pause_resume(self):
        cid = self.create(config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}},
                          start=False)
        self.assertEqual(self.dinspect(cid)["State"]["Status"], "created")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(self.dinspect(cid)["State"]["Running"])
        self.wait_state(cid, "RUNNING", since)

        since = self.cloud.mark()
        self.assertStatus(self.ccmd("pause", cid), 204, "pause")
        self.assertEqual(self.dinspect(cid)["State"]["Status"], "paused")
        self.wait_state(cid, "PAUSED", since)

        since = self.cloud.mark()
        self.assertStatus(self.ccmd("resume", cid), 204, "resume")
        self.assertEqual(self.dinspect(cid)["State"]["Status"], "running")
        self.wait_state(cid, "RUNNING", since)

        since = self.cloud.mark()
        r = self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        info = self.dinspect(cid)
        self.assertEqual(info["State"]["Status"], "exited")
        self.assertEqual(info["State"]["ExitCode"], 3, "SIGTERM reached the trap")
        ev = self.wait_state(cid, "STOPPED", since)
        self.assertEqual(ev.json["value"].get("exitCode"), 3)
        self.assertEqual(ev.json["value"].get("pid"), -1)
        self.assertNotIn("EXITED", self.cloud.states(cid, since),
                         "a stop by command is STOPPED, never EXITED")
        log("stop of a SIGTERM-trapping container answered after %.2f s" % r.elapsed)

        # start again after a stop
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("start", cid), 204, "start again")
        self.assertTrue(self.dinspect(cid)["State"]["Running"])
        self.wait_state(cid, "RUNNING", since)

    def test_stop_paused_container(self):
        cid = self.running_container()
        self.assertStatus(self.ccmd("pause", cid), 204, "pause")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop while paused")
        info = self.dinspect(cid)
        self.assertFalse(info["State"]["Running"])
        self.assertFalse(info["State"]["Paused"])
        self.wait_state(cid, "STOPPED", since)

    def test_stop_kills_after_the_agent_stop_timeout(self):
        """plain stop always ends stopped: SIGTERM, agent.stop_timeout, SIGKILL."""
        cid = self.running_container(cmd=CMD_IGNORE_TERM)
        since = self.cloud.mark()
        r = self.ccmd("stop", cid, timeout=STOP_TIMEOUT + 40)
        self.assertStatus(r, 204, "stop of a process that ignores SIGTERM")
        info = self.dinspect(cid)
        self.assertFalse(info["State"]["Running"])
        self.assertEqual(info["State"]["ExitCode"], 137, "SIGKILL ended it")
        ev = self.wait_state(cid, "STOPPED", since)
        self.assertEqual(ev.json["value"].get("exitCode"), 137)
        log("stop with stop_timeout=%d s answered after %.2f s" % (STOP_TIMEOUT, r.elapsed))

    def test_stop_with_options_signals(self):
        """signal by name with and without SIG, as a number and a numeric string."""
        cid = self.running_container(cmd=CMD_TRAP_INT)
        for sig in ("SIGINT", "INT", 2, "2"):
            since = self.cloud.mark()
            r = self.ccmd("stopWithOptions", cid, {"signal": sig, "timeout": 10})
            self.assertStatus(r, 204, "stopWithOptions signal %r" % (sig,))
            info = self.dinspect(cid)
            self.assertFalse(info["State"]["Running"], "signal %r" % (sig,))
            self.assertEqual(info["State"]["ExitCode"], 5,
                             "signal %r reached the INT trap" % (sig,))
            ev = self.wait_state(cid, "STOPPED", since)
            self.assertEqual(ev.json["value"].get("exitCode"), 5)
            self.assertStatus(self.ccmd("start", cid), 204, "start after signal %r" % (sig,))
            self.wait_docker(cid, lambda i: i["State"]["Running"], "running")

    def test_stop_with_options_without_force_fails_and_keeps_running(self):
        cid = self.running_container(cmd=CMD_IGNORE_TERM)
        before = self.dinspect(cid)
        since = self.cloud.mark()
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGTERM", "timeout": 2})
        self.assertStatus(r, 500, "stop of a process that ignores the signal, no force")
        self.assertGreaterEqual(r.elapsed, 1.5, "the stop waited for its timeout")
        after = self.dinspect(cid)
        self.assertTrue(after["State"]["Running"], "the container must keep running")
        self.assertEqual(after["State"]["Pid"], before["State"]["Pid"])
        self.assertEqual(after["State"]["StartedAt"], before["State"]["StartedAt"])
        self.assertNotIn("STOPPED", self.cloud.states(cid, since))
        self.assertNotIn("EXITED", self.cloud.states(cid, since))
        # force absent: the same (force defaults to false)
        r = self.ccmd("stopWithOptions", cid, {"timeout": 1})
        self.assertStatus(r, 500, "stopWithOptions without force")
        self.assertTrue(self.dinspect(cid)["State"]["Running"])

        # with force it ends killed and STOPPED
        since = self.cloud.mark()
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGTERM", "timeout": 2, "force": True})
        self.assertStatus(r, 204, "forced stopWithOptions")
        info = self.dinspect(cid)
        self.assertFalse(info["State"]["Running"])
        self.assertEqual(info["State"]["ExitCode"], 137)
        self.wait_state(cid, "STOPPED", since)

    def test_stop_with_options_sigkill_and_other_signal_forced(self):
        cid = self.running_container(cmd=CMD_IGNORE_TERM)
        # a signal the process ignores (SIGUSR1 without a trap: PID 1 drops it), forced
        since = self.cloud.mark()
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGUSR1", "timeout": 1, "force": True})
        self.assertStatus(r, 204, "forced stopWithOptions SIGUSR1")
        self.assertEqual(self.dinspect(cid)["State"]["ExitCode"], 137)
        self.wait_state(cid, "STOPPED", since)
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        since = self.cloud.mark()
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGKILL"})
        self.assertStatus(r, 204, "stopWithOptions SIGKILL")
        self.assertEqual(self.dinspect(cid)["State"]["ExitCode"], 137)
        self.wait_state(cid, "STOPPED", since)

    def test_exit_not_caused_by_agent_is_exited(self):
        since = self.cloud.mark()
        cid = self.create(config={"cmd": ["/bin/sh", "-c", "sleep 1; exit 7"],
                                  "restartPolicy": {"type": "no"}}, start=True)
        self.wait_docker(cid, lambda i: i["State"]["Status"] == "exited", "exited")
        ev = self.wait_state(cid, "EXITED", since)
        self.assertEqual(ev.json["value"].get("exitCode"), 7)
        self.assertNotIn("STOPPED", self.cloud.states(cid, since))

    def _find_created(self, since, cmd):
        """Ids of containers whose whole-feature event since `since` has config.cmd == cmd
        (for creates whose answer carries no id); tracked for cleanup."""
        ids = []
        for m in self.cloud.events(since):
            e = m.json
            if not isinstance(e, dict) or not e.get("path", "").startswith("/features/Container:"):
                continue
            st = ((e.get("value") or {}).get("properties") or {}).get("status") or {}
            if (st.get("config") or {}).get("cmd") == cmd:
                cid = e["path"][len("/features/Container:"):]
                if cid not in ids:
                    ids.append(self.track(cid))
        return ids

    def test_create_with_start_that_fails(self):
        cmd = ["/nonexistent-e2e-%d" % (time.time() * 1000 % 1e6)]
        since = self.cloud.mark()
        r = self.cmd("createWithConfig", "ContainerFactory", {
            "imageRef": ENV.image, "start": True, "config": {"cmd": cmd}})
        ids = self._find_created(since, cmd)
        self.assertEqual(len(ids), 1, "one container was created: %s" % ids)
        cid = ids[0]
        info = self.dinspect(cid)
        self.assertFalse(info["State"]["Running"])
        ev = self.wait_state(cid, "STOPPED", since)
        self.assertIn("nonexistent-e2e", ev.json["value"].get("error", ""))
        self.assertIn(cid, r.value.get("message", ""), "the answer names the new container")
        self.assertStatus(r, 500, "create whose start fails")

    def test_start_that_fails(self):
        cmd = ["/nonexistent-e2e-%d" % (time.time() * 1000 % 1e6)]
        cid = self.create(config={"cmd": cmd, "restartPolicy": {"type": "no"}}, start=False)
        since = self.cloud.mark()
        r = self.ccmd("start", cid)
        self.assertIn("nonexistent-e2e", r.value.get("message", ""), r)
        ev = self.wait_state(cid, "STOPPED", since)
        self.assertIn("nonexistent-e2e", ev.json["value"].get("error", ""))
        self.assertStatus(r, 500, "start that the runtime refuses")

    # -- the seed page's examples ------------------------------------------------------

    def test_seed_page_update_example_with_trailing_comma(self):
        """The Container API page's update message, verbatim in form: empty request id,
        restartPolicy.timeout, type on-failure, sizes 500M/300M/1G, a trailing comma."""
        cid = self.running_container()
        payload = """{
	"topic":"%s/things/live/messages/update",
	"headers":{
		"response-required":true,
		"content-type":"application/json",
		"correlation-id":"seed-update-%s"
	},
	"path":"/features/Container:%s/inbox/messages/update",
	"value":{
		"restartPolicy":{
			"maxRetryCount":3,
			"timeout":10,
			"type":"on-failure"
		},
		"resources":{
			"memory":"500M",
			"memoryReservation":"300M",
			"memorySwap":"1G"
		},
	}
}""" % (self.cloud.ditto_prefix, cid[:8], cid)
        r = self.cloud.command("update", None, raw_payload=payload, req_id="",
                               correlation_id="seed-update-%s" % cid[:8])
        self.assertIsNotNone(r, "no answer on command//%s/res//update" % ENV.thing)
        self.assertEqual(r.topic, "command//%s/res//update" % ENV.thing)
        self.assertStatus(r, 204, "seed page update")
        hc = self.dinspect(cid)["HostConfig"]
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 3})
        self.assertEqual((hc["Memory"], hc["MemoryReservation"], hc["MemorySwap"]),
                         (500 * MIB, 300 * MIB, 1024 * MIB))

    def test_seed_page_create_and_stop_with_options(self):
        """create with the page's value shape on the empty-request-id topic; then
        stopWithOptions {signal, timeout, force} as the page shows it."""
        r = self.cmd("createWithConfig", "ContainerFactory", {
            "imageRef": ENV.image, "name": "e2e-seed-%s" % time.strftime("%H%M%S"),
            "config": {"cmd": CMD_TRAP_INT, "restartPolicy": {"type": "UNLESS_STOPPED"},
                       "resources": {"memory": "200m", "memoryReservation": "100m",
                                     "memorySwap": "-1"}},
            "start": True}, req_id="")
        if r.status == 200:
            self.track(r.value)
        self.assertEqual(r.topic, "command//%s/res//createWithConfig" % ENV.thing)
        self.assertStatus(r, 200, "createWithConfig")
        cid = r.value
        info = self.wait_docker(cid, lambda i: i["State"]["Running"], "running")
        self.assertEqual(info["HostConfig"]["MemorySwap"], -1, "swap -1 is unlimited")
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGINT", "timeout": 30, "force": True},
                      req_id="")
        self.assertEqual(r.topic, "command//%s/res//stopWithOptions" % ENV.thing)
        self.assertStatus(r, 204, "stopWithOptions")
        self.assertEqual(self.dinspect(cid)["State"]["ExitCode"], 5)

    def test_changes_made_directly_in_docker_are_reported(self):
        cid = self.running_container()
        native = self.dinspect(cid)["Id"]
        since = self.cloud.mark()
        self.assertEqual(self.docker.request("POST", "/containers/%s/pause" % native)[0], 204)
        self.wait_state(cid, "PAUSED", since)
        since = self.cloud.mark()
        self.assertEqual(self.docker.request("POST", "/containers/%s/unpause" % native)[0], 204)
        self.wait_state(cid, "RUNNING", since)
        # berthd follows: resume now conflicts, pause works
        self.assertStatus(self.ccmd("resume", cid), 409, "resume of a running container")
        self.assertStatus(self.ccmd("pause", cid), 204, "pause")
        since = self.cloud.mark()
        self.assertEqual(self.docker.stop(native, t=5), 204)  # not by berthd: EXITED
        ev = self.wait_state(cid, "EXITED", since)
        self.assertEqual(ev.json["value"].get("exitCode"), 3)

    # -- rename, update ------------------------------------------------------------------

    def test_rename(self):
        cid = self.running_container(name="e2e-old-%s" % time.strftime("%H%M%S"))
        new = "e2e-new_%s.x" % cid[:8]
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("rename", cid, new), 204, "rename")
        self.assertEqual(self.dinspect(cid)["Name"], "/" + new)
        ev = self.cloud.wait_event(
            lambda e: e.get("path") == feature_path(cid) + "/properties/status/name", since)
        self.assertIsNotNone(ev, "no status/name twin event")
        self.assertEqual(ev.json["value"], new)
        # the same name again: nothing to do
        self.assertStatus(self.ccmd("rename", cid, new), 204, "rename to the same name")
        # a stopped container can be renamed too
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertStatus(self.ccmd("rename", cid, new + "2"), 204, "rename stopped")
        self.assertEqual(self.dinspect(cid)["Name"], "/" + new + "2")

    def test_rename_to_a_name_in_use_conflicts(self):
        a = self.create(name="e2e-taken-%s" % time.strftime("%H%M%S"), start=False,
                        config={"cmd": CMD_TRAP_TERM})
        b = self.create(start=False, config={"cmd": CMD_TRAP_TERM}, name="e2e-b-%s" % a[:8])
        taken = self.dinspect(a)["Name"][1:]
        before = self.dinspect(b)["Name"]
        r = self.ccmd("rename", b, taken)
        self.assertStatus(r, 409, "rename to a name in use")
        self.assertEqual(self.dinspect(b)["Name"], before)

    def test_update_merges(self):
        cid = self.create(start=False, config={
            "cmd": CMD_TRAP_TERM,
            "restartPolicy": {"type": "on-failure", "maxRetryCount": 2},
            "resources": {"memory": "64m"},
        })
        hc = self.dinspect(cid)["HostConfig"]
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 2})
        self.assertEqual((hc["Memory"], hc["MemorySwap"]), (64 * MIB, 128 * MIB))

        # resources: only the reservation is named; memory, swap and the policy stay
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memoryReservation": "32m"}}),
                          204, "update reservation")
        hc = self.dinspect(cid)["HostConfig"]
        self.assertEqual(hc["Memory"], 64 * MIB, "memory kept")
        self.assertEqual(hc["MemoryReservation"], 32 * MIB)
        self.assertEqual(hc["MemorySwap"], 128 * MIB, "swap kept")
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 2})
        ev = self.cloud.wait_event(
            lambda e: e.get("path") == feature_path(cid) + "/properties/status/config", since)
        self.assertIsNotNone(ev, "no status/config twin event")
        cfg = ev.json["value"]
        self.assertEqual(cfg["resources"].get("memory"), "64m")
        self.assertEqual(cfg["resources"].get("memoryReservation"), "32m")
        self.assertEqual(cfg["restartPolicy"].get("type"), "ON_FAILURE")
        self.assertEqual(cfg["restartPolicy"].get("maxRetryCount"), 2)
        self.assertEqual(cfg.get("cmd"), CMD_TRAP_TERM, "the rest of the config is kept")

        # restartPolicy: only the count; the type stays on-failure, resources stay
        self.assertStatus(self.ccmd("update", cid, {"restartPolicy": {"maxRetryCount": 5}}),
                          204, "update count")
        hc = self.dinspect(cid)["HostConfig"]
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 5})
        self.assertEqual((hc["Memory"], hc["MemoryReservation"]), (64 * MIB, 32 * MIB))

        # the seed page's spelling: ON_FAILURE with timeout (and its trailing-comma quirk is
        # JSON-level, not tested here)
        self.assertStatus(self.ccmd("update", cid, {"restartPolicy": {
            "type": "ON_FAILURE", "maxRetryCount": 3, "timeout": 10}}), 204, "update ON_FAILURE")
        self.assertEqual(self.dinspect(cid)["HostConfig"]["RestartPolicy"],
                         {"Name": "on-failure", "MaximumRetryCount": 3})

        # another type drops the count
        self.assertStatus(self.ccmd("update", cid, {"restartPolicy": {"type": "always"}}),
                          204, "update always")
        self.assertEqual(self.dinspect(cid)["HostConfig"]["RestartPolicy"],
                         {"Name": "always", "MaximumRetryCount": 0})

        # an update that changes nothing: 204 and no config event
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memory": "64m"}}), 204,
                          "no-op update")
        self.assertStatus(self.ccmd("rename", cid, "e2e-barrier-%s" % cid[:8]), 204, "barrier")
        self.assertEqual(self.cloud.find(
            lambda m: isinstance(m.json, dict) and
            m.json.get("path") == feature_path(cid) + "/properties/status/config", since), [],
            "an update without change sent a config event")

    def test_update_resources_of_running_container(self):
        cid = self.create(start=True, config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"},
                                              "resources": {"memory": "64m"}})
        self.wait_docker(cid, lambda i: i["State"]["Running"], "running")
        self.assertStatus(self.ccmd("update", cid, {"resources": {
            "memory": "96m", "memorySwap": "200m"}}), 204, "live update")
        hc = self.dinspect(cid)["HostConfig"]
        self.assertEqual(hc["Memory"], 96 * MIB)
        self.assertEqual(hc["MemorySwap"], 200 * MIB)
        self.assertTrue(self.dinspect(cid)["State"]["Running"])
        # the seed page's sizes: 500M, 1.2g
        self.assertStatus(self.ccmd("update", cid, {"resources": {
            "memory": "500M", "memorySwap": "1.2g"}}), 204, "update 500M/1.2g")
        hc = self.dinspect(cid)["HostConfig"]
        self.assertEqual(hc["Memory"], 500 * MIB)
        self.assertEqual(hc["MemorySwap"], int(1.2 * 1024 * MIB))

    # -- remove --------------------------------------------------------------------------

    def test_remove_stopped(self):
        cid = self.create(start=False, config={"cmd": CMD_TRAP_TERM})
        native = self.dinspect(cid)["Id"]
        recs_before = self.agent.records()
        self.assertTrue(any(cid in f for f in recs_before), "no record for %s in %s"
                        % (cid, recs_before))
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("remove", cid, False), 204, "remove false")
        self.assertIsNone(self.docker.inspect(native), "Docker still has the container")
        self.wait_state(cid, "DEAD", since)
        ev = self.cloud.wait_event(lambda e: is_delete(e, cid), since)
        self.assertIsNotNone(ev, "no feature delete")
        states = self.cloud.states(cid, since)
        self.assertEqual(states[-1], "DEAD")
        events = self.cloud.events(since)
        dead = max(i for i, m in enumerate(events) if event_state(m.json, cid) == "DEAD")
        delete = min(i for i, m in enumerate(events) if is_delete(m.json, cid))
        self.assertLess(dead, delete, "DEAD must come before the feature delete")
        self.assertFalse(any(cid in f for f in self.agent.records()), "record left behind")
        # the container is unknown now
        r = self.ccmd("start", cid)
        self.assertStatus(r, 404, "start after remove")

    def test_remove_running_with_force(self):
        cid = self.running_container(cmd=CMD_IGNORE_TERM)
        native = self.dinspect(cid)["Id"]
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("remove", cid, True, timeout=60), 204, "remove true")
        self.assertIsNone(self.docker.inspect(native))
        self.wait_state(cid, "DEAD", since)
        self.assertIsNotNone(self.cloud.wait_event(lambda e: is_delete(e, cid), since))

    def test_remove_without_value(self):
        cid = self.create(start=False, config={"cmd": CMD_TRAP_TERM})
        native = self.dinspect(cid)["Id"]
        self.assertStatus(self.ccmd("remove", cid), 204, "remove without value")
        self.assertIsNone(self.docker.inspect(native))


if __name__ == "__main__":
    main()
