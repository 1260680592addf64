#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const names[FC_ERR__COUNT] = {
	[FC_OK] = "OK",
	[FC_ERR_NOMEM] = "NOMEM",
	[FC_ERR_IO] = "IO",
	[FC_ERR_TIMEOUT] = "TIMEOUT",
	[FC_ERR_TLS] = "TLS",
	[FC_ERR_AUTH] = "AUTH",
	[FC_ERR_FORBIDDEN] = "FORBIDDEN",
	[FC_ERR_PARSE] = "PARSE",
	[FC_ERR_NOTFOUND] = "NOTFOUND",
	[FC_ERR_CONFLICT] = "CONFLICT",
	[FC_ERR_GONE] = "GONE",
	[FC_ERR_THROTTLED] = "THROTTLED",
	[FC_ERR_UNAVAILABLE] = "UNAVAILABLE",
	[FC_ERR_INVAL] = "INVAL",
	[FC_ERR_TOOBIG] = "TOOBIG",
	[FC_ERR_UNSUPPORTED] = "UNSUPPORTED",
	[FC_ERR_CANCELLED] = "CANCELLED",
	[FC_ERR_STATE] = "STATE",
};

const char *fc_strerror(fc_err err)
{
	if ((unsigned)err >= FC_ERR__COUNT || !names[err])
		return "UNKNOWN";
	return names[err];
}

fc_err fc_err_from_http(long status)
{
	if (status >= 200 && status < 300)
		return FC_OK;
	switch (status) {
	case 400:
	case 422:
		return FC_ERR_INVAL;
	case 401:
		return FC_ERR_AUTH;
	case 403:
		return FC_ERR_FORBIDDEN;
	case 404:
		return FC_ERR_NOTFOUND;
	case 409:
		return FC_ERR_CONFLICT;
	case 410:
		return FC_ERR_GONE;
	case 413:
		return FC_ERR_TOOBIG;
	case 429:
		return FC_ERR_THROTTLED;
	default:
		break;
	}
	if (status >= 500 && status < 600)
		return FC_ERR_UNAVAILABLE;
	return FC_ERR_IO;
}

int fc_err_is_transient(fc_err err)
{
	switch (err) {
	case FC_ERR_IO:
	case FC_ERR_TIMEOUT:
	case FC_ERR_THROTTLED:
	case FC_ERR_UNAVAILABLE:
	case FC_ERR_CONFLICT:
	case FC_ERR_GONE:
	case FC_ERR_NOMEM:
		return 1;
	default:
		return 0;
	}
}

void fc_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void fc_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
