# SPDX-License-Identifier: Apache-2.0
"""
End-to-end test library over AMQP 1.0: berthd with the amqp transport, the cloud side
played by an AMQP peer child process that speaks JSON lines on stdin/stdout:

  - tests/integration/amqp/hono_peer.py: a Hono-AMQP-adapter-like peer that listens
    (berthd connects to it), sends commands on berthd's receiver link and records what
    berthd sends (replies, twin events);
  - tests/integration/amqp/rabbit_client.py session: the application side of a broker
    (RabbitMQ): sends commands to the command queue, receives from the reply and event
    queues.

AmqpCloud has the interface of berthtest.Cloud (command, send, wait_response, mark,
wait_event, wait_state, states, ...), so E2ETestCase's helpers work unchanged;
AmqpE2ETestCase is E2ETestCase with berthd configured for AMQP and a hono_peer.py cloud.

Run with /usr/bin/python3 (Debian's python3-qpid-proton: the peers need it; a test skips
when it is missing). Environment, besides berthtest's:

  BERTH_TEST_RUN            the certificates go to $BERTH_TEST_RUN/amqp-e2e/certs
  BERTH_TEST_AMQP_E2E_PORT  first port tried for hono_peer.py (default 25672; the
                            first free one from there is used)
  BERTH_TEST_VERBOSE=1      echo every JSON line of the peers on stderr
"""
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import uuid

sys.dont_write_bytecode = True

from berthtest import (CMD_TRAP_TERM, DEFAULT_TIMEOUT, ENV, HERE, LIB_DIR,  # noqa: E402
                       LIVE_CHILDREN, NOVALUE, UUID_RE, CloudBase, E2ETestCase,
                       _die_with_parent, _read_env_file, event_state, feature_path, is_delete,
                       log)

AMQP_DIR = os.path.normpath(os.path.join(HERE, "..", "amqp"))
HONO_PEER = os.path.join(AMQP_DIR, "hono_peer.py")
RABBIT_CLIENT = os.path.join(AMQP_DIR, "rabbit_client.py")
PYTHON = "/usr/bin/python3"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
VERBOSE = os.environ.get("BERTH_TEST_VERBOSE") == "1"
# hono_peer.py grants its credit once per link: enough for every reply and event of a class
PEER_CREDIT = 100000
DEVICE_USER, DEVICE_PASSWORD = "dev1@t1", "secret"
DITTO_CONTENT_TYPE = "application/vnd.eclipse.ditto+json"
_DEFAULT = object()


def proton_missing():
    """Why the AMQP peers cannot run (python3-qpid-proton missing), or None."""
    if not os.access(PYTHON, os.X_OK):
        return "no %s" % PYTHON
    if sys.executable != PYTHON and os.path.realpath(sys.executable) != os.path.realpath(PYTHON):
        probe = subprocess.run([PYTHON, "-c", "import proton"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        ok = probe.returncode == 0
    else:
        ok = importlib.util.find_spec("proton") is not None
    return None if ok else "python3-qpid-proton is not installed (%s cannot import proton)" % PYTHON


def certs_dir():
    """The test certificates (lib/certs.sh), created on first use."""
    d = os.path.join(ENV.run, "amqp-e2e", "certs")
    p = subprocess.run(["sh", os.path.join(LIB_DIR, "certs.sh"), d], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError("lib/certs.sh %s: %s" % (d, p.stdout.decode(errors="replace")))
    return d


def free_port(first=None, host="127.0.0.1"):
    """The first port from `first` (BERTH_TEST_AMQP_E2E_PORT, 25672) nobody listens on."""
    port = first or int(os.environ.get("BERTH_TEST_AMQP_E2E_PORT") or 25672)
    for p in range(port, port + 200):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in %d..%d" % (port, port + 199))


# ---- a child process with JSON lines -------------------------------------------------------

class JsonChild:
    """A child (a Python AMQP peer) with piped stdin/stdout; every stdout line is parsed
    and handed to sink(line_dict); stderr goes to a file. Dies with the test process."""

    def __init__(self, argv, name, sink, stderr_path):
        self.name = name
        self.argv = argv
        self.sink = sink
        self.stderr_path = stderr_path
        self.errf = open(stderr_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.errf, preexec_fn=_die_with_parent)
        LIVE_CHILDREN.add(self)
        self.thread = threading.Thread(target=self._read, name="json-" + name, daemon=True)
        self.thread.start()

    def __repr__(self):
        return "<%s pid %s>" % (self.name, self.proc.pid)

    def _read(self):
        for raw in self.proc.stdout:
            text = raw.decode(errors="replace").strip()
            if not text:
                continue
            if VERBOSE:
                log("%s: %s" % (self.name, text[:500]))
            try:
                line = json.loads(text)
            except ValueError:
                line = {"event": "unparsed", "text": text}
            if not isinstance(line, dict):
                line = {"event": "unparsed", "text": text}
            self.sink(line)
        self.sink({"event": "eof"})

    def alive(self):
        return self.proc.poll() is None

    def write(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise AssertionError("%s is gone (%s); its stderr:\n%s"
                                 % (self.name, e, self.stderr_tail()))

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self._reap()

    def stop(self, timeout=5):
        """quit, then SIGKILL when it does not go."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._reap()

    def _reap(self):
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            log("%s did not die" % self.name)
        self.thread.join(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        self.errf.close()
        LIVE_CHILDREN.discard(self)

    def stderr_tail(self, n=30):
        try:
            with open(self.stderr_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


# ---- what the peer reports ------------------------------------------------------------------

class AmqpRecord:
    """One line of the peer. kind = its "event"; for "message" (what berthd sent): to,
    correlation_id, cid_type, properties, content_type and json (the body parsed).
    gen = which incarnation of the peer (1, 2, ... after restarts) reported it."""

    def __init__(self, line, gen):
        self.line = line
        self.gen = gen
        self.time = time.monotonic()
        self.kind = line.get("event")
        self.to = line.get("to")
        self.json = None
        if self.kind == "message" and isinstance(line.get("body"), str):
            try:
                self.json = json.loads(line["body"])
            except ValueError:
                pass

    def get(self, key, default=None):
        return self.line.get(key, default)

    def __repr__(self):
        return "<peer#%d %s>" % (self.gen, json.dumps(self.line)[:600])


class Sent:
    """A command the cloud sent: what to match the answer with, and the line to send it
    again (redelivery)."""

    def __init__(self, op, tag, line, env, reply_to, cid, cid_type, ditto_cid, address):
        self.op = op
        self.tag = tag
        self.line = line
        self.env = env
        self.reply_to = reply_to
        self.cid = cid              # the AMQP correlation-id (readable form) or None
        self.cid_type = cid_type    # string uuid ulong binary none
        self.ditto_cid = ditto_cid  # the envelope's correlation-id header (or None)
        self.address = address
        self.sent_at = time.monotonic()

    def expected_cid(self):
        """(correlation-id, type) the answer must carry: the command's own, or, without
        one, the Ditto correlation-id as a string."""
        if self.cid is not None:
            return self.cid, self.cid_type
        if self.ditto_cid is not None:
            return self.ditto_cid, "string"
        return None, "none"

    def __repr__(self):
        return "<sent %s tag=%s cid=%s(%s) reply-to=%s>" % (self.op, self.tag, self.cid,
                                                            self.cid_type, self.reply_to)


class AmqpResponse:
    """An answer from berthd over AMQP: the message's properties and the Ditto envelope."""

    topic = None

    def __init__(self, rec, sent):
        self.rec = rec
        self.sent = sent
        self.to = rec.to
        self.correlation_id = rec.get("correlation_id")
        self.cid_type = rec.get("cid_type")
        self.properties = rec.get("properties") or {}
        self.property_types = rec.get("property_types") or {}
        self.content_type = rec.get("content_type")
        self.env = rec.json if isinstance(rec.json, dict) else {}
        self.status = self.env.get("status")
        self.value = self.env.get("value")
        self.headers = self.env.get("headers") or {}
        self.path = self.env.get("path")
        self.elapsed = rec.time - sent.sent_at
        self.gen = rec.gen

    @property
    def wire_status(self):
        return self.properties.get("status")

    def wire_problem(self, status):
        """What is wrong with the AMQP part of the answer, or None: `to` is the command's
        reply-to, the correlation-id is the command's with its AMQP type, application
        property status is an AMQP int equal to `status`."""
        problems = []
        if self.to != self.sent.reply_to:
            problems.append("to %r, not the reply-to %r" % (self.to, self.sent.reply_to))
        want = self.sent.expected_cid()
        if (self.correlation_id, self.cid_type) != want:
            problems.append("correlation-id %r (%s), expected %r (%s)"
                            % (self.correlation_id, self.cid_type, want[0], want[1]))
        if self.wire_status != status or self.property_types.get("status") != "int32":
            problems.append("application property status %r (%s), expected int %d"
                            % (self.wire_status, self.property_types.get("status"), status))
        return "; ".join(problems) or None

    def __repr__(self):
        return "<AMQP answer #%d to %s cid=%s(%s) status=%s after %.2f s: %s>" % (
            self.gen, self.to, self.correlation_id, self.cid_type, self.wire_status,
            self.elapsed, json.dumps(self.env)[:600])


# ---- the cloud side over AMQP ---------------------------------------------------------------

class AmqpCloud(CloudBase):
    """The cloud side over AMQP 1.0, played by a JSON-line peer process (argv).

    ready: the peer's line that says it is up ("listening" for hono_peer.py, "ready" for
    rabbit_client.py session). command_address: where commands go (rabbit_client.py;
    hono_peer.py sends on berthd's command link and ignores it). reply_address: one
    reply-to for every command (a broker queue); default: a fresh
    command_response/<tenant>/<uuid> per command, as Hono does. event_address: where
    berthd's twin events go (its event_address setting)."""

    def __init__(self, argv, name, tenant="t1", ready="listening", event_address="event",
                 command_address=None, reply_address=None, log_dir=None):
        super().__init__(None, tenant)
        self.argv = argv
        self.name = name
        self.ready = ready
        self.event_address = event_address
        self.command_address = command_address
        self.reply_address = reply_address
        self.log_dir = log_dir or ENV.run
        self.gen = 0
        self.child = None
        self.n_sent = 0
        self.start()

    # -- the peer process -------------------------------------------------------------

    def _sink(self, gen):
        return lambda line: self._append(AmqpRecord(line, gen))

    def start(self, timeout=20):
        """Starts (again) the peer process; returns once it is up."""
        self.gen += 1
        since = self.mark()
        stderr = os.path.join(self.log_dir, "amqp-e2e-%s.stderr" % self.name)
        self.child = JsonChild(self.argv, "%s#%d" % (self.name, self.gen),
                               self._sink(self.gen), stderr)
        gen = self.gen
        up = self.wait_message(lambda m: m.gen == gen and m.kind in (self.ready, "eof"),
                               since, timeout)
        if not up or up.kind != self.ready:
            self.child.kill()
            raise AssertionError("%s did not start (%s); stderr:\n%s"
                                 % (self.name, up, self.child.stderr_tail()))
        return self

    def kill9(self):
        """SIGKILL: the peer dies without closing anything."""
        self.child.kill(signal.SIGKILL)

    def close(self):
        if self.child:
            self.child.stop()

    def wait_connected(self, timeout=DEFAULT_TIMEOUT, since=0):
        """hono_peer.py: berthd's command link (of this incarnation) is attached."""
        gen = self.gen
        return self.wait_message(lambda m: m.gen == gen and m.kind == "command-link", since,
                                 timeout)

    # -- commands ---------------------------------------------------------------------

    @staticmethod
    def new_cid(cid_type):
        if cid_type == "uuid":
            return str(uuid.uuid4())
        if cid_type == "ulong":
            return str(random.randint(1, 2 ** 64 - 1))
        if cid_type == "binary":
            return uuid.uuid4().hex
        return "e2e-" + uuid.uuid4().hex

    def send(self, op, feature, value=NOVALUE, req_id=None, response_required=True,
             raw_payload=None, correlation_id=None, thing=None, path=None, headers=None,
             device=None, amqp_cid=_DEFAULT, cid_type="string", reply_to=_DEFAULT,
             subject=_DEFAULT,
             body_kind="data", content_type=DITTO_CONTENT_TYPE):
        """Sends one command; returns a Sent.

        amqp_cid / cid_type: the AMQP correlation-id (default: a new one of cid_type; for a
        string the Ditto correlation-id); amqp_cid=None: none on the wire. correlation_id: the
        Ditto header (default: the AMQP correlation-id's readable form). reply_to=None:
        one-way. raw_payload (str or bytes): the body instead of the envelope. req_id is
        MQTT's and ignored here."""
        cid = amqp_cid
        if cid is _DEFAULT:
            cid = correlation_id if correlation_id and cid_type == "string" \
                else self.new_cid(cid_type)
        if cid is None:
            cid_type = "none"
        if correlation_id is None:
            correlation_id = cid if cid is not None else None
        if raw_payload is None:
            env = self.envelope(op, feature, value, correlation_id, response_required, thing,
                                path, headers)
            h = env["headers"]
            ditto_cid = h.get("correlation-id") if isinstance(h, dict) else None
            body = {"body": json.dumps(env)}
        else:
            env = None
            ditto_cid = None
            raw = raw_payload if isinstance(raw_payload, bytes) else raw_payload.encode()
            body = {"body_hex": raw.hex()}
        if reply_to is _DEFAULT:
            reply_to = self.reply_address or "command_response/%s/%s" % (self.tenant,
                                                                         uuid.uuid4())
        self.n_sent += 1
        tag = "%s-%d" % (op, self.n_sent)
        line = {"op": "send", "id": tag, "subject": op if subject is _DEFAULT else subject,
                "reply_to": reply_to, "correlation_id": cid, "cid_type": cid_type,
                "body_kind": body_kind, "content_type": content_type}
        if device:
            line["device_id"] = device
        if self.command_address:
            line["address"] = self.command_address
        line.update(body)
        sent = Sent(op, tag, line, env, reply_to, cid, cid_type, ditto_cid, self.command_address)
        self.child.write(line)
        return sent

    def resend(self, sent):
        """Sends `sent` again, as it was (same correlation-id, reply-to and body), under a
        new delivery tag; returns the new Sent."""
        self.n_sent += 1
        line = dict(sent.line, id="%s-again-%d" % (sent.op, self.n_sent))
        again = Sent(sent.op, line["id"], line, sent.env, sent.reply_to, sent.cid, sent.cid_type,
                     sent.ditto_cid, sent.address)
        self.child.write(line)
        return again

    def is_answer(self, m, sent):
        """m is an answer to sent: a message to its reply-to (with a reply address shared by
        all commands, also carrying its correlation-id)."""
        if m.kind != "message" or m.to != sent.reply_to:
            return False
        if self.reply_address is None:
            return True
        return (m.get("correlation_id"), m.get("cid_type")) == sent.expected_cid()

    def wait_response(self, sent, since=0, timeout=DEFAULT_TIMEOUT):
        m = self.wait_message(lambda m: self.is_answer(m, sent), since, timeout)
        return AmqpResponse(m, sent) if m else None

    def answers(self, sent, since=0):
        """Every answer to sent received so far."""
        return [AmqpResponse(m, sent) for m in self.find(lambda m: self.is_answer(m, sent), since)]

    def wait_outcome(self, sent, since=0, timeout=DEFAULT_TIMEOUT):
        """How berthd settled the command: the peer's outcome record, or None."""
        return self.wait_message(lambda m: m.kind in ("command-outcome", "outcome") and
                                 m.get("id") == sent.tag, since, timeout)

    def command(self, op, feature, value=NOVALUE, req_id=None, response_required=True,
                raw_payload=None, timeout=DEFAULT_TIMEOUT, **kw):
        """Sends a command and waits for its answer (None when none is expected - one-way
        or response-required false - or none came within timeout)."""
        since = self.mark()
        sent = self.send(op, feature, value, req_id, response_required, raw_payload, **kw)
        if response_required is False or sent.reply_to is None:
            return None
        return self.wait_response(sent, since, timeout)

    # -- twin events ------------------------------------------------------------------

    def _is_event(self, m):
        return m.kind == "message" and m.to == self.event_address and isinstance(m.json, dict)

    def events(self, since=0):
        return self.find(self._is_event, since)


def hono_peer_argv(url, certs=None, tls=False, require_client_cert=False, users=()):
    argv = [PYTHON, HONO_PEER, "--url", url, "--device-credit", str(PEER_CREDIT)]
    if tls:
        argv += ["--tls-cert", os.path.join(certs, "server.crt"),
                 "--tls-key", os.path.join(certs, "server.key")]
    if require_client_cert:
        argv += ["--require-client-cert", "--tls-ca", os.path.join(certs, "ca.crt")]
    for u in users:
        argv += ["--user", u]
    return argv


# ---- test case base --------------------------------------------------------------------------

class AmqpE2ETestCase(E2ETestCase):
    """E2ETestCase over AMQP: a hono_peer.py per class on a free port from 25672, berthd
    connected to it.

    amqp_mode: "plain" (amqp://127.0.0.1, SASL PLAIN with password_file), "tls-plain"
    (amqps://localhost with ca_file, SASL PLAIN with password) or "tls-external"
    (amqps://localhost, client certificate CN=device-1, SASL EXTERNAL; the peer requires
    the certificate). amqp_extra: more transport settings."""

    amqp_mode = "plain"
    amqp_extra = {}

    @classmethod
    def missing(cls):
        return proton_missing() or ENV.missing("amqp")

    @classmethod
    def make_cloud(cls):
        cls.certs = certs_dir()
        cls.peer_port = free_port()
        tls = cls.amqp_mode.startswith("tls")
        url = "%s://127.0.0.1:%d" % ("amqps" if tls else "amqp", cls.peer_port)
        users = () if cls.amqp_mode == "tls-external" else ("%s:%s" % (DEVICE_USER,
                                                                      DEVICE_PASSWORD),)
        argv = hono_peer_argv(url, cls.certs, tls=tls,
                              require_client_cert=cls.amqp_mode == "tls-external", users=users)
        return AmqpCloud(argv, "hono-peer-%s" % cls.__name__,
                         tenant=cls.berthd_options.get("tenant", "t1"))

    @classmethod
    def transport_settings(cls):
        tr = {"module": "amqp", "reconnect_min": 0.2, "reconnect_max": 1.0}
        if cls.amqp_mode == "plain":
            pw = os.path.join(ENV.run, "amqp-e2e", "password-%s" % cls.__name__)
            with open(pw, "w") as f:
                f.write(DEVICE_PASSWORD + "\n")  # a trailing newline is stripped
            tr.update(url="amqp://127.0.0.1:%d" % cls.peer_port, username=DEVICE_USER,
                      password_file=pw)
        elif cls.amqp_mode == "tls-plain":
            tr.update(url="amqps://localhost:%d" % cls.peer_port, username=DEVICE_USER,
                      password=DEVICE_PASSWORD, ca_file=os.path.join(cls.certs, "ca.crt"))
        elif cls.amqp_mode == "tls-external":
            tr.update(url="amqps://localhost:%d" % cls.peer_port,
                      ca_file=os.path.join(cls.certs, "ca.crt"),
                      cert_file=os.path.join(cls.certs, "client.crt"),
                      key_file=os.path.join(cls.certs, "client.key"))
        else:
            raise ValueError("amqp_mode %r" % cls.amqp_mode)
        tr.update(cls.amqp_extra)
        return tr

    @classmethod
    def agent_options(cls):
        opts = dict(cls.berthd_options)
        opts["transport"] = cls.transport_settings()
        return opts

    @classmethod
    def setUpClass(cls):
        try:
            super().setUpClass()
        except unittest.SkipTest:
            raise
        except BaseException:
            cls._abandon()
            raise

    @classmethod
    def _abandon(cls):
        """setUpClass failed: unittest will not run tearDownClass."""
        agent = getattr(cls, "agent", None)
        if agent is not None:
            log("%s: setUpClass failed; berthd log %s:\n%s" % (cls.__name__, agent.log_path,
                                                               agent.log_tail(40)))
            agent.stop()
        cloud = getattr(cls, "cloud", None)
        if cloud is not None:
            cloud.close()

    # -- helpers ------------------------------------------------------------------------

    def assertAnswer(self, r, status, what, op=None, feature=None):
        """The answer's AMQP part (assertStatus) and its Ditto envelope: the request's
        topic, the feature's outbox path, the request's correlation-id header."""
        self.assertStatus(r, status, what)
        sent = r.sent
        if sent.env is not None:
            self.assertEqual(r.env.get("topic"), sent.env["topic"], "%s: topic: %r" % (what, r))
            if isinstance(sent.env.get("headers"), dict) and \
                    sent.env["headers"].get("correlation-id"):
                self.assertEqual(r.headers.get("correlation-id"),
                                 sent.env["headers"]["correlation-id"],
                                 "%s: correlation-id header: %r" % (what, r))
            if feature and op:
                self.assertEqual(r.path, "/features/%s/outbox/messages/%s" % (feature, op),
                                 "%s: path: %r" % (what, r))
        self.assertEqual(r.content_type, DITTO_CONTENT_TYPE, "%s: content-type: %r" % (what, r))
        return r


class LifecycleMixin:
    """createWithConfig (start) -> 200 + id, stop -> 204, start -> 204, stopWithOptions ->
    204, remove true -> 204; every answer and its effect in Docker and in the twin."""

    cid_type = "string"  # the AMQP type of the commands' correlation-ids

    def connection_record(self):
        rec = self.cloud.wait_message(lambda m: m.kind == "connection", 0, 5)
        self.assertIsNotNone(rec, "the peer saw no connection")
        return rec

    def amqp_event(self, pred, since, what):
        ev = self.cloud.wait_event(pred, since)
        self.assertIsNotNone(ev, "no twin event %s; events: %s; log:\n%s"
                             % (what, [m.json for m in self.cloud.events(since)][-10:],
                                self.agent.log_tail(30)))
        self.check_event_message(ev)
        return ev

    def check_event_message(self, ev):
        """The AMQP part of a twin event (what hono_peer.py reports of it)."""
        self.assertEqual(ev.to, self.cloud.event_address)
        self.assertEqual(ev.get("content_type"), DITTO_CONTENT_TYPE, ev)
        self.assertIs(ev.get("durable"), True, ev)
        self.assertIs(ev.get("settled"), False, "events are sent unsettled: %r" % ev)

    def step(self, op, cid, value, docker_pred, docker_what, state):
        feature = "Container:%s" % cid
        since = self.cloud.mark()
        r = self.ccmd(op, cid, value, cid_type=self.cid_type)
        self.assertAnswer(r, 204, op, op, feature)
        self.assertNotIn("value", r.env, "%s: a 204 has no value: %r" % (op, r))
        info = self.wait_docker(cid, docker_pred, docker_what)
        self.amqp_event(lambda e: event_state(e, cid) == state, since, "%s after %s" % (state, op))
        return info

    def test_lifecycle(self):
        factory = "ContainerFactory"
        name = "e2e-amqp-%s-%s" % (self.amqp_mode, uuid.uuid4().hex[:6])
        value = {"imageRef": ENV.image, "start": True, "name": name,
                 "config": {"cmd": CMD_TRAP_TERM, "restartPolicy": {"type": "no"}}}
        since = self.cloud.mark()
        r = self.cmd("createWithConfig", factory, value, cid_type=self.cid_type)
        if r.status == 200 and isinstance(r.value, str):
            self.track(r.value)
        self.assertAnswer(r, 200, "createWithConfig", "createWithConfig", factory)
        self.assertEqual(r.sent.cid_type, self.cid_type)
        cid = r.value
        self.assertRegex(cid, UUID_RE)
        feature = "Container:%s" % cid

        info = self.wait_docker(cid, lambda i: i["State"]["Running"], "running")
        self.assertEqual(info["Config"]["Labels"].get("berth.id"), cid)
        self.assertEqual(info["Name"], "/" + name)
        self.assertEqual(info["Config"]["Cmd"], CMD_TRAP_TERM)
        ev = self.amqp_event(lambda e: e.get("path") == feature_path(cid), since,
                             "whole feature of the new container")
        self.assertEqual(ev.json["topic"],
                         "%s/things/twin/commands/modify" % self.cloud.ditto_prefix)
        self.assertEqual(ev.json["value"]["properties"]["status"]["name"], name)
        self.amqp_event(lambda e: event_state(e, cid) == "RUNNING", since, "RUNNING")

        info = self.step("stop", cid, NOVALUE, lambda i: not i["State"]["Running"], "stopped",
                         "STOPPED")
        self.assertEqual(info["State"]["ExitCode"], 3, "SIGTERM ended it (trap exit 3)")
        started = info["State"]["StartedAt"]
        info = self.step("start", cid, NOVALUE, lambda i: i["State"]["Running"], "running",
                         "RUNNING")
        self.assertNotEqual(info["State"]["StartedAt"], started)
        info = self.step("stopWithOptions", cid, {"signal": "SIGTERM", "timeout": 5},
                         lambda i: not i["State"]["Running"], "stopped", "STOPPED")
        self.assertEqual(info["State"]["ExitCode"], 3)

        native = info["Id"]
        since = self.cloud.mark()
        r = self.ccmd("remove", cid, True, cid_type=self.cid_type)
        self.assertAnswer(r, 204, "remove", "remove", feature)
        self.assertIsNone(self.docker.inspect(native), "the container is still in Docker")
        self.assertIsNone(self.docker.by_berth_id(cid))
        self.amqp_event(lambda e: is_delete(e, cid), since, "delete of the feature")
        self.assertAlive()


# ---- RabbitMQ ------------------------------------------------------------------------------------

class Rabbit:
    """The RabbitMQ peer (lib/rabbitmq.sh): used when it runs, else started here and stopped
    by stop()."""

    def __init__(self):
        self.started = False
        self.env = {}

    @staticmethod
    def missing():
        if not os.access(RABBITMQ_SERVER, os.X_OK):
            return "rabbitmq-server is not installed (%s)" % RABBITMQ_SERVER
        return None

    def _script(self, action, timeout=180):
        env = dict(os.environ, BERTH_TEST_RUN=ENV.run)
        p = subprocess.run(["sh", os.path.join(LIB_DIR, "rabbitmq.sh"), action], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace")

    def start(self):
        rc, _ = self._script("status")
        if rc != 0:
            log("starting RabbitMQ (lib/rabbitmq.sh start)")
            t0 = time.monotonic()
            rc, out = self._script("start")
            if rc != 0:
                raise RuntimeError("lib/rabbitmq.sh start failed:\n%s" % out)
            self.started = True
            log("RabbitMQ up after %.1f s" % (time.monotonic() - t0))
        else:
            self._script("start")  # idempotent: writes the env file
        self.env = _read_env_file(os.path.join(ENV.run, "rabbitmq.env"))
        self.port = int(self.env.get("BERTH_TEST_RABBITMQ_PORT") or 5674)
        self.tls_port = int(self.env.get("BERTH_TEST_RABBITMQ_TLS_PORT") or 5675)
        self.user = self.env.get("BERTH_TEST_RABBITMQ_USER") or "guest"
        self.password = self.env.get("BERTH_TEST_RABBITMQ_PASSWORD") or "guest"
        self.certs = self.env.get("BERTH_TEST_RABBITMQ_CERTS") or \
            os.path.join(ENV.run, "rabbitmq", "certs")
        return self

    def stop(self):
        if self.started:
            rc, out = self._script("stop")
            if rc != 0:
                log("lib/rabbitmq.sh stop: %s" % out)
            self.started = False

    def client_argv(self, receive):
        argv = [PYTHON, RABBIT_CLIENT, "session", "--url", "amqp://127.0.0.1:%d" % self.port,
                "--user", self.user, "--password", self.password]
        for a in receive:
            argv += ["--receive", a]
        return argv
