/* conditions: merging metav1.Conditions (lastTransitionTime), status
 * objects, and the equality that decides whether status is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "conditions.h"
#include "failmalloc.h"
#include "sqjson.h"

#define T0 "2026-11-24T07:00:00Z"
#define T1 "2026-11-24T08:00:00Z"

static const char *cstr(const cJSON *o, const char *k)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(c) ? c->valuestring : NULL;
}

static const cJSON *cond_of(const cJSON *arr, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, arr)
		if (cstr(c, "type") && !strcmp(cstr(c, "type"), type))
			return c;
	return NULL;
}

static void test_merge_new(void **state)
{
	struct render_cond conds[] = {
		{ "Ready", COND_TRUE, "Published", (char *)"K published" },
		{ "RegionAvailable", COND_FALSE, "ModelNotInRegion", (char *)"not in westus" },
		{ "Deprecated", COND_UNKNOWN, NULL, NULL },
	};
	cJSON *out;
	const cJSON *c;

	(void)state;
	assert_int_equal(conditions_merge(conds, 3, NULL, T0, 7, &out), FC_OK);
	assert_int_equal(cJSON_GetArraySize(out), 3);
	c = cJSON_GetArrayItem(out, 0); /* order kept: Ready first */
	assert_string_equal(cstr(c, "type"), "Ready");
	assert_string_equal(cstr(c, "status"), "True");
	assert_string_equal(cstr(c, "reason"), "Published");
	assert_string_equal(cstr(c, "message"), "K published");
	assert_string_equal(cstr(c, "lastTransitionTime"), T0);
	assert_int_equal(cJSON_GetObjectItem(c, "observedGeneration")->valuedouble, 7);
	c = cJSON_GetArrayItem(out, 2);
	assert_string_equal(cstr(c, "status"), "Unknown");
	assert_string_equal(cstr(c, "reason"), "Unknown");
	assert_string_equal(cstr(c, "message"), "");
	cJSON_Delete(out);
}

/* lastTransitionTime changes only when the status does */
static void test_merge_transitions(void **state)
{
	static const struct {
		const char *old_status, *old_ltt;
		enum cond_status now_status;
		const char *want_ltt;
	} cases[] = {
		{ "True", T0, COND_TRUE, T0 },        /* unchanged */
		{ "True", T0, COND_FALSE, T1 },       /* changed */
		{ "Unknown", T0, COND_UNKNOWN, T0 },
		{ "False", T0, COND_UNKNOWN, T1 },
		{ "True", NULL, COND_TRUE, T1 },      /* no stored time */
		{ NULL, NULL, COND_TRUE, T1 },        /* new condition */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct render_cond rc = { "Ready", cases[i].now_status, "Other", (char *)"m" };
		cJSON *existing = cJSON_CreateArray(), *out;

		if (cases[i].old_status) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "type", "Ready");
			cJSON_AddStringToObject(o, "status", cases[i].old_status);
			cJSON_AddStringToObject(o, "reason", "Before");
			if (cases[i].old_ltt)
				cJSON_AddStringToObject(o, "lastTransitionTime", cases[i].old_ltt);
			cJSON_AddItemToArray(existing, o);
		}
		/* noise the merge ignores */
		cJSON_AddItemToArray(existing, cJSON_CreateString("junk"));
		cJSON_AddItemToArray(existing, J("{'type':'Foreign','status':'True'}"));
		assert_int_equal(conditions_merge(&rc, 1, existing, T1, 2, &out), FC_OK);
		assert_int_equal(cJSON_GetArraySize(out), 1); /* Foreign dropped */
		if (strcmp(cstr(cJSON_GetArrayItem(out, 0), "lastTransitionTime"), cases[i].want_ltt))
			fail_msg("case %zu", i);
		cJSON_Delete(out);
		cJSON_Delete(existing);
	}
}

static void test_merge_malformed_existing(void **state)
{
	struct render_cond rc = { "Ready", COND_TRUE, "Published", (char *)"m" };
	const char *bad[] = { "{}", "'x'", "[1,2]", "[{'type':5,'status':'True'}]",
			      "[{'type':'Ready','status':true,'lastTransitionTime':'" T0 "'}]",
			      "[{'type':'Ready','status':'True','lastTransitionTime':7}]" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *e = J(bad[i]), *out;

		assert_int_equal(conditions_merge(&rc, 1, e, T1, 1, &out), FC_OK);
		assert_string_equal(cstr(cJSON_GetArrayItem(out, 0), "lastTransitionTime"), T1);
		cJSON_Delete(out);
		cJSON_Delete(e);
	}
}

static void model_fixture(struct spec_model *m, struct render_model_status *rs)
{
	memset(m, 0, sizeof(*m));
	memset(rs, 0, sizeof(*rs));
	m->meta.generation = 7;
	rs->deployment = (char *)"gpt-5.4-pro";
	rs->endpoint = (char *)"https://east/";
	rs->published_keys[0] = (char *)"REASONING_PRO";
	rs->npublished = 1;
	rs->nconds = 2;
	rs->conds[0] = (struct render_cond){ "Ready", COND_TRUE, "Published", (char *)"ok" };
	rs->conds[1] = (struct render_cond){ "Deprecated", COND_FALSE, "NotDeprecated", (char *)"" };
}

static void test_model_status(void **state)
{
	struct spec_model m;
	struct render_model_status rs;
	static char *regions[] = { (char *)"eastus2", (char *)"southcentralus" };
	cJSON *st, *st2, *old;

	(void)state;
	model_fixture(&m, &rs);
	assert_int_equal(conditions_model_status(&m, &rs, NULL, T0, &st), FC_OK);
	assert_int_equal(cJSON_GetObjectItem(st, "observedGeneration")->valuedouble, 7);
	assert_string_equal(cstr(st, "deployment"), "gpt-5.4-pro");
	assert_string_equal(cstr(st, "endpoint"), "https://east/");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "publishedKeys"), 0)->valuestring,
			    "REASONING_PRO");
	assert_null(cJSON_GetObjectItem(st, "availableRegions")); /* empty: omitted */
	assert_null(cJSON_GetObjectItem(st, "retirementDate"));
	assert_non_null(cond_of(cJSON_GetObjectItem(st, "conditions"), "Deprecated"));

	/* a restart with nothing new builds an equal status (later time, keys reordered) */
	old = J("{'conditions':[{'message':'ok','reason':'Published','lastTransitionTime':'" T0 "',"
		"'status':'True','type':'Ready','observedGeneration':7.0},"
		"{'type':'Deprecated','status':'False','reason':'NotDeprecated','message':'',"
		"'observedGeneration':7,'lastTransitionTime':'" T0 "'}],"
		"'publishedKeys':['REASONING_PRO'],'endpoint':'https://east/','deployment':'gpt-5.4-pro',"
		"'observedGeneration':7,'availableRegions':[]}");
	assert_int_equal(conditions_model_status(&m, &rs, old, T1, &st2), FC_OK);
	assert_true(conditions_status_equal(st, st2));
	assert_true(conditions_status_equal(old, st2));
	cJSON_Delete(st2);

	/* the model is now unpublished and not offered: keys and endpoint go (as
	 * nulls, since old has them), regions come, Ready moves at T1 */
	rs.endpoint = NULL;
	rs.npublished = 0;
	rs.available_regions = regions;
	rs.navailable_regions = 2;
	rs.retirement_date = (char *)"2027-03-31T00:00:00Z";
	rs.conds[0] = (struct render_cond){ "Ready", COND_FALSE, "ModelNotInRegion", (char *)"not offered" };
	assert_int_equal(conditions_model_status(&m, &rs, old, T1, &st2), FC_OK);
	assert_false(conditions_status_equal(old, st2));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(st2, "endpoint")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(st2, "publishedKeys")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st2, "availableRegions")), 2);
	assert_string_equal(cstr(st2, "retirementDate"), "2027-03-31T00:00:00Z");
	assert_string_equal(cstr(cond_of(cJSON_GetObjectItem(st2, "conditions"), "Ready"),
				 "lastTransitionTime"), T1);
	assert_string_equal(cstr(cond_of(cJSON_GetObjectItem(st2, "conditions"), "Deprecated"),
				 "lastTransitionTime"), T0);
	cJSON_Delete(st2);
	cJSON_Delete(old);
	cJSON_Delete(st);
}

/* RFC 7386 merge patch, to check what the API server would store. */
static void merge_patch(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, patch) {
		cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);

		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
		} else if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
			merge_patch(t, p);
		} else {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			cJSON_AddItemToObject(target, p->string, cJSON_Duplicate(p, 1));
		}
	}
}

static void test_merge_patch_converges(void **state)
{
	struct spec_model m;
	struct render_model_status rs;
	cJSON *stored, *st;

	(void)state;
	model_fixture(&m, &rs);
	assert_int_equal(conditions_model_status(&m, &rs, NULL, T0, &stored), FC_OK);
	/* unpublish: the patch removes the keys from the stored status */
	rs.endpoint = NULL;
	rs.npublished = 0;
	rs.conds[0] = (struct render_cond){ "Ready", COND_FALSE, "KeyConflict", (char *)"taken" };
	assert_int_equal(conditions_model_status(&m, &rs, stored, T1, &st), FC_OK);
	assert_false(conditions_status_equal(stored, st));
	merge_patch(stored, st);
	assert_null(cJSON_GetObjectItem(stored, "endpoint"));
	assert_null(cJSON_GetObjectItem(stored, "publishedKeys"));
	cJSON_Delete(st);
	/* and the next resync writes nothing */
	assert_int_equal(conditions_model_status(&m, &rs, stored, T1, &st), FC_OK);
	assert_true(conditions_status_equal(stored, st));
	assert_null(cJSON_GetObjectItem(st, "endpoint")); /* no null when nothing to remove */
	cJSON_Delete(st);
	cJSON_Delete(stored);
}

static void test_account_status(void **state)
{
	struct spec_account a;
	struct render_account_status rs;
	cJSON *st, *st2;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&rs, 0, sizeof(rs));
	a.meta.generation = 3;
	rs.endpoint = (char *)"https://aucert-ai.openai.azure.com/";
	rs.region = (char *)"westus";
	rs.kind = (char *)"AIServices";
	rs.nconds = 1;
	rs.conds[0] = (struct render_cond){ "Ready", COND_TRUE, "AccountReady", (char *)"ready" };
	assert_int_equal(conditions_account_status(&a, &rs, NULL, T0, &st), FC_OK);
	assert_int_equal(cJSON_GetObjectItem(st, "observedGeneration")->valuedouble, 3);
	assert_string_equal(cstr(st, "region"), "westus");
	assert_string_equal(cstr(st, "endpoint"), "https://aucert-ai.openai.azure.com/");
	assert_string_equal(cstr(st, "kind"), "AIServices");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "conditions")), 1);
	assert_int_equal(conditions_account_status(&a, &rs, st, T1, &st2), FC_OK);
	assert_true(conditions_status_equal(st, st2));
	cJSON_Delete(st2);
	a.meta.generation = 4; /* a new generation is a change */
	assert_int_equal(conditions_account_status(&a, &rs, st, T1, &st2), FC_OK);
	assert_false(conditions_status_equal(st, st2));
	assert_string_equal(cstr(cJSON_GetArrayItem(cJSON_GetObjectItem(st2, "conditions"), 0),
				 "lastTransitionTime"), T0);
	cJSON_Delete(st2);
	cJSON_Delete(st);
}

static void test_equal(void **state)
{
	static const struct {
		const char *a, *b;
		int eq;
	} cases[] = {
		{ "{'a':1,'b':'x'}", "{'b':'x','a':1}", 1 },
		{ "{'a':1}", "{'a':1.0}", 1 },
		{ "{'a':1}", "{'a':2}", 0 },
		{ "{'a':'1'}", "{'a':1}", 0 },
		{ "{'a':[1,2]}", "{'a':[2,1]}", 0 },
		{ "{'a':[1,2]}", "{'a':[1,2,3]}", 0 },
		{ "{'a':[]}", "{}", 1 },
		{ "{'a':null}", "{}", 1 },
		{ "{'a':{}}", "{}", 1 },
		{ "{'a':true}", "{'a':false}", 0 },
		{ "{'a':true}", "{'a':true}", 1 },
		{ "{'a':{'x':[{'p':1,'q':2}]}}", "{'a':{'x':[{'q':2,'p':1}]}}", 1 },
		{ "{'a':'x'}", "{'a':'x','b':'y'}", 0 },
		{ "{'a':''}", "{}", 0 },
		{ "{}", NULL, 1 },
		{ "{'a':1}", NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *a = J(cases[i].a), *b = cases[i].b ? J(cases[i].b) : NULL;

		if (conditions_status_equal(a, b) != cases[i].eq || conditions_status_equal(b, a) != cases[i].eq)
			fail_msg("case %zu", i);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	assert_true(conditions_status_equal(NULL, NULL));
}

static void test_nomem(void **state)
{
	struct spec_model m;
	struct render_model_status rs;
	struct spec_account a;
	struct render_account_status ras;
	static char *regions[] = { (char *)"eastus2" };
	cJSON *old = J("{'endpoint':'x','conditions':[{'type':'Ready','status':'True',"
		       "'lastTransitionTime':'" T0 "'}]}");
	unsigned long fails = 0;

	(void)state;
	if (!failmalloc_works()) {
		cJSON_Delete(old);
		skip();
	}
	model_fixture(&m, &rs);
	rs.available_regions = regions;
	rs.navailable_regions = 1;
	rs.retirement_date = (char *)"2027-01-01T00:00:00Z";
	memset(&a, 0, sizeof(a));
	memset(&ras, 0, sizeof(ras));
	ras.region = (char *)"westus";
	ras.nconds = 1;
	ras.conds[0] = rs.conds[0];
	for (int which = 0; which < 2; which++) {
		for (unsigned long n = 1;; n++) {
			cJSON *st = NULL;
			fc_err rc;

			failmalloc_start(n, 0);
			rc = which ? conditions_account_status(&a, &ras, old, T1, &st)
				   : conditions_model_status(&m, &rs, old, T1, &st);
			failmalloc_stop();
			if (!failmalloc_fired()) {
				assert_int_equal(rc, FC_OK);
				cJSON_Delete(st);
				break;
			}
			if (rc != FC_ERR_NOMEM)
				fail_msg("which %d, allocation %lu: rc %s", which, n, fc_strerror(rc));
			assert_null(st);
			fails++;
		}
	}
	assert_true(fails > 10);
	failmalloc_report("conditions model_status/account_status", fails);
	cJSON_Delete(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_new),
		cmocka_unit_test(test_merge_transitions),
		cmocka_unit_test(test_merge_malformed_existing),
		cmocka_unit_test(test_model_status),
		cmocka_unit_test(test_merge_patch_converges),
		cmocka_unit_test(test_account_status),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
