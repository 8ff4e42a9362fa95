/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only modules: a fake backend (fake_backend.so, driver "fake_backend"; the same
 * code as fake_minimal.so, driver "fake_minimal", without the optional ops) and a fake
 * transport (fake_transport.so, driver "fake_transport"). They are real berth modules,
 * loaded by the core's loader; nothing in berthd knows them.
 *
 * CONTROL FROM A TEST
 * The modules are dlopen()ed with RTLD_LOCAL, so a test cannot link against them. Each
 * exports one extra symbol, matching the modules' export regex '^berth_module_':
 *
 *   const struct fake_backend_control   *berth_module_fake_backend_control(void);
 *   const struct fake_transport_control *berth_module_fake_transport_control(void);
 *
 * A test finds it with dlsym(loader_find("fake_backend")->dl, FAKE_BACKEND_CONTROL_SYMBOL)
 * and calls the table's functions. Every function names the instance it acts on (the
 * configuration group's `name`, e.g. "fake"); functions on an unknown instance fail (-1,
 * false, 0). fake_backend.so and fake_minimal.so are two modules with state of their
 * own: use each one's table for its instances (has() tells). All are thread-safe.
 * Strings handed out are malloc()ed: free them.
 *
 * THE FAKE BACKEND (what a runtime would do, in memory)
 *  - Containers have a native id "fake-<n>", the berth labels (id, owner), name, image, state
 *    (BERTH_RS_CREATED/RUNNING/PAUSED/EXITED), pid, exit code, times, restart policy and
 *    resources. create() refuses an image whose reference contains "missing" (NOT_FOUND,
 *    "No such image: ...") and a name in use (CONFLICT).
 *  - A "runtime thread" per instance (started by open()) plays the processes: a signal
 *    that is not ignored makes the process exit (exit code 128 + signal unless set with
 *    on_signal) after the instance's exit delay (default 0 ms), on that thread, which
 *    then reports BERTH_EV_EXIT through host->backend_event() once watch() was called.
 *    SIGKILL cannot be ignored. A signal sent to a paused container waits until resume
 *    (SIGKILL excepted). The native stop() signals, "waits" (without sleeping) and kills
 *    what ignored the signal, and returns once the process is gone.
 *  - Every driver call is recorded (op, native id, signal, flags, monotonic begin/end
 *    times) in order of arrival; a call can be made to fail once (fail_next), to take
 *    longer (set_delay), or to block until the test releases it (hold/release).
 *  - Options of a `backends` group: capabilities (int, enum berth_backend_cap bits;
 *    default every bit except BERTH_CAP_RESTART_POLICY), events (bool, default true:
 *    report events), keep (bool, default false: take over the containers the last
 *    instance of the same name left at close(), as a runtime that outlives berthd; an
 *    instance opened without it starts empty).
 *  - Driver "fake_minimal" (module fake_minimal.so) is the same runtime without the
 *    optional ops (no ping, stop, pause, resume, rename, update): the core must emulate
 *    or refuse them.
 *
 * THE FAKE TRANSPORT
 *  - A "network thread" per instance: start() makes it call host->transport_online()
 *    (with the identity given by the options thing_id/tenant, if any); inject() hands a
 *    message to that thread, which calls host->transport_inbound() and returns its
 *    disposition to the caller.
 *  - send_reply() and send_event() record copies (from any thread) and wake waiters.
 *  - Options: redelivery (bool: BERTH_TCAP_REDELIVERY), thing_id, tenant (strings:
 *    announced as a learned identity, BERTH_TCAP_IDENTITY).
 */
#ifndef BERTH_TEST_FAKE_H
#define BERTH_TEST_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/berth.h>

#define FAKE_BACKEND_CONTROL_SYMBOL "berth_module_fake_backend_control"
#define FAKE_TRANSPORT_CONTROL_SYMBOL "berth_module_fake_transport_control"

#define FAKE_ID_MAX 64
#define FAKE_OP_MAX 16

/* What a process does with a signal. */
enum fake_signal_action {
	FAKE_SIG_EXIT = 0,   /* exits (the default for every signal) */
	FAKE_SIG_IGNORE = 1, /* ignores it (not possible for SIGKILL) */
};

/* One recorded driver call. */
struct fake_call {
	unsigned seq;                 /* order of arrival, from 1 */
	char op[FAKE_OP_MAX];         /* "create", "start", "kill", "stop", "pause", ... */
	char native_id[FAKE_ID_MAX];  /* "" for create/list/ping */
	int signal;                   /* kill, stop */
	int timeout;                  /* stop */
	unsigned flags;
	unsigned mask;                /* update */
	int64_t begin_ns, end_ns;     /* CLOCK_MONOTONIC; end_ns 0 while in progress */
	int result;                   /* 0 or -1 */
};

/* A container as the fake runtime holds it. */
struct fake_container {
	char native_id[FAKE_ID_MAX];
	char berth_id[FAKE_ID_MAX]; /* label BERTH_LABEL_ID */
	char owner[160];            /* label BERTH_LABEL_OWNER */
	char name[160];
	char image[160];
	int state; /* enum berth_runtime_state */
	int pid;
	int exit_code;
	bool oom_killed;
	int64_t started_ns, finished_ns;
	berth_restart_policy restart;
	berth_resources resources;
	int pending_signal; /* sent while paused */
};

struct fake_backend_control {
	uint32_t size;
	/* The next call of `op` fails with `code` and `message` (once). */
	int (*fail_next)(const char *inst, const char *op, int code, const char *message);
	/* Calls of `op` take `ms` longer (0: no delay). */
	int (*set_delay)(const char *inst, const char *op, int ms);
	/* Calls of `op` block (recorded as in progress) until release(); wait_held() waits
	 * until `n` calls of `op` are blocked. */
	int (*hold)(const char *inst, const char *op);
	int (*release)(const char *inst, const char *op);
	bool (*wait_held)(const char *inst, const char *op, int n, int timeout_ms);
	/* Processes exit this long after a fatal signal or exit() (default 0). */
	int (*set_exit_delay)(const char *inst, int ms);
	/* Whether events are reported (the runtime's event stream works). */
	int (*set_events)(const char *inst, bool on);
	/* What container `native_id` does with `sig`; exit_code -1: 128 + sig. */
	int (*on_signal)(const char *inst, const char *native_id, int sig, int action,
			 int exit_code);
	/* The process of a running container ends by itself with `exit_code`. */
	int (*exit)(const char *inst, const char *native_id, int exit_code, bool oom);
	/* The runtime restarts the container by its own policy: the process exits with
	 * exit_code and starts again at once (BERTH_EV_EXIT, then BERTH_EV_START). */
	int (*runtime_restart)(const char *inst, const char *native_id, int exit_code);
	/* The container disappears behind the agent's back (BERTH_EV_DESTROY). */
	int (*vanish)(const char *inst, const char *native_id);
	/* A container the runtime has and the agent may not: labelled with berth_id and
	 * owner (NULL: no such label), in state (BERTH_RS_CREATED or _RUNNING). Writes its
	 * native id into native_out. */
	int (*add)(const char *inst, const char *berth_id, const char *owner, const char *name,
		   const char *image, int state, char *native_out, size_t len);
	/* Reports reachability through host->backend_status() from the runtime thread. */
	int (*set_reachable)(const char *inst, bool reachable, const char *why);
	/* A copy of the container; -1 when the runtime has no such container. */
	int (*get)(const char *inst, const char *native_id, struct fake_container *out);
	size_t (*count)(const char *inst);
	/* The call log: copies up to `max` calls into out (NULL: only count); returns how
	 * many calls there are. clear_calls() empties it. */
	size_t (*calls)(const char *inst, struct fake_call *out, size_t max);
	int (*clear_calls)(const char *inst);
	/* Calls of `op` (NULL: any) for `native_id` (NULL: any). */
	int (*count_calls)(const char *inst, const char *op, const char *native_id);
	/* Waits until no exit is pending and no event is waiting to be reported (true at
	 * once for an unknown instance). */
	bool (*wait_quiet)(const char *inst, int timeout_ms);
	/* Whether this module runs instance `inst`. */
	bool (*has)(const char *inst);
};

/* A message to inject, as a transport would hand it to the core. */
struct fake_message {
	const char *payload;
	size_t payload_len;   /* 0: strlen(payload) */
	const char *reply_to; /* NULL: cannot be answered */
	const char *correlation_id;
	const char *subject;
	const char *device_id;
	const char *content_type;
};

/* One recorded reply or event (strings malloc()ed; fake_record_release frees). */
struct fake_record {
	int status; /* replies */
	char *reply_to;
	char *correlation_id;
	char *subject;
	char *device_id;
	char *payload;
	char *content_type;
	char *thing_id; /* events */
	char *tenant;
};

struct fake_transport_control {
	uint32_t size;
	/* Hands the message to the transport's thread, which calls
	 * host->transport_inbound(); returns its disposition (-1: no such instance). */
	int (*inject)(const char *inst, const struct fake_message *msg);
	bool (*wait_online)(const char *inst, int timeout_ms);
	/* Goes offline (host->transport_offline) and online again (a resync follows). */
	int (*reconnect)(const char *inst);
	size_t (*n_replies)(const char *inst);
	size_t (*n_events)(const char *inst);
	bool (*wait_replies)(const char *inst, size_t n, int timeout_ms);
	bool (*wait_events)(const char *inst, size_t n, int timeout_ms);
	/* Copies record i; -1 when there is none. */
	int (*reply)(const char *inst, size_t i, struct fake_record *out);
	int (*event)(const char *inst, size_t i, struct fake_record *out);
	int (*clear)(const char *inst);
	/* The next send_reply() fails with `code` and `message` (nothing is recorded). */
	int (*fail_next_reply)(const char *inst, int code, const char *message);
	/* The next send_event() blocks (recorded once released) until release_event();
	 * wait_event_held() waits until it is blocked. Later events pass. */
	int (*hold_next_event)(const char *inst);
	bool (*wait_event_held)(const char *inst, int timeout_ms);
	int (*release_event)(const char *inst);
};

static inline void fake_record_release(struct fake_record *r)
{
	free(r->reply_to);
	free(r->correlation_id);
	free(r->subject);
	free(r->device_id);
	free(r->payload);
	free(r->content_type);
	free(r->thing_id);
	free(r->tenant);
	*r = (struct fake_record){ 0 };
}

typedef const struct fake_backend_control *(*fake_backend_control_fn)(void);
typedef const struct fake_transport_control *(*fake_transport_control_fn)(void);

#endif
