/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: the driver table, the module's entry points, open/close with the
 * instance's settings, capabilities and ping. The operations are in ctrd_ops.c and
 * ctrd_info.c, the event thread in ctrd_events.c, the gRPC client in ctrd_grpc.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ctrd.h"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static const berth_option ctrd_options[] = {
	{ "socket", BERTH_OPT_STRING, false,
	  "containerd's gRPC socket: a path or unix:///path (default " CTRD_DEFAULT_SOCKET ")" },
	{ "namespace", BERTH_OPT_STRING, false,
	  "containerd namespace of berth's containers and images (default \""
	  CTRD_DEFAULT_NAMESPACE "\")" },
	{ "snapshotter", BERTH_OPT_STRING, false,
	  "snapshotter for the containers' root filesystems (default \""
	  CTRD_DEFAULT_SNAPSHOTTER "\")" },
	{ "runtime", BERTH_OPT_STRING, false,
	  "containerd runtime (shim) name (default \"" CTRD_DEFAULT_RUNTIME "\")" },
	{ "log_dir", BERTH_OPT_STRING, false,
	  "directory for the containers' stdout/stderr, <id>.log (default: discarded)" },
	{ "timeout", BERTH_OPT_INT, false, "seconds one containerd call may take (default 30)" },
	{ 0 },
};

void ctrd_log(const struct ctrd *c, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (!c || !c->host || !c->host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->host->log(level, CTRD_MODULE, "%s", text);
}

long ctrd_timeout_ms(const struct ctrd *c)
{
	return (long)c->timeout_s * 1000L;
}

int ctrd_call(struct ctrd *c, const char *method, const void *req,
	      const ProtobufCMessageDescriptor *resp_desc, void *resp_out, const char *what,
	      int *grpc_status, berth_error *err)
{
	return ctrd_grpc_call(&c->target, method, req, resp_desc, resp_out, ctrd_timeout_ms(c),
			      what, grpc_status, err);
}

int ctrd_version(struct ctrd *c, long timeout_ms, berth_error *err)
{
	Containerd__Services__Version__V1__VersionResponse *v = NULL;
	char *text = NULL;

	if (ctrd_grpc_call(&c->target, CTRD_SVC_VERSION "Version", NULL,
			   &containerd__services__version__v1__version_response__descriptor,
			   (ProtobufCMessage **)&v, timeout_ms, "version", NULL, err) < 0)
		return -1;
	if (asprintf(&text, "%s (revision %s)", v->version[0] ? v->version : "(unknown)",
		     v->revision[0] ? v->revision : "unknown") < 0)
		text = NULL;
	protobuf_c_message_free_unpacked(&v->base, NULL);
	if (!text)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	pthread_mutex_lock(&c->lock);
	free(c->version);
	c->version = text;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void ctrd_oom_set(struct ctrd *c, const char *id, bool oom)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < CTRD_OOM_MAX; i++) {
		if (c->oom[i] && strcmp(c->oom[i], id) == 0) {
			if (!oom) {
				free(c->oom[i]);
				c->oom[i] = NULL;
			}
			pthread_mutex_unlock(&c->lock);
			return;
		}
	}
	if (oom) {
		/* a ring: the oldest record goes when 64 containers were OOM-killed */
		free(c->oom[c->oom_next]);
		c->oom[c->oom_next] = strdup(id);
		c->oom_next = (c->oom_next + 1) % CTRD_OOM_MAX;
	}
	pthread_mutex_unlock(&c->lock);
}

bool ctrd_oom_get(struct ctrd *c, const char *id)
{
	bool yes = false;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < CTRD_OOM_MAX && !yes; i++)
		yes = c->oom[i] && strcmp(c->oom[i], id) == 0;
	pthread_mutex_unlock(&c->lock);
	return yes;
}

/* containerd's identifier rule (namespaces, snapshotters, runtimes are looser, but a
 * name that breaks this one is a typo): [A-Za-z0-9][A-Za-z0-9._-]*, at most 76. */
static bool identifier_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 76)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return false;
	}
	return true;
}

static int dup_setting(char **dst, const char *src, berth_error *err)
{
	*dst = strdup(src);
	return *dst ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

static int read_settings(struct ctrd *c, const berth_settings *s, berth_error *err)
{
	const berth_host *host = c->host;
	const char *str;
	long long n;

	c->timeout_s = CTRD_DEFAULT_TIMEOUT_S;

	str = CTRD_DEFAULT_SOCKET;
	if (host->setting_string(s, "socket", &str) < 0)
		return host->setting_invalid(s, "socket", err, "must be a string");
	if (strncmp(str, "unix://", 7) == 0)
		str += 7;
	else if (strstr(str, "://"))
		return host->setting_invalid(s, "socket", err,
					     "only unix sockets are supported (\"%s\")", str);
	if (str[0] != '/')
		return host->setting_invalid(s, "socket", err,
					     "must be an absolute path (\"%s\")", str);
	if (strlen(str) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return host->setting_invalid(s, "socket", err, "path longer than %zu bytes",
					     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (dup_setting(&c->socket, str, err) < 0)
		return -1;

	str = CTRD_DEFAULT_NAMESPACE;
	if (host->setting_string(s, "namespace", &str) < 0)
		return host->setting_invalid(s, "namespace", err, "must be a string");
	if (!identifier_valid(str))
		return host->setting_invalid(s, "namespace", err,
					     "\"%s\" is not a containerd namespace name (letters, "
					     "digits, '.', '_', '-'; at most 76)", str);
	if (dup_setting(&c->namespace, str, err) < 0)
		return -1;

	str = CTRD_DEFAULT_SNAPSHOTTER;
	if (host->setting_string(s, "snapshotter", &str) < 0)
		return host->setting_invalid(s, "snapshotter", err, "must be a string");
	if (!identifier_valid(str))
		return host->setting_invalid(s, "snapshotter", err,
					     "\"%s\" is not a snapshotter name", str);
	if (dup_setting(&c->snapshotter, str, err) < 0)
		return -1;

	str = CTRD_DEFAULT_RUNTIME;
	if (host->setting_string(s, "runtime", &str) < 0)
		return host->setting_invalid(s, "runtime", err, "must be a string");
	if (!*str || strspn(str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-") != strlen(str))
		return host->setting_invalid(s, "runtime", err,
					     "\"%s\" is not a runtime name like \"%s\"", str,
					     CTRD_DEFAULT_RUNTIME);
	if (dup_setting(&c->runtime, str, err) < 0)
		return -1;

	if (host->setting_string(s, "log_dir", &str) == 0) {
		struct stat st;

		if (str[0] != '/')
			return host->setting_invalid(s, "log_dir", err,
						     "must be an absolute path (\"%s\")", str);
		if (strlen(str) > 3000)
			return host->setting_invalid(s, "log_dir", err, "path too long");
		/* created by the first start that needs it, not here: open() also runs for
		 * berthd --check-config */
		if (stat(str, &st) == 0 && !S_ISDIR(st.st_mode))
			return host->setting_invalid(s, "log_dir", err, "%s is not a directory",
						     str);
		if (dup_setting(&c->log_dir, str, err) < 0)
			return -1;
	}
	if (host->setting_int(s, "timeout", &n) == 0) {
		if (n < 1 || n > 3600)
			return host->setting_invalid(s, "timeout", err,
						     "%lld is out of range (1 to 3600 seconds)", n);
		c->timeout_s = (int)n;
	}
	c->target.socket = c->socket;
	c->target.namespace = c->namespace;
	return 0;
}

/* The OCI platform of this host (GOARCH names), for picking from an image index. */
static void host_platform(struct ctrd *c)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", "" },   { "aarch64", "arm64", "" },
		{ "armv7l", "arm", "v7" },   { "armv6l", "arm", "v6" },
		{ "i686", "386", "" },       { "i386", "386", "" },
		{ "ppc64le", "ppc64le", "" }, { "s390x", "s390x", "" },
		{ "riscv64", "riscv64", "" }, { "mips64", "mips64", "" },
	};
	struct utsname u;

	c->os = "linux";
	c->arch = "amd64";
	c->variant = "";
	if (uname(&u) < 0)
		return;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(u.machine, map[i].machine) == 0) {
			c->arch = map[i].arch;
			c->variant = map[i].variant;
		}
}

static void ctrd_free(struct ctrd *c)
{
	if (!c)
		return;
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	for (size_t i = 0; i < CTRD_OOM_MAX; i++)
		free(c->oom[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->version);
	free(c->socket);
	free(c->namespace);
	free(c->snapshotter);
	free(c->runtime);
	free(c->log_dir);
	free(c);
}

static int ctrd_open(const berth_host *host, const berth_settings *settings,
		     berth_backend_handle *handle, void **instance, berth_error *err)
{
	struct ctrd *c = calloc(1, sizeof(*c));
	berth_error e;
	long probe;

	if (!c)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	c->host = host;
	c->handle = handle;
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->lock, NULL);
	atomic_init(&c->stop, false);
	atomic_init(&c->reachable, false);
	host_platform(c);
	if (read_settings(c, settings, err) < 0) {
		ctrd_free(c);
		return -1;
	}
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		berth_error_set(err, BERTH_E_INTERNAL, "cannot set up the containerd client: %s",
				strerror(errno));
		ctrd_free(c);
		return -1;
	}
	/* containerd being down is not an error: say so and let the event thread retry */
	berth_error_clear(&e);
	probe = ctrd_timeout_ms(c) < CTRD_OPEN_PROBE_MS ? ctrd_timeout_ms(c) : CTRD_OPEN_PROBE_MS;
	if (ctrd_version(c, probe, &e) < 0) {
		ctrd_log(c, BERTH_LOG_WARNING, "%s", e.message);
		host->backend_status(handle, false, e.message);
	} else {
		atomic_store(&c->reachable, true);
	}
	*instance = c;
	return 0;
}

static void ctrd_close(void *instance)
{
	struct ctrd *c = instance;

	ctrd_events_stop(c);
	ctrd_free(c);
}

static uint64_t ctrd_capabilities(void *instance)
{
	/* No BERTH_CAP_RESTART_POLICY: containerd's restart monitor polls (10 s) and does
	 * not follow Docker's rules; the core's restart manager acts on our exit events.
	 * No BERTH_CAP_PULL: containerd 1.6 has no server-side pull (Transfer, 1.7+). */
	return BERTH_CAP_RENAME | BERTH_CAP_LIVE_UPDATE |
	       BERTH_CAP_PAUSE | BERTH_CAP_LABELS | BERTH_CAP_EVENTS;
}

static int ctrd_watch(void *instance, berth_error *err)
{
	return ctrd_events_start(instance, err);
}

static int ctrd_ping(void *instance, char **version_out, berth_error *err)
{
	struct ctrd *c = instance;
	char *text = NULL;

	if (ctrd_version(c, ctrd_timeout_ms(c), err) < 0)
		return -1;
	if (version_out) {
		pthread_mutex_lock(&c->lock);
		if (asprintf(&text, "containerd %s, namespace %s", c->version, c->namespace) < 0)
			text = NULL;
		pthread_mutex_unlock(&c->lock);
		if (!text)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		*version_out = text;
	}
	return 0;
}

static const berth_backend_driver ctrd_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "containerd",
	.description = "containerd gRPC API over a unix socket (containerd 1.6 and newer)",
	.options = ctrd_options,
	.open = ctrd_open,
	.close = ctrd_close,
	.capabilities = ctrd_capabilities,
	.watch = ctrd_watch,
	.ping = ctrd_ping,
	.create = ctrd_op_create,
	.start = ctrd_op_start,
	.kill = ctrd_op_kill,
	.stop = NULL, /* the core sends kill(), waits for the exit event, kill()s again */
	.pause = ctrd_op_pause,
	.resume = ctrd_op_resume,
	.rename = ctrd_op_rename,
	.update = ctrd_op_update,
	.remove = ctrd_op_remove,
	.inspect = ctrd_op_inspect,
	.list = ctrd_op_list,
};

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	ctrd_crypto_init();
	return host->register_backend(self, &ctrd_driver, err);
}
