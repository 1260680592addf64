#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"

/* Idle easy handles kept per transport: each keeps its own connection
 * cache, so a handle taken from the pool usually reuses a live connection.
 * (Sharing the connection cache itself through a CURLSH is not supported
 * between concurrent threads; DNS and TLS sessions are, and are shared.) */
#define POOL_MAX 8
#define HEADER_VALUE_MAX 1024
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
/* Retry-After values are capped at a day: anything larger is nonsense. */
#define RETRY_AFTER_MAX 86400L

struct curl_ctx {
	pthread_mutex_t mu;          /* guards idle/n_idle */
	CURL *idle[POOL_MAX];
	int n_idle;
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

/* State of one transfer, seen by the callbacks. */
struct xfer {
	const struct http_request *req;
	struct http_response *resp;
	CURL *h;
	int stream;          /* -1 unknown, 0 buffer into resp->body, 1 on_data */
	fc_err err;          /* set by a callback that aborted the transfer */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

fc_err http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_rc == CURLE_OK ? FC_OK : FC_ERR_NOMEM;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->body, HTTP_DEFAULT_MAX_BODY);
	r->retry_after = NULL;
	r->content_type = NULL;
	r->error[0] = '\0';
}

void http_response_release(struct http_response *r)
{
	buf_release(&r->body);
	free(r->retry_after);
	free(r->content_type);
	r->retry_after = NULL;
	r->content_type = NULL;
	r->status = 0;
	r->error[0] = '\0';
}

long http_retry_after_seconds(const char *value, long now_epoch)
{
	const char *p = value;
	long v = 0;
	time_t t;

	if (!p)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return -1;
	if (isdigit((unsigned char)*p)) {
		for (; isdigit((unsigned char)*p); p++) {
			if (v < RETRY_AFTER_MAX)
				v = v * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			return -1;
		return v > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : v;
	}
	t = curl_getdate(p, NULL);
	if (t == (time_t)-1)
		return -1;
	if ((long)t <= now_epoch)
		return 0;
	v = (long)t - now_epoch;
	return v > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : v;
}

fc_err http_do(struct http_transport *t, const struct http_request *req,
	       struct http_response *resp)
{
	return t->perform(t, req, resp);
}

/* ---- callbacks --------------------------------------------------------- */

/* The cancel flag is set from another thread (informer_stop, shutdown). */
static int cancelled(const struct http_request *req)
{
	return req->cancel && __atomic_load_n(req->cancel, __ATOMIC_ACQUIRE);
}

static void decide_stream(struct xfer *x)
{
	long code = 0;

	if (x->stream >= 0)
		return;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	x->stream = (x->req->on_data && code >= 200 && code < 300) ? 1 : 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nmemb;
	fc_err rc;

	if (cancelled(x->req)) {
		x->err = FC_ERR_CANCELLED;
		return 0;
	}
	decide_stream(x);
	if (x->stream == 1)
		rc = x->req->on_data(x->req->ud, ptr, len);
	else
		rc = buf_append(&x->resp->body, ptr, len);
	if (rc) {
		x->err = rc;
		return 0;
	}
	return len;
}

/* Replaces *slot with a copy of the header value (trimmed, bounded). */
static void capture_header(char **slot, const char *v, size_t n)
{
	char *copy;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n > HEADER_VALUE_MAX)
		return;
	copy = strndup(v, n);
	if (!copy)
		return;
	free(*slot);
	*slot = copy;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nmemb;
	static const char ra[] = "retry-after:";
	static const char ct[] = "content-type:";

	if (len >= 5 && !strncmp(ptr, "HTTP/", 5)) {
		/* a new response (after 1xx): forget the previous headers */
		free(x->resp->retry_after);
		free(x->resp->content_type);
		x->resp->retry_after = NULL;
		x->resp->content_type = NULL;
	} else if (len >= sizeof(ra) - 1 && !strncasecmp(ptr, ra, sizeof(ra) - 1)) {
		capture_header(&x->resp->retry_after, ptr + sizeof(ra) - 1, len - (sizeof(ra) - 1));
	} else if (len >= sizeof(ct) - 1 && !strncasecmp(ptr, ct, sizeof(ct) - 1)) {
		capture_header(&x->resp->content_type, ptr + sizeof(ct) - 1, len - (sizeof(ct) - 1));
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (cancelled(x->req)) {
		x->err = FC_ERR_CANCELLED;
		return 1;
	}
	return 0;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct curl_ctx *cx = ud;

	(void)h;
	(void)access;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&cx->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct curl_ctx *cx = ud;

	(void)h;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&cx->share_mu[data]);
}

/* ---- error mapping ----------------------------------------------------- */

static fc_err map_curl(CURLcode cc, fc_err cb_err)
{
	switch (cc) {
	case CURLE_OK:
		return FC_OK;
	case CURLE_WRITE_ERROR:
		return cb_err ? cb_err : FC_ERR_IO;
	case CURLE_ABORTED_BY_CALLBACK:
		return cb_err ? cb_err : FC_ERR_CANCELLED;
	case CURLE_OPERATION_TIMEDOUT:
		return FC_ERR_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return FC_ERR_TOOBIG;
	case CURLE_OUT_OF_MEMORY:
		return FC_ERR_NOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return FC_ERR_INVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return FC_ERR_TLS;
	default:
		/* couldn't connect/resolve, recv/send errors, got nothing,
		 * partial file, HTTP/2 stream errors... */
		return FC_ERR_IO;
	}
}

/* ---- the pool ---------------------------------------------------------- */

static CURL *pool_get(struct curl_ctx *cx)
{
	CURL *h = NULL;

	pthread_mutex_lock(&cx->mu);
	if (cx->n_idle > 0)
		h = cx->idle[--cx->n_idle];
	pthread_mutex_unlock(&cx->mu);
	if (!h)
		h = curl_easy_init();
	return h;
}

static void pool_put(struct curl_ctx *cx, CURL *h)
{
	/* forget every option (and borrowed pointer) of the last request; live
	 * connections, DNS and TLS session caches survive a reset */
	curl_easy_reset(h);
	pthread_mutex_lock(&cx->mu);
	if (cx->n_idle < POOL_MAX) {
		cx->idle[cx->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&cx->mu);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- one request ------------------------------------------------------- */

/* Zeroes each header before freeing the list: it may hold a bearer token. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next) {
		if (p->data) {
			volatile char *c = p->data;
			for (size_t i = 0; c[i]; i++)
				c[i] = 0;
		}
	}
	curl_slist_free_all(l);
}

static fc_err build_headers(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n;

	*out = NULL;
	/* no "Expect: 100-continue" round trip for request bodies */
	n = curl_slist_append(l, "Expect:");
	if (!n)
		return FC_ERR_NOMEM;
	l = n;
	for (const char *const *h = req->headers; h && *h; h++) {
		n = curl_slist_append(l, *h);
		if (!n) {
			free_headers(l);
			return FC_ERR_NOMEM;
		}
		l = n;
	}
	*out = l;
	return FC_OK;
}

#define SETOPT(h, opt, val)                                    \
	do {                                                   \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) \
			return FC_ERR_INVAL;                   \
	} while (0)

#define HTTP_MAX_CA_BUNDLE (8u * 1024 * 1024)

static fc_err read_file_into(struct buf *b, const char *path)
{
	char chunk[16384];
	size_t n;
	fc_err rc = FC_OK;
	FILE *f = fopen(path, "rb");

	if (!f)
		return FC_ERR_IO;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && !rc)
		rc = buf_append(b, chunk, n);
	if (!rc && ferror(f))
		rc = FC_ERR_IO;
	fclose(f);
	return rc;
}

/* The system bundle (libcurl's default, else $SSL_CERT_FILE, else Debian's)
 * followed by extra: trusted together. */
static fc_err system_plus_extra(const char *extra, struct buf *out)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	const char *sys = vi && vi->cainfo ? vi->cainfo : getenv("SSL_CERT_FILE");
	fc_err rc;

	if (!sys)
		sys = "/etc/ssl/certs/ca-certificates.crt";
	rc = read_file_into(out, sys);
	if (rc == FC_ERR_IO)
		rc = FC_OK; /* no system bundle: the extra one alone */
	if (!rc)
		rc = buf_append(out, "\n", 1);
	if (!rc)
		rc = read_file_into(out, extra);
	return rc;
}

static fc_err setup_tls(CURL *h, const struct http_tls *tls)
{
	struct curl_blob blob;

	if (!tls)
		return FC_OK;
	if (tls->insecure) {
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (tls->ca_pem || tls->ca_file) {
		/* only the given bundle is trusted */
		SETOPT(h, CURLOPT_CAPATH, (char *)NULL);
		if (tls->ca_pem) {
			blob.data = (void *)tls->ca_pem;
			blob.len = strlen(tls->ca_pem);
			blob.flags = CURL_BLOB_NOCOPY;
			SETOPT(h, CURLOPT_CAINFO_BLOB, &blob);
		} else {
			SETOPT(h, CURLOPT_CAINFO, tls->ca_file);
		}
	} else if (tls->ca_extra_file) {
		struct buf bundle;
		fc_err rc;

		buf_init(&bundle, HTTP_MAX_CA_BUNDLE);
		rc = system_plus_extra(tls->ca_extra_file, &bundle);
		if (!rc) {
			blob.data = bundle.data;
			blob.len = bundle.len;
			blob.flags = CURL_BLOB_COPY;
			if (curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK)
				rc = FC_ERR_INVAL;
		}
		buf_release(&bundle);
		if (rc)
			return rc;
	}
	if (tls->cert_pem) {
		blob.data = (void *)tls->cert_pem;
		blob.len = strlen(tls->cert_pem);
		blob.flags = CURL_BLOB_NOCOPY;
		SETOPT(h, CURLOPT_SSLCERT_BLOB, &blob);
		SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (tls->cert_file) {
		SETOPT(h, CURLOPT_SSLCERT, tls->cert_file);
		SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (tls->key_pem) {
		/* NOCOPY: libcurl does not keep a copy of the private key */
		blob.data = (void *)tls->key_pem;
		blob.len = strlen(tls->key_pem);
		blob.flags = CURL_BLOB_NOCOPY;
		SETOPT(h, CURLOPT_SSLKEY_BLOB, &blob);
		SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (tls->key_file) {
		SETOPT(h, CURLOPT_SSLKEY, tls->key_file);
		SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return FC_OK;
}

static fc_err setup(struct curl_ctx *cx, CURL *h, const struct http_request *req,
		    struct xfer *x, struct curl_slist *hdrs, char *errbuf)
{
	const char *method = req->method ? req->method : "GET";
	fc_err rc;

	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_URL, req->url);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_SHARE, cx->share);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(h, CURLOPT_TCP_KEEPIDLE, 30L);
	SETOPT(h, CURLOPT_TCP_KEEPINTVL, 15L);
	SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS,
	       req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS);
	if (req->timeout_ms > 0)
		SETOPT(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->low_speed_time_s > 0) {
		SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(h, CURLOPT_LOW_SPEED_TIME, req->low_speed_time_s);
	}
	SETOPT(h, CURLOPT_WRITEFUNCTION, on_write);
	SETOPT(h, CURLOPT_WRITEDATA, x);
	SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(h, CURLOPT_HEADERDATA, x);
	SETOPT(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	SETOPT(h, CURLOPT_XFERINFODATA, x);
	SETOPT(h, CURLOPT_NOPROGRESS, 0L);

	if (!strcmp(method, "GET")) {
		SETOPT(h, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "HEAD")) {
		SETOPT(h, CURLOPT_NOBODY, 1L);
	} else {
		SETOPT(h, CURLOPT_CUSTOMREQUEST, method);
	}
	if (req->body || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
	    !strcmp(method, "PATCH")) {
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		SETOPT(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	rc = setup_tls(h, req->tls);
	return rc;
}

#undef SETOPT

static fc_err curl_perform(struct http_transport *t, const struct http_request *req,
			   struct http_response *resp)
{
	struct curl_ctx *cx = t->ctx;
	struct curl_slist *hdrs = NULL;
	struct xfer x;
	char errbuf[CURL_ERROR_SIZE];
	CURL *h = NULL;
	CURLcode cc;
	fc_err rc;

	http_response_release(resp);
	buf_init(&resp->body, req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY);
	errbuf[0] = '\0';
	if (!req->url) {
		rc = FC_ERR_INVAL;
		goto out;
	}
	if (cancelled(req)) {
		rc = FC_ERR_CANCELLED;
		goto out;
	}
	rc = build_headers(req, &hdrs);
	if (rc)
		goto out;
	h = pool_get(cx);
	if (!h) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	x.req = req;
	x.resp = resp;
	x.h = h;
	x.stream = -1;
	x.err = FC_OK;
	rc = setup(cx, h, req, &x, hdrs, errbuf);
	if (rc) {
		snprintf(resp->error, sizeof(resp->error), "invalid request options");
		goto out;
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	rc = map_curl(cc, x.err);
	if (rc) {
		if (rc == FC_ERR_TOOBIG)
			snprintf(resp->error, sizeof(resp->error), "response body larger than %zu bytes",
				 resp->body.max);
		else if (rc == FC_ERR_CANCELLED)
			snprintf(resp->error, sizeof(resp->error), "cancelled");
		else
			snprintf(resp->error, sizeof(resp->error), "%s",
				 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		log_debug("http transfer failed", "method", req->method ? req->method : "GET",
			  "url", req->url, "err", fc_strerror(rc), "detail", resp->error, NULL);
	}
out:
	if (h) {
		/* errbuf is on this stack frame: unhook it before pooling */
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, (char *)NULL);
		pool_put(cx, h);
	}
	free_headers(hdrs);
	return rc;
}

static void curl_destroy(struct http_transport *t)
{
	struct curl_ctx *cx;

	if (!t)
		return;
	cx = t->ctx;
	if (cx) {
		for (int i = 0; i < cx->n_idle; i++)
			curl_easy_cleanup(cx->idle[i]);
		if (cx->share)
			curl_share_cleanup(cx->share);
		for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&cx->share_mu[i]);
		pthread_mutex_destroy(&cx->mu);
		free(cx);
	}
	free(t);
}

fc_err http_transport_curl_new(struct http_transport **out)
{
	struct http_transport *t = NULL;
	struct curl_ctx *cx = NULL;
	fc_err rc;

	*out = NULL;
	rc = http_global_init();
	if (rc)
		return rc;
	t = calloc(1, sizeof(*t));
	cx = calloc(1, sizeof(*cx));
	if (!t || !cx) {
		free(t);
		free(cx);
		return FC_ERR_NOMEM;
	}
	pthread_mutex_init(&cx->mu, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&cx->share_mu[i], NULL);
	t->perform = curl_perform;
	t->destroy = curl_destroy;
	t->ctx = cx;
	cx->share = curl_share_init();
	if (!cx->share) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	if (curl_share_setopt(cx->share, CURLSHOPT_USERDATA, cx) ||
	    curl_share_setopt(cx->share, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(cx->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
	    curl_share_setopt(cx->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(cx->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	*out = t;
	t = NULL;
out:
	if (t)
		curl_destroy(t);
	return rc;
}

void http_transport_free(struct http_transport *t)
{
	if (t && t->destroy)
		t->destroy(t);
}
