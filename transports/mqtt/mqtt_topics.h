/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT transport: topic and address rules (Hono MQTT adapter conventions, PROTOCOL.md
 * sections 2 and 3.1) and the broker URL. Pure functions: no I/O, no global state; all
 * returned strings are malloc()ed and owned by the caller.
 */
#ifndef BERTH_MQTT_TOPICS_H
#define BERTH_MQTT_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

#define MQTT_TOPIC_IDENTITY_REQUEST "edge/thing/request"
#define MQTT_TOPIC_IDENTITY_RESPONSE "edge/thing/response"

/* A command topic, split: `command//<device>/req/<req_id>/<subject>` (or Hono's short
 * form `c//<device>/q/<req_id>/<subject>`). The three strings point into `buf`. */
struct mqtt_command_topic {
	char *buf;
	const char *device;  /* non-empty */
	const char *req_id;  /* may be empty: a one-way command */
	const char *subject; /* non-empty */
	bool short_form;
};

/* Splits `topic` by the rule ^command//([^/]+)/req/([^/]*)/([^/]+)$ (or the short
 * form). Returns 0 and fills *out (free with mqtt_command_topic_clear), 1 when the topic
 * is not a command topic, -1 when out of memory. */
int mqtt_topic_parse_command(const char *topic, struct mqtt_command_topic *out);
void mqtt_command_topic_clear(struct mqtt_command_topic *t);

/* Subjects that arrive on the command subscription but are not commands: the cloud's
 * twin events and error responses routed back to the device (PROTOCOL.md 2). */
bool mqtt_subject_ignored(const char *subject);

/* true when `s` may be one topic level in a name we build: non-empty, no '/', '+',
 * '#' or NUL-free control characters (empty allowed when `allow_empty`). */
bool mqtt_topic_level_valid(const char *s, bool allow_empty);

/*
 * The reply address handed to the core as berth_inbound.reply_to (opaque to the core):
 * the response topic's prefix `command//<device>/res/<req_id>` (req_id possibly empty).
 * NULL when out of memory or when device/req_id are not valid topic levels.
 */
char *mqtt_reply_to_new(const char *device, const char *req_id);

/*
 * The topic a reply goes to: `<reply_to>/<status>` when the request id is not empty
 * (Hono), `<reply_to>/<subject>` = `command//<device>/res//<subject>` when it is (the
 * Container API page). NULL with *why set (a static string) when `reply_to` is not one
 * this transport made, status is outside 100..599 or, for an empty request id, subject is
 * missing or not a valid topic level.
 */
char *mqtt_reply_topic_new(const char *reply_to, int status, const char *subject,
			   const char **why);

/* `e/<tenant>/<thing_id>` (`e//<thing_id>` for a NULL or empty tenant); NULL with *why
 * on an invalid id. */
char *mqtt_event_topic_new(const char *tenant, const char *thing_id, const char **why);

/* `command//<device>/req/#`; NULL when device is not a valid topic level. */
char *mqtt_command_filter_new(const char *device);

/* A parsed broker URL. */
struct mqtt_url {
	char *host; /* name, IPv4 or IPv6 (without brackets) */
	int port;
	bool tls;
};

/* Parses `tcp://`, `mqtt://` (plain, default port 1883), `ssl://`, `mqtts://` (TLS,
 * default 8883) URLs: scheme://host[:port][/]. Returns 0 and fills *out (free with
 * mqtt_url_clear), or -1 with a message in `why` (size why_len). */
int mqtt_url_parse(const char *url, struct mqtt_url *out, char *why, size_t why_len);
void mqtt_url_clear(struct mqtt_url *u);

#endif
