/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor (core/monitor.c) end to end: what the runtime reports on its own, from its
 * own thread: exits (EXITED, OOM), containers removed behind the agent's back, lost
 * events, reachability (503 while down), and the reconciliation when the runtime comes
 * back (vanished records removed, labelled containers without a record adopted).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *state_path(const char *id)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "/features/Container:%s/properties/status/state", id);
	return buf;
}

static void make(const char *backend, char *id)
{
	char *value = NULL;

	CU_ASSERT_FATAL(asprintf(&value, "{\"imageRef\":\"busybox\",\"start\":true,\"backend\":\"%s\","
				 "\"config\":{\"restartPolicy\":{\"type\":\"no\"}}}", backend) > 0);
	CU_ASSERT_EQUAL_FATAL(h_create(value, true, id), 200);
	free(value);
	h_settle();
}

static void test_exit_events(void)
{
	char id[CONTAINER_ID_LEN + 1], *native;
	json_object *ev, *rec;
	size_t mark;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	make(H_FAKE, id);
	native = h_native(id);
	mark = h_events_mark();
	CU_ASSERT_EQUAL(FB->exit(H_FAKE, native, 3, false), 0);
	i = h_wait_event(mark, "modify", state_path(id), "EXITED");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 3);
	CU_ASSERT_EQUAL(h_int(ev, "value/pid", 0), -1);
	CU_ASSERT_PTR_NOT_NULL(h_str(ev, "value/finishedAt"));
	CU_ASSERT_PTR_NOT_NULL(h_str(ev, "value/startedAt"));
	CU_ASSERT_PTR_NULL(h_get(ev, "value/oomKilled"));
	json_object_put(ev);
	h_settle();
	CU_ASSERT_EQUAL(h_status(id), CS_EXITED);
	rec = h_record(id);
	H_ASSERT_STR(h_str(rec, "state/status"), "EXITED");
	CU_ASSERT_EQUAL(h_int(rec, "state/exitCode", 0), 3);
	json_object_put(rec);
	CU_ASSERT_EQUAL(h_count_events(mark, "modify", state_path(id), NULL), 1);

	/* killed by the OOM killer */
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", NULL, NULL), 204);
	mark = h_events_mark();
	CU_ASSERT_EQUAL(FB->exit(H_FAKE, native, 137, true), 0);
	i = h_wait_event(mark, "modify", state_path(id), "EXITED");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 137);
	CU_ASSERT_TRUE(h_get(ev, "value/oomKilled") &&
		       json_object_get_boolean(h_get(ev, "value/oomKilled")));
	H_ASSERT_STR(h_str(ev, "value/error"), "OOM Killed");
	json_object_put(ev);
	free(native);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_removed_behind_our_back(void)
{
	char id[CONTAINER_ID_LEN + 1], *native;
	size_t mark;
	long dead, deleted;

	CU_ASSERT_FATAL(harness_start(NULL));
	make(H_FAKE, id);
	native = h_native(id);
	mark = h_events_mark();
	CU_ASSERT_EQUAL(FB->vanish(H_FAKE, native), 0);
	dead = h_wait_event(mark, "modify", state_path(id), "DEAD");
	deleted = h_wait_event(mark, "delete", h_feature(id), NULL);
	CU_ASSERT_TRUE(dead >= 0 && deleted > dead);
	h_settle();
	CU_ASSERT_EQUAL(h_status(id), -1);
	CU_ASSERT_FALSE(h_record_exists(id));
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", NULL, NULL), 404);
	free(native);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_events_lost(void)
{
	char id[CONTAINER_ID_LEN + 1];

	CU_ASSERT_FATAL(harness_start(NULL));
	make(H_MINI, id);
	/* no exit event comes: the stopper finds the exit by inspecting */
	FBM->set_events(H_MINI, false);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "stopWithOptions", "{\"timeout\":30}", NULL), 204);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);
	CU_ASSERT_TRUE(FBM->count_calls(H_MINI, "inspect", NULL) > 0);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_unreachable(void)
{
	char id[CONTAINER_ID_LEN + 1];
	struct h_reply r;

	CU_ASSERT_FATAL(harness_start(NULL));
	make(H_FAKE, id);
	FB->set_reachable(H_FAKE, false, "dial unix /run/fake.sock: connection refused");
	CU_ASSERT(FB->wait_quiet(H_FAKE, HARNESS_WAIT_MS));
	/* 503 with the reason, nothing reaches the runtime */
	FB->clear_calls(H_FAKE);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "stop", NULL, &r), 503);
	H_ASSERT_STR(h_str(r.env, "value/error"), "messages:runtime.unavailable");
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), "connection refused"));
	h_reply_release(&r);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "pause", NULL, NULL), 503);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "remove", "true", NULL), 503);
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", NULL), 503);
	CU_ASSERT_EQUAL(FB->calls(H_FAKE, NULL, 0), 0);
	/* the other backend is not affected */
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "createWithConfig",
				  "{\"imageRef\":\"busybox\",\"backend\":\"mini\"}", NULL), 200);
	/* back: commands work again (after a reconciliation) */
	FB->set_reachable(H_FAKE, true, NULL);
	h_settle();
	CU_ASSERT_TRUE(FB->count_calls(H_FAKE, "list", NULL) >= 1);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "stop", NULL, NULL), 204);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void test_reconcile(void)
{
	const char *orphan = "0f0e0d0c-0b0a-4908-8706-050403020100";
	char id[CONTAINER_ID_LEN + 1], gone[CONTAINER_ID_LEN + 1], native[FAKE_ID_MAX], foreign[FAKE_ID_MAX];
	char *native_gone = NULL;
	struct container *c;
	json_object *ev;
	size_t mark;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	make(H_FAKE, id);
	make(H_FAKE, gone);
	native_gone = h_native(gone);
	/* while the agent does not hear the runtime: one of ours vanishes, a labelled
	 * container without a record appears (a lost state dir), and a foreign one */
	FB->set_reachable(H_FAKE, false, "restarting");
	FB->set_events(H_FAKE, false);
	CU_ASSERT_EQUAL(FB->vanish(H_FAKE, native_gone), 0);
	CU_ASSERT_EQUAL(FB->add(H_FAKE, orphan, H_THING, "adoptee", "busybox:1.36", BERTH_RS_RUNNING,
				native, sizeof(native)), 0);
	CU_ASSERT_EQUAL(FB->add(H_FAKE, NULL, NULL, "foreign", "nginx", BERTH_RS_RUNNING, foreign,
				sizeof(foreign)), 0);
	/* another agent's (same engine): labelled, owned by another thing; and one labelled
	 * by an agent that predates owner labels */
	CU_ASSERT_EQUAL(FB->add(H_FAKE, "1f0e0d0c-0b0a-4908-8706-050403020100", "other:agent",
				"theirs", "nginx", BERTH_RS_RUNNING, foreign, sizeof(foreign)), 0);
	CU_ASSERT_EQUAL(FB->add(H_FAKE, "2f0e0d0c-0b0a-4908-8706-050403020100", NULL,
				"unowned", "nginx", BERTH_RS_CREATED, foreign, sizeof(foreign)), 0);
	CU_ASSERT(FB->wait_quiet(H_FAKE, HARNESS_WAIT_MS));
	h_settle();
	CU_ASSERT_EQUAL(h_status(gone), CS_RUNNING); /* nobody told the agent yet */
	FB->set_events(H_FAKE, true);

	mark = h_events_mark();
	FB->set_reachable(H_FAKE, true, NULL);
	/* adopted: a feature with its state */
	i = h_wait_event(mark, "modify", "/features/Container:0f0e0d0c-0b0a-4908-8706-050403020100",
			 "RUNNING");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	H_ASSERT_STR(h_str(ev, "value/properties/status/name"), "adoptee");
	H_ASSERT_STR(h_str(ev, "value/properties/status/imageRef"), "busybox:1.36");
	H_ASSERT_STR(h_str(ev, "value/properties/status/config/restartPolicy/type"), "NO");
	json_object_put(ev);
	/* the vanished one: DEAD and deleted */
	CU_ASSERT(h_wait_event(mark, "delete", h_feature(gone), NULL) >= 0);
	h_settle();
	CU_ASSERT_EQUAL(h_status(gone), -1);
	CU_ASSERT_FALSE(h_record_exists(gone));
	CU_ASSERT_EQUAL(h_status(orphan), CS_RUNNING);
	CU_ASSERT_TRUE(h_record_exists(orphan));
	c = containers_get(orphan);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	H_ASSERT_STR(c->native_id, native);
	H_ASSERT_STR(c->name, "adoptee");
	container_unref(c);
	/* foreign containers stay foreign, another agent's too; ours is untouched */
	CU_ASSERT_EQUAL(containers_count(), 2);
	CU_ASSERT_EQUAL(h_status("1f0e0d0c-0b0a-4908-8706-050403020100"), -1);
	CU_ASSERT_EQUAL(h_status("2f0e0d0c-0b0a-4908-8706-050403020100"), -1);
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);
	/* the adopted container takes commands */
	CU_ASSERT_EQUAL(h_command(h_feature(orphan), "stop", NULL, NULL), 204);
	CU_ASSERT_EQUAL(h_command(h_feature(orphan), "remove", NULL, NULL), 204);
	free(native_gone);
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* A lost state directory: berthd starts without records and adopts what the runtime
 * labelled. */
static void test_lost_state_dir(void)
{
	struct harness_options keep = { .keep_state = true };
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], path[512];
	struct container *c;

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"keeper\",\"start\":true,"
				       "\"config\":{\"restartPolicy\":{\"type\":\"no\"}}}", true, a), 200);
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"idle\"}", true, b), 200);
	h_settle();
	CU_ASSERT_EQUAL(harness_stop(), 0);
	snprintf(path, sizeof(path), "%s/containers/%s.json", harness_state_dir(), a);
	CU_ASSERT_EQUAL(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/containers/%s.json", harness_state_dir(), b);
	CU_ASSERT_EQUAL(unlink(path), 0);

	CU_ASSERT_FATAL(harness_start(&keep));
	CU_ASSERT_EQUAL(containers_count(), 2);
	CU_ASSERT_EQUAL(h_status(a), CS_RUNNING);
	CU_ASSERT_EQUAL(h_status(b), CS_CREATED);
	c = containers_get(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	H_ASSERT_STR(c->name, "keeper");
	container_unref(c);
	CU_ASSERT_TRUE(h_record_exists(a));
	CU_ASSERT_EQUAL(h_command(h_feature(a), "stop", NULL, NULL), 204);
	CU_ASSERT_EQUAL(h_command(h_feature(b), "rename", "\"keeper\"", NULL), 409); /* names known */
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "exit events: EXITED, OOM", test_exit_events },
		{ "a container removed behind the agent's back", test_removed_behind_our_back },
		{ "events lost: the stopper inspects", test_events_lost },
		{ "runtime unreachable: 503, then back", test_unreachable },
		{ "reconciliation: vanished, adopted, foreign", test_reconcile },
		{ "lost state directory", test_lost_state_dir },
	};

	return h_main("monitor", tests, N(tests));
}
