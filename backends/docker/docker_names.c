/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: names and references.
 *
 * Container names: Docker accepts ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ while a berth name may
 * start with '_' or be one character long. A berth name Docker refuses becomes
 * "berth-<berth_id>" (the core keeps the berth name in its own record).
 *
 * Image references, split the way Docker's client does for POST /images/create:
 * fromImage = the name without tag or digest, tag = the tag, or the digest for
 * "name@sha256:..."; a colon before the last '/' belongs to a registry port
 * ("localhost:5000/x" has no tag).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

bool docker_name_valid(const char *name)
{
	if (!name || !name[0] || !name[1] || !name_char(name[0], true))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!name_char(*p, false))
			return false;
	return true;
}

char *docker_name_for(const char *berth_name, const char *berth_id)
{
	char *out = NULL;

	if (docker_name_valid(berth_name))
		return strdup(berth_name);
	if (!berth_id || asprintf(&out, "berth-%s", berth_id) < 0)
		return NULL;
	return out;
}

void docker_ref_release(struct docker_ref *r)
{
	if (!r)
		return;
	free(r->repo);
	free(r->tag);
	free(r->full);
	r->repo = r->tag = r->full = NULL;
}

int docker_ref_parse(const char *ref, struct docker_ref *out)
{
	const char *at, *slash, *colon, *first_end, *path;
	char *name = NULL, *domain = NULL;
	size_t name_len;
	bool digest = false;
	int n;

	memset(out, 0, sizeof(*out));
	if (!ref || !*ref)
		return -1;
	for (const char *p = ref; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return -1;

	at = strchr(ref, '@');
	if (at) {
		name_len = (size_t)(at - ref);
		out->tag = strdup(at + 1);
		digest = true;
	} else {
		slash = strrchr(ref, '/');
		colon = strrchr(ref, ':');
		if (colon && (!slash || colon > slash)) {
			name_len = (size_t)(colon - ref);
			out->tag = strdup(colon + 1);
		} else {
			name_len = strlen(ref);
			out->tag = strdup("latest");
		}
	}
	if (!out->tag || !out->tag[0] || name_len == 0)
		goto fail;
	name = strndup(ref, name_len);
	if (!name)
		goto fail;

	/* the normalised form, for messages: domain/path[:tag|@digest] */
	first_end = strchr(name, '/');
	if (first_end && (memchr(name, '.', (size_t)(first_end - name)) ||
			  memchr(name, ':', (size_t)(first_end - name)) ||
			  ((size_t)(first_end - name) == 9 &&
			   strncmp(name, "localhost", 9) == 0))) {
		domain = strndup(name, (size_t)(first_end - name));
		path = first_end + 1;
	} else {
		domain = strdup("docker.io");
		path = name;
	}
	if (!domain)
		goto fail;
	n = asprintf(&out->full, "%s/%s%s%s%s", domain,
		     strcmp(domain, "docker.io") == 0 && !strchr(path, '/') ? "library/" : "",
		     path, digest ? "@" : ":", out->tag);
	free(domain);
	if (n < 0) {
		out->full = NULL;
		goto fail;
	}
	out->repo = name;
	return 0;
fail:
	free(name);
	docker_ref_release(out);
	return -1;
}
