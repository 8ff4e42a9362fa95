/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: a transport built into the core (no module) through which the
 * local CLI, berthctl, sends Container API commands down exactly the path a cloud
 * command takes (command_inbound: decode, route, parse, queue, run, answer), and reads
 * the container table and the agent's status.
 *
 * Socket: SOCK_STREAM unix socket at agent.control_socket (default
 * <run_dir>/berthd.sock; "" = none), mode 0660, owned by berthd's user; its directory
 * is created (0755) when missing. A peer whose SO_PEERCRED uid is neither 0 nor
 * berthd's euid is answered 403 and disconnected (and logged). At most
 * CONTROL_MAX_CLIENTS connections; a request line is at most agent.max_payload +
 * CONTROL_REQUEST_SLACK bytes (413 and disconnect beyond).
 *
 * Protocol: newline-delimited JSON, one request object per line, one response object
 * per line. A connection's requests are answered one at a time, in order: the next
 * line is read only after the previous request was answered. Every response has an
 * integer "status" (HTTP-like); a request the control socket itself refuses has
 * "error" (text) instead of the payload.
 *
 *   {"request":"list"}
 *     -> {"status":200,"containers":[{"id","name","backend","nativeId","image","state",
 *                                     "pid","exitCode","error","createdAt","startedAt",
 *                                     "finishedAt","restartCount"}, ...]}
 *        (a snapshot of the container table; absent members are unset)
 *   {"request":"show","id":"<container id or name>"}
 *     -> {"status":200,"container":<the stored record, container_record_json()>}
 *        or {"status":404,"error":"..."}
 *   {"request":"status"}
 *     -> {"status":200,"agent":{"version","thingId","tenant",
 *                               "transports":[{"name","module","online"}],
 *                               "backends":[{"name","module","default","reachable",
 *                                            "version","error"}],
 *                               "containers","queuePending",
 *                               "commands":{"received","answered","rejectedEarly","busy"}}}
 *        (thingId/tenant null while unknown; the control transport is not listed)
 *   {"request":"command","envelope":<Ditto envelope: an object, or its JSON text>}
 *     -> handed to command_inbound() like a cloud command, reply address
 *        "<slot>:<generation>:<sequence>" (the connection and the request). The answer:
 *        {"status":<Ditto status>,"response":<the Ditto response envelope>}.
 *        A one-way envelope (header response-required false) is answered
 *        {"status":202} as soon as it is queued. An answer for a connection that has
 *        gone (berthctl timed out) is dropped.
 *   anything else -> {"status":400,"error":"..."}
 *
 * Threading: one thread of its own polls the listener and the connections. The core
 * calls send_reply() from its workers (or from the control thread itself, for an
 * answer command_inbound() gives at once); replies are handed to the control thread
 * under a lock and an eventfd wakes it.
 */
#ifndef BERTH_CORE_CONTROL_H
#define BERTH_CORE_CONTROL_H

#include <berth/error.h>

#include "config.h"

#define CONTROL_MAX_CLIENTS 16
#define CONTROL_REQUEST_SLACK 4096 /* a request's bytes beyond agent.max_payload */

/* Adds the control transport (transports_add_builtin) unless agent.control_socket is "".
 * Call after transports_open_all(); the socket is created by transports_start_all(). */
int control_open(const struct agent_config *agent, berth_error *err);

#endif
