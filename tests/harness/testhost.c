/* SPDX-License-Identifier: Apache-2.0 */
/* testhost: load one module and record what it calls back (see testhost.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libconfig.h>

#include "config.h"
#include "log.h"
#include "testhost.h"

#define TESTHOST_MAX_DRIVERS 8
#define TESTHOST_MAX_SETTINGS 16

struct record_node {
	struct testhost_record *rec;
	struct record_node *next;
};

struct testhost {
	berth_host host;
	berth_identity agent;
	char *agent_thing_id;
	char *agent_tenant;
	void *dl;
	const berth_backend_driver *backends[TESTHOST_MAX_DRIVERS];
	size_t n_backends;
	const berth_transport_driver *transports[TESTHOST_MAX_DRIVERS];
	size_t n_transports;
	config_t settings_cfg[TESTHOST_MAX_SETTINGS];
	struct config_instance settings_inst[TESTHOST_MAX_SETTINGS];
	size_t n_settings;
	int disposition;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct record_node *head, *tail;
};

/* Handles are only compared by address: one of each per testhost. */
struct berth_backend_handle {
	struct testhost *th;
};
struct berth_transport_handle {
	struct testhost *th;
};
static struct berth_backend_handle the_backend_handle;
static struct berth_transport_handle the_transport_handle;
static struct testhost *current; /* registration callbacks find their testhost here */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void push(struct testhost *th, struct testhost_record *rec)
{
	struct record_node *n = calloc(1, sizeof(*n));

	if (!n) {
		testhost_record_free(rec);
		return;
	}
	n->rec = rec;
	pthread_mutex_lock(&th->lock);
	if (th->tail)
		th->tail->next = n;
	else
		th->head = n;
	th->tail = n;
	pthread_cond_broadcast(&th->cond);
	pthread_mutex_unlock(&th->lock);
}

static void host_log(int level, const char *module, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(level, module, "%s", text);
}

static int host_register_backend(berth_module *self, const berth_backend_driver *drv,
				 berth_error *err)
{
	if (!current || current->n_backends == TESTHOST_MAX_DRIVERS)
		return berth_error_set(err, BERTH_E_INTERNAL, "testhost: too many backends");
	current->backends[current->n_backends++] = drv;
	return 0;
}

static int host_register_transport(berth_module *self, const berth_transport_driver *drv,
				   berth_error *err)
{
	if (!current || current->n_transports == TESTHOST_MAX_DRIVERS)
		return berth_error_set(err, BERTH_E_INTERNAL, "testhost: too many transports");
	current->transports[current->n_transports++] = drv;
	return 0;
}

static void host_backend_event(berth_backend_handle *h, const berth_event *ev)
{
	struct testhost_record *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = TESTHOST_EVENT;
	r->type = ev->type;
	r->exit_code = ev->exit_code;
	r->native_id = dup_or_null(ev->native_id);
	r->berth_id = dup_or_null(ev->berth_id);
	r->name = dup_or_null(ev->name);
	push(h->th, r);
}

static void host_backend_status(berth_backend_handle *h, bool reachable, const char *why)
{
	struct testhost_record *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = TESTHOST_STATUS;
	r->reachable = reachable;
	r->text = dup_or_null(why);
	push(h->th, r);
}

static int host_transport_inbound(berth_transport_handle *h, const berth_inbound *msg)
{
	struct testhost_record *r = calloc(1, sizeof(*r));
	int disposition;

	if (!r)
		return BERTH_DISPOSITION_RELEASED;
	r->kind = TESTHOST_INBOUND;
	r->payload = malloc(msg->payload_len + 1);
	if (r->payload) {
		memcpy(r->payload, msg->payload, msg->payload_len);
		r->payload[msg->payload_len] = '\0';
		r->payload_len = msg->payload_len;
	}
	r->reply_to = dup_or_null(msg->reply_to);
	r->correlation_id = dup_or_null(msg->correlation_id);
	r->subject = dup_or_null(msg->subject);
	r->device_id = dup_or_null(msg->device_id);
	r->content_type = dup_or_null(msg->content_type);
	pthread_mutex_lock(&h->th->lock);
	disposition = h->th->disposition;
	pthread_mutex_unlock(&h->th->lock);
	push(h->th, r);
	return disposition;
}

static void host_transport_online(berth_transport_handle *h, const berth_identity *id)
{
	struct testhost_record *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = TESTHOST_ONLINE;
	if (id) {
		r->thing_id = dup_or_null(id->thing_id);
		r->tenant = dup_or_null(id->tenant);
		r->device_id = dup_or_null(id->device_id);
	}
	push(h->th, r);
}

static void host_transport_offline(berth_transport_handle *h, const char *why)
{
	struct testhost_record *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = TESTHOST_OFFLINE;
	r->text = dup_or_null(why);
	push(h->th, r);
}

struct testhost *testhost_new(const char *agent_thing_id, const char *agent_tenant)
{
	struct testhost *th = calloc(1, sizeof(*th));

	if (!th)
		return NULL;
	log_setup(LOG_TARGET_STDERR, getenv("TESTHOST_DEBUG") ? BERTH_LOG_DEBUG : BERTH_LOG_INFO);
	pthread_mutex_init(&th->lock, NULL);
	pthread_cond_init(&th->cond, NULL);
	th->agent_thing_id = dup_or_null(agent_thing_id);
	th->agent_tenant = dup_or_null(agent_tenant);
	th->agent = (berth_identity){ .size = sizeof(berth_identity),
				      .thing_id = th->agent_thing_id,
				      .tenant = th->agent_tenant };
	th->host = (berth_host){
		.size = sizeof(berth_host),
		.abi_version = BERTH_ABI_VERSION_1,
		.log = host_log,
		.register_backend = host_register_backend,
		.register_transport = host_register_transport,
		.setting_string = config_setting_string,
		.setting_int = config_setting_int,
		.setting_bool = config_setting_bool,
		.setting_float = config_setting_float,
		.setting_string_at = config_setting_string_at,
		.setting_invalid = config_setting_invalid,
		.agent = &th->agent,
		.state_dir = "/tmp",
		.version = PACKAGE_VERSION,
		.backend_event = host_backend_event,
		.backend_status = host_backend_status,
		.transport_inbound = host_transport_inbound,
		.transport_online = host_transport_online,
		.transport_offline = host_transport_offline,
	};
	th->disposition = BERTH_DISPOSITION_ACCEPTED;
	the_backend_handle.th = th;
	the_transport_handle.th = th;
	return th;
}

void testhost_free(struct testhost *th)
{
	struct record_node *n, *next;

	if (!th)
		return;
	for (n = th->head; n; n = next) {
		next = n->next;
		testhost_record_free(n->rec);
		free(n);
	}
	for (size_t i = 0; i < th->n_settings; i++)
		config_destroy(&th->settings_cfg[i]);
	/* The module stays mapped: its threads may have been joined only just now. */
	free(th->agent_thing_id);
	free(th->agent_tenant);
	pthread_mutex_destroy(&th->lock);
	pthread_cond_destroy(&th->cond);
	free(th);
}

int testhost_load(struct testhost *th, const char *so_path, berth_error *err)
{
	static const int versions[] = { BERTH_ABI_VERSION_1 };
	berth_module_version_fn version;
	berth_module_init_fn init;
	int rc;

	th->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (!th->dl)
		return berth_error_set(err, BERTH_E_NOT_FOUND, "%s", dlerror());
	version = (berth_module_version_fn)dlsym(th->dl, BERTH_MODULE_VERSION_SYMBOL);
	init = (berth_module_init_fn)dlsym(th->dl, BERTH_MODULE_INIT_SYMBOL);
	if (!version || !init)
		return berth_error_set(err, BERTH_E_INVALID, "%s: missing entry points", so_path);
	if (version(1, versions) != BERTH_ABI_VERSION_1)
		return berth_error_set(err, BERTH_E_INVALID, "%s: ABI version refused", so_path);
	current = th;
	rc = init(&th->host, NULL, err);
	current = NULL;
	return rc;
}

const berth_host *testhost_host(struct testhost *th)
{
	return &th->host;
}

const berth_backend_driver *testhost_backend_driver(struct testhost *th, const char *name)
{
	for (size_t i = 0; i < th->n_backends; i++)
		if (strcmp(th->backends[i]->name, name) == 0)
			return th->backends[i];
	return NULL;
}

const berth_transport_driver *testhost_transport_driver(struct testhost *th, const char *name)
{
	for (size_t i = 0; i < th->n_transports; i++)
		if (strcmp(th->transports[i]->name, name) == 0)
			return th->transports[i];
	return NULL;
}

berth_backend_handle *testhost_backend_handle(struct testhost *th)
{
	return &the_backend_handle;
}

berth_transport_handle *testhost_transport_handle(struct testhost *th)
{
	return &the_transport_handle;
}

const berth_settings *testhost_settings(struct testhost *th, const char *module,
					const char *text, const berth_option *options,
					berth_error *err)
{
	config_t *cfg;
	struct config_instance *inst;
	char *doc;
	size_t len;

	if (th->n_settings == TESTHOST_MAX_SETTINGS) {
		berth_error_set(err, BERTH_E_INTERNAL, "testhost: too many settings");
		return NULL;
	}
	len = strlen(text) + 32;
	doc = malloc(len);
	if (!doc) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(doc, len, "g: {\n%s\n};\n", text);
	cfg = &th->settings_cfg[th->n_settings];
	config_init(cfg);
	if (config_read_string(cfg, doc) != CONFIG_TRUE) {
		berth_error_set(err, BERTH_E_INVALID, "settings line %d: %s",
				config_error_line(cfg), config_error_text(cfg));
		config_destroy(cfg);
		free(doc);
		return NULL;
	}
	free(doc);
	inst = &th->settings_inst[th->n_settings];
	*inst = (struct config_instance){
		.kind = CONFIG_BACKEND,
		.module = module,
		.name = module,
		.file = "<testhost>",
		.line = 1,
		.group = config_lookup(cfg, "g"),
	};
	th->n_settings++;
	if (options && config_check_instance(inst, options, err) < 0)
		return NULL;
	return config_settings(inst);
}

void testhost_set_disposition(struct testhost *th, int disposition)
{
	pthread_mutex_lock(&th->lock);
	th->disposition = disposition;
	pthread_mutex_unlock(&th->lock);
}

struct testhost_record *testhost_wait(struct testhost *th, int kind,
				      bool (*match)(const struct testhost_record *r,
						    const void *arg),
				      const void *arg, int timeout_ms)
{
	struct timespec deadline;
	struct testhost_record *found = NULL;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&th->lock);
	for (;;) {
		struct record_node **pp = &th->head, *prev = NULL;

		for (; *pp; prev = *pp, pp = &(*pp)->next) {
			struct record_node *n = *pp;

			if ((int)n->rec->kind != kind || (match && !match(n->rec, arg)))
				continue;
			found = n->rec;
			*pp = n->next;
			if (th->tail == n)
				th->tail = prev;
			free(n);
			break;
		}
		if (found)
			break;
		if (pthread_cond_timedwait(&th->cond, &th->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&th->lock);
	return found;
}

struct event_match {
	int type;
	const char *native_id;
};

static bool match_event(const struct testhost_record *r, const void *arg)
{
	const struct event_match *m = arg;

	return r->type == m->type &&
	       (!m->native_id || (r->native_id && strcmp(r->native_id, m->native_id) == 0));
}

struct testhost_record *testhost_wait_event(struct testhost *th, int event_type,
					    const char *native_id, int timeout_ms)
{
	struct event_match m = { event_type, native_id };

	return testhost_wait(th, TESTHOST_EVENT, match_event, &m, timeout_ms);
}

size_t testhost_pending(struct testhost *th, int kind)
{
	size_t n = 0;

	pthread_mutex_lock(&th->lock);
	for (struct record_node *p = th->head; p; p = p->next)
		n += (int)p->rec->kind == kind;
	pthread_mutex_unlock(&th->lock);
	return n;
}

void testhost_record_free(struct testhost_record *r)
{
	if (!r)
		return;
	free(r->native_id);
	free(r->berth_id);
	free(r->name);
	free(r->text);
	free(r->payload);
	free(r->reply_to);
	free(r->correlation_id);
	free(r->subject);
	free(r->device_id);
	free(r->content_type);
	free(r->thing_id);
	free(r->tenant);
	free(r);
}
