/* reconcile: the whole reconcile of one ConfigMap against fake ops.
 *
 * The fake records every call (apply bodies, status patches, finalizer
 * changes, events), can fail a chosen call with a chosen fc_err, and plays
 * a tiny API server (`struct world`): status merge patches, finalizer
 * patches guarded by resourceVersion, server-side apply with managedFields.
 * So a test can feed what one reconcile wrote back into the next one, as
 * the informers would. With w == NULL the fake only records, without
 * allocating, so it can run under allocation failure injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configmap.h"
#include "events.h"
#include "failmalloc.h"
#include "json.h"
#include "reconcile.h"
#include "sqjson.h"

#define MAXOBJ 8
#define MAXCALLS 48
#define BODY_MAX 6144

#define NOW "2026-11-24T07:00:00Z"
#define W "https://aucert-ai.openai.azure.com/"
#define E "https://aucert-ai-east.openai.azure.com/"
#define T1 "2026-01-01T00:00:00Z"
#define T2 "2026-01-02T00:00:00Z"
#define T3 "2026-01-03T00:00:00Z"
#define T4 "2026-01-04T00:00:00Z"

/* FoundryAccount / FoundryModel as the informer holds them ('' quotes) */
#define FA(name, uid, ts, primary, region, endpoint) \
	"{'apiVersion':'foundry.aucert.io/v1alpha1','kind':'FoundryAccount'," \
	"'metadata':{'name':'" name "','namespace':'aucert','uid':'" uid "','resourceVersion':'1'," \
	"'generation':1,'creationTimestamp':'" ts "'}," \
	"'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000'," \
	"'resourceGroup':'aucert-foundation-rg','accountName':'" name "','primary':" primary "," \
	"'region':'" region "','endpoint':'" endpoint "'}}"
#define FM(name, uid, ts, acc, format, model, deployment, keys, extra) \
	"{'apiVersion':'foundry.aucert.io/v1alpha1','kind':'FoundryModel'," \
	"'metadata':{'name':'" name "','namespace':'aucert','uid':'" uid "','resourceVersion':'1'," \
	"'generation':1,'creationTimestamp':'" ts "'}," \
	"'spec':{'accountRef':{'name':'" acc "'},'model':{'format':'" format "','name':'" model "'," \
	"'version':'2026-03-05'},'sku':{'name':'GlobalStandard'},'deployment':'" deployment "'," \
	"'keys':[" keys "]" extra "}}"

/* The two-account example of manifests/examples */
static const char *const example_accounts[] = {
	FA("aucert-ai", "uid-acc-west", T1, "true", "westus", W),
	FA("aucert-ai-east", "uid-acc-east", T2, "false", "eastus2", E),
};
static const char *const example_models[] = {
	FM("generation", "uid-generation", T1, "aucert-ai", "OpenAI", "gpt-5.4", "gpt-5.4",
	   "'GENERATION','REPORTING'", ""),
	FM("reasoning-pro", "uid-reasoning-pro", T2, "aucert-ai-east", "OpenAI", "gpt-5.4-pro",
	   "gpt-5.4-pro", "'REASONING_PRO'", ",'validation':'Enforce'"),
	FM("analysis", "uid-analysis", T3, "aucert-ai", "MoonshotAI", "Kimi-K2.6", "Kimi-K2.6",
	   "'ANALYSIS'", ""),
};
static const char *const example_data[] = {
	"FOUNDRY_DEPLOYMENT_ANALYSIS=Kimi-K2.6",
	"FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4",
	"FOUNDRY_DEPLOYMENT_REASONING_PRO=gpt-5.4-pro",
	"FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.4",
	"FOUNDRY_ENDPOINT=" W,
	"FOUNDRY_ENDPOINT_REASONING_PRO=" E,
	NULL,
};

/* A ConfigMap where kubectl-edit owns FOUNDRY_DEPLOYMENT_X (and OTHER) */
#define CM_FOREIGN \
	"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'llm-config','namespace':'aucert'," \
	"'resourceVersion':'1','managedFields':[{'manager':'kubectl-edit','operation':'Update'," \
	"'apiVersion':'v1','fieldsV1':{'f:data':{'.':{},'f:FOUNDRY_DEPLOYMENT_X':{},'f:OTHER':{}}}}]}," \
	"'data':{'FOUNDRY_DEPLOYMENT_X':'someone-elses','OTHER':'keep-me'}}"
#define MODEL_X \
	FM("xmodel", "uid-xmodel", T4, "aucert-ai", "OpenAI", "gpt-5.4", "gpt-5.4", "'X'", "")

/* ---- the world: what the API server holds ------------------------------ */

struct world {
	cJSON *acc[MAXOBJ];
	size_t nacc;
	cJSON *mod[MAXOBJ];
	size_t nmod;
	cJSON *cm; /* NULL: no ConfigMap yet */
	long rv;
};

static void world_init(struct world *w, int example)
{
	memset(w, 0, sizeof(*w));
	w->rv = 100;
	if (!example)
		return;
	for (size_t i = 0; i < 2; i++)
		w->acc[w->nacc++] = J(example_accounts[i]);
	for (size_t i = 0; i < 3; i++)
		w->mod[w->nmod++] = J(example_models[i]);
}

static void world_release(struct world *w)
{
	for (size_t i = 0; i < w->nacc; i++)
		cJSON_Delete(w->acc[i]);
	for (size_t i = 0; i < w->nmod; i++)
		cJSON_Delete(w->mod[i]);
	cJSON_Delete(w->cm);
	memset(w, 0, sizeof(*w));
}

static cJSON *world_find(struct world *w, const char *plural, const char *name, size_t *idx)
{
	int models = !strcmp(plural, "foundrymodels");
	cJSON **a = models ? w->mod : w->acc;
	size_t n = models ? w->nmod : w->nacc;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(json_str_or(a[i], "metadata.name", ""), name)) {
			if (idx)
				*idx = i;
			return a[i];
		}
	}
	return NULL;
}

static cJSON *obj_member(cJSON *obj, const char *key)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!c) {
		c = cJSON_AddObjectToObject(obj, key);
		assert_non_null(c);
	}
	return c;
}

static void obj_set(cJSON *obj, const char *key, cJSON *val)
{
	assert_non_null(val);
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		assert_true(cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val));
	else
		assert_true(cJSON_AddItemToObject(obj, key, val));
}

static void bump_rv(struct world *w, cJSON *obj)
{
	char rv[24];

	snprintf(rv, sizeof(rv), "%ld", ++w->rv);
	obj_set(obj_member(obj, "metadata"), "resourceVersion", cJSON_CreateString(rv));
}

/* JSON merge patch (RFC 7386) of patch into the object target. */
static void merge_patch(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, patch) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, p->string);

		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
		} else if (cJSON_IsObject(p)) {
			if (!cJSON_IsObject(cur)) {
				cur = cJSON_CreateObject();
				obj_set(target, p->string, cur);
			}
			merge_patch(cur, p);
		} else {
			obj_set(target, p->string, cJSON_Duplicate(p, 1));
		}
	}
}

static int world_status(struct world *w, const char *plural, const char *name, const char *body)
{
	cJSON *obj = world_find(w, plural, name, NULL), *patch;

	if (!obj)
		return FC_ERR_NOTFOUND;
	patch = cJSON_Parse(body);
	assert_non_null(patch);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(patch, "status"));
	assert_int_equal(cJSON_GetArraySize(patch), 1); /* the status subresource only */
	merge_patch(obj, patch);
	cJSON_Delete(patch);
	bump_rv(w, obj);
	return FC_OK;
}

static int world_finalizers(struct world *w, const char *name, const char *rv, const char *fin)
{
	size_t idx;
	cJSON *obj = world_find(w, "foundrymodels", name, &idx), *arr;

	if (!obj)
		return FC_ERR_NOTFOUND;
	if (!rv || strcmp(rv, json_str_or(obj, "metadata.resourceVersion", "")))
		return FC_ERR_CONFLICT;
	arr = cJSON_Parse(fin);
	assert_true(cJSON_IsArray(arr));
	if (json_path(obj, "metadata.deletionTimestamp") && cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr); /* the API server deletes it now */
		cJSON_Delete(obj);
		memmove(&w->mod[idx], &w->mod[idx + 1], (w->nmod - idx - 1) * sizeof(w->mod[0]));
		w->nmod--;
		return FC_OK;
	}
	obj_set(obj_member(obj, "metadata"), "finalizers", arr);
	bump_rv(w, obj);
	return FC_OK;
}

/* 1 if a manager other than ours owns data key k */
static int foreign_owned(const cJSON *cm, const char *k)
{
	const cJSON *e;
	char fk[256];

	snprintf(fk, sizeof(fk), "f:%s", k);
	cJSON_ArrayForEach(e, json_path(cm, "metadata.managedFields")) {
		if (strcmp(json_str_or(e, "manager", ""), CONFIGMAP_FIELD_MANAGER) &&
		    json_child(json_child(json_path(e, "fieldsV1"), "f:data"), fk))
			return 1;
	}
	return 0;
}

/* Server-side apply: our fields are exactly those of the body. */
static int world_apply(struct world *w, const char *ns, const char *name, const char *body)
{
	cJSON *b = cJSON_Parse(body), *cm, *meta, *data, *mf, *entry, *fdata;
	const cJSON *k;

	assert_non_null(b);
	assert_string_equal(json_str_or(b, "kind", ""), "ConfigMap");
	assert_string_equal(json_str_or(b, "metadata.name", ""), name);
	assert_string_equal(json_str_or(b, "metadata.namespace", ""), ns);
	/* a resourceVersion in the body is a precondition, as on the API server */
	if (w->cm && json_str_or(b, "metadata.resourceVersion", NULL) &&
	    strcmp(json_str_or(b, "metadata.resourceVersion", ""),
		   json_str_or(w->cm, "metadata.resourceVersion", ""))) {
		cJSON_Delete(b);
		return FC_ERR_CONFLICT;
	}
	if (!w->cm) {
		w->cm = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'managedFields':[]},'data':{}}");
		obj_set(obj_member(w->cm, "metadata"), "name", cJSON_CreateString(name));
		obj_set(obj_member(w->cm, "metadata"), "namespace", cJSON_CreateString(ns));
	}
	cm = w->cm;
	meta = obj_member(cm, "metadata");
	data = obj_member(cm, "data");
	/* keys we owned and no longer apply go away (unless someone else owns them) */
	for (cJSON *d = data->child, *next; d; d = next) {
		char fk[256];
		int ours = 0;

		next = d->next;
		snprintf(fk, sizeof(fk), "f:%s", d->string);
		cJSON_ArrayForEach(entry, json_path(cm, "metadata.managedFields"))
			if (!strcmp(json_str_or(entry, "manager", ""), CONFIGMAP_FIELD_MANAGER) &&
			    json_child(json_child(json_path(entry, "fieldsV1"), "f:data"), fk))
				ours = 1;
		if (ours && !foreign_owned(cm, d->string) && !json_child(json_path(b, "data"), d->string))
			cJSON_DeleteItemFromObjectCaseSensitive(data, d->string);
	}
	merge_patch(meta, json_path(b, "metadata"));
	cJSON_ArrayForEach(k, json_path(b, "data"))
		obj_set(data, k->string, cJSON_Duplicate(k, 1));
	/* our managedFields entry, rebuilt */
	mf = cJSON_GetObjectItemCaseSensitive(meta, "managedFields");
	if (!cJSON_IsArray(mf)) {
		mf = cJSON_CreateArray();
		obj_set(meta, "managedFields", mf);
	}
	for (cJSON *e = mf->child, *next; e; e = next) {
		next = e->next;
		if (!strcmp(json_str_or(e, "manager", ""), CONFIGMAP_FIELD_MANAGER))
			cJSON_Delete(cJSON_DetachItemViaPointer(mf, e));
	}
	entry = J("{'manager':'foundry-controller','operation':'Apply','apiVersion':'v1',"
		  "'fieldsV1':{'f:metadata':{'f:annotations':{},'f:labels':{}},'f:data':{}}}");
	fdata = cJSON_GetObjectItemCaseSensitive(obj_member(entry, "fieldsV1"), "f:data");
	cJSON_ArrayForEach(k, json_path(b, "data")) {
		char fk[256];

		snprintf(fk, sizeof(fk), "f:%s", k->string);
		obj_set(fdata, fk, cJSON_CreateObject());
	}
	assert_true(cJSON_AddItemToArray(mf, entry));
	bump_rv(w, cm);
	cJSON_Delete(b);
	return FC_OK;
}

/* The snapshot handed to one reconcile: copies, as the informer caches
 * give, so the fake's writes do not change what the reconcile reads. */
struct snap {
	cJSON *acc[MAXOBJ], *mod[MAXOBJ], *cm;
	struct reconcile_snapshot s;
};

static void snap_take(const struct world *w, struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	for (size_t i = 0; i < w->nacc; i++)
		assert_non_null(sn->acc[i] = cJSON_Duplicate(w->acc[i], 1));
	for (size_t i = 0; i < w->nmod; i++)
		assert_non_null(sn->mod[i] = cJSON_Duplicate(w->mod[i], 1));
	if (w->cm)
		assert_non_null(sn->cm = cJSON_Duplicate(w->cm, 1));
	sn->s.ns = "aucert";
	sn->s.configmap = "llm-config";
	sn->s.accounts = (const cJSON *const *)sn->acc;
	sn->s.naccounts = w->nacc;
	sn->s.models = (const cJSON *const *)sn->mod;
	sn->s.nmodels = w->nmod;
	sn->s.cm = sn->cm;
}

static void snap_release(struct snap *sn)
{
	for (size_t i = 0; i < MAXOBJ; i++) {
		cJSON_Delete(sn->acc[i]);
		cJSON_Delete(sn->mod[i]);
	}
	cJSON_Delete(sn->cm);
}

/* ---- the fake ops ------------------------------------------------------ */

enum call_kind { C_FINALIZERS, C_APPLY, C_STATUS, C_EVENT, NKINDS };
static const char *const kind_names[] = { "finalizers", "apply", "status", "event" };

struct call {
	enum call_kind kind;
	fc_err rc;                /* what the fake returned */
	char plural[32];          /* status: foundrymodels / foundryaccounts */
	char name[64];            /* object name (event: involvedObject.name) */
	char body[BODY_MAX];      /* apply body, status body, finalizers JSON,
				   * event "Type Reason: message" */
};

struct fail_rule {
	enum call_kind kind;
	const char *name;         /* NULL: any object */
	unsigned nth;             /* 0: every matching call, else the nth one */
	fc_err rc;
	unsigned seen;
};

struct fake {
	struct world *w;          /* NULL: record only, never allocate */
	struct call calls[MAXCALLS];
	size_t ncalls;
	struct fail_rule rules[4];
	size_t nrules;
	unsigned stopping_from;   /* 0: never; k: stopping() is 1 from its k-th call */
	unsigned stopping_calls;
	const char *verdicts[MAXOBJ]; /* "model-name R+ D+ X-"; default "R+ D+ X-" */
	unsigned check_account_calls, check_model_calls;
	const char *apply_why;        /* the API server's message for a failed apply */
};

static void fake_fail(struct fake *f, enum call_kind kind, const char *name, unsigned nth, fc_err rc)
{
	assert_true(f->nrules < 4);
	f->rules[f->nrules++] = (struct fail_rule){ kind, name, nth, rc, 0 };
}

static void copy_str(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	assert_true(len < n); /* fixed buffers: nothing is silently cut */
	memcpy(dst, src, len + 1);
}

/* Records a call and returns the injected error (FC_OK: perform it). */
static fc_err record(struct fake *f, enum call_kind kind, const char *plural, const char *name,
		     const char *body, struct call **out)
{
	struct call *c;
	fc_err rc = FC_OK;

	assert_true(f->ncalls < MAXCALLS);
	c = &f->calls[f->ncalls++];
	c->kind = kind;
	copy_str(c->plural, sizeof(c->plural), plural ? plural : "");
	copy_str(c->name, sizeof(c->name), name);
	copy_str(c->body, sizeof(c->body), body ? body : "");
	for (size_t i = 0; i < f->nrules; i++) {
		struct fail_rule *r = &f->rules[i];

		if (r->kind != kind || (r->name && strcmp(r->name, name)))
			continue;
		r->seen++;
		if (!r->nth || r->nth == r->seen) {
			rc = r->rc;
			break;
		}
	}
	c->rc = rc;
	if (out)
		*out = c;
	return rc;
}

static fc_err op_apply(void *ud, const char *ns, const char *name, const char *body,
		       char *why, size_t whylen)
{
	struct fake *f = ud;
	struct call *c;
	fc_err rc = record(f, C_APPLY, NULL, name, body, &c);

	if (!rc && f->w)
		rc = c->rc = world_apply(f->w, ns, name, body);
	if (rc && f->apply_why)
		snprintf(why, whylen, "%s", f->apply_why);
	return rc;
}

static fc_err op_status(void *ud, const char *plural, const char *ns, const char *name,
			const char *rv, const char *body)
{
	struct fake *f = ud;
	struct call *c;
	fc_err rc = record(f, C_STATUS, plural, name, body, &c);

	(void)rv;
	assert_string_equal(ns, "aucert");
	if (!rc && f->w)
		rc = c->rc = world_status(f->w, plural, name, body);
	return rc;
}

static fc_err op_finalizers(void *ud, const char *ns, const char *name, const char *rv,
			    const char *fin)
{
	struct fake *f = ud;
	struct call *c;
	fc_err rc = record(f, C_FINALIZERS, NULL, name, fin, &c);

	assert_string_equal(ns, "aucert");
	if (!rc && f->w)
		rc = c->rc = world_finalizers(f->w, name, rv, fin);
	return rc;
}

static fc_err op_event(void *ud, const char *ns, const cJSON *ev)
{
	struct fake *f = ud;
	char text[BODY_MAX];

	assert_string_equal(ns, "aucert");
	snprintf(text, sizeof(text), "%s %s: %s", json_str_or(ev, "type", "?"),
		 json_str_or(ev, "reason", "?"), json_str_or(ev, "message", "?"));
	assert_string_equal(json_str_or(ev, "involvedObject.namespace", ""), "aucert");
	assert_non_null(json_str_or(ev, "involvedObject.uid", NULL));
	return record(f, C_EVENT, json_str_or(ev, "involvedObject.kind", ""),
		      json_str_or(ev, "involvedObject.name", ""), text, NULL);
}

static int op_stopping(void *ud)
{
	struct fake *f = ud;

	f->stopping_calls++;
	return f->stopping_from && f->stopping_calls >= f->stopping_from;
}

static void op_now(void *ud, char *out, size_t n)
{
	(void)ud;
	snprintf(out, n, "%s", NOW);
}

static fc_err set_check(struct check *c, const char *tok)
{
	static const char *const reasons[] = {
		"ModelAvailable", "ModelNotInRegion", "SkuNotInRegion", "ModelRetired",
		"DeploymentSucceeded", "DeploymentNotFound", "DeploymentNotSucceeded",
		"NotDeprecated", "ModelDeprecating", "AzureUnreachable", "AzureThrottled",
	};
	char msg[80];

	c->status = tok[0] == '+' ? COND_TRUE : tok[0] == '-' ? COND_FALSE : COND_UNKNOWN;
	c->reason = NULL;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(tok + 1, reasons[i]))
			c->reason = reasons[i];
	if (tok[1] && !c->reason)
		fail_msg("unknown reason %s", tok + 1);
	snprintf(msg, sizeof(msg), "msg-%s", tok[1] ? tok + 1 : tok[0] == '+' ? "ok" : "no");
	c->message = strdup(msg);
	return c->message ? FC_OK : FC_ERR_NOMEM;
}

static fc_err op_check_account(void *ud, const struct spec_account *acc, struct account_verdict *out)
{
	struct fake *f = ud;

	f->check_account_calls++;
	memset(out, 0, sizeof(*out));
	out->ready.status = COND_TRUE;
	out->ready.reason = "AccountReady";
	out->ready.message = strdup("the account is provisioned");
	out->endpoint = strdup(acc->endpoint);
	out->region = strdup(acc->region);
	out->kind = strdup("AIServices");
	if (!out->ready.message || !out->endpoint || !out->region || !out->kind) {
		account_verdict_release(out);
		return FC_ERR_NOMEM;
	}
	return FC_OK;
}

static fc_err op_check_model(void *ud, const struct spec_model *m, const struct spec_account *acc,
			     const struct account_verdict *acc_v, const struct spec_account *primary,
			     const struct account_verdict *primary_v, struct model_verdict *out,
			     long *retry_after_ms)
{
	struct fake *f = ud;
	const char *spec = "R+ D+ X-";
	char buf[128], *save = NULL;
	fc_err rc = FC_OK;

	(void)acc;
	(void)acc_v;
	(void)primary;
	(void)primary_v;
	(void)retry_after_ms;
	f->check_model_calls++;
	for (size_t i = 0; i < MAXOBJ && f->verdicts[i]; i++) {
		size_t n = strlen(m->meta.name);

		if (!strncmp(f->verdicts[i], m->meta.name, n) && f->verdicts[i][n] == ' ')
			spec = f->verdicts[i] + n + 1;
	}
	memset(out, 0, sizeof(*out));
	out->generation = m->meta.generation;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " ", &save); t && !rc; t = strtok_r(NULL, " ", &save)) {
		if (t[0] == 'R')
			rc = set_check(&out->region, t + 1);
		else if (t[0] == 'D')
			rc = set_check(&out->deployment, t + 1);
		else if (t[0] == 'X')
			rc = set_check(&out->deprecated, t + 1);
		else
			fail_msg("bad verdict token %s", t);
	}
	if (rc)
		model_verdict_release(out);
	return rc;
}

static struct reconcile_ops fake_ops(struct fake *f)
{
	struct reconcile_ops ops = {
		.ud = f,
		.apply_configmap = op_apply,
		.patch_status = op_status,
		.set_finalizers = op_finalizers,
		.create_event = op_event,
		.check_account = op_check_account,
		.check_model = op_check_model,
		.stopping = op_stopping,
		.now = op_now,
	};

	return ops;
}

static const struct reconcile_config cfg_off = {
	"llm-config", VALIDATION_ENFORCE, 1, "test-instance",
};
static const struct reconcile_config cfg_on = {
	"llm-config", VALIDATION_ENFORCE, 0, "test-instance",
};

/* One reconcile of the world's current state; calls are recorded afresh. */
static fc_err run(struct fake *f, struct world *w, const struct reconcile_config *cfg,
		  struct event_dedup *ev, struct reconcile_stats *st)
{
	struct reconcile_ops ops = fake_ops(f);
	struct reconcile_stats local;
	struct snap sn;
	fc_err rc;

	f->w = w;
	f->ncalls = 0;
	f->stopping_calls = 0;
	for (size_t i = 0; i < f->nrules; i++)
		f->rules[i].seen = 0;
	snap_take(w, &sn);
	rc = reconcile_configmap(cfg, &ops, ev, &sn.s, st ? st : &local);
	snap_release(&sn);
	if (!st)
		free(local.changes);
	return rc;
}

/* ---- checking the calls ------------------------------------------------ */

static void dump_calls(const struct fake *f)
{
	for (size_t i = 0; i < f->ncalls; i++)
		print_message("  call %zu: %s %s %s rc=%d %s\n", i, kind_names[f->calls[i].kind],
			      f->calls[i].plural, f->calls[i].name, f->calls[i].rc, f->calls[i].body);
}

static size_t count_kind(const struct fake *f, enum call_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ncalls; i++)
		n += f->calls[i].kind == kind;
	return n;
}

/* Index of the first call of kind on name (NULL: any), or -1. */
static long find_call(const struct fake *f, enum call_kind kind, const char *plural, const char *name)
{
	for (size_t i = 0; i < f->ncalls; i++)
		if (f->calls[i].kind == kind && (!name || !strcmp(f->calls[i].name, name)) &&
		    (!plural || !strcmp(f->calls[i].plural, plural)))
			return (long)i;
	return -1;
}

static void expect_no_calls(const struct fake *f, const char *what)
{
	if (f->ncalls) {
		dump_calls(f);
		fail_msg("%s: %zu calls, want none", what, f->ncalls);
	}
}

/* The apply body carries exactly want ("KEY=VALUE", NULL-terminated) plus
 * the hash annotation and the managed-by label. */
static void expect_apply_data(const char *body, const char *const *want)
{
	cJSON *b = cJSON_Parse(body);
	const cJSON *data, *d;
	size_t n = 0;

	assert_non_null(b);
	data = json_path(b, "data");
	assert_true(cJSON_IsObject(data));
	for (; want[n]; n++) {
		const char *eq = strchr(want[n], '=');
		char key[128];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - want[n]), want[n]);
		d = json_child(data, key);
		if (!cJSON_IsString(d) || strcmp(d->valuestring, eq + 1))
			fail_msg("apply body lacks %s: %s", want[n], body);
	}
	if ((size_t)cJSON_GetArraySize(data) != n)
		fail_msg("apply body has %d keys, want %zu: %s", cJSON_GetArraySize(data), n, body);
	d = json_child(json_path(b, "metadata.annotations"), CONFIGMAP_HASH_ANNOTATION);
	assert_true(cJSON_IsString(d) && strlen(d->valuestring) == 64);
	d = json_child(json_path(b, "metadata.labels"), CONFIGMAP_MANAGED_LABEL);
	assert_true(cJSON_IsString(d));
	assert_string_equal(d->valuestring, CONFIGMAP_MANAGED_VALUE);
	assert_null(json_child(json_path(b, "metadata.labels"), "app.kubernetes.io/instance"));
	assert_null(json_child(json_path(b, "metadata.annotations"), "argocd.argoproj.io/tracking-id"));
	cJSON_Delete(b);
}

/* The condition `type` of a status body is "Status Reason" (prefix). */
static void expect_cond(const char *body, const char *type, const char *want)
{
	cJSON *b = cJSON_Parse(body);
	const cJSON *c;
	char got[160] = "";

	assert_non_null(b);
	cJSON_ArrayForEach(c, json_path(b, "status.conditions"))
		if (!strcmp(json_str_or(c, "type", ""), type))
			snprintf(got, sizeof(got), "%s %s", json_str_or(c, "status", "?"),
				 json_str_or(c, "reason", "?"));
	if (strncmp(got, want, strlen(want)))
		fail_msg("condition %s is \"%s\", want \"%s\" in %s", type, got, want, body);
	cJSON_Delete(b);
}

static int64_t body_int(const char *body, const char *path)
{
	cJSON *b = cJSON_Parse(body);
	int64_t v = -1;

	assert_non_null(b);
	json_get_int64(b, path, &v);
	cJSON_Delete(b);
	return v;
}

/* The world's ConfigMap data value for key, or NULL. */
static const char *cm_value(const struct world *w, const char *key)
{
	const cJSON *v = json_child(json_path(w->cm, "data"), key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* First reconcile of the example, fed back into the world. */
static void publish_example(struct world *w, const struct reconcile_config *cfg, struct event_dedup *ev)
{
	struct fake f;

	memset(&f, 0, sizeof(f));
	world_init(w, 1);
	assert_int_equal(run(&f, w, cfg, ev, NULL), FC_OK);
	assert_int_equal(count_kind(&f, C_APPLY), 1);
	assert_non_null(w->cm);
}

static void dedup_init(struct event_dedup *ev)
{
	assert_int_equal(event_dedup_init(ev), FC_OK);
}

/* What a scenario runs against: the API server, the fake, the event table. */
struct scene {
	struct world w;
	struct fake f;
	struct event_dedup ev;
};

/* An empty fake and event table; the test sets up sc->w. */
static void scene_init(struct scene *sc)
{
	memset(&sc->f, 0, sizeof(sc->f));
	dedup_init(&sc->ev);
}

static void scene_release(struct scene *sc)
{
	event_dedup_release(&sc->ev);
	world_release(&sc->w);
}

/* ---- 1, 2: first reconcile, then the restart/no-op rule -------------- */

static void test_first_reconcile(void **state)
{
	struct scene sc;
	struct reconcile_stats st;
	static const char *const models[] = { "generation", "reasoning-pro", "analysis" };
	static const char *const accounts[] = { "aucert-ai", "aucert-ai-east" };
	size_t i = 0;

	(void)state;
	scene_init(&sc);
	world_init(&sc.w, 1);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, &st), FC_OK);
	if (getenv("FC_TEST_VERBOSE"))
		dump_calls(&sc.f);
	assert_int_equal(sc.f.check_account_calls + sc.f.check_model_calls, 0); /* validation off */
	/* finalizers first, one per model */
	for (size_t k = 0; k < 3; k++, i++) {
		assert_int_equal(sc.f.calls[i].kind, C_FINALIZERS);
		assert_string_equal(sc.f.calls[i].name, models[k]);
		assert_string_equal(sc.f.calls[i].body, "[\"" SPEC_FINALIZER "\"]");
	}
	/* then exactly one apply with every key */
	assert_int_equal(sc.f.calls[i].kind, C_APPLY);
	assert_string_equal(sc.f.calls[i].name, "llm-config");
	expect_apply_data(sc.f.calls[i].body, example_data);
	i++;
	/* status of every model, then of every account (default ConfigMap) */
	for (size_t k = 0; k < 3; k++, i++) {
		assert_int_equal(sc.f.calls[i].kind, C_STATUS);
		assert_string_equal(sc.f.calls[i].plural, "foundrymodels");
		assert_string_equal(sc.f.calls[i].name, models[k]);
		expect_cond(sc.f.calls[i].body, "Ready", "True Published");
		expect_cond(sc.f.calls[i].body, "Published", "True Published");
		assert_int_equal(body_int(sc.f.calls[i].body, "status.observedGeneration"), 1);
	}
	assert_non_null(strstr(sc.f.calls[3 + 1].body, "\"publishedKeys\":[\"GENERATION\",\"REPORTING\"]"));
	assert_non_null(strstr(sc.f.calls[3 + 2].body, "\"endpoint\":\"" E "\""));
	for (size_t k = 0; k < 2; k++, i++) {
		assert_int_equal(sc.f.calls[i].kind, C_STATUS);
		assert_string_equal(sc.f.calls[i].plural, "foundryaccounts");
		assert_string_equal(sc.f.calls[i].name, accounts[k]);
		expect_cond(sc.f.calls[i].body, "Ready", "True AccountReady");
	}
	/* Published events, one per model */
	for (size_t k = 0; k < 3; k++, i++) {
		assert_int_equal(sc.f.calls[i].kind, C_EVENT);
		assert_string_equal(sc.f.calls[i].plural, "FoundryModel");
		assert_string_equal(sc.f.calls[i].name, models[k]);
		assert_true(!strncmp(sc.f.calls[i].body, "Normal Published: ", 18));
	}
	assert_int_equal(sc.f.ncalls, i);
	for (size_t k = 0; k < sc.f.ncalls; k++)
		assert_int_equal(sc.f.calls[k].rc, FC_OK);
	assert_int_equal(st.wrote_configmap, 1);
	assert_int_equal(st.status_writes, 5);
	assert_int_equal(st.models_ready, 3);
	assert_int_equal(st.models_total, 3);
	assert_int_equal(st.requeue_after_ms, 0);
	assert_non_null(st.changes);
	assert_non_null(strstr(st.changes, "+FOUNDRY_DEPLOYMENT_GENERATION"));
	free(st.changes);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_ENDPOINT"), W);

	/* 2. the results fed back: nothing to do, no call at all */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, &st), FC_OK);
	expect_no_calls(&sc.f, "resync");
	assert_int_equal(st.wrote_configmap, 0);
	assert_int_equal(st.status_writes, 0);
	assert_int_equal(st.models_ready, 3);
	assert_null(st.changes);
	/* a restart: a fresh event table, still nothing */
	event_dedup_release(&sc.ev);
	dedup_init(&sc.ev);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "restart");
	scene_release(&sc);
}

/* The "current" ConfigMap written by hand (not by the fake's apply): our
 * manager owns the keys through managedFields. */
static void test_noop_handmade_current(void **state)
{
	struct scene sc;
	cJSON *mf, *fdata, *data;
	char *cm_text;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	/* rebuild sc.w.cm from scratch: data + annotation + label + one Apply entry */
	cm_text = json_print(sc.w.cm);
	assert_non_null(cm_text);
	{
		cJSON *old = cJSON_Parse(cm_text);
		const cJSON *h = json_child(json_path(old, "metadata.annotations"),
					    CONFIGMAP_HASH_ANNOTATION);
		const char *hash = cJSON_IsString(h) ? h->valuestring : NULL;
		cJSON *cm = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'llm-config',"
			      "'namespace':'aucert','resourceVersion':'7','labels':{"
			      "'app.kubernetes.io/managed-by':'foundry-controller'},'annotations':{},"
			      "'managedFields':[{'manager':'foundry-controller','operation':'Apply',"
			      "'apiVersion':'v1','fieldsV1':{'f:data':{}}}]},'data':{}}");

		assert_non_null(hash);
		obj_set(obj_member(obj_member(cm, "metadata"), "annotations"), CONFIGMAP_HASH_ANNOTATION,
			cJSON_CreateString(hash));
		mf = cJSON_GetObjectItemCaseSensitive(obj_member(cm, "metadata"), "managedFields");
		fdata = (cJSON *)json_child(json_path(mf->child, "fieldsV1"), "f:data");
		data = obj_member(cm, "data");
		for (size_t i = 0; example_data[i]; i++) {
			const char *eq = strchr(example_data[i], '=');
			char key[128], fk[140];

			snprintf(key, sizeof(key), "%.*s", (int)(eq - example_data[i]), example_data[i]);
			snprintf(fk, sizeof(fk), "f:%s", key);
			obj_set(data, key, cJSON_CreateString(eq + 1));
			obj_set(fdata, fk, cJSON_CreateObject());
		}
		/* a key of another manager is no reason to write */
		obj_set(data, "APP_SETTING", cJSON_CreateString("1"));
		assert_true(cJSON_AddItemToArray(mf, J("{'manager':'kubectl','operation':'Update',"
							"'fieldsV1':{'f:data':{'f:APP_SETTING':{}}}}")));
		cJSON_Delete(old);
		cJSON_Delete(sc.w.cm);
		sc.w.cm = cm;
	}
	free(cm_text);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "hand-made current ConfigMap");

	/* but a value changed behind our back is written back */
	obj_set(obj_member(sc.w.cm, "data"), "FOUNDRY_DEPLOYMENT_ANALYSIS", cJSON_CreateString("x"));
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(sc.f.ncalls, 1);
	assert_int_equal(sc.f.calls[0].kind, C_APPLY);
	expect_apply_data(sc.f.calls[0].body, example_data);
	scene_release(&sc);
}

/* ---- 3: a new generation failing under Enforce --------------------------- */

static void switch_generation(struct world *w, const char *model)
{
	cJSON *m = world_find(w, "foundrymodels", "generation", NULL);
	cJSON *spec = obj_member(m, "spec");

	obj_set(obj_member(m, "metadata"), "generation", cJSON_CreateNumber(2));
	obj_set(obj_member(spec, "model"), "name", cJSON_CreateString(model));
	obj_set(spec, "deployment", cJSON_CreateString(model));
	bump_rv(w, m);
}

static void test_enforce_failing_generation(void **state)
{
	struct scene sc;
	long i;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_on, &sc.ev); /* every verdict passes */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "resync with validation on");
	assert_int_equal(sc.f.check_account_calls, 2);
	assert_int_equal(sc.f.check_model_calls, 3);

	switch_generation(&sc.w, "gpt-5.5");
	sc.f.verdicts[0] = "generation R-ModelNotInRegion D-DeploymentNotFound X-";
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	if (getenv("FC_TEST_VERBOSE"))
		dump_calls(&sc.f);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 0); /* last known good: data unchanged */
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 0);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 1);
	assert_int_equal(count_kind(&sc.f, C_EVENT), 1);
	assert_int_equal(sc.f.ncalls, 2);
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_int_equal(i, 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ModelNotInRegion");
	expect_cond(sc.f.calls[i].body, "RegionAvailable", "False ModelNotInRegion");
	expect_cond(sc.f.calls[i].body, "Published", "False");
	assert_int_equal(body_int(sc.f.calls[i].body, "status.observedGeneration"), 2);
	assert_non_null(strstr(sc.f.calls[i].body, "\"publishedKeys\":[\"GENERATION\",\"REPORTING\"]"));
	assert_int_equal(sc.f.calls[1].kind, C_EVENT);
	assert_string_equal(sc.f.calls[1].name, "generation");
	assert_true(!strncmp(sc.f.calls[1].body, "Warning ModelNotInRegion: ", 26));
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.4");
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_REPORTING"), "gpt-5.4");

	/* repeated: nothing, also after a restart */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "repeat of the failing generation");
	event_dedup_release(&sc.ev);
	dedup_init(&sc.ev);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "restart with the failing generation");

	/* Azure unreachable now: the verdict obtained for generation 2 stands,
	 * nothing is written, the reconcile asks to be retried */
	sc.f.verdicts[0] = "generation R?AzureUnreachable D?AzureUnreachable X?AzureUnreachable";
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_ERR_UNAVAILABLE);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 0);
	for (size_t k = 0; k < sc.f.ncalls; k++) {
		if (sc.f.calls[k].kind == C_STATUS) /* the failure shows in the message only */
			expect_cond(sc.f.calls[k].body, "Ready", "False ModelNotInRegion");
		assert_string_equal(sc.f.calls[k].name, "generation");
	}
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_ERR_UNAVAILABLE);
	expect_no_calls(&sc.f, "Azure still unreachable");

	/* fixed in Azure: the new deployment is published in one apply */
	sc.f.verdicts[0] = NULL;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	assert_int_equal(sc.f.calls[0].kind, C_APPLY);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.5");
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_REPORTING"), "gpt-5.5");
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_true(i > 0);
	expect_cond(sc.f.calls[i].body, "Ready", "True Published");
	scene_release(&sc);
}

/* ---- the snapshot's ConfigMap is older than the API server's ------------ */

static void set_model(struct world *w, const char *name, int generation, const char *model)
{
	cJSON *m = world_find(w, "foundrymodels", name, NULL);
	cJSON *spec = obj_member(m, "spec");

	obj_set(obj_member(m, "metadata"), "generation", cJSON_CreateNumber(generation));
	obj_set(obj_member(spec, "model"), "name", cJSON_CreateString(model));
	obj_set(spec, "deployment", cJSON_CreateString(model));
	bump_rv(w, m);
}

/* The informer had not seen our last write when the reconcile read the
 * ConfigMap: a kept (last known good) value taken from that copy would put
 * an older value back. The apply carries the copy's resourceVersion, so it
 * is refused (CONFLICT, retried) and nothing is written; from an up-to-date
 * copy the value published last is kept. */
static void test_stale_configmap_snapshot(void **state)
{
	struct scene sc;
	struct reconcile_ops ops;
	struct reconcile_stats st;
	struct snap sn;
	cJSON *stale;
	fc_err rc;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_on, &sc.ev);            /* GENERATION=gpt-5.4 */
	assert_non_null(stale = cJSON_Duplicate(sc.w.cm, 1));
	set_model(&sc.w, "generation", 2, "gpt-5.5");
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.5");

	/* generation 3 fails validation (keeps its value), analysis moves */
	set_model(&sc.w, "generation", 3, "gpt-5.6");
	set_model(&sc.w, "analysis", 2, "Kimi-K2.7");
	sc.f.verdicts[0] = "generation R-ModelNotInRegion D-DeploymentNotFound X-";
	sc.f.w = &sc.w;
	sc.f.ncalls = 0;
	ops = fake_ops(&sc.f);
	snap_take(&sc.w, &sn);
	cJSON_Delete(sn.cm);
	sn.cm = stale;                                /* the copy from before gpt-5.5 */
	sn.s.cm = stale;
	memset(&st, 0, sizeof(st));
	rc = reconcile_configmap(&cfg_on, &ops, &sc.ev, &sn.s, &st);
	snap_release(&sn);
	free(st.changes);
	assert_int_equal(rc, FC_ERR_CONFLICT);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.5");
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"), "Kimi-K2.6");

	/* retried once the cache has caught up */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_OK);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.5");
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_REPORTING"), "gpt-5.5");
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"), "Kimi-K2.7");
	scene_release(&sc);
}

/* ---- 4: the apply fails ------------------------------------------------ */

static void test_apply_fails(void **state)
{
	struct scene sc;
	struct reconcile_stats st;

	(void)state;
	scene_init(&sc);
	/* first reconcile: finalizers are on, the apply fails, no status */
	world_init(&sc.w, 1);
	fake_fail(&sc.f, C_APPLY, NULL, 0, FC_ERR_UNAVAILABLE);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, &st), FC_ERR_UNAVAILABLE);
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 3);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 0);
	assert_int_equal(count_kind(&sc.f, C_EVENT), 0);
	assert_int_equal(st.wrote_configmap, 0);
	assert_null(st.changes);
	assert_null(sc.w.cm);
	/* the retry goes through: no finalizer again, one apply */
	sc.f.nrules = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 0);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 5);
	world_release(&sc.w);

	/* a published model switches: the apply fails, no status claims it */
	publish_example(&sc.w, &cfg_off, &sc.ev);
	switch_generation(&sc.w, "gpt-5.5");
	fake_fail(&sc.f, C_APPLY, NULL, 0, FC_ERR_UNAVAILABLE);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_UNAVAILABLE);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	for (size_t i = 0; i < sc.f.ncalls; i++) {
		if (sc.f.calls[i].kind == C_STATUS && !strcmp(sc.f.calls[i].name, "generation") &&
		    strstr(sc.f.calls[i].body, "\"Published\"") &&
		    body_int(sc.f.calls[i].body, "status.observedGeneration") == 2)
			fail_msg("status claims generation 2 published: %s", sc.f.calls[i].body);
		assert_true(sc.f.calls[i].kind != C_EVENT);
		assert_true(sc.f.calls[i].kind != C_FINALIZERS);
	}
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.4");
	sc.f.nrules = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.5");
	assert_int_equal(sc.f.calls[0].kind, C_APPLY);
	assert_true(find_call(&sc.f, C_STATUS, "foundrymodels", "generation") > 0);
	scene_release(&sc);
}

/* ---- 5: deletion ------------------------------------------------------- */

static void test_delete(void **state)
{
	struct scene sc;
	cJSON *m, *meta;
	static const char *const remaining[] = {
		"FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4",
		"FOUNDRY_DEPLOYMENT_REASONING_PRO=gpt-5.4-pro",
		"FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.4",
		"FOUNDRY_ENDPOINT=" W,
		"FOUNDRY_ENDPOINT_REASONING_PRO=" E,
		NULL,
	};

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	m = world_find(&sc.w, "foundrymodels", "analysis", NULL);
	meta = obj_member(m, "metadata");
	obj_set(meta, "finalizers", J("['example.com/keep','" SPEC_FINALIZER "']"));
	obj_set(meta, "deletionTimestamp", cJSON_CreateString("2026-11-24T06:00:00Z"));
	bump_rv(&sc.w, m);

	/* apply failing: the finalizer stays */
	fake_fail(&sc.f, C_APPLY, NULL, 0, FC_ERR_UNAVAILABLE);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_UNAVAILABLE);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 0);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"), "Kimi-K2.6");

	/* apply going through: keys gone first, then the finalizer */
	sc.f.nrules = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	if (getenv("FC_TEST_VERBOSE"))
		assert_int_equal(sc.f.ncalls, 2);
	assert_int_equal(sc.f.calls[0].kind, C_APPLY);
	expect_apply_data(sc.f.calls[0].body, remaining);
	assert_int_equal(sc.f.calls[1].kind, C_FINALIZERS);
	assert_string_equal(sc.f.calls[1].name, "analysis");
	assert_string_equal(sc.f.calls[1].body, "[\"example.com/keep\"]");
	assert_null(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"));
	m = world_find(&sc.w, "foundrymodels", "analysis", NULL);
	assert_non_null(m); /* the foreign finalizer holds it */
	assert_int_equal(cJSON_GetArraySize(json_path(m, "metadata.finalizers")), 1);
	/* then nothing more */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "after deletion");

	/* the finalizer patch conflicting is an error to retry; gone is not */
	world_release(&sc.w);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	m = world_find(&sc.w, "foundrymodels", "generation", NULL);
	obj_set(obj_member(m, "metadata"), "deletionTimestamp", cJSON_CreateString("2026-11-24T06:00:00Z"));
	fake_fail(&sc.f, C_FINALIZERS, "generation", 0, FC_ERR_CONFLICT);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_CONFLICT);
	assert_int_equal(sc.f.calls[0].kind, C_APPLY);
	assert_int_equal(sc.f.calls[sc.f.ncalls - 1].kind, C_FINALIZERS);
	sc.f.nrules = 0;
	fake_fail(&sc.f, C_FINALIZERS, "generation", 0, FC_ERR_NOTFOUND);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(sc.f.ncalls, 1); /* the keys went in the previous apply */
	assert_int_equal(sc.f.calls[0].kind, C_FINALIZERS);
	sc.f.nrules = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_null(world_find(&sc.w, "foundrymodels", "generation", NULL)); /* deleted */
	assert_null(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"));
	assert_null(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_REPORTING"));
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "after the model is gone");
	scene_release(&sc);
}

/* ---- 6: shutdown ------------------------------------------------------- */

static void test_stopping(void **state)
{
	struct scene sc;

	(void)state;
	scene_init(&sc);
	world_init(&sc.w, 1);
	/* at once, or at any later check: cancelled, nothing written */
	for (unsigned k = 1; k <= 6; k++) {
		sc.f.stopping_from = k;
		assert_int_equal(run(&sc.f, &sc.w, &cfg_on, &sc.ev, NULL), FC_ERR_CANCELLED);
		expect_no_calls(&sc.f, "stopping");
		assert_true(sc.f.stopping_calls >= k);
	}
	assert_null(sc.w.cm);
	sc.f.stopping_from = 0;
	world_release(&sc.w);

	/* a reconcile with no Azure call to make (everything was deleted,
	 * the keys must go) writes nothing either while stopping */
	publish_example(&sc.w, &cfg_off, &sc.ev);
	for (size_t i = 0; i < sc.w.nmod; i++)
		cJSON_Delete(sc.w.mod[i]);
	for (size_t i = 0; i < sc.w.nacc; i++)
		cJSON_Delete(sc.w.acc[i]);
	sc.w.nmod = sc.w.nacc = 0;
	sc.f.stopping_from = 1;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_CANCELLED);
	expect_no_calls(&sc.f, "stopping, nothing to ask");
	sc.f.stopping_from = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(sc.f.ncalls, 1);
	expect_apply_data(sc.f.calls[0].body, (const char *const[]){ NULL });
	scene_release(&sc);
}

/* ---- 7: a key of another field manager ------------------------------------ */

static void world_foreign(struct world *w)
{
	world_init(w, 1);
	w->mod[w->nmod++] = J(MODEL_X);
	w->cm = J(CM_FOREIGN);
}

static void test_foreign_key(void **state)
{
	struct scene sc;
	long i;

	(void)state;
	scene_init(&sc);
	world_foreign(&sc.w);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	if (getenv("FC_TEST_VERBOSE"))
		dump_calls(&sc.f);
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 4);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	i = find_call(&sc.f, C_APPLY, NULL, NULL);
	expect_apply_data(sc.f.calls[i].body, example_data); /* no FOUNDRY_DEPLOYMENT_X, no OTHER */
	assert_null(strstr(sc.f.calls[i].body, "FOUNDRY_DEPLOYMENT_X"));
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "xmodel");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False KeyConflict");
	assert_non_null(strstr(sc.f.calls[i].body, "kubectl-edit"));
	i = find_call(&sc.f, C_EVENT, NULL, "xmodel");
	assert_true(i >= 0);
	assert_true(!strncmp(sc.f.calls[i].body, "Warning KeyConflict: ", 21));
	assert_int_equal(count_kind(&sc.f, C_EVENT), 4);
	/* the other manager's keys are untouched */
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_X"), "someone-elses");
	assert_string_equal(cm_value(&sc.w, "OTHER"), "keep-me");
	/* and the next reconcile has nothing to do */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "resync with a foreign key");
	scene_release(&sc);
}

/* ---- 8: status patches failing ------------------------------------------ */

static void test_status_fails(void **state)
{
	struct scene sc;
	struct reconcile_stats st;
	long a, s;

	(void)state;
	scene_init(&sc);
	/* the object was deleted meanwhile: not an error */
	world_init(&sc.w, 1);
	fake_fail(&sc.f, C_STATUS, "analysis", 0, FC_ERR_NOTFOUND);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, &st), FC_OK);
	free(st.changes);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 5);
	assert_int_equal(st.status_writes, 4);
	assert_int_equal(count_kind(&sc.f, C_EVENT), 2); /* none for analysis */
	assert_int_equal(find_call(&sc.f, C_EVENT, NULL, "analysis"), -1);
	world_release(&sc.w);

	/* any other failure is returned, after the ConfigMap was written and
	 * the other statuses were */
	event_dedup_release(&sc.ev);
	dedup_init(&sc.ev);
	world_init(&sc.w, 1);
	sc.f.nrules = 0;
	fake_fail(&sc.f, C_STATUS, "reasoning-pro", 0, FC_ERR_UNAVAILABLE);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, &st), FC_ERR_UNAVAILABLE);
	free(st.changes);
	a = find_call(&sc.f, C_APPLY, NULL, NULL);
	s = find_call(&sc.f, C_STATUS, NULL, "reasoning-pro");
	assert_true(a >= 0 && s > a);
	assert_int_equal(sc.f.calls[s].rc, FC_ERR_UNAVAILABLE);
	assert_int_equal(st.wrote_configmap, 1);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 5);
	assert_int_equal(find_call(&sc.f, C_EVENT, NULL, "reasoning-pro"), -1);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_REASONING_PRO"), "gpt-5.4-pro");
	/* the retry writes only the missing status and its event */
	sc.f.nrules = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(sc.f.ncalls, 2);
	assert_int_equal(sc.f.calls[0].kind, C_STATUS);
	assert_string_equal(sc.f.calls[0].name, "reasoning-pro");
	assert_int_equal(sc.f.calls[1].kind, C_EVENT);
	assert_string_equal(sc.f.calls[1].name, "reasoning-pro");
	/* an account status failing counts too */
	world_release(&sc.w);
	world_init(&sc.w, 1);
	fake_fail(&sc.f, C_STATUS, "aucert-ai-east", 0, FC_ERR_FORBIDDEN);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_FORBIDDEN);
	sc.f.nrules = 0;

	/* event creation failing is not fatal */
	world_release(&sc.w);
	world_init(&sc.w, 1);
	fake_fail(&sc.f, C_EVENT, NULL, 0, FC_ERR_UNAVAILABLE);
	event_dedup_release(&sc.ev);
	dedup_init(&sc.ev);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(count_kind(&sc.f, C_EVENT), 3);
	sc.f.nrules = 0;
	scene_release(&sc);
}

/* A finalizer that cannot be added stops the reconcile before any key is
 * published for that model. */
static void test_finalizer_add_fails(void **state)
{
	struct scene sc;

	(void)state;
	scene_init(&sc);
	world_init(&sc.w, 1);
	fake_fail(&sc.f, C_FINALIZERS, "reasoning-pro", 0, FC_ERR_CONFLICT);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_CONFLICT);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 0);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 0);
	assert_int_equal(sc.f.calls[sc.f.ncalls - 1].kind, C_FINALIZERS);
	assert_null(sc.w.cm);
	scene_release(&sc);
}

/* ---- 9: allocation failure at every site ------------------------------ */

static int same_call(const struct call *a, const struct call *b)
{
	return a->kind == b->kind && !strcmp(a->plural, b->plural) && !strcmp(a->name, b->name) &&
	       !strcmp(a->body, b->body);
}

static void nomem_scenario(void (*setup)(struct world *), const char *what)
{
	static struct fake ref, f; /* large: not on the stack */
	struct reconcile_ops ops;
	struct world w;
	struct snap sn;
	struct event_dedup ev;
	struct reconcile_stats st;
	unsigned long n, fails = 0;
	fc_err rc;

	setup(&w);
	/* the reference: no failure, record only */
	memset(&ref, 0, sizeof(ref));
	ops = fake_ops(&ref);
	dedup_init(&ev);
	snap_take(&w, &sn);
	assert_int_equal(reconcile_configmap(&cfg_off, &ops, &ev, &sn.s, &st), FC_OK);
	free(st.changes);
	event_dedup_release(&ev);
	assert_int_equal(count_kind(&ref, C_APPLY), 1);

	for (n = 1;; n++) {
		int fired;

		memset(&f, 0, sizeof(f));
		ops = fake_ops(&f);
		dedup_init(&ev);
		failmalloc_start(n, 0);
		rc = reconcile_configmap(&cfg_off, &ops, &ev, &sn.s, &st);
		failmalloc_stop();
		fired = failmalloc_fired() > 0;
		free(st.changes);
		event_dedup_release(&ev);
		if (rc != FC_OK && rc != FC_ERR_NOMEM)
			fail_msg("%s: allocation %lu failing gave %s", what, n, fc_strerror(rc));
		/* every write made is one the reference makes: never a
		 * ConfigMap or status built from partial data */
		for (size_t i = 0; i < f.ncalls; i++) {
			size_t j = 0;

			while (j < ref.ncalls && !same_call(&f.calls[i], &ref.calls[j]))
				j++;
			if (j == ref.ncalls) {
				dump_calls(&f);
				fail_msg("%s: allocation %lu failing: call %zu (%s %s) differs from the "
					 "reference: %s", what, n, i, kind_names[f.calls[i].kind],
					 f.calls[i].name, f.calls[i].body);
			}
		}
		if (rc == FC_OK) {
			/* tolerated (an event lost at worst): every other write done */
			for (size_t j = 0; j < ref.ncalls; j++) {
				size_t i = 0;

				if (ref.calls[j].kind == C_EVENT)
					continue;
				while (i < f.ncalls && !same_call(&f.calls[i], &ref.calls[j]))
					i++;
				if (i == f.ncalls)
					fail_msg("%s: allocation %lu failing: FC_OK without %s %s", what, n,
						 kind_names[ref.calls[j].kind], ref.calls[j].name);
			}
			if (!fired)
				break;
		} else {
			assert_true(fired);
			fails++;
		}
	}
	if (getenv("FC_TEST_VERBOSE"))
		print_message("%s: %lu allocations, %lu failing runs\n", what, n, fails);
	assert_true(fails > 20);
	{
		char title[96];

		snprintf(title, sizeof(title), "reconcile (%s)", what);
		failmalloc_report(title, fails);
	}
	snap_release(&sn);
	world_release(&w);
}

static void setup_example(struct world *w)
{
	world_init(w, 1);
}

static void world_big_foreign(struct world *w, size_t len);
static size_t world_cm_bytes(const struct world *w);
static void set_deployment(struct world *w, const char *model, const char *deployment);

/* published, then a change that passes the size limit (test_size_limit) */
static void setup_too_large(struct world *w)
{
	struct event_dedup ev;

	dedup_init(&ev);
	publish_example(w, &cfg_off, &ev);
	event_dedup_release(&ev);
	world_big_foreign(w, CONFIGMAP_MAX_BYTES - world_cm_bytes(w) - strlen("BIG") - 20);
	w->mod[w->nmod++] = J(MODEL_X);
	set_deployment(w, "analysis", "Kimi-K2.6-longer");
}

static void test_nomem(void **state)
{
	(void)state;
	if (!failmalloc_works())
		skip();
	nomem_scenario(setup_example, "first reconcile");
	nomem_scenario(world_foreign, "foreign key");
	nomem_scenario(setup_too_large, "ConfigMap too large");
}

/* ---- the API server's size limit --------------------------------------- */

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Gives the world's ConfigMap a key BIG of len bytes owned by field
 * manager "hand" (replacing an earlier one). */
static void world_big_foreign(struct world *w, size_t len)
{
	cJSON *meta = obj_member(w->cm, "metadata"), *mf, *e, *fd;
	char *big = malloc(len + 1);

	assert_non_null(big);
	memset(big, 'b', len);
	big[len] = '\0';
	obj_set(obj_member(w->cm, "data"), "BIG", cJSON_CreateString(big));
	free(big);
	mf = obj_member(meta, "managedFields");
	if (!cJSON_IsArray(mf)) {
		mf = cJSON_CreateArray();
		obj_set(meta, "managedFields", mf);
	}
	cJSON_ArrayForEach(e, mf)
		if (!strcmp(json_str_or(e, "manager", ""), "hand"))
			break;
	if (!e) {
		e = J("{'manager':'hand','operation':'Update','apiVersion':'v1','fieldsV1':{'f:data':{}}}");
		assert_true(cJSON_AddItemToArray(mf, e));
	}
	fd = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "fieldsV1"), "f:data");
	if (!cJSON_GetObjectItemCaseSensitive(fd, "f:BIG"))
		assert_true(cJSON_AddItemToObject(fd, "f:BIG", cJSON_CreateObject()));
	bump_rv(w, w->cm);
}

/* Keys and values of the world's ConfigMap data. */
static size_t world_cm_bytes(const struct world *w)
{
	const cJSON *e;
	size_t n = 0;

	cJSON_ArrayForEach(e, json_path(w->cm, "data"))
		n += strlen(e->string) + strlen(e->valuestring);
	return n;
}

static void set_deployment(struct world *w, const char *model, const char *deployment)
{
	cJSON *m = world_find(w, "foundrymodels", model, NULL);

	assert_non_null(m);
	obj_set(obj_member(m, "spec"), "deployment", cJSON_CreateString(deployment));
	obj_set(obj_member(m, "metadata"), "generation",
		cJSON_CreateNumber(json_path(m, "metadata.generation")->valuedouble + 1));
	bump_rv(w, m);
}

/* A change that would take the ConfigMap past 1 MiB is not sent: the
 * newest model whose change adds bytes waits (Ready=False
 * ConfigMapTooLarge, last known good kept, a Warning event), the older
 * ones publish; nothing loops; room made later publishes it. */
static void test_size_limit(void **state)
{
	struct scene sc;
	size_t before, slack = 20;
	long i;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	/* fill the ConfigMap to 20 bytes under the limit with a foreign key */
	world_big_foreign(&sc.w, CONFIGMAP_MAX_BYTES - world_cm_bytes(&sc.w) - strlen("BIG") - slack);
	assert_int_equal(world_cm_bytes(&sc.w), CONFIGMAP_MAX_BYTES - slack);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "a full ConfigMap that does not change");

	/* analysis (older) grows by 7 bytes, xmodel (newest) adds 27: both do
	 * not fit, analysis alone does */
	sc.w.mod[sc.w.nmod++] = J(MODEL_X);
	set_deployment(&sc.w, "analysis", "Kimi-K2.6-longer");
	before = world_cm_bytes(&sc.w);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	if (getenv("FC_TEST_VERBOSE"))
		dump_calls(&sc.f);
	i = find_call(&sc.f, C_APPLY, NULL, NULL);
	assert_true(i >= 0);
	assert_non_null(strstr(sc.f.calls[i].body, "Kimi-K2.6-longer"));
	assert_null(strstr(sc.f.calls[i].body, "FOUNDRY_DEPLOYMENT_X"));
	assert_int_equal(world_cm_bytes(&sc.w), before + 7);
	assert_true(world_cm_bytes(&sc.w) <= CONFIGMAP_MAX_BYTES);
	assert_null(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_X"));
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "xmodel");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ConfigMapTooLarge");
	expect_cond(sc.f.calls[i].body, "Published", "False ConfigMapTooLarge");
	assert_non_null(strstr(sc.f.calls[i].body, "over the limit of 1048576 bytes"));
	assert_non_null(strstr(sc.f.calls[i].body, "ConfigMap aucert/llm-config would hold 1048590 bytes"));
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "analysis");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "True Published");
	i = find_call(&sc.f, C_EVENT, NULL, "xmodel");
	assert_true(i >= 0);
	assert_true(starts(sc.f.calls[i].body, "Warning ConfigMapTooLarge: ConfigMap aucert/llm-config would hold"));
	/* stable: the next reconciles write nothing */
	for (int k = 0; k < 3; k++) {
		assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
		expect_no_calls(&sc.f, "resync of a held model");
	}

	/* the other manager shrinks its key: xmodel publishes */
	world_big_foreign(&sc.w, strlen(cm_value(&sc.w, "BIG")) - 100);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_X"), "gpt-5.4");
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "xmodel");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "True Published");
	assert_true(world_cm_bytes(&sc.w) <= CONFIGMAP_MAX_BYTES);

	/* a model already published that grows past the limit keeps its
	 * last published value */
	world_big_foreign(&sc.w, strlen(cm_value(&sc.w, "BIG")) + (CONFIGMAP_MAX_BYTES - 10 - world_cm_bytes(&sc.w)));
	assert_int_equal(world_cm_bytes(&sc.w), CONFIGMAP_MAX_BYTES - 10);
	set_deployment(&sc.w, "generation", "gpt-5.4-much-longer-name");
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 0);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.4");
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ConfigMapTooLarge");
	assert_non_null(strstr(sc.f.calls[i].body, "keeps the last published values for GENERATION, REPORTING"));
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "resync of a held published model");
	scene_release(&sc);
}

/* Holding back goes newest first, then lets in again, oldest first, what
 * still fits: a small new model goes in while a big older change waits. */
static void test_size_limit_packing(void **state)
{
	struct scene sc;
	long i;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	world_big_foreign(&sc.w, CONFIGMAP_MAX_BYTES - world_cm_bytes(&sc.w) - strlen("BIG") - 40);
	/* xmodel (newest) adds 27 bytes, analysis (older) 50: only xmodel fits */
	sc.w.mod[sc.w.nmod++] = J(MODEL_X);
	set_deployment(&sc.w, "analysis", "Kimi-K2.6-0123456789012345678901234567890123456789");
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_X"), "gpt-5.4");
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"), "Kimi-K2.6");
	assert_int_equal(world_cm_bytes(&sc.w), CONFIGMAP_MAX_BYTES - 40 + 27);
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "analysis");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ConfigMapTooLarge");
	assert_non_null(strstr(sc.f.calls[i].body, "keeps the last published values for ANALYSIS"));
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "xmodel");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "True Published");
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	expect_no_calls(&sc.f, "resync after packing");
	scene_release(&sc);
}

/* The primary account's endpoint grows past the limit: no model change to
 * hold back makes it fit, so nothing is written and the reconcile fails
 * (backoff) with TOOBIG; the ConfigMap keeps its data. */
static void test_size_limit_nothing_fits(void **state)
{
	struct scene sc;
	cJSON *a;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	world_big_foreign(&sc.w, CONFIGMAP_MAX_BYTES - world_cm_bytes(&sc.w) - strlen("BIG") - 5);
	a = world_find(&sc.w, "foundryaccounts", "aucert-ai", NULL);
	obj_set(obj_member(a, "spec"), "endpoint",
		cJSON_CreateString("https://aucert-ai-with-a-longer-name.openai.azure.com/"));
	bump_rv(&sc.w, a);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_TOOBIG);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 0);
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 0);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_ENDPOINT"), W);
	assert_int_equal(world_cm_bytes(&sc.w), CONFIGMAP_MAX_BYTES - 5);
	/* again: still nothing written, no status written twice */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_TOOBIG);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 0);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 0);
	scene_release(&sc);
}

/* An apply the API server refuses (422) holds back the changed models
 * with the server's reason in status, returns the error (backoff), keeps
 * the finalizer of a deleting model, and sends no status twice. */
static void test_apply_refused(void **state)
{
	struct scene sc;
	cJSON *m;
	long i;

	(void)state;
	scene_init(&sc);
	publish_example(&sc.w, &cfg_off, &sc.ev);
	set_deployment(&sc.w, "generation", "gpt-5.4-mini");
	fake_fail(&sc.f, C_APPLY, NULL, 0, FC_ERR_INVAL);
	sc.f.apply_why = "ConfigMap \"llm-config\" is invalid: []: Too long: must have at most 1048576 bytes";
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_INVAL);
	if (getenv("FC_TEST_VERBOSE"))
		dump_calls(&sc.f);
	assert_int_equal(count_kind(&sc.f, C_APPLY), 1);
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ConfigMapTooLarge");
	assert_non_null(strstr(sc.f.calls[i].body, "Too long: must have at most 1048576 bytes"));
	assert_true(find_call(&sc.f, C_STATUS, "foundrymodels", "analysis") < 0);
	i = find_call(&sc.f, C_EVENT, NULL, "generation");
	assert_true(i >= 0);
	assert_true(starts(sc.f.calls[i].body, "Warning ConfigMapTooLarge: the API server refused"));
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.4");
	/* the retry: the apply again, nothing else */
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_INVAL);
	assert_int_equal(sc.f.ncalls, 1);
	assert_int_equal(sc.f.calls[0].kind, C_APPLY);

	/* another refusal (an immutable ConfigMap), and a model being deleted */
	sc.f.apply_why = "ConfigMap \"llm-config\" is invalid: data: Forbidden: field is immutable when `immutable` is set";
	m = world_find(&sc.w, "foundrymodels", "analysis", NULL);
	obj_set(obj_member(m, "metadata"), "finalizers", J("['" SPEC_FINALIZER "']"));
	obj_set(obj_member(m, "metadata"), "deletionTimestamp", cJSON_CreateString("2026-11-24T06:00:00Z"));
	bump_rv(&sc.w, m);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_INVAL);
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 0);
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ConfigMapRejected");
	assert_non_null(strstr(sc.f.calls[i].body, "field is immutable"));
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"), "Kimi-K2.6");

	/* the server takes it: everything goes through, the finalizer drops */
	sc.f.nrules = 0;
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_OK);
	assert_string_equal(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_GENERATION"), "gpt-5.4-mini");
	assert_null(cm_value(&sc.w, "FOUNDRY_DEPLOYMENT_ANALYSIS"));
	assert_int_equal(count_kind(&sc.f, C_FINALIZERS), 1);
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "True Published");

	/* a 413 is too large whatever the message */
	set_deployment(&sc.w, "generation", "gpt-5.4-nano");
	fake_fail(&sc.f, C_APPLY, NULL, 0, FC_ERR_TOOBIG);
	sc.f.apply_why = "";
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_TOOBIG);
	i = find_call(&sc.f, C_STATUS, "foundrymodels", "generation");
	assert_true(i >= 0);
	expect_cond(sc.f.calls[i].body, "Ready", "False ConfigMapTooLarge");
	/* a transient failure is not reported in status */
	sc.f.nrules = 0;
	set_deployment(&sc.w, "generation", "gpt-5.4-pico");
	fake_fail(&sc.f, C_APPLY, NULL, 0, FC_ERR_UNAVAILABLE);
	assert_int_equal(run(&sc.f, &sc.w, &cfg_off, &sc.ev, NULL), FC_ERR_UNAVAILABLE);
	assert_int_equal(count_kind(&sc.f, C_STATUS), 0);
	scene_release(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_reconcile),
		cmocka_unit_test(test_noop_handmade_current),
		cmocka_unit_test(test_enforce_failing_generation),
		cmocka_unit_test(test_stale_configmap_snapshot),
		cmocka_unit_test(test_apply_fails),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_stopping),
		cmocka_unit_test(test_foreign_key),
		cmocka_unit_test(test_status_fails),
		cmocka_unit_test(test_finalizer_add_fails),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_size_limit_packing),
		cmocka_unit_test(test_size_limit_nothing_fits),
		cmocka_unit_test(test_apply_refused),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
