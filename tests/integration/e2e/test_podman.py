# SPDX-License-Identifier: Apache-2.0
"""berthd with the podman backend, driven only through MQTT: the Container API
(createWithConfig, start, stop, stopWithOptions with signal/timeout/force, pause, resume,
rename, update of the memory limits, remove, an unknown container), the answers, the twin
events and the effect in podman (checked with the podman CLI on the service's store and the
cgroup files, never through berthd); restart policies, which berth's restart manager
enforces on podman; berthd killed with SIGKILL and started again (containers and updated
limits kept); the podman service stopped (commands answer 503) and started again.

The private podman service is lib/podman.sh's: started here when it does not run, and
stopped at the end when it was started here."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

from berthtest import (CMD_TRAP_INT, CMD_TRAP_TERM, ENV, MIB, BackendPeerCase,  # noqa: E402
                       is_delete, main, private_peer, wait_for)

STOP_TIMEOUT = 3


def peer(*args):
    return private_peer("podman.sh", *args)


class Podman:
    """podman as its own CLI sees it on the service's store (the test's independent
    view)."""

    def __init__(self, env):
        self.env = dict(os.environ)
        self.env.update({k: v for k, v in env.items() if k.startswith("CONTAINERS_")})

    def run(self, *args):
        p = subprocess.run(["podman"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=self.env)
        return p.returncode, p.stdout.decode(errors="replace")

    def by_berth_id(self, cid):
        """podman's inspect of the container labelled berth.id=cid, or None."""
        rc, out = self.run("ps", "-a", "-q", "--no-trunc", "--filter", "label=berth.id=" + cid)
        ids = out.split() if rc == 0 else []
        if not ids:
            return None
        rc, out = self.run("container", "inspect", ids[0])
        if rc != 0:
            return None
        found = json.loads(out)
        return found[0] if found else None

    def status(self, cid):
        i = self.by_berth_id(cid)
        return i["State"]["Status"] if i else None

    def wait_status(self, cid, status, timeout=15):
        return wait_for(lambda: self.status(cid) == status, timeout, interval=0.2)

    def remove(self, cid):
        i = self.by_berth_id(cid)
        if i:
            self.run("rm", "-f", "-t0", i["Id"])


def cgroup(native_id, name):
    try:
        with open("/sys/fs/cgroup/memory/libpod_parent/libpod-%s/%s" % (native_id, name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class PodmanCase(BackendPeerCase):
    """berthd with one backend, podman; the cloud side over MQTT."""

    berthd_options = {"stop_timeout": STOP_TIMEOUT}
    module = "podman"
    peer_name = "podman"
    programs = ("podman", "runc", "curl")

    @classmethod
    def setUpPeer(cls, env):
        cls.sock = env["BERTH_TEST_PODMAN_SOCK"]
        cls.image = env["BERTH_TEST_PODMAN_IMAGE"]
        cls.pm = Podman(env)
        cls.data_dir = tempfile.mkdtemp(prefix="berth-e2e-podman-")

    @classmethod
    def tearDownPeer(cls):
        if getattr(cls, "data_dir", None):
            subprocess.run(["rm", "-rf", cls.data_dir])

    @classmethod
    def agent_options(cls):
        opts = dict(cls.berthd_options)
        # bridge-mode containers get no network: the test host's firewall stays untouched
        opts["backend"] = {"module": "podman", "socket": cls.sock, "timeout": 20,
                           "bridge_network": "none"}
        return opts

    @classmethod
    def remove_in_runtime(cls, cid):
        cls.pm.remove(cid)

    # -- helpers ----------------------------------------------------------------------

    def running(self, cmd=None, policy="no", name=None, config=None):
        cfg = {"cmd": cmd or CMD_TRAP_TERM, "restartPolicy": {"type": policy}}
        cfg.update(config or {})
        cid = self.ccreate(cfg, name=name)
        self.assertTrue(self.pm.wait_status(cid, "running"), "%s not running in podman" % cid)
        return cid


class PodmanApiTest(PodmanCase):

    def test_create_labels_and_config(self):
        since = self.cloud.mark()
        name = "pm-e2e-%d" % os.getpid()
        cid = self.ccreate({"cmd": CMD_TRAP_TERM, "env": ["FOO=bar"],
                            "resources": {"memory": "64m", "memorySwap": "128m"}},
                           name=name, start=False)
        info = self.pm.by_berth_id(cid)
        self.assertIsNotNone(info, "podman has no container labelled %s" % cid)
        self.assertEqual(info["Config"]["Labels"].get("berth.owner"), ENV.thing)
        self.assertEqual(info["Name"], name)
        self.assertEqual(info["ImageName"], self.image)
        self.assertIn("FOO=bar", info["Config"]["Env"])
        self.assertEqual(info["HostConfig"]["Memory"], 64 * MIB)
        self.assertEqual(info["HostConfig"]["MemorySwap"], 128 * MIB)
        self.assertEqual(info["State"]["Status"], "created")
        self.wait_state(cid, "CREATED", since)

    def test_unknown_container_is_404(self):
        r = self.ccmd("start", "00000000-0000-4000-8000-000000000000")
        self.assertStatus(r, 404, "start of an unknown container")
        r = self.cmd("createWithConfig", "ContainerFactory",
                     {"imageRef": "localhost/not-loaded:1", "start": False})
        self.assertIn(r.status, (404, 500), "missing image: %r" % r)
        if isinstance(r.value, str):
            self.track(r.value)
        self.assertIn("not-loaded", json.dumps(r.value))

    def test_lifecycle(self):
        since = self.cloud.mark()
        name = "pm-life-%d" % os.getpid()
        cid = self.running(cmd=CMD_TRAP_INT, name=name)
        native = self.pm.by_berth_id(cid)["Id"]
        self.wait_state(cid, "RUNNING", since)

        self.assertStatus(self.ccmd("pause", cid), 204, "pause")
        self.assertEqual(self.pm.status(cid), "paused")
        self.wait_state(cid, "PAUSED", since)
        self.assertStatus(self.ccmd("start", cid), 409, "start while paused")
        self.assertStatus(self.ccmd("resume", cid), 204, "resume")
        self.assertEqual(self.pm.status(cid), "running")

        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertEqual(self.pm.status(cid), "exited")
        self.assertEqual(self.pm.by_berth_id(cid)["State"]["ExitCode"], 3)
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)
        self.assertStatus(self.ccmd("stop", cid), 409, "stop when stopped")

        self.assertStatus(self.ccmd("start", cid), 204, "start again")
        self.assertTrue(self.pm.wait_status(cid, "running"))
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stopWithOptions", cid, {"signal": "SIGINT", "timeout": 5}),
                          204, "stopWithOptions SIGINT")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 5)
        self.assertEqual(self.pm.by_berth_id(cid)["State"]["ExitCode"], 5)

        # a signal the shell ignores: without force an error and still running; with
        # force SIGKILL after the timeout
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(self.pm.wait_status(cid, "running"))
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGHUP", "timeout": 1})
        self.assertStatus(r, 500, "stopWithOptions SIGHUP without force")
        self.assertEqual(self.pm.status(cid), "running")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stopWithOptions", cid,
                                    {"signal": "SIGHUP", "timeout": 1, "force": True}),
                          204, "stopWithOptions SIGHUP forced")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 137)

        # rename: podman's own name changes
        self.assertStatus(self.ccmd("rename", cid, name + "-new"), 204, "rename")
        self.assertEqual(self.pm.by_berth_id(cid)["Name"], name + "-new")

        # remove: running without force conflicts; force removes the container
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertStatus(self.ccmd("remove", cid), 409, "remove running")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("remove", cid, True), 204, "remove force")
        self.assertIsNone(self.pm.by_berth_id(cid), "container left in podman")
        self.assertIsNone(cgroup(native, "memory.limit_in_bytes"), "cgroup left")
        self.assertIsNotNone(self.cloud.wait_event(lambda e: is_delete(e, cid), since),
                             "no twin delete")
        self.assertStatus(self.ccmd("start", cid), 404, "start after remove")

    def test_update_memory_live_and_after_restart(self):
        cid = self.running(config={"resources": {"memory": "100m", "memorySwap": "200m"}})
        native = self.pm.by_berth_id(cid)["Id"]
        self.assertEqual(cgroup(native, "memory.limit_in_bytes"), 100 * MIB)
        r = self.ccmd("update", cid, {"resources": {"memory": "200m", "memorySwap": "400m",
                                                    "memoryReservation": "100m"}})
        self.assertStatus(r, 204, "update")
        self.assertEqual(cgroup(native, "memory.limit_in_bytes"), 200 * MIB)
        self.assertEqual(cgroup(native, "memory.memsw.limit_in_bytes"), 400 * MIB)
        self.assertEqual(cgroup(native, "memory.soft_limit_in_bytes"), 100 * MIB)
        # merge: only memory changes, swap and reservation stay
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memory": "300m"}}), 204,
                          "update memory")
        self.assertEqual(cgroup(native, "memory.limit_in_bytes"), 300 * MIB)
        self.assertEqual(cgroup(native, "memory.memsw.limit_in_bytes"), 400 * MIB)
        # podman 4.3 starts the container with its create-time limits: the backend puts
        # berth's back
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(self.pm.wait_status(cid, "running"))
        self.assertEqual(cgroup(native, "memory.limit_in_bytes"), 300 * MIB)
        self.assertEqual(cgroup(native, "memory.memsw.limit_in_bytes"), 400 * MIB)
        self.assertEqual(cgroup(native, "memory.soft_limit_in_bytes"), 100 * MIB)


class PodmanRestartPolicyTest(PodmanCase):

    def runs_config(self, tag):
        d = os.path.join(self.data_dir, tag)
        os.makedirs(d, exist_ok=True)
        return d, {"mountPoints": [{"source": d, "destination": "/runs"}]}

    @staticmethod
    def runs(d):
        try:
            with open(os.path.join(d, "log")) as f:
                return sum(1 for line in f if line.strip() == "run")
        except OSError:
            return 0

    def test_on_failure_restarts_up_to_max_retry_count(self):
        since = self.cloud.mark()
        d, cfg = self.runs_config("on-failure")
        cfg.update({"cmd": ["/bin/sh", "-c", "echo run >> /runs/log; exit 1"],
                    "restartPolicy": {"type": "on-failure", "maxRetryCount": 2}})
        cid = self.ccreate(cfg)
        self.assertTrue(wait_for(lambda: self.runs(d) == 3, 30),
                        "ran %d times, want 3 (1 + 2 retries)" % self.runs(d))
        time.sleep(1.5)
        self.assertEqual(self.runs(d), 3, "restarted beyond maxRetryCount")
        self.assertEqual(self.pm.status(cid), "exited")
        self.assertEqual(self.pm.by_berth_id(cid)["HostConfig"]["RestartPolicy"]["Name"], "",
                         "podman holds a policy of its own")
        self.assertEqual(self.exit_code_event(cid, "EXITED", since), 1)

    def test_always_restarts_after_an_outside_kill_not_after_stop(self):
        cid = self.running(policy="always")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        time.sleep(2)
        self.assertEqual(self.pm.status(cid), "exited", "restarted after a stop by command")
        self.assertEqual(self.cloud.states(cid, since), ["STOPPED"])
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(self.pm.wait_status(cid, "running"))
        pid = self.pm.by_berth_id(cid)["State"]["Pid"]
        since = self.cloud.mark()
        rc, out = self.pm.run("kill", "-s", "TERM", self.pm.by_berth_id(cid)["Id"])
        self.assertEqual(rc, 0, out)
        self.wait_state(cid, "EXITED", since)
        self.assertTrue(wait_for(lambda: self.pm.status(cid) == "running" and
                                 self.pm.by_berth_id(cid)["State"]["Pid"] != pid, 20,
                                 interval=0.3),
                        "not restarted after an exit from outside")


class PodmanFaultTest(PodmanCase):

    def test_kill9_keeps_containers_and_updated_limits(self):
        cid = self.running(config={"resources": {"memory": "100m", "memorySwap": "200m"}})
        native = self.pm.by_berth_id(cid)["Id"]
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memory": "150m"}}), 204,
                          "update")
        self.assertEqual(cgroup(native, "memory.limit_in_bytes"), 150 * MIB)
        self.agent.kill9()
        pid = self.pm.by_berth_id(cid)["State"]["Pid"]
        self.assertEqual(self.pm.status(cid), "running", "the container died with berthd")
        type(self).start_agent()
        self.assertEqual(self.pm.by_berth_id(cid)["State"]["Pid"], pid)
        # the restarted berthd still knows the updated limit: a stop and start keep it
        self.assertStatus(self.ccmd("stop", cid), 204, "stop after the restart")
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(self.pm.wait_status(cid, "running"))
        self.assertEqual(cgroup(native, "memory.limit_in_bytes"), 150 * MIB)
        self.assertEqual(cgroup(native, "memory.memsw.limit_in_bytes"), 200 * MIB)

    def test_podman_restart_503_then_works(self):
        cid = self.running()
        pid = self.pm.by_berth_id(cid)["State"]["Pid"]
        rc, out = peer("down")
        self.assertEqual(rc, 0, out)
        try:
            r = self.ccmd("pause", cid)
            self.assertStatus(r, 503, "pause while podman is down")
            r = self.cmd("createWithConfig", "ContainerFactory",
                         {"imageRef": self.image, "start": False})
            self.assertStatus(r, 503, "create while podman is down")
        finally:
            rc, out = peer("start")
            self.assertEqual(rc, 0, out)
        r = wait_for(lambda: (lambda r: r if r and r.status != 503 else None)(
            self.ccmd("pause", cid)), 20, interval=0.3)
        self.assertStatus(r, 204, "pause after podman came back")
        info = self.pm.by_berth_id(cid)
        self.assertEqual((info["State"]["Status"], info["State"]["Pid"]), ("paused", pid),
                         "the container survived")
        self.assertStatus(self.ccmd("resume", cid), 204, "resume")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)


if __name__ == "__main__":
    main()
