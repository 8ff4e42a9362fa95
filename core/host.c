/* SPDX-License-Identifier: Apache-2.0 */
/* The berth_host table: what the core offers its modules. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "host.h"
#include "identity.h"
#include "log.h"
#include "monitor.h"
#include "queue.h"
#include "registry.h"
#include "store.h"
#include "transports.h"
#include "twin.h"

static berth_host host;
static berth_identity agent;
static void (*change_notifier)(void);

static void host_log(int level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, module, fmt, ap);
	va_end(ap);
}

struct resync_job {
	struct job job;
	berth_transport_handle *t;
};

static void resync_run(struct job *job)
{
	twin_resync(((struct resync_job *)job)->t);
	free(job);
}

static void resync_cancel(struct job *job)
{
	free(job);
}

/* A transport (re)connected: adopt a learned identity, then resync the twin through it
 * on a worker, so that the transport's thread returns at once. */
static void host_transport_online(berth_transport_handle *t, const berth_identity *id)
{
	char known[IDENTITY_MAX];
	struct resync_job *r;
	berth_error err;

	if (id && id->thing_id && *id->thing_id && agent.thing_id &&
	    strcmp(id->thing_id, agent.thing_id) != 0) {
		/* A configured identity wins over what a transport reports. */
		log_warn("transport %s reports thing %s; keeping the configured %s", t->name,
			 id->thing_id, agent.thing_id);
	} else if (id && id->thing_id && *id->thing_id) {
		bool changed = !identity_thing(known, sizeof(known)) ||
			       strcmp(known, id->thing_id) != 0;

		identity_set(id->thing_id, id->tenant);
		if (changed) {
			log_notice("serving thing %s%s%s (learned by %s)", id->thing_id,
				   id->tenant ? " of tenant " : "", id->tenant ? id->tenant : "",
				   t->name);
			/* Remembered only when learned: a configured id always wins. */
			if (!agent.thing_id && store_save_identity(id->thing_id, id->tenant) < 0)
				log_warn("cannot save the learned identity");
		}
	}
	transport_set_online(t, true);
	log_info("transport %s is online", t->name);
	if (change_notifier)
		change_notifier();
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->t = t;
	snprintf(r->job.key, sizeof(r->job.key), "resync:%s", t->name);
	r->job.run = resync_run;
	r->job.cancel = resync_cancel;
	berth_error_clear(&err);
	if (queue_submit(&r->job, &err) < 0)
		free(r);
}

static void host_transport_offline(berth_transport_handle *t, const char *why)
{
	bool was = transport_is_online(t);

	transport_set_online(t, false);
	if (was)
		log_warn("transport %s is offline: %s", t->name, why ? why : "no reason given");
	if (change_notifier)
		change_notifier();
}

const berth_host *host_init(const struct berth_config *cfg)
{
	agent = (berth_identity){
		.size = sizeof(agent),
		.thing_id = cfg->agent.thing_id,
		.tenant = cfg->agent.tenant,
		.device_id = cfg->agent.device_id,
	};
	host = (berth_host){
		.size = sizeof(host),
		.abi_version = BERTH_ABI_VERSION,
		.log = host_log,
		.register_backend = registry_register_backend,
		.register_transport = registry_register_transport,
		.setting_string = config_setting_string,
		.setting_int = config_setting_int,
		.setting_bool = config_setting_bool,
		.setting_float = config_setting_float,
		.setting_string_at = config_setting_string_at,
		.setting_invalid = config_setting_invalid,
		.agent = &agent,
		.state_dir = cfg->agent.state_dir,
		.version = PACKAGE_VERSION,
		.backend_event = monitor_event,
		.backend_status = monitor_status,
		.transport_inbound = command_inbound,
		.transport_online = host_transport_online,
		.transport_offline = host_transport_offline,
	};
	return &host;
}

void host_set_change_notifier(void (*notify)(void))
{
	change_notifier = notify;
}
