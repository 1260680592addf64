/* sqjson.h - JSON written in C strings with ' for ".
 *
 * Test inputs read better as "{'kind':'ConfigMap'}" than with escaped
 * quotes; none of the test values holds a quote of its own.
 */
#ifndef FC_TEST_SQJSON_H
#define FC_TEST_SQJSON_H

#include <cjson/cJSON.h>

/* Parses text with every ' read as ". Fails the test on a parse error.
 * Caller frees with cJSON_Delete(). */
cJSON *sqjson_parse(const char *text);

/* The short form the tests use inline: J("{'name':'a'}"). */
#define J(text) sqjson_parse(text)

#endif
