/* Unit tests: kube_client.c over a fake transport (paths, verbs, content
 * types, Status errors, 401 token re-read, pagination, watch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "json.h"
#include "kube_client.h"

/* ---- paths ----------------------------------------------------------- */

static void test_kube_path(void **state)
{
	static const struct {
		const char *g, *v, *ns, *pl, *name, *sub;
		fc_err rc;
		const char *want;
	} cases[] = {
		{ "", "v1", NULL, "namespaces", NULL, NULL, FC_OK, "/api/v1/namespaces" },
		{ NULL, "v1", "aucert", "configmaps", "llm-config", NULL, FC_OK,
		  "/api/v1/namespaces/aucert/configmaps/llm-config" },
		{ "foundry.aucert.io", "v1alpha1", "ns", "foundrymodels", "m", "status", FC_OK,
		  "/apis/foundry.aucert.io/v1alpha1/namespaces/ns/foundrymodels/m/status" },
		{ "foundry.aucert.io", "v1alpha1", "", "foundrymodels", NULL, NULL, FC_OK,
		  "/apis/foundry.aucert.io/v1alpha1/foundrymodels" },
		{ "coordination.k8s.io", "v1", "kube-system", "leases", "fc", NULL, FC_OK,
		  "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/fc" },
		{ "", "v1", "ns", "configmaps", "a/b", NULL, FC_ERR_INVAL, "" },
		{ "", "v1", "ns", "configmaps", "a?b", NULL, FC_ERR_INVAL, "" },
		{ "", "v1", "ns", "configmaps", "", NULL, FC_ERR_INVAL, "" },
		{ "", "v1", "n s", "configmaps", NULL, NULL, FC_ERR_INVAL, "" },
		{ "", NULL, "ns", "configmaps", NULL, NULL, FC_ERR_INVAL, "" },
		{ "", "v1", "ns", NULL, NULL, NULL, FC_ERR_INVAL, "" },
		{ "", "v1", "ns", "configmaps", NULL, "status", FC_ERR_INVAL, "" },
		{ "a%2f", "v1", "ns", "configmaps", NULL, NULL, FC_ERR_INVAL, "" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fc_err rc = kube_path(out, sizeof(out), cases[i].g, cases[i].v, cases[i].ns, cases[i].pl,
				      cases[i].name, cases[i].sub);

		if (rc != cases[i].rc)
			fail_msg("case %zu: %s", i, fc_strerror(rc));
		assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(kube_path(out, 10, "", "v1", "ns", "configmaps", NULL, NULL), FC_ERR_TOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(kube_path(out, 0, "", "v1", NULL, "x", NULL, NULL), FC_ERR_INVAL);
}

static void test_url_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(kube_url_escape(&b, "app.kubernetes.io/name in (a,b),x!=y~_-"), FC_OK);
	assert_string_equal(b.data, "app.kubernetes.io%2Fname%20in%20%28a%2Cb%29%2Cx%21%3Dy~_-");
	buf_release(&b);
	buf_init(&b, 4);
	assert_int_equal(kube_url_escape(&b, "a b"), FC_ERR_TOOBIG);
	buf_release(&b);
}

/* ---- a scripted server ----------------------------------------------- */

struct exchange {
	/* what to answer */
	long status;
	const char *body;
	const char *retry_after;
	fc_err transport_err;
	size_t chunk;
	/* what was asked */
	char method[16];
	char url[1024];
	char ctype[128];
	char auth[256];
	char accept[64];
	char body_seen[1024];
};

struct script {
	struct exchange ex[16];
	int n, next;
	const char *rewrite_token_file; /* rewritten after the first request */
};

static fc_err scripted(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct script *s = ud;
	struct exchange *e;
	const char *h;

	if (s->next >= s->n)
		fail_msg("unexpected request %s %s", req->method, req->url);
	e = &s->ex[s->next++];
	snprintf(e->method, sizeof(e->method), "%s", req->method);
	snprintf(e->url, sizeof(e->url), "%s", req->url);
	h = fake_transport_header(req, "Content-Type");
	snprintf(e->ctype, sizeof(e->ctype), "%s", h ? h : "");
	h = fake_transport_header(req, "Authorization");
	snprintf(e->auth, sizeof(e->auth), "%s", h ? h : "");
	h = fake_transport_header(req, "Accept");
	snprintf(e->accept, sizeof(e->accept), "%s", h ? h : "");
	if (req->body)
		snprintf(e->body_seen, sizeof(e->body_seen), "%.*s", (int)req->body_len, req->body);
	if (s->rewrite_token_file) {
		FILE *f = fopen(s->rewrite_token_file, "w");

		fputs("rotated-token\n", f);
		fclose(f);
		s->rewrite_token_file = NULL;
	}
	if (e->transport_err) {
		snprintf(resp->error, sizeof(resp->error), "Failed to connect to 127.0.0.1 port 1");
		return e->transport_err;
	}
	if (e->retry_after)
		resp->retry_after = strdup(e->retry_after);
	return fake_transport_respond(req, resp, e->status, e->body, e->chunk);
}

struct fx {
	struct script s;
	struct fake_transport ft;
	struct kube_config cfg;
	struct kube_client *kc;
	char tokdir[64];
	char tokfile[128];
};

static int setup_with(void **state, int token_file)
{
	struct fx *f = calloc(1, sizeof(*f));
	char y[512], err[256];

	if (!f)
		return -1;
	fake_transport_init(&f->ft, scripted, &f->s);
	if (token_file) {
		FILE *t;

		snprintf(f->tokdir, sizeof(f->tokdir), "/tmp/fc-kc-XXXXXX");
		if (!mkdtemp(f->tokdir))
			return -1;
		snprintf(f->tokfile, sizeof(f->tokfile), "%s/token", f->tokdir);
		t = fopen(f->tokfile, "w");
		fputs("file-token\n", t);
		fclose(t);
		snprintf(y, sizeof(y),
			 "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
			 "clusters: [{name: c, cluster: {server: 'https://k8s.test:6443/'}}]\n"
			 "users: [{name: u, user: {tokenFile: %s}}]\n", f->tokfile);
	} else {
		snprintf(y, sizeof(y),
			 "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
			 "clusters: [{name: c, cluster: {server: 'https://k8s.test:6443/'}}]\n"
			 "users: [{name: u, user: {token: static-token}}]\n");
	}
	if (kube_config_parse(y, strlen(y), NULL, &f->cfg, err, sizeof(err)))
		return -1;
	if (kube_client_new(&f->ft.t, &f->cfg, &f->kc))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

static int setup_tokfile(void **state)
{
	return setup_with(state, 1);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	kube_client_free(f->kc);
	kube_config_release(&f->cfg);
	fake_transport_release(&f->ft);
	if (f->tokfile[0]) {
		unlink(f->tokfile);
		rmdir(f->tokdir);
	}
	free(f);
	return 0;
}

#define EXPECT(f, st, b)                                 \
	do {                                             \
		assert_true((f)->s.n < 16);              \
		(f)->s.ex[(f)->s.n].status = (st);       \
		(f)->s.ex[(f)->s.n].body = (b);          \
		(f)->s.n++;                              \
	} while (0)

/* ---- tests ----------------------------------------------------------- */

static void test_get_ok(void **state)
{
	struct fx *f = *state;
	struct kube_status st;
	cJSON *o = NULL;

	EXPECT(f, 200, "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"default\"}}");
	assert_int_equal(kube_get(f->kc, "/api/v1/namespaces/default", &o, &st), FC_OK);
	assert_string_equal(json_str_or(o, "metadata.name", ""), "default");
	assert_int_equal(st.http_status, 200);
	assert_string_equal(f->s.ex[0].method, "GET");
	assert_string_equal(f->s.ex[0].url, "https://k8s.test:6443/api/v1/namespaces/default");
	assert_string_equal(f->s.ex[0].auth, "Bearer static-token");
	assert_string_equal(f->s.ex[0].accept, "application/json");
	assert_string_equal(f->s.ex[0].ctype, "");
	assert_int_equal(kube_client_config(f->kc), &f->cfg);
	cJSON_Delete(o);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	struct kube_status st;
	cJSON *o = (cJSON *)1;

	EXPECT(f, 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
		       "\"message\":\"configmaps \\\"x\\\" not found\",\"reason\":\"NotFound\","
		       "\"details\":{\"name\":\"x\",\"kind\":\"configmaps\"},\"code\":404}");
	EXPECT(f, 503, "upstream connect error\nor disconnect");
	EXPECT(f, 429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"message\":\"slow down\","
		       "\"details\":{\"retryAfterSeconds\":3}}");
	EXPECT(f, 200, "not json");
	EXPECT(f, 409, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\"}");
	f->s.ex[f->s.n].transport_err = FC_ERR_IO;
	f->s.n++;

	assert_int_equal(kube_get(f->kc, "/api/v1/namespaces/n/configmaps/x", &o, &st), FC_ERR_NOTFOUND);
	assert_null(o);
	assert_int_equal(st.http_status, 404);
	assert_string_equal(st.reason, "NotFound");
	assert_string_equal(st.message, "configmaps \"x\" not found");
	assert_int_equal(st.retry_after_s, -1);

	assert_int_equal(kube_get(f->kc, "/x", &o, &st), FC_ERR_UNAVAILABLE);
	assert_string_equal(st.message, "upstream connect error or disconnect");
	assert_string_equal(st.reason, "");

	assert_int_equal(kube_get(f->kc, "/x", &o, &st), FC_ERR_THROTTLED);
	assert_int_equal(st.retry_after_s, 3);

	assert_int_equal(kube_get(f->kc, "/x", &o, &st), FC_ERR_PARSE);
	assert_null(o);

	assert_int_equal(kube_update(f->kc, "/x", "{}", NULL, &st), FC_ERR_CONFLICT);
	assert_string_equal(st.reason, "Conflict");

	assert_int_equal(kube_get(f->kc, "/x", &o, NULL), FC_ERR_IO);
	f->s.ex[f->s.n].transport_err = FC_ERR_TIMEOUT;
	f->s.n++;
	assert_int_equal(kube_get(f->kc, "/x", &o, &st), FC_ERR_TIMEOUT);
	assert_string_equal(st.message, "Failed to connect to 127.0.0.1 port 1");
	assert_int_equal(st.http_status, 0);

	/* a path must start with '/' */
	assert_int_equal(kube_get(f->kc, "api/v1", &o, &st), FC_ERR_INVAL);
	assert_int_equal(f->s.next, f->s.n);
}

static void test_retry_after_header(void **state)
{
	struct fx *f = *state;
	struct kube_status st;

	EXPECT(f, 429, "");
	f->s.ex[0].retry_after = "11";
	assert_int_equal(kube_get(f->kc, "/x", NULL, &st), FC_ERR_THROTTLED);
	assert_int_equal(st.retry_after_s, 11);
}

static void test_401_static_token_no_retry(void **state)
{
	struct fx *f = *state;
	struct kube_status st;

	EXPECT(f, 401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"message\":\"Unauthorized\"}");
	assert_int_equal(kube_get(f->kc, "/x", NULL, &st), FC_ERR_AUTH);
	assert_int_equal(f->s.next, 1);
	assert_string_equal(st.reason, "Unauthorized");
}

static void test_401_token_file_reread(void **state)
{
	struct fx *f = *state;
	struct kube_status st;
	cJSON *o = NULL;

	EXPECT(f, 401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\"}");
	EXPECT(f, 200, "{\"ok\":1}");
	f->s.rewrite_token_file = f->tokfile;
	assert_int_equal(kube_get(f->kc, "/x", &o, &st), FC_OK);
	assert_string_equal(f->s.ex[0].auth, "Bearer file-token");
	assert_string_equal(f->s.ex[1].auth, "Bearer rotated-token");
	cJSON_Delete(o);

	/* still 401 after the re-read: AUTH, one retry only */
	EXPECT(f, 401, "");
	EXPECT(f, 401, "");
	assert_int_equal(kube_get(f->kc, "/x", NULL, &st), FC_ERR_AUTH);
	assert_int_equal(f->s.next, 4);
}

static void test_verbs(void **state)
{
	struct fx *f = *state;
	struct kube_status st;
	cJSON *o = NULL;
	static const char p[] = "/api/v1/namespaces/ns/configmaps/llm-config";

	for (int i = 0; i < 9; i++)
		EXPECT(f, 200, "{\"kind\":\"ConfigMap\"}");
	assert_int_equal(kube_apply(f->kc, p, "apiVersion: v1\nkind: ConfigMap\n", "foundry-controller", 1,
				    &o, &st), FC_OK);
	cJSON_Delete(o);
	assert_int_equal(kube_apply(f->kc, p, "{}", "my manager/x", 0, NULL, &st), FC_OK);
	assert_int_equal(kube_merge_patch(f->kc, p, "{\"metadata\":{\"finalizers\":null}}", NULL, &st), FC_OK);
	assert_int_equal(kube_json_patch(f->kc, p, "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]", NULL, &st), FC_OK);
	assert_int_equal(kube_update(f->kc, p, "{\"a\":1}", NULL, &st), FC_OK);
	assert_int_equal(kube_update_status(f->kc, "/apis/g/v1/namespaces/ns/fms/m/status", "{\"s\":1}", NULL, &st), FC_OK);
	assert_int_equal(kube_patch_status(f->kc, "/apis/g/v1/namespaces/ns/fms/m/status", "{\"s\":2}", NULL, &st), FC_OK);
	assert_int_equal(kube_create(f->kc, "/api/v1/namespaces/ns/events", "{\"e\":1}", NULL, &st), FC_OK);
	assert_int_equal(kube_delete(f->kc, p, &st), FC_OK);

	assert_string_equal(f->s.ex[0].method, "PATCH");
	assert_string_equal(f->s.ex[0].url, "https://k8s.test:6443/api/v1/namespaces/ns/configmaps/llm-config"
					    "?fieldManager=foundry-controller&force=true");
	assert_string_equal(f->s.ex[0].ctype, "application/apply-patch+yaml");
	assert_string_equal(f->s.ex[0].body_seen, "apiVersion: v1\nkind: ConfigMap\n");
	assert_string_equal(f->s.ex[1].url, "https://k8s.test:6443/api/v1/namespaces/ns/configmaps/llm-config"
					    "?fieldManager=my%20manager%2Fx");
	assert_string_equal(f->s.ex[2].method, "PATCH");
	assert_string_equal(f->s.ex[2].ctype, "application/merge-patch+json");
	assert_string_equal(f->s.ex[2].body_seen, "{\"metadata\":{\"finalizers\":null}}");
	assert_string_equal(f->s.ex[3].ctype, "application/json-patch+json");
	assert_string_equal(f->s.ex[4].method, "PUT");
	assert_string_equal(f->s.ex[4].ctype, "application/json");
	assert_string_equal(f->s.ex[5].method, "PUT");
	assert_string_equal(f->s.ex[5].url, "https://k8s.test:6443/apis/g/v1/namespaces/ns/fms/m/status");
	assert_string_equal(f->s.ex[6].method, "PATCH");
	assert_string_equal(f->s.ex[6].ctype, "application/merge-patch+json");
	assert_string_equal(f->s.ex[7].method, "POST");
	assert_string_equal(f->s.ex[7].body_seen, "{\"e\":1}");
	assert_string_equal(f->s.ex[8].method, "DELETE");
	assert_string_equal(f->s.ex[8].ctype, "");

	/* invalid arguments never reach the server */
	assert_int_equal(kube_apply(f->kc, p, "{}", "", 0, NULL, &st), FC_ERR_INVAL);
	assert_int_equal(kube_apply(f->kc, "/x?y=1", "{}", "fm", 0, NULL, &st), FC_ERR_INVAL);
	assert_int_equal(kube_apply(f->kc, p, NULL, "fm", 0, NULL, &st), FC_ERR_INVAL);
	assert_int_equal(f->s.next, 9);
}

static void test_list_pages(void **state)
{
	struct fx *f = *state;
	struct kube_status st;
	cJSON *list = NULL;
	const cJSON *items;

	EXPECT(f, 200, "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"100\","
		       "\"continue\":\"tok+/1=\",\"remainingItemCount\":3},\"items\":[{\"metadata\":{\"name\":\"a\"}},"
		       "{\"metadata\":{\"name\":\"b\"}}]}");
	EXPECT(f, 200, "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"100\","
		       "\"continue\":\"tok2\"},\"items\":[{\"metadata\":{\"name\":\"c\"}},{\"metadata\":{\"name\":\"d\"}}]}");
	EXPECT(f, 200, "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"100\"},"
		       "\"items\":[{\"metadata\":{\"name\":\"e\"}}]}");
	assert_int_equal(kube_list(f->kc, "/api/v1/configmaps?labelSelector=a%3Db", &list, &st), FC_OK);
	assert_string_equal(f->s.ex[0].url, "https://k8s.test:6443/api/v1/configmaps?labelSelector=a%3Db&limit=500");
	assert_string_equal(f->s.ex[1].url, "https://k8s.test:6443/api/v1/configmaps?labelSelector=a%3Db&limit=500"
					    "&continue=tok%2B%2F1%3D");
	assert_string_equal(f->s.ex[2].url, "https://k8s.test:6443/api/v1/configmaps?labelSelector=a%3Db&limit=500"
					    "&continue=tok2");
	assert_int_equal(json_get_arr(list, "items", &items), FC_OK);
	assert_int_equal(cJSON_GetArraySize(items), 5);
	assert_string_equal(json_str_or(cJSON_GetArrayItem(items, 4), "metadata.name", ""), "e");
	assert_string_equal(json_str_or(list, "metadata.resourceVersion", ""), "100");
	assert_null(json_path(list, "metadata.continue"));
	assert_null(json_path(list, "metadata.remainingItemCount"));
	assert_string_equal(json_str_or(list, "kind", ""), "ConfigMapList");
	cJSON_Delete(list);

	/* empty list with "items": null */
	EXPECT(f, 200, "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"7\"},\"items\":null}");
	assert_int_equal(kube_list(f->kc, "/api/v1/configmaps", &list, &st), FC_OK);
	assert_string_equal(f->s.ex[3].url, "https://k8s.test:6443/api/v1/configmaps?limit=500");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 0);
	cJSON_Delete(list);

	/* the continue token expired */
	EXPECT(f, 200, "{\"metadata\":{\"continue\":\"old\"},\"items\":[]}");
	EXPECT(f, 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"The provided continue parameter is too old\"}");
	assert_int_equal(kube_list(f->kc, "/api/v1/configmaps", &list, &st), FC_ERR_GONE);
	assert_null(list);
	assert_string_equal(st.reason, "Expired");
}

struct pages {
	int n;
	int stop_at;
};

static fc_err count_page(void *ud, cJSON *page)
{
	struct pages *p = ud;

	(void)page;
	p->n++;
	return p->n == p->stop_at ? FC_ERR_CANCELLED : FC_OK;
}

static void test_list_page_callback(void **state)
{
	struct fx *f = *state;
	struct pages p = { 0, 2 };

	EXPECT(f, 200, "{\"metadata\":{\"continue\":\"1\"},\"items\":[]}");
	EXPECT(f, 200, "{\"metadata\":{\"continue\":\"2\"},\"items\":[]}");
	assert_int_equal(kube_list_pages(f->kc, "/api/v1/pods", 2, count_page, &p, NULL), FC_ERR_CANCELLED);
	assert_int_equal(p.n, 2);
	assert_string_equal(f->s.ex[0].url, "https://k8s.test:6443/api/v1/pods?limit=2");
	EXPECT(f, 200, "[1]");
	assert_int_equal(kube_list_pages(f->kc, "/api/v1/pods", 2, count_page, &p, NULL), FC_ERR_PARSE);
}

struct events {
	char got[8][64];
	int n;
	int taken;
};

static fc_err on_ev(void *ud, const char *type, cJSON **obj)
{
	struct events *e = ud;

	if (e->n < 8)
		snprintf(e->got[e->n], sizeof(e->got[0]), "%s %s", type,
			 json_str_or(*obj, "metadata.resourceVersion", ""));
	e->n++;
	if (!strcmp(type, "MODIFIED")) {
		cJSON_Delete(*obj);
		*obj = NULL;
		e->taken++;
	}
	return FC_OK;
}

#define WEV(t, rv) "{\"type\":\"" t "\",\"object\":{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"" rv "\"}}}\n"

static void test_watch(void **state)
{
	struct fx *f = *state;
	struct kube_status st;
	struct events e = { .n = 0 };
	volatile int cancel = 0;

	EXPECT(f, 200, WEV("ADDED", "5") WEV("MODIFIED", "6") WEV("BOOKMARK", "9"));
	f->s.ex[0].chunk = 7;
	assert_int_equal(kube_watch(f->kc, "/api/v1/namespaces/ns/configmaps?labelSelector=x", "4", 60,
				    on_ev, &e, &cancel, &st), FC_OK);
	assert_string_equal(f->s.ex[0].url,
			    "https://k8s.test:6443/api/v1/namespaces/ns/configmaps?labelSelector=x&watch=1"
			    "&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion=4");
	assert_int_equal(e.n, 3);
	assert_string_equal(e.got[0], "ADDED 5");
	assert_string_equal(e.got[1], "MODIFIED 6");
	assert_string_equal(e.got[2], "BOOKMARK 9");
	assert_int_equal(e.taken, 1);

	/* no resourceVersion, default timeout */
	EXPECT(f, 200, "");
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", NULL, 0, on_ev, &e, NULL, &st), FC_OK);
	assert_string_equal(f->s.ex[1].url, "https://k8s.test:6443/api/v1/configmaps?watch=1"
					    "&allowWatchBookmarks=true&timeoutSeconds=300");

	/* ERROR 410 event */
	e.n = 0;
	EXPECT(f, 200, WEV("ADDED", "5") "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
	       "\"reason\":\"Expired\",\"message\":\"too old resource version: 4 (50)\"}}\n" WEV("ADDED", "6"));
	f->s.ex[2].chunk = 3;
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", "4", 10, on_ev, &e, NULL, &st), FC_ERR_GONE);
	assert_int_equal(e.n, 1);
	assert_string_equal(st.message, "too old resource version: 4 (50)");
	assert_string_equal(st.reason, "Expired");

	/* HTTP 410 and 403 before any event */
	EXPECT(f, 410, "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Gone\",\"message\":\"gone\"}");
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", "4", 10, on_ev, &e, NULL, &st), FC_ERR_GONE);
	assert_int_equal(st.http_status, 410);
	EXPECT(f, 403, "{\"kind\":\"Status\",\"code\":403,\"reason\":\"Forbidden\",\"message\":\"configmaps is forbidden\"}");
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", "4", 10, on_ev, &e, NULL, &st), FC_ERR_FORBIDDEN);
	assert_string_equal(st.message, "configmaps is forbidden");

	/* a malformed line ends the watch */
	e.n = 0;
	EXPECT(f, 200, WEV("ADDED", "5") "garbage\n" WEV("ADDED", "6"));
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", "4", 10, on_ev, &e, NULL, &st), FC_ERR_PARSE);
	assert_int_equal(e.n, 1);
	assert_true(st.message[0] != '\0');

	/* stream cut inside an event */
	EXPECT(f, 200, WEV("ADDED", "5") "{\"type\":\"ADD");
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", "4", 10, on_ev, &e, NULL, &st), FC_ERR_IO);

	/* cancelled */
	cancel = 1;
	EXPECT(f, 200, WEV("ADDED", "5"));
	assert_int_equal(kube_watch(f->kc, "/api/v1/configmaps", "4", 10, on_ev, &e, &cancel, &st),
			 FC_ERR_CANCELLED);
	assert_int_equal(kube_watch(f->kc, NULL, "4", 10, on_ev, &e, &cancel, &st), FC_ERR_INVAL);
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	struct kube_status st;

	kube_client_set_limits(f->kc, 1000, 8);
	EXPECT(f, 200, "{\"a\":\"0123456789\"}");
	assert_int_equal(kube_get(f->kc, "/x", NULL, &st), FC_ERR_TOOBIG);
	kube_client_set_limits(f->kc, 0, 0);
	EXPECT(f, 200, "{\"a\":\"0123456789\"}");
	assert_int_equal(kube_get(f->kc, "/x", NULL, &st), FC_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_path),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test_setup_teardown(test_get_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_401_static_token_no_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_401_token_file_reread, setup_tokfile, teardown),
		cmocka_unit_test_setup_teardown(test_verbs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_page_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
