/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth module SDK: error codes.
 *
 * Every call across the module boundary returns one of these codes and fills a
 * berth_error with a human-readable message. The core maps codes to Ditto statuses
 * (see the table next to each code); messages go to the cloud verbatim, so write them
 * for the person reading the response ("no such container: 3f2a..." rather than "404").
 */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Numbers are part of the ABI: never renumber, never reuse. */
enum berth_code {
	BERTH_OK = 0,
	BERTH_E_INVALID = 1,     /* bad argument or value               -> 400 */
	BERTH_E_NOT_FOUND = 2,   /* no such container, image, object    -> 404 */
	BERTH_E_CONFLICT = 3,    /* not allowed in the current state    -> 409 */
	BERTH_E_UNSUPPORTED = 4, /* the backend cannot do this          -> 501 */
	BERTH_E_UNAVAILABLE = 5, /* runtime or peer unreachable         -> 503 */
	BERTH_E_RUNTIME = 6,     /* the runtime refused or failed       -> 500 */
	BERTH_E_TIMEOUT = 7,     /* gave up waiting                     -> 500 */
	BERTH_E_NOMEM = 8,       /* out of memory                       -> 500 */
	BERTH_E_BUSY = 9,        /* queue full, try again later         -> 429 */
	BERTH_E_INTERNAL = 10,   /* a bug                               -> 500 */
	BERTH_E_SHUTDOWN = 11,   /* the agent is shutting down          -> 503 */
};

#define BERTH_ERROR_MESSAGE_MAX 512

typedef struct berth_error {
	int code;                              /* enum berth_code */
	char message[BERTH_ERROR_MESSAGE_MAX]; /* NUL-terminated, truncated if longer */
} berth_error;

/* Sets code and message (printf-style, truncated to fit); returns -1 so that callers
 * can write `return berth_error_set(err, BERTH_E_RUNTIME, "...");`. err may be NULL. */
static inline int berth_error_set(berth_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int berth_error_set(berth_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static inline void berth_error_clear(berth_error *err)
{
	if (err) {
		err->code = BERTH_OK;
		err->message[0] = '\0';
	}
}

/* A short English name for a code, for logs. */
static inline const char *berth_code_name(int code)
{
	switch (code) {
	case BERTH_OK: return "ok";
	case BERTH_E_INVALID: return "invalid";
	case BERTH_E_NOT_FOUND: return "not found";
	case BERTH_E_CONFLICT: return "conflict";
	case BERTH_E_UNSUPPORTED: return "unsupported";
	case BERTH_E_UNAVAILABLE: return "unavailable";
	case BERTH_E_RUNTIME: return "runtime failure";
	case BERTH_E_TIMEOUT: return "timeout";
	case BERTH_E_NOMEM: return "out of memory";
	case BERTH_E_BUSY: return "busy";
	case BERTH_E_INTERNAL: return "internal error";
	case BERTH_E_SHUTDOWN: return "shutting down";
	default: return "unknown error";
	}
}

#ifdef __cplusplus
}
#endif

#endif
