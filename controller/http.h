/* http.h - libcurl wrapper; the only file that includes curl.h.
 *
 * Network code takes a `struct http_transport` so unit tests can hand it a
 * fake. http_transport_curl() gives the real one. Bodies are bounded:
 * a response larger than req->max_body is FC_ERR_TOOBIG. TLS is always
 * verified unless tls->insecure is set (kubeconfig insecure-skip-tls-verify).
 * Thread-safety: a transport may be used from several threads at once
 * (each call uses its own or a per-thread pooled handle).
 */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HTTP_DEFAULT_MAX_BODY (16u * 1024 * 1024)

struct http_tls {
	const char *ca_file;    /* PEM bundle path, or NULL: the ONLY CAs trusted */
	const char *ca_extra_file; /* PEM bundle trusted IN ADDITION to the system
				    * CAs (--azure-ca-file), or NULL; ignored when
				    * ca_file or ca_pem is set */
	const char *ca_pem;     /* PEM bundle in memory, or NULL */
	const char *cert_file;  /* client certificate (PEM), or NULL */
	const char *cert_pem;
	const char *key_file;   /* client key (PEM), or NULL */
	const char *key_pem;
	int insecure;           /* skip verification (only if configured so) */
};

/* Streaming sink: called with each chunk of the body as it arrives (the
 * body is then not buffered). Return FC_OK to continue, anything else aborts
 * the transfer and http_do returns that error. */
typedef fc_err (*http_data_fn)(void *ud, const char *data, size_t len);

struct http_request {
	const char *method;            /* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *url;
	const char *const *headers;    /* NULL-terminated "Name: value" list, or NULL */
	const char *body;              /* may be NULL */
	size_t body_len;
	long timeout_ms;               /* whole transfer; 0 = none (watches) */
	long connect_timeout_ms;       /* 0 = 10 s */
	long low_speed_time_s;         /* abort if < 1 byte/s for this long; 0 = off */
	size_t max_body;               /* 0 = HTTP_DEFAULT_MAX_BODY */
	const struct http_tls *tls;    /* NULL = system CAs, verified */
	http_data_fn on_data;          /* NULL = buffer into resp->body */
	void *ud;
	const volatile int *cancel;    /* non-zero aborts as FC_ERR_CANCELLED */
};

/* Behaviour of the transport from http_transport_curl_new():
 * - on_data receives the body of 2xx responses only, unbounded (a watch
 *   stream; the sink bounds what it keeps). The body of any other status
 *   is buffered into resp->body (bounded by max_body) so the caller can
 *   read the error (a Kubernetes Status, an ARM error) as usual.
 * - tls->ca_file / ca_pem replace the system CA store (only that bundle is
 *   trusted), as kubeconfig certificate-authority does. ca_pem wins over
 *   ca_file, cert_pem over cert_file, key_pem over key_file.
 * - cancel is read with an atomic load, about once per second while idle
 *   and on every chunk received; another thread sets it with
 *   __atomic_store_n(flag, 1, __ATOMIC_RELEASE).
 * - Redirects are not followed; Expect: 100-continue is not sent. */

struct http_response {
	long status;                   /* HTTP status, 0 if none was received */
	struct buf body;               /* owned; empty when on_data was used */
	char *retry_after;             /* Retry-After header value, owned, or NULL */
	char *content_type;            /* owned or NULL */
	char error[256];               /* transport error detail (for logs) when
					* perform failed, else "" */
};

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);

/* Retry-After as seconds (delta-seconds or HTTP-date relative to now_epoch);
 * -1 when absent or unparsable. */
long http_retry_after_seconds(const char *value, long now_epoch);

struct http_transport {
	/* Performs one request. Returns FC_OK when a response was received
	 * (whatever its status: callers map it with fc_err_from_http), or a
	 * transport error: IO, TIMEOUT, TLS, TOOBIG, CANCELLED, NOMEM. */
	fc_err (*perform)(struct http_transport *t, const struct http_request *req,
			  struct http_response *resp);
	/* Frees ctx and t itself (called by http_transport_free); NULL for a
	 * transport the caller owns some other way (a test fake on the stack). */
	void (*destroy)(struct http_transport *t);
	void *ctx;
};

/* Process-wide libcurl init/cleanup (call once from main). */
fc_err http_global_init(void);
void http_global_cleanup(void);

/* The real transport over libcurl. Caller frees with http_transport_free(). */
fc_err http_transport_curl_new(struct http_transport **out);
void http_transport_free(struct http_transport *t);

/* Convenience: t->perform(t, req, resp). */
fc_err http_do(struct http_transport *t, const struct http_request *req,
	       struct http_response *resp);

#endif /* FC_HTTP_H */
