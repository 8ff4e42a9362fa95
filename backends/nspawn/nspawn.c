/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: the driver table, the module's entry points, open/close with
 * the instance's settings, capabilities, ping, and what every call needs: a bus
 * connection and the mapping of systemd's errors onto berth's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nspawn.h"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static const berth_option nsp_options[] = {
	{ "bus", BERTH_OPT_STRING, false,
	  "D-Bus address of systemd and systemd-machined (default: the system bus)" },
	{ "machines_dir", BERTH_OPT_STRING, false,
	  "where the machines' root file systems are made (default " NSP_DEFAULT_MACHINES_DIR
	  ")" },
	{ "images_dir", BERTH_OPT_STRING, false,
	  "local images: a directory tree or a <name>.tar per image (default "
	  NSP_DEFAULT_IMAGES_DIR ")" },
	{ "state_dir", BERTH_OPT_STRING, false,
	  "the backend's machine records (default <agent state_dir>/nspawn)" },
	{ "timeout", BERTH_OPT_INT, false, "seconds one systemd call may take (default 30)" },
	{ 0 },
};

void nsp_log(const struct nspawn *n, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (!n || !n->host || !n->host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n->host->log(level, NSP_MODULE, "%s", text);
}

uint64_t nsp_timeout_us(const struct nspawn *n)
{
	return (uint64_t)n->timeout_s * 1000000ULL;
}

int64_t nsp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int nsp_bus_open(struct nspawn *n, sd_bus **out, berth_error *err)
{
	sd_bus *bus = NULL;
	int r;

	*out = NULL;
	if (!n->bus_address) {
		r = sd_bus_open_system(&bus);
	} else {
		r = sd_bus_new(&bus);
		if (r >= 0)
			r = sd_bus_set_address(bus, n->bus_address);
		if (r >= 0)
			r = sd_bus_set_bus_client(bus, 1);
		if (r >= 0)
			r = sd_bus_start(bus);
	}
	if (r < 0) {
		sd_bus_unref(bus);
		return berth_error_set(err, BERTH_E_UNAVAILABLE, "cannot connect to the bus %s: %s",
				       n->bus_address ? n->bus_address : "(system)",
				       strerror(-r));
	}
	sd_bus_set_method_call_timeout(bus, nsp_timeout_us(n));
	*out = bus;
	return 0;
}

int nsp_bus_error(berth_error *err, int r, const sd_bus_error *e, const char *what)
{
	const char *name = e && sd_bus_error_is_set(e) ? e->name : NULL;
	const char *msg = e && e->message ? e->message : strerror(r < 0 ? -r : EIO);
	int code = BERTH_E_RUNTIME;

	if (name) {
		if (strcmp(name, "org.freedesktop.systemd1.NoSuchUnit") == 0 ||
		    strcmp(name, "org.freedesktop.machine1.NoSuchMachine") == 0 ||
		    strcmp(name, "org.freedesktop.machine1.NoMachineForPID") == 0)
			code = BERTH_E_NOT_FOUND;
		else if (strcmp(name, "org.freedesktop.systemd1.UnitExists") == 0 ||
			 strcmp(name, "org.freedesktop.machine1.MachineExists") == 0 ||
			 strcmp(name, "org.freedesktop.systemd1.NoSuchProcess") == 0)
			code = BERTH_E_CONFLICT;
		else if (strcmp(name, SD_BUS_ERROR_SERVICE_UNKNOWN) == 0 ||
			 strcmp(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) == 0 ||
			 strcmp(name, SD_BUS_ERROR_DISCONNECTED) == 0 ||
			 strcmp(name, SD_BUS_ERROR_NO_REPLY) == 0)
			code = BERTH_E_UNAVAILABLE;
		else if (strcmp(name, SD_BUS_ERROR_TIMEOUT) == 0)
			code = BERTH_E_TIMEOUT;
	} else if (r == -ECONNRESET || r == -ENOTCONN || r == -ECONNREFUSED || r == -ENOENT ||
		   r == -EPIPE) {
		code = BERTH_E_UNAVAILABLE;
	} else if (r == -ETIMEDOUT) {
		code = BERTH_E_TIMEOUT;
	} else if (r == -ENOMEM) {
		code = BERTH_E_NOMEM;
	}
	return berth_error_set(err, code, "%s: %s", what, msg);
}

/* systemd's machine_name_is_valid(): a hostname (labels of letters, digits and '-',
 * separated by single dots) of at most 64 characters. */
bool nsp_name_valid(const char *name)
{
	size_t len = strlen(name);
	bool label_start = true;

	if (len == 0 || len > NSP_NAME_MAX || name[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label_start)
				return false;
			label_start = true;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
		label_start = false;
	}
	return true;
}

char *nsp_unit_name(const char *name)
{
	char *u = NULL;

	if (asprintf(&u, NSP_UNIT_PREFIX "%s" NSP_UNIT_SUFFIX, name) < 0)
		return NULL;
	return u;
}

char *nsp_name_of_unit(const char *unit)
{
	size_t lp = strlen(NSP_UNIT_PREFIX), ls = strlen(NSP_UNIT_SUFFIX), len = strlen(unit);
	char *name;

	if (len <= lp + ls || strncmp(unit, NSP_UNIT_PREFIX, lp) != 0 ||
	    strcmp(unit + len - ls, NSP_UNIT_SUFFIX) != 0)
		return NULL;
	name = strndup(unit + lp, len - lp - ls);
	if (name && !nsp_name_valid(name)) {
		free(name);
		return NULL;
	}
	return name;
}

static int dir_setting(struct nspawn *n, const berth_settings *s, const char *key,
		       const char *def, char **dst, berth_error *err)
{
	const berth_host *host = n->host;
	const char *str = def;

	if (host->setting_string(s, key, &str) < 0)
		return host->setting_invalid(s, key, err, "must be a string");
	if (!str || str[0] != '/')
		return host->setting_invalid(s, key, err, "must be an absolute path (\"%s\")",
					     str ? str : "");
	if (strlen(str) > 3000)
		return host->setting_invalid(s, key, err, "path too long");
	*dst = strdup(str);
	if (!*dst)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	/* trailing slashes would double in the paths made from it */
	for (size_t l = strlen(*dst); l > 1 && (*dst)[l - 1] == '/'; l--)
		(*dst)[l - 1] = '\0';
	return 0;
}

static int read_settings(struct nspawn *n, const berth_settings *s, berth_error *err)
{
	const berth_host *host = n->host;
	char *def_state = NULL;
	const char *str;
	long long t;
	int r;

	n->timeout_s = NSP_DEFAULT_TIMEOUT_S;
	if (host->setting_string(s, "bus", &str) == 0) {
		if (!*str)
			return host->setting_invalid(s, "bus", err, "must not be empty");
		n->bus_address = strdup(str);
		if (!n->bus_address)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (dir_setting(n, s, "machines_dir", NSP_DEFAULT_MACHINES_DIR, &n->machines_dir,
			err) < 0 ||
	    dir_setting(n, s, "images_dir", NSP_DEFAULT_IMAGES_DIR, &n->images_dir, err) < 0)
		return -1;
	if (asprintf(&def_state, "%s/nspawn",
		     host->state_dir ? host->state_dir : "/var/lib/berth") < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	r = dir_setting(n, s, "state_dir", def_state, &n->state_dir, err);
	free(def_state);
	if (r < 0)
		return -1;
	if (host->setting_int(s, "timeout", &t) == 0) {
		if (t < 1 || t > 3600)
			return host->setting_invalid(s, "timeout", err,
						     "%lld is out of range (1 to 3600 seconds)", t);
		n->timeout_s = (int)t;
	}
	return 0;
}

/* systemd's Version property -> n->version. */
static int nsp_version(struct nspawn *n, berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	char *v = NULL;
	int r;

	if (nsp_bus_open(n, &bus, err) < 0)
		return -1;
	r = sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &v);
	sd_bus_flush_close_unref(bus);
	if (r < 0) {
		nsp_bus_error(err, r, &e, "systemd's version");
		sd_bus_error_free(&e);
		return -1;
	}
	pthread_mutex_lock(&n->lock);
	free(n->version);
	n->version = v;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static void nsp_free(struct nspawn *n)
{
	if (!n)
		return;
	if (n->wake >= 0)
		close(n->wake);
	pthread_mutex_destroy(&n->lock);
	free(n->version);
	free(n->bus_address);
	free(n->machines_dir);
	free(n->images_dir);
	free(n->state_dir);
	free(n);
}

static int nsp_open(const berth_host *host, const berth_settings *settings,
		    berth_backend_handle *handle, void **instance, berth_error *err)
{
	struct nspawn *n = calloc(1, sizeof(*n));
	berth_error e;

	if (!n)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	n->host = host;
	n->handle = handle;
	n->wake = -1;
	pthread_mutex_init(&n->lock, NULL);
	atomic_init(&n->stop, false);
	atomic_init(&n->reachable, false);
	if (read_settings(n, settings, err) < 0) {
		nsp_free(n);
		return -1;
	}
	n->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->wake < 0) {
		berth_error_set(err, BERTH_E_INTERNAL, "eventfd: %s", strerror(errno));
		nsp_free(n);
		return -1;
	}
	/* systemd being unreachable is not an error: say so, the event thread retries */
	berth_error_clear(&e);
	if (nsp_version(n, &e) < 0) {
		nsp_log(n, BERTH_LOG_WARNING, "%s", e.message);
		host->backend_status(handle, false, e.message);
	} else {
		atomic_store(&n->reachable, true);
	}
	*instance = n;
	return 0;
}

static void nsp_close(void *instance)
{
	struct nspawn *n = instance;

	nsp_events_stop(n);
	nsp_free(n);
}

static uint64_t nsp_capabilities(void *instance)
{
	/* No BERTH_CAP_RESTART_POLICY: the core's restart manager acts on our exit events
	 * (systemd's Restart= does not follow Docker's rules). No BERTH_CAP_PAUSE: systemd
	 * freezes units on cgroup v2 only. No BERTH_CAP_RENAME: a machine's name is fixed.
	 * No BERTH_CAP_LABELS: the berth id is in our own records, not in systemd. */
	return BERTH_CAP_LIVE_UPDATE | BERTH_CAP_EVENTS;
}

static int nsp_watch(void *instance, berth_error *err)
{
	return nsp_events_start(instance, err);
}

static int nsp_ping(void *instance, char **version_out, berth_error *err)
{
	struct nspawn *n = instance;
	char *text = NULL;

	if (nsp_version(n, err) < 0)
		return -1;
	if (version_out) {
		pthread_mutex_lock(&n->lock);
		if (asprintf(&text, "systemd %s (nspawn)", n->version) < 0)
			text = NULL;
		pthread_mutex_unlock(&n->lock);
		if (!text)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		*version_out = text;
	}
	return 0;
}

static const berth_backend_driver nsp_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "nspawn",
	.description = "systemd-nspawn machines run as transient systemd units (D-Bus)",
	.options = nsp_options,
	.open = nsp_open,
	.close = nsp_close,
	.capabilities = nsp_capabilities,
	.watch = nsp_watch,
	.ping = nsp_ping,
	.create = nsp_op_create,
	.start = nsp_op_start,
	.kill = nsp_op_kill,
	.stop = NULL,   /* the core sends kill(), waits for the exit event, kill()s again */
	.pause = NULL,  /* FreezeUnit needs cgroup v2 */
	.resume = NULL,
	.rename = NULL, /* machine names are fixed: the core keeps the new name */
	.update = nsp_op_update,
	.remove = nsp_op_remove,
	.inspect = nsp_op_inspect,
	.list = nsp_op_list,
};

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &nsp_driver, err);
}
