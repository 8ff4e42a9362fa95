/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: a machine's root file system. There is no registry to pull
 * from: an image is local, in images_dir, either a directory tree or a tar archive
 * (any compression libarchive reads). Both are copied with libarchive (a disk reader or
 * an archive reader into a disk writer that keeps owners, modes, times, ACLs and
 * xattrs) into machines_dir/.<name>.tmp, which is renamed to machines_dir/<name> when
 * complete, so that a half-copied tree never looks like a machine.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "nspawn.h"

#define EXTRACT_FLAGS                                                                       \
	(ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |              \
	 ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS |             \
	 ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |               \
	 ARCHIVE_EXTRACT_UNLINK)

char *nsp_rootfs_path(const struct nspawn *n, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", n->machines_dir, name) < 0)
		return NULL;
	return p;
}

/* A reference's candidates for a file name in images_dir: the reference itself when it
 * is a plain name, then its last path component without tag or digest
 * ("docker.io/library/busybox:latest" -> "busybox"). */
static int image_candidates(const char *image, char *c1, char *c2, size_t len)
{
	const char *base = strrchr(image, '/');
	size_t l;

	c1[0] = c2[0] = '\0';
	if (!strchr(image, '/') && strcmp(image, ".") && strcmp(image, "..") &&
	    strlen(image) < len)
		snprintf(c1, len, "%s", image);
	base = base ? base + 1 : image;
	l = strcspn(base, ":@");
	if (l == 0 || l >= len)
		return c1[0] ? 0 : -1;
	memcpy(c2, base, l);
	c2[l] = '\0';
	if (strcmp(c2, ".") == 0 || strcmp(c2, "..") == 0)
		c2[0] = '\0';
	return c1[0] || c2[0] ? 0 : -1;
}

/* images_dir/<c> as a directory (*is_dir) or images_dir/<c>.tar; malloc()ed or NULL. */
static char *image_find(const struct nspawn *n, const char *image, bool *is_dir)
{
	char c[2][256];
	struct stat st;

	if (image_candidates(image, c[0], c[1], sizeof(c[0])) < 0)
		return NULL;
	for (int i = 0; i < 2; i++) {
		char *p = NULL;

		if (!c[i][0])
			continue;
		if (asprintf(&p, "%s/%s", n->images_dir, c[i]) < 0)
			return NULL;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			*is_dir = true;
			return p;
		}
		free(p);
		if (asprintf(&p, "%s/%s.tar", n->images_dir, c[i]) < 0)
			return NULL;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			*is_dir = false;
			return p;
		}
		free(p);
	}
	return NULL;
}

/* Copies the entries `in` yields into `out`, their paths rebased from `strip` (the
 * source tree's own path for a disk reader, "" for a tar) onto `dest`. A disk reader
 * does not see hard links: the link resolver turns a file's second name into a link to
 * its first, as tar does. */
static int copy_entries(struct archive *in, struct archive *out, bool disk, const char *strip,
			const char *dest, berth_error *err)
{
	struct archive_entry *e = archive_entry_new();
	struct archive_entry_linkresolver *lr = disk ? archive_entry_linkresolver_new() : NULL;
	size_t sl = strlen(strip);
	int r, ret = -1;

	if (!e || (disk && !lr)) {
		archive_entry_free(e);
		if (lr)
			archive_entry_linkresolver_free(lr);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (lr)
		archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	for (;;) {
		const char *path, *link;
		char *np = NULL, *nl = NULL;

		r = archive_read_next_header2(in, e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			berth_error_set(err, BERTH_E_RUNTIME, "reading the image: %s",
					archive_error_string(in));
			goto out;
		}
		if (disk)
			archive_read_disk_descend(in);
		path = archive_entry_pathname(e);
		if (disk && strncmp(path, strip, sl) == 0)
			path += sl;
		while (path[0] == '/' || (path[0] == '.' && path[1] == '/'))
			path += path[0] == '/' ? 1 : 2;
		if (asprintf(&np, "%s/%s", dest, strcmp(path, ".") ? path : "") < 0) {
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
			goto out;
		}
		archive_entry_set_pathname(e, np);
		free(np);
		if (lr) {
			struct archive_entry *spare = NULL;

			/* the tar strategy neither defers nor replaces entries */
			archive_entry_linkify(lr, &e, &spare);
		}
		link = lr ? NULL : archive_entry_hardlink(e);
		if (link) {
			while (link[0] == '/' || (link[0] == '.' && link[1] == '/'))
				link += link[0] == '/' ? 1 : 2;
			if (asprintf(&nl, "%s/%s", dest, link) < 0) {
				berth_error_set(err, BERTH_E_NOMEM, "out of memory");
				goto out;
			}
			archive_entry_set_hardlink(e, nl);
			free(nl);
		}
		r = archive_write_header(out, e);
		if (r < ARCHIVE_WARN) {
			berth_error_set(err, BERTH_E_RUNTIME, "%s: %s", archive_entry_pathname(e),
					archive_error_string(out));
			goto out;
		}
		if (archive_entry_size(e) > 0 && r >= ARCHIVE_WARN) {
			const void *buf;
			size_t size;
			la_int64_t off;

			while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
				if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN) {
					berth_error_set(err, BERTH_E_RUNTIME, "%s: %s",
							archive_entry_pathname(e),
							archive_error_string(out));
					goto out;
				}
			}
			if (r != ARCHIVE_EOF) {
				berth_error_set(err, BERTH_E_RUNTIME, "reading %s: %s",
						archive_entry_pathname(e), archive_error_string(in));
				goto out;
			}
		}
		if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
			berth_error_set(err, BERTH_E_RUNTIME, "%s: %s", archive_entry_pathname(e),
					archive_error_string(out));
			goto out;
		}
	}
	ret = 0;
out:
	archive_entry_free(e);
	if (lr)
		archive_entry_linkresolver_free(lr);
	return ret;
}

static int copy_image(const char *src, bool is_dir, const char *dest, berth_error *err)
{
	struct archive *in = is_dir ? archive_read_disk_new() : archive_read_new();
	struct archive *out = archive_write_disk_new();
	int r, ret = -1;

	if (!in || !out) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	archive_write_disk_set_options(out, EXTRACT_FLAGS);
	archive_write_disk_set_standard_lookup(out);
	if (is_dir) {
		archive_read_disk_set_symlink_physical(in);
		archive_read_disk_set_standard_lookup(in);
		archive_read_disk_set_behavior(in, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
		r = archive_read_disk_open(in, src);
	} else {
		archive_read_support_format_all(in);
		archive_read_support_filter_all(in);
		r = archive_read_open_filename(in, src, 64 * 1024);
	}
	if (r != ARCHIVE_OK) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot read the image %s: %s", src,
				archive_error_string(in));
		goto out;
	}
	ret = copy_entries(in, out, is_dir, src, dest, err);
	if (archive_write_close(out) != ARCHIVE_OK && ret == 0)
		ret = berth_error_set(err, BERTH_E_RUNTIME, "writing %s: %s", dest,
				      archive_error_string(out));
out:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DNR || flag == FTW_NS)
		return -1;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	/* depth first, never following symlinks or crossing into mounts */
	return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int nsp_rootfs_create(struct nspawn *n, const char *name, const char *image, berth_error *err)
{
	char *dest = nsp_rootfs_path(n, name), *tmp = NULL, *src = NULL;
	struct stat st;
	bool is_dir = false;
	int ret = -1;

	if (!dest || asprintf(&tmp, "%s/.%s.tmp", n->machines_dir, name) < 0) {
		tmp = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	src = image_find(n, image, &is_dir);
	if (!src) {
		berth_error_set(err, BERTH_E_NOT_FOUND,
				"no such image: %s (not in %s as a directory or a .tar; this "
				"backend uses local images only)", image, n->images_dir);
		goto out;
	}
	if (lstat(dest, &st) == 0) {
		berth_error_set(err, BERTH_E_CONFLICT, "%s exists already", dest);
		goto out;
	}
	if (mkdir(n->machines_dir, 0700) < 0 && errno != EEXIST) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot create %s: %s", n->machines_dir,
				strerror(errno));
		goto out;
	}
	if (rm_tree(tmp) < 0) { /* left by a crash */
		berth_error_set(err, BERTH_E_RUNTIME, "cannot remove %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (copy_image(src, is_dir, tmp, err) < 0) {
		rm_tree(tmp);
		goto out;
	}
	if (rename(tmp, dest) < 0) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot rename %s to %s: %s", tmp, dest,
				strerror(errno));
		rm_tree(tmp);
		goto out;
	}
	ret = 0;
out:
	free(src);
	free(tmp);
	free(dest);
	return ret;
}

int nsp_rootfs_remove(struct nspawn *n, const char *name, berth_error *err)
{
	char *dest = nsp_rootfs_path(n, name);

	if (!dest)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (rm_tree(dest) < 0) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot remove %s: %s", dest, strerror(errno));
		free(dest);
		return -1;
	}
	free(dest);
	return 0;
}
