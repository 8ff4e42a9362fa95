/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the benchmark programs share: clocks, samples and percentiles, result lines,
 * Ditto command envelopes, a synchronous MQTT command client (one request at a time,
 * no thread: publish, then run libmosquitto's loop in the caller until the answer) and a
 * Docker Engine API client on the unix socket (libcurl, one kept-alive connection).
 *
 * Results go to stdout as "key=value" lines (tests/bench/run.sh collects them); progress
 * and errors go to stderr.
 */
#ifndef BERTH_BENCH_H
#define BERTH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosquitto.h>

/* ---- time ---- */
int64_t bench_now_ns(void);
void bench_sleep_ms(long ms);

/* ---- samples (milliseconds) ---- */
struct samples {
	double *v;
	size_t n, cap;
	bool sorted;
};
void samples_add(struct samples *s, double ms);
/* nearest-rank percentile, q in (0, 1]; 0 when empty */
double samples_pct(struct samples *s, double q);
double samples_max(struct samples *s);
void samples_free(struct samples *s);

/* ---- output ---- */
void result(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "key.p50", "key.p95", "key.p99", "key.n" */
void result_samples(const char *key, struct samples *s);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Ditto envelopes ---- */
/* The command topic "command//<thing>/req/<req_id>/<op>" into buf. */
void ditto_topic(char *buf, size_t n, const char *thing, const char *req_id, const char *op);
/* A command envelope for feature Container:<id> (or ContainerFactory when id is NULL,
 * with path .../createWithConfig); value_json is inserted verbatim (NULL: no value).
 * returns: malloc()ed, caller frees. */
char *ditto_command(const char *thing, const char *op, const char *container_id,
		    const char *value_json, const char *correlation_id);

/* ---- synchronous MQTT command client ---- */
struct mq {
	struct mosquitto *m;
	char res_prefix[256]; /* "command//<thing>/res/" */
	char want[128];       /* request id of the pending request */
	bool got;
	int status;
	char *payload;        /* the answer's payload, malloc()ed */
	unsigned seq;
	char tag[16];
};
void mq_lib_init(void);
/* Connects (clean session) and subscribes to the answers of each thing in things[]. */
void mq_connect(struct mq *q, const char *host, int port, const char *client_id,
		const char *const *things, size_t n_things);
/* Publishes one command (QoS 1) and waits for its answer; returns the round trip in ms
 * and fills *status (and *answer, malloc()ed, when not NULL). Dies after timeout_ms. */
double mq_command(struct mq *q, const char *thing, const char *op, const char *container_id,
		  const char *value_json, int timeout_ms, int *status, char **answer);
/* Teardown: `remove` (force) of a container, retried while berthd answers 503 (dockerd
 * restarting); dies on any other failure. */
void mq_remove(struct mq *q, const char *thing, const char *container_id);
void mq_close(struct mq *q);
/* The "value" string of an answer envelope (create: the container id), or NULL.
 * returns: malloc()ed, caller frees. */
char *answer_string_value(const char *answer);

/* ---- Docker Engine API over the unix socket ---- */
struct dk {
	void *curl; /* CURL *, one kept-alive connection */
	char sock[256];
	char prefix[16]; /* "/v1.41" */
	int api_minor;
	char body[65536];
	size_t body_len;
	bool truncated;
};
void dk_open(struct dk *d, const char *sock);
/* One request; returns the HTTP status (dies on a transport failure); the response body
 * is in d->body. *ms (if not NULL) gets the wall time of the request. */
long dk_request(struct dk *d, const char *method, const char *target, const char *json_body,
		long timeout_s, double *ms);
void dk_close(struct dk *d);
/* Removes (force) every container whose name starts with prefix; returns how many. */
int dk_remove_prefixed(struct dk *d, const char *prefix);

#endif
