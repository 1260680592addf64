#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64

struct conn {
	struct fake_server *s;
	int fd;
	pthread_t th;
};

struct fake_server {
	fake_server_fn fn;
	void *ud;
	int lfd;
	int port;
	int stop;
	pthread_t accept_th;
	pthread_mutex_t lock;
	struct conn conns[MAX_CONNS];
	int nconns;
};

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fake_server_write(int fd, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;
	size_t off = 0;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	while (off < (size_t)n) {
		ssize_t w = send(fd, s + off, (size_t)n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(s);
			return -1;
		}
		off += (size_t)w;
	}
	free(s);
	return 0;
}

int fake_server_hold(struct fake_server *s, int fd, long ms)
{
	long end = ms_now() + ms;
	char c;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && ms_now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 20);

		if (r > 0) {
			ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return 1;
			if (p.revents & (POLLHUP | POLLERR))
				return 1;
			/* data from the client: not a close; keep waiting */
			usleep(1000);
		}
	}
	return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* Reads into buf (already holding *have bytes) until it contains
 * "\r\n\r\n"; 1 when found (*hdr_end set), 0 on EOF/error/stop. */
static int read_headers(struct fake_server *s, int fd, char *buf, size_t cap, size_t *have,
			size_t *hdr_end)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *e;

		buf[*have] = '\0';
		e = strstr(buf, "\r\n\r\n");
		if (e) {
			*hdr_end = (size_t)(e - buf) + 4;
			return 1;
		}
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) || *have + 1 >= cap)
			return 0;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		*have += (size_t)n;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct fake_server *s = c->s;
	static const size_t cap = 1 << 20;
	char *buf = malloc(cap);
	size_t have = 0;

	while (buf && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct fake_server_req *req;
		size_t hdr_end = 0, clen = 0;
		ssize_t n;
		char *cl, *line_end;
		int close_it;

		if (!read_headers(s, c->fd, buf, cap, &have, &hdr_end))
			break;
		req = calloc(1, sizeof(*req));
		if (!req)
			break;
		sscanf(buf, "%15s %2047s", req->method, req->path);
		line_end = strstr(buf, "\r\n");
		if (line_end && (size_t)(line_end + 2 - buf) < hdr_end) {
			size_t hl = hdr_end - (size_t)(line_end + 2 - buf);

			if (hl >= sizeof(req->headers))
				hl = sizeof(req->headers) - 1;
			memcpy(req->headers, line_end + 2, hl);
			req->headers[hl] = '\0';
		}
		cl = strcasestr(req->headers, "content-length:");
		if (cl)
			clen = strtoul(cl + 15, NULL, 10);
		if (clen > cap / 2)
			clen = cap / 2;
		while (have < hdr_end + clen && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };

			if (poll(&p, 1, 50) <= 0)
				continue;
			n = recv(c->fd, buf + have, cap - 1 - have, 0);
			if (n <= 0)
				break;
			have += (size_t)n;
		}
		if (have < hdr_end + clen) {
			free(req);
			break;
		}
		req->body = malloc(clen + 1);
		if (!req->body) {
			free(req);
			break;
		}
		memcpy(req->body, buf + hdr_end, clen);
		req->body[clen] = '\0';
		req->body_len = clen;
		memmove(buf, buf + hdr_end + clen, have - hdr_end - clen);
		have -= hdr_end + clen;
		close_it = s->fn(s->ud, s, c->fd, req);
		free(req->body);
		free(req);
		if (close_it)
			break;
	}
	free(buf);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct fake_server *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		if (s->nconns >= MAX_CONNS) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		s->conns[s->nconns].s = s;
		s->conns[s->nconns].fd = fd;
		if (pthread_create(&s->conns[s->nconns].th, NULL, conn_main, &s->conns[s->nconns])) {
			close(fd);
		} else {
			s->nconns++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int fake_server_start(fake_server_fn fn, void *ud, struct fake_server **out)
{
	struct fake_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	*out = NULL;
	if (!s)
		return -1;
	s->fn = fn;
	s->ud = ud;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		goto fail;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(s->lfd, 64) ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al))
		goto fail;
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->accept_th, NULL, accept_main, s))
		goto fail;
	*out = s;
	return 0;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return -1;
}

int fake_server_port(const struct fake_server *s)
{
	return s->port;
}

int fake_server_connections(struct fake_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->nconns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void fake_server_stop(struct fake_server *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->accept_th, NULL);
	for (int i = 0; i < s->nconns; i++) {
		shutdown(s->conns[i].fd, SHUT_RDWR);
		pthread_join(s->conns[i].th, NULL);
		close(s->conns[i].fd);
	}
	close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int fake_server_free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 1;

	if (fd < 0)
		return 1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}
