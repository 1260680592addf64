/* workqueue: dedup, processing/dirty, delays, backoff, shutdown, blocking
 * gets, many threads, and a clean FC_ERR_NOMEM. Time is a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "failmalloc.h"
#include "workqueue.h"

struct fake_clock {
	int64_t now;
};

static int64_t fake_now(void *ctx)
{
	return __atomic_load_n(&((struct fake_clock *)ctx)->now, __ATOMIC_SEQ_CST);
}

static void advance(struct fake_clock *c, int64_t ms)
{
	__atomic_add_fetch(&c->now, ms, __ATOMIC_SEQ_CST);
}

static struct workqueue *new_q(struct fake_clock *c)
{
	struct workqueue *q;

	assert_int_equal(workqueue_new(fake_now, c, &q), FC_OK);
	return q;
}

/* get_nowait must return key */
static void expect_get(struct workqueue *q, const char *key)
{
	char *k = NULL;
	fc_err rc = workqueue_get_nowait(q, &k);

	if (rc)
		fail_msg("get: %s, want %s", fc_strerror(rc), key);
	assert_string_equal(k, key);
	free(k);
}

static void expect_empty(struct workqueue *q)
{
	char *k = NULL;

	assert_int_equal(workqueue_get_nowait(q, &k), FC_ERR_NOTFOUND);
	assert_null(k);
}

static void test_dedup_fifo(void **state)
{
	struct fake_clock c = { 1000 };
	struct workqueue *q = new_q(&c);
	struct workqueue_stats st;

	(void)state;
	assert_int_equal(workqueue_add(q, "ns/c"), FC_OK);
	assert_int_equal(workqueue_add(q, "ns/a"), FC_OK);
	assert_int_equal(workqueue_add(q, "ns/c"), FC_OK);
	assert_int_equal(workqueue_add(q, "ns/b"), FC_OK);
	assert_int_equal(workqueue_add(q, "ns/a"), FC_OK);
	assert_int_equal(workqueue_len(q), 3);
	expect_get(q, "ns/c");
	expect_get(q, "ns/a");
	expect_get(q, "ns/b");
	expect_empty(q);
	workqueue_stats(q, &st);
	assert_int_equal(st.adds_total, 3);
	assert_int_equal(st.processing, 3);
	workqueue_done(q, "ns/c");
	workqueue_done(q, "ns/a");
	workqueue_done(q, "ns/b");
	workqueue_done(q, "ns/b");   /* not processing: ignored */
	workqueue_done(q, "never");  /* unknown: ignored */
	workqueue_stats(q, &st);
	assert_int_equal(st.processing, 0);
	assert_int_equal(st.depth, 0);
	workqueue_free(q);
	workqueue_free(NULL);
}

/* A key added while it is processed is not handed to a second worker; done
 * re-queues it once. */
static void test_dirty_while_processing(void **state)
{
	struct fake_clock c = { 0 };
	struct workqueue *q = new_q(&c);

	(void)state;
	workqueue_add(q, "k");
	expect_get(q, "k");
	workqueue_add(q, "k");
	workqueue_add(q, "k");
	assert_int_equal(workqueue_len(q), 0);
	expect_empty(q);
	workqueue_done(q, "k");
	assert_int_equal(workqueue_len(q), 1);
	expect_get(q, "k");
	workqueue_done(q, "k");
	expect_empty(q);
	workqueue_free(q);
}

static void test_add_after(void **state)
{
	struct fake_clock c = { 5000 };
	struct workqueue *q = new_q(&c);
	struct workqueue_stats st;

	(void)state;
	assert_int_equal(workqueue_add_after(q, "a", 100), FC_OK);
	assert_int_equal(workqueue_add_after(q, "b", 50), FC_OK);
	assert_int_equal(workqueue_add_after(q, "c", 0), FC_OK);   /* now */
	assert_int_equal(workqueue_add_after(q, "d", -5), FC_OK);  /* now */
	workqueue_stats(q, &st);
	assert_int_equal(st.waiting, 2);
	assert_int_equal(st.depth, 2);
	expect_get(q, "c");
	expect_get(q, "d");
	expect_empty(q);
	advance(&c, 49);
	expect_empty(q);
	advance(&c, 1);
	expect_get(q, "b");
	advance(&c, 49);
	expect_empty(q);
	advance(&c, 1);
	expect_get(q, "a");
	/* a key already waiting keeps the earlier due time */
	workqueue_add_after(q, "e", 100);
	workqueue_add_after(q, "e", 300);
	workqueue_add_after(q, "e", 40);
	workqueue_stats(q, &st);
	assert_int_equal(st.waiting, 1);
	advance(&c, 40);
	expect_get(q, "e");
	advance(&c, 1000);
	expect_empty(q); /* only once */
	/* a delayed add of a queued key does not queue it twice */
	workqueue_add(q, "f");
	workqueue_add_after(q, "f", 10);
	expect_get(q, "f");
	advance(&c, 10);
	assert_int_equal(workqueue_len(q), 0); /* f is processing: dirty */
	workqueue_done(q, "f");
	expect_get(q, "f");
	workqueue_done(q, "f");
	workqueue_free(q); /* frees the keys still processing (a, b, c, d, e) */
}

static void test_rate_limited(void **state)
{
	static const int64_t want[] = { 5, 10, 20, 40, 40, 40 };
	struct fake_clock c = { 0 };
	struct workqueue *q = new_q(&c);
	struct workqueue_stats st;

	(void)state;
	workqueue_set_backoff(q, 5, 40);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(workqueue_num_requeues(q, "k"), i);
		assert_int_equal(workqueue_add_rate_limited(q, "k"), FC_OK);
		advance(&c, want[i] - 1);
		expect_empty(q);
		advance(&c, 1);
		expect_get(q, "k");
		workqueue_done(q, "k");
	}
	assert_int_equal(workqueue_num_requeues(q, "k"), 6);
	workqueue_forget(q, "k");
	assert_int_equal(workqueue_num_requeues(q, "k"), 0);
	workqueue_add_rate_limited(q, "k");
	advance(&c, 5);
	expect_get(q, "k");
	workqueue_done(q, "k");
	workqueue_forget(q, "k");
	workqueue_stats(q, &st);
	assert_int_equal(st.retries_total, 7);
	assert_int_equal(st.adds_total, 7);
	assert_int_equal(workqueue_num_requeues(q, "other"), 0);
	workqueue_forget(q, "other");
	workqueue_free(q);
}

/* Default: 5 ms doubling, capped at 1000 s, as client-go. */
static void test_default_backoff(void **state)
{
	struct fake_clock c = { 0 };
	struct workqueue *q = new_q(&c);
	int64_t delay = 5;

	(void)state;
	for (int i = 0; i < 40; i++) {
		workqueue_add_rate_limited(q, "k");
		advance(&c, delay - 1);
		expect_empty(q);
		advance(&c, 1);
		expect_get(q, "k");
		workqueue_done(q, "k");
		delay = delay * 2 > WORKQUEUE_MAX_DELAY_MS ? WORKQUEUE_MAX_DELAY_MS : delay * 2;
	}
	assert_int_equal(delay, 1000000);
	workqueue_free(q);
}

struct getter {
	struct workqueue *q;
	fc_err rc;
	char *key;
	pthread_t t;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;

	g->rc = workqueue_get(g->q, &g->key);
	return NULL;
}

static void test_shutdown(void **state)
{
	struct fake_clock c = { 0 };
	struct workqueue *q = new_q(&c);
	struct getter g[3];
	char *k = NULL;

	(void)state;
	for (int i = 0; i < 3; i++) {
		g[i] = (struct getter){ .q = q };
		assert_int_equal(pthread_create(&g[i].t, NULL, getter_main, &g[i]), 0);
	}
	workqueue_shutdown(q);
	for (int i = 0; i < 3; i++) {
		pthread_join(g[i].t, NULL);
		assert_int_equal(g[i].rc, FC_ERR_CANCELLED);
		assert_null(g[i].key);
	}
	assert_true(workqueue_shutting_down(q));
	assert_int_equal(workqueue_add(q, "x"), FC_ERR_CANCELLED);
	assert_int_equal(workqueue_add_after(q, "x", 5), FC_ERR_CANCELLED);
	assert_int_equal(workqueue_add_rate_limited(q, "x"), FC_ERR_CANCELLED);
	assert_int_equal(workqueue_get(q, &k), FC_ERR_CANCELLED);
	assert_int_equal(workqueue_get_nowait(q, &k), FC_ERR_CANCELLED);
	workqueue_free(q);

	/* queued keys are not drained after shutdown */
	q = new_q(&c);
	workqueue_add(q, "y");
	assert_false(workqueue_shutting_down(q));
	workqueue_shutdown(q);
	assert_int_equal(workqueue_get(q, &k), FC_ERR_CANCELLED);
	workqueue_free(q);
}

static void test_blocking_get(void **state)
{
	struct fake_clock c = { 0 };
	struct workqueue *q = new_q(&c);
	struct getter g = { .q = q };

	(void)state;
	/* woken by an add */
	assert_int_equal(pthread_create(&g.t, NULL, getter_main, &g), 0);
	workqueue_add(q, "ns/a");
	pthread_join(g.t, NULL);
	assert_int_equal(g.rc, FC_OK);
	assert_string_equal(g.key, "ns/a");
	free(g.key);
	workqueue_done(q, "ns/a");

	/* waiting for a delayed key: the fake clock moves, tick wakes the getter */
	g = (struct getter){ .q = q };
	workqueue_add_after(q, "ns/b", 3600 * 1000);
	assert_int_equal(pthread_create(&g.t, NULL, getter_main, &g), 0);
	advance(&c, 3600 * 1000);
	workqueue_tick(q);
	pthread_join(g.t, NULL);
	assert_int_equal(g.rc, FC_OK);
	assert_string_equal(g.key, "ns/b");
	free(g.key);
	workqueue_done(q, "ns/b");
	workqueue_free(q);

	/* the real monotonic clock: a 20 ms delay is waited for */
	assert_int_equal(workqueue_new(NULL, NULL, &q), FC_OK);
	g = (struct getter){ .q = q };
	workqueue_add_after(q, "ns/c", 20);
	assert_int_equal(pthread_create(&g.t, NULL, getter_main, &g), 0);
	pthread_join(g.t, NULL);
	assert_int_equal(g.rc, FC_OK);
	assert_string_equal(g.key, "ns/c");
	free(g.key);
	workqueue_done(q, "ns/c");
	workqueue_free(q);
}

/* Workers and producers at once: no key is ever processed by two workers
 * at the same time, and every add is followed by a processing. */
#define NKEYS 16
#define NWORKERS 4
#define NADDS 4000

struct stress {
	struct workqueue *q;
	int inflight[NKEYS];
	int processed[NKEYS];
	int overlap;
	pthread_mutex_t mu;
};

static void *worker_main(void *arg)
{
	struct stress *s = arg;
	char *k;

	while (workqueue_get(s->q, &k) == FC_OK) {
		int i = atoi(k + 1);

		if (__atomic_fetch_add(&s->inflight[i], 1, __ATOMIC_SEQ_CST) != 0)
			__atomic_store_n(&s->overlap, 1, __ATOMIC_SEQ_CST);
		sched_yield();
		__atomic_fetch_sub(&s->inflight[i], 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&s->processed[i], 1, __ATOMIC_SEQ_CST);
		workqueue_done(s->q, k);
		free(k);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct stress s;
	pthread_t w[NWORKERS];
	struct workqueue_stats st;
	int total = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(workqueue_new(NULL, NULL, &s.q), FC_OK);
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, worker_main, &s), 0);
	for (int n = 0; n < NADDS; n++) {
		char key[8];

		snprintf(key, sizeof(key), "k%d", n % NKEYS);
		assert_int_equal(workqueue_add(s.q, key), FC_OK);
	}
	/* drain */
	for (int spins = 0; spins < 10000; spins++) {
		struct timespec ts = { 0, 1000000 };

		workqueue_stats(s.q, &st);
		if (!st.depth && !st.processing)
			break;
		nanosleep(&ts, NULL);
	}
	workqueue_shutdown(s.q);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(w[i], NULL);
	assert_false(s.overlap);
	for (int i = 0; i < NKEYS; i++) {
		assert_true(s.processed[i] >= 1);
		total += s.processed[i];
	}
	workqueue_stats(s.q, &st);
	assert_int_equal((uint64_t)total, st.adds_total);
	workqueue_free(s.q);
}

static void test_many_keys(void **state)
{
	struct fake_clock c = { 0 };
	struct workqueue *q = new_q(&c);
	char key[32];

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "ns-%d/name-%d", i % 7, i);
		assert_int_equal(i % 2 ? workqueue_add(q, key) : workqueue_add_after(q, key, i), FC_OK);
	}
	advance(&c, 3000);
	assert_int_equal(workqueue_len(q), 3000);
	for (int i = 0; i < 3000; i++) {
		char *k;

		assert_int_equal(workqueue_get_nowait(q, &k), FC_OK);
		workqueue_done(q, k);
		free(k);
	}
	expect_empty(q);
	workqueue_free(q);
}

static void test_nomem(void **state)
{
	struct fake_clock c = { 0 };
	unsigned long fails = 0;

	(void)state;
	if (!failmalloc_works())
		skip();
	for (unsigned long n = 1;; n++) {
		struct workqueue *q = NULL;
		fc_err rc;

		failmalloc_start(n, 0);
		rc = workqueue_new(fake_now, &c, &q);
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			workqueue_free(q);
			break;
		}
		assert_int_equal(rc, FC_ERR_NOMEM);
		assert_null(q);
		fails++;
	}
	/* add, add_after (heap growth) and get fail cleanly and leave the queue usable */
	for (unsigned long n = 1; n < 200; n++) {
		struct workqueue *q = new_q(&c);
		char key[16], *k;
		fc_err rc = FC_OK;
		int i;

		failmalloc_start(n, 0);
		for (i = 0; i < 40 && !rc; i++) {
			snprintf(key, sizeof(key), "k%d", i);
			rc = i % 2 ? workqueue_add(q, key) : workqueue_add_after(q, key, 1 + i);
		}
		if (!rc)
			rc = workqueue_get_nowait(q, &k);
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			free(k);
			workqueue_free(q);
			break;
		}
		assert_int_equal(rc, FC_ERR_NOMEM);
		fails++;
		/* still consistent */
		advance(&c, 100);
		while (workqueue_get_nowait(q, &k) == FC_OK) {
			workqueue_done(q, k);
			free(k);
		}
		assert_int_equal(workqueue_add(q, "after"), FC_OK);
		expect_get(q, "after");
		workqueue_free(q);
	}
	assert_true(fails > 5);
	failmalloc_report("workqueue new/add/add_after/get", fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_fifo),
		cmocka_unit_test(test_dirty_while_processing),
		cmocka_unit_test(test_add_after),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_default_backoff),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_blocking_get),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
