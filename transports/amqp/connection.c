/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMQP transport: the proactor thread. It owns every proton engine object: it connects
 * (TLS, SASL), attaches the command receiver and the sender(s), hands commands to the
 * core and settles them, sends queued replies and events and keeps them until the peer
 * settles them, and reconnects with exponential back-off.
 *
 * Engine objects are only touched while handling one of the connection's own event
 * batches: work requested from elsewhere (new messages, stop, shutdown, a retry timer)
 * wakes the connection (pn_connection_wake) and is done in after_batch().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proton/condition.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include "amqp.h"

#define ANONYMOUS_RELAY "ANONYMOUS-RELAY"

int64_t amqp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void alog(struct amqp *a, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void alog(struct amqp *a, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	a->host->log(level, AMQP_LOG, "%s: %s", a->cfg.url, text);
}

/* "name: description" of a condition, or "" when it is not set. */
static void condition_text(pn_condition_t *c, char *out, size_t len)
{
	const char *name, *desc;

	out[0] = '\0';
	if (!c || !pn_condition_is_set(c))
		return;
	name = pn_condition_get_name(c);
	desc = pn_condition_get_description(c);
	snprintf(out, len, "%s%s%s", name ? name : "error", desc ? ": " : "", desc ? desc : "");
}

void connection_wake_locked(struct amqp *a)
{
	if (a->wake_conn) {
		pn_connection_wake(a->wake_conn);
	} else if (a->proactor && !a->interrupt_pending) {
		a->interrupt_pending = true;
		pn_proactor_interrupt(a->proactor);
	}
}

/* ---- the outgoing queue (thread side) ---- */

static void queue_take_incoming(struct amqp *a, bool *stop_rcv, bool *shutdown)
{
	struct amqp_out *head;

	pthread_mutex_lock(&a->lock);
	head = a->in_head;
	a->in_head = a->in_tail = NULL;
	*stop_rcv = a->stop_rcv;
	*shutdown = a->shutdown;
	pthread_mutex_unlock(&a->lock);
	while (head) {
		struct amqp_out *o = head;

		head = o->next;
		o->next = NULL;
		if (a->q_tail)
			a->q_tail->next = o;
		else
			a->q_head = o;
		a->q_tail = o;
	}
}

/* Removes o from the queue and frees it. */
static void queue_done(struct amqp *a, struct amqp_out *o)
{
	struct amqp_out **pp = &a->q_head, *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != o)
			continue;
		*pp = o->next;
		if (a->q_tail == o)
			a->q_tail = prev;
		break;
	}
	out_free(o);
	pthread_mutex_lock(&a->lock);
	if (a->total > 0)
		a->total--;
	if (a->total == 0)
		pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* ---- per-address sender links (no ANONYMOUS-RELAY) ---- */

static struct amqp_sender *sender_by_link(struct amqp *a, pn_link_t *l)
{
	for (int i = 0; i < AMQP_SENDER_CACHE; i++)
		if (a->senders[i].link == l)
			return &a->senders[i];
	return NULL;
}

static void sender_forget(struct amqp_sender *s)
{
	free(s->address);
	memset(s, 0, sizeof(*s));
}

static pn_link_t *sender_open(struct amqp *a, const char *name, const char *target)
{
	pn_link_t *l = pn_sender(a->session, name);

	if (!l)
		return NULL;
	pn_terminus_set_address(pn_link_target(l), target); /* NULL: anonymous relay */
	pn_link_set_snd_settle_mode(l, PN_SND_UNSETTLED);
	pn_link_set_rcv_settle_mode(l, PN_RCV_FIRST);
	pn_link_open(l);
	return l;
}

/* The link to send a message for `address` on, opening one if needed; NULL if none can
 * be used now. */
static pn_link_t *link_for(struct amqp *a, const char *address, int64_t now)
{
	struct amqp_sender *slot = NULL, *lru = NULL;
	bool attaching = false;
	char name[64];

	if (a->relay)
		return a->anon;
	for (int i = 0; i < AMQP_SENDER_CACHE; i++) {
		struct amqp_sender *s = &a->senders[i];

		if (s->link && strcmp(s->address, address) == 0) {
			s->last_used_ms = now;
			return s->link;
		}
		if (!s->link && !slot)
			slot = s;
		if (s->link && (pn_link_state(s->link) & PN_REMOTE_UNINIT))
			attaching = true;
		else if (s->link && s->inflight == 0 &&
			 (!lru || s->last_used_ms < lru->last_used_ms))
			lru = s;
	}
	/* One attach at a time: a peer that ends the session instead of refusing a link
	 * (RabbitMQ 3.x) then tells exactly which address it refused. */
	if (attaching)
		return NULL;
	if (!slot) {
		if (!lru)
			return NULL; /* every cached link has messages in flight: wait */
		alog(a, BERTH_LOG_DEBUG, "closing the sender link to %s (cache full)",
		     lru->address);
		pn_link_close(lru->link);
		sender_forget(lru);
		slot = lru;
	}
	slot->address = strdup(address);
	if (!slot->address)
		return NULL;
	snprintf(name, sizeof(name), "berth-sender-%u", ++a->link_serial);
	slot->link = sender_open(a, name, address);
	if (!slot->link) {
		sender_forget(slot);
		return NULL;
	}
	slot->last_used_ms = now;
	alog(a, BERTH_LOG_DEBUG, "opened sender link %s to %s", name, address);
	return slot->link;
}

/* The peer closed a per-address sender link. */
static void sender_closed(struct amqp *a, pn_link_t *l)
{
	struct amqp_sender *s = sender_by_link(a, l);
	char reason[AMQP_REASON_MAX];

	condition_text(pn_link_remote_condition(l), reason, sizeof(reason));
	if (s) {
		struct amqp_out *o, *next;
		unsigned dropped = 0;

		for (o = a->q_head; o; o = next) {
			next = o->next;
			if (strcmp(o->address, s->address) != 0)
				continue;
			if (reason[0]) { /* refused: this address is not for us */
				dropped++;
				if (o->delivery)
					pn_delivery_set_context(o->delivery, NULL);
				queue_done(a, o);
			} else if (o->state == AMQP_OUT_SENT && o->delivery &&
				   pn_delivery_link(o->delivery) == l) {
				pn_delivery_set_context(o->delivery, NULL);
				o->delivery = NULL;
				o->state = AMQP_OUT_QUEUED;
			}
		}
		if (reason[0])
			alog(a, BERTH_LOG_ERR, "the peer refused the sender link to %s (%s): "
			     "dropped %u message(s)", s->address, reason, dropped);
		sender_forget(s);
	}
	if (pn_link_state(l) & PN_LOCAL_ACTIVE)
		pn_link_close(l);
	pn_link_free(l);
}

/*
 * The peer ended the session. Some peers (RabbitMQ 3.x) answer an attach to an address
 * they refuse that way instead of refusing the link. Messages for the address whose link
 * was attaching (at most one, see link_for) are charged with a refusal and dropped after
 * AMQP_MAX_REFUSALS, so that one bad reply address cannot keep the connection cycling.
 */
static void blame_pending_senders(struct amqp *a, const char *cond)
{
	for (int i = 0; i < AMQP_SENDER_CACHE; i++) {
		struct amqp_sender *s = &a->senders[i];
		struct amqp_out *o, *next;
		unsigned dropped = 0;

		if (!s->link || !(pn_link_state(s->link) & PN_REMOTE_UNINIT))
			continue;
		for (o = a->q_head; o; o = next) {
			next = o->next;
			if (strcmp(o->address, s->address) != 0)
				continue;
			if (++o->refusals < AMQP_MAX_REFUSALS)
				continue;
			if (o->delivery)
				pn_delivery_set_context(o->delivery, NULL);
			queue_done(a, o);
			dropped++;
		}
		if (dropped)
			alog(a, BERTH_LOG_ERR, "the peer ended the session %d times while a sender "
			     "link to %s attached (%s): dropped %u message(s)", AMQP_MAX_REFUSALS,
			     s->address, cond[0] ? cond : "no reason given", dropped);
	}
}

/* ---- sending ---- */

static void send_one(struct amqp *a, struct amqp_out *o, pn_link_t *l, int64_t now)
{
	uint64_t tag = ++a->next_tag;
	pn_delivery_t *d = pn_delivery(l, pn_dtag((const char *)&tag, sizeof(tag)));
	ssize_t n;
	struct amqp_sender *s;

	if (!d)
		return;
	n = pn_link_send(l, o->bytes, o->len);
	pn_link_advance(l);
	if (n < 0 || (size_t)n != o->len) {
		alog(a, BERTH_LOG_ERR, "sending to %s failed (%zd)", o->address, n);
		pn_delivery_abort(d);
		return;
	}
	pn_delivery_set_context(d, o);
	o->delivery = d;
	o->state = AMQP_OUT_SENT;
	o->attempts++;
	s = sender_by_link(a, l);
	if (s) {
		s->inflight++;
		s->last_used_ms = now;
	}
	alog(a, BERTH_LOG_DEBUG, "sent %s #%" PRIu64 " to %s (%zu bytes, attempt %d)",
	     o->kind == AMQP_OUT_REPLY ? "reply" : "event", o->seq, o->address, o->len,
	     o->attempts);
}

static void pump(struct amqp *a)
{
	int64_t now = amqp_now_ms();

	if (!a->conn || !a->remote_open || !a->session)
		return;
	for (struct amqp_out *o = a->q_head; o; o = o->next) {
		pn_link_t *l;

		if (o->state != AMQP_OUT_QUEUED || o->not_before_ms > now)
			continue;
		l = link_for(a, o->address, now);
		if (!l || pn_link_credit(l) <= 0)
			continue;
		send_one(a, o, l, now);
	}
}

/* The peer decided about one of our messages. */
static void on_outcome(struct amqp *a, pn_delivery_t *d)
{
	uint64_t st = pn_delivery_remote_state(d);
	struct amqp_out *o = pn_delivery_get_context(d);
	char reason[AMQP_REASON_MAX];
	struct amqp_sender *s;

	if (!pn_delivery_settled(d) &&
	    st != PN_ACCEPTED && st != PN_REJECTED && st != PN_RELEASED && st != PN_MODIFIED)
		return; /* not an outcome yet */
	s = sender_by_link(a, pn_delivery_link(d));
	if (s && s->inflight)
		s->inflight--;
	pn_delivery_set_context(d, NULL);
	pn_delivery_settle(d);
	if (!o)
		return;
	o->delivery = NULL;
	switch (st) {
	case PN_RELEASED:
	case PN_MODIFIED:
		o->state = AMQP_OUT_QUEUED;
		o->not_before_ms = amqp_now_ms() + a->cfg.reconnect_min_ms;
		alog(a, BERTH_LOG_INFO, "%s #%" PRIu64 " to %s was %s by the peer: sending it "
		     "again", o->kind == AMQP_OUT_REPLY ? "reply" : "event", o->seq, o->address,
		     st == PN_RELEASED ? "released" : "modified");
		return;
	case PN_REJECTED:
		condition_text(pn_disposition_condition(pn_delivery_remote(d)), reason,
			       sizeof(reason));
		alog(a, BERTH_LOG_ERR, "the peer rejected %s #%" PRIu64 " to %s: %s; dropped",
		     o->kind == AMQP_OUT_REPLY ? "reply" : "event", o->seq, o->address,
		     reason[0] ? reason : "no reason given");
		break;
	case PN_ACCEPTED:
	case 0: /* settled without an outcome: the peer took it */
		alog(a, BERTH_LOG_DEBUG, "%s #%" PRIu64 " accepted",
		     o->kind == AMQP_OUT_REPLY ? "reply" : "event", o->seq);
		break;
	default:
		alog(a, BERTH_LOG_WARNING, "%s #%" PRIu64 " settled with outcome %s; dropped",
		     o->kind == AMQP_OUT_REPLY ? "reply" : "event", o->seq,
		     pn_disposition_type_name(st));
		break;
	}
	queue_done(a, o);
}

/* ---- receiving ---- */

static bool inbound_stopped(struct amqp *a)
{
	bool stopped;

	pthread_mutex_lock(&a->inbound_lock);
	stopped = a->inbound_stopped;
	pthread_mutex_unlock(&a->inbound_lock);
	return stopped;
}

/*
 * Credit for a settled command is granted in a later batch than the settlement: proton
 * writes a batch's flow frames before its dispositions, and a peer that saw the credit
 * first would count more than `credit` commands outstanding.
 */
static void replenish(struct amqp *a, pn_link_t *l)
{
	if (l == a->receiver) {
		a->credit_owed++;
		a->settled_in_batch = true;
	}
}

static void grant_credit(struct amqp *a)
{
	pn_link_t *l = a->receiver;

	if (!a->credit_owed)
		return;
	if (!l || !(pn_link_state(l) & PN_LOCAL_ACTIVE) || inbound_stopped(a)) {
		a->credit_owed = 0;
		return;
	}
	if (a->settled_in_batch) {
		pn_connection_wake(a->conn); /* grant it in the next batch */
		return;
	}
	pn_link_flow(l, a->credit_owed);
	a->credit_owed = 0;
}

static void settle_command(struct amqp *a, pn_delivery_t *d, uint64_t outcome,
			   const char *cond_name, const char *description)
{
	pn_link_t *l = pn_delivery_link(d);

	if (outcome == PN_REJECTED && cond_name) {
		pn_condition_t *c = pn_disposition_condition(pn_delivery_local(d));

		pn_condition_set_name(c, cond_name);
		pn_condition_set_description(c, description);
	}
	pn_delivery_update(d, outcome);
	pn_delivery_settle(d);
	replenish(a, l);
}

static void on_command(struct amqp *a, pn_delivery_t *d)
{
	pn_link_t *l = pn_delivery_link(d);
	struct amqp_command cmd;
	char why[AMQP_REASON_MAX], *buf;
	size_t pending;
	ssize_t n;
	int disposition;

	if (pn_delivery_aborted(d)) {
		a->rx_discard = false;
		pn_delivery_settle(d);
		replenish(a, l);
		return;
	}
	if (!pn_delivery_readable(d))
		return;
	pending = pn_delivery_pending(d);
	if (a->rx_discard || pending > a->cfg.max_message_size) {
		char scratch[4096];

		while (pn_link_recv(l, scratch, sizeof(scratch)) > 0)
			; /* drain: do not keep an over-sized message */
		a->rx_discard = pn_delivery_partial(d);
		if (a->rx_discard)
			return;
		pn_link_advance(l);
		snprintf(why, sizeof(why), "the command is larger than %zu bytes",
			 a->cfg.max_message_size);
		alog(a, BERTH_LOG_WARNING, "rejected a command: %s", why);
		settle_command(a, d, PN_REJECTED, "amqp:link:message-size-exceeded", why);
		return;
	}
	if (pn_delivery_partial(d))
		return;
	buf = malloc(pending ? pending : 1);
	if (!buf) {
		pn_link_advance(l);
		settle_command(a, d, PN_RELEASED, NULL, NULL);
		return;
	}
	n = pn_link_recv(l, buf, pending);
	pn_link_advance(l);
	if (n < 0)
		n = 0;
	if (message_decode_command(buf, (size_t)n, &cmd, why, sizeof(why)) < 0) {
		free(buf);
		alog(a, BERTH_LOG_WARNING, "rejected a command: %s", why);
		settle_command(a, d, PN_REJECTED, "amqp:decode-error", why);
		return;
	}
	free(buf);

	pthread_mutex_lock(&a->inbound_lock);
	if (a->inbound_stopped) {
		disposition = BERTH_DISPOSITION_RELEASED;
	} else {
		berth_inbound in = {
			.size = sizeof(berth_inbound),
			.payload = cmd.body,
			.payload_len = cmd.body_len,
			.reply_to = cmd.reply_to,
			.correlation_id = cmd.correlation_id,
			.subject = cmd.subject,
			.device_id = cmd.device_id,
			.content_type = cmd.content_type,
		};

		disposition = a->host->transport_inbound(a->handle, &in);
	}
	pthread_mutex_unlock(&a->inbound_lock);
	alog(a, BERTH_LOG_DEBUG, "command subject=%s correlation-id=%s: %s",
	     cmd.subject ? cmd.subject : "(none)",
	     cmd.correlation_id ? cmd.correlation_id : "(none)",
	     disposition == BERTH_DISPOSITION_ACCEPTED ? "accepted" :
	     disposition == BERTH_DISPOSITION_REJECTED ? "rejected" : "released");
	message_command_clear(&cmd);
	switch (disposition) {
	case BERTH_DISPOSITION_ACCEPTED:
		settle_command(a, d, PN_ACCEPTED, NULL, NULL);
		break;
	case BERTH_DISPOSITION_REJECTED:
		settle_command(a, d, PN_REJECTED, "hono:bad-request",
			       "the agent cannot process this message as a command");
		break;
	default:
		settle_command(a, d, PN_RELEASED, NULL, NULL);
		break;
	}
}

/* ---- connection life cycle ---- */

static void go_online(struct amqp *a)
{
	if (a->online)
		return;
	a->online = true;
	a->offline_reported = false;
	a->last_reason[0] = '\0';
	a->backoff_ms = a->cfg.reconnect_min_ms;
	alog(a, BERTH_LOG_NOTICE, "online (container %s, %s)", a->cfg.container_id,
	     a->relay ? "anonymous relay" : "a sender link per address");
	a->host->transport_online(a->handle, a->host->agent);
}

static void open_receiver(struct amqp *a)
{
	pn_link_t *l = pn_receiver(a->session, "berth-commands");

	if (!l)
		return;
	pn_terminus_set_address(pn_link_source(l), a->cfg.command_source);
	pn_link_set_snd_settle_mode(l, PN_SND_UNSETTLED); /* Hono: at least once */
	pn_link_set_rcv_settle_mode(l, PN_RCV_FIRST);
	pn_link_set_max_message_size(l, a->cfg.max_message_size);
	pn_link_open(l);
	pn_link_flow(l, a->cfg.credit);
	a->receiver = l;
}

static bool offers_capability(pn_data_t *caps, const char *cap)
{
	size_t len = strlen(cap);
	bool found = false;

	pn_data_rewind(caps);
	if (!pn_data_next(caps))
		return false;
	if (pn_data_type(caps) == PN_SYMBOL) {
		pn_bytes_t s = pn_data_get_symbol(caps);

		return s.size == len && memcmp(s.start, cap, len) == 0;
	}
	if (pn_data_type(caps) != PN_ARRAY)
		return false;
	pn_data_enter(caps);
	while (!found && pn_data_next(caps)) {
		if (pn_data_type(caps) == PN_SYMBOL) {
			pn_bytes_t s = pn_data_get_symbol(caps);

			found = s.size == len && memcmp(s.start, cap, len) == 0;
		}
	}
	pn_data_exit(caps);
	return found;
}

static void schedule_reconnect(struct amqp *a)
{
	int delay = a->backoff_ms;
	unsigned seed = (unsigned)(amqp_now_ms() ^ (int64_t)getpid() ^ a->attempts);

	/* up to 25% jitter, so that a fleet does not come back in lock step */
	delay += (int)((double)delay * 0.25 * ((double)rand_r(&seed) / RAND_MAX));
	a->reconnect_at_ms = amqp_now_ms() + delay;
	a->backoff_ms = a->backoff_ms > a->cfg.reconnect_max_ms / 2 ? a->cfg.reconnect_max_ms
								     : a->backoff_ms * 2;
	alog(a, BERTH_LOG_DEBUG, "reconnecting in %d ms", delay);
}

static void do_connect(struct amqp *a)
{
	pn_connection_t *c = pn_connection();
	pn_transport_t *t = pn_transport();
	char addr[PN_MAX_ADDR];

	a->attempts++;
	if (!c || !t) {
		if (c)
			pn_connection_free(c);
		if (t)
			pn_transport_free(t);
		alog(a, BERTH_LOG_ERR, "out of memory");
		schedule_reconnect(a);
		return;
	}
	pn_connection_set_container(c, a->cfg.container_id);
	pn_connection_set_hostname(c, a->cfg.host);
	if (a->cfg.username)
		pn_connection_set_user(c, a->cfg.username);
	if (a->cfg.password)
		pn_connection_set_password(c, a->cfg.password);
	pn_transport_set_idle_timeout(t, a->cfg.idle_timeout_ms);
	pn_transport_set_max_frame(t, AMQP_MAX_FRAME);
	if (a->cfg.tls) {
		pn_ssl_t *ssl = pn_ssl(t);

		if (!ssl || pn_ssl_init(ssl, a->ssl_domain, NULL) != 0 ||
		    pn_ssl_set_peer_hostname(ssl, a->cfg.host) != 0) {
			pn_connection_free(c);
			pn_transport_free(t);
			alog(a, BERTH_LOG_ERR, "cannot set up TLS");
			schedule_reconnect(a);
			return;
		}
	}
	if (a->cfg.mechanisms) {
		pn_sasl_t *sasl = pn_sasl(t);

		pn_sasl_allowed_mechs(sasl, a->cfg.mechanisms);
		if (!a->cfg.tls)
			pn_sasl_set_allow_insecure_mechs(sasl, true); /* warned about in open() */
	}
	a->conn = c;
	a->remote_open = false;
	a->relay = false;
	a->close_reason[0] = '\0';
	a->next_tag = 0;
	pn_proactor_addr(addr, sizeof(addr), a->cfg.host, a->cfg.port);
	alog(a, BERTH_LOG_DEBUG, "connecting (attempt %lu)", a->attempts);
	pn_proactor_connect2(a->proactor, c, t, addr);
	pthread_mutex_lock(&a->lock);
	a->wake_conn = c;
	pthread_mutex_unlock(&a->lock);
}

/* Closes the connection because of `reason`; PN_TRANSPORT_CLOSED follows. */
static void fail_connection(struct amqp *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_connection(struct amqp *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->close_reason[0]) {
		va_start(ap, fmt);
		vsnprintf(a->close_reason, sizeof(a->close_reason), fmt, ap);
		va_end(ap);
	}
	if (a->conn)
		pn_connection_close(a->conn);
}

static void connection_lost(struct amqp *a, pn_transport_t *t)
{
	char reason[AMQP_REASON_MAX], cond[AMQP_REASON_MAX];
	unsigned resend = 0;
	bool shutdown;

	pthread_mutex_lock(&a->lock);
	a->wake_conn = NULL;
	shutdown = a->shutdown;
	pthread_mutex_unlock(&a->lock);

	condition_text(pn_transport_condition(t), cond, sizeof(cond));
	if (a->close_reason[0])
		snprintf(reason, sizeof(reason), "%s", a->close_reason);
	else if (cond[0])
		snprintf(reason, sizeof(reason), "%s", cond);
	else
		snprintf(reason, sizeof(reason), "the connection was closed");

	for (struct amqp_out *o = a->q_head; o; o = o->next) {
		if (o->state != AMQP_OUT_SENT)
			continue;
		o->state = AMQP_OUT_QUEUED;
		o->delivery = NULL; /* freed with the connection */
		o->not_before_ms = 0;
		resend++;
	}
	for (int i = 0; i < AMQP_SENDER_CACHE; i++)
		sender_forget(&a->senders[i]);
	a->conn = NULL;
	a->session = NULL;
	a->receiver = NULL;
	a->anon = NULL;
	a->remote_open = false;
	a->rx_discard = false;
	a->credit_owed = 0;

	if (shutdown) {
		alog(a, BERTH_LOG_DEBUG, "disconnected");
		a->exit_loop = true;
		return;
	}
	if (resend)
		alog(a, BERTH_LOG_INFO, "%u unsettled message(s) will be sent again", resend);
	if (a->online || !a->offline_reported || strcmp(reason, a->last_reason) != 0) {
		alog(a, a->online ? BERTH_LOG_WARNING : BERTH_LOG_NOTICE, "offline: %s", reason);
		a->online = false;
		a->offline_reported = true;
		snprintf(a->last_reason, sizeof(a->last_reason), "%s", reason);
		a->host->transport_offline(a->handle, reason);
	} else {
		alog(a, BERTH_LOG_DEBUG, "connection attempt %lu failed: %s", a->attempts, reason);
	}
	schedule_reconnect(a);
}

static void on_link_remote_close(struct amqp *a, pn_link_t *l)
{
	char cond[AMQP_REASON_MAX];

	condition_text(pn_link_remote_condition(l), cond, sizeof(cond));
	if (l == a->receiver) {
		if (pn_link_state(l) & PN_LOCAL_ACTIVE) {
			fail_connection(a, "the peer closed the command link (source \"%s\")%s%s",
					a->cfg.command_source, cond[0] ? ": " : "", cond);
			return;
		}
		a->receiver = NULL; /* we closed it (stop) */
		pn_link_free(l);
	} else if (l == a->anon) {
		fail_connection(a, "the peer closed the anonymous sender link%s%s",
				cond[0] ? ": " : "", cond);
	} else if (pn_link_is_sender(l)) {
		sender_closed(a, l);
	}
}

static void handle(struct amqp *a, pn_event_t *e, bool shutdown)
{
	pn_connection_t *c = pn_event_connection(e);
	char cond[AMQP_REASON_MAX];

	switch (pn_event_type(e)) {
	case PN_CONNECTION_INIT: {
		pn_data_t *caps = pn_connection_desired_capabilities(c);
		bool stop_rcv;

		pn_data_put_symbol(caps, pn_bytes(strlen(ANONYMOUS_RELAY), ANONYMOUS_RELAY));
		pn_connection_open(c);
		a->session = pn_session(c);
		pn_session_open(a->session);
		pthread_mutex_lock(&a->lock);
		stop_rcv = a->stop_rcv;
		pthread_mutex_unlock(&a->lock);
		if (!stop_rcv)
			open_receiver(a);
		break;
	}
	case PN_CONNECTION_REMOTE_OPEN:
		a->remote_open = true;
		a->relay = offers_capability(pn_connection_remote_offered_capabilities(c),
					     ANONYMOUS_RELAY);
		if (a->relay)
			a->anon = sender_open(a, "berth-anonymous", NULL);
		alog(a, BERTH_LOG_INFO, "connected; the peer %s anonymous relay",
		     a->relay ? "offers" : "does not offer");
		if (!a->receiver)
			go_online(a);
		break;
	case PN_LINK_REMOTE_OPEN: {
		pn_link_t *l = pn_event_link(e);

		if (l == a->receiver && pn_terminus_get_address(pn_link_remote_source(l)))
			go_online(a);
		/* a null source means refused: the peer detaches next */
		break;
	}
	case PN_LINK_REMOTE_CLOSE:
	case PN_LINK_REMOTE_DETACH:
		on_link_remote_close(a, pn_event_link(e));
		break;
	case PN_SESSION_REMOTE_CLOSE:
		condition_text(pn_session_remote_condition(pn_event_session(e)), cond,
			       sizeof(cond));
		blame_pending_senders(a, cond);
		fail_connection(a, "the peer ended the session%s%s", cond[0] ? ": " : "", cond);
		break;
	case PN_CONNECTION_REMOTE_CLOSE:
		condition_text(pn_connection_remote_condition(c), cond, sizeof(cond));
		fail_connection(a, "the peer closed the connection%s%s", cond[0] ? ": " : "", cond);
		break;
	case PN_DELIVERY: {
		pn_delivery_t *d = pn_event_delivery(e);

		if (pn_link_is_receiver(pn_delivery_link(d)))
			on_command(a, d);
		else
			on_outcome(a, d);
		break;
	}
	case PN_TRANSPORT_CLOSED:
		connection_lost(a, pn_event_transport(e));
		break;
	case PN_PROACTOR_INTERRUPT:
		pthread_mutex_lock(&a->lock);
		a->interrupt_pending = false;
		pthread_mutex_unlock(&a->lock);
		break;
	case PN_PROACTOR_TIMEOUT: {
		int64_t now = amqp_now_ms();

		if (a->reconnect_at_ms && now >= a->reconnect_at_ms) {
			a->reconnect_at_ms = 0;
			if (!shutdown && !a->conn)
				do_connect(a);
		}
		if (a->linger && now >= a->linger_until_ms) {
			a->linger = false;
			alog(a, BERTH_LOG_DEBUG, "the peer did not close in time: disconnecting");
			pn_proactor_disconnect(a->proactor, NULL);
		}
		break;
	}
	case PN_PROACTOR_INACTIVE:
		if (shutdown)
			a->exit_loop = true;
		break;
	default:
		break;
	}
}

/* The next instant the thread must wake up at by itself. */
static void arm_timer(struct amqp *a)
{
	int64_t now = amqp_now_ms(), next = 0;

	if (a->reconnect_at_ms)
		next = a->reconnect_at_ms;
	if (a->linger && (!next || a->linger_until_ms < next))
		next = a->linger_until_ms;
	if (a->conn && a->remote_open) {
		for (struct amqp_out *o = a->q_head; o; o = o->next)
			if (o->state == AMQP_OUT_QUEUED && o->not_before_ms > now &&
			    (!next || o->not_before_ms < next))
				next = o->not_before_ms;
	}
	if (next)
		pn_proactor_set_timeout(a->proactor, (pn_millis_t)(next > now ? next - now : 0));
	else
		pn_proactor_cancel_timeout(a->proactor);
}

static void after_batch(struct amqp *a, bool conn_batch)
{
	bool stop_rcv, shutdown;

	queue_take_incoming(a, &stop_rcv, &shutdown);
	if (shutdown && !a->conn) {
		a->exit_loop = true;
		return;
	}
	if (conn_batch && a->conn) {
		if (shutdown) {
			if (!a->linger && !a->exit_loop &&
			    !(pn_connection_state(a->conn) & PN_LOCAL_CLOSED)) {
				pn_connection_close(a->conn);
				a->linger = true;
				a->linger_until_ms = amqp_now_ms() + AMQP_CLOSE_LINGER_MS;
			}
		} else {
			if (stop_rcv && a->receiver &&
			    (pn_link_state(a->receiver) & PN_LOCAL_ACTIVE)) {
				pn_link_close(a->receiver);
				alog(a, BERTH_LOG_INFO, "stopped taking commands");
				if (a->remote_open)
					go_online(a);
			}
			grant_credit(a);
			pump(a);
		}
	} else if (a->conn) {
		pn_connection_wake(a->conn); /* do the connection's work in its own batch */
	}
	arm_timer(a);
}

void *connection_thread(void *arg)
{
	struct amqp *a = arg;

	a->backoff_ms = a->cfg.reconnect_min_ms;
	do_connect(a);
	while (!a->exit_loop) {
		pn_event_batch_t *batch = pn_proactor_wait(a->proactor);
		bool conn_batch = false, shutdown;
		pn_event_t *e;

		a->settled_in_batch = false;
		pthread_mutex_lock(&a->lock);
		shutdown = a->shutdown;
		pthread_mutex_unlock(&a->lock);
		while ((e = pn_event_batch_next(batch))) {
			if (a->conn && pn_event_connection(e) == a->conn)
				conn_batch = true;
			handle(a, e, shutdown);
		}
		if (!a->exit_loop)
			after_batch(a, conn_batch);
		pn_proactor_done(a->proactor, batch);
	}
	pthread_mutex_lock(&a->lock);
	a->thread_exited = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}
