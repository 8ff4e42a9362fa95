/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

extern char **environ;

struct testhost *th;
const berth_backend_driver *drv;
void *inst;

bool case_failed;
static int n_ok, n_fail;
static const char *driver_name;

/* containers to remove at the end (native ids or names) */
static char *tracked[64];
static size_t n_tracked;

/* ---- reporting ---- */

void diag(const char *fmt, ...)
{
	va_list ap;

	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void case_begin(void)
{
	case_failed = false;
}

bool case_end(const char *name)
{
	if (case_failed)
		n_fail++;
	else
		n_ok++;
	printf("%s - %s\n", case_failed ? "not ok" : "ok", name);
	fflush(stdout);
	return !case_failed;
}

int report_summary(void)
{
	printf("# %d passed, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}

double mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double mono_ms(void)
{
	return mono_us() / 1e3;
}

/* ---- processes and peers ---- */

int run_capture(char *const argv[], char **out)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], status;
	size_t len = 0;
	char *buf = NULL;
	pid_t pid;

	if (out)
		*out = NULL;
	/* close-on-exec: a daemon the command leaves behind must not hold the pipe open */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));
		char *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p = realloc(buf, len + (size_t)n + 1);
		if (!p)
			break;
		buf = p;
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(buf);
			return -1;
		}
	if (out)
		*out = buf ? buf : strdup("");
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_peer(const char *script, const char *arg)
{
	char *argv[] = { "/bin/sh", (char *)script, (char *)arg, NULL };

	return run_capture(argv, NULL);
}

int start_peer(const char *script, const char *what, bool rerun, const char *skip_msg,
	       bool *started)
{
	int rc;

	*started = false;
	if (run_peer(script, "status") != 0) {
		*started = true;
		rc = run_peer(script, "start");
		if (rc == 77 && skip_msg) {
			printf("# skipped: %s\n", skip_msg);
			return 77;
		}
		if (rc != 0) {
			printf("not ok - %s (%s start) did not start\n", what, script);
			return 1;
		}
	} else if (rerun && run_peer(script, "start") != 0) {
		printf("not ok - %s start\n", script);
		return 1;
	}
	return 0;
}

const char *test_run_dir(void)
{
	const char *run = getenv("BERTH_TEST_RUN");

	return run && *run ? run : "/tmp/berth-test";
}

bool read_env(const char *path, const struct env_var *vars, const char *export_prefix)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *v;
		const char *name = line + 7;
		size_t l;

		if (strncmp(line, "export ", 7) != 0 || !eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		v[strcspn(v, "\n")] = '\0';
		l = strlen(v);
		if (l >= 2 && v[0] == '\'' && v[l - 1] == '\'') {
			v[l - 1] = '\0';
			v++;
		}
		for (const struct env_var *e = vars; e && e->name; e++)
			if (strcmp(name, e->name) == 0)
				snprintf(e->buf, e->len, "%s", v);
		if (export_prefix && strncmp(name, export_prefix, strlen(export_prefix)) == 0)
			setenv(name, v, 1);
	}
	fclose(f);
	return true;
}

/* ---- /proc and /sys ---- */

long long read_number(const char *path_fmt, ...)
{
	char path[512];
	long long v = -1;
	va_list ap;
	FILE *f;
	int n;

	va_start(ap, path_fmt);
	n = vsnprintf(path, sizeof(path), path_fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

bool proc_alive(int pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return pid > 0 && access(path, F_OK) == 0;
}

void uuid(char *buf, size_t len, int n)
{
	snprintf(buf, len, "%08x-0000-4000-8000-%012d", (unsigned)getpid(), n);
}

/* ---- the module under test ---- */

bool load_driver(const char *owner, const char *so, const char *name)
{
	char title[128];
	berth_error err;

	driver_name = name;
	th = testhost_new(owner, NULL);
	case_begin();
	EXPECT(testhost_load(th, so, &err) == 0, "load %s: %s", so, err.message);
	drv = testhost_backend_driver(th, name);
	EXPECT(drv != NULL, "no driver \"%s\" registered", name);
	snprintf(title, sizeof(title), "module loads and registers the %s driver", name);
	if (!case_end(title)) {
		testhost_free(th);
		th = NULL;
		return false;
	}
	return true;
}

void *open_instance(const char *settings_text, berth_error *err)
{
	const berth_settings *s;
	void *i = NULL;

	s = testhost_settings(th, driver_name, settings_text, drv->options, err);
	if (!s)
		return NULL;
	if (drv->open(testhost_host(th), s, testhost_backend_handle(th), &i, err) < 0)
		return NULL;
	return i;
}

struct spec_defaults spec_defaults;

const char *const loop_cmd[] = {
	"/bin/sh", "-c",
	"echo hello-berth; trap 'exit 3' TERM; trap 'exit 7' USR1; "
	"while :; do sleep 1 & wait; done",
	NULL
};

void make_spec(berth_container_spec *spec, const char *berth_id, const char *name,
	       const char *const *cmd)
{
	memset(spec, 0, sizeof(*spec));
	spec->size = sizeof(*spec);
	spec->berth_id = berth_id;
	spec->name = name;
	spec->image = spec_defaults.image;
	spec->cmd = cmd;
	spec->network_mode = spec_defaults.network_mode;
	spec->owner = spec_defaults.owner;
	spec->restart.type = BERTH_RESTART_NO;
}

void expect_settings_refused(const struct bad_setting *bad, size_t n)
{
	berth_error err;
	void *i;

	for (size_t k = 0; k < n; k++) {
		i = open_instance(bad[k].text, &err);
		EXPECT(!i && err.code == BERTH_E_INVALID && strstr(err.message, bad[k].key),
		       "%s: %s", bad[k].text, i ? "accepted" : err.message);
		if (i)
			drv->close(i);
	}
	i = open_instance("color = \"blue\";", &err);
	EXPECT(!i && strstr(err.message, "color"), "unknown key: %s", i ? "accepted" : err.message);
}

void track(const char *id)
{
	if (id && n_tracked < sizeof(tracked) / sizeof(tracked[0]))
		tracked[n_tracked++] = strdup(id);
}

char *create(const berth_container_spec *spec, unsigned flags, berth_error *err)
{
	char *id = NULL;

	berth_error_clear(err);
	if (drv->create(inst, spec, flags, &id, err) < 0)
		return NULL;
	track(id);
	return id;
}

void cleanup_tracked(void (*remove_one)(const char *id))
{
	for (size_t i = 0; i < n_tracked; i++) {
		remove_one(tracked[i]);
		free(tracked[i]);
	}
	n_tracked = 0;
}

void case_runtime_down_at_open(const char *runtime)
{
	struct testhost_record *r;
	berth_container_spec spec;
	char settings[512], missing[256], title[160], *id = NULL;
	berth_error err;
	double t0;
	void *i;

	case_begin();
	drain();
	snprintf(missing, sizeof(missing), "/tmp/berth-test-no-%s-%d.sock", runtime,
		 (int)getpid());
	snprintf(settings, sizeof(settings), "socket = \"unix://%s\"; timeout = 2;", missing);
	i = open_instance(settings, &err);
	EXPECT(i != NULL, "open with %s down failed: %s", runtime, err.message);
	if (!i)
		goto out;
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 1000);
	EXPECT(r && !r->reachable, "no backend_status(false) from open()");
	if (r) {
		EXPECT(r->text && strstr(r->text, missing), "status text: %s", r->text);
		testhost_record_free(r);
	}
	EXPECT(drv->watch(i, &err) == 0, "watch: %s", err.message);
	make_spec(&spec, "00000000-0000-4000-8000-000000000000", "never", loop_cmd);
	EXPECT(drv->create(i, &spec, 0, &id, &err) < 0 && err.code == BERTH_E_UNAVAILABLE,
	       "create with %s down: code %d", runtime, err.code);
	free(id);
	EXPECT(strstr(err.message, missing) && strstr(err.message, "unreachable"), "message: %s",
	       err.message);
	diag("create while down: %s", err.message);
	EXPECT(drv->ping(i, NULL, &err) < 0 && err.code == BERTH_E_UNAVAILABLE, "ping: %d",
	       err.code);
	usleep(300 * 1000);
	t0 = mono_us();
	drv->close(i);
	EXPECT(mono_us() - t0 < 500e3, "close() took %.0f us", mono_us() - t0);
out:
	drain();
	snprintf(title, sizeof(title),
		 "open() succeeds with %s down: backend_status(false), ops UNAVAILABLE", runtime);
	case_end(title);
}

int state_of(const char *id)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;
	int st;

	if (drv->inspect(inst, id, &info, &err) < 0)
		return -1;
	st = info.state;
	berth_container_info_release(&info);
	return st;
}

int expect_event(int type, const char *id, const char *berth_id, const char *what)
{
	struct testhost_record *r = testhost_wait_event(th, type, id, EVENT_WAIT_MS);
	int code = -1;

	EXPECT(r != NULL, "no %s event for %s", what, id);
	if (r) {
		EXPECT(!berth_id || (r->berth_id && strcmp(r->berth_id, berth_id) == 0),
		       "%s event: berth id %s, wanted %s", what,
		       r->berth_id ? r->berth_id : "(none)", berth_id);
		code = r->exit_code;
		testhost_record_free(r);
	}
	return code;
}

void drain(void)
{
	struct testhost_record *r;

	while ((r = testhost_wait(th, TESTHOST_EVENT, NULL, NULL, 0)))
		testhost_record_free(r);
	while ((r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 0)))
		testhost_record_free(r);
}
