/* clock.h - the process's clocks, in one place.
 *
 * Monotonic time for timeouts, backoff and caches (never jumps); real time
 * only where a wall-clock value is compared with one from outside (token
 * expiry, timestamps). No allocation; thread-safe.
 */
#ifndef FC_CLOCK_H
#define FC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t clock_mono_ms(void);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_real_ms(void);

/* *out = now on clk plus ms (ms < 0 counts as 0), normalised: the absolute
 * deadline for pthread_cond_timedwait on a condvar using clk. */
void clock_deadline(clockid_t clk, int64_t ms, struct timespec *out);

#endif /* FC_CLOCK_H */
