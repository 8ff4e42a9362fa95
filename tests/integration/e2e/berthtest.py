# SPDX-License-Identifier: Apache-2.0
"""
End-to-end test library: berthd as a subprocess, the cloud side over MQTT and an
independent Docker Engine client. The cloud side over AMQP 1.0 builds on it: amqptest.py
(Berthd(transport=...) configures another transport; CloudBase is what every cloud side
shares; E2ETestCase's hooks missing / make_cloud / agent_options).

Run with /usr/bin/python3 (Debian's python3-paho-mqtt 1.6). Environment (the runner,
tests/integration/run.sh, sets all of it; the defaults fit a manual run):

  BERTH_BUILD_DIR          build tree: BUILD/core/berthd and BUILD/modules/*.so
  BERTH_TEST_RUN           peer state and env files (default /tmp/berth-test)
  BERTH_TEST_DOCKERD_RUN   where lib/dockerd.sh keeps its dockerd (default BERTH_TEST_RUN)
  BERTH_TEST_DOCKER_SOCK   private dockerd socket    } read from dockerd.env when unset
  BERTH_TEST_IMAGE         local busybox image       }
  BERTH_TEST_MQTT_PORT     plain mosquitto listener  } read from mosquitto.env when unset
  BERTH_E2E_THING          thing id served by berthd (default edge:device)
  BERTH_E2E_LOG_LEVEL      berthd log level (default debug)
  BERTH_E2E_KEEP           1: keep the temp dirs (config, log, state) of passed tests

Nothing here uses the docker CLI (the one on PATH may be newer than the daemon and refuse
its API): the Docker client speaks HTTP over the unix socket with http.client.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.dont_write_bytecode = True

import paho.mqtt.client as mqtt  # noqa: E402  (python3-paho-mqtt 1.6)

HERE = os.path.dirname(os.path.abspath(__file__))
LIB_DIR = os.path.normpath(os.path.join(HERE, "..", "lib"))
DEFAULT_TIMEOUT = 30.0
MIB = 1024 * 1024
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ERROR_CODES = {
    400: "messages:parameter.invalid",
    404: "messages:subject.notfound",
    409: "messages:execution.conflict",
    429: "messages:too.many.requests",
    500: "messages:execution.failed",
    501: "messages:operation.unsupported",
    503: "messages:runtime.unavailable",
}
# Busybox sh as PID 1: the kernel drops signals PID 1 has no handler for, so a container
# ends on SIGTERM only with a trap; the trap runs when the foreground `sleep 1` returns.
# Measured with CMD_IGNORE_TERM: SIGINT still ends it (exit 130: ash handles INT while it
# waits for `sleep`); SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are ignored.
CMD_TRAP_TERM = ["/bin/sh", "-c", "trap 'exit 3' TERM; while :; do sleep 1; done"]
CMD_TRAP_INT = ["/bin/sh", "-c", "trap 'exit 5' INT; trap 'exit 3' TERM; while :; do sleep 1; done"]
CMD_IGNORE_TERM = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]


def wait_for(pred, timeout=DEFAULT_TIMEOUT, interval=0.05):
    """Polls pred() until it returns a true value (returned) or timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def log(msg):
    sys.stderr.write("# %s\n" % msg)
    sys.stderr.flush()


def _read_env_file(path):
    values = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    line = line[len("export "):]
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    values[k.strip()] = v.strip().strip('"').strip("'")
    except OSError:
        pass
    return values


class Env:
    """Where the build and the peers are."""

    def __init__(self):
        e = os.environ
        self.run = e.get("BERTH_TEST_RUN") or "/tmp/berth-test"
        self.dockerd_run = e.get("BERTH_TEST_DOCKERD_RUN") or self.run
        denv = _read_env_file(os.path.join(self.dockerd_run, "dockerd.env"))
        menv = _read_env_file(os.path.join(self.run, "mosquitto.env"))
        self.docker_sock = e.get("BERTH_TEST_DOCKER_SOCK") or denv.get("BERTH_TEST_DOCKER_SOCK") \
            or os.path.join(self.dockerd_run, "dockerd", "docker.sock")
        self.image = e.get("BERTH_TEST_IMAGE") or denv.get("BERTH_TEST_IMAGE") \
            or "localhost/busybox:latest"
        self.mqtt_port = int(e.get("BERTH_TEST_MQTT_PORT") or menv.get("BERTH_TEST_MQTT_PORT")
                             or 18830)
        self.build = os.path.abspath(e.get("BERTH_BUILD_DIR") or
                                     os.path.join(HERE, "..", "..", ".."))
        self.berthd = os.path.join(self.build, "core", "berthd")
        self.module_dir = os.path.join(self.build, "modules")
        self.thing = e.get("BERTH_E2E_THING") or "edge:device"
        self.log_level = e.get("BERTH_E2E_LOG_LEVEL") or "debug"
        self.keep = e.get("BERTH_E2E_KEEP") == "1"

    def missing(self, transport="mqtt"):
        """What prevents the suite (over `transport`) from running, or None."""
        if not os.access(self.berthd, os.X_OK):
            return "no berthd at %s (set BERTH_BUILD_DIR)" % self.berthd
        for m in ("docker.so", transport + ".so"):
            if not os.path.exists(os.path.join(self.module_dir, m)):
                return "no %s in %s" % (m, self.module_dir)
        if not os.path.exists(self.docker_sock):
            return "no dockerd socket at %s (lib/dockerd.sh start)" % self.docker_sock
        if transport != "mqtt":
            return None
        try:
            socket.create_connection(("127.0.0.1", self.mqtt_port), 2).close()
        except OSError:
            return "no mosquitto on 127.0.0.1:%d (lib/mosquitto.sh start)" % self.mqtt_port
        return None


ENV = Env()


def peer_script(peer, action, timeout=180):
    """Runs lib/<peer>.sh ACTION; returns (rc, output)."""
    env = dict(os.environ)
    if peer == "dockerd":
        env["BERTH_TEST_RUN"] = ENV.dockerd_run
        argv = ["sh", os.path.join(LIB_DIR, "dockerd.sh"), action]
    else:
        env["BERTH_TEST_RUN"] = ENV.run
        env["BERTH_TEST_MQTT_PORT"] = str(ENV.mqtt_port)
        # mosquitto.sh is a bash script (for ((...)), /dev/tcp): under /bin/sh (dash) it
        # fails with "Bad for loop variable". Run it with bash.
        argv = ["bash", os.path.join(LIB_DIR, "mosquitto.sh"), action]
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


# ---- Docker Engine API -----------------------------------------------------------------

class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


class Docker:
    """A minimal Docker Engine API client (API 1.41, dockerd 20.10)."""

    def __init__(self, sock=None, version="v1.41"):
        self.sock = sock or ENV.docker_sock
        self.prefix = "/" + version

    def request(self, method, path, body=None, timeout=60):
        conn = _UnixConnection(self.sock, timeout)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, self.prefix + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                value = json.loads(raw) if raw else None
            except ValueError:
                value = raw.decode(errors="replace")
            return resp.status, value
        finally:
            conn.close()

    def ping(self):
        try:
            return self.request("GET", "/_ping", timeout=3)[0] == 200
        except OSError:
            return False

    def inspect(self, ref):
        """The container's JSON, or None when Docker does not know it."""
        status, value = self.request("GET", "/containers/%s/json" % ref)
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError("inspect %s: %d %s" % (ref, status, value))
        return value

    def by_berth_id(self, berth_id):
        """The container labelled berth.id=<berth_id> (inspect JSON), or None."""
        for c in self.list(label="berth.id=%s" % berth_id):
            return self.inspect(c["Id"])
        return None

    def list(self, label=None, all=True):
        q = "/containers/json?all=%d" % (1 if all else 0)
        if label:
            q += "&filters=" + _urlquote(json.dumps({"label": [label]}))
        status, value = self.request("GET", q)
        if status != 200:
            raise RuntimeError("list: %d %s" % (status, value))
        return value

    def remove(self, ref, force=True):
        return self.request("DELETE", "/containers/%s?force=%d&v=1"
                            % (ref, 1 if force else 0))[0]

    def stop(self, ref, t=1):
        return self.request("POST", "/containers/%s/stop?t=%d" % (ref, t), timeout=t + 60)[0]

    def kill(self, ref, sig="KILL"):
        return self.request("POST", "/containers/%s/kill?signal=%s" % (ref, sig))[0]

    def wait_until(self, ref, pred, timeout=DEFAULT_TIMEOUT, what="condition"):
        """Polls inspect(ref) until pred(json) holds; returns the JSON."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = self.inspect(ref)
            if pred(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError("Docker: %s not reached for %s within %.0f s; last state: %s"
                                     % (what, ref, timeout, summary(last)))
            time.sleep(0.1)


def _urlquote(s):
    from urllib.parse import quote
    return quote(s, safe="")


def summary(info):
    """A short description of a container's inspect JSON for messages."""
    if info is None:
        return "<no such container>"
    st = info.get("State", {})
    hc = info.get("HostConfig", {})
    return "%s name=%s status=%s running=%s paused=%s exit=%s restarts=%s policy=%s mem=%s" % (
        info.get("Id", "?")[:12], info.get("Name"), st.get("Status"), st.get("Running"),
        st.get("Paused"), st.get("ExitCode"), info.get("RestartCount"),
        hc.get("RestartPolicy"), hc.get("Memory"))


def snapshot(info):
    """What must not change in Docker when a command is refused."""
    if info is None:
        return None
    st = info["State"]
    hc = info["HostConfig"]
    return {
        "Id": info["Id"], "Name": info["Name"], "Status": st["Status"], "Pid": st["Pid"],
        "StartedAt": st["StartedAt"], "FinishedAt": st["FinishedAt"],
        "RestartCount": info.get("RestartCount"), "RestartPolicy": hc.get("RestartPolicy"),
        "Memory": hc.get("Memory"), "MemoryReservation": hc.get("MemoryReservation"),
        "MemorySwap": hc.get("MemorySwap"), "Labels": info["Config"].get("Labels"),
    }


# ---- the cloud side over MQTT ------------------------------------------------------------

class Message:
    def __init__(self, topic, payload, t):
        self.topic = topic
        self.raw = payload
        self.time = t
        try:
            self.json = json.loads(payload.decode())
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def __repr__(self):
        return "<%s %s>" % (self.topic, self.raw[:400].decode(errors="replace"))


class Response:
    """A command response: the MQTT topic and the Ditto envelope."""

    def __init__(self, msg, sent_at):
        self.msg = msg
        self.topic = msg.topic
        self.env = msg.json if isinstance(msg.json, dict) else {}
        self.status = self.env.get("status")
        self.value = self.env.get("value")
        self.headers = self.env.get("headers") or {}
        self.path = self.env.get("path")
        self.elapsed = msg.time - sent_at

    @property
    def topic_status(self):
        return self.topic.rsplit("/", 1)[-1]

    def wire_problem(self, status):
        """What is wrong with the transport's part of the answer (the MQTT topic), or None."""
        if "/res//" in self.topic:  # empty request id: .../res//<op>
            if not self.env.get("topic", "").endswith("/" + self.topic_status):
                return "topic %s for %s" % (self.topic, self.env.get("topic"))
        elif self.topic_status != str(status):
            return "topic %s" % self.topic
        return None

    def __repr__(self):
        return "<response on %s after %.2f s: %s>" % (self.topic, self.elapsed,
                                                      json.dumps(self.env)[:600])


NOVALUE = object()


class CloudBase:
    """What every cloud side has, whatever the transport: the list of everything received
    (mark / wait_message / find), Ditto envelopes and the twin event helpers. A subclass
    appends what it receives to self.messages under self.cond and defines _is_event(m)
    (m.json is then the event's Ditto envelope) and events(since)."""

    def __init__(self, thing=None, tenant="t1"):
        self.thing = thing or ENV.thing
        self.tenant = tenant
        ns, _, nm = self.thing.partition(":")
        self.ditto_prefix = "%s/%s" % (ns, nm)
        self.cond = threading.Condition()
        self.messages = []

    def _append(self, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.messages)

    def wait_message(self, pred, since=0, timeout=DEFAULT_TIMEOUT):
        """The first message at index >= since for which pred holds, or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            i = since
            while True:
                while i < len(self.messages):
                    if pred(self.messages[i]):
                        return self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def find(self, pred, since=0):
        with self.cond:
            return [m for m in self.messages[since:] if pred(m)]

    def envelope(self, op, feature, value=NOVALUE, correlation_id=None, response_required=True,
                 thing=None, path=None, headers=None):
        ns_name = self.ditto_prefix if thing is None else thing
        h = {"correlation-id": correlation_id or "e2e-" + uuid.uuid4().hex}
        if response_required is not None:
            h["response-required"] = response_required
        if value is not NOVALUE:
            h["content-type"] = "application/json"
        if headers is not None:
            h = headers
        env = {
            "topic": "%s/things/live/messages/%s" % (ns_name, op),
            "headers": h,
            "path": path or "/features/%s/inbox/messages/%s" % (feature, op),
        }
        if value is not NOVALUE:
            env["value"] = value
        return env

    # -- twin events ------------------------------------------------------------------

    def _is_event(self, m):
        raise NotImplementedError

    def events(self, since=0):
        raise NotImplementedError

    def wait_event(self, pred, since=0, timeout=DEFAULT_TIMEOUT):
        return self.wait_message(lambda m: self._is_event(m) and pred(m.json), since, timeout)

    def wait_state(self, cid, status, since=0, timeout=DEFAULT_TIMEOUT):
        """Waits for a twin event saying container cid is in `status` (a state modify, or
        a whole-feature modify carrying that state)."""
        want = (status,) if isinstance(status, str) else tuple(status)
        return self.wait_event(lambda e: event_state(e, cid) in want, since, timeout)

    def states(self, cid, since=0):
        """Every state the twin was told for container cid, in order."""
        out = []
        for m in self.events(since):
            s = event_state(m.json, cid) if isinstance(m.json, dict) else None
            if s:
                out.append(s)
        return out


class Cloud(CloudBase):
    """The cloud side over MQTT: sends Ditto live messages, collects responses and twin
    events."""

    def __init__(self, thing=None, tenant="t1", port=None, name="cloud"):
        super().__init__(thing, tenant)
        self.port = port or ENV.mqtt_port
        self.connected = threading.Event()
        self.client_id = "e2e-%s-%d-%s" % (name, os.getpid(), uuid.uuid4().hex[:6])
        self.client = mqtt.Client(client_id=self.client_id, clean_session=True)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, q: self.connected.set()
        self.client.on_disconnect = lambda c, u, rc: self.connected.clear()
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise RuntimeError("cannot connect to mosquitto on port %d" % self.port)

    def _on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            return
        subs = [("command//%s/res/#" % self.thing, 1), ("e/%s/%s" % (self.tenant, self.thing), 1)]
        client.subscribe(subs)

    def _on_message(self, client, userdata, m):
        self._append(Message(m.topic, m.payload, time.monotonic()))

    def wait_connected(self, timeout=DEFAULT_TIMEOUT):
        """True once connected and subscribed (again, after a broker restart)."""
        return self.connected.wait(timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    # -- commands ---------------------------------------------------------------------

    def send(self, op, feature, value=NOVALUE, req_id=None, response_required=True,
             raw_payload=None, correlation_id=None, thing=None, path=None, headers=None,
             device=None):
        """Publishes one command; returns (req_id, correlation_id, envelope, sent_at)."""
        if req_id is None:
            req_id = "r" + uuid.uuid4().hex[:12]
        if raw_payload is None:
            env = self.envelope(op, feature, value, correlation_id, response_required, thing,
                                path, headers)
            payload = json.dumps(env).encode()
            cid = env["headers"].get("correlation-id") if isinstance(env["headers"], dict) else None
        else:
            env = None
            payload = raw_payload if isinstance(raw_payload, bytes) else raw_payload.encode()
            cid = correlation_id
        topic = "command//%s/req/%s/%s" % (device or self.thing, req_id, op)
        sent_at = time.monotonic()
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish()
        return req_id, cid, env, sent_at

    def response_pred(self, req_id, op, cid):
        prefix = "command//%s/res/" % self.thing
        if req_id:
            want = prefix + req_id + "/"
            return lambda m: m.topic.startswith(want)
        want = prefix + "/" + op
        return lambda m: (m.topic == want and isinstance(m.json, dict) and
                          (m.json.get("headers") or {}).get("correlation-id") == cid)

    def wait_response(self, req_id, op, cid, sent_at, since=0, timeout=DEFAULT_TIMEOUT):
        msg = self.wait_message(self.response_pred(req_id, op, cid), since, timeout)
        return Response(msg, sent_at) if msg else None

    def command(self, op, feature, value=NOVALUE, req_id=None, response_required=True,
                raw_payload=None, timeout=DEFAULT_TIMEOUT, **kw):
        """Sends a command and waits for its response (None when none is expected or
        none came within timeout)."""
        since = self.mark()
        req_id, cid, env, sent_at = self.send(op, feature, value, req_id, response_required,
                                              raw_payload, **kw)
        if response_required is False:
            return None
        return self.wait_response(req_id, op, cid, sent_at, since, timeout)

    # -- twin events ------------------------------------------------------------------

    def events(self, since=0):
        topic = "e/%s/%s" % (self.tenant, self.thing)
        return [m for m in self.find(lambda m: m.topic == topic, since)]

    def _is_event(self, m):
        return m.topic == "e/%s/%s" % (self.tenant, self.thing) and isinstance(m.json, dict)


def feature_path(cid):
    return "/features/Container:%s" % cid


def event_state_object(e, cid):
    """The state object ({"status":..., "exitCode":...}) an event announces for cid, from a
    status/state modify or a whole-feature modify, or None."""
    if not isinstance(e, dict) or not e.get("topic", "").endswith("/things/twin/commands/modify"):
        return None
    path = e.get("path")
    v = e.get("value")
    if path == feature_path(cid) + "/properties/status/state" and isinstance(v, dict):
        return v
    if path == feature_path(cid) and isinstance(v, dict):
        return ((v.get("properties") or {}).get("status") or {}).get("state")
    return None


def event_state(e, cid):
    """The container state an event announces for cid, or None."""
    state = event_state_object(e, cid)
    return state.get("status") if isinstance(state, dict) else None


def is_delete(e, cid):
    return isinstance(e, dict) and (e.get("topic", "").endswith("/things/twin/commands/delete") and
            e.get("path") == feature_path(cid))


# ---- berthd ------------------------------------------------------------------------------

class Berthd:
    """berthd as a subprocess with a generated configuration in a temp dir."""

    def __init__(self, name="e2e", tenant="t1", stop_timeout=5, max_payload=4096,
                 queue_limit=64, max_workers=None, mqtt_extra=None, agent_extra=None,
                 transport=None, backend=None):
        """transport: the settings of the one transport (a dict with "module"), instead of
        the default MQTT transport to the test mosquitto (mqtt_extra is then unused).
        backend: the settings of the one backend (a dict with "module"), instead of the
        docker backend on the test dockerd."""
        self.name = name
        self.tenant = tenant
        self.dir = tempfile.mkdtemp(prefix="berth-e2e-%s-" % name)
        self.state_dir = os.path.join(self.dir, "state")
        self.conf = os.path.join(self.dir, "berth.conf")
        self.log_path = os.path.join(self.dir, "berthd.log")
        self.client_id = "berthd-e2e-%s-%d" % (name, os.getpid())
        self.proc = None
        self.logf = None
        agent = {
            "thing_id": ENV.thing, "tenant": tenant, "state_dir": self.state_dir,
            "module_dir": ENV.module_dir, "stop_timeout": stop_timeout,
            "max_payload": max_payload, "queue_limit": queue_limit,
            "log_level": ENV.log_level, "log_target": "stderr",
        }
        if max_workers:
            agent["max_workers"] = max_workers
        agent.update(agent_extra or {})
        if transport is None:
            tr = {"module": "mqtt", "url": "tcp://127.0.0.1:%d" % ENV.mqtt_port,
                  "client_id": self.client_id}
            tr.update(mqtt_extra or {})
        else:
            tr = dict(transport)
        self.transport = tr["module"]
        be = dict(backend) if backend else {"module": "docker", "socket": ENV.docker_sock}
        self.backend = be["module"]
        with open(self.conf, "w") as f:
            f.write("agent: %s;\n" % _lc_group(agent))
            f.write("transports: ( %s );\n" % _lc_group(tr))
            f.write("backends: ( %s );\n" % _lc_group(be))

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.logf.write(("---- %s starting berthd ----\n" % time.strftime("%T")).encode())
        self.logf.flush()
        LIVE_AGENTS.add(self)
        self.proc = subprocess.Popen([ENV.berthd, "-c", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=40):
        """SIGTERM and wait; returns the exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        LIVE_AGENTS.discard(self)
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        LIVE_AGENTS.discard(self)
        return rc

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def records(self):
        d = os.path.join(self.state_dir, "containers")
        try:
            return sorted(os.listdir(d))
        except OSError:
            return []

    def clear_session(self):
        """Drops berthd's persistent MQTT session from the broker (a clean-session connect
        with its client id), so that the broker does not keep queueing commands for a
        berthd that will never come back. Nothing to do for other transports."""
        if self.transport != "mqtt":
            return
        c = mqtt.Client(client_id=self.client_id, clean_session=True)
        try:
            c.connect("127.0.0.1", ENV.mqtt_port, keepalive=10)
            c.loop_start()
            time.sleep(0.2)
            c.disconnect()
            c.loop_stop()
        except OSError as e:
            log("cannot clear the MQTT session of %s: %s" % (self.client_id, e))

    def record(self, cid):
        """berthd's record of container cid (its JSON), or None."""
        try:
            with open(os.path.join(self.state_dir, "containers", cid + ".json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def cleanup(self):
        if self.proc:
            self.stop()
        if not ENV.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies (a test killed by the
    runner's timeout must not leave a berthd answering the next run's commands)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _lc_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return json.dumps(str(v))


def _lc_group(d):
    return "{ " + " ".join("%s = %s;" % (k, _lc_value(v)) for k, v in d.items()) + " }"


# ---- emergency cleanup ----------------------------------------------------------------------

# Containers created by the running tests and berthd instances alive, for a SIGTERM/SIGINT
# (the runner's timeout or interrupt): unittest would not run the class cleanups then.
LIVE_CONTAINERS = set()
LIVE_AGENTS = set()
# Other child processes of the tests (AMQP peers): objects with a kill() method.
LIVE_CHILDREN = set()


def _emergency_cleanup(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log("signal %d: removing %d test containers, stopping %d berthd"
        % (signum, len(LIVE_CONTAINERS), len(LIVE_AGENTS)))
    for agent in list(LIVE_AGENTS):
        try:
            agent.stop(timeout=15)
            agent.clear_session()
            log("berthd log kept: %s" % agent.log_path)
        except Exception as e:
            log("stopping berthd: %s" % e)
    for child in list(LIVE_CHILDREN):
        try:
            child.kill()
        except Exception as e:
            log("killing %r: %s" % (child, e))
    d = Docker()
    for cid in list(LIVE_CONTAINERS):
        try:
            for c in d.list(label="berth.id=%s" % cid):
                d.remove(c["Id"], force=True)
        except Exception as e:
            log("removing %s: %s" % (cid, e))
    os._exit(128 + signum)


def install_signal_cleanup():
    signal.signal(signal.SIGTERM, _emergency_cleanup)
    signal.signal(signal.SIGINT, _emergency_cleanup)


# ---- test case base ------------------------------------------------------------------------

class E2ETestCase(unittest.TestCase):
    """One berthd per test class (cls.berthd_options), one Cloud client, a Docker client.
    Tests record their containers with self.track(id); tearDown removes them through
    berthd (remove, force) and through the Docker API as a fallback."""

    berthd_options = {}
    keep_dir = False

    # Hooks of a suite over another transport (see amqptest.py):
    @classmethod
    def missing(cls):
        """Why the class cannot run (unittest.SkipTest), or None."""
        return ENV.missing()

    @classmethod
    def make_cloud(cls):
        return Cloud(tenant=cls.berthd_options.get("tenant", "t1"), name=cls.__name__[:16])

    @classmethod
    def agent_options(cls):
        """Keyword arguments of Berthd() (berthd_options, plus what is known only now)."""
        return dict(cls.berthd_options)

    @classmethod
    def setUpClass(cls):
        install_signal_cleanup()
        why = cls.missing()
        if why:
            raise unittest.SkipTest(why)
        cls.docker = Docker()
        cls.cloud = cls.make_cloud()
        cls.agent = None
        cls.failed = False
        cls.class_tracked = []
        cls.start_agent()

    @classmethod
    def start_agent(cls, wait_ready=True):
        if cls.agent is None:
            cls.agent = Berthd(name=cls.__name__[:24].lower(), **cls.agent_options())
        since = cls.cloud.mark()
        cls.agent.start()
        if wait_ready:
            cls.wait_ready(since)

    @classmethod
    def wait_ready(cls, since=0, timeout=DEFAULT_TIMEOUT):
        """Waits for the resync (ContainerFactory feature) and then for a probe command to
        be answered (the command subscription is in place)."""
        ev = cls.cloud.wait_event(lambda e: e.get("path") == "/features/ContainerFactory",
                                  since, timeout)
        if not ev:
            raise AssertionError("berthd did not publish its resync within %.0f s; log:\n%s"
                                 % (timeout, cls.agent.log_tail()))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not cls.agent.alive():
                raise AssertionError("berthd exited: %s\n%s" % (cls.agent.proc.returncode,
                                                                cls.agent.log_tail()))
            r = cls.cloud.command("ping", "ContainerFactory", timeout=1.0)
            if r:
                return
        raise AssertionError("berthd answers no command; log:\n%s" % cls.agent.log_tail())

    @classmethod
    def class_container(cls, config, start=True, name=None):
        """A container shared by the class's tests (removed in tearDownClass)."""
        value = {"imageRef": ENV.image, "start": start, "config": config}
        if name:
            value["name"] = name
        r = cls.cloud.command("createWithConfig", "ContainerFactory", value)
        if not r or r.status != 200:
            raise AssertionError("class container not created: %r\n%s"
                                 % (r, cls.agent.log_tail()))
        cls.class_tracked.append(r.value)
        LIVE_CONTAINERS.add(r.value)
        if start:
            info = cls.docker.by_berth_id(r.value)
            cls.docker.wait_until(info["Id"], lambda i: i["State"]["Running"], what="running")
        return r.value

    @classmethod
    def tearDownClass(cls):
        for cid in getattr(cls, "class_tracked", []):
            cls._remove(cid)
        if cls.agent:
            rc = cls.agent.stop() if cls.agent.proc else None
            cls.agent.clear_session()
            log("%s: berthd log %s (exit %s)" % (cls.__name__, cls.agent.log_path, rc))
            if cls.failed or ENV.keep:
                log("kept %s" % cls.agent.dir)
            else:
                cls.agent.cleanup()
        cls.cloud.close()

    def _problems(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return 0
        return len(getattr(result, "failures", [])) + len(getattr(result, "errors", []))

    def setUp(self):
        self.tracked = []
        self.t0 = time.monotonic()
        self._problems_before = self._problems()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        if self._problems() > self._problems_before or (
                outcome is not None and not getattr(outcome, "success", True)):
            type(self).failed = True  # keep the berthd dir for the post-mortem
        for cid in reversed(self.tracked):
            self.remove_container(cid)

    def remove_container(self, cid):
        self._remove(cid)

    @classmethod
    def _remove(cls, cid):
        """Force-removes cid through berthd, then through Docker (fallback)."""
        if cls.agent and cls.agent.alive():
            try:
                cls.cloud.command("remove", "Container:%s" % cid, True, timeout=30)
            except Exception as e:  # cleanup goes on
                log("cleanup of %s through berthd: %s" % (cid, e))
        try:
            for c in cls.docker.list(label="berth.id=%s" % cid):
                cls.docker.remove(c["Id"], force=True)
            LIVE_CONTAINERS.discard(cid)
        except Exception as e:
            log("cleanup of %s through Docker: %s" % (cid, e))

    def track(self, cid):
        self.tracked.append(cid)
        LIVE_CONTAINERS.add(cid)
        return cid

    # -- helpers ------------------------------------------------------------------------

    def cmd(self, op, feature, value=NOVALUE, **kw):
        r = self.cloud.command(op, feature, value, **kw)
        if kw.get("response_required") is False:
            return r
        self.assertIsNotNone(r, "no response to %s on %s within the timeout; berthd log:\n%s"
                             % (op, feature, self.agent.log_tail()))
        return r

    def ccmd(self, op, cid, value=NOVALUE, **kw):
        return self.cmd(op, "Container:%s" % cid, value, **kw)

    def assertStatus(self, r, status, what=""):
        self.assertIsNotNone(r, "no response " + what)
        self.assertEqual(r.status, status, "%s: %r" % (what, r))
        problem = r.wire_problem(status)
        self.assertIsNone(problem, "%s: %s: %r" % (what, problem, r))
        if status >= 400:
            v = r.value
            self.assertIsInstance(v, dict, "%s: error value %r" % (what, v))
            self.assertEqual(v.get("status"), status, "%s: %r" % (what, v))
            self.assertEqual(v.get("error"), ERROR_CODES.get(status), "%s: %r" % (what, v))
            self.assertIsInstance(v.get("message"), str, "%s: %r" % (what, v))
            self.assertTrue(v["message"], "%s: empty message" % what)
        return r

    def create(self, config=None, name=None, start=True, image=None, op=None, **kw):
        """createWithConfig (or create when config and name are None and op is None);
        returns the container id; the container is tracked for cleanup."""
        value = {"imageRef": image or ENV.image, "start": start}
        if op is None:
            op = "create" if config is None and name is None else "createWithConfig"
        if op == "createWithConfig":
            if name is not None:
                value["name"] = name
            if config is not None:
                value["config"] = config
        r = self.cmd(op, "ContainerFactory", value, **kw)
        if r.status == 200 and isinstance(r.value, str):
            self.track(r.value)  # first, so that a failed check still cleans up
        self.assertStatus(r, 200, op)
        cid = r.value
        self.assertIsInstance(cid, str)
        self.assertRegex(cid, UUID_RE)
        return cid

    def dinspect(self, cid):
        """Docker's view of container cid (found by its berth.id label)."""
        info = self.docker.by_berth_id(cid)
        self.assertIsNotNone(info, "Docker has no container labelled berth.id=%s" % cid)
        return info

    def wait_docker(self, cid, pred, what, timeout=DEFAULT_TIMEOUT):
        info = self.dinspect(cid)
        return self.docker.wait_until(info["Id"], pred, timeout, what)

    def wait_state(self, cid, status, since=0, timeout=DEFAULT_TIMEOUT):
        ev = self.cloud.wait_state(cid, status, since, timeout)
        self.assertIsNotNone(ev, "no twin event with state %s for %s; states seen: %s; log:\n%s"
                             % (status, cid, self.cloud.states(cid, since),
                                self.agent.log_tail(30)))
        return ev

    def running_container(self, cmd=None, policy="no", name=None):
        config = {"cmd": cmd or CMD_TRAP_TERM, "restartPolicy": {"type": policy}}
        cid = self.create(config=config, name=name, start=True)
        self.wait_docker(cid, lambda i: i["State"]["Running"], "running")
        return cid

    def assertAlive(self):
        self.assertTrue(self.agent.alive(), "berthd died:\n%s" % self.agent.log_tail())
        r = self.cloud.command("ping", "ContainerFactory", timeout=10)
        self.assertIsNotNone(r, "berthd no longer answers")
        self.assertStatus(r, 404, "probe")


def private_peer(script, *args, timeout=120):
    """Runs lib/SCRIPT ARGS... with this run's BERTH_TEST_RUN; returns (rc, output)."""
    p = subprocess.run(["sh", os.path.join(LIB_DIR, script)] + list(args),
                       env=dict(os.environ, BERTH_TEST_RUN=ENV.run), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace").strip()


class BackendPeerCase(E2ETestCase):
    """berthd with one backend other than Docker, on the private runtime of lib/<peer>.sh,
    which the class starts when it is not running and stops when it started it. A subclass
    names `module`, `peer_name` and `programs` (what must be installed: names on PATH or
    absolute paths), and builds its own view of the runtime in setUpPeer(env) from the
    peer's env file; tearDownPeer() undoes what setUpPeer() made."""

    module = None
    peer_name = None
    programs = ()
    started_peer = False

    @classmethod
    def peer(cls, *args):
        return private_peer(cls.peer_name + ".sh", *args)

    @classmethod
    def missing(cls):
        for prog in cls.programs:
            found = os.access(prog, os.X_OK) if prog.startswith("/") else shutil.which(prog)
            if not found:
                return "%s is not installed" % prog
        if not os.path.exists(os.path.join(ENV.module_dir, cls.module + ".so")):
            return "no %s.so in %s" % (cls.module, ENV.module_dir)
        if not os.access(ENV.berthd, os.X_OK):
            return "no berthd at %s" % ENV.berthd
        try:
            socket.create_connection(("127.0.0.1", ENV.mqtt_port), 2).close()
        except OSError:
            return "no mosquitto on 127.0.0.1:%d (lib/mosquitto.sh start)" % ENV.mqtt_port
        return None

    @classmethod
    def setUpPeer(cls, env):
        pass

    @classmethod
    def tearDownPeer(cls):
        pass

    @classmethod
    def setUpClass(cls):
        why = cls.missing()
        if why:
            raise unittest.SkipTest(why)
        rc, _ = cls.peer("status")
        cls.started_peer = rc != 0
        rc, out = cls.peer("start")
        if rc == 77:
            raise unittest.SkipTest(out)
        if rc != 0:
            raise AssertionError("lib/%s.sh start failed:\n%s" % (cls.peer_name, out))
        try:
            cls.setUpPeer(_read_env_file(os.path.join(ENV.run, cls.peer_name + ".env")))
            super().setUpClass()
        except BaseException:
            # unittest calls no tearDownClass after a failed setUpClass
            cls._release_peer()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._release_peer()

    @classmethod
    def remove_in_runtime(cls, cid):
        """Removes what is left of container cid in the runtime (cleanup)."""
        raise NotImplementedError

    @classmethod
    def _remove(cls, cid):
        if cls.agent and cls.agent.alive():
            try:
                cls.cloud.command("remove", "Container:%s" % cid, True, timeout=30)
            except Exception as e:
                log("cleanup of %s through berthd: %s" % (cid, e))
        cls.remove_in_runtime(cid)
        LIVE_CONTAINERS.discard(cid)

    def ccreate(self, config=None, name=None, start=True, image=None):
        value = {"imageRef": image or self.image, "start": start}
        if name is not None:
            value["name"] = name
        if config is not None:
            value["config"] = config
        r = self.cmd("createWithConfig", "ContainerFactory", value)
        if r.status == 200 and isinstance(r.value, str):
            self.track(r.value)
        self.assertStatus(r, 200, "createWithConfig")
        self.assertRegex(r.value, UUID_RE)
        return r.value

    def exit_code_event(self, cid, status, since):
        ev = self.wait_state(cid, status, since)
        return (event_state_object(ev.json, cid) or {}).get("exitCode")

    @classmethod
    def _release_peer(cls):
        try:
            cls.tearDownPeer()
        finally:
            if cls.started_peer:
                cls.peer("stop")


def main():
    unittest.main(verbosity=2)
