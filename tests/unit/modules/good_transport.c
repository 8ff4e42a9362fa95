/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: a well-formed transport module (driver "good_transport"). */
#include "stub_ops.h"

static const berth_transport_driver good_transport_driver = STUB_TRANSPORT("good_transport");
static const berth_host *saved_host;

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	saved_host = host;
	host->log(BERTH_LOG_DEBUG, "good_transport", "init abi %u", (unsigned)host->abi_version);
	return host->register_transport(self, &good_transport_driver, err);
}

void berth_module_cleanup(void)
{
	saved_host->log(BERTH_LOG_DEBUG, "good_transport", "cleanup");
}
