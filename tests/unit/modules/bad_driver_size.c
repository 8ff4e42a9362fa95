/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: registers a backend table whose size is below the ABI's minimum (as a
 * module built against a truncated SDK would). */
#include "stub_ops.h"

static const berth_backend_driver small_table_driver = {
	.size = offsetof(berth_backend_driver, list), /* `list` not included */
	.name = "small_table",
	.open = stub_open,
	.close = stub_close,
	.capabilities = stub_capabilities,
	.create = stub_create,
	.start = stub_id_op,
	.kill = stub_kill,
	.remove = stub_id_op,
	.inspect = stub_inspect,
};

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &small_table_driver, err);
}
