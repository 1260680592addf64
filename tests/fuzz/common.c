/* common.c - helpers linked into every fuzz target. */
#include "fuzz.h"

#include "log.h"

void fuzz_quiet_log(void)
{
	static FILE *devnull;

	if (devnull)
		return;
	devnull = fopen("/dev/null", "w");
	if (devnull)
		log_setup(LOG_DEBUG, LOG_FORMAT_JSON, devnull);
	else
		log_setup(LOG_ERROR, LOG_FORMAT_TEXT, NULL);
}
