/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes values_parse_restart_type with the input as a string, and
 * values_check_restart_policy with its first 16 bytes as a policy (type, count, timeout). */
#include "values_fuzz.h"

static void fuzz_type(const char *s)
{
	berth_error err = { 0 };
	int type = -1;

	if (values_parse_restart_type(s, &type, &err) < 0) {
		fuzz_check_rejection(&err, "invalid restart policy type");
		return;
	}
	REQUIRE(type >= BERTH_RESTART_NO && type <= BERTH_RESTART_ON_FAILURE);
	REQUIRE(strcmp(s, values_restart_type_wire(type)) == 0 ||
		strcmp(s, values_restart_type_docker(type)) == 0);
}

static void fuzz_policy(const uint8_t *data)
{
	berth_restart_policy p;
	berth_error err = { 0 };
	int32_t type, count;
	bool valid;

	memcpy(&type, data, 4);
	memcpy(&count, data + 4, 4);
	memcpy(&p.retry_timeout_s, data + 8, 8);
	p.type = type;
	p.max_retry_count = count;
	valid = p.type >= BERTH_RESTART_NO && p.type <= BERTH_RESTART_ON_FAILURE &&
		p.max_retry_count >= 0 &&
		(p.max_retry_count == 0 || p.type == BERTH_RESTART_ON_FAILURE) &&
		p.retry_timeout_s >= 0;
	if (values_check_restart_policy(&p, &err) < 0) {
		REQUIRE(!valid);
		fuzz_check_rejection(&err, "");
	} else {
		REQUIRE(valid);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[FUZZ_MAX_INPUT + 1];
	const char *s = fuzz_string(data, size, buf);

	if (s)
		fuzz_type(s);
	if (size >= 16)
		fuzz_policy(data);
	return 0;
}
