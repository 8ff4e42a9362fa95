/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers and validators for the values the Container API carries: memory sizes,
 * signals, restart policies, container names and the memory rules between limits.
 * Pure functions, no I/O, no allocation: they are fuzzed.
 *
 * Every parser returns 0 on success and -1 with err = BERTH_E_INVALID and a message
 * that names the field and the offending value, e.g. "invalid memory '12x': expected a
 * number with a unit b, k, m or g (e.g. 200m, 1.2g)". Long values are shown cut to 48
 * bytes plus "...", control characters as '?'. A NULL string is rejected like "".
 */
#ifndef BERTH_CORE_VALUES_H
#define BERTH_CORE_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/backend.h>
#include <berth/error.h>

/* Smallest memory limit berth accepts (as the Container API documents): 3 MiB. */
#define VALUES_MIN_MEMORY (3LL * 1024 * 1024)
/* Longest container name accepted. */
#define VALUES_NAME_MAX 128

/*
 * Memory sizes: "<digits>[.<digits>][ ]<unit>", unit one of b, k, m, g (either case;
 * binary multiples: k = 1024), at most one space before the unit: "200m", "1.2g",
 * "500M", "1G", "512 k", "100b". The result is truncated to whole bytes, computed
 * exactly ("1.2g" = 1288490188, not subject to floating-point rounding). "0" alone is
 * accepted (zero needs no unit; values_format_size(0) gives it). Rejected: no unit
 * ("512"), other units ("MB", "t", "KiB"), signs, exponents, a leading or trailing dot
 * (".5m", "1.m"), whitespace around, junk, empty or NULL, values above INT64_MAX. With
 * allow_unlimited, the string "-1" gives -1 (memorySwap). `what` names the field in
 * messages ("memory", "memoryReservation", "memorySwap"). *out is set only on success.
 */
int values_parse_size(const char *s, bool allow_unlimited, const char *what, int64_t *out,
		      berth_error *err);

/* Formats bytes the way the twin reports sizes: the largest unit that divides exactly,
 * lower case ("200m", "1g", "1536k", "3k", "1536b"); 0 -> "0", -1 -> "-1". The result
 * parses back to the same value. Other negative values get the same treatment ("-2m"),
 * for messages only. At most 21 characters. Returns snprintf's value. */
int values_format_size(int64_t bytes, char *buf, size_t len);

/*
 * Signals: a Linux signal name with or without the SIG prefix ("SIGINT", "INT"; exact
 * upper case; no aliases such as IOT or POLL), or a decimal number 1..64 ("2") without
 * sign or leading zeros ("02" is rejected). Real-time signals by number only. Numbers
 * are the host's.
 */
int values_parse_signal(const char *s, int *out, berth_error *err);
/* "SIGTERM" for 15; NULL for numbers without a name. */
const char *values_signal_name(int sig);

/*
 * Restart policy types in either spelling: "no", "always", "unless-stopped",
 * "on-failure" (Docker) and "NO", "ALWAYS", "UNLESS_STOPPED", "ON_FAILURE" (the twin).
 */
int values_parse_restart_type(const char *s, int *out, berth_error *err);
/* The twin's spelling: "NO", "ALWAYS", "UNLESS_STOPPED", "ON_FAILURE". */
const char *values_restart_type_wire(int type);
/* Docker's spelling: "no", "always", "unless-stopped", "on-failure". */
const char *values_restart_type_docker(int type);

/* type is a known enum berth_restart_type; max_retry_count >= 0 and only with
 * on-failure (0 otherwise); retry_timeout_s >= 0. p must not be NULL. */
int values_check_restart_policy(const berth_restart_policy *p, berth_error *err);

/* Container names: [a-zA-Z0-9_][a-zA-Z0-9_.-]*, 1..VALUES_NAME_MAX characters. */
int values_check_name(const char *s, berth_error *err);

/*
 * Memory rules over a complete set of limits (after merging an update); r must not be
 * NULL; messages show the sizes formatted ("memory 2m is below the minimum of 3m"):
 *  - memory, if set (> 0), is >= VALUES_MIN_MEMORY;
 *  - memory_reservation, if set, is >= 0 and <= memory when memory is set;
 *  - memory_swap, if set and not -1, needs memory set and is >= memory;
 *  - no value is negative except memory_swap == -1.
 */
int values_check_resources(const berth_resources *r, berth_error *err);

/* Environment entries: KEY or KEY=value with KEY = [a-zA-Z_][a-zA-Z0-9_]*; the value is
 * anything. Messages show only the KEY: values may be secrets. */
int values_check_env(const char *s, berth_error *err);

#endif
