/* SPDX-License-Identifier: Apache-2.0 */
/* Twin reporting: feature and property modifications and deletions as Ditto twin
 * commands, and the full resync on (re)connect. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ditto.h"
#include "identity.h"
#include "log.h"
#include "store.h"
#include "twin.h"

/* Ids of the container features the twin knows about (persisted in the store). */
static pthread_mutex_t announced_lock = PTHREAD_MUTEX_INITIALIZER;
static json_object *announced;

void twin_init(void)
{
	pthread_mutex_lock(&announced_lock);
	json_object_put(announced);
	announced = store_load_announced();
	pthread_mutex_unlock(&announced_lock);
}

void twin_cleanup(void)
{
	pthread_mutex_lock(&announced_lock);
	json_object_put(announced);
	announced = NULL;
	pthread_mutex_unlock(&announced_lock);
}

static bool announced_index(const char *id, size_t *index)
{
	size_t n = announced ? json_object_array_length(announced) : 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(json_object_get_string(json_object_array_get_idx(announced, i)), id) == 0) {
			*index = i;
			return true;
		}
	}
	return false;
}

static void announce(const char *id, bool present)
{
	size_t i;
	bool known;

	pthread_mutex_lock(&announced_lock);
	if (!announced)
		announced = json_object_new_array();
	known = announced_index(id, &i);
	if (present && !known)
		json_object_array_add(announced, json_object_new_string(id));
	else if (!present && known)
		json_object_array_del_idx(announced, i, 1);
	if (present != known && store_save_announced(announced) < 0)
		log_warn("twin: cannot save the announced feature list");
	pthread_mutex_unlock(&announced_lock);
}

/* Publishes one twin command; consumes value. Returns true when it reached every cloud
 * transport; false when one was offline (the resync after its reconnect catches up). */
static bool publish(struct berth_transport_handle *only, const char *action, const char *path,
		    json_object *value)
{
	char thing[IDENTITY_MAX], tenant[IDENTITY_MAX];
	bool delivered;
	char *text;

	if (!identity_thing(thing, sizeof(thing))) {
		json_object_put(value);
		return false; /* nothing to report to before the identity is known */
	}
	identity_tenant(tenant, sizeof(tenant));
	text = ditto_encode_twin_command(thing, action, path, value);
	json_object_put(value);
	if (!text) {
		log_warn("twin: cannot encode %s %s", action, path);
		return false;
	}
	delivered = transports_send_event(only, thing, tenant, text) && transports_all_online();
	free(text);
	return delivered;
}

static json_object *feature_json(const char *definition, json_object *status)
{
	json_object *f = json_object_new_object(), *defs = json_object_new_array();

	json_object_array_add(defs, json_object_new_string(definition));
	json_object_object_add(f, "definition", defs);
	if (status) {
		json_object *props = json_object_new_object();

		json_object_object_add(props, "status", status);
		json_object_object_add(f, "properties", props);
	}
	return f;
}

static void container_path(char *buf, size_t len, const struct container *c, const char *leaf)
{
	snprintf(buf, len, "/features/Container:%s%s", c->id, leaf);
}

static void send_feature(struct berth_transport_handle *only, struct container *c)
{
	char path[128];
	json_object *status;

	pthread_mutex_lock(&c->lock);
	status = container_status_json(c);
	pthread_mutex_unlock(&c->lock);
	container_path(path, sizeof(path), c, "");
	publish(only, "modify", path, feature_json(TWIN_CONTAINER_DEFINITION, status));
}

void twin_feature(struct container *c)
{
	announce(c->id, true);
	send_feature(NULL, c);
}

void twin_state(struct container *c)
{
	char path[160];
	json_object *state;

	pthread_mutex_lock(&c->lock);
	state = container_state_json(c);
	pthread_mutex_unlock(&c->lock);
	container_path(path, sizeof(path), c, "/properties/status/state");
	publish(NULL, "modify", path, state);
}

void twin_name(struct container *c)
{
	char path[160];
	json_object *name;

	pthread_mutex_lock(&c->lock);
	name = json_object_new_string(c->name ? c->name : c->id);
	pthread_mutex_unlock(&c->lock);
	container_path(path, sizeof(path), c, "/properties/status/name");
	publish(NULL, "modify", path, name);
}

void twin_config(struct container *c)
{
	char path[160];
	json_object *config = NULL;

	pthread_mutex_lock(&c->lock);
	/* a copy: published outside the lock (see container_status_json) */
	if (!c->config || json_object_deep_copy(c->config, &config, NULL) < 0)
		config = json_object_new_object();
	pthread_mutex_unlock(&c->lock);
	container_path(path, sizeof(path), c, "/properties/status/config");
	publish(NULL, "modify", path, config);
}

void twin_removed(struct container *c)
{
	char path[128];

	twin_state(c);
	container_path(path, sizeof(path), c, "");
	/* Forgotten only once the twin has heard of it: else the next resync deletes it. */
	if (publish(NULL, "delete", path, NULL))
		announce(c->id, false);
}

void twin_resync(struct berth_transport_handle *only)
{
	size_t n;
	struct container **list = containers_list(&n);
	bool *live = calloc(n ? n : 1, sizeof(*live));
	json_object *stale;

	if (!live) {
		containers_list_free(list, n);
		return;
	}
	publish(only, "modify", "/features/ContainerFactory",
		feature_json(TWIN_FACTORY_DEFINITION, NULL));
	for (size_t i = 0; i < n; i++) {
		bool creating;

		/* Removed since the list was taken: not live, so that its deletion goes out
		 * below if it could not go out before. Still being created: live, but
		 * ops_create announces it once the runtime has it. */
		pthread_mutex_lock(&list[i]->lock);
		live[i] = !list[i]->removed;
		creating = list[i]->state.status == CS_CREATING;
		pthread_mutex_unlock(&list[i]->lock);
		if (!live[i] || creating)
			continue;
		announce(list[i]->id, true);
		send_feature(only, list[i]);
	}

	/* Features announced earlier whose containers are gone now. */
	stale = json_object_new_array();
	pthread_mutex_lock(&announced_lock);
	for (size_t i = 0; announced && i < json_object_array_length(announced); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(announced, i));
		bool present = false;

		for (size_t j = 0; j < n && !present; j++)
			present = live[j] && strcmp(list[j]->id, id) == 0;
		if (!present)
			json_object_array_add(stale, json_object_new_string(id));
	}
	pthread_mutex_unlock(&announced_lock);
	for (size_t i = 0; i < json_object_array_length(stale); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(stale, i));
		char path[128];

		snprintf(path, sizeof(path), "/features/Container:%s", id);
		if (publish(only, "delete", path, NULL))
			announce(id, false);
	}
	json_object_put(stale);
	free(live);
	containers_list_free(list, n);
}
