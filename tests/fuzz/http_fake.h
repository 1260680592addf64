/* http_fake.h - a fake http_transport that answers every request from the
 * fuzz input (for the targets that parse HTTP answers through a public
 * API: azure_client, azure_auth, kube_client).
 *
 * Input layout: NUL-separated segments; request i is answered by segment
 * i % n (the caller may hold back a first "scenario" segment). A segment
 * is one selector byte, then the body:
 *   sel & 7:  0 -> 200, 1 -> 401, 2 -> 403, 3 -> 404, 4 -> 429,
 *             5 -> 500, 6 -> 201 (or 410 for kube_client), 7 -> a transport error
 *             (TIMEOUT, with an error detail)
 *   sel & 8:  the body's first line (up to '\n') is the Retry-After header
 *             value, the rest is the body
 * After max_requests requests (FUZZ_HTTP_MAX_REQUESTS unless changed) every
 * request is a transport error, so a server that never stops paging does
 * not hang the target.
 * A 2xx body goes to req->on_data when the request streams (in chunks of
 * 1 + (sel >> 4) * 37 bytes), else it is buffered (bounded by max_body).
 */
#ifndef FC_FUZZ_HTTP_FAKE_H
#define FC_FUZZ_HTTP_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "fake_transport.h"

#define FUZZ_HTTP_MAX_SEGS 64
#define FUZZ_HTTP_MAX_REQUESTS 1000

struct fuzz_seg {
	const char *p;
	size_t n;
};

struct fuzz_http {
	struct fake_transport ft;          /* hand &fh.ft.t to the code under test */
	struct fuzz_seg segs[FUZZ_HTTP_MAX_SEGS];
	size_t nsegs;
	unsigned long requests;
	long status_6;                     /* the status of selector 6 */
	unsigned long max_requests;        /* past it, a transport error (IO) */
	/* every request's URL must start with one of these (NULL-terminated) */
	const char *const *url_prefixes;
};

/* Splits data into segments (at most FUZZ_HTTP_MAX_SEGS; the rest is
 * appended to the last one). Returns the number of segments. */
size_t fuzz_split(const uint8_t *data, size_t size, struct fuzz_seg *segs, size_t max);

/* segs are borrowed (they point into the input). nsegs may be 0: every
 * request then gets a transport error. */
void fuzz_http_init(struct fuzz_http *fh, const struct fuzz_seg *segs, size_t nsegs,
		    const char *const *url_prefixes);
void fuzz_http_release(struct fuzz_http *fh);

#endif /* FC_FUZZ_HTTP_FAKE_H */
