/* Unit tests: events.c (Event object shape, dedup). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"
#include "json.h"

static void test_build(void **state)
{
	struct event_ref ref = { "foundry.aucert.io/v1alpha1", "FoundryModel", "ns", "m1", "uid-1", "42" };
	cJSON *ev = NULL;

	(void)state;
	assert_int_equal(event_build(&ref, "Warning", "KeyConflict", "key X is held by m0",
				     "2026-11-24T07:00:00Z", "host_abc", &ev), FC_OK);
	assert_string_equal(json_str_or(ev, "metadata.generateName", ""), "m1.");
	assert_string_equal(json_str_or(ev, "involvedObject.uid", ""), "uid-1");
	assert_string_equal(json_str_or(ev, "involvedObject.kind", ""), "FoundryModel");
	assert_string_equal(json_str_or(ev, "type", ""), "Warning");
	assert_string_equal(json_str_or(ev, "reason", ""), "KeyConflict");
	assert_string_equal(json_str_or(ev, "source.component", ""), "foundry-controller");
	assert_string_equal(json_str_or(ev, "reportingInstance", ""), "host_abc");
	cJSON_Delete(ev);
}

static void test_dedup(void **state)
{
	struct event_dedup d;

	(void)state;
	assert_int_equal(event_dedup_init(&d), FC_OK);
	assert_int_equal(event_dedup_should_emit(&d, "u1", "Published", "m"), 1);
	assert_int_equal(event_dedup_should_emit(&d, "u1", "Published", "m"), 0);
	assert_int_equal(event_dedup_should_emit(&d, "u1", "Published", "m2"), 1);
	assert_int_equal(event_dedup_should_emit(&d, "u1", "KeyConflict", "m2"), 1);
	assert_int_equal(event_dedup_should_emit(&d, "u2", "Published", "m2"), 1);
	event_dedup_forget(&d, "u1");
	assert_int_equal(event_dedup_should_emit(&d, "u1", "Published", "m2"), 1);
	assert_int_equal(event_dedup_should_emit(&d, "u2", "Published", "m2"), 0);
	event_dedup_release(&d);
}

static void test_dedup_bounded(void **state)
{
	struct event_dedup d;
	char uid[32];

	(void)state;
	assert_int_equal(event_dedup_init(&d), FC_OK);
	for (int i = 0; i < EVENTS_DEDUP_MAX + 100; i++) {
		snprintf(uid, sizeof(uid), "u%d", i);
		event_dedup_should_emit(&d, uid, "R", "m");
	}
	assert_true(d.count <= EVENTS_DEDUP_MAX);
	/* the most recent is remembered, the oldest was evicted */
	snprintf(uid, sizeof(uid), "u%d", EVENTS_DEDUP_MAX + 99);
	assert_int_equal(event_dedup_should_emit(&d, uid, "R", "m"), 0);
	assert_int_equal(event_dedup_should_emit(&d, "u0", "R", "m"), 1);
	event_dedup_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_dedup_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
