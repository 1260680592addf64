#include "render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "sha256.h"

#define KEY_ENDPOINT "FOUNDRY_ENDPOINT"
#define PFX_DEPLOYMENT "FOUNDRY_DEPLOYMENT_"
#define PFX_ENDPOINT "FOUNDRY_ENDPOINT_"
/* a condition message is at most 32768 characters (CRD); stay below */
#define MSG_MAX 30000
#define MAX_ISSUES 8

const char *cond_status_name(enum cond_status s)
{
	switch (s) {
	case COND_TRUE:
		return "True";
	case COND_FALSE:
		return "False";
	case COND_UNKNOWN:
		break;
	}
	return "Unknown";
}

void check_release(struct check *c)
{
	if (!c)
		return;
	free(c->message);
	c->message = NULL;
}

void account_verdict_release(struct account_verdict *v)
{
	if (!v)
		return;
	check_release(&v->ready);
	free(v->endpoint);
	free(v->region);
	free(v->kind);
	memset(v, 0, sizeof(*v));
}

void model_verdict_release(struct model_verdict *v)
{
	if (!v)
		return;
	check_release(&v->region);
	check_release(&v->deployment);
	check_release(&v->deprecated);
	free(v->retirement_date);
	for (size_t i = 0; i < v->navailable_regions; i++)
		free(v->available_regions[i]);
	free(v->available_regions);
	free(v->consolidation);
	memset(v, 0, sizeof(*v));
}

/* ---- small helpers ---- */

/* Drops a UTF-8 sequence left incomplete at the end of p[0..len). */
static void utf8_cut(char *p, size_t len)
{
	size_t i = len, need;
	unsigned char c;

	while (i > 0 && ((unsigned char)p[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)p[i - 1];
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (len - (i - 1) < need)
		p[i - 1] = '\0';
}

static char *msgf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf into a new string, cut at MSG_MAX bytes on a UTF-8 boundary.
 * NULL on NOMEM. */
static char *msgf(const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	size_t len;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	len = (size_t)n > MSG_MAX ? MSG_MAX : (size_t)n;
	p = malloc(len + 1);
	if (p)
		vsnprintf(p, len + 1, fmt, ap);
	va_end(ap);
	if (!p)
		return NULL;
	if ((size_t)n > len)
		utf8_cut(p, len);
	return p;
}

static char *xstrdup(const char *s, fc_err *rc)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		*rc = FC_ERR_NOMEM;
	return p;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* "A, B, C" of n strings; NULL on NOMEM. */
static char *join(const char *const *items, size_t n)
{
	struct buf b;

	buf_init(&b, MSG_MAX);
	for (size_t i = 0; i < n; i++)
		if ((i && buf_append_str(&b, ", ")) || buf_append_str(&b, items[i])) {
			buf_release(&b);
			return NULL;
		}
	return buf_take(&b);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *current_value(const struct render_input *in, const char *pfx, const char *key)
{
	size_t pl = strlen(pfx);

	for (size_t i = 0; i < in->ncurrent; i++) {
		const char *k = in->current[i].key;

		if (k && in->current[i].value && !strncmp(k, pfx, pl) && !strcmp(k + pl, key))
			return in->current[i].value;
	}
	return NULL;
}

/* The foreign owner of pfx+key when its value differs from value, else NULL. */
static const char *foreign_conflict(const struct render_input *in, const char *pfx,
				    const char *key, const char *value)
{
	size_t pl = strlen(pfx);

	for (size_t i = 0; i < in->nforeign; i++) {
		const struct foreign_key *f = &in->foreign[i];

		if (!f->key || strncmp(f->key, pfx, pl) || strcmp(f->key + pl, key))
			continue;
		if (!f->value || !value || strcmp(f->value, value))
			return f->manager ? f->manager : "another field manager";
	}
	return NULL;
}

/* ---- rendered data ---- */

struct kvvec {
	struct kv *v;
	size_t n, cap;
};

static fc_err kv_add(struct kvvec *d, const char *pfx, const char *key, const char *value)
{
	struct kv e;

	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct kv *p = realloc(d->v, ncap * sizeof(*p));

		if (!p)
			return FC_ERR_NOMEM;
		d->v = p;
		d->cap = ncap;
	}
	e.key = msgf("%s%s", pfx, key);
	/* as the API server will store it (a value from ARM may not be UTF-8) */
	e.value = json_utf8_clean(value);
	if (!e.key || !e.value) {
		free(e.key);
		free(e.value);
		return FC_ERR_NOMEM;
	}
	d->v[d->n++] = e;
	return FC_OK;
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static fc_err hash_data(const struct kv *data, size_t n, char **out)
{
	struct sha256 c;
	unsigned char dig[SHA256_DIGEST_LEN];

	*out = malloc(SHA256_HEX_LEN + 1);
	if (!*out)
		return FC_ERR_NOMEM;
	sha256_init(&c);
	for (size_t i = 0; i < n; i++) {
		sha256_update(&c, data[i].key, strlen(data[i].key));
		sha256_update(&c, "=", 1);
		sha256_update(&c, data[i].value, strlen(data[i].value));
		sha256_update(&c, "\n", 1);
	}
	sha256_final(&c, dig);
	sha256_to_hex(dig, *out);
	return FC_OK;
}

/* ---- conditions ---- */

static fc_err cond_set(struct render_cond *c, const char *type, enum cond_status st,
		       const char *reason, char *msg)
{
	c->type = type;
	c->status = st;
	c->reason = reason;
	c->message = msg;
	return msg ? FC_OK : FC_ERR_NOMEM;
}

static void cond_release(struct render_cond *c)
{
	free(c->message);
	c->message = NULL;
}

/* Ready reason priority (DESIGN.md §2). Reasons not listed rank with the
 * verdict reasons, after DeploymentNotSucceeded. */
static int rank(const char *reason)
{
	static const char *const order[] = {
		"InvalidSpec", "AccountNotFound", "AccountNotReady", "PrimaryConflict",
		"ModelRetired", "ModelNotInRegion", "SkuNotInRegion", "DeploymentNotFound",
		"DeploymentNotSucceeded",
	};
	static const char *const late[] = {
		"AzureForbidden", "AzureThrottled", "AzureUnreachable", "ValidationPending",
		"KeyConflict",
	};
	size_t n = sizeof(order) / sizeof(order[0]);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(reason, order[i]))
			return (int)i;
	for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++)
		if (!strcmp(reason, late[i]))
			return (int)(n + 1 + i);
	return (int)n;
}

/* ---- accounts ---- */

struct acct_eval {
	int usable;
	int primary;            /* THE primary */
	int loser;              /* primary=true but another is older */
	const char *endpoint;   /* borrowed */
	const char *region;     /* borrowed */
	const char *kind;       /* borrowed */
};

static const struct account_verdict *acct_verdict(const struct render_input *in, size_t i)
{
	return in->account_verdicts ? in->account_verdicts[i] : NULL;
}

static long find_primary(const struct render_input *in)
{
	long best = -1;

	for (size_t i = 0; i < in->naccounts; i++) {
		const struct spec_account *a = &in->accounts[i];

		if (!a->primary || a->meta.deleting)
			continue;
		if (best < 0 || spec_meta_older(&a->meta, &in->accounts[best].meta) < 0)
			best = (long)i;
	}
	return best;
}

static void acct_usable(const struct spec_account *a, const struct account_verdict *v,
			struct acct_eval *e)
{
	e->region = a->status_region ? a->status_region : a->region;
	e->kind = a->status_kind;
	if (a->invalid || a->meta.deleting)
		return;
	if (v && v->ready.status == COND_TRUE) {
		if (v->region)
			e->region = v->region;
		if (v->kind)
			e->kind = v->kind;
		e->endpoint = v->endpoint;
	} else if ((!v || v->ready.status == COND_UNKNOWN) && a->status_endpoint) {
		e->endpoint = a->status_endpoint; /* last known good */
	}
	e->usable = e->endpoint && *e->endpoint;
}

static fc_err acct_ready(const struct render_input *in, size_t i, const struct acct_eval *ev,
			 long primary, struct render_cond *c)
{
	const struct spec_account *a = &in->accounts[i];
	const struct account_verdict *v = acct_verdict(in, i);

	if (a->invalid)
		return cond_set(c, "Ready", COND_FALSE, "InvalidSpec", msgf("%s", a->invalid));
	if (a->meta.deleting)
		return cond_set(c, "Ready", COND_FALSE, "Deleting",
				msgf("FoundryAccount %s is being deleted", a->meta.name));
	if (!ev[i].usable) {
		if (v && v->ready.status == COND_TRUE)
			return cond_set(c, "Ready", COND_FALSE, "AccountNotReady",
					msgf("Azure reports no inference endpoint for account %s; "
					     "set spec.endpoint", a->account_name));
		if (v && v->ready.status == COND_FALSE)
			return cond_set(c, "Ready", COND_FALSE,
					v->ready.reason ? v->ready.reason : "AccountNotReady",
					msgf("%s", v->ready.message ? v->ready.message
						   : "the account is not ready in Azure"));
		if (v)
			return cond_set(c, "Ready", COND_UNKNOWN,
					v->ready.reason ? v->ready.reason : "AzureUnreachable",
					msgf("%s", v->ready.message ? v->ready.message
						   : "Azure could not be asked about the account"));
		return cond_set(c, "Ready", COND_UNKNOWN, "ValidationPending",
				msgf("waiting for the Azure check of account %s", a->account_name));
	}
	if (ev[i].loser)
		return cond_set(c, "Ready", COND_FALSE, "PrimaryConflict",
				msgf("FoundryAccount %s (older) is the primary of namespace %s; set "
				     "spec.primary: false on one of them. Models on %s are published "
				     "with FOUNDRY_ENDPOINT_<KEY>", in->accounts[primary].meta.name,
				     a->meta.ns, a->meta.name));
	if (v && v->ready.status == COND_TRUE && v->ready.message)
		return cond_set(c, "Ready", COND_TRUE, v->ready.reason ? v->ready.reason : "AccountReady",
				msgf("%s", v->ready.message));
	return cond_set(c, "Ready", COND_TRUE, "AccountReady",
			msgf("endpoint %s%s%s%s%s%s", ev[i].endpoint,
			     ev[i].region ? ", region " : "", nz(ev[i].region),
			     ev[i].kind ? ", kind " : "", nz(ev[i].kind),
			     ev[i].primary ? " (primary: FOUNDRY_ENDPOINT)" : ""));
}

static fc_err acct_status(const struct render_input *in, size_t i, const struct acct_eval *ev,
			  long primary, struct render_account_status *st)
{
	fc_err rc = FC_OK;

	st->usable = ev[i].usable;
	st->primary = ev[i].primary;
	st->endpoint = xstrdup(ev[i].endpoint ? ev[i].endpoint : in->accounts[i].status_endpoint, &rc);
	st->region = xstrdup(ev[i].region, &rc);
	st->kind = xstrdup(ev[i].kind, &rc);
	if (rc)
		return rc;
	st->nconds = 1;
	return acct_ready(in, i, ev, primary, &st->conds[0]);
}

/* ---- models ---- */

struct issue {
	const char *reason;
	char *msg;          /* owned */
	int blocks;         /* the current generation cannot be published */
	int fails_ready;    /* Ready is not True */
};

struct model_eval {
	long acc;                        /* index in in->accounts, -1 if none */
	int skip;
	struct issue issues[MAX_ISSUES];
	size_t nissues;
	int publishable;
	struct render_cond region, deployment, deprecated;
	char *const *regions;            /* borrowed */
	size_t nregions;
	const char *retirement;          /* borrowed */
	const char *lkg[SPEC_MAX_KEYS];  /* borrowed from the model's published_keys */
	size_t nlkg;
	int loser;
	size_t winner;
	const char *conflict_key;
	const char *foreign_manager;     /* loser to a key of another field manager */
	int published, kept;
};

static void eval_release(struct model_eval *e)
{
	for (size_t i = 0; i < e->nissues; i++)
		free(e->issues[i].msg);
	cond_release(&e->region);
	cond_release(&e->deployment);
	cond_release(&e->deprecated);
}

/* Adds an issue keeping the list in rank order (stable). Takes msg. */
static fc_err add_issue(struct model_eval *e, const char *reason, char *msg, int blocks, int fails)
{
	size_t i;

	if (!msg)
		return FC_ERR_NOMEM;
	if (e->nissues == MAX_ISSUES)
		FC_BUG("render: too many issues");
	for (i = e->nissues; i > 0 && rank(e->issues[i - 1].reason) > rank(reason); i--)
		e->issues[i] = e->issues[i - 1];
	e->issues[i] = (struct issue){ reason, msg, blocks, fails };
	e->nissues++;
	return FC_OK;
}

/* Effective outcome of one check for the current generation, and the
 * condition to show. fresh: the verdict's check when the verdict is for the
 * current generation, else NULL. blocked: the reason (InvalidSpec,
 * AccountNotFound, AccountNotReady) that keeps Azure from being asked, or
 * NULL. */
static fc_err eval_check(const char *type, const struct check *fresh,
			 const struct spec_stored_cond *stored, int64_t gen, const char *blocked,
			 const char *true_reason, const char *true_msg, struct render_cond *c)
{
	if (fresh && fresh->status != COND_UNKNOWN)
		return cond_set(c, type, fresh->status,
				fresh->reason ? fresh->reason
					      : fresh->status == COND_TRUE ? true_reason : "Unavailable",
				msgf("%s", fresh->message ? fresh->message
					   : fresh->status == COND_TRUE ? true_msg : ""));
	if (stored->known && fresh)
		return cond_set(c, type, stored->is_true ? COND_TRUE : COND_FALSE, stored->reason,
				msgf("the latest Azure check failed (%s: %s); the result obtained "
				     "for generation %lld stands", fresh->reason ? fresh->reason
				     : "AzureUnreachable", nz(fresh->message), (long long)gen));
	if (stored->known)
		return cond_set(c, type, stored->is_true ? COND_TRUE : COND_FALSE, stored->reason,
				msgf("%s", nz(stored->message)));
	if (blocked)
		return cond_set(c, type, COND_UNKNOWN, blocked,
				msgf("not checked against Azure until %s is resolved", blocked));
	if (fresh)
		return cond_set(c, type, COND_UNKNOWN, fresh->reason ? fresh->reason : "AzureUnreachable",
				msgf("%s", fresh->message ? fresh->message
					   : "Azure could not be asked"));
	return cond_set(c, type, COND_UNKNOWN, "ValidationPending",
			msgf("waiting for the Azure check of generation %lld", (long long)gen));
}

/* Deprecated: True only when the verdict says so. A verdict whose catalog
 * check is known but that says nothing about deprecation means False. */
static fc_err eval_deprecated(const struct model_verdict *v, const struct spec_stored_cond *stored,
			      const char *blocked, struct render_cond *c)
{
	const struct check *fresh = v ? &v->deprecated : NULL;

	if (fresh && fresh->status != COND_UNKNOWN)
		return cond_set(c, "Deprecated", fresh->status,
				fresh->reason ? fresh->reason
					      : fresh->status == COND_TRUE ? "Deprecating" : "NotDeprecated",
				msgf("%s", fresh->message ? fresh->message
					   : fresh->status == COND_TRUE ? "the model or SKU is being retired"
					   : "no retirement announced"));
	if (fresh && !fresh->reason && v->region.status != COND_UNKNOWN)
		return cond_set(c, "Deprecated", COND_FALSE, "NotDeprecated",
				msgf("no retirement announced"));
	if (stored->known)
		return cond_set(c, "Deprecated", stored->is_true ? COND_TRUE : COND_FALSE,
				stored->reason, msgf("%s", nz(stored->message)));
	if (blocked)
		return cond_set(c, "Deprecated", COND_UNKNOWN, blocked,
				msgf("not checked against Azure until %s is resolved", blocked));
	if (fresh)
		return cond_set(c, "Deprecated", COND_UNKNOWN,
				fresh->reason ? fresh->reason
				: v->region.reason ? v->region.reason : "AzureUnreachable",
				msgf("%s", fresh->message ? fresh->message : "Azure could not be asked"));
	return cond_set(c, "Deprecated", COND_UNKNOWN, "ValidationPending",
			msgf("waiting for the Azure check"));
}

static const struct model_verdict *model_verdict(const struct render_input *in, size_t i)
{
	return in->model_verdicts ? in->model_verdicts[i] : NULL;
}

static long find_account(const struct render_input *in, const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < in->naccounts; i++)
		if (!strcmp(in->accounts[i].meta.name, name))
			return (long)i;
	return -1;
}

/* Verdict side of a model: the three check conditions and their issues.
 * blocked: see eval_check(). */
static fc_err eval_verdict(const struct spec_model *m, const struct model_verdict *v,
			   const char *blocked, struct model_eval *e)
{
	int current = v && v->generation == m->meta.generation && !v->skipped;
	int enforce = m->validation == VALIDATION_ENFORCE;
	const struct render_cond *checks[2];
	fc_err rc;

	if (e->skip) {
		const char *why = "validation is Skip: Azure was not asked";

		if ((rc = cond_set(&e->region, "RegionAvailable", COND_UNKNOWN, "ValidationSkipped",
				   msgf("%s", why))) ||
		    (rc = cond_set(&e->deployment, "DeploymentReady", COND_UNKNOWN, "ValidationSkipped",
				   msgf("%s", why))))
			return rc;
		return cond_set(&e->deprecated, "Deprecated", COND_UNKNOWN, "ValidationSkipped",
				msgf("%s", why));
	}
	if ((rc = eval_check("RegionAvailable", current ? &v->region : NULL, &m->stored_region,
			     m->meta.generation, blocked, "ModelAvailable",
			     "the model, version and SKU are offered in the account's region",
			     &e->region)) ||
	    (rc = eval_check("DeploymentReady", current ? &v->deployment : NULL, &m->stored_deployment,
			     m->meta.generation, blocked, "DeploymentSucceeded",
			     "the deployment exists and has succeeded", &e->deployment)) ||
	    (rc = eval_deprecated(current ? v : NULL, &m->stored_deprecated, blocked, &e->deprecated)))
		return rc;
	if (current && v->region.status != COND_UNKNOWN) {
		e->regions = v->available_regions;
		e->nregions = v->navailable_regions;
	} else if (m->stored_region.known) {
		e->regions = m->status_available_regions;
		e->nregions = m->nstatus_available_regions;
	}
	if (current && (v->region.status != COND_UNKNOWN || v->deprecated.status != COND_UNKNOWN))
		e->retirement = v->retirement_date;
	else if (m->stored_region.known || m->stored_deprecated.known)
		e->retirement = m->status_retirement_date;

	checks[0] = &e->region;
	checks[1] = &e->deployment;
	for (int i = 0; i < 2; i++) {
		if (checks[i]->status == COND_TRUE || (blocked && checks[i]->status == COND_UNKNOWN))
			continue;
		if ((rc = add_issue(e, checks[i]->reason, msgf("%s", checks[i]->message),
				    enforce, enforce)))
			return rc;
	}
	return FC_OK;
}

static fc_err eval_model(const struct render_input *in, size_t mi, const struct acct_eval *aev,
			 long primary, struct model_eval *e)
{
	const struct spec_model *m = &in->models[mi];
	const struct model_verdict *v = model_verdict(in, mi);
	const char *blocked = NULL;
	fc_err rc;

	e->acc = find_account(in, m->account_ref);
	e->skip = m->validation == VALIDATION_SKIP || (v && v->skipped);
	if (m->invalid && (rc = add_issue(e, "InvalidSpec", msgf("%s", m->invalid), 1, 1)))
		return rc;
	if (m->account_ref && e->acc < 0 &&
	    (rc = add_issue(e, "AccountNotFound",
			    msgf("FoundryAccount %s not found in namespace %s; create it or fix "
				 "spec.accountRef.name", m->account_ref, m->meta.ns), 1, 1)))
		return rc;
	if (e->acc >= 0 && !aev[e->acc].usable) {
		const struct spec_account *a = &in->accounts[e->acc];
		const struct account_verdict *av = acct_verdict(in, (size_t)e->acc);
		const char *why = a->invalid ? "its spec is invalid"
				: a->meta.deleting ? "it is being deleted"
				: av && av->ready.message ? av->ready.message
				: av ? "Azure gave no usable endpoint" : "it has not been checked yet";

		if ((rc = add_issue(e, "AccountNotReady",
				    msgf("FoundryAccount %s is not ready: %s", a->meta.name, why), 1, 1)))
			return rc;
	}
	if (e->acc >= 0 && aev[e->acc].usable && aev[e->acc].loser &&
	    (rc = add_issue(e, "PrimaryConflict",
			    msgf("FoundryAccount %s is primary: true but %s (older) is the primary of "
				 "namespace %s; this model's keys carry FOUNDRY_ENDPOINT_<KEY>",
				 m->account_ref, in->accounts[primary].meta.name, m->meta.ns), 0, 1)))
		return rc;
	for (size_t i = 0; i < e->nissues && !blocked; i++)
		if (e->issues[i].blocks)
			blocked = e->issues[i].reason;
	if ((rc = eval_verdict(m, v, blocked, e)))
		return rc;
	/* after the verdict: holding back is no reason not to show it */
	if (in->held && in->held[mi] && !m->meta.deleting &&
	    (rc = add_issue(e, in->held_reason ? in->held_reason : "NotPublished",
			    msgf("%s", nz(in->held_message)), 1, 1)))
		return rc;
	e->publishable = !m->meta.deleting && m->nkeys > 0;
	for (size_t i = 0; i < e->nissues; i++)
		if (e->issues[i].blocks)
			e->publishable = 0;
	if (!e->publishable && !m->meta.deleting)
		for (size_t i = 0; i < m->npublished; i++)
			if (current_value(in, PFX_DEPLOYMENT, m->published_keys[i]))
				e->lkg[e->nlkg++] = m->published_keys[i];
	return FC_OK;
}

/* Model indices, oldest first. */
static void age_order(const struct render_input *in, size_t *idx)
{
	for (size_t i = 0; i < in->nmodels; i++) {
		size_t j = i;

		while (j > 0 && spec_meta_older(&in->models[idx[j - 1]].meta, &in->models[i].meta) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
}

struct claim {
	const char *key;
	size_t owner;
};

/* Resolves key claims oldest first (all-or-nothing per model). */
static fc_err resolve_claims(const struct render_input *in, const struct acct_eval *aev,
			     struct model_eval *ev)
{
	size_t *idx = NULL, nclaims = 0;
	struct claim *claims = NULL;
	fc_err rc = FC_ERR_NOMEM;

	idx = calloc(in->nmodels ? in->nmodels : 1, sizeof(*idx));
	claims = calloc(in->nmodels ? in->nmodels * SPEC_MAX_KEYS : 1, sizeof(*claims));
	if (!idx || !claims)
		goto out;
	age_order(in, idx);
	for (size_t o = 0; o < in->nmodels; o++) {
		size_t mi = idx[o];
		const struct spec_model *m = &in->models[mi];
		struct model_eval *e = &ev[mi];
		const char *const *keys = e->publishable ? (const char *const *)m->keys : e->lkg;
		size_t nkeys = e->publishable ? m->nkeys : e->nlkg;

		if (m->meta.deleting)
			continue;
		/* keys other managers own are never changed */
		for (size_t k = 0; e->publishable && k < nkeys && !e->loser; k++) {
			const char *fm = foreign_conflict(in, PFX_DEPLOYMENT, keys[k], m->deployment);

			if (!fm && e->acc >= 0 && !aev[e->acc].primary)
				fm = foreign_conflict(in, PFX_ENDPOINT, keys[k], aev[e->acc].endpoint);
			if (fm) {
				e->loser = 1;
				e->foreign_manager = fm;
				e->conflict_key = keys[k];
			}
		}
		for (size_t k = 0; k < nkeys && !e->loser; k++)
			for (size_t c = 0; c < nclaims; c++)
				if (!strcmp(claims[c].key, keys[k])) {
					e->loser = 1;
					e->winner = claims[c].owner;
					e->conflict_key = keys[k];
					break;
				}
		if (e->loser || !nkeys)
			continue;
		for (size_t k = 0; k < nkeys; k++)
			claims[nclaims++] = (struct claim){ keys[k], mi };
		if (e->publishable)
			e->published = 1;
		else
			e->kept = 1;
	}
	rc = FC_OK;
out:
	free(idx);
	free(claims);
	return rc;
}

/* FOUNDRY_ENDPOINT stays as last known good when the namespace's primary
 * account exists but cannot be used now, or when a model keeps keys that
 * resolve to it (no FOUNDRY_ENDPOINT_<KEY> of their own): applications
 * must never be left with a deployment key and no endpoint. */
static int keep_endpoint(const struct render_input *in, const struct model_eval *mev, long primary)
{
	if (primary >= 0)
		return 1; /* present, not usable (the usable case never gets here) */
	for (size_t i = 0; i < in->nmodels; i++) {
		const struct model_eval *e = &mev[i];

		if (!e->kept)
			continue;
		for (size_t k = 0; k < e->nlkg; k++)
			if (!current_value(in, PFX_ENDPOINT, e->lkg[k]))
				return 1;
	}
	return 0;
}

static fc_err emit_model(const struct render_input *in, size_t mi, const struct model_eval *e,
			 const struct acct_eval *aev, struct kvvec *d)
{
	const struct spec_model *m = &in->models[mi];
	fc_err rc = FC_OK;

	if (e->published) {
		const struct acct_eval *a = &aev[e->acc];

		for (size_t k = 0; k < m->nkeys && !rc; k++) {
			rc = kv_add(d, PFX_DEPLOYMENT, m->keys[k], m->deployment);
			if (!rc && !a->primary)
				rc = kv_add(d, PFX_ENDPOINT, m->keys[k], a->endpoint);
		}
	} else if (e->kept) {
		for (size_t k = 0; k < e->nlkg && !rc; k++) {
			const char *ep = current_value(in, PFX_ENDPOINT, e->lkg[k]);

			rc = kv_add(d, PFX_DEPLOYMENT, e->lkg[k], current_value(in, PFX_DEPLOYMENT, e->lkg[k]));
			if (!rc && ep)
				rc = kv_add(d, PFX_ENDPOINT, e->lkg[k], ep);
		}
	}
	return rc;
}

/* Message building: a part that would pass MSG_MAX is left out. */
static fc_err soft(fc_err rc)
{
	return rc == FC_ERR_TOOBIG ? FC_OK : rc;
}

/* The Ready condition and the Published condition of a (not deleting) model. */
static fc_err model_summary(const struct render_input *in, size_t mi, struct model_eval *e,
			    const char *keys_str, struct render_cond *ready, struct render_cond *pub)
{
	const struct spec_model *m = &in->models[mi];
	const struct model_verdict *v = model_verdict(in, mi);
	const struct issue *top = NULL;
	struct buf b;
	const char *conflict_msg_winner = e->loser && !e->foreign_manager ? in->models[e->winner].meta.name : NULL;
	char *conflict_msg = NULL;
	enum cond_status st;
	const char *reason;
	size_t others = 0;
	fc_err rc;

	if (e->loser && e->foreign_manager) {
		conflict_msg = msgf("key %s in ConfigMap %s/%s is written by field manager %s, not by "
				    "foundry-controller, and keys of others are never changed; remove it "
				    "there to let this model publish (it publishes none of its keys until then)",
				    e->conflict_key, m->meta.ns, in->configmap, e->foreign_manager);
		if ((rc = add_issue(e, "KeyConflict", conflict_msg, 1, 1)))
			return rc;
	} else if (e->loser) {
		conflict_msg = msgf("key %s is claimed by FoundryModel %s (older) in ConfigMap %s/%s; "
				    "this model publishes none of its keys until the conflict is removed",
				    e->conflict_key, conflict_msg_winner, m->meta.ns, in->configmap);
		if ((rc = add_issue(e, "KeyConflict", conflict_msg, 1, 1)))
			return rc;
	}
	for (size_t i = 0; i < e->nissues; i++)
		if (e->issues[i].fails_ready) {
			top = &e->issues[i];
			break;
		}
	buf_init(&b, MSG_MAX);
	if (top) {
		st = !strcmp(top->reason, "ValidationPending") ? COND_UNKNOWN : COND_FALSE;
		reason = top->reason;
		rc = soft(buf_append_str(&b, top->msg));
		for (size_t i = 0; !rc && i < e->nissues; i++) {
			int seen = !strcmp(e->issues[i].reason, top->reason);

			for (size_t j = 0; j < i && !seen; j++)
				seen = e->issues[j].fails_ready && !strcmp(e->issues[j].reason, e->issues[i].reason);
			if (seen || !e->issues[i].fails_ready)
				continue;
			rc = soft(buf_appendf(&b, "%s%s", others++ ? ", " : " (also: ",
					      e->issues[i].reason));
		}
		if (!rc && others)
			rc = soft(buf_append_str(&b, ")"));
	} else {
		st = COND_TRUE;
		reason = "Published";
		rc = soft(buf_appendf(&b, "%s published in ConfigMap %s/%s", keys_str, m->meta.ns,
				      in->configmap));
		for (size_t i = 0, n = 0; !rc && i < e->nissues; i++)
			rc = soft(buf_appendf(&b, "%s%s: %s", n++ ? "; " : "; warnings (validation: Warn): ",
					      e->issues[i].reason, e->issues[i].msg));
		if (!rc && e->skip)
			rc = soft(buf_append_str(&b, " (validation Skip: not checked against Azure)"));
	}
	if (!rc && m->deployment && m->model_name && strcmp(m->deployment, m->model_name))
		rc = soft(buf_appendf(&b, "; note: deployment \"%s\" differs from model.name \"%s\" "
				      "(convention: deployment name == model name)", m->deployment,
				      m->model_name));
	if (!rc && v && v->consolidation && v->generation == m->meta.generation)
		rc = soft(buf_appendf(&b, "; %s", v->consolidation));
	if (rc) {
		buf_release(&b);
		return FC_ERR_NOMEM;
	}
	if ((rc = cond_set(ready, "Ready", st, reason, buf_take(&b))))
		return rc;

	if (e->published)
		return cond_set(pub, "Published", COND_TRUE, "Published",
				msgf("%s published in ConfigMap %s/%s", keys_str, m->meta.ns, in->configmap));
	reason = NULL;
	for (size_t i = 0; i < e->nissues && !reason; i++)
		if (e->issues[i].blocks)
			reason = e->issues[i].reason;
	if (!reason)
		reason = "NotPublished";
	if (e->kept)
		return cond_set(pub, "Published", COND_FALSE, reason,
				msgf("generation %lld is not published; keeps the last published values "
				     "for %s", (long long)m->meta.generation, keys_str));
	return cond_set(pub, "Published", COND_FALSE, reason,
			msgf("generation %lld is not published; nothing is published for this model",
			     (long long)m->meta.generation));
}

static fc_err model_status(const struct render_input *in, size_t mi, struct model_eval *e,
			   const struct acct_eval *aev, const struct render_output *out,
			   struct render_model_status *st)
{
	const struct spec_model *m = &in->models[mi];
	const struct model_verdict *v = model_verdict(in, mi);
	const char *keys[SPEC_MAX_KEYS] = { 0 };
	size_t nkeys = 0;
	char *keys_str = NULL;
	fc_err rc = FC_OK;

	st->deployment = xstrdup(m->deployment, &rc);
	if (rc)
		return rc;
	if (m->meta.deleting) {
		st->nconds = 2;
		if ((rc = cond_set(&st->conds[0], "Ready", COND_FALSE, "Deleting",
				   msgf("FoundryModel %s is being deleted; its keys are removed from "
					"ConfigMap %s/%s", m->meta.name, m->meta.ns, in->configmap))))
			return rc;
		return cond_set(&st->conds[1], "Published", COND_FALSE, "Deleting",
				msgf("keys removed from ConfigMap %s/%s", m->meta.ns, in->configmap));
	}
	if (e->published) {
		for (size_t k = 0; k < m->nkeys; k++)
			keys[nkeys++] = m->keys[k];
		st->endpoint = xstrdup(aev[e->acc].endpoint, &rc);
	} else if (e->kept) {
		const char *ep = current_value(in, PFX_ENDPOINT, e->lkg[0]);

		for (size_t k = 0; k < e->nlkg; k++)
			keys[nkeys++] = e->lkg[k];
		if (!ep)
			for (size_t i = 0; i < out->ndata; i++)
				if (!strcmp(out->data[i].key, KEY_ENDPOINT))
					ep = out->data[i].value;
		st->endpoint = xstrdup(ep, &rc);
	}
	qsort(keys, nkeys, sizeof(keys[0]), cmp_cstr);
	st->published = e->published;
	st->last_known_good = e->kept;
	for (size_t k = 0; k < nkeys && !rc; k++)
		st->published_keys[st->npublished++] = xstrdup(keys[k], &rc);
	if (!rc) {
		if (!nkeys) {
			for (size_t k = 0; k < m->nkeys; k++)
				keys[k] = m->keys[k];
			nkeys = m->nkeys;
			qsort(keys, nkeys, sizeof(keys[0]), cmp_cstr);
		}
		keys_str = join(keys, nkeys);
		if (!keys_str)
			rc = FC_ERR_NOMEM;
	}
	if (!rc && e->loser)
		st->conflict_winner = xstrdup(e->foreign_manager ? e->foreign_manager
							       : in->models[e->winner].meta.name, &rc);
	if (!rc && e->retirement)
		st->retirement_date = xstrdup(e->retirement, &rc);
	if (!rc && e->nregions) {
		st->available_regions = calloc(e->nregions, sizeof(char *));
		if (!st->available_regions)
			rc = FC_ERR_NOMEM;
		for (size_t i = 0; i < e->nregions && !rc; i++)
			st->available_regions[st->navailable_regions++] = xstrdup(e->regions[i], &rc);
	}
	if (!rc) {
		st->nconds = 5;
		rc = model_summary(in, mi, e, keys_str, &st->conds[0], &st->conds[3]);
	}
	if (!rc) {
		/* hand the check conditions over */
		st->conds[1] = e->region;
		st->conds[2] = e->deployment;
		st->conds[4] = e->deprecated;
		memset(&e->region, 0, sizeof(e->region));
		memset(&e->deployment, 0, sizeof(e->deployment));
		memset(&e->deprecated, 0, sizeof(e->deprecated));
	}
	if (!rc && v && v->generation == m->meta.generation && !e->skip) {
		if (v->consolidation) {
			st->event_reason = "ConsolidationPossible";
			st->event_message = xstrdup(v->consolidation, &rc);
		} else if (st->conds[4].status == COND_TRUE) {
			st->event_reason = "Deprecated";
			st->event_message = xstrdup(st->conds[4].message, &rc);
		}
	}
	free(keys_str);
	return rc;
}

/* ---- entry point ---- */

fc_err render_configmap(const struct render_input *in, struct render_output *out)
{
	struct acct_eval *aev = NULL;
	struct model_eval *mev = NULL;
	struct kvvec d = { 0 };
	long primary;
	fc_err rc = FC_ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	aev = calloc(in->naccounts ? in->naccounts : 1, sizeof(*aev));
	mev = calloc(in->nmodels ? in->nmodels : 1, sizeof(*mev));
	out->accounts = calloc(in->naccounts ? in->naccounts : 1, sizeof(*out->accounts));
	out->models = calloc(in->nmodels ? in->nmodels : 1, sizeof(*out->models));
	if (!aev || !mev || !out->accounts || !out->models)
		goto out;
	out->naccounts = in->naccounts;
	out->nmodels = in->nmodels;
	rc = FC_OK;

	primary = find_primary(in);
	for (size_t i = 0; i < in->naccounts; i++) {
		acct_usable(&in->accounts[i], acct_verdict(in, i), &aev[i]);
		aev[i].primary = (long)i == primary;
		aev[i].loser = primary >= 0 && (long)i != primary && in->accounts[i].primary &&
			       !in->accounts[i].meta.deleting;
	}
	for (size_t i = 0; i < in->nmodels; i++)
		if ((rc = eval_model(in, i, aev, primary, &mev[i])))
			goto out;
	if ((rc = resolve_claims(in, aev, mev)))
		goto out;
	{
		const char *ep = NULL;

		if (primary >= 0 && aev[primary].usable)
			ep = aev[primary].endpoint;
		else if (keep_endpoint(in, mev, primary))
			ep = current_value(in, KEY_ENDPOINT, ""); /* last known good */
		if (ep && !foreign_conflict(in, KEY_ENDPOINT, "", ep) &&
		    (rc = kv_add(&d, KEY_ENDPOINT, "", ep)))
			goto out;
	}
	for (size_t i = 0; i < in->nmodels; i++)
		if ((rc = emit_model(in, i, &mev[i], aev, &d)))
			goto out;
	if (d.n)
		qsort(d.v, d.n, sizeof(d.v[0]), cmp_kv);
	out->data = d.v;
	out->ndata = d.n;
	d.v = NULL;
	d.n = 0;
	if ((rc = hash_data(out->data, out->ndata, &out->hash)))
		goto out;

	for (size_t i = 0; i < in->naccounts; i++)
		if ((rc = acct_status(in, i, aev, primary, &out->accounts[i])))
			goto out;
	for (size_t i = 0; i < in->nmodels; i++)
		if ((rc = model_status(in, i, &mev[i], aev, out, &out->models[i])))
			goto out;
	rc = FC_OK;
out:
	for (size_t i = 0; i < d.n; i++) {
		free(d.v[i].key);
		free(d.v[i].value);
	}
	free(d.v);
	if (mev)
		for (size_t i = 0; i < in->nmodels; i++)
			eval_release(&mev[i]);
	free(mev);
	free(aev);
	if (rc)
		render_output_release(out);
	return rc;
}

void render_output_release(struct render_output *out)
{
	if (!out)
		return;
	for (size_t i = 0; i < out->ndata; i++) {
		free(out->data[i].key);
		free(out->data[i].value);
	}
	free(out->data);
	free(out->hash);
	for (size_t i = 0; out->models && i < out->nmodels; i++) {
		struct render_model_status *m = &out->models[i];

		free(m->endpoint);
		for (size_t k = 0; k < m->npublished; k++)
			free(m->published_keys[k]);
		for (size_t k = 0; k < m->nconds; k++)
			cond_release(&m->conds[k]);
		free(m->event_message);
		free(m->conflict_winner);
		free(m->deployment);
		for (size_t k = 0; k < m->navailable_regions; k++)
			free(m->available_regions[k]);
		free(m->available_regions);
		free(m->retirement_date);
	}
	free(out->models);
	for (size_t i = 0; out->accounts && i < out->naccounts; i++) {
		for (size_t k = 0; k < out->accounts[i].nconds; k++)
			cond_release(&out->accounts[i].conds[k]);
		free(out->accounts[i].endpoint);
		free(out->accounts[i].region);
		free(out->accounts[i].kind);
	}
	free(out->accounts);
	memset(out, 0, sizeof(*out));
}
