/* failmalloc.h - allocation fault injection for the unit tests.
 *
 * support/failmalloc.c defines malloc, calloc, realloc, strdup and strndup
 * for every unit-test binary. They forward to the real allocator (ASan's
 * when built with it, else glibc's) and are inert until failmalloc_start().
 * Usage (SQLite's fault simulation):
 *
 *   for (unsigned long n = 1;; n++) {
 *       failmalloc_start(n, 0);
 *       rc = f(...);
 *       failmalloc_stop();
 *       if (!failmalloc_fired()) break;   // f made fewer than n allocations
 *       assert rc is a clean FC_ERR_NOMEM (or FC_OK if tolerated); release
 *   }
 * Not thread-safe: enable it only while one thread allocates.
 */
#ifndef FC_TEST_FAILMALLOC_H
#define FC_TEST_FAILMALLOC_H

/* The n-th allocation from now (n >= 1) fails; with persistent, every
 * later one fails too. */
void failmalloc_start(unsigned long n, int persistent);

/* Disarms; returns how many allocations failed since the last start. */
unsigned long failmalloc_stop(void);

/* Allocations that failed since the last start. */
unsigned long failmalloc_fired(void);

/* Allocations made since the last start (counted while armed). */
unsigned long failmalloc_count(void);

/* 1 when injection works in this process (not under valgrind, whose
 * allocator replaces these functions); tests skip() otherwise. */
int failmalloc_works(void);

/* Distinct call sites (return addresses of malloc, calloc, realloc,
 * strdup, strndup) of the allocations failed since the last
 * failmalloc_sites_reset(). */
void failmalloc_sites_reset(void);
unsigned long failmalloc_sites(void);

/* Prints the figure of one fault loop on stdout:
 *   allocfail: WHAT: N allocations failed in turn (S call sites), each a clean error
 * (S from failmalloc_sites(), then reset); `make unit` shows these lines. */
void failmalloc_report(const char *what, unsigned long allocations);

#endif /* FC_TEST_FAILMALLOC_H */
