/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_echo: the broker's share of a command round trip. A trivial responder for thing
 * THING: every command on command//THING/req/<reqId>/<op> is answered at once on
 * command//THING/res/<reqId>/200 with a fixed Ditto response of the size of berth's
 * answers (QoS 1, as berth answers). Nothing is parsed, so a round trip through it is
 * publish -> broker -> responder -> broker -> subscriber, the floor under any agent.
 *
 * Usage: bench_echo -H HOST -p PORT -t THING      (runs until SIGTERM/SIGINT)
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

static volatile sig_atomic_t done;
static char prefix[256]; /* "command//<thing>/req/" */
static char res_prefix[256];
static unsigned long answered;

/* about the size of berth's 404 answer */
static const char answer[] =
	"{\"topic\":\"bench/echo/things/live/messages/stop\",\"headers\":{\"correlation-id\":"
	"\"bench-echo\",\"content-type\":\"application/json\"},\"path\":\"/features/Container:"
	"00000000-0000-4000-8000-000000000000/outbox/messages/stop\",\"value\":{\"status\":200,"
	"\"message\":\"echo\"},\"status\":200}";

static void on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	char filter[300];

	if (rc)
		return;
	snprintf(filter, sizeof(filter), "%s#", prefix);
	mosquitto_subscribe(m, NULL, filter, 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	size_t plen = strlen(prefix);
	const char *req, *slash;
	char topic[512];

	if (strncmp(msg->topic, prefix, plen) != 0)
		return;
	req = msg->topic + plen;
	slash = strchr(req, '/');
	if (!slash)
		return;
	if (snprintf(topic, sizeof(topic), "%s%.*s/200", res_prefix, (int)(slash - req), req) >=
	    (int)sizeof(topic))
		return;
	if (mosquitto_publish(m, NULL, topic, (int)sizeof(answer) - 1, answer, 1, false) ==
	    MOSQ_ERR_SUCCESS)
		answered++;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *thing = NULL;
	struct mosquitto *m;
	char client_id[64];
	int port = 1883, c, rc;

	while ((c = getopt(argc, argv, "H:p:t:")) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 't': thing = optarg; break;
		default:
			fprintf(stderr, "usage: %s -H HOST -p PORT -t THING\n", argv[0]);
			return 2;
		}
	}
	if (!thing) {
		fprintf(stderr, "bench_echo: -t THING is required\n");
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "command//%s/req/", thing);
	snprintf(res_prefix, sizeof(res_prefix), "command//%s/res/", thing);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	snprintf(client_id, sizeof(client_id), "bench-echo-%d", (int)getpid());
	m = mosquitto_new(client_id, true, NULL);
	if (!m)
		return 1;
	mosquitto_max_inflight_messages_set(m, 0);
	/* the cloud side adds no Nagle delay of its own: what is measured is the broker
	 * and the agent */
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_message_callback_set(m, on_message);
	rc = mosquitto_connect(m, host, port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_echo: cannot connect to %s:%d: %s\n", host, port,
			mosquitto_strerror(rc));
		return 1;
	}
	while (!done) {
		rc = mosquitto_loop(m, 200, 1);
		if (rc != MOSQ_ERR_SUCCESS && !done) {
			sleep(1);
			mosquitto_reconnect(m);
		}
	}
	fprintf(stderr, "bench_echo: %lu answers\n", answered);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}
