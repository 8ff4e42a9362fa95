/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: the driver table, the module's entry points, open/close with the
 * instance's settings, capabilities (live update depends on the service's version) and
 * ping. The operations are in podman_ops.c, the event thread in podman_events.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "podman.h"
#include "restsettings.h"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static const berth_option podman_options[] = {
	{ "socket", BERTH_OPT_STRING, false,
	  "libpod API socket of `podman system service`: a path or unix:///path (default "
	  PODMAN_DEFAULT_SOCKET ")" },
	{ "timeout", BERTH_OPT_INT, false,
	  "seconds an ordinary request may take (default 30)" },
	{ "pull", BERTH_OPT_BOOL, false,
	  "pull a missing image when creating a container (default true)" },
	{ "stop_grace", BERTH_OPT_INT, false,
	  "seconds a stop request may take beyond its own timeout (default 10)" },
	{ "bridge_network", BERTH_OPT_STRING, false,
	  "podman network that bridge-mode containers join (default: podman's default "
	  "network); \"none\" gives them a network namespace of their own without a network" },
	{ 0 },
};

void podman_log(const struct podman *p, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (!p || !p->host || !p->host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->host->log(level, PODMAN_MODULE, "%s", text);
}

static int read_settings(struct podman *p, const berth_settings *s, berth_error *err)
{
	const berth_host *host = p->host;
	const char *str;

	p->timeout_s = PODMAN_DEFAULT_TIMEOUT_S;
	p->stop_grace_s = PODMAN_DEFAULT_STOP_GRACE_S;
	p->pull = true;

	if (restsettings_socket(host, s, PODMAN_DEFAULT_SOCKET, &p->socket, err) < 0)
		return -1;
	if (restsettings_timing(host, s, &p->timeout_s, &p->pull, &p->stop_grace_s, err) < 0)
		return -1;
	if (host->setting_string(s, "bridge_network", &str) == 0) {
		if (!*str || !podman_name_valid(str))
			return host->setting_invalid(s, "bridge_network", err,
						     "\"%s\" is not a podman network name", str);
		p->bridge_network = strdup(str);
		if (!p->bridge_network)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	return 0;
}

static void podman_free(struct podman *p)
{
	if (!p)
		return;
	restevents_release(&p->events);
	unixhttp_free(p->http);
	podman_limits_free(p);
	pthread_mutex_destroy(&p->lock);
	free(p->version);
	free(p->api_version);
	free(p->bridge_network);
	free(p->socket);
	free(p);
}

static int podman_open(const berth_host *host, const berth_settings *settings,
		       berth_backend_handle *handle, void **instance, berth_error *err)
{
	struct podman *p = calloc(1, sizeof(*p));
	long probe_ms;
	berth_error e;

	if (!p)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	p->host = host;
	p->handle = handle;
	p->events.wake[0] = p->events.wake[1] = -1;
	pthread_mutex_init(&p->lock, NULL);
	if (read_settings(p, settings, err) < 0) {
		podman_free(p);
		return -1;
	}
	if (podman_limits_open(p, BERTH_HAS_FIELD(host, berth_host, state_dir) ? host->state_dir
									    : NULL,
			       err) < 0) {
		podman_free(p);
		return -1;
	}
	p->http = unixhttp_new(p->socket, PODMAN_POOL_MAX);
	if (!p->http || podman_events_init(p) < 0) {
		podman_free(p);
		return berth_error_set(err, BERTH_E_NOMEM, "cannot set up the Podman client: %s",
				       strerror(errno));
	}
	/* the service being down is not an error: say so and let the event thread retry */
	berth_error_clear(&e);
	probe_ms = podman_timeout_ms(p);
	if (probe_ms > PODMAN_OPEN_PROBE_MS)
		probe_ms = PODMAN_OPEN_PROBE_MS;
	if (podman_probe(p, probe_ms, &e) < 0) {
		podman_log(p, BERTH_LOG_WARNING, "%s", e.message);
		host->backend_status(handle, false, e.message);
	} else {
		atomic_store(&p->events.reachable, true);
	}
	*instance = p;
	return 0;
}

static void podman_close(void *instance)
{
	struct podman *p = instance;

	podman_events_stop(p);
	podman_free(p);
}

/* Restart policies are left to berth's restart manager: Podman without systemd restarts
 * a container only while its conmon runs, and a policy cannot be changed by update
 * before Podman 5.1. Stop is native for SIGTERM only (libpod's stop has no signal). */
static uint64_t podman_capabilities(void *instance)
{
	struct podman *p = instance;
	uint64_t caps = BERTH_CAP_RENAME | BERTH_CAP_PAUSE | BERTH_CAP_LABELS | BERTH_CAP_EVENTS;

	if (p->pull)
		caps |= BERTH_CAP_PULL;
	if (podman_has_update(p))
		caps |= BERTH_CAP_LIVE_UPDATE;
	return caps;
}

static int podman_watch(void *instance, berth_error *err)
{
	return podman_events_start(instance, err);
}

static int podman_ping(void *instance, char **version_out, berth_error *err)
{
	struct podman *p = instance;
	char *text = NULL;

	if (podman_probe(p, podman_timeout_ms(p), err) < 0)
		return -1;
	if (version_out) {
		pthread_mutex_lock(&p->lock);
		if (asprintf(&text, "podman %s (API %s)", p->version ? p->version : "(unknown)",
			     p->api_version ? p->api_version : "(unknown)") < 0)
			text = NULL;
		pthread_mutex_unlock(&p->lock);
		if (!text)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		*version_out = text;
	}
	return 0;
}

static const berth_backend_driver podman_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "podman",
	.description = "Podman libpod API over a unix socket (Podman 4.0 and newer)",
	.options = podman_options,
	.open = podman_open,
	.close = podman_close,
	.capabilities = podman_capabilities,
	.watch = podman_watch,
	.ping = podman_ping,
	.create = podman_op_create,
	.start = podman_op_start,
	.kill = podman_op_kill,
	.stop = podman_op_stop,
	.pause = podman_op_pause,
	.resume = podman_op_resume,
	.rename = podman_op_rename,
	.update = podman_op_update,
	.remove = podman_op_remove,
	.inspect = podman_op_inspect,
	.list = podman_op_list,
};

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &podman_driver, err);
}
