/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth module SDK: what every module exports and what the core offers it.
 *
 * A module is a shared object in the module directory (default $(pkglibdir)). It
 * exports exactly three symbols, all prefixed berth_module_:
 *
 *   int  berth_module_version(int count, const int *supported);
 *   int  berth_module_init(const berth_host *host, berth_module *self, berth_error *err);
 *   void berth_module_cleanup(void);                            (optional)
 *
 * Loading, in order:
 *  1. The core checks the file (regular file, owned by root or the daemon's user,
 *     neither it nor its directory group/world-writable) and dlopen()s it with
 *     RTLD_NOW | RTLD_LOCAL. Modules are never unloaded while berthd runs.
 *  2. berth_module_version() is offered the ABI versions the core implements, newest
 *     first; it returns the one it was written for, or -1. BERTH_MODULE_DECLARE_VERSION
 *     writes this function for you.
 *  3. berth_module_init() registers one or more drivers with host->register_backend()
 *     or host->register_transport(). A driver is a table of functions (backend.h,
 *     transport.h); the core keeps the pointer, so make the table static const.
 *  4. For each configured instance (a group in `backends` or `transports` whose
 *     `module` names the driver) the core validates the group's keys against the
 *     driver's option list and calls driver->open().
 *  5. At shutdown: driver->close() for every instance, then berth_module_cleanup().
 *
 * Growing the ABI (learned from Mosquitto, libvirt, OpenSSL providers):
 *  - Every struct that crosses the boundary starts with `uint32_t size`, set by whoever
 *    fills it to sizeof() as *they* compiled it. Fields are only ever appended. Read a
 *    field another party filled only if BERTH_HAS_FIELD() says it is there.
 *  - A NULL function slot means "not supported"; the core emulates or answers 501.
 *  - Every operation takes `unsigned flags`; reject bits you do not know with
 *    BERTH_E_UNSUPPORTED (BERTH_CHECK_FLAGS).
 *  - Enum numbers are never renumbered or reused.
 *
 * Memory: strings and structs passed *to* a module are borrowed for the duration of
 * the call. Strings a module returns through an out-parameter are malloc()ed by the
 * module and free()d by the core (same C library, same process).
 */
#ifndef BERTH_MODULE_H
#define BERTH_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI versions. The core of this release implements exactly these. */
#define BERTH_ABI_VERSION_1 1
#define BERTH_ABI_VERSION BERTH_ABI_VERSION_1

/* true when `ptr` (a struct with a leading uint32_t size) contains `field`. */
#define BERTH_HAS_FIELD(ptr, type, field)                                               \
	((ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Rejects flag bits outside `known`; use at the top of every op. */
#define BERTH_CHECK_FLAGS(flags, known, err)                                            \
	do {                                                                            \
		if ((flags) & ~(unsigned)(known))                                       \
			return berth_error_set((err), BERTH_E_UNSUPPORTED,              \
					       "unsupported flags 0x%x",                \
					       (unsigned)((flags) & ~(unsigned)(known)));\
	} while (0)

/* Symbol visibility for the three entry points. */
#if defined(__GNUC__)
#define BERTH_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define BERTH_MODULE_EXPORT
#endif

/* Log levels (syslog numbering, so they map onto the journal unchanged). */
enum berth_log_level {
	BERTH_LOG_ERR = 3,
	BERTH_LOG_WARNING = 4,
	BERTH_LOG_NOTICE = 5,
	BERTH_LOG_INFO = 6,
	BERTH_LOG_DEBUG = 7,
};

/* ---- configuration options a driver accepts ---------------------------------------- */

enum berth_option_type {
	BERTH_OPT_STRING = 1,
	BERTH_OPT_INT = 2,    /* libconfig int or int64 */
	BERTH_OPT_BOOL = 3,
	BERTH_OPT_FLOAT = 4,  /* an int is accepted too */
	BERTH_OPT_STRINGS = 5 /* a libconfig array or list of strings */
};

/* One key of a driver's configuration group. A driver publishes a static array of
 * these ending with {0}; the core rejects unknown keys, wrong types and missing
 * required keys before open() runs, naming file, line and key. The keys `module`,
 * `name` and (backends) `default` are the core's and must not be listed. */
typedef struct berth_option {
	const char *key;
	int type;          /* enum berth_option_type */
	bool required;
	const char *help;  /* one line, shown by berthd --help-modules and in errors */
} berth_option;

/* Opaque: one instance's configuration group, valid during open(). */
typedef struct berth_settings berth_settings;

/* ---- identity of the agent ---------------------------------------------------------- */

/* The Ditto thing the agent serves and the Hono tenant. thing_id may be NULL until a
 * transport learns it (MQTT: edge/thing/response, PROTOCOL.md 1.2). */
typedef struct berth_identity {
	uint32_t size;
	const char *thing_id;  /* "edge:device", "org.example:gw1:edge:containers" */
	const char *tenant;    /* may be NULL */
	const char *device_id; /* Hono device id when it differs from thing_id, or NULL */
} berth_identity;

/* ---- the host: what the core offers modules ------------------------------------------ */

typedef struct berth_module berth_module;                 /* opaque: the loaded module */
typedef struct berth_backend_handle berth_backend_handle; /* opaque: one backend instance */
typedef struct berth_transport_handle berth_transport_handle;

struct berth_backend_driver;
struct berth_transport_driver;
struct berth_event;
struct berth_inbound;

typedef struct berth_host {
	uint32_t size;
	uint32_t abi_version; /* the version negotiated with this module */

	/* Logging; thread-safe. `fmt` is printf-style; no trailing newline needed. */
	void (*log)(int level, const char *module, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Registration, only from berth_module_init(). The driver table must stay valid
	 * until berth_module_cleanup(). Fails if the name is already taken or the table's
	 * size is smaller than the ABI's minimum. */
	int (*register_backend)(berth_module *self, const struct berth_backend_driver *drv,
				berth_error *err);
	int (*register_transport)(berth_module *self,
				  const struct berth_transport_driver *drv, berth_error *err);

	/* Settings of the instance being opened. Return 0 and set *out when the key is
	 * present, 1 when it is absent (keep your default), -1 on a type mismatch (the
	 * core has already rejected those, so this only happens for unlisted keys).
	 * Strings are borrowed until open() returns: copy what you keep. */
	int (*setting_string)(const berth_settings *s, const char *key, const char **out);
	int (*setting_int)(const berth_settings *s, const char *key, long long *out);
	int (*setting_bool)(const berth_settings *s, const char *key, bool *out);
	int (*setting_float)(const berth_settings *s, const char *key, double *out);
	/* Element `index` of a BERTH_OPT_STRINGS key; 1 past the end or when absent. */
	int (*setting_string_at)(const berth_settings *s, const char *key, int index,
				 const char **out);
	/* Fills err with BERTH_E_INVALID and "FILE:LINE: KEY: <message>" so that a value
	 * the driver rejects is reported like any other configuration error. Returns -1. */
	int (*setting_invalid)(const berth_settings *s, const char *key, berth_error *err,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

	/* The agent's configured identity (fields NULL when not configured) and state dir. */
	const berth_identity *agent;
	const char *state_dir;
	const char *version; /* PACKAGE_VERSION of berthd */

	/* Backend -> core, from any thread (typically the backend's event thread). */
	void (*backend_event)(berth_backend_handle *h, const struct berth_event *ev);
	/* The runtime became reachable (true) or unreachable (false, with a reason).
	 * After a `true` that follows a `false`, the core reconciles with list(). */
	void (*backend_status)(berth_backend_handle *h, bool reachable, const char *why);

	/* Transport -> core, from the transport's thread. See transport.h. */
	int (*transport_inbound)(berth_transport_handle *h, const struct berth_inbound *msg);
	void (*transport_online)(berth_transport_handle *h, const berth_identity *id);
	void (*transport_offline)(berth_transport_handle *h, const char *why);

	void *reserved[16];
} berth_host;

/* ---- entry points ------------------------------------------------------------------- */

typedef int (*berth_module_version_fn)(int count, const int *supported);
typedef int (*berth_module_init_fn)(const berth_host *host, berth_module *self,
				    berth_error *err);
typedef void (*berth_module_cleanup_fn)(void);

#define BERTH_MODULE_VERSION_SYMBOL "berth_module_version"
#define BERTH_MODULE_INIT_SYMBOL "berth_module_init"
#define BERTH_MODULE_CLEANUP_SYMBOL "berth_module_cleanup"

/* Writes berth_module_version() for a module built against ABI version `v`. */
#define BERTH_MODULE_DECLARE_VERSION(v)                                                 \
	BERTH_MODULE_EXPORT int berth_module_version(int count, const int *supported);  \
	BERTH_MODULE_EXPORT int berth_module_version(int count, const int *supported)   \
	{                                                                               \
		for (int i_ = 0; i_ < count; i_++)                                      \
			if (supported[i_] == (v))                                       \
				return (v);                                             \
		return -1;                                                      \
	}

BERTH_MODULE_EXPORT int berth_module_version(int count, const int *supported);
BERTH_MODULE_EXPORT int berth_module_init(const berth_host *host, berth_module *self,
					  berth_error *err);
BERTH_MODULE_EXPORT void berth_module_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif
