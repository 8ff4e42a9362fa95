/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes values_parse_signal: what it accepts is 1..64 and spelled one of the ways the
 * number's own spellings are (its decimal, SIGNAME, NAME). */
#include "values_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[FUZZ_MAX_INPUT + 1], decimal[8];
	const char *s = fuzz_string(data, size, buf), *name;
	berth_error err = { 0 };
	int sig = 0;

	if (!s)
		return 0;
	if (values_parse_signal(s, &sig, &err) < 0) {
		fuzz_check_rejection(&err, "invalid signal");
		return 0;
	}
	REQUIRE(sig >= 1 && sig <= 64);
	snprintf(decimal, sizeof(decimal), "%d", sig);
	name = values_signal_name(sig);
	REQUIRE(strcmp(s, decimal) == 0 ||
		(name && (strcmp(s, name) == 0 || strcmp(s, name + 3) == 0)));
	return 0;
}
