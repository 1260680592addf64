/* Unit tests: watch stream framing (kube_watch_parser in kube_client.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "kube_client.h"

#define EV(type, name, rv)                                                              \
	"{\"type\":\"" type "\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" \
	name "\",\"resourceVersion\":\"" rv "\"},\"data\":{\"k\":\"v\\nw\"}}}"

static const char stream[] =
	EV("ADDED", "a", "1") "\n"
	"\n"
	EV("MODIFIED", "a", "2") "\r\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
	"   \n"
	EV("DELETED", "a", "10") "\n";

static const char *const want[] = { "ADDED a 1", "MODIFIED a 2", "BOOKMARK  9", "DELETED a 10" };

struct rec {
	char got[16][64];
	int n;
	int take;          /* take ownership of every other object */
	int fail_at;       /* return FC_ERR_STATE on this event (1-based), 0 = never */
};

static fc_err rec_fn(void *ud, const char *type, cJSON **object)
{
	struct rec *r = ud;

	assert_non_null(*object);
	if (r->n < 16)
		snprintf(r->got[r->n], sizeof(r->got[0]), "%s %s %s", type,
			 json_str_or(*object, "metadata.name", ""),
			 json_str_or(*object, "metadata.resourceVersion", ""));
	r->n++;
	if (r->take && (r->n % 2)) {
		cJSON_Delete(*object);
		*object = NULL;
	}
	if (r->fail_at && r->n == r->fail_at)
		return FC_ERR_STATE;
	return FC_OK;
}

static void check_all(const struct rec *r)
{
	assert_int_equal(r->n, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(r->got[i], want[i]);
}

static void test_whole(void **state)
{
	struct kube_watch_parser p;
	struct rec r = { .n = 0 };

	(void)state;
	kube_watch_parser_init(&p, 0, rec_fn, &r);
	assert_int_equal(kube_watch_parser_feed(&p, stream, sizeof(stream) - 1), FC_OK);
	assert_int_equal(kube_watch_parser_finish(&p), FC_OK);
	check_all(&r);
	assert_int_equal(p.events, 4);
	kube_watch_parser_release(&p);
}

/* Two chunks, split at every offset. */
static void test_split_everywhere(void **state)
{
	const size_t n = sizeof(stream) - 1;

	(void)state;
	for (size_t i = 0; i <= n; i++) {
		struct kube_watch_parser p;
		struct rec r = { .n = 0, .take = (int)(i & 1) };

		kube_watch_parser_init(&p, 0, rec_fn, &r);
		assert_int_equal(kube_watch_parser_feed(&p, stream, i), FC_OK);
		assert_int_equal(kube_watch_parser_feed(&p, stream + i, n - i), FC_OK);
		assert_int_equal(kube_watch_parser_finish(&p), FC_OK);
		check_all(&r);
		kube_watch_parser_release(&p);
	}
}

/* Three chunks, split at every pair of offsets (and a zero-length feed). */
static void test_split_three(void **state)
{
	const size_t n = sizeof(stream) - 1;

	(void)state;
	for (size_t i = 0; i <= n; i += 3) {
		for (size_t j = i; j <= n; j++) {
			struct kube_watch_parser p;
			struct rec r = { .n = 0 };

			kube_watch_parser_init(&p, 0, rec_fn, &r);
			assert_int_equal(kube_watch_parser_feed(&p, stream, i), FC_OK);
			assert_int_equal(kube_watch_parser_feed(&p, stream + i, 0), FC_OK);
			assert_int_equal(kube_watch_parser_feed(&p, stream + i, j - i), FC_OK);
			assert_int_equal(kube_watch_parser_feed(&p, stream + j, n - j), FC_OK);
			assert_int_equal(kube_watch_parser_finish(&p), FC_OK);
			check_all(&r);
			kube_watch_parser_release(&p);
		}
	}
}

static void test_byte_by_byte(void **state)
{
	struct kube_watch_parser p;
	struct rec r = { .n = 0 };

	(void)state;
	kube_watch_parser_init(&p, 0, rec_fn, &r);
	for (size_t i = 0; i < sizeof(stream) - 1; i++)
		assert_int_equal(kube_watch_parser_feed(&p, stream + i, 1), FC_OK);
	assert_int_equal(kube_watch_parser_finish(&p), FC_OK);
	check_all(&r);
	kube_watch_parser_release(&p);
}

static void test_trailing_event_without_newline(void **state)
{
	static const char s[] = EV("ADDED", "a", "1") "\n" EV("ADDED", "b", "2");
	static const char cut[] = EV("ADDED", "a", "1") "\n{\"type\":\"ADDED\",\"obj";
	struct kube_watch_parser p;
	struct rec r = { .n = 0 };

	(void)state;
	kube_watch_parser_init(&p, 0, rec_fn, &r);
	assert_int_equal(kube_watch_parser_feed(&p, s, sizeof(s) - 1), FC_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(kube_watch_parser_finish(&p), FC_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.got[1], "ADDED b 2");
	kube_watch_parser_release(&p);

	memset(&r, 0, sizeof(r));
	kube_watch_parser_init(&p, 0, rec_fn, &r);
	assert_int_equal(kube_watch_parser_feed(&p, cut, sizeof(cut) - 1), FC_OK);
	assert_int_equal(kube_watch_parser_finish(&p), FC_ERR_IO);
	assert_int_equal(r.n, 1);
	kube_watch_parser_release(&p);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *s;
		fc_err rc;
		int events;
	} cases[] = {
		{ EV("ADDED", "a", "1") "\n{not json}\n" EV("ADDED", "b", "2") "\n", FC_ERR_PARSE, 1 },
		{ "[1,2,3]\n", FC_ERR_PARSE, 0 },
		{ "{\"type\":\"ADDED\"}\n", FC_ERR_PARSE, 0 },
		{ "{\"type\":\"ADDED\",\"object\":\"x\"}\n", FC_ERR_PARSE, 0 },
		{ "{\"type\":7,\"object\":{}}\n", FC_ERR_PARSE, 0 },
		{ "{\"object\":{}}\n", FC_ERR_PARSE, 0 },
		{ "{\"type\":\"ADDED\",\"object\":{}} trailing\n", FC_ERR_PARSE, 0 },
		{ "\x00\x01\x02\n", FC_ERR_PARSE, 0 },
		/* deeper than JSON_MAX_DEPTH */
		{ "{\"type\":\"ADDED\",\"object\":{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		  "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		  "]]]]]]]]]]}}\n", FC_ERR_PARSE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_watch_parser p;
		struct rec r = { .n = 0 };
		size_t len = strlen(cases[i].s);
		fc_err rc;

		if (i == 7)
			len = 4;
		kube_watch_parser_init(&p, 0, rec_fn, &r);
		rc = kube_watch_parser_feed(&p, cases[i].s, len);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %s", i, fc_strerror(rc));
		assert_int_equal(r.n, cases[i].events);
		assert_true(p.err_message[0] != '\0');
		/* sticky: later input is refused with the same error */
		assert_int_equal(kube_watch_parser_feed(&p, "\n", 1), cases[i].rc);
		assert_int_equal(kube_watch_parser_finish(&p), cases[i].rc);
		assert_int_equal(r.n, cases[i].events);
		kube_watch_parser_release(&p);
	}
}

static void test_error_events(void **state)
{
	static const struct {
		const char *s;
		fc_err rc;
		long code;
	} cases[] = {
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
		  "\"message\":\"too old resource version: 1 (42)\",\"reason\":\"Expired\",\"code\":410}}\n",
		  FC_ERR_GONE, 410 },
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"boom\",\"code\":500}}\n",
		  FC_ERR_UNAVAILABLE, 500 },
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"?\"}}\n", FC_ERR_IO, 0 },
		{ "{\"type\":\"ERROR\",\"object\":{\"code\":200}}\n", FC_ERR_IO, 200 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s;
		size_t n = strlen(s);

		/* and split at every offset */
		for (size_t cut = 0; cut <= n; cut++) {
			struct kube_watch_parser p;
			struct rec r = { .n = 0 };
			fc_err rc;

			kube_watch_parser_init(&p, 0, rec_fn, &r);
			rc = kube_watch_parser_feed(&p, s, cut);
			if (!rc)
				rc = kube_watch_parser_feed(&p, s + cut, n - cut);
			assert_int_equal(rc, cases[i].rc);
			assert_int_equal(p.err_code, cases[i].code);
			assert_int_equal(r.n, 0);
			kube_watch_parser_release(&p);
		}
	}
	{
		struct kube_watch_parser p;
		struct rec r = { .n = 0 };

		kube_watch_parser_init(&p, 0, rec_fn, &r);
		assert_int_equal(kube_watch_parser_feed(&p, cases[0].s, strlen(cases[0].s)), FC_ERR_GONE);
		assert_string_equal(p.err_message, "too old resource version: 1 (42)");
		assert_string_equal(p.err_reason, "Expired");
		kube_watch_parser_release(&p);
	}
}

static void test_oversize(void **state)
{
	static const char big[] = EV("ADDED", "a-rather-long-name-that-does-not-fit", "1") "\n";
	static const char small[] = "{\"type\":\"ADDED\",\"object\":{}}\n";
	const size_t n = sizeof(big) - 1;

	(void)state;
	assert_true(sizeof(small) - 2 <= 40);
	for (size_t cut = 0; cut <= n; cut++) {
		struct kube_watch_parser p;
		struct rec r = { .n = 0 };
		fc_err rc;

		kube_watch_parser_init(&p, 40, rec_fn, &r);
		assert_int_equal(kube_watch_parser_feed(&p, small, sizeof(small) - 1), FC_OK);
		rc = kube_watch_parser_feed(&p, big, cut);
		if (!rc)
			rc = kube_watch_parser_feed(&p, big + cut, n - cut);
		assert_int_equal(rc, FC_ERR_TOOBIG);
		assert_int_equal(r.n, 1);
		assert_non_null(strstr(p.err_message, "larger than"));
		kube_watch_parser_release(&p);
	}
	/* exactly at the bound is fine */
	{
		struct kube_watch_parser p;
		struct rec r = { .n = 0 };

		kube_watch_parser_init(&p, sizeof(small) - 2, rec_fn, &r);
		assert_int_equal(kube_watch_parser_feed(&p, small, 5), FC_OK);
		assert_int_equal(kube_watch_parser_feed(&p, small + 5, sizeof(small) - 6), FC_OK);
		assert_int_equal(r.n, 1);
		kube_watch_parser_release(&p);
	}
}

static void test_callback_error(void **state)
{
	struct kube_watch_parser p;
	struct rec r = { .n = 0, .fail_at = 2 };

	(void)state;
	kube_watch_parser_init(&p, 0, rec_fn, &r);
	assert_int_equal(kube_watch_parser_feed(&p, stream, sizeof(stream) - 1), FC_ERR_STATE);
	assert_int_equal(r.n, 2);
	assert_int_equal(kube_watch_parser_finish(&p), FC_ERR_STATE);
	kube_watch_parser_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_split_three),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_trailing_event_without_newline),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_error_events),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_callback_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
