/* fake_transport.h - an http_transport whose perform is a test function.
 *
 * fake_transport_respond() fills a response the way the real transport
 * does: the body of a 2xx goes to req->on_data when set (in chunks of
 * `chunk` bytes, 0 = all at once), anything else is buffered into
 * resp->body bounded by req->max_body (TOOBIG past it).
 */
#ifndef FC_FAKE_TRANSPORT_H
#define FC_FAKE_TRANSPORT_H

#include <pthread.h>
#include <stddef.h>

#include "http.h"

typedef fc_err (*fake_transport_fn)(void *ud, const struct http_request *req,
				    struct http_response *resp);

struct fake_transport {
	struct http_transport t;   /* hand &ft.t to the code under test */
	fake_transport_fn fn;
	void *ud;
	pthread_mutex_t lock;
	int calls;
};

void fake_transport_init(struct fake_transport *ft, fake_transport_fn fn, void *ud);
void fake_transport_release(struct fake_transport *ft);

fc_err fake_transport_respond(const struct http_request *req, struct http_response *resp,
			      long status, const char *body, size_t chunk);

/* Value of request header name (case-insensitive), borrowed, or NULL. */
const char *fake_transport_header(const struct http_request *req, const char *name);

#endif
