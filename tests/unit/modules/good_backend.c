/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: a well-formed backend module (driver "good_backend"); logs its init and
 * cleanup through the host so that the test sees them and their order. */
#include "stub_ops.h"

static const berth_option good_backend_options[] = {
	{ "socket", BERTH_OPT_STRING, true, "the runtime's socket" },
	{ "timeout", BERTH_OPT_INT, false, "seconds" },
	{ 0 }
};

static const berth_backend_driver good_backend_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "good_backend",
	.description = "test backend good_backend",
	.options = good_backend_options,
	.open = stub_open,
	.close = stub_close,
	.capabilities = stub_capabilities,
	.create = stub_create,
	.start = stub_id_op,
	.kill = stub_kill,
	.remove = stub_id_op,
	.inspect = stub_inspect,
	.list = stub_list,
};

static const berth_host *saved_host;

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	saved_host = host;
	host->log(BERTH_LOG_DEBUG, "good_backend", "init abi %u", (unsigned)host->abi_version);
	return host->register_backend(self, &good_backend_driver, err);
}

void berth_module_cleanup(void)
{
	saved_host->log(BERTH_LOG_DEBUG, "good_backend", "cleanup");
}
