/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMQP 1.0 transport module (Eclipse Hono AMQP adapter conventions): entry points, the
 * driver table, the instance life cycle and the outgoing queue that send_reply() and
 * send_event() fill from any thread. The wire work happens on the proactor thread
 * (connection.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp.h"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static int amqp_open(const berth_host *host, const berth_settings *settings,
		     berth_transport_handle *handle, void **instance, berth_error *err)
{
	struct amqp *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	*instance = NULL;
	if (!a)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	a->host = host;
	a->handle = handle;
	if (settings_read(host, settings, &a->cfg, &a->ssl_domain, err) < 0) {
		free(a);
		return -1;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->inbound_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	*instance = a;
	return 0;
}

static uint64_t amqp_capabilities(void *instance)
{
	return BERTH_TCAP_REDELIVERY;
}

static int amqp_start(void *instance, berth_error *err)
{
	struct amqp *a = instance;
	sigset_t all, old;
	pn_proactor_t *p;
	int rc;

	if (a->thread_running)
		return berth_error_set(err, BERTH_E_CONFLICT,
				       "the AMQP transport is already started");
	p = pn_proactor();
	if (!p)
		return berth_error_set(err, BERTH_E_NOMEM, "cannot create the AMQP proactor");
	pthread_mutex_lock(&a->lock);
	a->proactor = p;
	pthread_mutex_unlock(&a->lock);
	/* The thread takes no signals: they are the core's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, connection_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_lock(&a->lock);
		a->proactor = NULL;
		pthread_mutex_unlock(&a->lock);
		pn_proactor_free(p);
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot start the AMQP thread: %s",
				       strerror(rc));
	}
	pthread_setname_np(a->thread, "berth-amqp");
	a->thread_running = true;
	/* messages queued before start() */
	pthread_mutex_lock(&a->lock);
	if (a->in_head)
		connection_wake_locked(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* Hands a message to the proactor thread. Takes o. */
static int enqueue(struct amqp *a, struct amqp_out *o, berth_error *err)
{
	pthread_mutex_lock(&a->lock);
	if (a->closing) {
		pthread_mutex_unlock(&a->lock);
		out_free(o);
		return berth_error_set(err, BERTH_E_SHUTDOWN, "the AMQP transport is closing");
	}
	if (a->total >= (size_t)a->cfg.queue_limit) {
		size_t n = a->total;

		pthread_mutex_unlock(&a->lock);
		out_free(o);
		return berth_error_set(err, BERTH_E_BUSY,
				       "%zu AMQP messages are waiting for the peer already", n);
	}
	o->seq = ++a->next_seq;
	if (a->in_tail)
		a->in_tail->next = o;
	else
		a->in_head = o;
	a->in_tail = o;
	a->total++;
	connection_wake_locked(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static int amqp_send_reply(void *instance, const berth_reply *reply, berth_error *err)
{
	struct amqp *a = instance;
	struct amqp_out *o;

	if (!reply)
		return berth_error_set(err, BERTH_E_INVALID, "no reply");
	o = calloc(1, sizeof(*o));
	if (!o)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	o->kind = AMQP_OUT_REPLY;
	if (message_encode_reply(reply, &o->bytes, &o->len, &o->address, err) < 0) {
		out_free(o);
		return -1;
	}
	return enqueue(a, o, err);
}

static int amqp_send_event(void *instance, const berth_outbound_event *ev, berth_error *err)
{
	struct amqp *a = instance;
	struct amqp_out *o;

	if (!ev)
		return berth_error_set(err, BERTH_E_INVALID, "no event");
	o = calloc(1, sizeof(*o));
	if (!o)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	o->kind = AMQP_OUT_EVENT;
	o->address = strdup(a->cfg.event_address);
	if (!o->address) {
		out_free(o);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (message_encode_event(ev, a->cfg.event_address, &o->bytes, &o->len, err) < 0) {
		out_free(o);
		return -1;
	}
	return enqueue(a, o, err);
}

static void amqp_stop(void *instance)
{
	struct amqp *a = instance;

	/* After this, no transport_inbound() runs or starts. */
	pthread_mutex_lock(&a->inbound_lock);
	a->inbound_stopped = true;
	pthread_mutex_unlock(&a->inbound_lock);
	pthread_mutex_lock(&a->lock);
	a->stop_rcv = true;
	connection_wake_locked(a);
	pthread_mutex_unlock(&a->lock);
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static size_t free_list(struct amqp_out *o)
{
	size_t n = 0;

	while (o) {
		struct amqp_out *next = o->next;

		out_free(o);
		o = next;
		n++;
	}
	return n;
}

static void amqp_close(void *instance)
{
	struct amqp *a = instance;
	struct timespec deadline;
	size_t lost;

	if (!a)
		return;
	if (a->thread_running) {
		amqp_stop(a);
		/* flush: wait a bounded time for the peer to settle what is queued */
		deadline_after(&deadline, AMQP_CLOSE_FLUSH_MS);
		pthread_mutex_lock(&a->lock);
		a->closing = true;
		while (a->total > 0 && !a->thread_exited)
			if (pthread_cond_timedwait(&a->cond, &a->lock, &deadline) == ETIMEDOUT)
				break;
		a->shutdown = true;
		connection_wake_locked(a);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		a->thread_running = false;
	}
	lost = free_list(a->in_head) + free_list(a->q_head);
	if (lost)
		a->host->log(BERTH_LOG_WARNING, AMQP_LOG,
			     "%s: closed with %zu reply/event message(s) not settled by the peer",
			     a->cfg.url, lost);
	if (a->proactor)
		pn_proactor_free(a->proactor);
	if (a->ssl_domain)
		pn_ssl_domain_free(a->ssl_domain);
	settings_free(&a->cfg);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->inbound_lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

static const berth_transport_driver amqp_driver = {
	.size = sizeof(berth_transport_driver),
	.name = "amqp",
	.description = "AMQP 1.0 to an Eclipse Hono AMQP adapter (or any AMQP 1.0 peer)",
	.options = amqp_options,
	.open = amqp_open,
	.capabilities = amqp_capabilities,
	.start = amqp_start,
	.send_reply = amqp_send_reply,
	.send_event = amqp_send_event,
	.stop = amqp_stop,
	.close = amqp_close,
};

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_transport(self, &amqp_driver, err);
}

void berth_module_cleanup(void)
{
}
