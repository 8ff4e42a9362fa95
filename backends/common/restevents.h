/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restevents: the event thread of a backend whose runtime streams JSON events over
 * HTTP on a unix socket (Docker's GET /events, Podman's GET /libpod/events).
 *
 * One long-lived GET on a connection of its own, parsed incrementally (jsonutil_stream)
 * and turned into berth events by the backend's parse(). When the stream ends or fails
 * the thread reports backend_status(false), backs off (100 ms doubling to 5 s), asks the
 * backend to probe the runtime again (it may have been restarted or upgraded),
 * reconnects from <time of the last event minus 1 s> so that nothing in between is
 * missed (events already delivered are recognised by time, id and action, and dropped),
 * and reports backend_status(true) once the runtime answers the new stream with 200. The
 * same loop brings an instance whose runtime was down at open() online. stop() wakes the
 * thread through a self-pipe that the stream and the back-off both wait on, so it ends
 * within milliseconds.
 */
#ifndef BERTH_RESTEVENTS_H
#define BERTH_RESTEVENTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berth/berth.h>

#include "unixhttp.h"

#define RESTEVENTS_SEEN 256
#define RESTEVENTS_KEY_MAX 96

struct restevents_ops {
	/* Checks that the runtime answers (and learns its version); 0, or -1 with err. */
	int (*probe)(void *userdata, berth_error *err);
	/* The request target of a stream from since_ns (0: from now on).
	 * returns: malloc()ed, NULL when out of memory. */
	char *(*target)(void *userdata, int64_t since_ns);
	/* One object of the stream: fills ev (strings borrowed from obj; ev->time_ns in ns)
	 * and *action (for recognising repeats); false: not an event to report. */
	bool (*parse)(void *userdata, json_object *obj, berth_event *ev, const char **action);
	/* The runtime's words in an error answer; malloc()ed or NULL. */
	char *(*error_message)(void *userdata, const struct unixhttp_response *resp);
	/* Called after each stream ended (optional). */
	void (*after_stream)(void *userdata);
};

struct restevents {
	const struct restevents_ops *ops;
	void *userdata;
	const berth_host *host;
	berth_backend_handle *handle;
	const char *module;  /* for the log: "docker" */
	const char *runtime; /* for messages: "Docker engine", "Podman service" */
	const char *socket;
	struct unixhttp *http;
	/* the first stream asks for since=<when the thread started> rather than "from now
	 * on": for a runtime that starts following its events a moment after it answered */
	bool since_first;

	pthread_t thread;
	bool running;
	int wake[2];
	atomic_bool stop;
	atomic_bool reachable; /* last state reported through backend_status */
	int64_t last_event_ns; /* event thread only: newest event delivered */
	struct restevents_seen {
		int64_t time_ns;
		char key[RESTEVENTS_KEY_MAX]; /* "<id>/<action>" */
	} seen[RESTEVENTS_SEEN];
	size_t seen_next;
};

/* Fills r (ops, userdata, host, handle, module, runtime, socket and http are the
 * caller's, borrowed for r's life) and makes its self-pipe; 0, or -1 with errno. */
int restevents_init(struct restevents *r);
/* Stops the thread if it runs and closes the pipe. */
void restevents_release(struct restevents *r);
int restevents_start(struct restevents *r, berth_error *err);
void restevents_stop(struct restevents *r);

#endif
