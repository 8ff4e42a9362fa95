/* SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>

#include "jsonutil.h"
#include "restlist.h"

int restlist_walk(const char *body, const char *runtime, restlist_inspect_fn inspect,
		  void *instance, berth_list_cb cb, void *userdata, berth_error *err)
{
	json_object *root = json_tokener_parse(body);
	size_t n;
	int ret = 0;

	if (!root || !json_object_is_type(root, json_type_array)) {
		json_object_put(root);
		return berth_error_set(err, BERTH_E_RUNTIME, "%s's container list is not a list",
				       runtime);
	}
	n = json_object_array_length(root);
	for (size_t i = 0; i < n; i++) {
		const char *id = jsonutil_string(json_object_array_get_idx(root, i), "Id");
		berth_container_info info = { .size = sizeof(info) };
		berth_error e;

		if (!id)
			continue;
		if (inspect(instance, id, &info, &e) < 0) {
			if (e.code == BERTH_E_NOT_FOUND)
				continue; /* removed since the list was made */
			if (err)
				*err = e;
			ret = -1;
			break;
		}
		ret = cb(userdata, &info);
		berth_container_info_release(&info);
		if (ret)
			break;
	}
	json_object_put(root);
	return ret;
}
