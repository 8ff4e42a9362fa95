/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: a small gRPC client over a unix socket (libnghttp2 for HTTP/2,
 * protobuf-c for the messages).
 *
 * Every call opens its own connection, sends the HTTP/2 preface, one request stream
 * (`POST /<service>/<method>`, `containerd-namespace: <ns>`), and closes the connection
 * when the stream ends. Calls therefore share nothing and are safe from any number of
 * threads at once; a connection costs one connect() and one SETTINGS round trip on a
 * local socket (README.md has the measured figure).
 *
 * grpc-status -> berth codes: NOT_FOUND -> BERTH_E_NOT_FOUND; ALREADY_EXISTS and
 * FAILED_PRECONDITION -> BERTH_E_CONFLICT; UNAVAILABLE and every failure to connect or a
 * connection that breaks -> BERTH_E_UNAVAILABLE; DEADLINE_EXCEEDED or our own deadline
 * -> BERTH_E_TIMEOUT; anything else -> BERTH_E_RUNTIME with containerd's grpc-message.
 */
#ifndef BERTH_CTRD_GRPC_H
#define BERTH_CTRD_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <berth/error.h>

/* gRPC status codes we name (grpc/doc/statuscodes.md). */
enum ctrd_grpc_status {
	CTRD_GRPC_OK = 0,
	CTRD_GRPC_CANCELLED = 1,
	CTRD_GRPC_UNKNOWN = 2,
	CTRD_GRPC_INVALID_ARGUMENT = 3,
	CTRD_GRPC_DEADLINE_EXCEEDED = 4,
	CTRD_GRPC_NOT_FOUND = 5,
	CTRD_GRPC_ALREADY_EXISTS = 6,
	CTRD_GRPC_FAILED_PRECONDITION = 9,
	CTRD_GRPC_UNIMPLEMENTED = 12,
	CTRD_GRPC_UNAVAILABLE = 14,
};

/* Where and as whom to call. Borrowed by every call. */
struct ctrd_grpc_target {
	const char *socket;    /* filesystem path of containerd's socket */
	const char *namespace; /* containerd-namespace header */
};

/* The largest message accepted from containerd (a manifest, a container list). */
#define CTRD_GRPC_MAX_MESSAGE (16u << 20)

/*
 * One unary call. `req` is packed with protobuf-c; the answer is unpacked with
 * `resp_desc` into *resp_out (caller frees with protobuf_c_message_free_unpacked); pass
 * resp_desc NULL for methods that answer google.protobuf.Empty. `what` prefixes error
 * messages ("start 3f2a..."). timeout_ms > 0. Returns 0 or -1 with err filled; on -1,
 * *grpc_status_out (when non-NULL) holds containerd's status (-1 when none arrived).
 */
int ctrd_grpc_call(const struct ctrd_grpc_target *t, const char *method,
		   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		   ProtobufCMessage **resp_out, long timeout_ms, const char *what,
		   int *grpc_status_out, berth_error *err);

/* A server-streaming call's callbacks. on_message gets each message's bytes (borrowed);
 * a non-zero return ends the call (ctrd_grpc_stream returns it, err untouched). */
struct ctrd_grpc_stream_ops {
	void (*on_accepted)(void *userdata); /* response headers with :status 200 arrived */
	int (*on_message)(void *userdata, const uint8_t *data, size_t len);
	void *userdata;
};

/*
 * A server-streaming call (Events.Subscribe, Content.Read). timeout_ms <= 0: no
 * deadline. wake_fd >= 0: the call ends with BERTH_E_SHUTDOWN as soon as it becomes
 * readable (close() of the event thread). Returns 0 when the server ended the stream
 * with grpc-status OK, -1 with err filled, or on_message's non-zero value.
 */
int ctrd_grpc_stream(const struct ctrd_grpc_target *t, const char *method,
		     const ProtobufCMessage *req, const struct ctrd_grpc_stream_ops *ops,
		     long timeout_ms, int wake_fd, const char *what, berth_error *err);

/* grpc-status -> enum berth_code (as in the header comment). */
int ctrd_grpc_code(int grpc_status);

#endif
