/* SPDX-License-Identifier: Apache-2.0 */
/* Persistent container records and the announced-features list, written atomically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define RECORD_MAX_BYTES (1024 * 1024)

static int containers_dirfd = -1;
static int state_dirfd = -1;

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_open(const char *state_dir, berth_error *err)
{
	int rc = mkdir_p(state_dir, 0700);

	if (rc < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot create state directory %s: %s",
				       state_dir, strerror(-rc));
	state_dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state_dirfd < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot open state directory %s: %s",
				       state_dir, strerror(errno));
	if (mkdirat(state_dirfd, "containers", 0700) < 0 && errno != EEXIST)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot create %s/containers: %s",
				       state_dir, strerror(errno));
	containers_dirfd = openat(state_dirfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (containers_dirfd < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot open %s/containers: %s",
				       state_dir, strerror(errno));
	return 0;
}

void store_close(void)
{
	if (containers_dirfd >= 0)
		close(containers_dirfd);
	if (state_dirfd >= 0)
		close(state_dirfd);
	containers_dirfd = state_dirfd = -1;
}

int store_write_atomic(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[256];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	return fsync(dirfd) < 0 ? -errno : 0;
}

int store_save(struct container *c, berth_error *err)
{
	char name[CONTAINER_ID_LEN + 8];
	json_object *rec;
	const char *text;
	int rc;

	pthread_mutex_lock(&c->lock);
	rec = container_record_json(c);
	pthread_mutex_unlock(&c->lock);
	text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(name, sizeof(name), "%s.json", c->id);
	rc = text ? store_write_atomic(containers_dirfd, name, text, strlen(text)) : -ENOMEM;
	json_object_put(rec);
	if (rc < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot save the record of %s: %s",
				       c->id, strerror(-rc));
	return 0;
}

int store_delete(const char *id)
{
	char name[CONTAINER_ID_LEN + 8];

	if (snprintf(name, sizeof(name), "%s.json", id) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	if (unlinkat(containers_dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return fsync(containers_dirfd) < 0 ? -errno : 0;
}

/* Reads a whole (small) file relative to dirfd; returns malloc()ed text or NULL. */
static char *read_file_at(int dirfd, const char *name)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECORD_MAX_BYTES) {
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

int store_load(void (*cb)(json_object *record, const char *file, void *userdata),
	       void *userdata)
{
	int fd = dup(containers_dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		json_object *rec;
		char *text;

		if (de->d_name[0] == '.') {
			/* a temp file left by a crash mid-write: the old record is intact */
			if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
				unlinkat(containers_dirfd, de->d_name, 0);
			continue;
		}
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		text = read_file_at(containers_dirfd, de->d_name);
		rec = text ? json_tokener_parse(text) : NULL;
		free(text);
		if (!rec || !json_object_is_type(rec, json_type_object)) {
			log_warn("store: skipping unreadable record containers/%s", de->d_name);
			json_object_put(rec);
			continue;
		}
		cb(rec, de->d_name, userdata);
		json_object_put(rec);
	}
	closedir(dir);
	return 0;
}

json_object *store_load_announced(void)
{
	char *text = read_file_at(state_dirfd, "features.json");
	json_object *ids = text ? json_tokener_parse(text) : NULL;

	free(text);
	if (!ids || !json_object_is_type(ids, json_type_array)) {
		json_object_put(ids);
		ids = json_object_new_array();
	}
	return ids;
}

int store_save_announced(json_object *ids)
{
	const char *text = json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN);

	return text ? store_write_atomic(state_dirfd, "features.json", text, strlen(text))
		    : -ENOMEM;
}

int store_save_identity(const char *thing_id, const char *tenant)
{
	json_object *o = json_object_new_object();
	const char *text;
	int rc;

	json_object_object_add(o, "thingId", json_object_new_string(thing_id));
	if (tenant && *tenant)
		json_object_object_add(o, "tenant", json_object_new_string(tenant));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = text ? store_write_atomic(state_dirfd, "identity.json", text, strlen(text)) : -ENOMEM;
	json_object_put(o);
	return rc;
}

bool store_load_identity(char *thing_id, size_t thing_len, char *tenant, size_t tenant_len)
{
	char *text = read_file_at(state_dirfd, "identity.json");
	json_object *o = text ? json_tokener_parse(text) : NULL, *v;
	bool found = false;

	free(text);
	if (o && json_object_object_get_ex(o, "thingId", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
		snprintf(thing_id, thing_len, "%s", json_object_get_string(v));
		tenant[0] = '\0';
		if (json_object_object_get_ex(o, "tenant", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(tenant, tenant_len, "%s", json_object_get_string(v));
		found = true;
	}
	json_object_put(o);
	return found;
}
