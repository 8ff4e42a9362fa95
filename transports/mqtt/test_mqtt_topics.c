/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the MQTT transport's pure rules: command topics, reply addresses and
 * topics, event topics, the broker URL and the edge/thing/response message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "mqtt.h"
#include "mqtt_topics.h"
#include "unit_main.h"


/* CU_ASSERT that names the table row. */
#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		char check_what_[1024];                                                     \
		snprintf(check_what_, sizeof(check_what_), __VA_ARGS__);                   \
		CU_assertImplementation(!!(cond), __LINE__, check_what_, __FILE__, "",     \
					CU_FALSE);                                         \
	} while (0)

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void test_parse_command(void)
{
	static const struct {
		const char *topic;
		const char *device, *req_id, *subject;
		bool short_form;
	} ok[] = {
		{ "command//edge:device/req/r42/start", "edge:device", "r42", "start", false },
		{ "command//edge:device/req//start", "edge:device", "", "start", false },
		{ "command//org.x:gw:edge:containers/req/0a-1/createWithConfig",
		  "org.x:gw:edge:containers", "0a-1", "createWithConfig", false },
		{ "c//dev/q/7/stop", "dev", "7", "stop", true },
		{ "c//dev/q//stop", "dev", "", "stop", true },
		{ "command//d/req/r/created", "d", "r", "created", false },
	};
	static const char *const bad[] = {
		"command//dev/req/r42",          /* no subject */
		"command//dev/req/r42/",         /* empty subject */
		"command//dev/req/r42/start/x",  /* extra level */
		"command///req/r42/start",       /* empty device */
		"command/t/dev/req/r42/start",   /* tenant segment */
		"command//dev/res/r42/200",      /* a response */
		"command//dev/q/r42/start",      /* mixed forms */
		"c//dev/req/r42/start",          /* mixed forms */
		"command//dev/req",
		"command//dev",
		"command//",
		"edge/thing/response",
		"e/t/dev",
		"",
	};

	for (size_t i = 0; i < N(ok); i++) {
		struct mqtt_command_topic t;
		int rc = mqtt_topic_parse_command(ok[i].topic, &t);

		CHECK(rc == 0, "%s parsed (rc %d)", ok[i].topic, rc);
		if (rc != 0)
			continue;
		CHECK(streq(t.device, ok[i].device), "%s: device %s", ok[i].topic, str(t.device));
		CHECK(streq(t.req_id, ok[i].req_id), "%s: req_id %s", ok[i].topic, str(t.req_id));
		CHECK(streq(t.subject, ok[i].subject), "%s: subject %s", ok[i].topic,
		      str(t.subject));
		CHECK(t.short_form == ok[i].short_form, "%s: short form", ok[i].topic);
		mqtt_command_topic_clear(&t);
		CHECK(t.buf == NULL, "%s: cleared", ok[i].topic);
	}
	for (size_t i = 0; i < N(bad); i++) {
		struct mqtt_command_topic t;

		CHECK(mqtt_topic_parse_command(bad[i], &t) == 1, "'%s' is not a command", bad[i]);
		CHECK(t.buf == NULL, "'%s': nothing allocated", bad[i]);
	}
	CHECK(mqtt_topic_parse_command(NULL, &(struct mqtt_command_topic){ 0 }) == 1, "NULL");
}

static void test_ignored_subjects(void)
{
	CU_ASSERT_TRUE(mqtt_subject_ignored("created"));
	CU_ASSERT_TRUE(mqtt_subject_ignored("modified"));
	CU_ASSERT_TRUE(mqtt_subject_ignored("deleted"));
	CU_ASSERT_TRUE(mqtt_subject_ignored("errors-response"));
	CU_ASSERT_FALSE(mqtt_subject_ignored("start"));
	CU_ASSERT_FALSE(mqtt_subject_ignored("create"));
	CU_ASSERT_FALSE(mqtt_subject_ignored("Created"));
	CU_ASSERT_FALSE(mqtt_subject_ignored(""));
}

static void test_reply_to(void)
{
	char *s;

	s = mqtt_reply_to_new("edge:device", "r42");
	CHECK(streq(s, "command//edge:device/res/r42"), "reply_to %s", str(s));
	free(s);
	s = mqtt_reply_to_new("edge:device", "");
	CHECK(streq(s, "command//edge:device/res/"), "reply_to for empty req id %s", str(s));
	free(s);
	CU_ASSERT_PTR_NULL(mqtt_reply_to_new("", "r"));
	CU_ASSERT_PTR_NULL(mqtt_reply_to_new("a/b", "r"));
	CU_ASSERT_PTR_NULL(mqtt_reply_to_new("a", "r/1"));
	CU_ASSERT_PTR_NULL(mqtt_reply_to_new("a#", "r"));
	CU_ASSERT_PTR_NULL(mqtt_reply_to_new("a", "+"));
	CU_ASSERT_PTR_NULL(mqtt_reply_to_new(NULL, "r"));
}

static void test_reply_topic(void)
{
	static const struct {
		const char *reply_to;
		int status;
		const char *subject;
		const char *topic; /* NULL: rejected */
	} cases[] = {
		{ "command//edge:device/res/r42", 204, "start", "command//edge:device/res/r42/204" },
		{ "command//edge:device/res/r42", 400, NULL, "command//edge:device/res/r42/400" },
		{ "command//edge:device/res/", 204, "start", "command//edge:device/res//start" },
		{ "command//edge:device/res/", 500, "stop", "command//edge:device/res//stop" },
		{ "command//edge:device/res/", 204, NULL, NULL },     /* one-way needs a subject */
		{ "command//edge:device/res/", 204, "", NULL },
		{ "command//edge:device/res/", 204, "a/b", NULL },
		{ "command//edge:device/res/", 204, "#", NULL },
		{ "command//edge:device/res/r42", 99, "x", NULL },   /* status range */
		{ "command//edge:device/res/r42", 600, "x", NULL },
		{ "command//edge:device/res/r/42", 200, "x", NULL }, /* not ours */
		{ "command///res/r42", 200, "x", NULL },
		{ "command//dev/req/r42", 200, "x", NULL },
		{ "command//d+v/res/r42", 200, "x", NULL },
		{ "command//dev/res/r#", 200, "x", NULL },
		{ "command//dev", 200, "x", NULL },
		{ "e/t/dev", 200, "x", NULL },
		{ "", 200, "x", NULL },
		{ NULL, 200, "x", NULL },
	};

	for (size_t i = 0; i < N(cases); i++) {
		const char *why = NULL;
		char *t = mqtt_reply_topic_new(cases[i].reply_to, cases[i].status, cases[i].subject,
					       &why);

		if (cases[i].topic) {
			CHECK(streq(t, cases[i].topic), "%s %d %s -> %s", str(cases[i].reply_to),
			      cases[i].status, str(cases[i].subject), str(t));
		} else {
			CHECK(t == NULL, "%s %d %s rejected, got %s", str(cases[i].reply_to),
			      cases[i].status, str(cases[i].subject), str(t));
			CHECK(why && *why, "%s: a reason", str(cases[i].reply_to));
		}
		free(t);
	}
}

static void test_reply_round_trip(void)
{
	struct mqtt_command_topic t;
	const char *why;
	char *reply_to, *topic;

	CU_ASSERT_EQUAL_FATAL(mqtt_topic_parse_command("c//my:thing/q/abc/start", &t), 0);
	reply_to = mqtt_reply_to_new(t.device, t.req_id);
	topic = mqtt_reply_topic_new(reply_to, 204, t.subject, &why);
	CHECK(streq(topic, "command//my:thing/res/abc/204"), "short form answered in long form: %s",
	      str(topic));
	free(topic);
	free(reply_to);
	mqtt_command_topic_clear(&t);
}

static void test_event_topic(void)
{
	const char *why;
	char *s;

	s = mqtt_event_topic_new("t1", "edge:device", &why);
	CHECK(streq(s, "e/t1/edge:device"), "%s", str(s));
	free(s);
	s = mqtt_event_topic_new(NULL, "edge:device", &why);
	CHECK(streq(s, "e//edge:device"), "%s", str(s));
	free(s);
	s = mqtt_event_topic_new("", "edge:device", &why);
	CHECK(streq(s, "e//edge:device"), "%s", str(s));
	free(s);
	CU_ASSERT_PTR_NULL(mqtt_event_topic_new("t1", NULL, &why));
	CU_ASSERT_PTR_NULL(mqtt_event_topic_new("t1", "", &why));
	CU_ASSERT_PTR_NULL(mqtt_event_topic_new("t1", "a/b", &why));
	CU_ASSERT_PTR_NULL(mqtt_event_topic_new("t/1", "a", &why));
	CU_ASSERT_PTR_NULL(mqtt_event_topic_new("t+", "a", &why));
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void test_command_filter(void)
{
	char *s = mqtt_command_filter_new("org.x:gw:edge:containers");

	CHECK(streq(s, "command//org.x:gw:edge:containers/req/#"), "%s", str(s));
	free(s);
	CU_ASSERT_PTR_NULL(mqtt_command_filter_new(""));
	CU_ASSERT_PTR_NULL(mqtt_command_filter_new("+"));
	CU_ASSERT_PTR_NULL(mqtt_command_filter_new("a/b"));
	CU_ASSERT_PTR_NULL(mqtt_command_filter_new(NULL));
}

static void test_url(void)
{
	static const struct {
		const char *url;
		const char *host;
		int port;
		bool tls;
	} ok[] = {
		{ "tcp://localhost", "localhost", 1883, false },
		{ "mqtt://localhost:1884", "localhost", 1884, false },
		{ "MQTT://Broker.example.org/", "Broker.example.org", 1883, false },
		{ "ssl://10.0.0.1", "10.0.0.1", 8883, true },
		{ "mqtts://hono.example.org:443", "hono.example.org", 443, true },
		{ "tcp://[::1]:18830", "::1", 18830, false },
		{ "mqtts://[fe80::1%eth0]", "fe80::1%eth0", 8883, true },
		{ "tcp://h:65535", "h", 65535, false },
		{ "tcp://h:1", "h", 1, false },
	};
	static const char *const bad[] = {
		"localhost:1883", "http://localhost", "tcp://", "tcp://:1883", "tcp://h:0",
		"tcp://h:65536", "tcp://h:12a", "tcp://h:", "tcp://h:123456", "tcp://h/path",
		"tcp://user:pw@h", "tcp://[::1", "tcp://[]:1", "tcp://[::1]x", "tcp://h?x=1", "",
	};

	for (size_t i = 0; i < N(ok); i++) {
		struct mqtt_url u;
		char why[160] = "";
		int rc = mqtt_url_parse(ok[i].url, &u, why, sizeof(why));

		CHECK(rc == 0, "%s accepted (%s)", ok[i].url, why);
		if (rc)
			continue;
		CHECK(streq(u.host, ok[i].host), "%s: host %s", ok[i].url, str(u.host));
		CHECK(u.port == ok[i].port, "%s: port %d", ok[i].url, u.port);
		CHECK(u.tls == ok[i].tls, "%s: tls", ok[i].url);
		mqtt_url_clear(&u);
	}
	for (size_t i = 0; i < N(bad); i++) {
		struct mqtt_url u;
		char why[160] = "";

		CHECK(mqtt_url_parse(bad[i], &u, why, sizeof(why)) == -1, "%s rejected", bad[i]);
		CHECK(why[0] != '\0', "%s: a reason", bad[i]);
		CHECK(u.host == NULL, "%s: nothing allocated", bad[i]);
	}
}

static void test_identity(void)
{
	static const char *const bad[] = {
		"", "{", "[]", "\"x\"", "{}", "{\"deviceId\":\"d\"}", "{\"tenantId\":\"t\"}",
		"{\"deviceId\":1,\"tenantId\":\"t\"}", "{\"deviceId\":\"d\",\"tenantId\":2}",
		"{\"deviceId\":\"\",\"tenantId\":\"t\"}", "{\"deviceId\":\"a/b\",\"tenantId\":\"t\"}",
		"{\"deviceId\":\"#\",\"tenantId\":\"t\"}", "{\"deviceId\":\"d\",\"tenantId\":\"t/\"}",
		"{\"deviceId\":\"d\",\"tenantId\":\"t\",\"policyId\":3}",
		"{\"deviceId\":\"d\",\"tenantId\":\"t\"} x",
	};
	struct mqtt_identity_msg msg;
	const char *good = "{\"deviceId\":\"org.eclipse.kanto:my-gw\",\"tenantId\":\"t1a2b3\","
			   "\"policyId\":\"org.eclipse.kanto:my-gw\"}\n";
	char why[128];
	char *thing;

	CU_ASSERT_EQUAL_FATAL(mqtt_identity_parse(good, strlen(good), &msg, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(msg.device_id, "org.eclipse.kanto:my-gw");
	CU_ASSERT_STRING_EQUAL(msg.tenant_id, "t1a2b3");
	CU_ASSERT_STRING_EQUAL(msg.policy_id, "org.eclipse.kanto:my-gw");
	thing = mqtt_identity_thing_id_new(msg.device_id);
	CU_ASSERT_STRING_EQUAL(thing, "org.eclipse.kanto:my-gw:edge:containers");
	free(thing);
	mqtt_identity_msg_clear(&msg);

	good = "{\"deviceId\":\"d\",\"tenantId\":\"\"}";
	CU_ASSERT_EQUAL(mqtt_identity_parse(good, strlen(good), &msg, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NULL(msg.policy_id);
	mqtt_identity_msg_clear(&msg);

	for (size_t i = 0; i < N(bad); i++) {
		why[0] = '\0';
		CHECK(mqtt_identity_parse(bad[i], strlen(bad[i]), &msg, why, sizeof(why)) == -1,
		      "'%s' rejected", bad[i]);
		CHECK(why[0] != '\0', "'%s': a reason", bad[i]);
		CHECK(!msg.device_id && !msg.tenant_id && !msg.policy_id, "'%s': nothing kept",
		      bad[i]);
	}
	/* not NUL-terminated input */
	CU_ASSERT_EQUAL(mqtt_identity_parse("{\"deviceId\":\"d\",\"tenantId\":\"t\"}XYZ", 31,
					    &msg, why, sizeof(why)), 0);
	mqtt_identity_msg_clear(&msg);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "command topics", test_parse_command },
		{ "ignored subjects", test_ignored_subjects },
		{ "reply addresses", test_reply_to },
		{ "reply topics", test_reply_topic },
		{ "short form answered in long form", test_reply_round_trip },
		{ "event topics", test_event_topic },
		{ "command filter", test_command_filter },
		{ "broker URL", test_url },
		{ "edge/thing/response", test_identity },
	};
	int failed;

	failed = unit_run("mqtt topics", NULL, NULL, tests, N(tests));
	return failed;
}
