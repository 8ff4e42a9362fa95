/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth module SDK: runtime backends.
 *
 * A backend drives one container engine (Docker, containerd, Podman, systemd-nspawn,
 * or a vendor's). berth_module_init() registers a berth_backend_driver; the core opens
 * one instance per `backends` group in the configuration and calls the ops below.
 *
 * THREADING CONTRACT
 *  - open(), watch() and close() are called from the core's main thread, never
 *    concurrently with anything else on the same instance.
 *  - All other ops may be called from several core worker threads at once. The core
 *    never runs two ops for the same container at the same time, with two exceptions:
 *    inspect() and list() may run at any time (reconciliation), and kill() may be
 *    called while a stop() of the same container is in progress (a forced stop).
 *    A backend must therefore be safe for concurrent calls on *different* containers:
 *    give each call its own connection/handle or lock what you share.
 *  - Ops may block (an HTTP request, a D-Bus call, waiting for a pull). The core calls
 *    them from worker threads, never from its event loop.
 *  - watch() starts the backend's own event thread. Events are reported through
 *    host->backend_event(), and reachability through host->backend_status(), from that
 *    thread; both are thread-safe and return quickly. close() stops the thread and
 *    must not return before it has ended.
 *
 * NATIVE IDS
 *  - create() returns the runtime's id for the container (Docker/Podman container id,
 *    containerd container id, nspawn machine name). The core stores it in its record
 *    and passes it to every later op. The core's own id (a UUID, spec->berth_id) must be
 *    stored by the backend as a label (BERTH_LABEL_ID) where the runtime has labels, so
 *    that list() can report it and a lost state directory can be rebuilt; spec->owner
 *    likewise (BERTH_LABEL_OWNER), so that only the owning agent adopts it.
 *
 * RETURN VALUES
 *  - 0 on success; -1 with err filled (berth_error_set) on failure. Map the runtime's
 *    answers onto codes faithfully: "no such container" -> BERTH_E_NOT_FOUND, "is not
 *    running" / "name in use" -> BERTH_E_CONFLICT, connection refused ->
 *    BERTH_E_UNAVAILABLE, anything else the runtime says -> BERTH_E_RUNTIME with the
 *    runtime's own words in the message.
 */
#ifndef BERTH_BACKEND_H
#define BERTH_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <berth/error.h>
#include <berth/module.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Labels on runtimes that have them: the core's container id, and the agent that owns
 * the container (its thing id), so that agents sharing an engine leave each other's
 * containers alone. */
#define BERTH_LABEL_ID "berth.id"
#define BERTH_LABEL_OWNER "berth.owner"

/* ---- what a container is made of ----------------------------------------------------- */

/* Numbers are ABI. */
enum berth_restart_type {
	BERTH_RESTART_NO = 0,
	BERTH_RESTART_ALWAYS = 1,
	BERTH_RESTART_UNLESS_STOPPED = 2,
	BERTH_RESTART_ON_FAILURE = 3,
};

typedef struct berth_restart_policy {
	int type;                /* enum berth_restart_type */
	int max_retry_count;     /* on-failure only; 0 = unlimited */
	int64_t retry_timeout_s; /* on-failure: delay before each retry, seconds (0 = none) */
} berth_restart_policy;

/* Memory limits in bytes; 0 = no limit. memory_swap is memory + swap (Docker's
 * meaning); -1 = unlimited swap. */
typedef struct berth_resources {
	int64_t memory;
	int64_t memory_reservation;
	int64_t memory_swap;
} berth_resources;

typedef struct berth_mount {
	const char *source;
	const char *destination;
	const char *propagation; /* "rprivate", "private", "rshared", "shared", "rslave", "slave" */
} berth_mount;

typedef struct berth_port_mapping {
	const char *proto;   /* "tcp" or "udp" */
	const char *host_ip; /* "0.0.0.0" unless given */
	uint16_t host_port;
	uint16_t host_port_end; /* == host_port for a single port */
	uint16_t container_port;
} berth_port_mapping;

/* Everything create() needs. String arrays are NULL-terminated. */
typedef struct berth_container_spec {
	uint32_t size;
	const char *berth_id; /* the core's UUID: store it as label BERTH_LABEL_ID */
	const char *name;     /* validated: [a-zA-Z0-9_][a-zA-Z0-9_.-]*, never empty */
	const char *image;    /* OCI reference, e.g. "docker.io/library/busybox:latest" */
	const char *const *cmd;         /* NULL: the image's default */
	const char *const *env;         /* "KEY=value" */
	const char *hostname;           /* NULL: runtime default */
	const char *domainname;         /* NULL: runtime default */
	bool privileged;
	const char *network_mode;       /* "bridge" or "host" */
	const berth_mount *mounts;
	size_t n_mounts;
	const berth_port_mapping *ports;
	size_t n_ports;
	const char *const *extra_hosts; /* "host:ip" */
	berth_restart_policy restart;   /* apply natively only with BERTH_CAP_RESTART_POLICY */
	berth_resources resources;
	const char *owner;              /* the agent's thing id, or NULL: label BERTH_LABEL_OWNER */
	void *reserved[8];
} berth_container_spec;

/* What update() changes. Only the parts named in `mask` are meant; the values are the
 * container's complete desired settings after the change (the core has merged them). */
enum berth_update_mask {
	BERTH_UPDATE_RESTART = 1u << 0,
	BERTH_UPDATE_RESOURCES = 1u << 1,
};

typedef struct berth_update {
	uint32_t size;
	unsigned mask;               /* enum berth_update_mask */
	berth_restart_policy restart;
	berth_resources resources;   /* complete desired limits */
	berth_resources previous;    /* limits before the change (for ordering cgroup writes) */
	bool running;                /* the container is running or paused: apply live */
	void *reserved[4];
} berth_update;

/* ---- what the runtime says about a container ------------------------------------------ */

/* Numbers are ABI. */
enum berth_runtime_state {
	BERTH_RS_UNKNOWN = 0,
	BERTH_RS_CREATED = 1,
	BERTH_RS_RUNNING = 2,
	BERTH_RS_PAUSED = 3,
	BERTH_RS_RESTARTING = 4,
	BERTH_RS_EXITED = 5,
	BERTH_RS_DEAD = 6,
	BERTH_RS_REMOVING = 7,
};

/* Filled by inspect() and handed to list()'s callback. The core allocates it, zeroes
 * it and sets `size`; the backend fills what it knows. Strings are malloc()ed by the
 * backend and released by the core with berth_container_info_release(). Times are
 * nanoseconds since the epoch, 0 when unknown. */
typedef struct berth_container_info {
	uint32_t size;
	char *native_id;
	char *berth_id;   /* label BERTH_LABEL_ID, or NULL */
	char *name;
	char *image;
	char *error;      /* the runtime's error text for the last failure, or NULL */
	int state;        /* enum berth_runtime_state */
	int pid;          /* 0 when not running */
	int exit_code;
	bool oom_killed;
	int restart_count;
	int64_t created_ns;
	int64_t started_ns;
	int64_t finished_ns;
	berth_restart_policy restart; /* as the runtime holds it (CAP_RESTART_POLICY) */
	berth_resources resources;    /* as the runtime holds them */
	char *owner;                  /* label BERTH_LABEL_OWNER, or NULL */
	void *reserved[8];
} berth_container_info;

static inline void berth_container_info_release(berth_container_info *i)
{
	if (!i)
		return;
	free(i->native_id);
	free(i->berth_id);
	free(i->name);
	free(i->image);
	free(i->error);
	free(i->owner);
	i->native_id = i->berth_id = i->name = i->image = i->error = i->owner = NULL;
}

/* ---- events --------------------------------------------------------------------------- */

/* Numbers are ABI. */
enum berth_event_type {
	BERTH_EV_CREATE = 1,
	BERTH_EV_START = 2,
	BERTH_EV_EXIT = 3,    /* the main process ended (Docker "die") */
	BERTH_EV_OOM = 4,
	BERTH_EV_PAUSE = 5,
	BERTH_EV_RESUME = 6,
	BERTH_EV_RENAME = 7,
	BERTH_EV_UPDATE = 8,
	BERTH_EV_DESTROY = 9, /* the container is gone */
};

typedef struct berth_event {
	uint32_t size;
	int type;              /* enum berth_event_type */
	const char *native_id; /* borrowed for the call */
	const char *berth_id;  /* label, when the runtime reports it; else NULL */
	int exit_code;         /* BERTH_EV_EXIT */
	int64_t time_ns;       /* when it happened, 0 if unknown */
	const char *name;      /* BERTH_EV_RENAME: the new name */
	void *reserved[4];
} berth_event;

/* ---- capabilities --------------------------------------------------------------------- */

/* What the backend does natively. The core emulates the rest (see each op). */
enum berth_backend_cap {
	BERTH_CAP_RENAME = 1u << 0,         /* rename() renames the runtime object */
	BERTH_CAP_LIVE_UPDATE = 1u << 1,    /* update() applies resources to a running container */
	BERTH_CAP_RESTART_POLICY = 1u << 2, /* the runtime enforces restart policies faithfully
					     * (Docker semantics); else the core's restart
					     * manager does, from BERTH_EV_EXIT */
	BERTH_CAP_STOP_SIGNAL = 1u << 3,    /* stop() takes any signal (not only the
					     * container's stop signal) */
	BERTH_CAP_PAUSE = 1u << 4,          /* pause()/resume() */
	BERTH_CAP_LABELS = 1u << 5,         /* berth_id is stored in and listed from the runtime */
	BERTH_CAP_EVENTS = 1u << 6,         /* watch() delivers exit/oom events */
	BERTH_CAP_PULL = 1u << 7,           /* create() pulls a missing image */
};

/* ---- flags ---------------------------------------------------------------------------- */

enum berth_kill_flags {
	BERTH_KILL_ALL = 1u << 0, /* signal every process of the container, not only pid 1 */
};

enum berth_remove_flags {
	BERTH_REMOVE_FORCE = 1u << 0, /* kill a running container first */
};

enum berth_create_flags {
	BERTH_CREATE_NO_PULL = 1u << 0, /* fail with NOT_FOUND instead of pulling */
};

/* ---- the driver ----------------------------------------------------------------------- */

typedef int (*berth_list_cb)(void *userdata, const berth_container_info *info);

/*
 * How each op maps onto the four runtimes (what the in-tree backends do):
 *
 *            Docker Engine API       Podman libpod API        containerd gRPC            systemd-nspawn (D-Bus)
 * create     POST /containers/create POST /libpod/containers/ Containers.Create + snap-  write rootfs/.nspawn,
 *            (pull: /images/create)  create (pull: images/    shot Prepare (pull:        StartTransientUnit on
 *                                    pull)                    Transfer)                  start
 * start      POST /{id}/start        POST .../{id}/start      Tasks.Create + Tasks.Start StartTransientUnit
 *                                                                                        systemd-nspawn@
 * kill       POST /{id}/kill?signal  POST .../{id}/kill       Tasks.Kill{signal,all}     KillMachine(name,
 *                                                                                        "leader"|"all",sig)
 * stop       POST /{id}/stop?t=[&sig- (NULL: the core does    (NULL: core does kill +    StopUnit with KillSignal/
 *            nal= when API >= 1.42]  kill + wait + kill)      wait + kill)               TimeoutStopUSec
 * pause      POST /{id}/pause        POST .../{id}/pause      Tasks.Pause                (NULL: not supported ->
 * resume     POST /{id}/unpause      POST .../{id}/unpause    Tasks.Resume                freezer not exposed)
 * rename     POST /{id}/rename?name  POST .../{id}/rename     Containers.Update label    (NULL: name kept by core,
 *                                                             (NULL: core keeps name)     machine name immutable)
 * update     POST /{id}/update       POST .../{id}/update     Tasks.Update(LinuxResour-  SetUnitProperties
 *            {Memory..,RestartPol.}  (resources; 5.1+ policy) ces) + Containers.Update    (MemoryMax/Low/SwapMax)
 * remove     DELETE /{id}?force      DELETE .../{id}?force    Tasks.Delete, Containers.  TerminateMachine + rm
 *                                                             Delete, snapshot Remove     rootfs
 * inspect    GET /{id}/json          GET .../{id}/json        Containers.Get + Tasks.Get GetMachine + unit props
 * list       GET /containers/json?   GET .../json?all&filters Containers.List            ListMachines + own store
 *            all&filters=label       =label                   (labels)
 * watch      GET /events (stream)    GET /libpod/events       Events.Subscribe           PropertiesChanged,
 *                                                                                        MachineRemoved
 * Restart policies are native on Docker (BERTH_CAP_RESTART_POLICY); elsewhere the core's
 * restart manager enforces them from BERTH_EV_EXIT.
 */
typedef struct berth_backend_driver {
	uint32_t size;            /* sizeof(berth_backend_driver) as the module compiled it */
	const char *name;         /* the `module = "..."` value that selects it, e.g. "docker" */
	const char *description;  /* one line */
	const berth_option *options; /* keys of its configuration group, ending with {0} */

	/* Creates an instance from its configuration group. `handle` identifies the
	 * instance in host->backend_event()/backend_status(). Should not fail when the
	 * runtime is merely down: report that through backend_status() instead, so that
	 * berthd starts and answers 503 until the runtime comes. Required. */
	int (*open)(const berth_host *host, const berth_settings *settings,
		    berth_backend_handle *handle, void **instance, berth_error *err);
	/* Stops event threads and frees the instance. Required. */
	void (*close)(void *instance);
	/* enum berth_backend_cap bits of this instance (may depend on the runtime's
	 * version, so it is asked after open and after every reconnect). Required. */
	uint64_t (*capabilities)(void *instance);
	/* Starts the event thread (BERTH_CAP_EVENTS). Optional. */
	int (*watch)(void *instance, berth_error *err);
	/* Checks reachability; *version_out (malloc()ed, may be NULL) names the runtime
	 * and version, e.g. "docker 20.10.24 (API 1.41)". Optional. */
	int (*ping)(void *instance, char **version_out, berth_error *err);

	/* Creates a container, not started. *native_id_out: malloc()ed. Required.
	 * flags: enum berth_create_flags. */
	int (*create)(void *instance, const berth_container_spec *spec, unsigned flags,
		      char **native_id_out, berth_error *err);
	/* Required. Starting a running container is BERTH_E_CONFLICT. */
	int (*start)(void *instance, const char *native_id, unsigned flags, berth_error *err);
	/* Sends `signal` (flags: enum berth_kill_flags). Not running -> BERTH_E_CONFLICT.
	 * Required: the core builds stop-with-options on it. */
	int (*kill)(void *instance, const char *native_id, int signal, unsigned flags,
		    berth_error *err);
	/* Stops the container: `signal`, then SIGKILL after timeout_s seconds, returning
	 * once it has exited. Optional; the core uses it only for a stop that must end
	 * with SIGKILL, and only with any signal when BERTH_CAP_STOP_SIGNAL is set (else
	 * only for SIGTERM). NULL: the core sends kill(), waits and kill()s again. */
	int (*stop)(void *instance, const char *native_id, int signal, int timeout_s,
		    unsigned flags, berth_error *err);
	int (*pause)(void *instance, const char *native_id, unsigned flags, berth_error *err);
	int (*resume)(void *instance, const char *native_id, unsigned flags, berth_error *err);
	/* Optional (BERTH_CAP_RENAME): rename the runtime object. NULL: the core keeps
	 * the name in its own record only. */
	int (*rename)(void *instance, const char *native_id, const char *new_name,
		      unsigned flags, berth_error *err);
	/* Optional: apply restart policy and/or resources (see berth_update). NULL: the
	 * core stores the settings and applies them on the next create only. */
	int (*update)(void *instance, const char *native_id, const berth_update *update,
		      unsigned flags, berth_error *err);
	/* Required. Running without BERTH_REMOVE_FORCE -> BERTH_E_CONFLICT. A container
	 * that is already gone -> BERTH_E_NOT_FOUND. flags: enum berth_remove_flags. */
	int (*remove)(void *instance, const char *native_id, unsigned flags, berth_error *err);
	/* Required. Gone -> BERTH_E_NOT_FOUND. */
	int (*inspect)(void *instance, const char *native_id, berth_container_info *info,
		       berth_error *err);
	/* Calls cb for every container this backend manages (those with a berth label
	 * where the runtime has labels). A non-zero return from cb stops the walk and is
	 * returned. Required. */
	int (*list)(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		    berth_error *err);

	void *reserved[16];
} berth_backend_driver;

/* The smallest table size the core accepts (every field up to and including list). */
#define BERTH_BACKEND_DRIVER_MIN_SIZE                                                   \
	(offsetof(berth_backend_driver, list) + sizeof(void *))

#ifdef __cplusplus
}
#endif

#endif
