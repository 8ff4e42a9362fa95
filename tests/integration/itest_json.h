/* SPDX-License-Identifier: Apache-2.0 */
/* json-c lookups for the integration tests: what a runtime reports, read independently. */
#ifndef BERTH_ITEST_JSON_H
#define BERTH_ITEST_JSON_H

#include <stdint.h>

#include <json-c/json.h>

/* Value at a '.'-separated path of objects, or NULL. */
json_object *jpath(json_object *o, const char *path);
/* The string at path, or "" when absent or not a string. */
const char *jstr(json_object *o, const char *path);
/* The integer at path, or INT64_MIN when absent. */
int64_t jint(json_object *o, const char *path);
/* labels[key] of the object at labels_path (label keys contain dots: not through jpath),
 * or "". */
const char *jlabel(json_object *o, const char *labels_path, const char *key);

#endif
