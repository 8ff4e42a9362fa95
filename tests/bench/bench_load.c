/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_load: throughput and latency of the command path through mosquitto.
 *
 * P publisher clients and one subscriber (on command//THING/res/#), all MQTT 3.1.1, QoS 1,
 * driven by one thread with poll() (no thread hand-offs inside the load generator). Every
 * command's request id is "<publisher>.<seq>", so an answer on
 * command//THING/res/<publisher>.<seq>/<status> finds its publisher and send time without
 * parsing the payload; each publisher keeps its own send timestamps and correlation ids.
 *
 * Operations (-o):
 *   notfound  `stop` of an unknown container: berthd answers 404 at intake
 *   rename    `rename` of a container to its own name: through the queue and a worker,
 *             204, no runtime call. Each publisher renames a container of its own (one
 *             lane each), created first through berth (not started; -i IMAGE,
 *             named <PREFIX>load<publisher>) and removed at the end.
 *   echo      any command to a thing served by bench_echo (the broker alone), 200
 *
 * Pacing (-r RATE): open loop, command k is due at start + k/RATE, spread round-robin over
 * the publishers; behind schedule it goes out at once (the achieved send rate is
 * reported). -r 0: closed loop, each publisher keeps -w WINDOW commands outstanding (the
 * saturation rate). The run lasts -d SECONDS, then waits up to 5 s for the last answers.
 *
 * Results (key=value): <label>.sent, .answered, .lost, .unexpected (answers with another
 * status), .send_rate, .rate (answered / (last answer - first send)), .lat.p50/.p99/.max.
 *
 * Usage: bench_load -H HOST -p PORT -t THING -o OP [-i IMAGE] [-n PREFIX] [-P PUBLISHERS]
 *                   [-r RATE] [-w WINDOW] [-d SECONDS] [-l LABEL]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "bench.h"

#define MAX_PUBLISHERS 64
#define DRAIN_MS 5000

enum op { OP_NOTFOUND, OP_RENAME, OP_ECHO };

struct publisher {
	struct mosquitto *m;
	int index;
	char *id, *name;      /* rename: container id and its name */
	int64_t *sent_ns;     /* by seq; 0 once answered */
	size_t cap;
	unsigned long seq;    /* commands sent */
	unsigned long outstanding;
	bool connected;
};

static struct {
	const char *host, *thing, *label;
	int port, publishers, window;
	double rate, seconds;
	enum op op;
	int expect;
	const char *op_name;
} o = { .host = "127.0.0.1", .port = 1883, .publishers = 4, .window = 16, .rate = 5000,
	.seconds = 5, .label = "load" };

static struct publisher pubs[MAX_PUBLISHERS];
static struct mosquitto *sub;
static bool sub_ready;
static char res_prefix[256];
static struct samples lat;
static unsigned long sent, answered, unexpected, duplicates;
static int64_t first_send, last_answer;
static char unexpected_example[200];

static void on_sub_connect(struct mosquitto *m, void *obj, int rc)
{
	char filter[300];

	if (rc)
		die("subscriber: connection refused (%d)", rc);
	snprintf(filter, sizeof(filter), "%s#", res_prefix);
	mosquitto_subscribe(m, NULL, filter, 1);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int qos_count,
			 const int *granted)
{
	sub_ready = true;
}

static void on_pub_connect(struct mosquitto *m, void *obj, int rc)
{
	struct publisher *p = obj;

	if (rc)
		die("publisher %d: connection refused (%d)", p->index, rc);
	p->connected = true;
}

static void on_answer(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	size_t plen = strlen(res_prefix);
	unsigned long pi, seq;
	char *end;
	int64_t now = bench_now_ns(), t0;
	struct publisher *p;
	int status;

	if (strncmp(msg->topic, res_prefix, plen) != 0)
		return;
	pi = strtoul(msg->topic + plen, &end, 10);
	if (*end != '.' || pi >= (unsigned long)o.publishers)
		return;
	seq = strtoul(end + 1, &end, 10);
	if (*end != '/')
		return;
	status = atoi(end + 1);
	p = &pubs[pi];
	if (seq >= p->seq || !(t0 = p->sent_ns[seq])) {
		duplicates++;
		return;
	}
	p->sent_ns[seq] = 0;
	p->outstanding--;
	answered++;
	last_answer = now;
	samples_add(&lat, (double)(now - t0) / 1e6);
	if (status != o.expect) {
		if (!unexpected++)
			snprintf(unexpected_example, sizeof(unexpected_example), "%d: %.150s", status,
				 (const char *)msg->payload);
	}
}

static struct mosquitto *client(const char *what, int i, void *obj)
{
	char id[64];
	struct mosquitto *m;
	int rc;

	snprintf(id, sizeof(id), "bench-load-%s%d-%d", what, i, (int)getpid());
	m = mosquitto_new(id, true, obj);
	if (!m)
		die("mosquitto_new failed");
	/* no client-side cap on QoS 1 messages in flight: the broker's limits apply */
	mosquitto_max_inflight_messages_set(m, 0);
	/* the cloud side adds no Nagle delay of its own: what is measured is the broker
	 * and the agent */
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	rc = mosquitto_connect(m, o.host, o.port, 60);
	if (rc != MOSQ_ERR_SUCCESS)
		die("cannot connect to %s:%d: %s", o.host, o.port, mosquitto_strerror(rc));
	return m;
}

/* Services every client's socket for up to timeout_ms. */
static void pump(int timeout_ms)
{
	struct pollfd fds[MAX_PUBLISHERS + 1];
	struct mosquitto *ms[MAX_PUBLISHERS + 1];
	int n = 0, rc;

	ms[n] = sub;
	for (int i = 0; i < o.publishers; i++)
		ms[++n] = pubs[i].m;
	n++;
	for (int i = 0; i < n; i++) {
		fds[i].fd = mosquitto_socket(ms[i]);
		fds[i].events = POLLIN | (mosquitto_want_write(ms[i]) ? POLLOUT : 0);
		fds[i].revents = 0;
	}
	rc = poll(fds, (nfds_t)n, timeout_ms);
	if (rc < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = mosquitto_loop_read(ms[i], 1);
			if (rc != MOSQ_ERR_SUCCESS)
				die("connection %d lost: %s", i, mosquitto_strerror(rc));
		}
		/* answers' PUBACKs and anything a callback queued go out now */
		if (mosquitto_want_write(ms[i])) {
			rc = mosquitto_loop_write(ms[i], 1);
			if (rc != MOSQ_ERR_SUCCESS)
				die("connection %d lost: %s", i, mosquitto_strerror(rc));
		}
	}
}

static void misc_all(void)
{
	mosquitto_loop_misc(sub);
	for (int i = 0; i < o.publishers; i++)
		mosquitto_loop_misc(pubs[i].m);
}

static void send_one(struct publisher *p)
{
	static const char unknown_id[] = "00000000-0000-4000-8000-000000000000";
	char req[48], topic[300], cid[64], value[160];
	const char *opname, *container, *val;
	char *payload;
	int rc;

	if (p->seq == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		int64_t *v = realloc(p->sent_ns, cap * sizeof(*v));

		if (!v)
			die("out of memory");
		memset(v + p->cap, 0, (cap - p->cap) * sizeof(*v));
		p->sent_ns = v;
		p->cap = cap;
	}
	snprintf(req, sizeof(req), "%d.%lu", p->index, p->seq);
	snprintf(cid, sizeof(cid), "load-%d-%d-%lu", (int)getpid(), p->index, p->seq);
	switch (o.op) {
	case OP_RENAME:
		opname = "rename";
		container = p->id;
		snprintf(value, sizeof(value), "\"%s\"", p->name);
		val = value;
		break;
	case OP_NOTFOUND:
	case OP_ECHO:
	default:
		opname = "stop";
		container = unknown_id;
		val = "{}";
		break;
	}
	ditto_topic(topic, sizeof(topic), o.thing, req, opname);
	payload = ditto_command(o.thing, opname, container, val, cid);
	p->sent_ns[p->seq] = bench_now_ns();
	if (!first_send)
		first_send = p->sent_ns[p->seq];
	rc = mosquitto_publish(p->m, NULL, topic, (int)strlen(payload), payload, 1, false);
	free(payload);
	if (rc != MOSQ_ERR_SUCCESS)
		die("publisher %d: publish: %s", p->index, mosquitto_strerror(rc));
	p->seq++;
	p->outstanding++;
	sent++;
}

/* rename: one container per publisher, created through berth (not started). */
static void create_containers(const char *image, const char *prefix)
{
	struct mq q;
	const char *things[1] = { o.thing };
	char client_id[64], value[512];

	snprintf(client_id, sizeof(client_id), "bench-load-setup-%d", (int)getpid());
	mq_connect(&q, o.host, o.port, client_id, things, 1);
	for (int i = 0; i < o.publishers; i++) {
		char *answer = NULL;
		int status;

		if (asprintf(&pubs[i].name, "%sload%d", prefix, i) < 0)
			die("out of memory");
		snprintf(value, sizeof(value),
			 "{\"imageRef\":\"%s\",\"name\":\"%s\",\"start\":false,"
			 "\"config\":{\"cmd\":[\"/bin/true\"]}}", image, pubs[i].name);
		mq_command(&q, o.thing, "create", NULL, value, 120000, &status, &answer);
		if (status != 200 || !(pubs[i].id = answer_string_value(answer)))
			die("create %s: status %d: %.300s", pubs[i].name, status,
			    answer ? answer : "");
		free(answer);
	}
	mq_close(&q);
}

static void remove_containers(void)
{
	struct mq q;
	const char *things[1] = { o.thing };
	char client_id[64];

	snprintf(client_id, sizeof(client_id), "bench-load-teardown-%d", (int)getpid());
	mq_connect(&q, o.host, o.port, client_id, things, 1);
	for (int i = 0; i < o.publishers; i++) {
		mq_remove(&q, o.thing, pubs[i].id);
		free(pubs[i].id);
		free(pubs[i].name);
	}
	mq_close(&q);
}

int main(int argc, char **argv)
{
	const char *image = NULL, *prefix = "berth-bench-";
	char key[128];
	int64_t start, end, next_check = 0, deadline;
	unsigned long k = 0;
	int c;

	while ((c = getopt(argc, argv, "H:p:t:o:i:n:P:r:w:d:l:")) != -1) {
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 't': o.thing = optarg; break;
		case 'o': o.op_name = optarg; break;
		case 'i': image = optarg; break;
		case 'n': prefix = optarg; break;
		case 'P': o.publishers = atoi(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'w': o.window = atoi(optarg); break;
		case 'd': o.seconds = atof(optarg); break;
		case 'l': o.label = optarg; break;
		default:
			fprintf(stderr, "usage: %s -H HOST -p PORT -t THING -o notfound|rename|echo "
				"[-i IMAGE] [-n PREFIX] [-P N] [-r RATE] [-w WINDOW] [-d S] [-l LABEL]\n",
				argv[0]);
			return 2;
		}
	}
	if (!o.thing || !o.op_name)
		die("-t and -o are required");
	if (strcmp(o.op_name, "notfound") == 0) {
		o.op = OP_NOTFOUND;
		o.expect = 404;
	} else if (strcmp(o.op_name, "rename") == 0) {
		o.op = OP_RENAME;
		o.expect = 204;
		if (!image)
			die("-o rename needs -i IMAGE");
	} else if (strcmp(o.op_name, "echo") == 0) {
		o.op = OP_ECHO;
		o.expect = 200;
	} else {
		die("unknown operation %s", o.op_name);
	}
	if (o.publishers < 1 || o.publishers > MAX_PUBLISHERS)
		die("-P must be 1..%d", MAX_PUBLISHERS);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	if (o.op == OP_RENAME)
		create_containers(image, prefix);
	snprintf(res_prefix, sizeof(res_prefix), "command//%s/res/", o.thing);

	sub = client("sub", 0, NULL);
	mosquitto_connect_callback_set(sub, on_sub_connect);
	mosquitto_subscribe_callback_set(sub, on_subscribe);
	mosquitto_message_callback_set(sub, on_answer);
	for (int i = 0; i < o.publishers; i++) {
		pubs[i].index = i;
		pubs[i].m = client("pub", i, &pubs[i]);
		mosquitto_connect_callback_set(pubs[i].m, on_pub_connect);
	}
	deadline = bench_now_ns() + 10000000000LL;
	for (;;) {
		bool all = sub_ready;

		for (int i = 0; i < o.publishers; i++)
			all = all && pubs[i].connected;
		if (all)
			break;
		if (bench_now_ns() > deadline)
			die("clients did not connect/subscribe within 10 s");
		pump(50);
	}

	start = bench_now_ns();
	end = start + (int64_t)(o.seconds * 1e9);
	for (;;) {
		int64_t now = bench_now_ns();
		int timeout = 0;

		if (now >= end)
			break;
		if (o.rate > 0) {
			/* open loop: everything due by now goes out */
			while (k < (unsigned long)((double)(now - start) / 1e9 * o.rate) + 1) {
				send_one(&pubs[k % (unsigned long)o.publishers]);
				k++;
			}
			int64_t next_due = start + (int64_t)((double)k / o.rate * 1e9);

			timeout = next_due > now ? (int)((next_due - now) / 1000000) : 0;
		} else {
			for (int i = 0; i < o.publishers; i++)
				while (pubs[i].outstanding < (unsigned long)o.window)
					send_one(&pubs[i]);
			timeout = 100;
		}
		pump(timeout);
		if (now >= next_check) {
			misc_all();
			next_check = now + 500000000LL;
		}
	}
	end = bench_now_ns();
	deadline = end + (int64_t)DRAIN_MS * 1000000LL;
	while (answered < sent && bench_now_ns() < deadline) {
		pump(50);
		misc_all();
	}

#define R(suffix, ...) do { snprintf(key, sizeof(key), "%s.%s", o.label, suffix); \
			    result(key, __VA_ARGS__); } while (0)
	R("publishers", "%d", o.publishers);
	R("offered", "%.0f", o.rate);
	R("window", "%d", o.rate > 0 ? 0 : o.window);
	R("seconds", "%.1f", o.seconds);
	R("sent", "%lu", sent);
	R("answered", "%lu", answered);
	R("lost", "%lu", sent - answered);
	R("unexpected", "%lu", unexpected);
	R("duplicates", "%lu", duplicates);
	R("send_rate", "%.0f", (double)sent / ((double)(end - start) / 1e9));
	R("rate", "%.0f", last_answer > first_send ?
		  (double)answered / ((double)(last_answer - first_send) / 1e9) : 0.0);
	snprintf(key, sizeof(key), "%s.lat", o.label);
	result_samples(key, &lat);
	if (unexpected)
		note("%s: %lu answers with an unexpected status, e.g. %s", o.label, unexpected,
		     unexpected_example);
	note("%s: sent %lu, answered %lu in %.1f s", o.label, sent, answered, o.seconds);

	mosquitto_disconnect(sub);
	for (int i = 0; i < o.publishers; i++)
		mosquitto_disconnect(pubs[i].m);
	pump(10);
	mosquitto_destroy(sub);
	for (int i = 0; i < o.publishers; i++) {
		mosquitto_destroy(pubs[i].m);
		free(pubs[i].sent_ns);
	}
	if (o.op == OP_RENAME)
		remove_containers();
	mosquitto_lib_cleanup();
	return 0;
}
