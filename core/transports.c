/* SPDX-License-Identifier: Apache-2.0 */
/* Transport instances: open, start, stop, and sending events to the online ones. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.h"
#include "transports.h"

static struct berth_transport_handle *transports;
static size_t n_transports;

int transports_open_all(const struct berth_config *cfg, const berth_host *host,
			berth_error *err)
{
	/* Never reallocated: modules keep pointers to their handles. */
	transports = calloc(cfg->n_transports + TRANSPORTS_BUILTIN_MAX, sizeof(*transports));
	if (!transports)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	for (size_t i = 0; i < cfg->n_transports; i++) {
		const struct config_instance *ci = &cfg->transports[i];
		const struct registry_transport_driver *rd = registry_find_transport(ci->module);
		struct berth_transport_handle *t = &transports[n_transports];

		if (!rd)
			return berth_error_set(err, BERTH_E_INVALID,
					       "%s:%d: transports.%s.module: module '%s' registered "
					       "no transport of that name", ci->file, ci->line,
					       ci->name, ci->module);
		if (config_check_instance(ci, rd->drv->options, err) < 0)
			return -1;
		t->name = strdup(ci->name);
		t->drv = rd->drv;
		pthread_mutex_init(&t->lock, NULL);
		if (!t->name)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		if (rd->drv->open(host, config_settings(ci), t, &t->inst, err) < 0) {
			free(t->name);
			pthread_mutex_destroy(&t->lock);
			return -1;
		}
		t->caps = rd->drv->capabilities(t->inst);
		n_transports++;
		log_info("transport %s (%s) opened", t->name, t->drv->name);
	}
	return 0;
}

struct berth_transport_handle *transports_add_builtin(const char *name,
						      const berth_transport_driver *drv,
						      void *inst, berth_error *err)
{
	struct berth_transport_handle *t;
	size_t builtins = 0;

	for (size_t i = 0; i < n_transports; i++)
		builtins += transports[i].builtin;
	if (!transports || builtins >= TRANSPORTS_BUILTIN_MAX) {
		berth_error_set(err, BERTH_E_INTERNAL, "transport %s: no room for a built-in "
				"transport", name);
		return NULL;
	}
	t = &transports[n_transports];
	t->name = strdup(name);
	if (!t->name) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		return NULL;
	}
	t->drv = drv;
	t->inst = inst;
	t->builtin = true;
	pthread_mutex_init(&t->lock, NULL);
	t->caps = drv->capabilities(inst);
	n_transports++;
	log_info("transport %s (built in) opened", t->name);
	return t;
}

int transports_start_all(berth_error *err)
{
	for (size_t i = 0; i < n_transports; i++) {
		struct berth_transport_handle *t = &transports[i];

		if (t->drv->start(t->inst, err) < 0)
			return -1;
		t->started = true;
	}
	return 0;
}

void transports_stop_all(void)
{
	for (size_t i = 0; i < n_transports; i++)
		if (transports[i].started && transports[i].drv->stop)
			transports[i].drv->stop(transports[i].inst);
}

void transports_close_all(void)
{
	for (size_t i = n_transports; i-- > 0;) {
		struct berth_transport_handle *t = &transports[i];

		t->drv->close(t->inst);
		free(t->name);
		pthread_mutex_destroy(&t->lock);
	}
	free(transports);
	transports = NULL;
	n_transports = 0;
}

size_t transports_count(void)
{
	return n_transports;
}

struct berth_transport_handle *transports_at(size_t i)
{
	return i < n_transports ? &transports[i] : NULL;
}

bool transport_is_online(struct berth_transport_handle *t)
{
	bool online;

	pthread_mutex_lock(&t->lock);
	online = t->online;
	pthread_mutex_unlock(&t->lock);
	return online;
}

void transport_set_online(struct berth_transport_handle *t, bool online)
{
	pthread_mutex_lock(&t->lock);
	t->online = online;
	pthread_mutex_unlock(&t->lock);
}

bool transports_all_online(void)
{
	for (size_t i = 0; i < n_transports; i++)
		if (!transports[i].builtin && !transport_is_online(&transports[i]))
			return false;
	return true;
}

bool transports_send_event(struct berth_transport_handle *only, const char *thing_id,
			   const char *tenant, const char *payload)
{
	bool all = true;
	berth_outbound_event ev = {
		.size = sizeof(ev),
		.thing_id = thing_id,
		.tenant = tenant && *tenant ? tenant : NULL,
		.payload = payload,
		.payload_len = strlen(payload),
		.content_type = "application/vnd.eclipse.ditto+json",
	};

	for (size_t i = 0; i < n_transports; i++) {
		struct berth_transport_handle *t = &transports[i];
		berth_error err;

		if ((only && t != only) || t->builtin)
			continue;
		if (!transport_is_online(t)) {
			all = false;
			continue;
		}
		berth_error_clear(&err);
		if (t->drv->send_event(t->inst, &ev, &err) < 0) {
			log_warn("transport %s: twin event not sent: %s", t->name, err.message);
			all = false;
		}
	}
	return all;
}
