/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: registers a backend table without its required `inspect` op. */
#include "stub_ops.h"

static const berth_backend_driver bad_table_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "bad_table",
	.open = stub_open,
	.close = stub_close,
	.capabilities = stub_capabilities,
	.create = stub_create,
	.start = stub_id_op,
	.kill = stub_kill,
	.remove = stub_id_op,
	.inspect = NULL,
	.list = stub_list,
};

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &bad_table_driver, err);
}
