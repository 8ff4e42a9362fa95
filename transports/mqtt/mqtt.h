/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT transport: the instance shared by the module's files, and their internal API.
 *
 * Threads: the core's main thread (open/start/stop/close), any core thread (send_reply,
 * send_event) and one network thread per instance (mqtt_conn.c) that connects, runs
 * mosquitto_loop() and calls every libmosquitto callback. Everything below "under lock"
 * is shared and only touched with `lock` held; the host is never called with `lock` held.
 */
#ifndef BERTH_MQTT_H
#define BERTH_MQTT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <berth/berth.h>

#include "mqtt_topics.h"

#define MQTT_LOG_DOMAIN "mqtt"
/* close(): how long to wait for the broker to acknowledge what was published. */
#define MQTT_FLUSH_TIMEOUT_MS 2000
/* close(): how long to wait for the network thread after DISCONNECT. */
#define MQTT_DISCONNECT_TIMEOUT_MS 2000
/* close(): how long to wait for the network thread to end after that. */
#define MQTT_JOIN_TIMEOUT_S 3

/* The instance's configuration, read and checked by open() (mqtt_settings.c). */
struct mqtt_config {
	struct mqtt_url url;
	char *client_id;
	char *username;
	char *password;
	char *ca_file;
	char *ca_dir;
	char *cert_file;
	char *key_file;
	char *tls_version;
	bool tls_insecure;
	int protocol;          /* MQTT_PROTOCOL_V311 or MQTT_PROTOCOL_V5 */
	int keepalive;         /* seconds */
	bool clean_session;
	long long session_expiry; /* seconds, MQTT 5 only */
	int qos;               /* replies: 0 or 1 */
	int reconnect_min;     /* seconds */
	int reconnect_max;     /* seconds */
	/* the configured identity; thing_id NULL: learn it (edge/thing/request) */
	char *thing_id;
	char *tenant;
	char *device_id;
};

/* A set of message ids. */
struct mqtt_mids {
	int *v;
	size_t n, cap;
};

enum mqtt_link {
	MQTT_LINK_UNKNOWN = 0,
	MQTT_LINK_ONLINE,
	MQTT_LINK_OFFLINE,
};

struct mqtt {
	const berth_host *host;
	berth_transport_handle *handle;
	struct mqtt_config cfg;
	struct mosquitto *mosq;
	mosquitto_property *connect_props; /* MQTT 5 CONNECT properties, or NULL */
	pthread_t thread;
	bool thread_started; /* main thread only */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* ---- under lock ---- */
	bool closing;        /* close() runs: no reconnect, no offline reports */
	bool quit;           /* the network thread must return now */
	bool thread_done;
	bool stopped;        /* stop() was called: no more transport_inbound() */
	bool connected;      /* CONNACK accepted, not yet disconnected */
	enum mqtt_link link; /* what the host was last told */
	char *thing_id;      /* the current identity: configured or learned (NULL: unknown) */
	char *tenant;
	char *cmd_filter;    /* the command subscription made on this connection, or NULL */
	int cmd_sub_mid;     /* mid of the SUBSCRIBE for cmd_filter awaiting its SUBACK, or 0 */
	struct mqtt_mids pending; /* published, not yet acknowledged (QoS 1) or written (QoS 0) */
	struct mqtt_mids early;   /* acknowledged before mqtt_publish() recorded them */
	char last_error[256];     /* why the last connection attempt failed */
};

/* mqtt.c */
void mqtt_log(const struct mqtt *m, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mqtt_settings.c */
extern const berth_option mqtt_options[];
int mqtt_config_read(const berth_host *host, const berth_settings *s, struct mqtt_config *cfg,
		     berth_error *err);
void mqtt_config_clear(struct mqtt_config *cfg);

/* mqtt_conn.c */
int mqtt_conn_setup(struct mqtt *m, berth_error *err);
int mqtt_conn_start(struct mqtt *m, berth_error *err);
/* Flushes (bounded), disconnects and joins the network thread; false when the thread
 * had to be left behind (then `m` must not be freed). */
bool mqtt_conn_shutdown(struct mqtt *m);
/* Publishes (any thread); QoS 1 messages published while disconnected stay queued in
 * libmosquitto and go out after the reconnect. */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		 const mosquitto_property *props, berth_error *err);
/* Subscribes command//<device>/req/# (network thread only), replacing another command
 * subscription; the host is told online when the SUBACK arrives. */
void mqtt_subscribe_commands(struct mqtt *m, const char *device);
/* Tells the host the current identity (network thread). */
void mqtt_report_online(struct mqtt *m);
void mqtt_report_offline(struct mqtt *m, const char *why);

/* mqtt_inbound.c */
void mqtt_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
		     const mosquitto_property *props);

/* mqtt_identity.c */
struct mqtt_identity_msg {
	char *device_id;
	char *tenant_id;
	char *policy_id; /* or NULL */
};
/* Parses an edge/thing/response payload. 0, or -1 with `why` filled. Pure. */
int mqtt_identity_parse(const char *payload, size_t len, struct mqtt_identity_msg *out,
			char *why, size_t why_len);
void mqtt_identity_msg_clear(struct mqtt_identity_msg *msg);
/* deviceId + ":edge:containers"; NULL when out of memory. */
char *mqtt_identity_thing_id_new(const char *device_id);
/* (Re)connected: subscribe edge/thing/response, publish edge/thing/request. */
void mqtt_identity_on_connect(struct mqtt *m);
/* An edge/thing/response arrived (network thread). */
void mqtt_identity_on_response(struct mqtt *m, const void *payload, size_t len);

#endif
