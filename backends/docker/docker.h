/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: what the files of backends/docker share.
 *
 *   docker.c             driver table, module entry points, open/close, settings,
 *                        capabilities, ping
 *   docker_api.c         API version negotiation, versioned requests, HTTP status and
 *                        transport failures -> berth error codes
 *   docker_ops.c         the container operations
 *   docker_spec.c        berth_container_spec -> create body, berth_update -> update body
 *   docker_info.c        inspect JSON -> berth_container_info
 *   docker_names.c       Docker's container-name rule, image references
 *   docker_pull.c        pulling a missing image (progress stream)
 *   docker_events.c      the event stream (GET /events) on backends/common/restevents
 */
#ifndef BERTH_DOCKER_H
#define BERTH_DOCKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berth/berth.h>

#include "jsonutil.h"
#include "restevents.h"
#include "unixhttp.h"

#define DOCKER_MODULE "docker"

/* API versions this backend speaks: the lowest it accepts and the highest it was written
 * for (Engine 27.x). Between the two only stop?signal= (>= 1.42) changes what we send. */
#define DOCKER_API_MIN_MINOR 41
#define DOCKER_API_MAX_MINOR 47
#define DOCKER_API_STOP_SIGNAL_MINOR 42

#define DOCKER_DEFAULT_SOCKET "/run/docker.sock"
#define DOCKER_DEFAULT_TIMEOUT_S 30
#define DOCKER_DEFAULT_STOP_GRACE_S 10
#define DOCKER_POOL_MAX 2 /* idle keep-alive connections kept (one fd each) */
#define DOCKER_OPEN_PROBE_MS 5000 /* open() asks dockerd at most this long */

struct docker {
	const berth_host *host;
	berth_backend_handle *handle;

	/* settings (fixed after open) */
	char *socket;        /* filesystem path of the API socket */
	int pinned_minor;    /* api_version = "1.NN" pinned, else 0: negotiate */
	int timeout_s;
	bool pull;
	int stop_grace_s;

	struct unixhttp *http;

	/* negotiated API version: 0 = unknown (negotiate before the next request) */
	pthread_mutex_t lock;
	int api_minor;
	int logged_minor;     /* the version last reported in the log */
	char *engine_version; /* "20.10.24+dfsg1", under lock; malloc()ed */

	struct restevents events; /* the event thread (docker_events.c) */
};

/* docker.c */
void docker_log(const struct docker *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* docker_api.c */
/* "1.41" -> 41; -1 when it is not "1.<digits>". */
int docker_parse_api_minor(const char *s);
/* Negotiates (GET /version) unless pinned; sets d->api_minor. */
int docker_negotiate(struct docker *d, berth_error *err);
int docker_negotiate_within(struct docker *d, long timeout_ms, berth_error *err);
/* The negotiated (or pinned) minor version, negotiating first when unknown. */
int docker_api_minor(struct docker *d, berth_error *err);
/* Forgets the negotiated version (after a transport failure) so that the next request
 * negotiates again: dockerd may have been restarted or upgraded. */
void docker_api_forget(struct docker *d);
/* Reachability: GET /_ping once the API is negotiated, else the negotiation itself. */
int docker_check_engine(struct docker *d, berth_error *err);

/*
 * One request to "/v1.NN" + target (target starts with '/', query escaped). `body` may
 * be NULL. Returns 0 when dockerd answered (any status) and -1 with err filled when it
 * could not be reached (UNAVAILABLE), timed out (TIMEOUT) or the answer was unusable.
 */
int docker_call(struct docker *d, const char *method, const char *target,
		json_object *body, long timeout_ms, struct unixhttp_response *resp,
		berth_error *err);
/* docker_call() with a printf-style target. */
int docker_callf(struct docker *d, const char *method, json_object *body, long timeout_ms,
		 struct unixhttp_response *resp, berth_error *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* A request whose target is relative to the version prefix, with the caller's
 * streaming callbacks and timeouts (pull progress). Same returns as docker_call(). */
int docker_call_stream(struct docker *d, struct unixhttp_request *req,
		       struct unixhttp_response *resp, berth_error *err);
/* Fills err for an unreachable engine: "Docker engine at SOCK is unreachable: TEXT". */
int docker_unreachable(struct docker *d, const struct unixhttp_error *uerr, berth_error *err);
/* Maps an HTTP error answer onto a berth code, with Docker's "message" in the text.
 * `what` prefixes the message when Docker gave none ("start 3f2a..."). Returns -1. */
int docker_http_error(const struct unixhttp_response *resp, const char *what,
		      berth_error *err);
/* Docker's "message" of an error body. returns: malloc()ed or NULL. */
char *docker_error_message(const struct unixhttp_response *resp);
long docker_timeout_ms(const struct docker *d);

/* docker_names.c */
bool docker_name_valid(const char *name);
/* The name Docker gets for a berth name: the name itself when Docker accepts it, else
 * "berth-<berth_id>". returns: malloc()ed, caller frees; NULL when out of memory. */
char *docker_name_for(const char *berth_name, const char *berth_id);
struct docker_ref {
	char *repo; /* for fromImage: everything but the tag or digest */
	char *tag;  /* tag, or "sha256:..." for a digest; "latest" when none */
	char *full; /* normalised for messages: "docker.io/library/busybox:1" */
};
int docker_ref_parse(const char *ref, struct docker_ref *out);
void docker_ref_release(struct docker_ref *r);

/* docker_spec.c */
/* returns: a new object (caller puts) or NULL with err set. */
json_object *docker_spec_create_body(const berth_container_spec *spec, berth_error *err);
json_object *docker_spec_update_body(const berth_update *u, berth_error *err);
const char *docker_restart_name(int type);

/* docker_info.c */
int docker_info_from_json(json_object *root, berth_container_info *info, berth_error *err);

/* docker_pull.c */
int docker_pull(struct docker *d, const char *image, berth_error *err);

/* docker_events.c */
/* Sets up d->events (the self-pipe; the thread starts with docker_events_start). */
int docker_events_init(struct docker *d);
int docker_events_start(struct docker *d, berth_error *err);
void docker_events_stop(struct docker *d);
/* Event actions -> enum berth_event_type, 0 for actions we do not report. */
int docker_event_type(const char *action);

/* docker_ops.c */
int docker_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		     char **native_id_out, berth_error *err);
int docker_op_start(void *instance, const char *id, unsigned flags, berth_error *err);
int docker_op_kill(void *instance, const char *id, int signal, unsigned flags,
		   berth_error *err);
int docker_op_stop(void *instance, const char *id, int signal, int timeout_s,
		   unsigned flags, berth_error *err);
int docker_op_pause(void *instance, const char *id, unsigned flags, berth_error *err);
int docker_op_resume(void *instance, const char *id, unsigned flags, berth_error *err);
int docker_op_rename(void *instance, const char *id, const char *new_name, unsigned flags,
		     berth_error *err);
int docker_op_update(void *instance, const char *id, const berth_update *update,
		     unsigned flags, berth_error *err);
int docker_op_remove(void *instance, const char *id, unsigned flags, berth_error *err);
int docker_op_inspect(void *instance, const char *id, berth_container_info *info,
		      berth_error *err);
int docker_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		   berth_error *err);

#endif
