/* SPDX-License-Identifier: Apache-2.0 */
/* The one CUnit runner every unit-test program shares. */
#ifndef BERTH_TESTS_UNIT_MAIN_H
#define BERTH_TESTS_UNIT_MAIN_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* Elements of an array. */
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Runs `tests` as one suite (init/cleanup may be NULL) with CUnit's basic reporter and
 * returns the program's exit code: 0 when every test ran and every assertion held.
 * BERTH_TEST_ONLY=<text> runs only the tests whose name contains it. */
static inline int unit_run(const char *suite_name, CU_InitializeFunc init,
			   CU_CleanupFunc cleanup, const struct unit_test *tests, size_t n)
{
	const char *only = getenv("BERTH_TEST_ONLY");
	CU_pSuite suite;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, init, cleanup);
	for (size_t i = 0; suite && i < n; i++)
		if ((!only || strstr(tests[i].name, only)) &&
		    !CU_add_test(suite, tests[i].name, tests[i].fn))
			suite = NULL;
	if (!suite) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() != 0 || CU_get_number_of_tests_failed() != 0 ||
		 CU_get_number_of_suites_failed() != 0 || CU_get_error() != CUE_SUCCESS;
	CU_cleanup_registry();
	return failed;
}

#endif
