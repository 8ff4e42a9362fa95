/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: the driver table, the module's entry points, open/close with
 * the instance's settings, capabilities (they depend on the negotiated API version) and
 * ping. The operations are in docker_ops.c, the event thread in docker_events.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "restsettings.h"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static const berth_option docker_options[] = {
	{ "socket", BERTH_OPT_STRING, false,
	  "Docker API socket: a path or unix:///path (default " DOCKER_DEFAULT_SOCKET ")" },
	{ "api_version", BERTH_OPT_STRING, false,
	  "pin the Engine API version (\"1.41\" .. \"1.47\") instead of negotiating it" },
	{ "timeout", BERTH_OPT_INT, false,
	  "seconds an ordinary request may take (default 30)" },
	{ "pull", BERTH_OPT_BOOL, false,
	  "pull a missing image when creating a container (default true)" },
	{ "stop_grace", BERTH_OPT_INT, false,
	  "seconds a stop request may take beyond its own timeout (default 10)" },
	{ 0 },
};

void docker_log(const struct docker *d, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (!d || !d->host || !d->host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	d->host->log(level, DOCKER_MODULE, "%s", text);
}

static int read_settings(struct docker *d, const berth_settings *s, berth_error *err)
{
	const berth_host *host = d->host;
	const char *str;

	d->timeout_s = DOCKER_DEFAULT_TIMEOUT_S;
	d->stop_grace_s = DOCKER_DEFAULT_STOP_GRACE_S;
	d->pull = true;

	if (restsettings_socket(host, s, DOCKER_DEFAULT_SOCKET, &d->socket, err) < 0)
		return -1;

	if (host->setting_string(s, "api_version", &str) == 0) {
		int minor = docker_parse_api_minor(str);

		if (minor < 0)
			return host->setting_invalid(s, "api_version", err,
						     "\"%s\" is not an API version like \"1.41\"",
						     str);
		if (minor < DOCKER_API_MIN_MINOR || minor > DOCKER_API_MAX_MINOR)
			return host->setting_invalid(
				s, "api_version", err,
				"\"%s\" is outside the versions this backend speaks (1.%d to 1.%d)",
				str, DOCKER_API_MIN_MINOR, DOCKER_API_MAX_MINOR);
		d->pinned_minor = minor;
	}
	if (restsettings_timing(host, s, &d->timeout_s, &d->pull, &d->stop_grace_s, err) < 0)
		return -1;
	return 0;
}

static void docker_free(struct docker *d)
{
	if (!d)
		return;
	restevents_release(&d->events);
	unixhttp_free(d->http);
	pthread_mutex_destroy(&d->lock);
	free(d->engine_version);
	free(d->socket);
	free(d);
}

static int docker_open(const berth_host *host, const berth_settings *settings,
		       berth_backend_handle *handle, void **instance, berth_error *err)
{
	struct docker *d = calloc(1, sizeof(*d));
	berth_error e;

	if (!d)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	d->host = host;
	d->handle = handle;
	d->events.wake[0] = d->events.wake[1] = -1;
	pthread_mutex_init(&d->lock, NULL);
	if (read_settings(d, settings, err) < 0) {
		docker_free(d);
		return -1;
	}
	d->http = unixhttp_new(d->socket, DOCKER_POOL_MAX);
	if (!d->http || docker_events_init(d) < 0) {
		docker_free(d);
		return berth_error_set(err, BERTH_E_NOMEM, "cannot set up the Docker client: %s",
				       strerror(errno));
	}

	/* dockerd being down is not an error: say so and let the event thread retry */
	berth_error_clear(&e);
	if (docker_negotiate_within(d, docker_timeout_ms(d) < DOCKER_OPEN_PROBE_MS
					       ? docker_timeout_ms(d) : DOCKER_OPEN_PROBE_MS,
				    &e) < 0) {
		docker_log(d, BERTH_LOG_WARNING, "%s", e.message);
		host->backend_status(handle, false, e.message);
	} else {
		atomic_store(&d->events.reachable, true);
	}
	*instance = d;
	return 0;
}

static void docker_close(void *instance)
{
	struct docker *d = instance;

	docker_events_stop(d);
	docker_free(d);
}

static uint64_t docker_capabilities(void *instance)
{
	struct docker *d = instance;
	uint64_t caps = BERTH_CAP_RENAME | BERTH_CAP_LIVE_UPDATE | BERTH_CAP_RESTART_POLICY |
			BERTH_CAP_PAUSE | BERTH_CAP_LABELS | BERTH_CAP_EVENTS;
	int minor;

	if (d->pull)
		caps |= BERTH_CAP_PULL;
	pthread_mutex_lock(&d->lock);
	minor = d->pinned_minor ? d->pinned_minor : d->api_minor;
	pthread_mutex_unlock(&d->lock);
	if (minor >= DOCKER_API_STOP_SIGNAL_MINOR)
		caps |= BERTH_CAP_STOP_SIGNAL;
	return caps;
}

static int docker_watch(void *instance, berth_error *err)
{
	return docker_events_start(instance, err);
}

static int docker_ping(void *instance, char **version_out, berth_error *err)
{
	struct docker *d = instance;
	char *text = NULL;
	int minor;

	if (docker_check_engine(d, err) < 0)
		return -1;
	if (version_out) {
		pthread_mutex_lock(&d->lock);
		minor = d->pinned_minor ? d->pinned_minor : d->api_minor;
		if (asprintf(&text, "docker %s (API 1.%d)",
			     d->engine_version ? d->engine_version : "(unknown version)",
			     minor) < 0)
			text = NULL;
		pthread_mutex_unlock(&d->lock);
		if (!text)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		*version_out = text;
	}
	return 0;
}

static const berth_backend_driver docker_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "docker",
	.description = "Docker Engine API over a unix socket (API 1.41 to 1.47)",
	.options = docker_options,
	.open = docker_open,
	.close = docker_close,
	.capabilities = docker_capabilities,
	.watch = docker_watch,
	.ping = docker_ping,
	.create = docker_op_create,
	.start = docker_op_start,
	.kill = docker_op_kill,
	.stop = docker_op_stop,
	.pause = docker_op_pause,
	.resume = docker_op_resume,
	.rename = docker_op_rename,
	.update = docker_op_update,
	.remove = docker_op_remove,
	.inspect = docker_op_inspect,
	.list = docker_op_list,
};

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &docker_driver, err);
}
