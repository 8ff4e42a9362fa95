/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth module SDK: transports.
 *
 * A transport carries Ditto envelopes between the cloud (Hono) and the core: commands
 * in, responses and twin events out. The core does all Ditto work; the transport only
 * knows its wire: topics for MQTT, links and message properties for AMQP 1.0.
 *
 * THREADING CONTRACT
 *  - open(), start(), stop() and close() are called from the core's main thread.
 *  - The transport runs its own network thread(s). From there it calls
 *    host->transport_inbound() for every command, and host->transport_online() /
 *    transport_offline() when its connection comes and goes.
 *  - transport_inbound() decodes and queues the command and returns its disposition
 *    quickly (it never waits for the runtime). Settle the wire message accordingly.
 *  - send_reply() and send_event() may be called from any core thread, concurrently,
 *    while the transport's thread runs: queue and wake your thread, or lock.
 *  - After stop() returns, no more transport_inbound() calls may happen; send_reply()
 *    and send_event() are still called while in-flight commands finish; then close().
 *
 * DELIVERY
 *  - A command is acknowledged to the peer (AMQP `accepted`, MQTT PUBACK) only when
 *    transport_inbound() returned BERTH_DISPOSITION_ACCEPTED.
 *  - Replies and events are at-least-once: keep them until the peer acknowledged
 *    them and send them again after a reconnect.
 */
#ifndef BERTH_TRANSPORT_H
#define BERTH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/error.h>
#include <berth/module.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What transport_inbound() returns. Numbers are ABI. */
enum berth_disposition {
	BERTH_DISPOSITION_ACCEPTED = 0, /* queued or already answered: settle as done */
	BERTH_DISPOSITION_RELEASED = 1, /* not taken (queue full, shutting down): the peer
					 * may deliver it again (AMQP `released`) */
	BERTH_DISPOSITION_REJECTED = 2, /* cannot ever be a command (AMQP `rejected`) */
};

/* One command as it came off the wire. Everything is borrowed for the call. */
typedef struct berth_inbound {
	uint32_t size;
	const char *payload; /* the Ditto envelope; not NUL-terminated */
	size_t payload_len;
	/* Opaque reply address, copied into berth_reply.reply_to. NULL when the wire
	 * message cannot be answered (AMQP without reply-to). The MQTT transport encodes
	 * the Hono request id (possibly empty) here. */
	const char *reply_to;
	const char *correlation_id; /* wire-level correlation id (AMQP), or NULL */
	const char *subject;        /* Hono command name (MQTT topic tail, AMQP subject) */
	const char *device_id;      /* device the command addresses (gateway), or NULL */
	const char *content_type;   /* wire content type, or NULL */
	void *reserved[4];
} berth_inbound;

/* A response to send back. */
typedef struct berth_reply {
	uint32_t size;
	const char *reply_to;       /* as given in berth_inbound */
	const char *correlation_id; /* the command's (wire level if it had one, else Ditto's) */
	const char *subject;        /* the command's Hono subject / Ditto operation */
	const char *device_id;      /* as given in berth_inbound */
	int status;                 /* Ditto status: 200, 204, 400, ... */
	const char *payload;        /* the Ditto response envelope (JSON) */
	size_t payload_len;
	const char *content_type;   /* "application/vnd.eclipse.ditto+json" */
	void *reserved[4];
} berth_reply;

/* A twin event (a Ditto twin command published on Hono's event address). */
typedef struct berth_outbound_event {
	uint32_t size;
	const char *thing_id;
	const char *tenant;   /* may be NULL */
	const char *payload;  /* the Ditto envelope (JSON) */
	size_t payload_len;
	const char *content_type;
	void *reserved[4];
} berth_outbound_event;

enum berth_transport_cap {
	/* The peer redelivers a released command (AMQP). Without it, the core answers
	 * a command it cannot queue with 429/503 instead of releasing it. */
	BERTH_TCAP_REDELIVERY = 1u << 0,
	/* The transport learns the agent's identity itself (MQTT edge/thing/response). */
	BERTH_TCAP_IDENTITY = 1u << 1,
};

typedef struct berth_transport_driver {
	uint32_t size;
	const char *name;        /* the `module = "..."` value, e.g. "mqtt" */
	const char *description;
	const berth_option *options;

	/* Reads the configuration; must not connect yet. Required. */
	int (*open)(const berth_host *host, const berth_settings *settings,
		    berth_transport_handle *handle, void **instance, berth_error *err);
	/* enum berth_transport_cap bits. Required. */
	uint64_t (*capabilities)(void *instance);
	/* Connects (asynchronously: a peer that is down is retried with back-off and
	 * reported through transport_offline()) and starts receiving. Required. */
	int (*start)(void *instance, berth_error *err);
	/* Sends a command response. Required. */
	int (*send_reply)(void *instance, const berth_reply *reply, berth_error *err);
	/* Publishes a twin event. Required. */
	int (*send_event)(void *instance, const berth_outbound_event *ev, berth_error *err);
	/* Stops taking commands (unsubscribe / close the receiver); keeps sending. */
	void (*stop)(void *instance);
	/* Flushes what is queued (bounded wait), disconnects and frees. Required. */
	void (*close)(void *instance);

	void *reserved[16];
} berth_transport_driver;

#define BERTH_TRANSPORT_DRIVER_MIN_SIZE                                                 \
	(offsetof(berth_transport_driver, close) + sizeof(void *))

#ifdef __cplusplus
}
#endif

#endif
