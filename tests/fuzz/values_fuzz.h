/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the values fuzz targets: the input as a C string, invariant checks. */
#ifndef BERTH_TESTS_FUZZ_VALUES_FUZZ_H
#define BERTH_TESTS_FUZZ_VALUES_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

/* Longer inputs teach nothing new about these grammars (run.sh passes -max_len too). */
#define FUZZ_MAX_INPUT 256

/* An invariant of values.c; a violation is a crash libFuzzer keeps as an artifact. */
#define REQUIRE(cond)                                                                   \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,      \
				__LINE__, #cond);                                       \
			abort();                                                        \
		}                                                                       \
	} while (0)

/* Copies the input into buf (FUZZ_MAX_INPUT + 1 bytes) as a C string. NULL when it is too
 * long or holds a NUL: a C string cannot, such an input would only repeat its prefix. */
static inline const char *fuzz_string(const uint8_t *data, size_t size, char *buf)
{
	if (size > FUZZ_MAX_INPUT || memchr(data, '\0', size))
		return NULL;
	memcpy(buf, data, size);
	buf[size] = '\0';
	return buf;
}

/* A rejection: BERTH_E_INVALID, a complete (untruncated) one-line message naming `what`. */
static inline void fuzz_check_rejection(const berth_error *err, const char *what)
{
	size_t len = strnlen(err->message, sizeof(err->message));

	REQUIRE(err->code == BERTH_E_INVALID);
	REQUIRE(len > 0 && len < sizeof(err->message) - 1);
	REQUIRE(strstr(err->message, what));
	for (size_t i = 0; i < len; i++)
		REQUIRE((unsigned char)err->message[i] >= 0x20 && err->message[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
