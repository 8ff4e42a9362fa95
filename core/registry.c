/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver registry: validates the driver tables modules register and finds them by name.
 * Registration happens on the main thread while modules load; lookups may come from any
 * thread, so everything is under one mutex. Entries are allocated one by one, so a
 * pointer returned by a lookup stays valid until that driver is forgotten.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "registry.h"

struct backend_node {
	struct registry_backend_driver entry; /* first: lookups return &node->entry */
	struct backend_node *next;
};

struct transport_node {
	struct registry_transport_driver entry;
	struct transport_node *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct backend_node *backends;     /* registration order */
static struct transport_node *transports;

static const char *module_path(const struct berth_module *m)
{
	return m && m->path ? m->path : "(unknown module)";
}

static bool valid_driver_name(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return n <= 64;
}

struct required_op {
	const char *name;
	size_t offset;
};

#define BACKEND_OP(f) { #f, offsetof(berth_backend_driver, f) }
static const struct required_op backend_required[] = {
	BACKEND_OP(open),   BACKEND_OP(close),  BACKEND_OP(capabilities),
	BACKEND_OP(create), BACKEND_OP(start),  BACKEND_OP(kill),
	BACKEND_OP(remove), BACKEND_OP(inspect), BACKEND_OP(list),
};

#define TRANSPORT_OP(f) { #f, offsetof(berth_transport_driver, f) }
static const struct required_op transport_required[] = {
	TRANSPORT_OP(open),       TRANSPORT_OP(capabilities), TRANSPORT_OP(start),
	TRANSPORT_OP(send_reply), TRANSPORT_OP(send_event),   TRANSPORT_OP(close),
};

/* Checks what backend and transport tables have in common; they share their first four
 * fields (size, name, description, options). `name` and `options` are NULL when the
 * table is too small to hold them. */
static int check_table(const struct berth_module *self, const char *kind, uint32_t size,
		       size_t min_size, const char *name, const berth_option *options,
		       const void *table, const struct required_op *ops, size_t n_ops,
		       berth_error *err)
{
	const char *path = module_path(self);

	if (size < min_size)
		return berth_error_set(err, BERTH_E_INVALID,
				       "%s: %s driver %s: table too small (size %u; this core needs "
				       "at least %zu: rebuild the module against the SDK)",
				       path, kind, valid_driver_name(name) ? name : "(unnamed)",
				       (unsigned)size, min_size);
	if (!name || !*name)
		return berth_error_set(err, BERTH_E_INVALID, "%s: %s driver without a name", path,
				       kind);
	if (!valid_driver_name(name))
		return berth_error_set(err, BERTH_E_INVALID,
				       "%s: %s driver \"%.64s\": invalid name (expected 1 to 64 of "
				       "[a-z0-9_-])",
				       path, kind, name);
	for (size_t i = 0; i < n_ops; i++) {
		void *fn;

		memcpy(&fn, (const char *)table + ops[i].offset, sizeof(fn));
		if (!fn)
			return berth_error_set(err, BERTH_E_INVALID,
					       "%s: driver %s: missing required op '%s'", path, name,
					       ops[i].name);
	}
	for (const berth_option *o = options; o && o->key; o++) {
		if (!*o->key)
			return berth_error_set(err, BERTH_E_INVALID,
					       "%s: driver %s: option with an empty key", path, name);
		if (o->type < BERTH_OPT_STRING || o->type > BERTH_OPT_STRINGS)
			return berth_error_set(err, BERTH_E_INVALID,
					       "%s: driver %s: option '%s' has unknown type %d", path,
					       name, o->key, o->type);
		if (strcmp(o->key, "module") == 0 || strcmp(o->key, "name") == 0 ||
		    (strcmp(kind, "backend") == 0 && strcmp(o->key, "default") == 0))
			return berth_error_set(err, BERTH_E_INVALID,
					       "%s: driver %s: option '%s' is one of the core's keys",
					       path, name, o->key);
		for (const berth_option *p = options; p != o; p++)
			if (strcmp(p->key, o->key) == 0)
				return berth_error_set(err, BERTH_E_INVALID,
						       "%s: driver %s: option '%s' is listed twice",
						       path, name, o->key);
	}
	return 0;
}

int registry_register_backend(struct berth_module *self, const berth_backend_driver *drv,
			      berth_error *err)
{
	struct backend_node *node, **tail;

	if (!self)
		return berth_error_set(err, BERTH_E_INVALID,
				       "register_backend: called without the module's `self`");
	if (!drv)
		return berth_error_set(err, BERTH_E_INVALID,
				       "%s: register_backend called without a driver table",
				       module_path(self));
	if (check_table(self, "backend", drv->size, BERTH_BACKEND_DRIVER_MIN_SIZE,
			drv->size >= offsetof(berth_backend_driver, description) ? drv->name : NULL,
			drv->size >= offsetof(berth_backend_driver, open) ? drv->options : NULL,
			drv, backend_required,
			sizeof(backend_required) / sizeof(backend_required[0]), err) < 0)
		return -1;

	node = calloc(1, sizeof(*node));
	if (!node)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	node->entry.drv = drv;
	node->entry.module = self;

	pthread_mutex_lock(&registry_lock);
	for (tail = &backends; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->entry.drv->name, drv->name) == 0) {
			const char *other = module_path((*tail)->entry.module);

			pthread_mutex_unlock(&registry_lock);
			free(node);
			return berth_error_set(err, BERTH_E_CONFLICT,
					       "%s: driver %s: a backend of that name is already "
					       "registered by %s",
					       module_path(self), drv->name, other);
		}
	*tail = node;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

int registry_register_transport(struct berth_module *self,
				const berth_transport_driver *drv, berth_error *err)
{
	struct transport_node *node, **tail;

	if (!self)
		return berth_error_set(err, BERTH_E_INVALID,
				       "register_transport: called without the module's `self`");
	if (!drv)
		return berth_error_set(err, BERTH_E_INVALID,
				       "%s: register_transport called without a driver table",
				       module_path(self));
	if (check_table(self, "transport", drv->size, BERTH_TRANSPORT_DRIVER_MIN_SIZE,
			drv->size >= offsetof(berth_transport_driver, description) ? drv->name
										    : NULL,
			drv->size >= offsetof(berth_transport_driver, open) ? drv->options : NULL,
			drv, transport_required,
			sizeof(transport_required) / sizeof(transport_required[0]), err) < 0)
		return -1;

	node = calloc(1, sizeof(*node));
	if (!node)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	node->entry.drv = drv;
	node->entry.module = self;

	pthread_mutex_lock(&registry_lock);
	for (tail = &transports; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->entry.drv->name, drv->name) == 0) {
			const char *other = module_path((*tail)->entry.module);

			pthread_mutex_unlock(&registry_lock);
			free(node);
			return berth_error_set(err, BERTH_E_CONFLICT,
					       "%s: driver %s: a transport of that name is already "
					       "registered by %s",
					       module_path(self), drv->name, other);
		}
	*tail = node;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

const struct registry_backend_driver *registry_find_backend(const char *name)
{
	const struct registry_backend_driver *found = NULL;

	if (!name)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	for (struct backend_node *n = backends; n; n = n->next)
		if (strcmp(n->entry.drv->name, name) == 0) {
			found = &n->entry;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

const struct registry_transport_driver *registry_find_transport(const char *name)
{
	const struct registry_transport_driver *found = NULL;

	if (!name)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	for (struct transport_node *n = transports; n; n = n->next)
		if (strcmp(n->entry.drv->name, name) == 0) {
			found = &n->entry;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

int registry_each_backend(int (*cb)(void *userdata, const struct registry_backend_driver *d),
			  void *userdata)
{
	int r = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct backend_node *n = backends; n && !r; n = n->next)
		r = cb(userdata, &n->entry);
	pthread_mutex_unlock(&registry_lock);
	return r;
}

int registry_each_transport(int (*cb)(void *userdata,
				      const struct registry_transport_driver *d),
			    void *userdata)
{
	int r = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct transport_node *n = transports; n && !r; n = n->next)
		r = cb(userdata, &n->entry);
	pthread_mutex_unlock(&registry_lock);
	return r;
}

/* Removes the entries of `module` (all entries when module is NULL). */
static void forget(const struct berth_module *module)
{
	pthread_mutex_lock(&registry_lock);
	for (struct backend_node **p = &backends; *p;) {
		struct backend_node *n = *p;

		if (!module || n->entry.module == module) {
			*p = n->next;
			free(n);
		} else {
			p = &n->next;
		}
	}
	for (struct transport_node **p = &transports; *p;) {
		struct transport_node *n = *p;

		if (!module || n->entry.module == module) {
			*p = n->next;
			free(n);
		} else {
			p = &n->next;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void registry_forget_module(const struct berth_module *module)
{
	if (module)
		forget(module);
}

void registry_clear(void)
{
	forget(NULL);
}
