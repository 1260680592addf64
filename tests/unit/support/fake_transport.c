#include "fake_transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static fc_err fake_perform(struct http_transport *t, const struct http_request *req,
			   struct http_response *resp)
{
	struct fake_transport *ft = t->ctx;

	pthread_mutex_lock(&ft->lock);
	ft->calls++;
	pthread_mutex_unlock(&ft->lock);
	http_response_release(resp);
	buf_init(&resp->body, req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY);
	return ft->fn(ft->ud, req, resp);
}

void fake_transport_init(struct fake_transport *ft, fake_transport_fn fn, void *ud)
{
	memset(ft, 0, sizeof(*ft));
	ft->t.perform = fake_perform;
	ft->t.destroy = NULL;
	ft->t.ctx = ft;
	ft->fn = fn;
	ft->ud = ud;
	pthread_mutex_init(&ft->lock, NULL);
}

void fake_transport_release(struct fake_transport *ft)
{
	pthread_mutex_destroy(&ft->lock);
}

fc_err fake_transport_respond(const struct http_request *req, struct http_response *resp,
			      long status, const char *body, size_t chunk)
{
	size_t len = body ? strlen(body) : 0, off = 0, n;
	fc_err rc;

	resp->status = status;
	if (req->on_data && status >= 200 && status < 300) {
		if (!chunk)
			chunk = len ? len : 1;
		while (off < len) {
			if (req->cancel && __atomic_load_n(req->cancel, __ATOMIC_ACQUIRE))
				return FC_ERR_CANCELLED;
			n = len - off < chunk ? len - off : chunk;
			rc = req->on_data(req->ud, body + off, n);
			if (rc)
				return rc;
			off += n;
		}
		return FC_OK;
	}
	if (len)
		return buf_append(&resp->body, body, len);
	return FC_OK;
}

const char *fake_transport_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);

	for (const char *const *h = req->headers; h && *h; h++) {
		if (!strncasecmp(*h, name, n) && (*h)[n] == ':') {
			const char *v = *h + n + 1;

			while (*v == ' ')
				v++;
			return v;
		}
	}
	return NULL;
}
