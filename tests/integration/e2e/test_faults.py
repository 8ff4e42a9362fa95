# SPDX-License-Identifier: Apache-2.0
"""Faults: kill -9 of berthd and a restart (ids kept, state reconciled with what changed
in Docker meanwhile), a broker restart (persistent session: a QoS 1 command published
while berthd is away is delivered when it is back; resync), a dockerd restart (503 in
between, then commands work again).

The broker and dockerd restarts use the peer scripts (lib/mosquitto.sh, lib/dockerd.sh).
"""
import sys

sys.dont_write_bytecode = True

import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from berthtest import (CMD_TRAP_TERM, ENV, E2ETestCase, event_state,  # noqa: E402
                       event_state_object, feature_path, is_delete, log, main, peer_script, wait_for)


class KillRestartTest(E2ETestCase):
    berthd_options = {"stop_timeout": 3}

    def feature_event(self, cid, status, since, timeout=30):
        ev = self.cloud.wait_event(lambda e: e.get("path") == feature_path(cid) and
                                   event_state(e, cid) == status, since, timeout)
        self.assertIsNotNone(ev, "no resync feature for %s with state %s; states: %s"
                             % (cid, status, self.cloud.states(cid, since)))
        return ev

    def test_kill9_and_restart_reconciles(self):
        keep = self.running_container()            # untouched
        gone = self.running_container()            # removed in Docker while berthd is down
        halted = self.running_container()          # stopped in Docker while berthd is down
        idle = self.create(config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}},
                           start=False)            # created, never started
        natives = {cid: self.dinspect(cid)["Id"] for cid in (keep, gone, halted, idle)}
        recs = self.agent.records()
        for cid in natives:
            self.assertTrue(any(cid in f for f in recs), "no record of %s in %s" % (cid, recs))

        self.agent.kill9()
        self.assertEqual(self.docker.remove(natives[gone], force=True), 204)
        self.assertEqual(self.docker.stop(natives[halted], t=5), 204)
        self.assertEqual(self.docker.inspect(natives[halted])["State"]["ExitCode"], 3)

        since = self.cloud.mark()
        self.start_agent()

        # vanished: its feature is deleted (resync or reconciliation)
        ev = self.cloud.wait_event(lambda e: is_delete(e, gone), since)
        self.assertIsNotNone(ev, "no delete of the feature of the container removed in Docker")
        # (the record goes right after the event)
        self.assertTrue(wait_for(lambda: not any(gone in f for f in self.agent.records()), 10),
                        "record of %s kept" % gone)
        # stopped behind berthd's back: EXITED (the agent did not cause it), exit code 3
        ev = self.wait_state(halted, "EXITED", since)
        self.assertEqual(event_state_object(ev.json, halted).get("exitCode"), 3)
        # the others are announced again with the same ids and their states
        self.feature_event(keep, "RUNNING", since)
        self.feature_event(idle, "CREATED", since)
        for cid in (keep, halted, idle):
            info = self.docker.inspect(natives[cid])
            self.assertEqual(info["Config"]["Labels"]["berth.id"], cid, "the id changed")
            self.assertTrue(any(cid in f for f in self.agent.records()), "record of %s lost" % cid)
        # and they are operable under their ids
        self.assertStatus(self.ccmd("stop", keep), 204, "stop after the restart")
        self.assertEqual(self.docker.inspect(natives[keep])["State"]["ExitCode"], 3)
        self.assertStatus(self.ccmd("start", halted), 204, "start the one stopped in Docker")
        self.assertTrue(self.docker.inspect(natives[halted])["State"]["Running"])
        self.assertStatus(self.ccmd("start", idle), 204, "start the idle one")
        self.assertStatus(self.ccmd("start", gone), 404, "the removed one is unknown")

    def test_policy_holds_while_berthd_is_down(self):
        """The restart policy lives in Docker: a crash while berthd is down is restarted
        by Docker; the restarted berthd reports the container running under its id."""
        cid = self.running_container(policy="always")
        info = self.dinspect(cid)
        self.agent.kill9()
        os.kill(info["State"]["Pid"], 9)
        # Docker says Running (and Restarting) already during its restart delay, with no
        # process yet: wait for the new process, or berthd rightly reports EXITED first
        self.docker.wait_until(info["Id"], lambda i: i["RestartCount"] >= 1 and
                               i["State"]["Running"] and not i["State"]["Restarting"] and
                               i["State"]["Pid"] > 0, what="restarted by Docker")
        since = self.cloud.mark()
        self.start_agent()
        self.feature_event(cid, "RUNNING", since)
        new_pid = self.docker.inspect(info["Id"])["State"]["Pid"]
        self.assertNotEqual(new_pid, info["State"]["Pid"])

        def state_value(e):
            v = e.get("value") or {}
            if e.get("path") == feature_path(cid):
                return ((v.get("properties") or {}).get("status") or {}).get("state") or {}
            return v

        # the twin learns the new process (resync from the record, then reconciliation)
        ev = self.cloud.wait_event(lambda e: event_state(e, cid) == "RUNNING" and
                                   state_value(e).get("pid") == new_pid, since)
        self.assertIsNotNone(ev, "the twin never got the pid of the restarted process %d: %s"
                             % (new_pid, [state_value(m.json) for m in self.cloud.events(since)
                                          if event_state(m.json, cid)]))

    def test_sigterm_exits_cleanly_and_restart_keeps_containers(self):
        cid = self.running_container()
        native = self.dinspect(cid)["Id"]
        rc = self.agent.stop()
        self.assertEqual(rc, 0, "berthd exit status after SIGTERM:\n%s" % self.agent.log_tail())
        since = self.cloud.mark()
        self.start_agent()
        self.feature_event(cid, "RUNNING", since)
        self.assertEqual(self.docker.inspect(native)["Config"]["Labels"]["berth.id"], cid)
        self.assertStatus(self.ccmd("stop", cid), 204, "stop after the restart")

    def test_command_sent_while_berthd_is_down_runs_after_restart(self):
        """The broker keeps a QoS 1 command for berthd's persistent session while berthd
        is dead; the restarted berthd runs and answers it."""
        cid = self.running_container()
        native = self.dinspect(cid)["Id"]
        self.agent.kill9()
        since = self.cloud.mark()
        req_id, corr, _, sent_at = self.cloud.send("stop", "Container:%s" % cid)
        self.assertTrue(self.docker.inspect(native)["State"]["Running"])
        self.start_agent(wait_ready=False)
        r = self.cloud.wait_response(req_id, "stop", corr, sent_at, since, timeout=60)
        self.assertIsNotNone(r, "the command sent while berthd was down was not answered:\n%s"
                             % self.agent.log_tail())
        self.assertStatus(r, 204, "stop sent while berthd was down")
        info = self.docker.inspect(native)
        self.assertFalse(info["State"]["Running"])
        self.assertEqual(info["State"]["ExitCode"], 3)
        self.wait_state(cid, "STOPPED", since)
        self.wait_ready()

    def test_restart_keeps_ids_and_adopts_labelled_containers(self):
        """A lost record (state dir entry deleted while berthd is down) is rebuilt from the
        container's berth.id label."""
        cid = self.running_container()
        native = self.dinspect(cid)["Id"]
        self.agent.kill9()
        d = os.path.join(self.agent.state_dir, "containers")
        for f in os.listdir(d):
            if cid in f:
                os.unlink(os.path.join(d, f))
        since = self.cloud.mark()
        self.start_agent()
        self.feature_event(cid, "RUNNING", since)
        self.assertTrue(any(cid in f for f in self.agent.records()), "record not rebuilt")
        self.assertStatus(self.ccmd("stop", cid), 204, "stop the adopted container")
        self.assertFalse(self.docker.inspect(native)["State"]["Running"])


class BrokerRestartTest(E2ETestCase):
    berthd_options = {"stop_timeout": 3, "mqtt_extra": {"reconnect_min": 1, "reconnect_max": 2}}

    def broker_log(self):
        return os.path.join(ENV.run, "mosquitto", "mosquitto.log")

    def restart_broker(self):
        rc, out = peer_script("mosquitto", "stop")
        self.assertEqual(rc, 0, "mosquitto.sh stop: %s" % out)
        self.assertTrue(wait_for(lambda: not self.cloud.connected.is_set(), 10))
        rc, out = peer_script("mosquitto", "start")
        self.assertEqual(rc, 0, "mosquitto.sh start: %s" % out)
        self.assertTrue(self.cloud.wait_connected(20), "the test client did not reconnect")

    def command_across(self, cid, native, since, freeze):
        """Sends start/stop (whichever applies) and checks the answer, Docker and (when
        berthd was frozen, so that it reconnects after this client) the resync."""
        op = "stop" if self.docker.inspect(native)["State"]["Running"] else "start"
        req_id, corr, _, sent_at = self.cloud.send(op, "Container:%s" % cid)
        if freeze:
            os.kill(self.agent.pid, signal.SIGCONT)
        r = self.cloud.wait_response(req_id, op, corr, sent_at, since, timeout=60)
        self.assertIsNotNone(r, "no answer to %s after the broker restart; berthd log:\n%s"
                             % (op, self.agent.log_tail()))
        self.assertStatus(r, 204, "%s after the broker restart" % op)
        self.assertEqual(self.docker.inspect(native)["State"]["Running"], op == "start")
        log("%s answered %.2f s after it was published" % (op, r.elapsed))
        if not freeze:
            return req_id  # berthd may have resynced before this client was back
        self.assertIsNotNone(self.cloud.wait_event(
            lambda e: e.get("path") == "/features/ContainerFactory", since),
            "no ContainerFactory resync after the reconnect")
        self.assertIsNotNone(self.cloud.wait_event(
            lambda e: e.get("path") == feature_path(cid), since),
            "no resync of the container feature after the reconnect")
        return req_id

    def test_broker_restart_reconnects_and_commands_work(self):
        cid = self.running_container()
        native = self.dinspect(cid)["Id"]
        self.restart_broker()
        since = self.cloud.mark()
        # berthd reconnects on its own (reconnect_min 1 s); the command may arrive before
        # or after that: either way it is answered
        self.command_across(cid, native, since, freeze=False)

    def test_command_published_while_berthd_is_away_is_delivered(self):
        """berthd is frozen (SIGSTOP) across the broker restart, so it is certainly not
        connected when the QoS 1 command is published; the broker keeps the command in
        berthd's persistent session and delivers it after berthd reconnects (SIGCONT)."""
        cid = self.running_container()
        native = self.dinspect(cid)["Id"]
        try:
            offset = os.path.getsize(self.broker_log())
        except OSError:
            offset = 0
        os.kill(self.agent.pid, signal.SIGSTOP)
        try:
            self.restart_broker()
            since = self.cloud.mark()
            req_id = self.command_across(cid, native, since, freeze=True)
        finally:
            os.kill(self.agent.pid, signal.SIGCONT)
        # the broker's log, when it logs packets (log_type all), shows the order too
        try:
            with open(self.broker_log(), "rb") as f:
                f.seek(offset)
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            lines = []
        pub = [i for i, l in enumerate(lines) if "Received PUBLISH from %s" % self.cloud.client_id
               in l and "/req/%s/" % req_id in l]
        conn = [i for i, l in enumerate(lines) if "New client connected" in l and
                " as %s " % self.agent.client_id in l]
        if pub and conn:
            log("broker log: command published at line %d, berthd reconnected at line %d"
                % (pub[0], conn[-1]))
            self.assertLess(pub[0], conn[-1])
        # and commands keep working
        op = "start" if not self.docker.inspect(native)["State"]["Running"] else "stop"
        self.assertStatus(self.ccmd(op, cid), 204, "%s after the reconnect" % op)


    def broker_down_then_back(self, while_down):
        """Stops the broker, runs while_down(), starts the broker again with berthd
        frozen until this client is back (so that nothing berthd sends after its own
        reconnect can be missed); returns the message mark taken before berthd resumes."""
        rc, out = peer_script("mosquitto", "stop")
        self.assertEqual(rc, 0, "mosquitto.sh stop: %s" % out)
        try:
            while_down()
        finally:
            os.kill(self.agent.pid, signal.SIGSTOP)
            try:
                rc, out = peer_script("mosquitto", "start")
                self.assertEqual(rc, 0, "mosquitto.sh start: %s" % out)
                self.assertTrue(self.cloud.wait_connected(20))
                since = self.cloud.mark()
            finally:
                os.kill(self.agent.pid, signal.SIGCONT)
        return since

    def test_stop_while_the_broker_is_down_reaches_the_twin(self):
        """A container stopped directly in Docker while the broker is down: after the
        reconnect the twin hears EXITED (from the resync)."""
        halted = self.running_container()
        native = self.dinspect(halted)["Id"]

        def stop_in_docker():
            self.assertEqual(self.docker.stop(native, t=5), 204)
            self.assertTrue(wait_for(lambda: ((self.agent.record(halted) or {}).get(
                "state") or {}).get("status") == "EXITED", 20), "berthd did not record the exit")

        since = self.broker_down_then_back(stop_in_docker)
        ev = self.wait_state(halted, "EXITED", since)
        self.assertEqual(ev.json["value"]["properties"]["status"]["state"].get("exitCode")
                         if ev.json["path"] == feature_path(halted)
                         else ev.json["value"].get("exitCode"), 3)
        self.assertStatus(self.ccmd("start", halted), 204, "start after the reconnect")

    def test_removal_while_the_broker_is_down_reaches_the_twin(self):
        gone = self.running_container()
        native = self.dinspect(gone)["Id"]

        def remove_in_docker():
            self.assertEqual(self.docker.remove(native, force=True), 204)
            self.assertTrue(wait_for(lambda: not any(gone in f for f in self.agent.records()),
                                     20), "berthd did not notice the removal")

        since = self.broker_down_then_back(remove_in_docker)
        self.assertIsNotNone(self.cloud.wait_event(
            lambda e: e.get("path") == "/features/ContainerFactory", since), "no resync")
        self.assertIsNotNone(self.cloud.wait_event(lambda e: is_delete(e, gone), since, 10),
                             "the twin never heard of the removal; states: %s"
                             % self.cloud.states(gone, since))


class DockerdRestartTest(E2ETestCase):
    berthd_options = {"stop_timeout": 3}

    def test_dockerd_restart(self):
        running = self.running_container()
        idle = self.create(config={"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}},
                           start=False)
        idle_native = self.dinspect(idle)["Id"]
        since = self.cloud.mark()
        t0 = time.monotonic()
        rc, out = peer_script("dockerd", "stop")
        self.assertEqual(rc, 0, "dockerd.sh stop: %s" % out)
        log("dockerd stopped in %.1f s" % (time.monotonic() - t0))
        try:
            self.assertFalse(self.docker.ping())
            for op, feature, value in (
                    ("start", "Container:%s" % idle, None),
                    ("createWithConfig", "ContainerFactory",
                     {"imageRef": ENV.image, "config": {"cmd": CMD_TRAP_TERM}}),
                    ("create", "ContainerFactory", {"imageRef": ENV.image}),
                    ("update", "Container:%s" % idle, {"restartPolicy": {"type": "always"}}),
                    ("rename", "Container:%s" % idle, "e2e-while-down-%s" % idle[:8]),
                    ("remove", "Container:%s" % idle, True)):
                with self.subTest(op=op):
                    r = self.cmd(op, feature, value) if value is not None else self.cmd(op, feature)
                    if r.status == 200:
                        self.track(r.value)
                    self.assertStatus(r, 503, "%s while dockerd is down" % op)
        finally:
            t0 = time.monotonic()
            rc, out = peer_script("dockerd", "start")
            self.assertEqual(rc, 0, "dockerd.sh start: %s" % out)
            log("dockerd started in %.1f s" % (time.monotonic() - t0))
        # commands work again once berthd sees dockerd back
        deadline = time.monotonic() + 60
        while True:
            r = self.ccmd("start", idle)
            if r.status != 503 or time.monotonic() > deadline:
                break
            time.sleep(1)
        self.assertStatus(r, 204, "start after the dockerd restart")
        info = self.docker.inspect(idle_native)
        self.assertIsNotNone(info, "the container was removed although the remove got 503")
        self.assertTrue(info["State"]["Running"])
        self.assertEqual(info["Config"]["Labels"]["berth.id"], idle)
        self.assertFalse(self.cloud.find(lambda m: isinstance(m.json, dict) and
                                         is_delete(m.json, idle), since),
                         "the feature was deleted although the remove got 503")
        # the container that dockerd stopped on its way down is reported EXITED
        ev = self.wait_state(running, "EXITED", since, timeout=40)
        self.assertNotIn("STOPPED", self.cloud.states(running, since))
        log("twin: %s" % self.cloud.states(running, since))
        self.assertIsNotNone(ev)
        self.assertStatus(self.ccmd("start", running), 204, "start the other one again")
        # Docker's events reach berthd again: an exit berthd did not cause is reported
        since = self.cloud.mark()
        os.kill(self.docker.inspect(idle_native)["State"]["Pid"], signal.SIGKILL)
        ev = self.wait_state(idle, "EXITED", since)
        self.assertEqual(ev.json["value"].get("exitCode"), 137)


if __name__ == "__main__":
    main()
