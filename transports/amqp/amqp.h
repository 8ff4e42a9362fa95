/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMQP 1.0 transport: what the files of transports/amqp share.
 *
 *   module.c      entry points, driver table, open/start/stop/close, the outgoing queue
 *                 that send_reply()/send_event() fill from any thread
 *   settings.c    options, URL parsing and validation (open())
 *   message.c     wire <-> core: decoding commands, typed correlation-ids, encoding replies
 *                 and events (pure functions, no proton engine objects)
 *   connection.c  the proactor thread: connect, SASL/TLS, links, credit, settlement,
 *                 resending, reconnect with back-off
 *
 * Threading: one thread (connection.c) owns every proton engine object (proactor events,
 * connection, session, links, deliveries). Other threads only touch `struct amqp` fields
 * marked "lock" under amqp.lock, and wake the thread with pn_connection_wake() (while a
 * connection exists) or pn_proactor_interrupt(); both are thread-safe.
 */
#ifndef BERTH_AMQP_H
#define BERTH_AMQP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/proactor.h>
#include <proton/ssl.h>

#include <berth/berth.h>

#define AMQP_LOG "amqp"

/* Bounds. */
#define AMQP_FIELD_MAX 4096          /* subject, reply-to, content-type, device_id, addresses */
#define AMQP_CID_BINARY_MAX 512      /* bytes of a binary correlation-id */
#define AMQP_MAX_FRAME 16384        /* bytes: bounds what proton buffers per frame */
#define AMQP_SENDER_CACHE 8          /* per-address sender links without ANONYMOUS-RELAY */
#define AMQP_REASON_MAX 512
#define AMQP_CLOSE_FLUSH_MS 2000     /* close(): wait this long for unsettled messages */
#define AMQP_CLOSE_LINGER_MS 1000    /* close(): then this long for the peer's close */
#define AMQP_MAX_REFUSALS 3          /* then a message whose link never attaches is dropped */

/* ---- settings (settings.c); read-only after open() ---- */

struct amqp_settings {
	char *url;              /* as configured, for logs */
	char *host;             /* name or address, IPv6 without brackets */
	char port[8];
	bool tls;
	char *username;
	char *password;
	char *mechanisms;       /* space-separated for pn_sasl_allowed_mechs(); NULL = no SASL */
	char *ca_file;
	char *cert_file;
	char *key_file;
	bool tls_insecure;
	char *command_source;
	char *event_address;
	char *container_id;
	int credit;
	unsigned idle_timeout_ms;  /* 0 = off */
	int reconnect_min_ms;
	int reconnect_max_ms;
	int queue_limit;
	size_t max_message_size;
};

extern const berth_option amqp_options[];

/* Reads and validates the instance's settings and, for amqps://, builds the TLS domain
 * (*ssl_domain, caller frees). Errors name file, line and key. */
int settings_read(const berth_host *host, const berth_settings *s, struct amqp_settings *out,
		  pn_ssl_domain_t **ssl_domain, berth_error *err);
void settings_free(struct amqp_settings *cfg);
/* Splits "amqp[s]://host[:port][/]" (host: name, IPv4, [IPv6]). Returns 0 or -1 with a
 * reason in why. host is malloc()ed. */
int settings_parse_url(const char *url, char **host, char port[8], bool *tls, char *why,
		       size_t why_len);

/* ---- outgoing messages (module.c fills, connection.c sends) ---- */

enum amqp_out_kind { AMQP_OUT_REPLY = 1, AMQP_OUT_EVENT = 2 };
enum amqp_out_state { AMQP_OUT_QUEUED = 0, AMQP_OUT_SENT = 1 };

struct amqp_out {
	struct amqp_out *next;
	int kind;               /* enum amqp_out_kind */
	char *address;          /* `to`; the link target without ANONYMOUS-RELAY */
	char *bytes;            /* the encoded message (malloc()ed) */
	size_t len;
	uint64_t seq;
	/* proactor thread only: */
	int state;              /* enum amqp_out_state */
	pn_delivery_t *delivery;/* while SENT */
	int64_t not_before_ms;  /* after `released`: resend from then on */
	int attempts;
	int refusals;           /* sessions the peer ended while this address's link attached */
};

void out_free(struct amqp_out *o);

/* ---- one sender link per address (no ANONYMOUS-RELAY); proactor thread only ---- */

struct amqp_sender {
	pn_link_t *link;
	char *address;
	int64_t last_used_ms;
	unsigned inflight;
};

/* ---- the instance ---- */

struct amqp {
	const berth_host *host;
	berth_transport_handle *handle;
	struct amqp_settings cfg;
	pn_ssl_domain_t *ssl_domain;   /* NULL without TLS */

	pn_proactor_t *proactor;
	pthread_t thread;
	bool thread_running;           /* main thread only */

	pthread_mutex_t lock;
	pthread_cond_t cond;           /* total dropped to 0, or the thread exited */
	struct amqp_out *in_head;      /* lock: handed over by send_*(), not yet taken */
	struct amqp_out *in_tail;      /* lock */
	size_t total;                  /* lock: in the hand-over list + in the thread's queue */
	uint64_t next_seq;             /* lock */
	bool closing;                  /* lock: close() began, send_*() refuse */
	bool shutdown;                 /* lock: the thread is to close the connection and exit */
	bool stop_rcv;                 /* lock: stop() ran: close the receiver */
	bool thread_exited;            /* lock */
	bool interrupt_pending;        /* lock: a PN_PROACTOR_INTERRUPT is on its way */
	pn_connection_t *wake_conn;    /* lock: the connection to pn_connection_wake(), or NULL */

	/* Held around every transport_inbound() so that stop() returns only when no call is
	 * running and none will start. */
	pthread_mutex_t inbound_lock;
	bool inbound_stopped;          /* inbound_lock */

	/* ---- proactor thread only ---- */
	pn_connection_t *conn;
	pn_session_t *session;
	pn_link_t *receiver;
	pn_link_t *anon;               /* the anonymous sender (ANONYMOUS-RELAY) or NULL */
	bool relay;                    /* the peer offered ANONYMOUS-RELAY */
	bool remote_open;              /* connection opened by the peer */
	bool online;                   /* reported transport_online() */
	bool offline_reported;
	char last_reason[AMQP_REASON_MAX];
	char close_reason[AMQP_REASON_MAX]; /* why we closed the connection ourselves */
	struct amqp_sender senders[AMQP_SENDER_CACHE];
	unsigned link_serial;
	uint64_t next_tag;             /* delivery tags, per connection */
	struct amqp_out *q_head, *q_tail; /* the thread's queue, in order */
	int backoff_ms;
	int64_t reconnect_at_ms;       /* 0 = none */
	int64_t linger_until_ms;       /* shutdown: give up on a graceful close then */
	bool linger;
	bool exit_loop;
	bool rx_discard;               /* draining an over-sized incoming delivery */
	int credit_owed;               /* commands settled, credit not granted again yet */
	bool settled_in_batch;         /* a command was settled in the current batch */
	unsigned long attempts;        /* connection attempts, for logs */
};

/* connection.c */
void *connection_thread(void *arg);
/* Wakes the proactor thread; call with a->lock held. */
void connection_wake_locked(struct amqp *a);
int64_t amqp_now_ms(void);

/* ---- message.c ---- */

/* One decoded command; strings are NUL-terminated malloc()ed copies or NULL. */
struct amqp_command {
	char *body;
	size_t body_len;
	char *subject;
	char *reply_to;         /* the opaque token for the core (see message.c), or NULL */
	char *correlation_id;   /* a readable form, or NULL */
	char *content_type;
	char *device_id;
};

/* Decodes an encoded AMQP message. Returns 0, or -1 with a description for the peer's
 * `rejected` outcome in why (amqp:decode-error). */
int message_decode_command(const char *bytes, size_t len, struct amqp_command *cmd,
			   char *why, size_t why_len);
void message_command_clear(struct amqp_command *cmd);

/* Encodes a reply / event; returns 0 or -1 (err). *out and *address are malloc()ed. */
int message_encode_reply(const berth_reply *r, char **out, size_t *out_len, char **address,
			 berth_error *err);
int message_encode_event(const berth_outbound_event *ev, const char *address, char **out,
			 size_t *out_len, berth_error *err);

#endif
