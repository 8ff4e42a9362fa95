/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "itest_json.h"

json_object *jpath(json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

const char *jstr(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

int64_t jint(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	return v ? json_object_get_int64(v) : INT64_MIN;
}

const char *jlabel(json_object *o, const char *labels_path, const char *key)
{
	json_object *labels = jpath(o, labels_path), *v;

	if (!labels || !json_object_object_get_ex(labels, key, &v))
		return "";
	return json_object_get_string(v);
}
