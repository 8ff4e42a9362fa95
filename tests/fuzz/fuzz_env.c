/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes values_check_env against the documented rule for the name before '='. */
#include "values_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[FUZZ_MAX_INPUT + 1];
	const char *s = fuzz_string(data, size, buf), *eq;
	berth_error err = { 0 };
	size_t key_len;
	bool valid;

	if (!s)
		return 0;
	eq = strchr(s, '=');
	key_len = eq ? (size_t)(eq - s) : size;
	valid = key_len > 0 && !(s[0] >= '0' && s[0] <= '9');
	for (size_t i = 0; valid && i < key_len; i++) {
		char c = s[i];

		valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_';
	}
	if (values_check_env(s, &err) < 0) {
		REQUIRE(!valid);
		fuzz_check_rejection(&err, "invalid environment variable name");
	} else {
		REQUIRE(valid);
	}
	return 0;
}
