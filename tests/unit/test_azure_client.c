/* Unit tests: azure_client.c against a fake ARM + Entra (fake_transport). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "azure_auth.h"
#include "azure_client.h"
#include "fake_transport.h"
#include "fixture.h"
#include "log.h"
#include "render.h"
#include "spec.h"

#define ARM "https://arm.test"
#define SUB "00000000-0000-0000-0000-000000000000"
#define RG "aucert-foundation-rg"
#define ACCT_PATH(name) "/subscriptions/" SUB "/resourceGroups/" RG \
	"/providers/Microsoft.CognitiveServices/accounts/" name
#define CAT_PATH(region) "/subscriptions/" SUB "/providers/Microsoft.CognitiveServices/locations/" \
	region "/models"
#define S(x) ((char *)(x))

/* ---- clock, env ---------------------------------------------------------- */

static int64_t clock_ms = 1780272000000; /* 2026-06-01T00:00:00Z */

static int64_t fake_clock(void *ud)
{
	(void)ud;
	return clock_ms;
}

static char *fake_getenv(const char *name)
{
	if (!strcmp(name, "AZURE_TENANT_ID"))
		return S("tenant-1");
	if (!strcmp(name, "AZURE_CLIENT_ID"))
		return S("client-1");
	if (!strcmp(name, "AZURE_CLIENT_SECRET"))
		return S("secret-1");
	return NULL;
}

/* ---- fake ARM ------------------------------------------------------------ */

#define MAX_ROUTES 32

struct route {
	char path[512];           /* path (without query), or full URL when it has '?' */
	long status;
	const char *body;
	const char *retry_after;
	int first_n;              /* the first first_n hits answer first_status/first_body */
	long first_status;
	const char *first_body;
	int hits;
};

struct arm {
	pthread_mutex_t mu;
	struct route routes[MAX_ROUTES];
	int nroutes;
	int token_calls, arm_calls, unmatched;
	char last_auth[256];
	char last_url[2048];
	int delay_ms;
	fc_err transport_rc;
	int hook_account, hook_catalog, hook_deployment, hook_token;
};

static struct route *add_route(struct arm *a, const char *path, long status, const char *body)
{
	struct route *r = &a->routes[a->nroutes++];

	assert_true(a->nroutes <= MAX_ROUTES);
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->status = status;
	r->body = body;
	return r;
}

static fc_err arm_fn(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct arm *a = ud;
	const char *url = req->url, *h;
	char path[2048];
	struct route *r = NULL;
	long status;
	const char *body;
	char tok[256];

	if (strstr(url, "/oauth2/v2.0/token")) {
		pthread_mutex_lock(&a->mu);
		a->token_calls++;
		snprintf(tok, sizeof(tok),
			 "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok-%d\"}",
			 a->token_calls);
		pthread_mutex_unlock(&a->mu);
		return fake_transport_respond(req, resp, 200, tok, 0);
	}
	assert_string_equal(req->method, "GET");
	assert_non_null(strstr(url, "api-version=2024-10-01"));
	assert_int_equal(strncmp(url, ARM "/", strlen(ARM) + 1), 0);
	if (a->delay_ms)
		usleep((useconds_t)a->delay_ms * 1000);
	pthread_mutex_lock(&a->mu);
	a->arm_calls++;
	snprintf(a->last_url, sizeof(a->last_url), "%s", url);
	h = fake_transport_header(req, "Authorization");
	snprintf(a->last_auth, sizeof(a->last_auth), "%s", h ? h : "");
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(url + strlen(ARM), "?"), url + strlen(ARM));
	for (int i = 0; i < a->nroutes && !r; i++) /* full URLs first */
		if (strchr(a->routes[i].path, '?') && !strcmp(a->routes[i].path, url))
			r = &a->routes[i];
	for (int i = 0; i < a->nroutes && !r; i++)
		if (!strchr(a->routes[i].path, '?') && !strcmp(a->routes[i].path, path))
			r = &a->routes[i];
	if (!r) {
		a->unmatched++;
		pthread_mutex_unlock(&a->mu);
		return fake_transport_respond(req, resp, 404,
					      "{\"error\":{\"code\":\"NotFound\",\"message\":\"no route\"}}", 0);
	}
	r->hits++;
	status = r->hits <= r->first_n ? r->first_status : r->status;
	body = r->hits <= r->first_n ? r->first_body : r->body;
	if (r->retry_after && status == 429 && !(resp->retry_after = strdup(r->retry_after))) {
		pthread_mutex_unlock(&a->mu);
		return FC_ERR_NOMEM;
	}
	pthread_mutex_unlock(&a->mu);
	if (a->transport_rc)
		return a->transport_rc;
	return fake_transport_respond(req, resp, status, body, 0);
}

static void hook(void *ud, const char *call, long status, int64_t dur)
{
	struct arm *a = ud;

	(void)status;
	(void)dur;
	pthread_mutex_lock(&a->mu);
	if (!strcmp(call, "account"))
		a->hook_account++;
	else if (!strcmp(call, "catalog"))
		a->hook_catalog++;
	else if (!strcmp(call, "deployment"))
		a->hook_deployment++;
	else if (!strcmp(call, "token"))
		a->hook_token++;
	else
		fail_msg("unknown call %s", call);
	pthread_mutex_unlock(&a->mu);
}

/* ---- payloads ------------------------------------------------------------ */

#define ACCOUNT_JSON(kind, loc, state) \
	"{\"name\":\"x\",\"kind\":\"" kind "\",\"location\":\"" loc "\",\"properties\":{" \
	"\"endpoint\":\"https://" loc ".api.cognitive.microsoft.com/\",\"endpoints\":{" \
	"\"OpenAI Dall-E API\":\"https://dalle/\"," \
	"\"OpenAI Language Model Instance API\":\"https://oai-" loc ".openai.azure.com/\"}," \
	"\"provisioningState\":\"" state "\",\"callRateLimit\":{\"rules\":[]}}}"

static const char WESTUS_CAT[] =
	"{\"value\":["
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4\",\"version\":\"2026-03-05\","
	" \"lifecycleStatus\":\"GenerallyAvailable\",\"deprecation\":{\"inference\":\"2027-03-31T00:00:00Z\"},"
	" \"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-4o-mini\",\"version\":\"2024-07-18\","
	" \"lifecycleStatus\":\"Deprecating\",\"deprecation\":{\"inference\":\"2026-07-01T00:00:00Z\"},"
	" \"skus\":[{\"name\":\"GlobalStandard\"}]}}"
	"]}";
static const char WESTUS_CAT_WITH_PRO[] =
	"{\"value\":["
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4-pro\",\"version\":\"2026-03-05\","
	" \"skus\":[{\"name\":\"GlobalStandard\"}]}}"
	"]}";
static const char EASTUS2_CAT[] =
	"{\"value\":["
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4-pro\",\"version\":\"2026-03-05\","
	" \"skus\":[{\"name\":\"GlobalStandard\"},{\"name\":\"DataZoneStandard\"}]}},"
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4\",\"version\":\"2026-03-05\","
	" \"skus\":[{\"name\":\"GlobalStandard\"}]}}"
	"]}";
static const char SCUS_CAT[] =
	"{\"value\":["
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4-pro\",\"version\":\"2026-03-05\","
	" \"skus\":[{\"name\":\"globalstandard\"}]}}"
	"]}";
static const char SWEDEN_CAT[] = "{\"value\":[]}";

#define DEPLOYMENT_JSON(state, name, version) \
	"{\"name\":\"d\",\"sku\":{\"name\":\"GlobalStandard\",\"capacity\":1},\"properties\":{" \
	"\"model\":{\"format\":\"OpenAI\",\"name\":\"" name "\",\"version\":\"" version "\"}," \
	"\"provisioningState\":\"" state "\",\"rateLimits\":[]}}"

/* ---- per-test environment ------------------------------------------------ */

struct env {
	struct arm arm;
	struct fake_transport ft;
	struct azure_auth *auth;
	struct azure_client *ac;
	struct azure_client_options opt;
	char *suggest[4];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct azure_auth_options ao = {0};
	char msg[AZURE_AUTH_MSG_MAX];

	clock_ms = 1780272000000;
	pthread_mutex_init(&e->arm.mu, NULL);
	fake_transport_init(&e->ft, arm_fn, &e->arm);
	ao.transport = &e->ft.t;
	ao.getenv_fn = fake_getenv;
	ao.authority_host = "https://login.test/";
	ao.now_ms = fake_clock;
	ao.on_request = hook;
	ao.hook_ud = &e->arm;
	assert_int_equal(azure_auth_new(&ao, &e->auth, msg, sizeof(msg)), FC_OK);
	e->opt.transport = &e->ft.t;
	e->opt.auth = e->auth;
	e->opt.arm_endpoint = ARM "/";
	e->opt.catalog_ttl_ms = 3600 * 1000;
	e->opt.deployment_ttl_ms = 300 * 1000;
	e->opt.retirement_warning_ms = 90LL * 86400 * 1000;
	e->opt.now_ms = fake_clock;
	e->opt.on_request = hook;
	e->opt.hook_ud = &e->arm;
	*state = e;
	return 0;
}

static void start(struct env *e)
{
	assert_int_equal(azure_client_new(&e->opt, &e->ac), FC_OK);
}

static int teardown(void **state)
{
	struct env *e = *state;

	azure_client_free(e->ac);
	azure_auth_free(e->auth);
	fake_transport_release(&e->ft);
	pthread_mutex_destroy(&e->arm.mu);
	free(e);
	return 0;
}

static struct spec_account account(const char *name, const char *region, const char *endpoint)
{
	struct spec_account a;

	memset(&a, 0, sizeof(a));
	a.meta.ns = S("aucert");
	a.meta.name = S(name);
	a.meta.generation = 1;
	a.subscription_id = S(SUB);
	a.resource_group = S(RG);
	a.account_name = S(name);
	a.region = S(region);
	a.endpoint = S(endpoint);
	return a;
}

static struct spec_model model(const char *name, const char *mname, const char *version,
			       const char *sku)
{
	struct spec_model m;

	memset(&m, 0, sizeof(m));
	m.meta.ns = S("aucert");
	m.meta.name = S(name);
	m.meta.generation = 1;
	m.account_ref = S("aucert-ai");
	m.model_format = S("OpenAI");
	m.model_name = S(mname);
	m.model_version = S(version);
	m.sku = S(sku);
	m.deployment = S(mname);
	return m;
}

/* An account verdict as if ARM had said region/kind. */
static struct account_verdict ready(const char *region, const char *kind)
{
	struct account_verdict v;

	memset(&v, 0, sizeof(v));
	v.ready.status = COND_TRUE;
	v.ready.reason = "AccountReady";
	v.region = S(region);
	v.kind = S(kind);
	v.endpoint = S("https://x/");
	return v;
}

static void check_acct(struct env *e, const struct spec_account *a, struct account_verdict *v)
{
	assert_int_equal(azure_client_check_account(e->ac, a, v), FC_OK);
}

static void check_model(struct env *e, const struct spec_model *m, const struct spec_account *a,
			const struct account_verdict *av, const struct spec_account *p,
			const struct account_verdict *pv, int dep, struct model_verdict *out,
			long *retry)
{
	assert_int_equal(azure_client_check_model(e->ac, m, a, av, p, pv, dep, 0, out, retry), FC_OK);
}

/* ---- accounts ------------------------------------------------------------ */

static void test_account_endpoint_order(void **state)
{
	struct env *e = *state;
	struct spec_account a1 = account("acct-spec", NULL, "https://from-spec.openai.azure.com/");
	struct spec_account a2 = account("acct-oai", NULL, NULL);
	struct spec_account a3 = account("acct-plain", NULL, NULL);
	struct spec_account a4 = account("acct-none", NULL, NULL);
	struct spec_account a5 = account("acct-wire", NULL, NULL);
	char *wire = fixture_read("azure/unit", "account_get_200_japaneast_OpenAI.json", NULL);
	char *spec = fixture_read("azure/unit", "spec_2025-06-01_GetAccount_body.json", NULL);
	struct account_verdict v;

	add_route(&e->arm, ACCT_PATH("acct-spec"), 200, ACCOUNT_JSON("AIServices", "westus", "Succeeded"));
	add_route(&e->arm, ACCT_PATH("acct-oai"), 200, ACCOUNT_JSON("AIServices", "eastus2", "Succeeded"));
	add_route(&e->arm, ACCT_PATH("acct-plain"), 200, spec);
	add_route(&e->arm, ACCT_PATH("acct-none"), 200,
		  "{\"kind\":\"AIServices\",\"location\":\"westus\",\"properties\":{\"provisioningState\":\"Succeeded\"}}");
	add_route(&e->arm, ACCT_PATH("acct-wire"), 200, wire);
	start(e);

	check_acct(e, &a1, &v);
	assert_int_equal(v.ready.status, COND_TRUE);
	assert_string_equal(v.ready.reason, "AccountReady");
	assert_string_equal(v.endpoint, "https://from-spec.openai.azure.com/");
	assert_string_equal(v.region, "westus");
	assert_string_equal(v.kind, "AIServices");
	assert_string_equal(e->arm.last_auth, "Bearer tok-1");
	assert_string_equal(e->arm.last_url, ARM ACCT_PATH("acct-spec") "?api-version=2024-10-01");
	account_verdict_release(&v);

	check_acct(e, &a2, &v);
	assert_int_equal(v.ready.status, COND_TRUE);
	assert_string_equal(v.endpoint, "https://oai-eastus2.openai.azure.com/");
	account_verdict_release(&v);

	check_acct(e, &a3, &v); /* only properties.endpoint; kind Emotion */
	assert_int_equal(v.ready.status, COND_TRUE);
	assert_string_equal(v.endpoint, "https://westus.api.cognitive.microsoft.com/emotion/v1.0");
	assert_string_equal(v.kind, "Emotion");
	account_verdict_release(&v);

	check_acct(e, &a4, &v);
	assert_int_equal(v.ready.status, COND_FALSE);
	assert_string_equal(v.ready.reason, "AccountNotReady");
	assert_non_null(strstr(v.ready.message, "set spec.endpoint"));
	account_verdict_release(&v);

	check_acct(e, &a5, &v); /* real wire: JAPANEAST, OpenAI */
	assert_int_equal(v.ready.status, COND_TRUE);
	assert_string_equal(v.region, "japaneast");
	assert_string_equal(v.kind, "OpenAI");
	assert_string_equal(v.endpoint, "https://japaneast.api.cognitive.microsoft.com/");
	account_verdict_release(&v);

	assert_int_equal(e->arm.token_calls, 1);
	assert_int_equal(e->arm.hook_account, 5);
	assert_int_equal(e->arm.hook_token, 1);
	free(wire);
	free(spec);
}

static void test_account_not_found_and_not_ready(void **state)
{
	struct env *e = *state;
	char *nf = fixture_read("azure/unit", "arm_404_ResourceNotFound_account.json", NULL);
	char *rg = fixture_read("azure/unit", "arm_404_ResourceGroupNotFound.json", NULL);
	struct spec_account gone = account("gone", NULL, NULL), norg = account("norg", NULL, NULL);
	struct spec_account creating = account("creating", NULL, NULL);
	struct spec_account moved = account("moved", "westus", NULL);
	struct account_verdict v;

	add_route(&e->arm, ACCT_PATH("gone"), 404, nf);
	add_route(&e->arm, ACCT_PATH("norg"), 404, rg);
	add_route(&e->arm, ACCT_PATH("creating"), 200, ACCOUNT_JSON("AIServices", "westus", "Creating"));
	add_route(&e->arm, ACCT_PATH("moved"), 200, ACCOUNT_JSON("AIServices", "East US 2", "Succeeded"));
	start(e);

	check_acct(e, &gone, &v);
	assert_int_equal(v.ready.status, COND_FALSE);
	assert_string_equal(v.ready.reason, "AccountNotFound");
	assert_string_equal(v.ready.message, "account gone not found in resource group " RG
					     " of subscription " SUB);
	assert_null(v.endpoint);
	account_verdict_release(&v);

	check_acct(e, &norg, &v);
	assert_string_equal(v.ready.reason, "AccountNotFound");
	assert_string_equal(v.ready.message, "resource group " RG " not found in subscription " SUB);
	account_verdict_release(&v);

	check_acct(e, &creating, &v);
	assert_int_equal(v.ready.status, COND_FALSE);
	assert_string_equal(v.ready.reason, "AccountNotReady");
	assert_non_null(strstr(v.ready.message, "provisioningState Creating"));
	account_verdict_release(&v);

	check_acct(e, &moved, &v);
	assert_int_equal(v.ready.status, COND_FALSE);
	assert_string_equal(v.ready.reason, "AccountNotReady");
	assert_string_equal(v.ready.message, "spec.region westus but Azure says eastus2");
	assert_string_equal(v.region, "eastus2");
	account_verdict_release(&v);
	free(nf);
	free(rg);
}

static void test_account_cache_and_generation(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict v;
	struct route *r;

	r = add_route(&e->arm, ACCT_PATH("aucert-ai"), 200, ACCOUNT_JSON("AIServices", "westus", "Succeeded"));
	start(e);
	check_acct(e, &a, &v);
	account_verdict_release(&v);
	check_acct(e, &a, &v);
	assert_int_equal(v.ready.status, COND_TRUE);
	account_verdict_release(&v);
	assert_int_equal(r->hits, 1);
	a.meta.generation = 2; /* spec changed: refresh at once */
	check_acct(e, &a, &v);
	account_verdict_release(&v);
	assert_int_equal(r->hits, 2);
	clock_ms += 300 * 1000; /* deployment TTL */
	check_acct(e, &a, &v);
	account_verdict_release(&v);
	assert_int_equal(r->hits, 3);
}

static void test_account_403_names_action(void **state)
{
	struct env *e = *state;
	char *body = fixture_read("azure/unit", "arm_403_AuthorizationFailed.json", NULL);
	struct spec_account a = account("aucert-ai", NULL, "https://spec-ep/");
	struct account_verdict v;

	add_route(&e->arm, ACCT_PATH("aucert-ai"), 403, body);
	start(e);
	check_acct(e, &a, &v);
	assert_int_equal(v.ready.status, COND_UNKNOWN);
	assert_string_equal(v.ready.reason, "AzureForbidden");
	assert_non_null(strstr(v.ready.message,
			       "lacks permission 'Microsoft.Network/virtualNetworks/subnets/read'"));
	assert_non_null(strstr(v.ready.message, "on scope '/subscriptions/3e9e488a"));
	assert_string_equal(v.endpoint, "https://spec-ep/"); /* spec.endpoint still known */
	account_verdict_release(&v);
	free(body);
}

static void test_401_retries_once_with_fresh_token(void **state)
{
	struct env *e = *state;
	char *expired = fixture_read("azure/unit", "arm_401_ExpiredAuthenticationToken.json", NULL);
	struct spec_account a = account("aucert-ai", NULL, NULL), b = account("other", NULL, NULL);
	struct account_verdict v;
	struct route *r, *rb;

	r = add_route(&e->arm, ACCT_PATH("aucert-ai"), 200, ACCOUNT_JSON("AIServices", "westus", "Succeeded"));
	r->first_n = 1;
	r->first_status = 401;
	r->first_body = expired;
	rb = add_route(&e->arm, ACCT_PATH("other"), 401, expired);
	start(e);
	check_acct(e, &a, &v);
	assert_int_equal(v.ready.status, COND_TRUE);
	account_verdict_release(&v);
	assert_int_equal(r->hits, 2);
	assert_int_equal(e->arm.token_calls, 2);
	assert_string_equal(e->arm.last_auth, "Bearer tok-2");

	/* 401 again after the refresh: give up (no third request) */
	check_acct(e, &b, &v);
	assert_int_equal(v.ready.status, COND_UNKNOWN);
	assert_string_equal(v.ready.reason, "AzureForbidden");
	assert_non_null(strstr(v.ready.message, "ExpiredAuthenticationToken"));
	account_verdict_release(&v);
	assert_int_equal(rb->hits, 2);
	assert_int_equal(e->arm.token_calls, 3);
	free(expired);
}

static void test_5xx_and_timeout_unreachable(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct account_verdict v, av = ready("westus", "AIServices");
	struct model_verdict mv;
	struct route *cat;
	long retry = -1;

	add_route(&e->arm, ACCT_PATH("aucert-ai"), 503,
		  "{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"try later\"}}");
	cat = add_route(&e->arm, CAT_PATH("westus"), 500, "oops");
	start(e);
	check_acct(e, &a, &v);
	assert_int_equal(v.ready.status, COND_UNKNOWN);
	assert_string_equal(v.ready.reason, "AzureUnreachable");
	assert_non_null(strstr(v.ready.message, "HTTP 503"));
	assert_non_null(strstr(v.ready.message, "ServiceUnavailable: try later"));
	account_verdict_release(&v);

	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, &retry);
	assert_int_equal(retry, 0);
	assert_int_equal(mv.region.status, COND_UNKNOWN);
	assert_string_equal(mv.region.reason, "AzureUnreachable");
	assert_int_equal(mv.generation, 1);
	model_verdict_release(&mv);
	/* a burst of models shares the failure: no new request for a while */
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, &retry);
	assert_string_equal(mv.region.reason, "AzureUnreachable");
	model_verdict_release(&mv);
	assert_int_equal(cat->hits, 1);
	clock_ms += AZURE_CLIENT_FAILURE_HOLD_MS;
	cat->status = 200;
	cat->body = WESTUS_CAT;
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, &retry);
	assert_int_equal(mv.region.status, COND_TRUE);
	model_verdict_release(&mv);
	assert_int_equal(cat->hits, 2);

	/* transport timeout */
	e->arm.transport_rc = FC_ERR_TIMEOUT;
	a.meta.generation = 5;
	check_acct(e, &a, &v);
	assert_string_equal(v.ready.reason, "AzureUnreachable");
	assert_non_null(strstr(v.ready.message, "cannot reach ARM at " ARM ": TIMEOUT"));
	account_verdict_release(&v);
}

static void test_429_retry_after(void **state)
{
	struct env *e = *state;
	char *thr = fixture_read("azure/unit", "arm_429_SubscriptionRequestsThrottled.json", NULL);
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct account_verdict v, av = ready("westus", "AIServices");
	struct model_verdict mv;
	struct route *cat, *acct;
	long retry = 0;

	cat = add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	cat->first_n = 1;
	cat->first_status = 429;
	cat->first_body = thr;
	cat->retry_after = "7";
	acct = add_route(&e->arm, ACCT_PATH("aucert-ai"), 200, ACCOUNT_JSON("AIServices", "westus", "Succeeded"));
	start(e);
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, &retry);
	assert_int_equal(mv.region.status, COND_UNKNOWN);
	assert_string_equal(mv.region.reason, "AzureThrottled");
	assert_non_null(strstr(mv.region.message, "retrying after 7s"));
	assert_int_equal(retry, 7000);
	model_verdict_release(&mv);
	assert_int_equal(azure_client_throttle_ms(e->ac, SUB), 7000);

	/* not sent again before it elapses, for any call of that subscription */
	clock_ms += 3000;
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, &retry);
	assert_string_equal(mv.region.reason, "AzureThrottled");
	assert_true(retry > 0 && retry <= 7000);
	model_verdict_release(&mv);
	check_acct(e, &a, &v);
	assert_string_equal(v.ready.reason, "AzureThrottled");
	account_verdict_release(&v);
	assert_int_equal(cat->hits, 1);
	assert_int_equal(acct->hits, 0);
	assert_int_equal(azure_client_throttle_ms(e->ac, SUB), 4000);

	clock_ms += 4000;
	assert_int_equal(azure_client_throttle_ms(e->ac, SUB), 0);
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, &retry);
	assert_int_equal(mv.region.status, COND_TRUE);
	assert_int_equal(retry, 0);
	model_verdict_release(&mv);
	assert_int_equal(cat->hits, 2);
	free(thr);
}

static void test_429_without_header_reads_message(void **state)
{
	struct env *e = *state;
	char *thr = fixture_read("azure/unit", "arm_429_SubscriptionRequestsThrottled.json", NULL);
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict v;

	add_route(&e->arm, ACCT_PATH("aucert-ai"), 429, thr);
	start(e);
	check_acct(e, &a, &v);
	assert_string_equal(v.ready.reason, "AzureThrottled");
	account_verdict_release(&v);
	assert_int_equal(azure_client_throttle_ms(e->ac, SUB), 10000); /* "after '10' seconds" */
	free(thr);
}

/* ---- catalogs ------------------------------------------------------------ */

static void test_one_catalog_request_for_1000_models(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict av = ready("westus", "AIServices");
	struct model_verdict mv;
	struct route *cat;
	char name[32];

	cat = add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	start(e);
	for (int i = 0; i < 1000; i++) {
		struct spec_model m = model(name, i % 2 ? "gpt-5.4" : "gpt-9", "2026-03-05",
					    "GlobalStandard");

		snprintf(name, sizeof(name), "m%d", i);
		check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
		assert_int_equal(mv.region.status, i % 2 ? COND_TRUE : COND_FALSE);
		assert_int_equal(mv.deployment.status, COND_UNKNOWN);
		assert_string_equal(mv.deployment.reason, "ValidationSkipped");
		model_verdict_release(&mv);
	}
	assert_int_equal(cat->hits, 1);
	assert_int_equal(e->arm.hook_catalog, 1);

	/* TTL expiry refetches, once */
	clock_ms += 3600 * 1000;
	for (int i = 0; i < 10; i++) {
		struct spec_model m = model("m", "gpt-5.4", "2026-03-05", "GlobalStandard");

		check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
		model_verdict_release(&mv);
	}
	assert_int_equal(cat->hits, 2);
}

struct thr {
	struct env *e;
	int base;
	int failures;
};

static void *thr_main(void *p)
{
	struct thr *t = p;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict av = ready("westus", "AIServices");
	struct model_verdict mv;

	for (int i = 0; i < 125; i++) {
		struct spec_model m = model("m", "gpt-5.4", "2026-03-05", "GlobalStandard");

		if (azure_client_check_model(t->e->ac, &m, &a, &av, NULL, NULL, 0, 0, &mv, NULL) ||
		    mv.region.status != COND_TRUE)
			t->failures++;
		model_verdict_release(&mv);
	}
	return NULL;
}

static void test_concurrent_callers_share_one_load(void **state)
{
	struct env *e = *state;
	pthread_t th[8];
	struct thr t[8];
	struct route *cat;

	cat = add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	e->arm.delay_ms = 100;
	start(e);
	for (int i = 0; i < 8; i++) {
		t[i].e = e;
		t[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].failures, 0);
	}
	assert_int_equal(cat->hits, 1);
	assert_int_equal(e->arm.token_calls, 1);
}

static void test_catalog_paging(void **state)
{
	struct env *e = *state;
	static const char p1[] =
		"{\"value\":[{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"a\","
		"\"version\":\"1\",\"skus\":[{\"name\":\"Standard\"}]}}],"
		"\"nextLink\":\"" ARM CAT_PATH("westus") "?api-version=2024-10-01&$skipToken=p2\"}";
	static const char p2[] =
		"{\"value\":[{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4\","
		"\"version\":\"2026-03-05\",\"skus\":[{\"name\":\"GlobalStandard\"}]}}],\"nextLink\":null}";
	static const char evil[] =
		"{\"value\":[],\"nextLink\":\"https://evil.test" CAT_PATH("eastus2") "?api-version=2024-10-01\"}";
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct account_verdict av = ready("westus", "AIServices"), av2 = ready("eastus2", "AIServices");
	struct model_verdict mv;
	struct route *r1, *r2;

	r1 = add_route(&e->arm, CAT_PATH("westus"), 200, p1);
	r2 = add_route(&e->arm, ARM CAT_PATH("westus") "?api-version=2024-10-01&$skipToken=p2", 200, p2);
	add_route(&e->arm, CAT_PATH("eastus2"), 200, evil);
	start(e);
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
	assert_int_equal(mv.region.status, COND_TRUE);
	assert_string_equal(mv.region.reason, "ModelAvailable");
	model_verdict_release(&mv);
	assert_int_equal(r1->hits, 1);
	assert_int_equal(r2->hits, 1);
	assert_int_equal(e->arm.hook_catalog, 2);

	/* a nextLink outside the ARM endpoint is not followed (the token would leak) */
	check_model(e, &m, &a, &av2, NULL, NULL, 0, &mv, NULL);
	assert_int_equal(mv.region.status, COND_UNKNOWN);
	assert_string_equal(mv.region.reason, "AzureUnreachable");
	assert_non_null(strstr(mv.region.message, "nextLink"));
	model_verdict_release(&mv);
	assert_int_equal(e->arm.unmatched, 0);
}

static void test_deprecated_and_retirement(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("mini", "gpt-4o-mini", "2024-07-18", "GlobalStandard");
	struct spec_model g = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct account_verdict av = ready("westus", "AIServices");
	struct model_verdict mv;

	add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	start(e);
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
	assert_int_equal(mv.region.status, COND_TRUE);
	assert_int_equal(mv.deprecated.status, COND_TRUE);
	assert_string_equal(mv.deprecated.reason, "ModelDeprecating");
	assert_non_null(strstr(mv.deprecated.message, "retires on 2026-07-01T00:00:00Z"));
	assert_string_equal(mv.retirement_date, "2026-07-01T00:00:00Z");
	model_verdict_release(&mv);

	check_model(e, &g, &a, &av, NULL, NULL, 0, &mv, NULL);
	assert_int_equal(mv.deprecated.status, COND_FALSE);
	assert_string_equal(mv.deprecated.reason, "NotDeprecated");
	assert_string_equal(mv.retirement_date, "2027-03-31T00:00:00Z");
	model_verdict_release(&mv);

	/* after the date: retired */
	assert_int_equal(azure_client_check_model(e->ac, &m, &a, &av, NULL, NULL, 0, 1782864000, &mv,
						  NULL), FC_OK);
	assert_int_equal(mv.region.status, COND_FALSE);
	assert_string_equal(mv.region.reason, "ModelRetired");
	assert_string_equal(mv.deprecated.reason, "ModelRetired");
	model_verdict_release(&mv);
}

static void test_suggest_regions(void **state)
{
	struct env *e = *state;
	static char *const regions[] = {S("westus"), S("EastUS2"), S("southcentralus"),
					S("swedencentral")};
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("reasoning-pro", "gpt-5.4-pro", "2026-03-05", "GlobalStandard");
	struct account_verdict av = ready("westus", "AIServices");
	struct model_verdict mv;
	struct route *rw, *re, *rs, *rsw;

	rw = add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	re = add_route(&e->arm, CAT_PATH("eastus2"), 200, EASTUS2_CAT);
	rs = add_route(&e->arm, CAT_PATH("southcentralus"), 200, SCUS_CAT);
	rsw = add_route(&e->arm, CAT_PATH("swedencentral"), 200, SWEDEN_CAT);
	e->opt.suggest_regions = regions;
	e->opt.nsuggest_regions = 4;
	start(e);
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
	assert_int_equal(mv.region.status, COND_FALSE);
	assert_string_equal(mv.region.reason, "ModelNotInRegion");
	assert_string_equal(mv.region.message, "gpt-5.4-pro 2026-03-05 GlobalStandard is not offered "
					       "in westus; offered in eastus2, southcentralus");
	assert_int_equal(mv.navailable_regions, 2);
	assert_string_equal(mv.available_regions[0], "eastus2");
	assert_string_equal(mv.available_regions[1], "southcentralus");
	model_verdict_release(&mv);
	/* cached like any catalog */
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
	model_verdict_release(&mv);
	assert_int_equal(rw->hits, 1);
	assert_int_equal(re->hits, 1);
	assert_int_equal(rs->hits, 1);
	assert_int_equal(rsw->hits, 1);

	/* available: the other regions are not consulted */
	{
		struct spec_model g = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");

		check_model(e, &g, &a, &av, NULL, NULL, 0, &mv, NULL);
		assert_int_equal(mv.region.status, COND_TRUE);
		assert_int_equal(mv.navailable_regions, 0);
		assert_null(mv.available_regions);
		model_verdict_release(&mv);
	}
}

static void test_suggest_regions_none(void **state)
{
	struct env *e = *state;
	static char *const regions[] = {S("swedencentral"), S("westus")};
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("reasoning-pro", "gpt-5.4-pro", "2026-03-05", "ProvisionedManaged");
	struct account_verdict av = ready("eastus2", "AIServices");
	struct model_verdict mv;

	add_route(&e->arm, CAT_PATH("eastus2"), 200, EASTUS2_CAT);
	add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	add_route(&e->arm, CAT_PATH("swedencentral"), 200, SWEDEN_CAT);
	e->opt.suggest_regions = regions;
	e->opt.nsuggest_regions = 2;
	start(e);
	check_model(e, &m, &a, &av, NULL, NULL, 0, &mv, NULL);
	assert_string_equal(mv.region.reason, "SkuNotInRegion");
	assert_non_null(strstr(mv.region.message,
			       "gpt-5.4-pro 2026-03-05 ProvisionedManaged is not offered in eastus2: "
			       "the model is, with SKUs GlobalStandard, DataZoneStandard"));
	assert_non_null(strstr(mv.region.message,
			       "; not offered in any of the --suggest-regions (swedencentral, westus)"));
	assert_int_equal(mv.navailable_regions, 0);
	model_verdict_release(&mv);
}

static void test_consolidation(void **state)
{
	struct env *e = *state;
	struct spec_account primary = account("aucert-ai", "westus", NULL);
	struct spec_account east = account("aucert-ai-east", "eastus2", NULL);
	struct spec_model m = model("reasoning-pro", "gpt-5.4-pro", "2026-03-05", "GlobalStandard");
	struct account_verdict pv = ready("westus", "AIServices"), ev = ready("eastus2", "AIServices");
	struct model_verdict mv;
	struct route *rw;

	primary.primary = 1;
	add_route(&e->arm, CAT_PATH("eastus2"), 200, EASTUS2_CAT);
	rw = add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	e->opt.catalog_ttl_ms = 1000;
	start(e);
	/* not yet offered in westus */
	check_model(e, &m, &east, &ev, &primary, &pv, 0, &mv, NULL);
	assert_int_equal(mv.region.status, COND_TRUE);
	assert_null(mv.consolidation);
	model_verdict_release(&mv);
	/* the model reaches westus */
	rw->body = WESTUS_CAT_WITH_PRO;
	clock_ms += 1000;
	check_model(e, &m, &east, &ev, &primary, &pv, 0, &mv, NULL);
	assert_non_null(mv.consolidation);
	assert_string_equal(mv.consolidation,
			    "gpt-5.4-pro 2026-03-05 GlobalStandard is now offered in westus, the primary "
			    "account's region: the model can move back to aucert-ai");
	model_verdict_release(&mv);
	/* a model on the primary itself: nothing to consolidate */
	check_model(e, &m, &primary, &pv, &primary, &pv, 0, &mv, NULL);
	assert_null(mv.consolidation);
	model_verdict_release(&mv);
}

/* ---- deployments --------------------------------------------------------- */

static void test_deployments(void **state)
{
	struct env *e = *state;
	char *wire = fixture_read("azure/unit", "deployment_put_201_and_get_200.json", NULL);
	char *notfound = fixture_read("azure/unit", "cogsvc_404_deployment_NotFound_INFERRED.json", NULL);
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict av = ready("westus", "AIServices");
	struct spec_model ok = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct spec_model failed = model("failed", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct spec_model other = model("other", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct spec_model missing = model("missing", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct spec_model dpy = model("dpy", "gpt-35-turbo", "0125", "Standard");
	struct model_verdict mv;

	failed.deployment = S("gpt-5.4-failed");
	other.deployment = S("gpt-5.4-other");
	missing.deployment = S("nope");
	dpy.deployment = S("dpy");
	add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/gpt-5.4", 200,
		  DEPLOYMENT_JSON("Succeeded", "gpt-5.4", "2026-03-05"));
	add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/gpt-5.4-failed", 200,
		  DEPLOYMENT_JSON("Failed", "gpt-5.4", "2026-03-05"));
	add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/gpt-5.4-other", 200,
		  DEPLOYMENT_JSON("Succeeded", "gpt-4o", "2024-08-06"));
	add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/nope", 404, notfound);
	add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/dpy", 200, wire);
	start(e);

	check_model(e, &ok, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_int_equal(mv.deployment.status, COND_TRUE);
	assert_string_equal(mv.deployment.reason, "DeploymentSucceeded");
	model_verdict_release(&mv);

	check_model(e, &failed, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_int_equal(mv.deployment.status, COND_FALSE);
	assert_string_equal(mv.deployment.reason, "DeploymentNotSucceeded");
	assert_non_null(strstr(mv.deployment.message, "provisioningState Failed"));
	model_verdict_release(&mv);

	check_model(e, &other, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_int_equal(mv.deployment.status, COND_FALSE);
	assert_string_equal(mv.deployment.reason, "DeploymentNotSucceeded");
	assert_string_equal(mv.deployment.message,
			    "deployment gpt-5.4-other serves OpenAI gpt-4o 2024-08-06 but spec.model is "
			    "OpenAI gpt-5.4 2026-03-05 (model name differs)");
	model_verdict_release(&mv);

	check_model(e, &missing, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_int_equal(mv.deployment.status, COND_FALSE);
	assert_string_equal(mv.deployment.reason, "DeploymentNotFound");
	assert_string_equal(mv.deployment.message, "deployment nope not found in account aucert-ai");
	model_verdict_release(&mv);

	check_model(e, &dpy, &a, &av, NULL, NULL, 1, &mv, NULL); /* real wire */
	assert_int_equal(mv.deployment.status, COND_TRUE);
	model_verdict_release(&mv);
	dpy.model_version = S("0613");
	dpy.meta.generation = 2;
	check_model(e, &dpy, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_int_equal(mv.deployment.status, COND_FALSE);
	assert_non_null(strstr(mv.deployment.message, "(model version differs)"));
	model_verdict_release(&mv);
	free(wire);
	free(notfound);
}

static void test_deployment_cache(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict av = ready("westus", "AIServices");
	struct spec_model m = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct model_verdict mv;
	struct route *d;

	add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	d = add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/gpt-5.4", 404,
		      "{\"error\":{\"code\":\"NotFound\",\"message\":\"x\"}}");
	start(e);
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_string_equal(mv.deployment.reason, "DeploymentNotFound");
	model_verdict_release(&mv);
	/* the deployment is created; within the TTL the cached 404 stands */
	d->status = 200;
	d->body = DEPLOYMENT_JSON("Succeeded", "gpt-5.4", "2026-03-05");
	clock_ms += 60 * 1000;
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_string_equal(mv.deployment.reason, "DeploymentNotFound");
	model_verdict_release(&mv);
	assert_int_equal(d->hits, 1);
	/* a spec change refreshes at once */
	m.meta.generation = 2;
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_string_equal(mv.deployment.reason, "DeploymentSucceeded");
	assert_int_equal(mv.generation, 2);
	model_verdict_release(&mv);
	assert_int_equal(d->hits, 2);
	/* and the TTL expires */
	clock_ms += 300 * 1000;
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, NULL);
	model_verdict_release(&mv);
	assert_int_equal(d->hits, 3);
	assert_int_equal(e->arm.hook_deployment, 3);
}

/* A failed account or deployment lookup is held for AZURE_CLIENT_FAILURE_HOLD_MS:
 * the same Unknown check (same message: the status does not change, so the
 * status write cannot set off the next request) without asking ARM; a new
 * generation asks at once; an answer ends the hold. */
static void test_failures_held(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct account_verdict v, av = ready("westus", "AIServices");
	struct spec_model m = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct model_verdict mv;
	struct route *acct, *dep;
	char first[1024];
	long retry = 0;

	add_route(&e->arm, CAT_PATH("westus"), 200, WESTUS_CAT);
	acct = add_route(&e->arm, ACCT_PATH("aucert-ai"), 500,
			 "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"tracking id 1\"}}");
	dep = add_route(&e->arm, ACCT_PATH("aucert-ai") "/deployments/gpt-5.4", 500,
			"{\"error\":{\"code\":\"InternalServerError\",\"message\":\"tracking id 1\"}}");
	start(e);

	/* account: one request per hold, the same message meanwhile */
	check_acct(e, &a, &v);
	assert_string_equal(v.ready.reason, "AzureUnreachable");
	snprintf(first, sizeof(first), "%s", v.ready.message);
	account_verdict_release(&v);
	acct->body = "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"tracking id 2\"}}";
	clock_ms += AZURE_CLIENT_FAILURE_HOLD_MS - 1;
	check_acct(e, &a, &v);
	assert_int_equal(v.ready.status, COND_UNKNOWN);
	assert_string_equal(v.ready.message, first);
	account_verdict_release(&v);
	assert_int_equal(acct->hits, 1);
	clock_ms += 1;
	check_acct(e, &a, &v);
	assert_non_null(strstr(v.ready.message, "tracking id 2"));
	account_verdict_release(&v);
	assert_int_equal(acct->hits, 2);
	/* a spec change asks at once; an answer ends the hold */
	acct->status = 200;
	acct->body = ACCOUNT_JSON("AIServices", "westus", "Succeeded");
	a.meta.generation = 2;
	check_acct(e, &a, &v);
	assert_int_equal(v.ready.status, COND_TRUE);
	account_verdict_release(&v);
	assert_int_equal(acct->hits, 3);

	/* deployment: the same */
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	assert_int_equal(mv.deployment.status, COND_UNKNOWN);
	assert_string_equal(mv.deployment.reason, "AzureUnreachable");
	model_verdict_release(&mv);
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	assert_int_equal(mv.deployment.status, COND_UNKNOWN);
	model_verdict_release(&mv);
	assert_int_equal(dep->hits, 1);
	assert_int_equal(retry, 0); /* not a throttle: the caller's backoff applies */
	m.meta.generation = 2;
	dep->status = 200;
	dep->body = "{not json";
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	assert_non_null(strstr(mv.deployment.message, "malformed JSON"));
	model_verdict_release(&mv);
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	assert_non_null(strstr(mv.deployment.message, "malformed JSON"));
	model_verdict_release(&mv);
	assert_int_equal(dep->hits, 2);
	dep->body = DEPLOYMENT_JSON("Succeeded", "gpt-5.4", "2026-03-05");
	clock_ms += AZURE_CLIENT_FAILURE_HOLD_MS;
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	assert_int_equal(mv.deployment.status, COND_TRUE);
	model_verdict_release(&mv);
	assert_int_equal(dep->hits, 3);
	/* and a later failure (past the TTL) is held again from scratch */
	dep->status = 503;
	clock_ms += 600 * 1000;
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	assert_int_equal(mv.deployment.status, COND_UNKNOWN);
	model_verdict_release(&mv);
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, &retry);
	model_verdict_release(&mv);
	assert_int_equal(dep->hits, 4);
}

static void test_model_without_account_facts(void **state)
{
	struct env *e = *state;
	struct spec_account a = account("aucert-ai", NULL, NULL);
	struct spec_model m = model("gen", "gpt-5.4", "2026-03-05", "GlobalStandard");
	struct account_verdict av;
	struct model_verdict mv;

	start(e);
	memset(&av, 0, sizeof(av));
	av.ready.status = COND_FALSE;
	av.ready.reason = "AccountNotFound";
	av.ready.message = S("account aucert-ai not found");
	check_model(e, &m, &a, &av, NULL, NULL, 1, &mv, NULL);
	assert_int_equal(mv.region.status, COND_UNKNOWN);
	assert_string_equal(mv.region.reason, "AccountNotFound");
	assert_string_equal(mv.deployment.reason, "AccountNotFound");
	model_verdict_release(&mv);
	check_model(e, &m, &a, NULL, NULL, NULL, 1, &mv, NULL);
	assert_string_equal(mv.region.reason, "AccountNotReady");
	model_verdict_release(&mv);
	assert_int_equal(e->arm.arm_calls, 0);
	assert_int_equal(azure_client_check_model(e->ac, NULL, &a, &av, NULL, NULL, 1, 0, &mv, NULL),
			 FC_ERR_INVAL);
	azure_client_free(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_account_endpoint_order),
		T(test_account_not_found_and_not_ready),
		T(test_account_cache_and_generation),
		T(test_account_403_names_action),
		T(test_401_retries_once_with_fresh_token),
		T(test_5xx_and_timeout_unreachable),
		T(test_429_retry_after),
		T(test_429_without_header_reads_message),
		T(test_one_catalog_request_for_1000_models),
		T(test_concurrent_callers_share_one_load),
		T(test_catalog_paging),
		T(test_deprecated_and_retirement),
		T(test_suggest_regions),
		T(test_suggest_regions_none),
		T(test_consolidation),
		T(test_deployments),
		T(test_deployment_cache),
		T(test_failures_held),
		T(test_model_without_account_facts),
	};

	log_setup(LOG_ERROR, LOG_FORMAT_TEXT, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
