/* SPDX-License-Identifier: Apache-2.0 */
/* MQTT transport: command/response/event topic parsing and building (pure functions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_topics.h"

static const char *const ignored_subjects[] = { "created", "modified", "deleted",
						"errors-response" };

bool mqtt_topic_level_valid(const char *s, bool allow_empty)
{
	if (!s)
		return false;
	if (!*s)
		return allow_empty;
	for (; *s; s++)
		if (*s == '/' || *s == '+' || *s == '#' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* true when the `len` bytes at s contain no wildcard or control character. */
static bool span_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '+' || s[i] == '#' || (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

/* Consumes `lit` at *p; true when it was there. */
static bool eat(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Length of the topic level at p (up to '/' or the end). */
static size_t level_len(const char *p)
{
	return strcspn(p, "/");
}

int mqtt_topic_parse_command(const char *topic, struct mqtt_command_topic *out)
{
	const char *p = topic, *req_sep;
	size_t dev_len, req_len, subj_len, dev_off, req_off, subj_off;
	bool short_form;

	memset(out, 0, sizeof(*out));
	if (!topic)
		return 1;
	if (eat(&p, "command//"))
		short_form = false;
	else if (eat(&p, "c//"))
		short_form = true;
	else
		return 1;
	dev_off = (size_t)(p - topic);
	dev_len = level_len(p);
	if (dev_len == 0 || p[dev_len] != '/')
		return 1;
	p += dev_len;
	req_sep = short_form ? "/q/" : "/req/";
	if (!eat(&p, req_sep))
		return 1;
	req_off = (size_t)(p - topic);
	req_len = level_len(p);
	if (p[req_len] != '/')
		return 1;
	p += req_len + 1;
	subj_off = (size_t)(p - topic);
	subj_len = level_len(p);
	if (subj_len == 0 || p[subj_len] != '\0')
		return 1;

	out->buf = strdup(topic);
	if (!out->buf)
		return -1;
	out->buf[dev_off + dev_len] = '\0';
	out->buf[req_off + req_len] = '\0';
	out->device = out->buf + dev_off;
	out->req_id = out->buf + req_off;
	out->subject = out->buf + subj_off;
	out->short_form = short_form;
	return 0;
}

void mqtt_command_topic_clear(struct mqtt_command_topic *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

bool mqtt_subject_ignored(const char *subject)
{
	for (size_t i = 0; i < sizeof(ignored_subjects) / sizeof(ignored_subjects[0]); i++)
		if (strcmp(subject, ignored_subjects[i]) == 0)
			return true;
	return false;
}

char *mqtt_reply_to_new(const char *device, const char *req_id)
{
	char *s;

	if (!mqtt_topic_level_valid(device, false) || !mqtt_topic_level_valid(req_id, true))
		return NULL;
	if (asprintf(&s, "command//%s/res/%s", device, req_id) < 0)
		return NULL;
	return s;
}

char *mqtt_reply_topic_new(const char *reply_to, int status, const char *subject,
			   const char **why)
{
	const char *p = reply_to, *req_id;
	size_t dev_len;
	char *s;
	int rc;

	*why = NULL;
	if (!p || !eat(&p, "command//")) {
		*why = "the reply address is not one the MQTT transport made";
		return NULL;
	}
	dev_len = level_len(p);
	if (dev_len == 0 || p[dev_len] != '/') {
		*why = "the reply address has no device";
		return NULL;
	}
	p += dev_len;
	if (!eat(&p, "/res/")) {
		*why = "the reply address is not one the MQTT transport made";
		return NULL;
	}
	req_id = p;
	if (!span_valid(reply_to + 9, dev_len) || !mqtt_topic_level_valid(req_id, true)) {
		*why = "the reply address has an invalid device or request id";
		return NULL;
	}
	if (status < 100 || status > 599) {
		*why = "the reply status is outside 100..599";
		return NULL;
	}
	if (*req_id) {
		rc = asprintf(&s, "%s/%d", reply_to, status);
	} else {
		if (!mqtt_topic_level_valid(subject, false)) {
			*why = "a reply to a command without request id needs a valid subject";
			return NULL;
		}
		rc = asprintf(&s, "%s/%s", reply_to, subject);
	}
	if (rc < 0) {
		*why = "out of memory";
		return NULL;
	}
	return s;
}

char *mqtt_event_topic_new(const char *tenant, const char *thing_id, const char **why)
{
	char *s;

	*why = NULL;
	if (!tenant)
		tenant = "";
	if (!mqtt_topic_level_valid(thing_id, false)) {
		*why = "the thing id is empty or contains '/', '+' or '#'";
		return NULL;
	}
	if (!mqtt_topic_level_valid(tenant, true)) {
		*why = "the tenant contains '/', '+' or '#'";
		return NULL;
	}
	if (asprintf(&s, "e/%s/%s", tenant, thing_id) < 0) {
		*why = "out of memory";
		return NULL;
	}
	return s;
}

char *mqtt_command_filter_new(const char *device)
{
	char *s;

	if (!mqtt_topic_level_valid(device, false))
		return NULL;
	if (asprintf(&s, "command//%s/req/#", device) < 0)
		return NULL;
	return s;
}
