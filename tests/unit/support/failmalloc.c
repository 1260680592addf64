/* Allocation fault injection: see failmalloc.h. Inert unless armed. */
#include "failmalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#undef strdup
#undef strndup

/* glibc's allocator, always there */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
/* the sanitizer's allocator when linked with -fsanitize=address (gcc's
 * libasan.so and clang's static runtime both export these) */
extern void *__interceptor_malloc(size_t size) __attribute__((weak));
extern void *__interceptor_calloc(size_t n, size_t size) __attribute__((weak));
extern void *__interceptor_realloc(void *p, size_t size) __attribute__((weak));

/* volatile: the compiler assumes malloc touches no user globals and would
 * move these stores across the malloc calls of this file */
static volatile int armed, persistent_mode;
static volatile unsigned long countdown, fired, counted;

/* call sites of failed allocations (a small open-addressing set) */
#define SITES_MAX 8192
static void *volatile sites[SITES_MAX];
static volatile unsigned long nsites;

static void site_add(void *site)
{
	size_t h = ((size_t)site >> 4) % SITES_MAX;

	for (size_t i = 0; i < SITES_MAX; i++, h = (h + 1) % SITES_MAX) {
		if (sites[h] == site)
			return;
		if (!sites[h]) {
			sites[h] = site;
			nsites++;
			return;
		}
	}
}

void failmalloc_sites_reset(void)
{
	for (size_t i = 0; i < SITES_MAX; i++)
		sites[i] = NULL;
	nsites = 0;
}

unsigned long failmalloc_sites(void)
{
	return nsites;
}

void failmalloc_report(const char *what, unsigned long allocations)
{
	printf("allocfail: %s: %lu allocations failed in turn (%lu call sites), each a clean error\n",
	       what, allocations, nsites);
	fflush(stdout);
	failmalloc_sites_reset();
}

void failmalloc_start(unsigned long n, int persistent)
{
	countdown = n ? n : 1;
	persistent_mode = persistent;
	fired = 0;
	counted = 0;
	armed = 1;
}

unsigned long failmalloc_stop(void)
{
	armed = 0;
	return fired;
}

unsigned long failmalloc_fired(void)
{
	return fired;
}

unsigned long failmalloc_count(void)
{
	return counted;
}

int failmalloc_works(void)
{
	/* through a pointer: valgrind redirects the symbol, not inlined copies */
	void *(*volatile alloc)(size_t) = malloc;
	void *volatile p;
	unsigned long n;

	failmalloc_start(1, 0);
	p = alloc(16);
	n = failmalloc_stop();
	free(p);
	return n == 1 && !p;
}

static int should_fail(void *site)
{
	if (!armed)
		return 0;
	counted++;
	if (countdown > 1) {
		countdown--;
		return 0;
	}
	if (countdown == 1 || persistent_mode) {
		countdown = 0;
		fired++;
		site_add(site);
		if (!persistent_mode)
			armed = 0;
		return 1;
	}
	return 0;
}

static void *alloc_at(size_t size, void *site)
{
	if (should_fail(site))
		return NULL;
	return __interceptor_malloc ? __interceptor_malloc(size) : __libc_malloc(size);
}

void *malloc(size_t size)
{
	return alloc_at(size, __builtin_return_address(0));
}

void *calloc(size_t n, size_t size)
{
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return __interceptor_calloc ? __interceptor_calloc(n, size) : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return __interceptor_realloc ? __interceptor_realloc(p, size) : __libc_realloc(p, size);
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = alloc_at(n, __builtin_return_address(0));

	if (p)
		memcpy(p, s, n);
	return p;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = alloc_at(n + 1, __builtin_return_address(0));

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}
