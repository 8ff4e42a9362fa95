# SPDX-License-Identifier: Apache-2.0
"""berthd with the containerd backend, driven only through MQTT: the Container API
(create, createWithConfig, start, stop, stopWithOptions with signal/timeout/force, pause,
resume, rename, update, remove), the answers, the twin events and the effect in containerd
(checked with `ctr` and the cgroup files, never through berthd); restart policies, which
berth's restart manager enforces on containerd; berthd killed with SIGKILL and started
again; containerd stopped (commands answer 503) and started again.

The private containerd is lib/containerd.sh's: started here when it does not run, and
stopped at the end when it was started here."""
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

from berthtest import (CMD_TRAP_INT, CMD_TRAP_TERM, ENV, MIB, BackendPeerCase,  # noqa: E402
                       is_delete, main, private_peer, wait_for)

STOP_TIMEOUT = 3
CMD_FAIL_LOG = ["/bin/sh", "-c", "echo run; exit 1"]


def peer(*args):
    return private_peer("containerd.sh", *args)


class Ctr:
    """containerd as `ctr` sees it (the test's independent view)."""

    def __init__(self, sock, ns):
        self.sock = sock
        self.ns = ns

    def run(self, *args):
        p = subprocess.run(["ctr", "--address", self.sock, "--namespace", self.ns] +
                           list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        return p.returncode, p.stdout.decode(errors="replace")

    def info(self, cid):
        import json
        rc, out = self.run("containers", "info", cid)
        return json.loads(out) if rc == 0 else None

    def task(self, cid):
        """(status, pid) of cid's task, (None, 0) without one."""
        rc, out = self.run("tasks", "ls")
        for line in out.splitlines()[1:]:
            f = line.split()
            if len(f) >= 3 and f[0] == cid:
                return f[2], int(f[1])
        return None, 0

    def wait_task(self, cid, status, timeout=15):
        return wait_for(lambda: self.task(cid)[0] == status, timeout)

    def remove(self, cid):
        self.run("tasks", "kill", "-a", "-s", "SIGKILL", cid)
        self.run("tasks", "delete", "-f", cid)
        self.run("containers", "delete", cid)


def cgroup(ns, cid, name):
    try:
        with open("/sys/fs/cgroup/memory/%s/%s/%s" % (ns, cid, name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class ContainerdCase(BackendPeerCase):
    """berthd with one backend, containerd; the cloud side over MQTT."""

    berthd_options = {"stop_timeout": STOP_TIMEOUT}
    module = "containerd"
    peer_name = "containerd"
    programs = ("containerd", "ctr", "runc")

    @classmethod
    def setUpPeer(cls, env):
        cls.sock = env["BERTH_TEST_CONTAINERD_SOCK"]
        cls.ns = env["BERTH_TEST_CONTAINERD_NS"]
        cls.image = env["BERTH_TEST_CONTAINERD_IMAGE"]
        cls.ctr = Ctr(cls.sock, cls.ns)
        cls.log_dir = tempfile.mkdtemp(prefix="berth-e2e-ctrd-logs-")

    @classmethod
    def tearDownPeer(cls):
        if getattr(cls, "log_dir", None):
            subprocess.run(["rm", "-rf", cls.log_dir])

    @classmethod
    def agent_options(cls):
        opts = dict(cls.berthd_options)
        opts["backend"] = {"module": "containerd", "socket": cls.sock, "namespace": cls.ns,
                           "log_dir": cls.log_dir, "timeout": 20}
        return opts

    @classmethod
    def remove_in_runtime(cls, cid):
        if cls.ctr.info(cid) is not None:
            cls.ctr.remove(cid)

    # -- helpers ----------------------------------------------------------------------

    def running(self, cmd=None, policy="no", name=None):
        cid = self.ccreate({"cmd": cmd or CMD_TRAP_TERM, "restartPolicy": {"type": policy}},
                           name=name)
        self.assertTrue(self.ctr.wait_task(cid, "RUNNING"), "task of %s not RUNNING" % cid)
        return cid

    def runs(self, cid):
        """How many times the container's command ran (one line per run in its log)."""
        try:
            with open(os.path.join(self.log_dir, cid + ".log")) as f:
                return sum(1 for line in f if line.strip() == "run")
        except OSError:
            return 0


class ContainerdApiTest(ContainerdCase):

    def test_create_without_start(self):
        since = self.cloud.mark()
        r = self.cmd("create", "ContainerFactory", {"imageRef": self.image, "start": False})
        if isinstance(r.value, str):
            self.track(r.value)
        self.assertStatus(r, 200, "create")
        cid = r.value
        info = self.ctr.info(cid)
        self.assertIsNotNone(info, "containerd has no container %s" % cid)
        self.assertEqual(info["Labels"].get("berth.id"), cid)
        self.assertEqual(info["Labels"].get("berth.owner"), ENV.thing)
        self.assertEqual(info["Image"], self.image)
        self.assertEqual(self.ctr.task(cid), (None, 0), "a task before start")
        self.wait_state(cid, "CREATED", since)
        # the image's command (/bin/sh, stdin empty) ends at once, and the default policy
        # (unless-stopped) starts it again: a task exists and the twin hears of it (as
        # running, or already exited)
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.wait_state(cid, ("RUNNING", "EXITED"), since)
        self.assertIn(self.ctr.task(cid)[0], ("RUNNING", "STOPPED", "CREATED"))
        self.assertTrue(self.ctr.info(cid)["Labels"].get("berth.started"))

    def test_missing_image_is_404_with_how_to_import(self):
        r = self.cmd("createWithConfig", "ContainerFactory",
                     {"imageRef": "localhost/not-imported:1", "start": False})
        self.assertStatus(r, 404, "missing image")
        self.assertIn("import", r.value["message"])

    def test_lifecycle(self):
        since = self.cloud.mark()
        name = "ctrd-e2e-%d" % os.getpid()
        cid = self.running(cmd=CMD_TRAP_INT, name=name)
        info = self.ctr.info(cid)
        self.assertEqual(info["Labels"].get("berth.name"), name)
        self.wait_state(cid, "RUNNING", since)

        self.assertStatus(self.ccmd("pause", cid), 204, "pause")
        self.assertEqual(self.ctr.task(cid)[0], "PAUSED")
        self.wait_state(cid, "PAUSED", since)
        self.assertStatus(self.ccmd("start", cid), 409, "start while paused")
        self.assertStatus(self.ccmd("resume", cid), 204, "resume")
        self.assertEqual(self.ctr.task(cid)[0], "RUNNING")

        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertEqual(self.ctr.task(cid)[0], "STOPPED")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)
        self.assertStatus(self.ccmd("stop", cid), 409, "stop when stopped")

        self.assertStatus(self.ccmd("start", cid), 204, "start again")
        self.assertTrue(self.ctr.wait_task(cid, "RUNNING"))
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stopWithOptions", cid, {"signal": "SIGINT", "timeout": 5}),
                          204, "stopWithOptions SIGINT")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 5)

        # a signal the shell ignores: without force an error and still running; with force
        # SIGKILL after the timeout
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(self.ctr.wait_task(cid, "RUNNING"))
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGHUP", "timeout": 1})
        self.assertStatus(r, 500, "stopWithOptions SIGHUP without force")
        self.assertEqual(self.ctr.task(cid)[0], "RUNNING")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stopWithOptions", cid,
                                    {"signal": "SIGHUP", "timeout": 1, "force": True}),
                          204, "stopWithOptions SIGHUP forced")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 137)

        # rename: the name label in containerd
        self.assertStatus(self.ccmd("rename", cid, name + "-new"), 204, "rename")
        self.assertEqual(self.ctr.info(cid)["Labels"].get("berth.name"), name + "-new")

        # remove: running without force conflicts; force removes everything
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertStatus(self.ccmd("remove", cid), 409, "remove running")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("remove", cid, True), 204, "remove force")
        self.assertIsNone(self.ctr.info(cid), "container left in containerd")
        self.assertEqual(self.ctr.task(cid), (None, 0))
        rc, out = self.ctr.run("snapshots", "info", cid)
        self.assertNotEqual(rc, 0, "snapshot left: %s" % out)
        self.assertIsNotNone(self.cloud.wait_event(lambda e: is_delete(e, cid), since),
                             "no twin delete")
        self.assertStatus(self.ccmd("start", cid), 404, "start after remove")

    def test_update_resources_live(self):
        cid = self.running()
        r = self.ccmd("update", cid, {"resources": {"memory": "200m", "memorySwap": "400m",
                                                    "memoryReservation": "100m"}})
        self.assertStatus(r, 204, "update")
        self.assertEqual(cgroup(self.ns, cid, "memory.limit_in_bytes"), 200 * MIB)
        self.assertEqual(cgroup(self.ns, cid, "memory.memsw.limit_in_bytes"), 400 * MIB)
        self.assertEqual(cgroup(self.ns, cid, "memory.soft_limit_in_bytes"), 100 * MIB)
        mem = self.ctr.info(cid)["Spec"]["linux"]["resources"]["memory"]
        self.assertEqual((mem["limit"], mem["swap"], mem["reservation"]),
                         (200 * MIB, 400 * MIB, 100 * MIB))
        # merge: only memory changes, swap and reservation stay
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memory": "300m"}}), 204,
                          "update memory")
        self.assertEqual(cgroup(self.ns, cid, "memory.limit_in_bytes"), 300 * MIB)
        self.assertEqual(cgroup(self.ns, cid, "memory.memsw.limit_in_bytes"), 400 * MIB)
        self.assertEqual(self.ctr.task(cid)[0], "RUNNING")


class ContainerdRestartPolicyTest(ContainerdCase):

    def test_on_failure_restarts_up_to_max_retry_count(self):
        since = self.cloud.mark()
        cid = self.ccreate({"cmd": CMD_FAIL_LOG,
                            "restartPolicy": {"type": "on-failure", "maxRetryCount": 2}})
        self.assertTrue(wait_for(lambda: self.runs(cid) == 3, 20),
                        "ran %d times, want 3 (1 + 2 retries)" % self.runs(cid))
        time.sleep(1.5)
        self.assertEqual(self.runs(cid), 3, "restarted beyond maxRetryCount")
        self.assertEqual(self.ctr.task(cid)[0], "STOPPED")
        self.assertEqual(self.exit_code_event(cid, "EXITED", since), 1)
        self.assertNotIn("STOPPED", self.cloud.states(cid, since))

    def test_always_restarts_and_stop_by_command_does_not(self):
        # berth's restart manager backs off (100 ms doubling): a fresh control container
        # per case shows the manager restarting within the window the stopped one stays
        # stopped in
        for policy in ("always", "on-failure", "unless-stopped"):
            with self.subTest(policy=policy):
                cid = self.running(policy=policy)
                since = self.cloud.mark()
                self.assertStatus(self.ccmd("stop", cid), 204, "stop")
                control = self.ccreate({"cmd": CMD_FAIL_LOG,
                                        "restartPolicy": {"type": "always"}})
                self.assertTrue(wait_for(lambda: self.runs(control) >= 3, 20),
                                "always: the control ran %d times" % self.runs(control))
                self.assertEqual(self.ctr.task(cid)[0], "STOPPED",
                                 "restarted after a stop by command (%s)" % policy)
                self.assertEqual(self.cloud.states(cid, since), ["STOPPED"])
                self.assertStatus(self.ccmd("remove", control, True), 204, "remove control")
        # an exit the agent did not cause (a kill from outside) is restarted
        cid = self.running(policy="always")
        _, pid = self.ctr.task(cid)
        since = self.cloud.mark()
        self.ctr.run("tasks", "kill", "-s", "SIGTERM", cid)
        self.wait_state(cid, "EXITED", since)
        self.assertTrue(wait_for(lambda: self.ctr.task(cid)[0] == "RUNNING" and
                                 self.ctr.task(cid)[1] != pid, 20),
                        "not restarted after an exit from outside")


class ContainerdFaultTest(ContainerdCase):

    def test_kill9_and_restart_keeps_containers(self):
        cid = self.running()
        stopped = self.ccreate({"cmd": CMD_TRAP_TERM}, start=False)
        self.agent.kill9()
        _, pid = self.ctr.task(cid)
        self.assertEqual(self.ctr.task(cid)[0], "RUNNING", "the container died with berthd")
        since = self.cloud.mark()
        type(self).start_agent()
        self.assertEqual(self.ctr.task(cid), ("RUNNING", pid))
        self.assertIsNotNone(self.ctr.info(stopped))
        self.assertStatus(self.ccmd("stop", cid), 204, "stop after the restart")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)
        self.assertStatus(self.ccmd("start", stopped), 204, "start the created one")
        self.assertTrue(self.ctr.wait_task(stopped, "RUNNING"))

    def test_containerd_restart_503_then_works(self):
        cid = self.running()
        _, pid = self.ctr.task(cid)
        rc, out = peer("down")
        self.assertEqual(rc, 0, out)
        try:
            r = self.ccmd("pause", cid)
            self.assertStatus(r, 503, "pause while containerd is down")
            r = self.cmd("createWithConfig", "ContainerFactory",
                         {"imageRef": self.image, "start": False})
            self.assertStatus(r, 503, "create while containerd is down")
        finally:
            rc, out = peer("start")
            self.assertEqual(rc, 0, out)
        r = wait_for(lambda: (lambda r: r if r and r.status != 503 else None)(
            self.ccmd("pause", cid)), 20, interval=0.3)
        self.assertStatus(r, 204, "pause after containerd came back")
        self.assertEqual(self.ctr.task(cid), ("PAUSED", pid), "the task survived")
        self.assertStatus(self.ccmd("resume", cid), 204, "resume")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)


if __name__ == "__main__":
    main()
