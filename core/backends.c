/* SPDX-License-Identifier: Apache-2.0 */
/* Backend instances: open, reachability, capabilities, lookup. */
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "log.h"
#include "registry.h"

static struct berth_backend_handle *backends;
static size_t n_backends;

void backend_refresh(struct berth_backend_handle *b)
{
	char *version = NULL;
	uint64_t caps = b->drv->capabilities(b->inst);
	berth_error err;

	berth_error_clear(&err);
	if (b->drv->ping && b->drv->ping(b->inst, &version, &err) < 0)
		version = NULL;
	pthread_mutex_lock(&b->lock);
	b->caps = caps;
	if (version) {
		free(b->version);
		b->version = version;
	}
	pthread_mutex_unlock(&b->lock);
}

int backends_open_all(const struct berth_config *cfg, const berth_host *host, berth_error *err)
{
	backends = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*backends));
	if (!backends)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	for (size_t i = 0; i < cfg->n_backends; i++) {
		const struct config_instance *ci = &cfg->backends[i];
		const struct registry_backend_driver *rd = registry_find_backend(ci->module);
		struct berth_backend_handle *b = &backends[n_backends];

		if (!rd)
			return berth_error_set(err, BERTH_E_INVALID,
					       "%s:%d: backends.%s.module: module '%s' registered no "
					       "backend of that name", ci->file, ci->line, ci->name,
					       ci->module);
		if (config_check_instance(ci, rd->drv->options, err) < 0)
			return -1;
		b->name = strdup(ci->name);
		b->drv = rd->drv;
		b->is_default = ci->is_default;
		b->reachable = true; /* until the backend says otherwise */
		pthread_mutex_init(&b->lock, NULL);
		if (!b->name)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		if (rd->drv->open(host, config_settings(ci), b, &b->inst, err) < 0) {
			free(b->name);
			pthread_mutex_destroy(&b->lock);
			return -1;
		}
		n_backends++;
		backend_refresh(b);
		log_info("backend %s (%s) opened%s%s", b->name, b->drv->name,
			 b->version ? ": " : "", b->version ? b->version : "");
	}
	return 0;
}

void backends_watch_all(void)
{
	for (size_t i = 0; i < n_backends; i++) {
		struct berth_backend_handle *b = &backends[i];
		berth_error err;

		berth_error_clear(&err);
		if (b->drv->watch && b->drv->watch(b->inst, &err) < 0)
			log_warn("backend %s: event stream not started: %s", b->name, err.message);
	}
}

void backends_close_all(void)
{
	for (size_t i = n_backends; i-- > 0;) {
		struct berth_backend_handle *b = &backends[i];

		b->drv->close(b->inst);
		free(b->name);
		free(b->why);
		free(b->version);
		pthread_mutex_destroy(&b->lock);
	}
	free(backends);
	backends = NULL;
	n_backends = 0;
}

size_t backends_count(void)
{
	return n_backends;
}

struct berth_backend_handle *backends_at(size_t i)
{
	return i < n_backends ? &backends[i] : NULL;
}

struct berth_backend_handle *backends_find(const char *name)
{
	for (size_t i = 0; i < n_backends; i++)
		if (strcmp(backends[i].name, name) == 0)
			return &backends[i];
	return NULL;
}

struct berth_backend_handle *backends_default(void)
{
	for (size_t i = 0; i < n_backends; i++)
		if (backends[i].is_default)
			return &backends[i];
	return n_backends ? &backends[0] : NULL;
}

uint64_t backend_caps(struct berth_backend_handle *b)
{
	uint64_t caps;

	pthread_mutex_lock(&b->lock);
	caps = b->caps;
	pthread_mutex_unlock(&b->lock);
	return caps;
}

bool backend_reachable(struct berth_backend_handle *b)
{
	bool r;

	pthread_mutex_lock(&b->lock);
	r = b->reachable;
	pthread_mutex_unlock(&b->lock);
	return r;
}

bool backend_set_status(struct berth_backend_handle *b, bool reachable, const char *why)
{
	bool came_back;

	pthread_mutex_lock(&b->lock);
	came_back = reachable && !b->reachable;
	b->reachable = reachable;
	free(b->why);
	b->why = !reachable && why ? strdup(why) : NULL;
	pthread_mutex_unlock(&b->lock);
	return came_back;
}

int backend_check_reachable(struct berth_backend_handle *b, berth_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	if (!b->reachable)
		rc = berth_error_set(err, BERTH_E_UNAVAILABLE, "the %s runtime is unreachable: %s",
				     b->name, b->why ? b->why : "no reason given");
	pthread_mutex_unlock(&b->lock);
	return rc;
}
