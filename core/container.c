/* SPDX-License-Identifier: Apache-2.0 */
/* Container records: lifetime, the table of all records, and their JSON forms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "backends.h"
#include "container.h"

static const char *const status_names[] = {
	[CS_CREATING] = "CREATING", [CS_CREATED] = "CREATED", [CS_RUNNING] = "RUNNING",
	[CS_STOPPED] = "STOPPED",   [CS_PAUSED] = "PAUSED",   [CS_EXITED] = "EXITED",
	[CS_DEAD] = "DEAD",         [CS_UNKNOWN] = "UNKNOWN",
};

const char *container_status_name(int status)
{
	if (status < 0 || status > CS_UNKNOWN)
		return "UNKNOWN";
	return status_names[status];
}

int container_status_from_name(const char *name)
{
	for (int i = 0; i <= CS_UNKNOWN; i++)
		if (strcmp(status_names[i], name) == 0)
			return i;
	return -1;
}

/* RFC 4122 version 4. */
int container_new_id(char out[CONTAINER_ID_LEN + 1])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, CONTAINER_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}

struct container *container_new(const char *id, struct berth_backend_handle *backend)
{
	struct container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (id) {
		if (strlen(id) > CONTAINER_ID_LEN) {
			free(c);
			return NULL;
		}
		memcpy(c->id, id, strlen(id) + 1);
	} else if (container_new_id(c->id) < 0) {
		free(c);
		return NULL;
	}
	c->backend = backend;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	c->state.status = CS_CREATING;
	c->state.pid = -1;
	c->refs = 1;
	return c;
}

static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;

struct container *container_ref(struct container *c)
{
	pthread_mutex_lock(&refs_lock);
	c->refs++;
	pthread_mutex_unlock(&refs_lock);
	return c;
}

void container_unref(struct container *c)
{
	int left;

	if (!c)
		return;
	pthread_mutex_lock(&refs_lock);
	left = --c->refs;
	pthread_mutex_unlock(&refs_lock);
	if (left > 0)
		return;
	free(c->native_id);
	free(c->name);
	free(c->image);
	free(c->state.error);
	json_object_put(c->config);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

void container_set_error(struct container *c, const char *error)
{
	free(c->state.error);
	c->state.error = error && *error ? strdup(error) : NULL;
}

/* ---- the table: a small array; edge devices run tens of containers, not thousands. */

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct container **table;
static size_t table_len, table_cap;

int containers_add(struct container *c)
{
	int rc = 0;

	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < table_len; i++)
		if (strcmp(table[i]->id, c->id) == 0)
			rc = -EEXIST;
	if (rc == 0 && table_len == table_cap) {
		size_t cap = table_cap ? table_cap * 2 : 16;
		struct container **t = realloc(table, cap * sizeof(*t));

		if (t) {
			table = t;
			table_cap = cap;
		} else {
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		table[table_len++] = container_ref(c);
	pthread_rwlock_unlock(&table_lock);
	return rc;
}

void containers_remove(struct container *c)
{
	struct container *found = NULL;

	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < table_len; i++) {
		if (table[i] == c) {
			found = c;
			table[i] = table[--table_len];
			break;
		}
	}
	pthread_rwlock_unlock(&table_lock);
	container_unref(found);
}

struct container *containers_get(const char *id)
{
	struct container *c = NULL;

	pthread_rwlock_rdlock(&table_lock);
	for (size_t i = 0; i < table_len && !c; i++)
		if (strcmp(table[i]->id, id) == 0)
			c = container_ref(table[i]);
	pthread_rwlock_unlock(&table_lock);
	return c;
}

struct container *containers_find_name(const char *name, const struct container *except)
{
	struct container *c = NULL;

	pthread_rwlock_rdlock(&table_lock);
	for (size_t i = 0; i < table_len && !c; i++) {
		struct container *t = table[i];

		if (t == except)
			continue;
		pthread_mutex_lock(&t->lock);
		if (t->name && strcmp(t->name, name) == 0)
			c = container_ref(t);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_rwlock_unlock(&table_lock);
	return c;
}

struct container *containers_find_native(const struct berth_backend_handle *backend,
					 const char *native_id)
{
	struct container *c = NULL;

	pthread_rwlock_rdlock(&table_lock);
	for (size_t i = 0; i < table_len && !c; i++) {
		struct container *t = table[i];

		if (t->backend != backend)
			continue;
		pthread_mutex_lock(&t->lock);
		if (t->native_id && strcmp(t->native_id, native_id) == 0)
			c = container_ref(t);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_rwlock_unlock(&table_lock);
	return c;
}

struct container **containers_list(size_t *n)
{
	struct container **list;

	pthread_rwlock_rdlock(&table_lock);
	list = calloc(table_len ? table_len : 1, sizeof(*list));
	*n = 0;
	if (list) {
		for (size_t i = 0; i < table_len; i++)
			list[i] = container_ref(table[i]);
		*n = table_len;
	}
	pthread_rwlock_unlock(&table_lock);
	return list;
}

void containers_list_free(struct container **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		container_unref(list[i]);
	free(list);
}

size_t containers_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&table_lock);
	n = table_len;
	pthread_rwlock_unlock(&table_lock);
	return n;
}

void containers_clear(void)
{
	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < table_len; i++)
		container_unref(table[i]);
	free(table);
	table = NULL;
	table_len = table_cap = 0;
	pthread_rwlock_unlock(&table_lock);
}

/* ---- time ---- */

int64_t container_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *container_format_time(int64_t ns, char *buf, size_t len)
{
	time_t secs;
	struct tm tm;
	char date[32];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ns <= 0)
		return buf;
	secs = (time_t)(ns / 1000000000LL);
	if (!gmtime_r(&secs, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return buf;
	snprintf(buf, len, "%s.%09lldZ", date, (long long)(ns % 1000000000LL));
	return buf;
}

int64_t container_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	long long frac = 0;
	int digits = 0;
	time_t secs;

	if (!s)
		return 0;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		}
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (*p != 'Z')
		return 0;
	secs = timegm(&tm);
	if (secs <= 0)
		return 0;
	return (int64_t)secs * 1000000000LL + frac;
}

/* ---- JSON forms ---- */

/* A copy of the config that the caller owns outright: a reference would be serialised
 * outside c->lock while the container's lane changes the config (json-c objects, their
 * reference counts included, are not thread-safe). */
static json_object *config_copy(const struct container *c)
{
	json_object *copy = NULL;

	if (!c->config || json_object_deep_copy(c->config, &copy, NULL) < 0)
		return json_object_new_object();
	return copy;
}

static void add_string(json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
}

static void add_time(json_object *o, const char *key, int64_t ns)
{
	char buf[64];

	if (ns > 0)
		json_object_object_add(o, key,
				       json_object_new_string(container_format_time(ns, buf, sizeof(buf))));
}

json_object *container_state_json(const struct container *c)
{
	const struct container_state *s = &c->state;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(container_status_name(s->status)));
	if (s->pid != 0)
		json_object_object_add(o, "pid", json_object_new_int(s->pid));
	if (s->exit_code != 0)
		json_object_object_add(o, "exitCode", json_object_new_int(s->exit_code));
	add_string(o, "error", s->error);
	add_time(o, "startedAt", s->started_ns);
	add_time(o, "finishedAt", s->finished_ns);
	if (s->oom_killed)
		json_object_object_add(o, "oomKilled", json_object_new_boolean(1));
	return o;
}

json_object *container_status_json(const struct container *c)
{
	json_object *o = json_object_new_object();

	add_string(o, "name", c->name);
	add_string(o, "imageRef", c->image);
	json_object_object_add(o, "config", config_copy(c));
	add_time(o, "createdAt", c->created_ns);
	json_object_object_add(o, "state", container_state_json(c));
	return o;
}

json_object *container_record_json(const struct container *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "backend", json_object_new_string(c->backend->name));
	add_string(o, "nativeId", c->native_id);
	add_string(o, "name", c->name);
	add_string(o, "imageRef", c->image);
	json_object_object_add(o, "config", config_copy(c));
	json_object_object_add(o, "createdAt", json_object_new_int64(c->created_ns));
	json_object_object_add(o, "state", container_state_json(c));
	json_object_object_add(o, "manuallyStopped", json_object_new_boolean(c->manually_stopped));
	json_object_object_add(o, "startedBefore", json_object_new_boolean(c->started_before));
	json_object_object_add(o, "restartCount", json_object_new_int(c->restart_count));
	return o;
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

static bool get_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct container *container_from_record_json(json_object *rec,
					     struct berth_backend_handle *backend,
					     char *why, size_t why_len)
{
	const char *id = get_string(rec, "id"), *status;
	json_object *state, *config;
	struct container *c;
	int st;

	if (!id || strlen(id) != CONTAINER_ID_LEN) {
		snprintf(why, why_len, "missing or malformed id");
		return NULL;
	}
	if (!get_string(rec, "nativeId")) {
		snprintf(why, why_len, "no native id: the container was never created");
		return NULL;
	}
	c = container_new(id, backend);
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	c->native_id = dup_or_null(get_string(rec, "nativeId"));
	c->name = dup_or_null(get_string(rec, "name"));
	c->image = dup_or_null(get_string(rec, "imageRef"));
	if (json_object_object_get_ex(rec, "config", &config) &&
	    json_object_is_type(config, json_type_object))
		c->config = json_object_get(config);
	else
		c->config = json_object_new_object();
	c->created_ns = get_int(rec, "createdAt", 0);
	c->manually_stopped = get_bool(rec, "manuallyStopped");
	c->started_before = get_bool(rec, "startedBefore");
	c->restart_count = (int)get_int(rec, "restartCount", 0);
	if (json_object_object_get_ex(rec, "state", &state)) {
		status = get_string(state, "status");
		st = status ? container_status_from_name(status) : -1;
		c->state.status = st >= 0 ? st : CS_UNKNOWN;
		c->state.pid = (int)get_int(state, "pid", -1);
		c->state.exit_code = (int)get_int(state, "exitCode", 0);
		c->state.oom_killed = get_bool(state, "oomKilled");
		c->state.error = dup_or_null(get_string(state, "error"));
		c->state.started_ns = container_parse_time(get_string(state, "startedAt"));
		c->state.finished_ns = container_parse_time(get_string(state, "finishedAt"));
	}
	return c;
}
