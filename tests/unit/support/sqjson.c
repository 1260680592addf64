/* sqjson.c - JSON written with ' for " (see sqjson.h). */
#include "sqjson.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

cJSON *sqjson_parse(const char *text)
{
	char *s = strdup(text);
	cJSON *j;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = cJSON_Parse(s);
	if (!j)
		fail_msg("bad test JSON: %s", s);
	free(s);
	return j;
}
