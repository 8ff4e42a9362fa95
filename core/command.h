/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Commands: the path from a transport's message to its answer.
 *   intake (transport thread): size check, decode, route, parse the value, find the
 *     container, queue; anything wrong is answered at once with a 4xx and nothing runs.
 *   execution (worker, in the container's lane): ops_execute().
 *   answer: the Ditto response on the transport the command came from, unless the
 *     command is one-way (no reply address, or response-required false).
 */
#ifndef BERTH_CORE_COMMAND_H
#define BERTH_CORE_COMMAND_H

#include <berth/transport.h>

#include "ditto.h"

/* Envelope limits (agent config max_payload, max_json_depth). */
void command_set_limits(size_t max_payload, int max_depth);

/* host->transport_inbound(). Returns an enum berth_disposition. */
int command_inbound(berth_transport_handle *t, const berth_inbound *msg);

/* Statistics for the log and benchmarks. */
struct command_stats {
	unsigned long long received, answered, rejected_early, busy;
};
void command_stats(struct command_stats *out);

#endif
