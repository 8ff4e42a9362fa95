#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Packages: python3-qpid-proton (Debian 12: 0.37), openssl (certificates); run with
# /usr/bin/python3 (a pyenv python3 on PATH has no 'proton').
"""A Hono-AMQP-adapter-like AMQP 1.0 peer for the transport tests, driven over stdin.

It listens on --url and behaves like Hono's AMQP protocol adapter towards a device: it
authenticates (SASL PLAIN against --user, EXTERNAL from a TLS client certificate, or
ANONYMOUS), offers ANONYMOUS-RELAY unless --no-relay, sends commands on the device's
receiver link (source "command..."), and records everything the device sends.

stdin: one JSON object per line:
  {"op": "send", "id": "c1", "subject": "start", "reply_to": "...", "correlation_id": "...",
   "cid_type": "string|uuid|ulong|binary|none", "body": "...",
   "body_kind": "data|string|map|none|empty|garbage", "repeat": N (body N times),
   "body_hex": "..." (instead of "body": these bytes),
   "content_type": "...", "device_id": "..."}
  {"op": "outcome", "value": "accept|reject|release|modify"}  how to settle device messages
  {"op": "hold", "value": true}      do not settle device messages at all
                                     (both answer {"event": "ack", "op": ...})
  {"op": "stats"}                    report credit / outstanding counters
  {"op": "quit"}                     (EOF on stdin does the same)
stdout: one JSON object per line, "event" says what happened (listening, connection-attempt,
connection, command-link, command-link-closed, sender-link, sender-link-refused,
command-sent, command-outcome, message, stats, disconnected).
"""
import argparse
import json
import os
import socket
import sys
import threading
import uuid

from proton import Condition, Message, SSLDomain, _io, symbol, ulong
from proton.handlers import MessagingHandler
from proton.reactor import ApplicationEvent, Container, EventInjector


def _listen(host, port):
    # proton's IO.listen() makes IPv4 sockets only; this also listens on IPv6 literals
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
    _io.IO._setupsocket(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
    s.bind((host, port))
    s.listen(10)
    return s


_io.IO.listen = staticmethod(_listen)


def out(**kw):
    print(json.dumps(kw, default=repr), flush=True)


def typed_cid(value, kind):
    if kind == 'none' or value is None:
        return None
    if kind == 'uuid':
        return uuid.UUID(value)
    if kind == 'ulong':
        return ulong(int(value))
    if kind == 'binary':
        return bytes.fromhex(value)
    return value


def symbols(caps):
    if caps is None:
        return []
    return [str(caps)] if isinstance(caps, str) else [str(c) for c in caps]


def describe_cid(cid):
    if cid is None:
        return None, 'none'
    if isinstance(cid, uuid.UUID):
        return str(cid), 'uuid'
    if isinstance(cid, (bytes, memoryview)):
        return bytes(cid).hex(), 'binary'
    if isinstance(cid, int):            # the only integer message-id type is ulong
        return str(int(cid)), 'ulong'
    return str(cid), 'string'


class Peer(MessagingHandler):
    def __init__(self, a):
        super().__init__(auto_accept=False, auto_settle=True, prefetch=0)
        self.a = a
        self.queue = []            # commands waiting for credit
        self.outcome = 'accept'
        self.hold = False
        self.held = []
        self.unsettled = 0
        self.max_outstanding = 0
        self.max_credit = 0
        self.sent = 0
        self.cmd_links = []

    # ---- set-up ----
    def on_start(self, event):
        self.container = event.container
        self.injector = EventInjector()
        event.container.selectable(self.injector)
        # Url() cannot parse IPv6 literals: split amqp[s]://host:port (or [v6]:port) here
        scheme, rest = self.a.url.split('://', 1)
        host, port = rest.rsplit(':', 1)
        acceptor = event.container.acceptor(host.strip('[]'), int(port))
        if scheme == 'amqps':
            acceptor.set_ssl_domain(event.container.ssl.server)
        threading.Thread(target=self.read_stdin, daemon=True).start()
        out(event='listening', url=self.a.url, pid=os.getpid())
        if self.a.ready_file:
            with open(self.a.ready_file, 'w') as f:
                f.write('ready\n')

    def read_stdin(self):
        for line in sys.stdin:
            line = line.strip()
            if line:
                self.injector.trigger(ApplicationEvent('control', subject=line))
        self.injector.trigger(ApplicationEvent('control', subject='{"op": "quit"}'))

    def on_connection_bound(self, event):
        out(event='connection-attempt')
        if self.a.idle_timeout:
            event.transport.idle_timeout = self.a.idle_timeout
        if self.a.user or self.a.require_client_cert:
            event.transport.require_auth(True)      # like Hono: no SASL, no connection

    def on_connection_opening(self, event):
        if not self.a.no_relay:
            event.connection.offered_capabilities = symbol('ANONYMOUS-RELAY')
        out(event='connection', container=event.connection.remote_container,
            user=event.transport.user, hostname=event.connection.remote_hostname,
            idle_timeout=event.transport.remote_idle_timeout,
            desired_capabilities=symbols(event.connection.remote_desired_capabilities))

    def on_link_remote_open(self, event):
        # runs before MessagingHandler's own handler, which would open the link again
        l = event.link
        if not l.state & l.LOCAL_UNINIT:
            return
        if l.is_sender:
            src = l.remote_source.address
            if src != 'command' and not (src or '').startswith('command/'):
                self.refuse(l, 'amqp:not-found', 'no such source: %s' % src)
                out(event='command-link-refused', source=src)
        elif l.remote_target.address is None and self.a.no_relay:
            self.refuse(l, 'amqp:not-implemented', 'anonymous relay not offered')
            out(event='sender-link-refused')

    @staticmethod
    def refuse(l, name, description):
        """The AMQP way: attach with a null terminus, then detach with an error."""
        if l.is_sender:
            l.source.address = None
        else:
            l.target.address = None
        l.open()
        l.condition = Condition(name, description)
        l.close()

    def on_link_opening(self, event):
        l = event.link
        if l.is_sender:                       # the device's command receiver
            src = l.remote_source.address
            l.source.address = src
            out(event='command-link', source=src, snd_settle_mode=l.remote_snd_settle_mode,
                rcv_settle_mode=l.remote_rcv_settle_mode,
                max_message_size=l.remote_max_message_size)
            self.cmd_links.append(l)
        else:                                 # a device sender: anonymous or per address
            target = l.remote_target.address
            l.target.address = target
            l.flow(self.a.device_credit)
            out(event='sender-link', target=target, snd_settle_mode=l.remote_snd_settle_mode)

    def on_link_closing(self, event):
        if event.link.is_sender:
            out(event='command-link-closed', source=event.link.source.address)
            if event.link in self.cmd_links:
                self.cmd_links.remove(event.link)

    def on_disconnected(self, event):
        out(event='disconnected')
        self.cmd_links = [l for l in self.cmd_links if l.connection is not event.connection]

    # ---- commands to the device ----
    def on_control(self, event):
        try:
            req = json.loads(event.subject)
        except ValueError:
            out(event='error', error='bad control line')
            return
        op = req.get('op')
        if op == 'send':
            self.queue.append(req)
            self.flush()
        elif op == 'outcome':
            self.outcome = req['value']
            out(event='ack', op=op)
        elif op == 'hold':
            self.hold = bool(req['value'])
            out(event='ack', op=op)
        elif op == 'stats':
            out(event='stats', sent=self.sent, unsettled=self.unsettled,
                max_outstanding=self.max_outstanding, max_credit=self.max_credit,
                queued=len(self.queue), command_links=len(self.cmd_links))
        elif op == 'quit':
            os._exit(0)

    def on_sendable(self, event):
        self.flush()

    def flush(self):
        for l in self.cmd_links:
            self.max_credit = max(self.max_credit, l.credit)
            while self.queue and l.credit > 0 and l.state & l.LOCAL_ACTIVE:
                self.send(l, self.queue.pop(0))
                self.max_credit = max(self.max_credit, l.credit)

    def send(self, l, req):
        tag = req.get('id', str(self.sent))
        kind = req.get('body_kind', 'data')
        if kind == 'garbage':
            d = l.delivery(tag)
            l.stream(b'this is not an AMQP 1.0 message')
            l.advance()
        else:
            if req.get('body_hex') is not None:     # bytes that are not UTF-8
                raw = bytes.fromhex(req['body_hex']) * int(req.get('repeat', 1))
                text = raw.decode(errors='replace')
            else:
                text = (req.get('body') or '') * int(req.get('repeat', 1))
                raw = text.encode()
            body = {'data': raw, 'string': text, 'map': {'envelope': text},
                    'none': None, 'empty': b''}[kind]
            m = Message(subject=req.get('subject'), reply_to=req.get('reply_to'),
                        correlation_id=typed_cid(req.get('correlation_id'), req.get('cid_type', 'string')),
                        content_type=req.get('content_type', 'application/json'),
                        body=body, inferred=kind in ('data', 'empty'))
            if req.get('device_id'):
                m.properties = {'device_id': req['device_id']}
            d = l.send(m, tag=tag)
        self.sent += 1
        self.unsettled += 1
        self.max_outstanding = max(self.max_outstanding, self.unsettled)
        out(event='command-sent', id=tag, credit_left=l.credit)

    def outcome_of(self, event, outcome):
        d = event.delivery
        self.unsettled -= 1
        cond = d.remote.condition
        out(event='command-outcome', id=d.tag, outcome=outcome,
            condition=cond.name if cond else None,
            description=cond.description if cond else None)

    def on_accepted(self, event):
        self.outcome_of(event, 'accepted')

    def on_rejected(self, event):
        self.outcome_of(event, 'rejected')

    def on_released(self, event):
        self.outcome_of(event, 'released' if event.delivery.remote_state == event.delivery.RELEASED
                        else 'modified')

    # ---- what the device sends ----
    def on_message(self, event):
        m, d, l = event.message, event.delivery, event.link
        body = m.body
        if isinstance(body, (bytes, memoryview)):
            body = bytes(body).decode(errors='replace')
        cid, cid_type = describe_cid(m.correlation_id)
        props = dict(m.properties or {})
        out(event='message', to=m.address, link_target=l.target.address, correlation_id=cid,
            cid_type=cid_type, properties={k: v for k, v in props.items()},
            property_types={k: type(v).__name__ for k, v in props.items()},
            content_type=m.content_type, body=body, settled=d.settled, durable=m.durable)
        if d.settled:
            return
        if self.hold:
            self.held.append(d)
        elif self.outcome == 'accept':
            self.accept(d)
        elif self.outcome == 'reject':
            d.local.condition = Condition('hono:bad-request', 'test peer rejects this')
            self.reject(d)
        elif self.outcome == 'release':
            self.release(d, delivered=False)
        else:
            self.release(d, delivered=True)   # modified


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--tls-cert')
    ap.add_argument('--tls-key')
    ap.add_argument('--tls-ca')
    ap.add_argument('--require-client-cert', action='store_true')
    ap.add_argument('--user', action='append', default=[], help='USER:PASSWORD for SASL PLAIN')
    ap.add_argument('--allow-anonymous', action='store_true')
    ap.add_argument('--no-relay', action='store_true', help='do not offer ANONYMOUS-RELAY')
    ap.add_argument('--device-credit', type=int, default=100)
    ap.add_argument('--idle-timeout', type=float, help='seconds; the peer expects heartbeats')
    ap.add_argument('--ready-file')
    a = ap.parse_args()
    if a.user or a.require_client_cert:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import sasl_server
        sasl_server.install(dict(u.split(':', 1) for u in a.user), a.allow_anonymous)
    c = Container(Peer(a))
    if a.tls_cert:
        c.ssl.server.set_credentials(a.tls_cert, a.tls_key, None)
        if a.tls_ca:
            c.ssl.server.set_trusted_ca_db(a.tls_ca)
        if a.require_client_cert:
            c.ssl.server.set_peer_authentication(SSLDomain.VERIFY_PEER, a.tls_ca)
    try:
        c.run()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
