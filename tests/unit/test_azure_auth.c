/* Unit tests: azure_auth.c (credential chain, token requests, cache). */
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
#include "log.h"
#include "fake_transport.h"
#include "fixture.h"

/* ---- fixtures, env, clock ------------------------------------------------ */

static const char *env_tab[8][2];

static char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < 8 && env_tab[i][0]; i++)
		if (strcmp(env_tab[i][0], name) == 0)
			return (char *)env_tab[i][1];
	return NULL;
}

static void set_env(const char *k1, const char *v1, const char *k2, const char *v2,
		    const char *k3, const char *v3, const char *k4, const char *v4)
{
	memset(env_tab, 0, sizeof(env_tab));
	env_tab[0][0] = k1, env_tab[0][1] = v1;
	env_tab[1][0] = k2, env_tab[1][1] = v2;
	env_tab[2][0] = k3, env_tab[2][1] = v3;
	env_tab[3][0] = k4, env_tab[3][1] = v4;
}

static int64_t clock_ms = 1767225600000; /* 2026-01-01T00:00:00Z */

static int64_t fake_clock(void *ud)
{
	(void)ud;
	return clock_ms;
}

/* ---- the fake token endpoint --------------------------------------------- */

struct fake {
	pthread_mutex_t mu;
	int calls;
	char method[8];
	char url[2048];
	char body[8192];
	char metadata[64];
	char content_type[128];
	long status;
	const char *resp_body;
	fc_err transport_rc;
	const char *transport_error; /* NULL: a connect timeout */
	int echo_body;      /* answer 401 with the request body in error_description */
	int delay_ms;
	int hook_calls;
	long hook_status;
};

static fc_err fake_fn(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct fake *f = ud;
	const char *h;
	char echo[10000];

	pthread_mutex_lock(&f->mu);
	f->calls++;
	snprintf(f->method, sizeof(f->method), "%s", req->method);
	snprintf(f->url, sizeof(f->url), "%s", req->url);
	snprintf(f->body, sizeof(f->body), "%.*s", (int)req->body_len, req->body ? req->body : "");
	h = fake_transport_header(req, "Metadata");
	snprintf(f->metadata, sizeof(f->metadata), "%s", h ? h : "");
	h = fake_transport_header(req, "Content-Type");
	snprintf(f->content_type, sizeof(f->content_type), "%s", h ? h : "");
	pthread_mutex_unlock(&f->mu);
	if (f->delay_ms)
		usleep((useconds_t)f->delay_ms * 1000);
	if (f->transport_rc) {
		snprintf(resp->error, sizeof(resp->error), "%s",
			 f->transport_error ? f->transport_error : "Connection timed out after 10000 ms");
		return f->transport_rc;
	}
	if (f->echo_body) {
		snprintf(echo, sizeof(echo),
			 "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid "
			 "client secret provided. You sent: %.*s\"}",
			 (int)req->body_len, req->body);
		return fake_transport_respond(req, resp, 401, echo, 0);
	}
	return fake_transport_respond(req, resp, f->status, f->resp_body, 0);
}

static void hook(void *ud, const char *call, long status, int64_t duration_ms)
{
	struct fake *f = ud;

	assert_string_equal(call, "token");
	assert_true(duration_ms >= 0);
	f->hook_calls++;
	f->hook_status = status;
}

struct env {
	struct fake f;
	struct fake_transport ft;
	struct azure_auth_options opt;
	char *v2_3599, *imds;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	pthread_mutex_init(&e->f.mu, NULL);
	fake_transport_init(&e->ft, fake_fn, &e->f);
	e->v2_3599 = fixture_read("azure/unit", "entra_v2_token_200_client_credentials_3599.json", NULL);
	e->imds = fixture_read("azure/unit", "imds_token_200_REDACTED.json", NULL);
	e->f.status = 200;
	e->f.resp_body = e->v2_3599;
	e->opt.transport = &e->ft.t;
	e->opt.getenv_fn = fake_getenv;
	e->opt.now_ms = fake_clock;
	e->opt.on_request = hook;
	e->opt.hook_ud = &e->f;
	clock_ms = 1767225600000;
	memset(env_tab, 0, sizeof(env_tab));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	fake_transport_release(&e->ft);
	pthread_mutex_destroy(&e->f.mu);
	free(e->v2_3599);
	free(e->imds);
	free(e);
	return 0;
}

static struct azure_auth *new_auth(struct env *e)
{
	struct azure_auth *a = NULL;
	char msg[AZURE_AUTH_MSG_MAX];

	if (azure_auth_new(&e->opt, &a, msg, sizeof(msg)) != FC_OK)
		fail_msg("azure_auth_new: %s", msg);
	return a;
}

/* A client secret credential: tenant t1, client cid, secret sec-ret. */
static void set_env_secret(void)
{
	set_env("AZURE_TENANT_ID", "t1", "AZURE_CLIENT_ID", "cid", "AZURE_CLIENT_SECRET", "sec-ret",
		NULL, NULL);
}

/* An azure_auth with set_env_secret()'s credential; free with azure_auth_free(). */
static struct azure_auth *secret_auth(struct env *e)
{
	set_env_secret();
	return new_auth(e);
}

static void expect_token(struct azure_auth *a, const char *want)
{
	char *tok = NULL;
	char msg[AZURE_AUTH_MSG_MAX];
	fc_err rc = azure_auth_token(a, &tok, msg, sizeof(msg));

	if (rc)
		fail_msg("azure_auth_token: %s: %s", fc_strerror(rc), msg);
	assert_string_equal(tok, want);
	azure_auth_token_free(tok);
}

static fc_err token_err(struct azure_auth *a, char *msg, size_t msgsz)
{
	char *tok = (char *)"sentinel";
	fc_err rc = azure_auth_token(a, &tok, msg, msgsz);

	assert_int_not_equal(rc, FC_OK);
	assert_null(tok);
	return rc;
}

/* ---- tests --------------------------------------------------------------- */

static void test_client_secret_form(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;

	set_env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47", "AZURE_CLIENT_ID",
		"11111111-2222-3333-4444-555555555555", "AZURE_CLIENT_SECRET", "s3cr3t+/=& x~", NULL,
		NULL);
	a = new_auth(e);
	assert_int_equal(azure_auth_kind(a), AZURE_CRED_CLIENT_SECRET);
	assert_string_equal(azure_auth_cred_name(AZURE_CRED_CLIENT_SECRET), "client secret");
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 1);
	assert_string_equal(e->f.method, "POST");
	assert_string_equal(e->f.url, "https://login.microsoftonline.com/"
				      "72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token");
	assert_string_equal(e->f.body,
			    "grant_type=client_credentials"
			    "&client_id=11111111-2222-3333-4444-555555555555"
			    "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
			    "&client_secret=s3cr3t%2B%2F%3D%26%20x~");
	assert_string_equal(e->f.content_type, "application/x-www-form-urlencoded");
	assert_int_equal(e->f.hook_calls, 1);
	assert_int_equal(e->f.hook_status, 200);
	/* cached */
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 1);
	azure_auth_free(a);
	azure_auth_free(NULL);
}

static void test_authority_host_slashes(void **state)
{
	struct env *e = *state;
	static const char *const hosts[] = {"https://login.example.test", "https://login.example.test/",
					    "https://login.example.test///"};
	struct azure_auth *a;

	set_env("AZURE_TENANT_ID", "contoso.onmicrosoft.com", "AZURE_CLIENT_ID", "cid",
		"AZURE_CLIENT_SECRET", "secret-value", NULL, NULL);
	for (size_t i = 0; i < 3; i++) {
		e->opt.authority_host = hosts[i];
		a = new_auth(e);
		expect_token(a, "access_token");
		assert_string_equal(e->f.url, "https://login.example.test/contoso.onmicrosoft.com/"
					      "oauth2/v2.0/token");
		azure_auth_free(a);
	}
	/* AZURE_AUTHORITY_HOST when the caller gives none; the option wins over it */
	set_env("AZURE_TENANT_ID", "t1", "AZURE_CLIENT_ID", "cid", "AZURE_CLIENT_SECRET",
		"secret-value", "AZURE_AUTHORITY_HOST", "http://127.0.0.1:8443");
	e->opt.authority_host = NULL;
	a = new_auth(e);
	expect_token(a, "access_token");
	assert_string_equal(e->f.url, "http://127.0.0.1:8443/t1/oauth2/v2.0/token");
	azure_auth_free(a);
	e->opt.authority_host = "https://login.chinacloudapi.cn/";
	e->opt.audience = "https://management.chinacloudapi.cn/";
	a = new_auth(e);
	expect_token(a, "access_token");
	assert_string_equal(e->f.url, "https://login.chinacloudapi.cn/t1/oauth2/v2.0/token");
	assert_non_null(strstr(e->f.body, "&scope=https%3A%2F%2Fmanagement.chinacloudapi.cn%2F.default&"));
	azure_auth_free(a);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_workload_identity_rereads_file(void **state)
{
	struct env *e = *state;
	char path[] = "/tmp/fc-azure-wi-XXXXXX";
	int fd = mkstemp(path);
	struct azure_auth *a;

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "eyJ.first.sig\n");
	set_env("AZURE_TENANT_ID", "t1", "AZURE_CLIENT_ID", "cid", "AZURE_FEDERATED_TOKEN_FILE", path,
		"AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/");
	a = new_auth(e);
	assert_int_equal(azure_auth_kind(a), AZURE_CRED_WORKLOAD_IDENTITY);
	expect_token(a, "access_token");
	assert_string_equal(e->f.body,
			    "grant_type=client_credentials&client_id=cid"
			    "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
			    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
			    "&client_assertion=eyJ.first.sig");
	/* the kubelet rotates the file; the next request sends the new one */
	write_file(path, "eyJ.second.sig");
	azure_auth_invalidate(a);
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 2);
	assert_non_null(strstr(e->f.body, "&client_assertion=eyJ.second.sig"));
	/* and on a refresh by expiry too */
	write_file(path, "eyJ.third.sig");
	clock_ms += 3599 * 1000;
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 3);
	assert_non_null(strstr(e->f.body, "&client_assertion=eyJ.third.sig"));
	assert_null(strstr(e->f.body, "client_secret"));
	/* an empty file is a clear error */
	write_file(path, "\n");
	azure_auth_invalidate(a);
	{
		char msg[AZURE_AUTH_MSG_MAX];

		assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_AUTH);
		assert_non_null(strstr(msg, "is empty"));
	}
	unlink(path);
	azure_auth_free(a);
}

static void test_workload_identity_missing_file(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;
	char msg[AZURE_AUTH_MSG_MAX];

	set_env("AZURE_TENANT_ID", "t1", "AZURE_CLIENT_ID", "cid", "AZURE_FEDERATED_TOKEN_FILE",
		"/nonexistent/token", NULL, NULL);
	a = new_auth(e);
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_AUTH);
	assert_non_null(strstr(msg, "cannot read AZURE_FEDERATED_TOKEN_FILE /nonexistent/token"));
	assert_int_equal(e->f.calls, 0);
	azure_auth_free(a);
}

static void test_imds_request(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;

	e->f.resp_body = e->imds;
	a = new_auth(e); /* nothing configured: managed identity */
	assert_int_equal(azure_auth_kind(a), AZURE_CRED_MANAGED_IDENTITY);
	expect_token(a, "<REDACTED-JWT>");
	assert_string_equal(e->f.method, "GET");
	assert_string_equal(e->f.url, "http://169.254.169.254/metadata/identity/oauth2/token"
				      "?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F");
	assert_string_equal(e->f.metadata, "true");
	assert_string_equal(e->f.body, "");
	azure_auth_free(a);

	/* user-assigned: AZURE_CLIENT_ID alone; IMDS endpoint override */
	set_env("AZURE_CLIENT_ID", "b84e06d3-aba1-4bcc-9626-2e0d76cba2ce", NULL, NULL, NULL, NULL,
		NULL, NULL);
	e->opt.imds_endpoint = "http://127.0.0.1:40123/";
	a = new_auth(e);
	expect_token(a, "<REDACTED-JWT>");
	assert_string_equal(e->f.url, "http://127.0.0.1:40123/metadata/identity/oauth2/token"
				      "?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"
				      "&client_id=b84e06d3-aba1-4bcc-9626-2e0d76cba2ce");
	azure_auth_free(a);
}

static void test_refresh_5min_before_expiry_number(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;
	int64_t t0 = clock_ms;

	a = secret_auth(e); /* expires_in: 3599 (a number) */
	expect_token(a, "access_token");
	clock_ms = t0 + (3599 - 300) * 1000 - 1;
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 1);
	clock_ms = t0 + (3599 - 300) * 1000;
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 2);
	azure_auth_free(a);
}

static void test_imds_expires_strings(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;
	int64_t t0 = clock_ms;
	char body[256];

	/* expires_in "85947" as a string */
	e->f.resp_body = e->imds;
	a = new_auth(e);
	expect_token(a, "<REDACTED-JWT>");
	clock_ms = t0 + (85947 - 300) * 1000 - 1;
	expect_token(a, "<REDACTED-JWT>");
	assert_int_equal(e->f.calls, 1);
	clock_ms = t0 + (85947 - 300) * 1000;
	expect_token(a, "<REDACTED-JWT>");
	assert_int_equal(e->f.calls, 2);
	azure_auth_free(a);

	/* only expires_on (epoch seconds, string): one hour from now */
	clock_ms = t0;
	snprintf(body, sizeof(body), "{\"access_token\":\"tok-on\",\"expires_on\":\"%lld\"}",
		 (long long)(t0 / 1000 + 3600));
	e->f.resp_body = body;
	e->f.calls = 0;
	a = new_auth(e);
	expect_token(a, "tok-on");
	clock_ms = t0 + 3299 * 1000;
	expect_token(a, "tok-on");
	assert_int_equal(e->f.calls, 1);
	clock_ms = t0 + 3300 * 1000;
	expect_token(a, "tok-on");
	assert_int_equal(e->f.calls, 2);
	azure_auth_free(a);

	/* no expiry at all: a short default, still cached for a while */
	clock_ms = t0;
	e->f.resp_body = "{\"access_token\":\"tok-none\"}";
	e->f.calls = 0;
	a = new_auth(e);
	expect_token(a, "tok-none");
	clock_ms = t0 + 60 * 1000;
	expect_token(a, "tok-none");
	assert_int_equal(e->f.calls, 1);
	azure_auth_free(a);
}

static void test_invalidate(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;

	a = secret_auth(e);
	expect_token(a, "access_token");
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 1);
	azure_auth_invalidate(a);
	e->f.resp_body = "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"fresh\"}";
	expect_token(a, "fresh");
	assert_int_equal(e->f.calls, 2);
	azure_auth_free(a);
}

static void test_aadsts70021_message(void **state)
{
	struct env *e = *state;
	char path[] = "/tmp/fc-azure-wi-XXXXXX";
	int fd = mkstemp(path);
	char msg[AZURE_AUTH_MSG_MAX];
	char *body = fixture_read("azure/unit", "entra_v2_token_400_AADSTS70021_workload_identity.json", NULL);
	struct azure_auth *a;

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "eyJhbGciOiJSUzI1NiJ9.assertion-payload.signature");
	set_env("AZURE_TENANT_ID", "t1", "AZURE_CLIENT_ID", "cid", "AZURE_FEDERATED_TOKEN_FILE", path,
		NULL, NULL);
	e->f.status = 400;
	e->f.resp_body = body;
	a = new_auth(e);
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_AUTH);
	assert_non_null(strstr(msg, "Azure AD rejected the workload identity token: AADSTS70021: "
				    "No matching federated identity record found for presented assertion."));
	assert_non_null(strstr(msg, "Assertion Subject: 'system:serviceaccount:default:workload-identity-sa'"));
	assert_non_null(strstr(msg, "check the federated credential's issuer/subject"));
	assert_null(strstr(msg, "Trace ID"));
	assert_null(strstr(msg, "\r"));
	assert_null(strstr(msg, "assertion-payload"));
	/* the failure is held briefly: no second request right away */
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_AUTH);
	assert_int_equal(e->f.calls, 1);
	assert_non_null(strstr(msg, "AADSTS70021"));
	clock_ms += 6000;
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_AUTH);
	assert_int_equal(e->f.calls, 2);
	azure_auth_free(a);
	unlink(path);
	free(body);
}

static void test_secret_never_in_message(void **state)
{
	struct env *e = *state;
	static const char secret[] = "Zx8Q~super+secret/value.abc";
	char msg[AZURE_AUTH_MSG_MAX];
	struct azure_auth *a;

	set_env("AZURE_TENANT_ID", "t1", "AZURE_CLIENT_ID", "cid", "AZURE_CLIENT_SECRET", secret, NULL,
		NULL);
	e->f.echo_body = 1; /* a server that echoes the form body back */
	a = new_auth(e);
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_AUTH);
	assert_non_null(strstr(msg, "Azure AD rejected the client secret credential: AADSTS7000215"));
	assert_non_null(strstr(msg, "check AZURE_CLIENT_SECRET"));
	assert_null(strstr(msg, secret));
	assert_null(strstr(msg, "secret/value"));
	assert_null(strstr(msg, "secret%2Fvalue"));
	azure_auth_free(a);
}

static void test_error_statuses(void **state)
{
	struct env *e = *state;
	char msg[AZURE_AUTH_MSG_MAX];
	struct azure_auth *a;

	a = secret_auth(e);
	e->f.status = 429;
	e->f.resp_body = "{\"error\":\"temporarily_unavailable\"}";
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_THROTTLED);
	clock_ms += 6000;
	e->f.status = 503;
	e->f.resp_body = "";
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_UNAVAILABLE);
	assert_non_null(strstr(msg, "HTTP 503"));
	clock_ms += 6000;
	e->f.status = 200;
	e->f.resp_body = "{\"token_type\":\"Bearer\",\"expires_in\":3599}";
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_PARSE);
	assert_non_null(strstr(msg, "no access_token"));
	clock_ms += 6000;
	e->f.resp_body = "not json";
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_PARSE);
	azure_auth_free(a);
}

static void test_imds_unreachable_unconfigured(void **state)
{
	struct env *e = *state;
	char msg[AZURE_AUTH_MSG_MAX];
	struct azure_auth *a;

	e->f.transport_rc = FC_ERR_TIMEOUT;
	a = new_auth(e);
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_TIMEOUT);
	assert_non_null(strstr(msg, "no Azure credential is configured"));
	assert_non_null(strstr(msg, "IMDS at http://169.254.169.254 could not be reached"));
	assert_int_equal(e->f.hook_status, 0);
	azure_auth_free(a);
}

/* A refused certificate names TLS and the token endpoint, not only libcurl's words. */
static void test_tls_failure_names_tls_and_endpoint(void **state)
{
	struct env *e = *state;
	char msg[AZURE_AUTH_MSG_MAX];
	struct azure_auth *a;

	set_env_secret();
	e->f.transport_rc = FC_ERR_TLS;
	e->f.transport_error = "SSL certificate problem: unable to get local issuer certificate";
	a = new_auth(e);
	assert_int_equal(token_err(a, msg, sizeof(msg)), FC_ERR_TLS);
	assert_non_null(strstr(msg, "cannot reach Azure AD at https://"));
	assert_non_null(strstr(msg, "/t1/oauth2/v2.0/token: TLS: SSL certificate problem: unable to get "
				    "local issuer certificate"));
	assert_null(strstr(msg, "sec-ret"));
	azure_auth_free(a);
}

static void test_failed_refresh_keeps_valid_token(void **state)
{
	struct env *e = *state;
	struct azure_auth *a;

	a = secret_auth(e);
	expect_token(a, "access_token");
	clock_ms += 3400 * 1000; /* in the refresh window, still valid */
	e->f.status = 503;
	e->f.resp_body = "";
	expect_token(a, "access_token");
	assert_int_equal(e->f.calls, 2);
	azure_auth_free(a);
}

static void test_bad_tenant(void **state)
{
	struct env *e = *state;
	struct azure_auth *a = (struct azure_auth *)1;
	char msg[AZURE_AUTH_MSG_MAX];

	set_env("AZURE_TENANT_ID", "t1/../evil?x=", "AZURE_CLIENT_ID", "cid", "AZURE_CLIENT_SECRET",
		"sec-ret", NULL, NULL);
	assert_int_equal(azure_auth_new(&e->opt, &a, msg, sizeof(msg)), FC_ERR_INVAL);
	assert_null(a);
	assert_non_null(strstr(msg, "AZURE_TENANT_ID"));
}

struct thr {
	struct azure_auth *a;
	fc_err rc;
};

static void *thr_main(void *p)
{
	struct thr *t = p;
	char *tok = NULL;

	t->rc = azure_auth_token(t->a, &tok, NULL, 0);
	if (!t->rc && strcmp(tok, "access_token"))
		t->rc = FC_ERR_STATE;
	azure_auth_token_free(tok);
	return NULL;
}

static void test_concurrent_share_one_refresh(void **state)
{
	struct env *e = *state;
	pthread_t th[8];
	struct thr t[8];

	set_env_secret();
	e->f.delay_ms = 100;
	t[0].a = new_auth(e);
	for (int i = 0; i < 8; i++) {
		t[i].a = t[0].a;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].rc, FC_OK);
	}
	assert_int_equal(e->f.calls, 1);
	azure_auth_free(t[0].a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_secret_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authority_host_slashes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workload_identity_rereads_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workload_identity_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_5min_before_expiry_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds_expires_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aadsts70021_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_never_in_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds_unreachable_unconfigured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_failure_names_tls_and_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_refresh_keeps_valid_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tenant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_share_one_refresh, setup, teardown),
	};

	log_setup(LOG_ERROR, LOG_FORMAT_TEXT, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
