/* SPDX-License-Identifier: Apache-2.0 */
/* Test module: exports berth_module_version but no berth_module_init (refused). */
#include <berth/berth.h>

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)
