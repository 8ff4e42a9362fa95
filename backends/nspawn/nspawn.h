/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: what the files of backends/nspawn share.
 *
 *   nspawn.c         driver table, module entry points, open/close, settings,
 *                    capabilities, ping, bus connections and error mapping
 *   nspawn_record.c  the backend's own records (nspawn has no labels): one JSON file per
 *                    machine under state_dir, written atomically
 *   nspawn_rootfs.c  a machine's root file system from a local image (directory tree or
 *                    tar, through libarchive) and its removal
 *   nspawn_unit.c    the transient service running systemd-nspawn: start, properties,
 *                    jobs (sd-bus calls to org.freedesktop.systemd1)
 *   nspawn_ops.c     the container operations
 *   nspawn_info.c    inspect and list
 *   nspawn_events.c  the event thread (PropertiesChanged / UnitRemoved, reconnect)
 *
 * A container is a machine: its native id is the machine name (= the berth name, which
 * never changes), its root file system machines_dir/<name>, its record
 * state_dir/<name>.json, and while it runs the transient unit berth-<name>.service whose
 * main process is `systemd-nspawn --keep-unit --register=yes --machine=<name>`. The unit
 * has RemainAfterExit=yes so that it keeps the exit status after the payload ended; the
 * next start or the removal clears it.
 */
#ifndef BERTH_NSPAWN_H
#define BERTH_NSPAWN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include <berth/berth.h>

#define NSP_MODULE "nspawn"

#define NSP_DEFAULT_MACHINES_DIR "/var/lib/machines"
#define NSP_DEFAULT_IMAGES_DIR "/var/lib/berth/images"
#define NSP_DEFAULT_TIMEOUT_S 30
#define NSP_NSPAWN_PATH "/usr/bin/systemd-nspawn"
#define NSP_UNIT_PREFIX "berth-"
#define NSP_UNIT_SUFFIX ".service"
#define NSP_NAME_MAX 64 /* systemd's machine name limit */

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT_IF "org.freedesktop.systemd1.Unit"
#define SD_SERVICE_IF "org.freedesktop.systemd1.Service"
#define MD_DEST "org.freedesktop.machine1"
#define MD_PATH "/org/freedesktop/machine1"
#define MD_MANAGER "org.freedesktop.machine1.Manager"

struct nspawn {
	const berth_host *host;
	berth_backend_handle *handle;

	/* settings (fixed after open) */
	char *bus_address; /* NULL: the system bus */
	char *machines_dir;
	char *images_dir;
	char *state_dir;
	int timeout_s;

	pthread_mutex_t lock;
	char *version; /* "252.39-1~deb12u2", under lock */

	/* event thread */
	pthread_t thread;
	bool thread_running;
	int wake; /* eventfd */
	atomic_bool stop;
	atomic_bool reachable;
};

/* A machine's record: the spec as berth gave it, and what the backend keeps. */
struct nsp_record {
	char *name;
	char *berth_id;
	char *owner;
	char *image;
	char *hostname;
	char **cmd; /* NULL-terminated or NULL */
	char **env;
	char **binds; /* "src:dst" for --bind= */
	bool privileged;
	berth_resources resources;
	int64_t created_ns;
	int64_t started_ns; /* last start, 0 = never started */
};

/* nspawn.c */
void nsp_log(const struct nspawn *n, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t nsp_timeout_us(const struct nspawn *n);
/* A new connection to the bus of systemd and machined (one per call: sd-bus objects are
 * not shared between threads). Unreachable -> BERTH_E_UNAVAILABLE. */
int nsp_bus_open(struct nspawn *n, sd_bus **out, berth_error *err);
/* Maps a failed call (r < 0, e filled by sd-bus) onto err, with `what` in front.
 * Returns -1. */
int nsp_bus_error(berth_error *err, int r, const sd_bus_error *e, const char *what);
/* systemd's machine name rule (hostname-like, at most 64). */
bool nsp_name_valid(const char *name);
/* "berth-<name>.service"; malloc()ed or NULL. */
char *nsp_unit_name(const char *name);
/* The machine name of a unit named berth-<name>.service, malloc()ed, or NULL. */
char *nsp_name_of_unit(const char *unit);
int64_t nsp_now_ns(void);

/* nspawn_record.c */
void nsp_record_free(struct nsp_record *r);
/* Reads state_dir/<name>.json; missing -> BERTH_E_NOT_FOUND. */
int nsp_record_load(struct nspawn *n, const char *name, struct nsp_record **out,
		    berth_error *err);
/* Writes it atomically (temp file, fsync, rename, fsync of the directory). */
int nsp_record_save(struct nspawn *n, const struct nsp_record *r, berth_error *err);
int nsp_record_delete(struct nspawn *n, const char *name, berth_error *err);
/* Calls cb for every record's name (sorted); stops at a non-zero return and returns it. */
int nsp_record_each(struct nspawn *n, int (*cb)(void *ud, const char *name), void *ud,
		    berth_error *err);
/* A NULL-terminated copy of a string vector (NULL for NULL); NULL *out on ENOMEM. */
int nsp_strv_dup(const char *const *v, char ***out);
void nsp_strv_free(char **v);

/* nspawn_rootfs.c */
/* machines_dir/<name> from the image (images_dir/<image> as a directory, or <image>.tar;
 * for an OCI reference also its last path component without tag). Missing image ->
 * BERTH_E_NOT_FOUND; an existing machine directory -> BERTH_E_CONFLICT. */
int nsp_rootfs_create(struct nspawn *n, const char *name, const char *image,
		      berth_error *err);
/* Removes machines_dir/<name> (not crossing mount points). Gone already: 0. */
int nsp_rootfs_remove(struct nspawn *n, const char *name, berth_error *err);
/* "machines_dir/<name>", malloc()ed or NULL. */
char *nsp_rootfs_path(const struct nspawn *n, const char *name);

/* nspawn_unit.c */
/* What the unit says; zeroed when it does not exist (exists = false). */
struct nsp_unit_state {
	bool exists;
	char active[24];  /* ActiveState: active, activating, deactivating, failed, inactive */
	char sub[24];     /* SubState: running, exited, dead, failed, ... */
	char result[24];  /* Result: success, exit-code, signal, oom-kill, ... */
	uint32_t main_pid;
	int32_t main_code; /* ExecMainCode: CLD_EXITED, CLD_KILLED, CLD_DUMPED */
	int32_t main_status;
	uint64_t start_us; /* ExecMainStartTimestamp, realtime */
	uint64_t exit_us;  /* ExecMainExitTimestamp */
};
/* Reads the unit's state. A unit that is not loaded: exists = false, 0 returned. */
int nsp_unit_state(sd_bus *bus, const char *unit, struct nsp_unit_state *st,
		   berth_error *err);
/* running, activating or deactivating: the payload may still live */
bool nsp_unit_running(const struct nsp_unit_state *st);
/* The payload's exit code in Docker's terms (128 + signal when killed). */
int nsp_unit_exit_code(const struct nsp_unit_state *st);
/* Starts berth-<name>.service running systemd-nspawn for the record, and waits for the
 * start job. */
int nsp_unit_start(struct nspawn *n, sd_bus *bus, const struct nsp_record *r,
		   berth_error *err);
/* Gets rid of a loaded unit that no longer runs (StopUnit / ResetFailedUnit) and waits
 * until systemd has unloaded it, so that its name can be used again. */
int nsp_unit_clear(struct nspawn *n, sd_bus *bus, const char *unit, berth_error *err);
/* SetUnitProperties(runtime) of the memory limits on a loaded unit. */
int nsp_unit_set_memory(sd_bus *bus, const char *unit, const berth_resources *r,
			berth_error *err);
/* Appends MemoryMax/MemoryLow/MemorySwapMax ("(sv)" items) to an open a(sv). */
int nsp_append_memory(sd_bus_message *m, const berth_resources *r, bool all);
/* Subscribes this connection to systemd's unit and job signals (Manager.Subscribe). */
int nsp_subscribe(sd_bus *bus, berth_error *err);
/* The container's init pid from machined (0 when not known). */
uint32_t nsp_machine_leader(sd_bus *bus, const char *name);

/* nspawn_ops.c */
int nsp_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		  char **native_id_out, berth_error *err);
int nsp_op_start(void *instance, const char *id, unsigned flags, berth_error *err);
int nsp_op_kill(void *instance, const char *id, int signal, unsigned flags,
		berth_error *err);
int nsp_op_update(void *instance, const char *id, const berth_update *update,
		  unsigned flags, berth_error *err);
int nsp_op_remove(void *instance, const char *id, unsigned flags, berth_error *err);

/* nspawn_info.c */
/* Fills info from a record and its unit's state. */
int nsp_fill_info(struct nspawn *n, sd_bus *bus, const struct nsp_record *r,
		  berth_container_info *info, berth_error *err);
int nsp_op_inspect(void *instance, const char *id, berth_container_info *info,
		   berth_error *err);
int nsp_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		berth_error *err);

/* nspawn_events.c */
int nsp_events_start(struct nspawn *n, berth_error *err);
void nsp_events_stop(struct nspawn *n);

#endif
