/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes values_check_name against the documented rule, checked here character by
 * character. */
#include "values_fuzz.h"

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (!first && (c == '.' || c == '-'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[FUZZ_MAX_INPUT + 1];
	const char *s = fuzz_string(data, size, buf);
	berth_error err = { 0 };
	bool valid;

	if (!s)
		return 0;
	valid = size >= 1 && size <= VALUES_NAME_MAX;
	for (size_t i = 0; valid && i < size; i++)
		valid = name_char(s[i], i == 0);
	if (values_check_name(s, &err) < 0) {
		REQUIRE(!valid);
		fuzz_check_rejection(&err, "invalid container name");
	} else {
		REQUIRE(valid);
	}
	return 0;
}
