# SPDX-License-Identifier: Apache-2.0
"""Concurrency: commands for different containers run in parallel, commands for one
container run in order, and a full queue answers 429.

The only time-based check of the suite is here, because the behaviour is timing: six
stops whose processes ignore SIGTERM, each waiting T = 4 s before SIGKILL, must all be
answered in about T (bound 2*T), where a serial agent needs 6*T = 24 s."""
import sys

sys.dont_write_bytecode = True


from berthtest import CMD_IGNORE_TERM, E2ETestCase, log, main, snapshot  # noqa: E402

T = 4
N = 6


class ConcurrencyTest(E2ETestCase):
    berthd_options = {"stop_timeout": 3}

    def test_stops_of_different_containers_run_in_parallel(self):
        ids = [self.running_container(cmd=CMD_IGNORE_TERM) for _ in range(N)]
        since = self.cloud.mark()
        sent = []
        for cid in ids:
            sent.append(self.cloud.send("stopWithOptions", "Container:%s" % cid,
                                        {"signal": "SIGTERM", "timeout": T, "force": True}))
        first = sent[0][3]
        responses = []
        for cid, (req_id, corr, _, sent_at) in zip(ids, sent):
            r = self.cloud.wait_response(req_id, "stopWithOptions", corr, sent_at, since,
                                         timeout=N * T + 30)
            self.assertIsNotNone(r, "no answer to the stop of %s" % cid)
            responses.append(r)
        last = max(r.msg.time for r in responses)
        elapsed = last - first
        log("measured: %d parallel stops with timeout %d s + force: all answered %.2f s after "
            "the first was sent (serial would be >= %d s; bound %d s); per stop: %s"
            % (N, T, elapsed, N * T, 2 * T, ", ".join("%.2f" % r.elapsed for r in responses)))
        for cid, r in zip(ids, responses):
            self.assertStatus(r, 204, "stop %s" % cid)
            info = self.dinspect(cid)
            self.assertFalse(info["State"]["Running"], cid)
            self.assertEqual(info["State"]["ExitCode"], 137,
                             "%s was killed after the timeout" % cid)
        self.assertGreaterEqual(min(r.elapsed for r in responses), T - 0.5,
                                "a stop returned before its timeout: the process ignores SIGTERM")
        self.assertLess(elapsed, 2 * T, "stops of different containers ran serially")
        for cid in ids:
            self.wait_state(cid, "STOPPED", since)

    def test_commands_for_one_container_run_in_order(self):
        cid = self.running_container(cmd=CMD_IGNORE_TERM)
        name = "e2e-order-%s" % cid[:8]
        plan = [
            ("stopWithOptions", {"timeout": 2, "force": True}),  # ~2 s
            ("start", None),      # 409 if it ran before the stop finished
            ("pause", None),      # 409 if it ran before the start
            ("resume", None),     # 409 if it ran before the pause
            ("rename", name),
            ("stopWithOptions", {"signal": "SIGKILL"}),
        ]
        since = self.cloud.mark()
        sent = []
        for op, value in plan:
            if value is None:
                sent.append(self.cloud.send(op, "Container:%s" % cid))
            else:
                sent.append(self.cloud.send(op, "Container:%s" % cid, value))
        responses = []
        for (op, _), (req_id, corr, _, sent_at) in zip(plan, sent):
            r = self.cloud.wait_response(req_id, op, corr, sent_at, since, timeout=40)
            self.assertIsNotNone(r, "no answer to %s" % op)
            responses.append(r)
        for (op, _), r in zip(plan, responses):
            self.assertStatus(r, 204, op)
        times = [r.msg.time for r in responses]
        self.assertEqual(times, sorted(times), "answers came out of order")
        info = self.dinspect(cid)
        self.assertEqual(info["Name"], "/" + name)
        self.assertFalse(info["State"]["Running"])
        self.assertEqual(self.cloud.states(cid, since),
                         ["STOPPED", "RUNNING", "PAUSED", "RUNNING", "STOPPED"])


class QueueLimitTest(E2ETestCase):
    """agent.queue_limit = 2: a third command while two run is answered 429."""
    berthd_options = {"queue_limit": 2, "stop_timeout": 3}

    def test_full_queue_answers_429(self):
        a = self.running_container(cmd=CMD_IGNORE_TERM)
        b = self.running_container(cmd=CMD_IGNORE_TERM)
        c = self.running_container(cmd=CMD_IGNORE_TERM)
        before = snapshot(self.dinspect(c))
        since = self.cloud.mark()
        slow = [self.cloud.send("stopWithOptions", "Container:%s" % x,
                                {"timeout": 3, "force": True}) for x in (a, b)]
        r = self.ccmd("stopWithOptions", c, {"signal": "SIGKILL"})
        self.assertStatus(r, 429, "third command while two run")
        self.assertEqual(snapshot(self.dinspect(c)), before, "the refused stop changed Docker")
        for req_id, corr, _, sent_at in slow:
            resp = self.cloud.wait_response(req_id, "stopWithOptions", corr, sent_at, since)
            self.assertStatus(resp, 204, "slow stop")
        r = self.ccmd("stopWithOptions", c, {"signal": "SIGKILL"})
        self.assertStatus(r, 204, "the same command once the queue has room")
        self.assertFalse(self.dinspect(c)["State"]["Running"])


if __name__ == "__main__":
    main()
