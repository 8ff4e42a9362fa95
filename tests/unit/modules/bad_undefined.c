/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: needs a symbol nothing provides, so dlopen(RTLD_NOW) fails. */
#include <berth/berth.h>

int berth_test_no_such_function(void);

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return berth_test_no_such_function();
}
