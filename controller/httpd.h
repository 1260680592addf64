/* httpd.h - the controller's own HTTP server: probes and metrics.
 *
 * Two listeners, each optional and each on its own libwebsockets context
 * and service thread, so neither a stalled client nor a flood on one port
 * can delay the other, and neither ever blocks the controller:
 *   probes  (health_probe_bind_address): GET /healthz, GET /readyz
 *   metrics (metrics_bind_address):      GET /metrics
 * HEAD is served like GET without a body; other methods get 405, other
 * paths 404; the query string is ignored. Request bodies are never read:
 * a request that announces one is answered and the connection closed.
 *
 * Limits per listener: request line + headers at most HTTPD_MAX_HEADER
 * bytes (larger requests are refused and the connection closed), at most
 * max_connections open connections (further clients wait in the kernel's
 * accept queue), a client that has not sent a complete request within
 * timeout_secs is disconnected (slowloris), idle keep-alive connections
 * are closed after HTTPD_KEEPALIVE_SECS.
 *
 * This is the only module that uses libwebsockets.
 */
#ifndef FC_HTTPD_H
#define FC_HTTPD_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HTTPD_MAX_HEADER 8192             /* request line + headers, bytes */
#define HTTPD_KEEPALIVE_SECS 5
#define HTTPD_DEFAULT_TIMEOUT_SECS 10
#define HTTPD_DEFAULT_MAX_CONNECTIONS 256
#define HTTPD_DEFAULT_METRICS_MAX (16u << 20)  /* /metrics body, bytes */
#define HTTPD_MSG_MAX 512                 /* probe failure message, bytes */

struct httpd_config {
	/* "[host]:port": ":8081" (all interfaces), "127.0.0.1:8081",
	 * "localhost:8081", "[::1]:8081"; port 0 picks a free port (see
	 * httpd_port()). "0", "" or NULL disables the listener. */
	const char *health_probe_bind_address;
	const char *metrics_bind_address;

	/* Called on the probe service thread for /healthz and /readyz:
	 * return FC_OK for 200 "ok", anything else for 500 with the
	 * NUL-terminated message written to msg (at most n bytes, n ==
	 * HTTPD_MSG_MAX; may be left empty). NULL means always healthy /
	 * ready. Must be thread-safe and must not block. */
	fc_err (*healthy)(void *ud, char *msg, size_t n);
	fc_err (*ready)(void *ud, char *msg, size_t n);
	/* Called on the metrics service thread for /metrics: append the
	 * exposition to out (an empty buf whose maximum is
	 * metrics_max_bytes). An error gives 500. NULL serves an empty
	 * body. Must be thread-safe. */
	fc_err (*render_metrics)(void *ud, struct buf *out);
	void *ud; /* passed to the callbacks, borrowed */

	size_t metrics_max_bytes;  /* 0: HTTPD_DEFAULT_METRICS_MAX */
	unsigned max_connections;  /* per listener; 0: HTTPD_DEFAULT_MAX_CONNECTIONS */
	unsigned timeout_secs;     /* 0: HTTPD_DEFAULT_TIMEOUT_SECS */
};

enum httpd_listener { HTTPD_PROBES = 0, HTTPD_METRICS };

struct httpd;

/* Binds the enabled listeners and starts their service threads. cfg is
 * copied (the bind address strings need not outlive the call; ud and the
 * callbacks must stay valid until httpd_stop()). Errors: INVAL (malformed
 * bind address), IO (cannot bind, e.g. port in use; logged), NOMEM.
 * Caller stops and frees with httpd_stop(). */
fc_err httpd_start(const struct httpd_config *cfg, struct httpd **out);

/* The port a listener is bound to (the kernel's choice for port 0), or 0
 * when that listener is disabled. */
int httpd_port(const struct httpd *h, enum httpd_listener which);

/* Closes every connection, stops and joins the service threads and frees
 * h. NULL is a no-op. Must not be called from an httpd callback. */
void httpd_stop(struct httpd *h);

#endif /* FC_HTTPD_H */
