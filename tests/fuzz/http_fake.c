/* http_fake.c - see http_fake.h. */
#include "http_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"

size_t fuzz_split(const uint8_t *data, size_t size, struct fuzz_seg *segs, size_t max)
{
	const char *p = (const char *)data, *end = p + size;
	size_t n = 0;

	if (!size || !max)
		return 0;
	for (;;) {
		const char *nul = n + 1 < max ? memchr(p, '\0', (size_t)(end - p)) : NULL;

		segs[n].p = p;
		segs[n].n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		n++;
		if (!nul)
			break;
		p = nul + 1;
	}
	return n;
}

static fc_err answer(void *ud, const struct http_request *req, struct http_response *resp)
{
	static const long statuses[7] = {200, 401, 403, 404, 429, 500, 201};
	struct fuzz_http *fh = ud;
	const struct fuzz_seg *s;
	const char *body;
	size_t len, chunk, off = 0;
	uint8_t sel;
	fc_err rc;

	FUZZ_CHECK(req->method && req->url);
	FUZZ_CHECK(req->body_len == 0 || req->body);
	if (fh->url_prefixes) {
		int ok = 0;

		for (const char *const *u = fh->url_prefixes; *u; u++)
			ok |= !strncasecmp(req->url, *u, strlen(*u)); /* hosts are case-insensitive */
		if (!ok) {
			fprintf(stderr, "unexpected URL %s\n", req->url);
			FUZZ_CHECK(!"request to an unexpected URL");
		}
	}
	if (!fh->nsegs || fh->requests >= fh->max_requests) {
		snprintf(resp->error, sizeof(resp->error), "no answer in the fuzz input");
		return FC_ERR_IO;
	}
	s = &fh->segs[fh->requests++ % fh->nsegs];
	sel = s->n ? (uint8_t)s->p[0] : 0;
	body = s->n ? s->p + 1 : s->p;
	len = s->n ? s->n - 1 : 0;
	if ((sel & 7) == 7) {
		snprintf(resp->error, sizeof(resp->error), "Operation timed out after %zu ms", len);
		return FC_ERR_TIMEOUT;
	}
	resp->status = (sel & 7) == 6 ? fh->status_6 : statuses[sel & 7];
	if (sel & 8) {
		const char *nl = memchr(body, '\n', len);
		size_t hl = nl ? (size_t)(nl - body) : len;

		resp->retry_after = strndup(body, hl);
		if (!resp->retry_after)
			return FC_ERR_NOMEM;
		body += hl + (nl ? 1 : 0);
		len -= hl + (nl ? 1 : 0);
	}
	if (req->on_data && resp->status >= 200 && resp->status < 300) {
		chunk = 1 + (size_t)(sel >> 4) * 37;
		while (off < len) {
			size_t n = len - off < chunk ? len - off : chunk;

			if (req->cancel && __atomic_load_n(req->cancel, __ATOMIC_ACQUIRE))
				return FC_ERR_CANCELLED;
			rc = req->on_data(req->ud, body + off, n);
			if (rc)
				return rc;
			off += n;
		}
		return FC_OK;
	}
	if (len) {
		rc = buf_append(&resp->body, body, len);
		if (rc)
			return rc; /* TOOBIG past max_body, as the real transport */
	}
	return FC_OK;
}

void fuzz_http_init(struct fuzz_http *fh, const struct fuzz_seg *segs, size_t nsegs,
		    const char *const *url_prefixes)
{
	memset(fh, 0, sizeof(*fh));
	fake_transport_init(&fh->ft, answer, fh);
	if (nsegs > FUZZ_HTTP_MAX_SEGS)
		nsegs = FUZZ_HTTP_MAX_SEGS;
	memcpy(fh->segs, segs, nsegs * sizeof(*segs));
	fh->nsegs = nsegs;
	fh->status_6 = 201;
	fh->max_requests = FUZZ_HTTP_MAX_REQUESTS;
	fh->url_prefixes = url_prefixes;
}

void fuzz_http_release(struct fuzz_http *fh)
{
	fake_transport_release(&fh->ft);
}
