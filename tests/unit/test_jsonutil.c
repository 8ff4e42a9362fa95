/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backends/common/jsonutil.c: RFC 3339 times as Go writes them, member access, and the
 * incremental parser for streams of JSON objects (split objects, several per chunk,
 * syntax errors, the size bound).
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "jsonutil.h"
#include "unit_main.h"

static void test_times(void)
{
	CU_ASSERT_EQUAL(jsonutil_parse_time("1970-01-01T00:00:01Z"), 1000000000LL);
	CU_ASSERT_EQUAL(jsonutil_parse_time("2026-12-03T13:53:47.225151491Z"),
			1796306027225151491LL);
	CU_ASSERT_EQUAL(jsonutil_parse_time("2026-12-03T14:53:47.5+01:00"),
			1796306027500000000LL);
	CU_ASSERT_EQUAL(jsonutil_parse_time("0001-01-01T00:00:00Z"), 0);
	CU_ASSERT_EQUAL(jsonutil_parse_time("2026-12-03 13:53:47"), 0);
	CU_ASSERT_EQUAL(jsonutil_parse_time("yesterday"), 0);
	CU_ASSERT_EQUAL(jsonutil_parse_time(NULL), 0);
}

static void test_members(void)
{
	json_object *o = json_tokener_parse("{\"a\":\"x\",\"n\":1,\"o\":{\"b\":\"y\"}}");

	CU_ASSERT_STRING_EQUAL(jsonutil_string(o, "a"), "x");
	CU_ASSERT_PTR_NULL(jsonutil_string(o, "n"));
	CU_ASSERT_PTR_NULL(jsonutil_string(o, "missing"));
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jsonutil_get(o, "o"), "b"), "y");
	CU_ASSERT_PTR_NULL(jsonutil_get(jsonutil_get(o, "a"), "b"));
	CU_ASSERT_PTR_NULL(jsonutil_get(NULL, "a"));
	json_object_put(o);
}

struct seen {
	int n;
	char last[64];
};

static int on_object(void *userdata, json_object *obj)
{
	struct seen *s = userdata;
	const char *v = jsonutil_string(obj, "v");

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s", v ? v : "");
	return v && strcmp(v, "stop") == 0 ? 5 : 0;
}

static void test_stream(void)
{
	static const char two[] = "{\"v\":\"a\"}\n{\"v\":\"b\"}\n";
	struct jsonutil_stream js;
	struct seen s = { 0 };

	CU_ASSERT_EQUAL_FATAL(jsonutil_stream_init(&js, 64, on_object, &s), 0);
	CU_ASSERT_EQUAL(jsonutil_stream_feed(&js, two, strlen(two)), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.last, "b");
	/* an object split across chunks */
	CU_ASSERT_EQUAL(jsonutil_stream_feed(&js, "{\"v\":", 5), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(jsonutil_stream_feed(&js, "\"c\"}\n", 5), 0);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_STRING_EQUAL(s.last, "c");
	/* a broken line is skipped, the next object is read */
	CU_ASSERT_EQUAL(jsonutil_stream_feed(&js, "{\"v\" oops}\n{\"v\":\"d\"}\n", 21), 0);
	CU_ASSERT_EQUAL(s.n, 4);
	CU_ASSERT_STRING_EQUAL(s.last, "d");
	/* on_object's non-zero value stops the feed */
	CU_ASSERT_EQUAL(jsonutil_stream_feed(&js, "{\"v\":\"stop\"}{\"v\":\"e\"}", 22), 5);
	CU_ASSERT_EQUAL(s.n, 5);
	/* an object over the bound */
	jsonutil_stream_reset(&js);
	{
		char big[200];

		memset(big, ' ', sizeof(big));
		big[0] = '{';
		big[1] = '"';
		CU_ASSERT_EQUAL(jsonutil_stream_feed(&js, big, sizeof(big)), -1);
	}
	jsonutil_stream_release(&js);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "times", test_times },
		{ "members", test_members },
		{ "stream", test_stream },
	};

	return unit_run("jsonutil", NULL, NULL, tests, N(tests));
}
