/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/loader.c and core/registry.c. The test modules (tests/unit/modules/)
 * are copied from the build tree into a private directory under /tmp whose modes and
 * owners the test controls; each broken module must be refused with its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "loader.h"
#include "modules/stub_ops.h"
#include "registry.h"
#include "unit_main.h"

#define FOREIGN_UID 12345

static char root[64];       /* /tmp/berth-test-loader-XXXXXX, 0755 */
static char mods[128];      /* <root>/mods: a copy of every test module, 0644 */
static char log_text[8192]; /* what modules logged through the host */
static berth_host host;

static const char *const module_names[] = {
	"good_backend",   "good_transport", "bad_missing_init", "bad_missing_version",
	"bad_version",    "bad_init_fails", "bad_driver_table", "bad_driver_size",
	"bad_undefined",  "dup_name",
};

/* ---- helpers -------------------------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
test_log(int level, const char *module, const char *fmt, ...)
{
	size_t used = strlen(log_text);
	va_list ap;
	int r;

	r = snprintf(log_text + used, sizeof(log_text) - used, "%s: ", module ? module : "core");
	if (r < 0 || (size_t)r >= sizeof(log_text) - used)
		return;
	used += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(log_text + used, sizeof(log_text) - used, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(log_text) - used)
		return;
	used += (size_t)r;
	snprintf(log_text + used, sizeof(log_text) - used, "\n");
}

static int count(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

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
	if (close(out) < 0 || fchmodat(AT_FDCWD, dst, mode, 0) < 0)
		r = -1;
	return r;
}

/* <root>/<name>, created with `mode` exactly. Returns a static buffer. */
static const char *make_dir(const char *name, mode_t mode)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return NULL;
	if (chmod(path, mode) < 0)
		return NULL;
	return path;
}

/* Copies test module `from` as <dir>/<as>.so with `mode`. */
static int install(const char *dir, const char *from, const char *as, mode_t mode)
{
	char src[512], dst[512];

	snprintf(src, sizeof(src), "%s/%s.so", TEST_MODULES_DIR, from);
	snprintf(dst, sizeof(dst), "%s/%s.so", dir, as);
	return copy_file(src, dst, mode);
}

static bool message_is(const berth_error *err, const char *expected)
{
	if (strcmp(err->message, expected) == 0)
		return true;
	fprintf(stderr, "\nmessage:  %s\nexpected: %s\n", err->message, expected);
	return false;
}

static bool message_has(const berth_error *err, const char *prefix, const char *needle1,
			const char *needle2)
{
	if (strncmp(err->message, prefix, strlen(prefix)) == 0 &&
	    (!needle1 || strstr(err->message, needle1)) && (!needle2 || strstr(err->message, needle2)))
		return true;
	fprintf(stderr, "\nmessage:  %s\nexpected: %s ... %s ... %s\n", err->message, prefix,
		needle1 ? needle1 : "", needle2 ? needle2 : "");
	return false;
}

/* Loads `name` from `dir`, which must fail with `code`; returns the error. */
static berth_error load_fails(const char *dir, const char *name, int code)
{
	struct berth_module *m = (void *)1;
	berth_error err;

	berth_error_clear(&err);
	CU_ASSERT_EQUAL(loader_load(dir, name, &host, &m, &err), -1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(err.code, code);
	if (name && *name)
		CU_ASSERT_PTR_NULL(loader_find(name));
	return err;
}

static char *so_path(const char *dir, const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s.so", dir, name);
	return buf;
}

static int count_cb_b(void *userdata, const struct registry_backend_driver *d)
{
	(*(int *)userdata)++;
	return 0;
}

static int count_cb_t(void *userdata, const struct registry_transport_driver *d)
{
	(*(int *)userdata)++;
	return 0;
}

static int n_drivers(void)
{
	int n = 0;

	registry_each_backend(count_cb_b, &n);
	registry_each_transport(count_cb_t, &n);
	return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int suite_init(void)
{
	umask(022);
	snprintf(root, sizeof(root), "/tmp/berth-test-loader-XXXXXX");
	if (!mkdtemp(root) || chmod(root, 0755) < 0)
		return -1;
	snprintf(mods, sizeof(mods), "%s/mods", root);
	if (!make_dir("mods", 0755))
		return -1;
	for (size_t i = 0; i < sizeof(module_names) / sizeof(module_names[0]); i++)
		if (install(mods, module_names[i], module_names[i], 0644) < 0) {
			fprintf(stderr, "cannot copy %s/%s.so: %s\n", TEST_MODULES_DIR,
				module_names[i], strerror(errno));
			return -1;
		}

	host.size = sizeof(host);
	host.log = test_log;
	host.register_backend = registry_register_backend;
	host.register_transport = registry_register_transport;
	host.setting_string = config_setting_string;
	host.setting_int = config_setting_int;
	host.setting_bool = config_setting_bool;
	host.setting_float = config_setting_float;
	host.setting_string_at = config_setting_string_at;
	host.setting_invalid = config_setting_invalid;
	host.version = "test";
	return 0;
}

static int suite_cleanup(void)
{
	loader_unload_all();
	registry_clear();
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- loading good modules ------------------------------------------------------------- */

static void test_good_modules(void)
{
	const struct registry_backend_driver *rb;
	const struct registry_transport_driver *rt;
	struct berth_module *b = NULL, *t = NULL, *again = NULL;
	berth_error err;

	log_text[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(loader_load(mods, "good_backend", &host, &b, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(b->name, "good_backend");
	CU_ASSERT_STRING_EQUAL(b->path, so_path(mods, "good_backend"));
	CU_ASSERT_EQUAL(b->abi_version, BERTH_ABI_VERSION_1);
	CU_ASSERT_EQUAL(b->host.abi_version, BERTH_ABI_VERSION_1);
	CU_ASSERT_PTR_EQUAL(b->host.register_backend, registry_register_backend);
	CU_ASSERT_PTR_EQUAL(b->host.log, test_log);
	CU_ASSERT_PTR_NOT_NULL(b->dl);
	CU_ASSERT_PTR_NOT_NULL(b->cleanup);
	CU_ASSERT_TRUE(b->initialised);
	CU_ASSERT_STRING_EQUAL(log_text, "good_backend: init abi 1\n");

	rb = registry_find_backend("good_backend");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	CU_ASSERT_PTR_EQUAL(rb->module, b);
	CU_ASSERT_STRING_EQUAL(rb->drv->name, "good_backend");
	CU_ASSERT_STRING_EQUAL(rb->drv->options[0].key, "socket");
	CU_ASSERT_PTR_NULL(registry_find_transport("good_backend")); /* kinds are separate */

	CU_ASSERT_EQUAL_FATAL(loader_load(mods, "good_transport", &host, &t, &err), 0);
	rt = registry_find_transport("good_transport");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_PTR_EQUAL(rt->module, t);
	CU_ASSERT_EQUAL(n_drivers(), 2);

	CU_ASSERT_PTR_EQUAL(loader_find("good_backend"), b);
	CU_ASSERT_PTR_EQUAL(loader_find("good_transport"), t);
	CU_ASSERT_PTR_NULL(loader_find("nope"));

	/* the same name again: the loaded module, init does not run twice */
	CU_ASSERT_EQUAL(loader_load(mods, "good_backend", &host, &again, &err), 0);
	CU_ASSERT_PTR_EQUAL(again, b);
	CU_ASSERT_EQUAL(count(log_text, "good_backend: init"), 1);
}

static void test_unload_order(void)
{
	struct berth_module *b = NULL;
	berth_error err;

	log_text[0] = '\0';
	loader_unload_all();
	/* cleanups in reverse load order; drivers forgotten; records gone */
	CU_ASSERT_STRING_EQUAL(log_text, "good_transport: cleanup\ngood_backend: cleanup\n");
	CU_ASSERT_PTR_NULL(registry_find_backend("good_backend"));
	CU_ASSERT_PTR_NULL(registry_find_transport("good_transport"));
	CU_ASSERT_PTR_NULL(loader_find("good_backend"));
	CU_ASSERT_EQUAL(n_drivers(), 0);
	loader_unload_all(); /* nothing left: a no-op */

	/* loadable again afterwards; stays loaded for the duplicate-name test */
	CU_ASSERT_EQUAL_FATAL(loader_load(mods, "good_backend", &host, &b, &err), 0);
	CU_ASSERT_PTR_EQUAL(registry_find_backend("good_backend")->module, b);
}

/* ---- broken modules ------------------------------------------------------------------- */

static void test_missing_entry_points(void)
{
	char expected[700];
	berth_error err;

	err = load_fails(mods, "bad_missing_init", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected), "%s: refused: missing entry point berth_module_init",
		 so_path(mods, "bad_missing_init"));
	CU_ASSERT_TRUE(message_is(&err, expected));

	err = load_fails(mods, "bad_missing_version", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: refused: missing entry point berth_module_version",
		 so_path(mods, "bad_missing_version"));
	CU_ASSERT_TRUE(message_is(&err, expected));
	CU_ASSERT_PTR_NULL(registry_find_backend("missing_version")); /* init never ran */
}

static void test_bad_version(void)
{
	char expected[700];
	berth_error err;

	err = load_fails(mods, "bad_version", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: refused: module supports none of ABI versions 1 (it answered 7)",
		 so_path(mods, "bad_version"));
	CU_ASSERT_TRUE(message_is(&err, expected));
	CU_ASSERT_PTR_NULL(registry_find_backend("bad_version"));
}

static void test_init_fails(void)
{
	char expected[700];
	berth_error err;
	int before = n_drivers();

	err = load_fails(mods, "bad_init_fails", BERTH_E_UNAVAILABLE);
	snprintf(expected, sizeof(expected), "%s: init failed: cannot reach the frobnicator",
		 so_path(mods, "bad_init_fails"));
	CU_ASSERT_TRUE(message_is(&err, expected));
	/* it registered a backend and a transport before failing: both forgotten */
	CU_ASSERT_PTR_NULL(registry_find_backend("init_fails"));
	CU_ASSERT_PTR_NULL(registry_find_transport("init_fails"));
	CU_ASSERT_EQUAL(n_drivers(), before);
	/* its cleanup (which aborts) is never called, not even by loader_unload_all() */
}

static void test_bad_driver_tables(void)
{
	char expected[700];
	berth_error err;

	err = load_fails(mods, "bad_driver_table", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: init failed: driver bad_table: missing required op 'inspect'",
		 so_path(mods, "bad_driver_table"));
	CU_ASSERT_TRUE(message_is(&err, expected));

	err = load_fails(mods, "bad_driver_size", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: init failed: backend driver small_table: table too small (size %zu; this core "
		 "needs at least %zu",
		 so_path(mods, "bad_driver_size"), offsetof(berth_backend_driver, list),
		 (size_t)BERTH_BACKEND_DRIVER_MIN_SIZE);
	CU_ASSERT_TRUE(message_has(&err, expected, NULL, NULL));
	CU_ASSERT_PTR_NULL(registry_find_backend("bad_table"));
	CU_ASSERT_PTR_NULL(registry_find_backend("small_table"));
}

static void test_dup_name(void)
{
	const struct registry_backend_driver *rb;
	char expected[1200];
	berth_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(loader_find("good_backend"));
	err = load_fails(mods, "dup_name", BERTH_E_CONFLICT);
	snprintf(expected, sizeof(expected), "%s: init failed: driver good_backend: a backend of "
					     "that name is already registered by %s",
		 so_path(mods, "dup_name"), loader_find("good_backend")->path);
	CU_ASSERT_TRUE(message_is(&err, expected));
	rb = registry_find_backend("good_backend");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	CU_ASSERT_PTR_EQUAL(rb->module, loader_find("good_backend"));
}

static void test_dlopen_failures(void)
{
	char prefix[700], garbage[512];
	berth_error err;
	FILE *f;

	err = load_fails(mods, "bad_undefined", BERTH_E_RUNTIME);
	snprintf(prefix, sizeof(prefix), "%s: cannot load: ", so_path(mods, "bad_undefined"));
	CU_ASSERT_TRUE(message_has(&err, prefix, "undefined symbol: berth_test_no_such_function",
				   "(check its dependencies with ldd)"));
	/* dlerror()'s own copy of the path is not repeated */
	CU_ASSERT_EQUAL(count(err.message, so_path(mods, "bad_undefined")), 1);

	snprintf(garbage, sizeof(garbage), "%s", so_path(mods, "garbage"));
	f = fopen(garbage, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("this is not an ELF object\n", f);
	fclose(f);
	chmod(garbage, 0644);
	err = load_fails(mods, "garbage", BERTH_E_RUNTIME);
	snprintf(prefix, sizeof(prefix), "%s: cannot load: ", garbage);
	CU_ASSERT_TRUE(message_has(&err, prefix, "(check its dependencies with ldd)", NULL));
}

/* ---- file checks ---------------------------------------------------------------------- */

static void test_file_modes(void)
{
	char expected[1400], dir[256];
	berth_error err;

	CU_ASSERT_EQUAL_FATAL(install(mods, "good_transport", "world_writable", 0666), 0);
	err = load_fails(mods, "world_writable", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected), "%s: refused: is world-writable (mode 0666)",
		 so_path(mods, "world_writable"));
	CU_ASSERT_TRUE(message_is(&err, expected));

	CU_ASSERT_EQUAL_FATAL(install(mods, "good_transport", "group_writable", 0664), 0);
	err = load_fails(mods, "group_writable", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected), "%s: refused: is group-writable (mode 0664)",
		 so_path(mods, "group_writable"));
	CU_ASSERT_TRUE(message_is(&err, expected));

	/* a group-writable directory: the file itself is fine */
	snprintf(dir, sizeof(dir), "%s", make_dir("gw", 0775));
	CU_ASSERT_EQUAL_FATAL(install(dir, "good_transport", "in_gw_dir", 0644), 0);
	err = load_fails(dir, "in_gw_dir", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: refused: directory %s is group-writable (mode 0775)",
		 so_path(dir, "in_gw_dir"), dir);
	CU_ASSERT_TRUE(message_is(&err, expected));

	/* a world-writable directory, sticky bit or not (/tmp itself) */
	snprintf(dir, sizeof(dir), "%s", make_dir("ww", 01777));
	CU_ASSERT_EQUAL_FATAL(install(dir, "good_transport", "in_ww_dir", 0644), 0);
	err = load_fails(dir, "in_ww_dir", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: refused: directory %s is world-writable (mode 1777)",
		 so_path(dir, "in_ww_dir"), dir);
	CU_ASSERT_TRUE(message_is(&err, expected));
	CU_ASSERT_PTR_NULL(registry_find_transport("good_transport")); /* none of them ran */
}

static void test_symlink_and_kinds(void)
{
	char expected[700], target[512];
	berth_error err;

	snprintf(target, sizeof(target), "%s", so_path(mods, "good_transport"));
	CU_ASSERT_EQUAL_FATAL(symlink(target, so_path(mods, "link")), 0);
	err = load_fails(mods, "link", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected), "%s: refused: is a symbolic link", so_path(mods, "link"));
	CU_ASSERT_TRUE(message_has(&err, expected, NULL, NULL));

	CU_ASSERT_EQUAL_FATAL(mkdir(so_path(mods, "a_directory"), 0755), 0);
	err = load_fails(mods, "a_directory", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected), "%s: refused: not a regular file",
		 so_path(mods, "a_directory"));
	CU_ASSERT_TRUE(message_is(&err, expected));
}

static void test_missing_and_bad_names(void)
{
	static const char *const bad[] = { "../x", "", "Docker", "a/b", "x.so", "a b",
					   "../../../../tmp/evil" };
	char expected[700];
	berth_error err;

	err = load_fails(mods, "no_such_module", BERTH_E_NOT_FOUND);
	snprintf(expected, sizeof(expected), "%s: no such module file",
		 so_path(mods, "no_such_module"));
	CU_ASSERT_TRUE(message_is(&err, expected));

	err = load_fails("/nonexistent-berth-dir", "docker", BERTH_E_NOT_FOUND);
	CU_ASSERT_TRUE(message_is(&err, "/nonexistent-berth-dir/docker.so: no such module file"));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = load_fails(mods, bad[i], BERTH_E_INVALID);
		snprintf(expected, sizeof(expected),
			 "module \"%s\": refused: invalid name (expected 1 to 64 of [a-z0-9_-])",
			 bad[i]);
		CU_ASSERT_TRUE(message_is(&err, expected));
	}
	err = load_fails(mods, NULL, BERTH_E_INVALID);
	CU_ASSERT_TRUE(message_has(&err, "module \"\": refused: invalid name", NULL, NULL));
}

static void test_owner(void)
{
	char expected[1400], dir[256], path[512];
	berth_error err;

	if (geteuid() != 0) {
		printf("\n  (owner checks skipped: they need root to chown a copy to uid %d)\n",
		       FOREIGN_UID);
		CU_PASS("skipped: not root");
		return;
	}
	/* a file owned by someone who is neither root nor us */
	CU_ASSERT_EQUAL_FATAL(install(mods, "good_transport", "foreign", 0644), 0);
	snprintf(path, sizeof(path), "%s", so_path(mods, "foreign"));
	CU_ASSERT_EQUAL_FATAL(chown(path, FOREIGN_UID, FOREIGN_UID), 0);
	err = load_fails(mods, "foreign", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected), "%s: refused: owned by uid %d (expected root)", path,
		 FOREIGN_UID);
	CU_ASSERT_TRUE(message_is(&err, expected));

	/* ... but accepted when that uid is the daemon's */
	berth_error_clear(&err);
	CU_ASSERT_EQUAL(loader_check_file(path, FOREIGN_UID, &err), 0);

	/* a directory owned by someone else */
	snprintf(dir, sizeof(dir), "%s", make_dir("foreign_dir", 0755));
	CU_ASSERT_EQUAL_FATAL(install(dir, "good_transport", "in_foreign_dir", 0644), 0);
	CU_ASSERT_EQUAL_FATAL(chown(dir, FOREIGN_UID, FOREIGN_UID), 0);
	err = load_fails(dir, "in_foreign_dir", BERTH_E_INVALID);
	snprintf(expected, sizeof(expected),
		 "%s: refused: directory %s is owned by uid %d (expected root)",
		 so_path(dir, "in_foreign_dir"), dir, FOREIGN_UID);
	CU_ASSERT_TRUE(message_is(&err, expected));
	CU_ASSERT_EQUAL(loader_check_file(so_path(dir, "in_foreign_dir"), FOREIGN_UID, &err), 0);
	/* the message names both acceptable owners when the daemon is not root */
	CU_ASSERT_EQUAL(loader_check_file(so_path(dir, "in_foreign_dir"), 777, &err), -1);
	CU_ASSERT_TRUE(message_has(&err, so_path(dir, "in_foreign_dir"),
				   "is owned by uid 12345 (expected root or uid 777)", NULL));
}

static void test_check_file_good(void)
{
	berth_error err;

	berth_error_clear(&err);
	CU_ASSERT_EQUAL(loader_check_file(so_path(mods, "good_backend"), geteuid(), &err), 0);
	CU_ASSERT_EQUAL(err.code, BERTH_OK);
	CU_ASSERT_EQUAL(loader_n_abi_versions, 1);
	CU_ASSERT_EQUAL(loader_abi_versions[0], BERTH_ABI_VERSION_1);
}

/* ---- the registry on its own ---------------------------------------------------------- */

static struct berth_module fake = { .name = "fake", .path = "/fake/fake.so" };
static struct berth_module fake2 = { .name = "fake2", .path = "/fake/fake2.so" };

static const berth_backend_driver backend_template = STUB_BACKEND("t_ok");
static const berth_transport_driver transport_template = STUB_TRANSPORT("t_ok");

static void test_registry_backends(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} required[] = {
#define OP(f) { #f, offsetof(berth_backend_driver, f) }
		OP(open), OP(close), OP(capabilities), OP(create), OP(start),
		OP(kill), OP(remove), OP(inspect), OP(list),
#undef OP
	};
	static const berth_option core_key[] = { { "default", BERTH_OPT_BOOL, false, NULL }, { 0 } };
	static const berth_option bad_type[] = { { "x", 9, false, NULL }, { 0 } };
	static const berth_option twice[] = { { "x", BERTH_OPT_INT, false, NULL },
					      { "x", BERTH_OPT_STRING, false, NULL },
					      { 0 } };
	static const berth_option empty_key[] = { { "", BERTH_OPT_INT, false, NULL }, { 0 } };
	berth_backend_driver ops[sizeof(required) / sizeof(required[0])];
	berth_backend_driver small = backend_template, big_table = backend_template;
	berth_backend_driver noname = backend_template, badname = backend_template;
	berth_backend_driver opt1 = backend_template, opt2 = backend_template;
	berth_backend_driver opt3 = backend_template, opt4 = backend_template;
	char expected[300];
	berth_error err;

	CU_ASSERT_EQUAL(registry_register_backend(&fake, &backend_template, &err), 0);
	CU_ASSERT_PTR_EQUAL(registry_find_backend("t_ok")->module, &fake);
	CU_ASSERT_PTR_EQUAL(registry_find_backend("t_ok")->drv, &backend_template);

	CU_ASSERT_EQUAL(registry_register_backend(&fake2, &backend_template, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_CONFLICT);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake2.so: driver t_ok: a backend of that name is "
					"already registered by /fake/fake.so"));

	CU_ASSERT_EQUAL(registry_register_backend(&fake, NULL, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: register_backend called without a driver "
					"table"));
	CU_ASSERT_EQUAL(registry_register_backend(NULL, &backend_template, &err), -1);

	small.name = "t_small";
	small.size = (uint32_t)BERTH_BACKEND_DRIVER_MIN_SIZE - 1;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &small, &err), -1);
	CU_ASSERT_TRUE(message_has(&err, "/fake/fake.so: backend driver t_small: table too small",
				   NULL, NULL));
	small.size = 4; /* not even the name: never read */
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &small, &err), -1);
	CU_ASSERT_TRUE(message_has(&err, "/fake/fake.so: backend driver (unnamed): table too small "
					 "(size 4;",
				   NULL, NULL));
	/* exactly the minimum, and a table from a newer SDK, are fine */
	small.size = (uint32_t)BERTH_BACKEND_DRIVER_MIN_SIZE;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &small, &err), 0);
	big_table.name = "t_big";
	big_table.size = sizeof(berth_backend_driver) + 64;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &big_table, &err), 0);

	noname.name = NULL;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &noname, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: backend driver without a name"));
	noname.name = "";
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &noname, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: backend driver without a name"));
	badname.name = "Bad Name";
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &badname, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: backend driver \"Bad Name\": invalid name "
					"(expected 1 to 64 of [a-z0-9_-])"));

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		ops[i] = backend_template;
		ops[i].name = "t_op";
		memset((char *)&ops[i] + required[i].offset, 0, sizeof(void *));
		CU_ASSERT_EQUAL(registry_register_backend(&fake, &ops[i], &err), -1);
		snprintf(expected, sizeof(expected),
			 "/fake/fake.so: driver t_op: missing required op '%s'", required[i].name);
		CU_ASSERT_TRUE(message_is(&err, expected));
	}

	opt1.name = "t_opt1";
	opt1.options = core_key;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &opt1, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: driver t_opt1: option 'default' is one of "
					"the core's keys"));
	opt2.name = "t_opt2";
	opt2.options = bad_type;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &opt2, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: driver t_opt2: option 'x' has unknown "
					"type 9"));
	opt3.name = "t_opt3";
	opt3.options = twice;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &opt3, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: driver t_opt3: option 'x' is listed twice"));
	opt4.name = "t_opt4";
	opt4.options = empty_key;
	CU_ASSERT_EQUAL(registry_register_backend(&fake, &opt4, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: driver t_opt4: option with an empty key"));

	CU_ASSERT_PTR_NULL(registry_find_backend("t_op"));
	CU_ASSERT_PTR_NULL(registry_find_backend(NULL));
	registry_forget_module(&fake);
	CU_ASSERT_PTR_NULL(registry_find_backend("t_ok"));
	CU_ASSERT_PTR_NULL(registry_find_backend("t_small"));
	CU_ASSERT_PTR_NULL(registry_find_backend("t_big"));
	/* the loaded good_backend is untouched */
	CU_ASSERT_PTR_NOT_NULL(registry_find_backend("good_backend"));
}

static void test_registry_transports(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} required[] = {
#define OP(f) { #f, offsetof(berth_transport_driver, f) }
		OP(open), OP(capabilities), OP(start), OP(send_reply), OP(send_event), OP(close),
#undef OP
	};
	static const berth_option with_default[] = { { "default", BERTH_OPT_BOOL, false, NULL },
						     { 0 } };
	static const berth_option with_name[] = { { "name", BERTH_OPT_STRING, false, NULL }, { 0 } };
	berth_transport_driver ops[sizeof(required) / sizeof(required[0])];
	berth_transport_driver t2 = transport_template, t3 = transport_template;
	char expected[300];
	berth_error err;
	int before = n_drivers();

	CU_ASSERT_EQUAL(registry_register_transport(&fake, &transport_template, &err), 0);
	CU_ASSERT_PTR_EQUAL(registry_find_transport("t_ok")->module, &fake);
	CU_ASSERT_EQUAL(registry_register_transport(&fake2, &transport_template, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_CONFLICT);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake2.so: driver t_ok: a transport of that name is "
					"already registered by /fake/fake.so"));
	/* a backend may have the same name as a transport */
	CU_ASSERT_EQUAL(registry_register_backend(&fake2, &backend_template, &err), 0);

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		ops[i] = transport_template;
		ops[i].name = "t_op";
		memset((char *)&ops[i] + required[i].offset, 0, sizeof(void *));
		CU_ASSERT_EQUAL(registry_register_transport(&fake, &ops[i], &err), -1);
		snprintf(expected, sizeof(expected),
			 "/fake/fake.so: driver t_op: missing required op '%s'", required[i].name);
		CU_ASSERT_TRUE(message_is(&err, expected));
	}
	/* stop is optional */
	t2.name = "t_nostop";
	t2.stop = NULL;
	/* `default` is not a core key of transports, `name` is */
	t2.options = with_default;
	CU_ASSERT_EQUAL(registry_register_transport(&fake, &t2, &err), 0);
	t3.name = "t_name";
	t3.options = with_name;
	CU_ASSERT_EQUAL(registry_register_transport(&fake, &t3, &err), -1);
	CU_ASSERT_TRUE(message_is(&err, "/fake/fake.so: driver t_name: option 'name' is one of the "
					"core's keys"));
	t3.size = (uint32_t)BERTH_TRANSPORT_DRIVER_MIN_SIZE - 1;
	CU_ASSERT_EQUAL(registry_register_transport(&fake, &t3, &err), -1);
	CU_ASSERT_TRUE(message_has(&err, "/fake/fake.so: transport driver t_name: table too small",
				   NULL, NULL));

	CU_ASSERT_EQUAL(n_drivers(), before + 3);
	registry_forget_module(&fake);
	CU_ASSERT_PTR_NULL(registry_find_transport("t_ok"));
	CU_ASSERT_PTR_NOT_NULL(registry_find_backend("t_ok")); /* fake2's */
	registry_forget_module(&fake2);
	CU_ASSERT_EQUAL(n_drivers(), before);
}

static void test_unload_after_failures(void)
{
	log_text[0] = '\0';
	loader_unload_all();
	/* only the module that loaded is cleaned up; the failed ones never were records */
	CU_ASSERT_STRING_EQUAL(log_text, "good_backend: cleanup\n");
	CU_ASSERT_EQUAL(n_drivers(), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "good modules load and register", test_good_modules },
		{ "unload: reverse order, registry cleared", test_unload_order },
		{ "missing entry points", test_missing_entry_points },
		{ "unsupported ABI version", test_bad_version },
		{ "init fails: its drivers forgotten", test_init_fails },
		{ "bad driver tables", test_bad_driver_tables },
		{ "duplicate driver name", test_dup_name },
		{ "dlopen failures", test_dlopen_failures },
		{ "writable files and directories", test_file_modes },
		{ "symlink and non-regular file", test_symlink_and_kinds },
		{ "missing file and bad names", test_missing_and_bad_names },
		{ "owners", test_owner },
		{ "a good file passes the checks", test_check_file_good },
		{ "registry: backend tables", test_registry_backends },
		{ "registry: transport tables", test_registry_transports },
		{ "unload after failures", test_unload_after_failures },
	};
	int failures;

	failures = unit_run("loader", suite_init, suite_cleanup, tests, N(tests));
	return failures ? 1 : 0;
}
