/* Unit tests: httpd.c, on loopback ports picked by the kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "buf.h"
#include "err.h"
#include "httpd.h"
#include "metrics.h"

/* Every request made by a test must be answered within this many seconds. */
#define CLIENT_TIMEOUT 5L
static long client_timeout = CLIENT_TIMEOUT;

struct state {
	atomic_int healthy;
	atomic_int ready;
	atomic_int renders;
	size_t metrics_bytes; /* > 0: render this many bytes of filler */
	struct metrics *m;
};

static fc_err cb_healthy(void *ud, char *msg, size_t n)
{
	struct state *st = ud;

	if (atomic_load(&st->healthy))
		return FC_OK;
	snprintf(msg, n, "[-]informers failed: watch closed");
	return FC_ERR_UNAVAILABLE;
}

static fc_err cb_ready(void *ud, char *msg, size_t n)
{
	struct state *st = ud;

	(void)msg;
	(void)n;
	return atomic_load(&st->ready) ? FC_OK : FC_ERR_STATE; /* no message */
}

static fc_err cb_render(void *ud, struct buf *out)
{
	struct state *st = ud;
	size_t i;
	fc_err rc = FC_OK;

	atomic_fetch_add(&st->renders, 1);
	if (st->metrics_bytes) {
		char block[4096]; /* 64-byte lines: 63 x and a newline */

		for (i = 0; i < sizeof(block); i++)
			block[i] = (i % 64) == 63 ? '\n' : 'x';
		for (i = 0; i < st->metrics_bytes && !rc; i += sizeof(block)) {
			size_t n = st->metrics_bytes - i;

			rc = buf_append(out, block, n < sizeof(block) ? n : sizeof(block));
		}
		return rc;
	}
	return metrics_render(st->m, out);
}

static struct state *state_new(void)
{
	struct state *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	atomic_init(&st->healthy, 1);
	atomic_init(&st->ready, 1);
	atomic_init(&st->renders, 0);
	assert_int_equal(metrics_new(0, &st->m), FC_OK);
	assert_int_equal(metrics_declare(st->m, "t_total", "A test counter.", METRICS_COUNTER, "x",
					 NULL), FC_OK);
	assert_int_equal(metrics_counter_add(st->m, "t_total", METRICS_LABELS("a\"b"), 3), FC_OK);
	return st;
}

static void state_free(struct state *st)
{
	metrics_free(st->m);
	free(st);
}

static struct httpd *start(struct state *st, const char *probes, const char *metrics,
			   unsigned timeout_secs, unsigned max_conns)
{
	struct httpd_config cfg;
	struct httpd *h = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.health_probe_bind_address = probes;
	cfg.metrics_bind_address = metrics;
	cfg.healthy = cb_healthy;
	cfg.ready = cb_ready;
	cfg.render_metrics = cb_render;
	cfg.ud = st;
	cfg.timeout_secs = timeout_secs;
	cfg.max_connections = max_conns;
	assert_int_equal(httpd_start(&cfg, &h), FC_OK);
	assert_non_null(h);
	return h;
}

/* ---- client side ---- */

struct resp {
	long status; /* -1: transport error */
	struct buf body;
	char ctype[128];
	char allow[64];
	char connection[32];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;

	return buf_append(&r->body, p, sz * n) ? 0 : sz * n;
}

static void copy_header(char *dst, size_t n, const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);

	if (len > nl && !strncasecmp(line, name, nl)) {
		line += nl;
		len -= nl;
		while (len && *line == ' ') {
			line++;
			len--;
		}
		while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
			len--;
		snprintf(dst, n, "%.*s", (int)len, line);
	}
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;

	copy_header(r->ctype, sizeof(r->ctype), p, sz * n, "content-type:");
	copy_header(r->allow, sizeof(r->allow), p, sz * n, "allow:");
	copy_header(r->connection, sizeof(r->connection), p, sz * n, "connection:");
	return sz * n;
}

/* One request on handle c (reused across calls for keep-alive). */
static void request_on(CURL *c, int port, const char *method, const char *path,
		       struct curl_slist *hdrs, struct resp *r)
{
	size_t n = strlen(path) + 64;
	char *url = malloc(n);
	int get = !strcmp(method, "GET");

	assert_non_null(url);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 64u << 20);
	snprintf(url, n, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, client_timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOBODY, !strcmp(method, "HEAD") ? 1L : 0L);
	if (get)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (!strcmp(method, "GET+BODY")) /* a GET carrying the POSTFIELDS body */
		method = "GET";
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, get || !strcmp(method, "HEAD") ? NULL : method);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		r->status = -1;
	curl_easy_setopt(c, CURLOPT_URL, NULL);
	free(url);
}

static void request(int port, const char *method, const char *path, struct resp *r)
{
	CURL *c = curl_easy_init();

	assert_non_null(c);
	request_on(c, port, method, path, NULL, r);
	curl_easy_cleanup(c);
}

static void resp_release(struct resp *r)
{
	buf_release(&r->body);
}

static long status_of(int port, const char *method, const char *path)
{
	struct resp r;

	request(port, method, path, &r);
	resp_release(&r);
	return r.status;
}

static int tcp_connect_rcvbuf(int port, int rcvbuf)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int tcp_connect(int port)
{
	return tcp_connect_rcvbuf(port, 0);
}

/* Sends a /metrics request from a client that then reads nothing; returns
 * once the response has started to arrive. */
static int scrape_rcvbuf(int port, int rcvbuf)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = tcp_connect_rcvbuf(port, rcvbuf);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
	assert_int_equal(poll(&p, 1, 5000), 1);
	return fd;
}

static int stalled_scrape(int port)
{
	return scrape_rcvbuf(port, 4096);
}

/* Waits up to secs for the peer to close fd (EOF or reset): 1 if it did. */
static int closed_within(int fd, int secs)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	time_t deadline = time(NULL) + secs;
	char b[4096];

	while (time(NULL) <= deadline) {
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, b, sizeof(b));
		if (n <= 0)
			return 1;
	}
	return 0;
}

/* ---- tests ---- */

static void test_endpoints(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 0, 0);
	int pp = httpd_port(h, HTTPD_PROBES), mp = httpd_port(h, HTTPD_METRICS);
	struct resp r;

	(void)state;
	assert_true(pp > 0 && mp > 0 && pp != mp);

	request(pp, "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "ok\n");
	assert_string_equal(r.ctype, "text/plain; charset=utf-8");
	resp_release(&r);
	request(pp, "GET", "/readyz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "ok\n");
	resp_release(&r);

	atomic_store(&st->healthy, 0);
	atomic_store(&st->ready, 0);
	request(pp, "GET", "/healthz", &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body.data, "[-]informers failed: watch closed\n");
	resp_release(&r);
	request(pp, "GET", "/readyz?verbose=1", &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body.data, "readiness check failed\n");
	resp_release(&r);
	atomic_store(&st->healthy, 1);
	atomic_store(&st->ready, 1);
	assert_int_equal(status_of(pp, "GET", "/healthz?x=1"), 200);

	request(mp, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(r.body.data, "# HELP t_total A test counter.\n# TYPE t_total counter\n"
					 "t_total{x=\"a\\\"b\"} 3\n");
	resp_release(&r);

	/* each listener serves only its own paths */
	assert_int_equal(status_of(pp, "GET", "/metrics"), 404);
	assert_int_equal(status_of(mp, "GET", "/healthz"), 404);
	assert_int_equal(status_of(mp, "GET", "/readyz"), 404);
	assert_int_equal(status_of(pp, "GET", "/"), 404);
	assert_int_equal(status_of(pp, "GET", "/healthz/"), 404);
	assert_int_equal(status_of(mp, "GET", "/metricsx"), 404);

	/* HEAD: headers only */
	request(pp, "HEAD", "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	resp_release(&r);
	assert_int_equal(status_of(mp, "HEAD", "/metrics"), 200);

	/* other methods */
	request(pp, "POST", "/healthz", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	resp_release(&r);
	assert_int_equal(status_of(pp, "DELETE", "/healthz"), 405);
	assert_int_equal(status_of(pp, "PUT", "/readyz"), 405);
	assert_int_equal(status_of(mp, "PATCH", "/metrics"), 405);
	assert_int_equal(status_of(mp, "OPTIONS", "/metrics"), 405);
	httpd_stop(h);
	state_free(st);
}

static void test_keepalive(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 0, 0);
	int pp = httpd_port(h, HTTPD_PROBES);
	CURL *c = curl_easy_init();
	struct resp r;
	long conns = -1;
	int i;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 5; i++) {
		request_on(c, pp, i % 2 ? "HEAD" : "GET", i == 3 ? "/nope" : "/healthz", NULL, &r);
		assert_int_equal(r.status, i == 3 ? 404 : 200);
		resp_release(&r);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
		assert_int_equal(conns, i == 0 ? 1 : 0); /* one connection, reused */
	}
	curl_easy_cleanup(c);
	httpd_stop(h);
	state_free(st);
}

static void test_request_body_refused(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "0", 0, 0);
	int pp = httpd_port(h, HTTPD_PROBES);
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	struct resp r;
	char *big = malloc(200000);

	(void)state;
	assert_non_null(c);
	assert_non_null(big);
	/* small body: read, dropped, answered, connection closed */
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "abc");
	request_on(c, pp, "POST", "/healthz", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.connection, "close");
	resp_release(&r);
	request_on(c, pp, "GET+BODY", "/healthz", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.connection, "close");
	resp_release(&r);
	/* large body: refused without reading it */
	memset(big, 'b', 200000);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, big);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 200000L);
	request_on(c, pp, "POST", "/healthz", NULL, &r);
	assert_true(r.status == 413 || r.status == -1);
	resp_release(&r);
	/* chunked */
	hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "abc");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, -1L);
	request_on(c, pp, "POST", "/healthz", hdrs, &r);
	assert_true(r.status == 413 || r.status == -1);
	resp_release(&r);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(big);
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	httpd_stop(h);
	state_free(st);
}

static void test_disabled_and_bind(void **state)
{
	struct state *st = state_new();
	struct httpd_config cfg;
	struct httpd *h, *h2 = NULL;
	static const char *const bad[] = {
		"abc", "8080", "127.0.0.1", ":", ":99999", ":-1", ":+80", ":80x",
		"1.2.3.4.5:80", "example.com:80", "[::1:80", "999.0.0.1:80",
	};
	size_t i;
	int port;

	(void)state;
	h = start(st, "0", "127.0.0.1:0", 0, 0);
	assert_int_equal(httpd_port(h, HTTPD_PROBES), 0);
	assert_true(httpd_port(h, HTTPD_METRICS) > 0);
	assert_int_equal(status_of(httpd_port(h, HTTPD_METRICS), "GET", "/metrics"), 200);

	/* a port in use is an IO error */
	memset(&cfg, 0, sizeof(cfg));
	port = httpd_port(h, HTTPD_METRICS);
	{
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
		cfg.health_probe_bind_address = addr;
		assert_int_equal(httpd_start(&cfg, &h2), FC_ERR_IO);
		assert_null(h2);
	}
	httpd_stop(h);

	h = start(st, "localhost:0", NULL, 0, 0);
	assert_true(httpd_port(h, HTTPD_PROBES) > 0);
	assert_int_equal(httpd_port(h, HTTPD_METRICS), 0);
	assert_int_equal(status_of(httpd_port(h, HTTPD_PROBES), "GET", "/healthz"), 200);
	httpd_stop(h);

	h = start(st, ":0", "", 0, 0); /* all interfaces */
	assert_int_equal(status_of(httpd_port(h, HTTPD_PROBES), "GET", "/readyz"), 200);
	httpd_stop(h);

	h = start(st, "0", "0", 0, 0);
	assert_int_equal(httpd_port(h, HTTPD_PROBES), 0);
	assert_int_equal(httpd_port(h, HTTPD_METRICS), 0);
	httpd_stop(h);
	httpd_stop(NULL);
	assert_int_equal(httpd_port(NULL, HTTPD_PROBES), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.metrics_bind_address = bad[i];
		h2 = NULL;
		assert_int_equal(httpd_start(&cfg, &h2), FC_ERR_INVAL);
		assert_null(h2);
	}
	state_free(st);
}

struct hammer {
	int port;
	const char *path;
	int fails;
};

static void *hammer_main(void *p)
{
	struct hammer *hm = p;
	int i;

	for (i = 0; i < 50; i++)
		if (status_of(hm->port, "GET", hm->path) != 200)
			hm->fails++;
	return NULL;
}

static void test_concurrent_clients(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 0, 0);
	struct hammer hm[4];
	pthread_t th[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		hm[i].port = httpd_port(h, i % 2 ? HTTPD_METRICS : HTTPD_PROBES);
		hm[i].path = i % 2 ? "/metrics" : (i ? "/readyz" : "/healthz");
		hm[i].fails = 0;
		assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hm[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(hm[i].fails, 0);
	}
	assert_int_equal(atomic_load(&st->renders), 100);
	httpd_stop(h);
	state_free(st);
}

static void test_large_metrics(void **state)
{
	struct state *st = state_new();
	struct httpd_config cfg;
	struct httpd *h;
	struct resp r;
	size_t i;

	(void)state;
	st->metrics_bytes = 5u << 20;
	h = start(st, "0", "127.0.0.1:0", 0, 0);
	request(httpd_port(h, HTTPD_METRICS), "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, st->metrics_bytes);
	for (i = 0; i < r.body.len; i++)
		if (r.body.data[i] != ((i % 64) == 63 ? '\n' : 'x'))
			fail_msg("body differs at %zu", i);
	resp_release(&r);
	httpd_stop(h);

	/* past metrics_max_bytes: 500, not a truncated exposition */
	memset(&cfg, 0, sizeof(cfg));
	cfg.metrics_bind_address = "127.0.0.1:0";
	cfg.render_metrics = cb_render;
	cfg.ud = st;
	cfg.metrics_max_bytes = 1u << 20;
	assert_int_equal(httpd_start(&cfg, &h), FC_OK);
	request(httpd_port(h, HTTPD_METRICS), "GET", "/metrics", &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body.data, "metrics unavailable: TOOBIG\n");
	resp_release(&r);
	httpd_stop(h);

	/* no render callback: empty exposition */
	cfg.render_metrics = NULL;
	assert_int_equal(httpd_start(&cfg, &h), FC_OK);
	request(httpd_port(h, HTTPD_METRICS), "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	resp_release(&r);
	httpd_stop(h);
	state_free(st);
}

static void test_slowloris(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 2, 0);
	int pp = httpd_port(h, HTTPD_PROBES), mp = httpd_port(h, HTTPD_METRICS);
	const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	int fd[4], i, cut = 0;
	time_t t0;

	(void)state;
	fd[0] = tcp_connect(pp);
	fd[1] = tcp_connect(mp);
	fd[2] = tcp_connect(pp); /* connects and never sends anything */
	fd[3] = tcp_connect(pp); /* sends a header byte every 200 ms */
	for (i = 0; i < 2; i++)
		assert_int_equal(write(fd[i], partial, sizeof(partial) - 1),
				 (ssize_t)(sizeof(partial) - 1));
	/* the stalled requests do not hold up others */
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	assert_int_equal(status_of(mp, "GET", "/metrics"), 200);
	/* ...and are cut off after the timeout (2 s; allow slack), even the
	 * one that keeps sending */
	t0 = time(NULL);
	while (!cut && time(NULL) - t0 < 10) {
		char b[64];
		ssize_t n;

		if (send(fd[3], "a", 1, MSG_NOSIGNAL) != 1)
			cut = 1;
		n = recv(fd[3], b, sizeof(b), MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			cut = 1;
		usleep(200000);
	}
	assert_true(cut);
	for (i = 0; i < 3; i++)
		assert_true(closed_within(fd[i], 8));
	for (i = 0; i < 4; i++)
		close(fd[i]);
	assert_int_equal(status_of(pp, "GET", "/readyz"), 200);
	httpd_stop(h);
	state_free(st);
}

#define BIG_BODY (12u << 20)

struct trickle {
	int *fds;
	int n;
	atomic_int stop;
	size_t got;
};

/* Reads 16 KiB from each connection every 20 ms: fast enough that every
 * write makes progress, too slow to take 12 MiB within 2 s. */
static void *trickle_main(void *p)
{
	struct trickle *t = p;
	char b[16384];
	int i;

	while (!atomic_load(&t->stop)) {
		for (i = 0; i < t->n; i++) {
			ssize_t n = recv(t->fds[i], b, sizeof(b), MSG_DONTWAIT);

			if (n > 0)
				t->got += (size_t)n;
		}
		usleep(20000);
	}
	return NULL;
}

/* Four scrapes whose clients keep reading, slowly: each response is cut
 * at the timeout (2 s), which frees its slot although the clients are
 * still connected and reading. */
static void test_slow_reader(void **state)
{
	struct state *st = state_new();
	struct trickle t;
	pthread_t th;
	struct httpd *h;
	int mp, fds[4], i;
	long status = 0;
	time_t t0;

	(void)state;
	st->metrics_bytes = BIG_BODY;
	h = start(st, "0", "127.0.0.1:0", 2, 0);
	mp = httpd_port(h, HTTPD_METRICS);
	for (i = 0; i < 4; i++)
		fds[i] = scrape_rcvbuf(mp, 0);
	t.fds = fds;
	t.n = 4;
	t.got = 0;
	atomic_init(&t.stop, 0);
	assert_int_equal(pthread_create(&th, NULL, trickle_main, &t), 0);
	t0 = time(NULL);
	assert_int_equal(status_of(mp, "GET", "/metrics"), 503);
	while (time(NULL) - t0 < 20) {
		status = status_of(mp, "GET", "/metrics");
		if (status == 200)
			break;
		usleep(200000);
	}
	assert_int_equal(status, 200);
	/* reading it all would take ~15 s */
	assert_true(time(NULL) - t0 >= 1 && time(NULL) - t0 <= 6);
	atomic_store(&t.stop, 1);
	pthread_join(th, NULL);
	assert_true(t.got > 0 && t.got < 4 * (size_t)BIG_BODY);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	httpd_stop(h);
	state_free(st);
}

static void test_inflight_scrapes(void **state)
{
	struct state *st = state_new();
	struct httpd *h;
	int mp, fds[4], i;

	(void)state;
	st->metrics_bytes = BIG_BODY;
	h = start(st, "0", "127.0.0.1:0", 2, 0);
	mp = httpd_port(h, HTTPD_METRICS);
	for (i = 0; i < 4; i++)
		fds[i] = stalled_scrape(mp);
	/* four bodies held: the next scrape is refused, not buffered */
	assert_int_equal(status_of(mp, "GET", "/metrics"), 503);
	assert_int_equal(atomic_load(&st->renders), 4);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	/* closing frees the slots */
	client_timeout = 20;
	for (i = 0; i < 20; i++) {
		if (status_of(mp, "GET", "/metrics") == 200)
			break;
		usleep(100000);
	}
	client_timeout = CLIENT_TIMEOUT;
	assert_true(i < 20);
	httpd_stop(h);
	state_free(st);
}

static void test_huge_header(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 0, 0);
	int pp = httpd_port(h, HTTPD_PROBES);
	struct curl_slist *hdrs = NULL;
	size_t n = 1u << 20;
	char *line = malloc(n + 16);
	CURL *c = curl_easy_init();
	struct resp r;

	(void)state;
	assert_non_null(line);
	assert_non_null(c);
	memcpy(line, "X-Big: ", 7);
	memset(line + 7, 'a', n);
	line[7 + n] = '\0';
	hdrs = curl_slist_append(hdrs, line);
	request_on(c, pp, "GET", "/healthz", hdrs, &r);
	assert_int_not_equal(r.status, 200);
	resp_release(&r);
	/* many headers, each small, past HTTPD_MAX_HEADER in total */
	curl_slist_free_all(hdrs);
	hdrs = NULL;
	{
		int i;

		for (i = 0; i < 400; i++) {
			char hl[64];

			snprintf(hl, sizeof(hl), "X-H%d: %040d", i, i);
			hdrs = curl_slist_append(hdrs, hl);
		}
	}
	request_on(c, pp, "GET", "/healthz", hdrs, &r);
	assert_int_not_equal(r.status, 200);
	resp_release(&r);
	/* a long URL */
	memcpy(line, "/healthz?", 9);
	memset(line + 9, 'q', 100000);
	line[9 + 100000] = '\0';
	request_on(c, pp, "GET", line, NULL, &r);
	assert_int_not_equal(r.status, 200);
	resp_release(&r);

	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(line);
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	httpd_stop(h);
	state_free(st);
}

static void test_garbage(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "0", 2, 0);
	int pp = httpd_port(h, HTTPD_PROBES);
	static const char *const junk[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* TLS ClientHello */
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET /healthz HTTP/9.9\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
		"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\0\0\0\0\0\0\0\0",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int fd = tcp_connect(pp);
		size_t len = strlen(junk[i]) ? strlen(junk[i]) : 8;
		char b[4096];
		ssize_t n;

		assert_int_equal(write(fd, junk[i], len), (ssize_t)len);
		/* whatever the answer, never a websocket/h2 switch */
		n = read(fd, b, sizeof(b) - 1);
		if (n > 0) {
			b[n] = '\0';
			assert_null(strstr(b, " 101 "));
		}
		close(fd);
		assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	}
	httpd_stop(h);
	state_free(st);
}

#define IDLE_CONNS 200

static void test_idle_connections(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 0, 0);
	int pp = httpd_port(h, HTTPD_PROBES), mp = httpd_port(h, HTTPD_METRICS);
	int *fds = calloc(2 * IDLE_CONNS, sizeof(int));
	int i;

	(void)state;
	assert_non_null(fds);
	for (i = 0; i < 2 * IDLE_CONNS; i++)
		fds[i] = tcp_connect(i < IDLE_CONNS ? pp : mp);
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	assert_int_equal(status_of(pp, "GET", "/readyz"), 200);
	assert_int_equal(status_of(mp, "GET", "/metrics"), 200);
	for (i = 0; i < 2 * IDLE_CONNS; i++)
		close(fds[i]);
	free(fds);
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	httpd_stop(h);
	state_free(st);
}

#define FLOOD 24

static void test_connection_limit(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 1, 8);
	int pp = httpd_port(h, HTTPD_PROBES), mp = httpd_port(h, HTTPD_METRICS);
	int fds[FLOOD];
	int i;

	(void)state;
	/* three times the limit of idle clients */
	for (i = 0; i < FLOOD; i++)
		fds[i] = tcp_connect(pp);
	/* the other listener is unaffected */
	assert_int_equal(status_of(mp, "GET", "/metrics"), 200);
	/* the flooded one queues new clients and recovers as the idle ones
	 * time out (1 s each wave of 8) */
	client_timeout = 20;
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	client_timeout = CLIENT_TIMEOUT;
	for (i = 0; i < FLOOD; i++) {
		assert_true(closed_within(fds[i], 1));
		close(fds[i]);
	}
	assert_int_equal(status_of(pp, "GET", "/healthz"), 200);
	httpd_stop(h);
	state_free(st);
}

static void test_stop_with_open_connections(void **state)
{
	struct state *st = state_new();
	struct httpd *h = start(st, "127.0.0.1:0", "127.0.0.1:0", 0, 0);
	int pp = httpd_port(h, HTTPD_PROBES), mp = httpd_port(h, HTTPD_METRICS);
	int fd[3];
	time_t t0;

	(void)state;
	fd[0] = tcp_connect(pp);
	fd[1] = tcp_connect(mp);
	fd[2] = tcp_connect(pp);
	assert_int_equal(write(fd[1], "GET /met", 8), 8);
	assert_int_equal(write(fd[2], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35), 35);
	t0 = time(NULL);
	httpd_stop(h);
	assert_true(time(NULL) - t0 <= 2);
	assert_true(closed_within(fd[0], 1));
	assert_true(closed_within(fd[1], 1));
	close(fd[0]);
	close(fd[1]);
	close(fd[2]);
	state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_request_body_refused),
		cmocka_unit_test(test_disabled_and_bind),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_large_metrics),
		cmocka_unit_test(test_slowloris),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_inflight_scrapes),
		cmocka_unit_test(test_huge_header),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_idle_connections),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_stop_with_open_connections),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
