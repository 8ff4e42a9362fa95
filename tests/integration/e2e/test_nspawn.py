# SPDX-License-Identifier: Apache-2.0
"""berthd with the systemd-nspawn backend, driven only through MQTT: create, start, stop,
stopWithOptions with signal/timeout/force, update of the memory limits, remove with force,
an exit reported to the twin, an unknown container (404), pause (501: systemd freezes
units on cgroup v2 only), restart policies, which berth's restart manager enforces on
nspawn, and berthd killed with SIGKILL and started again (its machines live on and are
found again from the backend's records). The effect is checked in the private systemd itself (systemctl and machinectl
inside it, the unit's cgroup files on the host, the machines' directories), never through
berthd.

The private systemd is lib/systemd.sh's: started here when it does not run, and stopped
at the end when it was started here."""
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True

from berthtest import (CMD_TRAP_INT, CMD_TRAP_TERM, ENV, MIB, BackendPeerCase,  # noqa: E402
                       is_delete, main, private_peer, wait_for)

STOP_TIMEOUT = 3
# each run leaves a line in the machine's root file system (its output goes to the journal)
CMD_FAIL_COUNT = ["/bin/sh", "-c", "echo run >> /runs; exit 1"]


def peer(*args):
    return private_peer("systemd.sh", *args)


class Systemd:
    """The private systemd as systemctl and machinectl inside it see it."""

    def __init__(self, cgroup):
        self.cgroup = cgroup

    def unit(self, name, prop):
        rc, out = peer("exec", "systemctl", "show", "--value", "--property=" + prop,
                       "berth-%s.service" % name)
        return out if rc == 0 else None

    def active(self, name):
        return (self.unit(name, "ActiveState"), self.unit(name, "SubState"))

    def running(self, name):
        return self.active(name) == ("active", "running")

    def machine(self, name, prop="State"):
        rc, out = peer("exec", "machinectl", "show", "--value", "--property=" + prop, name)
        return out if rc == 0 else None

    def memory_limit(self, name):
        try:
            with open("%s/system.slice/berth-%s.service/memory.limit_in_bytes"
                      % (self.cgroup, name)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def remove(self, name):
        peer("exec", "systemctl", "kill", "--signal=SIGKILL", "berth-%s.service" % name)
        peer("exec", "systemctl", "stop", "berth-%s.service" % name)
        peer("exec", "systemctl", "reset-failed", "berth-%s.service" % name)


class NspawnCase(BackendPeerCase):
    """berthd with one backend, nspawn; the cloud side over MQTT."""

    berthd_options = {"stop_timeout": STOP_TIMEOUT}
    module = "nspawn"
    peer_name = "systemd"
    programs = ("/lib/systemd/systemd", "/usr/bin/systemd-nspawn", "/usr/bin/dbus-daemon")

    @classmethod
    def setUpPeer(cls, env):
        cls.bus = env["BERTH_TEST_SYSTEMD_BUS"]
        cls.images = env["BERTH_TEST_NSPAWN_IMAGES"]
        cls.image = "localhost/%s:latest" % env["BERTH_TEST_NSPAWN_IMAGE"]
        cls.sd = Systemd(env["BERTH_TEST_SYSTEMD_CGROUP"])
        # under the run directory: the private systemd sees it at the same path
        cls.machines = tempfile.mkdtemp(prefix="e2e-nspawn-machines-", dir=ENV.run)

    @classmethod
    def tearDownPeer(cls):
        if getattr(cls, "machines", None):
            shutil.rmtree(cls.machines, ignore_errors=True)

    @classmethod
    def agent_options(cls):
        opts = dict(cls.berthd_options)
        opts["backend"] = {"module": "nspawn", "bus": cls.bus, "machines_dir": cls.machines,
                           "images_dir": cls.images, "timeout": 20}
        return opts

    @classmethod
    def remove_in_runtime(cls, cid):
        if cls.sd.unit(cid, "LoadState") not in (None, "not-found"):
            cls.sd.remove(cid)

    # -- helpers (a container's machine name is its id: berth names it so) --------------

    def running(self, cmd=None, policy="no", resources=None):
        config = {"cmd": cmd or CMD_TRAP_TERM, "restartPolicy": {"type": policy}}
        if resources:
            config["resources"] = resources
        cid = self.ccreate(config)
        self.assertTrue(wait_for(lambda: self.sd.running(cid), 15),
                        "unit of %s not running: %s" % (cid, self.sd.active(cid)))
        return cid

    def runs(self, cid):
        try:
            with open(os.path.join(self.machines, cid, "runs")) as f:
                return sum(1 for line in f if line.strip() == "run")
        except OSError:
            return 0


class NspawnApiTest(NspawnCase):

    def test_create_without_start(self):
        since = self.cloud.mark()
        cid = self.ccreate({"cmd": CMD_TRAP_TERM}, start=False)
        self.assertTrue(os.path.exists(os.path.join(self.machines, cid, "bin", "busybox")),
                        "no root file system for %s" % cid)
        self.assertEqual(self.sd.unit(cid, "LoadState"), "not-found", "a unit before start")
        self.wait_state(cid, "CREATED", since)
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.wait_state(cid, "RUNNING", since)
        self.assertTrue(self.sd.running(cid), self.sd.active(cid))
        self.assertEqual(self.sd.machine(cid), "running")
        self.assertEqual(self.sd.unit(cid, "Restart"), "no", "Restart= is berth's job")

    def test_missing_image_is_404(self):
        r = self.cmd("createWithConfig", "ContainerFactory",
                     {"imageRef": "localhost/not-there:1", "start": False})
        self.assertStatus(r, 404, "missing image")
        self.assertIn("local images", r.value["message"])

    def test_name_must_be_a_machine_name(self):
        r = self.cmd("createWithConfig", "ContainerFactory",
                     {"imageRef": self.image, "name": "under_score", "start": False})
        if r.status == 200 and isinstance(r.value, str):
            self.track(r.value)
        self.assertStatus(r, 400, "a name systemd refuses")
        self.assertIn("machine name", r.value["message"])
        self.assertFalse(os.path.exists(os.path.join(self.machines, "under_score")))

    def test_unknown_container_is_404(self):
        self.assertStatus(self.ccmd("start", "3f2a0000-0000-4000-8000-000000000000"), 404,
                          "start of an unknown container")

    def test_lifecycle(self):
        since = self.cloud.mark()
        cid = self.running(cmd=CMD_TRAP_INT)
        self.wait_state(cid, "RUNNING", since)
        leader = self.sd.machine(cid, "Leader")
        self.assertTrue(leader and int(leader) > 0, "machined has no leader for %s" % cid)

        self.assertStatus(self.ccmd("pause", cid), 501, "pause (no freezer on cgroup v1)")
        self.assertTrue(self.sd.running(cid))

        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        self.assertFalse(self.sd.running(cid), self.sd.active(cid))
        self.assertEqual(self.sd.unit(cid, "ExecMainStatus"), "3")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)
        self.assertStatus(self.ccmd("stop", cid), 409, "stop when stopped")

        self.assertStatus(self.ccmd("start", cid), 204, "start again")
        self.assertTrue(wait_for(lambda: self.sd.running(cid), 15))
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stopWithOptions", cid, {"signal": "SIGINT", "timeout": 5}),
                          204, "stopWithOptions SIGINT")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 5)
        self.assertEqual(self.sd.unit(cid, "ExecMainStatus"), "5")

        # a signal the shell ignores: without force an error and still running; with force
        # SIGKILL after the timeout
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(wait_for(lambda: self.sd.running(cid), 15))
        r = self.ccmd("stopWithOptions", cid, {"signal": "SIGHUP", "timeout": 1})
        self.assertStatus(r, 500, "stopWithOptions SIGHUP without force")
        self.assertTrue(self.sd.running(cid), "stopped without force")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stopWithOptions", cid,
                                    {"signal": "SIGHUP", "timeout": 1, "force": True}),
                          204, "stopWithOptions SIGHUP forced")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 137)

        # remove: running without force conflicts; force removes everything
        self.assertStatus(self.ccmd("start", cid), 204, "start")
        self.assertTrue(wait_for(lambda: self.sd.running(cid), 15))
        self.assertStatus(self.ccmd("remove", cid), 409, "remove running")
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("remove", cid, True), 204, "remove force")
        self.assertEqual(self.sd.unit(cid, "LoadState"), "not-found", "unit left")
        self.assertIsNone(self.sd.machine(cid), "machine still registered")
        self.assertFalse(os.path.exists(os.path.join(self.machines, cid)), "rootfs left")
        self.assertIsNotNone(self.cloud.wait_event(lambda e: is_delete(e, cid), since),
                             "no twin delete")
        self.assertStatus(self.ccmd("start", cid), 404, "start after remove")

    def test_exit_is_reported(self):
        since = self.cloud.mark()
        cid = self.ccreate({"cmd": ["/bin/sh", "-c", "exit 4"],
                            "restartPolicy": {"type": "no"}})
        self.assertEqual(self.exit_code_event(cid, "EXITED", since), 4)
        self.assertEqual(self.sd.unit(cid, "ExecMainStatus"), "4")
        self.assertFalse(self.sd.running(cid))

    def test_update_memory_live(self):
        cid = self.running(resources={"memory": "100m"})
        self.assertEqual(self.sd.memory_limit(cid), 100 * MIB)
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memory": "200m",
                                                                  "memoryReservation": "50m"}}),
                          204, "update")
        self.assertEqual(self.sd.memory_limit(cid), 200 * MIB)
        self.assertEqual(self.sd.unit(cid, "MemoryMax"), str(200 * MIB))
        self.assertEqual(self.sd.unit(cid, "MemoryLow"), str(50 * MIB))
        # merge: the reservation stays; memorySwap is memory + swap, systemd's
        # MemorySwapMax the swap alone
        self.assertStatus(self.ccmd("update", cid, {"resources": {"memory": "300m",
                                                                  "memorySwap": "500m"}}),
                          204, "update memory")
        self.assertEqual(self.sd.memory_limit(cid), 300 * MIB)
        self.assertEqual(self.sd.unit(cid, "MemoryLow"), str(50 * MIB))
        self.assertEqual(self.sd.unit(cid, "MemorySwapMax"), str(200 * MIB))
        self.assertTrue(self.sd.running(cid), "the update stopped it")


class NspawnRestartPolicyTest(NspawnCase):

    def test_on_failure_restarts_up_to_max_retry_count(self):
        since = self.cloud.mark()
        cid = self.ccreate({"cmd": CMD_FAIL_COUNT,
                            "restartPolicy": {"type": "on-failure", "maxRetryCount": 2}})
        self.assertTrue(wait_for(lambda: self.runs(cid) == 3, 20),
                        "ran %d times, want 3 (1 + 2 retries)" % self.runs(cid))
        time.sleep(1.5)
        self.assertEqual(self.runs(cid), 3, "restarted beyond maxRetryCount")
        self.assertFalse(self.sd.running(cid))
        self.assertEqual(self.exit_code_event(cid, "EXITED", since), 1)

    def test_always_restarts_after_an_exit_from_outside(self):
        cid = self.running(policy="always")
        leader = self.sd.machine(cid, "Leader")
        since = self.cloud.mark()
        rc, out = peer("exec", "machinectl", "kill", "--kill-who=leader", "--signal=SIGTERM",
                       cid)
        self.assertEqual(rc, 0, out)
        self.wait_state(cid, "EXITED", since)
        self.assertTrue(wait_for(lambda: self.sd.running(cid) and
                                 self.sd.machine(cid, "Leader") not in (None, leader), 20),
                        "not restarted after an exit from outside")
        # a stop by command is not restarted
        since = self.cloud.mark()
        self.assertStatus(self.ccmd("stop", cid), 204, "stop")
        time.sleep(2)
        self.assertFalse(self.sd.running(cid), "restarted after a stop by command")
        self.assertEqual(self.cloud.states(cid, since), ["STOPPED"])


class NspawnFaultTest(NspawnCase):

    def test_kill9_and_restart_keeps_machines(self):
        cid = self.running()
        stopped = self.ccreate({"cmd": CMD_TRAP_TERM}, start=False)
        leader = self.sd.machine(cid, "Leader")
        self.agent.kill9()
        self.assertTrue(self.sd.running(cid), "the machine died with berthd")
        since = self.cloud.mark()
        type(self).start_agent()
        self.assertEqual(self.sd.machine(cid, "Leader"), leader, "the machine was restarted")
        self.wait_state(cid, "RUNNING", since)
        self.assertStatus(self.ccmd("stop", cid), 204, "stop after the restart")
        self.assertEqual(self.exit_code_event(cid, "STOPPED", since), 3)
        self.assertStatus(self.ccmd("start", stopped), 204, "start the created one")
        self.assertTrue(wait_for(lambda: self.sd.running(stopped), 15))


if __name__ == "__main__":
    main()
