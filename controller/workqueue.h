/* workqueue.h - deduplicating work queue of string keys with delays and
 * per-item exponential backoff (after client-go's workqueue).
 *
 * Keys are "namespace/name" (any NUL-terminated string works). Semantics:
 * - add: a key is queued at most once. A key being processed (between get
 *   and done) that is added again is marked dirty and queued again by done,
 *   so one key is never processed by two workers at once.
 * - add_after: the key is added when the clock reaches now + delay; a key
 *   already waiting keeps the earlier due time. delay 0 is add.
 * - add_rate_limited: add_after with base * 2^n ms (n = the key's requeues
 *   so far, capped at max), then n+1. forget resets n (call it after a
 *   success); num_requeues reads it.
 * - shutdown: wakes every getter; from then on get returns
 *   FC_ERR_CANCELLED at once (queued items are not drained) and the add
 *   functions return FC_ERR_CANCELLED without queueing.
 * Time is read only through the clock given at creation (monotonic
 * milliseconds), so tests control it; a delayed item becomes ready when
 * clock >= due. Blocking gets wait on a CLOCK_MONOTONIC condition variable
 * for the time the injected clock says is left, then re-read it;
 * workqueue_tick() wakes them to re-read it at once (after a test advanced
 * its clock). Thread-safe: one mutex. No I/O.
 */
#ifndef FC_WORKQUEUE_H
#define FC_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define WORKQUEUE_BASE_DELAY_MS 5
#define WORKQUEUE_MAX_DELAY_MS 1000000 /* 1000 s, as client-go */

/* Monotonic time in milliseconds. */
typedef int64_t (*workqueue_clock_fn)(void *ctx);

/* Counters for metrics (snapshot). */
struct workqueue_stats {
	uint64_t adds_total;        /* keys queued (not counting deduplicated adds) */
	uint64_t retries_total;     /* add_rate_limited calls */
	size_t depth;               /* keys ready to be got */
	size_t waiting;             /* keys waiting for their delay */
	size_t processing;          /* keys got and not yet done */
};

struct workqueue;

/* CLOCK_MONOTONIC in milliseconds (ctx unused): the default clock. */
int64_t workqueue_clock_monotonic(void *ctx);

/* clock NULL: workqueue_clock_monotonic; clock_ctx is borrowed and passed to
 * it. Backoff starts at WORKQUEUE_BASE_DELAY_MS, capped at
 * WORKQUEUE_MAX_DELAY_MS. Caller frees with workqueue_free(). */
fc_err workqueue_new(workqueue_clock_fn clock, void *clock_ctx, struct workqueue **out);

/* Sets the rate limiter: base_ms * 2^n capped at max_ms (0 keeps a value). */
void workqueue_set_backoff(struct workqueue *q, int64_t base_ms, int64_t max_ms);

/* Frees the queue and every key in it. No thread may still use it (call
 * workqueue_shutdown() and join the workers first). NULL is a no-op. */
void workqueue_free(struct workqueue *q);

/* key is copied. FC_ERR_NOMEM, FC_ERR_CANCELLED after shutdown. */
fc_err workqueue_add(struct workqueue *q, const char *key);
/* delay_ms <= 0 is workqueue_add. */
fc_err workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms);
fc_err workqueue_add_rate_limited(struct workqueue *q, const char *key);

/* Resets the key's backoff. */
void workqueue_forget(struct workqueue *q, const char *key);
/* add_rate_limited calls since the last forget. */
unsigned workqueue_num_requeues(struct workqueue *q, const char *key);

/* Keys ready to be got (delayed keys that are due count). */
size_t workqueue_len(struct workqueue *q);

/* Blocks until a key is ready or the queue is shut down. On FC_OK *key is
 * a copy the caller frees with free(), and the key is "processing" until
 * workqueue_done(q, key). FC_ERR_CANCELLED after shutdown, FC_ERR_NOMEM
 * (the key stays queued). */
fc_err workqueue_get(struct workqueue *q, char **key);

/* Same without blocking: FC_ERR_NOTFOUND when no key is ready. */
fc_err workqueue_get_nowait(struct workqueue *q, char **key);

/* Ends the processing of key (got by get); re-queues it if it was added
 * meanwhile. A key that is not being processed is ignored. */
void workqueue_done(struct workqueue *q, const char *key);

/* Wakes blocked getters to re-read the clock. */
void workqueue_tick(struct workqueue *q);

void workqueue_shutdown(struct workqueue *q);
int workqueue_shutting_down(struct workqueue *q);

void workqueue_stats(struct workqueue *q, struct workqueue_stats *out);

#endif /* FC_WORKQUEUE_H */
