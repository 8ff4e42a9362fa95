/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the AMQP 1.0 transport (transports/amqp) against a real AMQP 1.0
 * peer that follows Hono's AMQP adapter conventions (tests/integration/amqp/hono_peer.py,
 * python3-qpid-proton), started and stopped here on 127.0.0.1:$BERTH_TEST_AMQP_PORT
 * (default 15690).
 *
 * usage: test_amqp_transport PATH/TO/amqp.so
 * Prints "ok - ..." / "not ok - ..." per case; exits 0 only when every case passed.
 * CI packages (Debian): python3-qpid-proton openssl libqpid-proton11-dev libjson-c-dev
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amqp/testlib.h"

#define T_WAIT 8000 /* ms: generous, valgrind runs these too */

static const char *so_path;
static char certs[1024];
static char pwfile[1024];
static int port;

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ---- the peer ---- */

/* Starts hono_peer.py on `host` with `extra` arguments (NULL-terminated). */
static int peer_start_on(struct proc *p, const char *host, bool tls, const char *const *extra)
{
	char script[PATH_MAX], url[64], cert[PATH_MAX], key[PATH_MAX];
	char *argv[40];
	int n = 0;
	json_object *o;

	snprintf(script, sizeof(script), "%s/tests/integration/amqp/hono_peer.py", test_srcdir());
	snprintf(url, sizeof(url), "%s://%s:%d", tls ? "amqps" : "amqp", host, port);
	snprintf(cert, sizeof(cert), "%s/server.crt", certs);
	snprintf(key, sizeof(key), "%s/server.key", certs);
	argv[n++] = "/usr/bin/python3";
	argv[n++] = script;
	argv[n++] = "--url";
	argv[n++] = url;
	if (tls) {
		argv[n++] = "--tls-cert";
		argv[n++] = cert;
		argv[n++] = "--tls-key";
		argv[n++] = key;
	}
	for (; extra && *extra && n < 38; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	if (proc_start(p, "peer", argv) < 0)
		return -1;
	o = proc_wait(p, 15000, "listening", NULL);
	if (!o) {
		proc_stop(p, SIGKILL, 2000);
		return -1;
	}
	json_object_put(o);
	return 0;
}

static int peer_start(struct proc *p, bool tls, const char *const *extra)
{
	return peer_start_on(p, "127.0.0.1", tls, extra);
}

/* Asks the peer to send a command. */
static void peer_send(struct proc *p, const char *id, const char *subject, const char *reply_to,
		      const char *cid, const char *cid_type, const char *body_kind,
		      const char *body, const char *device_id)
{
	char extra[512] = "";

	if (device_id)
		snprintf(extra, sizeof(extra), ", \"device_id\": \"%s\"", device_id);
	proc_send(p, "{\"op\": \"send\", \"id\": \"%s\", \"subject\": \"%s\", "
		  "\"reply_to\": %s%s%s, \"correlation_id\": %s%s%s, \"cid_type\": \"%s\", "
		  "\"body_kind\": \"%s\", \"body\": \"%s\", "
		  "\"content_type\": \"application/vnd.eclipse.ditto+json\"%s}",
		  id, subject, reply_to ? "\"" : "", reply_to ? reply_to : "null",
		  reply_to ? "\"" : "", cid ? "\"" : "", cid ? cid : "null", cid ? "\"" : "",
		  cid_type, body_kind, body, extra);
}

/* Sets how the peer settles what the device sends, and waits until it took effect. */
static bool peer_mode(struct proc *p, const char *op, const char *value)
{
	json_object *o;

	proc_send(p, "{\"op\": \"%s\", \"value\": %s}", op, value);
	o = proc_wait(p, T_WAIT, "ack", "op", op, NULL);
	json_object_put(o);
	return o != NULL;
}

static const char *BODY = "{\\\"topic\\\": \\\"org.acme/dev1/things/live/messages/start\\\"}";
static const char *BODY_RAW = "{\"topic\": \"org.acme/dev1/things/live/messages/start\"}";

static char *settings(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *settings(const char *fmt, ...)
{
	static char buf[4096];
	char tail[3000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "reconnect_min = 0.2; reconnect_max = 1.0; %s", tail);
	return buf;
}

/* ---- settings validation (no peer) ---- */

static void case_settings(void)
{
	static const struct {
		const char *text, *key; /* key: expected in the error; NULL: must open */
	} cases[] = {
		{ "url = \"http://localhost\";", "url" },
		{ "url = \"amqp://localhost:99999\";", "url" },
		{ "url = \"amqp://user:pw@localhost\";", "url" },
		{ "url = \"amqp://[::1\";", "url" },
		{ "url = \"amqp://local host\";", "url" },
		{ "url = \"amqp://127.0.0.1:5672\"; ca_file = \"/etc/hostname\";", "ca_file" },
		{ "url = \"amqps://localhost\"; ca_file = \"/nonexistent/ca.crt\";", "ca_file" },
		{ "url = \"amqp://localhost\"; sasl_mechanisms = \"PLAIN\";", "sasl_mechanisms" },
		{ "url = \"amqp://localhost\"; sasl_mechanisms = \"GSSAPI\";", "sasl_mechanisms" },
		{ "url = \"amqp://localhost\"; username = \"u\"; password_file = \"/nonexistent\";",
		  "password_file" },
		{ "url = \"amqp://localhost\"; username = \"u\"; password = \"p\"; "
		  "password_file = \"/etc/hostname\";", "password_file" },
		{ "url = \"amqp://localhost\"; password = \"p\";", "password" },
		{ "url = \"amqp://localhost\"; credit = 0;", "credit" },
		{ "url = \"amqp://localhost\"; idle_timeout = -1;", "idle_timeout" },
		{ "url = \"amqp://localhost\"; reconnect_min = 5; reconnect_max = 1;",
		  "reconnect_max" },
		{ "url = \"amqp://localhost\"; command_source = \"\";", "command_source" },
		{ "url = \"amqps://localhost\"; sasl_mechanisms = \"EXTERNAL\";",
		  "sasl_mechanisms" },
		{ "url = \"amqp://[::1]\";", NULL },
		{ "url = \"amqps://example.com:443/\";", NULL },
		{ "url = \"amqp://127.0.0.1\"; username = \"a@t\"; password = \"p\";", NULL },
		{ "url = \"amqps://localhost\"; sasl_mechanisms = \"none\";", NULL },
	};
	char why[1024] = "";
	bool ok = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mod m;
		berth_error err = { 0 };
		int rc = mod_open(&m, so_path, cases[i].text, &err);

		if (rc == 0)
			mod_close(&m);
		if (cases[i].key && rc == 0) {
			snprintf(why, sizeof(why), "accepted: %s", cases[i].text);
			ok = false;
			break;
		}
		if (!cases[i].key && rc != 0) {
			snprintf(why, sizeof(why), "refused: %s: %s", cases[i].text, err.message);
			ok = false;
			break;
		}
		if (cases[i].key && !has(err.message, cases[i].key)) {
			snprintf(why, sizeof(why), "error for %s does not name %s: %s",
				 cases[i].text, cases[i].key, err.message);
			ok = false;
			break;
		}
	}
	test_report(ok, "settings are validated; errors name the key", why);
}

/* ---- one session against a plain peer with PLAIN: most of the behaviour ---- */

struct session {
	struct proc peer;
	struct mod mod;
	bool up;
};

static bool session_up(struct session *s, bool tls, const char *const *peer_args,
		       const char *mod_settings, char *why, size_t why_len)
{
	berth_error err = { 0 };
	struct testhost_record *r;

	memset(s, 0, sizeof(*s));
	if (peer_start(&s->peer, tls, peer_args) < 0) {
		snprintf(why, why_len, "the peer did not start");
		return false;
	}
	if (mod_open(&s->mod, so_path, mod_settings, &err) < 0 || mod_start(&s->mod, &err) < 0) {
		snprintf(why, why_len, "open/start: %s", err.message);
		proc_stop(&s->peer, SIGTERM, 3000);
		return false;
	}
	r = mod_wait(&s->mod, TESTHOST_ONLINE, T_WAIT);
	if (!r) {
		r = mod_wait(&s->mod, TESTHOST_OFFLINE, 0);
		snprintf(why, why_len, "not online%s%s", r ? ": " : "", r ? r->text : "");
		testhost_record_free(r);
		mod_close(&s->mod);
		proc_stop(&s->peer, SIGTERM, 3000);
		return false;
	}
	testhost_record_free(r);
	s->up = true;
	return true;
}

static void session_down(struct session *s)
{
	if (s->mod.th)
		mod_close(&s->mod);
	proc_stop(&s->peer, SIGTERM, 3000);
}

/* The peer sends a command; the core gets it. Returns the record or NULL. */
static struct testhost_record *command_roundtrip(struct session *s, const char *id,
						  const char *cid, const char *cid_type,
						  const char *reply_to, const char *body_kind)
{
	peer_send(&s->peer, id, "start", reply_to, cid, cid_type, body_kind, BODY, "dev1");
	return mod_wait(&s->mod, TESTHOST_INBOUND, T_WAIT);
}

static void case_plain(void)
{
	static const char *const peer_args[] = { "--user", "dev1@t1:secret", NULL };
	struct session s;
	struct testhost_record *r = NULL;
	json_object *o = NULL, *o2 = NULL;
	berth_error err = { 0 };
	char why[1024] = "";
	bool ok;

	/* connect, with password_file (trailing newline) */
	ok = session_up(&s, false, peer_args,
			settings("url = \"amqp://127.0.0.1:%d\"; username = \"dev1@t1\"; "
				 "password_file = \"%s\";", port, pwfile),
			why, sizeof(why));
	if (ok) {
		o = proc_wait(&s.peer, T_WAIT, "connection", NULL);
		o2 = proc_wait(&s.peer, T_WAIT, "command-link", NULL);
		ok = o && o2 && same(jstr(o, "user"), "dev1@t1") &&
		     same(jstr(o, "container"), "berth-org.acme:dev1") &&
		     has(json_object_to_json_string(o), "ANONYMOUS-RELAY") &&
		     same(jstr(o2, "source"), "command") &&
		     same(jstr(o2, "snd_settle_mode"), "0") &&
		     same(jstr(o2, "rcv_settle_mode"), "0");
		if (!ok)
			snprintf(why, sizeof(why), "peer saw %s / %s",
				 o ? json_object_to_json_string(o) : "no connection",
				 o2 ? json_object_to_json_string(o2) : "no command link");
		json_object_put(o);
		json_object_put(o2);
		o = o2 = NULL;
	}
	test_report(ok, "plain+PLAIN (password_file): online; link source command, "
		    "unsettled/first; desired ANONYMOUS-RELAY", why);
	if (!s.up) {
		test_report(false, "plain: remaining cases", "no session");
		return;
	}

	/* a command with every field, accepted */
	why[0] = '\0';
	r = command_roundtrip(&s, "c1", "corr-1", "string", "command_response/t1/dev1/r1", "data");
	CHECK(r, "no command reached the core");
	CHECK(same(r->payload, BODY_RAW), "payload %s", r->payload);
	CHECK(same(r->subject, "start"), "subject %s", r->subject);
	CHECK(same(r->correlation_id, "corr-1"), "correlation-id %s", r->correlation_id);
	CHECK(same(r->device_id, "dev1"), "device_id %s", r->device_id);
	CHECK(same(r->content_type, "application/vnd.eclipse.ditto+json"), "content-type %s",
	      r->content_type);
	CHECK(r->reply_to && has(r->reply_to, "command_response/t1/dev1/r1"), "reply_to %s",
	      r->reply_to);
	o = proc_wait(&s.peer, T_WAIT, "command-outcome", "id", "c1", NULL);
	CHECK(o && same(jstr(o, "outcome"), "accepted"), "peer outcome %s",
	      o ? json_object_to_json_string(o) : "none");
	json_object_put(o);
	o = NULL;
	test_report(true, "command delivered with payload, subject, correlation-id, device_id, "
		    "content-type, reply-to; settled accepted", NULL);

	/* its reply */
	CHECK(mod_reply(&s.mod, r, 200, "{\"status\":200}", &err) == 0, "send_reply: %s",
	      err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "correlation_id", "corr-1", NULL);
	CHECK(o, "no reply at the peer");
	CHECK(same(jstr(o, "to"), "command_response/t1/dev1/r1"), "to %s", jstr(o, "to"));
	CHECK(same(jstr(o, "cid_type"), "string"), "cid type %s", jstr(o, "cid_type"));
	CHECK(same(jstr2(o, "properties", "status"), "200") &&
	      same(jstr2(o, "property_types", "status"), "int32"), "status %s (%s)",
	      jstr2(o, "properties", "status"), jstr2(o, "property_types", "status"));
	CHECK(same(jstr(o, "content_type"), "application/json"), "content type %s",
	      jstr(o, "content_type"));
	CHECK(same(jstr(o, "body"), "{\"status\":200}"), "body %s", jstr(o, "body"));
	CHECK(!jstr(o, "link_target") && same(jstr(o, "settled"), "false"),
	      "sent on link %s, settled %s", jstr(o, "link_target"), jstr(o, "settled"));
	test_report(true, "reply: unsettled on the anonymous link, to=reply-to, same string "
		    "correlation-id, int status, Data body", NULL);
	json_object_put(o);
	o = NULL;
	testhost_record_free(r);
	r = NULL;

	/* typed correlation-ids */
	{
		static const struct {
			const char *cid, *type;
		} ids[] = {
			{ "0f8fad5b-d9cb-469f-a165-70867728950e", "uuid" },
			{ "12345678901234", "ulong" },
			{ "00ff10abcd", "binary" },
		};

		for (size_t i = 0; i < 3; i++) {
			char id[16];

			snprintf(id, sizeof(id), "t%zu", i);
			r = command_roundtrip(&s, id, ids[i].cid, ids[i].type,
					      "command_response/t1/dev1/typed", "data");
			CHECK(r, "%s: no command", ids[i].type);
			CHECK(same(r->correlation_id, ids[i].cid), "%s: core got %s", ids[i].type,
			      r->correlation_id);
			CHECK(mod_reply(&s.mod, r, 204, "{}", &err) == 0, "send_reply: %s",
			      err.message);
			o = proc_wait(&s.peer, T_WAIT, "message", "correlation_id", ids[i].cid,
				      NULL);
			CHECK(o, "%s: no reply", ids[i].type);
			CHECK(same(jstr(o, "cid_type"), ids[i].type), "%s came back as %s",
			      ids[i].type, jstr(o, "cid_type"));
			json_object_put(o);
			o = NULL;
			testhost_record_free(r);
			r = NULL;
		}
	}
	test_report(true, "uuid, ulong and binary correlation-ids come back with their type", NULL);

	/* AmqpValue string body; one-way command (no reply-to) */
	r = command_roundtrip(&s, "v1", NULL, "none", NULL, "string");
	CHECK(r, "no command");
	CHECK(same(r->payload, BODY_RAW), "payload %s", r->payload);
	CHECK(!r->reply_to && !r->correlation_id, "reply_to %s, correlation-id %s", r->reply_to,
	      r->correlation_id);
	testhost_record_free(r);
	r = NULL;
	test_report(true, "AmqpValue string body; one-way command has no reply_to", NULL);

	/* REJECTED / RELEASED from the core */
	testhost_set_disposition(s.mod.th, BERTH_DISPOSITION_REJECTED);
	r = command_roundtrip(&s, "rj", "corr-rj", "string", "command_response/t1/dev1/rj", "data");
	CHECK(r, "no command");
	testhost_record_free(r);
	r = NULL;
	o = proc_wait(&s.peer, T_WAIT, "command-outcome", "id", "rj", NULL);
	CHECK(o && same(jstr(o, "outcome"), "rejected") &&
	      same(jstr(o, "condition"), "hono:bad-request") && jstr(o, "description"),
	      "peer saw %s", o ? json_object_to_json_string(o) : "nothing");
	json_object_put(o);
	o = NULL;
	test_report(true, "core REJECTED -> peer sees rejected with hono:bad-request", NULL);

	testhost_set_disposition(s.mod.th, BERTH_DISPOSITION_RELEASED);
	r = command_roundtrip(&s, "rl", "corr-rl", "string", "command_response/t1/dev1/rl", "data");
	CHECK(r, "no command");
	testhost_record_free(r);
	r = NULL;
	o = proc_wait(&s.peer, T_WAIT, "command-outcome", "id", "rl", NULL);
	CHECK(o && same(jstr(o, "outcome"), "released"), "peer saw %s",
	      o ? json_object_to_json_string(o) : "nothing");
	json_object_put(o);
	o = NULL;
	testhost_set_disposition(s.mod.th, BERTH_DISPOSITION_ACCEPTED);
	test_report(true, "core RELEASED -> peer sees released", NULL);

	/* undecodable messages never reach the core */
	{
		static const char *const kinds[] = { "empty", "none", "garbage" };

		for (size_t i = 0; i < 3; i++) {
			char id[16];

			snprintf(id, sizeof(id), "bad-%s", kinds[i]);
			peer_send(&s.peer, id, "start", "command_response/t1/dev1/x", "c", "string",
				  kinds[i], "", NULL);
			o = proc_wait(&s.peer, T_WAIT, "command-outcome", "id", id, NULL);
			CHECK(o && same(jstr(o, "outcome"), "rejected") &&
			      same(jstr(o, "condition"), "amqp:decode-error"), "%s: peer saw %s",
			      kinds[i], o ? json_object_to_json_string(o) : "nothing");
			json_object_put(o);
			o = NULL;
		}
		CHECK(testhost_pending(s.mod.th, TESTHOST_INBOUND) == 0,
		      "an undecodable message reached the core");
	}
	test_report(true, "empty body, no body, not AMQP -> rejected amqp:decode-error, core "
		    "not called", NULL);

	/* events */
	CHECK(mod_event(&s.mod, "{\"topic\":\"org.acme/dev1/things/twin/commands/modify\"}",
			&err) == 0, "send_event: %s", err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "to", "event", NULL);
	CHECK(o, "no event at the peer");
	CHECK(same(jstr(o, "content_type"), "application/vnd.eclipse.ditto+json") &&
	      same(jstr(o, "settled"), "false") && same(jstr(o, "durable"), "true") &&
	      !jstr(o, "link_target"),
	      "event %s", json_object_to_json_string(o));
	json_object_put(o);
	o = NULL;
	test_report(true, "event: unsettled, durable, to=event on the anonymous link", NULL);

	/* the peer rejects a reply: dropped, not sent again */
	CHECK(peer_mode(&s.peer, "outcome", "\"reject\""), "peer: no ack");
	CHECK(mod_event(&s.mod, "{\"n\":\"rejected-one\"}", &err) == 0, "send_event: %s",
	      err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"n\":\"rejected-one\"}", NULL);
	CHECK(o, "no event at the peer");
	json_object_put(o);
	o = NULL;
	/* the peer releases one: sent again */
	CHECK(peer_mode(&s.peer, "outcome", "\"release\""), "peer: no ack");
	CHECK(mod_event(&s.mod, "{\"n\":\"released-one\"}", &err) == 0, "send_event: %s",
	      err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"n\":\"released-one\"}", NULL);
	CHECK(o, "no event at the peer");
	json_object_put(o);
	CHECK(peer_mode(&s.peer, "outcome", "\"accept\""), "peer: no ack");
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"n\":\"released-one\"}", NULL);
	CHECK(o, "a released event was not sent again");
	json_object_put(o);
	o = NULL;
	sleep_ms(600);
	CHECK(proc_count(&s.peer, "message", "body", "{\"n\":\"rejected-one\"}", NULL) == 0,
	      "a rejected event was sent again");
	test_report(true, "peer rejects -> dropped; peer releases -> sent again", NULL);

	/* stop(): the command link closes, sending goes on */
	s.mod.drv->stop(s.mod.inst);
	o = proc_wait(&s.peer, T_WAIT, "command-link-closed", NULL);
	CHECK(o, "the peer did not see the command link close");
	json_object_put(o);
	o = NULL;
	CHECK(mod_event(&s.mod, "{\"n\":\"after-stop\"}", &err) == 0, "send_event: %s",
	      err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"n\":\"after-stop\"}", NULL);
	CHECK(o, "no event after stop()");
	json_object_put(o);
	o = NULL;
	test_report(true, "stop(): command link closed, events still sent", NULL);

	/* close() flushes what is queued */
	CHECK(mod_event(&s.mod, "{\"n\":\"at-close\"}", &err) == 0, "send_event: %s", err.message);
	{
		int64_t t0 = now_ms();

		mod_close(&s.mod);
		CHECK(now_ms() - t0 < 4000, "close() took %lld ms", (long long)(now_ms() - t0));
	}
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"n\":\"at-close\"}", NULL);
	CHECK(o, "the event queued right before close() was lost");
	json_object_put(o);
	o = NULL;
	test_report(true, "close(): flushes queued messages, bounded", NULL);
	session_down(&s);
	return;
out:
	test_report(false, "plain session", why);
	json_object_put(o);
	testhost_record_free(r);
	session_down(&s);
}

/* ---- TLS ---- */

static void case_tls_plain(void)
{
	static const char *const peer_args[] = { "--user", "dev1@t1:secret", "--idle-timeout",
						 "1", NULL };
	struct session s;
	struct testhost_record *r = NULL;
	json_object *o = NULL;
	berth_error err = { 0 };
	char why[1024] = "";

	if (!session_up(&s, true, peer_args,
			settings("url = \"amqps://localhost:%d\"; ca_file = \"%s/ca.crt\"; "
				 "username = \"dev1@t1\"; password = \"secret\"; idle_timeout = 2;",
				 port, certs),
			why, sizeof(why)))
		goto out;
	o = proc_wait(&s.peer, T_WAIT, "connection", NULL);
	/* proton announces half of the configured idle timeout */
	CHECK(o && same(jstr(o, "user"), "dev1@t1") && jstr(o, "idle_timeout") &&
	      atof(jstr(o, "idle_timeout")) == 1.0,
	      "peer saw %s", o ? json_object_to_json_string(o) : "no connection");
	json_object_put(o);
	o = NULL;
	r = command_roundtrip(&s, "c1", "tls-1", "string", "command_response/t1/dev1/tls", "data");
	CHECK(r, "no command");
	CHECK(mod_reply(&s.mod, r, 200, "{}", &err) == 0, "send_reply: %s", err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "correlation_id", "tls-1", NULL);
	CHECK(o, "no reply");
	json_object_put(o);
	o = NULL;
	test_report(true, "TLS+PLAIN: verified server, round trip", NULL);

	/* heartbeats: no traffic for 3 s, the peer's idle timeout is 1 s, ours 2 s */
	sleep_ms(3000);
	CHECK(proc_count(&s.peer, "disconnected", NULL) == 0 &&
	      testhost_pending(s.mod.th, TESTHOST_OFFLINE) == 0,
	      "the idle connection was dropped");
	test_report(true, "idle timeout: heartbeats keep an idle connection (3 s, peer 1 s)", NULL);
	testhost_record_free(r);
	session_down(&s);
	return;
out:
	test_report(false, "TLS+PLAIN", why);
	json_object_put(o);
	testhost_record_free(r);
	session_down(&s);
}

static void case_tls_external(void)
{
	char ca[PATH_MAX];
	const char *peer_args[] = { "--require-client-cert", "--tls-ca", ca, NULL };
	struct session s;
	struct testhost_record *r = NULL;
	json_object *o = NULL;
	berth_error err = { 0 };
	char why[1024] = "";

	snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
	if (!session_up(&s, true, peer_args,
			settings("url = \"amqps://localhost:%d\"; ca_file = \"%s/ca.crt\"; "
				 "cert_file = \"%s/client.crt\"; key_file = \"%s/client.key\";",
				 port, certs, certs, certs),
			why, sizeof(why)))
		goto out;
	o = proc_wait(&s.peer, T_WAIT, "connection", NULL);
	CHECK(o && has(jstr(o, "user"), "device-1"), "peer saw %s",
	      o ? json_object_to_json_string(o) : "no connection");
	json_object_put(o);
	o = NULL;
	r = command_roundtrip(&s, "c1", "ext-1", "string", "command_response/t1/dev1/ext", "data");
	CHECK(r, "no command");
	CHECK(mod_reply(&s.mod, r, 200, "{}", &err) == 0, "send_reply: %s", err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "correlation_id", "ext-1", NULL);
	CHECK(o, "no reply");
	test_report(true, "TLS+EXTERNAL: client certificate CN=device-1, round trip", NULL);
	json_object_put(o);
	testhost_record_free(r);
	session_down(&s);
	return;
out:
	test_report(false, "TLS+EXTERNAL", why);
	json_object_put(o);
	testhost_record_free(r);
	session_down(&s);
}

/* A connection that must fail: offline with `expect` in the reason, never online. */
static void expect_refused(const char *name, bool tls, const char *const *peer_args,
			   const char *mod_settings, const char *expect, int min_attempts,
			   bool opens)
{
	struct proc peer;
	struct mod m;
	struct testhost_record *r = NULL;
	berth_error err = { 0 };
	char why[1024] = "";
	int attempts = 0;
	bool peer_up = false, mod_up = false;

	memset(&m, 0, sizeof(m));
	CHECK(peer_start(&peer, tls, peer_args) == 0, "the peer did not start");
	peer_up = true;
	CHECK(mod_open(&m, so_path, mod_settings, &err) == 0 && mod_start(&m, &err) == 0,
	      "open/start: %s", err.message);
	mod_up = true;
	r = mod_wait(&m, TESTHOST_OFFLINE, T_WAIT);
	CHECK(r, "no offline report");
	CHECK(has(r->text, expect), "offline reason \"%s\" lacks \"%s\"", r->text, expect);
	for (int64_t end = now_ms() + T_WAIT; now_ms() < end;) {
		json_object *o = proc_wait(&peer, 200, "connection-attempt", NULL);

		if (o) {
			json_object_put(o);
			if (++attempts >= min_attempts)
				break;
		}
	}
	CHECK(attempts >= min_attempts, "%d connection attempts, expected %d", attempts,
	      min_attempts);
	CHECK(testhost_pending(m.th, TESTHOST_ONLINE) == 0, "went online");
	CHECK(opens || proc_count(&peer, "connection", NULL) == 0, "the connection was opened");
	test_report(true, name, NULL);
	testhost_record_free(r);
	mod_close(&m);
	proc_stop(&peer, SIGTERM, 3000);
	return;
out:
	test_report(false, name, why);
	testhost_record_free(r);
	if (mod_up)
		mod_close(&m);
	if (peer_up)
		proc_stop(&peer, SIGTERM, 3000);
}

static void case_refusals(void)
{
	static const char *const user_args[] = { "--user", "dev1@t1:secret", NULL };
	char noip_cert[PATH_MAX], noip_key[PATH_MAX];
	const char *noip_args[] = { "--user", "dev1@t1:secret", "--tls-cert", noip_cert,
				    "--tls-key", noip_key, NULL };

	expect_refused("wrong password -> offline with the reason, retried with back-off", false,
		       user_args,
		       settings("url = \"amqp://127.0.0.1:%d\"; username = \"dev1@t1\"; "
				"password = \"wrong\";", port),
		       "unauthorized", 3, false);
	expect_refused("server certificate from another CA -> refused", true, user_args,
		       settings("url = \"amqps://localhost:%d\"; ca_file = \"%s/other-ca.crt\"; "
				"username = \"dev1@t1\"; password = \"secret\";", port, certs),
		       "certificate verify failed", 2, false);
	snprintf(noip_cert, sizeof(noip_cert), "%s/server-noip.crt", certs);
	snprintf(noip_key, sizeof(noip_key), "%s/server-noip.key", certs);
	/* the later --tls-cert wins in argparse: a certificate for localhost only */
	expect_refused("server certificate without the connected name (127.0.0.1) -> refused",
		       true, noip_args,
		       settings("url = \"amqps://127.0.0.1:%d\"; ca_file = \"%s/ca.crt\"; "
				"username = \"dev1@t1\"; password = \"secret\";", port, certs),
		       "certificate verify failed", 1, false);
	expect_refused("a command source the peer refuses -> offline with the peer's condition, "
		       "retried", false, user_args,
		       settings("url = \"amqp://127.0.0.1:%d\"; username = \"dev1@t1\"; "
				"password = \"secret\"; command_source = \"nosuchsource\";", port),
		       "amqp:not-found", 2, true);
}

/* An IPv6 literal URL. (No TLS: proton 0.37 matches the peer name against DNS names and
 * the CN only, so a certificate's IP SAN never verifies an address literal.) */
static void case_ipv6(void)
{
	static const char *const peer_args[] = { "--allow-anonymous", NULL };
	struct proc peer;
	struct mod m;
	struct testhost_record *r;
	berth_error err = { 0 };
	char why[1024] = "";
	bool ok = false;

	if (peer_start_on(&peer, "[::1]", false, peer_args) == 0) {
		const char *cfg = settings("url = \"amqp://[::1]:%d\";", port);

		if (mod_open(&m, so_path, cfg, &err) == 0) {
			if (mod_start(&m, &err) == 0) {
				r = mod_wait(&m, TESTHOST_ONLINE, T_WAIT);
				ok = r != NULL;
				if (!r)
					r = mod_wait(&m, TESTHOST_OFFLINE, 0);
				snprintf(why, sizeof(why), "%s",
					 r && r->text ? r->text : "not online");
				testhost_record_free(r);
			} else {
				snprintf(why, sizeof(why), "start: %s", err.message);
			}
			mod_close(&m);
		} else {
			snprintf(why, sizeof(why), "open: %s", err.message);
		}
		proc_stop(&peer, SIGTERM, 3000);
	} else {
		snprintf(why, sizeof(why), "the peer did not start on [::1]");
	}
	test_report(ok, "amqp://[::1]:port (IPv6 literal)", why);
}

static void case_insecure(void)
{
	static const char *const peer_args[] = { "--user", "dev1@t1:secret", NULL };
	struct session s;
	char why[1024] = "";
	bool ok = session_up(&s, true, peer_args,
			     settings("url = \"amqps://127.0.0.1:%d\"; "
				      "ca_file = \"%s/other-ca.crt\"; tls_insecure = true; "
				      "username = \"dev1@t1\"; password = \"secret\";", port,
				      certs),
			     why, sizeof(why));

	test_report(ok, "tls_insecure = true connects despite an unverifiable certificate", why);
	if (ok)
		session_down(&s);
}

/* ---- without ANONYMOUS-RELAY: a sender link per address ---- */

static void case_no_relay(void)
{
	static const char *const peer_args[] = { "--no-relay", "--allow-anonymous", NULL };
	struct session s;
	struct testhost_record *r = NULL;
	json_object *o = NULL;
	berth_error err = { 0 };
	char why[1024] = "";

	if (!session_up(&s, false, peer_args, settings("url = \"amqp://127.0.0.1:%d\";", port),
			why, sizeof(why)))
		goto out;
	r = command_roundtrip(&s, "c1", "nr-1", "string", "command_response/t1/dev1/nr", "data");
	CHECK(r, "no command");
	CHECK(mod_reply(&s.mod, r, 200, "{}", &err) == 0, "send_reply: %s", err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "correlation_id", "nr-1", NULL);
	CHECK(o && same(jstr(o, "link_target"), "command_response/t1/dev1/nr") &&
	      same(jstr(o, "to"), "command_response/t1/dev1/nr"),
	      "reply %s", o ? json_object_to_json_string(o) : "missing");
	json_object_put(o);
	o = NULL;
	CHECK(mod_event(&s.mod, "{\"e\":1}", &err) == 0, "send_event: %s", err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "link_target", "event", NULL);
	CHECK(o, "no event on a link with target event");
	json_object_put(o);
	o = NULL;
	/* more addresses than the link cache holds */
	for (int i = 0; i < 12; i++) {
		char to[64], cid[16];
		berth_reply rep = { .size = sizeof(rep), .status = 200, .payload = "{}",
				    .payload_len = 2 };

		snprintf(to, sizeof(to), "s:command_response/t1/dev1/many%d", i);
		snprintf(cid, sizeof(cid), "many-%d", i);
		rep.reply_to = to;
		rep.correlation_id = cid;
		CHECK(s.mod.drv->send_reply(s.mod.inst, &rep, &err) == 0, "send_reply: %s",
		      err.message);
	}
	for (int i = 0; i < 12; i++) {
		char cid[16];

		snprintf(cid, sizeof(cid), "many-%d", i);
		o = proc_wait(&s.peer, T_WAIT, "message", "correlation_id", cid, NULL);
		CHECK(o, "reply %s lost", cid);
		json_object_put(o);
		o = NULL;
	}
	CHECK(proc_count(&s.peer, "sender-link-refused", NULL) == 0,
	      "the module tried an anonymous link");
	test_report(true, "no ANONYMOUS-RELAY: replies and events on per-address sender links "
		    "(12 addresses through an 8-link cache)", NULL);
	testhost_record_free(r);
	session_down(&s);
	return;
out:
	test_report(false, "no ANONYMOUS-RELAY", why);
	json_object_put(o);
	testhost_record_free(r);
	session_down(&s);
}

/* ---- credit ---- */

static void case_credit(void)
{
	static const char *const peer_args[] = { "--allow-anonymous", NULL };
	struct session s;
	json_object *o = NULL;
	char why[1024] = "";
	int got = 0;

	if (!session_up(&s, false, peer_args,
			settings("url = \"amqp://127.0.0.1:%d\"; credit = 3;", port), why,
			sizeof(why)))
		goto out;
	for (int i = 0; i < 20; i++) {
		char id[16];

		snprintf(id, sizeof(id), "cr%d", i);
		peer_send(&s.peer, id, "start", "command_response/t1/dev1/cr", id, "string", "data",
			  BODY, NULL);
	}
	for (int i = 0; i < 20; i++) {
		struct testhost_record *r = mod_wait(&s.mod, TESTHOST_INBOUND, T_WAIT);

		if (!r)
			break;
		got++;
		testhost_record_free(r);
	}
	CHECK(got == 20, "%d of 20 commands arrived", got);
	proc_send(&s.peer, "{\"op\": \"stats\"}");
	o = proc_wait(&s.peer, T_WAIT, "stats", NULL);
	CHECK(o, "no stats");
	CHECK(atoi(jstr(o, "max_credit")) == 3 && atoi(jstr(o, "max_outstanding")) <= 3,
	      "peer saw %s", json_object_to_json_string(o));
	test_report(true, "credit = 3: the peer never has more than 3 credits; 20 commands flow",
		    NULL);
	json_object_put(o);
	session_down(&s);
	return;
out:
	test_report(false, "credit", why);
	json_object_put(o);
	session_down(&s);
}

/* ---- a command larger than max_message_size, over several transfer frames ---- */

static void case_oversized(void)
{
	static const char *const peer_args[] = { "--allow-anonymous", NULL };
	struct session s;
	struct testhost_record *r = NULL;
	json_object *o = NULL;
	char why[1024] = "";

	if (!session_up(&s, false, peer_args,
			settings("url = \"amqp://127.0.0.1:%d\"; max_message_size = 65536;", port),
			why, sizeof(why)))
		goto out;
	o = proc_wait(&s.peer, T_WAIT, "command-link", NULL);
	CHECK(o && same(jstr(o, "max_message_size"), "65536"), "link: %s",
	      o ? json_object_to_json_string(o) : "none");
	json_object_put(o);
	/* 200 KB: more than one transfer frame */
	proc_send(&s.peer, "{\"op\": \"send\", \"id\": \"big\", \"subject\": \"start\", "
		  "\"body\": \"0123456789\", \"repeat\": 20000}");
	o = proc_wait(&s.peer, T_WAIT, "command-outcome", "id", "big", NULL);
	CHECK(o && same(jstr(o, "outcome"), "rejected") &&
	      same(jstr(o, "condition"), "amqp:link:message-size-exceeded"),
	      "peer saw %s", o ? json_object_to_json_string(o) : "nothing");
	json_object_put(o);
	o = NULL;
	CHECK(testhost_pending(s.mod.th, TESTHOST_INBOUND) == 0, "the core got it");
	/* 40 KB: several frames, within the limit */
	proc_send(&s.peer, "{\"op\": \"send\", \"id\": \"40k\", \"subject\": \"start\", "
		  "\"correlation_id\": \"after-big\", \"body\": \"0123456789\", "
		  "\"repeat\": 4000}");
	r = mod_wait(&s.mod, TESTHOST_INBOUND, T_WAIT);
	CHECK(r && same(r->correlation_id, "after-big") && r->payload_len == 40000,
	      "the 40 KB command did not arrive intact (%zu bytes)", r ? r->payload_len : 0);
	test_report(true, "max_message_size 64 KiB: 200 KB command (13 frames) rejected with "
		    "amqp:link:message-size-exceeded; then a 40 KB one arrives intact", NULL);
	testhost_record_free(r);
	session_down(&s);
	return;
out:
	test_report(false, "over-sized command", why);
	json_object_put(o);
	testhost_record_free(r);
	session_down(&s);
}

/* ---- the peer dies and comes back ---- */

static void case_restart(void)
{
	static const char *const peer_args[] = { "--allow-anonymous", NULL };
	struct session s;
	struct testhost_record *r = NULL, *r2 = NULL;
	json_object *o = NULL;
	berth_error err = { 0 };
	char why[1024] = "";

	if (!session_up(&s, false, peer_args, settings("url = \"amqp://127.0.0.1:%d\";", port),
			why, sizeof(why)))
		goto out;
	CHECK(peer_mode(&s.peer, "hold", "true"), "peer: no ack");
	r = command_roundtrip(&s, "c1", "0f8fad5b-d9cb-469f-a165-70867728950e", "uuid",
			      "command_response/t1/dev1/rs", "data");
	CHECK(r, "no command");
	CHECK(mod_reply(&s.mod, r, 200, "{\"r\":1}", &err) == 0, "send_reply: %s", err.message);
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"r\":1}", NULL);
	CHECK(o, "no reply at the first peer");
	json_object_put(o);
	o = NULL;

	/* kill -9 the peer with the reply unsettled */
	proc_stop(&s.peer, SIGKILL, 3000);
	r2 = mod_wait(&s.mod, TESTHOST_OFFLINE, T_WAIT);
	CHECK(r2, "no offline report");
	testhost_record_free(r2);
	r2 = NULL;
	CHECK(mod_event(&s.mod, "{\"while\":\"offline\"}", &err) == 0, "send_event offline: %s",
	      err.message);
	sleep_ms(500);
	CHECK(peer_start(&s.peer, false, peer_args) == 0, "the peer did not restart");
	r2 = mod_wait(&s.mod, TESTHOST_ONLINE, T_WAIT);
	CHECK(r2, "not online again");
	testhost_record_free(r2);
	r2 = NULL;
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"r\":1}", NULL);
	CHECK(o && same(jstr(o, "correlation_id"), r->correlation_id) &&
	      same(jstr(o, "cid_type"), "uuid"),
	      "unsettled reply not resent: %s", o ? json_object_to_json_string(o) : "missing");
	json_object_put(o);
	o = NULL;
	o = proc_wait(&s.peer, T_WAIT, "message", "body", "{\"while\":\"offline\"}", NULL);
	CHECK(o, "event queued while offline not sent");
	json_object_put(o);
	o = NULL;
	/* the new peer redelivers the command */
	r2 = command_roundtrip(&s, "c1", "0f8fad5b-d9cb-469f-a165-70867728950e", "uuid",
			       "command_response/t1/dev1/rs", "data");
	CHECK(r2 && same(r2->correlation_id, "0f8fad5b-d9cb-469f-a165-70867728950e"),
	      "redelivered command not received");
	test_report(true, "peer killed and restarted: offline, online, unsettled reply resent, "
		    "offline event sent, redelivered command arrives", NULL);
	testhost_record_free(r);
	testhost_record_free(r2);
	session_down(&s);
	return;
out:
	test_report(false, "peer restart", why);
	json_object_put(o);
	testhost_record_free(r);
	testhost_record_free(r2);
	session_down(&s);
}

/* ---- nobody listening ---- */

static void case_peer_down(void)
{
	struct mod m;
	struct testhost_record *r = NULL;
	berth_error err = { 0 };
	char why[1024] = "";
	int64_t t0;
	bool up = false;

	CHECK(mod_open(&m, so_path,
		       settings("url = \"amqp://127.0.0.1:%d\"; queue_limit = 3;", port),
		       &err) == 0,
	      "open: %s", err.message);
	up = true;
	CHECK(mod_start(&m, &err) == 0, "start() failed with the peer down: %s", err.message);
	r = mod_wait(&m, TESTHOST_OFFLINE, T_WAIT);
	CHECK(r && has(r->text, "refused"), "offline: %s", r ? r->text : "not reported");
	for (int i = 0; i < 3; i++)
		CHECK(mod_event(&m, "{}", &err) == 0, "send_event %d: %s", i, err.message);
	CHECK(mod_event(&m, "{}", &err) < 0 && err.code == BERTH_E_BUSY,
	      "4th event: %d %s", err.code, err.message);
	t0 = now_ms();
	mod_close(&m);
	up = false;
	CHECK(now_ms() - t0 < 4000, "close() took %lld ms", (long long)(now_ms() - t0));
	test_report(true, "peer down: start() succeeds, offline reported, queue bounded (BUSY), "
		    "close() bounded", NULL);
	testhost_record_free(r);
	return;
out:
	test_report(false, "peer down", why);
	testhost_record_free(r);
	if (up)
		mod_close(&m);
}

int main(int argc, char **argv)
{
	char dir[512], script[PATH_MAX];
	const char *p = getenv("BERTH_TEST_AMQP_PORT");
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/TO/amqp.so\n", argv[0]);
		return 2;
	}
	so_path = argv[1];
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    access("/usr/lib/python3/dist-packages/proton/__init__.py", R_OK) != 0) {
		printf("# SKIP: python3-qpid-proton is not installed\n");
		return 77;
	}
	port = p && *p ? atoi(p) : 15690;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	snprintf(dir, sizeof(dir), "%s/amqp", test_rundir());
	snprintf(certs, sizeof(certs), "%s/certs", dir);
	snprintf(script, sizeof(script), "%s/tests/integration/lib/certs.sh", test_srcdir());
	{
		char *mk[] = { "/bin/mkdir", "-p", certs, NULL };
		char *cs[] = { "/bin/sh", script, certs, NULL };

		if (run_wait(mk, 5000) != 0 || run_wait(cs, 60000) != 0) {
			printf("not ok - test certificates (%s %s)\n", script, certs);
			return 1;
		}
	}
	snprintf(pwfile, sizeof(pwfile), "%s/password", dir);
	f = fopen(pwfile, "w");
	if (!f || fputs("secret\n", f) < 0 || fclose(f) != 0) {
		printf("not ok - cannot write %s\n", pwfile);
		return 1;
	}

	case_settings();
	case_peer_down();
	case_plain();
	case_tls_plain();
	case_tls_external();
	case_refusals();
	case_insecure();
	case_ipv6();
	case_no_relay();
	case_credit();
	case_oversized();
	case_restart();

	printf("# %d of %d passed\n", test_count - test_failures, test_count);
	return test_failures ? 1 : 0;
}
