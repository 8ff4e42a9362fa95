/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module loader: checks a module file is safe to load, dlopen()s it, negotiates the ABI
 * version, runs its init and keeps the loaded modules in load order.
 *
 * Modules are never dlclose()d, not even by loader_unload_all(): a module may have
 * started threads or handed out function pointers (libcurl/OpenSSL callbacks, atexit
 * handlers) that outlive its cleanup, and unmapping its code under them would crash.
 * The one exception is a module refused before its init ran, which has had no chance to
 * leave anything behind.
 *
 * The loader is meant for the main thread (configuration and shutdown); loader_find()
 * may be called from any thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "registry.h"

const int loader_abi_versions[] = { BERTH_ABI_VERSION_1 };
const int loader_n_abi_versions = sizeof(loader_abi_versions) / sizeof(loader_abi_versions[0]);

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static struct berth_module **modules; /* load order */
static size_t n_modules;

static bool valid_module_name(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return n <= 64;
}

/* "root" or "root or uid 1000", for refusals. */
static void allowed_owners(char *buf, size_t n, uid_t owner)
{
	if (owner == 0)
		snprintf(buf, n, "root");
	else
		snprintf(buf, n, "root or uid %u", (unsigned)owner);
}

int loader_check_file(const char *path, uid_t owner, berth_error *err)
{
	char owners[64], *dir_copy;
	const char *dir;
	struct stat st;
	int r = 0;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return berth_error_set(err, BERTH_E_NOT_FOUND, "%s: no such module file", path);
		return berth_error_set(err, BERTH_E_INVALID, "%s: refused: cannot stat: %s", path,
				       strerror(errno));
	}
	allowed_owners(owners, sizeof(owners), owner);
	if (S_ISLNK(st.st_mode))
		return berth_error_set(err, BERTH_E_INVALID,
				       "%s: refused: is a symbolic link (install a copy of the "
				       "module itself)",
				       path);
	if (!S_ISREG(st.st_mode))
		return berth_error_set(err, BERTH_E_INVALID, "%s: refused: not a regular file", path);
	if (st.st_uid != 0 && st.st_uid != owner)
		return berth_error_set(err, BERTH_E_INVALID,
				       "%s: refused: owned by uid %u (expected %s)", path,
				       (unsigned)st.st_uid, owners);
	if (st.st_mode & S_IWOTH)
		return berth_error_set(err, BERTH_E_INVALID, "%s: refused: is world-writable (mode %04o)",
				       path, (unsigned)(st.st_mode & 07777));
	if (st.st_mode & S_IWGRP)
		return berth_error_set(err, BERTH_E_INVALID, "%s: refused: is group-writable (mode %04o)",
				       path, (unsigned)(st.st_mode & 07777));

	/* The directory decides which file a name means: nobody else may write it. */
	dir_copy = strdup(path);
	if (!dir_copy)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	dir = dirname(dir_copy);
	if (stat(dir, &st) < 0)
		r = berth_error_set(err, BERTH_E_INVALID, "%s: refused: cannot stat directory %s: %s",
				    path, dir, strerror(errno));
	else if (st.st_uid != 0 && st.st_uid != owner)
		r = berth_error_set(err, BERTH_E_INVALID,
				    "%s: refused: directory %s is owned by uid %u (expected %s)", path,
				    dir, (unsigned)st.st_uid, owners);
	else if (st.st_mode & S_IWOTH)
		r = berth_error_set(err, BERTH_E_INVALID,
				    "%s: refused: directory %s is world-writable (mode %04o)", path,
				    dir, (unsigned)(st.st_mode & 07777));
	else if (st.st_mode & S_IWGRP)
		r = berth_error_set(err, BERTH_E_INVALID,
				    "%s: refused: directory %s is group-writable (mode %04o)", path,
				    dir, (unsigned)(st.st_mode & 07777));
	free(dir_copy);
	return r;
}

static struct berth_module *find_locked(const char *name)
{
	for (size_t i = 0; i < n_modules; i++)
		if (strcmp(modules[i]->name, name) == 0)
			return modules[i];
	return NULL;
}

struct berth_module *loader_find(const char *name)
{
	struct berth_module *m;

	if (!name)
		return NULL;
	pthread_mutex_lock(&loader_lock);
	m = find_locked(name);
	pthread_mutex_unlock(&loader_lock);
	return m;
}

static void module_free(struct berth_module *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->path);
	free(m);
}

/* dlerror() usually starts with the path again; keep only what follows it. */
static const char *dl_reason(const char *path)
{
	const char *e = dlerror();
	size_t n = strlen(path);

	if (!e)
		return "unknown reason";
	if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
		return e + n + 2;
	return e;
}

/* "2, 1" */
static void format_versions(char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < loader_n_abi_versions; i++) {
		int r = snprintf(buf + used, n - used, "%s%d", i ? ", " : "", loader_abi_versions[i]);

		if (r < 0 || (size_t)r >= n - used)
			return;
		used += (size_t)r;
	}
}

int loader_load(const char *module_dir, const char *name, const berth_host *host,
		struct berth_module **out, berth_error *err)
{
	berth_module_version_fn version;
	berth_module_init_fn init;
	struct berth_module *m, **grown;
	berth_error init_err;
	char *path = NULL;
	void *dl;
	int abi = -1;
	bool known = false;

	*out = NULL;
	if (!valid_module_name(name))
		return berth_error_set(err, BERTH_E_INVALID,
				       "module \"%.64s\": refused: invalid name (expected 1 to 64 of "
				       "[a-z0-9_-])",
				       name ? name : "");
	m = loader_find(name);
	if (m) {
		*out = m;
		return 0;
	}

	if (asprintf(&path, "%s/%s.so", module_dir, name) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (loader_check_file(path, geteuid(), err) < 0)
		goto fail;

	dlerror();
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		berth_error_set(err, BERTH_E_RUNTIME,
				"%s: cannot load: %s (check its dependencies with ldd)", path,
				dl_reason(path));
		goto fail;
	}
	/* POSIX allows a function pointer to be read through a void *. */
	*(void **)&version = dlsym(dl, BERTH_MODULE_VERSION_SYMBOL);
	*(void **)&init = dlsym(dl, BERTH_MODULE_INIT_SYMBOL);
	if (!version || !init) {
		berth_error_set(err, BERTH_E_INVALID, "%s: refused: missing entry point %s", path,
				!version ? BERTH_MODULE_VERSION_SYMBOL : BERTH_MODULE_INIT_SYMBOL);
		goto fail_close;
	}
	abi = version(loader_n_abi_versions, loader_abi_versions);
	for (int i = 0; i < loader_n_abi_versions; i++)
		known |= abi == loader_abi_versions[i];
	if (!known) {
		char versions[64];

		format_versions(versions, sizeof(versions));
		berth_error_set(err, BERTH_E_INVALID,
				"%s: refused: module supports none of ABI versions %s (it answered %d)",
				path, versions, abi);
		goto fail_close;
	}

	m = calloc(1, sizeof(*m));
	if (!m || !(m->name = strdup(name))) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		module_free(m);
		goto fail_close;
	}
	m->path = path;
	path = NULL;
	m->dl = dl;
	m->abi_version = abi;
	*(void **)&m->cleanup = dlsym(dl, BERTH_MODULE_CLEANUP_SYMBOL);
	m->host = *host;
	m->host.abi_version = (uint32_t)abi;

	/* Room in the list now, so that nothing can fail after init has run. */
	pthread_mutex_lock(&loader_lock);
	grown = realloc(modules, (n_modules + 1) * sizeof(*modules));
	if (grown)
		modules = grown;
	pthread_mutex_unlock(&loader_lock);
	if (!grown) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		module_free(m);
		goto fail_close;
	}

	/* From here on the module's code has run: it stays mapped whatever happens. */
	berth_error_clear(&init_err);
	if (init(&m->host, m, &init_err) != 0) {
		const char *why = init_err.message;
		size_t n = strlen(m->path);

		registry_forget_module(m);
		/* The registry's messages already start with the path: say it once. */
		if (strncmp(why, m->path, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
			why += n + 2;
		if (*why)
			berth_error_set(err, init_err.code != BERTH_OK ? init_err.code : BERTH_E_RUNTIME,
					"%s: init failed: %s", m->path, why);
		else
			berth_error_set(err, BERTH_E_RUNTIME,
					"%s: init failed (the module gave no reason)", m->path);
		/* Not cleanup(): a module's init undoes its own work when it fails. */
		module_free(m);
		return -1;
	}
	m->initialised = true;

	pthread_mutex_lock(&loader_lock);
	modules[n_modules++] = m;
	pthread_mutex_unlock(&loader_lock);
	*out = m;
	return 0;

fail_close:
	dlclose(dl);
fail:
	free(path);
	return -1;
}

void loader_unload_all(void)
{
	struct berth_module **v;
	size_t n;

	pthread_mutex_lock(&loader_lock);
	v = modules;
	n = n_modules;
	modules = NULL;
	n_modules = 0;
	pthread_mutex_unlock(&loader_lock);

	while (n > 0) {
		struct berth_module *m = v[--n];

		/* Drivers first: their tables are only promised until cleanup(). */
		registry_forget_module(m);
		if (m->initialised && m->cleanup)
			m->cleanup();
		/* No dlclose(): see the top of this file. */
		module_free(m);
	}
	free(v);
}
