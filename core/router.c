/* SPDX-License-Identifier: Apache-2.0 */
/* Router: envelope topic + path -> feature and operation. */
#include <stdio.h>
#include <string.h>

#include "router.h"

static const struct {
	int feature;
	int op;
	const char *name;
} operations[] = {
	{ FEATURE_FACTORY, OP_CREATE, "create" },
	{ FEATURE_FACTORY, OP_CREATE_WITH_CONFIG, "createWithConfig" },
	{ FEATURE_CONTAINER, OP_START, "start" },
	{ FEATURE_CONTAINER, OP_STOP, "stop" },
	{ FEATURE_CONTAINER, OP_STOP_WITH_OPTIONS, "stopWithOptions" },
	{ FEATURE_CONTAINER, OP_PAUSE, "pause" },
	{ FEATURE_CONTAINER, OP_RESUME, "resume" },
	{ FEATURE_CONTAINER, OP_RENAME, "rename" },
	{ FEATURE_CONTAINER, OP_UPDATE, "update" },
	{ FEATURE_CONTAINER, OP_REMOVE, "remove" },
};

#define FACTORY_ID "ContainerFactory"
#define CONTAINER_PREFIX "Container:"

const char *router_op_name(int op)
{
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
		if (operations[i].op == op)
			return operations[i].name;
	return "unknown";
}

/* Copies the segment [s, s+n) into buf (size len) when it fits and is non-empty. */
static int copy_segment(char *buf, size_t len, const char *s, size_t n)
{
	if (n == 0 || n >= len)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* "<ns>/<name>/things/live/messages/<subject>" and the thing is ours. */
static int check_topic(const char *topic, const char *thing_id, struct ditto_error *err)
{
	const char *ns = topic, *name, *rest;
	size_t ns_len, name_len;

	name = strchr(ns, '/');
	if (!name)
		return ditto_error_set(err, 400, "invalid topic '%.200s': expected "
				       "<namespace>/<name>/things/live/messages/<subject>", topic);
	ns_len = (size_t)(name - ns);
	name++;
	rest = strchr(name, '/');
	if (!rest || ns_len == 0 || rest == name ||
	    strncmp(rest, "/things/live/messages/", strlen("/things/live/messages/")) != 0 ||
	    !rest[strlen("/things/live/messages/")])
		return ditto_error_set(err, 400, "invalid topic '%.200s': expected "
				       "<namespace>/<name>/things/live/messages/<subject>", topic);
	name_len = (size_t)(rest - name);
	if (!thing_id)
		return ditto_error_set(err, 404, "thing %.*s:%.*s is not known: this agent has "
				       "not learned its thing id yet", (int)ns_len, ns,
				       (int)name_len, name);
	if (strncmp(thing_id, ns, ns_len) != 0 || thing_id[ns_len] != ':' ||
	    strncmp(thing_id + ns_len + 1, name, name_len) != 0 ||
	    thing_id[ns_len + 1 + name_len] != '\0')
		return ditto_error_set(err, 404, "thing %.*s:%.*s is not found: this agent serves %s",
				       (int)ns_len, ns, (int)name_len, name, thing_id);
	return 0;
}

int router_route(const struct ditto_envelope *env, const char *thing_id, struct route *r,
		 struct ditto_error *err)
{
	static const char features[] = "/features/", inbox[] = "/inbox/messages/";
	const char *path = env->path, *fid, *op;
	size_t fid_len;

	memset(r, 0, sizeof(*r));
	/* Parse the path first so that every later error can answer on the outbox path. */
	if (strncmp(path, inbox, strlen(inbox)) == 0)
		return ditto_error_set(err, 404, "the thing itself has no operation '%.64s'; "
				       "operations live on features", path + strlen(inbox));
	if (strncmp(path, features, strlen(features)) != 0)
		return ditto_error_set(err, 400, "invalid path '%.200s': expected "
				       "/features/<feature>/inbox/messages/<operation>", path);
	fid = path + strlen(features);
	op = strstr(fid, inbox);
	fid_len = op ? (size_t)(op - fid) : 0;
	if (!op || fid_len == 0 || memchr(fid, '/', fid_len) || !op[strlen(inbox)] ||
	    strchr(op + strlen(inbox), '/'))
		return ditto_error_set(err, 400, "invalid path '%.200s': expected "
				       "/features/<feature>/inbox/messages/<operation>", path);
	op += strlen(inbox);
	if (copy_segment(r->feature_id, sizeof(r->feature_id), fid, fid_len) < 0 ||
	    copy_segment(r->op_name, sizeof(r->op_name), op, strlen(op)) < 0)
		return ditto_error_set(err, 404, "feature or operation name too long in path '%.200s'",
				       path);
	snprintf(r->outbox_path, sizeof(r->outbox_path), "/features/%s/outbox/messages/%s",
		 r->feature_id, r->op_name);

	if (check_topic(env->topic, thing_id, err) < 0)
		return -1;

	if (strcmp(r->feature_id, FACTORY_ID) == 0) {
		r->feature = FEATURE_FACTORY;
	} else if (strncmp(r->feature_id, CONTAINER_PREFIX, strlen(CONTAINER_PREFIX)) == 0 &&
		   r->feature_id[strlen(CONTAINER_PREFIX)]) {
		if (strlen(r->feature_id + strlen(CONTAINER_PREFIX)) > ROUTER_ID_MAX)
			return ditto_error_set(err, 404, "container id too long in path '%.200s'", path);
		r->feature = FEATURE_CONTAINER;
		snprintf(r->container_id, sizeof(r->container_id), "%s",
			 r->feature_id + strlen(CONTAINER_PREFIX));
	} else {
		return ditto_error_set(err, 404, "feature %s is not found: this agent has "
				       "ContainerFactory and Container:<id> features", r->feature_id);
	}
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++) {
		if (operations[i].feature == r->feature && strcmp(operations[i].name, r->op_name) == 0) {
			r->op = operations[i].op;
			return 0;
		}
	}
	return ditto_error_set(err, 404, "unsupported operation '%s' on feature %s",
			       r->op_name, r->feature == FEATURE_FACTORY ? FACTORY_ID : "Container");
}
