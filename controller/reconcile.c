#include "reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conditions.h"
#include "configmap.h"
#include "json.h"
#include "log.h"

/* ---- helpers ----------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void check_set(struct check *c, enum cond_status st, const char *reason, const char *msg)
{
	c->status = st;
	c->reason = reason;
	free(c->message);
	c->message = xstrdup(msg);
}

/* Account verdict when Azure validation is off: nothing is asked of ARM. */
static fc_err account_verdict_off(const struct spec_account *a, struct account_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (a->endpoint) {
		check_set(&v->ready, COND_TRUE, "AccountReady",
			  "Azure validation is off; using spec.endpoint");
		v->endpoint = xstrdup(a->endpoint);
		v->region = xstrdup(a->region);
		if (!v->endpoint || (a->region && !v->region) || !v->ready.message)
			goto nomem;
	} else {
		check_set(&v->ready, COND_FALSE, "AccountNotReady",
			  "Azure validation is off (--azure-validation=off): set spec.endpoint, "
			  "nothing is asked of Azure Resource Manager");
		if (!v->ready.message)
			goto nomem;
	}
	return FC_OK;
nomem:
	account_verdict_release(v);
	return FC_ERR_NOMEM;
}

static fc_err model_verdict_skipped(const struct spec_model *m, int azure_off,
				    struct model_verdict *v)
{
	const char *msg = azure_off ? "Azure validation is off (--azure-validation=off)"
				    : "spec.validation is Skip: Azure was not asked";

	memset(v, 0, sizeof(*v));
	v->generation = m->meta.generation;
	v->skipped = 1;
	check_set(&v->region, COND_UNKNOWN, "ValidationSkipped", msg);
	check_set(&v->deployment, COND_UNKNOWN, "ValidationSkipped", msg);
	check_set(&v->deprecated, COND_UNKNOWN, "ValidationSkipped", msg);
	if (!v->region.message || !v->deployment.message || !v->deprecated.message) {
		model_verdict_release(v);
		return FC_ERR_NOMEM;
	}
	return FC_OK;
}

static const struct spec_account *find_account(const struct spec_account *accs, size_t n,
					       const char *name, size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(accs[i].meta.name, name)) {
			if (idx)
				*idx = i;
			return &accs[i];
		}
	}
	return NULL;
}

/* Index of the namespace's primary account (oldest live primary=true), or -1. */
static long primary_index(const struct spec_account *accs, size_t n)
{
	long best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!accs[i].primary || accs[i].meta.deleting || accs[i].invalid)
			continue;
		if (best < 0 || spec_meta_older(&accs[i].meta, &accs[best].meta) < 0)
			best = (long)i;
	}
	return best;
}

/* The finalizers of obj as a JSON array text, with ours added or removed. */
static fc_err finalizers_json(const cJSON *obj, int add, char **out)
{
	const cJSON *fin = json_path(obj, "metadata.finalizers"), *f;
	cJSON *arr = cJSON_CreateArray();
	fc_err rc = FC_ERR_NOMEM;

	*out = NULL;
	if (!arr)
		return FC_ERR_NOMEM;
	if (cJSON_IsArray(fin)) {
		cJSON_ArrayForEach(f, fin) {
			if (!cJSON_IsString(f) || !strcmp(f->valuestring, SPEC_FINALIZER))
				continue;
			if (!cJSON_AddItemToArray(arr, cJSON_CreateString(f->valuestring)))
				goto out;
		}
	}
	if (add && !cJSON_AddItemToArray(arr, cJSON_CreateString(SPEC_FINALIZER)))
		goto out;
	*out = json_print(arr);
	rc = *out ? FC_OK : FC_ERR_NOMEM;
out:
	cJSON_Delete(arr);
	return rc;
}

static void emit_event(const struct reconcile_config *cfg, const struct reconcile_ops *ops,
		       struct event_dedup *events, const char *kind, const struct spec_meta *meta,
		       const char *type, const char *reason, const char *message, const char *now)
{
	struct event_ref ref = { SPEC_GROUP "/" SPEC_VERSION, kind, meta->ns, meta->name,
				 meta->uid, meta->resource_version };
	cJSON *ev = NULL;

	if (!ops->create_event || !meta->uid || !message)
		return;
	if (events && !event_dedup_should_emit(events, meta->uid, reason, message))
		return;
	if (event_build(&ref, type, reason, message, now, cfg->instance, &ev))
		return;
	{
		fc_err erc = ops->create_event(ops->ud, meta->ns, ev);

		if (erc) {
			log_warn("event not recorded", "object", meta->name, "reason", reason,
				 "error", fc_strerror(erc), NULL);
			/* not sent: let the next change try again */
			if (events)
				event_dedup_forget(events, meta->uid);
		}
	}
	cJSON_Delete(ev);
}

static fc_err patch_status(const struct reconcile_ops *ops, const char *plural,
			   const struct spec_meta *meta, const cJSON *status)
{
	cJSON *body = cJSON_CreateObject(), *dup = NULL;
	char *text = NULL;
	fc_err rc = FC_ERR_NOMEM;

	if (!body)
		goto out;
	dup = cJSON_Duplicate(status, 1);
	/* cJSON_AddItemToObject does not free the item when copying the key fails */
	if (!dup || !cJSON_AddItemToObject(body, "status", dup)) {
		cJSON_Delete(dup);
		goto out;
	}
	text = json_print(body);
	if (!text)
		goto out;
	rc = ops->patch_status(ops->ud, plural, meta->ns, meta->name, meta->resource_version, text);
out:
	free(text);
	cJSON_Delete(body);
	return rc;
}

/* ---- the size of the ConfigMap (DESIGN.md is silent; docs/decisions.md) ---- */

#define REASON_TOO_LARGE "ConfigMapTooLarge"
#define REASON_REJECTED "ConfigMapRejected"

static const struct kv *kv_find(const struct kv *a, size_t n, const char *pfx, const char *key)
{
	char k[256];
	size_t lo = 0, hi = n;

	if (snprintf(k, sizeof(k), "%s%s", pfx, key) >= (int)sizeof(k))
		return NULL;
	while (lo < hi) { /* a is sorted by key */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(k, a[mid].key);

		if (!c)
			return &a[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static size_t key_bytes(const struct kv *a, size_t n, const char *key)
{
	static const char *const pfx[] = { "FOUNDRY_DEPLOYMENT_", "FOUNDRY_ENDPOINT_" };
	size_t total = 0;

	for (size_t p = 0; p < 2; p++) {
		const struct kv *e = kv_find(a, n, pfx[p], key);

		if (e)
			total += strlen(e->key) + strlen(e->value);
	}
	return total;
}

static int key_listed(char *const *keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i], key))
			return 1;
	return 0;
}

/* 1 when publishing model rs (rendered into data) changes the ConfigMap's
 * current data: a key added, dropped or given another value. *grow: the
 * bytes it adds (negative: frees); holding it back keeps its last known
 * good keys (status.publishedKeys found in current) instead. */
static int model_change(const struct render_model_status *rs, const struct spec_model *m,
			const struct kv *data, size_t ndata, const struct kv *cur, size_t ncur,
			long long *grow)
{
	static const char *const pfx[] = { "FOUNDRY_DEPLOYMENT_", "FOUNDRY_ENDPOINT_" };
	long long want = 0, have = 0;
	int differs = 0;

	*grow = 0;
	if (!rs->published)
		return 0;
	for (size_t k = 0; k < rs->npublished; k++) {
		for (size_t p = 0; p < 2; p++) {
			const struct kv *a = kv_find(data, ndata, pfx[p], rs->published_keys[k]);
			const struct kv *b = kv_find(cur, ncur, pfx[p], rs->published_keys[k]);

			if (!a != !b || (a && strcmp(a->value, b->value)))
				differs = 1;
		}
		want += (long long)key_bytes(data, ndata, rs->published_keys[k]);
	}
	for (size_t k = 0; k < m->npublished; k++) {
		if (!kv_find(cur, ncur, pfx[0], m->published_keys[k]))
			continue;
		have += (long long)key_bytes(cur, ncur, m->published_keys[k]);
		if (!key_listed(rs->published_keys, rs->npublished, m->published_keys[k]))
			differs = 1;
	}
	*grow = want - have;
	return differs;
}

static int older_first(const void *a, const void *b)
{
	return spec_meta_older(&(*(const struct spec_model *const *)a)->meta,
			       &(*(const struct spec_model *const *)b)->meta);
}

/* Renders again with held[] models held back (render.h), replacing *out. */
static fc_err render_held(struct render_input *in, struct render_output *out,
			  const unsigned char *held, const char *reason, const char *message)
{
	render_output_release(out);
	in->held = held;
	in->held_reason = reason;
	in->held_message = message;
	return render_configmap(in, out);
}

/* When the rendered ConfigMap would pass CONFIGMAP_MAX_BYTES (and be
 * larger than it is now), holds back the newest models whose change adds
 * bytes until it fits, then lets in again, oldest first, those that still
 * fit; renders again. If that is still too large (an estimate is off when
 * holding a model moves key claims), every model with a change is held.
 * *no_write: even that does not fit (the write is not sent). held (nmod
 * entries) is filled in; *msg is the message of the held models (caller
 * frees). */
static fc_err fit_size(const struct reconcile_snapshot *snap, struct render_input *in,
		       struct render_output *out, const struct kv *cur, size_t ncur,
		       unsigned char *held, char **msg, int *no_write, size_t *held_count)
{
	const struct spec_model **order = NULL;
	size_t other = configmap_other_bytes(snap->cm, cur, ncur);
	size_t now = kv_array_bytes(cur, ncur) + other;
	size_t want = kv_array_bytes(out->data, out->ndata) + other, after, limit;
	unsigned char *changed = NULL;
	long long *grow = NULL, est;
	fc_err rc = FC_ERR_NOMEM;
	char num[3][32];

	*msg = NULL;
	*no_write = 0;
	*held_count = 0;
	if (want <= CONFIGMAP_MAX_BYTES || want <= now)
		return FC_OK;
	limit = now > CONFIGMAP_MAX_BYTES ? now : CONFIGMAP_MAX_BYTES;
	order = calloc(in->nmodels + 1, sizeof(*order));
	changed = calloc(in->nmodels + 1, 1);
	grow = calloc(in->nmodels + 1, sizeof(*grow));
	if (!order || !changed || !grow)
		goto out;
	for (size_t i = 0; i < in->nmodels; i++) {
		order[i] = &in->models[i];
		changed[i] = (unsigned char)model_change(&out->models[i], &in->models[i], out->data,
							 out->ndata, cur, ncur, &grow[i]);
	}
	qsort(order, in->nmodels, sizeof(*order), older_first);
	est = (long long)want;
	for (size_t o = in->nmodels; o-- > 0 && est > (long long)limit;) {
		size_t i = (size_t)(order[o] - in->models);

		if (!changed[i] || grow[i] <= 0)
			continue;
		held[i] = 1;
		est -= grow[i];
	}
	/* then, oldest first, a held change that still fits goes in after all */
	for (size_t o = 0; o < in->nmodels; o++) {
		size_t i = (size_t)(order[o] - in->models);

		if (held[i] && est + grow[i] <= (long long)limit) {
			held[i] = 0;
			est += grow[i];
		}
	}
	snprintf(num[0], sizeof(num[0]), "%zu", want);
	snprintf(num[1], sizeof(num[1]), "%zu", other);
	snprintf(num[2], sizeof(num[2]), "%u", CONFIGMAP_MAX_BYTES);
	{
		struct buf b;

		buf_init(&b, 4096);
		if (buf_appendf(&b, "ConfigMap %s/%s would hold %s bytes of data (keys and values, %s of "
				"them in keys the controller does not own), over the limit of %s bytes "
				"(1 MiB) of one ConfigMap; this model's change is not written until there "
				"is room (the newest models wait first)", snap->ns, snap->configmap,
				num[0], num[1], num[2])) {
			buf_release(&b);
			goto out;
		}
		*msg = buf_take(&b);
		if (!*msg)
			goto out;
	}
	rc = render_held(in, out, held, REASON_TOO_LARGE, *msg);
	if (rc)
		goto out;
	after = kv_array_bytes(out->data, out->ndata) + other;
	if (after > limit) {
		/* the estimate was off (claims moved): hold every change */
		for (size_t i = 0; i < in->nmodels; i++)
			held[i] |= changed[i];
		rc = render_held(in, out, held, REASON_TOO_LARGE, *msg);
		if (rc)
			goto out;
		after = kv_array_bytes(out->data, out->ndata) + other;
		*no_write = after > limit;
	}
	for (size_t i = 0; i < in->nmodels; i++)
		*held_count += held[i];
	{
		char nh[32];

		snprintf(nh, sizeof(nh), "%zu", *held_count);
		log_warn("ConfigMap would pass the API server's size limit; the newest changes are held back",
			 "configmap", snap->configmap, "namespace", snap->ns, "bytes", num[0],
			 "foreign_bytes", num[1], "limit", num[2], "held_models", nh,
			 "write", *no_write ? "none" : "what fits", NULL);
	}
	rc = FC_OK;
out:
	if (rc) {
		free(*msg);
		*msg = NULL;
	}
	free(order);
	free(changed);
	free(grow);
	return rc;
}

/* The API server refused the apply (422 Invalid, 413 Too Large): holds
 * back every model whose change it would carry and renders again, so
 * status says why and keeps the last published values. */
static fc_err refused(const struct reconcile_snapshot *snap, struct render_input *in,
		      struct render_output *out, const struct kv *cur, size_t ncur,
		      unsigned char *held, fc_err why_rc, const char *why, char **msg)
{
	int too_large = why_rc == FC_ERR_TOOBIG || strstr(why, "Too long") ||
			strstr(why, "too large") || strstr(why, "Too large");
	struct buf b;

	free(*msg);
	*msg = NULL;
	for (size_t i = 0; i < in->nmodels; i++) {
		long long grow;

		if (model_change(&out->models[i], &in->models[i], out->data, out->ndata, cur, ncur, &grow))
			held[i] = 1;
	}
	buf_init(&b, 4096);
	if (buf_appendf(&b, "the API server refused to write ConfigMap %s/%s (%s%s%s); this model's "
			"change is not written and the write is retried with backoff", snap->ns,
			snap->configmap, why_rc == FC_ERR_TOOBIG ? "too large" : "invalid",
			*why ? ": " : "", why)) {
		buf_release(&b);
		return FC_ERR_NOMEM;
	}
	*msg = buf_take(&b);
	if (!*msg)
		return FC_ERR_NOMEM;
	return render_held(in, out, held, too_large ? REASON_TOO_LARGE : REASON_REJECTED, *msg);
}

/* ---- the reconcile ------------------------------------------------------- */

fc_err reconcile_configmap(const struct reconcile_config *cfg, const struct reconcile_ops *ops,
			   struct event_dedup *events, const struct reconcile_snapshot *snap, struct reconcile_stats *stats)
{
	struct spec_defaults defs = { cfg->default_configmap, cfg->default_validation };
	struct spec_account *accs = NULL;
	struct spec_model *models = NULL;
	struct account_verdict *av = NULL;
	const struct account_verdict **avp = NULL;
	struct model_verdict *mv = NULL;
	const struct model_verdict **mvp = NULL;
	const cJSON **acc_objs = NULL, **model_objs = NULL;
	struct kv *current = NULL;
	struct foreign_key *foreign = NULL;
	size_t nacc = 0, nmod = 0, ncurrent = 0, nforeign = 0;
	struct render_input in;
	struct render_output out;
	int rendered = 0, azure_failed = 0;
	unsigned char *model_changed = NULL, *acc_changed = NULL, *held = NULL;
	char now[40], why[512];
	char *body = NULL, *held_msg = NULL;
	int no_write = 0;
	size_t nheld = 0;
	fc_err refused_rc = FC_OK;
	long primary;
	fc_err rc = FC_OK, status_rc = FC_OK;
	int is_default_cm = !strcmp(snap->configmap, cfg->default_configmap);

	memset(stats, 0, sizeof(*stats));
	memset(&out, 0, sizeof(out));
	ops->now(ops->ud, now, sizeof(now));

	accs = calloc(snap->naccounts + 1, sizeof(*accs));
	acc_objs = calloc(snap->naccounts + 1, sizeof(*acc_objs));
	models = calloc(snap->nmodels + 1, sizeof(*models));
	model_objs = calloc(snap->nmodels + 1, sizeof(*model_objs));
	av = calloc(snap->naccounts + 1, sizeof(*av));
	avp = calloc(snap->naccounts + 1, sizeof(*avp));
	mv = calloc(snap->nmodels + 1, sizeof(*mv));
	mvp = calloc(snap->nmodels + 1, sizeof(*mvp));
	model_changed = calloc(snap->nmodels + 1, 1);
	acc_changed = calloc(snap->naccounts + 1, 1);
	held = calloc(snap->nmodels + 1, 1);
	if (!held || !model_changed || !acc_changed || !accs || !acc_objs || !models || !model_objs || !av || !avp || !mv || !mvp) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	/* An unusable object (FC_ERR_PARSE) is left out; NOMEM is not a
	 * reason to render without it (its keys would be removed). */
	for (size_t i = 0; i < snap->naccounts; i++) {
		rc = spec_account_parse(snap->accounts[i], &accs[nacc]);
		if (rc == FC_ERR_NOMEM)
			goto out;
		if (rc == FC_OK)
			acc_objs[nacc++] = snap->accounts[i];
	}
	for (size_t i = 0; i < snap->nmodels; i++) {
		rc = spec_model_parse(snap->models[i], &defs, &models[nmod]);
		if (rc == FC_ERR_NOMEM)
			goto out;
		if (rc == FC_OK)
			model_objs[nmod++] = snap->models[i];
	}
	rc = configmap_owned(snap->cm, CONFIGMAP_FIELD_MANAGER, &current, &ncurrent);
	if (!rc)
		rc = configmap_foreign(snap->cm, CONFIGMAP_FIELD_MANAGER, &foreign, &nforeign);
	if (rc)
		goto out;

	/* 1. verdicts: accounts */
	for (size_t i = 0; i < nacc; i++) {
		if (ops->stopping && ops->stopping(ops->ud)) {
			rc = FC_ERR_CANCELLED;
			goto out;
		}
		if (accs[i].meta.deleting || accs[i].invalid)
			continue; /* render reports these without a verdict */
		if (cfg->azure_off || !ops->check_account)
			rc = account_verdict_off(&accs[i], &av[i]);
		else
			rc = ops->check_account(ops->ud, &accs[i], &av[i]);
		if (rc)
			goto out;
		avp[i] = &av[i];
		if (av[i].ready.status == COND_UNKNOWN)
			azure_failed = 1;
	}
	primary = primary_index(accs, nacc);

	/* 2. verdicts: models */
	for (size_t i = 0; i < nmod; i++) {
		struct spec_model *m = &models[i];
		size_t ai;
		const struct spec_account *acc;
		long retry = 0;

		if (ops->stopping && ops->stopping(ops->ud)) {
			rc = FC_ERR_CANCELLED; /* nothing written yet: the next leader redoes it */
			goto out;
		}
		if (m->meta.deleting || m->invalid)
			continue;
		acc = find_account(accs, nacc, m->account_ref, &ai);
		if (!acc || !avp[ai] || avp[ai]->ready.status != COND_TRUE)
			continue; /* AccountNotFound / AccountNotReady: render says so */
		if (cfg->azure_off || m->validation == VALIDATION_SKIP || !ops->check_model) {
			rc = model_verdict_skipped(m, cfg->azure_off || !ops->check_model, &mv[i]);
			if (rc)
				goto out;
			mvp[i] = &mv[i];
			continue;
		}
		rc = ops->check_model(ops->ud, m, acc, avp[ai],
				      primary >= 0 ? &accs[primary] : NULL,
				      primary >= 0 ? avp[primary] : NULL, &mv[i], &retry);
		if (rc)
			goto out;
		mvp[i] = &mv[i];
		if (retry > 0 && (stats->requeue_after_ms == 0 || retry < stats->requeue_after_ms))
			stats->requeue_after_ms = retry;
		if (mv[i].region.status == COND_UNKNOWN || mv[i].deployment.status == COND_UNKNOWN)
			azure_failed = 1; /* render keeps the verdict stored for this generation */
	}

	/* 3. render */
	memset(&in, 0, sizeof(in));
	in.ns = snap->ns;
	in.configmap = snap->configmap;
	in.default_configmap = cfg->default_configmap;
	in.accounts = accs;
	in.naccounts = nacc;
	in.account_verdicts = avp;
	in.models = models;
	in.nmodels = nmod;
	in.model_verdicts = mvp;
	in.current = current;
	in.ncurrent = ncurrent;
	in.foreign = foreign;
	in.nforeign = nforeign;
	rc = render_configmap(&in, &out);
	if (rc)
		goto out;
	rendered = 1;
	/* a ConfigMap the API server would refuse is not sent: the newest
	 * changes wait, and say so in their status */
	rc = fit_size(snap, &in, &out, current, ncurrent, held, &held_msg, &no_write, &nheld);
	if (rc)
		goto out;

	/* no write once shutdown began (also when no Azure call was made) */
	if (ops->stopping && ops->stopping(ops->ud)) {
		rc = FC_ERR_CANCELLED;
		goto out;
	}

	/* 4. finalizers on live models, before their keys are published */
	for (size_t i = 0; i < nmod; i++) {
		char *fin = NULL;

		if (models[i].meta.deleting || models[i].meta.has_finalizer)
			continue;
		rc = finalizers_json(model_objs[i], 1, &fin);
		if (!rc)
			rc = ops->set_finalizers(ops->ud, models[i].meta.ns, models[i].meta.name,
						 models[i].meta.resource_version, fin);
		free(fin);
		if (rc)
			goto out;
	}

	/* 5. the ConfigMap: one apply carrying every change */
	if (!no_write &&
	    configmap_needs_write(snap->cm, CONFIGMAP_FIELD_MANAGER, out.data, out.ndata, out.hash)) {
		why[0] = '\0';
		/* guarded by the version it was computed from: kept values come
		 * from snap->cm, which may not have seen our last write yet */
		rc = configmap_apply_body_at(snap->ns, snap->configmap,
					     json_str_or(snap->cm, "metadata.resourceVersion", NULL),
					     out.data, out.ndata, out.hash, &body);
		if (!rc) {
			rc = ops->apply_configmap(ops->ud, snap->ns, snap->configmap, body, why, sizeof(why));
			why[sizeof(why) - 1] = '\0';
		}
		if (rc == FC_ERR_INVAL || rc == FC_ERR_TOOBIG) {
			/* the content is refused (not a transient failure): say so
			 * in status, keep the last published values, back off */
			refused_rc = rc;
			rc = refused(snap, &in, &out, current, ncurrent, held, rc, why, &held_msg);
			if (rc)
				goto out;
		} else if (rc) {
			goto out;
		} else {
			stats->wrote_configmap = 1;
			stats->changes = configmap_diff_summary(current, ncurrent, out.data, out.ndata);
		}
	}

	/* 6. status, only where it changed */
	for (size_t i = 0; i < nmod; i++) {
		const struct render_model_status *rs = &out.models[i];
		cJSON *st = NULL;
		fc_err src;

		if (models[i].meta.deleting)
			continue;
		stats->models_total++;
		if (rs->nconds && rs->conds[0].status == COND_TRUE)
			stats->models_ready++;
		src = conditions_model_status(&models[i], rs, json_path(model_objs[i], "status"),
					      now, &st);
		if (!src && !conditions_status_equal(st, json_path(model_objs[i], "status"))) {
			src = patch_status(ops, "foundrymodels", &models[i].meta, st);
			if (!src) {
				stats->status_writes++;
				model_changed[i] = 1;
			}
		}
		cJSON_Delete(st);
		if (src && src != FC_ERR_NOTFOUND)
			status_rc = src;
	}
	if (is_default_cm) {
		for (size_t i = 0; i < nacc; i++) {
			cJSON *st = NULL;
			fc_err src;

			if (accs[i].meta.deleting)
				continue;
			src = conditions_account_status(&accs[i], &out.accounts[i],
							json_path(acc_objs[i], "status"), now, &st);
			if (!src && !conditions_status_equal(st, json_path(acc_objs[i], "status"))) {
				src = patch_status(ops, "foundryaccounts", &accs[i].meta, st);
				if (!src) {
					stats->status_writes++;
					acc_changed[i] = 1;
				}
			}
			cJSON_Delete(st);
			if (src && src != FC_ERR_NOTFOUND)
				status_rc = src;
		}
	}

	/* 7. events: only with a status change (a restart or resync that
	 * changes nothing writes no object, events included), deduplicated
	 * in memory against retry loops */
	for (size_t i = 0; i < nmod; i++) {
		const struct render_model_status *rs = &out.models[i];
		const struct render_cond *ready = rs->nconds ? &rs->conds[0] : NULL;

		if (models[i].meta.deleting || !ready || !model_changed[i])
			continue;
		if (ready->status == COND_TRUE)
			emit_event(cfg, ops, events, "FoundryModel", &models[i].meta, "Normal", "Published",
				   ready->message ? ready->message : "published", now);
		else if (ready->status == COND_FALSE)
			emit_event(cfg, ops, events, "FoundryModel", &models[i].meta, "Warning",
				   ready->reason, ready->message ? ready->message : ready->reason, now);
		if (rs->event_reason && rs->event_message)
			emit_event(cfg, ops, events, "FoundryModel", &models[i].meta,
				   strcmp(rs->event_reason, "ConsolidationPossible") ? "Warning" : "Normal",
				   rs->event_reason, rs->event_message, now);
	}
	if (is_default_cm) {
		for (size_t i = 0; i < nacc; i++) {
			const struct render_account_status *as = &out.accounts[i];

			if (accs[i].meta.deleting || !acc_changed[i] || !as->nconds ||
			    as->conds[0].status != COND_FALSE)
				continue;
			emit_event(cfg, ops, events, "FoundryAccount", &accs[i].meta, "Warning",
				   as->conds[0].reason, as->conds[0].message, now);
		}
	}

	/* 8. deleting models: their keys are gone now, drop the finalizer */
	for (size_t i = 0; i < nmod && !refused_rc && !no_write; i++) {
		char *fin = NULL;

		if (!models[i].meta.deleting || !models[i].meta.has_finalizer)
			continue;
		rc = finalizers_json(model_objs[i], 0, &fin);
		if (!rc)
			rc = ops->set_finalizers(ops->ud, models[i].meta.ns, models[i].meta.name,
						 models[i].meta.resource_version, fin);
		free(fin);
		if (rc == FC_ERR_NOTFOUND)
			rc = FC_OK;
		if (rc)
			goto out;
		if (models[i].meta.uid && events)
			event_dedup_forget(events, models[i].meta.uid);
	}
	rc = refused_rc ? refused_rc : no_write ? FC_ERR_TOOBIG : status_rc;
	if (!rc && azure_failed && stats->requeue_after_ms == 0)
		rc = FC_ERR_UNAVAILABLE; /* per-item backoff, then ask Azure again */
out:
	if (rendered)
		render_output_release(&out);
	free(body);
	kv_array_free(current, ncurrent);
	foreign_keys_free(foreign, nforeign);
	for (size_t i = 0; mv && i < snap->nmodels; i++)
		model_verdict_release(&mv[i]);
	for (size_t i = 0; av && i < snap->naccounts; i++)
		account_verdict_release(&av[i]);
	for (size_t i = 0; i < nmod; i++)
		spec_model_release(&models[i]);
	for (size_t i = 0; i < nacc; i++)
		spec_account_release(&accs[i]);
	free(model_changed);
	free(acc_changed);
	free(held);
	free(held_msg);
	free(mv);
	free(mvp);
	free(av);
	free(avp);
	free(models);
	free(model_objs);
	free(accs);
	free(acc_objs);
	return rc;
}
