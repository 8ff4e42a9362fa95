/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for core/values.c: every accepted form, every rejection, the boundaries. */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "values.h"
#include "unit_main.h"

#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

/* CU_ASSERT that names the table row: all rows of a table share one line number. */
#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		char check_what_[1024];                                                     \
		snprintf(check_what_, sizeof(check_what_), __VA_ARGS__);                   \
		CU_assertImplementation(!!(cond), __LINE__, check_what_, __FILE__, "",     \
					CU_FALSE);                                         \
	} while (0)

/* Shows NULL as (null) in failure reports. */
static const char *str(const char *s)
{
	return s ? s : "(null)";
}

/* A rejection of the case `input`: -1, BERTH_E_INVALID, a message containing every
 * fragment given. */
static void check_rejected(int rc, const berth_error *err, const char *input,
			   const char *fragment1, const char *fragment2)
{
	CHECK(rc == -1, "'%s' rejected (rc %d)", str(input), rc);
	CHECK(err->code == BERTH_E_INVALID, "'%s': code %d", str(input), err->code);
	CHECK(strlen(err->message) > 0, "'%s': a message", str(input));
	if (fragment1)
		CHECK(strstr(err->message, fragment1), "'%s': message \"%s\" contains \"%s\"",
		      str(input), err->message, fragment1);
	if (fragment2)
		CHECK(strstr(err->message, fragment2), "'%s': message \"%s\" contains \"%s\"",
		      str(input), err->message, fragment2);
}

/* ---- sizes ------------------------------------------------------------------------------ */

static void test_size_accepted(void)
{
	static const struct {
		const char *s;
		bool allow_unlimited;
		int64_t bytes;
	} cases[] = {
		{ "200m", false, 200 * MiB },
		{ "1.2g", false, 1288490188 }, /* trunc(1.2 * 1024^3) = trunc(1288490188.8) */
		{ "500M", false, 500 * MiB },
		{ "1G", false, GiB },
		{ "512k", false, 512 * KiB },
		{ "512K", false, 512 * KiB },
		{ "512 k", false, 512 * KiB },
		{ "2.5 m", false, 2621440 },
		{ "100b", false, 100 },
		{ "100B", false, 100 },
		{ "0", false, 0 },
		{ "0b", false, 0 },
		{ "0m", false, 0 },
		{ "007m", false, 7 * MiB },
		{ "1.5k", false, 1536 },
		{ "0.5k", false, 512 },
		{ "1.5b", false, 1 },
		{ "1.999999b", false, 1 },
		{ "0.1g", false, 107374182 },         /* 107374182.4 */
		{ "0.000000001g", false, 1 },         /* 1.073741824 */
		{ "0.0000000001g", false, 0 },        /* 0.1073741824 */
		{ "1.00000000000000000000000001k", false, 1024 },
		{ "3m", false, 3 * MiB },
		{ "-1", true, -1 },
		{ "0", true, 0 },
		{ "1g", true, GiB },
		/* The INT64_MAX boundary in every unit. */
		{ "9223372036854775807b", false, INT64_MAX },
		{ "9223372036854775807B", false, INT64_MAX },
		{ "9007199254740991k", false, INT64_MAX - KiB + 1 },
		{ "8796093022207m", false, INT64_MAX - MiB + 1 },
		{ "8589934591g", false, INT64_MAX - GiB + 1 },
		{ "8589934591.999999999g", false, INT64_MAX - 1 },
		/* A double would round this to 8589934592g, which overflows. */
		{ "8589934591.9999999999999g", false, INT64_MAX },
		{ "9007199254740991.99999999999999999999k", false, INT64_MAX },
	};

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int64_t out = 12345;
		int rc = values_parse_size(cases[i].s, cases[i].allow_unlimited, "memory", &out, &err);

		CHECK(rc == 0, "'%s' accepted (%s)", cases[i].s, err.message);
		CHECK(out == cases[i].bytes, "'%s' = %" PRId64 ", got %" PRId64, cases[i].s,
		      cases[i].bytes, out);
	}
}

static void test_size_long_fraction(void)
{
	/* "1.999...9k" with 300 nines is just below 2k: 2047 bytes, not 2048. */
	char s[400] = "1.";
	berth_error err = { 0 };
	int64_t out = 0;

	memset(s + 2, '9', 300);
	strcpy(s + 302, "k");
	CU_ASSERT_EQUAL(values_parse_size(s, false, "memory", &out, &err), 0);
	CU_ASSERT_EQUAL(out, 2047);
}

static void test_size_rejected(void)
{
	static const struct {
		const char *s;
		bool allow_unlimited;
		const char *fragment; /* besides the field name */
	} cases[] = {
		{ "", false, "''" },
		{ NULL, false, "''" },
		{ "512", false, "'512'" },
		{ "100MB", false, "'100MB'" },
		{ "1t", false, "'1t'" },
		{ "1KiB", false, "'1KiB'" },
		{ "1kb", false, "'1kb'" },
		{ "+1m", false, "'+1m'" },
		{ "-5m", false, "'-5m'" },
		{ "-5m", true, "'-5m'" },
		{ "1.2.3m", false, "'1.2.3m'" },
		{ "1e3m", false, "'1e3m'" },
		{ ".5m", false, "'.5m'" },
		{ "1.m", false, "'1.m'" },
		{ " 1m", false, "' 1m'" },
		{ "1m ", false, "'1m '" },
		{ "1  m", false, "'1  m'" },
		{ "1\tm", false, "'1?m'" },
		{ "1 ", false, "'1 '" },
		{ "m", false, "'m'" },
		{ "1mm", false, "'1mm'" },
		{ "0x10m", false, "'0x10m'" },
		{ "1,5m", false, "'1,5m'" },
		{ "00", false, "'00'" },
		{ "-0", false, "'-0'" },
		{ "0 ", false, "'0 '" },
		{ "-1", false, "'-1'" },
		{ "-1 ", true, "'-1 '" },
		{ "--1", true, "'--1'" },
		{ "-1m", true, "'-1m'" },
		{ "-2", true, "'-2'" },
		/* One past INT64_MAX in every unit, and far beyond. */
		{ "9223372036854775808b", false, "larger than the maximum" },
		{ "9007199254740992k", false, "larger than the maximum" },
		{ "8796093022208m", false, "larger than the maximum" },
		{ "8589934592g", false, "larger than the maximum" },
		{ "9999999999999g", false, "'9999999999999g'" },
		{ "99999999999999999999999999b", false, "larger than the maximum" },
		/* Malformed wins over too large. */
		{ "99999999999999999999999999x", false, "expected a number with a unit" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int64_t out = 12345;
		int rc = values_parse_size(cases[i].s, cases[i].allow_unlimited, "memoryReservation",
					   &out, &err);

		check_rejected(rc, &err, cases[i].s, "memoryReservation", cases[i].fragment);
		CHECK(out == 12345, "'%s': out untouched", str(cases[i].s));
	}
}

static void test_size_messages(void)
{
	berth_error err = { 0 };
	int64_t out;
	char long_input[1000], expect[128];

	values_parse_size("12x", true, "memorySwap", &out, &err);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "invalid memorySwap '12x': expected a number with a unit b, k, m "
			       "or g (e.g. 200m, 1.2g) or -1");
	values_parse_size("12x", false, "memory", &out, &err);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "invalid memory '12x': expected a number with a unit b, k, m "
			       "or g (e.g. 200m, 1.2g)");
	values_parse_size("9999999999999g", false, "memory", &out, &err);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "invalid memory '9999999999999g': larger than the maximum of "
			       "9223372036854775807 bytes");
	values_parse_size("x", false, NULL, &out, &err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid size 'x'"));

	/* Long input: cut to 48 bytes and "...", the explanation intact. */
	memset(long_input, '7', sizeof(long_input) - 1);
	long_input[sizeof(long_input) - 1] = '\0';
	values_parse_size(long_input, false, "memory", &out, &err);
	snprintf(expect, sizeof(expect), "'%.48s...': expected a number", long_input);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, expect));

	/* The cut does not split a UTF-8 character: 47 'a', then "é" at bytes 47..48. */
	memset(long_input, 'a', 47);
	strcpy(long_input + 47, "\xc3\xa9zzzzzzzzm");
	values_parse_size(long_input, false, "memory", &out, &err);
	snprintf(expect, sizeof(expect), "'%.47s...'", long_input);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, expect));

	/* Control characters cannot start a new log line. */
	values_parse_size("1\nm\r", false, "memory", &out, &err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'1?m?'"));
	CU_ASSERT_PTR_NULL(strchr(err.message, '\n'));
}

static void test_size_format(void)
{
	static const struct {
		int64_t bytes;
		const char *s;
	} cases[] = {
		{ 200 * MiB, "200m" },
		{ GiB, "1g" },
		{ 3 * GiB, "3g" },
		{ 1536, "1536b" },
		{ 3072, "3k" },
		{ 1536 * KiB, "1536k" },
		{ 3 * MiB, "3m" },
		{ 3 * MiB - 1, "3145727b" },
		{ 1, "1b" },
		{ 1023, "1023b" },
		{ 0, "0" },
		{ -1, "-1" },
		{ -2, "-2b" },
		{ -5 * MiB, "-5m" },
		{ INT64_MAX, "9223372036854775807b" },
		{ INT64_MAX - GiB + 1, "8589934591g" },
		{ INT64_MIN, "-8589934592g" },
	};
	char buf[32];

	for (size_t i = 0; i < N(cases); i++) {
		int n = values_format_size(cases[i].bytes, buf, sizeof(buf));

		CHECK(strcmp(buf, cases[i].s) == 0, "%" PRId64 " -> '%s', got '%s'",
		      cases[i].bytes, cases[i].s, buf);
		CHECK(n == (int)strlen(cases[i].s), "%" PRId64 ": returns %d", cases[i].bytes, n);
	}

	/* snprintf semantics: the needed length, a truncated NUL-terminated buffer. */
	CU_ASSERT_EQUAL(values_format_size(GiB, NULL, 0), 2);
	CU_ASSERT_EQUAL(values_format_size(INT64_MIN, buf, 4), 12);
	CU_ASSERT_STRING_EQUAL(buf, "-85");
}

/* format -> parse gives the value back. */
static void check_round_trip(int64_t v)
{
	char buf[32];
	berth_error err = { 0 };
	int64_t out = 0;

	values_format_size(v, buf, sizeof(buf));
	CHECK(values_parse_size(buf, true, "memory", &out, &err) == 0 && out == v,
	      "%" PRId64 " -> '%s' -> %" PRId64 " (%s)", v, buf, out, err.message);
}

static void test_size_round_trip(void)
{
	static const int64_t fixed[] = { -1, 0, 1, 1023, 1024, 1025, 1536, 3 * MiB - 1, 3 * MiB,
					 GiB - 1, GiB, GiB + 1, INT64_MAX, INT64_MAX - GiB + 1 };
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < N(fixed); i++)
		check_round_trip(fixed[i]);
	/* Deterministic pseudo-random values, also as exact multiples of each unit. */
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (int shift = 0; shift <= 30; shift += 10)
			check_round_trip((int64_t)((x >> 1) >> shift << shift));
		check_round_trip((int64_t)(x >> (1 + x % 63)));
	}
}

/* ---- signals ---------------------------------------------------------------------------- */

static void test_signal_names(void)
{
	static const struct {
		const char *name;
		int sig;
	} cases[] = {
		{ "HUP", SIGHUP },     { "INT", SIGINT },	{ "QUIT", SIGQUIT },
		{ "ILL", SIGILL },     { "TRAP", SIGTRAP },	{ "ABRT", SIGABRT },
		{ "BUS", SIGBUS },     { "FPE", SIGFPE },	{ "KILL", SIGKILL },
		{ "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },	{ "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE },   { "ALRM", SIGALRM },	{ "TERM", SIGTERM },
		{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },	{ "CONT", SIGCONT },
		{ "STOP", SIGSTOP },   { "TSTP", SIGTSTP },	{ "TTIN", SIGTTIN },
		{ "TTOU", SIGTTOU },   { "URG", SIGURG },	{ "XCPU", SIGXCPU },
		{ "XFSZ", SIGXFSZ },   { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
		{ "WINCH", SIGWINCH }, { "IO", SIGIO },		{ "PWR", SIGPWR },
		{ "SYS", SIGSYS },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char full[16];
		berth_error err = { 0 };
		int a = 0, b = 0;

		snprintf(full, sizeof(full), "SIG%s", cases[i].name);
		CHECK(values_parse_signal(cases[i].name, &a, &err) == 0 && a == cases[i].sig,
		      "'%s' = %d, got %d", cases[i].name, cases[i].sig, a);
		CHECK(values_parse_signal(full, &b, &err) == 0 && b == cases[i].sig,
		      "'%s' = %d, got %d", full, cases[i].sig, b);
		CHECK(values_signal_name(cases[i].sig) &&
			      strcmp(values_signal_name(cases[i].sig), full) == 0,
		      "name of %d is %s, got %s", cases[i].sig, full,
		      str(values_signal_name(cases[i].sig)));
	}
	CU_ASSERT_EQUAL(N(cases), 31);
	CU_ASSERT_STRING_EQUAL(values_signal_name(15), "SIGTERM");
	CU_ASSERT_STRING_EQUAL(values_signal_name(2), "SIGINT");
	CU_ASSERT_PTR_NULL(values_signal_name(SIGRTMIN));
	CU_ASSERT_PTR_NULL(values_signal_name(64));
	CU_ASSERT_PTR_NULL(values_signal_name(0));
	CU_ASSERT_PTR_NULL(values_signal_name(65));
	CU_ASSERT_PTR_NULL(values_signal_name(-1));
}

static void test_signal_numbers(void)
{
	int named = 0;

	for (int sig = 1; sig <= 64; sig++) {
		char num[8];
		berth_error err = { 0 };
		int out = 0;
		const char *name = values_signal_name(sig);

		snprintf(num, sizeof(num), "%d", sig);
		CHECK(values_parse_signal(num, &out, &err) == 0 && out == sig, "'%s' = %d", num,
		      out);
		if (name) {
			named++;
			CHECK(values_parse_signal(name, &out, &err) == 0 && out == sig,
			      "'%s' = %d", name, sig);
		}
	}
	CU_ASSERT_EQUAL(named, 31);
}

static void test_signal_rejected(void)
{
	static const char *const cases[] = {
		"sigterm", "Term", "term", "TERM2", "0", "65", "100", "", NULL, " 2", "2 ", "+2",
		"-9", "02", "015", "SIG", "SIG15", "SIGSIGTERM", "SIG TERM", "IOT", "POLL",
		"CLD", "SIGRTMIN", "RTMIN+1", "99999999999999999999999", "1.0", "0x1",
	};

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int out = 12345;
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "'%s'", cases[i] ? cases[i] : "");
		check_rejected(values_parse_signal(cases[i], &out, &err), &err, cases[i],
			       "invalid signal", quoted);
		CHECK(strstr(err.message, "1 to 64"), "'%s': message gives the range",
		      str(cases[i]));
		CHECK(out == 12345, "'%s': out untouched", str(cases[i]));
	}
}

/* ---- restart policies ------------------------------------------------------------------- */

static void test_restart_types(void)
{
	static const struct {
		const char *s;
		int type;
	} cases[] = {
		{ "no", BERTH_RESTART_NO },
		{ "always", BERTH_RESTART_ALWAYS },
		{ "unless-stopped", BERTH_RESTART_UNLESS_STOPPED },
		{ "on-failure", BERTH_RESTART_ON_FAILURE },
		{ "NO", BERTH_RESTART_NO },
		{ "ALWAYS", BERTH_RESTART_ALWAYS },
		{ "UNLESS_STOPPED", BERTH_RESTART_UNLESS_STOPPED },
		{ "ON_FAILURE", BERTH_RESTART_ON_FAILURE },
	};
	static const char *const wire[] = { "NO", "ALWAYS", "UNLESS_STOPPED", "ON_FAILURE" };
	static const char *const docker[] = { "no", "always", "unless-stopped", "on-failure" };

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int out = -1;

		CHECK(values_parse_restart_type(cases[i].s, &out, &err) == 0 &&
			      out == cases[i].type,
		      "'%s' = %d, got %d", cases[i].s, cases[i].type, out);
	}
	for (int t = 0; t < 4; t++) {
		CHECK(strcmp(str(values_restart_type_wire(t)), wire[t]) == 0, "wire %d", t);
		CHECK(strcmp(str(values_restart_type_docker(t)), docker[t]) == 0, "docker %d", t);
	}
	CU_ASSERT_PTR_NULL(values_restart_type_wire(-1));
	CU_ASSERT_PTR_NULL(values_restart_type_wire(4));
	CU_ASSERT_PTR_NULL(values_restart_type_docker(-1));
	CU_ASSERT_PTR_NULL(values_restart_type_docker(4));
}

static void test_restart_types_rejected(void)
{
	static const char *const cases[] = {
		"On-Failure", "never", "", NULL, "on_failure", "ON-FAILURE", "unless_stopped",
		"UNLESS-STOPPED", "No", "Always", " no", "no ", "0", "restart",
	};

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int out = 12345;
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "'%s'", cases[i] ? cases[i] : "");
		check_rejected(values_parse_restart_type(cases[i], &out, &err), &err, cases[i],
			       quoted, "no, always, unless-stopped or on-failure");
		CHECK(strstr(err.message, "NO, ALWAYS, UNLESS_STOPPED, ON_FAILURE"),
		      "'%s': message lists the twin's spellings", str(cases[i]));
		CHECK(out == 12345, "'%s': out untouched", str(cases[i]));
	}
}

static void test_restart_policy(void)
{
	static const struct {
		berth_restart_policy p;
		const char *fragment; /* NULL: accepted */
	} cases[] = {
		{ { BERTH_RESTART_NO, 0, 0 }, NULL },
		{ { BERTH_RESTART_ALWAYS, 0, 0 }, NULL },
		{ { BERTH_RESTART_UNLESS_STOPPED, 0, 0 }, NULL },
		{ { BERTH_RESTART_ON_FAILURE, 0, 0 }, NULL },
		{ { BERTH_RESTART_ON_FAILURE, 5, 10 }, NULL },
		{ { BERTH_RESTART_ON_FAILURE, INT_MAX, INT64_MAX }, NULL },
		{ { BERTH_RESTART_ALWAYS, 0, 30 }, NULL },
		{ { BERTH_RESTART_ALWAYS, 3, 0 },
		  "maxRetryCount is only allowed with restart policy on-failure" },
		{ { BERTH_RESTART_NO, 1, 0 },
		  "maxRetryCount is only allowed with restart policy on-failure" },
		{ { BERTH_RESTART_UNLESS_STOPPED, INT_MAX, 0 },
		  "maxRetryCount is only allowed with restart policy on-failure" },
		{ { BERTH_RESTART_ON_FAILURE, -1, 0 }, "invalid maxRetryCount -1" },
		{ { BERTH_RESTART_ALWAYS, INT_MIN, 0 }, "must not be negative" },
		{ { BERTH_RESTART_ON_FAILURE, 0, -1 }, "invalid retryTimeout -1" },
		{ { BERTH_RESTART_NO, 0, INT64_MIN }, "retryTimeout" },
		{ { 4, 0, 0 }, "invalid restart policy type 4" },
		{ { -1, 0, 0 }, "invalid restart policy type -1" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int rc = values_check_restart_policy(&cases[i].p, &err);

		if (!cases[i].fragment)
			CHECK(rc == 0, "policy %zu accepted (%s)", i, err.message);
		else
			check_rejected(rc, &err, cases[i].fragment, cases[i].fragment, NULL);
	}
}

/* ---- names and environment -------------------------------------------------------------- */

static void test_names(void)
{
	static const char *const accepted[] = {
		"a", "A", "0", "_", "my-app.v1_2", "_x", "app-", "a..b", "9lives", "x.",
	};
	static const struct {
		const char *s;
		const char *shown; /* as the message quotes it */
	} rejected[] = {
		{ "", "''" },	     { NULL, "''" },	  { ".a", "'.a'" },   { "-a", "'-a'" },
		{ ".", "'.'" },	     { "a b", "'a b'" },  { "a/b", "'a/b'" }, { "a:b", "'a:b'" },
		{ "a\n", "'a?'" },   { "a!", "'a!'" },	  { " a", "' a'" },   { "a ", "'a '" },
		{ "\xc3\xa4", "'\xc3\xa4'" }, { "caf\xc3\xa9", "'caf\xc3\xa9'" },
	};
	char name[VALUES_NAME_MAX + 2];
	berth_error err = { 0 };

	for (size_t i = 0; i < N(accepted); i++)
		CHECK(values_check_name(accepted[i], &err) == 0, "'%s' accepted", accepted[i]);
	for (size_t i = 0; i < N(rejected); i++)
		check_rejected(values_check_name(rejected[i].s, &err), &err, rejected[i].s,
			       "invalid container name", rejected[i].shown);

	/* Length: VALUES_NAME_MAX characters exactly, and one more. */
	memset(name, 'n', VALUES_NAME_MAX);
	name[VALUES_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL(values_check_name(name, &err), 0);
	name[VALUES_NAME_MAX] = 'n';
	name[VALUES_NAME_MAX + 1] = '\0';
	check_rejected(values_check_name(name, &err), &err, name, "longer than 128 characters",
		       "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...'");
}

static void test_env(void)
{
	static const char *const accepted[] = {
		"KEY", "KEY=value", "_K=", "a1=b=c", "PATH=/usr/bin:/bin", "K=\n", "K= spaced ",
		"_", "lower_case=1", "K=\xc3\xa9",
	};
	static const struct {
		const char *s;
		const char *shown; /* the name as the message quotes it */
	} rejected[] = {
		{ "", "''" },		    { NULL, "''" },	    { "=value", "''" },
		{ "1KEY=x", "'1KEY'" },	    { "KEY-X=1", "'KEY-X'" }, { "KE Y=1", "'KE Y'" },
		{ " KEY=1", "' KEY'" },	    { "KEY =1", "'KEY '" }, { "K\xc3\x84Y=1", "'K\xc3\x84Y'" },
		{ "A.B", "'A.B'" },	    { "K\n=1", "'K?'" },
	};
	berth_error err = { 0 };

	for (size_t i = 0; i < N(accepted); i++)
		CHECK(values_check_env(accepted[i], &err) == 0, "'%s' accepted", accepted[i]);
	for (size_t i = 0; i < N(rejected); i++)
		check_rejected(values_check_env(rejected[i].s, &err), &err, rejected[i].s,
			       "invalid environment variable name", rejected[i].shown);

	/* The value may be a secret: it never appears in the message. */
	values_check_env("PASS WORD=hunter2", &err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'PASS WORD'"));
	CU_ASSERT_PTR_NULL(strstr(err.message, "hunter2"));
}

/* ---- memory limits ---------------------------------------------------------------------- */

static void test_resources(void)
{
	static const struct {
		berth_resources r; /* memory, reservation, swap */
		const char *message; /* NULL: accepted */
	} cases[] = {
		{ { 0, 0, 0 }, NULL },
		{ { 3 * MiB, 0, 0 }, NULL },
		{ { 200 * MiB, 100 * MiB, 300 * MiB }, NULL },
		{ { 200 * MiB, 200 * MiB, 200 * MiB }, NULL },
		{ { 0, 100 * MiB, 0 }, NULL },
		{ { 0, 0, -1 }, NULL },
		{ { 200 * MiB, 0, -1 }, NULL },
		{ { INT64_MAX, INT64_MAX, INT64_MAX }, NULL },
		{ { 2 * MiB, 0, 0 }, "memory 2m is below the minimum of 3m" },
		{ { 3 * MiB - 1, 0, 0 }, "memory 3145727b is below the minimum of 3m" },
		{ { 1, 0, 0 }, "memory 1b is below the minimum of 3m" },
		{ { -5 * MiB, 0, 0 }, "memory -5m must not be negative" },
		{ { -1, 0, 0 }, "memory -1 must not be negative" },
		{ { INT64_MIN, 0, 0 }, "memory -8589934592g must not be negative" },
		{ { 0, -1, 0 }, "memoryReservation -1 must not be negative" },
		{ { 200 * MiB, 300 * MiB, 0 }, "memoryReservation 300m must not be above memory 200m" },
		{ { 200 * MiB, 200 * MiB + 1, 0 },
		  "memoryReservation 209715201b must not be above memory 200m" },
		{ { 0, 0, GiB }, "memorySwap 1g needs memory to be set" },
		{ { 200 * MiB, 0, 100 * MiB }, "memorySwap 100m must not be below memory 200m" },
		{ { 200 * MiB, 0, 200 * MiB - 1 }, "memorySwap 209715199b must not be below memory 200m" },
		{ { 200 * MiB, 0, -2 }, "memorySwap -2b must not be negative" },
		{ { 0, 0, INT64_MIN }, "memorySwap -8589934592g must not be negative" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		berth_error err = { 0 };
		int rc = values_check_resources(&cases[i].r, &err);

		if (!cases[i].message)
			CHECK(rc == 0, "resources %zu accepted (%s)", i, err.message);
		else
			check_rejected(rc, &err, cases[i].message, cases[i].message, NULL);
	}
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "size: accepted forms and boundaries", test_size_accepted },
		{ "size: long fraction is exact", test_size_long_fraction },
		{ "size: rejected forms and overflow", test_size_rejected },
		{ "size: messages", test_size_messages },
		{ "size: format", test_size_format },
		{ "size: format/parse round trip", test_size_round_trip },
		{ "signal: names", test_signal_names },
		{ "signal: numbers", test_signal_numbers },
		{ "signal: rejected", test_signal_rejected },
		{ "restart: types", test_restart_types },
		{ "restart: rejected types", test_restart_types_rejected },
		{ "restart: policy", test_restart_policy },
		{ "names", test_names },
		{ "env", test_env },
		{ "resources", test_resources },
	};
	int failed;

	failed = unit_run("values", NULL, NULL, tests, N(tests));
	return failed;
}
