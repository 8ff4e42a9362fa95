/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: the OCI runtime spec, built as the Go client's
 * oci.GenerateSpec(WithImageConfig, ...) would, as JSON (containerd stores it inside a
 * google.protobuf.Any with type_url CTRD_TYPE_SPEC and JSON bytes as its value).
 *
 *  - defaults: containerd 1.6's populateDefaultUnixSpec (mounts /proc /dev /dev/pts
 *    /dev/shm /dev/mqueue /sys /run, its 14 capabilities, RLIMIT_NOFILE 1024, masked and
 *    read-only paths, devices denied but runc's defaults, namespaces pid ipc uts mount
 *    network, cgroupsPath /<namespace>/<id>);
 *  - image config: Entrypoint + Cmd (berth's cmd replaces Cmd, as in Docker), Env (berth's
 *    env wins per key), WorkingDir, a numeric User;
 *  - berth spec: hostname (default: the first 12 characters of the id, as Docker),
 *    domainname, bind mounts with their propagation, privileged (every capability, no
 *    masked paths, rw /sys, all devices allowed), memory limits;
 *  - network: "host" shares the host's network namespace (and its /etc/hosts and
 *    /etc/resolv.conf, read-only); "bridge"/"none"/unset get a new network namespace
 *    with only loopback (no CNI here). Port mappings, extra hosts and other modes are
 *    refused (ctrd_spec_check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrd.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

/* Every capability of Linux 5.9+ (CAP_CHECKPOINT_RESTORE = 40). */
static const char *const all_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE", NULL,
};

static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
	"/proc/scsi", NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* json-c calls fail only when out of memory: collect that in *ok. */
static void put(json_object *o, const char *key, json_object *v, bool *ok)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static void append(json_object *arr, json_object *v, bool *ok)
{
	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static json_object *strings(const char *const *v, bool *ok)
{
	json_object *arr = json_object_new_array();

	if (!arr) {
		*ok = false;
		return NULL;
	}
	for (; v && *v; v++)
		append(arr, json_object_new_string(*v), ok);
	return arr;
}

static json_object *mount(const char *dst, const char *type, const char *src,
			  const char *const *options, bool *ok)
{
	json_object *m = json_object_new_object();

	if (!m) {
		*ok = false;
		return NULL;
	}
	put(m, "destination", json_object_new_string(dst), ok);
	put(m, "type", json_object_new_string(type), ok);
	put(m, "source", json_object_new_string(src), ok);
	put(m, "options", strings(options, ok), ok);
	return m;
}

static json_object *default_mounts(bool privileged, bool *ok)
{
	static const char *const proc[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k",
					   NULL };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
					   "mode=0620", "gid=5", NULL };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777",
					   "size=65536k", NULL };
	static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys_ro[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const sys_rw[] = { "nosuid", "noexec", "nodev", "rw", NULL };
	static const char *const run[] = { "nosuid", "strictatime", "mode=755", "size=65536k",
					   NULL };
	json_object *a = json_object_new_array();

	if (!a) {
		*ok = false;
		return NULL;
	}
	append(a, mount("/proc", "proc", "proc", proc, ok), ok);
	append(a, mount("/dev", "tmpfs", "tmpfs", dev, ok), ok);
	append(a, mount("/dev/pts", "devpts", "devpts", pts, ok), ok);
	append(a, mount("/dev/shm", "tmpfs", "shm", shm, ok), ok);
	append(a, mount("/dev/mqueue", "mqueue", "mqueue", mq, ok), ok);
	append(a, mount("/sys", "sysfs", "sysfs", privileged ? sys_rw : sys_ro, ok), ok);
	append(a, mount("/run", "tmpfs", "tmpfs", run, ok), ok);
	return a;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *jarr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

static bool valid_propagation(const char *p)
{
	static const char *const ok[] = { "rprivate", "private", "rshared", "shared",
					  "rslave", "slave", NULL };

	for (size_t i = 0; ok[i]; i++)
		if (strcmp(p, ok[i]) == 0)
			return true;
	return false;
}

int ctrd_spec_check(const berth_container_spec *spec, berth_error *err)
{
	const char *net = spec->network_mode;

	if (spec->size < offsetof(berth_container_spec, resources) + sizeof(spec->resources))
		return berth_error_set(err, BERTH_E_INVALID, "container spec too small (%u bytes)",
				       spec->size);
	if (!spec->image || !*spec->image || !spec->berth_id || !*spec->berth_id)
		return berth_error_set(err, BERTH_E_INVALID,
				       "a container needs an image and a berth id");
	if (net && *net && strcmp(net, "host") != 0 && strcmp(net, "bridge") != 0 &&
	    strcmp(net, "none") != 0)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "network mode \"%s\" is not supported by the containerd "
				       "backend (\"host\", or \"bridge\"/\"none\": a network "
				       "namespace of its own with only loopback)", net);
	if (spec->n_ports)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "port mappings are not supported by the containerd backend "
				       "(it sets up no CNI network): use network mode \"host\"");
	if (spec->extra_hosts && spec->extra_hosts[0])
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "extra hosts are not supported by the containerd backend");
	if (spec->resources.memory < 0 || spec->resources.memory_reservation < 0 ||
	    spec->resources.memory_swap < -1)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memory limits must be positive (memory swap: -1 for "
				       "unlimited)");
	if (spec->resources.memory_swap > 0 && spec->resources.memory == 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "a memory swap limit needs a memory limit");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const berth_mount *m = &spec->mounts[i];

		if (!m->source || !m->destination || m->source[0] != '/' ||
		    m->destination[0] != '/')
			return berth_error_set(err, BERTH_E_INVALID,
					       "mount %zu: source and destination must be "
					       "absolute paths", i);
		if (m->propagation && !valid_propagation(m->propagation))
			return berth_error_set(err, BERTH_E_INVALID,
					       "mount %zu: unknown propagation \"%s\"", i,
					       m->propagation);
	}
	return 0;
}

/* "uid[:gid]" of the image config; names other than root need the image's /etc/passwd,
 * which this backend does not read. */
static int parse_user(const char *user, long *uid, long *gid, berth_error *err)
{
	char *end;

	*uid = *gid = 0;
	if (!user || !*user || strcmp(user, "root") == 0 || strcmp(user, "root:root") == 0)
		return 0;
	*uid = strtol(user, &end, 10);
	if (end != user && *uid >= 0 && (*end == '\0' || *end == ':')) {
		if (*end == '\0') {
			*gid = *uid;
			return 0;
		}
		*gid = strtol(end + 1, &end, 10);
		if (*end == '\0' && *gid >= 0)
			return 0;
	}
	return berth_error_set(err, BERTH_E_UNSUPPORTED,
			       "the image runs as user \"%s\": the containerd backend needs a "
			       "numeric uid[:gid]", user);
}

/* Image Env, then berth's env replacing variables of the same name. */
static json_object *merged_env(json_object *image_env, const char *const *env, bool *ok)
{
	json_object *out = json_object_new_array();
	size_t n = image_env ? json_object_array_length(image_env) : 0;

	if (!out) {
		*ok = false;
		return NULL;
	}
	if (!image_env)
		append(out, json_object_new_string(DEFAULT_PATH), ok);
	for (size_t i = 0; i < n; i++) {
		const char *kv = json_object_get_string(json_object_array_get_idx(image_env, i));
		const char *eq = kv ? strchr(kv, '=') : NULL;
		size_t klen = eq ? (size_t)(eq - kv) : (kv ? strlen(kv) : 0);
		bool replaced = false;

		if (!kv)
			continue;
		for (const char *const *e = env; e && *e && !replaced; e++)
			replaced = strncmp(*e, kv, klen) == 0 && ((*e)[klen] == '=' ||
								  (*e)[klen] == '\0');
		if (!replaced)
			append(out, json_object_new_string(kv), ok);
	}
	for (const char *const *e = env; e && *e; e++)
		append(out, json_object_new_string(*e), ok);
	return out;
}

static json_object *process_args(const berth_container_spec *spec, json_object *cfg,
				 berth_error *err, bool *ok)
{
	json_object *args = json_object_new_array(), *ep = jarr(cfg, "Entrypoint");
	json_object *cmd = jarr(cfg, "Cmd");

	if (!args) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; ep && i < json_object_array_length(ep); i++)
		append(args, json_object_get(json_object_array_get_idx(ep, i)), ok);
	if (spec->cmd && spec->cmd[0]) {
		for (const char *const *a = spec->cmd; *a; a++)
			append(args, json_object_new_string(*a), ok);
	} else {
		for (size_t i = 0; cmd && i < json_object_array_length(cmd); i++)
			append(args, json_object_get(json_object_array_get_idx(cmd, i)), ok);
	}
	if (*ok && json_object_array_length(args) == 0) {
		json_object_put(args);
		berth_error_set(err, BERTH_E_INVALID,
				"no command: the image has neither Entrypoint nor Cmd and the "
				"container gives none");
		return NULL;
	}
	return args;
}

static json_object *process(const struct ctrd *c, const berth_container_spec *spec,
			    json_object *cfg, berth_error *err, bool *ok)
{
	json_object *p, *user, *caps, *rl, *args;
	const char *cwd = jstr(cfg, "WorkingDir");
	long uid, gid;

	if (parse_user(jstr(cfg, "User"), &uid, &gid, err) < 0)
		return NULL;
	args = process_args(spec, cfg, err, ok);
	if (!args)
		return NULL;
	p = json_object_new_object();
	user = json_object_new_object();
	caps = json_object_new_object();
	rl = json_object_new_object();
	if (!p || !user || !caps || !rl) {
		json_object_put(p);
		json_object_put(user);
		json_object_put(caps);
		json_object_put(rl);
		json_object_put(args);
		*ok = false;
		return NULL;
	}
	put(p, "terminal", json_object_new_boolean(false), ok);
	put(user, "uid", json_object_new_int64(uid), ok);
	put(user, "gid", json_object_new_int64(gid), ok);
	put(p, "user", user, ok);
	put(p, "args", args, ok);
	put(p, "env", merged_env(jarr(cfg, "Env"), spec->env, ok), ok);
	put(p, "cwd", json_object_new_string(cwd && *cwd ? cwd : "/"), ok);
	{
		const char *const *set = spec->privileged ? all_caps : default_caps;

		put(caps, "bounding", strings(set, ok), ok);
		put(caps, "effective", strings(set, ok), ok);
		put(caps, "permitted", strings(set, ok), ok);
		put(p, "capabilities", caps, ok);
	}
	put(rl, "type", json_object_new_string("RLIMIT_NOFILE"), ok);
	put(rl, "hard", json_object_new_int64(1024), ok);
	put(rl, "soft", json_object_new_int64(1024), ok);
	{
		json_object *rls = json_object_new_array();

		append(rls, rl, ok);
		put(p, "rlimits", rls, ok);
	}
	put(p, "noNewPrivileges", json_object_new_boolean(!spec->privileged), ok);
	return p;
}

static json_object *memory_object(const berth_resources *r, bool *ok)
{
	json_object *m = json_object_new_object();

	if (!m) {
		*ok = false;
		return NULL;
	}
	if (r->memory)
		put(m, "limit", json_object_new_int64(r->memory), ok);
	if (r->memory_reservation)
		put(m, "reservation", json_object_new_int64(r->memory_reservation), ok);
	if (r->memory_swap)
		put(m, "swap", json_object_new_int64(r->memory_swap), ok);
	return m;
}

static json_object *linux_section(const struct ctrd *c, const char *id,
				  const berth_container_spec *spec, bool *ok)
{
	static const char *const ns_isolated[] = { "pid", "ipc", "uts", "mount", "network",
						   NULL };
	static const char *const ns_host_net[] = { "pid", "ipc", "uts", "mount", NULL };
	bool host_net = spec->network_mode && strcmp(spec->network_mode, "host") == 0;
	json_object *l = json_object_new_object(), *res, *devs, *dev, *nss;
	char *cgroup = NULL;

	if (!l) {
		*ok = false;
		return NULL;
	}
	nss = json_object_new_array();
	for (const char *const *n = host_net ? ns_host_net : ns_isolated; nss && *n; n++) {
		json_object *o = json_object_new_object();

		if (o)
			put(o, "type", json_object_new_string(*n), ok);
		append(nss, o, ok);
	}
	put(l, "namespaces", nss, ok);
	if (!spec->privileged) {
		put(l, "maskedPaths", strings(masked_paths, ok), ok);
		put(l, "readonlyPaths", strings(readonly_paths, ok), ok);
	}
	if (asprintf(&cgroup, "/%s/%s", c->namespace, id) < 0) {
		*ok = false;
		cgroup = NULL;
	} else {
		put(l, "cgroupsPath", json_object_new_string(cgroup), ok);
		free(cgroup);
	}
	res = json_object_new_object();
	devs = json_object_new_array();
	dev = json_object_new_object();
	if (dev) {
		put(dev, "allow", json_object_new_boolean(spec->privileged), ok);
		put(dev, "access", json_object_new_string("rwm"), ok);
	}
	append(devs, dev, ok);
	if (res) {
		put(res, "devices", devs, ok);
		if (spec->resources.memory || spec->resources.memory_reservation ||
		    spec->resources.memory_swap)
			put(res, "memory", memory_object(&spec->resources, ok), ok);
	} else {
		json_object_put(devs);
	}
	put(l, "resources", res, ok);
	return l;
}

json_object *ctrd_spec_new(const struct ctrd *c, const char *id,
			   const berth_container_spec *spec, const struct ctrd_image *img,
			   berth_error *err)
{
	json_object *root, *root_fs, *mounts, *proc;
	bool host_net = spec->network_mode && strcmp(spec->network_mode, "host") == 0;
	bool ok = true;
	char hostname[13];

	if (ctrd_spec_check(spec, err) < 0)
		return NULL;
	root = json_object_new_object();
	if (!root)
		goto nomem;
	berth_error_clear(err);
	proc = process(c, spec, img->config, err, &ok);
	if (!proc) {
		json_object_put(root);
		if (ok)
			return NULL; /* err says why */
		goto nomem;
	}
	put(root, "ociVersion", json_object_new_string("1.0.2-dev"), &ok);
	put(root, "process", proc, &ok);
	root_fs = json_object_new_object();
	if (root_fs)
		put(root_fs, "path", json_object_new_string("rootfs"), &ok);
	put(root, "root", root_fs, &ok);
	snprintf(hostname, sizeof(hostname), "%s", id);
	if (spec->hostname && *spec->hostname)
		put(root, "hostname", json_object_new_string(spec->hostname), &ok);
	else if (!host_net)
		put(root, "hostname", json_object_new_string(hostname), &ok);
	if (spec->domainname && *spec->domainname)
		put(root, "domainname", json_object_new_string(spec->domainname), &ok);

	mounts = default_mounts(spec->privileged, &ok);
	if (mounts && host_net) {
		static const char *const ro_bind[] = { "rbind", "ro", NULL };
		static const char *const files[] = { "/etc/hosts", "/etc/resolv.conf", NULL };

		for (size_t i = 0; files[i]; i++)
			if (access(files[i], R_OK) == 0)
				append(mounts, mount(files[i], "bind", files[i], ro_bind, &ok), &ok);
	}
	for (size_t i = 0; mounts && i < spec->n_mounts; i++) {
		const berth_mount *m = &spec->mounts[i];
		const char *opts[] = { "rbind", m->propagation ? m->propagation : "rprivate",
				       NULL };

		append(mounts, mount(m->destination, "bind", m->source, opts, &ok), &ok);
	}
	put(root, "mounts", mounts, &ok);
	put(root, "linux", linux_section(c, spec->berth_id, spec, &ok), &ok);
	if (ok)
		return root;
	json_object_put(root);
nomem:
	berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return NULL;
}

int ctrd_spec_set_resources(json_object *spec, const berth_resources *r, berth_error *err)
{
	json_object *l, *res;
	bool ok = true;

	if (!json_object_object_get_ex(spec, "linux", &l) ||
	    !json_object_is_type(l, json_type_object)) {
		l = json_object_new_object();
		put(spec, "linux", l, &ok);
	}
	if (ok && (!json_object_object_get_ex(l, "resources", &res) ||
		   !json_object_is_type(res, json_type_object))) {
		res = json_object_new_object();
		put(l, "resources", res, &ok);
	}
	if (!ok)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	json_object_object_del(res, "memory");
	if (r->memory || r->memory_reservation || r->memory_swap)
		put(res, "memory", memory_object(r, &ok), &ok);
	return ok ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

void ctrd_spec_get_resources(json_object *spec, berth_resources *out)
{
	json_object *l, *res, *m, *v;

	memset(out, 0, sizeof(*out));
	if (!json_object_object_get_ex(spec, "linux", &l) ||
	    !json_object_object_get_ex(l, "resources", &res) ||
	    !json_object_object_get_ex(res, "memory", &m))
		return;
	if (json_object_object_get_ex(m, "limit", &v))
		out->memory = json_object_get_int64(v);
	if (json_object_object_get_ex(m, "reservation", &v))
		out->memory_reservation = json_object_get_int64(v);
	if (json_object_object_get_ex(m, "swap", &v))
		out->memory_swap = json_object_get_int64(v);
}

char *ctrd_spec_update_resources(const berth_resources *r)
{
	char *text = NULL;

	/* runc: a limit of -1 removes it; memory and swap both given -> runc writes memsw
	 * first when the new memsw is above the current memory limit (or unlimited), else
	 * memory first (libcontainer/cgroups/fs/memory.go setMemoryAndSwap) */
	if (asprintf(&text, "{\"memory\":{\"limit\":%lld,\"reservation\":%lld,\"swap\":%lld}}",
		     (long long)(r->memory > 0 ? r->memory : -1),
		     (long long)(r->memory_reservation > 0 ? r->memory_reservation : -1),
		     (long long)(r->memory_swap > 0 ? r->memory_swap : -1)) < 0)
		return NULL;
	return text;
}
