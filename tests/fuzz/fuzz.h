/* fuzz.h - what every fuzz target shares.
 *
 * Each tests/fuzz/fuzz_<target>.c defines LLVMFuzzerTestOneInput. It is
 * linked either with libFuzzer (clang -fsanitize=fuzzer: `make fuzz`) or
 * with replay_main.c, which calls it once per file of a corpus directory
 * (`make fuzz-replay`, part of `make test`). A target must not keep state
 * across calls that changes its behaviour, must free everything it
 * allocates, and reports a broken property with FUZZ_CHECK (abort()).
 */
#ifndef FC_FUZZ_H
#define FC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must satisfy; a violation is a finding. */
#define FUZZ_CHECK(cond)                                                            \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, \
				__LINE__, #cond);                                   \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* Sends the controller's log to /dev/null at debug level, once, so log
 * formatting of hostile strings is exercised without flooding stderr. */
void fuzz_quiet_log(void);

#endif /* FC_FUZZ_H */
