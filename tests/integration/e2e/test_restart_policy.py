# SPDX-License-Identifier: Apache-2.0
"""Restart policies are set in Docker itself (HostConfig.RestartPolicy) and behave as
Docker's: on-failure restarts a failing container up to maxRetryCount, a container stopped
by a command is not restarted, always restarts after an exit the agent did not cause.

"Not restarted" is checked without a sleep: a control container with the same policy
that exits by itself is restarted by Docker twice meanwhile (Docker's restart delays are
100 ms, 200 ms, ...), which proves Docker had the time to restart the stopped one."""
import sys

sys.dont_write_bytecode = True

from berthtest import CMD_TRAP_INT, CMD_TRAP_TERM, E2ETestCase, main  # noqa: E402

CMD_FAIL = ["/bin/sh", "-c", "sleep 1; exit 1"]
CMD_EXIT0 = ["/bin/sh", "-c", "sleep 1; exit 0"]


class RestartPolicyTest(E2ETestCase):
    berthd_options = {"stop_timeout": 3}

    def policy(self, cid):
        return self.dinspect(cid)["HostConfig"]["RestartPolicy"]

    def test_policies_are_set_in_docker(self):
        cases = [
            ({"type": "no"}, {"Name": "no", "MaximumRetryCount": 0}),
            ({"type": "NO"}, {"Name": "no", "MaximumRetryCount": 0}),
            ({"type": "always"}, {"Name": "always", "MaximumRetryCount": 0}),
            ({"type": "ALWAYS"}, {"Name": "always", "MaximumRetryCount": 0}),
            ({"type": "unless-stopped"}, {"Name": "unless-stopped", "MaximumRetryCount": 0}),
            ({"type": "UNLESS_STOPPED"}, {"Name": "unless-stopped", "MaximumRetryCount": 0}),
            ({"type": "on-failure", "maxRetryCount": 4},
             {"Name": "on-failure", "MaximumRetryCount": 4}),
            ({"type": "ON_FAILURE", "maxRetryCount": 1, "retryTimeout": 3},
             {"Name": "on-failure", "MaximumRetryCount": 1}),
            ({"type": "on-failure", "timeout": 3}, {"Name": "on-failure", "MaximumRetryCount": 0}),
            (None, {"Name": "unless-stopped", "MaximumRetryCount": 0}),
        ]
        for given, expected in cases:
            with self.subTest(policy=given):
                config = {"cmd": CMD_TRAP_TERM}
                if given is not None:
                    config["restartPolicy"] = given
                cid = self.create(config=config, start=False)
                self.assertEqual(self.policy(cid), expected)

    def test_update_sets_the_policy_in_docker(self):
        cid = self.running_container(policy="no")
        steps = [
            ({"type": "always"}, {"Name": "always", "MaximumRetryCount": 0}),
            ({"type": "on-failure", "maxRetryCount": 3, "timeout": 10},
             {"Name": "on-failure", "MaximumRetryCount": 3}),
            ({"maxRetryCount": 6}, {"Name": "on-failure", "MaximumRetryCount": 6}),
            ({"type": "UNLESS_STOPPED"}, {"Name": "unless-stopped", "MaximumRetryCount": 0}),
            ({"type": "no"}, {"Name": "no", "MaximumRetryCount": 0}),
        ]
        for patch, expected in steps:
            with self.subTest(patch=patch):
                self.assertStatus(self.ccmd("update", cid, {"restartPolicy": patch}), 204,
                                  "update %s" % patch)
                self.assertEqual(self.policy(cid), expected)
        self.assertTrue(self.dinspect(cid)["State"]["Running"], "the update kept it running")

    def test_on_failure_restarts_up_to_max_retry_count(self):
        since = self.cloud.mark()
        cid = self.create(config={"cmd": CMD_FAIL,
                                  "restartPolicy": {"type": "on-failure", "maxRetryCount": 2}})
        info = self.wait_docker(cid, lambda i: i["State"]["Status"] == "exited" and
                                i["RestartCount"] == 2, "exited after 2 restarts", timeout=60)
        self.assertEqual(info["State"]["ExitCode"], 1)
        # and it stays so: Docker gives up after maxRetryCount
        self.assertEqual(self.policy(cid), {"Name": "on-failure", "MaximumRetryCount": 2})
        self.wait_state(cid, "EXITED", since)
        states = self.cloud.states(cid, since)
        self.assertNotIn("STOPPED", states, "exits the agent did not cause are EXITED")

    def test_on_failure_does_not_restart_a_clean_exit(self):
        since = self.cloud.mark()
        control = self.create(config={"cmd": CMD_FAIL, "restartPolicy": {"type": "always"}})
        cid = self.create(config={"cmd": CMD_EXIT0,
                                  "restartPolicy": {"type": "on-failure", "maxRetryCount": 3}})
        self.wait_docker(cid, lambda i: i["State"]["Status"] == "exited", "exited")
        self.wait_docker(control, lambda i: i["RestartCount"] >= 2, "control restarted twice",
                         timeout=60)
        info = self.dinspect(cid)
        self.assertEqual(info["RestartCount"], 0)
        self.assertEqual(info["State"]["Status"], "exited")
        self.wait_state(cid, "EXITED", since)

    def test_stop_by_command_is_not_restarted(self):
        for policy in ("always", "unless-stopped", "on-failure"):
            with self.subTest(policy=policy):
                cid = self.running_container(policy=policy)
                control = self.create(config={"cmd": CMD_FAIL, "restartPolicy": {"type": "always"}})
                since = self.cloud.mark()
                self.assertStatus(self.ccmd("stop", cid), 204, "stop")
                info = self.dinspect(cid)
                self.assertEqual(info["State"]["ExitCode"], 3)
                base = self.dinspect(control)["RestartCount"]
                self.wait_docker(control, lambda i: i["RestartCount"] >= base + 2,
                                 "control restarted twice", timeout=60)
                info = self.dinspect(cid)
                self.assertEqual(info["State"]["Status"], "exited",
                                 "Docker restarted a container stopped by a command (%s)" % policy)
                self.assertEqual(info["RestartCount"], 0)
                self.wait_state(cid, "STOPPED", since)
                self.assertEqual(self.cloud.states(cid, since), ["STOPPED"])
                # a start by command brings it back
                self.assertStatus(self.ccmd("start", cid), 204, "start")
                self.assertTrue(self.dinspect(cid)["State"]["Running"])

    def test_stop_with_options_is_not_restarted(self):
        """stopWithOptions ends the process with a signal (Docker's kill API where the
        native stop does not fit): still a stop by command, so no restart either."""
        cases = [("always", {"signal": "SIGINT", "timeout": 10}, 5),
                 ("on-failure", {"signal": "SIGINT", "timeout": 10}, 5),
                 ("always", {"signal": "SIGTERM", "timeout": 10}, 3),
                 ("unless-stopped", {"signal": "SIGHUP", "timeout": 2, "force": True}, 137)]
        for policy, options, code in cases:
            with self.subTest(policy=policy, options=options):
                cid = self.running_container(policy=policy, cmd=CMD_TRAP_INT)
                control = self.create(config={"cmd": CMD_FAIL, "restartPolicy": {"type": "always"}})
                since = self.cloud.mark()
                self.assertStatus(self.ccmd("stopWithOptions", cid, options), 204, "stop")
                base = self.dinspect(control)["RestartCount"]
                self.wait_docker(control, lambda i: i["RestartCount"] >= base + 2,
                                 "control restarted twice", timeout=60)
                info = self.dinspect(cid)
                self.assertEqual((info["State"]["Status"], info["State"]["ExitCode"],
                                  info["RestartCount"]), ("exited", code, 0),
                                 "Docker restarted a container stopped by stopWithOptions "
                                 "%s (policy %s)" % (options, policy))
                self.assertEqual(self.cloud.states(cid, since), ["STOPPED"])

    def test_always_restarts_after_an_exit_the_agent_did_not_cause(self):
        since = self.cloud.mark()
        cid = self.create(config={"cmd": CMD_EXIT0, "restartPolicy": {"type": "always"}})
        self.wait_docker(cid, lambda i: i["RestartCount"] >= 2, "restarted twice", timeout=60)
        self.wait_state(cid, "EXITED", since)
        # after the EXITED the twin hears RUNNING again
        ev = self.cloud.wait_state(cid, "EXITED", since)
        self.assertIsNotNone(self.cloud.wait_state(cid, "RUNNING", self.cloud.messages.index(ev)),
                             "no RUNNING after the EXITED: %s" % self.cloud.states(cid, since))
        self.assertNotIn("STOPPED", self.cloud.states(cid, since))

    def test_always_restarts_after_a_kill_from_outside(self):
        """SIGKILL to the container's process from outside (as an OOM kill would): Docker
        restarts it, the twin says EXITED then RUNNING."""
        cid = self.running_container(policy="always")
        info = self.dinspect(cid)
        since = self.cloud.mark()
        import os
        import signal
        os.kill(info["State"]["Pid"], signal.SIGKILL)
        self.docker.wait_until(info["Id"], lambda i: i["RestartCount"] >= 1 and
                               i["State"]["Running"], what="restarted")
        self.wait_state(cid, "EXITED", since)
        self.wait_state(cid, "RUNNING", since)
        self.assertNotIn("STOPPED", self.cloud.states(cid, since))


if __name__ == "__main__":
    main()
