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

/* Strings are cleaned the way the API server (Go's encoding/json) stores
 * them: each byte that does not start a valid UTF-8 sequence becomes
 * U+FFFD (the first three rows were checked against kube-apiserver 1.20). */
static void test_utf8_clean(void **state)
{
#define R "\xef\xbf\xbd"
	static const struct { const char *in, *out; } t[] = {
		{ "ok\xe6\xa8", "ok" R R },                 /* cut inside a 3-byte sequence */
		{ "x\xff\xfey", "x" R R "y" },
		{ "\xed\xa0\x80", R R R },                   /* a surrogate */
		{ "\xc0\xaf", R R },                         /* overlong '/' */
		{ "\xe0\x80\xaf", R R R },                   /* overlong, 3 bytes */
		{ "\xf4\x90\x80\x80", R R R R },             /* past U+10FFFF */
		{ "\xf0\x9f\x9a", R R R },                   /* a 4-byte sequence cut */
		{ "\x80" "abc", R "abc" },                   /* a lone continuation byte */
		{ "🚀 ünï 模 \xf4\x8f\xbf\xbf", "🚀 ünï 模 \xf4\x8f\xbf\xbf" }, /* valid, up to U+10FFFF */
		{ "", "" },
	};
#undef R
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *c = json_utf8_clean(t[i].in);
		cJSON *o = cJSON_CreateObject();
		char *printed;

		assert_non_null(c);
		assert_string_equal(c, t[i].out);
		assert_int_equal(json_utf8_valid(t[i].in), !strcmp(t[i].in, t[i].out));
		assert_true(json_utf8_valid(c));
		/* json_add_str and json_create_str clean too */
		assert_non_null(o);
		assert_int_equal(json_add_str(o, "k", t[i].in), FC_OK);
		assert_string_equal(json_str_or(o, "k", NULL), t[i].out);
		printed = json_print(o);
		assert_non_null(printed);
		assert_true(json_utf8_valid(printed));
		free(printed);
		cJSON_Delete(o);
		o = json_create_str(t[i].in);
		assert_non_null(o);
		assert_string_equal(o->valuestring, t[i].out);
		cJSON_Delete(o);
		free(c);
	}
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

/* A line over 64 KiB is cut at a character boundary and closed: one valid
 * JSON object per line, saying it was cut; the next line is whole. */
static void test_log_long_line_closed(void **state)
{
	size_t n = 100 * 1024, len = 0;
	char *big = malloc(n + 1), *text = NULL, *nl;
	FILE *f = open_memstream(&text, &len);
	cJSON *j;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3); /* U+20AC, 3 bytes: cuts fall inside */
	big[n - n % 3] = '\0';
	for (int shift = 0; shift < 3; shift++) {
		log_setup(LOG_INFO, LOG_FORMAT_JSON, f);
		log_info("big", "pad", shift == 0 ? "" : shift == 1 ? "a" : "ab", "v", big, "after", "x", NULL);
		log_info("next", "k", "v", NULL);
		fflush(f);
		nl = memchr(text, '\n', len);
		assert_non_null(nl);
		assert_true((size_t)(nl - text) < 64 * 1024 + 64);
		assert_int_equal(json_parse(text, (size_t)(nl - text), &j), FC_OK);
		assert_string_equal(json_str_or(j, "msg", ""), "big");
		assert_string_equal(json_str_or(j, "truncated", ""), "true");
		assert_null(json_path(j, "after"));
		assert_true(json_utf8_valid(json_str_or(j, "v", "")));
		assert_true(strlen(json_str_or(j, "v", "")) > 60 * 1024);
		cJSON_Delete(j);
		assert_int_equal(json_parse(nl + 1, len - (size_t)(nl + 1 - text), &j), FC_OK);
		assert_string_equal(json_str_or(j, "msg", ""), "next");
		assert_null(json_path(j, "truncated"));
		cJSON_Delete(j);
		fclose(f);
		free(text);
		text = NULL;
		f = open_memstream(&text, &len);
	}
	log_setup(LOG_INFO, LOG_FORMAT_TEXT, f);
	log_warn(big, "k", "v", NULL);
	log_warn("w", "k", big, NULL);
	log_warn("w2", "k", "v", NULL);
	fflush(f);
	nl = memchr(text, '\n', len);
	assert_non_null(nl);
	assert_true(nl - text > 60 * 1024 && (size_t)(nl - text) < 64 * 1024 + 64);
	assert_memory_equal(nl - strlen(" truncated=true"), " truncated=true", strlen(" truncated=true"));
	nl = memchr(nl + 1, '\n', len - (size_t)(nl + 1 - text));
	assert_non_null(nl);
	assert_memory_equal(nl - strlen("\" truncated=true"), "\" truncated=true",
			    strlen("\" truncated=true"));
	assert_non_null(strstr(nl + 1, "WARN  w2 k=v\n"));
	fclose(f);
	free(text);
	free(big);
	log_setup(LOG_INFO, LOG_FORMAT_TEXT, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_json_getters),
		cmocka_unit_test(test_json_parse_rejects),
		cmocka_unit_test(test_utf8_clean),
		cmocka_unit_test(test_err_http),
		cmocka_unit_test(test_log_formats),
		cmocka_unit_test(test_log_long_line_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
