/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the AMQP transport integration tests (see testlib.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

struct proc_line {
	struct proc_line *next;
	json_object *obj;
};

int test_failures;
int test_count;

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *test_srcdir(void)
{
	const char *s = getenv("BERTH_TEST_SRCDIR");

	return s && *s ? s : BERTH_TEST_SRCDIR;
}

const char *test_rundir(void)
{
	const char *s = getenv("BERTH_TEST_RUN");

	return s && *s ? s : "/tmp/berth-test";
}

void test_report(bool ok, const char *name, const char *why)
{
	test_count++;
	if (ok) {
		printf("ok - %s\n", name);
	} else {
		test_failures++;
		printf("not ok - %s: %s\n", name, why && *why ? why : "failed");
	}
	fflush(stdout);
}

const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

const char *jstr2(json_object *o, const char *key, const char *sub)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return jstr(v, sub);
}

/* ---- child processes ---- */

static void *reader_main(void *arg)
{
	struct proc *p = arg;
	FILE *f = fdopen(p->out_fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool verbose = getenv("BERTH_TEST_VERBOSE") != NULL;

	if (!f) {
		close(p->out_fd);
		goto eof;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_object *obj;
		struct proc_line *l, **pp;

		if (verbose)
			fprintf(stderr, "[%s] %s", p->name, line);
		obj = json_tokener_parse(line);
		if (!obj || !json_object_is_type(obj, json_type_object)) {
			if (!verbose)
				fprintf(stderr, "[%s] %s", p->name, line);
			json_object_put(obj);
			continue;
		}
		l = calloc(1, sizeof(*l));
		if (!l) {
			json_object_put(obj);
			continue;
		}
		l->obj = obj;
		pthread_mutex_lock(&p->lock);
		for (pp = &p->head; *pp; pp = &(*pp)->next)
			;
		*pp = l;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	free(line);
	fclose(f);
eof:
	pthread_mutex_lock(&p->lock);
	p->eof = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int proc_start(struct proc *p, const char *name, char *const argv[])
{
	int in[2], out[2];
	pthread_condattr_t ca;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->in_fd = p->out_fd = -1;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	p->pid = fork();
	if (p->pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		setpgid(0, 0);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->reader, NULL, reader_main, p) != 0) {
		proc_stop(p, SIGKILL, 1000);
		return -1;
	}
	p->reader_running = true;
	return 0;
}

int proc_send(struct proc *p, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;
	size_t off = 0;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 1)
		return -1;
	buf[n++] = '\n';
	while (off < (size_t)n) {
		ssize_t w = write(p->in_fd, buf + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static bool line_matches(json_object *o, const char *event, va_list ap)
{
	const char *k, *v, *e = jstr(o, "event");

	if (!e || strcmp(e, event) != 0)
		return false;
	while ((k = va_arg(ap, const char *))) {
		const char *have = jstr(o, k);

		v = va_arg(ap, const char *);
		if (!have)
			have = "null";
		if (!v || strcmp(have, v) != 0)
			return false;
	}
	return true;
}

json_object *proc_wait(struct proc *p, int timeout_ms, const char *event, ...)
{
	struct timespec deadline;
	json_object *found = NULL;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		for (struct proc_line **pp = &p->head; *pp; pp = &(*pp)->next) {
			va_list ap;
			bool m;

			va_start(ap, event);
			m = line_matches((*pp)->obj, event, ap);
			va_end(ap);
			if (m) {
				struct proc_line *l = *pp;

				*pp = l->next;
				found = l->obj;
				free(l);
				break;
			}
		}
		if (found || p->eof)
			break;
		if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

int proc_count(struct proc *p, const char *event, ...)
{
	int n = 0;

	pthread_mutex_lock(&p->lock);
	for (struct proc_line *l = p->head; l; l = l->next) {
		va_list ap;

		va_start(ap, event);
		n += line_matches(l->obj, event, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

static int wait_child(pid_t pid, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= end)
			return -2;
		sleep_ms(20);
	}
}

int proc_stop(struct proc *p, int sig, int timeout_ms)
{
	int status = -1;

	if (p->pid > 0) {
		if (sig)
			kill(p->pid, sig);
		if (p->in_fd >= 0) {
			close(p->in_fd); /* EOF: the peers exit */
			p->in_fd = -1;
		}
		status = wait_child(p->pid, timeout_ms);
		if (status == -2) {
			kill(p->pid, SIGKILL);
			status = wait_child(p->pid, 5000);
		}
		p->pid = 0;
	}
	if (p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
	if (p->reader_running) {
		pthread_join(p->reader, NULL);
		p->reader_running = false;
		while (p->head) {
			struct proc_line *l = p->head;

			p->head = l->next;
			json_object_put(l->obj);
			free(l);
		}
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
	}
	return status;
}

int run_wait(char *const argv[], int timeout_ms)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	status = wait_child(pid, timeout_ms);
	if (status == -2) {
		kill(pid, SIGKILL);
		wait_child(pid, 5000);
		return -1;
	}
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the module ---- */

int mod_open(struct mod *m, const char *so, const char *settings, berth_error *err)
{
	const berth_settings *s;

	memset(m, 0, sizeof(*m));
	m->th = testhost_new("org.acme:dev1", "t1");
	if (!m->th)
		return berth_error_set(err, BERTH_E_NOMEM, "testhost_new failed");
	if (testhost_load(m->th, so, err) < 0)
		goto fail;
	m->drv = testhost_transport_driver(m->th, "amqp");
	if (!m->drv) {
		berth_error_set(err, BERTH_E_NOT_FOUND, "%s registers no \"amqp\" transport", so);
		goto fail;
	}
	s = testhost_settings(m->th, "amqp", settings, m->drv->options, err);
	if (!s)
		goto fail;
	if (m->drv->open(testhost_host(m->th), s, testhost_transport_handle(m->th), &m->inst,
			 err) < 0)
		goto fail;
	return 0;
fail:
	testhost_free(m->th);
	m->th = NULL;
	return -1;
}

int mod_start(struct mod *m, berth_error *err)
{
	if (m->drv->start(m->inst, err) < 0)
		return -1;
	m->started = true;
	return 0;
}

void mod_close(struct mod *m)
{
	if (!m->th)
		return;
	if (m->inst)
		m->drv->close(m->inst);
	testhost_free(m->th);
	memset(m, 0, sizeof(*m));
}

struct testhost_record *mod_wait(struct mod *m, int kind, int timeout_ms)
{
	return testhost_wait(m->th, kind, NULL, NULL, timeout_ms);
}

int mod_reply(struct mod *m, const struct testhost_record *cmd, int status, const char *payload,
	      berth_error *err)
{
	berth_reply r = {
		.size = sizeof(r),
		.reply_to = cmd->reply_to,
		.correlation_id = cmd->correlation_id,
		.subject = cmd->subject,
		.device_id = cmd->device_id,
		.status = status,
		.payload = payload,
		.payload_len = strlen(payload),
	};

	return m->drv->send_reply(m->inst, &r, err);
}

int mod_event(struct mod *m, const char *payload, berth_error *err)
{
	berth_outbound_event ev = {
		.size = sizeof(ev),
		.thing_id = "org.acme:dev1",
		.tenant = "t1",
		.payload = payload,
		.payload_len = strlen(payload),
	};

	return m->drv->send_event(m->inst, &ev, err);
}
