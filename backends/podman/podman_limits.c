/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: the memory limits berth last applied to each container.
 *
 * Podman 4.3's update writes the running container's cgroup and nothing else: inspect
 * keeps showing the limits of create, a container that is not running cannot be updated
 * ("runc update" finds no container), and the next start builds the cgroup from the
 * create-time limits again. So the backend remembers what berth asked for, reports it
 * from inspect, and applies it again after every start. The table lives in memory: after
 * a restart of berthd a container runs with its create-time limits until its next update.
 * A short list: a device runs a handful of containers.
 */
#include <stdlib.h>
#include <string.h>

#include "podman.h"

static struct podman_limits **find(struct podman *p, const char *id)
{
	struct podman_limits **l;

	for (l = &p->limits; *l; l = &(*l)->next)
		if (strcmp((*l)->id, id) == 0)
			break;
	return l;
}

int podman_limits_set(struct podman *p, const char *id, const berth_resources *r)
{
	struct podman_limits **l, *n;

	pthread_mutex_lock(&p->lock);
	l = find(p, id);
	if (*l) {
		(*l)->resources = *r;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (n)
		n->id = strdup(id);
	if (!n || !n->id) {
		pthread_mutex_unlock(&p->lock);
		free(n);
		return -1;
	}
	n->resources = *r;
	*l = n;
	pthread_mutex_unlock(&p->lock);
	return 0;
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

	pthread_mutex_lock(&p->lock);
	l = find(p, id);
	gone = *l;
	if (gone)
		*l = gone->next;
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
}
