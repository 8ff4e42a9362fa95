/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restpull: the answer to an image pull on the REST backends (docker, podman). Both
 * answer 200 at once and then stream JSON progress objects, which go to the backend's
 * on_object (it knows its runtime's error and done messages); an answer other than 200
 * keeps a bounded part of its body for the backend's error mapping.
 */
#ifndef BERTH_RESTPULL_H
#define BERTH_RESTPULL_H

#include <stdbool.h>
#include <stddef.h>

#include "jsonutil.h"
#include "unixhttp.h"

#define RESTPULL_MAX_OBJECT (1u << 20)
#define RESTPULL_MAX_ERROR_BODY (64u << 10)

struct restpull {
	struct jsonutil_stream js;
	long status;
	bool stream_failed; /* a progress object exceeded RESTPULL_MAX_OBJECT */
	bool nomem;         /* set here, or by on_object */
	char *body;         /* an error answer's body (status != 200); malloc()ed */
	size_t body_len;
};

/* on_object(userdata, obj) gets every progress object of a 200 answer. */
int restpull_init(struct restpull *p, int (*on_object)(void *userdata, json_object *obj),
		  void *userdata);
/* Points req's on_headers/on_data/userdata at p. */
void restpull_attach(struct restpull *p, struct unixhttp_request *req);
/* The error answer as a response for the backend's error mapping (borrows p->body). */
struct unixhttp_response restpull_error_answer(const struct restpull *p);
void restpull_release(struct restpull *p);

#endif
