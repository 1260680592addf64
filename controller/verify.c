#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configmap.h"
#include "json.h"
#include "render.h"

#define FOUNDRY_API_VERSION SPEC_GROUP "/" SPEC_VERSION
#define MSG_MAX 4096
#define DEFAULT_CONFIGMAP "llm-config"
/* Endpoint given to render_configmap() for the conflict pass of verify when
 * an account has none yet: that pass only looks at who claims which key. */
#define PLACEHOLDER_ENDPOINT "https://verify.invalid/"

/* strdup that maps NULL to NULL; *ok cleared on allocation failure. */
static char *dup_or_null(const char *s, int *ok)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*ok = 0;
	return d;
}

const char *verify_verdict_name(enum verify_verdict v)
{
	switch (v) {
	case VERIFY_AVAILABLE:
		return "available";
	case VERIFY_UNAVAILABLE:
		return "unavailable";
	case VERIFY_UNKNOWN:
		return "unknown";
	case VERIFY_SKIPPED:
		return "skipped";
	}
	return "unknown";
}

/* ---- messages ------------------------------------------------------------ */

static fc_err msg_add(struct verify_msgs *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static fc_err msg_add(struct verify_msgs *m, const char *fmt, ...)
{
	char text[MSG_MAX];
	char **nv, *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s = strdup(text);
	nv = s ? realloc(m->v, (m->n + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(s);
		return FC_ERR_NOMEM;
	}
	m->v = nv;
	m->v[m->n++] = s;
	return FC_OK;
}

void verify_msgs_release(struct verify_msgs *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* ---- the Foundry objects of the manifests ---------------------------------- */

struct acc_item {
	struct spec_account a;
	const struct manifest_doc *doc;
	size_t seq;
};

struct model_item {
	struct spec_model m;
	const struct manifest_doc *doc;
	size_t seq;
};

/* Accounts and models sorted by (namespace, name), one of each. */
struct objs {
	struct spec_account *accs;
	const struct manifest_doc **adoc;
	size_t nacc;
	struct spec_model *models;
	const struct manifest_doc **mdoc;
	size_t nmod;
};

static void objs_release(struct objs *o)
{
	for (size_t i = 0; i < o->nacc; i++)
		spec_account_release(&o->accs[i]);
	for (size_t i = 0; i < o->nmod; i++)
		spec_model_release(&o->models[i]);
	free(o->accs);
	free(o->adoc);
	free(o->models);
	free(o->mdoc);
	memset(o, 0, sizeof(*o));
}

static int meta_cmp(const struct spec_meta *x, const struct spec_meta *y)
{
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->name, y->name);
}

static int acc_item_cmp(const void *a, const void *b)
{
	const struct acc_item *x = a, *y = b;
	int c = meta_cmp(&x->a.meta, &y->a.meta);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int model_item_cmp(const void *a, const void *b)
{
	const struct model_item *x = a, *y = b;
	int c = meta_cmp(&x->m.meta, &y->m.meta);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

enum fkind { FK_NONE, FK_ACCOUNT, FK_MODEL };

static enum fkind foundry_kind(const struct manifest_doc *d, struct verify_msgs *warnings, fc_err *rc)
{
	const char *api = json_str_or(d->obj, "apiVersion", NULL);
	const char *kind = json_str_or(d->obj, "kind", NULL);
	size_t glen = strlen(SPEC_GROUP "/");

	*rc = FC_OK;
	if (!kind || (strcmp(kind, "FoundryAccount") && strcmp(kind, "FoundryModel")))
		return FK_NONE;
	if (!api || strncmp(api, SPEC_GROUP "/", glen))
		return FK_NONE;
	if (strcmp(api, FOUNDRY_API_VERSION)) {
		*rc = msg_add(warnings, "%s:%d: %s %s is not %s; skipped", d->file, d->line, api, kind,
			      FOUNDRY_API_VERSION);
		return FK_NONE;
	}
	return kind[7] == 'A' ? FK_ACCOUNT : FK_MODEL;
}

static fc_err collect(const struct manifest_set *docs, const struct spec_defaults *defs,
		      struct objs *o, struct verify_msgs *errors, struct verify_msgs *warnings)
{
	struct acc_item *ai = NULL;
	struct model_item *mi = NULL;
	size_t na = 0, nm = 0;
	fc_err rc = FC_ERR_NOMEM;

	memset(o, 0, sizeof(*o));
	ai = calloc(docs->ndocs + 1, sizeof(*ai));
	mi = calloc(docs->ndocs + 1, sizeof(*mi));
	if (!ai || !mi)
		goto out;
	for (size_t i = 0; i < docs->ndocs; i++) {
		const struct manifest_doc *d = &docs->docs[i];
		enum fkind k = foundry_kind(d, warnings, &rc);
		const char *kname = k == FK_ACCOUNT ? "FoundryAccount" : "FoundryModel";
		fc_err prc;

		if (rc)
			goto out;
		if (k == FK_NONE)
			continue;
		if (k == FK_ACCOUNT)
			prc = spec_account_parse(d->obj, &ai[na].a);
		else
			prc = spec_model_parse(d->obj, defs, &mi[nm].m);
		if (prc == FC_ERR_NOMEM) {
			rc = prc;
			goto out;
		}
		if (prc) {
			if (k == FK_ACCOUNT)
				spec_account_release(&ai[na].a);
			else
				spec_model_release(&mi[nm].m);
			rc = msg_add(errors, "%s:%d: %s without a usable metadata.name (or with a "
				     "metadata.namespace that is not a string)", d->file, d->line, kname);
			if (rc)
				goto out;
			continue;
		}
		if (k == FK_ACCOUNT) {
			ai[na].doc = d;
			ai[na++].seq = i;
		} else {
			mi[nm].doc = d;
			mi[nm++].seq = i;
		}
	}
	if (na)
		qsort(ai, na, sizeof(*ai), acc_item_cmp);
	if (nm)
		qsort(mi, nm, sizeof(*mi), model_item_cmp);
	rc = FC_ERR_NOMEM;
	o->accs = calloc(na + 1, sizeof(*o->accs));
	o->adoc = calloc(na + 1, sizeof(*o->adoc));
	o->models = calloc(nm + 1, sizeof(*o->models));
	o->mdoc = calloc(nm + 1, sizeof(*o->mdoc));
	if (!o->accs || !o->adoc || !o->models || !o->mdoc)
		goto out;
	rc = FC_OK;
	/* the last definition wins, as with kubectl apply */
	for (size_t i = 0; i < na; i++) {
		if (i + 1 < na && !meta_cmp(&ai[i].a.meta, &ai[i + 1].a.meta)) {
			if (!rc)
				rc = msg_add(warnings, "%s:%d: FoundryAccount %s/%s is defined again at "
					     "%s:%d; the last definition is used", ai[i].doc->file,
					     ai[i].doc->line, ai[i].a.meta.ns, ai[i].a.meta.name,
					     ai[i + 1].doc->file, ai[i + 1].doc->line);
			spec_account_release(&ai[i].a);
			continue;
		}
		o->accs[o->nacc] = ai[i].a;
		o->adoc[o->nacc++] = ai[i].doc;
	}
	for (size_t i = 0; i < nm; i++) {
		if (i + 1 < nm && !meta_cmp(&mi[i].m.meta, &mi[i + 1].m.meta)) {
			if (!rc)
				rc = msg_add(warnings, "%s:%d: FoundryModel %s/%s is defined again at "
					     "%s:%d; the last definition is used", mi[i].doc->file,
					     mi[i].doc->line, mi[i].m.meta.ns, mi[i].m.meta.name,
					     mi[i + 1].doc->file, mi[i + 1].doc->line);
			spec_model_release(&mi[i].m);
			continue;
		}
		o->models[o->nmod] = mi[i].m;
		o->mdoc[o->nmod++] = mi[i].doc;
	}
	na = nm = 0; /* owned by o now */
	for (size_t i = 0; !rc && i < o->nacc; i++)
		if (o->accs[i].invalid)
			rc = msg_add(errors, "%s:%d: FoundryAccount %s/%s is invalid: %s", o->adoc[i]->file,
				     o->adoc[i]->line, o->accs[i].meta.ns, o->accs[i].meta.name,
				     o->accs[i].invalid);
out:
	for (size_t i = 0; i < na; i++)
		spec_account_release(&ai[i].a);
	for (size_t i = 0; i < nm; i++)
		spec_model_release(&mi[i].m);
	free(ai);
	free(mi);
	if (rc)
		objs_release(o);
	return rc;
}

/* Index of account ns/name, or -1 (accounts are sorted). */
static long find_account(const struct objs *o, const char *ns, const char *name)
{
	size_t lo = 0, hi = o->nacc;

	if (!name)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->accs[mid].meta.ns, ns);

		if (!c)
			c = strcmp(o->accs[mid].meta.name, name);
		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* [*lo, *hi): the accounts of namespace ns. */
static void ns_accounts(const struct objs *o, const char *ns, size_t *lo, size_t *hi)
{
	size_t i = 0;

	while (i < o->nacc && strcmp(o->accs[i].meta.ns, ns) < 0)
		i++;
	*lo = i;
	while (i < o->nacc && !strcmp(o->accs[i].meta.ns, ns))
		i++;
	*hi = i;
}

/* The namespace's primary account as the controller picks it, or -1. */
static long primary_of(const struct objs *o, const char *ns)
{
	size_t lo, hi;
	long best = -1;

	ns_accounts(o, ns, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		const struct spec_account *a = &o->accs[i];

		if (!a->primary || a->meta.deleting || a->invalid)
			continue;
		if (best < 0 || spec_meta_older(&a->meta, &o->accs[best].meta) < 0)
			best = (long)i;
	}
	return best;
}

/* ---- verdict synthesis (as the controller does with validation off) ------ */

static fc_err check_fill(struct check *c, enum cond_status st, const char *reason, const char *msg)
{
	c->status = st;
	c->reason = reason;
	c->message = msg ? strdup(msg) : NULL;
	return msg && !c->message ? FC_ERR_NOMEM : FC_OK;
}

static fc_err skipped_verdict(const struct spec_model *m, struct model_verdict *v)
{
	const char *msg = "Azure validation is off: nothing was asked of Azure";
	fc_err rc;

	memset(v, 0, sizeof(*v));
	v->generation = m->meta.generation;
	v->skipped = 1;
	rc = check_fill(&v->region, COND_UNKNOWN, AZURE_REASON_VALIDATION_SKIPPED, msg);
	if (!rc)
		rc = check_fill(&v->deployment, COND_UNKNOWN, AZURE_REASON_VALIDATION_SKIPPED, msg);
	if (!rc)
		rc = check_fill(&v->deprecated, COND_UNKNOWN, AZURE_REASON_VALIDATION_SKIPPED, msg);
	if (rc)
		model_verdict_release(v);
	return rc;
}

/* endpoint NULL: not usable (AccountNotReady), as the controller with
 * --azure-validation=off and no spec.endpoint. */
static fc_err account_off_verdict(const struct spec_account *a, const char *endpoint,
				  struct account_verdict *v)
{
	fc_err rc;
	int ok = 1;

	memset(v, 0, sizeof(*v));
	if (endpoint) {
		rc = check_fill(&v->ready, COND_TRUE, AZURE_REASON_ACCOUNT_READY,
				"Azure validation is off; using spec.endpoint");
		v->endpoint = dup_or_null(endpoint, &ok);
		v->region = dup_or_null(a->region, &ok);
	} else {
		rc = check_fill(&v->ready, COND_FALSE, AZURE_REASON_ACCOUNT_NOT_READY,
				"no spec.endpoint, and nothing is asked of Azure: set spec.endpoint");
	}
	if (!rc && !ok)
		rc = FC_ERR_NOMEM;
	if (rc)
		account_verdict_release(v);
	return rc;
}

/* ---- one render per (namespace, ConfigMap) -------------------------------- */

struct target {
	const char *ns;
	const char *cm;
};

static int target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->cm, y->cm);
}

/* Sorted distinct targets: (ns, model.configmap) of every model, plus
 * (ns, default) of every namespace with an account or a model (the
 * controller reconciles it). Strings borrowed from o. */
static fc_err targets_of(const struct objs *o, const char *def, struct target **out, size_t *n)
{
	struct target *t = calloc(2 * (o->nmod + o->nacc) + 1, sizeof(*t));
	size_t k = 0, w = 0;

	*out = NULL;
	*n = 0;
	if (!t)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < o->nmod; i++) {
		t[k++] = (struct target){ o->models[i].meta.ns, o->models[i].configmap ? o->models[i].configmap : def };
		t[k++] = (struct target){ o->models[i].meta.ns, def };
	}
	for (size_t i = 0; i < o->nacc; i++)
		t[k++] = (struct target){ o->accs[i].meta.ns, def };
	if (k)
		qsort(t, k, sizeof(*t), target_cmp);
	for (size_t i = 0; i < k; i++)
		if (!w || target_cmp(&t[w - 1], &t[i]))
			t[w++] = t[i];
	*out = t;
	*n = w;
	return FC_OK;
}

/* Inputs of one render: borrowed accounts of the namespace, shallow copies
 * of the target's models (idx maps them back). */
struct rinput {
	struct render_input in;
	struct spec_model *models;
	size_t *idx;
	const struct account_verdict **avp;
	const struct model_verdict **mvp;
};

static void rinput_release(struct rinput *r)
{
	free(r->models); /* shallow copies: the strings belong to objs */
	free(r->idx);
	free(r->avp);
	free(r->mvp);
	memset(r, 0, sizeof(*r));
}

static fc_err rinput_build(const struct objs *o, const struct target *t, const char *def,
			   struct rinput *r)
{
	size_t lo, hi, n = 0;

	memset(r, 0, sizeof(*r));
	ns_accounts(o, t->ns, &lo, &hi);
	r->models = calloc(o->nmod + 1, sizeof(*r->models));
	r->idx = calloc(o->nmod + 1, sizeof(*r->idx));
	r->avp = calloc(hi - lo + 1, sizeof(*r->avp));
	r->mvp = calloc(o->nmod + 1, sizeof(*r->mvp));
	if (!r->models || !r->idx || !r->avp || !r->mvp) {
		rinput_release(r);
		return FC_ERR_NOMEM;
	}
	for (size_t i = 0; i < o->nmod; i++) {
		const struct spec_model *m = &o->models[i];

		if (strcmp(m->meta.ns, t->ns) || strcmp(m->configmap ? m->configmap : def, t->cm))
			continue;
		r->models[n] = *m;
		r->idx[n++] = i;
	}
	r->in.ns = t->ns;
	r->in.configmap = t->cm;
	r->in.default_configmap = def;
	r->in.accounts = o->accs + lo;
	r->in.naccounts = hi - lo;
	r->in.account_verdicts = r->avp;
	r->in.models = r->models;
	r->in.nmodels = n;
	r->in.model_verdicts = r->mvp;
	return FC_OK;
}

/* ---- verify ----------------------------------------------------------------- */

struct vctx {
	struct objs o;
	struct azure_client *ac;
	const struct verify_options *opt;
	struct account_verdict *av;
	int *av_done;
	int authed;
	char *err;
	size_t errlen;
};

static fc_err preflight(struct vctx *c)
{
	char msg[AZURE_AUTH_MSG_MAX];
	char *tok = NULL;
	fc_err rc;

	if (c->authed || !c->opt->auth)
		return FC_OK;
	msg[0] = '\0';
	rc = azure_auth_token(c->opt->auth, &tok, msg, sizeof(msg));
	azure_auth_token_free(tok);
	if (rc == FC_ERR_NOMEM)
		return rc;
	if (rc) {
		fc_errf(c->err, c->errlen, "cannot get an Azure token with the %s credential: %s",
			azure_auth_cred_name(azure_auth_kind(c->opt->auth)), *msg ? msg : fc_strerror(rc));
		return FC_ERR_AUTH;
	}
	c->authed = 1;
	return FC_OK;
}

static fc_err account_verdict_get(struct vctx *c, size_t ai, const struct account_verdict **out)
{
	fc_err rc;

	if (!c->av_done[ai]) {
		rc = preflight(c);
		if (!rc)
			rc = azure_client_check_account(c->ac, &c->o.accs[ai], &c->av[ai]);
		if (rc)
			return rc;
		c->av_done[ai] = 1;
	}
	*out = &c->av[ai];
	return FC_OK;
}

static fc_err row_set(struct verify_row *r, enum verify_verdict v, const char *reason,
		      const char *hint)
{
	free(r->reason);
	free(r->hint);
	r->verdict = v;
	r->reason = strdup(reason);
	r->hint = hint && *hint ? strdup(hint) : NULL;
	return !r->reason || (hint && *hint && !r->hint) ? FC_ERR_NOMEM : FC_OK;
}

static void row_release(struct verify_row *r)
{
	free(r->ns);
	free(r->name);
	free(r->model);
	free(r->version);
	free(r->sku);
	free(r->account);
	free(r->region);
	free(r->reason);
	free(r->hint);
	for (size_t i = 0; i < r->navailable_regions; i++)
		free(r->available_regions[i]);
	free(r->available_regions);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

static fc_err row_regions(struct verify_row *r, char *const *regions, size_t n)
{
	if (!n)
		return FC_OK;
	r->available_regions = calloc(n, sizeof(*r->available_regions));
	if (!r->available_regions)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(r->available_regions[i] = strdup(regions[i])))
			return FC_ERR_NOMEM;
		r->navailable_regions++;
	}
	return FC_OK;
}

/* The outcome of the model checks once the account is usable. */
static fc_err row_from_model_verdict(struct vctx *c, const struct model_verdict *mv,
				     struct verify_row *row)
{
	char hint[MSG_MAX];
	size_t len = 0;
	fc_err rc = row_regions(row, mv->available_regions, mv->navailable_regions);

	if (rc)
		return rc;
	hint[0] = '\0';
	if (mv->region.status == COND_FALSE) {
		if (mv->navailable_regions) {
			len += (size_t)snprintf(hint, sizeof(hint), "offered in ");
			for (size_t i = 0; i < mv->navailable_regions && len < sizeof(hint); i++)
				len += (size_t)snprintf(hint + len, sizeof(hint) - len, "%s%s", i ? ", " : "",
							mv->available_regions[i]);
		} else {
			snprintf(hint, sizeof(hint), "%s", mv->region.message ? mv->region.message : "");
		}
		return row_set(row, VERIFY_UNAVAILABLE, mv->region.reason, hint);
	}
	if (mv->region.status == COND_UNKNOWN)
		return row_set(row, VERIFY_UNKNOWN, mv->region.reason ? mv->region.reason
								      : AZURE_REASON_UNREACHABLE,
			       mv->region.message);
	if (c->opt->check_deployments && mv->deployment.status != COND_TRUE)
		return row_set(row, mv->deployment.status == COND_FALSE ? VERIFY_UNAVAILABLE : VERIFY_UNKNOWN,
			       mv->deployment.reason ? mv->deployment.reason : AZURE_REASON_UNREACHABLE,
			       mv->deployment.message);
	if (mv->deprecated.status == COND_TRUE) {
		len += (size_t)snprintf(hint, sizeof(hint), "%s",
					mv->deprecated.message ? mv->deprecated.message : "deprecated");
		if (mv->retirement_date && !strstr(hint, mv->retirement_date) && len < sizeof(hint))
			len += (size_t)snprintf(hint + len, sizeof(hint) - len, "; retires on %s",
						mv->retirement_date);
	}
	if (mv->consolidation && len < sizeof(hint))
		snprintf(hint + len, sizeof(hint) - len, "%s%s", len ? "; " : "", mv->consolidation);
	return row_set(row, VERIFY_AVAILABLE, "Published", hint);
}

static fc_err check_row(struct vctx *c, size_t mi, struct verify_row *row)
{
	const struct spec_model *m = &c->o.models[mi];
	const struct manifest_doc *d = c->o.mdoc[mi];
	long ai = find_account(&c->o, m->meta.ns, m->account_ref);
	const struct spec_account *acc = ai >= 0 ? &c->o.accs[ai] : NULL;
	int off = !c->ac || c->opt->default_validation == VALIDATION_SKIP;
	const struct account_verdict *av = NULL, *pv = NULL;
	struct model_verdict mv;
	char msg[MSG_MAX];
	long pi;
	int ok = 1;
	fc_err rc;

	row->ns = dup_or_null(m->meta.ns, &ok);
	row->name = dup_or_null(m->meta.name, &ok);
	row->model = dup_or_null(m->model_name, &ok);
	row->version = dup_or_null(m->model_version, &ok);
	row->sku = dup_or_null(m->sku, &ok);
	row->account = dup_or_null(m->account_ref, &ok);
	row->region = dup_or_null(acc ? acc->region : NULL, &ok);
	row->file = dup_or_null(d->file, &ok);
	row->line = d->line;
	if (!ok)
		return FC_ERR_NOMEM;

	if (m->invalid)
		return row_set(row, VERIFY_UNKNOWN, AZURE_REASON_INVALID_SPEC, m->invalid);
	if (!acc) {
		snprintf(msg, sizeof(msg), "FoundryAccount %s is not in the given manifests",
			 m->account_ref ? m->account_ref : "");
		return row_set(row, VERIFY_UNKNOWN, AZURE_REASON_ACCOUNT_NOT_FOUND, msg);
	}
	if (acc->invalid) {
		snprintf(msg, sizeof(msg), "FoundryAccount %s: %s", acc->meta.name, acc->invalid);
		return row_set(row, VERIFY_UNKNOWN, AZURE_REASON_INVALID_SPEC, msg);
	}
	if (off || m->validation == VALIDATION_SKIP) {
		if (off && !acc->endpoint)
			snprintf(msg, sizeof(msg), "Azure validation is off: nothing was asked of Azure; "
				 "FoundryAccount %s has no spec.endpoint, so a controller with "
				 "--azure-validation=off would not publish this model", acc->meta.name);
		else if (off)
			snprintf(msg, sizeof(msg), "Azure validation is off (--azure-validation=off): "
				 "nothing was asked of Azure");
		else
			snprintf(msg, sizeof(msg), "spec.validation is Skip: nothing was asked of Azure");
		return row_set(row, VERIFY_SKIPPED, AZURE_REASON_VALIDATION_SKIPPED, msg);
	}

	rc = account_verdict_get(c, (size_t)ai, &av);
	if (rc)
		return rc;
	if (av->region) {
		free(row->region);
		if (!(row->region = strdup(av->region)))
			return FC_ERR_NOMEM;
	}
	if (av->ready.status != COND_TRUE)
		return row_set(row, av->ready.status == COND_FALSE ? VERIFY_UNAVAILABLE : VERIFY_UNKNOWN,
			       av->ready.reason ? av->ready.reason : AZURE_REASON_UNREACHABLE,
			       av->ready.message);
	pi = primary_of(&c->o, m->meta.ns);
	if (pi >= 0 && (rc = account_verdict_get(c, (size_t)pi, &pv)))
		return rc;
	rc = azure_client_check_model(c->ac, m, acc, av, pi >= 0 ? &c->o.accs[pi] : NULL, pv,
				      c->opt->check_deployments, c->opt->now, &mv, NULL);
	if (rc)
		return rc;
	rc = row_from_model_verdict(c, &mv, row);
	model_verdict_release(&mv);
	return rc;
}

/* KeyConflict / PrimaryConflict among the rows that would publish, decided
 * by render_configmap() as in the controller. */
static fc_err conflicts(struct vctx *c, struct verify_row *rows)
{
	const char *def = c->opt->default_configmap ? c->opt->default_configmap : DEFAULT_CONFIGMAP;
	struct target *t = NULL;
	size_t nt = 0;
	struct account_verdict *sav = NULL;
	struct model_verdict *smv = NULL;
	fc_err rc;

	rc = targets_of(&c->o, def, &t, &nt);
	if (rc)
		return rc;
	sav = calloc(c->o.nacc + 1, sizeof(*sav));
	smv = calloc(c->o.nmod + 1, sizeof(*smv));
	if (!sav || !smv) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->o.nacc && !rc; i++) {
		const struct spec_account *a = &c->o.accs[i];
		const char *ep = c->av_done[i] && c->av[i].endpoint ? c->av[i].endpoint
				 : a->endpoint ? a->endpoint : PLACEHOLDER_ENDPOINT;

		if (!a->invalid && !a->meta.deleting)
			rc = account_off_verdict(a, ep, &sav[i]);
	}
	for (size_t i = 0; i < c->o.nmod && !rc; i++)
		if (rows[i].verdict == VERIFY_AVAILABLE || rows[i].verdict == VERIFY_SKIPPED)
			rc = skipped_verdict(&c->o.models[i], &smv[i]);
	for (size_t ti = 0; ti < nt && !rc; ti++) {
		struct rinput r;
		struct render_output out;
		size_t lo, hi;

		rc = rinput_build(&c->o, &t[ti], def, &r);
		if (rc)
			break;
		ns_accounts(&c->o, t[ti].ns, &lo, &hi);
		for (size_t i = lo; i < hi; i++)
			r.avp[i - lo] = sav[i].ready.reason ? &sav[i] : NULL;
		for (size_t k = 0; k < r.in.nmodels; k++)
			r.mvp[k] = smv[r.idx[k]].skipped ? &smv[r.idx[k]] : NULL;
		memset(&out, 0, sizeof(out));
		rc = render_configmap(&r.in, &out);
		for (size_t k = 0; !rc && k < r.in.nmodels; k++) {
			struct verify_row *row = &rows[r.idx[k]];
			const struct render_model_status *ms = &out.models[k];
			const struct render_cond *ready = ms->nconds ? &ms->conds[0] : NULL;

			if (!ready || !ready->reason || !smv[r.idx[k]].skipped)
				continue;
			if (strcmp(ready->reason, "KeyConflict") && strcmp(ready->reason, "PrimaryConflict"))
				continue;
			rc = row_set(row, VERIFY_UNAVAILABLE, ready->reason, ready->message);
		}
		render_output_release(&out);
		rinput_release(&r);
	}
out:
	for (size_t i = 0; sav && i < c->o.nacc; i++)
		account_verdict_release(&sav[i]);
	for (size_t i = 0; smv && i < c->o.nmod; i++)
		model_verdict_release(&smv[i]);
	free(sav);
	free(smv);
	free(t);
	return rc;
}

fc_err verify_run(const struct manifest_set *docs, struct azure_client *ac,
		  const struct verify_options *opt, struct verify_result *out, char *err,
		  size_t errlen)
{
	struct spec_defaults defs;
	struct vctx c;
	fc_err rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	defs.configmap = opt->default_configmap ? opt->default_configmap : DEFAULT_CONFIGMAP;
	defs.validation = opt->default_validation;
	c.ac = ac;
	c.opt = opt;
	c.err = err;
	c.errlen = errlen;
	rc = collect(docs, &defs, &c.o, &out->errors, &out->warnings);
	if (rc)
		goto out;
	rc = FC_ERR_NOMEM;
	c.av = calloc(c.o.nacc + 1, sizeof(*c.av));
	c.av_done = calloc(c.o.nacc + 1, sizeof(*c.av_done));
	out->rows = calloc(c.o.nmod + 1, sizeof(*out->rows));
	if (!c.av || !c.av_done || !out->rows)
		goto out;
	rc = FC_OK;
	for (size_t i = 0; i < c.o.nmod && !rc; i++) {
		rc = check_row(&c, i, &out->rows[i]);
		out->nrows = i + 1;
	}
	if (!rc)
		rc = conflicts(&c, out->rows);
out:
	for (size_t i = 0; c.av && c.av_done && i < c.o.nacc; i++)
		if (c.av_done[i])
			account_verdict_release(&c.av[i]);
	free(c.av);
	free(c.av_done);
	objs_release(&c.o);
	if (rc) {
		if (rc == FC_ERR_NOMEM)
			fc_errf(err, errlen, "out of memory");
		verify_result_release(out);
	}
	return rc;
}

void verify_result_release(struct verify_result *r)
{
	for (size_t i = 0; i < r->nrows; i++)
		row_release(&r->rows[i]);
	free(r->rows);
	verify_msgs_release(&r->errors);
	verify_msgs_release(&r->warnings);
	memset(r, 0, sizeof(*r));
}

int verify_exit_code(const struct verify_result *r)
{
	int code = r->errors.n ? 2 : 0;

	for (size_t i = 0; i < r->nrows; i++) {
		if (r->rows[i].verdict == VERIFY_UNKNOWN)
			code = 2;
		else if (r->rows[i].verdict == VERIFY_UNAVAILABLE && code < 1)
			code = 1;
	}
	return code;
}

/* ---- output ------------------------------------------------------------------ */

#define NCOLS 10

static const char *const col_names[NCOLS] = {
	"NAMESPACE", "NAME", "MODEL", "VERSION", "SKU", "ACCOUNT", "REGION", "VERDICT", "REASON", "HINT",
};

static const char *cell(const struct verify_row *r, int col)
{
	const char *v = NULL;

	switch (col) {
	case 0:
		v = r->ns;
		break;
	case 1:
		v = r->name;
		break;
	case 2:
		v = r->model;
		break;
	case 3:
		v = r->version;
		break;
	case 4:
		v = r->sku;
		break;
	case 5:
		v = r->account;
		break;
	case 6:
		v = r->region;
		break;
	case 7:
		return verify_verdict_name(r->verdict);
	case 8:
		v = r->reason;
		break;
	default:
		return r->hint ? r->hint : "";
	}
	return v && *v ? v : "<none>";
}

/* Width in characters (UTF-8 code points). */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static fc_err put_cell(struct buf *b, const char *s)
{
	fc_err rc = FC_OK;

	for (; *s && !rc; s++) {
		char ch = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;

		rc = buf_append(b, &ch, 1);
	}
	return rc;
}

static fc_err put_line(struct buf *b, const char *const *cells, const size_t *w)
{
	size_t last = NCOLS;
	fc_err rc = FC_OK;

	while (last > 0 && !*cells[last - 1])
		last--;
	for (size_t i = 0; i < last && !rc; i++) {
		rc = put_cell(b, cells[i]);
		if (i + 1 < last)
			for (size_t pad = width(cells[i]); pad < w[i] + 2 && !rc; pad++)
				rc = buf_append(b, " ", 1);
	}
	return rc ? rc : buf_append(b, "\n", 1);
}

fc_err verify_format_table(const struct verify_row *rows, size_t n, struct buf *out)
{
	size_t w[NCOLS];
	const char *cells[NCOLS];
	fc_err rc;

	if (!n)
		return FC_OK;
	for (int c = 0; c < NCOLS; c++)
		w[c] = strlen(col_names[c]);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < NCOLS; c++) {
			size_t cw = width(cell(&rows[i], c));

			if (cw > w[c])
				w[c] = cw;
		}
	rc = put_line(out, col_names, w);
	for (size_t i = 0; i < n && !rc; i++) {
		for (int c = 0; c < NCOLS; c++)
			cells[c] = cell(&rows[i], c);
		rc = put_line(out, cells, w);
	}
	return rc;
}

static fc_err json_str_or_null(cJSON *o, const char *key, const char *v)
{
	if (v)
		return json_add_str(o, key, v);
	return cJSON_AddNullToObject(o, key) ? FC_OK : FC_ERR_NOMEM;
}

fc_err verify_format_json(const struct verify_row *rows, size_t n, struct buf *out)
{
	fc_err rc = FC_OK;

	for (size_t i = 0; i < n && !rc; i++) {
		const struct verify_row *r = &rows[i];
		cJSON *o = cJSON_CreateObject(), *arr = NULL;
		char *text = NULL;

		rc = o ? FC_OK : FC_ERR_NOMEM;
		if (!rc)
			rc = json_str_or_null(o, "namespace", r->ns);
		if (!rc)
			rc = json_str_or_null(o, "name", r->name);
		if (!rc)
			rc = json_str_or_null(o, "model", r->model);
		if (!rc)
			rc = json_str_or_null(o, "version", r->version);
		if (!rc)
			rc = json_str_or_null(o, "sku", r->sku);
		if (!rc)
			rc = json_str_or_null(o, "account", r->account);
		if (!rc)
			rc = json_str_or_null(o, "region", r->region);
		if (!rc)
			rc = json_add_str(o, "verdict", verify_verdict_name(r->verdict));
		if (!rc)
			rc = json_str_or_null(o, "reason", r->reason);
		if (!rc)
			rc = json_str_or_null(o, "hint", r->hint);
		if (!rc)
			rc = json_add_arr(o, "availableRegions", &arr);
		for (size_t k = 0; !rc && k < r->navailable_regions; k++) {
			cJSON *s = cJSON_CreateString(r->available_regions[k]);

			if (!s || !cJSON_AddItemToArray(arr, s)) {
				cJSON_Delete(s);
				rc = FC_ERR_NOMEM;
			}
		}
		if (!rc && !(text = json_print(o)))
			rc = FC_ERR_NOMEM;
		if (!rc)
			rc = buf_append_str(out, text);
		if (!rc)
			rc = buf_append(out, "\n", 1);
		free(text);
		cJSON_Delete(o);
	}
	return rc;
}

/* ---- render -------------------------------------------------------------------- */

static fc_err render_target(const struct objs *o, const struct target *t, const char *def,
			    const struct account_verdict *av, const struct model_verdict *mv,
			    const int *mv_set, struct verify_render_result *res, struct buf *yaml,
			    char *err, size_t errlen)
{
	struct rinput r;
	struct render_output out;
	size_t lo, hi;
	char *body = NULL;
	cJSON *cm = NULL;
	fc_err rc;

	memset(&out, 0, sizeof(out));
	rc = rinput_build(o, t, def, &r);
	if (rc)
		return rc;
	ns_accounts(o, t->ns, &lo, &hi);
	for (size_t i = lo; i < hi; i++)
		r.avp[i - lo] = av[i].ready.reason ? &av[i] : NULL;
	for (size_t k = 0; k < r.in.nmodels; k++)
		r.mvp[k] = mv_set[r.idx[k]] ? &mv[r.idx[k]] : NULL;
	rc = render_configmap(&r.in, &out);
	if (rc)
		goto out;
	for (size_t k = 0; k < r.in.nmodels && !rc; k++) {
		const struct spec_model *m = &r.models[k];
		const struct render_model_status *ms = &out.models[k];
		const struct render_cond *ready = ms->nconds ? &ms->conds[0] : NULL;
		long ai = find_account(o, m->meta.ns, m->account_ref);

		if (!ready || ready->status == COND_TRUE || m->invalid)
			continue;
		/* the account without spec.endpoint is reported once, by the caller */
		if (ai >= 0 && !o->accs[ai].endpoint && !o->accs[ai].invalid &&
		    ready->reason && !strcmp(ready->reason, AZURE_REASON_ACCOUNT_NOT_READY))
			continue;
		rc = msg_add(&res->warnings, "%s:%d: FoundryModel %s/%s gets no keys in ConfigMap %s/%s: "
			     "%s: %s", o->mdoc[r.idx[k]]->file, o->mdoc[r.idx[k]]->line, m->meta.ns,
			     m->meta.name, t->ns, t->cm, ready->reason ? ready->reason : "NotReady",
			     ready->message ? ready->message : "");
	}
	if (rc || !out.ndata)
		goto out;
	rc = configmap_apply_body(t->ns, t->cm, out.data, out.ndata, out.hash, &body);
	if (rc == FC_ERR_TOOBIG)
		fc_errf(err, errlen, "ConfigMap %s/%s would exceed the API server's 1 MiB limit", t->ns,
			t->cm);
	if (rc)
		goto out;
	/* our own JSON: cJSON fails it only for want of memory */
	if (json_parse(body, strlen(body), &cm)) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	rc = buf_append_str(yaml, "---\n");
	if (!rc)
		rc = manifest_emit_yaml(cm, yaml);
	if (rc == FC_ERR_TOOBIG)
		fc_errf(err, errlen, "the rendered ConfigMaps exceed %u MiB", VERIFY_MAX_OUTPUT >> 20);
	if (!rc)
		res->nconfigmaps++;
out:
	cJSON_Delete(cm);
	free(body);
	render_output_release(&out);
	rinput_release(&r);
	return rc;
}

fc_err verify_render(const struct manifest_set *docs, const char *default_configmap,
		     struct verify_render_result *res, char *err, size_t errlen)
{
	const char *def = default_configmap ? default_configmap : DEFAULT_CONFIGMAP;
	struct spec_defaults defs = { def, VALIDATION_SKIP };
	struct objs o;
	struct account_verdict *av = NULL;
	struct model_verdict *mv = NULL;
	int *mv_set = NULL;
	struct target *t = NULL;
	size_t nt = 0;
	struct buf yaml;
	fc_err rc;

	memset(res, 0, sizeof(*res));
	buf_init(&yaml, VERIFY_MAX_OUTPUT);
	rc = collect(docs, &defs, &o, &res->errors, &res->warnings);
	if (rc)
		goto out_nobjs;
	for (size_t i = 0; i < o.nmod && !rc; i++)
		if (o.models[i].invalid)
			rc = msg_add(&res->errors, "%s:%d: FoundryModel %s/%s is invalid: %s",
				     o.mdoc[i]->file, o.mdoc[i]->line, o.models[i].meta.ns,
				     o.models[i].meta.name, o.models[i].invalid);
	if (rc)
		goto out;
	rc = FC_ERR_NOMEM;
	av = calloc(o.nacc + 1, sizeof(*av));
	mv = calloc(o.nmod + 1, sizeof(*mv));
	mv_set = calloc(o.nmod + 1, sizeof(*mv_set));
	if (!av || !mv || !mv_set)
		goto out;
	rc = FC_OK;
	for (size_t i = 0; i < o.nacc && !rc; i++) {
		const struct spec_account *a = &o.accs[i];

		if (a->invalid || a->meta.deleting)
			continue;
		rc = account_off_verdict(a, a->endpoint, &av[i]);
		if (!rc && !a->endpoint)
			rc = msg_add(&res->warnings, "FoundryAccount %s has no spec.endpoint; its models "
				     "are left out (render does not ask Azure)", a->meta.name);
	}
	/* the controller asks for verdicts only for models whose account is usable */
	for (size_t i = 0; i < o.nmod && !rc; i++) {
		const struct spec_model *m = &o.models[i];
		long ai = find_account(&o, m->meta.ns, m->account_ref);

		if (m->invalid || m->meta.deleting || ai < 0 || av[ai].ready.status != COND_TRUE)
			continue;
		rc = skipped_verdict(m, &mv[i]);
		mv_set[i] = !rc;
	}
	if (!rc)
		rc = targets_of(&o, def, &t, &nt);
	for (size_t i = 0; i < nt && !rc; i++)
		rc = render_target(&o, &t[i], def, av, mv, mv_set, res, &yaml, err, errlen);
	if (!rc && !(res->yaml = buf_take(&yaml)))
		rc = FC_ERR_NOMEM;
out:
	for (size_t i = 0; av && i < o.nacc; i++)
		account_verdict_release(&av[i]);
	for (size_t i = 0; mv && mv_set && i < o.nmod; i++)
		if (mv_set[i])
			model_verdict_release(&mv[i]);
	free(av);
	free(mv);
	free(mv_set);
	free(t);
	objs_release(&o);
out_nobjs:
	buf_release(&yaml);
	if (rc) {
		if (rc == FC_ERR_NOMEM)
			fc_errf(err, errlen, "out of memory");
		verify_render_result_release(res);
	}
	return rc;
}

void verify_render_result_release(struct verify_render_result *r)
{
	free(r->yaml);
	verify_msgs_release(&r->errors);
	verify_msgs_release(&r->warnings);
	memset(r, 0, sizeof(*r));
}
