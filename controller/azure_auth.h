/* azure_auth.h - Azure credential chain and token cache (DESIGN.md §4).
 *
 * The first credential that is configured wins, with the env names and order
 * of the Azure SDKs:
 *   1. client secret       AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
 *   2. workload identity   AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE
 *                          (the file is re-read on every token request: it rotates)
 *   3. managed identity    IMDS; AZURE_CLIENT_ID (if set) selects a user-assigned
 *                          identity. Used when nothing else is configured, as the
 *                          SDKs do; a failure then says that no credential was
 *                          configured and IMDS could not give a token.
 * The environment is read once, in azure_auth_new(), through opt->getenv_fn.
 *
 * 1 and 2 POST to {authority host with exactly one trailing /}{tenant}/oauth2/v2.0/token
 * a form body: grant_type=client_credentials&client_id=..&scope={audience
 * without trailing /}/.default then &client_secret=.. or
 * &client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=..
 * (values URL-encoded). The authority host is opt->authority_host when given
 * (the caller has already applied flag > AZURE_AUTHORITY_HOST > cloud), else
 * AZURE_AUTHORITY_HOST, else the public cloud's.
 * 3 GETs {imds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={audience}
 * [&client_id=..] with `Metadata: true` (audience passed as configured).
 *
 * Token lifetime: expires_in (number or string) or IMDS expires_on (epoch
 * seconds as a string; preferred when present); neither: 10 minutes. The
 * token is cached and refreshed 5 minutes before expiry (or after half its
 * lifetime when that is shorter than 10 minutes). azure_auth_invalidate()
 * drops it (ARM answered 401).
 *
 * Thread-safe: one mutex; concurrent callers that need a refresh share one
 * request (the others wait for it and get its outcome).
 *
 * Secrets: the client secret, the assertion and tokens are zeroed before they
 * are freed and never appear in a message or a log line.
 */
#ifndef FC_AZURE_AUTH_H
#define FC_AZURE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"

#define AZURE_AUTH_PUBLIC_AUTHORITY "https://login.microsoftonline.com/"
#define AZURE_AUTH_PUBLIC_AUDIENCE "https://management.azure.com/"
#define AZURE_AUTH_IMDS_ENDPOINT "http://169.254.169.254"
#define AZURE_AUTH_IMDS_API_VERSION "2018-02-01"
#define AZURE_AUTH_REFRESH_MARGIN_MS (5 * 60 * 1000)
/* Size of the message buffer of azure_auth_token(), with NUL. */
#define AZURE_AUTH_MSG_MAX 1024
/* Largest federated token file read. */
#define AZURE_AUTH_MAX_ASSERTION (64u * 1024)

/* getenv's signature (as config_getenv_fn): NULL = not set. */
typedef char *(*azure_auth_getenv_fn)(const char *name);

/* Wall clock in epoch milliseconds. */
typedef int64_t (*azure_clock_fn)(void *ud);

/* Called after each HTTP request: call is "token" here ("account",
 * "catalog", "deployment" from azure_client); status is the HTTP status or 0
 * when no response came; duration in milliseconds (monotonic). Must be
 * thread-safe and must not call back into azure_auth/azure_client. */
typedef void (*azure_request_hook)(void *ud, const char *call, long status, int64_t duration_ms);

enum azure_cred_kind {
	AZURE_CRED_CLIENT_SECRET = 0,
	AZURE_CRED_WORKLOAD_IDENTITY,
	AZURE_CRED_MANAGED_IDENTITY,
};

/* "client secret", "workload identity", "managed identity". Static. */
const char *azure_auth_cred_name(enum azure_cred_kind k);

struct azure_auth_options {
	struct http_transport *transport; /* borrowed, required */
	const char *authority_host;  /* NULL: AZURE_AUTHORITY_HOST, else public cloud */
	const char *audience;        /* ARM audience; NULL: AZURE_AUTH_PUBLIC_AUDIENCE */
	const char *imds_endpoint;   /* NULL: AZURE_AUTH_IMDS_ENDPOINT */
	const char *ca_file;         /* extra CA bundle for every request, or NULL */
	long timeout_ms;             /* per token request; 0: 30 s */
	azure_auth_getenv_fn getenv_fn; /* NULL: getenv */
	azure_clock_fn now_ms;       /* NULL: the real clock */
	void *clock_ud;
	azure_request_hook on_request; /* may be NULL */
	void *hook_ud;
};

struct azure_auth;

/* Reads the environment and sets up the chosen credential (no request is
 * made). Strings in opt are copied. FC_ERR_INVAL when a setting is unusable
 * (e.g. a tenant id with characters other than letters, digits, '.', '-');
 * msg (may be NULL) then says why. Caller frees with azure_auth_free(). */
fc_err azure_auth_new(const struct azure_auth_options *opt, struct azure_auth **out,
		      char *msg, size_t msgsz);
void azure_auth_free(struct azure_auth *a);

enum azure_cred_kind azure_auth_kind(const struct azure_auth *a);

/* A valid access token, from the cache or a new request. *token is a copy the
 * caller frees with azure_auth_token_free() (it zeroes it). On error *token is
 * NULL and msg holds a message fit for a condition (never a secret):
 *   FC_ERR_AUTH         Entra/IMDS rejected the credential (4xx), e.g.
 *                       "Azure AD rejected the workload identity token:
 *                       AADSTS70021: No matching federated identity record
 *                       found ... - check the federated credential's issuer/subject";
 *                       also an unreadable/empty federated token file
 *   FC_ERR_THROTTLED    429
 *   FC_ERR_UNAVAILABLE  5xx
 *   FC_ERR_IO/TIMEOUT/TLS  the token endpoint could not be reached
 *   FC_ERR_PARSE        a 200 without an access_token
 *   FC_ERR_NOMEM */
fc_err azure_auth_token(struct azure_auth *a, char **token, char *msg, size_t msgsz);
void azure_auth_token_free(char *token);

/* Drops the cached token: the next azure_auth_token() asks for a new one. */
void azure_auth_invalidate(struct azure_auth *a);

#endif /* FC_AZURE_AUTH_H */
