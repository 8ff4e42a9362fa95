/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes values_check_resources with the input's first 24 bytes as memory, reservation
 * and swap, against the rules of values.h; and values_format_size into short buffers. */
#include "values_fuzz.h"

/* snprintf semantics for any buffer length: the full length returned, the buffer
 * NUL-terminated and a prefix of the full text. */
static void fuzz_format(int64_t v, size_t len)
{
	char full[32], part[32];
	int n = values_format_size(v, full, sizeof(full));

	REQUIRE(n > 0 && n <= 21 && (size_t)n == strlen(full));
	memset(part, 'x', sizeof(part));
	REQUIRE(values_format_size(v, part, len) == n);
	if (len > 0) {
		REQUIRE(memchr(part, '\0', len));
		REQUIRE(strncmp(part, full, strlen(part)) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_resources r;
	berth_error err = { 0 };
	bool valid;

	if (size < 24)
		return 0;
	memcpy(&r.memory, data, 8);
	memcpy(&r.memory_reservation, data + 8, 8);
	memcpy(&r.memory_swap, data + 16, 8);

	valid = r.memory >= 0 && r.memory_reservation >= 0 && r.memory_swap >= -1 &&
		(r.memory == 0 || r.memory >= VALUES_MIN_MEMORY) &&
		(r.memory == 0 || r.memory_reservation <= r.memory) &&
		(r.memory_swap <= 0 || (r.memory > 0 && r.memory_swap >= r.memory));
	if (values_check_resources(&r, &err) < 0) {
		REQUIRE(!valid);
		fuzz_check_rejection(&err, "memory");
	} else {
		REQUIRE(valid);
	}

	fuzz_format(r.memory, size > 24 ? data[24] % 32 : 0);
	fuzz_format(r.memory_reservation, size > 25 ? data[25] % 32 : 5);
	fuzz_format(r.memory_swap, size > 26 ? data[26] % 32 : 31);
	return 0;
}
