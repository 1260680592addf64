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
	unsigned char *model_changed = NULL, *acc_changed = NULL;
	char now[40];
	char *body = NULL;
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
	if (!model_changed || !acc_changed || !accs || !acc_objs || !models || !model_objs || !av || !avp || !mv || !mvp) {
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
	if (configmap_needs_write(snap->cm, CONFIGMAP_FIELD_MANAGER, out.data, out.ndata, out.hash)) {
		rc = configmap_apply_body(snap->ns, snap->configmap, out.data, out.ndata, out.hash, &body);
		if (rc == FC_ERR_TOOBIG)
			log_error("ConfigMap data would exceed the API server's 1 MiB object limit; not written",
				  "configmap", snap->configmap, "namespace", snap->ns, NULL);
		if (rc)
			goto out;
		rc = ops->apply_configmap(ops->ud, snap->ns, snap->configmap, body);
		if (rc)
			goto out;
		stats->wrote_configmap = 1;
		stats->changes = configmap_diff_summary(current, ncurrent, out.data, out.ndata);
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
	for (size_t i = 0; i < nmod; i++) {
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
	rc = status_rc;
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
