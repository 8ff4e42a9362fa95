/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the MQTT transport (transports/mqtt) against a real mosquitto
 * (tests/integration/lib/mosquitto.sh), with libmosquitto playing the cloud side.
 *
 * usage: test_mqtt_transport PATH/TO/mqtt.so
 * Uses $BERTH_TEST_RUN/mosquitto.env; starts the broker with lib/mosquitto.sh when it
 * is not running (and stops it again at the end). Prints "ok - ..." / "not ok - ..."
 * per case; exits 0 only when every case passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mosquitto.h>

#include "testhost.h"

#ifndef BERTH_TEST_LIBDIR
#define BERTH_TEST_LIBDIR "tests/integration/lib"
#endif

#define WAIT_MS 10000 /* for things that must happen */
#define QUIET_MS 1000 /* for things that must not happen */

static const char *so_path;
static char run_dir[512];
static int plain_port, tls_port, noip_port;
static char certs[512], user[128], password[128];
static int failures, cases;
static pid_t my_pid;

/* ---- small helpers ------------------------------------------------------------------ */

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void report(bool ok, const char *name)
{
	cases++;
	if (!ok)
		failures++;
	printf("%s - %s\n", ok ? "ok" : "not ok", name);
	fflush(stdout);
}

#define EXPECT(cond, ...)                                                                  \
	do {                                                                               \
		if (!(cond)) {                                                             \
			diag("line %d: expected %s", __LINE__, #cond);                      \
			diag(__VA_ARGS__);                                                 \
			ok = false;                                                        \
			goto out;                                                          \
		}                                                                          \
	} while (0)

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs lib/mosquitto.sh ACTION; its exit status. */
static int broker(const char *action)
{
	char *script = fmt("%s/mosquitto.sh", BERTH_TEST_LIBDIR);
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		dup2(2, 1); /* stdout is the test report */
		execl("/bin/bash", "bash", script, action, (char *)NULL);
		_exit(127);
	}
	free(script);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads "export NAME=value" lines into the environment. */
static int read_env_file(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		eq = strchr(p, '=');
		if (!eq)
			continue;
		*eq = '\0';
		setenv(p, eq + 1, 1);
	}
	fclose(f);
	return 0;
}

/* ---- the cloud side: a libmosquitto client that records what it receives ------------- */

struct cloud_msg {
	char *topic;
	char *payload;
	struct cloud_msg *next;
};

static struct {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cloud_msg *head;
	bool connected;
	int acked_mid;
	/* answer to edge/thing/request, or NULL */
	char *identity_response;
	int identity_requests;
} cloud = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static const char *const cloud_filters[] = { "command//+/res/#", "e/#", "edge/thing/request" };

static void cloud_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	if (rc != 0)
		return;
	for (size_t i = 0; i < sizeof(cloud_filters) / sizeof(cloud_filters[0]); i++)
		mosquitto_subscribe(mosq, NULL, cloud_filters[i], 1);
	pthread_mutex_lock(&cloud.lock);
	cloud.connected = true;
	pthread_cond_broadcast(&cloud.cond);
	pthread_mutex_unlock(&cloud.lock);
}

static void cloud_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	pthread_mutex_lock(&cloud.lock);
	cloud.connected = false;
	pthread_mutex_unlock(&cloud.lock);
}

static void cloud_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	pthread_mutex_lock(&cloud.lock);
	cloud.acked_mid = mid;
	pthread_cond_broadcast(&cloud.cond);
	pthread_mutex_unlock(&cloud.lock);
}

static void cloud_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct cloud_msg *msg, **pp;
	char *answer = NULL;

	if (strcmp(m->topic, "edge/thing/request") == 0) {
		pthread_mutex_lock(&cloud.lock);
		cloud.identity_requests++;
		if (cloud.identity_response)
			answer = strdup(cloud.identity_response);
		pthread_cond_broadcast(&cloud.cond);
		pthread_mutex_unlock(&cloud.lock);
		if (answer)
			mosquitto_publish(mosq, NULL, "edge/thing/response", (int)strlen(answer),
					  answer, 1, false);
		free(answer);
		return;
	}
	msg = calloc(1, sizeof(*msg));
	msg->topic = strdup(m->topic);
	msg->payload = calloc(1, (size_t)m->payloadlen + 1);
	memcpy(msg->payload, m->payload, (size_t)m->payloadlen);
	pthread_mutex_lock(&cloud.lock);
	for (pp = &cloud.head; *pp; pp = &(*pp)->next)
		;
	*pp = msg;
	pthread_cond_broadcast(&cloud.cond);
	pthread_mutex_unlock(&cloud.lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool cloud_wait_connected(int ms)
{
	struct timespec until;
	bool ok;

	deadline_in(&until, ms);
	pthread_mutex_lock(&cloud.lock);
	while (!cloud.connected && pthread_cond_timedwait(&cloud.cond, &cloud.lock, &until) == 0)
		;
	ok = cloud.connected;
	pthread_mutex_unlock(&cloud.lock);
	return ok;
}

/* Takes the first message on `topic` (exact), waiting up to ms; caller frees. */
static struct cloud_msg *cloud_take(const char *topic, int ms)
{
	struct timespec until;
	struct cloud_msg *found = NULL, **pp;

	deadline_in(&until, ms);
	pthread_mutex_lock(&cloud.lock);
	for (;;) {
		for (pp = &cloud.head; *pp; pp = &(*pp)->next)
			if (strcmp((*pp)->topic, topic) == 0) {
				found = *pp;
				*pp = found->next;
				break;
			}
		if (found || pthread_cond_timedwait(&cloud.cond, &cloud.lock, &until) != 0)
			break;
	}
	pthread_mutex_unlock(&cloud.lock);
	return found;
}

static void cloud_msg_free(struct cloud_msg *m)
{
	if (m) {
		free(m->topic);
		free(m->payload);
		free(m);
	}
}

static void cloud_clear(void)
{
	pthread_mutex_lock(&cloud.lock);
	while (cloud.head) {
		struct cloud_msg *n = cloud.head->next;

		cloud_msg_free(cloud.head);
		cloud.head = n;
	}
	cloud.identity_requests = 0;
	pthread_mutex_unlock(&cloud.lock);
}

/* Publishes QoS 1 and waits for the broker's PUBACK. */
static bool cloud_publish(const char *topic, const char *payload)
{
	struct timespec until;
	int mid = -1;
	bool ok;

	if (mosquitto_publish(cloud.mosq, &mid, topic, (int)strlen(payload), payload, 1, false))
		return false;
	deadline_in(&until, WAIT_MS);
	pthread_mutex_lock(&cloud.lock);
	while (cloud.acked_mid != mid &&
	       pthread_cond_timedwait(&cloud.cond, &cloud.lock, &until) == 0)
		;
	ok = cloud.acked_mid == mid;
	pthread_mutex_unlock(&cloud.lock);
	return ok;
}

/* Connects once with a clean session and leaves, so that `client_id` starts afresh. */
static void purge_session(const char *client_id)
{
	struct mosquitto *m = mosquitto_new(client_id, true, NULL);

	if (m && mosquitto_connect(m, "127.0.0.1", plain_port, 10) == MOSQ_ERR_SUCCESS) {
		mosquitto_loop(m, 100, 1);
		mosquitto_disconnect(m);
		mosquitto_loop(m, 100, 1);
	}
	mosquitto_destroy(m);
}

static bool cloud_start(void)
{
	purge_session("berth-test-cloud");
	cloud.mosq = mosquitto_new("berth-test-cloud", false, NULL);
	if (!cloud.mosq)
		return false;
	mosquitto_connect_callback_set(cloud.mosq, cloud_on_connect);
	mosquitto_disconnect_callback_set(cloud.mosq, cloud_on_disconnect);
	mosquitto_message_callback_set(cloud.mosq, cloud_on_message);
	mosquitto_publish_callback_set(cloud.mosq, cloud_on_publish);
	mosquitto_reconnect_delay_set(cloud.mosq, 1, 1, false);
	if (mosquitto_connect_async(cloud.mosq, "127.0.0.1", plain_port, 10) != MOSQ_ERR_SUCCESS)
		return false;
	if (mosquitto_loop_start(cloud.mosq) != MOSQ_ERR_SUCCESS)
		return false;
	return cloud_wait_connected(WAIT_MS);
}

static void cloud_stop(void)
{
	if (!cloud.mosq)
		return;
	mosquitto_disconnect(cloud.mosq);
	mosquitto_loop_stop(cloud.mosq, false);
	mosquitto_destroy(cloud.mosq);
	cloud.mosq = NULL;
	purge_session("berth-test-cloud");
	cloud_clear();
	free(cloud.identity_response);
	cloud.identity_response = NULL;
}

static void cloud_set_identity(const char *json)
{
	pthread_mutex_lock(&cloud.lock);
	free(cloud.identity_response);
	cloud.identity_response = json ? strdup(json) : NULL;
	pthread_mutex_unlock(&cloud.lock);
}

/* ---- the transport under test -------------------------------------------------------- */

struct inst {
	struct testhost *th;
	const berth_transport_driver *drv;
	void *mod;
	bool started;
};

/* Opens (and starts, when `start`) an instance with the settings text (libconfig). */
static bool inst_open(struct inst *in, const char *thing, const char *tenant, bool start,
		      berth_error *err, const char *settings_fmt, ...)
	__attribute__((format(printf, 6, 7)));
static bool inst_open(struct inst *in, const char *thing, const char *tenant, bool start,
		      berth_error *err, const char *settings_fmt, ...)
{
	const berth_settings *settings;
	va_list ap;
	char *text;

	memset(in, 0, sizeof(*in));
	berth_error_clear(err);
	in->th = testhost_new(thing, tenant);
	if (!in->th || testhost_load(in->th, so_path, err) < 0)
		return false;
	in->drv = testhost_transport_driver(in->th, "mqtt");
	if (!in->drv) {
		berth_error_set(err, BERTH_E_NOT_FOUND, "no transport \"mqtt\" registered");
		return false;
	}
	va_start(ap, settings_fmt);
	if (vasprintf(&text, settings_fmt, ap) < 0)
		abort();
	va_end(ap);
	settings = testhost_settings(in->th, "mqtt", text, in->drv->options, err);
	free(text);
	if (!settings)
		return false;
	if (in->drv->open(testhost_host(in->th), settings, testhost_transport_handle(in->th),
			  &in->mod, err) < 0) {
		in->mod = NULL;
		return false;
	}
	if (start) {
		if (in->drv->start(in->mod, err) < 0)
			return false;
		in->started = true;
	}
	return true;
}

static void inst_close(struct inst *in)
{
	if (in->mod)
		in->drv->close(in->mod);
	in->mod = NULL;
	testhost_free(in->th);
	in->th = NULL;
}

static struct testhost_record *wait_online(struct inst *in, int ms)
{
	return testhost_wait(in->th, TESTHOST_ONLINE, NULL, NULL, ms);
}

static struct testhost_record *wait_offline(struct inst *in, int ms)
{
	return testhost_wait(in->th, TESTHOST_OFFLINE, NULL, NULL, ms);
}

static bool match_subject(const struct testhost_record *r, const void *arg)
{
	return streq(r->subject, arg);
}

static struct testhost_record *wait_inbound(struct inst *in, const char *subject, int ms)
{
	return testhost_wait(in->th, TESTHOST_INBOUND, subject ? match_subject : NULL, subject,
			     ms);
}

static int send_reply(struct inst *in, const char *reply_to, const char *subject, int status,
		      const char *payload, berth_error *err)
{
	berth_reply r = {
		.size = sizeof(r),
		.reply_to = reply_to,
		.correlation_id = "corr-1",
		.subject = subject,
		.status = status,
		.payload = payload,
		.payload_len = strlen(payload),
		.content_type = "application/vnd.eclipse.ditto+json",
	};

	return in->drv->send_reply(in->mod, &r, err);
}

static int send_event(struct inst *in, const char *thing, const char *tenant,
		      const char *payload, berth_error *err)
{
	berth_outbound_event ev = {
		.size = sizeof(ev),
		.thing_id = thing,
		.tenant = tenant,
		.payload = payload,
		.payload_len = strlen(payload),
		.content_type = "application/vnd.eclipse.ditto+json",
	};

	return in->drv->send_event(in->mod, &ev, err);
}

static char *plain_settings(const char *client_id, const char *extra)
{
	return fmt("url = \"tcp://127.0.0.1:%d\"; client_id = \"%s\"; reconnect_min = 1; "
		   "reconnect_max = 2; %s",
		   plain_port, client_id, extra ? extra : "");
}

/* ---- cases --------------------------------------------------------------------------- */

static void case_settings(void)
{
	static const struct {
		const char *text;
		const char *needle; /* in the error message */
	} bad[] = {
		{ "url = \"http://localhost\";", "url" },
		{ "url = \"tcp://h:0\";", "url" },
		{ "url = \"tcp://h\"; password = \"x\";", "username" },
		{ "url = \"tcp://h\"; ca_file = \"/etc/hostname\";", "ca_file" },
		{ "url = \"tcp://h\"; tls_insecure = true;", "tls_insecure" },
		{ "url = \"tcp://h\"; session_expiry = 10;", "session_expiry" },
		{ "url = \"tcp://h\"; protocol = \"4\";", "protocol" },
		{ "url = \"tcp://h\"; qos = 2;", "qos" },
		{ "url = \"tcp://h\"; keepalive = 1;", "keepalive" },
		{ "url = \"tcp://h\"; reconnect_min = 10; reconnect_max = 5;", "reconnect_max" },
		{ "url = \"ssl://h\"; ca_file = \"/nonexistent/ca.crt\";", "ca_file" },
		{ "url = \"ssl://h\"; cert_file = \"/etc/hostname\";", "key_file" },
		{ "url = \"ssl://h\"; tls_version = \"sslv3\";", "tls_version" },
		{ "url = \"tcp://h\"; username = \"u\"; password = \"p\"; password_file = \"/x\";",
		  "password" },
		{ "url = \"tcp://h\"; username = \"u\"; password_file = \"/nonexistent\";",
		  "password_file" },
	};
	char *world = fmt("%s/mqtt-test-pw-world", run_dir);
	berth_error err;
	struct inst in;
	bool ok = true;
	FILE *f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool opened = inst_open(&in, "test:settings", NULL, false, &err, "%s", bad[i].text);

		inst_close(&in);
		EXPECT(!opened && err.code == BERTH_E_INVALID && strstr(err.message, bad[i].needle),
		       "%s -> opened %d, code %d: %s", bad[i].text, opened, err.code, err.message);
	}
	f = fopen(world, "w");
	EXPECT(f != NULL, "cannot write %s", world);
	fputs("secret\n", f);
	fclose(f);
	chmod(world, 0644);
	EXPECT(!inst_open(&in, "test:settings", NULL, false, &err,
			  "url = \"tcp://h\"; username = \"u\"; password_file = \"%s\";", world) &&
		       strstr(err.message, "readable by everyone"),
	       "world-readable password file: %s", err.message);
	inst_close(&in);
	/* a good one opens without connecting */
	EXPECT(inst_open(&in, "test:settings", "t", false, &err, "url = \"mqtt://[::1]:1\";"),
	       "%s", err.message);
	EXPECT(in.drv->capabilities(in.mod) == 0, "capabilities with a configured thing id");
	inst_close(&in);
out:
	inst_close(&in);
	unlink(world);
	free(world);
	report(ok, "settings are validated at open(), naming the key");
}

struct reply_worker {
	pthread_t t;
	struct inst *in;
	int base, failed;
};

static void *reply_worker_run(void *arg)
{
	struct reply_worker *me = arg;
	berth_error e;

	for (int i = 0; i < 50; i++) {
		char rt[64];

		snprintf(rt, sizeof(rt), "command//test:plain/res/c%d", me->base + i);
		if (send_reply(me->in, rt, "x", 200, "{}", &e) < 0)
			me->failed++;
	}
	return NULL;
}

/* Plain connection; command in, replies (with and without request id), events, ignored
 * subjects, stop(). */
static void case_plain_roundtrip(void)
{
	const char *thing = "test:plain", *payload = "{\"topic\":\"x/y/things/live/messages/start\"}";
	char *settings = plain_settings("berth-test-plain", NULL);
	struct testhost_record *r = NULL;
	struct cloud_msg *m = NULL;
	berth_error err;
	struct inst in;
	bool ok = true;

	purge_session("berth-test-plain");
	cloud_clear();
	EXPECT(inst_open(&in, thing, "t1", true, &err, "%s", settings), "open: %s", err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r && streq(r->thing_id, thing) && streq(r->tenant, "t1"), "online as %s/%s",
	       r ? str(r->thing_id) : "-", r ? str(r->tenant) : "-");
	testhost_record_free(r);
	report(true, "plain: connects and reports online with the configured identity");

	/* command with a request id */
	EXPECT(cloud_publish("command//test:plain/req/r42/start", payload), "publish");
	r = wait_inbound(&in, "start", WAIT_MS);
	EXPECT(r, "no inbound command");
	EXPECT(streq(r->payload, payload) && r->payload_len == strlen(payload), "payload %s",
	       r->payload);
	EXPECT(streq(r->device_id, thing), "device %s", str(r->device_id));
	EXPECT(streq(r->reply_to, "command//test:plain/res/r42"), "reply_to %s", str(r->reply_to));
	EXPECT(r->correlation_id == NULL, "correlation %s", str(r->correlation_id));
	report(true, "plain: command -> inbound with payload, subject, device and reply_to");

	EXPECT(send_reply(&in, r->reply_to, "start", 204, "{\"status\":204}", &err) == 0, "%s",
	       err.message);
	m = cloud_take("command//test:plain/res/r42/204", WAIT_MS);
	EXPECT(m && streq(m->payload, "{\"status\":204}"), "reply %s", m ? m->payload : "none");
	cloud_msg_free(m);
	m = NULL;
	testhost_record_free(r);
	report(true, "plain: reply with request id -> command//<thing>/res/<reqId>/<status>");

	/* one-way command: empty request id */
	EXPECT(cloud_publish("command//test:plain/req//stop", payload), "publish");
	r = wait_inbound(&in, "stop", WAIT_MS);
	EXPECT(r && streq(r->reply_to, "command//test:plain/res/"), "reply_to %s",
	       r ? str(r->reply_to) : "none");
	EXPECT(send_reply(&in, r->reply_to, "stop", 204, "{}", &err) == 0, "%s", err.message);
	m = cloud_take("command//test:plain/res//stop", WAIT_MS);
	EXPECT(m && streq(m->payload, "{}"), "one-way reply missing");
	cloud_msg_free(m);
	m = NULL;
	testhost_record_free(r);
	r = NULL;
	EXPECT(send_reply(&in, "command//test:plain/res/", NULL, 204, "{}", &err) < 0 &&
		       err.code == BERTH_E_INVALID,
	       "a one-way reply without subject must fail");
	EXPECT(send_reply(&in, "e/x/y", "stop", 204, "{}", &err) < 0 && err.code == BERTH_E_INVALID,
	       "a foreign reply address must fail");
	report(true, "plain: reply with empty request id -> command//<thing>/res//<subject>");

	/* events */
	EXPECT(send_event(&in, thing, "t1", "{\"ev\":1}", &err) == 0, "%s", err.message);
	EXPECT(send_event(&in, thing, NULL, "{\"ev\":2}", &err) == 0, "%s", err.message);
	m = cloud_take("e/t1/test:plain", WAIT_MS);
	EXPECT(m && streq(m->payload, "{\"ev\":1}"), "event with tenant");
	cloud_msg_free(m);
	m = cloud_take("e//test:plain", WAIT_MS);
	EXPECT(m && streq(m->payload, "{\"ev\":2}"), "event without tenant");
	cloud_msg_free(m);
	m = NULL;
	report(true, "plain: event -> e/<tenant>/<thing> (e//<thing> without tenant)");

	/* ignored subjects and non-command topics */
	EXPECT(cloud_publish("command//test:plain/req//created", "{}") &&
		       cloud_publish("command//test:plain/req//modified", "{}") &&
		       cloud_publish("command//test:plain/req//deleted", "{}") &&
		       cloud_publish("command//test:plain/req/r1/errors-response", "{}") &&
		       cloud_publish("command//test:plain/req/r1", "{}") &&
		       cloud_publish("command//test:plain/req/r1/a/b", "{}") &&
		       cloud_publish("command//test:plain/req/r7/resume", "{}"),
	       "publish");
	r = wait_inbound(&in, NULL, WAIT_MS);
	EXPECT(r && streq(r->subject, "resume"), "first inbound after the ignored ones: %s",
	       r ? str(r->subject) : "none");
	testhost_record_free(r);
	r = NULL;
	sleep_ms(200);
	EXPECT(testhost_pending(in.th, TESTHOST_INBOUND) == 0, "%zu unexpected inbound",
	       testhost_pending(in.th, TESTHOST_INBOUND));
	report(true, "plain: created/modified/deleted/errors-response and malformed topics dropped");

	/* many replies from several threads while the network thread runs */
	{
		struct reply_worker w[4];
		int received = 0;

		for (int i = 0; i < 4; i++) {
			w[i] = (struct reply_worker){ .in = &in, .base = i * 100 };
			pthread_create(&w[i].t, NULL, reply_worker_run, &w[i]);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(w[i].t, NULL);
		for (int i = 0; i < 4; i++)
			EXPECT(w[i].failed == 0, "worker %d: %d failed", i, w[i].failed);
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 50; j++) {
				char *t = fmt("command//test:plain/res/c%d/200", i * 100 + j);

				m = cloud_take(t, WAIT_MS);
				free(t);
				received += m != NULL;
				cloud_msg_free(m);
				m = NULL;
			}
		EXPECT(received == 200, "%d of 200 concurrent replies arrived", received);
	}
	report(true, "plain: 200 replies from 4 threads at once all arrive");

	/* stop(): no more inbound, replies still go out */
	in.drv->stop(in.mod);
	EXPECT(cloud_publish("command//test:plain/req/r8/start", payload), "publish");
	r = wait_inbound(&in, NULL, QUIET_MS);
	EXPECT(!r, "inbound after stop(): %s", r ? str(r->subject) : "");
	EXPECT(send_reply(&in, "command//test:plain/res/r8", "start", 503, "{}", &err) == 0, "%s",
	       err.message);
	m = cloud_take("command//test:plain/res/r8/503", WAIT_MS);
	EXPECT(m, "reply after stop() missing");
	cloud_msg_free(m);
	m = NULL;
	report(true, "plain: after stop() no inbound, replies still sent");

	/* close() flushes what was published just before */
	for (int i = 0; i < 50; i++) {
		char *p = fmt("{\"n\":%d}", i);

		EXPECT(send_event(&in, thing, "t1", p, &err) == 0, "%s", err.message);
		free(p);
	}
	inst_close(&in);
	for (int i = 0; i < 50; i++) {
		char *p = fmt("{\"n\":%d}", i);

		m = cloud_take("e/t1/test:plain", WAIT_MS);
		EXPECT(m && streq(m->payload, p), "event %d after close: %s", i,
		       m ? m->payload : "missing");
		cloud_msg_free(m);
		m = NULL;
		free(p);
	}
	report(true, "plain: close() flushes 50 events published just before it");
out:
	if (!ok)
		report(false, "plain round trip (see the diagnostics above)");
	testhost_record_free(r);
	cloud_msg_free(m);
	inst_close(&in);
	free(settings);
}

/* Commands published while no instance is connected are delivered to the next one. */
static void case_persistent_session(const char *protocol)
{
	char *client_id = fmt("berth-test-session-%s", protocol);
	char *settings = plain_settings(client_id, NULL), *name;
	char *extra = fmt("%s protocol = \"%s\";", settings, protocol);
	struct testhost_record *r = NULL;
	berth_error err;
	struct inst in;
	bool ok = true;

	purge_session(client_id);
	cloud_clear();
	EXPECT(inst_open(&in, "test:session", NULL, true, &err, "%s", extra), "open: %s",
	       err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "not online");
	testhost_record_free(r);
	r = NULL;
	in.drv->stop(in.mod);
	inst_close(&in);

	for (int i = 0; i < 3; i++) {
		char *t = fmt("command//test:session/req/s%d/op%d", i, i);

		EXPECT(cloud_publish(t, "{}"), "publish %s", t);
		free(t);
	}
	EXPECT(inst_open(&in, "test:session", NULL, true, &err, "%s", extra), "reopen: %s",
	       err.message);
	for (int i = 0; i < 3; i++) {
		char *subject = fmt("op%d", i);

		r = wait_inbound(&in, subject, WAIT_MS);
		free(subject);
		EXPECT(r, "command %d published while away was not delivered", i);
		EXPECT(r->reply_to && strstr(r->reply_to, "/res/s"), "reply_to %s", str(r->reply_to));
		testhost_record_free(r);
		r = NULL;
	}
out:
	name = fmt("persistent session (MQTT %s): commands sent while closed arrive after reopen",
		   protocol);
	report(ok, name);
	free(name);
	testhost_record_free(r);
	inst_close(&in);
	purge_session(client_id);
	free(client_id);
	free(settings);
	free(extra);
}

static void case_tls(void)
{
	char *pwfile = fmt("%s/mqtt-test-pw", run_dir);
	struct testhost_record *r = NULL;
	struct cloud_msg *m = NULL;
	berth_error err;
	struct inst in;
	bool ok = true;
	FILE *f;

	memset(&in, 0, sizeof(in));
	purge_session("berth-test-tls");
	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"mqtts://localhost:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_file = \"%s/ca.crt\"; username = \"%s\"; password = \"%s\";",
			 tls_port, certs, user, password),
	       "open: %s", err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "TLS + password: not online");
	testhost_record_free(r);
	r = NULL;
	EXPECT(send_event(&in, "test:tls", "t1", "{\"tls\":true}", &err) == 0, "%s", err.message);
	m = cloud_take("e/t1/test:tls", WAIT_MS);
	EXPECT(m, "event over TLS did not arrive");
	cloud_msg_free(m);
	m = NULL;
	inst_close(&in);
	report(true, "TLS: CA verification + username/password, online and publishing");

	f = fopen(pwfile, "w");
	EXPECT(f, "cannot write %s", pwfile);
	fprintf(f, "%s\n", password);
	fclose(f);
	chmod(pwfile, 0600);
	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"ssl://localhost:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_dir = \"%s\"; ca_file = \"%s/ca.crt\"; cert_file = \"%s/client.crt\"; "
			 "key_file = \"%s/client.key\"; username = \"%s\"; password_file = \"%s\"; "
			 "tls_version = \"tlsv1.2\";",
			 tls_port, certs, certs, certs, certs, user, pwfile),
	       "open: %s", err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "TLS + password_file + client cert: not online");
	testhost_record_free(r);
	r = NULL;
	inst_close(&in);
	report(true, "TLS: password_file (newline stripped), client certificate, tls_version");

	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"mqtts://localhost:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_file = \"%s/other-ca.crt\"; username = \"%s\"; password = \"%s\";",
			 tls_port, certs, user, password),
	       "open: %s", err.message);
	r = wait_offline(&in, WAIT_MS);
	EXPECT(r, "wrong CA: no offline report");
	diag("wrong CA: offline because: %s", str(r->text));
	EXPECT(r->text && strstr(r->text, "certificate verify failed"), "reason %s", str(r->text));
	testhost_record_free(r);
	r = wait_online(&in, 2500);
	EXPECT(!r, "wrong CA: online anyway");
	inst_close(&in);
	report(true, "TLS: a wrong CA fails, is reported offline with the reason and retried");

	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"mqtts://localhost:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_file = \"%s/ca.crt\"; username = \"%s\"; password = \"wrong\";",
			 tls_port, certs, user),
	       "open: %s", err.message);
	r = wait_offline(&in, WAIT_MS);
	EXPECT(r, "wrong password: no offline report");
	diag("wrong password: offline because: %s", str(r->text));
	testhost_record_free(r);
	r = wait_online(&in, 1500);
	EXPECT(!r, "wrong password: online anyway");
	inst_close(&in);
	report(true, "TLS: a wrong password is reported offline");

	/* hostname verification: the certificate names localhost only */
	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"mqtts://127.0.0.1:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_file = \"%s/ca.crt\"; username = \"%s\"; password = \"%s\";",
			 noip_port, certs, user, password),
	       "open: %s", err.message);
	r = wait_offline(&in, WAIT_MS);
	EXPECT(r, "host name mismatch: no offline report");
	diag("127.0.0.1 vs a localhost-only certificate: %s", str(r->text));
	testhost_record_free(r);
	r = wait_online(&in, 1500);
	EXPECT(!r, "host name mismatch: online anyway");
	inst_close(&in);
	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"mqtts://localhost:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_file = \"%s/ca.crt\"; username = \"%s\"; password = \"%s\";",
			 noip_port, certs, user, password),
	       "open: %s", err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "the localhost-only certificate is not accepted for localhost");
	testhost_record_free(r);
	r = NULL;
	inst_close(&in);
	report(true, "TLS: host name verification is on by default");

	EXPECT(inst_open(&in, "test:tls", "t1", true, &err,
			 "url = \"mqtts://127.0.0.1:%d\"; client_id = \"berth-test-tls\"; "
			 "ca_file = \"%s/ca.crt\"; username = \"%s\"; password = \"%s\"; "
			 "tls_insecure = true;",
			 noip_port, certs, user, password),
	       "open: %s", err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "tls_insecure = true: not online");
	testhost_record_free(r);
	r = NULL;
	inst_close(&in);
	report(true, "TLS: tls_insecure = true skips the host name check");
out:
	if (!ok)
		report(false, "TLS (see the diagnostics above)");
	testhost_record_free(r);
	inst_close(&in);
	unlink(pwfile);
	free(pwfile);
	purge_session("berth-test-tls");
}

static void case_broker_down_at_start(void)
{
	struct testhost_record *r = NULL;
	berth_error err;
	struct inst in;
	bool ok = true;

	/* a port nobody listens on */
	EXPECT(inst_open(&in, "test:down", NULL, true, &err,
			 "url = \"tcp://127.0.0.1:1\"; reconnect_min = 1; reconnect_max = 1;"),
	       "start must not fail while the broker is down: %s", err.message);
	r = wait_offline(&in, WAIT_MS);
	EXPECT(r, "no offline report");
	diag("broker down: %s", str(r->text));
	testhost_record_free(r);
	r = NULL;
	EXPECT(send_event(&in, "test:down", NULL, "{}", &err) == 0,
	       "QoS 1 events are queued while disconnected: %s", err.message);
out:
	report(ok, "broker down at start: start() succeeds, offline reported, retried");
	testhost_record_free(r);
	inst_close(&in);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A peer that accepts TCP connections (the kernel's backlog) and never says a word. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void case_silent_broker(const char *scheme)
{
	struct testhost_record *r = NULL;
	int port = 0, fd = silent_listener(&port);
	berth_error err;
	struct inst in;
	bool ok = true;
	double t0, took;
	char *name;

	memset(&in, 0, sizeof(in));
	EXPECT(fd >= 0, "cannot listen: %s", strerror(errno));
	EXPECT(inst_open(&in, "test:silent", NULL, true, &err,
			 "url = \"%s://127.0.0.1:%d\"; keepalive = 5; %s%s%s", scheme, port,
			 strcmp(scheme, "mqtts") == 0 ? "ca_file = \"" : "",
			 strcmp(scheme, "mqtts") == 0 ? certs : "",
			 strcmp(scheme, "mqtts") == 0 ? "/ca.crt\";" : ""),
	       "open: %s", err.message);
	r = wait_online(&in, QUIET_MS);
	EXPECT(!r, "online with a silent peer");
	EXPECT(send_event(&in, "test:silent", NULL, "{}", &err) == 0, "%s", err.message);
	t0 = now_s();
	inst_close(&in);
	took = now_s() - t0;
	diag("%s: close() with a silent peer took %.2f s", scheme, took);
	EXPECT(took < 6.0, "close() took %.1f s", took);
out:
	name = fmt("%s peer that never answers: not online, close() returns promptly", scheme);
	report(ok, name);
	free(name);
	testhost_record_free(r);
	inst_close(&in);
	if (fd >= 0)
		close(fd);
}

static void case_identity(void)
{
	const char *gw1 = "org.test:gw1:edge:containers", *gw2 = "org.test:gw2:edge:containers";
	char *settings = plain_settings("berth-test-identity", NULL);
	struct testhost_record *r = NULL;
	berth_error err;
	struct inst in;
	bool ok = true;

	purge_session("berth-test-identity");
	cloud_clear();
	cloud_set_identity("{\"deviceId\":\"org.test:gw1\",\"tenantId\":\"tA\","
			   "\"policyId\":\"org.test:gw1\"}");
	EXPECT(inst_open(&in, NULL, NULL, true, &err, "%s", settings), "open: %s", err.message);
	EXPECT(in.drv->capabilities(in.mod) & BERTH_TCAP_IDENTITY, "no BERTH_TCAP_IDENTITY");
	r = wait_online(&in, WAIT_MS);
	EXPECT(r && streq(r->thing_id, gw1) && streq(r->tenant, "tA"), "learned %s/%s",
	       r ? str(r->thing_id) : "-", r ? str(r->tenant) : "-");
	testhost_record_free(r);
	r = NULL;
	EXPECT(cloud_publish("command//org.test:gw1:edge:containers/req/i1/start", "{}"),
	       "publish");
	r = wait_inbound(&in, "start", WAIT_MS);
	EXPECT(r && streq(r->device_id, gw1), "command on the learned thing: %s",
	       r ? str(r->device_id) : "none");
	testhost_record_free(r);
	r = NULL;
	EXPECT(send_event(&in, NULL, "tA", "{}", &err) == 0, "%s", err.message);
	{
		struct cloud_msg *m = cloud_take("e/tA/org.test:gw1:edge:containers", WAIT_MS);

		EXPECT(m, "event without thing id goes to the learned thing");
		cloud_msg_free(m);
	}
	report(true, "identity: learned from edge/thing/response, commands flow on it");

	/* the same identity again: nothing happens; malformed: ignored */
	EXPECT(cloud_publish("edge/thing/response",
			     "{\"deviceId\":\"org.test:gw1\",\"tenantId\":\"tA\"}"),
	       "publish");
	EXPECT(cloud_publish("edge/thing/response", "{\"deviceId\":42}"), "publish");
	EXPECT(cloud_publish("edge/thing/response", "not json"), "publish");
	r = wait_online(&in, QUIET_MS);
	EXPECT(!r, "online again for the same or a malformed identity: %s",
	       r ? str(r->thing_id) : "");
	report(true, "identity: same ids and malformed responses change nothing");

	/* another identity: resubscribe */
	EXPECT(cloud_publish("edge/thing/response",
			     "{\"deviceId\":\"org.test:gw2\",\"tenantId\":\"tB\"}"),
	       "publish");
	r = wait_online(&in, WAIT_MS);
	EXPECT(r && streq(r->thing_id, gw2) && streq(r->tenant, "tB"), "relearned %s/%s",
	       r ? str(r->thing_id) : "-", r ? str(r->tenant) : "-");
	testhost_record_free(r);
	r = NULL;
	EXPECT(cloud_publish("command//org.test:gw1:edge:containers/req/i2/old", "{}") &&
		       cloud_publish("command//org.test:gw2:edge:containers/req/i3/new", "{}"),
	       "publish");
	r = wait_inbound(&in, NULL, WAIT_MS);
	EXPECT(r && streq(r->subject, "new") && streq(r->device_id, gw2), "got %s for %s",
	       r ? str(r->subject) : "none", r ? str(r->device_id) : "-");
	testhost_record_free(r);
	r = NULL;
	report(true, "identity: a new deviceId moves the command subscription");
out:
	if (!ok)
		report(false, "identity learning (see the diagnostics above)");
	cloud_set_identity(NULL);
	testhost_record_free(r);
	inst_close(&in);
	purge_session("berth-test-identity");
	free(settings);
}

static void case_broker_restart(const char *protocol)
{
	char *client_id = fmt("berth-test-restart-%s", protocol);
	char *base = plain_settings(client_id, NULL), *name;
	char *settings = fmt("%s protocol = \"%s\";", base, protocol);
	struct testhost_record *r = NULL;
	struct cloud_msg *m = NULL;
	berth_error err;
	struct inst in;
	bool ok = true;

	purge_session(client_id);
	cloud_clear();
	EXPECT(inst_open(&in, "test:restart", "t1", true, &err, "%s", settings), "open: %s",
	       err.message);
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "not online");
	testhost_record_free(r);
	r = NULL;

	EXPECT(broker("stop") == 0, "mosquitto.sh stop failed");
	r = wait_offline(&in, WAIT_MS);
	EXPECT(r, "no offline report after the broker stopped");
	diag("broker stopped: %s", str(r->text));
	testhost_record_free(r);
	r = NULL;
	/* a reply made while the broker is away goes out after the reconnect */
	EXPECT(send_reply(&in, "command//test:restart/res/q1", "start", 204, "{\"late\":1}", &err) ==
		       0,
	       "reply while disconnected: %s", err.message);
	EXPECT(broker("start") == 0, "mosquitto.sh start failed");
	r = wait_online(&in, WAIT_MS);
	EXPECT(r, "not online again after the broker restart");
	testhost_record_free(r);
	r = NULL;
	EXPECT(cloud_wait_connected(WAIT_MS), "cloud side did not reconnect");
	m = cloud_take("command//test:restart/res/q1/204", WAIT_MS);
	EXPECT(m && streq(m->payload, "{\"late\":1}"), "reply queued while offline not delivered");
	cloud_msg_free(m);
	m = NULL;
	EXPECT(cloud_publish("command//test:restart/req/q2/after", "{}"), "publish");
	r = wait_inbound(&in, "after", WAIT_MS);
	EXPECT(r, "no command after the broker restart");
	testhost_record_free(r);
	r = NULL;

	/* the session the reconnect made is persistent too */
	inst_close(&in);
	EXPECT(cloud_publish("command//test:restart/req/q3/whileaway", "{}"), "publish");
	EXPECT(inst_open(&in, "test:restart", "t1", true, &err, "%s", settings), "reopen: %s",
	       err.message);
	r = wait_inbound(&in, "whileaway", WAIT_MS);
	EXPECT(r, "command sent while closed after a reconnect was not delivered");
out:
	if (broker("start") != 0) /* idempotent: after a failure between stop and start */
		diag("mosquitto.sh start failed");
	name = fmt("broker restart (MQTT %s): offline, online, queued reply sent, commands flow, "
		   "session kept",
		   protocol);
	report(ok, name);
	free(name);
	testhost_record_free(r);
	cloud_msg_free(m);
	inst_close(&in);
	purge_session(client_id);
	free(client_id);
	free(base);
	free(settings);
}

int main(int argc, char **argv)
{
	const char *run = getenv("BERTH_TEST_RUN");
	bool started_broker = false;
	char *envf;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/mqtt.so\n", argv[0]);
		return 2;
	}
	so_path = argv[1];
	my_pid = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(run_dir, sizeof(run_dir), "%s", run && *run ? run : "/tmp/berth-test");
	setenv("BERTH_TEST_RUN", run_dir, 1);
	mkdir(run_dir, 0755);
	if (broker("status") != 0) {
		if (broker("start") != 0) {
			printf("not ok - mosquitto could not be started (%s/mosquitto.sh)\n",
			       BERTH_TEST_LIBDIR);
			return 1;
		}
		started_broker = true;
	}
	envf = fmt("%s/mosquitto.env", run_dir);
	if (read_env_file(envf) < 0) {
		printf("not ok - cannot read %s\n", envf);
		return 1;
	}
	free(envf);
	plain_port = atoi(getenv("BERTH_TEST_MQTT_PORT") ?: "18830");
	tls_port = atoi(getenv("BERTH_TEST_MQTTS_PORT") ?: "18883");
	noip_port = atoi(getenv("BERTH_TEST_MQTTS_NOIP_PORT") ?: "18884");
	snprintf(certs, sizeof(certs), "%s", getenv("BERTH_TEST_CERTS") ?: "");
	snprintf(user, sizeof(user), "%s", getenv("BERTH_TEST_MQTT_USER") ?: "");
	snprintf(password, sizeof(password), "%s", getenv("BERTH_TEST_MQTT_PASSWORD") ?: "");

	mosquitto_lib_init();
	if (!cloud_start()) {
		printf("not ok - the cloud-side client cannot connect to 127.0.0.1:%d\n", plain_port);
		return 1;
	}
	case_settings();
	case_plain_roundtrip();
	case_persistent_session("3.1.1");
	case_persistent_session("5");
	case_tls();
	case_broker_down_at_start();
	case_silent_broker("mqtt");
	case_silent_broker("mqtts");
	case_identity();
	case_broker_restart("3.1.1");
	case_broker_restart("5");
	cloud_stop();
	mosquitto_lib_cleanup();
	if (started_broker)
		broker("stop");
	printf("# %d of %d cases passed\n", cases - failures, cases);
	return failures ? 1 : 0;
}
