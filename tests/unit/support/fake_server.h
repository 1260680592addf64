/* fake_server.h - a tiny HTTP/1.1 server on 127.0.0.1 for transport tests.
 * One thread per connection; keep-alive; requests with Content-Length
 * bodies only. The handler writes the whole response on fd itself. */
#ifndef FC_FAKE_SERVER_H
#define FC_FAKE_SERVER_H

#include <stddef.h>

struct fake_server;

struct fake_server_req {
	char method[16];
	char path[2048];
	char headers[16384];     /* raw header lines, NUL-terminated */
	char *body;              /* NUL-terminated, body_len bytes */
	size_t body_len;
};

/* Return 0 to keep the connection open, 1 to close it. */
typedef int (*fake_server_fn)(void *ud, struct fake_server *s, int fd,
			      const struct fake_server_req *req);

int fake_server_start(fake_server_fn fn, void *ud, struct fake_server **out);
int fake_server_port(const struct fake_server *s);
int fake_server_connections(struct fake_server *s);
void fake_server_stop(struct fake_server *s);

/* printf to the socket; 0 on success. */
int fake_server_write(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waits up to ms for the peer to close fd (or the server to stop): 1 if it
 * did, 0 on time out. */
int fake_server_hold(struct fake_server *s, int fd, long ms);

/* A port on 127.0.0.1 that nothing listens on (best effort). */
int fake_server_free_port(void);

#endif
