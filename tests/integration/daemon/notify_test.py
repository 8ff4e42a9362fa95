#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""berthd as systemd sees it: the sd_notify protocol and the command line.

Runs BUILD_DIR/core/berthd with NOTIFY_SOCKET pointing at a datagram socket of this test
and WATCHDOG_USEC set, the way a Type=notify unit with WatchdogSec= would, and checks:
READY=1 with a STATUS= line, periodic WATCHDOG=1, SIGHUP -> RELOADING=1 then READY=1,
SIGTERM -> STOPPING=1 and exit 0; and --check-config, --version, --help exit codes.
No broker and no runtime are needed: the configuration has neither.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ["BERTH_BUILD_DIR"]
BERTHD = os.path.join(BUILD, "core", "berthd")


class Notify:
    """A NOTIFY_SOCKET: collects every datagram berthd sends."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait(self, key, timeout=10.0, after=0):
        """Waits for a datagram (index >= after) with a line starting with key; its index."""
        end = time.monotonic() + timeout
        while True:
            for i in range(after, len(self.messages)):
                if any(line.startswith(key) for line in self.messages[i].splitlines()):
                    return i
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return None

    def count(self, key):
        return sum(1 for m in self.messages if any(l.startswith(key) for l in m.splitlines()))

    def close(self):
        self.sock.close()


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="berth-daemon-")
        self.conf = os.path.join(self.dir, "berth.conf")
        with open(self.conf, "w") as f:
            f.write('agent: { thing_id = "edge:device"; state_dir = "%s/state"; '
                    'module_dir = "%s/modules"; control_socket = ""; log_target = "stderr"; };\n'
                    "transports: ( );\nbackends: ( );\n" % (self.dir, BUILD))
        self.notify = Notify(os.path.join(self.dir, "notify.sock"))
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        subprocess.run(["rm", "-rf", self.dir], check=False)

    def start(self, watchdog_usec):
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.path, WATCHDOG_USEC=str(watchdog_usec))
        env.pop("WATCHDOG_PID", None)  # no pid: the watchdog is for whoever reads it
        self.log = open(os.path.join(self.dir, "berthd.log"), "w")
        self.proc = subprocess.Popen([BERTHD, "--config", self.conf], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def test_notify_protocol(self):
        self.start(watchdog_usec=400000)
        ready = self.notify.wait("READY=1")
        self.assertIsNotNone(ready, "no READY=1")
        self.assertIsNotNone(self.notify.wait("STATUS=", after=0), "no STATUS= line")
        # sd-event pets the watchdog at half its interval: several within 2 s
        first = self.notify.wait("WATCHDOG=1", after=ready)
        self.assertIsNotNone(first, "no WATCHDOG=1")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            self.notify.wait("WATCHDOG=1", timeout=0.5, after=len(self.notify.messages))
        self.assertGreaterEqual(self.notify.count("WATCHDOG=1"), 3)
        # reload
        mark = len(self.notify.messages)
        self.proc.send_signal(signal.SIGHUP)
        reloading = self.notify.wait("RELOADING=1", after=mark)
        self.assertIsNotNone(reloading, "no RELOADING=1 after SIGHUP")
        self.assertIsNotNone(self.notify.wait("READY=1", after=reloading), "no READY=1 after reload")
        self.assertIsNone(self.proc.poll(), "berthd died on SIGHUP")
        # stop
        mark = len(self.notify.messages)
        self.proc.send_signal(signal.SIGTERM)
        self.assertIsNotNone(self.notify.wait("STOPPING=1", after=mark), "no STOPPING=1")
        self.assertEqual(self.proc.wait(timeout=20), 0)

    def test_check_config_names_file_line_key(self):
        with open(self.conf, "w") as f:
            f.write('agent: {\n  thing_id = "edge:device";\n  module_dir = "%s/modules";\n'
                    '  stop_timeot = 5;\n};\n' % BUILD)
        r = subprocess.run([BERTHD, "--check-config", "-c", self.conf], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("berth.conf:4:", r.stderr)
        self.assertIn("agent.stop_timeot", r.stderr)

    def test_version_help_usage(self):
        r = subprocess.run([BERTHD, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("berthd "))
        r = subprocess.run([BERTHD, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--check-config", r.stdout)
        r = subprocess.run([BERTHD, "--bogus"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
