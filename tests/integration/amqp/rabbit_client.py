#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Packages: python3-qpid-proton; run with /usr/bin/python3.
"""A plain AMQP 1.0 client for the RabbitMQ test: plays the application side of Hono.

  rabbit_client.py send --url U --address A --message JSON [--message JSON ...]
      sends each message (keys as hono_peer.py's "send" op) to A; prints
      {"event": "outcome", "id": ..., "outcome": ...}; exits 0 when all were accepted.
  rabbit_client.py receive --url U --address A --count N [--timeout S]
      prints {"event": "message", ...} for N messages from A (accepting them); exit 0.
  rabbit_client.py session --url U --receive A [--receive B ...]
      a long-running client driven over stdin (for the e2e suite): receives from every
      --receive address (accepting; printing {"event": "message", "source": A, ...}),
      prints {"event": "ready"} once those links are attached, and sends what stdin asks:
        {"op": "send", "address": A, "id": ..., keys as hono_peer.py's "send" op}
          -> {"event": "outcome", "id": ..., "outcome": ...}
        {"op": "quit"} (EOF on stdin does the same)
"""
import argparse
import json
import os
import sys
import threading

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import ApplicationEvent, Container, EventInjector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hono_peer import describe_cid, out, typed_cid  # noqa: E402


def make_message(req):
    m = Message(subject=req.get('subject'), reply_to=req.get('reply_to'),
                correlation_id=typed_cid(req.get('correlation_id'), req.get('cid_type', 'string')),
                content_type=req.get('content_type', 'application/json'),
                body=req.get('body', '').encode(), inferred=True)
    if req.get('device_id'):
        m.properties = {'device_id': req['device_id']}
    return m


def print_message(event, **extra):
    m = event.message
    body = m.body
    if isinstance(body, (bytes, memoryview)):
        body = bytes(body).decode(errors='replace')
    cid, cid_type = describe_cid(m.correlation_id)
    props = dict(m.properties or {})
    out(event='message', to=m.address, correlation_id=cid, cid_type=cid_type,
        properties=props, property_types={k: type(v).__name__ for k, v in props.items()},
        content_type=m.content_type, body=body, **extra)


class Client(MessagingHandler):
    def __init__(self, a):
        super().__init__(auto_accept=True)
        self.a, self.todo, self.done, self.ok = a, [json.loads(m) for m in a.message], 0, True

    def on_start(self, event):
        url = self.a.url
        self.conn = event.container.connect(url, user=self.a.user, password=self.a.password,
                                            allowed_mechs='PLAIN', allow_insecure_mechs=True)
        if self.a.mode == 'send':
            event.container.create_sender(self.conn, self.a.address)
        else:
            event.container.create_receiver(self.conn, self.a.address)
        self.timer = event.container.schedule(self.a.timeout, self)

    def on_timer_task(self, event):
        out(event='timeout', done=self.done)
        self.ok = False
        self.conn.close()

    def finish(self):
        self.timer.cancel()
        self.conn.close()

    def on_sendable(self, event):
        while self.todo and event.sender.credit:
            req = self.todo.pop(0)
            event.sender.send(make_message(req), tag=req.get('id'))

    def outcome(self, event, what):
        out(event='outcome', id=event.delivery.tag, outcome=what)
        self.ok = self.ok and what == 'accepted'
        self.done += 1
        if self.done == len(self.a.message):
            self.finish()

    def on_accepted(self, event):
        self.outcome(event, 'accepted')

    def on_rejected(self, event):
        self.outcome(event, 'rejected')

    def on_released(self, event):
        self.outcome(event, 'released')

    def on_message(self, event):
        print_message(event)
        self.done += 1
        if self.done == self.a.count:
            self.finish()

    def on_link_error(self, event):
        out(event='error', where='link', condition=str(event.link.remote_condition))

    def on_session_error(self, event):
        out(event='error', where='session', condition=str(event.session.remote_condition))

    def on_transport_error(self, event):
        out(event='error', where='transport', condition=str(event.transport.condition))
        self.ok = False


class Session(MessagingHandler):
    """session mode: receivers on --receive, sends on request from stdin."""

    def __init__(self, a):
        super().__init__(auto_accept=True)
        self.a = a
        self.waiting = set(a.receive)   # receiver links not attached yet
        self.senders = {}               # address -> sender link
        self.queues = {}                # address -> requests waiting for credit

    def on_start(self, event):
        self.container = event.container
        self.injector = EventInjector()
        event.container.selectable(self.injector)
        self.conn = event.container.connect(self.a.url, user=self.a.user,
                                            password=self.a.password, allowed_mechs='PLAIN',
                                            allow_insecure_mechs=True, reconnect=False)
        for address in self.a.receive:
            event.container.create_receiver(self.conn, address)
        threading.Thread(target=self.read_stdin, daemon=True).start()
        if not self.waiting:
            out(event='ready')

    def read_stdin(self):
        for line in sys.stdin:
            if line.strip():
                self.injector.trigger(ApplicationEvent('control', subject=line.strip()))
        self.injector.trigger(ApplicationEvent('control', subject='{"op": "quit"}'))

    def on_link_opened(self, event):
        l = event.link
        if l.is_receiver and l.source.address in self.waiting:
            self.waiting.discard(l.source.address)
            if not self.waiting:
                out(event='ready')

    def on_control(self, event):
        try:
            req = json.loads(event.subject)
        except ValueError:
            out(event='error', where='control', condition='bad control line')
            return
        if req.get('op') == 'send':
            address = req['address']
            self.queues.setdefault(address, []).append(req)
            if address not in self.senders:
                self.senders[address] = self.container.create_sender(self.conn, address)
            self.flush(self.senders[address])
        elif req.get('op') == 'quit':
            sys.stdout.flush()
            os._exit(0)

    def flush(self, sender):
        q = self.queues.get(sender.target.address) or []
        while q and sender.credit > 0:
            req = q.pop(0)
            sender.send(make_message(req), tag=req.get('id'))
            out(event='sent', id=req.get('id'), address=sender.target.address)

    def on_sendable(self, event):
        self.flush(event.sender)

    def outcome(self, event, what):
        out(event='outcome', id=event.delivery.tag, outcome=what)

    def on_accepted(self, event):
        self.outcome(event, 'accepted')

    def on_rejected(self, event):
        self.outcome(event, 'rejected')

    def on_released(self, event):
        self.outcome(event, 'released')

    def on_message(self, event):
        print_message(event, source=event.link.source.address)

    def on_link_error(self, event):
        out(event='error', where='link', condition=str(event.link.remote_condition))

    def on_session_error(self, event):
        out(event='error', where='session', condition=str(event.session.remote_condition))

    def on_transport_error(self, event):
        out(event='error', where='transport', condition=str(event.transport.condition))

    def on_disconnected(self, event):
        out(event='disconnected')


ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['send', 'receive', 'session'])
ap.add_argument('--url', required=True)
ap.add_argument('--address', help='send / receive: the address')
ap.add_argument('--receive', action='append', default=[], help='session: receive from it')
ap.add_argument('--user', default='guest')
ap.add_argument('--password', default='guest')
ap.add_argument('--message', action='append', default=[])
ap.add_argument('--count', type=int, default=1)
ap.add_argument('--timeout', type=float, default=10)
args = ap.parse_args()
if args.mode == 'session':
    Container(Session(args)).run()
    sys.exit(0)
if not args.address:
    ap.error('%s needs --address' % args.mode)
client = Client(args)
Container(client).run()
out(event='done', ok=client.ok)
sys.exit(0 if client.ok else 1)
