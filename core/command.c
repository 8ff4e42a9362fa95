/* SPDX-License-Identifier: Apache-2.0 */
/* Commands: intake, queueing, execution and the answer. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "container.h"
#include "identity.h"
#include "log.h"
#include "ops.h"
#include "queue.h"
#include "router.h"
#include "transports.h"

#define ERRORS_TOPIC "unknown/unknown/things/twin/errors"

struct command {
	struct job job; /* first: the queue hands us back this pointer */
	struct berth_transport_handle *transport;
	char *reply_to;       /* NULL: one-way */
	char *wire_correlation_id;
	char *subject;
	char *device_id;
	char *topic;
	char *correlation_id; /* Ditto's */
	struct route route;
	struct op_args args;
	struct container *container; /* referenced; NULL for ContainerFactory */
};

static struct ditto_limits limits = { .max_payload = 65536, .max_depth = 16 };
static atomic_ullong n_received, n_answered, n_rejected_early, n_busy;

void command_set_limits(size_t max_payload, int max_depth)
{
	/* Atomic: a reload changes them while transports decode. */
	__atomic_store_n(&limits.max_payload, max_payload, __ATOMIC_RELAXED);
	__atomic_store_n(&limits.max_depth, max_depth, __ATOMIC_RELAXED);
}

void command_stats(struct command_stats *out)
{
	out->received = n_received;
	out->answered = n_answered;
	out->rejected_early = n_rejected_early;
	out->busy = n_busy;
}

/* Sends one answer on transport t. */
static void send_reply(struct berth_transport_handle *t, const char *reply_to,
		       const char *wire_correlation_id, const char *correlation_id,
		       const char *subject, const char *device_id, int status, char *payload)
{
	berth_reply r = {
		.size = sizeof(r),
		.reply_to = reply_to,
		.correlation_id = wire_correlation_id ? wire_correlation_id : correlation_id,
		.subject = subject,
		.device_id = device_id,
		.status = status,
		.payload = payload,
		.payload_len = payload ? strlen(payload) : 0,
		.content_type = "application/vnd.eclipse.ditto+json",
	};
	berth_error err;

	if (!payload) {
		log_err("cannot encode the answer (status %d): out of memory", status);
		return;
	}
	berth_error_clear(&err);
	if (t->drv->send_reply(t->inst, &r, &err) < 0)
		log_warn("transport %s: answer (status %d) not sent: %s", t->name, status, err.message);
	else
		n_answered++;
	free(payload);
}

/* Answers a message that never became a command. */
static void reply_early(struct berth_transport_handle *t, const berth_inbound *msg,
			const struct ditto_envelope *env, const char *path,
			const struct ditto_error *err)
{
	const char *topic = env->topic ? env->topic : ERRORS_TOPIC;

	n_rejected_early++;
	log_debug("rejected a message from %s: %d %s", t->name, err->status, err->message);
	if (!msg->reply_to || !env->response_required)
		return;
	send_reply(t, msg->reply_to, msg->correlation_id, env->correlation_id, msg->subject,
		   msg->device_id, err->status,
		   ditto_encode_error(topic, path ? path : (env->path ? env->path : "/"),
				      env->correlation_id, err));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void command_free(struct command *cmd)
{
	free(cmd->reply_to);
	free(cmd->wire_correlation_id);
	free(cmd->subject);
	free(cmd->device_id);
	free(cmd->topic);
	free(cmd->correlation_id);
	ops_args_release(&cmd->args);
	container_unref(cmd->container);
	free(cmd);
}

static void answer(struct command *cmd, const struct op_result *res)
{
	char *payload;

	if (!cmd->reply_to)
		return;
	if (res->status < 300)
		payload = ditto_encode_response(cmd->topic, cmd->route.outbox_path,
						cmd->correlation_id, res->status, res->value);
	else
		payload = ditto_encode_error(cmd->topic, cmd->route.outbox_path,
					     cmd->correlation_id, &res->error);
	send_reply(cmd->transport, cmd->reply_to, cmd->wire_correlation_id, cmd->correlation_id,
		   cmd->subject, cmd->device_id, res->status, payload);
}

static void command_run(struct job *job)
{
	struct command *cmd = (struct command *)job;
	struct op_result res;

	ops_execute(cmd->route.op, cmd->container, &cmd->args, &res);
	if (res.status >= 300)
		log_info("%s %s: %d %s", cmd->route.op_name, cmd->route.feature_id, res.status,
			 res.error.message);
	else
		log_debug("%s %s: %d", cmd->route.op_name, cmd->route.feature_id, res.status);
	answer(cmd, &res);
	json_object_put(res.value);
	command_free(cmd);
}

static void command_cancel(struct job *job)
{
	struct command *cmd = (struct command *)job;
	struct op_result res = { .status = 503 };

	ditto_error_set(&res.error, 503, "the agent shut down before running this command");
	answer(cmd, &res);
	command_free(cmd);
}

int command_inbound(berth_transport_handle *t, const berth_inbound *msg)
{
	char thing[IDENTITY_MAX];
	struct ditto_limits current;
	struct ditto_envelope env;
	struct ditto_error err = { 0 };
	struct command *cmd = NULL;
	struct route route;
	berth_error qerr;
	int disposition = BERTH_DISPOSITION_ACCEPTED;

	n_received++;
	current.max_payload = __atomic_load_n(&limits.max_payload, __ATOMIC_RELAXED);
	current.max_depth = __atomic_load_n(&limits.max_depth, __ATOMIC_RELAXED);
	if (ditto_decode(msg->payload, msg->payload_len, &current, &env, &err) < 0) {
		/* Nobody to tell: a message that is not a command is refused outright. */
		if (!msg->reply_to)
			disposition = BERTH_DISPOSITION_REJECTED;
		reply_early(t, msg, &env, NULL, &err);
		goto out;
	}
	if (router_route(&env, identity_thing(thing, sizeof(thing)) ? thing : NULL, &route,
			 &err) < 0) {
		reply_early(t, msg, &env, route.outbox_path[0] ? route.outbox_path : NULL, &err);
		goto out;
	}
	cmd = calloc(1, sizeof(*cmd));
	if (!cmd) {
		ditto_error_set(&err, 500, "out of memory");
		reply_early(t, msg, &env, route.outbox_path, &err);
		goto out;
	}
	cmd->route = route;
	if (ops_parse(route.op, &env, &cmd->args, &err) < 0) {
		reply_early(t, msg, &env, route.outbox_path, &err);
		goto out;
	}
	if (route.feature == FEATURE_CONTAINER) {
		cmd->container = containers_get(route.container_id);
		if (!cmd->container) {
			ditto_error_set(&err, 404, "container %s is not found", route.container_id);
			reply_early(t, msg, &env, route.outbox_path, &err);
			goto out;
		}
		snprintf(cmd->job.key, sizeof(cmd->job.key), "%s", cmd->container->id);
	} else {
		if (container_new_id(cmd->args.create.id) < 0) {
			ditto_error_set(&err, 500, "cannot generate a container id");
			reply_early(t, msg, &env, route.outbox_path, &err);
			goto out;
		}
		snprintf(cmd->job.key, sizeof(cmd->job.key), "%s", cmd->args.create.id);
	}
	cmd->transport = t;
	cmd->reply_to = msg->reply_to && env.response_required ? strdup(msg->reply_to) : NULL;
	cmd->wire_correlation_id = dup_or_null(msg->correlation_id);
	cmd->subject = dup_or_null(msg->subject ? msg->subject : route.op_name);
	cmd->device_id = dup_or_null(msg->device_id);
	cmd->topic = strdup(env.topic);
	cmd->correlation_id = strdup(env.correlation_id);
	cmd->job.counted = true;
	cmd->job.run = command_run;
	cmd->job.cancel = command_cancel;
	if (!cmd->topic || !cmd->correlation_id) {
		ditto_error_set(&err, 500, "out of memory");
		reply_early(t, msg, &env, route.outbox_path, &err);
		goto out;
	}
	berth_error_clear(&qerr);
	if (queue_submit(&cmd->job, &qerr) < 0) {
		n_busy++;
		if (t->caps & BERTH_TCAP_REDELIVERY) {
			disposition = BERTH_DISPOSITION_RELEASED; /* the peer will try again */
		} else {
			ditto_error_from_berth(&err, &qerr);
			reply_early(t, msg, &env, route.outbox_path, &err);
		}
		goto out;
	}
	cmd = NULL; /* the queue owns it now */
out:
	if (cmd)
		command_free(cmd);
	ditto_envelope_release(&env);
	return disposition;
}
