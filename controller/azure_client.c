#include "azure_client.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure_catalog.h"
#include "buf.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#ifndef FC_VERSION
#define FC_VERSION "dev"
#endif

#define DEFAULT_TIMEOUT_MS 30000L
#define URL_MAX 8192
#define MSG_MAX 1024
#define MODEL_MSG_MAX 4096
#define ACCOUNT_MAX_BODY (4u * 1024 * 1024)
#define CATALOG_MAX_BODY (64u * 1024 * 1024)
#define AUTH_HEADER_MAX (64u * 1024)
#define PRUNE_EVERY_MS (60 * 1000)
#define OPENAI_ENDPOINT_KEY "OpenAI Language Model Instance API"

/* ---- a small string -> pointer map (chained hashing) --------------------- */

struct map_node {
	char *key;
	void *val;
	struct map_node *next;
};

struct map {
	struct map_node **b;
	size_t nb, n;
	void (*free_val)(void *val);
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void map_init(struct map *m, void (*free_val)(void *))
{
	memset(m, 0, sizeof(*m));
	m->free_val = free_val;
}

static void map_release(struct map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct map_node *nd = m->b[i], *next;

		for (; nd; nd = next) {
			next = nd->next;
			m->free_val(nd->val);
			free(nd->key);
			free(nd);
		}
	}
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}

static void *map_get(const struct map *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct map_node *nd = m->b[hash(key) & (m->nb - 1)]; nd; nd = nd->next)
		if (strcmp(nd->key, key) == 0)
			return nd->val;
	return NULL;
}

static fc_err map_grow(struct map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct map_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct map_node *nd = m->b[i], *next;

		for (; nd; nd = next) {
			size_t j = hash(nd->key) & (nb - 1);

			next = nd->next;
			nd->next = b[j];
			b[j] = nd;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return FC_OK;
}

/* Stores val under key, freeing a previous value. Takes val only on FC_OK. */
static fc_err map_put(struct map *m, const char *key, void *val)
{
	struct map_node *nd;
	size_t j;

	if (m->n + 1 > m->nb) {
		fc_err rc = map_grow(m);

		if (rc)
			return rc;
	}
	j = hash(key) & (m->nb - 1);
	for (nd = m->b[j]; nd; nd = nd->next) {
		if (strcmp(nd->key, key) == 0) {
			if (nd->val != val)
				m->free_val(nd->val);
			nd->val = val;
			return FC_OK;
		}
	}
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return FC_ERR_NOMEM;
	nd->key = strdup(key);
	if (!nd->key) {
		free(nd);
		return FC_ERR_NOMEM;
	}
	nd->val = val;
	nd->next = m->b[j];
	m->b[j] = nd;
	m->n++;
	return FC_OK;
}

/* Removes key's entry, if any. */
static void map_del(struct map *m, const char *key)
{
	struct map_node **pp;

	if (!m->nb)
		return;
	for (pp = &m->b[hash(key) & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
		struct map_node *nd = *pp;

		if (strcmp(nd->key, key) == 0) {
			*pp = nd->next;
			m->free_val(nd->val);
			free(nd->key);
			free(nd);
			m->n--;
			return;
		}
	}
}

/* Removes the entries for which drop(val, ud) is true. */
static void map_filter(struct map *m, int (*drop)(const void *val, const void *ud), const void *ud)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct map_node **pp = &m->b[i];

		while (*pp) {
			struct map_node *nd = *pp;

			if (drop(nd->val, ud)) {
				*pp = nd->next;
				m->free_val(nd->val);
				free(nd->key);
				free(nd);
				m->n--;
			} else {
				pp = &nd->next;
			}
		}
	}
}

/* ---- cache entries ------------------------------------------------------- */

struct acct_entry {
	int64_t generation;
	int64_t fetched_ms;
	int notfound;
	char *msg;                   /* the 404 message */
	char *kind, *region, *ep_openai, *ep, *state;
};

struct dep_entry {
	int64_t generation;
	int64_t fetched_ms;
	int notfound;
	char *state, *format, *name, *version;
};

/* A failed account or deployment lookup, held for AZURE_CLIENT_FAILURE_HOLD_MS:
 * until then the same Unknown check is answered without asking ARM. Without
 * it, the status write that reports the failure (its message differs every
 * time: ARM puts a fresh tracking id in it) would set off the next reconcile
 * and the next request at once, a loop that no backoff slows. A new
 * generation of the object (its spec changed) asks again at once. */
struct fail_entry {
	int64_t generation;
	int64_t until_ms;
	const char *reason;          /* a static AZURE_REASON_* */
	char msg[MSG_MAX];
};

struct cat_slot {
	struct azure_catalog *cat;   /* last good catalog, or NULL */
	int64_t fetched_ms;
	int loading;
	uint64_t gen;                /* bumped when a load completes */
	const char *fail_reason;     /* NULL: the last load succeeded */
	char fail_msg[MSG_MAX];
	int64_t fail_until_ms;
};

static void acct_entry_free(void *p)
{
	struct acct_entry *e = p;

	if (!e)
		return;
	free(e->msg);
	free(e->kind);
	free(e->region);
	free(e->ep_openai);
	free(e->ep);
	free(e->state);
	free(e);
}

static void dep_entry_free(void *p)
{
	struct dep_entry *e = p;

	if (!e)
		return;
	free(e->state);
	free(e->format);
	free(e->name);
	free(e->version);
	free(e);
}

static void cat_slot_free(void *p)
{
	struct cat_slot *s = p;

	if (!s)
		return;
	azure_catalog_free(s->cat);
	free(s);
}

/* ---- the client ---------------------------------------------------------- */

struct azure_client {
	struct http_transport *t;
	struct azure_auth *auth;
	char *arm;                   /* no trailing '/' */
	char *api;
	int64_t catalog_ttl_ms, dep_ttl_ms, warning_ms;
	char **suggest;
	size_t nsuggest;
	char *ca_file;
	long timeout_ms;
	azure_clock_fn now_ms;
	void *clock_ud;
	azure_request_hook hook;
	void *hook_ud;

	pthread_mutex_t mu;          /* guards the maps and slots */
	pthread_cond_t cond;         /* a catalog load completed */
	struct map accounts, deployments, catalogs, throttles;
	struct map dep_seen; /* model ns/name -> int64 generation last checked */
	struct map fails;    /* "a|"account key, "d|"model key"|"url -> struct fail_entry */
	int64_t last_prune_ms;
};

/* An Azure failure, reported as an Unknown check. reason NULL: no failure. */
struct az_fail {
	const char *reason;
	char msg[MSG_MAX];
	long retry_after_ms;
};

__attribute__((format(printf, 3, 4)))
static void fail(struct az_fail *f, const char *reason, const char *fmt, ...)
{
	va_list ap;

	f->reason = reason;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static int64_t real_now_ms(void *ud)
{
	(void)ud;
	return clock_real_ms();
}

static int64_t now_ms(const struct azure_client *ac)
{
	return ac->now_ms(ac->clock_ud);
}

static void free_int(void *p)
{
	free(p);
}

fc_err azure_client_new(const struct azure_client_options *opt, struct azure_client **out)
{
	struct azure_client *ac;
	const char *arm = opt->arm_endpoint ? opt->arm_endpoint : AZURE_PUBLIC_ARM_ENDPOINT;
	size_t n = strlen(arm);

	*out = NULL;
	if (!opt->transport)
		return FC_ERR_INVAL;
	ac = calloc(1, sizeof(*ac));
	if (!ac)
		return FC_ERR_NOMEM;
	pthread_mutex_init(&ac->mu, NULL);
	pthread_cond_init(&ac->cond, NULL);
	map_init(&ac->accounts, acct_entry_free);
	map_init(&ac->deployments, dep_entry_free);
	map_init(&ac->dep_seen, free);
	map_init(&ac->catalogs, cat_slot_free);
	map_init(&ac->throttles, free_int);
	map_init(&ac->fails, free);
	ac->t = opt->transport;
	ac->auth = opt->auth;
	ac->catalog_ttl_ms = opt->catalog_ttl_ms > 0 ? opt->catalog_ttl_ms : 0;
	ac->dep_ttl_ms = opt->deployment_ttl_ms > 0 ? opt->deployment_ttl_ms : 0;
	ac->warning_ms = opt->retirement_warning_ms > 0 ? opt->retirement_warning_ms : 0;
	ac->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
	ac->now_ms = opt->now_ms ? opt->now_ms : real_now_ms;
	ac->clock_ud = opt->clock_ud;
	ac->hook = opt->on_request;
	ac->hook_ud = opt->hook_ud;
	while (n && arm[n - 1] == '/')
		n--;
	if (!(ac->arm = strndup(arm, n)) ||
	    !(ac->api = strdup(opt->api_version ? opt->api_version : AZURE_API_VERSION)) ||
	    (opt->ca_file && !(ac->ca_file = strdup(opt->ca_file))))
		goto nomem;
	if (opt->nsuggest_regions) {
		ac->suggest = calloc(opt->nsuggest_regions, sizeof(*ac->suggest));
		if (!ac->suggest)
			goto nomem;
		for (size_t i = 0; i < opt->nsuggest_regions; i++) {
			if (!(ac->suggest[i] = strdup(opt->suggest_regions[i])))
				goto nomem;
			ac->nsuggest++;
			for (char *p = ac->suggest[i]; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
		}
	}
	*out = ac;
	return FC_OK;
nomem:
	azure_client_free(ac);
	return FC_ERR_NOMEM;
}

void azure_client_free(struct azure_client *ac)
{
	if (!ac)
		return;
	map_release(&ac->accounts);
	map_release(&ac->deployments);
	map_release(&ac->dep_seen);
	map_release(&ac->catalogs);
	map_release(&ac->throttles);
	map_release(&ac->fails);
	for (size_t i = 0; i < ac->nsuggest; i++)
		free(ac->suggest[i]);
	free(ac->suggest);
	free(ac->arm);
	free(ac->api);
	free(ac->ca_file);
	pthread_cond_destroy(&ac->cond);
	pthread_mutex_destroy(&ac->mu);
	free(ac);
}

/* ---- helpers ------------------------------------------------------------- */

static char *lower_dup(const char *s)
{
	char *d = strdup(s ? s : "");

	for (char *p = d; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

/* ARM location -> region name: lower case, no spaces ("West US" -> "westus"). */
static char *region_dup(const char *loc)
{
	char *d = lower_dup(loc), *w = d;

	if (!d)
		return NULL;
	for (const char *p = d; *p; p++)
		if (*p != ' ')
			*w++ = *p;
	*w = '\0';
	return d;
}

/* One path segment, percent-encoded except unreserved characters and ( ). */
static fc_err seg(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	fc_err rc = FC_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~()", *p)) {
			rc = buf_append(b, p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

static fc_err account_url(const struct azure_client *ac, const struct spec_account *a,
			  struct buf *u)
{
	fc_err rc = buf_appendf(u, "%s/subscriptions/", ac->arm);

	if (!rc)
		rc = seg(u, a->subscription_id);
	if (!rc)
		rc = buf_append_str(u, "/resourceGroups/");
	if (!rc)
		rc = seg(u, a->resource_group);
	if (!rc)
		rc = buf_append_str(u, "/providers/Microsoft.CognitiveServices/accounts/");
	if (!rc)
		rc = seg(u, a->account_name);
	return rc;
}

static fc_err set_check(struct check *c, enum cond_status st, const char *reason,
			const char *msg)
{
	c->status = st;
	c->reason = reason;
	free(c->message);
	c->message = NULL;
	if (msg && !(c->message = strdup(msg)))
		return FC_ERR_NOMEM;
	return FC_OK;
}

static int64_t throttle_left_locked(struct azure_client *ac, const char *sub, int64_t now)
{
	char *key = lower_dup(sub);
	int64_t *until, left = 0;

	if (!key)
		return 0;
	until = map_get(&ac->throttles, key);
	if (until && *until > now)
		left = *until - now;
	free(key);
	return left;
}

long azure_client_throttle_ms(struct azure_client *ac, const char *subscription_id)
{
	int64_t left;

	if (!ac || !subscription_id)
		return 0;
	pthread_mutex_lock(&ac->mu);
	left = throttle_left_locked(ac, subscription_id, now_ms(ac));
	pthread_mutex_unlock(&ac->mu);
	return (long)left;
}

static void throttle_set(struct azure_client *ac, const char *sub, int64_t until)
{
	char *key = lower_dup(sub);
	int64_t *v;

	if (!key)
		return;
	pthread_mutex_lock(&ac->mu);
	v = map_get(&ac->throttles, key);
	if (v) {
		if (*v < until)
			*v = until;
	} else if ((v = malloc(sizeof(*v))) != NULL) {
		*v = until;
		if (map_put(&ac->throttles, key, v))
			free(v);
	}
	pthread_mutex_unlock(&ac->mu);
	free(key);
}

/* "Code: message" of an ARM error body into dst (message cut at 400). */
static void arm_error(const struct buf *body, char *dst, size_t size, char *action,
		      size_t action_size, char *scope, size_t scope_size)
{
	cJSON *root = NULL;
	const char *code = NULL, *message = NULL;

	dst[0] = '\0';
	if (action)
		action[0] = '\0';
	if (scope)
		scope[0] = '\0';
	if (!body->len || json_parse(body->data, body->len, &root))
		return;
	code = json_str_or(root, "error.code", NULL);
	message = json_str_or(root, "error.message", NULL);
	if (!code && !message) {
		code = json_str_or(root, "code", NULL);
		message = json_str_or(root, "message", NULL);
	}
	if (code && message)
		snprintf(dst, size, "%s: %.400s", code, message);
	else if (code || message)
		snprintf(dst, size, "%.400s", code ? code : message);
	if (message && action) {
		const char *p = strstr(message, "perform action '");

		if (p) {
			p += strlen("perform action '");
			snprintf(action, action_size, "%.*s", (int)strcspn(p, "'"), p);
		}
	}
	if (message && scope) {
		const char *p = strstr(message, "over scope '");

		if (p) {
			p += strlen("over scope '");
			snprintf(scope, scope_size, "%.*s", (int)strcspn(p, "'"), p);
		}
	}
	cJSON_Delete(root);
}

/* Seconds from ARM's "Please try again after '10' seconds", or -1; at most
 * a day, as http_retry_after_seconds() (and so ra * 1000 cannot overflow). */
static long retry_from_message(const struct buf *body)
{
	const char *p;
	long v;

	if (!body->data || !(p = strstr(body->data, "try again after '")))
		return -1;
	p += strlen("try again after '");
	if (*p < '0' || *p > '9')
		return -1;
	v = strtol(p, NULL, 10);
	return v > 86400 ? 86400 : v;
}

struct arm_resp {
	long status;
	struct buf body;
};

/* One GET to ARM with the token, the 401 retry and the failure mapping.
 * FC_OK with f->reason NULL: out->status is 2xx or 404 (out->body holds the
 * body, caller releases). FC_OK with f->reason set: an Azure failure. */
static fc_err arm_get(struct azure_client *ac, const char *call, const char *sub,
		      const char *url, size_t max_body, struct arm_resp *out, struct az_fail *f)
{
	struct http_tls tls = {.ca_extra_file = ac->ca_file};
	struct http_request req = {0};
	struct http_response resp;
	struct buf hdr;
	const char *headers[4];
	char m[AZURE_AUTH_MSG_MAX], detail[MSG_MAX];
	char action[256], scope[512];
	int64_t t0, now;
	long status, ra;
	int logged = 0; /* azure_auth logged a token failure; the gate logs nothing */
	fc_err rc = FC_OK;

	f->reason = NULL;
	f->msg[0] = '\0';
	f->retry_after_ms = 0;
	out->status = 0;
	buf_init(&out->body, max_body);
	buf_init(&hdr, AUTH_HEADER_MAX);
	http_response_init(&resp);

	pthread_mutex_lock(&ac->mu);
	now = now_ms(ac);
	f->retry_after_ms = (long)throttle_left_locked(ac, sub, now);
	pthread_mutex_unlock(&ac->mu);
	if (f->retry_after_ms > 0) {
		logged = 1;
		fail(f, AZURE_REASON_THROTTLED,
		     "ARM is throttling requests for subscription %s: not asking again for %lds",
		     sub, (f->retry_after_ms + 999) / 1000);
		goto out;
	}

	for (int attempt = 0; attempt < 2; attempt++) {
		int n = 0;

		if (ac->auth) {
			char *token = NULL;
			fc_err trc = azure_auth_token(ac->auth, &token, m, sizeof(m));

			if (trc == FC_ERR_NOMEM) {
				rc = trc;
				goto out;
			}
			if (trc) {
				logged = 1;
				if (trc == FC_ERR_AUTH) {
					fail(f, AZURE_REASON_FORBIDDEN, "%s", m);
				} else if (trc == FC_ERR_THROTTLED) {
					fail(f, AZURE_REASON_THROTTLED, "%s", m);
					f->retry_after_ms = AZURE_CLIENT_DEFAULT_RETRY_AFTER_MS;
				} else {
					fail(f, AZURE_REASON_UNREACHABLE, "%s", m);
				}
				goto out;
			}
			buf_release_secret(&hdr);
			rc = buf_appendf(&hdr, "Authorization: Bearer %s", token);
			azure_auth_token_free(token);
			if (rc == FC_ERR_TOOBIG) {
				rc = FC_OK;
				fail(f, AZURE_REASON_UNREACHABLE, "the access token is too large");
				goto out;
			}
			if (rc)
				goto out;
			headers[n++] = hdr.data;
		}
		headers[n++] = "Accept: application/json";
		headers[n++] = "User-Agent: foundry-controller/" FC_VERSION;
		headers[n] = NULL;
		req.method = "GET";
		req.url = url;
		req.headers = headers;
		req.timeout_ms = ac->timeout_ms;
		req.max_body = max_body;
		req.tls = &tls;
		http_response_release(&resp);
		http_response_init(&resp);
		t0 = clock_mono_ms();
		rc = http_do(ac->t, &req, &resp);
		if (ac->hook)
			ac->hook(ac->hook_ud, call, rc ? 0 : resp.status, clock_mono_ms() - t0);
		if (rc == FC_ERR_NOMEM)
			goto out;
		if (rc) {
			fail(f, AZURE_REASON_UNREACHABLE, "cannot reach ARM at %s: %s%s%s", ac->arm,
			     fc_strerror(rc), resp.error[0] ? ": " : "", resp.error);
			rc = FC_OK;
			goto out;
		}
		if (resp.status != 401 || !ac->auth || attempt)
			break;
		log_info("ARM answered 401: dropping the cached token and retrying once", "call",
			 call, NULL);
		azure_auth_invalidate(ac->auth);
	}

	status = resp.status;
	out->status = status;
	if ((status >= 200 && status < 300) || status == 404) {
		out->body = resp.body;
		buf_init(&resp.body, max_body);
		goto out;
	}
	arm_error(&resp.body, detail, sizeof(detail), action, sizeof(action), scope, sizeof(scope));
	if (status == 403) {
		if (action[0])
			fail(f, AZURE_REASON_FORBIDDEN,
			     "the controller's Azure identity lacks permission '%s'%s%s%s: grant it a role "
			     "that includes it (e.g. Reader)",
			     action, scope[0] ? " on scope '" : "", scope, scope[0] ? "'" : "");
		else
			fail(f, AZURE_REASON_FORBIDDEN, "ARM denied the %s request (403%s%s)", call,
			     detail[0] ? " " : "", detail);
	} else if (status == 401) {
		fail(f, AZURE_REASON_FORBIDDEN,
		     "ARM rejected the access token even after a refresh (401%s%s)",
		     detail[0] ? " " : "", detail);
	} else if (status == 429) {
		now = now_ms(ac);
		ra = http_retry_after_seconds(resp.retry_after, (long)(now / 1000));
		if (ra < 0)
			ra = retry_from_message(&resp.body);
		f->retry_after_ms = ra >= 0 ? ra * 1000 : AZURE_CLIENT_DEFAULT_RETRY_AFTER_MS;
		throttle_set(ac, sub, now + f->retry_after_ms);
		fail(f, AZURE_REASON_THROTTLED, "ARM throttled the %s request (429%s%s): retrying after %lds",
		     call, detail[0] ? " " : "", detail, (f->retry_after_ms + 999) / 1000);
	} else {
		fail(f, AZURE_REASON_UNREACHABLE, "ARM answered HTTP %ld to the %s request%s%s%s", status,
		     call, detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	}
out:
	if (f->reason && rc == FC_OK && !logged)
		log_warn("azure request failed", "call", call, "url", url, "reason", f->reason,
			 "message", f->msg, NULL);
	buf_release_secret(&hdr);
	http_response_release(&resp);
	if (rc || f->reason)
		buf_release(&out->body);
	return rc;
}

/* ---- accounts ------------------------------------------------------------ */

static fc_err parse_account(const struct arm_resp *r, struct acct_entry *e)
{
	cJSON *root = NULL;
	const cJSON *eps;
	const char *s;
	fc_err rc;

	rc = json_parse(r->body.data, r->body.len, &root);
	if (rc)
		return FC_ERR_PARSE;
	rc = FC_ERR_NOMEM;
	if ((s = json_str_or(root, "kind", NULL)) && !(e->kind = strdup(s)))
		goto out;
	if ((s = json_str_or(root, "location", NULL)) && !(e->region = region_dup(s)))
		goto out;
	if ((s = json_str_or(root, "properties.provisioningState", NULL)) && !(e->state = strdup(s)))
		goto out;
	if ((s = json_str_or(root, "properties.endpoint", NULL)) && *s && !(e->ep = strdup(s)))
		goto out;
	eps = json_path(root, "properties.endpoints");
	s = NULL;
	if (cJSON_IsObject(eps)) {
		const cJSON *v = json_child(eps, OPENAI_ENDPOINT_KEY);

		s = cJSON_IsString(v) ? v->valuestring : NULL;
	}
	if (s && *s && !(e->ep_openai = strdup(s)))
		goto out;
	rc = FC_OK;
out:
	cJSON_Delete(root);
	return rc;
}

/* The verdict from a cached answer and the spec. */
static fc_err account_verdict_from(const struct spec_account *a, const struct acct_entry *e,
				   struct account_verdict *v)
{
	char msg[MSG_MAX];
	const char *ep;

	if (e->notfound)
		return set_check(&v->ready, COND_FALSE, AZURE_REASON_ACCOUNT_NOT_FOUND, e->msg);
	ep = a->endpoint ? a->endpoint : e->ep_openai ? e->ep_openai : e->ep;
	if ((ep && !(v->endpoint = strdup(ep))) || (e->region && !(v->region = strdup(e->region))) ||
	    (e->kind && !(v->kind = strdup(e->kind))))
		return FC_ERR_NOMEM;
	if (!e->state || strcasecmp(e->state, "Succeeded") != 0) {
		snprintf(msg, sizeof(msg), "account %s has provisioningState %s, not Succeeded",
			 a->account_name, e->state ? e->state : "(none)");
		return set_check(&v->ready, COND_FALSE, AZURE_REASON_ACCOUNT_NOT_READY, msg);
	}
	if (!e->region || !e->kind) {
		snprintf(msg, sizeof(msg), "ARM gives no %s for account %s",
			 e->region ? "kind" : "location", a->account_name);
		return set_check(&v->ready, COND_FALSE, AZURE_REASON_ACCOUNT_NOT_READY, msg);
	}
	if (a->region && strcasecmp(a->region, e->region) != 0) {
		snprintf(msg, sizeof(msg), "spec.region %s but Azure says %s", a->region, e->region);
		return set_check(&v->ready, COND_FALSE, AZURE_REASON_ACCOUNT_NOT_READY, msg);
	}
	if (!ep) {
		snprintf(msg, sizeof(msg),
			 "ARM gives no endpoint for account %s: set spec.endpoint", a->account_name);
		return set_check(&v->ready, COND_FALSE, AZURE_REASON_ACCOUNT_NOT_READY, msg);
	}
	snprintf(msg, sizeof(msg), "account %s (%s, %s) is ready", a->account_name, e->kind,
		 e->region);
	return set_check(&v->ready, COND_TRUE, AZURE_REASON_ACCOUNT_READY, msg);
}

static int acct_stale(const void *val, const void *ud)
{
	const struct acct_entry *e = val;
	const int64_t *lim = ud; /* [0] now, [1] ttl */

	return e->fetched_ms + lim[1] < lim[0];
}

static int dep_stale(const void *val, const void *ud)
{
	const struct dep_entry *e = val;
	const int64_t *lim = ud;

	return e->fetched_ms + lim[1] < lim[0];
}

static int fail_over(const void *val, const void *ud)
{
	const struct fail_entry *e = val;
	const int64_t *lim = ud;

	return e->until_ms <= lim[0];
}

/* Drops expired account/deployment entries and failure holds now and then
 * (locked). */
static void prune_locked(struct azure_client *ac, int64_t now)
{
	int64_t lim[2] = {now, ac->dep_ttl_ms};

	if (now - ac->last_prune_ms < PRUNE_EVERY_MS)
		return;
	ac->last_prune_ms = now;
	map_filter(&ac->accounts, acct_stale, lim);
	map_filter(&ac->deployments, dep_stale, lim);
	map_filter(&ac->fails, fail_over, lim);
}

/* The failure held for key and this generation: 1 with f filled, else 0. */
static int failure_held(struct azure_client *ac, const char *key, int64_t generation,
			struct az_fail *f)
{
	const struct fail_entry *e;
	int held = 0;

	pthread_mutex_lock(&ac->mu);
	e = map_get(&ac->fails, key);
	if (e && e->generation == generation && now_ms(ac) < e->until_ms) {
		f->reason = e->reason;
		snprintf(f->msg, sizeof(f->msg), "%s", e->msg);
		f->retry_after_ms = 0;
		held = 1;
	}
	pthread_mutex_unlock(&ac->mu);
	return held;
}

/* Holds a failure for AZURE_CLIENT_FAILURE_HOLD_MS. reason NULL (ARM
 * answered) or a throttle (the subscription gate holds those for exactly the
 * Retry-After) drops the hold instead. Out of memory only costs the hold. */
static void hold_failure(struct azure_client *ac, const char *key, int64_t generation,
			 const char *reason, const char *msg)
{
	struct fail_entry *e = NULL;

	if (reason && strcmp(reason, AZURE_REASON_THROTTLED) != 0) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->generation = generation;
		e->reason = reason;
		snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "");
	}
	pthread_mutex_lock(&ac->mu);
	if (e) {
		e->until_ms = now_ms(ac) + AZURE_CLIENT_FAILURE_HOLD_MS;
		if (map_put(&ac->fails, key, e) == FC_OK)
			e = NULL;
	} else {
		map_del(&ac->fails, key);
	}
	pthread_mutex_unlock(&ac->mu);
	free(e);
}

/* Copies of the cached facts of an account (for an Unknown verdict). */
static fc_err stale_facts(struct azure_client *ac, const char *key,
			  const struct spec_account *a, struct account_verdict *v)
{
	const struct acct_entry *e;
	const char *ep = a->endpoint;
	fc_err rc = FC_OK;

	pthread_mutex_lock(&ac->mu);
	e = map_get(&ac->accounts, key);
	if (e && !e->notfound) {
		if (!ep)
			ep = e->ep_openai ? e->ep_openai : e->ep;
		if ((e->region && !(v->region = strdup(e->region))) ||
		    (e->kind && !(v->kind = strdup(e->kind))))
			rc = FC_ERR_NOMEM;
	}
	if (!rc && ep && !(v->endpoint = strdup(ep)))
		rc = FC_ERR_NOMEM;
	pthread_mutex_unlock(&ac->mu);
	return rc;
}

fc_err azure_client_check_account(struct azure_client *ac, const struct spec_account *a,
				  struct account_verdict *v)
{
	struct buf url, key, hkey;
	struct arm_resp r = {0};
	struct az_fail f = {0};
	struct acct_entry *e = NULL;
	const struct acct_entry *cached;
	int64_t now;
	int done = 0;
	fc_err rc;

	if (!ac || !a || !v)
		return FC_ERR_INVAL;
	memset(v, 0, sizeof(*v));
	buf_init(&url, URL_MAX);
	buf_init(&key, URL_MAX * 2);
	buf_init(&hkey, URL_MAX * 2 + 8);
	buf_init(&r.body, 1);
	if (a->invalid || !a->subscription_id || !a->resource_group || !a->account_name) {
		rc = set_check(&v->ready, COND_FALSE, AZURE_REASON_INVALID_SPEC,
			       a->invalid ? a->invalid : "incomplete spec");
		goto out;
	}
	rc = account_url(ac, a, &url);
	if (!rc)
		rc = buf_appendf(&url, "?api-version=%s", ac->api);
	if (!rc)
		rc = buf_appendf(&key, "%s/%s|%s", a->meta.ns ? a->meta.ns : "",
				 a->meta.name ? a->meta.name : "", url.data);
	if (!rc)
		rc = buf_appendf(&hkey, "a|%s", key.data);
	if (rc)
		goto out;

	pthread_mutex_lock(&ac->mu);
	now = now_ms(ac);
	cached = map_get(&ac->accounts, key.data);
	if (cached && cached->generation == a->meta.generation &&
	    now < cached->fetched_ms + ac->dep_ttl_ms) {
		rc = account_verdict_from(a, cached, v);
		done = 1;
	}
	pthread_mutex_unlock(&ac->mu);
	if (done)
		goto out;
	if (failure_held(ac, hkey.data, a->meta.generation, &f)) {
		rc = set_check(&v->ready, COND_UNKNOWN, f.reason, f.msg);
		if (!rc)
			rc = stale_facts(ac, key.data, a, v);
		goto out;
	}

	rc = arm_get(ac, "account", a->subscription_id, url.data, ACCOUNT_MAX_BODY, &r, &f);
	if (rc)
		goto out;
	if (f.reason) {
		hold_failure(ac, hkey.data, a->meta.generation, f.reason, f.msg);
		rc = set_check(&v->ready, COND_UNKNOWN, f.reason, f.msg);
		if (!rc)
			rc = stale_facts(ac, key.data, a, v);
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	e->generation = a->meta.generation;
	e->fetched_ms = now_ms(ac);
	if (r.status == 404) {
		char detail[MSG_MAX], msg[MSG_MAX * 2];

		arm_error(&r.body, detail, sizeof(detail), NULL, 0, NULL, 0);
		if (strstr(detail, "ResourceGroupNotFound"))
			snprintf(msg, sizeof(msg), "resource group %s not found in subscription %s",
				 a->resource_group, a->subscription_id);
		else
			snprintf(msg, sizeof(msg),
				 "account %s not found in resource group %s of subscription %s",
				 a->account_name, a->resource_group, a->subscription_id);
		e->notfound = 1;
		if (!(e->msg = strdup(msg))) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
	} else {
		rc = parse_account(&r, e);
		if (rc == FC_ERR_PARSE) {
			static const char bad[] = "ARM answered the account request with malformed JSON";

			hold_failure(ac, hkey.data, a->meta.generation, AZURE_REASON_UNREACHABLE, bad);
			rc = set_check(&v->ready, COND_UNKNOWN, AZURE_REASON_UNREACHABLE, bad);
			goto out;
		}
		if (rc)
			goto out;
	}
	hold_failure(ac, hkey.data, a->meta.generation, NULL, NULL); /* ARM answered */
	rc = account_verdict_from(a, e, v);
	if (rc)
		goto out;
	pthread_mutex_lock(&ac->mu);
	prune_locked(ac, e->fetched_ms);
	if (map_put(&ac->accounts, key.data, e) == FC_OK)
		e = NULL; /* a failed put only costs the cache */
	pthread_mutex_unlock(&ac->mu);
out:
	acct_entry_free(e);
	buf_release(&r.body);
	buf_release(&url);
	buf_release(&key);
	buf_release(&hkey);
	if (rc) {
		account_verdict_release(v);
		memset(v, 0, sizeof(*v));
	}
	return rc;
}

/* ---- catalogs ------------------------------------------------------------ */

/* Fetches every page of one region's catalog (no lock held). */
static fc_err catalog_load(struct azure_client *ac, const char *sub, const char *region,
			   struct azure_catalog **out, struct az_fail *f)
{
	struct azure_catalog *cat = NULL;
	struct arm_resp r = {0};
	struct buf u;
	char *url = NULL, *next = NULL;
	size_t armlen = strlen(ac->arm);
	fc_err rc;

	*out = NULL;
	buf_init(&u, URL_MAX);
	buf_init(&r.body, 1);
	rc = buf_appendf(&u, "%s/subscriptions/", ac->arm);
	if (!rc)
		rc = seg(&u, sub);
	if (!rc)
		rc = buf_append_str(&u, "/providers/Microsoft.CognitiveServices/locations/");
	if (!rc)
		rc = seg(&u, region);
	if (!rc)
		rc = buf_appendf(&u, "/models?api-version=%s", ac->api);
	if (rc || !(url = buf_take(&u))) {
		rc = rc ? rc : FC_ERR_NOMEM;
		goto out;
	}
	rc = azure_catalog_new(&cat);
	if (rc)
		goto out;
	for (int page = 0;; page++) {
		if (page >= AZURE_CLIENT_MAX_PAGES) {
			fail(f, AZURE_REASON_UNREACHABLE,
			     "the model catalog of %s has more than %d pages", region,
			     AZURE_CLIENT_MAX_PAGES);
			goto out;
		}
		buf_release(&r.body);
		rc = arm_get(ac, "catalog", sub, url, CATALOG_MAX_BODY, &r, f);
		if (rc || f->reason)
			goto out;
		if (r.status == 404) {
			char detail[MSG_MAX];

			arm_error(&r.body, detail, sizeof(detail), NULL, 0, NULL, 0);
			fail(f, AZURE_REASON_UNREACHABLE,
			     "ARM has no model catalog for region %s (404%s%s)", region,
			     detail[0] ? " " : "", detail);
			goto out;
		}
		rc = azure_catalog_add_page(cat, r.body.data, r.body.len, &next);
		if (rc == FC_ERR_NOMEM)
			goto out;
		if (rc) {
			fail(f, AZURE_REASON_UNREACHABLE,
			     "ARM answered the model catalog request for %s with %s", region,
			     rc == FC_ERR_TOOBIG ? "too many entries" : "malformed JSON");
			rc = FC_OK;
			goto out;
		}
		if (!next)
			break;
		if (strncasecmp(next, ac->arm, armlen) != 0 || next[armlen] != '/') {
			fail(f, AZURE_REASON_UNREACHABLE,
			     "refusing the catalog's nextLink: it does not point into %s", ac->arm);
			goto out;
		}
		free(url);
		url = next;
		next = NULL;
	}
	*out = cat;
	cat = NULL;
out:
	if (rc == FC_ERR_TOOBIG) { /* an URL that does not fit */
		fail(f, AZURE_REASON_UNREACHABLE, "catalog URL too long");
		rc = FC_OK;
	}
	azure_catalog_free(cat);
	buf_release(&r.body);
	buf_release(&u);
	free(url);
	free(next);
	return rc;
}

static void slot_failure_locked(const struct cat_slot *s, int64_t now, struct az_fail *f)
{
	f->reason = s->fail_reason;
	snprintf(f->msg, sizeof(f->msg), "%s", s->fail_msg);
	f->retry_after_ms = 0;
	if (strcmp(s->fail_reason, AZURE_REASON_THROTTLED) == 0 && s->fail_until_ms > now)
		f->retry_after_ms = (long)(s->fail_until_ms - now);
}

/* Looks q up in (sub, region)'s catalog, loading it when needed. On an Azure
 * failure f->reason is set and r is untouched. */
static fc_err catalog_lookup(struct azure_client *ac, const char *sub, const char *region,
			     struct azure_catalog_query *q, struct azure_catalog_result *r,
			     struct az_fail *f)
{
	struct azure_catalog *fresh = NULL;
	struct cat_slot *s;
	struct buf key;
	int64_t now;
	fc_err rc = FC_OK;

	f->reason = NULL;
	f->retry_after_ms = 0;
	q->region = region;
	buf_init(&key, URL_MAX);
	rc = buf_appendf(&key, "%s|%s", sub, region);
	if (rc)
		goto out_nolock;
	for (char *p = key.data; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');

	pthread_mutex_lock(&ac->mu);
	s = map_get(&ac->catalogs, key.data);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || map_put(&ac->catalogs, key.data, s)) {
			free(s);
			rc = FC_ERR_NOMEM;
			goto out;
		}
	}
	for (;;) {
		uint64_t g;

		now = now_ms(ac);
		if (s->cat && !s->fail_reason && now < s->fetched_ms + ac->catalog_ttl_ms) {
			rc = azure_catalog_lookup(s->cat, q, r);
			goto out;
		}
		if (!s->loading && s->fail_reason && now < s->fail_until_ms) {
			slot_failure_locked(s, now, f);
			goto out;
		}
		if (!s->loading)
			break;
		g = s->gen;
		while (s->loading)
			pthread_cond_wait(&ac->cond, &ac->mu);
		if (s->gen == g)
			continue;
		/* the load we waited for completed: share its outcome */
		if (s->fail_reason)
			slot_failure_locked(s, now_ms(ac), f);
		else
			rc = azure_catalog_lookup(s->cat, q, r);
		goto out;
	}
	s->loading = 1;
	pthread_mutex_unlock(&ac->mu);

	rc = catalog_load(ac, sub, region, &fresh, f);

	pthread_mutex_lock(&ac->mu);
	now = now_ms(ac);
	s->loading = 0;
	s->gen++;
	if (rc) {
		s->fail_reason = AZURE_REASON_UNREACHABLE;
		snprintf(s->fail_msg, sizeof(s->fail_msg), "out of memory loading a catalog");
		s->fail_until_ms = now;
	} else if (f->reason) {
		/* throttling: exactly the Retry-After (the subscription gate also
		 * holds every other call); other failures: a short hold */
		long hold = strcmp(f->reason, AZURE_REASON_THROTTLED) == 0 ? f->retry_after_ms
									   : AZURE_CLIENT_FAILURE_HOLD_MS;

		s->fail_reason = f->reason;
		snprintf(s->fail_msg, sizeof(s->fail_msg), "%s", f->msg);
		s->fail_until_ms = now + hold;
	} else {
		azure_catalog_free(s->cat);
		s->cat = fresh;
		fresh = NULL;
		s->fetched_ms = now;
		s->fail_reason = NULL;
		log_debug("model catalog loaded", "region", region, NULL);
		rc = azure_catalog_lookup(s->cat, q, r);
	}
	pthread_cond_broadcast(&ac->cond);
out:
	pthread_mutex_unlock(&ac->mu);
out_nolock:
	azure_catalog_free(fresh);
	buf_release(&key);
	return rc;
}

/* ---- deployments --------------------------------------------------------- */

static fc_err parse_deployment(const struct arm_resp *r, struct dep_entry *e)
{
	cJSON *root = NULL;
	const char *s;
	fc_err rc;

	rc = json_parse(r->body.data, r->body.len, &root);
	if (rc)
		return FC_ERR_PARSE;
	rc = FC_ERR_NOMEM;
	if ((s = json_str_or(root, "properties.provisioningState", NULL)) && !(e->state = strdup(s)))
		goto out;
	if ((s = json_str_or(root, "properties.model.format", NULL)) && !(e->format = strdup(s)))
		goto out;
	if ((s = json_str_or(root, "properties.model.name", NULL)) && !(e->name = strdup(s)))
		goto out;
	if ((s = json_str_or(root, "properties.model.version", NULL)) && !(e->version = strdup(s)))
		goto out;
	rc = FC_OK;
out:
	cJSON_Delete(root);
	return rc;
}

static int str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static fc_err deployment_verdict_from(const struct spec_model *m, const struct spec_account *a,
				      const struct dep_entry *e, struct check *c)
{
	char msg[MSG_MAX];

	if (e->notfound) {
		snprintf(msg, sizeof(msg), "deployment %s not found in account %s", m->deployment,
			 a->account_name);
		return set_check(c, COND_FALSE, AZURE_REASON_DEPLOYMENT_NOT_FOUND, msg);
	}
	if (!e->state || strcasecmp(e->state, "Succeeded") != 0) {
		snprintf(msg, sizeof(msg), "deployment %s in account %s has provisioningState %s",
			 m->deployment, a->account_name, e->state ? e->state : "(none)");
		return set_check(c, COND_FALSE, AZURE_REASON_DEPLOYMENT_NOT_SUCCEEDED, msg);
	}
	if (!str_eq(e->name, m->model_name) || !str_eq(e->version, m->model_version) ||
	    (m->model_format && !str_eq(e->format, m->model_format))) {
		const char *what = !str_eq(e->name, m->model_name)         ? "model name"
				   : !str_eq(e->version, m->model_version) ? "model version"
									   : "model format";

		snprintf(msg, sizeof(msg),
			 "deployment %s serves %s%s%s %s but spec.model is %s%s%s %s (%s differs)",
			 m->deployment, e->format ? e->format : "", e->format ? " " : "",
			 e->name ? e->name : "(none)", e->version ? e->version : "(none)",
			 m->model_format ? m->model_format : "", m->model_format ? " " : "",
			 m->model_name, m->model_version, what);
		return set_check(c, COND_FALSE, AZURE_REASON_DEPLOYMENT_NOT_SUCCEEDED, msg);
	}
	snprintf(msg, sizeof(msg), "deployment %s serves %s %s (Succeeded)", m->deployment,
		 m->model_name, m->model_version);
	return set_check(c, COND_TRUE, AZURE_REASON_DEPLOYMENT_SUCCEEDED, msg);
}

#define DEP_SEEN_MAX 200000

/* Records the generation a model's deployment was last checked for. */
static void remember_seen(struct azure_client *ac, const char *model_key, int64_t generation)
{
	int64_t *g = malloc(sizeof(*g));

	if (!g)
		return;
	*g = generation;
	pthread_mutex_lock(&ac->mu);
	if (ac->dep_seen.n >= DEP_SEEN_MAX) { /* bounded: forget and start over */
		map_release(&ac->dep_seen);
		map_init(&ac->dep_seen, free);
	}
	if (map_put(&ac->dep_seen, model_key, g) == FC_OK)
		g = NULL;
	pthread_mutex_unlock(&ac->mu);
	free(g);
}

static fc_err check_deployment(struct azure_client *ac, const struct spec_model *m,
			       const struct spec_account *a, struct check *c, long *retry)
{
	struct buf url, key, hkey;
	struct arm_resp r = {0};
	struct az_fail f = {0};
	struct dep_entry *e = NULL;
	const struct dep_entry *cached;
	int done = 0;
	int64_t now;
	fc_err rc;

	buf_init(&url, URL_MAX);
	buf_init(&key, URL_MAX * 2);
	buf_init(&hkey, URL_MAX * 3 + 8);
	buf_init(&r.body, 1);
	rc = account_url(ac, a, &url);
	if (!rc)
		rc = buf_append_str(&url, "/deployments/");
	if (!rc)
		rc = seg(&url, m->deployment);
	if (!rc)
		rc = buf_appendf(&url, "?api-version=%s", ac->api);
	/* one cache entry per deployment (however many models share it); a
	 * model whose spec changed since it was last checked, or a new model
	 * meeting a cached 404, asks ARM again at once (DESIGN.md §4) */
	if (!rc)
		rc = buf_appendf(&key, "%s/%s", m->meta.ns ? m->meta.ns : "",
				 m->meta.name ? m->meta.name : "");
	if (!rc)
		rc = buf_appendf(&hkey, "d|%s|%s", key.data, url.data);
	if (rc)
		goto out;

	pthread_mutex_lock(&ac->mu);
	now = now_ms(ac);
	cached = map_get(&ac->deployments, url.data);
	{
		const int64_t *seen = map_get(&ac->dep_seen, key.data);
		int changed = seen ? *seen != m->meta.generation : (cached && cached->notfound);

		if (cached && !changed && now < cached->fetched_ms + ac->dep_ttl_ms) {
			rc = deployment_verdict_from(m, a, cached, c);
			done = 1;
		}
	}
	pthread_mutex_unlock(&ac->mu);
	if (done) {
		remember_seen(ac, key.data, m->meta.generation);
		goto out;
	}
	if (failure_held(ac, hkey.data, m->meta.generation, &f)) {
		rc = set_check(c, COND_UNKNOWN, f.reason, f.msg);
		goto out;
	}

	rc = arm_get(ac, "deployment", a->subscription_id, url.data, ACCOUNT_MAX_BODY, &r, &f);
	if (rc)
		goto out;
	if (f.reason) {
		hold_failure(ac, hkey.data, m->meta.generation, f.reason, f.msg);
		if (f.retry_after_ms > *retry)
			*retry = f.retry_after_ms;
		rc = set_check(c, COND_UNKNOWN, f.reason, f.msg);
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	e->generation = m->meta.generation;
	e->fetched_ms = now_ms(ac);
	if (r.status == 404) {
		e->notfound = 1;
	} else {
		rc = parse_deployment(&r, e);
		if (rc == FC_ERR_PARSE) {
			static const char bad[] =
				"ARM answered the deployment request with malformed JSON";

			hold_failure(ac, hkey.data, m->meta.generation, AZURE_REASON_UNREACHABLE, bad);
			rc = set_check(c, COND_UNKNOWN, AZURE_REASON_UNREACHABLE, bad);
			goto out;
		}
		if (rc)
			goto out;
	}
	hold_failure(ac, hkey.data, m->meta.generation, NULL, NULL); /* ARM answered */
	rc = deployment_verdict_from(m, a, e, c);
	if (rc)
		goto out;
	pthread_mutex_lock(&ac->mu);
	prune_locked(ac, e->fetched_ms);
	if (map_put(&ac->deployments, url.data, e) == FC_OK)
		e = NULL;
	pthread_mutex_unlock(&ac->mu);
	remember_seen(ac, key.data, m->meta.generation);
out:
	dep_entry_free(e);
	buf_release(&r.body);
	buf_release(&url);
	buf_release(&key);
	buf_release(&hkey);
	return rc;
}

/* ---- models -------------------------------------------------------------- */

static int same_account(const struct spec_account *x, const struct spec_account *y)
{
	if (x == y)
		return 1;
	return str_eq(x->meta.ns, y->meta.ns) && str_eq(x->meta.name, y->meta.name);
}

/* Fills available_regions and finishes the region message with the
 * --suggest-regions outcome. */
static fc_err suggest(struct azure_client *ac, const struct spec_account *a,
		      const struct account_verdict *av, struct azure_catalog_query *q,
		      struct model_verdict *out, struct buf *msg, long *retry)
{
	struct buf unknown;
	size_t checked = 0;
	fc_err rc = FC_OK;

	buf_init(&unknown, MODEL_MSG_MAX);
	if (!ac->nsuggest)
		return FC_OK;
	out->available_regions = calloc(ac->nsuggest, sizeof(*out->available_regions));
	if (!out->available_regions)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < ac->nsuggest; i++) {
		struct azure_catalog_result r;
		struct az_fail f;
		const char *region = ac->suggest[i];

		if (strcmp(region, av->region) == 0)
			continue;
		checked++;
		rc = catalog_lookup(ac, a->subscription_id, region, q, &r, &f);
		if (rc)
			goto out;
		if (f.reason) {
			if (f.retry_after_ms > *retry)
				*retry = f.retry_after_ms;
			buf_appendf(&unknown, "%s%s (%s)", unknown.len ? ", " : "", region, f.reason);
			continue;
		}
		if (r.outcome != AZURE_CATALOG_AVAILABLE)
			continue;
		out->available_regions[out->navailable_regions] = strdup(region);
		if (!out->available_regions[out->navailable_regions]) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
		out->navailable_regions++;
	}
	if (out->navailable_regions) {
		buf_append_str(msg, "; offered in ");
		for (size_t i = 0; i < out->navailable_regions; i++)
			buf_appendf(msg, "%s%s", i ? ", " : "", out->available_regions[i]);
	} else if (checked > 0 && !unknown.len) {
		size_t k = 0;

		buf_append_str(msg, "; not offered in any of the --suggest-regions (");
		for (size_t i = 0; i < ac->nsuggest; i++)
			if (strcmp(ac->suggest[i], av->region) != 0)
				buf_appendf(msg, "%s%s", k++ ? ", " : "", ac->suggest[i]);
		buf_append_str(msg, ")");
	}
	if (unknown.len)
		buf_appendf(msg, "; could not check %s", unknown.data);
out:
	if (!out->navailable_regions) {
		free(out->available_regions);
		out->available_regions = NULL;
	}
	buf_release(&unknown);
	return rc;
}

/* The catalog question for model m on an account of the given ARM kind. */
static void model_query(const struct azure_client *ac, const struct spec_model *m,
			const char *kind, int64_t now_s, struct azure_catalog_query *q)
{
	memset(q, 0, sizeof(*q));
	q->kind = kind;
	q->format = m->model_format;
	q->name = m->model_name;
	q->version = m->model_version;
	q->sku = m->sku;
	q->now = now_s;
	q->warning_s = ac->warning_ms / 1000;
}

static fc_err check_region(struct azure_client *ac, const struct spec_model *m,
			   const struct spec_account *a, const struct account_verdict *av,
			   int64_t now_s, struct model_verdict *out, long *retry)
{
	struct azure_catalog_query q;
	struct azure_catalog_result r;
	struct az_fail f;
	struct buf msg;
	char when[AZURE_CATALOG_TIME_LEN];
	char *s = NULL;
	fc_err rc;

	buf_init(&msg, MODEL_MSG_MAX);
	model_query(ac, m, av->kind, now_s, &q);
	rc = catalog_lookup(ac, a->subscription_id, av->region, &q, &r, &f);
	if (rc)
		goto out;
	if (f.reason) {
		if (f.retry_after_ms > *retry)
			*retry = f.retry_after_ms;
		rc = set_check(&out->region, COND_UNKNOWN, f.reason, f.msg);
		if (!rc)
			rc = set_check(&out->deprecated, COND_UNKNOWN, f.reason, f.msg);
		goto out;
	}
	if (r.retirement != AZURE_CATALOG_NO_DATE) {
		azure_catalog_time_format(r.retirement, when);
		if (!(out->retirement_date = strdup(when))) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
	}
	if (r.outcome == AZURE_CATALOG_AVAILABLE) {
		buf_appendf(&msg, "%s %s %s is offered in %s", m->model_name, m->model_version,
			    m->sku, av->region);
		rc = set_check(&out->region, COND_TRUE, AZURE_REASON_MODEL_AVAILABLE, msg.data);
		if (!rc && r.deprecated)
			rc = set_check(&out->deprecated, COND_TRUE, AZURE_REASON_MODEL_DEPRECATING,
				       r.deprecated_message);
		else if (!rc)
			rc = set_check(&out->deprecated, COND_FALSE, AZURE_REASON_NOT_DEPRECATED,
				       NULL);
		goto out;
	}
	buf_append_str(&msg, r.message);
	rc = suggest(ac, a, av, &q, out, &msg, retry);
	if (rc)
		goto out;
	s = buf_take(&msg);
	if (!s) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	rc = set_check(&out->region, COND_FALSE, azure_catalog_outcome_reason(r.outcome), s);
	if (rc)
		goto out;
	if (r.outcome == AZURE_CATALOG_MODEL_RETIRED)
		rc = set_check(&out->deprecated, COND_TRUE, AZURE_REASON_MODEL_RETIRED,
			       r.deprecated_message);
	else
		rc = set_check(&out->deprecated, COND_UNKNOWN, azure_catalog_outcome_reason(r.outcome),
			       NULL);
out:
	free(s);
	buf_release(&msg);
	return rc;
}

static fc_err check_consolidation(struct azure_client *ac, const struct spec_model *m,
				  const struct spec_account *a, const struct account_verdict *av,
				  const struct spec_account *p, const struct account_verdict *pv,
				  int64_t now_s, struct model_verdict *out)
{
	struct azure_catalog_query q;
	struct azure_catalog_result r;
	struct az_fail f;
	char msg[MSG_MAX];
	fc_err rc;

	if (!p || !pv || same_account(a, p) || !pv->region || !pv->kind || !p->subscription_id ||
	    (av->region && strcmp(av->region, pv->region) == 0))
		return FC_OK;
	model_query(ac, m, pv->kind, now_s, &q);
	rc = catalog_lookup(ac, p->subscription_id, pv->region, &q, &r, &f);
	if (rc || f.reason || r.outcome != AZURE_CATALOG_AVAILABLE)
		return rc; /* an Azure failure here only delays the hint */
	snprintf(msg, sizeof(msg),
		 "%s %s %s is now offered in %s, the primary account's region: the model can move "
		 "back to %s",
		 m->model_name, m->model_version, m->sku, pv->region,
		 p->meta.name ? p->meta.name : p->account_name);
	out->consolidation = strdup(msg);
	return out->consolidation ? FC_OK : FC_ERR_NOMEM;
}

/* The same Unknown region, deployment and deprecation checks: the model
 * could not be looked at. */
static fc_err all_unknown(struct model_verdict *out, const char *reason, const char *msg)
{
	fc_err rc = set_check(&out->region, COND_UNKNOWN, reason, msg);

	if (!rc)
		rc = set_check(&out->deployment, COND_UNKNOWN, reason, msg);
	if (!rc)
		rc = set_check(&out->deprecated, COND_UNKNOWN, reason, msg);
	return rc;
}

fc_err azure_client_check_model(struct azure_client *ac, const struct spec_model *m,
				const struct spec_account *a, const struct account_verdict *av,
				const struct spec_account *primary,
				const struct account_verdict *primary_verdict, int check_dep,
				int64_t now, struct model_verdict *out, long *retry_after_ms)
{
	long retry = 0;
	int64_t now_s;
	fc_err rc;

	if (retry_after_ms)
		*retry_after_ms = 0;
	if (!ac || !m || !a || !out)
		return FC_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->generation = m->meta.generation;
	now_s = now ? now : now_ms(ac) / 1000;

	if (m->invalid || !m->model_name || !m->model_version || !m->sku || !m->deployment) {
		const char *why = m->invalid ? m->invalid : "incomplete spec";

		rc = all_unknown(out, AZURE_REASON_INVALID_SPEC, why);
		goto out;
	}
	if (!av || !av->region || !av->kind) {
		char msg[MSG_MAX];
		const char *reason = av && av->ready.reason ? av->ready.reason
							    : AZURE_REASON_ACCOUNT_NOT_READY;

		snprintf(msg, sizeof(msg), "account %s: %s", a->meta.name ? a->meta.name : "",
			 av && av->ready.message ? av->ready.message : "not checked yet");
		rc = all_unknown(out, reason, msg);
		goto out;
	}
	rc = check_region(ac, m, a, av, now_s, out, &retry);
	if (!rc)
		rc = check_consolidation(ac, m, a, av, primary, primary_verdict, now_s, out);
	if (rc)
		goto out;
	if (!check_dep)
		rc = set_check(&out->deployment, COND_UNKNOWN, AZURE_REASON_VALIDATION_SKIPPED,
			       "the deployment is not checked (--check-deployments)");
	else
		rc = check_deployment(ac, m, a, &out->deployment, &retry);
out:
	if (rc) {
		model_verdict_release(out);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	if (retry_after_ms)
		*retry_after_ms = retry;
	return FC_OK;
}
