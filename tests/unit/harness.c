/* SPDX-License-Identifier: Apache-2.0 */
/* In-process berthd for the unit tests (see harness.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "daemon.h"
#include "harness.h"
#include "loader.h"
#include "queue.h"

const struct fake_backend_control *FB;
const struct fake_backend_control *FBM;
const struct fake_transport_control *FT;

static char root[64];         /* /tmp/berth-unit-XXXXXX */
static char module_dir[128];  /* <root>/modules */
static char state_dir[128];   /* <root>/state-<n> */
static char config_path[128]; /* <root>/berth-<n>.conf */
static int run_number;

static pthread_t daemon_thread;
static bool daemon_running;
static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;
static bool daemon_exited;
static int daemon_rc;
static unsigned corr_counter;

/* ---- set-up ------------------------------------------------------------------------- */

static int copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out, r = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			r = -1;
			break;
		}
	if (n < 0)
		r = -1;
	close(in);
	if (close(out) < 0 || chmod(dst, mode) < 0)
		r = -1;
	return r;
}

void harness_global_init(void)
{
	static const char *const modules[] = { "fake_backend", "fake_minimal", "fake_transport" };
	sigset_t mask;

	/* Before any thread exists: the daemon's signalfd must be the only taker. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	umask(022);
	snprintf(root, sizeof(root), "/tmp/berth-unit-XXXXXX");
	if (!mkdtemp(root) || chmod(root, 0755) < 0) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(module_dir, sizeof(module_dir), "%s/modules", root);
	if (mkdir(module_dir, 0755) < 0) {
		perror(module_dir);
		exit(1);
	}
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		char src[512], dst[256];

		snprintf(src, sizeof(src), "%s/%s.so", TEST_FAKE_DIR, modules[i]);
		snprintf(dst, sizeof(dst), "%s/%s.so", module_dir, modules[i]);
		if (copy_file(src, dst, 0755) < 0) {
			fprintf(stderr, "cannot copy %s to %s: %s\n", src, dst, strerror(errno));
			exit(1);
		}
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void harness_global_cleanup(void)
{
	if (daemon_running)
		harness_stop();
	if (root[0] && !getenv("BERTH_TEST_KEEP"))
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *harness_state_dir(void)
{
	return state_dir;
}

static void *daemon_main(void *arg)
{
	int rc = daemon_run(config_path);

	pthread_mutex_lock(&exit_lock);
	daemon_exited = true;
	daemon_rc = rc;
	pthread_mutex_unlock(&exit_lock);
	return NULL;
}

static bool exited(void)
{
	bool e;

	pthread_mutex_lock(&exit_lock);
	e = daemon_exited;
	pthread_mutex_unlock(&exit_lock);
	return e;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int write_config(const struct harness_options *o)
{
	const char *level = getenv("BERTH_TEST_LOG");
	const char *keep = o && o->keep_state ? "true" : "false";
	char backends[512], identity[128] = "";
	FILE *f;

	snprintf(backends, sizeof(backends),
		 "\t{ module = \"fake_backend\"; name = \"" H_FAKE "\"; default = true; keep = %s; },\n"
		 "\t{ module = \"fake_minimal\"; name = \"" H_MINI "\"; keep = %s; }", keep, keep);
	if (!o || !o->no_identity)
		snprintf(identity, sizeof(identity), "\tthing_id = \"%s\";\n\ttenant = \"t1\";\n",
			 H_THING);
	f = fopen(config_path, "w");

	if (!f)
		return -1;
	fprintf(f,
		"agent: {\n"
		"%s"
		"\tstate_dir = \"%s\";\n"
		"\tmodule_dir = \"%s\";\n"
		"\trun_dir = \"%s/run\";\n"
		"\t%s\n"
		"\tlog_level = \"%s\";\n"
		"\tlog_target = \"stderr\";\n"
		"\t%s\n"
		"};\n"
		"backends: (\n%s\n);\n"
		"transports: (\n%s\n);\n",
		identity, state_dir, module_dir, root,
		o && o->agent && strstr(o->agent, "stop_timeout") ? "" : "stop_timeout = 2;",
		level ? level : "err",
		o && o->agent ? o->agent : "",
		o && o->backends ? o->backends : backends,
		o && o->transports ? o->transports
				   : "\t{ module = \"fake_transport\"; name = \"" H_FT "\"; }");
	return fclose(f);
}

/* Finds a loaded module's control table. */
static void *control_of(const char *module, const char *symbol)
{
	struct berth_module *m = loader_find(module);

	return m ? dlsym(m->dl, symbol) : NULL;
}

bool harness_start(const struct harness_options *o)
{
	if (daemon_running)
		harness_stop();
	if (!o || !o->keep_state || !state_dir[0]) {
		snprintf(state_dir, sizeof(state_dir), "%s/state-%d", root, ++run_number);
		mkdir(state_dir, 0700);
	}
	snprintf(config_path, sizeof(config_path), "%s/berth-%d.conf", root, run_number);
	if (write_config(o) < 0)
		return false;
	daemon_exited = false;
	if (pthread_create(&daemon_thread, NULL, daemon_main, NULL) != 0)
		return false;
	daemon_running = true;

	/* The transport module is loaded last: once its control exists, both do. */
	for (int waited = 0; !loader_find("fake_transport"); waited += 2) {
		if (exited() || waited > HARNESS_WAIT_MS) {
			fprintf(stderr, "harness: berthd did not load its modules\n");
			harness_stop();
			return false;
		}
		sleep_ms(2);
	}
	{
		fake_backend_control_fn b, m;
		fake_transport_control_fn t;

		/* Modules stay mapped: a table once found stays valid. */
		*(void **)&b = control_of("fake_backend", FAKE_BACKEND_CONTROL_SYMBOL);
		*(void **)&m = control_of("fake_minimal", FAKE_BACKEND_CONTROL_SYMBOL);
		*(void **)&t = control_of("fake_transport", FAKE_TRANSPORT_CONTROL_SYMBOL);
		if (b)
			FB = b();
		if (m)
			FBM = m();
		if (t)
			FT = t();
		if (!FT || !FB) {
			fprintf(stderr, "harness: the fakes have no control table\n");
			harness_stop();
			return false;
		}
	}
	/* Every configured transport is online and the start-up work is done. (Before the
	 * transport is opened, wait_online() returns at once: sleep then.) */
	for (int waited = 0; !FT->wait_online(H_FT, 10); waited += 10) {
		sleep_ms(10);
		if (exited() || waited > HARNESS_WAIT_MS) {
			fprintf(stderr, "harness: berthd's transport did not come online\n");
			harness_stop();
			return false;
		}
	}
	h_settle();
	if (o && o->keep_records)
		return true;
	FT->clear(H_FT);
	fb(H_FAKE)->clear_calls(H_FAKE);
	fb(H_MINI)->clear_calls(H_MINI);
	return true;
}

bool harness_reload(const struct harness_options *o)
{
	if (!daemon_running || write_config(o) < 0)
		return false;
	return pthread_kill(daemon_thread, SIGHUP) == 0;
}

int harness_stop(void)
{
	int rc;

	if (!daemon_running)
		return -1;
	pthread_kill(daemon_thread, SIGTERM);
	pthread_join(daemon_thread, NULL);
	daemon_running = false;
	pthread_mutex_lock(&exit_lock);
	rc = daemon_rc;
	pthread_mutex_unlock(&exit_lock);
	return rc;
}

/* ---- commands ------------------------------------------------------------------------ */

void h_reply_release(struct h_reply *r)
{
	if (!r)
		return;
	json_object_put(r->env);
	fake_record_release(&r->rec);
	*r = (struct h_reply){ 0 };
}

char *h_envelope(const char *feature, const char *op, const char *value, const char *corr)
{
	char *text = NULL;

	if (asprintf(&text,
		     "{\"topic\":\"" H_TOPIC_PREFIX "%s\",\"headers\":{\"correlation-id\":\"%s\","
		     "\"response-required\":true%s},\"path\":\"/features/%s/inbox/messages/%s\""
		     "%s%s}",
		     op, corr, value ? ",\"content-type\":\"application/json\"" : "", feature, op,
		     value ? ",\"value\":" : "", value ? value : "") < 0)
		return NULL;
	return text;
}

int h_inject(const char *payload, const char *reply_to, const char *subject)
{
	struct fake_message m = {
		.payload = payload,
		.reply_to = reply_to,
		.subject = subject,
	};

	return FT->inject(H_FT, &m);
}

int h_send(const char *feature, const char *op, const char *value, char *corr)
{
	char reply_to[48];
	char *payload;
	int d;

	snprintf(corr, 32, "c-%u", __atomic_add_fetch(&corr_counter, 1, __ATOMIC_SEQ_CST));
	snprintf(reply_to, sizeof(reply_to), "req-%s", corr);
	payload = h_envelope(feature, op, value, corr);
	if (!payload)
		return -1;
	d = h_inject(payload, reply_to, op);
	free(payload);
	return d;
}

/* Index of the reply whose envelope has correlation-id corr, from `from`; -1. */
static long find_reply(const char *corr, size_t from, struct fake_record *out)
{
	size_t n = FT->n_replies(H_FT);

	for (size_t i = from; i < n; i++) {
		struct fake_record r;
		json_object *env;
		const char *c;

		if (FT->reply(H_FT, i, &r) < 0)
			continue;
		env = json_tokener_parse(r.payload);
		c = h_str(env, "headers/correlation-id");
		if (c && strcmp(c, corr) == 0) {
			json_object_put(env);
			if (out)
				*out = r;
			else
				fake_record_release(&r);
			return (long)i;
		}
		json_object_put(env);
		fake_record_release(&r);
	}
	return -1;
}

bool h_has_reply(const char *corr)
{
	return find_reply(corr, 0, NULL) >= 0;
}

int h_wait_reply(const char *corr, struct h_reply *out)
{
	struct fake_record rec;
	size_t seen = 0;

	for (;;) {
		long i;

		seen = FT->n_replies(H_FT); /* before looking: a reply may come meanwhile */
		i = find_reply(corr, 0, &rec);
		if (i >= 0)
			break;
		if (!FT->wait_replies(H_FT, seen + 1, HARNESS_WAIT_MS)) {
			fprintf(stderr, "harness: no reply for %s\n", corr);
			return -1;
		}
	}
	if (out) {
		*out = (struct h_reply){ .status = rec.status, .rec = rec };
		out->env = json_tokener_parse(rec.payload);
		out->value = h_get(out->env, "value");
		return out->status;
	}
	{
		int status = rec.status;

		fake_record_release(&rec);
		return status;
	}
}

int h_command(const char *feature, const char *op, const char *value, struct h_reply *out)
{
	char corr[32];

	if (out)
		*out = (struct h_reply){ 0 };
	if (h_send(feature, op, value, corr) != BERTH_DISPOSITION_ACCEPTED)
		return -1;
	return h_wait_reply(corr, out);
}

const char *h_feature(const char *id)
{
	static __thread char bufs[4][64];
	static __thread int next;
	char *b = bufs[next++ % 4];

	snprintf(b, 64, "Container:%s", id);
	return b;
}

int h_create(const char *value, bool with_config, char *id)
{
	struct h_reply r;
	int status = h_command("ContainerFactory", with_config ? "createWithConfig" : "create",
			       value, &r);

	if (status == 200 && r.value && json_object_is_type(r.value, json_type_string))
		snprintf(id, CONTAINER_ID_LEN + 1, "%s", json_object_get_string(r.value));
	else if (id)
		id[0] = '\0';
	h_reply_release(&r);
	return status;
}

int h_create_config(const char *config, bool start, char *id)
{
	char *value = NULL;
	int status;

	if (asprintf(&value, "{\"imageRef\":\"busybox\",\"start\":%s%s%s}", start ? "true" : "false",
		     config ? ",\"config\":" : "", config ? config : "") < 0)
		return -1;
	status = h_create(value, true, id);
	free(value);
	return status;
}

/* ---- core state ---------------------------------------------------------------------- */

char *h_native(const char *id)
{
	struct container *c = containers_get(id);
	char *native = NULL;

	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	native = c->native_id ? strdup(c->native_id) : NULL;
	pthread_mutex_unlock(&c->lock);
	container_unref(c);
	return native;
}

int h_status(const char *id)
{
	struct container *c = containers_get(id);
	int status;

	if (!c)
		return -1;
	pthread_mutex_lock(&c->lock);
	status = c->state.status;
	pthread_mutex_unlock(&c->lock);
	container_unref(c);
	return status;
}

static void record_path(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "%s/containers/%s.json", state_dir, id);
}

bool h_record_exists(const char *id)
{
	char path[256];

	record_path(path, sizeof(path), id);
	return access(path, F_OK) == 0;
}

json_object *h_record(const char *id)
{
	char path[256];

	record_path(path, sizeof(path), id);
	return json_object_from_file(path);
}

const struct fake_backend_control *fb(const char *inst)
{
	if (FBM && FBM->has(inst))
		return FBM;
	return FB;
}

/* Both fakes quiet (an instance that does not exist is quiet). */
static bool fakes_quiet(int timeout_ms)
{
	bool quiet = FB->wait_quiet(H_FAKE, timeout_ms);

	return (!FBM || FBM->wait_quiet(H_MINI, timeout_ms)) && quiet;
}

void h_settle(void)
{
	for (int round = 0; round < 1000; round++) {
		fakes_quiet(HARNESS_WAIT_MS);
		queue_wait_idle(HARNESS_WAIT_MS);
		if (fakes_quiet(0) && queue_pending() == 0)
			return;
	}
}

/* ---- events -------------------------------------------------------------------------- */

size_t h_events_mark(void)
{
	return FT->n_events(H_FT);
}

json_object *h_event_json(size_t i)
{
	struct fake_record r;
	json_object *o;

	if (FT->event(H_FT, i, &r) < 0)
		return NULL;
	o = json_tokener_parse(r.payload);
	fake_record_release(&r);
	return o;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool event_matches(json_object *ev, const char *action, const char *path_suffix,
			  const char *state)
{
	const char *topic = h_str(ev, "topic"), *path = h_str(ev, "path"), *st;

	if (!topic || !path)
		return false;
	if (action && !ends_with(topic, action))
		return false;
	if (path_suffix && !ends_with(path, path_suffix))
		return false;
	if (state) {
		st = h_str(ev, "value/status");
		if (!st) /* a whole feature: its state is properties.status.state.status */
			st = h_str(ev, "value/properties/status/state/status");
		if (!st || strcmp(st, state) != 0)
			return false;
	}
	return true;
}

long h_find_event(size_t from, const char *action, const char *path_suffix, const char *state)
{
	size_t n = FT->n_events(H_FT);

	for (size_t i = from; i < n; i++) {
		json_object *ev = h_event_json(i);
		bool ok = ev && event_matches(ev, action, path_suffix, state);

		json_object_put(ev);
		if (ok)
			return (long)i;
	}
	return -1;
}

long h_wait_event(size_t from, const char *action, const char *path_suffix, const char *state)
{
	for (;;) {
		size_t n = FT->n_events(H_FT);
		long i = h_find_event(from, action, path_suffix, state);

		if (i >= 0)
			return i;
		if (!FT->wait_events(H_FT, n + 1, HARNESS_WAIT_MS)) {
			fprintf(stderr, "harness: no event %s %s %s\n", action ? action : "*",
				path_suffix ? path_suffix : "*", state ? state : "*");
			return -1;
		}
	}
}

int h_count_events(size_t from, const char *action, const char *path_suffix, const char *state)
{
	size_t n = FT->n_events(H_FT);
	int count = 0;

	for (size_t i = from; i < n; i++) {
		json_object *ev = h_event_json(i);

		if (ev && event_matches(ev, action, path_suffix, state))
			count++;
		json_object_put(ev);
	}
	return count;
}

/* ---- JSON ---------------------------------------------------------------------------- */

json_object *h_get(json_object *o, const char *path)
{
	char buf[256], *save = NULL, *part;

	if (!o || !path)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, "/", &save); part && o; part = strtok_r(NULL, "/", &save))
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, part, &o))
			o = NULL;
	return o;
}

const char *h_str(json_object *o, const char *path)
{
	json_object *v = h_get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t h_int(json_object *o, const char *path, int64_t dflt)
{
	json_object *v = h_get(o, path);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

bool h_streq_at(const char *file, int line, const char *actual, const char *expected)
{
	if (actual && expected && strcmp(actual, expected) == 0)
		return true;
	if (!actual && !expected)
		return true;
	fprintf(stderr, "\n%s:%d: '%s' != '%s'\n", file, line, actual ? actual : "(null)",
		expected ? expected : "(null)");
	return false;
}

/* ---- main ---------------------------------------------------------------------------- */

int h_main(const char *suite_name, const struct unit_test *tests, size_t n)
{
	int failed;

	harness_global_init();
	failed = unit_run(suite_name, NULL, NULL, tests, n);
	harness_global_cleanup();
	return failed;
}
