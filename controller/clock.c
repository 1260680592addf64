#include "clock.h"

static int64_t ms_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

int64_t clock_real_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

void clock_deadline(clockid_t clk, int64_t ms, struct timespec *out)
{
	if (ms < 0)
		ms = 0;
	clock_gettime(clk, out);
	out->tv_sec += (time_t)(ms / 1000);
	out->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}
