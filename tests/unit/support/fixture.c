/* fixture.c - the files under tests/fixtures (see fixture.h). */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

const char *fixture_dir(void)
{
	const char *dir = getenv("FC_TEST_DATA");

	return dir && *dir ? dir : "../fixtures";
}

char *fixture_read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

char *fixture_read(const char *sub, const char *name, size_t *len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s/%s", fixture_dir(), sub, name);

	assert_true(n > 0 && (size_t)n < sizeof(path));
	return fixture_read_path(path, len);
}
