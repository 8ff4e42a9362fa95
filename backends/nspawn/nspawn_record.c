/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: the machine records. systemd keeps nothing about a machine
 * that is not running, and nothing berth-specific at all, so the backend keeps each
 * machine's spec, berth id and owner in state_dir/<name>.json. A record is replaced
 * atomically (temp file, fsync, rename, fsync of the directory): a crash leaves the old
 * or the new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nspawn.h"

void nsp_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int nsp_strv_dup(const char *const *v, char ***out)
{
	size_t len = 0;
	char **c;

	*out = NULL;
	if (!v)
		return 0;
	while (v[len])
		len++;
	c = calloc(len + 1, sizeof(*c));
	if (!c)
		return -1;
	for (size_t i = 0; i < len; i++) {
		c[i] = strdup(v[i]);
		if (!c[i]) {
			nsp_strv_free(c);
			return -1;
		}
	}
	*out = c;
	return 0;
}

void nsp_record_free(struct nsp_record *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->berth_id);
	free(r->owner);
	free(r->image);
	free(r->hostname);
	nsp_strv_free(r->cmd);
	nsp_strv_free(r->env);
	nsp_strv_free(r->binds);
	free(r);
}

static char *record_path(const struct nspawn *n, const char *name, const char *suffix)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s.json%s", n->state_dir, name, suffix) < 0)
		return NULL;
	return p;
}

static json_object *strv_json(char **v)
{
	json_object *a;

	if (!v)
		return NULL;
	a = json_object_new_array();
	for (char **p = v; a && *p; p++)
		json_object_array_add(a, json_object_new_string(*p));
	return a;
}

static int json_strv(json_object *o, const char *key, char ***out)
{
	json_object *a;
	size_t len;
	char **v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return 0;
	len = json_object_array_length(a);
	v = calloc(len + 1, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < len; i++) {
		v[i] = strdup(json_object_get_string(json_object_array_get_idx(a, i)));
		if (!v[i]) {
			nsp_strv_free(v);
			return -1;
		}
	}
	*out = v;
	return 0;
}

static int json_str(json_object *o, const char *key, char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -1;
}

static int64_t json_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int nsp_record_load(struct nspawn *n, const char *name, struct nsp_record **out,
		    berth_error *err)
{
	char *path = record_path(n, name, "");
	struct nsp_record *r;
	json_object *o, *v;

	*out = NULL;
	if (!path)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (access(path, F_OK) < 0) {
		int e = errno;

		free(path);
		if (e == ENOENT)
			return berth_error_set(err, BERTH_E_NOT_FOUND, "no such machine: %s", name);
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot read the record of %s: %s",
				       name, strerror(e));
	}
	o = json_object_from_file(path);
	if (!o) {
		berth_error_set(err, BERTH_E_RUNTIME, "%s: %s", path, json_util_get_last_err());
		free(path);
		return -1;
	}
	free(path);
	r = calloc(1, sizeof(*r));
	if (!r || json_str(o, "name", &r->name) < 0 || json_str(o, "berth_id", &r->berth_id) < 0 ||
	    json_str(o, "owner", &r->owner) < 0 || json_str(o, "image", &r->image) < 0 ||
	    json_str(o, "hostname", &r->hostname) < 0 || json_strv(o, "cmd", &r->cmd) < 0 ||
	    json_strv(o, "env", &r->env) < 0 || json_strv(o, "binds", &r->binds) < 0) {
		json_object_put(o);
		nsp_record_free(r);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (!r->name && !(r->name = strdup(name))) {
		json_object_put(o);
		nsp_record_free(r);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	r->privileged = json_object_object_get_ex(o, "privileged", &v) && json_object_get_boolean(v);
	r->resources.memory = json_int(o, "memory");
	r->resources.memory_reservation = json_int(o, "memory_reservation");
	r->resources.memory_swap = json_int(o, "memory_swap");
	r->created_ns = json_int(o, "created_ns");
	r->started_ns = json_int(o, "started_ns");
	json_object_put(o);
	*out = r;
	return 0;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int nsp_record_save(struct nspawn *n, const struct nsp_record *r, berth_error *err)
{
	json_object *o = json_object_new_object();
	char *path = record_path(n, r->name, "");
	char *tmp = record_path(n, r->name, ".tmp");
	const char *text;
	size_t len, off = 0;
	int fd = -1, ret = -1;

	if (!o || !path || !tmp) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	add_str(o, "name", r->name);
	add_str(o, "berth_id", r->berth_id);
	add_str(o, "owner", r->owner);
	add_str(o, "image", r->image);
	add_str(o, "hostname", r->hostname);
	if (r->cmd)
		json_object_object_add(o, "cmd", strv_json(r->cmd));
	if (r->env)
		json_object_object_add(o, "env", strv_json(r->env));
	if (r->binds)
		json_object_object_add(o, "binds", strv_json(r->binds));
	json_object_object_add(o, "privileged", json_object_new_boolean(r->privileged));
	json_object_object_add(o, "memory", json_object_new_int64(r->resources.memory));
	json_object_object_add(o, "memory_reservation",
			       json_object_new_int64(r->resources.memory_reservation));
	json_object_object_add(o, "memory_swap", json_object_new_int64(r->resources.memory_swap));
	json_object_object_add(o, "created_ns", json_object_new_int64(r->created_ns));
	json_object_object_add(o, "started_ns", json_object_new_int64(r->started_ns));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);

	if (mkdir(n->state_dir, 0700) < 0 && errno != EEXIST) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot create %s: %s", n->state_dir,
				strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			berth_error_set(err, BERTH_E_RUNTIME, "cannot write %s: %s", tmp,
					strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		berth_error_set(err, BERTH_E_RUNTIME, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot replace %s: %s", path,
				strerror(errno));
		goto out;
	}
	if (fsync_dir(n->state_dir) < 0)
		nsp_log(n, BERTH_LOG_WARNING, "fsync %s: %s", n->state_dir, strerror(errno));
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && tmp)
		unlink(tmp);
	json_object_put(o);
	free(path);
	free(tmp);
	return ret;
}

int nsp_record_delete(struct nspawn *n, const char *name, berth_error *err)
{
	char *path = record_path(n, name, "");

	if (!path)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (unlink(path) < 0 && errno != ENOENT) {
		berth_error_set(err, BERTH_E_RUNTIME, "cannot remove %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	fsync_dir(n->state_dir);
	return 0;
}

static int record_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len > 5 && d->d_name[0] != '.' && strcmp(d->d_name + len - 5, ".json") == 0;
}

int nsp_record_each(struct nspawn *n, int (*cb)(void *ud, const char *name), void *ud,
		    berth_error *err)
{
	struct dirent **list = NULL;
	int count, ret = 0;

	count = scandir(n->state_dir, &list, record_filter, alphasort);
	if (count < 0) {
		if (errno == ENOENT)
			return 0; /* nothing created yet */
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot read %s: %s", n->state_dir,
				       strerror(errno));
	}
	for (int i = 0; i < count; i++) {
		char *name = list[i]->d_name;

		name[strlen(name) - 5] = '\0';
		if (ret == 0 && nsp_name_valid(name))
			ret = cb(ud, name);
		free(list[i]);
	}
	free(list);
	return ret;
}
