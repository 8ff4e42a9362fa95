/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes values_parse_size against a regex and 128-bit arithmetic, and the round trip
 * through values_format_size. */
#include <regex.h>

#include "values_fuzz.h"

/* The documented grammar, written independently of the parser. */
static const char *const grammar = "^(0|[0-9]+(\\.[0-9]+)? ?[bBkKmMgG])$";

static int64_t multiplier(char unit)
{
	switch (unit | 0x20) {
	case 'k': return 1024;
	case 'm': return 1024 * 1024;
	case 'g': return 1024 * 1024 * 1024;
	default: return 1;
	}
}

/*
 * trunc(<digits>.<frac> * mult) in 128 bits, for at most 27 digits in all
 * (10^27 * 2^30 < 2^127); *value = -1 when it exceeds INT64_MAX. Returns false when the
 * input is too long for the check.
 */
static bool reference_value(const char *s, int64_t *value)
{
	unsigned __int128 num = 0, den = 1;
	int digits = 0;
	const char *p;

	if (strcmp(s, "0") == 0) {
		*value = 0;
		return true;
	}
	for (p = s; *p >= '0' && *p <= '9'; p++, digits++)
		num = num * 10 + (unsigned)(*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			num = num * 10 + (unsigned)(*p - '0');
			den *= 10;
		}
	if (digits > 27)
		return false;
	if (*p == ' ')
		p++;
	num = num * (unsigned __int128)multiplier(*p) / den;
	*value = num > INT64_MAX ? -1 : (int64_t)num;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static regex_t re;
	static bool compiled;
	char buf[FUZZ_MAX_INPUT + 1];
	const char *s = fuzz_string(data, size, buf);

	if (!s)
		return 0;
	if (!compiled) {
		REQUIRE(regcomp(&re, grammar, REG_EXTENDED | REG_NOSUB) == 0);
		compiled = true;
	}
	for (int allow = 0; allow <= 1; allow++) {
		bool unlimited = allow && strcmp(s, "-1") == 0;
		bool well_formed = unlimited || regexec(&re, s, 0, NULL, 0) == 0;
		berth_error err = { 0 };
		int64_t v = 0, again = 0, expected;
		char out[32];

		if (values_parse_size(s, allow, "memorySwap", &v, &err) < 0) {
			fuzz_check_rejection(&err, "memorySwap");
			/* Only overflow may reject a well-formed size. */
			REQUIRE(!well_formed || strstr(err.message, "larger than the maximum"));
			if (well_formed && reference_value(s, &expected))
				REQUIRE(expected == -1);
			continue;
		}
		REQUIRE(well_formed);
		REQUIRE(v >= 0 || (unlimited && v == -1));
		if (!unlimited && reference_value(s, &expected))
			REQUIRE(v == expected);

		/* What parses formats and parses back to the same value. */
		REQUIRE(values_format_size(v, out, sizeof(out)) < (int)sizeof(out));
		REQUIRE(values_parse_size(out, true, "memorySwap", &again, &err) == 0);
		REQUIRE(again == v);
	}
	return 0;
}
