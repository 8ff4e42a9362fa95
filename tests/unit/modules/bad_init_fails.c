/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: registers a backend and a transport, then fails its init. The core must
 * forget both drivers. */
#include "stub_ops.h"

static const berth_backend_driver init_fails_backend = STUB_BACKEND("init_fails");
static const berth_transport_driver init_fails_transport = STUB_TRANSPORT("init_fails");

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	if (host->register_backend(self, &init_fails_backend, err) < 0)
		return -1;
	if (host->register_transport(self, &init_fails_transport, err) < 0)
		return -1;
	return berth_error_set(err, BERTH_E_UNAVAILABLE, "cannot reach the frobnicator");
}

void berth_module_cleanup(void)
{
	/* must not be called after a failed init */
	abort();
}
