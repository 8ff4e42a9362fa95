/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_stopall: N containers whose process ignores SIGTERM, stopped at once.
 *
 * Through berth: N createWithConfig (start: true) with
 * ["/bin/sh","-c","trap '' TERM; while :; do sleep 1; done"], then N stopWithOptions
 * {"timeout":T,"force":true} published back to back; the figure is the wall time from the
 * first command to the last answer (every container must end: the SIGKILL after T).
 * Baseline (-b): the same N containers created and started on the Engine API directly,
 * and N POST /containers/{id}/stop?t=T sent at once on N connections (curl multi) - the
 * request berth's docker backend sends for a forced SIGTERM stop.
 *
 * Usage: bench_stopall -H HOST -p PORT -t THING -s DOCKER_SOCK -i IMAGE -N N -T T [-b]
 *                      [-n NAME_PREFIX]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <mosquitto.h>

#include "bench.h"

#define CMD_IGNORE_TERM "[\"/bin/sh\",\"-c\",\"trap '' TERM; while :; do sleep 1; done\"]"
#define MAX_N 256

static struct {
	const char *host, *thing, *sock, *image, *prefix;
	int port, n, t;
	bool baseline;
} o = { .host = "127.0.0.1", .port = 1883, .n = 20, .t = 5, .prefix = "berth-bench-" };

/* ---- many commands in flight on one MQTT client ---- */

static struct {
	struct mosquitto *m;
	char res_prefix[256];
	int64_t sent_ns[MAX_N];
	int64_t answered_ns[MAX_N];
	int status[MAX_N];
	char *value[MAX_N];
	int answered;
	unsigned batch;
} mc;

static void on_answer(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	size_t plen = strlen(mc.res_prefix);
	unsigned batch;
	int i;
	char *end;

	if (strncmp(msg->topic, mc.res_prefix, plen) != 0 ||
	    sscanf(msg->topic + plen, "s%u.%d/", &batch, &i) != 2 || batch != mc.batch ||
	    i < 0 || i >= o.n || mc.answered_ns[i])
		return;
	mc.answered_ns[i] = bench_now_ns();
	end = strrchr(msg->topic, '/');
	mc.status[i] = end ? atoi(end + 1) : 0;
	if (msg->payloadlen > 0) {
		char *copy = strndup(msg->payload, (size_t)msg->payloadlen);

		mc.value[i] = answer_string_value(copy);
		free(copy);
	}
	mc.answered++;
}

static void mc_connect(void)
{
	char id[64], filter[300];
	int rc;

	snprintf(id, sizeof(id), "bench-stopall-%d", (int)getpid());
	snprintf(mc.res_prefix, sizeof(mc.res_prefix), "command//%s/res/", o.thing);
	mc.m = mosquitto_new(id, true, NULL);
	if (!mc.m)
		die("mosquitto_new failed");
	mosquitto_max_inflight_messages_set(mc.m, 0);
	/* the cloud side adds no Nagle delay of its own: what is measured is the broker
	 * and the agent */
	mosquitto_int_option(mc.m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_message_callback_set(mc.m, on_answer);
	rc = mosquitto_connect(mc.m, o.host, o.port, 60);
	if (rc != MOSQ_ERR_SUCCESS)
		die("cannot connect to %s:%d: %s", o.host, o.port, mosquitto_strerror(rc));
	snprintf(filter, sizeof(filter), "%s#", mc.res_prefix);
	mosquitto_subscribe(mc.m, NULL, filter, 1);
	for (int i = 0; i < 20; i++)
		mosquitto_loop(mc.m, 25, 1);
}

/* Publishes op for every i (container ids[i], value values[i] or value), all at once, and
 * waits for every answer. Returns the wall time first command -> last answer in ms.
 * only (may be NULL): send just where only[i] is true (the others count as answered). */
static double mc_batch_only(const char *op, char **ids, const char *value, char **values,
			    int timeout_s, const bool *only)
{
	int64_t t0 = 0, deadline;

	mc.batch++;
	mc.answered = 0;
	for (int i = 0; i < o.n; i++) {
		char req[32], topic[300], cid[64], *payload;
		int rc;

		if (only && !only[i]) {
			mc.answered++;
			continue;
		}
		mc.answered_ns[i] = 0;
		mc.status[i] = 0;
		free(mc.value[i]);
		mc.value[i] = NULL;
		snprintf(req, sizeof(req), "s%u.%d", mc.batch, i);
		snprintf(cid, sizeof(cid), "stopall-%d-%u-%d", (int)getpid(), mc.batch, i);
		ditto_topic(topic, sizeof(topic), o.thing, req, op);
		payload = ditto_command(o.thing, op, ids ? ids[i] : NULL,
					values ? values[i] : value, cid);
		mc.sent_ns[i] = bench_now_ns();
		if (!t0)
			t0 = mc.sent_ns[i];
		rc = mosquitto_publish(mc.m, NULL, topic, (int)strlen(payload), payload, 1, false);
		free(payload);
		if (rc != MOSQ_ERR_SUCCESS)
			die("publish: %s", mosquitto_strerror(rc));
	}
	deadline = t0 + (int64_t)timeout_s * 1000000000LL;
	while (mc.answered < o.n) {
		if (bench_now_ns() > deadline)
			die("%s: %d of %d answers within %d s", op, mc.answered, o.n, timeout_s);
		if (mosquitto_loop(mc.m, 100, 1) != MOSQ_ERR_SUCCESS)
			die("%s: connection to the broker lost", op);
	}
	int64_t last = 0;

	for (int i = 0; i < o.n; i++)
		if ((!only || only[i]) && mc.answered_ns[i] > last)
			last = mc.answered_ns[i];
	return (double)(last - t0) / 1e6;
}

static double mc_batch(const char *op, char **ids, const char *value, char **values,
		       int timeout_s)
{
	return mc_batch_only(op, ids, value, values, timeout_s, NULL);
}

/* Teardown: removes every container (force); a 503 (dockerd restarting) is retried. */
static void remove_all(char **ids)
{
	bool again[MAX_N];
	int left = o.n;

	for (int i = 0; i < o.n; i++)
		again[i] = true;
	for (int attempt = 0; left > 0; attempt++) {
		mc_batch_only("remove", ids, "true", NULL, 300, again);
		left = 0;
		for (int i = 0; i < o.n; i++) {
			if (!again[i])
				continue;
			if (mc.status[i] == 204 || mc.status[i] == 404) {
				again[i] = false;
			} else if (mc.status[i] != 503 || attempt >= 30) {
				die("remove %d: status %d", i, mc.status[i]);
			} else {
				left++;
			}
		}
		if (left) {
			note("stopall: %d removes answered 503 (dockerd unavailable): again in 1 s",
			     left);
			bench_sleep_ms(1000);
		}
	}
}

static void through_berth(void)
{
	char *values[MAX_N], *ids[MAX_N], stop_value[64];
	struct samples each = { 0 };
	double total;

	mc_connect();
	for (int i = 0; i < o.n; i++) {
		if (asprintf(&values[i],
			     "{\"imageRef\":\"%s\",\"name\":\"%sstop%d\",\"start\":true,"
			     "\"config\":{\"cmd\":%s}}", o.image, o.prefix, i, CMD_IGNORE_TERM) < 0)
			die("out of memory");
	}
	note("stopall: creating and starting %d containers through berth", o.n);
	total = mc_batch("create", NULL, NULL, values, 300);
	for (int i = 0; i < o.n; i++) {
		if (mc.status[i] != 200 || !mc.value[i])
			die("create %d: status %d", i, mc.status[i]);
		ids[i] = strdup(mc.value[i]);
		free(values[i]);
	}
	result("stopall.berth.create_all_ms", "%.0f", total);
	bench_sleep_ms(1000); /* every shell has set its trap */

	snprintf(stop_value, sizeof(stop_value), "{\"timeout\":%d,\"force\":true}", o.t);
	note("stopall: stopping %d containers through berth (timeout %d s, force)", o.n, o.t);
	total = mc_batch("stopWithOptions", ids, stop_value, NULL, o.t + 120);
	for (int i = 0; i < o.n; i++) {
		if (mc.status[i] != 204)
			die("stopWithOptions %d: status %d", i, mc.status[i]);
		samples_add(&each, (double)(mc.answered_ns[i] - mc.sent_ns[0]) / 1e6);
	}
	result("stopall.n", "%d", o.n);
	result("stopall.t", "%d", o.t);
	result("stopall.berth.total_ms", "%.0f", total);
	result("stopall.berth.first_ms", "%.0f", samples_pct(&each, 0.0001));
	result("stopall.berth.over_t_ms", "%.0f", total - o.t * 1000.0);

	note("stopall: removing them");
	remove_all(ids);
	for (int i = 0; i < o.n; i++)
		free(ids[i]);
	mosquitto_disconnect(mc.m);
	mosquitto_loop(mc.m, 10, 1);
	mosquitto_destroy(mc.m);
	samples_free(&each);
}

static void direct(void)
{
	char ids[MAX_N][80], target[512], body[1024];
	CURL *h[MAX_N];
	CURLM *multi;
	struct dk d;
	int64_t t0, t1;
	int running;

	dk_open(&d, o.sock);
	note("stopall: creating and starting %d containers on the Engine API", o.n);
	for (int i = 0; i < o.n; i++) {
		json_object *root, *v;
		long st;

		snprintf(body, sizeof(body),
			 "{\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"unless-stopped\","
			 "\"MaximumRetryCount\":0},\"Privileged\":false,\"NetworkMode\":\"bridge\"},"
			 "\"Image\":\"%s\",\"Cmd\":%s}", o.image, CMD_IGNORE_TERM);
		snprintf(target, sizeof(target), "/containers/create?name=%sdstop%d", o.prefix, i);
		st = dk_request(&d, "POST", target, body, 120, NULL);
		if (st != 201)
			die("direct create: HTTP %ld: %.300s", st, d.body);
		root = json_tokener_parse(d.body);
		if (!root || !json_object_object_get_ex(root, "Id", &v))
			die("direct create: no Id");
		snprintf(ids[i], sizeof(ids[i]), "%s", json_object_get_string(v));
		json_object_put(root);
		snprintf(target, sizeof(target), "/containers/%.79s/start", ids[i]);
		st = dk_request(&d, "POST", target, NULL, 120, NULL);
		if (st != 204)
			die("direct start: HTTP %ld: %.300s", st, d.body);
	}
	bench_sleep_ms(1000);

	multi = curl_multi_init();
	for (int i = 0; i < o.n; i++) {
		char url[512];

		h[i] = curl_easy_init();
		snprintf(url, sizeof(url), "http://localhost%s/containers/%s/stop?t=%d", d.prefix,
			 ids[i], o.t);
		curl_easy_setopt(h[i], CURLOPT_UNIX_SOCKET_PATH, o.sock);
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_POST, 1L);
		curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h[i], CURLOPT_TIMEOUT, (long)o.t + 120);
		curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
		curl_multi_add_handle(multi, h[i]);
	}
	note("stopall: stopping %d containers on the Engine API (t=%d)", o.n, o.t);
	t0 = bench_now_ns();
	do {
		curl_multi_perform(multi, &running);
		if (running)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	} while (running);
	t1 = bench_now_ns();
	for (int i = 0; i < o.n; i++) {
		long st = 0;

		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &st);
		if (st != 204)
			die("direct stop %d: HTTP %ld", i, st);
		curl_multi_remove_handle(multi, h[i]);
		curl_easy_cleanup(h[i]);
	}
	curl_multi_cleanup(multi);
	result("stopall.direct.total_ms", "%.0f", (double)(t1 - t0) / 1e6);
	for (int i = 0; i < o.n; i++) {
		snprintf(target, sizeof(target), "/containers/%.79s?v=1&force=1", ids[i]);
		dk_request(&d, "DELETE", target, NULL, 120, NULL);
	}
	dk_close(&d);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "H:p:t:s:i:N:T:bn:")) != -1) {
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 't': o.thing = optarg; break;
		case 's': o.sock = optarg; break;
		case 'i': o.image = optarg; break;
		case 'N': o.n = atoi(optarg); break;
		case 'T': o.t = atoi(optarg); break;
		case 'b': o.baseline = true; break;
		case 'n': o.prefix = optarg; break;
		default:
			fprintf(stderr, "usage: %s -H HOST -p PORT -t THING -s SOCK -i IMAGE -N N -T T "
				"[-b] [-n PREFIX]\n", argv[0]);
			return 2;
		}
	}
	if (!o.thing || !o.sock || !o.image)
		die("-t, -s and -i are required");
	if (o.n < 1 || o.n > MAX_N || o.t < 1)
		die("-N must be 1..%d and -T at least 1", MAX_N);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	through_berth();
	if (o.baseline)
		direct();
	return 0;
}
