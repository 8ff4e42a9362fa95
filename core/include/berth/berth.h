/* SPDX-License-Identifier: Apache-2.0 */
/* berth module SDK: everything a module needs. See berth-module(7). */
#ifndef BERTH_BERTH_H
#define BERTH_BERTH_H

#include <berth/error.h>
#include <berth/module.h>
#include <berth/backend.h>
#include <berth/transport.h>

#endif
