/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the benchmark programs (bench.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "bench.h"

/* ---- time ---- */

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void bench_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- samples ---- */

void samples_add(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			die("out of memory");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
	s->sorted = false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double samples_pct(struct samples *s, double q)
{
	size_t rank;

	if (!s->n)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
		s->sorted = true;
	}
	rank = (size_t)ceil(q * (double)s->n);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

double samples_max(struct samples *s)
{
	return samples_pct(s, 1.0);
}

void samples_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- output ---- */

void result(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s=", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void result_samples(const char *key, struct samples *s)
{
	char k[256];

	snprintf(k, sizeof(k), "%s.n", key);
	result(k, "%zu", s->n);
	snprintf(k, sizeof(k), "%s.p50", key);
	result(k, "%.3f", samples_pct(s, 0.50));
	snprintf(k, sizeof(k), "%s.p95", key);
	result(k, "%.3f", samples_pct(s, 0.95));
	snprintf(k, sizeof(k), "%s.p99", key);
	result(k, "%.3f", samples_pct(s, 0.99));
	snprintf(k, sizeof(k), "%s.max", key);
	result(k, "%.3f", samples_max(s));
}

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- Ditto envelopes ---- */

void ditto_topic(char *buf, size_t n, const char *thing, const char *req_id, const char *op)
{
	if (snprintf(buf, n, "command//%s/req/%s/%s", thing, req_id, op) >= (int)n)
		die("topic too long");
}

char *ditto_command(const char *thing, const char *op, const char *container_id,
		    const char *value_json, const char *correlation_id)
{
	char ns[128], feature_path[256], *out = NULL;
	const char *colon = strchr(thing, ':');
	int n;

	/* "edge:device" -> "edge/device" (Ditto topic: <namespace>/<name>) */
	if (!colon || snprintf(ns, sizeof(ns), "%.*s/%s", (int)(colon - thing), thing,
			       colon + 1) >= (int)sizeof(ns))
		die("thing id \"%s\" is not <namespace>:<name>", thing);
	if (container_id)
		n = snprintf(feature_path, sizeof(feature_path),
			     "/features/Container:%s/inbox/messages/%s", container_id, op);
	else
		n = snprintf(feature_path, sizeof(feature_path),
			     "/features/ContainerFactory/inbox/messages/createWithConfig");
	if (n >= (int)sizeof(feature_path))
		die("feature path too long");
	n = asprintf(&out,
		     "{\"topic\":\"%s/things/live/messages/%s\",\"headers\":{\"correlation-id\":"
		     "\"%s\",\"response-required\":true%s},\"path\":\"%s\"%s%s}",
		     ns, op, correlation_id,
		     value_json ? ",\"content-type\":\"application/json\"" : "", feature_path,
		     value_json ? ",\"value\":" : "", value_json ? value_json : "");
	if (n < 0)
		die("out of memory");
	return out;
}

/* ---- synchronous MQTT command client ---- */

void mq_lib_init(void)
{
	mosquitto_lib_init();
}

static void mq_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct mq *q = obj;
	size_t plen = strlen(q->res_prefix);
	const char *rest, *slash;

	/* command//<thing>/res/<reqId>/<status>: the thing is checked by the prefix of
	 * whichever subscription matched; find "/res/" */
	rest = strstr(msg->topic, "/res/");
	if (!rest || !q->want[0])
		return;
	rest += 5;
	slash = strchr(rest, '/');
	if (!slash || (size_t)(slash - rest) != strlen(q->want) ||
	    strncmp(rest, q->want, (size_t)(slash - rest)) != 0)
		return;
	(void)plen;
	q->status = atoi(slash + 1);
	free(q->payload);
	q->payload = malloc((size_t)msg->payloadlen + 1);
	if (!q->payload)
		die("out of memory");
	memcpy(q->payload, msg->payload, (size_t)msg->payloadlen);
	q->payload[msg->payloadlen] = '\0';
	q->got = true;
}

void mq_connect(struct mq *q, const char *host, int port, const char *client_id,
		const char *const *things, size_t n_things)
{
	int rc;

	memset(q, 0, sizeof(*q));
	snprintf(q->tag, sizeof(q->tag), "%x", (unsigned)(bench_now_ns() & 0xfffff));
	q->m = mosquitto_new(client_id, true, q);
	if (!q->m)
		die("mosquitto_new failed");
	mosquitto_message_callback_set(q->m, mq_on_message);
	/* the cloud side adds no Nagle delay of its own: what is measured is the broker
	 * and the agent */
	mosquitto_int_option(q->m, MOSQ_OPT_TCP_NODELAY, 1);
	rc = mosquitto_connect(q->m, host, port, 30);
	if (rc != MOSQ_ERR_SUCCESS)
		die("cannot connect to the broker at %s:%d: %s", host, port, mosquitto_strerror(rc));
	for (size_t i = 0; i < n_things; i++) {
		char filter[256];

		snprintf(filter, sizeof(filter), "command//%s/res/#", things[i]);
		rc = mosquitto_subscribe(q->m, NULL, filter, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			die("subscribe %s: %s", filter, mosquitto_strerror(rc));
	}
	/* let CONNACK and SUBACKs arrive */
	for (int i = 0; i < 20; i++)
		mosquitto_loop(q->m, 25, 1);
}

double mq_command(struct mq *q, const char *thing, const char *op, const char *container_id,
		  const char *value_json, int timeout_ms, int *status, char **answer)
{
	char topic[512], cid[64];
	char *payload;
	int64_t t0, t1, deadline;
	int rc;

	snprintf(q->want, sizeof(q->want), "b%s-%u", q->tag, ++q->seq);
	snprintf(cid, sizeof(cid), "bench-%s-%u", q->tag, q->seq);
	ditto_topic(topic, sizeof(topic), thing, q->want, op);
	payload = ditto_command(thing, op, container_id, value_json, cid);
	q->got = false;
	t0 = bench_now_ns();
	rc = mosquitto_publish(q->m, NULL, topic, (int)strlen(payload), payload, 1, false);
	if (rc != MOSQ_ERR_SUCCESS)
		die("publish %s: %s", topic, mosquitto_strerror(rc));
	deadline = t0 + (int64_t)timeout_ms * 1000000LL;
	while (!q->got) {
		int64_t left = (deadline - bench_now_ns()) / 1000000LL;

		if (left <= 0)
			die("no answer to %s within %d ms", topic, timeout_ms);
		rc = mosquitto_loop(q->m, left > 100 ? 100 : (int)left + 1, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			note("mqtt: %s; reconnecting", mosquitto_strerror(rc));
			bench_sleep_ms(100);
			mosquitto_reconnect(q->m);
		}
	}
	t1 = bench_now_ns();
	q->want[0] = '\0';
	free(payload);
	*status = q->status;
	if (answer) {
		*answer = q->payload;
		q->payload = NULL;
	}
	return (double)(t1 - t0) / 1e6;
}

void mq_remove(struct mq *q, const char *thing, const char *container_id)
{
	int status = 0;

	for (int attempt = 0; attempt < 30; attempt++) {
		mq_command(q, thing, "remove", container_id, "true", 120000, &status, NULL);
		if (status == 204 || status == 404)
			return;
		if (status != 503)
			break;
		note("remove %s: 503 (dockerd unavailable): again in 1 s", container_id);
		bench_sleep_ms(1000);
	}
	die("remove %s: status %d", container_id, status);
}

void mq_close(struct mq *q)
{
	if (!q->m)
		return;
	mosquitto_disconnect(q->m);
	mosquitto_loop(q->m, 10, 1);
	mosquitto_destroy(q->m);
	free(q->payload);
	memset(q, 0, sizeof(*q));
}

char *answer_string_value(const char *answer)
{
	json_object *root = answer ? json_tokener_parse(answer) : NULL, *v;
	char *out = NULL;

	if (root && json_object_object_get_ex(root, "value", &v) &&
	    json_object_is_type(v, json_type_string))
		out = strdup(json_object_get_string(v));
	json_object_put(root);
	return out;
}

/* ---- Docker Engine API ---- */

static size_t dk_on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct dk *d = userdata;
	size_t len = size * nmemb, room = sizeof(d->body) - 1 - d->body_len;

	if (len > room) {
		d->truncated = true;
		len = room;
	}
	memcpy(d->body + d->body_len, data, len);
	d->body_len += len;
	d->body[d->body_len] = '\0';
	return size * nmemb;
}

void dk_open(struct dk *d, const char *sock)
{
	json_object *root, *v;
	long status;
	int minor;

	memset(d, 0, sizeof(*d));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	d->curl = curl_easy_init();
	if (!d->curl)
		die("curl_easy_init failed");
	snprintf(d->sock, sizeof(d->sock), "%s", sock);
	/* the API version berth's docker backend speaks: min(ApiVersion, 1.47) */
	status = dk_request(d, "GET", "/version", NULL, 10, NULL);
	if (status != 200)
		die("GET /version on %s: HTTP %ld", sock, status);
	root = json_tokener_parse(d->body);
	if (!root || !json_object_object_get_ex(root, "ApiVersion", &v) ||
	    sscanf(json_object_get_string(v), "1.%d", &minor) != 1)
		die("GET /version on %s: no ApiVersion", sock);
	json_object_put(root);
	if (minor > 47)
		minor = 47;
	d->api_minor = minor;
	snprintf(d->prefix, sizeof(d->prefix), "/v1.%d", minor);
}

long dk_request(struct dk *d, const char *method, const char *target, const char *json_body,
		long timeout_s, double *ms)
{
	CURL *h = d->curl;
	struct curl_slist *headers = NULL;
	char url[1024];
	long status = 0;
	int64_t t0, t1;
	CURLcode rc;

	if (snprintf(url, sizeof(url), "http://localhost%s%s",
		     strcmp(target, "/version") == 0 ? "" : d->prefix, target) >= (int)sizeof(url))
		die("URL too long");
	curl_easy_reset(h); /* keeps the connection */
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dk_on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, d);
	headers = curl_slist_append(headers, "Expect:");
	if (json_body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json_body));
	}
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		if (!json_body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		}
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	d->body_len = 0;
	d->body[0] = '\0';
	d->truncated = false;
	t0 = bench_now_ns();
	rc = curl_easy_perform(h);
	t1 = bench_now_ns();
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK)
		die("Docker %s %s: %s", method, target, curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (ms)
		*ms = (double)(t1 - t0) / 1e6;
	return status;
}

void dk_close(struct dk *d)
{
	if (d->curl)
		curl_easy_cleanup(d->curl);
	d->curl = NULL;
}

int dk_remove_prefixed(struct dk *d, const char *prefix)
{
	char filter[512], *esc, target[1024];
	json_object *list;
	int removed = 0;
	size_t n;

	snprintf(filter, sizeof(filter), "{\"name\":[\"%s\"]}", prefix);
	esc = curl_easy_escape(d->curl, filter, 0);
	snprintf(target, sizeof(target), "/containers/json?all=1&filters=%s", esc);
	curl_free(esc);
	if (dk_request(d, "GET", target, NULL, 30, NULL) != 200)
		return 0;
	list = json_tokener_parse(d->body);
	n = list && json_object_is_type(list, json_type_array) ? json_object_array_length(list)
								: 0;
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(list, i), *names, *id;
		const char *name;
		bool ours = false;

		if (!json_object_object_get_ex(c, "Names", &names) ||
		    !json_object_object_get_ex(c, "Id", &id))
			continue;
		/* Docker's name filter is a substring match: check the prefix */
		for (size_t k = 0; k < json_object_array_length(names); k++) {
			name = json_object_get_string(json_object_array_get_idx(names, k));
			if (name && name[0] == '/' && strncmp(name + 1, prefix, strlen(prefix)) == 0)
				ours = true;
		}
		if (!ours)
			continue;
		snprintf(target, sizeof(target), "/containers/%s?v=1&force=1",
			 json_object_get_string(id));
		if (dk_request(d, "DELETE", target, NULL, 60, NULL) / 100 == 2)
			removed++;
	}
	json_object_put(list);
	return removed;
}
