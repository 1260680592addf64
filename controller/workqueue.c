#include "workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define NOT_WAITING ((size_t)-1)
/* longest single timed wait; the loop re-reads the clock after it */
#define MAX_WAIT_MS (3600LL * 1000)

struct item {
	struct item *hnext;     /* hash chain */
	struct item *qnext;     /* ready FIFO */
	char *key;
	unsigned failures;
	int dirty;              /* needs processing */
	int processing;         /* got, not yet done */
	size_t heap_idx;        /* index in waiting heap or NOT_WAITING */
	int64_t due;
	uint64_t seq;           /* tie-break of equal due times */
};

struct workqueue {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int64_t base, max;
	workqueue_clock_fn clock;
	void *clock_ctx;
	int shutdown;

	struct item **buckets;
	size_t nbuckets, nitems;

	struct item *head, *tail;  /* ready FIFO */
	size_t depth;

	struct item **heap;        /* waiting, min-heap on (due, seq) */
	size_t nheap, heap_cap;
	uint64_t seq;

	size_t processing;
	uint64_t adds_total, retries_total;
};

int64_t workqueue_clock_monotonic(void *ctx)
{
	(void)ctx;
	return clock_mono_ms();
}

/* ---- hash map of items ---- */

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct item *lookup(struct workqueue *q, const char *key)
{
	struct item *it = q->buckets[hash(key) & (q->nbuckets - 1)];

	while (it && strcmp(it->key, key))
		it = it->hnext;
	return it;
}

static void grow(struct workqueue *q)
{
	size_t n = q->nbuckets * 2;
	struct item **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep the longer chains */
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct item *it = q->buckets[i], *next;

		for (; it; it = next) {
			size_t h = hash(it->key) & (n - 1);

			next = it->hnext;
			it->hnext = b[h];
			b[h] = it;
		}
	}
	free(q->buckets);
	q->buckets = b;
	q->nbuckets = n;
}

static struct item *lookup_or_create(struct workqueue *q, const char *key)
{
	struct item *it = lookup(q, key);
	size_t h;

	if (it)
		return it;
	it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->key = strdup(key);
	if (!it->key) {
		free(it);
		return NULL;
	}
	it->heap_idx = NOT_WAITING;
	if (q->nitems >= q->nbuckets)
		grow(q);
	h = hash(key) & (q->nbuckets - 1);
	it->hnext = q->buckets[h];
	q->buckets[h] = it;
	q->nitems++;
	return it;
}

/* Frees the item when nothing refers to it any more. */
static void maybe_drop(struct workqueue *q, struct item *it)
{
	struct item **pp;

	if (it->dirty || it->processing || it->heap_idx != NOT_WAITING || it->failures)
		return;
	pp = &q->buckets[hash(it->key) & (q->nbuckets - 1)];
	while (*pp != it)
		pp = &(*pp)->hnext;
	*pp = it->hnext;
	q->nitems--;
	free(it->key);
	free(it);
}

/* ---- ready FIFO ---- */

static void push(struct workqueue *q, struct item *it)
{
	it->qnext = NULL;
	if (q->tail)
		q->tail->qnext = it;
	else
		q->head = it;
	q->tail = it;
	q->depth++;
	pthread_cond_signal(&q->cond);
}

static struct item *pop(struct workqueue *q)
{
	struct item *it = q->head;

	q->head = it->qnext;
	if (!q->head)
		q->tail = NULL;
	it->qnext = NULL;
	q->depth--;
	return it;
}

static void do_add(struct workqueue *q, struct item *it)
{
	if (it->dirty)
		return;
	q->adds_total++;
	it->dirty = 1;
	if (!it->processing)
		push(q, it);
}

/* ---- waiting heap ---- */

static int before(const struct item *a, const struct item *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_set(struct workqueue *q, size_t i, struct item *it)
{
	q->heap[i] = it;
	it->heap_idx = i;
}

static void sift_up(struct workqueue *q, size_t i)
{
	struct item *it = q->heap[i];

	while (i > 0 && before(it, q->heap[(i - 1) / 2])) {
		heap_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(q, i, it);
}

static void sift_down(struct workqueue *q, size_t i)
{
	struct item *it = q->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!before(q->heap[c], it))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, it);
}

static struct item *heap_pop(struct workqueue *q)
{
	struct item *top = q->heap[0];

	q->nheap--;
	if (q->nheap) {
		q->heap[0] = q->heap[q->nheap];
		sift_down(q, 0);
	}
	top->heap_idx = NOT_WAITING;
	return top;
}

static fc_err heap_reserve(struct workqueue *q)
{
	struct item **p;
	size_t ncap;

	if (q->nheap < q->heap_cap)
		return FC_OK;
	ncap = q->heap_cap ? q->heap_cap * 2 : 16;
	p = realloc(q->heap, ncap * sizeof(*p));
	if (!p)
		return FC_ERR_NOMEM;
	q->heap = p;
	q->heap_cap = ncap;
	return FC_OK;
}

/* Moves the waiting items that are due to the ready queue. */
static void promote(struct workqueue *q)
{
	int64_t now;

	if (!q->nheap)
		return;
	now = q->clock(q->clock_ctx);
	while (q->nheap && q->heap[0]->due <= now)
		do_add(q, heap_pop(q));
}

/* ---- public ---- */

fc_err workqueue_new(workqueue_clock_fn clock, void *clock_ctx, struct workqueue **out)
{
	struct workqueue *q;
	pthread_condattr_t ca;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return FC_ERR_NOMEM;
	q->nbuckets = 64;
	q->buckets = calloc(q->nbuckets, sizeof(*q->buckets));
	if (!q->buckets) {
		free(q);
		return FC_ERR_NOMEM;
	}
	q->base = WORKQUEUE_BASE_DELAY_MS;
	q->max = WORKQUEUE_MAX_DELAY_MS;
	q->clock = clock ? clock : workqueue_clock_monotonic;
	q->clock_ctx = clock_ctx;
	if (pthread_mutex_init(&q->mu, NULL)) {
		free(q->buckets);
		free(q);
		return FC_ERR_NOMEM;
	}
	if (pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&q->cond, &ca)) {
		pthread_mutex_destroy(&q->mu);
		free(q->buckets);
		free(q);
		return FC_ERR_NOMEM;
	}
	pthread_condattr_destroy(&ca);
	*out = q;
	return FC_OK;
}

void workqueue_set_backoff(struct workqueue *q, int64_t base_ms, int64_t max_ms)
{
	pthread_mutex_lock(&q->mu);
	if (base_ms > 0)
		q->base = base_ms;
	if (max_ms > 0)
		q->max = max_ms;
	pthread_mutex_unlock(&q->mu);
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct item *it = q->buckets[i], *next;

		for (; it; it = next) {
			next = it->hnext;
			free(it->key);
			free(it);
		}
	}
	free(q->buckets);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

fc_err workqueue_add(struct workqueue *q, const char *key)
{
	struct item *it;
	fc_err rc = FC_OK;

	pthread_mutex_lock(&q->mu);
	if (q->shutdown)
		rc = FC_ERR_CANCELLED;
	else if (!(it = lookup_or_create(q, key)))
		rc = FC_ERR_NOMEM;
	else
		do_add(q, it);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

/* Called locked. */
static fc_err add_after_locked(struct workqueue *q, struct item *it, int64_t delay_ms)
{
	int64_t now, due;
	fc_err rc;

	if (delay_ms <= 0) {
		do_add(q, it);
		return FC_OK;
	}
	now = q->clock(q->clock_ctx);
	due = now > INT64_MAX - delay_ms ? INT64_MAX : now + delay_ms;
	if (it->heap_idx != NOT_WAITING) {
		if (due < it->due) {
			it->due = due;
			sift_up(q, it->heap_idx);
		}
		return FC_OK;
	}
	if ((rc = heap_reserve(q)))
		return rc;
	it->due = due;
	it->seq = q->seq++;
	q->heap[q->nheap] = it;
	it->heap_idx = q->nheap++;
	sift_up(q, it->heap_idx);
	pthread_cond_broadcast(&q->cond); /* a getter may need an earlier wake-up */
	return FC_OK;
}

fc_err workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms)
{
	struct item *it;
	fc_err rc;

	pthread_mutex_lock(&q->mu);
	if (q->shutdown) {
		rc = FC_ERR_CANCELLED;
	} else if (!(it = lookup_or_create(q, key))) {
		rc = FC_ERR_NOMEM;
	} else {
		rc = add_after_locked(q, it, delay_ms);
		maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

fc_err workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	struct item *it;
	int64_t delay;
	fc_err rc;

	pthread_mutex_lock(&q->mu);
	if (q->shutdown) {
		rc = FC_ERR_CANCELLED;
	} else if (!(it = lookup_or_create(q, key))) {
		rc = FC_ERR_NOMEM;
	} else {
		delay = q->base;
		for (unsigned i = 0; i < it->failures && delay < q->max; i++)
			delay = delay > q->max / 2 ? q->max : delay * 2;
		if (delay > q->max)
			delay = q->max;
		rc = add_after_locked(q, it, delay);
		if (!rc) {
			if (it->failures < UINT32_MAX)
				it->failures++;
			q->retries_total++;
		}
		maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	struct item *it;

	pthread_mutex_lock(&q->mu);
	it = lookup(q, key);
	if (it) {
		it->failures = 0;
		maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->mu);
}

unsigned workqueue_num_requeues(struct workqueue *q, const char *key)
{
	struct item *it;
	unsigned n;

	pthread_mutex_lock(&q->mu);
	it = lookup(q, key);
	n = it ? it->failures : 0;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t workqueue_len(struct workqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	promote(q);
	n = q->depth;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* Called locked with q->head set. */
static fc_err take_head(struct workqueue *q, char **key)
{
	struct item *it;

	*key = strdup(q->head->key);
	if (!*key)
		return FC_ERR_NOMEM;
	it = pop(q);
	it->dirty = 0;
	it->processing = 1;
	q->processing++;
	return FC_OK;
}

static void wait_ms(struct workqueue *q, int64_t ms)
{
	struct timespec ts;

	if (ms > MAX_WAIT_MS)
		ms = MAX_WAIT_MS;
	clock_deadline(CLOCK_MONOTONIC, ms, &ts);
	(void)pthread_cond_timedwait(&q->cond, &q->mu, &ts);
}

fc_err workqueue_get(struct workqueue *q, char **key)
{
	fc_err rc;

	*key = NULL;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (q->shutdown) {
			rc = FC_ERR_CANCELLED;
			break;
		}
		promote(q);
		if (q->head) {
			rc = take_head(q, key);
			break;
		}
		if (q->nheap) {
			int64_t now = q->clock(q->clock_ctx), due = q->heap[0]->due;

			wait_ms(q, due > now ? due - now : 0);
		} else {
			pthread_cond_wait(&q->cond, &q->mu);
		}
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

fc_err workqueue_get_nowait(struct workqueue *q, char **key)
{
	fc_err rc;

	*key = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->shutdown) {
		rc = FC_ERR_CANCELLED;
	} else {
		promote(q);
		rc = q->head ? take_head(q, key) : FC_ERR_NOTFOUND;
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void workqueue_done(struct workqueue *q, const char *key)
{
	struct item *it;

	pthread_mutex_lock(&q->mu);
	it = lookup(q, key);
	if (it && it->processing) {
		it->processing = 0;
		q->processing--;
		if (it->dirty)
			push(q, it);
		maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->mu);
}

void workqueue_tick(struct workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

void workqueue_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

int workqueue_shutting_down(struct workqueue *q)
{
	int s;

	pthread_mutex_lock(&q->mu);
	s = q->shutdown;
	pthread_mutex_unlock(&q->mu);
	return s;
}

void workqueue_stats(struct workqueue *q, struct workqueue_stats *out)
{
	pthread_mutex_lock(&q->mu);
	promote(q);
	out->adds_total = q->adds_total;
	out->retries_total = q->retries_total;
	out->depth = q->depth;
	out->waiting = q->nheap;
	out->processing = q->processing;
	pthread_mutex_unlock(&q->mu);
}
