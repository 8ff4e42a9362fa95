/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: registers a backend under the name good_backend already uses. */
#include "stub_ops.h"

static const berth_backend_driver dup_driver = STUB_BACKEND("good_backend");

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &dup_driver, err);
}
