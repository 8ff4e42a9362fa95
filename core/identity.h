/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's identity: the Ditto thing it serves and the Hono tenant, configured or
 * learned by a transport (PROTOCOL.md 1.2). Thread-safe. */
#ifndef BERTH_CORE_IDENTITY_H
#define BERTH_CORE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

void identity_set(const char *thing_id, const char *tenant);
/* Copies the thing id into buf (""/false when unknown or it does not fit). */
bool identity_thing(char *buf, size_t len);
/* Copies the tenant into buf ("" when none). */
void identity_tenant(char *buf, size_t len);
void identity_clear(void);

#define IDENTITY_MAX 256

#endif
