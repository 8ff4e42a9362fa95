/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent state (core/store.c), the records' JSON forms (core/container.c) and the
 * twin's full resync (core/twin.c): records round-trip; an atomic write leaves the old
 * or the new file and no temp file; leftovers of a crash are cleaned at load; the
 * announced list; and, end to end, the resync on (re)connect: ContainerFactory, every
 * container, deletions for announced features whose containers are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "backends.h"
#include "harness.h"
#include "log.h"
#include "queue.h"
#include "spec.h"
#include "store.h"
#include "twin.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- files --------------------------------------------------------------------------- */

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void tmp_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/berth-test-store-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void tmp_dir_remove(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- store, offline ------------------------------------------------------------------ */

static struct berth_backend_handle backend = { .name = "fake" };

struct loaded {
	json_object *records[8];
	char files[8][64];
	size_t n;
};

static void collect(json_object *rec, const char *file, void *userdata)
{
	struct loaded *l = userdata;

	if (l->n < N(l->records)) {
		l->records[l->n] = json_object_get(rec);
		snprintf(l->files[l->n], sizeof(l->files[0]), "%s", file);
		l->n++;
	}
}

static void loaded_free(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_object_put(l->records[i]);
	l->n = 0;
}

static void test_record_round_trip(void)
{
	struct container *c, *back;
	struct loaded l = { 0 };
	berth_error err;
	char why[128] = "", path[256];

	tmp_dir();
	snprintf(path, sizeof(path), "%s/state", dir);
	CU_ASSERT_EQUAL_FATAL(store_open(path, &err), 0);
	c = container_new(NULL, &backend);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->native_id = strdup("fake-42");
	c->name = strdup("web");
	c->image = strdup("docker.io/library/busybox:latest");
	c->config = json_tokener_parse("{\"restartPolicy\":{\"type\":\"ON_FAILURE\",\"maxRetryCount\":3},"
				       "\"networkMode\":\"BRIDGE\",\"env\":[\"A=1\"]}");
	c->created_ns = 1714637730123456789LL;
	c->state.status = CS_EXITED;
	c->state.pid = -1;
	c->state.exit_code = 137;
	c->state.oom_killed = true;
	c->state.error = strdup("OOM Killed");
	c->state.started_ns = 1714637731000000001LL;
	c->state.finished_ns = 1714640402000000000LL;
	c->manually_stopped = true;
	c->started_before = true;
	c->restart_count = 2;
	CU_ASSERT_EQUAL(store_save(c, &err), 0);
	/* saved again: replaced, one file */
	c->restart_count = 3;
	CU_ASSERT_EQUAL(store_save(c, &err), 0);

	CU_ASSERT_EQUAL(store_load(collect, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_TRUE(strncmp(l.files[0], c->id, CONTAINER_ID_LEN) == 0);
	back = container_from_record_json(l.records[0], &backend, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	H_ASSERT_STR(back->id, c->id);
	CU_ASSERT_PTR_EQUAL(back->backend, &backend);
	H_ASSERT_STR(back->native_id, "fake-42");
	H_ASSERT_STR(back->name, "web");
	H_ASSERT_STR(back->image, c->image);
	H_ASSERT_STR(json_object_to_json_string(back->config),
			       json_object_to_json_string(c->config));
	CU_ASSERT_EQUAL(back->created_ns, c->created_ns);
	CU_ASSERT_EQUAL(back->state.status, CS_EXITED);
	CU_ASSERT_EQUAL(back->state.pid, -1);
	CU_ASSERT_EQUAL(back->state.exit_code, 137);
	CU_ASSERT_TRUE(back->state.oom_killed);
	H_ASSERT_STR(back->state.error, "OOM Killed");
	CU_ASSERT_EQUAL(back->state.started_ns, c->state.started_ns);
	CU_ASSERT_EQUAL(back->state.finished_ns, c->state.finished_ns);
	CU_ASSERT_TRUE(back->manually_stopped);
	CU_ASSERT_TRUE(back->started_before);
	CU_ASSERT_EQUAL(back->restart_count, 3);
	CU_ASSERT_EQUAL(back->refs, 1);
	container_unref(back);
	loaded_free(&l);

	/* delete: gone, and deleting again is fine */
	CU_ASSERT_EQUAL(store_delete(c->id), 0);
	CU_ASSERT_EQUAL(store_delete(c->id), 0);
	CU_ASSERT_EQUAL(store_load(collect, &l), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	container_unref(c);
	store_close();
	tmp_dir_remove();
}

static void test_bad_records(void)
{
	static const char *const bad[] = {
		"{\"backend\":\"fake\",\"nativeId\":\"x\"}",                 /* no id */
		"{\"id\":\"short\",\"nativeId\":\"x\"}",                      /* malformed id */
		"{\"id\":\"3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11\"}",          /* never created */
	};
	char why[128];
	struct container *c;
	json_object *rec;

	for (size_t i = 0; i < N(bad); i++) {
		rec = json_tokener_parse(bad[i]);
		why[0] = '\0';
		CU_ASSERT_PTR_NULL(container_from_record_json(rec, &backend, why, sizeof(why)));
		CU_ASSERT_NOT_EQUAL(why[0], '\0');
		json_object_put(rec);
	}
	/* unknown or missing state fields: defaults, status UNKNOWN */
	rec = json_tokener_parse("{\"id\":\"3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11\",\"nativeId\":\"n\","
				 "\"state\":{\"status\":\"WEIRD\"},\"config\":[]}");
	c = container_from_record_json(rec, &backend, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->state.status, CS_UNKNOWN);
	CU_ASSERT_TRUE(json_object_is_type(c->config, json_type_object));
	CU_ASSERT_PTR_NULL(c->name);
	container_unref(c);
	json_object_put(rec);
}

static void test_atomic_write(void)
{
	char path[256], tmp[256], *text;
	char long_name[300];
	int dfd;

	tmp_dir();
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(dfd >= 0);
	snprintf(path, sizeof(path), "%s/a.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.a.json.tmp", dir);

	CU_ASSERT_EQUAL(store_write_atomic(dfd, "a.json", "old", 3), 0);
	text = slurp(path);
	H_ASSERT_STR(text, "old");
	free(text);
	CU_ASSERT_FALSE(exists(tmp));
	/* a crash mid-write leaves a temp file (as store made it, 0600); the old file is
	 * intact */
	spit(tmp, "ne");
	CU_ASSERT_EQUAL(chmod(tmp, 0600), 0);
	text = slurp(path);
	H_ASSERT_STR(text, "old");
	free(text);
	/* the next write replaces both */
	CU_ASSERT_EQUAL(store_write_atomic(dfd, "a.json", "new", 3), 0);
	text = slurp(path);
	H_ASSERT_STR(text, "new");
	free(text);
	CU_ASSERT_FALSE(exists(tmp));
	/* mode 0600: records may hold secrets (env) */
	{
		struct stat st;

		CU_ASSERT_EQUAL(stat(path, &st), 0);
		CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	}

	/* the rename fails (a directory is in the way): error, old state, no temp file */
	snprintf(path, sizeof(path), "%s/d.json", dir);
	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	snprintf(tmp, sizeof(tmp), "%s/d.json/keep", dir);
	spit(tmp, "x");
	CU_ASSERT_TRUE(store_write_atomic(dfd, "d.json", "data", 4) < 0);
	CU_ASSERT_TRUE(exists(tmp));
	snprintf(tmp, sizeof(tmp), "%s/.d.json.tmp", dir);
	CU_ASSERT_FALSE(exists(tmp));

	/* a name too long for the temp name */
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CU_ASSERT_EQUAL(store_write_atomic(dfd, long_name, "x", 1), -ENAMETOOLONG);
	/* an unwritable directory */
	CU_ASSERT_TRUE(store_write_atomic(-1, "a.json", "x", 1) < 0);
	close(dfd);
	tmp_dir_remove();
}

static void test_load_cleans_and_skips(void)
{
	struct container *c;
	struct loaded l = { 0 };
	berth_error err;
	char path[256], state[128];

	log_setup(LOG_TARGET_STDERR, BERTH_LOG_ERR); /* the skipped records are expected */
	tmp_dir();
	snprintf(state, sizeof(state), "%s/state", dir);
	CU_ASSERT_EQUAL_FATAL(store_open(state, &err), 0);
	c = container_new(NULL, &backend);
	c->native_id = strdup("fake-1");
	c->state.status = CS_RUNNING;
	CU_ASSERT_EQUAL(store_save(c, &err), 0);
	/* what a crash mid-write leaves, an unreadable record, an unrelated file */
	snprintf(path, sizeof(path), "%s/containers/.%s.json.tmp", state, c->id);
	spit(path, "{\"id\":");
	snprintf(path, sizeof(path), "%s/containers/broken.json", state);
	spit(path, "{not json");
	snprintf(path, sizeof(path), "%s/containers/array.json", state);
	spit(path, "[1,2]");
	snprintf(path, sizeof(path), "%s/containers/README", state);
	spit(path, "hello");
	CU_ASSERT_EQUAL(store_load(collect, &l), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	loaded_free(&l);
	/* the temp file is gone; the unreadable record is left for an administrator */
	snprintf(path, sizeof(path), "%s/containers/.%s.json.tmp", state, c->id);
	CU_ASSERT_FALSE(exists(path));
	snprintf(path, sizeof(path), "%s/containers/broken.json", state);
	CU_ASSERT_TRUE(exists(path));
	/* a second load gives the same */
	CU_ASSERT_EQUAL(store_load(collect, &l), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	loaded_free(&l);
	container_unref(c);
	store_close();
	/* the state directory is created with its parents, mode 0700 */
	snprintf(state, sizeof(state), "%s/a/b/c", dir);
	CU_ASSERT_EQUAL(store_open(state, &err), 0);
	{
		struct stat st;

		CU_ASSERT_EQUAL(stat(state, &st), 0);
		CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	}
	store_close();
	/* a state directory that cannot be made */
	snprintf(state, sizeof(state), "%s/containers/README/x", dir);
	snprintf(path, sizeof(path), "%s/containers", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/containers/README", dir);
	spit(path, "file");
	CU_ASSERT_EQUAL(store_open(state, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_RUNTIME);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, state));
	store_close();
	tmp_dir_remove();
}

static void test_announced_list(void)
{
	json_object *ids;
	berth_error err;
	char path[256];

	tmp_dir();
	CU_ASSERT_EQUAL_FATAL(store_open(dir, &err), 0);
	ids = store_load_announced();
	CU_ASSERT_TRUE(json_object_is_type(ids, json_type_array));
	CU_ASSERT_EQUAL(json_object_array_length(ids), 0);
	json_object_array_add(ids, json_object_new_string("a"));
	json_object_array_add(ids, json_object_new_string("b"));
	CU_ASSERT_EQUAL(store_save_announced(ids), 0);
	json_object_put(ids);
	ids = store_load_announced();
	H_ASSERT_STR(json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN),
			       "[\"a\",\"b\"]");
	json_object_put(ids);
	/* damaged: an empty list rather than an error */
	snprintf(path, sizeof(path), "%s/features.json", dir);
	spit(path, "[\"a\",");
	ids = store_load_announced();
	CU_ASSERT_EQUAL(json_object_array_length(ids), 0);
	json_object_put(ids);
	spit(path, "{\"a\":1}");
	ids = store_load_announced();
	CU_ASSERT_TRUE(json_object_is_type(ids, json_type_array));
	CU_ASSERT_EQUAL(json_object_array_length(ids), 0);
	json_object_put(ids);
	store_close();
	tmp_dir_remove();
}

/* ---- JSON forms ---------------------------------------------------------------------- */

static void test_time_format(void)
{
	char buf[64];

	H_ASSERT_STR(container_format_time(1714637730123456789LL, buf, sizeof(buf)),
			       "2024-05-02T08:15:30.123456789Z");
	CU_ASSERT_EQUAL(container_parse_time(buf), 1714637730123456789LL);
	H_ASSERT_STR(container_format_time(1714637730000000001LL, buf, sizeof(buf)),
			       "2024-05-02T08:15:30.000000001Z");
	CU_ASSERT_EQUAL(container_parse_time(buf), 1714637730000000001LL);
	H_ASSERT_STR(container_format_time(0, buf, sizeof(buf)), "");
	H_ASSERT_STR(container_format_time(-5, buf, sizeof(buf)), "");
	/* Docker's forms: fewer digits, none */
	CU_ASSERT_EQUAL(container_parse_time("2024-05-02T08:15:30.5Z"), 1714637730500000000LL);
	CU_ASSERT_EQUAL(container_parse_time("2024-05-02T08:15:30Z"), 1714637730000000000LL);
	CU_ASSERT_EQUAL(container_parse_time("2024-05-02T08:15:30.1234567891Z"), 1714637730123456789LL);
	CU_ASSERT_EQUAL(container_parse_time("2024-05-02 08:15:30Z"), 0);
	CU_ASSERT_EQUAL(container_parse_time("2024-05-02T08:15:30+02:00"), 0);
	CU_ASSERT_EQUAL(container_parse_time(""), 0);
	CU_ASSERT_EQUAL(container_parse_time(NULL), 0);
}

static void test_status_json(void)
{
	struct container *c = container_new("3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11", &backend);
	json_object *s, *st;

	c->name = strdup("3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11");
	c->image = strdup("docker.io/library/hello-world:latest");
	c->config = json_tokener_parse("{\"restartPolicy\":{\"type\":\"UNLESS_STOPPED\"},"
				       "\"networkMode\":\"BRIDGE\"}");
	c->created_ns = 1714637730123456789LL;
	c->state.status = CS_CREATED;
	/* PROTOCOL.md 6.2's minimal status right after create */
	s = container_status_json(c);
	H_ASSERT_STR(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			       "{\"name\":\"3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11\","
			       "\"imageRef\":\"docker.io/library/hello-world:latest\","
			       "\"config\":{\"restartPolicy\":{\"type\":\"UNLESS_STOPPED\"},"
			       "\"networkMode\":\"BRIDGE\"},"
			       "\"createdAt\":\"2024-05-02T08:15:30.123456789Z\","
			       "\"state\":{\"status\":\"CREATED\",\"pid\":-1}}");
	json_object_put(s);
	/* running: pid, startedAt; exit code 0, no error, no OOM are left out */
	c->state.status = CS_RUNNING;
	c->state.pid = 4242;
	c->state.started_ns = 1714637731987654321LL;
	st = container_state_json(c);
	H_ASSERT_STR(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
			       "{\"status\":\"RUNNING\",\"pid\":4242,"
			       "\"startedAt\":\"2024-05-02T08:15:31.987654321Z\"}");
	json_object_put(st);
	/* the results are the caller's own: they are serialised outside c->lock while the
	 * container's lane may change its config (an update during a resync) */
	s = container_status_json(c);
	st = container_record_json(c);
	CU_ASSERT_PTR_NOT_EQUAL(h_get(s, "config"), c->config);
	CU_ASSERT_PTR_NOT_EQUAL(h_get(st, "config"), c->config);
	{
		berth_restart_policy always = { .type = BERTH_RESTART_ALWAYS };

		spec_config_set_restart(c->config, &always);
	}
	H_ASSERT_STR(h_str(s, "config/restartPolicy/type"), "UNLESS_STOPPED");
	H_ASSERT_STR(h_str(st, "config/restartPolicy/type"), "UNLESS_STOPPED");
	json_object_put(s);
	json_object_put(st);
	H_ASSERT_STR(container_status_name(CS_DEAD), "DEAD");
	H_ASSERT_STR(container_status_name(99), "UNKNOWN");
	H_ASSERT_STR(container_status_name(-1), "UNKNOWN");
	CU_ASSERT_EQUAL(container_status_from_name("PAUSED"), CS_PAUSED);
	CU_ASSERT_EQUAL(container_status_from_name("paused"), -1);
	container_unref(c);
}

static void test_table(void)
{
	struct berth_backend_handle other = { .name = "other" };
	struct container *a = container_new(NULL, &backend), *b = container_new(NULL, &other), *f;
	struct container **list;
	size_t n;

	a->name = strdup("alpha");
	a->native_id = strdup("n-1");
	b->name = strdup("beta");
	b->native_id = strdup("n-1"); /* same native id, other backend */
	CU_ASSERT_EQUAL(containers_add(a), 0);
	CU_ASSERT_EQUAL(containers_add(a), -EEXIST);
	CU_ASSERT_EQUAL(containers_add(b), 0);
	CU_ASSERT_EQUAL(containers_count(), 2);
	f = containers_find_name("alpha", NULL);
	CU_ASSERT_PTR_EQUAL(f, a);
	container_unref(f);
	CU_ASSERT_PTR_NULL(containers_find_name("alpha", a));
	f = containers_find_native(&other, "n-1");
	CU_ASSERT_PTR_EQUAL(f, b);
	container_unref(f);
	CU_ASSERT_PTR_NULL(containers_find_native(&other, "n-2"));
	f = containers_get(b->id);
	CU_ASSERT_PTR_EQUAL(f, b);
	container_unref(f);
	list = containers_list(&n);
	CU_ASSERT_EQUAL(n, 2);
	containers_list_free(list, n);
	containers_remove(a);
	CU_ASSERT_PTR_NULL(containers_get(a->id));
	CU_ASSERT_EQUAL(a->refs, 1);
	containers_remove(a); /* not there: nothing happens */
	CU_ASSERT_EQUAL(a->refs, 1);
	containers_clear();
	CU_ASSERT_EQUAL(containers_count(), 0);
	CU_ASSERT_EQUAL(b->refs, 1);
	container_unref(a);
	container_unref(b);
	/* ids: UUID v4, and one that is too long is refused */
	{
		char id[CONTAINER_ID_LEN + 1];

		CU_ASSERT_EQUAL(container_new_id(id), 0);
		CU_ASSERT_EQUAL(strlen(id), CONTAINER_ID_LEN);
		CU_ASSERT_EQUAL(id[14], '4');
		CU_ASSERT_TRUE(strchr("89ab", id[19]) != NULL);
		CU_ASSERT_PTR_NULL(container_new("3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11x", &backend));
	}
}

/* ---- resync, end to end -------------------------------------------------------------- */

static json_object *announced_file(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/features.json", harness_state_dir());
	return json_object_from_file(path);
}

static bool announced_has(json_object *ids, const char *id)
{
	for (size_t i = 0; ids && i < json_object_array_length(ids); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(ids, i)), id) == 0)
			return true;
	return false;
}

static void test_resync(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1];
	json_object *ev, *ids;
	struct container *cb;
	long factory, fa, fb;

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"start\":true}", false, a), 200);
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"backend\":\"mini\"}", true, b), 200);
	h_settle();
	ids = announced_file();
	CU_ASSERT_TRUE(announced_has(ids, a) && announced_has(ids, b));
	json_object_put(ids);

	/* a reconnect: ContainerFactory first, then every container in full, no deletions */
	FT->clear(H_FT);
	CU_ASSERT_EQUAL(FT->reconnect(H_FT), 0);
	CU_ASSERT_FATAL(FT->wait_online(H_FT, HARNESS_WAIT_MS));
	h_settle();
	factory = h_find_event(0, "modify", "/features/ContainerFactory", NULL);
	fa = h_find_event(0, "modify", h_feature(a), "RUNNING");
	fb = h_find_event(0, "modify", h_feature(b), "CREATED");
	CU_ASSERT_EQUAL(factory, 0);
	CU_ASSERT_TRUE(fa > factory && fb > factory);
	CU_ASSERT_EQUAL(h_count_events(0, "delete", NULL, NULL), 0);
	CU_ASSERT_EQUAL(h_events_mark(), 3);
	ev = h_event_json((size_t)factory);
	H_ASSERT_STR(json_object_get_string(json_object_array_get_idx(
				       h_get(ev, "value/definition"), 0)), TWIN_FACTORY_DEFINITION);
	CU_ASSERT_PTR_NULL(h_get(ev, "value/properties"));
	json_object_put(ev);
	ev = h_event_json((size_t)fb);
	H_ASSERT_STR(h_str(ev, "value/properties/status/name"), b);
	json_object_put(ev);

	/* B disappears from the table without a word to the twin: the next resync deletes
	 * its feature and forgets it */
	cb = containers_get(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
	containers_remove(cb);
	container_unref(cb);
	FT->clear(H_FT);
	CU_ASSERT_EQUAL(FT->reconnect(H_FT), 0);
	CU_ASSERT_FATAL(FT->wait_online(H_FT, HARNESS_WAIT_MS));
	h_settle();
	CU_ASSERT_TRUE(h_find_event(0, "delete", h_feature(b), NULL) > 0);
	CU_ASSERT_TRUE(h_find_event(0, "modify", h_feature(a), NULL) > 0);
	CU_ASSERT_EQUAL(h_find_event(0, "modify", h_feature(b), NULL), -1);
	ids = announced_file();
	CU_ASSERT_TRUE(announced_has(ids, a));
	CU_ASSERT_FALSE(announced_has(ids, b));
	json_object_put(ids);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* A resync reads every container's status on its own worker while commands change
 * containers on theirs: the twin must never see (or crash on) a half-changed config. */
static void test_resync_while_updating(void)
{
	enum { ROUNDS = 150 };
	char a[CONTAINER_ID_LEN + 1], corr[ROUNDS][32];

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"start\":true}", false, a), 200);
	h_settle();
	for (int i = 0; i < ROUNDS; i++) {
		CU_ASSERT_EQUAL(h_send(h_feature(a), "update", i % 2 ?
				       "{\"restartPolicy\":{\"type\":\"always\"},\"resources\":{\"memory\":\"64m\"}}" :
				       "{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":3},"
				       "\"resources\":{\"memory\":\"128m\",\"memorySwap\":\"1g\"}}", corr[i]), 0);
		if (i % 3 == 0)
			FT->reconnect(H_FT);
	}
	for (int i = 0; i < ROUNDS; i++)
		CU_ASSERT_EQUAL(h_wait_reply(corr[i], NULL), 204);
	h_settle();
	/* every feature the twin got is whole */
	for (size_t i = 0, n = h_events_mark(); i < n; i++) {
		json_object *ev = h_event_json(i);
		const char *type = h_str(ev, "value/properties/status/config/restartPolicy/type");

		if (h_get(ev, "value/properties/status/config"))
			CU_ASSERT_TRUE(type && (strcmp(type, "ALWAYS") == 0 || strcmp(type, "ON_FAILURE") == 0 ||
						strcmp(type, "UNLESS_STOPPED") == 0));
		json_object_put(ev);
	}
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* A container removed while a resync is under way is not announced again after its
 * deletion (a feature the twin would keep for a container that is gone). */
static void test_resync_during_remove(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1];
	long deleted, later;
	json_object *ids;

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\"}", false, a), 200);
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\"}", false, b), 200);
	h_settle();
	FT->clear(H_FT);
	/* the resync has its list of containers and waits on its first event */
	FT->hold_next_event(H_FT);
	CU_ASSERT_EQUAL(FT->reconnect(H_FT), 0);
	CU_ASSERT_FATAL(FT->wait_event_held(H_FT, HARNESS_WAIT_MS));
	/* meanwhile B is removed: DEAD, deleted, forgotten */
	CU_ASSERT_EQUAL(h_command(h_feature(b), "remove", NULL, NULL), 204);
	deleted = h_wait_event(0, "delete", h_feature(b), NULL);
	CU_ASSERT_FATAL(deleted >= 0);
	FT->release_event(H_FT);
	h_settle();
	/* A is in the resync; B is not announced again after its deletion */
	CU_ASSERT_TRUE(h_find_event(0, "modify", h_feature(a), NULL) >= 0);
	later = h_find_event((size_t)deleted + 1, "modify", h_feature(b), NULL);
	CU_ASSERT_EQUAL(later, -1);
	ids = announced_file();
	CU_ASSERT_TRUE(announced_has(ids, a));
	CU_ASSERT_FALSE(announced_has(ids, b));
	json_object_put(ids);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* A container whose removal is under way (flagged removed, still in the table) when a
 * resync runs, and whose delete could not reach the twin before (transport offline):
 * the resync sends that delete. */
static void test_resync_sends_missed_delete(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1];
	struct container *cb;
	json_object *ids;

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\"}", false, a), 200);
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\"}", false, b), 200);
	h_settle();
	cb = containers_get(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
	pthread_mutex_lock(&cb->lock);
	cb->removed = true; /* state_removed() has begun; the table still has it */
	pthread_mutex_unlock(&cb->lock);
	FT->clear(H_FT);
	CU_ASSERT_EQUAL(FT->reconnect(H_FT), 0);
	CU_ASSERT_FATAL(FT->wait_online(H_FT, HARNESS_WAIT_MS));
	h_settle();
	CU_ASSERT_TRUE(h_find_event(0, "modify", h_feature(a), NULL) >= 0);
	CU_ASSERT_TRUE(h_find_event(0, "delete", h_feature(b), NULL) >= 0);
	CU_ASSERT_EQUAL(h_find_event(0, "modify", h_feature(b), NULL), -1);
	ids = announced_file();
	CU_ASSERT_TRUE(announced_has(ids, a));
	CU_ASSERT_FALSE(announced_has(ids, b));
	json_object_put(ids);
	containers_remove(cb);
	container_unref(cb);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* Waits until the only work left is the one job blocked in the fake runtime. */
static void wait_only_held_job(void)
{
	for (int waited = 0; queue_pending() > 1 && waited < HARNESS_WAIT_MS; waited++)
		usleep(1000);
	CU_ASSERT_EQUAL(queue_pending(), 1);
}

/* A container still being created when a resync runs: if its creation then fails, the
 * twin must not keep a feature for it. */
static void test_resync_during_create(void)
{
	char corr[32], corr_ok[32];
	struct h_reply r;
	json_object *ids;
	const char *id;
	char feature[64];

	CU_ASSERT_FATAL(harness_start(NULL));
	FB->hold(H_FAKE, "create");
	FB->fail_next(H_FAKE, "create", BERTH_E_RUNTIME, "pull access denied");
	CU_ASSERT_EQUAL(h_send("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", corr), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "create", 1, HARNESS_WAIT_MS));
	CU_ASSERT_EQUAL(containers_count(), 1); /* reserved, CREATING */
	FT->clear(H_FT);
	CU_ASSERT_EQUAL(FT->reconnect(H_FT), 0);
	CU_ASSERT_FATAL(FT->wait_online(H_FT, HARNESS_WAIT_MS));
	wait_only_held_job(); /* the resync ran while the create waits in the runtime */
	FB->release(H_FAKE, "create");
	CU_ASSERT_EQUAL(h_wait_reply(corr, &r), 500);
	h_reply_release(&r);
	h_settle();
	CU_ASSERT_EQUAL(containers_count(), 0);
	/* no container feature was announced, none is remembered */
	for (size_t i = 0, n = h_events_mark(); i < n; i++) {
		json_object *ev = h_event_json(i);

		CU_ASSERT_PTR_NULL(strstr(h_str(ev, "path"), "/features/Container:"));
		json_object_put(ev);
	}
	ids = announced_file();
	CU_ASSERT_TRUE(!ids || json_object_array_length(ids) == 0);
	json_object_put(ids);
	/* a create that succeeds after the resync announces itself */
	FB->hold(H_FAKE, "create");
	CU_ASSERT_EQUAL(h_send("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", corr_ok), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "create", 1, HARNESS_WAIT_MS));
	CU_ASSERT_EQUAL(FT->reconnect(H_FT), 0);
	CU_ASSERT_FATAL(FT->wait_online(H_FT, HARNESS_WAIT_MS));
	wait_only_held_job();
	FB->release(H_FAKE, "create");
	CU_ASSERT_EQUAL(h_wait_reply(corr_ok, &r), 200);
	id = r.value ? json_object_get_string(r.value) : "";
	snprintf(feature, sizeof(feature), "/features/Container:%s", id);
	h_settle();
	CU_ASSERT_TRUE(h_find_event(0, "modify", feature, "CREATED") >= 0);
	ids = announced_file();
	CU_ASSERT_TRUE(announced_has(ids, id));
	json_object_put(ids);
	h_reply_release(&r);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_resync_after_restart(void)
{
	struct harness_options keep_records = { .keep_state = true, .keep_records = true };
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], path[512], *nb;
	json_object *ids;
	struct container *c;

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"stays\",\"start\":true}",
				       true, a), 200);
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"goes\"}", true, b), 200);
	CU_ASSERT_EQUAL(h_command(h_feature(a), "update",
				  "{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":4}}",
				  NULL), 204);
	h_settle();
	/* B is removed while berthd is down (its record went with it) */
	nb = h_native(b);
	FB->set_events(H_FAKE, false);
	CU_ASSERT_EQUAL(FB->vanish(H_FAKE, nb), 0);
	free(nb);
	CU_ASSERT_EQUAL(harness_stop(), 0);
	snprintf(path, sizeof(path), "%s/containers/%s.json", harness_state_dir(), b);
	CU_ASSERT_EQUAL(unlink(path), 0);

	CU_ASSERT_FATAL(harness_start(&keep_records));
	/* the start-up resync: ContainerFactory, A in full, B deleted */
	CU_ASSERT_TRUE(h_find_event(0, "modify", "/features/ContainerFactory", NULL) >= 0);
	CU_ASSERT_TRUE(h_find_event(0, "modify", h_feature(a), "RUNNING") >= 0);
	CU_ASSERT_TRUE(h_find_event(0, "delete", h_feature(b), NULL) >= 0);
	ids = announced_file();
	CU_ASSERT_TRUE(announced_has(ids, a));
	CU_ASSERT_FALSE(announced_has(ids, b));
	json_object_put(ids);
	/* A came back as it was */
	c = containers_get(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	H_ASSERT_STR(c->name, "stays");
	CU_ASSERT_EQUAL(c->state.status, CS_RUNNING);
	CU_ASSERT_TRUE(c->started_before);
	CU_ASSERT_EQUAL(h_int(c->config, "restartPolicy/maxRetryCount", 0), 4);
	container_unref(c);
	CU_ASSERT_EQUAL(containers_count(), 1);
	if (containers_count() != 1)
		fprintf(stderr, "\n%zu containers\n", containers_count());
	CU_ASSERT_EQUAL(h_command(h_feature(a), "stop", NULL, NULL), 204);
	/* and the name of B is free */
	CU_ASSERT_EQUAL(h_command(h_feature(a), "rename", "\"goes\"", NULL), 204);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* A record whose backend is no longer configured is left alone, not lost. */
static void test_record_of_unconfigured_backend(void)
{
	struct harness_options keep = { .keep_state = true };
	struct harness_options fake_only = {
		.keep_state = true,
		.backends = "{ module = \"fake_backend\"; name = \"" H_FAKE "\"; keep = true; }",
	};
	char id[CONTAINER_ID_LEN + 1];

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"backend\":\"mini\"}", true, id), 200);
	CU_ASSERT_EQUAL(harness_stop(), 0);
	CU_ASSERT_FATAL(harness_start(&fake_only));
	CU_ASSERT_EQUAL(h_status(id), -1);
	CU_ASSERT_TRUE(h_record_exists(id));
	CU_ASSERT_EQUAL(harness_stop(), 0);
	CU_ASSERT_FATAL(harness_start(&keep));
	CU_ASSERT_EQUAL(h_status(id), CS_CREATED);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "records round-trip", test_record_round_trip },
		{ "bad records", test_bad_records },
		{ "atomic write: old or new, no temp file", test_atomic_write },
		{ "load cleans temp files, skips bad records", test_load_cleans_and_skips },
		{ "announced list", test_announced_list },
		{ "time format", test_time_format },
		{ "status JSON", test_status_json },
		{ "container table", test_table },
		{ "resync on reconnect", test_resync },
		{ "resync sends a delete the twin missed", test_resync_sends_missed_delete },
		{ "resync while commands change containers", test_resync_while_updating },
		{ "resync during a removal", test_resync_during_remove },
		{ "resync during a create that fails", test_resync_during_create },
		{ "resync after a restart: announced but gone", test_resync_after_restart },
		{ "record of a backend no longer configured", test_record_of_unconfigured_backend },
	};

	return h_main("store", tests, N(tests));
}
