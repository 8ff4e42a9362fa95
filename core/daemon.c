/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berthd's life: load configuration and modules, open backends and transports, load
 * and reconcile the containers, start the transports, then run the sd-event loop
 * (signals, readiness, watchdog) until SIGTERM/SIGINT; SIGHUP reloads the agent
 * settings that can change without a restart.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "backends.h"
#include "command.h"
#include "config.h"
#include "container.h"
#include "control.h"
#include "daemon.h"
#include "host.h"
#include "identity.h"
#include "loader.h"
#include "log.h"
#include "monitor.h"
#include "ops.h"
#include "queue.h"
#include "registry.h"
#include "restart.h"
#include "store.h"
#include "transports.h"
#include "twin.h"

#define READY_TIMEOUT_USEC (10ULL * 1000000ULL) /* READY=1 at the latest after this */
#define SHUTDOWN_GRACE_MS 5000
#define RECONCILE_WAIT_MS 10000 /* start-up: wait for reconciliation at most this long */

struct daemon {
	const char *config_path;
	struct berth_config *cfg;
	sd_event *event;
	int change_fd; /* eventfd: a transport went online/offline */
	bool ready;
};

static struct daemon *the_daemon;

/* Loads every module the configuration names, once each. */
static int load_modules(const struct berth_config *cfg, const berth_host *host, berth_error *err)
{
	const struct config_instance *lists[2] = { cfg->backends, cfg->transports };
	size_t counts[2] = { cfg->n_backends, cfg->n_transports };

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			struct berth_module *m;

			if (loader_find(lists[l][i].module))
				continue;
			if (loader_load(cfg->agent.module_dir, lists[l][i].module, host, &m, err) < 0)
				return -1;
		}
	}
	return 0;
}

static void unload_everything(struct berth_config *cfg)
{
	transports_close_all();
	backends_close_all();
	loader_unload_all();
	registry_clear();
	config_free(cfg);
}

int daemon_check_config(const char *path)
{
	struct berth_config *cfg = NULL;
	const berth_host *host;
	berth_error err;
	int rc = 1;

	berth_error_clear(&err);
	if (config_load(path, &cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	log_setup(LOG_TARGET_STDERR, cfg->agent.log_level);
	host = host_init(cfg);
	/* open() validates every value but must not connect: nothing leaves the machine. */
	if (load_modules(cfg, host, &err) == 0 && backends_open_all(cfg, host, &err) == 0 &&
	    transports_open_all(cfg, host, &err) == 0) {
		printf("%s: configuration OK (%zu backend%s, %zu transport%s)\n", path,
		       cfg->n_backends, cfg->n_backends == 1 ? "" : "s", cfg->n_transports,
		       cfg->n_transports == 1 ? "" : "s");
		rc = 0;
	} else {
		fprintf(stderr, "%s\n", err.message);
	}
	unload_everything(cfg);
	return rc;
}

/* ---- containers at start-up ---- */

static void load_record(json_object *rec, const char *file, void *userdata)
{
	json_object *v;
	const char *backend_name = json_object_object_get_ex(rec, "backend", &v)
					   ? json_object_get_string(v) : NULL;
	struct berth_backend_handle *b = backend_name ? backends_find(backend_name) : NULL;
	struct container *c;
	char why[128];

	if (!b) {
		log_warn("store: containers/%s belongs to backend '%s', which is not configured: "
			 "left alone", file, backend_name ? backend_name : "?");
		return;
	}
	c = container_from_record_json(rec, b, why, sizeof(why));
	if (!c) {
		log_warn("store: containers/%s: %s: left alone", file, why);
		return;
	}
	if (containers_add(c) < 0)
		log_warn("store: containers/%s: duplicate id %s", file, c->id);
	container_unref(c);
}

/* ---- readiness and status ---- */

static void update_status(struct daemon *d)
{
	char thing[IDENTITY_MAX], transports_text[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < transports_count(); i++) {
		struct berth_transport_handle *t = transports_at(i);
		int n;

		if (t->builtin) /* the control socket is no cloud link */
			continue;
		n = snprintf(transports_text + len, sizeof(transports_text) - len, "%s%s %s",
			     i ? ", " : "", t->name, transport_is_online(t) ? "online" : "offline");
		if (n < 0 || (size_t)n >= sizeof(transports_text) - len)
			break;
		len += (size_t)n;
	}
	sd_notifyf(0, "STATUS=%s: %zu containers; transports: %s",
		   identity_thing(thing, sizeof(thing)) ? thing : "thing not known yet",
		   containers_count(), transports_text[0] ? transports_text : "none");
	if (!d->ready && transports_all_online()) {
		d->ready = true;
		sd_notify(0, "READY=1");
		log_notice("ready: modules loaded, transports connected");
	}
}

static void notify_change(void)
{
	uint64_t one = 1;

	if (the_daemon && the_daemon->change_fd >= 0 &&
	    write(the_daemon->change_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("cannot signal a change: %s", strerror(errno));
}

static int on_change(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	update_status(userdata);
	return 0;
}

static int on_ready_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	if (!d->ready) {
		d->ready = true;
		sd_notify(0, "READY=1");
		log_warn("ready although not every transport is connected yet (they keep retrying)");
	}
	update_status(d);
	return 0;
}

/* ---- signals ---- */

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	log_notice("received %s: shutting down", strsignal((int)si->ssi_signo));
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
	return sd_event_exit(d->event, 0);
}

static void apply_agent_settings(const struct agent_config *a)
{
	log_setup(a->log_target, a->log_level);
	ops_set_stop_timeout(a->stop_timeout);
	queue_set_limits(a->max_workers, a->queue_limit);
	command_set_limits((size_t)a->max_payload, a->max_json_depth);
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;
	struct berth_config *fresh = NULL;
	berth_error err;

	sd_notify(0, "RELOADING=1");
	berth_error_clear(&err);
	if (config_load(d->config_path, &fresh, &err) < 0) {
		log_err("reload refused, keeping the running configuration: %s", err.message);
	} else {
		apply_agent_settings(&fresh->agent);
		if (fresh->n_backends != d->cfg->n_backends ||
		    fresh->n_transports != d->cfg->n_transports)
			log_warn("reload: changes to backends or transports take effect at the next "
				 "restart");
		/* The running instances keep their settings; only agent keys are taken over. */
		config_free(fresh);
		log_notice("reloaded %s: log level, stop timeout and queue limits applied",
			   d->config_path);
	}
	sd_notify(0, "READY=1");
	update_status(d);
	return 0;
}

/* ---- run ---- */

static int start(struct daemon *d, berth_error *err)
{
	const struct agent_config *a = &d->cfg->agent;
	const berth_host *host = host_init(d->cfg);

	identity_set(a->thing_id, a->tenant);
	apply_agent_settings(a);
	queue_init(a->max_workers, a->queue_limit);
	if (load_modules(d->cfg, host, err) < 0 || backends_open_all(d->cfg, host, err) < 0 ||
	    transports_open_all(d->cfg, host, err) < 0 || control_open(a, err) < 0)
		return -1;
	if (store_open(a->state_dir, err) < 0)
		return -1;
	if (!a->thing_id) {
		char thing[IDENTITY_MAX], tenant[IDENTITY_MAX];

		if (store_load_identity(thing, sizeof(thing), tenant, sizeof(tenant))) {
			identity_set(thing, tenant);
			log_info("serving thing %s, as last learned", thing);
		}
	}
	twin_init();
	store_load(load_record, NULL);
	log_info("%zu containers in %s", containers_count(), a->state_dir);
	restart_init();
	backends_watch_all();
	for (size_t i = 0; i < backends_count(); i++)
		if (backend_reachable(backends_at(i)))
			monitor_reconcile(backends_at(i));
	/* The first resync should show the runtime as it is, not the stored records. */
	if (!queue_wait_idle(RECONCILE_WAIT_MS))
		log_warn("reconciliation still running; starting the transports anyway");
	host_set_change_notifier(notify_change);
	return transports_start_all(err);
}

static void stop(struct daemon *d)
{
	/* No new commands; what is queued or running finishes (or is answered 503). */
	transports_stop_all();
	queue_shutdown(ops_stop_timeout() * 1000 + SHUTDOWN_GRACE_MS);
	restart_shutdown();
	host_set_change_notifier(NULL);
	transports_close_all();
	backends_close_all();
	containers_clear();
	twin_cleanup();
	store_close();
	loader_unload_all();
	registry_clear();
}

int daemon_run(const char *config_path)
{
	struct daemon d = { .config_path = config_path, .change_fd = -1 };
	sigset_t mask;
	berth_error err;
	int rc = 1;

	/* Before any thread exists, so that every thread inherits the mask and the
	 * signals reach only sd-event's signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	berth_error_clear(&err);
	if (config_load(config_path, &d.cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	log_setup(d.cfg->agent.log_target, d.cfg->agent.log_level);
	the_daemon = &d;
	d.change_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.change_fd < 0 || sd_event_default(&d.event) < 0) {
		log_err("cannot set up the event loop");
		goto out;
	}
	sd_event_add_signal(d.event, NULL, SIGTERM, on_terminate, &d);
	sd_event_add_signal(d.event, NULL, SIGINT, on_terminate, &d);
	sd_event_add_signal(d.event, NULL, SIGHUP, on_reload, &d);
	sd_event_add_io(d.event, NULL, d.change_fd, EPOLLIN, on_change, &d);
	sd_event_add_time_relative(d.event, NULL, CLOCK_MONOTONIC, READY_TIMEOUT_USEC, 0,
				   on_ready_timeout, &d);
	sd_event_set_watchdog(d.event, true); /* WATCHDOG=1 when the unit asks for it */

	log_notice("berthd %s starting with %s", PACKAGE_VERSION, config_path);
	if (start(&d, &err) < 0) {
		log_err("%s", err.message);
		stop(&d);
		goto out;
	}
	update_status(&d);
	rc = sd_event_loop(d.event) < 0 ? 1 : 0;
	stop(&d);
	log_notice("stopped");
out:
	sd_event_unref(d.event);
	if (d.change_fd >= 0)
		close(d.change_fd);
	the_daemon = NULL;
	config_free(d.cfg);
	return rc;
}
