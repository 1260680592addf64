#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "log.h"

#define BODY_CHUNK 16384 /* bytes written per writeable callback */
#define HOST_MAX 64
#define HTTPD_MAX_DISCARD 65536 /* request body bytes read and dropped */
#define MAX_INFLIGHT_METRICS 4  /* /metrics bodies held at once per listener */

struct listener {
	struct httpd *h;
	enum httpd_listener which;
	struct lws_context *ctx;
	pthread_t thread;
	int running;     /* thread started */
	atomic_int stop;
	int port;
	int inflight_metrics; /* service thread only */
};

struct httpd {
	struct httpd_config cfg; /* bind addresses NULLed: not kept */
	struct listener l[2];
};

/* Per-connection state (zeroed by lws); one response at a time. */
struct session {
	struct buf body;
	size_t off;
	unsigned status;          /* 0: no response prepared */
	const char *content_type; /* static */
	unsigned timeout_secs;
	int head;     /* HEAD: headers only */
	int close;    /* close the connection after this response */
	int deferred; /* respond once the request body has been discarded */
	struct listener *metrics; /* set while holding a /metrics body */
};

static const char *const listener_names[] = { "probes", "metrics" };

/* ---- libwebsockets logging -> log.h ---- */

/* Debug level only: lws reports bad client input ("Ran out of header data
 * space") as errors, and a client must not be able to flood our log. Our
 * own failures (bind, ...) are logged by this module. */
static void lws_log_emit(int level, const char *line)
{
	char msg[512];
	size_t n;

	(void)level;
	snprintf(msg, sizeof(msg), "%s", line);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("libwebsockets", "detail", msg, NULL);
}

static void set_lws_log(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
}

/* ---- bind address ---- */

/* Splits "[host]:port" into an interface for lws (NULL for all) and a
 * port. "0", "" and NULL mean disabled (*port = -1). */
static fc_err parse_bind(const char *addr, char *host, size_t hostn, int *port)
{
	const char *colon, *h, *hend;
	char *end;
	long p;
	unsigned char tmp[16];

	*port = -1;
	host[0] = '\0';
	if (!addr || !*addr || !strcmp(addr, "0"))
		return FC_OK;
	colon = strrchr(addr, ':');
	if (!colon || !colon[1])
		return FC_ERR_INVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end || errno || p < 0 || p > 65535 || colon[1] == '-' || colon[1] == '+')
		return FC_ERR_INVAL;
	h = addr;
	hend = colon;
	if (h < hend && *h == '[') {
		if (hend[-1] != ']')
			return FC_ERR_INVAL;
		h++;
		hend--;
	}
	if ((size_t)(hend - h) >= hostn)
		return FC_ERR_INVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (!strcmp(host, "localhost"))
		snprintf(host, hostn, "%s", "127.0.0.1");
	if (*host && inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1)
		return FC_ERR_INVAL;
	*port = (int)p;
	return FC_OK;
}

/* ---- responses ---- */

static const char *const text_plain = "text/plain; charset=utf-8";

static void session_reset(struct session *s)
{
	if (s->metrics)
		s->metrics->inflight_metrics--;
	buf_release(&s->body);
	memset(s, 0, sizeof(*s));
}

/* Writes the status line and headers for the prepared response and asks
 * for a writeable callback to send the body. Non-zero: close. */
static int send_headers(struct lws *wsi, struct session *s)
{
	unsigned char hdr[LWS_PRE + 512];
	unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;

	s->deferred = 0;
	/* The whole response must be taken within the timeout, so that a
	 * client reading slowly cannot pin the body in memory. lws has its own
	 * content timeout; this timer makes the bound explicit (see
	 * LWS_CALLBACK_TIMER). */
	lws_set_timer_usecs(wsi, (lws_usec_t)s->timeout_secs * LWS_US_PER_SEC);
	if (lws_add_http_common_headers(wsi, s->status, s->content_type, s->body.len, &p, end))
		return 1;
	if (s->status == HTTP_STATUS_METHOD_NOT_ALLOWED &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
					(const unsigned char *)"GET, HEAD", 9, &p, end))
		return 1;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end))
		return 1;
	/* by name: lws 4.1 refuses WSI_TOKEN_CONNECTION by token */
	if (s->close &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
					(const unsigned char *)"close", 5, &p, end))
		return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* Prepares a response; sent now, or once a request body has been read
 * and discarded (s->deferred). Non-zero: close. */
static int respond(struct lws *wsi, struct session *s, unsigned status,
		   const char *content_type)
{
	s->status = status;
	s->content_type = content_type;
	return s->deferred ? 0 : send_headers(wsi, s);
}

static int respond_text(struct lws *wsi, struct session *s, unsigned status, const char *text)
{
	buf_init(&s->body, HTTPD_MSG_MAX + 64);
	if (buf_append_str(&s->body, text) || buf_append_str(&s->body, "\n"))
		return 1;
	return respond(wsi, s, status, text_plain);
}

static int probe(struct lws *wsi, struct session *s, fc_err (*check)(void *, char *, size_t),
		 void *ud, const char *what)
{
	char msg[HTTPD_MSG_MAX];

	msg[0] = '\0';
	if (!check || check(ud, msg, sizeof(msg)) == FC_OK)
		return respond_text(wsi, s, HTTP_STATUS_OK, "ok");
	msg[sizeof(msg) - 1] = '\0';
	if (!msg[0])
		snprintf(msg, sizeof(msg), "%s check failed", what);
	return respond_text(wsi, s, HTTP_STATUS_INTERNAL_SERVER_ERROR, msg);
}

static int serve_metrics(struct lws *wsi, struct session *s, struct listener *l)
{
	const struct httpd_config *cfg = &l->h->cfg;
	fc_err rc = FC_OK;

	if (l->inflight_metrics >= MAX_INFLIGHT_METRICS)
		return respond_text(wsi, s, HTTP_STATUS_SERVICE_UNAVAILABLE,
				    "too many concurrent scrapes");
	l->inflight_metrics++;
	s->metrics = l;
	buf_init(&s->body, cfg->metrics_max_bytes);
	if (cfg->render_metrics)
		rc = cfg->render_metrics(cfg->ud, &s->body);
	if (rc) {
		char msg[128];

		log_warn("rendering metrics failed", "error", fc_strerror(rc), NULL);
		buf_release(&s->body);
		snprintf(msg, sizeof(msg), "metrics unavailable: %s", fc_strerror(rc));
		return respond_text(wsi, s, HTTP_STATUS_INTERNAL_SERVER_ERROR, msg);
	}
	return respond(wsi, s, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
}

/* A request body is never used. A small one (Content-Length up to
 * HTTPD_MAX_DISCARD) is read and dropped before answering, so that closing
 * the connection afterwards does not reset it under the client; a larger or
 * chunked one gets 413 at once. Returns 0 (none), 1 (small), 2 (refuse). */
static int body_kind(struct lws *wsi)
{
	char v[32];
	unsigned long long n;
	char *end;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return 2;
	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || v[0] < '0' || v[0] > '9' || n > HTTPD_MAX_DISCARD)
		return 2;
	return n > 0;
}

static int on_request(struct lws *wsi, struct session *s, const char *path)
{
	struct listener *l = lws_context_user(lws_get_context(wsi));
	const struct httpd_config *cfg = &l->h->cfg;
	int get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	int head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	int body = body_kind(wsi);

	session_reset(s);
	s->timeout_secs = cfg->timeout_secs;
	s->head = head;
	if (body) {
		s->close = 1;
		if (body == 2)
			return respond_text(wsi, s, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
					    "request body not accepted");
		s->deferred = 1;
	}
	if (!get && !head)
		return respond_text(wsi, s, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
	if (l->which == HTTPD_PROBES && !strcmp(path, "/healthz"))
		return probe(wsi, s, cfg->healthy, cfg->ud, "health");
	if (l->which == HTTPD_PROBES && !strcmp(path, "/readyz"))
		return probe(wsi, s, cfg->ready, cfg->ud, "readiness");
	if (l->which == HTTPD_METRICS && !strcmp(path, "/metrics"))
		return serve_metrics(wsi, s, l);
	return respond_text(wsi, s, HTTP_STATUS_NOT_FOUND, "not found");
}

/* Sends the next chunk of the body. Non-zero: close the connection. */
static int on_writeable(struct lws *wsi, struct session *s)
{
	unsigned char chunk[LWS_PRE + BODY_CHUNK];
	size_t n = 0;
	int final;

	if (!s->status || s->deferred)
		return 0; /* spurious */

	if (!s->head) {
		n = s->body.len - s->off;
		if (n > BODY_CHUNK)
			n = BODY_CHUNK;
		if (n)
			memcpy(chunk + LWS_PRE, s->body.data + s->off, n);
	}
	final = s->head || s->off + n == s->body.len;
	if (lws_write(wsi, chunk + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return 1;
	s->off += n;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	final = s->close;
	session_reset(s);
	if (final)
		return 1;
	lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
	return lws_http_transaction_completed(wsi) ? 1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct session *s = user;

	(void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_request(wsi, s, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* discarded */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (s && s->deferred && s->status)
			return send_headers(wsi, s) ? -1 : 0;
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!s)
			return -1;
		return on_writeable(wsi, s) ? -1 : 0;
	case LWS_CALLBACK_TIMER: /* the response deadline set in send_headers() */
		if (s && s->status) {
			log_debug("http response timed out", NULL);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return -1; /* no websocket or h2c upgrades */
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (s)
			session_reset(s);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ "http", callback, sizeof(struct session), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- listeners ---- */

static void *service_main(void *arg)
{
	struct listener *l = arg;

	while (!atomic_load(&l->stop)) {
		if (lws_service(l->ctx, 0) < 0) {
			log_error("http server stopped unexpectedly", "listener",
				  listener_names[l->which], NULL);
			break;
		}
	}
	return NULL;
}

static fc_err listener_start(struct httpd *h, enum httpd_listener which, const char *addr)
{
	struct listener *l = &h->l[which];
	struct lws_context_creation_info info;
	struct lws_vhost *vh;
	char host[HOST_MAX];
	char portstr[8];
	int port;
	fc_err rc;

	l->h = h;
	l->which = which;
	rc = parse_bind(addr, host, sizeof(host), &port);
	if (rc) {
		log_error("invalid bind address", "listener", listener_names[which],
			  "address", addr, NULL);
		return rc;
	}
	if (port < 0)
		return FC_OK;

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.user = l;
	info.max_http_header_data = HTTPD_MAX_HEADER;
	info.max_http_header_pool = (unsigned short)h->cfg.max_connections;
	info.fd_limit_per_thread = h->cfg.max_connections + 8; /* listen, cancel pipe, ... */
	info.count_threads = 1;
	info.server_string = "foundry-controller";
	info.timeout_secs = h->cfg.timeout_secs;
	l->ctx = lws_create_context(&info);
	if (!l->ctx) {
		log_error("cannot create http server", "listener", listener_names[which], NULL);
		return FC_ERR_NOMEM;
	}

	memset(&info, 0, sizeof(info));
	info.vhost_name = listener_names[which];
	info.port = port;
	info.iface = host[0] ? host : NULL;
	info.protocols = protocols;
	if (host[0] && !strchr(host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.keepalive_timeout = HTTPD_KEEPALIVE_SECS;
	info.timeout_secs = h->cfg.timeout_secs;
	info.timeout_secs_ah_idle = h->cfg.timeout_secs;
	info.user = l;
	vh = lws_create_vhost(l->ctx, &info);
	if (!vh) {
		log_error("cannot listen", "listener", listener_names[which], "address", addr,
			  NULL);
		return FC_ERR_IO;
	}
	l->port = lws_get_vhost_listen_port(vh);
	if (pthread_create(&l->thread, NULL, service_main, l)) {
		log_error("cannot start http server thread", "listener", listener_names[which],
			  NULL);
		return FC_ERR_NOMEM;
	}
	l->running = 1;
	snprintf(portstr, sizeof(portstr), "%d", l->port);
	log_info("listening", "listener", listener_names[which], "address", addr,
		 "port", portstr, NULL);
	return FC_OK;
}

static void listener_stop(struct listener *l)
{
	if (l->running) {
		atomic_store(&l->stop, 1);
		lws_cancel_service(l->ctx);
		pthread_join(l->thread, NULL);
		l->running = 0;
	}
	if (l->ctx)
		lws_context_destroy(l->ctx);
	l->ctx = NULL;
}

fc_err httpd_start(const struct httpd_config *cfg, struct httpd **out)
{
	static pthread_once_t log_once = PTHREAD_ONCE_INIT;
	struct httpd *h = NULL;
	fc_err rc;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return FC_ERR_NOMEM;
	h->cfg = *cfg;
	h->cfg.health_probe_bind_address = NULL;
	h->cfg.metrics_bind_address = NULL;
	if (!h->cfg.metrics_max_bytes)
		h->cfg.metrics_max_bytes = HTTPD_DEFAULT_METRICS_MAX;
	if (!h->cfg.max_connections)
		h->cfg.max_connections = HTTPD_DEFAULT_MAX_CONNECTIONS;
	if (h->cfg.max_connections > 4096)
		h->cfg.max_connections = 4096;
	if (!h->cfg.timeout_secs)
		h->cfg.timeout_secs = HTTPD_DEFAULT_TIMEOUT_SECS;
	atomic_init(&h->l[0].stop, 0);
	atomic_init(&h->l[1].stop, 0);

	pthread_once(&log_once, set_lws_log);
	rc = listener_start(h, HTTPD_PROBES, cfg->health_probe_bind_address);
	if (!rc)
		rc = listener_start(h, HTTPD_METRICS, cfg->metrics_bind_address);
	if (rc) {
		httpd_stop(h);
		return rc;
	}
	*out = h;
	return FC_OK;
}

int httpd_port(const struct httpd *h, enum httpd_listener which)
{
	if (!h || (unsigned)which > HTTPD_METRICS || !h->l[which].ctx)
		return 0;
	return h->l[which].port;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	listener_stop(&h->l[HTTPD_METRICS]);
	listener_stop(&h->l[HTTPD_PROBES]);
	free(h);
}
