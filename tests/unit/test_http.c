/* Unit tests: http.c (Retry-After parsing; the libcurl transport against a
 * loopback fake server: buffering, bounds, streaming, cancel, timeouts,
 * header capture, error mapping, connection reuse, threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_server.h"
#include "http.h"

/* ---- Retry-After ----------------------------------------------------- */

static void test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const long t = 784111777L;
	static const struct {
		const char *v;
		long now;
		long want;
	} cases[] = {
		{ NULL, 0, -1 },
		{ "", 0, -1 },
		{ "   ", 0, -1 },
		{ "0", 0, 0 },
		{ "7", 0, 7 },
		{ " 120 ", 0, 120 },
		{ "12a", 0, -1 },
		{ "-5", 0, -1 },
		{ "99999999999999999999", 0, 86400 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", t - 30, 30 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", t + 30, 0 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", t - 5, 5 },
		{ "Sun Nov  6 08:49:37 1994", t - 60, 60 },
		{ "not a date", 0, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = http_retry_after_seconds(cases[i].v, cases[i].now);

		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %ld want %ld", i, cases[i].v ? cases[i].v : "NULL",
				 got, cases[i].want);
	}
}

/* ---- the fake server ------------------------------------------------- */

struct seen {
	pthread_mutex_t lock;
	char method[16];
	char path[2048];
	char headers[16384];
	char body[4096];
	int requests;
};

static struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int handler(void *ud, struct fake_server *s, int fd, const struct fake_server_req *req)
{
	(void)ud;
	pthread_mutex_lock(&seen.lock);
	snprintf(seen.method, sizeof(seen.method), "%s", req->method);
	snprintf(seen.path, sizeof(seen.path), "%s", req->path);
	snprintf(seen.headers, sizeof(seen.headers), "%s", req->headers);
	snprintf(seen.body, sizeof(seen.body), "%s", req->body);
	seen.requests++;
	pthread_mutex_unlock(&seen.lock);

	if (!strcmp(req->path, "/hello"))
		return fake_server_write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					 "Content-Length: 11\r\n\r\n{\"ok\":true}") != 0;
	if (!strcmp(req->path, "/echo"))
		return fake_server_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
					 req->body_len, req->body) != 0;
	if (!strcmp(req->path, "/throttle"))
		return fake_server_write(fd, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
					 "content-type: text/plain\r\nContent-Length: 4\r\n\r\nslow") != 0;
	if (!strcmp(req->path, "/big"))
		return fake_server_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n%0100d", 7) != 0;
	if (!strcmp(req->path, "/big-chunked"))
		return fake_server_write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					 "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n") != 0;
	if (!strcmp(req->path, "/chunked"))
		return fake_server_write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					 "4\r\nabc\n\r\n3\r\ndef\r\n2\r\ng\n\r\n0\r\n\r\n") != 0;
	if (!strcmp(req->path, "/notfound"))
		return fake_server_write(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
					 "Content-Length: 34\r\n\r\n{\"kind\":\"Status\",\"reason\":\"Nope\"}\n") != 0;
	if (!strcmp(req->path, "/hold")) {
		fake_server_write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "8\r\npartial\n\r\n");
		fake_server_hold(s, fd, 10000);
		return 1;
	}
	if (!strcmp(req->path, "/stall")) {
		fake_server_write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		fake_server_hold(s, fd, 10000);
		return 1;
	}
	if (!strcmp(req->path, "/silent")) {
		fake_server_hold(s, fd, 10000);
		return 1;
	}
	return fake_server_write(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n") != 0;
}

struct fixture {
	struct fake_server *srv;
	struct http_transport *t;
	char base[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fake_server_start(handler, NULL, &f->srv))
		return -1;
	if (http_transport_curl_new(&f->t))
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", fake_server_port(f->srv));
	pthread_mutex_lock(&seen.lock);
	seen.requests = 0;
	pthread_mutex_unlock(&seen.lock);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_transport_free(f->t);
	fake_server_stop(f->srv);
	free(f);
	return 0;
}

static void url(struct fixture *f, char *out, size_t n, const char *path)
{
	snprintf(out, n, "%s%s", f->base, path);
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tests ----------------------------------------------------------- */

static void test_get(void **state)
{
	struct fixture *f = *state;
	const char *hdrs[] = { "Accept: application/json", "Authorization: Bearer s3cret", NULL };
	struct http_request req = { .method = "GET", .headers = hdrs, .timeout_ms = 5000 };
	struct http_response resp;
	char u[128];

	url(f, u, sizeof(u), "/hello");
	req.url = u;
	http_response_init(&resp);
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.data, "{\"ok\":true}");
	assert_non_null(resp.content_type);
	assert_string_equal(resp.content_type, "application/json");
	assert_null(resp.retry_after);
	assert_string_equal(resp.error, "");
	assert_string_equal(seen.method, "GET");
	assert_non_null(strstr(seen.headers, "Authorization: Bearer s3cret\r\n"));
	assert_non_null(strstr(seen.headers, "Accept: application/json\r\n"));
	assert_null(strstr(seen.headers, "Expect:"));
	http_response_release(&resp);
}

static void test_methods_and_bodies(void **state)
{
	struct fixture *f = *state;
	static const char *const methods[] = { "POST", "PUT", "PATCH", "DELETE" };
	const char *hdrs[] = { "Content-Type: application/merge-patch+json", NULL };
	struct http_response resp;
	char u[128];

	url(f, u, sizeof(u), "/echo");
	http_response_init(&resp);
	for (size_t i = 0; i < 4; i++) {
		const char *body = "{\"metadata\":{\"finalizers\":null}}";
		struct http_request req = { .method = methods[i], .url = u, .headers = hdrs,
					    .body = body, .body_len = strlen(body), .timeout_ms = 5000 };

		assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
		assert_int_equal(resp.status, 200);
		assert_string_equal(seen.method, methods[i]);
		assert_string_equal(seen.body, body);
		assert_string_equal(resp.body.data, body);
		assert_non_null(strstr(seen.headers, "Content-Type: application/merge-patch+json"));
	}
	/* a POST with no body sends Content-Length: 0 */
	{
		struct http_request req = { .method = "POST", .url = u, .timeout_ms = 5000 };

		assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
		assert_int_equal(resp.status, 200);
		assert_string_equal(seen.method, "POST");
		assert_int_equal(resp.body.len, 0);
	}
	http_response_release(&resp);
}

static void test_status_and_headers(void **state)
{
	struct fixture *f = *state;
	struct http_request req = { .method = "GET", .timeout_ms = 5000 };
	struct http_response resp;
	char u[128];

	http_response_init(&resp);
	url(f, u, sizeof(u), "/throttle");
	req.url = u;
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.status, 429);
	assert_string_equal(resp.retry_after, "7");
	assert_string_equal(resp.content_type, "text/plain");
	assert_int_equal(http_retry_after_seconds(resp.retry_after, 0), 7);
	assert_int_equal(fc_err_from_http(resp.status), FC_ERR_THROTTLED);

	/* a reused response struct forgets the previous headers */
	url(f, u, sizeof(u), "/echo");
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.status, 200);
	assert_null(resp.retry_after);
	http_response_release(&resp);
}

static void test_toobig(void **state)
{
	struct fixture *f = *state;
	struct http_request req = { .method = "GET", .timeout_ms = 5000, .max_body = 10 };
	struct http_response resp;
	char u[128];

	http_response_init(&resp);
	url(f, u, sizeof(u), "/big");
	req.url = u;
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_TOOBIG);
	assert_true(resp.body.len <= 10);
	assert_non_null(strstr(resp.error, "larger than"));
	url(f, u, sizeof(u), "/big-chunked");
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_TOOBIG);
	req.max_body = 20;
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.body.len, 20);
	req.max_body = 100;
	url(f, u, sizeof(u), "/big");
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.body.len, 100);
	http_response_release(&resp);
}

struct sink {
	char data[256];
	size_t len;
	int calls;
	fc_err fail_with;
};

static fc_err sink_fn(void *ud, const char *data, size_t len)
{
	struct sink *s = ud;

	s->calls++;
	if (s->fail_with)
		return s->fail_with;
	if (s->len + len < sizeof(s->data)) {
		memcpy(s->data + s->len, data, len);
		s->len += len;
		s->data[s->len] = '\0';
	}
	return FC_OK;
}

static void test_streaming(void **state)
{
	struct fixture *f = *state;
	struct sink s = { .len = 0 };
	struct http_request req = { .method = "GET", .timeout_ms = 5000, .on_data = sink_fn, .ud = &s,
				    .max_body = 4 };
	struct http_response resp;
	char u[128];

	http_response_init(&resp);
	url(f, u, sizeof(u), "/chunked");
	req.url = u;
	/* on_data is not bounded by max_body */
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.status, 200);
	assert_string_equal(s.data, "abc\ndefg\n");
	assert_int_equal(resp.body.len, 0);

	/* an error status is buffered, not streamed */
	memset(&s, 0, sizeof(s));
	req.max_body = 0;
	url(f, u, sizeof(u), "/notfound");
	assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
	assert_int_equal(resp.status, 404);
	assert_int_equal(s.calls, 0);
	assert_non_null(strstr(resp.body.data, "\"Nope\""));

	/* the sink's error aborts the transfer and is returned */
	memset(&s, 0, sizeof(s));
	s.fail_with = FC_ERR_PARSE;
	url(f, u, sizeof(u), "/chunked");
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_PARSE);
	assert_int_equal(s.calls, 1);
	http_response_release(&resp);
}

struct canceller {
	volatile int *flag;
	long after_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;

	usleep((useconds_t)c->after_ms * 1000);
	__atomic_store_n(c->flag, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	volatile int cancel = 0;
	struct canceller c = { &cancel, 200 };
	struct sink s = { .len = 0 };
	struct http_request req = { .method = "GET", .on_data = sink_fn, .ud = &s, .cancel = &cancel };
	struct http_response resp;
	pthread_t th;
	char u[128];
	long t0;

	http_response_init(&resp);
	url(f, u, sizeof(u), "/hold");
	req.url = u;
	t0 = ms_now();
	pthread_create(&th, NULL, cancel_later, &c);
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_CANCELLED);
	pthread_join(th, NULL);
	assert_true(ms_now() - t0 < 3000);
	assert_string_equal(s.data, "partial\n");

	/* already cancelled: nothing is sent */
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_CANCELLED);
	http_response_release(&resp);
}

static void test_timeouts(void **state)
{
	struct fixture *f = *state;
	struct http_request req = { .method = "GET", .timeout_ms = 300 };
	struct http_response resp;
	char u[128];
	long t0;

	http_response_init(&resp);
	url(f, u, sizeof(u), "/silent");
	req.url = u;
	t0 = ms_now();
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_TIMEOUT);
	assert_true(ms_now() - t0 < 3000);
	assert_true(resp.error[0] != '\0');

	/* low-speed limit: headers, then nothing */
	req.timeout_ms = 0;
	req.low_speed_time_s = 1;
	url(f, u, sizeof(u), "/stall");
	t0 = ms_now();
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_TIMEOUT);
	assert_true(ms_now() - t0 < 5000);
	http_response_release(&resp);
}

static void test_connect_errors(void **state)
{
	struct fixture *f = *state;
	struct http_request req = { .method = "GET", .timeout_ms = 3000 };
	struct http_response resp;
	char u[128];

	http_response_init(&resp);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", fake_server_free_port());
	req.url = u;
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_IO);
	assert_int_equal(resp.status, 0);
	assert_true(resp.error[0] != '\0');

	req.url = "ftp://127.0.0.1/x";
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_INVAL);
	req.url = NULL;
	assert_int_equal(http_do(f->t, &req, &resp), FC_ERR_INVAL);
	http_response_release(&resp);
}

static void test_connection_reuse(void **state)
{
	struct fixture *f = *state;
	struct http_request req = { .method = "GET", .timeout_ms = 5000 };
	struct http_response resp;
	char u[128];

	http_response_init(&resp);
	url(f, u, sizeof(u), "/hello");
	req.url = u;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(http_do(f->t, &req, &resp), FC_OK);
		assert_int_equal(resp.status, 200);
	}
	assert_int_equal(fake_server_connections(f->srv), 1);
	http_response_release(&resp);
}

struct worker {
	struct fixture *f;
	int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct http_response resp;
	char u[128], body[64];

	http_response_init(&resp);
	url(w->f, u, sizeof(u), "/echo");
	for (int i = 0; i < 20; i++) {
		struct http_request req = { .method = "POST", .url = u, .timeout_ms = 5000 };

		snprintf(body, sizeof(body), "req-%p-%d", (void *)w, i);
		req.body = body;
		req.body_len = strlen(body);
		if (http_do(w->f->t, &req, &resp) == FC_OK && resp.status == 200 &&
		    !strcmp(resp.body.data, body))
			w->ok++;
	}
	http_response_release(&resp);
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct worker w[6];
	pthread_t th[6];

	for (int i = 0; i < 6; i++) {
		w[i].f = f;
		w[i].ok = 0;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 20);
	}
	/* pooled handles keep their connections: far fewer than 120 */
	assert_true(fake_server_connections(f->srv) <= 12);
}

static void test_tls_to_plain_server(void **state)
{
	struct fixture *f = *state;
	struct http_tls tls = { .ca_pem = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" };
	struct http_request req = { .method = "GET", .timeout_ms = 3000, .tls = &tls };
	struct http_response resp;
	char u[128];
	fc_err rc;

	http_response_init(&resp);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/hello", fake_server_port(f->srv));
	req.url = u;
	rc = http_do(f->t, &req, &resp);
	/* the plain server cannot speak TLS: a TLS error (or, if the server
	 * only hangs up, an I/O error), never success */
	assert_true(rc == FC_ERR_TLS || rc == FC_ERR_IO || rc == FC_ERR_TIMEOUT);
	http_response_release(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_methods_and_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_toobig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_to_plain_server, setup, teardown),
	};
	int rc;

	if (http_global_init())
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_cleanup();
	return rc;
}
