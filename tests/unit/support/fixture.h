/* fixture.h - the files under tests/fixtures.
 *
 * The directory is $FC_TEST_DATA (set by `make unit`), else ../fixtures
 * (a unit test run by hand from tests/unit).
 */
#ifndef FC_TEST_FIXTURE_H
#define FC_TEST_FIXTURE_H

#include <stddef.h>

/* The fixtures directory; borrowed (the environment's or a literal). */
const char *fixture_dir(void);

/* Contents of the file at path, NUL-terminated; its length in *len when
 * len is not NULL. Fails the test when it cannot be read. Caller frees
 * with free(). */
char *fixture_read_path(const char *path, size_t *len);

/* fixture_read_path() of fixture_dir()/sub/name. */
char *fixture_read(const char *sub, const char *name, size_t *len);

#endif
