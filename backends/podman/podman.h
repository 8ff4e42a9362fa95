/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: what the files of backends/podman share.
 *
 *   podman.c         driver table, module entry points, open/close, settings,
 *                    capabilities, ping
 *   podman_api.c     libpod requests (/v4.0.0/libpod/...), the service's version, HTTP
 *                    status and transport failures -> berth error codes
 *   podman_ops.c     the container operations
 *   podman_pull.c    pulling a missing image (POST /libpod/images/pull)
 *   podman_spec.c    berth_container_spec -> SpecGenerator, resources -> update body,
 *                    Podman's container-name rule
 *   podman_info.c    inspect JSON -> berth_container_info
 *   podman_limits.c  the limits berth asked for, per container, re-applied after a start
 *                    (podman 4.3 neither stores an update nor keeps it across a restart)
 *   podman_events.c  the event stream (GET /libpod/events) on backends/common/restevents
 */
#ifndef BERTH_PODMAN_H
#define BERTH_PODMAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berth/berth.h>

#include "jsonutil.h"
#include "restevents.h"
#include "unixhttp.h"

#define PODMAN_MODULE "podman"

/* The libpod API prefix we speak: Podman serves every 4.x and 5.x under it. */
#define PODMAN_API_PREFIX "/v4.0.0/libpod"
/* POST /libpod/containers/{id}/update appeared in Podman 4.3. */
#define PODMAN_UPDATE_MAJOR 4
#define PODMAN_UPDATE_MINOR 3

#define PODMAN_DEFAULT_SOCKET "/run/podman/podman.sock"
#define PODMAN_DEFAULT_TIMEOUT_S 30
#define PODMAN_DEFAULT_STOP_GRACE_S 10
#define PODMAN_POOL_MAX 2
#define PODMAN_OPEN_PROBE_MS 5000

/* A container's limits as berth last set them (podman_limits.c). */
struct podman_limits {
	char *id;
	berth_resources resources;
	struct podman_limits *next;
};

struct podman {
	const berth_host *host;
	berth_backend_handle *handle;

	/* settings (fixed after open) */
	char *socket;
	int timeout_s;
	bool pull;
	int stop_grace_s;
	char *bridge_network; /* network of a "bridge" container; NULL: podman's default */

	struct unixhttp *http;

	pthread_mutex_t lock;
	char *version;       /* "4.3.1", under lock; NULL until the service answered */
	char *api_version;   /* libpod API version it reports, "4.3.1"; under lock */
	int major, minor;    /* of version, under lock */
	struct podman_limits *limits; /* under lock */
	char *limits_file;   /* where the table is kept, or NULL (podman_limits.c) */

	struct restevents events; /* the event thread (podman_events.c) */
};

/* podman.c */
void podman_log(const struct podman *p, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* podman_api.c */
long podman_timeout_ms(const struct podman *p);
/* GET /libpod/version: records the service's version. */
int podman_probe(struct podman *p, long timeout_ms, berth_error *err);
/* True when the service is known to have POST .../update (4.3 or newer). */
bool podman_has_update(struct podman *p);
/* One request to PODMAN_API_PREFIX + target (printf-style, query escaped). Returns 0
 * when podman answered (any status) and -1 with err filled when it could not be reached
 * (UNAVAILABLE), timed out (TIMEOUT) or the answer was unusable. */
int podman_callf(struct podman *p, const char *method, json_object *body, long timeout_ms,
		 struct unixhttp_response *resp, berth_error *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* A streamed request; req->target relative to the prefix. Same returns. */
int podman_call_stream(struct podman *p, struct unixhttp_request *req,
		       struct unixhttp_response *resp, berth_error *err);
int podman_unreachable(const struct podman *p, const struct unixhttp_error *uerr,
		       berth_error *err);
/* Maps an error answer onto a berth code with podman's "message". Returns -1. */
int podman_http_error(const struct unixhttp_response *resp, const char *what,
		      berth_error *err);
/* The code for podman's (status, cause, message); exposed for the unit test. */
int podman_error_code(long status, const char *cause, const char *message);
/* "4.3.1" -> 4, 3; -1 when it does not start with "<major>.<minor>". */
int podman_parse_version(const char *s, int *major, int *minor);

/* podman_spec.c */
bool podman_name_valid(const char *name);
/* The name podman gets for a berth name: the name itself when podman accepts it, else
 * "berth-<berth_id>". returns: malloc()ed; NULL when out of memory. */
char *podman_name_for(const char *berth_name, const char *berth_id);
/* returns: a new object (caller puts) or NULL with err set. */
json_object *podman_spec_create_body(const berth_container_spec *spec,
				     const char *bridge_network, berth_error *err);
/* LinuxResources {"memory": {...}} for update. */
json_object *podman_spec_resources_body(const berth_resources *r, berth_error *err);

/* podman_info.c */
int podman_info_from_json(json_object *root, berth_container_info *info, berth_error *err);

/* podman_limits.c */
/* Reads the table kept in state_dir (may be NULL: memory only). */
int podman_limits_open(struct podman *p, const char *state_dir, berth_error *err);
/* Records the limits berth set for a container (replacing earlier ones) and saves. */
int podman_limits_set(struct podman *p, const char *id, const berth_resources *r,
		      berth_error *err);
/* Copies the recorded limits; false when there are none. */
bool podman_limits_get(struct podman *p, const char *id, berth_resources *out);
void podman_limits_forget(struct podman *p, const char *id);
void podman_limits_free(struct podman *p);

/* podman_pull.c */
int podman_pull(struct podman *p, const char *image, berth_error *err);

/* podman_events.c */
/* Sets up p->events (the self-pipe; the thread starts with podman_events_start). */
int podman_events_init(struct podman *p);
int podman_events_start(struct podman *p, berth_error *err);
void podman_events_stop(struct podman *p);
/* Event statuses -> enum berth_event_type, 0 for those we do not report. */
int podman_event_type(const char *action);

/* podman_ops.c */
int podman_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		     char **native_id_out, berth_error *err);
int podman_op_start(void *instance, const char *id, unsigned flags, berth_error *err);
int podman_op_kill(void *instance, const char *id, int signal, unsigned flags,
		   berth_error *err);
int podman_op_stop(void *instance, const char *id, int signal, int timeout_s,
		   unsigned flags, berth_error *err);
int podman_op_pause(void *instance, const char *id, unsigned flags, berth_error *err);
int podman_op_resume(void *instance, const char *id, unsigned flags, berth_error *err);
int podman_op_rename(void *instance, const char *id, const char *new_name, unsigned flags,
		     berth_error *err);
int podman_op_update(void *instance, const char *id, const berth_update *update,
		     unsigned flags, berth_error *err);
int podman_op_remove(void *instance, const char *id, unsigned flags, berth_error *err);
int podman_op_inspect(void *instance, const char *id, berth_container_info *info,
		      berth_error *err);
int podman_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		   berth_error *err);

#endif
