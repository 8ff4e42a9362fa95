/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT transport: the connection. One network thread per instance connects (TLS,
 * credentials, MQTT 3.1.1 or 5 with a persistent session), runs mosquitto_loop(),
 * reconnects with exponential back-off and reports online/offline to the host.
 *
 * Why not mosquitto_loop_start(): libmosquitto's own thread gives no callback when a
 * connection attempt fails (so a broker that is down could not be reported offline) and
 * returns for good on a TLS error (a broker restarting with TLS would never be retried).
 * Here every failed attempt is reported and retried.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt.h"

/* ---- message id sets ---------------------------------------------------------------- */

static bool mids_take(struct mqtt_mids *s, int mid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == mid) {
			s->v[i] = s->v[--s->n];
			return true;
		}
	return false;
}

static bool mids_add(struct mqtt_mids *s, int mid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		int *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = mid;
	return true;
}

static void mids_free(struct mqtt_mids *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- helpers -------------------------------------------------------------------------- */

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void set_last_error(struct mqtt *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_last_error(struct mqtt *m, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->lock);
	va_start(ap, fmt);
	vsnprintf(m->last_error, sizeof(m->last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&m->lock);
}

/* A sentence for a libmosquitto result code; `saved_errno` for MOSQ_ERR_ERRNO. */
static const char *describe_rc(int rc, int saved_errno)
{
	switch (rc) {
	case MOSQ_ERR_ERRNO:
		return strerror(saved_errno);
	case MOSQ_ERR_EAI:
		return "cannot resolve the host name";
	case MOSQ_ERR_TLS:
		return "TLS handshake failed";
	default:
		return mosquitto_strerror(rc);
	}
}

static bool flag(struct mqtt *m, bool *f)
{
	bool v;

	pthread_mutex_lock(&m->lock);
	v = *f;
	pthread_mutex_unlock(&m->lock);
	return v;
}

/* ---- host notifications (never with the lock held) ------------------------------------ */

void mqtt_report_online(struct mqtt *m)
{
	berth_identity id = { .size = sizeof(id) };
	char *thing, *tenant;

	pthread_mutex_lock(&m->lock);
	if (m->closing || !m->thing_id) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	thing = strdup(m->thing_id);
	tenant = m->tenant ? strdup(m->tenant) : NULL;
	m->link = MQTT_LINK_ONLINE;
	pthread_mutex_unlock(&m->lock);
	if (!thing)
		goto out;
	id.thing_id = thing;
	id.tenant = tenant;
	id.device_id = m->cfg.device_id;
	mqtt_log(m, BERTH_LOG_INFO, "online at %s:%d as %s (thing %s, tenant %s)",
		 m->cfg.url.host, m->cfg.url.port, m->cfg.client_id, thing, tenant ? tenant : "-");
	m->host->transport_online(m->handle, &id);
out:
	free(thing);
	free(tenant);
}

void mqtt_report_offline(struct mqtt *m, const char *why)
{
	bool tell;

	pthread_mutex_lock(&m->lock);
	tell = !m->closing && m->link != MQTT_LINK_OFFLINE;
	if (tell)
		m->link = MQTT_LINK_OFFLINE;
	pthread_mutex_unlock(&m->lock);
	if (tell) {
		mqtt_log(m, BERTH_LOG_WARNING, "offline: %s", why);
		m->host->transport_offline(m->handle, why);
	}
}

/* ---- publishing ----------------------------------------------------------------------- */

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		 const mosquitto_property *props, berth_error *err)
{
	int mid = 0, rc;
	bool ok = true;

	if (len > MQTT_MAX_PAYLOAD)
		return berth_error_set(err, BERTH_E_INVALID,
				       "message of %zu bytes is larger than MQTT allows", len);
	if (m->cfg.protocol != MQTT_PROTOCOL_V5)
		props = NULL;
	rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int)len, payload, qos, false, props);
	if (qos > 0 &&
	    (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)) {
		/* libmosquitto queued the QoS 1 message before it tried to send it, and sends
		 * it again after the reconnect */
		mqtt_log(m, BERTH_LOG_DEBUG, "not connected: %s (mid %d) waits for the reconnect",
			 topic, mid);
		rc = MOSQ_ERR_SUCCESS;
	}
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		break;
	case MOSQ_ERR_NO_CONN:
		return berth_error_set(err, BERTH_E_UNAVAILABLE, "not connected to the MQTT broker");
	case MOSQ_ERR_NOMEM:
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_MALFORMED_UTF8:
		return berth_error_set(err, BERTH_E_INVALID, "cannot publish on %s: %s", topic,
				       mosquitto_strerror(rc));
	default:
		return berth_error_set(err, BERTH_E_UNAVAILABLE, "cannot publish on %s: %s", topic,
				       mosquitto_strerror(rc));
	}
	pthread_mutex_lock(&m->lock);
	if (!mids_take(&m->early, mid))
		ok = mids_add(&m->pending, mid);
	pthread_mutex_unlock(&m->lock);
	if (!ok)
		mqtt_log(m, BERTH_LOG_WARNING, "out of memory: close() will not wait for mid %d", mid);
	return 0;
}

/* ---- subscriptions -------------------------------------------------------------------- */

void mqtt_subscribe_commands(struct mqtt *m, const char *device)
{
	char *filter = mqtt_command_filter_new(device), *old;
	int mid = 0, rc;

	if (!filter) {
		mqtt_log(m, BERTH_LOG_ERR, "cannot subscribe to commands for \"%s\"", device);
		return;
	}
	pthread_mutex_lock(&m->lock);
	old = m->cmd_filter;
	m->cmd_filter = NULL;
	pthread_mutex_unlock(&m->lock);
	if (old && strcmp(old, filter) != 0) {
		rc = mosquitto_unsubscribe(m->mosq, NULL, old);
		mqtt_log(m, rc ? BERTH_LOG_WARNING : BERTH_LOG_INFO, "unsubscribe %s: %s", old,
			 mosquitto_strerror(rc));
	}
	free(old);
	rc = mosquitto_subscribe(m->mosq, &mid, filter, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		/* the connection is going away: the next on_connect subscribes again */
		mqtt_log(m, BERTH_LOG_WARNING, "subscribe %s: %s", filter, mosquitto_strerror(rc));
		free(filter);
		return;
	}
	mqtt_log(m, BERTH_LOG_DEBUG, "subscribe %s (mid %d)", filter, mid);
	pthread_mutex_lock(&m->lock);
	m->cmd_filter = filter;
	m->cmd_sub_mid = mid;
	pthread_mutex_unlock(&m->lock);
}

/* ---- libmosquitto callbacks (network thread) ------------------------------------------ */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct mqtt *m = obj;
	char *thing = NULL;
	bool stopped, learn = !m->cfg.thing_id;
	const char *device;

	if (rc != 0) {
		set_last_error(m, "the broker refused the connection: %s",
			       m->cfg.protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(rc)
								   : mosquitto_connack_string(rc));
		return;
	}
	pthread_mutex_lock(&m->lock);
	m->connected = true;
	m->last_error[0] = '\0';
	free(m->cmd_filter);
	m->cmd_filter = NULL;
	m->cmd_sub_mid = 0;
	stopped = m->stopped;
	if (m->thing_id)
		thing = strdup(m->thing_id);
	pthread_mutex_unlock(&m->lock);
	mqtt_log(m, BERTH_LOG_DEBUG, "connected to %s:%d as %s (session %s)", m->cfg.url.host,
		 m->cfg.url.port, m->cfg.client_id,
		 (flags & 1) ? "resumed" : "new");

	if (learn)
		mqtt_identity_on_connect(m);
	if (thing) {
		device = m->cfg.device_id ? m->cfg.device_id : thing;
		if (stopped)
			mqtt_report_online(m);
		else
			mqtt_subscribe_commands(m, device);
	} else {
		mqtt_log(m, BERTH_LOG_INFO, "connected; waiting for %s to learn the thing id",
			 MQTT_TOPIC_IDENTITY_RESPONSE);
	}
	free(thing);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
			  const mosquitto_property *props)
{
	struct mqtt *m = obj;

	pthread_mutex_lock(&m->lock);
	m->connected = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	mqtt_log(m, BERTH_LOG_DEBUG, "disconnected: %s",
		 rc == 0 ? "as asked" : mosquitto_strerror(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			 const int *granted, const mosquitto_property *props)
{
	struct mqtt *m = obj;
	bool ours, ok = qos_count > 0 && granted[0] >= 0 && granted[0] < 0x80;
	char *filter = NULL;

	pthread_mutex_lock(&m->lock);
	ours = m->cmd_sub_mid != 0 && mid == m->cmd_sub_mid;
	if (ours) {
		m->cmd_sub_mid = 0;
		filter = m->cmd_filter ? strdup(m->cmd_filter) : NULL;
	}
	pthread_mutex_unlock(&m->lock);
	if (!ours) {
		if (!ok)
			mqtt_log(m, BERTH_LOG_ERR, "the broker refused subscription mid %d (code %d)",
				 mid, qos_count > 0 ? granted[0] : -1);
		return;
	}
	if (ok) {
		mqtt_log(m, BERTH_LOG_DEBUG, "subscribed %s (QoS %d)", filter ? filter : "?",
			 granted[0]);
		mqtt_report_online(m);
	} else {
		char why[300];

		snprintf(why, sizeof(why), "the broker refused the subscription to %s (code %d)",
			 filter ? filter : "commands", qos_count > 0 ? granted[0] : -1);
		mqtt_log(m, BERTH_LOG_ERR, "%s", why);
		mqtt_report_offline(m, why);
	}
	free(filter);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
		       const mosquitto_property *props)
{
	struct mqtt *m = obj;

	if (reason >= 0x80)
		mqtt_log(m, BERTH_LOG_WARNING, "the broker did not accept message %d: %s", mid,
			 mosquitto_reason_string(reason));
	pthread_mutex_lock(&m->lock);
	if (!mids_take(&m->pending, mid) && !mids_add(&m->early, mid))
		mqtt_log(m, BERTH_LOG_WARNING, "out of memory tracking mid %d", mid);
	if (m->pending.n == 0)
		pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	struct mqtt *m = obj;

	if (flag(m, &m->closing)) /* close() may have left this thread behind */
		return;
	/* OpenSSL's reason ("certificate verify failed") is only ever logged */
	if ((level & MOSQ_LOG_ERR) && strncmp(str, "OpenSSL Error", 13) == 0) {
		const char *reason = strrchr(str, ':');

		set_last_error(m, "TLS: %s", reason ? reason + 1 : str);
	}
	mqtt_log(m, BERTH_LOG_DEBUG, "libmosquitto: %s", str);
}

/* OpenSSL asks for a key passphrase on the terminal without this: refuse instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	return 0;
}

/* ---- setup ---------------------------------------------------------------------------- */

static int tls_setup(struct mqtt *m, berth_error *err)
{
	const struct mqtt_config *c = &m->cfg;
	int rc;

	if (!c->url.tls)
		return 0;
	if (!c->ca_file && !c->ca_dir) {
		rc = mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return berth_error_set(err, BERTH_E_INVALID,
					       "cannot use the system's CA certificates: %s",
					       mosquitto_strerror(rc));
	}
	rc = mosquitto_tls_set(m->mosq, c->ca_file, c->ca_dir, c->cert_file, c->key_file,
			       no_passphrase);
	if (rc != MOSQ_ERR_SUCCESS && (c->ca_file || c->ca_dir || c->cert_file))
		return berth_error_set(err, BERTH_E_INVALID,
				       "TLS settings (ca_file, ca_dir, cert_file, key_file) refused: %s",
				       mosquitto_strerror(rc));
	rc = mosquitto_tls_opts_set(m->mosq, 1 /* SSL_VERIFY_PEER */, c->tls_version, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		return berth_error_set(err, BERTH_E_INVALID, "tls_version refused: %s",
				       mosquitto_strerror(rc));
	rc = mosquitto_tls_insecure_set(m->mosq, c->tls_insecure);
	if (rc != MOSQ_ERR_SUCCESS)
		return berth_error_set(err, BERTH_E_INVALID, "tls_insecure refused: %s",
				       mosquitto_strerror(rc));
	return 0;
}

int mqtt_conn_setup(struct mqtt *m, berth_error *err)
{
	const struct mqtt_config *c = &m->cfg;
	int rc;

	m->mosq = mosquitto_new(c->client_id, c->clean_session, m);
	if (!m->mosq)
		return berth_error_set(err, errno == ENOMEM ? BERTH_E_NOMEM : BERTH_E_INVALID,
				       "cannot create the MQTT client: %s", strerror(errno));
	mosquitto_threaded_set(m->mosq, true);
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, c->protocol);
	/* An answer follows the command's PUBACK within microseconds: with Nagle it would
	 * wait for the broker's delayed ACK of that PUBACK (40 ms on Linux). */
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (c->username) {
		rc = mosquitto_username_pw_set(m->mosq, c->username, c->password);
		if (rc != MOSQ_ERR_SUCCESS)
			return berth_error_set(err, BERTH_E_INVALID, "username/password refused: %s",
					       mosquitto_strerror(rc));
	}
	if (tls_setup(m, err) < 0)
		return -1;
	if (c->protocol == MQTT_PROTOCOL_V5 && c->session_expiry > 0) {
		rc = mosquitto_property_add_int32(&m->connect_props,
						  MQTT_PROP_SESSION_EXPIRY_INTERVAL,
						  (uint32_t)c->session_expiry);
		if (rc != MOSQ_ERR_SUCCESS)
			return berth_error_set(err, BERTH_E_NOMEM, "session_expiry: %s",
					       mosquitto_strerror(rc));
	}
	mosquitto_connect_v5_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
	mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish);
	mosquitto_message_v5_callback_set(m->mosq, mqtt_on_message);
	mosquitto_log_callback_set(m->mosq, on_log);
	return 0;
}

/* ---- the network thread ----------------------------------------------------------------- */

/* Waits `seconds` or until close(); false when closing. */
static bool backoff_wait(struct mqtt *m, unsigned seconds)
{
	struct timespec until;
	bool closing;

	deadline_in(&until, (long)seconds * 1000);
	pthread_mutex_lock(&m->lock);
	while (!m->closing && !m->quit &&
	       pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	closing = m->closing || m->quit;
	pthread_mutex_unlock(&m->lock);
	return !closing;
}

static void *net_thread(void *arg)
{
	struct mqtt *m = arg;
	const struct mqtt_config *c = &m->cfg;
	unsigned attempt = 0, delay;
	char why[400];
	int rc, saved_errno;
	bool was_connected;

	while (!flag(m, &m->closing) && !flag(m, &m->quit)) {
		set_last_error(m, "%s", "");
		errno = 0;
		rc = mosquitto_connect_bind_v5(m->mosq, c->url.host, c->url.port, c->keepalive,
					       NULL, m->connect_props);
		saved_errno = errno;
		if (rc == MOSQ_ERR_SUCCESS) {
			while (!flag(m, &m->quit) &&
			       (rc = mosquitto_loop(m->mosq, 1000, 1)) == MOSQ_ERR_SUCCESS)
				;
			saved_errno = errno;
		}
		pthread_mutex_lock(&m->lock);
		was_connected = m->connected;
		m->connected = false;
		snprintf(why, sizeof(why), "%s:%d: %s", c->url.host, c->url.port,
			 m->last_error[0] ? m->last_error : describe_rc(rc, saved_errno));
		pthread_mutex_unlock(&m->lock);
		if (flag(m, &m->closing) || flag(m, &m->quit))
			break;
		if (was_connected)
			attempt = 0;
		mqtt_report_offline(m, why);
		delay = (unsigned)c->reconnect_min;
		for (unsigned i = 0; i < attempt && delay < (unsigned)c->reconnect_max; i++)
			delay *= 2;
		if (delay > (unsigned)c->reconnect_max)
			delay = (unsigned)c->reconnect_max;
		attempt++;
		mqtt_log(m, attempt == 1 ? BERTH_LOG_NOTICE : BERTH_LOG_DEBUG,
			 "%s (reconnecting in %u s)", why, delay);
		if (!backoff_wait(m, delay))
			break;
	}
	pthread_mutex_lock(&m->lock);
	m->thread_done = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int mqtt_conn_start(struct mqtt *m, berth_error *err)
{
	int rc;

	if (m->thread_started)
		return berth_error_set(err, BERTH_E_CONFLICT, "the MQTT transport is already started");
	rc = pthread_create(&m->thread, NULL, net_thread, m);
	if (rc != 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot start the MQTT thread: %s",
				       strerror(rc));
	m->thread_started = true;
	return 0;
}

/* Waits until `done` says so or `ms` passed; returns done's last answer. */
static bool wait_until(struct mqtt *m, bool (*done)(struct mqtt *m), long ms)
{
	struct timespec until;
	bool ok;

	deadline_in(&until, ms);
	pthread_mutex_lock(&m->lock);
	while (!(ok = done(m)) &&
	       pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	ok = done(m);
	pthread_mutex_unlock(&m->lock);
	return ok;
}

static bool flushed(struct mqtt *m)
{
	return m->pending.n == 0 || !m->connected || m->thread_done;
}

static bool thread_finished(struct mqtt *m)
{
	return m->thread_done;
}

bool mqtt_conn_shutdown(struct mqtt *m)
{
	struct timespec until;
	size_t unacked;
	bool connected;
	int rc;

	if (m->thread_started) {
		wait_until(m, flushed, MQTT_FLUSH_TIMEOUT_MS);
		pthread_mutex_lock(&m->lock);
		unacked = m->pending.n;
		connected = m->connected;
		m->closing = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		if (unacked)
			mqtt_log(m, BERTH_LOG_WARNING,
				 "closing with %zu message(s) the broker has not acknowledged", unacked);
		/* a DISCONNECT only makes sense after the CONNACK */
		if (!connected || mosquitto_disconnect(m->mosq) != MOSQ_ERR_SUCCESS ||
		    !wait_until(m, thread_finished, MQTT_DISCONNECT_TIMEOUT_MS)) {
			pthread_mutex_lock(&m->lock);
			m->quit = true;
			pthread_cond_broadcast(&m->cond);
			pthread_mutex_unlock(&m->lock);
		}
		/* mosquitto_loop() returns within its 1 s timeout, but a connect() to an address
		 * that drops SYNs blocks for the kernel's connect timeout (minutes): then leave
		 * the thread and this instance behind rather than hold up the shutdown. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += MQTT_JOIN_TIMEOUT_S;
		rc = pthread_timedjoin_np(m->thread, NULL, &until);
		if (rc != 0) {
			mqtt_log(m, BERTH_LOG_WARNING,
				 "the network thread is stuck connecting to %s:%d; left behind",
				 m->cfg.url.host, m->cfg.url.port);
			pthread_detach(m->thread);
			return false;
		}
		m->thread_started = false;
	}
	if (m->mosq) {
		mosquitto_destroy(m->mosq);
		m->mosq = NULL;
	}
	mosquitto_property_free_all(&m->connect_props);
	mids_free(&m->pending);
	mids_free(&m->early);
	return true;
}
