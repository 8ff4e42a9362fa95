/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: exports berth_module_init but no berth_module_version (refused). */
#include "stub_ops.h"

static const berth_backend_driver missing_version_driver = STUB_BACKEND("missing_version");

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &missing_version_driver, err);
}
