/* err.h - the single error enum of foundry-controller.
 *
 * Every fallible function returns an fc_err and passes results through
 * out-parameters (as curl does with CURLcode). FC_OK is 0, so `if (rc)` tests
 * for failure. The place that detects an error logs it once; callers propagate.
 */
#ifndef FC_ERR_H
#define FC_ERR_H

#include <stddef.h>

typedef enum fc_err {
	FC_OK = 0,
	FC_ERR_NOMEM,       /* allocation failed */
	FC_ERR_IO,          /* local I/O, connection refused/reset, DNS */
	FC_ERR_TIMEOUT,     /* operation or transfer timed out */
	FC_ERR_TLS,         /* certificate verification or TLS handshake failed */
	FC_ERR_AUTH,        /* 401: missing, invalid or expired credentials */
	FC_ERR_FORBIDDEN,   /* 403: authenticated but not allowed */
	FC_ERR_PARSE,       /* malformed input (JSON, YAML, duration, flag value) */
	FC_ERR_NOTFOUND,    /* 404 or a missing key/field */
	FC_ERR_CONFLICT,    /* 409: resourceVersion conflict, already exists */
	FC_ERR_GONE,        /* 410: watch resourceVersion too old */
	FC_ERR_THROTTLED,   /* 429: retry after a delay */
	FC_ERR_UNAVAILABLE, /* 5xx from a server */
	FC_ERR_INVAL,       /* invalid argument or spec (422 from the API server) */
	FC_ERR_TOOBIG,      /* a bounded buffer's maximum would be exceeded */
	FC_ERR_UNSUPPORTED, /* valid but unsupported (e.g. kubeconfig exec plugin) */
	FC_ERR_CANCELLED,   /* stopped on request (shutdown) */
	FC_ERR_STATE,       /* not possible in the current state (e.g. not leader) */
	FC_ERR__COUNT
} fc_err;

/* Short stable name of an error ("NOMEM", "TIMEOUT", ...). Never NULL;
 * static storage. */
const char *fc_strerror(fc_err err);

/* Maps an HTTP status code to an error: 2xx -> FC_OK, 401 -> AUTH,
 * 403 -> FORBIDDEN, 404 -> NOTFOUND, 409 -> CONFLICT, 410 -> GONE,
 * 422/400 -> INVAL, 413 -> TOOBIG, 429 -> THROTTLED, 5xx -> UNAVAILABLE,
 * anything else -> IO. */
fc_err fc_err_from_http(long status);

/* True for errors that a later retry may cure (IO, TIMEOUT, THROTTLED,
 * UNAVAILABLE, CONFLICT, GONE, NOMEM). */
int fc_err_is_transient(fc_err err);

/* Formats a message into err (errlen bytes, always NUL-terminated, cut to
 * fit), for functions that hand an explanation back beside their fc_err.
 * A no-op when err is NULL or errlen is 0. */
void fc_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A broken invariant is a bug: log and abort (git's BUG()). */
#define FC_BUG(...) fc_bug(__FILE__, __LINE__, __VA_ARGS__)
void fc_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#endif /* FC_ERR_H */
