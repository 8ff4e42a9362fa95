/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nspawn backend's parts that need no systemd: machine names, unit names, the
 * mapping of systemd's errors, the records (atomic writes, round trip, listing) and the
 * root file systems from local images (a directory tree, a tar, references, refusals,
 * removal). Everything happens in a temporary directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <CUnit/Basic.h>

#include "nspawn.h"
#include "unit_main.h"

static char tmp[256];
static struct nspawn n;

static void path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", tmp, rel);
}

static bool exists(const char *rel)
{
	char p[512];

	path_of(p, sizeof(p), rel);
	return access(p, F_OK) == 0;
}

/* (no CUnit assertions: also used by the suite's setup) */
static int put_file(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	path_of(p, sizeof(p), rel);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void write_file(const char *rel, const char *text)
{
	CU_ASSERT_EQUAL(put_file(rel, text), 0);
}

static int mkdir_rel(const char *rel)
{
	char p[512];

	path_of(p, sizeof(p), rel);
	return mkdir(p, 0755);
}

static int setup(void)
{
	char p[512];

	snprintf(tmp, sizeof(tmp), "/tmp/berth-unit-nspawn-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	memset(&n, 0, sizeof(n));
	n.timeout_s = 5;
	path_of(p, sizeof(p), "machines");
	n.machines_dir = strdup(p);
	path_of(p, sizeof(p), "images");
	n.images_dir = strdup(p);
	path_of(p, sizeof(p), "state");
	n.state_dir = strdup(p);
	if (!n.machines_dir || !n.images_dir || !n.state_dir || mkdir(n.images_dir, 0755) < 0)
		return -1;
	/* an image tree: a file, a symlink, a hard link, an empty directory */
	if (mkdir_rel("images/tree") < 0 || mkdir_rel("images/tree/bin") < 0 ||
	    mkdir_rel("images/tree/empty") < 0 ||
	    put_file("images/tree/bin/tool", "#!/bin/sh\necho tool\n") < 0)
		return -1;
	path_of(p, sizeof(p), "images/tree/bin/tool");
	if (chmod(p, 0751) < 0)
		return -1;
	{
		char l[512];

		path_of(l, sizeof(l), "images/tree/bin/link");
		if (symlink("tool", l) < 0)
			return -1;
		path_of(l, sizeof(l), "images/tree/bin/hard");
		if (link(p, l) < 0)
			return -1;
	}
	return 0;
}

static int teardown(void)
{
	char *argv[] = { "rm", "-rf", tmp, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(n.machines_dir);
	free(n.images_dir);
	free(n.state_dir);
	return 0;
}

/* images/tarimg.tar with ./etc/hostname, ./bin/x -> ../etc/hostname and an entry that
 * tries to leave the tree */
static void make_tar(void)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char p[512];

	path_of(p, sizeof(p), "images/tarimg.tar");
	archive_write_set_format_pax_restricted(a);
	CU_ASSERT_EQUAL_FATAL(archive_write_open_filename(a, p), ARCHIVE_OK);
	archive_entry_set_pathname(e, "./etc/");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_write_header(a, e);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "./etc/hostname");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 3);
	archive_write_header(a, e);
	archive_write_data(a, "bx\n", 3);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "./bin/x");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	archive_entry_set_symlink(e, "../etc/hostname");
	archive_write_header(a, e);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static void test_names(void)
{
	char *s;

	CU_ASSERT_TRUE(nsp_name_valid("web"));
	CU_ASSERT_TRUE(nsp_name_valid("a-b.c-d"));
	CU_ASSERT_TRUE(nsp_name_valid("3f2a0000-0000-4000-8000-000000000000"));
	CU_ASSERT_FALSE(nsp_name_valid(""));
	CU_ASSERT_FALSE(nsp_name_valid("bad_name"));
	CU_ASSERT_FALSE(nsp_name_valid(".hidden"));
	CU_ASSERT_FALSE(nsp_name_valid("a..b"));
	CU_ASSERT_FALSE(nsp_name_valid("trailing."));
	CU_ASSERT_FALSE(nsp_name_valid("a/b"));
	CU_ASSERT_FALSE(nsp_name_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
	s = nsp_unit_name("web");
	CU_ASSERT_STRING_EQUAL(s, "berth-web.service");
	free(s);
	s = nsp_name_of_unit("berth-web.service");
	CU_ASSERT_STRING_EQUAL(s, "web");
	free(s);
	CU_ASSERT_PTR_NULL(nsp_name_of_unit("berth-.service"));
	CU_ASSERT_PTR_NULL(nsp_name_of_unit("other-web.service"));
	CU_ASSERT_PTR_NULL(nsp_name_of_unit("berth-web.scope"));
	CU_ASSERT_PTR_NULL(nsp_name_of_unit("berth-bad_name.service"));
}

static void test_errors(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	berth_error err;

	sd_bus_error_set(&e, "org.freedesktop.systemd1.NoSuchUnit", "Unit x.service not loaded.");
	nsp_bus_error(&err, -ENOENT, &e, "x");
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not loaded"));
	sd_bus_error_free(&e);
	sd_bus_error_set(&e, "org.freedesktop.machine1.NoSuchMachine", "No machine 'x' known");
	nsp_bus_error(&err, -ENXIO, &e, "x");
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	sd_bus_error_free(&e);
	sd_bus_error_set(&e, "org.freedesktop.systemd1.UnitExists", "Unit x.service already exists.");
	nsp_bus_error(&err, -EEXIST, &e, "x");
	CU_ASSERT_EQUAL(err.code, BERTH_E_CONFLICT);
	sd_bus_error_free(&e);
	sd_bus_error_set(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, "The name is not activatable");
	nsp_bus_error(&err, -EHOSTDOWN, &e, "x");
	CU_ASSERT_EQUAL(err.code, BERTH_E_UNAVAILABLE);
	sd_bus_error_free(&e);
	sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED, "Access denied");
	nsp_bus_error(&err, -EACCES, &e, "starting");
	CU_ASSERT_EQUAL(err.code, BERTH_E_RUNTIME);
	CU_ASSERT_STRING_EQUAL(err.message, "starting: Access denied");
	sd_bus_error_free(&e);
	nsp_bus_error(&err, -ECONNRESET, NULL, "x");
	CU_ASSERT_EQUAL(err.code, BERTH_E_UNAVAILABLE);
	nsp_bus_error(&err, -ETIMEDOUT, NULL, "x");
	CU_ASSERT_EQUAL(err.code, BERTH_E_TIMEOUT);
}

static int count_cb(void *ud, const char *name)
{
	char *seen = ud;

	strcat(seen, name);
	strcat(seen, ";");
	return 0;
}

static void test_records(void)
{
	static const char *const cmd[] = { "/bin/sh", "-c", "echo \"hi\"", NULL };
	static const char *const env[] = { "A=1", "B=two words", NULL };
	struct nsp_record r = { 0 }, *back = NULL;
	berth_error err;
	char seen[256] = "";

	r.name = "rec";
	r.berth_id = "11111111-0000-4000-8000-000000000000";
	r.owner = "edge:device";
	r.image = "localhost/busybox:latest";
	r.hostname = "h";
	CU_ASSERT_EQUAL_FATAL(nsp_strv_dup(cmd, &r.cmd), 0);
	CU_ASSERT_EQUAL_FATAL(nsp_strv_dup(env, &r.env), 0);
	r.privileged = true;
	r.resources.memory = 64 << 20;
	r.resources.memory_swap = -1;
	r.created_ns = 1700000000123456789LL;
	CU_ASSERT_EQUAL(nsp_record_load(&n, "rec", &back, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	CU_ASSERT_EQUAL(nsp_record_save(&n, &r, &err), 0);
	CU_ASSERT_FALSE(exists("state/rec.json.tmp"));
	CU_ASSERT_EQUAL_FATAL(nsp_record_load(&n, "rec", &back, &err), 0);
	CU_ASSERT_STRING_EQUAL(back->berth_id, r.berth_id);
	CU_ASSERT_STRING_EQUAL(back->owner, r.owner);
	CU_ASSERT_STRING_EQUAL(back->image, r.image);
	CU_ASSERT_STRING_EQUAL(back->hostname, "h");
	CU_ASSERT_STRING_EQUAL(back->cmd[2], "echo \"hi\"");
	CU_ASSERT_PTR_NULL(back->cmd[3]);
	CU_ASSERT_STRING_EQUAL(back->env[1], "B=two words");
	CU_ASSERT_PTR_NULL(back->binds);
	CU_ASSERT_TRUE(back->privileged);
	CU_ASSERT_EQUAL(back->resources.memory, 64 << 20);
	CU_ASSERT_EQUAL(back->resources.memory_swap, -1);
	CU_ASSERT_EQUAL(back->created_ns, r.created_ns);
	CU_ASSERT_EQUAL(back->started_ns, 0);
	nsp_record_free(back);

	/* replaced, not appended to */
	r.started_ns = 5;
	CU_ASSERT_EQUAL(nsp_record_save(&n, &r, &err), 0);
	CU_ASSERT_EQUAL_FATAL(nsp_record_load(&n, "rec", &back, &err), 0);
	CU_ASSERT_EQUAL(back->started_ns, 5);
	nsp_record_free(back);

	r.name = "another";
	CU_ASSERT_EQUAL(nsp_record_save(&n, &r, &err), 0);
	write_file("state/not_a_machine.json", "{}"); /* an invalid machine name */
	write_file("state/.hidden.json", "{}");
	write_file("state/notes.txt", "x");
	CU_ASSERT_EQUAL(nsp_record_each(&n, count_cb, seen, &err), 0);
	CU_ASSERT_STRING_EQUAL(seen, "another;rec;");
	CU_ASSERT_EQUAL(nsp_record_delete(&n, "another", &err), 0);
	CU_ASSERT_EQUAL(nsp_record_delete(&n, "another", &err), 0); /* gone: fine */
	CU_ASSERT_FALSE(exists("state/another.json"));
	nsp_strv_free(r.cmd);
	nsp_strv_free(r.env);
}

static void test_rootfs_tree(void)
{
	struct stat a, b;
	berth_error err;
	char p[512], q[512], buf[64];
	ssize_t len;

	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "m1", "tree", &err), 0);
	CU_ASSERT_TRUE(exists("machines/m1/bin/tool"));
	CU_ASSERT_TRUE(exists("machines/m1/empty"));
	CU_ASSERT_FALSE(exists("machines/.m1.tmp"));
	path_of(p, sizeof(p), "machines/m1/bin/tool");
	CU_ASSERT_EQUAL(stat(p, &a), 0);
	CU_ASSERT_EQUAL(a.st_mode & 07777, 0751);
	path_of(q, sizeof(q), "machines/m1/bin/hard");
	CU_ASSERT_EQUAL(stat(q, &b), 0);
	CU_ASSERT_EQUAL(a.st_ino, b.st_ino); /* the hard link stays one */
	path_of(p, sizeof(p), "machines/m1/bin/link");
	len = readlink(p, buf, sizeof(buf) - 1);
	CU_ASSERT_EQUAL(len, 4);
	if (len > 0) {
		buf[len] = '\0';
		CU_ASSERT_STRING_EQUAL(buf, "tool");
	}
	/* an existing machine directory is never overwritten */
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "m1", "tree", &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_CONFLICT);
	/* references: the last component without tag or digest */
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "m2", "registry.example:5000/team/tree:1.0", &err), 0);
	CU_ASSERT_TRUE(exists("machines/m2/bin/tool"));
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "m3", "tree@sha256:0123", &err), 0);
	CU_ASSERT_TRUE(exists("machines/m3/bin/tool"));
	/* nothing outside images_dir */
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "m4", "..", &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "m4", "missing", &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "local images"));
	CU_ASSERT_FALSE(exists("machines/m4"));
	CU_ASSERT_FALSE(exists("machines/.m4.tmp"));
	CU_ASSERT_EQUAL(nsp_rootfs_remove(&n, "m1", &err), 0);
	CU_ASSERT_EQUAL(nsp_rootfs_remove(&n, "m2", &err), 0);
	CU_ASSERT_EQUAL(nsp_rootfs_remove(&n, "m3", &err), 0);
	CU_ASSERT_FALSE(exists("machines/m1"));
	CU_ASSERT_TRUE(exists("images/tree/bin/tool")); /* the image is untouched */
	CU_ASSERT_EQUAL(nsp_rootfs_remove(&n, "m1", &err), 0); /* gone: fine */
}

static void test_rootfs_tar(void)
{
	berth_error err;
	char p[512], buf[64];
	ssize_t len;
	FILE *f;

	make_tar();
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "t1", "localhost/tarimg:latest", &err), 0);
	path_of(p, sizeof(p), "machines/t1/etc/hostname");
	f = fopen(p, "r");
	CU_ASSERT_PTR_NOT_NULL(f);
	if (f) {
		CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
		CU_ASSERT_STRING_EQUAL(buf, "bx\n");
		fclose(f);
	}
	path_of(p, sizeof(p), "machines/t1/bin/x");
	len = readlink(p, buf, sizeof(buf) - 1);
	CU_ASSERT_TRUE(len > 0);
	if (len > 0) {
		buf[len] = '\0';
		CU_ASSERT_STRING_EQUAL(buf, "../etc/hostname");
	}
	CU_ASSERT_EQUAL(nsp_rootfs_remove(&n, "t1", &err), 0);
	CU_ASSERT_FALSE(exists("machines/t1"));
	/* a broken archive leaves nothing behind */
	write_file("images/broken.tar", "this is not a tar archive at all");
	CU_ASSERT_EQUAL(nsp_rootfs_create(&n, "t2", "broken", &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_RUNTIME);
	CU_ASSERT_FALSE(exists("machines/t2"));
	CU_ASSERT_FALSE(exists("machines/.t2.tmp"));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "machine and unit names", test_names },
		{ "systemd errors map onto berth codes", test_errors },
		{ "records: atomic, round trip, listing", test_records },
		{ "root file system from a directory tree", test_rootfs_tree },
		{ "root file system from a tar", test_rootfs_tar },
	};

	return unit_run("nspawn", setup, teardown, tests, N(tests));
}
