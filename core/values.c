/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers and validators for Container API values (see values.h); pure, fuzzed. */
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "values.h"

#define DIGITS "0123456789"
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* ---- quoting rejected values in messages ------------------------------------------------ */

/*
 * Messages go to logs and Ditto responses verbatim. A rejected value is shown bounded
 * (so that a 512-byte message keeps its explanation), cut on a UTF-8 character boundary,
 * with control characters as '?' (so that a value cannot forge log lines).
 * QUOTE(s) is only valid until the end of the enclosing block (a compound literal).
 */
#define QUOTE_MAX 48
#define QUOTE_BUF (QUOTE_MAX + sizeof("..."))
#define QUOTE(s) quote((s), SIZE_MAX, (char[QUOTE_BUF]){ 0 })
#define QUOTE_N(s, n) quote((s), (n), (char[QUOTE_BUF]){ 0 })

/* Quotes at most the first n bytes of s (NULL: ""). */
static const char *quote(const char *s, size_t n, char *buf)
{
	size_t len = s ? strnlen(s, n < QUOTE_MAX + 1 ? n : QUOTE_MAX + 1) : 0;
	bool cut = len > QUOTE_MAX;

	if (cut) {
		len = QUOTE_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(buf + len, cut ? "..." : "");
	return buf;
}

/* ---- sizes ------------------------------------------------------------------------------ */

static int64_t unit_multiplier(char c)
{
	switch (c) {
	case 'b': case 'B': return 1;
	case 'k': case 'K': return 1024;
	case 'm': case 'M': return 1024 * 1024;
	case 'g': case 'G': return 1024 * 1024 * 1024;
	default: return 0;
	}
}

/*
 * floor(mult * 0.<digits>), exactly, for any number of digits: fold the digits in from the
 * last one with carry = (digit * mult + carry) / 10. Integer division loses nothing,
 * because floor((a + x) / 10) == floor((a + floor(x)) / 10) for an integer a, and the carry
 * stays below mult, so nothing overflows.
 */
static int64_t fraction_bytes(const char *digits, size_t n, int64_t mult)
{
	int64_t carry = 0;

	while (n-- > 0)
		carry = ((digits[n] - '0') * mult + carry) / 10;
	return carry;
}

int values_parse_size(const char *s, bool allow_unlimited, const char *what, int64_t *out,
		      berth_error *err)
{
	const char *p = s ? s : "", *frac = "";
	size_t n_int, n_frac = 0;
	int64_t whole = 0, mult, part;

	if (!what)
		what = "size";
	if (allow_unlimited && strcmp(p, "-1") == 0) {
		*out = -1;
		return 0;
	}
	/* values_format_size(0) is "0": zero needs no unit. */
	if (strcmp(p, "0") == 0) {
		*out = 0;
		return 0;
	}

	/* Syntax first, so that "99999999999999999999x" is called malformed, not too large. */
	n_int = strspn(p, DIGITS);
	if (n_int == 0)
		goto malformed;
	p += n_int;
	if (*p == '.') {
		frac = p + 1;
		n_frac = strspn(frac, DIGITS);
		if (n_frac == 0)
			goto malformed;
		p = frac + n_frac;
	}
	if (*p == ' ')
		p++;
	mult = unit_multiplier(*p);
	if (mult == 0 || p[1] != '\0')
		goto malformed;

	for (size_t i = 0; i < n_int; i++) {
		int d = s[i] - '0';

		if (whole > (INT64_MAX - d) / 10)
			goto too_large;
		whole = whole * 10 + d;
	}
	if (whole > INT64_MAX / mult)
		goto too_large;
	/* No overflow: part < mult, and mult divides INT64_MAX + 1 (a power of two), so
	 * whole * mult <= INT64_MAX + 1 - mult. */
	part = fraction_bytes(frac, n_frac, mult);
	*out = whole * mult + part;
	return 0;

malformed:
	return berth_error_set(err, BERTH_E_INVALID,
			       "invalid %s '%s': expected a number with a unit b, k, m or g "
			       "(e.g. 200m, 1.2g)%s",
			       what, QUOTE(s), allow_unlimited ? " or -1" : "");
too_large:
	return berth_error_set(err, BERTH_E_INVALID,
			       "invalid %s '%s': larger than the maximum of %" PRId64 " bytes",
			       what, QUOTE(s), INT64_MAX);
}

int values_format_size(int64_t bytes, char *buf, size_t len)
{
	static const struct {
		int64_t mult;
		char unit;
	} units[] = { { 1024 * 1024 * 1024, 'g' }, { 1024 * 1024, 'm' }, { 1024, 'k' } };

	if (bytes == 0 || bytes == -1)
		return snprintf(buf, len, "%" PRId64, bytes);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (bytes % units[i].mult == 0)
			return snprintf(buf, len, "%" PRId64 "%c", bytes / units[i].mult,
					units[i].unit);
	return snprintf(buf, len, "%" PRId64 "b", bytes);
}

/* ---- signals ---------------------------------------------------------------------------- */

/* The host's numbers: the agent signals processes on this kernel. */
static const struct {
	int sig;
	const char *name;
} signals[] = {
	{ SIGHUP, "SIGHUP" },	  { SIGINT, "SIGINT" },	      { SIGQUIT, "SIGQUIT" },
	{ SIGILL, "SIGILL" },	  { SIGTRAP, "SIGTRAP" },     { SIGABRT, "SIGABRT" },
	{ SIGBUS, "SIGBUS" },	  { SIGFPE, "SIGFPE" },	      { SIGKILL, "SIGKILL" },
	{ SIGUSR1, "SIGUSR1" },	  { SIGSEGV, "SIGSEGV" },     { SIGUSR2, "SIGUSR2" },
	{ SIGPIPE, "SIGPIPE" },	  { SIGALRM, "SIGALRM" },     { SIGTERM, "SIGTERM" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT, "SIGSTKFLT" },
#endif
	{ SIGCHLD, "SIGCHLD" },	  { SIGCONT, "SIGCONT" },     { SIGSTOP, "SIGSTOP" },
	{ SIGTSTP, "SIGTSTP" },	  { SIGTTIN, "SIGTTIN" },     { SIGTTOU, "SIGTTOU" },
	{ SIGURG, "SIGURG" },	  { SIGXCPU, "SIGXCPU" },     { SIGXFSZ, "SIGXFSZ" },
	{ SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },   { SIGWINCH, "SIGWINCH" },
	{ SIGIO, "SIGIO" },
#ifdef SIGPWR
	{ SIGPWR, "SIGPWR" },
#endif
	{ SIGSYS, "SIGSYS" },
};

#define SIGNAL_MAX 64

int values_parse_signal(const char *s, int *out, berth_error *err)
{
	const char *p = s ? s : "";

	/* A number: 1..64 without sign or leading zeros, so that each signal has one
	 * spelling and "010" cannot be mistaken for octal. */
	if (*p >= '1' && *p <= '9') {
		size_t n = strspn(p, DIGITS);
		int sig = 0;

		for (size_t i = 0; i < n && sig <= SIGNAL_MAX; i++)
			sig = sig * 10 + (p[i] - '0');
		if (p[n] == '\0' && sig <= SIGNAL_MAX) {
			*out = sig;
			return 0;
		}
	} else {
		const char *name = strncmp(p, "SIG", 3) == 0 ? p + 3 : p;

		for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
			if (strcmp(name, signals[i].name + 3) == 0) {
				*out = signals[i].sig;
				return 0;
			}
	}
	return berth_error_set(err, BERTH_E_INVALID,
			       "invalid signal '%s': expected a name such as SIGTERM or TERM, "
			       "or a number from 1 to %d",
			       QUOTE(s), SIGNAL_MAX);
}

const char *values_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

/* ---- restart policies ------------------------------------------------------------------- */

static const struct {
	const char *wire;
	const char *docker;
} restart_types[] = {
	[BERTH_RESTART_NO] = { "NO", "no" },
	[BERTH_RESTART_ALWAYS] = { "ALWAYS", "always" },
	[BERTH_RESTART_UNLESS_STOPPED] = { "UNLESS_STOPPED", "unless-stopped" },
	[BERTH_RESTART_ON_FAILURE] = { "ON_FAILURE", "on-failure" },
};

#define N_RESTART_TYPES ((int)(sizeof(restart_types) / sizeof(restart_types[0])))

int values_parse_restart_type(const char *s, int *out, berth_error *err)
{
	for (int t = 0; s && t < N_RESTART_TYPES; t++)
		if (strcmp(s, restart_types[t].wire) == 0 || strcmp(s, restart_types[t].docker) == 0) {
			*out = t;
			return 0;
		}
	return berth_error_set(err, BERTH_E_INVALID,
			       "invalid restart policy type '%s': expected no, always, unless-stopped "
			       "or on-failure (or NO, ALWAYS, UNLESS_STOPPED, ON_FAILURE)",
			       QUOTE(s));
}

const char *values_restart_type_wire(int type)
{
	return type >= 0 && type < N_RESTART_TYPES ? restart_types[type].wire : NULL;
}

const char *values_restart_type_docker(int type)
{
	return type >= 0 && type < N_RESTART_TYPES ? restart_types[type].docker : NULL;
}

int values_check_restart_policy(const berth_restart_policy *p, berth_error *err)
{
	const char *type = values_restart_type_docker(p->type);

	if (!type)
		return berth_error_set(err, BERTH_E_INVALID, "invalid restart policy type %d",
				       p->type);
	if (p->max_retry_count < 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "invalid maxRetryCount %d: must not be negative",
				       p->max_retry_count);
	if (p->max_retry_count != 0 && p->type != BERTH_RESTART_ON_FAILURE)
		return berth_error_set(err, BERTH_E_INVALID,
				       "maxRetryCount is only allowed with restart policy on-failure "
				       "(got maxRetryCount %d with %s)",
				       p->max_retry_count, type);
	if (p->retry_timeout_s < 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "invalid retryTimeout %" PRId64 ": must not be negative",
				       p->retry_timeout_s);
	return 0;
}

/* ---- names and environment -------------------------------------------------------------- */

int values_check_name(const char *s, berth_error *err)
{
	size_t len = s ? strnlen(s, VALUES_NAME_MAX + 1) : 0;

	if (len > VALUES_NAME_MAX)
		return berth_error_set(err, BERTH_E_INVALID,
				       "invalid container name '%s': longer than %d characters",
				       QUOTE(s), VALUES_NAME_MAX);
	if (len == 0 || s[0] == '.' || s[0] == '-' || strspn(s, NAME_CHARS ".-") != len)
		return berth_error_set(err, BERTH_E_INVALID,
				       "invalid container name '%s': expected 1 to %d letters, digits, "
				       "'_', '.' or '-', not starting with '.' or '-'",
				       QUOTE(s), VALUES_NAME_MAX);
	return 0;
}

int values_check_env(const char *s, berth_error *err)
{
	size_t key_len = s ? strcspn(s, "=") : 0;

	if (key_len == 0 || (s[0] >= '0' && s[0] <= '9') || strspn(s, NAME_CHARS) != key_len)
		/* Only the name is shown: the value may be a secret. */
		return berth_error_set(err, BERTH_E_INVALID,
				       "invalid environment variable name '%s': expected letters, "
				       "digits and '_', not starting with a digit (KEY or KEY=value)",
				       QUOTE_N(s, key_len));
	return 0;
}

/* ---- memory limits ---------------------------------------------------------------------- */

#define SIZE_STR 32 /* "-9223372036854775808b" and then some */

int values_check_resources(const berth_resources *r, berth_error *err)
{
	char mem[SIZE_STR], res[SIZE_STR], swap[SIZE_STR], min[SIZE_STR];

	values_format_size(r->memory, mem, sizeof(mem));
	values_format_size(r->memory_reservation, res, sizeof(res));
	values_format_size(r->memory_swap, swap, sizeof(swap));
	values_format_size(VALUES_MIN_MEMORY, min, sizeof(min));

	if (r->memory < 0)
		return berth_error_set(err, BERTH_E_INVALID, "memory %s must not be negative", mem);
	if (r->memory_reservation < 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memoryReservation %s must not be negative", res);
	if (r->memory_swap < -1)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memorySwap %s must not be negative (except -1: unlimited)",
				       swap);
	if (r->memory > 0 && r->memory < VALUES_MIN_MEMORY)
		return berth_error_set(err, BERTH_E_INVALID, "memory %s is below the minimum of %s",
				       mem, min);
	if (r->memory > 0 && r->memory_reservation > r->memory)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memoryReservation %s must not be above memory %s", res, mem);
	if (r->memory_swap > 0 && r->memory == 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memorySwap %s needs memory to be set as well", swap);
	if (r->memory_swap > 0 && r->memory_swap < r->memory)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memorySwap %s must not be below memory %s "
				       "(memorySwap is memory plus swap)",
				       swap, mem);
	return 0;
}
