/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module loader: finds `<module_dir>/<name>.so`, checks that it is safe to load,
 * dlopen()s it (RTLD_NOW | RTLD_LOCAL), negotiates the ABI version and runs its init,
 * which registers drivers (registry.h). Every refusal names the file and the reason:
 *   "/usr/lib/berth/docker.so: refused: file is world-writable (mode 0666)"
 *   "/usr/lib/berth/old.so: refused: module supports none of ABI versions 1 (it answered 7)"
 *   "/usr/lib/berth/x.so: refused: missing entry point berth_module_init"
 *   "/usr/lib/berth/x.so: init failed: <the module's message>"
 */
#ifndef BERTH_CORE_LOADER_H
#define BERTH_CORE_LOADER_H

#include <stdbool.h>
#include <sys/types.h>

#include <berth/error.h>
#include <berth/module.h>

/* What the loader gives each module as `self`; registration records it. */
struct berth_module {
	char *name;            /* "docker" */
	char *path;            /* "/usr/lib/berth/docker.so" */
	void *dl;              /* dlopen handle; never dlclose()d while running */
	int abi_version;       /* negotiated */
	berth_module_cleanup_fn cleanup; /* may be NULL */
	berth_host host;       /* the host table this module was given */
	bool initialised;
};

/*
 * Safety checks before dlopen(): `path` is a regular file (not a symlink), owned by
 * root or `owner` (the daemon's euid), not group- or world-writable, and the same holds
 * for its directory (ownership and write bits). Returns 0 or -1 with the reason.
 */
int loader_check_file(const char *path, uid_t owner, berth_error *err);

/*
 * Loads module `name` from `module_dir` (name must be [a-z0-9_-]+). `host` is the
 * core's host table; the loader copies it into the module record, setting abi_version.
 * init runs inside this call. On success *out is the module (owned by the loader: free
 * with loader_unload_all()). Loading a name that is already loaded returns that module
 * (init does not run again). Errors: a missing file is BERTH_E_NOT_FOUND ("PATH: no such
 * module file"); a refusal BERTH_E_INVALID; a dlopen() failure BERTH_E_RUNTIME; a failed
 * init the module's code. When init fails, the drivers it registered are forgotten,
 * cleanup is not called (init undoes its own work) and the file stays mapped.
 * Main thread only.
 */
int loader_load(const char *module_dir, const char *name, const berth_host *host,
		struct berth_module **out, berth_error *err);

/* The already-loaded module of that name, or NULL. */
struct berth_module *loader_find(const char *name);

/* For every module in reverse load order: forgets its drivers (registry), calls its
 * cleanup and frees its record. The .so files are never dlclose()d: they stay mapped
 * (libvirt's rule: unloading is not safe with threads around). Main thread only. */
void loader_unload_all(void);

/* The ABI versions this core implements, newest first. */
extern const int loader_abi_versions[];
extern const int loader_n_abi_versions;

#endif
