#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_release_secret(struct buf *b)
{
	if (b->data) {
		volatile char *p = b->data;
		for (size_t i = 0; i < b->cap; i++)
			p[i] = 0;
	}
	buf_release(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static fc_err ensure(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return FC_ERR_TOOBIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return FC_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (!p)
		return FC_ERR_NOMEM;
	b->data = p;
	b->cap = ncap;
	return FC_OK;
}

fc_err buf_append(struct buf *b, const void *data, size_t len)
{
	fc_err rc = ensure(b, len);

	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return FC_OK;
}

fc_err buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

fc_err buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	fc_err rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return FC_ERR_INVAL;
	rc = ensure(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return FC_OK;
}

fc_err buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	fc_err rc;

	va_start(ap, fmt);
	rc = buf_vappendf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *buf_take(struct buf *b)
{
	char *s = b->data;

	if (!s) {
		s = malloc(1);
		if (s)
			s[0] = '\0';
		return s;
	}
	buf_init(b, b->max);
	return s;
}
