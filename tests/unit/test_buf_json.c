/* Unit tests: buf.c, json.c, err.c, log.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "log.h"

static void test_buf_bounded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, "1234"), FC_OK);
	assert_int_equal(buf_appendf(&b, "%d", 5678), FC_OK);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_append(&b, "9", 1), FC_ERR_TOOBIG);
	assert_int_equal(buf_appendf(&b, "x"), FC_ERR_TOOBIG);
	assert_string_equal(b.data, "12345678"); /* unchanged */
	buf_consume(&b, 3);
	assert_string_equal(b.data, "45678");
	assert_int_equal(b.len, 5);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 8);
	{
		char *s = buf_take(&b);
		assert_string_equal(s, "");
		free(s);
	}
	buf_release_secret(&b);
}

static void test_json_getters(void **state)
{
	const char *doc = "{\"metadata\":{\"name\":\"n\",\"generation\":3,\"annotations\":{\"a.b/c\":\"v\"}},"
			  "\"spec\":{\"primary\":true,\"keys\":[\"A\"],\"x\":null,\"f\":1.5}}";
	cJSON *j;
	const char *s;
	int64_t i;
	int b;
	const cJSON *o;

	(void)state;
	assert_int_equal(json_parse(doc, strlen(doc), &j), FC_OK);
	assert_int_equal(json_get_str(j, "metadata.name", &s), FC_OK);
	assert_string_equal(s, "n");
	assert_int_equal(json_get_int64(j, "metadata.generation", &i), FC_OK);
	assert_int_equal(i, 3);
	assert_int_equal(json_get_int64(j, "spec.f", &i), FC_ERR_PARSE);
	assert_int_equal(json_get_bool(j, "spec.primary", &b), FC_OK);
	assert_true(b);
	assert_int_equal(json_get_str(j, "spec.primary", &s), FC_ERR_PARSE);
	assert_int_equal(json_get_str(j, "spec.missing", &s), FC_ERR_NOTFOUND);
	assert_int_equal(json_get_str(j, "spec.x", &s), FC_ERR_NOTFOUND); /* null == absent */
	assert_int_equal(json_get_arr(j, "spec.keys", &o), FC_OK);
	assert_int_equal(json_get_obj(j, "spec.keys", &o), FC_ERR_PARSE);
	assert_string_equal(json_child(json_path(j, "metadata.annotations"), "a.b/c")->valuestring, "v");
	assert_null(json_path(j, "metadata..name"));
	assert_string_equal(json_str_or(j, "nope", "def"), "def");
	cJSON_Delete(j);
}

static void test_json_parse_rejects(void **state)
{
	static const char *bad[] = { "", "{", "{\"a\":1} x", "[1,2", "nul", "{\"a\":\"\\u12\"}" };
	char deep[400];
	cJSON *j;

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(json_parse(bad[k], strlen(bad[k]), &j), FC_ERR_PARSE);
		assert_null(j);
	}
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(json_parse(deep, 200, &j), FC_ERR_PARSE); /* deeper than JSON_MAX_DEPTH */
	assert_int_equal(json_parse("{\"a\":1}\n", 8, &j), FC_OK);
	cJSON_Delete(j);
}

static void test_err_http(void **state)
{
	(void)state;
	assert_int_equal(fc_err_from_http(200), FC_OK);
	assert_int_equal(fc_err_from_http(201), FC_OK);
	assert_int_equal(fc_err_from_http(401), FC_ERR_AUTH);
	assert_int_equal(fc_err_from_http(403), FC_ERR_FORBIDDEN);
	assert_int_equal(fc_err_from_http(404), FC_ERR_NOTFOUND);
	assert_int_equal(fc_err_from_http(409), FC_ERR_CONFLICT);
	assert_int_equal(fc_err_from_http(410), FC_ERR_GONE);
	assert_int_equal(fc_err_from_http(422), FC_ERR_INVAL);
	assert_int_equal(fc_err_from_http(429), FC_ERR_THROTTLED);
	assert_int_equal(fc_err_from_http(503), FC_ERR_UNAVAILABLE);
	assert_string_equal(fc_strerror(FC_ERR_GONE), "GONE");
	assert_string_equal(fc_strerror((fc_err)999), "UNKNOWN");
	assert_true(fc_err_is_transient(FC_ERR_THROTTLED));
	assert_false(fc_err_is_transient(FC_ERR_FORBIDDEN));
}

static void test_log_formats(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cJSON *j;

	(void)state;
	log_setup(LOG_INFO, LOG_FORMAT_JSON, f);
	log_info("reconciled", "configmap", "ns/llm-config", "changed", "a \"b\"\n", NULL);
	log_debug("hidden", NULL);
	fflush(f);
	assert_int_equal(json_parse(text, len, &j), FC_OK); /* exactly one JSON object */
	assert_string_equal(json_str_or(j, "msg", ""), "reconciled");
	assert_string_equal(json_str_or(j, "level", ""), "info");
	assert_string_equal(json_str_or(j, "changed", ""), "a \"b\"\n");
	cJSON_Delete(j);
	fclose(f);
	free(text);
	f = open_memstream(&text, &len);
	log_setup(LOG_DEBUG, LOG_FORMAT_TEXT, f);
	log_warn("w", "k", "has space", NULL);
	fflush(f);
	assert_non_null(strstr(text, "WARN  w k=\"has space\"\n"));
	fclose(f);
	free(text);
	log_setup(LOG_INFO, LOG_FORMAT_TEXT, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_json_getters),
		cmocka_unit_test(test_json_parse_rejects),
		cmocka_unit_test(test_err_http),
		cmocka_unit_test(test_log_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
