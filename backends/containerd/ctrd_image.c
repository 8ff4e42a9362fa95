/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: an image as the Go client's image.Config()/RootFS() see it,
 * redone over the Images and Content services.
 *
 *   Images.Get(name)             -> target descriptor (index or manifest)
 *   Content.Read(digest) stream  -> the index: the manifest for this host's platform
 *                                -> the manifest: the config descriptor
 *                                -> the config: config.{Env,Cmd,Entrypoint,WorkingDir,User}
 *                                   and rootfs.diff_ids
 *   chain id of the diff ids     -> the committed snapshot the container's one grows on
 *
 * containerd 1.6 cannot pull on its own (no Transfer service), so a missing image is
 * BERTH_E_NOT_FOUND with a message that tells the admin how to import it. SHA-256 comes
 * from libgcrypt, which libsystemd already brings into berthd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "ctrd.h"

#define BLOB_MAX (4u << 20) /* an index, manifest or config larger than this is refused */

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

void ctrd_crypto_init(void)
{
	/* what systemd's initialize_libgcrypt() does; a no-op when it already ran */
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_check_version(NULL);
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
}

char *ctrd_chain_id(const char *const *diff_ids, size_t n, berth_error *err)
{
	unsigned char digest[32];
	char *chain = NULL;

	if (n == 0) {
		berth_error_set(err, BERTH_E_RUNTIME, "the image has no layers");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(diff_ids[i], "sha256:", 7) != 0 || strlen(diff_ids[i]) != 71) {
			free(chain);
			berth_error_set(err, BERTH_E_RUNTIME,
					"the image's layer %zu has an unsupported diff id \"%s\"",
					i, diff_ids[i]);
			return NULL;
		}
		if (i == 0) {
			chain = strdup(diff_ids[0]);
		} else {
			char *text = NULL, *next;

			/* ChainID(L0|...|Ln) = SHA256(ChainID(L0|...|Ln-1) + " " + DiffID(Ln)) */
			if (asprintf(&text, "%s %s", chain, diff_ids[i]) < 0)
				text = NULL;
			free(chain);
			chain = NULL;
			if (!text)
				break;
			gcry_md_hash_buffer(GCRY_MD_SHA256, digest, text, strlen(text));
			free(text);
			next = malloc(7 + 64 + 1);
			if (!next)
				break;
			memcpy(next, "sha256:", 7);
			for (size_t k = 0; k < 32; k++)
				snprintf(next + 7 + 2 * k, 3, "%02x", digest[k]);
			chain = next;
		}
		if (!chain)
			break;
	}
	if (!chain)
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return chain;
}

char *ctrd_image_normalize(const char *ref)
{
	const char *slash = strchr(ref, '/'), *last = strrchr(ref, '/');
	const char *name = last ? last + 1 : ref;
	bool has_domain = false, has_tag;
	char *out = NULL;

	if (slash) {
		size_t n = (size_t)(slash - ref);

		has_domain = memchr(ref, '.', n) || memchr(ref, ':', n) ||
			     (n == 9 && strncmp(ref, "localhost", 9) == 0);
	}
	has_tag = strchr(name, ':') || strchr(ref, '@');
	if (asprintf(&out, "%s%s%s%s", has_domain ? "" : "docker.io/",
		     !has_domain && !slash ? "library/" : "", ref, has_tag ? "" : ":latest") < 0)
		return NULL;
	return out;
}

struct blob {
	char *data;
	size_t len;
	int64_t expected;
};

static int on_chunk(void *userdata, const uint8_t *data, size_t len)
{
	Containerd__Services__Content__V1__ReadContentResponse *r;
	struct blob *b = userdata;
	char *p;

	r = containerd__services__content__v1__read_content_response__unpack(NULL, len, data);
	if (!r)
		return 2;
	if (b->len + r->data.len > BLOB_MAX) {
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return 3;
	}
	p = realloc(b->data, b->len + r->data.len + 1);
	if (!p) {
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return 4;
	}
	memcpy(p + b->len, r->data.data, r->data.len);
	b->len += r->data.len;
	p[b->len] = '\0';
	b->data = p;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

/* Reads a JSON blob from the Content service. returns: a new object or NULL with err. */
static json_object *read_json(struct ctrd *c, const char *digest, int64_t size, const char *what,
			      berth_error *err)
{
	Containerd__Services__Content__V1__ReadContentRequest req =
		CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
	struct blob b = { .expected = size };
	struct ctrd_grpc_stream_ops ops = { .on_message = on_chunk, .userdata = &b };
	json_object *o = NULL;
	char label[160];
	int rc;

	if (size > BLOB_MAX) {
		berth_error_set(err, BERTH_E_RUNTIME,
				"the image's %s (%s) is %lld bytes, more than this backend reads",
				what, digest, (long long)size);
		return NULL;
	}
	req.digest = (char *)digest;
	snprintf(label, sizeof(label), "read the image's %s %.80s", what, digest);
	rc = ctrd_grpc_stream(&c->target, CTRD_SVC_CONTENT "Read", &req.base, &ops,
			      ctrd_timeout_ms(c), -1, label, err);
	if (rc > 0)
		berth_error_set(err, rc == 4 ? BERTH_E_NOMEM : BERTH_E_RUNTIME,
				"%s: %s", label, rc == 3 ? "larger than this backend reads"
					      : rc == 4 ? "out of memory"
							: "containerd sent an unreadable chunk");
	if (rc == 0) {
		o = b.data ? json_tokener_parse(b.data) : NULL;
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
			berth_error_set(err, BERTH_E_RUNTIME, "%s: not a JSON object", label);
		}
	}
	free(b.data);
	return o;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? json_object_get_int64(v) : 0;
}

/* The manifest descriptor of an index for this host's platform, or NULL. */
static json_object *pick_platform(const struct ctrd *c, json_object *index)
{
	json_object *list = jget(index, "manifests"), *fallback = NULL;
	size_t n = list && json_object_is_type(list, json_type_array)
			   ? json_object_array_length(list) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(list, i);
		json_object *p = jget(d, "platform");
		const char *os = jstr(p, "os"), *arch = jstr(p, "architecture");
		const char *variant = jstr(p, "variant");

		if (!os || !arch || strcmp(os, c->os) != 0 || strcmp(arch, c->arch) != 0)
			continue;
		if (!c->variant[0] || (variant && strcmp(variant, c->variant) == 0))
			return d;
		if (!variant)
			fallback = d; /* arm without a variant: take it unless one matches */
	}
	return fallback;
}

static bool is_index(const char *media_type, json_object *o)
{
	if (media_type && (strcmp(media_type, MT_OCI_INDEX) == 0 ||
			   strcmp(media_type, MT_DOCKER_LIST) == 0))
		return true;
	if (media_type && (strcmp(media_type, MT_OCI_MANIFEST) == 0 ||
			   strcmp(media_type, MT_DOCKER_MANIFEST) == 0))
		return false;
	return jget(o, "manifests") != NULL;
}

/* Images.Get under `name`; 0 / -1, with *out NULL and 0 returned when it is missing. */
static int get_image(struct ctrd *c, const char *name,
		     Containerd__Services__Images__V1__GetImageResponse **out, berth_error *err)
{
	Containerd__Services__Images__V1__GetImageRequest req =
		CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
	berth_error e;

	*out = NULL;
	req.name = (char *)name;
	berth_error_clear(&e);
	if (ctrd_call(c, CTRD_SVC_IMAGES "Get", &req,
		      &containerd__services__images__v1__get_image_response__descriptor, out,
		      "image", NULL, &e) < 0) {
		if (e.code == BERTH_E_NOT_FOUND)
			return 0;
		if (err)
			*err = e;
		return -1;
	}
	if (!(*out)->image || !(*out)->image->target) {
		protobuf_c_message_free_unpacked(&(*out)->base, NULL);
		*out = NULL;
	}
	return 0;
}

static int stat_snapshot(struct ctrd *c, const char *key, berth_error *err)
{
	Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
	Containerd__Services__Snapshots__V1__StatSnapshotResponse *resp = NULL;

	req.snapshotter = c->snapshotter;
	req.key = (char *)key;
	if (ctrd_call(c, CTRD_SVC_SNAPSHOTS "Stat", &req,
		      &containerd__services__snapshots__v1__stat_snapshot_response__descriptor,
		      &resp, "snapshot", NULL, err) < 0)
		return -1;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

int ctrd_image_resolve(struct ctrd *c, const char *ref, struct ctrd_image *out,
		       berth_error *err)
{
	Containerd__Services__Images__V1__GetImageResponse *img = NULL;
	json_object *doc = NULL, *cfg = NULL, *diffs;
	const char **ids = NULL;
	char *normal = NULL;
	char digest[128], media[128];
	int64_t size;
	size_t n;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (get_image(c, ref, &img, err) < 0)
		return -1;
	if (!img) {
		normal = ctrd_image_normalize(ref);
		if (normal && strcmp(normal, ref) != 0 && get_image(c, normal, &img, err) < 0)
			goto out;
	}
	if (!img) {
		berth_error_set(err, BERTH_E_NOT_FOUND,
				"no such image in containerd namespace \"%s\": %s (containerd "
				"1.6 cannot pull by itself; import it, e.g. `ctr -n %s images "
				"import --snapshotter %s IMAGE.tar` or `ctr -n %s images pull %s`)",
				c->namespace, ref, c->namespace, c->snapshotter, c->namespace,
				normal ? normal : ref);
		goto out;
	}
	out->name = strdup(img->image->name);
	snprintf(digest, sizeof(digest), "%s", img->image->target->digest);
	snprintf(media, sizeof(media), "%s", img->image->target->media_type);
	size = img->image->target->size;
	if (!out->name)
		goto nomem;

	/* index -> manifest (at most one level: an index of indexes is not an image) */
	doc = read_json(c, digest, size, "manifest", err);
	if (!doc)
		goto out;
	if (is_index(media, doc)) {
		json_object *d = pick_platform(c, doc);

		if (!d || !jstr(d, "digest")) {
			berth_error_set(err, BERTH_E_NOT_FOUND,
					"image %s has no manifest for %s/%s%s%s", ref, c->os,
					c->arch, c->variant[0] ? "/" : "", c->variant);
			goto out;
		}
		snprintf(digest, sizeof(digest), "%s", jstr(d, "digest"));
		snprintf(media, sizeof(media), "%s", jstr(d, "mediaType") ? jstr(d, "mediaType") : "");
		size = jint(d, "size");
		json_object_put(doc);
		doc = read_json(c, digest, size, "manifest", err);
		if (!doc)
			goto out;
		if (is_index(media, doc)) {
			berth_error_set(err, BERTH_E_RUNTIME,
					"image %s: the manifest for this platform is an index", ref);
			goto out;
		}
	}
	{
		json_object *cd = jget(doc, "config");

		if (!jstr(cd, "digest")) {
			berth_error_set(err, BERTH_E_RUNTIME, "image %s: its manifest names no "
					"config", ref);
			goto out;
		}
		snprintf(digest, sizeof(digest), "%s", jstr(cd, "digest"));
		size = jint(cd, "size");
	}
	cfg = read_json(c, digest, size, "config", err);
	if (!cfg)
		goto out;

	diffs = jget(jget(cfg, "rootfs"), "diff_ids");
	n = diffs && json_object_is_type(diffs, json_type_array) ? json_object_array_length(diffs)
								 : 0;
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(diffs, i);

		ids[i] = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
								       : "";
	}
	out->chain_id = ctrd_chain_id(ids, n, err);
	if (!out->chain_id)
		goto out;
	if (stat_snapshot(c, out->chain_id, err) < 0) {
		if (err && err->code == BERTH_E_NOT_FOUND)
			berth_error_set(err, BERTH_E_NOT_FOUND,
					"image %s is in containerd namespace \"%s\" but not "
					"unpacked for snapshotter %s (import it again with `ctr -n "
					"%s images import --snapshotter %s IMAGE.tar`)",
					ref, c->namespace, c->snapshotter, c->namespace,
					c->snapshotter);
		goto out;
	}
	out->config = json_object_get(jget(cfg, "config"));
	ret = 0;
	goto out;
nomem:
	berth_error_set(err, BERTH_E_NOMEM, "out of memory");
out:
	if (ret < 0)
		ctrd_image_release(out);
	free(ids);
	json_object_put(cfg);
	json_object_put(doc);
	free(normal);
	if (img)
		protobuf_c_message_free_unpacked(&img->base, NULL);
	return ret;
}

void ctrd_image_release(struct ctrd_image *img)
{
	free(img->name);
	free(img->chain_id);
	json_object_put(img->config);
	memset(img, 0, sizeof(*img));
}
