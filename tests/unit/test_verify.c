/* verify: rows from manifests + azure_client over a fake ARM serving the
 * payloads of shared/azure (tests/fixtures/azure/unit): available,
 * deprecating, retired, SKU / model not in region (with suggestions),
 * skipped, invalid, missing account, Azure failures, deployments,
 * conflicts; the exit code; table and JSON output; render; allocation
 * failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure_auth.h"
#include "azure_client.h"
#include "failmalloc.h"
#include "fake_transport.h"
#include "fixture.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "sha256.h"
#include "verify.h"

#define NOW_S 1740787200LL /* 2025-03-01T00:00:00Z */
#define S1 "11111111-1111-1111-1111-111111111111"
#define S2 "22222222-2222-2222-2222-222222222222"
#define S3 "33333333-3333-3333-3333-333333333333"

/* ---- the fake ARM ---------------------------------------------------------- */

struct route {
	const char *url_part;  /* first route whose part is in the URL answers */
	long status;
	const char *file;      /* under FC_TEST_DATA/azure/unit, or NULL */
	const char *body;      /* when file is NULL */
};

static const struct route arm_routes[] = {
	{ "/subscriptions/" S1 "/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct?",
	  200, "account_get_200_japaneast_OpenAI.json", NULL },
	{ "/accounts/gone?", 404, "arm_404_ResourceNotFound_account.json", NULL },
	{ "/subscriptions/" S2 "/", 429, "arm_429_SubscriptionRequestsThrottled.json", NULL },
	{ "/subscriptions/" S3 "/", 403, "arm_403_AuthorizationFailed.json", NULL },
	{ "/locations/japaneast/models?", 200, "spec_2026-09-01_ListLocationModels_body.json", NULL },
	{ "/locations/westeurope/models?", 200, "models_list_westeurope_EXCERPT.json", NULL },
	{ "/deployments/gpt-4o?", 404, "cogsvc_404_deployment_NotFound_INFERRED.json", NULL },
	{ "/deployments/ada?", 200, "spec_2025-10-01-preview_GetDeployment_body.json", NULL },
	{ "/oauth2/v2.0/token", 400, "entra_v2_token_400_AADSTS70021_workload_identity.json", NULL },
	{ NULL, 0, NULL, NULL },
};

struct fake_arm {
	const struct route *routes;
	char *bodies[16];
	int unexpected;
	int requests;
};

static void fake_arm_init(struct fake_arm *a, const struct route *routes)
{
	memset(a, 0, sizeof(*a));
	a->routes = routes;
	for (size_t i = 0; routes[i].url_part; i++)
		a->bodies[i] = routes[i].file ? fixture_read("azure/unit", routes[i].file, NULL)
					      : strdup(routes[i].body);
}

static void fake_arm_release(struct fake_arm *a)
{
	for (size_t i = 0; i < 16; i++)
		free(a->bodies[i]);
}

static fc_err arm_fn(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct fake_arm *a = ud;

	a->requests++;
	for (size_t i = 0; a->routes[i].url_part; i++)
		if (strstr(req->url, a->routes[i].url_part))
			return fake_transport_respond(req, resp, a->routes[i].status, a->bodies[i], 0);
	a->unexpected++;
	fprintf(stderr, "unexpected request %s %s\n", req->method, req->url);
	return fake_transport_respond(req, resp, 500, "{}", 0);
}

static int64_t fixed_clock(void *ud)
{
	(void)ud;
	return NOW_S * 1000;
}

/* An azure_client over the fake, as cmd_verify builds it. */
struct env {
	struct fake_arm arm;
	struct fake_transport ft;
	struct azure_client *ac;
};

static void env_init(struct env *e, char *const *suggest, size_t nsuggest)
{
	struct azure_client_options o;

	fake_arm_init(&e->arm, arm_routes);
	fake_transport_init(&e->ft, arm_fn, &e->arm);
	memset(&o, 0, sizeof(o));
	o.transport = &e->ft.t;
	o.arm_endpoint = "https://arm.test";
	o.catalog_ttl_ms = 3600000;
	o.deployment_ttl_ms = 300000;
	o.suggest_regions = suggest;
	o.nsuggest_regions = nsuggest;
	o.retirement_warning_ms = 90LL * 24 * 3600 * 1000;
	o.now_ms = fixed_clock;
	assert_int_equal(azure_client_new(&o, &e->ac), FC_OK);
}

static void env_release(struct env *e)
{
	azure_client_free(e->ac);
	fake_transport_release(&e->ft);
	fake_arm_release(&e->arm);
}

/* ---- manifests ------------------------------------------------------------------- */

#define ACCOUNT(name, sub, extra)                                                   \
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryAccount\n"            \
	"metadata: {name: " name ", namespace: team}\n"                             \
	"spec: {subscriptionId: " sub ", resourceGroup: rg" extra "}\n---\n"

#define MODEL(name, account, model, version, sku, extra)                              \
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryModel\n"                \
	"metadata: {name: " name ", namespace: team}\n"                               \
	"spec:\n  accountRef: {name: " account "}\n"                                  \
	"  model: {format: OpenAI, name: " model ", version: \"" version "\"}\n"      \
	"  sku: {name: " sku "}\n" extra "---\n"

#define MANIFESTS_TEXT                                                                 \
	ACCOUNT("acct", S1, ", primary: true") \
	ACCOUNT("gone", S1, "") \
	ACCOUNT("throttled", S2, "") \
	ACCOUNT("forbidden", S3, "") \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\n" \
	MODEL("a-available", "acct", "gpt-4o", "2024-08-06", "Standard", "  keys: [A]\n") \
	MODEL("b-deprecating", "acct", "gpt-4o", "2024-05-13", "provisioned", "  keys: [B]\n") \
	MODEL("c-retired", "acct", "gpt-35-turbo", "0301", "Standard", "  keys: [C]\n") \
	MODEL("d-sku", "acct", "gpt-4o", "2024-08-06", "GlobalStandard", "  keys: [D]\n") \
	MODEL("e-region", "acct", "gpt-35-turbo", "0125", "Standard", "  keys: [E]\n") \
	MODEL("f-skipped", "acct", "gpt-35-turbo", "0125", "Standard", \
	      "  keys: [F]\n  validation: Skip\n") \
	MODEL("g-invalid", "acct", "gpt-4o", "2024-08-06", "Standard", "  keys: [lower]\n") \
	MODEL("h-missing", "ghost", "gpt-4o", "2024-08-06", "Standard", "  keys: [H]\n") \
	MODEL("i-gone", "gone", "gpt-4o", "2024-08-06", "Standard", "  keys: [I]\n") \
	MODEL("j-throttled", "throttled", "gpt-4o", "2024-08-06", "Standard", "  keys: [J]\n") \
	MODEL("k-forbidden", "forbidden", "gpt-4o", "2024-08-06", "Standard", "  keys: [K]\n")

static const char *const MANIFESTS = MANIFESTS_TEXT;

static void load(struct manifest_set *s, const char *text)
{
	char err[MANIFEST_ERR_MAX];

	manifest_set_init(s);
	if (manifest_parse(s, "m.yaml", text, strlen(text), err, sizeof(err)))
		fail_msg("%s", err);
}

static const struct verify_row *row(const struct verify_result *r, const char *name)
{
	for (size_t i = 0; i < r->nrows; i++)
		if (!strcmp(r->rows[i].name, name))
			return &r->rows[i];
	fail_msg("no row %s", name);
	return NULL;
}

static void expect(const struct verify_result *r, const char *name, enum verify_verdict v,
		   const char *reason, const char *hint_part)
{
	const struct verify_row *x = row(r, name);

	if (x->verdict != v || strcmp(x->reason, reason) ||
	    (hint_part && (!x->hint || !strstr(x->hint, hint_part))) || (!hint_part && x->hint))
		fail_msg("%s: %s %s \"%s\", want %s %s \"%s\"", name, verify_verdict_name(x->verdict),
			 x->reason, x->hint ? x->hint : "(null)", verify_verdict_name(v), reason,
			 hint_part ? hint_part : "(null)");
}

static struct verify_options options(void)
{
	struct verify_options o;

	memset(&o, 0, sizeof(o));
	o.default_validation = VALIDATION_ENFORCE;
	o.now = NOW_S;
	return o;
}

/* One verify run against a fresh fake ARM, with options() */
struct run {
	struct env e;
	struct manifest_set s;
	struct verify_options opt;
	struct verify_result r;
	char err[256];
};

/* The fake ARM (suggest: --suggest-regions) and the manifests of text. */
static void run_start(struct run *v, char *const *suggest, size_t nsuggest, const char *text)
{
	env_init(&v->e, suggest, nsuggest);
	load(&v->s, text);
	v->opt = options();
}

/* verify_run() into v->r, which must succeed; release v->r before the next. */
static void run_verify(struct run *v)
{
	assert_int_equal(verify_run(&v->s, v->e.ac, &v->opt, &v->r, v->err, sizeof(v->err)), FC_OK);
}

static void run_release(struct run *v)
{
	verify_result_release(&v->r);
	manifest_set_release(&v->s);
	env_release(&v->e);
}

/* ---- rows ---------------------------------------------------------------------------- */

static void test_rows(void **state)
{
	char *suggest[] = { (char *)"westeurope" };
	struct run v;

	(void)state;
	run_start(&v, suggest, 1, MANIFESTS);
	run_verify(&v);
	assert_int_equal(v.r.nrows, 11);
	/* sorted by namespace, name */
	for (size_t i = 1; i < v.r.nrows; i++)
		assert_true(strcmp(v.r.rows[i - 1].name, v.r.rows[i].name) < 0);

	expect(&v.r, "a-available", VERIFY_AVAILABLE, "Published", NULL);
	assert_string_equal(row(&v.r, "a-available")->region, "japaneast"); /* ARM's location */
	assert_string_equal(row(&v.r, "a-available")->model, "gpt-4o");
	assert_string_equal(row(&v.r, "a-available")->version, "2024-08-06");
	assert_string_equal(row(&v.r, "a-available")->sku, "Standard");
	assert_string_equal(row(&v.r, "a-available")->account, "acct");
	assert_string_equal(row(&v.r, "a-available")->ns, "team");
	assert_string_equal(row(&v.r, "a-available")->file, "m.yaml");
	assert_int_equal(row(&v.r, "a-available")->line, 25);
	expect(&v.r, "b-deprecating", VERIFY_AVAILABLE, "Published", "2025-09-15T00:00:00Z");
	expect(&v.r, "c-retired", VERIFY_UNAVAILABLE, "ModelRetired", "retired in japaneast");
	expect(&v.r, "d-sku", VERIFY_UNAVAILABLE, "SkuNotInRegion",
	       "not offered in any of the --suggest-regions (westeurope)");
	expect(&v.r, "e-region", VERIFY_UNAVAILABLE, "ModelNotInRegion", "offered in westeurope");
	assert_string_equal(row(&v.r, "e-region")->hint, "offered in westeurope");
	assert_int_equal(row(&v.r, "e-region")->navailable_regions, 1);
	assert_string_equal(row(&v.r, "e-region")->available_regions[0], "westeurope");
	expect(&v.r, "f-skipped", VERIFY_SKIPPED, "ValidationSkipped", "spec.validation is Skip");
	expect(&v.r, "g-invalid", VERIFY_UNKNOWN, "InvalidSpec", "spec.keys[0]: \"lower\"");
	expect(&v.r, "h-missing", VERIFY_UNKNOWN, "AccountNotFound", "ghost");
	assert_string_equal(row(&v.r, "h-missing")->hint, "FoundryAccount ghost is not in the given manifests");
	assert_null(row(&v.r, "h-missing")->region);
	expect(&v.r, "i-gone", VERIFY_UNAVAILABLE, "AccountNotFound", "");
	expect(&v.r, "j-throttled", VERIFY_UNKNOWN, "AzureThrottled", "");
	expect(&v.r, "k-forbidden", VERIFY_UNKNOWN, "AzureForbidden", "");
	assert_int_equal(v.r.errors.n, 0);
	assert_int_equal(verify_exit_code(&v.r), 2);
	assert_int_equal(v.e.arm.unexpected, 0);
	verify_result_release(&v.r);

	/* once more on the same client: every answer is cached */
	v.e.arm.requests = 0;
	run_verify(&v);
	/* the 403 is held for AZURE_CLIENT_FAILURE_HOLD_MS like any failed lookup;
	 * the 429 holds its subscription until Retry-After */
	assert_int_equal(v.e.arm.requests, 0);
	run_release(&v);
}

static void test_no_suggestions(void **state)
{
	struct run v;

	(void)state;
	run_start(&v, NULL, 0, ACCOUNT("acct", S1, "")
		 MODEL("e-region", "acct", "gpt-35-turbo", "0125", "Standard", "  keys: [E]\n")
		 MODEL("a-available", "acct", "gpt-4o", "2024-08-06", "Standard", "  keys: [A]\n"));
	run_verify(&v);
	expect(&v.r, "e-region", VERIFY_UNAVAILABLE, "ModelNotInRegion",
	       "gpt-35-turbo 0125 Standard is not offered in japaneast");
	assert_int_equal(row(&v.r, "e-region")->navailable_regions, 0);
	assert_int_equal(verify_exit_code(&v.r), 1);
	run_release(&v);
}

static void test_deployments(void **state)
{
	struct run v;

	(void)state;
	run_start(&v, NULL, 0, ACCOUNT("acct", S1, "")
		 MODEL("missing-deployment", "acct", "gpt-4o", "2024-08-06", "Standard", "  keys: [A]\n")
		 MODEL("other-model", "acct", "gpt-4o", "2024-08-06", "Standard",
		       "  keys: [B]\n  deployment: ada\n"));
	/* without --check-deployments nothing is asked about deployments */
	run_verify(&v);
	expect(&v.r, "missing-deployment", VERIFY_AVAILABLE, "Published", NULL);
	expect(&v.r, "other-model", VERIFY_AVAILABLE, "Published", NULL);
	verify_result_release(&v.r);
	v.opt.check_deployments = 1;
	run_verify(&v);
	expect(&v.r, "missing-deployment", VERIFY_UNAVAILABLE, "DeploymentNotFound",
	       "deployment gpt-4o not found in account acct");
	expect(&v.r, "other-model", VERIFY_UNAVAILABLE, "DeploymentNotSucceeded", "model name differs");
	assert_int_equal(verify_exit_code(&v.r), 1);
	assert_int_equal(v.e.arm.unexpected, 0);
	run_release(&v);
}

static void test_conflicts(void **state)
{
	struct run v;

	(void)state;
	run_start(&v, NULL, 0, ACCOUNT("p1", S1, ", accountName: acct, primary: true")
		 ACCOUNT("p2", S1, ", accountName: acct, primary: true")
		 MODEL("first", "p1", "gpt-4o", "2024-08-06", "Standard", "  keys: [GEN, REP]\n")
		 MODEL("second", "p1", "gpt-4o", "2024-08-06", "Standard", "  keys: [REP]\n")
		 MODEL("third", "p2", "gpt-4o", "2024-08-06", "Standard", "  keys: [OTHER]\n")
		 MODEL("own-cm", "p1", "gpt-4o", "2024-08-06", "Standard",
		       "  keys: [REP]\n  configMap: other\n")
		 MODEL("skipped", "p1", "gpt-4o", "2024-08-06", "Standard",
		       "  keys: [GEN]\n  validation: Skip\n"));
	run_verify(&v);
	expect(&v.r, "first", VERIFY_AVAILABLE, "Published", NULL);
	expect(&v.r, "second", VERIFY_UNAVAILABLE, "KeyConflict",
	       "key REP is claimed by FoundryModel first (older) in ConfigMap team/llm-config");
	expect(&v.r, "third", VERIFY_UNAVAILABLE, "PrimaryConflict", "p1 (older) is the primary");
	expect(&v.r, "own-cm", VERIFY_AVAILABLE, "Published", NULL); /* another ConfigMap */
	expect(&v.r, "skipped", VERIFY_UNAVAILABLE, "KeyConflict", "key GEN");
	assert_int_equal(verify_exit_code(&v.r), 1);
	run_release(&v);
}

static void test_validation_off(void **state)
{
	struct verify_options opt = options();
	struct verify_result r;
	struct manifest_set s;
	char err[256];

	(void)state;
	load(&s, MANIFESTS_TEXT
		 ACCOUNT("with-endpoint", S1, ", endpoint: \"https://e.openai.azure.com/\"")
		 MODEL("z-endpoint", "with-endpoint", "gpt-4o", "2024-08-06", "Standard", "  keys: [Z]\n"));
	/* no client: nothing can be asked */
	assert_int_equal(verify_run(&s, NULL, &opt, &r, err, sizeof(err)), FC_OK);
	expect(&r, "a-available", VERIFY_SKIPPED, "ValidationSkipped",
	       "FoundryAccount acct has no spec.endpoint");
	expect(&r, "z-endpoint", VERIFY_SKIPPED, "ValidationSkipped", "--azure-validation=off");
	expect(&r, "i-gone", VERIFY_SKIPPED, "ValidationSkipped", "validation is off");
	/* what needs no Azure is still reported */
	expect(&r, "g-invalid", VERIFY_UNKNOWN, "InvalidSpec", "lower");
	expect(&r, "h-missing", VERIFY_UNKNOWN, "AccountNotFound", "ghost");
	assert_int_equal(verify_exit_code(&r), 2);
	verify_result_release(&r);

	/* --azure-validation=off with a client: still nothing asked */
	{
		struct env e;

		env_init(&e, NULL, 0);
		opt.default_validation = VALIDATION_SKIP;
		assert_int_equal(verify_run(&s, e.ac, &opt, &r, err, sizeof(err)), FC_OK);
		assert_int_equal(e.arm.requests, 0);
		expect(&r, "c-retired", VERIFY_SKIPPED, "ValidationSkipped", "validation is off");
		verify_result_release(&r);
		env_release(&e);
	}
	manifest_set_release(&s);
}

static char *test_getenv(const char *name)
{
	if (!strcmp(name, "AZURE_TENANT_ID"))
		return (char *)"88888888-8888-8888-8888-888888888888";
	if (!strcmp(name, "AZURE_CLIENT_ID"))
		return (char *)"11111111-1111-1111-1111-111111111111";
	if (!strcmp(name, "AZURE_CLIENT_SECRET"))
		return (char *)"secret";
	return NULL;
}

static void test_credentials_unusable(void **state)
{
	struct verify_options opt = options();
	struct azure_auth_options ao;
	struct azure_auth *auth = NULL;
	struct verify_result r;
	struct manifest_set s;
	struct env e;
	char err[1024];

	(void)state;
	env_init(&e, NULL, 0);
	memset(&ao, 0, sizeof(ao));
	ao.transport = &e.ft.t;
	ao.authority_host = "https://login.test/";
	ao.getenv_fn = test_getenv;
	ao.now_ms = fixed_clock;
	assert_int_equal(azure_auth_new(&ao, &auth, err, sizeof(err)), FC_OK);
	opt.auth = auth;

	/* nothing to ask Azure: no token needed */
	load(&s, ACCOUNT("acct", S1, "")
		 MODEL("skip", "acct", "gpt-4o", "2024-08-06", "Standard",
		       "  keys: [A]\n  validation: Skip\n"));
	assert_int_equal(verify_run(&s, e.ac, &opt, &r, err, sizeof(err)), FC_OK);
	assert_int_equal(e.arm.requests, 0);
	assert_int_equal(verify_exit_code(&r), 0);
	verify_result_release(&r);
	manifest_set_release(&s);

	/* the token request is refused: the run fails */
	load(&s, MANIFESTS);
	err[0] = '\0';
	assert_int_equal(verify_run(&s, e.ac, &opt, &r, err, sizeof(err)), FC_ERR_AUTH);
	assert_non_null(strstr(err, "cannot get an Azure token with the client secret credential"));
	assert_non_null(strstr(err, "AADSTS70021"));
	assert_null(r.rows);
	assert_int_equal(e.arm.requests, 1); /* one token request, no ARM call */
	manifest_set_release(&s);
	azure_auth_free(auth);
	env_release(&e);
}

static void test_run_errors_and_duplicates(void **state)
{
	struct verify_options opt = options();
	struct verify_result r;
	struct manifest_set s;
	char err[256];

	(void)state;
	load(&s, ACCOUNT("acct", S1, ", endpoint: \"https://e.openai.azure.com/\"")
		 ACCOUNT("bad", "not-a-guid", "")
		 MODEL("m", "acct", "gpt-4o", "2024-08-06", "Standard", "  keys: [A]\n")
		 MODEL("m", "acct", "gpt-4o", "2024-08-06", "GlobalStandard", "  keys: [A]\n")
		 "apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryModel\nmetadata: {}\n---\n"
		 "apiVersion: foundry.aucert.io/v9\nkind: FoundryModel\nmetadata: {name: x}\n---\n"
		 "apiVersion: other.io/v1\nkind: FoundryModel\nmetadata: {name: y}\n");
	opt.default_validation = VALIDATION_SKIP;
	assert_int_equal(verify_run(&s, NULL, &opt, &r, err, sizeof(err)), FC_OK);
	assert_int_equal(r.nrows, 1);
	assert_string_equal(r.rows[0].sku, "GlobalStandard"); /* the last definition */
	assert_int_equal(r.errors.n, 2);
	assert_non_null(strstr(r.errors.v[0], "m.yaml:29: FoundryModel without a usable metadata.name"));
	assert_non_null(strstr(r.errors.v[1], "m.yaml:6: FoundryAccount team/bad is invalid: "
						"spec.subscriptionId"));
	assert_int_equal(r.warnings.n, 2);
	assert_string_equal(r.warnings.v[0], "m.yaml:33: foundry.aucert.io/v9 FoundryModel is not "
					     "foundry.aucert.io/v1alpha1; skipped");
	assert_string_equal(r.warnings.v[1], "m.yaml:11: FoundryModel team/m is defined again at "
					     "m.yaml:20; the last definition is used");
	assert_int_equal(verify_exit_code(&r), 2); /* the invalid account fails the run */
	verify_result_release(&r);
	manifest_set_release(&s);
}

/* ---- exit code and output ------------------------------------------------------------------- */

static void test_exit_code(void **state)
{
	static const struct {
		enum verify_verdict v[3];
		size_t n;
		int errors;
		int code;
	} cases[] = {
		{ { 0 }, 0, 0, 0 },
		{ { VERIFY_AVAILABLE, VERIFY_SKIPPED }, 2, 0, 0 },
		{ { VERIFY_AVAILABLE, VERIFY_UNAVAILABLE }, 2, 0, 1 },
		{ { VERIFY_UNAVAILABLE, VERIFY_UNKNOWN, VERIFY_AVAILABLE }, 3, 0, 2 },
		{ { VERIFY_UNKNOWN }, 1, 0, 2 },
		{ { VERIFY_AVAILABLE }, 1, 1, 2 },
		{ { VERIFY_UNAVAILABLE }, 1, 1, 2 },
		{ { 0 }, 0, 1, 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct verify_row rows[3];
		char *msg = (char *)"x";
		struct verify_result r;

		memset(rows, 0, sizeof(rows));
		memset(&r, 0, sizeof(r));
		for (size_t k = 0; k < cases[i].n; k++)
			rows[k].verdict = cases[i].v[k];
		r.rows = rows;
		r.nrows = cases[i].n;
		r.errors.v = &msg;
		r.errors.n = (size_t)cases[i].errors;
		assert_int_equal(verify_exit_code(&r), cases[i].code);
	}
	assert_string_equal(verify_verdict_name(VERIFY_AVAILABLE), "available");
	assert_string_equal(verify_verdict_name(VERIFY_UNAVAILABLE), "unavailable");
	assert_string_equal(verify_verdict_name(VERIFY_UNKNOWN), "unknown");
	assert_string_equal(verify_verdict_name(VERIFY_SKIPPED), "skipped");
}

static struct verify_row mkrow(const char *name, const char *model, const char *region,
			       enum verify_verdict v, const char *reason, const char *hint)
{
	struct verify_row r;

	memset(&r, 0, sizeof(r));
	r.ns = (char *)"aucert";
	r.name = (char *)name;
	r.model = (char *)model;
	r.version = (char *)"2026-03-05";
	r.sku = (char *)"GlobalStandard";
	r.account = (char *)"aucert-ai";
	r.region = (char *)region;
	r.verdict = v;
	r.reason = (char *)reason;
	r.hint = (char *)hint;
	return r;
}

static void test_table(void **state)
{
	char *regions[] = { (char *)"eastus2", (char *)"southcentralus" };
	struct verify_row rows[3];
	struct buf out;

	(void)state;
	rows[0] = mkrow("generation", "gpt-5.4", "westus", VERIFY_AVAILABLE, "Published", NULL);
	rows[1] = mkrow("reasoning-pro", "gpt-5.4-pro", "westus", VERIFY_UNAVAILABLE, "ModelNotInRegion",
			"offered in eastus2, southcentralus");
	rows[1].available_regions = regions;
	rows[1].navailable_regions = 2;
	rows[2] = mkrow("caf\xc3\xa9", NULL, NULL, VERIFY_UNKNOWN, "InvalidSpec", "two\nlines");
	buf_init(&out, 1 << 20);
	assert_int_equal(verify_format_table(rows, 3, &out), FC_OK);
	assert_string_equal(out.data,
		"NAMESPACE  NAME           MODEL        VERSION     SKU             ACCOUNT    REGION  VERDICT      REASON            HINT\n"
		"aucert     generation     gpt-5.4      2026-03-05  GlobalStandard  aucert-ai  westus  available    Published\n"
		"aucert     reasoning-pro  gpt-5.4-pro  2026-03-05  GlobalStandard  aucert-ai  westus  unavailable  ModelNotInRegion  offered in eastus2, southcentralus\n"
		"aucert     caf\xc3\xa9           <none>       2026-03-05  GlobalStandard  aucert-ai  <none>  unknown      InvalidSpec       two lines\n");
	buf_reset(&out);
	assert_int_equal(verify_format_table(rows, 0, &out), FC_OK);
	assert_int_equal(out.len, 0);

	/* JSON lines */
	assert_int_equal(verify_format_json(rows, 3, &out), FC_OK);
	{
		char *save = NULL, *line;
		char *copy = strdup(out.data);
		int n = 0;

		assert_non_null(copy);
		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
			cJSON *j = NULL;
			static const char *const keys[] = { "namespace", "name", "model", "version", "sku",
							    "account", "region", "verdict", "reason",
							    "hint", "availableRegions" };
			const cJSON *c;
			size_t k = 0;

			assert_int_equal(json_parse(line, strlen(line), &j), FC_OK);
			for (c = j->child; c; c = c->next, k++)
				assert_string_equal(c->string, keys[k]);
			assert_int_equal(k, 11);
			assert_true(cJSON_IsArray(json_path(j, "availableRegions")));
			if (n == 1) {
				assert_string_equal(json_str_or(j, "verdict", ""), "unavailable");
				assert_int_equal(cJSON_GetArraySize(json_path(j, "availableRegions")), 2);
			}
			if (n == 2) {
				assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "model")));
				assert_string_equal(json_str_or(j, "hint", ""), "two\nlines");
			}
			if (n == 0)
				assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "hint")));
			cJSON_Delete(j);
		}
		assert_int_equal(n, 3);
		free(copy);
	}
	assert_int_equal(strncmp(out.data,
				 "{\"namespace\":\"aucert\",\"name\":\"generation\",\"model\":\"gpt-5.4\","
				 "\"version\":\"2026-03-05\",\"sku\":\"GlobalStandard\",\"account\":\"aucert-ai\","
				 "\"region\":\"westus\",\"verdict\":\"available\",\"reason\":\"Published\","
				 "\"hint\":null,\"availableRegions\":[]}\n", 221), 0);
	buf_release(&out);
}

/* ---- render ---------------------------------------------------------------------------------- */

static const char *const EXAMPLES =
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryAccount\n"
	"metadata: {name: aucert-ai, namespace: aucert}\n"
	"spec: {subscriptionId: " S1 ", resourceGroup: rg, primary: true,\n"
	"       endpoint: \"https://aucert-ai.openai.azure.com/\"}\n---\n"
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryAccount\n"
	"metadata: {name: aucert-ai-east, namespace: aucert}\n"
	"spec: {subscriptionId: " S1 ", resourceGroup: rg,\n"
	"       endpoint: \"https://aucert-ai-east.openai.azure.com/\"}\n---\n"
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryModel\n"
	"metadata: {name: generation, namespace: aucert}\n"
	"spec: {accountRef: {name: aucert-ai}, model: {name: gpt-5.4, version: \"2026-03-05\"},\n"
	"       sku: {name: GlobalStandard}, keys: [GENERATION, REPORTING]}\n---\n"
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryModel\n"
	"metadata: {name: reasoning-pro, namespace: aucert}\n"
	"spec: {accountRef: {name: aucert-ai-east}, model: {name: gpt-5.4-pro, version: \"2026-03-05\"},\n"
	"       sku: {name: GlobalStandard}, keys: [REASONING_PRO], validation: Enforce}\n---\n"
	"apiVersion: foundry.aucert.io/v1alpha1\nkind: FoundryModel\n"
	"metadata: {name: side, namespace: aucert}\n"
	"spec: {accountRef: {name: aucert-ai}, model: {name: gpt-5.4-mini, version: \"2026-03-05\"},\n"
	"       sku: {name: GlobalStandard}, keys: [SIDE], configMap: side-config}\n";

static void expect_configmap(const cJSON *cm, const char *ns, const char *name, const char *data_json)
{
	cJSON *want = cJSON_Parse(data_json);
	const cJSON *data = json_path(cm, "data");
	struct buf lines;
	char hex[SHA256_HEX_LEN + 1];

	assert_non_null(want);
	assert_string_equal(json_str_or(cm, "apiVersion", ""), "v1");
	assert_string_equal(json_str_or(cm, "kind", ""), "ConfigMap");
	assert_string_equal(json_str_or(cm, "metadata.name", ""), name);
	assert_string_equal(json_str_or(cm, "metadata.namespace", ""), ns);
	assert_string_equal(cJSON_GetStringValue(json_child(json_path(cm, "metadata.labels"),
							    "app.kubernetes.io/managed-by")),
			    "foundry-controller");
	if (!cJSON_Compare(data, want, 1))
		fail_msg("data %s, want %s", json_print(data), data_json);
	/* the hash of the controller-owned data, as the controller writes it */
	buf_init(&lines, 1 << 16);
	for (const cJSON *c = data->child; c; c = c->next)
		assert_int_equal(buf_appendf(&lines, "%s=%s\n", c->string, c->valuestring), FC_OK);
	sha256_hex(lines.data, lines.len, hex);
	assert_string_equal(cJSON_GetStringValue(json_child(json_path(cm, "metadata.annotations"),
							    "foundry.aucert.io/config-hash")),
			    hex);
	buf_release(&lines);
	cJSON_Delete(want);
}

static void test_render(void **state)
{
	struct verify_render_result res;
	struct manifest_set s, out;
	char err[256], merr[MANIFEST_ERR_MAX];

	(void)state;
	load(&s, EXAMPLES);
	assert_int_equal(verify_render(&s, NULL, &res, err, sizeof(err)), FC_OK);
	assert_int_equal(res.nconfigmaps, 2);
	assert_int_equal(res.errors.n, 0);
	assert_int_equal(res.warnings.n, 0);
	{
		static const char head[] = "---\napiVersion: \"v1\"\nkind: \"ConfigMap\"\n";

		assert_int_equal(strncmp(res.yaml, head, sizeof(head) - 1), 0);
	}
	assert_non_null(strstr(res.yaml, "\n  FOUNDRY_ENDPOINT: \"https://aucert-ai.openai.azure.com/\"\n"));
	manifest_set_init(&out);
	if (manifest_parse(&out, "render", res.yaml, strlen(res.yaml), merr, sizeof(merr)))
		fail_msg("%s\n%s", merr, res.yaml);
	assert_int_equal(out.ndocs, 2);
	expect_configmap(out.docs[0].obj, "aucert", "llm-config",
			 "{\"FOUNDRY_DEPLOYMENT_GENERATION\":\"gpt-5.4\","
			 "\"FOUNDRY_DEPLOYMENT_REASONING_PRO\":\"gpt-5.4-pro\","
			 "\"FOUNDRY_DEPLOYMENT_REPORTING\":\"gpt-5.4\","
			 "\"FOUNDRY_ENDPOINT\":\"https://aucert-ai.openai.azure.com/\","
			 "\"FOUNDRY_ENDPOINT_REASONING_PRO\":\"https://aucert-ai-east.openai.azure.com/\"}");
	expect_configmap(out.docs[1].obj, "aucert", "side-config",
			 "{\"FOUNDRY_DEPLOYMENT_SIDE\":\"gpt-5.4-mini\","
			 "\"FOUNDRY_ENDPOINT\":\"https://aucert-ai.openai.azure.com/\"}");
	manifest_set_release(&out);
	verify_render_result_release(&res);

	/* --configmap-name */
	assert_int_equal(verify_render(&s, "app-config", &res, err, sizeof(err)), FC_OK);
	assert_non_null(strstr(res.yaml, "  name: \"app-config\"\n"));
	assert_null(strstr(res.yaml, "llm-config"));
	verify_render_result_release(&res);
	manifest_set_release(&s);
}

static void test_render_problems(void **state)
{
	struct verify_render_result res;
	struct manifest_set s;
	char err[256];

	(void)state;
	/* an account without spec.endpoint: its models are left out */
	load(&s, ACCOUNT("no-ep", S1, ", primary: true")
		 ACCOUNT("ep", S1, ", endpoint: \"https://ep.openai.azure.com/\"")
		 MODEL("a", "no-ep", "gpt-4o", "2024-08-06", "Standard", "  keys: [A]\n")
		 MODEL("b", "ep", "gpt-4o", "2024-08-06", "Standard", "  keys: [B, C]\n")
		 MODEL("c", "ep", "gpt-4o", "2024-08-06", "Standard", "  keys: [C]\n")
		 MODEL("d", "ghost", "gpt-4o", "2024-08-06", "Standard", "  keys: [D]\n"));
	assert_int_equal(verify_render(&s, NULL, &res, err, sizeof(err)), FC_OK);
	assert_int_equal(res.errors.n, 0);
	assert_int_equal(res.warnings.n, 3);
	assert_string_equal(res.warnings.v[0], "FoundryAccount no-ep has no spec.endpoint; its models "
					       "are left out (render does not ask Azure)");
	assert_non_null(strstr(res.warnings.v[1], "FoundryModel team/c gets no keys in ConfigMap "
						  "team/llm-config: KeyConflict: key C is claimed by "
						  "FoundryModel b"));
	assert_non_null(strstr(res.warnings.v[2], "FoundryModel team/d gets no keys in ConfigMap "
						  "team/llm-config: AccountNotFound"));
	assert_int_equal(res.nconfigmaps, 1);
	assert_non_null(strstr(res.yaml, "FOUNDRY_DEPLOYMENT_B: \"gpt-4o\""));
	assert_non_null(strstr(res.yaml, "FOUNDRY_ENDPOINT_C: \"https://ep.openai.azure.com/\""));
	assert_null(strstr(res.yaml, "FOUNDRY_DEPLOYMENT_A"));
	assert_null(strstr(res.yaml, "FOUNDRY_ENDPOINT:")); /* the primary has no endpoint */
	verify_render_result_release(&res);
	manifest_set_release(&s);

	/* an invalid spec is an error; nothing at all: no ConfigMap */
	load(&s, ACCOUNT("ep", S1, ", endpoint: \"https://ep.openai.azure.com/\"")
		 MODEL("bad", "ep", "gpt-4o", "2024-08-06", "Standard", "  keys: []\n"));
	assert_int_equal(verify_render(&s, NULL, &res, err, sizeof(err)), FC_OK);
	assert_int_equal(res.errors.n, 1);
	assert_non_null(strstr(res.errors.v[0], "m.yaml:6: FoundryModel team/bad is invalid: spec.keys"));
	assert_int_equal(res.nconfigmaps, 0);
	assert_string_equal(res.yaml, "");
	verify_render_result_release(&res);
	manifest_set_release(&s);
}

/* ---- allocation failures ------------------------------------------------------------------------ */

static void test_nomem(void **state)
{
	char *suggest[] = { (char *)"westeurope" };
	unsigned long n, fails = 0;
	struct manifest_set s, ex;

	(void)state;
	if (!failmalloc_works())
		skip();
	load(&s, MANIFESTS);
	load(&ex, EXAMPLES);
	for (n = 1;; n++) {
		struct verify_options opt = options();
		struct verify_result r;
		struct env e;
		char err[256];
		fc_err rc;

		env_init(&e, suggest, 1);
		failmalloc_start(n, 0);
		rc = verify_run(&s, e.ac, &opt, &r, err, sizeof(err));
		failmalloc_stop();
		if (rc == FC_OK)
			verify_result_release(&r);
		else
			assert_int_equal(rc, FC_ERR_NOMEM); /* Azure-side failures become rows */
		env_release(&e);
		if (!failmalloc_fired())
			break;
		fails++;
	}
	for (n = 1;; n++) {
		struct verify_render_result res;
		char err[256];
		fc_err rc;

		failmalloc_start(n, 0);
		rc = verify_render(&ex, NULL, &res, err, sizeof(err));
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			assert_int_equal(res.nconfigmaps, 2);
			verify_render_result_release(&res);
			break;
		}
		assert_int_equal(rc, FC_ERR_NOMEM);
		assert_null(res.yaml);
		fails++;
	}
	assert_true(fails > 100);
	failmalloc_report("verify run/render", fails);
	manifest_set_release(&s);
	manifest_set_release(&ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_no_suggestions),
		cmocka_unit_test(test_deployments),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_validation_off),
		cmocka_unit_test(test_credentials_unusable),
		cmocka_unit_test(test_run_errors_and_duplicates),
		cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_problems),
		cmocka_unit_test(test_nomem),
	};

	log_setup(LOG_ERROR, LOG_FORMAT_TEXT, NULL); /* the Azure failures are on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
