/* fuzz_azure_client.c - ARM answers (account, model catalog pages,
 * deployment, error bodies, Retry-After) and Entra/IMDS token answers,
 * through the public API of azure_client.h / azure_auth.h with a fake
 * transport (http_fake.h) that serves the input.
 *
 * Input: NUL-separated segments. Segment 0 is the scenario:
 *   byte 0 flags: 1 auth (client secret), 2 check the deployment,
 *     4 --suggest-regions, 8 TTLs 0, 16 a primary account elsewhere,
 *     32 auth by managed identity (with 1: IMDS, configured)
 *   then "name|version|sku|format" of the FoundryModel (defaults
 *     gpt-35-turbo|0125|Standard|OpenAI)
 * The other segments answer the requests in turn (http_fake.h).
 * The account is checked, then the model (twice, the second time 2 h later
 * so the caches expire), as the controller does.
 * Properties: only FC_OK is returned; every check has a reason and the
 * status it goes with; requests go to ARM or the token endpoint only.
 * (That the secret never shows in a message is fuzz_azure_auth's.)
 * FUZZ_VERBOSE=1 prints the verdicts (to check what a seed reaches).
 */
#include <string.h>

#include "azure_auth.h"
#include "azure_client.h"
#include "azure_fake.h"
#include "fuzz.h"
#include "http_fake.h"
#include "render.h"
#include "spec.h"

#define ARM "https://arm.test"

static void check_ok(const struct check *c)
{
	FUZZ_CHECK(c->status == COND_UNKNOWN || c->status == COND_TRUE || c->status == COND_FALSE);
	FUZZ_CHECK(c->reason && *c->reason);
}

static void check_account_verdict(const struct account_verdict *v)
{
	check_ok(&v->ready);
	if (v->ready.status == COND_TRUE)
		FUZZ_CHECK(v->endpoint && *v->endpoint);
}

static void check_model_verdict(const struct model_verdict *v, long retry)
{
	check_ok(&v->region);
	check_ok(&v->deployment);
	check_ok(&v->deprecated);
	FUZZ_CHECK(retry >= 0);
	for (size_t i = 0; i < v->navailable_regions; i++)
		FUZZ_CHECK(v->available_regions[i] && *v->available_regions[i]);
}

static void field(const char **s, const char *end, char *out, size_t outsz, const char *def)
{
	const char *bar = *s < end ? memchr(*s, '|', (size_t)(end - *s)) : NULL;
	size_t n = bar ? (size_t)(bar - *s) : (size_t)(end - *s);

	if (*s >= end || !n)
		snprintf(out, outsz, "%s", def);
	else
		snprintf(out, outsz, "%.*s", (int)(n < outsz - 1 ? n : outsz - 1), *s);
	*s += n + (bar ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {ARM "/", "https://login.test/",
					       "http://169.254.169.254/", NULL};
	static char *suggest[] = {(char *)"westus", (char *)"eastus2", (char *)"swedencentral"};
	struct fuzz_seg segs[FUZZ_HTTP_MAX_SEGS];
	struct fuzz_http fh;
	struct azure_auth_options ao = {0};
	struct azure_client_options opt = {0};
	struct azure_auth *auth = NULL;
	struct azure_client *ac = NULL;
	struct spec_account a, p;
	struct spec_model m;
	struct account_verdict av, pv, fallback;
	struct model_verdict mv;
	char name[64], version[64], sku[64], format[64], msg[AZURE_AUTH_MSG_MAX];
	const char *s, *end;
	size_t nsegs;
	uint8_t flags;
	long retry;
	int with_primary, round;

	fuzz_quiet_log();
	nsegs = fuzz_split(data, size, segs, FUZZ_HTTP_MAX_SEGS);
	if (nsegs == 0 || segs[0].n == 0)
		return 0;
	flags = (uint8_t)segs[0].p[0];
	s = segs[0].p + 1;
	end = segs[0].p + segs[0].n;
	field(&s, end, name, sizeof(name), "gpt-35-turbo");
	field(&s, end, version, sizeof(version), "0125");
	field(&s, end, sku, sizeof(sku), "Standard");
	field(&s, end, format, sizeof(format), "OpenAI");
	with_primary = !!(flags & 16);
	azure_fake_clock_ms = 1780272000000; /* 2026-06-01 */

	fuzz_http_init(&fh, segs + 1, nsegs - 1, prefixes);
	if (flags & (1 | 32)) {
		ao.transport = &fh.ft.t;
		ao.authority_host = "https://login.test/";
		ao.getenv_fn = !(flags & 32) ? azure_fake_env_secret
			       : (flags & 1) ? azure_fake_env_mi : azure_fake_env_none;
		ao.now_ms = azure_fake_clock;
		FUZZ_CHECK(azure_auth_new(&ao, &auth, msg, sizeof(msg)) == FC_OK);
	}
	opt.transport = &fh.ft.t;
	opt.auth = auth;
	opt.arm_endpoint = ARM "/";
	opt.catalog_ttl_ms = flags & 8 ? 0 : 3600 * 1000;
	opt.deployment_ttl_ms = flags & 8 ? 0 : 300 * 1000;
	opt.retirement_warning_ms = 90LL * 86400 * 1000;
	opt.now_ms = azure_fake_clock;
	if (flags & 4) {
		opt.suggest_regions = suggest;
		opt.nsuggest_regions = 3;
	}
	FUZZ_CHECK(azure_client_new(&opt, &ac) == FC_OK);

	memset(&a, 0, sizeof(a));
	a.meta.ns = (char *)"aucert";
	a.meta.name = (char *)"aucert-ai";
	a.meta.generation = 1;
	a.subscription_id = (char *)"00000000-0000-0000-0000-000000000000";
	a.resource_group = (char *)"aucert-rg";
	a.account_name = (char *)"aucert-ai";
	p = a;
	p.meta.name = p.account_name = (char *)"aucert-ai-east";
	p.primary = 1;
	memset(&m, 0, sizeof(m));
	m.meta.ns = (char *)"aucert";
	m.meta.name = (char *)"gen";
	m.meta.generation = 1;
	m.account_ref = (char *)"aucert-ai";
	m.model_format = format;
	m.model_name = name;
	m.model_version = version;
	m.sku = sku;
	m.deployment = name;
	m.configmap = (char *)"llm-config";
	memset(&fallback, 0, sizeof(fallback));
	fallback.ready.status = COND_TRUE;
	fallback.ready.reason = "AccountReady";
	fallback.region = (char *)"westeurope";
	fallback.kind = (char *)"OpenAI";
	fallback.endpoint = (char *)"https://aucert-ai.openai.azure.com/";

	for (round = 0; round < 2; round++) {
		const struct account_verdict *use, *usep = NULL;

		FUZZ_CHECK(azure_client_check_account(ac, &a, &av) == FC_OK);
		check_account_verdict(&av);
		memset(&pv, 0, sizeof(pv));
		if (with_primary) {
			FUZZ_CHECK(azure_client_check_account(ac, &p, &pv) == FC_OK);
			check_account_verdict(&pv);
			usep = pv.region ? &pv : &fallback;
		}
		use = av.region && av.kind ? &av : &fallback;
		retry = -1;
		FUZZ_CHECK(azure_client_check_model(ac, &m, &a, use, with_primary ? &p : NULL, usep,
						    !!(flags & 2), 0, &mv, &retry) == FC_OK);
		check_model_verdict(&mv, retry);
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "round %d: %s: account %s (%s) region %s (%s) deployment %s "
				"(%s) deprecated %s, %lu requests\n", round, name, av.ready.reason,
				av.ready.message ? av.ready.message : "", mv.region.reason,
				mv.region.message ? mv.region.message : "", mv.deployment.reason,
				mv.deployment.message ? mv.deployment.message : "",
				mv.deprecated.reason, fh.requests);
		FUZZ_CHECK(mv.generation == 1);
		FUZZ_CHECK(azure_client_throttle_ms(ac, a.subscription_id) >= 0);
		model_verdict_release(&mv);
		account_verdict_release(&av);
		account_verdict_release(&pv);
		azure_fake_clock_ms += 2 * 3600 * 1000;
	}
	azure_client_free(ac);
	azure_auth_free(auth);
	fuzz_http_release(&fh);
	return 0;
}
