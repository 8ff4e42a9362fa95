/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: what the files of backends/containerd share.
 *
 *   ctrd.c         driver table, module entry points, open/close, settings,
 *                  capabilities, ping (Version service)
 *   ctrd_grpc.c    gRPC over HTTP/2 on the unix socket (nghttp2 + protobuf-c)
 *   ctrd_image.c   an image from the Images and Content services: index -> manifest for
 *                  this host's platform -> config, chain id of the layers
 *   ctrd_spec.c    the OCI runtime spec (JSON) from the image config and the berth spec;
 *                  LinuxResources for updates
 *   ctrd_ops.c     the container operations
 *   ctrd_info.c    Containers.Get + Tasks.Get -> berth_container_info, list
 *   ctrd_events.c  the event thread (Events.Subscribe, reconnect with back-off)
 *
 * The container's containerd id is berth's own id (a UUID); its snapshot (key = the
 * id) is prepared from the image's chain id at create and removed with the container;
 * its task exists from start until the next start or the removal, so that a stopped
 * container keeps its exit status.
 */
#ifndef BERTH_CTRD_H
#define BERTH_CTRD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berth/berth.h>

#include "ctrd_grpc.h"
#include "containerd/events/container.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/containers.pb-c.h"
#include "containerd/services/content.pb-c.h"
#include "containerd/services/events.pb-c.h"
#include "containerd/services/images.pb-c.h"
#include "containerd/services/snapshots.pb-c.h"
#include "containerd/services/tasks.pb-c.h"
#include "containerd/services/version.pb-c.h"

#define CTRD_MODULE "containerd"

#define CTRD_DEFAULT_SOCKET "/run/containerd/containerd.sock"
#define CTRD_DEFAULT_NAMESPACE "berth"
#define CTRD_DEFAULT_SNAPSHOTTER "overlayfs"
#define CTRD_DEFAULT_RUNTIME "io.containerd.runc.v2"
#define CTRD_DEFAULT_TIMEOUT_S 30
#define CTRD_OPEN_PROBE_MS 5000

/* Our labels besides BERTH_LABEL_ID / BERTH_LABEL_OWNER. */
#define CTRD_LABEL_NAME "berth.name"
#define CTRD_LABEL_STARTED "berth.started" /* ns since the epoch of the last start */

/* Any.type_url of the JSON values inside google.protobuf.Any (typeurl registrations of
 * containerd's Go client). */
#define CTRD_TYPE_SPEC "types.containerd.io/opencontainers/runtime-spec/1/Spec"
#define CTRD_TYPE_RESOURCES "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

/* Method paths. */
#define CTRD_SVC_CONTAINERS "/containerd.services.containers.v1.Containers/"
#define CTRD_SVC_TASKS "/containerd.services.tasks.v1.Tasks/"
#define CTRD_SVC_SNAPSHOTS "/containerd.services.snapshots.v1.Snapshots/"
#define CTRD_SVC_IMAGES "/containerd.services.images.v1.Images/"
#define CTRD_SVC_CONTENT "/containerd.services.content.v1.Content/"
#define CTRD_SVC_EVENTS "/containerd.services.events.v1.Events/"
#define CTRD_SVC_VERSION "/containerd.services.version.v1.Version/"

/* Shorter names for the generated types. */
typedef Containerd__Services__Containers__V1__Container ctrd_container_pb;
typedef Containerd__Services__Containers__V1__Container__LabelsEntry ctrd_label_pb;
typedef Containerd__V1__Types__Process ctrd_process_pb;
typedef Containerd__Types__Mount ctrd_mount_pb;

#define CTRD_OOM_MAX 64

struct ctrd {
	const berth_host *host;
	berth_backend_handle *handle;

	/* settings (fixed after open) */
	char *socket;
	char *namespace;
	char *snapshotter;
	char *runtime;
	char *log_dir;   /* NULL: container output is discarded */
	int timeout_s;
	struct ctrd_grpc_target target;

	/* this host's platform, for image indexes: "linux", "amd64", "" or "v7" */
	const char *os, *arch, *variant;

	pthread_mutex_t lock;
	char *version;   /* "1.6.20~ds1 (revision ...)", under lock; malloc()ed */
	/* containers whose task was OOM-killed since its last start (event thread),
	 * under lock */
	char *oom[CTRD_OOM_MAX];
	size_t oom_next;

	/* event thread */
	pthread_t thread;
	bool thread_running;
	int wake[2];
	atomic_bool stop;
	atomic_bool reachable;
};

/* ctrd.c */
void ctrd_log(const struct ctrd *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
long ctrd_timeout_ms(const struct ctrd *c);
/* A unary call with the instance's target and timeout; see ctrd_grpc_call(). */
int ctrd_call(struct ctrd *c, const char *method, const void *req,
	      const ProtobufCMessageDescriptor *resp_desc, void *resp_out, const char *what,
	      int *grpc_status, berth_error *err);
/* Version.Version -> "1.6.20 (revision ...)", stored in c->version. */
int ctrd_version(struct ctrd *c, long timeout_ms, berth_error *err);
/* OOM bookkeeping (thread-safe). */
void ctrd_oom_set(struct ctrd *c, const char *id, bool oom);
bool ctrd_oom_get(struct ctrd *c, const char *id);

/* ctrd_image.c */
struct ctrd_image {
	char *name;      /* the name containerd knows it by */
	char *chain_id;  /* "sha256:..." of the top layer: the snapshot parent */
	json_object *config; /* the image config's "config" object (may be NULL) */
};
/* Resolves `ref` in the namespace. Missing -> BERTH_E_NOT_FOUND telling the admin how to
 * import it. */
int ctrd_image_resolve(struct ctrd *c, const char *ref, struct ctrd_image *out,
		       berth_error *err);
void ctrd_image_release(struct ctrd_image *img);
/* chain id of diff ids (OCI image spec, config.md): returns malloc()ed "sha256:..." or
 * NULL with err set. */
char *ctrd_chain_id(const char *const *diff_ids, size_t n, berth_error *err);
/* "busybox" -> "docker.io/library/busybox:latest"; returns malloc()ed or NULL. */
char *ctrd_image_normalize(const char *ref);
/* Initialises libgcrypt when nobody in the process has (module init). */
void ctrd_crypto_init(void);

/* ctrd_spec.c */
/* The OCI runtime spec for a new container. returns: a new object, or NULL with err. */
json_object *ctrd_spec_new(const struct ctrd *c, const char *id,
			   const berth_container_spec *spec, const struct ctrd_image *img,
			   berth_error *err);
/* Sets linux.resources.memory of a stored spec to r (0 fields removed). */
int ctrd_spec_set_resources(json_object *spec, const berth_resources *r, berth_error *err);
/* Reads linux.resources.memory of a stored spec. */
void ctrd_spec_get_resources(json_object *spec, berth_resources *out);
/* LinuxResources JSON for Tasks.Update: every field sent, a removed limit as -1, so that
 * runc orders the memory and memsw writes (it does when both are given). returns:
 * malloc()ed text or NULL. */
char *ctrd_spec_update_resources(const berth_resources *r);
/* Checks a berth_container_spec for what this backend cannot do (ports, networks). */
int ctrd_spec_check(const berth_container_spec *spec, berth_error *err);

/* ctrd_ops.c */
int ctrd_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		   char **native_id_out, berth_error *err);
int ctrd_op_start(void *instance, const char *id, unsigned flags, berth_error *err);
int ctrd_op_kill(void *instance, const char *id, int signal, unsigned flags,
		 berth_error *err);
int ctrd_op_pause(void *instance, const char *id, unsigned flags, berth_error *err);
int ctrd_op_resume(void *instance, const char *id, unsigned flags, berth_error *err);
int ctrd_op_rename(void *instance, const char *id, const char *new_name, unsigned flags,
		   berth_error *err);
int ctrd_op_update(void *instance, const char *id, const berth_update *update,
		   unsigned flags, berth_error *err);
int ctrd_op_remove(void *instance, const char *id, unsigned flags, berth_error *err);

/* ctrd_info.c */
/* Containers.Get: *out (caller frees with protobuf_c_message_free_unpacked). */
int ctrd_container_get(struct ctrd *c, const char *id,
		       Containerd__Services__Containers__V1__GetContainerResponse **out,
		       berth_error *err);
/* Tasks.Get: *out NULL (and 0 returned) when the container has no task. */
int ctrd_task_get(struct ctrd *c, const char *id,
		  Containerd__Services__Tasks__V1__GetResponse **out, berth_error *err);
const char *ctrd_label(const ctrd_container_pb *ct, const char *key);
/* The stored spec as JSON (caller puts), or NULL. */
json_object *ctrd_container_spec(const ctrd_container_pb *ct);
int ctrd_op_inspect(void *instance, const char *id, berth_container_info *info,
		    berth_error *err);
int ctrd_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		 berth_error *err);

/* ctrd_events.c */
int ctrd_events_start(struct ctrd *c, berth_error *err);
void ctrd_events_stop(struct ctrd *c);

#endif
