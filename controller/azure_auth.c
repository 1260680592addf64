#include "azure_auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define TOKEN_MAX_BODY (1u * 1024 * 1024)
#define FORM_MAX (256u * 1024)
#define URL_MAX 4096
/* Lifetime assumed when a token response gives none. */
#define DEFAULT_LIFETIME_MS (10 * 60 * 1000)
/* Longer lifetimes are cut to this (Entra tokens live at most 24 h; the cap
 * keeps the arithmetic on expires_in / expires_on far from overflow). */
#define MAX_LIFETIME_S (7 * 24 * 3600LL)
/* A token this close to expiry is not handed out even after a failed refresh. */
#define EXPIRY_SKEW_MS (30 * 1000)
/* After a failed request, callers get the same error for this long without a
 * new request (a burst of reconciles must not hammer IMDS/Entra). */
#define FAILURE_HOLD_MS 5000

struct azure_auth {
	struct http_transport *t;
	enum azure_cred_kind kind;
	int configured;             /* any of AZURE_CLIENT_ID/TENANT set (for messages) */
	char *token_url;            /* client secret, workload identity */
	char *imds_url;             /* managed identity: full URL with query */
	char *imds_base;
	char *client_id;            /* NULL for a system-assigned managed identity */
	char *secret;               /* zeroed before free */
	char *token_file;
	char *scope;
	char *ca_file;
	long timeout_ms;
	azure_clock_fn now_ms;
	void *clock_ud;
	azure_request_hook hook;
	void *hook_ud;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	char *token;                /* zeroed before free */
	int64_t expires_ms;
	int64_t refresh_at_ms;
	int refreshing;
	uint64_t gen;               /* bumped when a refresh completes */
	fc_err last_rc;
	int64_t fail_until_ms;
	char last_msg[AZURE_AUTH_MSG_MAX];
};

const char *azure_auth_cred_name(enum azure_cred_kind k)
{
	switch (k) {
	case AZURE_CRED_CLIENT_SECRET:
		return "client secret";
	case AZURE_CRED_WORKLOAD_IDENTITY:
		return "workload identity";
	case AZURE_CRED_MANAGED_IDENTITY:
		return "managed identity";
	}
	return "unknown";
}

static int64_t real_now_ms(void *ud)
{
	(void)ud;
	return clock_real_ms();
}

static void zero_free(char *s)
{
	if (s) {
		volatile char *p = s;
		size_t n = strlen(s);

		for (size_t i = 0; i < n; i++)
			p[i] = 0;
		free(s);
	}
}

void azure_auth_token_free(char *token)
{
	zero_free(token);
}

/* Replaces every occurrence of secret in msg by "***" (paranoia: a server
 * that echoes what it was sent must not leak it into a condition). */
static void scrub(char *msg, const char *secret)
{
	size_t sl;
	char *p;

	if (!secret || (sl = strlen(secret)) < 4)
		return;
	while ((p = strstr(msg, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + sl, strlen(p + sl) + 1);
	}
}

static char *dup_strip_slashes(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return strndup(s, n);
}

static fc_err urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	fc_err rc = FC_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			rc = buf_append(b, p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

static int tenant_ok(const char *t)
{
	if (!*t)
		return 0;
	for (; *t; t++)
		if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') ||
		      (*t >= '0' && *t <= '9') || *t == '.' || *t == '-'))
			return 0;
	return 1;
}

static const char *env(azure_auth_getenv_fn fn, const char *name)
{
	const char *v = fn(name);

	return v && *v ? v : NULL;
}

fc_err azure_auth_new(const struct azure_auth_options *opt, struct azure_auth **out,
		      char *msg, size_t msgsz)
{
	azure_auth_getenv_fn ge = opt->getenv_fn ? opt->getenv_fn : getenv;
	const char *tenant = env(ge, "AZURE_TENANT_ID"), *client = env(ge, "AZURE_CLIENT_ID");
	const char *secret = env(ge, "AZURE_CLIENT_SECRET");
	const char *file = env(ge, "AZURE_FEDERATED_TOKEN_FILE");
	const char *authority = opt->authority_host ? opt->authority_host
						    : env(ge, "AZURE_AUTHORITY_HOST");
	const char *audience = opt->audience ? opt->audience : AZURE_AUTH_PUBLIC_AUDIENCE;
	struct azure_auth *a = NULL;
	struct buf u;
	char *aud = NULL, *auth_base = NULL;
	fc_err rc = FC_ERR_NOMEM;

	*out = NULL;
	buf_init(&u, URL_MAX);
	if (msg && msgsz)
		msg[0] = '\0';
	if (!opt->transport) {
		fc_errf(msg, msgsz, "no HTTP transport");
		return FC_ERR_INVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return FC_ERR_NOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->t = opt->transport;
	a->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
	a->now_ms = opt->now_ms ? opt->now_ms : real_now_ms;
	a->clock_ud = opt->clock_ud;
	a->hook = opt->on_request;
	a->hook_ud = opt->hook_ud;
	a->configured = tenant || client;
	if (opt->ca_file && !(a->ca_file = strdup(opt->ca_file)))
		goto out;
	if (client && !(a->client_id = strdup(client)))
		goto out;
	aud = dup_strip_slashes(audience);
	if (!aud || buf_appendf(&u, "%s/.default", aud) || !(a->scope = buf_take(&u)))
		goto out;

	if (tenant && client && (secret || file)) {
		if (!tenant_ok(tenant)) {
			fc_errf(msg, msgsz,
				"AZURE_TENANT_ID is not a tenant id or domain (letters, digits, '.', '-' only)");
			rc = FC_ERR_INVAL;
			goto out;
		}
		auth_base = dup_strip_slashes(authority ? authority : AZURE_AUTH_PUBLIC_AUTHORITY);
		if (!auth_base)
			goto out;
		rc = buf_appendf(&u, "%s/%s/oauth2/v2.0/token", auth_base, tenant);
		if (rc)
			goto out;
		rc = FC_ERR_NOMEM;
		if (!(a->token_url = buf_take(&u)))
			goto out;
		if (secret) {
			a->kind = AZURE_CRED_CLIENT_SECRET;
			if (!(a->secret = strdup(secret)))
				goto out;
		} else {
			a->kind = AZURE_CRED_WORKLOAD_IDENTITY;
			if (!(a->token_file = strdup(file)))
				goto out;
		}
	} else {
		const char *base = opt->imds_endpoint ? opt->imds_endpoint : AZURE_AUTH_IMDS_ENDPOINT;

		a->kind = AZURE_CRED_MANAGED_IDENTITY;
		if (!(a->imds_base = dup_strip_slashes(base)))
			goto out;
		rc = buf_appendf(&u, "%s/metadata/identity/oauth2/token?api-version=%s&resource=",
				 a->imds_base, AZURE_AUTH_IMDS_API_VERSION);
		if (!rc)
			rc = urlenc(&u, audience);
		if (!rc && client) {
			rc = buf_append_str(&u, "&client_id=");
			if (!rc)
				rc = urlenc(&u, client);
		}
		if (rc)
			goto out;
		rc = FC_ERR_NOMEM;
		if (!(a->imds_url = buf_take(&u)))
			goto out;
	}
	rc = FC_OK;
	*out = a;
	a = NULL;
out:
	if (rc == FC_ERR_NOMEM)
		fc_errf(msg, msgsz, "out of memory");
	else if (rc == FC_ERR_TOOBIG) {
		fc_errf(msg, msgsz, "Azure authority or IMDS URL too long");
		rc = FC_ERR_INVAL;
	}
	buf_release(&u);
	free(aud);
	free(auth_base);
	azure_auth_free(a);
	return rc;
}

void azure_auth_free(struct azure_auth *a)
{
	if (!a)
		return;
	zero_free(a->token);
	zero_free(a->secret);
	free(a->token_url);
	free(a->imds_url);
	free(a->imds_base);
	free(a->client_id);
	free(a->token_file);
	free(a->scope);
	free(a->ca_file);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

enum azure_cred_kind azure_auth_kind(const struct azure_auth *a)
{
	return a->kind;
}

void azure_auth_invalidate(struct azure_auth *a)
{
	pthread_mutex_lock(&a->mu);
	zero_free(a->token);
	a->token = NULL;
	a->expires_ms = 0;
	a->refresh_at_ms = 0;
	pthread_mutex_unlock(&a->mu);
}

/* Reads the federated token file into b (bounded), trimmed. */
static fc_err read_assertion(const struct azure_auth *a, struct buf *b, char *msg, size_t msgsz)
{
	char chunk[4096];
	FILE *f = fopen(a->token_file, "re");
	size_t n;
	fc_err rc = FC_OK;

	if (!f) {
		fc_errf(msg, msgsz, "cannot read AZURE_FEDERATED_TOKEN_FILE %s: %s", a->token_file,
			strerror(errno));
		return FC_ERR_AUTH;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rc = buf_append(b, chunk, n);
		if (rc)
			break;
	}
	if (!rc && ferror(f))
		rc = FC_ERR_IO;
	fclose(f);
	memset(chunk, 0, sizeof(chunk));
	if (rc == FC_ERR_TOOBIG || rc == FC_ERR_IO) {
		fc_errf(msg, msgsz, "cannot read AZURE_FEDERATED_TOKEN_FILE %s: %s", a->token_file,
			rc == FC_ERR_TOOBIG ? "larger than 64 KiB" : "read error");
		return FC_ERR_AUTH;
	}
	if (rc)
		return rc;
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r' ||
			  b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
	if (!b->len) {
		fc_errf(msg, msgsz, "AZURE_FEDERATED_TOKEN_FILE %s is empty", a->token_file);
		return FC_ERR_AUTH;
	}
	return FC_OK;
}

/* The form body; for workload identity, assertion receives the file's
 * contents (kept by the caller to scrub messages, then zeroed). */
static fc_err build_form(const struct azure_auth *a, struct buf *form, struct buf *assertion,
			 char *msg, size_t msgsz)
{
	fc_err rc;

	rc = buf_append_str(form, "grant_type=client_credentials&client_id=");
	if (!rc)
		rc = urlenc(form, a->client_id);
	if (!rc)
		rc = buf_append_str(form, "&scope=");
	if (!rc)
		rc = urlenc(form, a->scope);
	if (rc)
		goto out;
	if (a->kind == AZURE_CRED_CLIENT_SECRET) {
		rc = buf_append_str(form, "&client_secret=");
		if (!rc)
			rc = urlenc(form, a->secret);
		goto out;
	}
	rc = read_assertion(a, assertion, msg, msgsz);
	if (rc)
		return rc;
	rc = buf_append_str(form, "&client_assertion_type="
			    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
			    "&client_assertion=");
	if (!rc)
		rc = urlenc(form, assertion->data);
out:
	if (rc == FC_ERR_NOMEM || rc == FC_ERR_TOOBIG)
		fc_errf(msg, msgsz, "cannot build the token request: %s", fc_strerror(rc));
	return rc == FC_ERR_TOOBIG ? FC_ERR_AUTH : rc;
}

/* Seconds from a number or a numeric string; -1 when absent/unusable. */
static int64_t seconds(const cJSON *root, const char *key)
{
	const cJSON *c = json_child(root, key);
	int64_t v = -1;

	if (cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 9e15) {
		v = (int64_t)c->valuedouble;
	} else if (cJSON_IsString(c) && c->valuestring[0]) {
		char *end;
		long long x;

		errno = 0;
		x = strtoll(c->valuestring, &end, 10);
		if (!errno && !*end && x >= 0)
			v = x;
	}
	return v;
}

static const char *aadsts_hint(const char *desc)
{
	const char *p = desc ? strstr(desc, "AADSTS") : NULL;
	long code;

	if (!p)
		return NULL;
	code = strtol(p + 6, NULL, 10);
	switch (code) {
	case 70021:
		return "check the federated credential's issuer/subject";
	case 700024:
		return "the federated token is expired or not yet valid: is the projected service account token rotated?";
	case 700211:
	case 700212:
	case 700213:
		return "check the federated credential's issuer, subject and audience (api://AzureADTokenExchange)";
	case 7000215:
		return "check AZURE_CLIENT_SECRET (use the secret's value, not its ID)";
	case 7000222:
		return "the client secret has expired: create a new one";
	case 700016:
		return "check AZURE_CLIENT_ID and AZURE_TENANT_ID";
	case 90002:
	case 900023:
		return "check AZURE_TENANT_ID";
	case 500011:
		return "check the ARM audience (--azure-cloud)";
	default:
		return NULL;
	}
}

/* "Azure AD rejected ...: <first line of error_description>[ - hint]". */
static void error_message(const struct azure_auth *a, const struct http_response *resp,
			  char *msg, size_t msgsz)
{
	cJSON *root = NULL;
	const char *desc = NULL, *err = NULL, *hint;
	const char *who;
	size_t dlen = 0;

	if (resp->body.len && !json_parse(resp->body.data, resp->body.len, &root)) {
		desc = json_str_or(root, "error_description", NULL);
		err = json_str_or(root, "error", NULL);
		if (!err) /* IMDS sometimes nests it */
			err = json_str_or(root, "error.message", NULL);
	}
	if (desc) {
		dlen = strcspn(desc, "\r\n");
		if (dlen > 600)
			dlen = 600;
	}
	switch (a->kind) {
	case AZURE_CRED_CLIENT_SECRET:
		who = "Azure AD rejected the client secret credential";
		break;
	case AZURE_CRED_WORKLOAD_IDENTITY:
		who = "Azure AD rejected the workload identity token";
		break;
	default:
		who = "managed identity (IMDS) refused the token request";
		break;
	}
	hint = aadsts_hint(desc);
	if (desc && dlen)
		fc_errf(msg, msgsz, "%s: %.*s%s%s", who, (int)dlen, desc, hint ? " - " : "",
			hint ? hint : "");
	else
		fc_errf(msg, msgsz, "%s: HTTP %ld%s%s", who, resp->status, err ? " " : "",
			err ? err : "");
	if (a->kind == AZURE_CRED_MANAGED_IDENTITY && !a->configured) {
		size_t n = strlen(msg);

		snprintf(msg + n, msgsz - n,
			 " (no Azure credential is configured: set AZURE_TENANT_ID, AZURE_CLIENT_ID and"
			 " AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE, or give the pod a managed identity)");
	}
	cJSON_Delete(root);
}

/* "TLS: SSL certificate problem: ...": the class of the failure first, as
 * azure_client's "cannot reach ARM" messages, so that a refused certificate
 * reads as TLS whatever libcurl's wording. */
static void transport_message(const struct azure_auth *a, fc_err rc,
			      const struct http_response *resp, char *msg, size_t msgsz)
{
	char detail[sizeof(resp->error) + 32];

	snprintf(detail, sizeof(detail), "%s%s%s", fc_strerror(rc), resp->error[0] ? ": " : "",
		 resp->error);

	if (a->kind != AZURE_CRED_MANAGED_IDENTITY)
		fc_errf(msg, msgsz, "cannot reach Azure AD at %s: %s", a->token_url, detail);
	else if (!a->configured)
		fc_errf(msg, msgsz,
			"no Azure credential is configured (AZURE_TENANT_ID, AZURE_CLIENT_ID and "
			"AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE) and managed identity is "
			"not available: IMDS at %s could not be reached: %s",
			a->imds_base, detail);
	else
		fc_errf(msg, msgsz, "managed identity: IMDS at %s could not be reached: %s",
			a->imds_base, detail);
}

/* One token request. On success *token (owned) and *lifetime_ms. */
static fc_err fetch(struct azure_auth *a, char **token, int64_t *lifetime_ms, char *msg,
		    size_t msgsz)
{
	static const char *const form_headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL};
	static const char *const imds_headers[] = {"Metadata: true", "Accept: application/json",
						   NULL};
	struct http_tls tls = {.ca_extra_file = a->ca_file};
	struct http_request req = {0};
	struct http_response resp;
	struct buf form, assertion;
	cJSON *root = NULL;
	const char *tok;
	int64_t t0, secs;
	fc_err rc;

	*token = NULL;
	buf_init(&form, FORM_MAX);
	buf_init(&assertion, AZURE_AUTH_MAX_ASSERTION);
	http_response_init(&resp);
	req.timeout_ms = a->timeout_ms;
	req.max_body = TOKEN_MAX_BODY;
	req.tls = &tls;
	if (a->kind == AZURE_CRED_MANAGED_IDENTITY) {
		req.method = "GET";
		req.url = a->imds_url;
		req.headers = imds_headers;
	} else {
		rc = build_form(a, &form, &assertion, msg, msgsz);
		if (rc)
			goto out;
		req.method = "POST";
		req.url = a->token_url;
		req.headers = form_headers;
		req.body = form.data;
		req.body_len = form.len;
	}
	t0 = clock_mono_ms();
	rc = http_do(a->t, &req, &resp);
	if (a->hook)
		a->hook(a->hook_ud, "token", rc ? 0 : resp.status, clock_mono_ms() - t0);
	if (rc) {
		if (rc != FC_ERR_NOMEM && rc != FC_ERR_CANCELLED)
			transport_message(a, rc, &resp, msg, msgsz);
		goto out;
	}
	if (resp.status != 200) {
		error_message(a, &resp, msg, msgsz);
		if (resp.status == 429)
			rc = FC_ERR_THROTTLED;
		else if (resp.status >= 500)
			rc = FC_ERR_UNAVAILABLE;
		else
			rc = FC_ERR_AUTH;
		goto out;
	}
	rc = json_parse(resp.body.data, resp.body.len, &root);
	if (rc || json_get_str(root, "access_token", &tok) || !*tok) {
		fc_errf(msg, msgsz, "%s token response has no access_token",
			azure_auth_cred_name(a->kind));
		rc = FC_ERR_PARSE;
		goto out;
	}
	*token = strdup(tok);
	if (!*token) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	/* expires_in first: relative, so immune to clock skew */
	secs = seconds(root, "expires_in");
	if (secs < 0) {
		int64_t on = seconds(root, "expires_on");

		if (on > 0)
			secs = on - a->now_ms(a->clock_ud) / 1000;
	}
	if (secs > MAX_LIFETIME_S)
		secs = MAX_LIFETIME_S;
	*lifetime_ms = secs >= 0 ? secs * 1000 : DEFAULT_LIFETIME_MS;
out:
	if (root) {
		cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "access_token");

		if (cJSON_IsString(at) && at->valuestring) {
			volatile char *p = at->valuestring;
			size_t n = strlen(at->valuestring);

			for (size_t i = 0; i < n; i++)
				p[i] = 0;
		}
		cJSON_Delete(root);
	}
	buf_release_secret(&resp.body);
	http_response_release(&resp);
	buf_release_secret(&form);
	if (rc == FC_ERR_NOMEM)
		fc_errf(msg, msgsz, "out of memory");
	if (rc && a->secret) {
		struct buf enc;

		buf_init(&enc, FORM_MAX);
		scrub(msg, a->secret);
		if (!urlenc(&enc, a->secret))
			scrub(msg, enc.data);
		buf_release_secret(&enc);
	}
	scrub(msg, assertion.data);
	buf_release_secret(&assertion);
	return rc;
}

static fc_err copy_token(const struct azure_auth *a, char **token)
{
	*token = strdup(a->token);
	return *token ? FC_OK : FC_ERR_NOMEM;
}

fc_err azure_auth_token(struct azure_auth *a, char **token, char *msg, size_t msgsz)
{
	char m[AZURE_AUTH_MSG_MAX];
	char *fresh = NULL;
	int64_t now, lifetime = 0, margin;
	fc_err rc;

	*token = NULL;
	m[0] = '\0';
	pthread_mutex_lock(&a->mu);
	for (;;) {
		uint64_t g;

		now = a->now_ms(a->clock_ud);
		if (a->token && now < a->refresh_at_ms) {
			rc = copy_token(a, token);
			goto unlock;
		}
		if (!a->refreshing && a->last_rc && now < a->fail_until_ms) {
			/* a request just failed: do not ask again yet */
			if (a->token && now < a->expires_ms - EXPIRY_SKEW_MS) {
				rc = copy_token(a, token);
			} else {
				rc = a->last_rc;
				snprintf(m, sizeof(m), "%s", a->last_msg);
			}
			goto unlock;
		}
		if (!a->refreshing)
			break;
		g = a->gen;
		while (a->refreshing)
			pthread_cond_wait(&a->cond, &a->mu);
		if (a->gen == g)
			continue;
		/* a refresh completed while we waited: take its outcome */
		now = a->now_ms(a->clock_ud);
		if (a->token && now < a->expires_ms - EXPIRY_SKEW_MS) {
			rc = copy_token(a, token);
			goto unlock;
		}
		if (a->last_rc) {
			rc = a->last_rc;
			snprintf(m, sizeof(m), "%s", a->last_msg);
			goto unlock;
		}
	}
	a->refreshing = 1;
	pthread_mutex_unlock(&a->mu);

	rc = fetch(a, &fresh, &lifetime, m, sizeof(m));

	pthread_mutex_lock(&a->mu);
	now = a->now_ms(a->clock_ud);
	a->refreshing = 0;
	a->gen++;
	a->last_rc = rc;
	if (!rc) {
		zero_free(a->token);
		a->token = fresh;
		fresh = NULL;
		a->expires_ms = now + lifetime;
		margin = AZURE_AUTH_REFRESH_MARGIN_MS;
		if (lifetime < 2 * margin)
			margin = lifetime / 2;
		a->refresh_at_ms = a->expires_ms - margin;
		a->last_msg[0] = '\0';
		rc = copy_token(a, token);
	} else {
		snprintf(a->last_msg, sizeof(a->last_msg), "%s", m);
		a->fail_until_ms = now + FAILURE_HOLD_MS;
		log_warn("azure token request failed", "credential", azure_auth_cred_name(a->kind),
			 "error", fc_strerror(rc), "message", m, NULL);
		if (a->token && now < a->expires_ms - EXPIRY_SKEW_MS) {
			/* the refresh failed but the cached token is still valid */
			rc = copy_token(a, token);
		}
	}
	pthread_cond_broadcast(&a->cond);
unlock:
	pthread_mutex_unlock(&a->mu);
	zero_free(fresh);
	if (rc == FC_ERR_NOMEM)
		snprintf(m, sizeof(m), "out of memory");
	if (msg && msgsz)
		snprintf(msg, msgsz, "%s", rc ? m : "");
	return rc;
}
