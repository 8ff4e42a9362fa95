/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The restart manager (core/restart.c): its decision and delay as tables, and end to
 * end with the fake backend, which does not enforce restart policies itself (no
 * BERTH_CAP_RESTART_POLICY): exits reported by the runtime's thread lead to restarts by
 * policy, counted, capped by maxRetryCount, never after a stop by command.
 *
 * "Not restarted" is checked after waiting longer than the delay a restart would have
 * had: such a check can only pass wrongly, never fail wrongly on a slow machine.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "restart.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { NO = BERTH_RESTART_NO, ALWAYS = BERTH_RESTART_ALWAYS,
       UNLESS = BERTH_RESTART_UNLESS_STOPPED, ONF = BERTH_RESTART_ON_FAILURE };

/* ---- tables -------------------------------------------------------------------------- */

static void test_wanted_table(void)
{
	static const struct {
		int type, max;
		bool manual;
		int exit_code, count;
		bool want;
	} t[] = {
		{ NO, 0, false, 1, 0, false },      { NO, 0, false, 0, 0, false },
		{ ALWAYS, 0, false, 0, 0, true },   { ALWAYS, 0, false, 1, 50, true },
		{ ALWAYS, 0, true, 1, 0, false },   { ALWAYS, 0, true, 0, 0, false },
		{ UNLESS, 0, false, 0, 0, true },   { UNLESS, 0, false, 137, 9, true },
		{ UNLESS, 0, true, 137, 0, false }, { ONF, 0, false, 0, 0, false },
		{ ONF, 0, false, 1, 0, true },      { ONF, 0, false, 1, 100000, true }, /* 0: no limit */
		{ ONF, 3, false, 1, 2, true },      { ONF, 3, false, 1, 3, false },
		{ ONF, 3, false, 1, 4, false },     { ONF, 3, true, 1, 0, false },
		{ ONF, 3, false, -1, 0, true },     { ONF, 1, false, 143, 0, true },
		{ 9, 0, false, 1, 0, false },       { -1, 0, false, 1, 0, false },
	};

	for (size_t i = 0; i < N(t); i++) {
		berth_restart_policy p = { .type = t[i].type, .max_retry_count = t[i].max };
		bool got = restart_wanted(&p, t[i].manual, t[i].exit_code, t[i].count);

		CU_ASSERT_EQUAL(got, t[i].want);
		if (got != t[i].want)
			fprintf(stderr, "\nrow %zu: type %d max %d manual %d exit %d count %d -> %d\n", i,
				t[i].type, t[i].max, t[i].manual, t[i].exit_code, t[i].count, got);
	}
}

static void test_delay_table(void)
{
	static const struct {
		int64_t timeout_s;
		int count;
		int64_t ms;
	} t[] = {
		{ 0, 0, 100 },    { 0, 1, 200 },    { 0, 2, 400 },     { 0, 3, 800 },
		{ 0, 9, 51200 },  { 0, 10, 60000 }, { 0, 11, 60000 },  { 0, 1000000, 60000 },
		{ 0, -3, 100 },   { 10, 0, 10000 }, { 10, 7, 10000 },  { 1, 0, 1000 },
		{ 3600, 2, 3600000 },
	};

	for (size_t i = 0; i < N(t); i++) {
		berth_restart_policy p = { .type = ONF, .retry_timeout_s = t[i].timeout_s };

		CU_ASSERT_EQUAL(restart_delay_ms(&p, t[i].count), t[i].ms);
	}
}

/* ---- end to end ---------------------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const char *state_path(const char *id)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "/features/Container:%s/properties/status/state", id);
	return buf;
}

static void make(const char *config, char *id)
{
	char *value = NULL;

	CU_ASSERT_FATAL(asprintf(&value, "{\"imageRef\":\"busybox\",\"start\":true,\"config\":%s}",
				 config) > 0);
	CU_ASSERT_EQUAL_FATAL(h_create(value, true, id), 200);
	free(value);
	h_settle();
	CU_ASSERT_EQUAL_FATAL(h_status(id), CS_RUNNING);
}

static int restart_count(const char *id)
{
	struct container *c = containers_get(id);
	int n = -1;

	if (c) {
		pthread_mutex_lock(&c->lock);
		n = c->restart_count;
		pthread_mutex_unlock(&c->lock);
		container_unref(c);
	}
	return n;
}

/* The process exits with `code`; waits for EXITED and returns that event's index. */
static long exits(const char *inst, const char *id, int code)
{
	size_t mark = h_events_mark();
	char *native = h_native(id);
	long i;

	CU_ASSERT_EQUAL(fb(inst)->exit(inst, native, code, false), 0);
	free(native);
	i = h_wait_event(mark, "modify", state_path(id), "EXITED");
	CU_ASSERT(i >= 0);
	return i;
}

static void test_on_failure_max_count(void)
{
	char id[CONTAINER_ID_LEN + 1], *native;
	json_object *ev, *rec;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	make("{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":2}}", id);
	native = h_native(id);
	for (int k = 1; k <= 2; k++) {
		i = exits(H_FAKE, id, 3);
		CU_ASSERT_FATAL(i >= 0);
		ev = h_event_json((size_t)i);
		CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 3);
		json_object_put(ev);
		/* restarted by the agent */
		CU_ASSERT_FATAL(h_wait_event((size_t)i + 1, "modify", state_path(id), "RUNNING") >= 0);
		h_settle();
		CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", native), 1 + k);
		CU_ASSERT_EQUAL(restart_count(id), k);
	}
	rec = h_record(id);
	CU_ASSERT_EQUAL(h_int(rec, "restartCount", -1), 2);
	json_object_put(rec);
	/* the third failure: the limit is reached */
	CU_ASSERT_FATAL(exits(H_FAKE, id, 3) >= 0);
	h_settle();
	sleep_ms(1500); /* a restart would have come after 400 ms */
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", native), 3);
	CU_ASSERT_EQUAL(h_status(id), CS_EXITED);
	free(native);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* A restart the runtime refuses is tried again later, and counts as an attempt. */
static void test_failed_restart_retried(void)
{
	char id[CONTAINER_ID_LEN + 1], *native;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	make("{\"restartPolicy\":{\"type\":\"always\"}}", id);
	native = h_native(id);
	CU_ASSERT_EQUAL(FB->fail_next(H_FAKE, "start", BERTH_E_RUNTIME, "no such file"), 0);
	i = exits(H_FAKE, id, 1);
	CU_ASSERT_FATAL(i >= 0);
	/* the first attempt fails, the second (after a longer back-off) succeeds */
	CU_ASSERT_FATAL(h_wait_event((size_t)i + 1, "modify", state_path(id), "RUNNING") >= 0);
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", native), 3);
	CU_ASSERT_EQUAL(restart_count(id), 2);
	free(native);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_exit_codes_and_types(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], c[CONTAINER_ID_LEN + 1];
	char *na, *nb, *nc;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	make("{}", a);                                               /* unless-stopped */
	make("{\"restartPolicy\":{\"type\":\"on-failure\"}}", b);
	make("{\"restartPolicy\":{\"type\":\"no\"}}", c);
	na = h_native(a);
	nb = h_native(b);
	nc = h_native(c);
	/* unless-stopped restarts after a clean exit too */
	i = exits(H_FAKE, a, 0);
	CU_ASSERT_FATAL(h_wait_event((size_t)i + 1, "modify", state_path(a), "RUNNING") >= 0);
	/* on-failure does not restart after exit 0; no never restarts */
	CU_ASSERT(exits(H_FAKE, b, 0) >= 0);
	CU_ASSERT(exits(H_FAKE, c, 1) >= 0);
	h_settle();
	sleep_ms(1000);
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", na), 2);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", nb), 1);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", nc), 1);
	CU_ASSERT_EQUAL(h_status(b), CS_EXITED);
	CU_ASSERT_EQUAL(h_status(c), CS_EXITED);
	free(na);
	free(nb);
	free(nc);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_manual_stop_not_restarted(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], *na, *nb;

	CU_ASSERT_FATAL(harness_start(NULL));
	make("{\"restartPolicy\":{\"type\":\"always\"}}", a);
	make("{\"restartPolicy\":{\"type\":\"on-failure\"}}", b);
	na = h_native(a);
	nb = h_native(b);
	/* stopped by command (exit codes 143, non-zero): Docker's meaning, no restart */
	CU_ASSERT_EQUAL(h_command(h_feature(a), "stop", NULL, NULL), 204);
	CU_ASSERT_EQUAL(h_command(h_feature(b), "stopWithOptions", "{\"signal\":\"SIGINT\"}", NULL), 204);
	h_settle();
	sleep_ms(1000);
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", na), 1);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", nb), 1);
	CU_ASSERT_EQUAL(h_status(a), CS_STOPPED);
	CU_ASSERT_EQUAL(h_status(b), CS_STOPPED);
	/* started again by command: the policy holds again */
	CU_ASSERT_EQUAL(h_command(h_feature(a), "start", NULL, NULL), 204);
	CU_ASSERT(h_wait_event(exits(H_FAKE, a, 9) + 1, "modify", state_path(a), "RUNNING") >= 0);
	free(na);
	free(nb);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_manual_start_resets_count(void)
{
	char id[CONTAINER_ID_LEN + 1], *native;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	make("{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":1}}", id);
	native = h_native(id);
	i = exits(H_FAKE, id, 1);
	CU_ASSERT_FATAL(h_wait_event((size_t)i + 1, "modify", state_path(id), "RUNNING") >= 0);
	h_settle();
	CU_ASSERT_EQUAL(restart_count(id), 1);
	CU_ASSERT(exits(H_FAKE, id, 1) >= 0);
	h_settle();
	CU_ASSERT_EQUAL(h_status(id), CS_EXITED);
	/* a manual start resets the count: the next failure is restarted again */
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", NULL, NULL), 204);
	CU_ASSERT_EQUAL(restart_count(id), 0);
	i = exits(H_FAKE, id, 1);
	CU_ASSERT_FATAL(h_wait_event((size_t)i + 1, "modify", state_path(id), "RUNNING") >= 0);
	h_settle();
	CU_ASSERT_EQUAL(restart_count(id), 1);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", native), 4);
	free(native);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_pending_restart_overtaken(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], *na, *nb;

	CU_ASSERT_FATAL(harness_start(NULL));
	/* a 2 s delay leaves room for commands before the restart is due */
	make("{\"restartPolicy\":{\"type\":\"on-failure\",\"timeout\":2}}", a);
	make("{\"restartPolicy\":{\"type\":\"on-failure\",\"timeout\":2}}", b);
	na = h_native(a);
	nb = h_native(b);
	CU_ASSERT(exits(H_FAKE, a, 1) >= 0);
	CU_ASSERT(exits(H_FAKE, b, 1) >= 0);
	h_settle();
	/* A is removed, B started by hand before their restarts are due */
	CU_ASSERT_EQUAL(h_command(h_feature(a), "remove", NULL, NULL), 204);
	CU_ASSERT_EQUAL(h_command(h_feature(b), "start", NULL, NULL), 204);
	sleep_ms(3000);
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", na), 1);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", nb), 2); /* create's and the manual one */
	CU_ASSERT_EQUAL(h_status(a), -1);
	CU_ASSERT_EQUAL(h_status(b), CS_RUNNING);
	free(na);
	free(nb);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_retry_timeout_and_minimal_backend(void)
{
	char id[CONTAINER_ID_LEN + 1], *value = NULL;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	/* restartPolicy.timeout: the delay before each retry; and a backend without
	 * optional ops is restarted the same way */
	CU_ASSERT_FATAL(asprintf(&value, "{\"imageRef\":\"busybox\",\"start\":true,\"backend\":\"mini\","
				 "\"config\":{\"restartPolicy\":{\"type\":\"on-failure\",\"timeout\":1}}}") > 0);
	CU_ASSERT_EQUAL_FATAL(h_create(value, true, id), 200);
	free(value);
	h_settle();
	i = exits(H_MINI, id, 2);
	CU_ASSERT_FATAL(h_wait_event((size_t)i + 1, "modify", state_path(id), "RUNNING") >= 0);
	CU_ASSERT_EQUAL(restart_count(id), 1);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_runtime_enforces_policy(void)
{
	/* every capability: the runtime restarts by itself, the agent must not */
	struct harness_options o = {
		.backends = "{ module = \"fake_backend\"; name = \"" H_FAKE "\"; default = true; "
			    "capabilities = 255; }, { module = \"fake_minimal\"; name = \"" H_MINI "\"; }",
	};
	char id[CONTAINER_ID_LEN + 1], *native;
	long exited, running;
	struct fake_container fc;
	json_object *ev;

	CU_ASSERT_FATAL(harness_start(&o));
	make("{\"restartPolicy\":{\"type\":\"always\"}}", id);
	native = h_native(id);
	CU_ASSERT_EQUAL(FB->get(H_FAKE, native, &fc), 0);
	CU_ASSERT_EQUAL(fc.restart.type, BERTH_RESTART_ALWAYS); /* handed to the runtime */
	CU_ASSERT(exits(H_FAKE, id, 1) >= 0);
	h_settle();
	sleep_ms(1000);
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", native), 1);
	CU_ASSERT_EQUAL(h_status(id), CS_EXITED);

	/* the runtime restarted it before the agent looked: the twin still sees the exit */
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", NULL, NULL), 204);
	h_settle();
	{
		size_t mark = h_events_mark();

		CU_ASSERT_EQUAL(FB->runtime_restart(H_FAKE, native, 5), 0);
		exited = h_wait_event(mark, "modify", state_path(id), "EXITED");
		running = exited >= 0 ? h_wait_event((size_t)exited + 1, "modify", state_path(id),
						     "RUNNING") : -1;
		CU_ASSERT_TRUE(exited >= 0 && running > exited);
		if (exited >= 0) {
			ev = h_event_json((size_t)exited);
			CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 5);
			json_object_put(ev);
		}
		h_settle();
		CU_ASSERT_EQUAL(h_count_events(mark, "modify", state_path(id), "EXITED"), 1);
	}
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);
	free(native);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* Waits until container id has `status` (bounded); returns whether it has. */
static bool wait_status(const char *id, int status)
{
	for (int waited = 0; h_status(id) != status && waited < HARNESS_WAIT_MS; waited += 10)
		sleep_ms(10);
	return h_status(id) == status;
}

/* Exits the agent did not see (it was down, or the runtime's events were lost) are found
 * by the reconciliation at start-up, and the policies apply to them. */
static void test_exit_while_agent_down(void)
{
	struct harness_options keep = { .keep_state = true };
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], c[CONTAINER_ID_LEN + 1];
	char *na, *nb, *nc;
	json_object *rec;

	CU_ASSERT_FATAL(harness_start(NULL));
	make("{\"restartPolicy\":{\"type\":\"always\"}}", a);
	make("{\"restartPolicy\":{\"type\":\"no\"}}", b);
	make("{\"restartPolicy\":{\"type\":\"always\"}}", c);
	CU_ASSERT_EQUAL(h_command(h_feature(c), "stop", NULL, NULL), 204); /* by command */
	na = h_native(a);
	nb = h_native(b);
	nc = h_native(c);
	/* the processes end while nobody hears it */
	FB->set_events(H_FAKE, false);
	CU_ASSERT_EQUAL(FB->exit(H_FAKE, na, 1, false), 0);
	CU_ASSERT_EQUAL(FB->exit(H_FAKE, nb, 1, false), 0);
	h_settle();
	CU_ASSERT_EQUAL(h_status(a), CS_RUNNING);
	CU_ASSERT_EQUAL(harness_stop(), 0);

	CU_ASSERT_FATAL(harness_start(&keep));
	/* always: restarted; no: EXITED, as the record now says; stopped by command: left */
	CU_ASSERT_TRUE(wait_status(a, CS_RUNNING));
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", na), 1); /* since this start */
	CU_ASSERT_EQUAL(h_status(b), CS_EXITED);
	rec = h_record(b);
	H_ASSERT_STR(h_str(rec, "state/status"), "EXITED");
	CU_ASSERT_EQUAL(h_int(rec, "state/exitCode", 0), 1);
	json_object_put(rec);
	sleep_ms(1000);
	h_settle();
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", nb), 0);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", nc), 0);
	CU_ASSERT_EQUAL(h_status(c), CS_STOPPED);
	free(na);
	free(nb);
	free(nc);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "restart_wanted table", test_wanted_table },
		{ "restart_delay_ms table", test_delay_table },
		{ "on-failure: maxRetryCount", test_on_failure_max_count },
		{ "a failed restart is tried again", test_failed_restart_retried },
		{ "exit codes and policy types", test_exit_codes_and_types },
		{ "a stop by command is not undone", test_manual_stop_not_restarted },
		{ "a manual start resets the count", test_manual_start_resets_count },
		{ "a pending restart overtaken by commands", test_pending_restart_overtaken },
		{ "retry timeout, backend without optional ops", test_retry_timeout_and_minimal_backend },
		{ "a runtime that enforces policies itself", test_runtime_enforces_policy },
		{ "exits while the agent is down", test_exit_while_agent_down },
	};

	return h_main("restart", tests, N(tests));
}
