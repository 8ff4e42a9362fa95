/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: the memory limits berth last applied to each container.
 *
 * Podman 4.3's update writes the running container's cgroup and nothing else: inspect
 * keeps showing the limits of create, a container that is not running cannot be updated
 * ("runc update" finds no container), and the next start builds the cgroup from the
 * create-time limits again. So the backend remembers what berth asked for, reports it
 * from inspect, and applies it again after every start.
 *
 * The table is kept in memory and, when the host gives a state directory, in
 * <state_dir>/podman-limits-<socket path with '/' as '_'>.json, written atomically (temp
 * file, fsync, rename, fsync of the directory) on every change and read at open(): an
 * acknowledged update survives a restart of berthd. A short list: a device runs a handful
 * of containers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podman.h"

static struct podman_limits **find(struct podman *p, const char *id)
{
	struct podman_limits **l;

	for (l = &p->limits; *l; l = &(*l)->next)
		if (strcmp((*l)->id, id) == 0)
			break;
	return l;
}

static int add(struct podman *p, const char *id, const berth_resources *r)
{
	struct podman_limits **l = find(p, id), *n;

	if (*l) {
		(*l)->resources = *r;
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (n)
		n->id = strdup(id);
	if (!n || !n->id) {
		free(n);
		return -1;
	}
	n->resources = *r;
	*l = n;
	return 0;
}

/* The table as JSON; caller puts. NULL when out of memory. Under lock. */
static json_object *to_json(const struct podman *p)
{
	json_object *root = json_object_new_object();

	for (const struct podman_limits *l = p->limits; root && l; l = l->next) {
		json_object *o = json_object_new_object();

		if (!o || json_object_object_add(root, l->id, o) < 0) {
			json_object_put(o);
			json_object_put(root);
			return NULL;
		}
		if (json_object_object_add(o, "memory", json_object_new_int64(l->resources.memory)) ||
		    json_object_object_add(o, "memory_reservation",
					   json_object_new_int64(l->resources.memory_reservation)) ||
		    json_object_object_add(o, "memory_swap",
					   json_object_new_int64(l->resources.memory_swap))) {
			json_object_put(root);
			return NULL;
		}
	}
	return root;
}

/* Writes the table to p->limits_file; under lock. */
static int save(struct podman *p, berth_error *err)
{
	char tmp[PATH_MAX], *dir, *slash;
	json_object *root;
	const char *text;
	size_t len = 0, off = 0;
	int fd, dfd, saved;

	if (!p->limits_file)
		return 0;
	root = to_json(p);
	text = root ? json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &len) : NULL;
	if (!text) {
		json_object_put(root);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", p->limits_file) >= (int)sizeof(tmp)) {
		json_object_put(root);
		return berth_error_set(err, BERTH_E_INTERNAL, "path too long: %s", p->limits_file);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail_fd;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail_fd;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_fd;
	}
	if (rename(tmp, p->limits_file) < 0)
		goto fail;
	dir = strdup(p->limits_file);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash) {
		*slash = '\0';
		dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd); /* best effort: the rename is done */
			close(dfd);
		}
	}
	free(dir);
	json_object_put(root);
	return 0;
fail_fd:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
fail:
	saved = errno;
	unlink(tmp);
	json_object_put(root);
	return berth_error_set(err, BERTH_E_RUNTIME, "cannot write %s: %s", p->limits_file,
			       strerror(saved));
}

int podman_limits_open(struct podman *p, const char *state_dir, berth_error *err)
{
	json_object *root;
	char *file = NULL, *s;

	if (!state_dir || !*state_dir)
		return 0;
	if (asprintf(&file, "%s/podman-limits-%s.json", state_dir, p->socket) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	for (s = file + strlen(state_dir) + 1; *s; s++)
		if (*s == '/')
			*s = '_';
	p->limits_file = file;
	root = json_object_from_file(file);
	if (!root) {
		if (access(file, F_OK) == 0)
			podman_log(p, BERTH_LOG_WARNING,
				   "%s is not JSON: updated memory limits are forgotten", file);
		return 0;
	}
	json_object_object_foreach(root, id, o)
	{
		berth_resources r = {
			.memory = json_object_get_int64(jsonutil_get(o, "memory")),
			.memory_reservation =
				json_object_get_int64(jsonutil_get(o, "memory_reservation")),
			.memory_swap = json_object_get_int64(jsonutil_get(o, "memory_swap")),
		};

		if (add(p, id, &r) < 0) {
			json_object_put(root);
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		}
	}
	json_object_put(root);
	return 0;
}

int podman_limits_set(struct podman *p, const char *id, const berth_resources *r,
		      berth_error *err)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	ret = add(p, id, r) < 0 ? berth_error_set(err, BERTH_E_NOMEM, "out of memory")
				: save(p, err);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

bool podman_limits_get(struct podman *p, const char *id, berth_resources *out)
{
	struct podman_limits **l;
	bool found;

	pthread_mutex_lock(&p->lock);
	l = find(p, id);
	found = *l != NULL;
	if (found)
		*out = (*l)->resources;
	pthread_mutex_unlock(&p->lock);
	return found;
}

void podman_limits_forget(struct podman *p, const char *id)
{
	struct podman_limits **l, *gone;
	berth_error e;

	pthread_mutex_lock(&p->lock);
	l = find(p, id);
	gone = *l;
	if (gone) {
		*l = gone->next;
		if (save(p, &e) < 0)
			podman_log(p, BERTH_LOG_WARNING, "%s", e.message);
	}
	pthread_mutex_unlock(&p->lock);
	if (gone) {
		free(gone->id);
		free(gone);
	}
}

void podman_limits_free(struct podman *p)
{
	while (p->limits) {
		struct podman_limits *n = p->limits->next;

		free(p->limits->id);
		free(p->limits);
		p->limits = n;
	}
	free(p->limits_file);
	p->limits_file = NULL;
}
