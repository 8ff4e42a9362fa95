/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: asks for ABI version 7, which no core implements (refused). */
#include "stub_ops.h"

static const berth_backend_driver bad_version_driver = STUB_BACKEND("bad_version");

int berth_module_version(int count, const int *supported)
{
	return 7;
}

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &bad_version_driver, err);
}
