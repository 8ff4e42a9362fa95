/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_overhead: what a command through berth costs beside the same operation through
 * the Docker Engine API, in one run.
 *
 * 1. K cycles of create -> start -> stop -> remove on the local image, alternating a
 *    cycle through berth (MQTT command -> MQTT answer) and a cycle through the Engine API
 *    directly (libcurl on the unix socket, one kept-alive connection: the same library and
 *    request berth's docker backend sends). Odd cycles run the direct cycle first, so that
 *    a drift of the machine hits both sides alike. Every operation is timed on its own;
 *    the pauses between operations are not timed. The container's process ends at once on
 *    SIGTERM (`trap 'exit 0' TERM; sleep 3600 & wait`): `stop` measures the agent and
 *    Docker, not a timeout. berth's plain `stop` is Docker's native stop (SIGTERM, t=30,
 *    SIGKILL): the direct side sends the same POST /containers/{id}/stop?t=30.
 *    Per operation: p50/p95 of each side, the ratio of the p50s, and the medians of the
 *    paired ratios and differences (berth against direct within one cycle pair: the pair
 *    shares the machine's state of the moment, so these two are the robust figures).
 * 2. Round trips that do not touch the runtime, R times each, interleaved:
 *    - broker only: a command to a thing served by bench_echo (publish -> echo);
 *    - 404 at intake: an operation on an unknown container (answered by the transport
 *      thread: decode, route, lookup);
 *    - rename to the same name: through the queue and a worker, 204, no Docker call.
 *    The agent's own time per command = (berth round trip) - (broker-only round trip).
 *
 * Usage: bench_overhead -H HOST -p PORT -t THING -e ECHO_THING -s DOCKER_SOCK -i IMAGE
 *                       [-k CYCLES] [-r ROUNDTRIPS] [-n NAME_PREFIX]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

#define CMD_JSON "[\"/bin/sh\",\"-c\",\"trap 'exit 0' TERM; sleep 3600 & wait\"]"
#define SETTLE_MS 150 /* after start, before stop: the shell must have set its trap */
#define OP_TIMEOUT_MS 120000

enum { OP_CREATE, OP_START, OP_STOP, OP_REMOVE, N_OPS };
static const char *const op_names[N_OPS] = { "create", "start", "stop", "remove" };

static struct opts {
	const char *host, *thing, *echo_thing, *sock, *image, *prefix;
	int port, cycles, roundtrips;
} o = { .host = "127.0.0.1", .port = 1883, .cycles = 20, .roundtrips = 500,
	.prefix = "berth-bench-" };

static struct mq q;
static struct dk d;
static struct samples berth_ms[N_OPS], direct_ms[N_OPS], diff_ms[N_OPS], ratio[N_OPS];
static double last_berth[N_OPS], last_direct[N_OPS];

static void expect(int status, int want, const char *what, const char *answer)
{
	if (status != want)
		die("%s: status %d (expected %d): %.400s", what, status, want,
		    answer ? answer : "");
}

/* One cycle through berth; times into last_berth[]. */
static void berth_cycle(int i)
{
	char value[1024], *answer = NULL, *id;
	int status;

	snprintf(value, sizeof(value),
		 "{\"imageRef\":\"%s\",\"name\":\"%sb%d\",\"start\":false,\"config\":{\"cmd\":%s}}",
		 o.image, o.prefix, i, CMD_JSON);
	last_berth[OP_CREATE] = mq_command(&q, o.thing, "create", NULL, value, OP_TIMEOUT_MS,
					   &status, &answer);
	expect(status, 200, "berth create", answer);
	id = answer_string_value(answer);
	if (!id)
		die("berth create: no id in %.400s", answer);
	free(answer);
	answer = NULL;

	last_berth[OP_START] = mq_command(&q, o.thing, "start", id, NULL, OP_TIMEOUT_MS, &status,
					  &answer);
	expect(status, 204, "berth start", answer);
	free(answer);
	bench_sleep_ms(SETTLE_MS);
	last_berth[OP_STOP] = mq_command(&q, o.thing, "stop", id, "{}", OP_TIMEOUT_MS, &status,
					 &answer);
	expect(status, 204, "berth stop", answer);
	free(answer);
	last_berth[OP_REMOVE] = mq_command(&q, o.thing, "remove", id, "false", OP_TIMEOUT_MS,
					   &status, &answer);
	expect(status, 204, "berth remove", answer);
	free(answer);
	free(id);
}

/* The same cycle on the Engine API; times into last_direct[]. The create body is the one
 * berth's docker backend builds for this createWithConfig (docker_spec.c). */
static void direct_cycle(int i)
{
	char target[512], body[1024], id[80];
	json_object *root, *v;
	long status;

	snprintf(body, sizeof(body),
		 "{\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"unless-stopped\","
		 "\"MaximumRetryCount\":0},\"Privileged\":false,\"NetworkMode\":\"bridge\"},"
		 "\"Labels\":{\"berth.bench\":\"%d\"},\"Image\":\"%s\",\"Cmd\":%s}",
		 i, o.image, CMD_JSON);
	snprintf(target, sizeof(target), "/containers/create?name=%sd%d", o.prefix, i);
	status = dk_request(&d, "POST", target, body, 120, &last_direct[OP_CREATE]);
	if (status != 201)
		die("direct create: HTTP %ld: %.400s", status, d.body);
	root = json_tokener_parse(d.body);
	if (!root || !json_object_object_get_ex(root, "Id", &v))
		die("direct create: no Id in %.400s", d.body);
	snprintf(id, sizeof(id), "%s", json_object_get_string(v));
	json_object_put(root);

	snprintf(target, sizeof(target), "/containers/%s/start", id);
	status = dk_request(&d, "POST", target, NULL, 120, &last_direct[OP_START]);
	if (status != 204)
		die("direct start: HTTP %ld: %.400s", status, d.body);
	bench_sleep_ms(SETTLE_MS);
	/* berth's plain stop: API >= 1.42 carries the signal too (docker_ops.c) */
	if (d.api_minor >= 42)
		snprintf(target, sizeof(target), "/containers/%s/stop?t=30&signal=15", id);
	else
		snprintf(target, sizeof(target), "/containers/%s/stop?t=30", id);
	status = dk_request(&d, "POST", target, NULL, 120, &last_direct[OP_STOP]);
	if (status != 204)
		die("direct stop: HTTP %ld: %.400s", status, d.body);
	snprintf(target, sizeof(target), "/containers/%s?v=1", id);
	status = dk_request(&d, "DELETE", target, NULL, 120, &last_direct[OP_REMOVE]);
	if (status != 204)
		die("direct remove: HTTP %ld: %.400s", status, d.body);
}

static void cycles(void)
{
	char key[64];

	/* one untimed pair: warms dockerd, both connections and berth's handle pool */
	berth_cycle(-1);
	direct_cycle(-1);
	for (int i = 0; i < o.cycles; i++) {
		if (i % 2 == 0) {
			berth_cycle(i);
			direct_cycle(i);
		} else {
			direct_cycle(i);
			berth_cycle(i);
		}
		for (int k = 0; k < N_OPS; k++) {
			samples_add(&berth_ms[k], last_berth[k]);
			samples_add(&direct_ms[k], last_direct[k]);
			samples_add(&diff_ms[k], last_berth[k] - last_direct[k]);
			samples_add(&ratio[k], last_berth[k] / last_direct[k]);
			if (last_berth[k] > 5000 || last_direct[k] > 5000)
				note("cycle %d: %s took %.0f ms (berth) / %.0f ms (direct)", i,
				     op_names[k], last_berth[k], last_direct[k]);
		}
		if ((i + 1) % 5 == 0)
			note("overhead: %d/%d cycles", i + 1, o.cycles);
	}
	for (int k = 0; k < N_OPS; k++) {
		snprintf(key, sizeof(key), "ovh.%s.berth", op_names[k]);
		result_samples(key, &berth_ms[k]);
		snprintf(key, sizeof(key), "ovh.%s.direct", op_names[k]);
		result_samples(key, &direct_ms[k]);
		snprintf(key, sizeof(key), "ovh.%s.diff", op_names[k]);
		result_samples(key, &diff_ms[k]);
		snprintf(key, sizeof(key), "ovh.%s.ratio.p50", op_names[k]);
		result(key, "%.4f", samples_pct(&ratio[k], 0.5));
	}
	result("ovh.cycles", "%d", o.cycles);
}

static void roundtrips(void)
{
	static const char unknown_id[] = "00000000-0000-4000-8000-000000000000";
	struct samples echo = { 0 }, notfound = { 0 }, rename = { 0 };
	char value[256], name[128], *answer = NULL, *id;
	int status;
	double ms;

	snprintf(name, sizeof(name), "%sprobe", o.prefix);
	snprintf(value, sizeof(value),
		 "{\"imageRef\":\"%s\",\"name\":\"%s\",\"start\":false,\"config\":{\"cmd\":%s}}",
		 o.image, name, CMD_JSON);
	mq_command(&q, o.thing, "create", NULL, value, OP_TIMEOUT_MS, &status, &answer);
	expect(status, 200, "berth create (probe)", answer);
	id = answer_string_value(answer);
	free(answer);
	if (!id)
		die("berth create (probe): no id");
	snprintf(value, sizeof(value), "\"%s\"", name);
	for (int i = -20; i < o.roundtrips; i++) { /* 20 untimed rounds first */
		for (int k = 0; k < 3; k++) {
			switch ((i + k) % 3) {
			case 0:
				ms = mq_command(&q, o.echo_thing, "stop", unknown_id, "{}", 10000,
						&status, NULL);
				expect(status, 200, "echo", NULL);
				if (i >= 0)
					samples_add(&echo, ms);
				break;
			case 1:
				ms = mq_command(&q, o.thing, "stop", unknown_id, "{}", 10000, &status,
						NULL);
				expect(status, 404, "stop of an unknown container", NULL);
				if (i >= 0)
					samples_add(&notfound, ms);
				break;
			default:
				ms = mq_command(&q, o.thing, "rename", id, value, 10000, &status,
						NULL);
				expect(status, 204, "rename to the same name", NULL);
				if (i >= 0)
					samples_add(&rename, ms);
				break;
			}
		}
	}
	result_samples("rtt.echo", &echo);
	result_samples("rtt.notfound", &notfound);
	result_samples("rtt.rename", &rename);
	mq_remove(&q, o.thing, id);
	free(id);
}

int main(int argc, char **argv)
{
	const char *things[2];
	char client_id[64];
	int c;

	while ((c = getopt(argc, argv, "H:p:t:e:s:i:k:r:n:")) != -1) {
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 't': o.thing = optarg; break;
		case 'e': o.echo_thing = optarg; break;
		case 's': o.sock = optarg; break;
		case 'i': o.image = optarg; break;
		case 'k': o.cycles = atoi(optarg); break;
		case 'r': o.roundtrips = atoi(optarg); break;
		case 'n': o.prefix = optarg; break;
		default:
			fprintf(stderr, "usage: %s -H HOST -p PORT -t THING -e ECHO_THING -s SOCK "
				"-i IMAGE [-k CYCLES] [-r ROUNDTRIPS] [-n PREFIX]\n", argv[0]);
			return 2;
		}
	}
	if (!o.thing || !o.echo_thing || !o.sock || !o.image)
		die("-t, -e, -s and -i are required");
	signal(SIGPIPE, SIG_IGN);
	mq_lib_init();
	dk_open(&d, o.sock);
	result("docker.api", "1.%d", d.api_minor);
	things[0] = o.thing;
	things[1] = o.echo_thing;
	snprintf(client_id, sizeof(client_id), "bench-overhead-%d", (int)getpid());
	mq_connect(&q, o.host, o.port, client_id, things, 2);
	if (o.roundtrips > 0)
		roundtrips();
	if (o.cycles > 0)
		cycles();
	mq_close(&q);
	dk_close(&d);
	return 0;
}
