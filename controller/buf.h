/* buf.h - bounded growable byte buffer (after curl's dynbuf).
 *
 * A buf always has a hard maximum size, fixed at init: growing past it is
 * FC_ERR_TOOBIG and leaves the contents unchanged. data is always
 * NUL-terminated when non-NULL (the NUL is not counted in len).
 */
#ifndef FC_BUF_H
#define FC_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

struct buf {
	char *data;   /* owned; NULL until the first append */
	size_t len;   /* bytes used, excluding the trailing NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* hard maximum for len */
};

/* Sets up an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Frees the contents; the buffer is empty and reusable (same max). */
void buf_release(struct buf *b);

/* Empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);

fc_err buf_append(struct buf *b, const void *data, size_t len);
fc_err buf_append_str(struct buf *b, const char *s);
fc_err buf_appendf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
fc_err buf_vappendf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);

/* Returns the contents as a NUL-terminated string owned by the caller
 * (free()), or an empty string for an empty buffer; NULL on NOMEM. The
 * buffer is left empty. */
char *buf_take(struct buf *b);

/* Zeroes the contents before freeing them: for secrets. */
void buf_release_secret(struct buf *b);

#endif /* FC_BUF_H */
