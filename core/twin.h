/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Twin reporting (PROTOCOL.md sections 6 and 9): Ditto twin commands published as
 * events on every online transport. Callers must not hold c->lock.
 */
#ifndef BERTH_CORE_TWIN_H
#define BERTH_CORE_TWIN_H

#include "container.h"
#include "transports.h"

#define TWIN_CONTAINER_DEFINITION "com.bosch.iot.suite.edge.containers:Container:1.5.0"
#define TWIN_FACTORY_DEFINITION "com.bosch.iot.suite.edge.containers:ContainerFactory:1.3.0"

/* Feature Container:<id> as a whole (definition + properties.status); remembers it in
 * the announced list. */
void twin_feature(struct container *c);
/* .../properties/status/state, .../status/name, .../status/config */
void twin_state(struct container *c);
void twin_name(struct container *c);
void twin_config(struct container *c);
/* State DEAD, then the feature's deletion; forgets it in the announced list. */
void twin_removed(struct container *c);
/* Full resync to one transport (or all when NULL): ContainerFactory, every container's
 * feature, deletions for announced features whose containers are gone. */
void twin_resync(struct berth_transport_handle *only);

/* Loads the announced list from the store (at start-up). */
void twin_init(void);
void twin_cleanup(void);

#endif
