/* allocfail: every allocation of the pure modules fails in turn.
 *
 * For each operation: fail its 1st allocation, then its 2nd, ... until it
 * runs without meeting a failure. Every failing run must end in a clean
 * FC_ERR_NOMEM (or, where the API says so, a documented fallback), with
 * outputs left empty or unchanged, no crash, and nothing leaked
 * (LeakSanitizer: `make SANITIZE=address,undefined unit`). The run that
 * meets no failure is checked against a reference run. Each loop prints
 *   allocfail: MODULE op: N allocations failed in turn (S call sites), ...
 * (`make unit` shows the lines).
 *
 * Modules covered here: buf, json, configmap, azure_catalog, events,
 * metrics (registry and exposition), kube_config (parser, from text),
 * kube_client's watch stream framing, manifest_emit_yaml, verify's
 * formatters, sha256 and config_parse_duration (which must not allocate).
 * spec, render, conditions, reconcile, workqueue, config, frozen,
 * manifest_parse and verify_run/render have their own loops in their
 * test files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure_catalog.h"
#include "buf.h"
#include "config.h"
#include "configmap.h"
#include "events.h"
#include "failmalloc.h"
#include "fixture.h"
#include "json.h"
#include "kube_client.h"
#include "kube_config.h"
#include "manifest.h"
#include "metrics.h"
#include "sha256.h"
#include "verify.h"

typedef fc_err (*run_fn)(void *ctx);

/* The fault loop. run() arms nothing itself: it runs the operation, calls
 * failmalloc_stop() before checking anything, checks, releases, and
 * returns the operation's result. tolerate_ok: a failed allocation may be
 * absorbed (the operation then returns FC_OK, e.g. a best-effort cache). */
static void nomem_loop(const char *what, run_fn run, void *ctx, int tolerate_ok)
{
	unsigned long n, fails = 0;

	failmalloc_sites_reset();
	for (n = 1;; n++) {
		fc_err rc;

		failmalloc_start(n, 0);
		rc = run(ctx);
		failmalloc_stop();
		if (!failmalloc_fired()) {
			if (rc != FC_OK)
				fail_msg("%s: without a failure the operation gave %s", what, fc_strerror(rc));
			break;
		}
		if (rc == FC_OK && tolerate_ok)
			continue;
		if (rc != FC_ERR_NOMEM)
			fail_msg("%s: allocation %lu failing gave %s, want NOMEM", what, n, fc_strerror(rc));
		fails++;
	}
	if (n < 2)
		fail_msg("%s: made no allocation", what);
	if (!tolerate_ok && fails != n - 1)
		fail_msg("%s: %lu failing runs for %lu allocations", what, fails, n - 1);
	failmalloc_report(what, n - 1);
}

/* The operation must not allocate at all. */
static void no_alloc(const char *what, void (*op)(void))
{
	failmalloc_start(1, 1);
	op();
	failmalloc_stop();
	if (failmalloc_count())
		fail_msg("%s: %lu allocations, want none", what, failmalloc_count());
	printf("allocfail: %s: no allocation\n", what);
}

/* ---- buf ---------------------------------------------------------------- */

static fc_err run_buf(void *ctx)
{
	struct buf b;
	fc_err rc = FC_OK;
	char *s = NULL;
	size_t len_before = 0;
	int i;

	(void)ctx;
	buf_init(&b, 1u << 20);
	for (i = 0; i < 300 && !rc; i++) {
		len_before = b.len;
		rc = i % 2 ? buf_appendf(&b, "line %03d %s\n", i, "0123456789abcdef")
			   : buf_append_str(&b, "plain text appended as is\n");
	}
	if (!rc) {
		s = buf_take(&b);
		if (!s)
			rc = FC_ERR_NOMEM;
	}
	failmalloc_stop();
	if (rc) {
		/* a failed append leaves what was there */
		assert_int_equal(b.len, len_before);
		assert_true(!b.data || strlen(b.data) == b.len);
		buf_release(&b);
		return rc;
	}
	assert_int_equal(b.len, 0);
	assert_int_equal(strlen(s), 150 * 26 + 150 * 26);
	assert_non_null(strstr(s, "line 299 0123456789abcdef\n"));
	free(s);
	return FC_OK;
}

/* ---- json --------------------------------------------------------------- */

static const char json_doc[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"42\"},"
	"\"items\":[{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"y\",\"ünï\":\"cødé 🚀\"}},"
	"\"spec\":{\"keys\":[\"A\",\"B\",\"C\"],\"n\":1.5e3,\"t\":true,\"f\":false,\"z\":null}},"
	"{\"metadata\":{\"name\":\"b\"},\"data\":{\"K\":\"line\\nbreak \\u00e9 \\ud83d\\ude80\"}}]}";

struct json_ctx {
	cJSON *ref;
	char *ref_text;
};

static fc_err run_json_parse(void *ctx)
{
	struct json_ctx *c = ctx;
	cJSON *j = (cJSON *)1;
	fc_err rc = json_parse(json_doc, strlen(json_doc), &j);

	failmalloc_stop();
	if (rc) {
		assert_null(j);
		return rc;
	}
	assert_true(cJSON_Compare(j, c->ref, 1));
	cJSON_Delete(j);
	return FC_OK;
}

static fc_err run_json_print(void *ctx)
{
	struct json_ctx *c = ctx;
	char *s = json_print(c->ref);

	failmalloc_stop();
	if (!s)
		return FC_ERR_NOMEM;
	assert_string_equal(s, c->ref_text);
	free(s);
	return FC_OK;
}

/* Building: members, nesting, strings that need cleaning. */
static fc_err run_json_build(void *ctx)
{
	static const char bad_utf8[] = "cut \xe6\xa8 and \xff";
	cJSON *root = cJSON_CreateObject(), *meta = NULL, *arr = NULL, *s;
	char *clean = NULL, *text = NULL;
	fc_err rc = FC_ERR_NOMEM;

	(void)ctx;
	if (!root)
		goto out;
	if ((rc = json_add_str(root, "kind", "ConfigMap")) || (rc = json_add_obj(root, "metadata", &meta)) ||
	    (rc = json_add_str(meta, "name", "llm-config")) ||
	    (rc = json_add_str(meta, "message", bad_utf8)) || (rc = json_add_arr(root, "items", &arr)))
		goto out;
	rc = FC_ERR_NOMEM;
	s = json_create_str(bad_utf8);
	if (!s)
		goto out;
	cJSON_AddItemToArray(arr, s);
	clean = json_utf8_clean(bad_utf8);
	if (!clean)
		goto out;
	text = json_print(root);
	if (!text)
		goto out;
	rc = FC_OK;
out:
	failmalloc_stop();
	if (!rc) {
		assert_string_equal(clean, "cut \xef\xbf\xbd\xef\xbf\xbd and \xef\xbf\xbd");
		assert_true(json_utf8_valid(text));
		assert_string_equal(text, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"llm-config\","
				    "\"message\":\"cut \xef\xbf\xbd\xef\xbf\xbd and \xef\xbf\xbd\"},"
				    "\"items\":[\"cut \xef\xbf\xbd\xef\xbf\xbd and \xef\xbf\xbd\"]}");
	}
	free(clean);
	free(text);
	cJSON_Delete(root);
	return rc;
}

static void test_buf_json(void **state)
{
	struct json_ctx c;

	(void)state;
	if (!failmalloc_works())
		skip();
	nomem_loop("buf append/appendf/take", run_buf, NULL, 0);
	assert_int_equal(json_parse(json_doc, strlen(json_doc), &c.ref), FC_OK);
	c.ref_text = json_print(c.ref);
	assert_non_null(c.ref_text);
	nomem_loop("json parse", run_json_parse, &c, 0);
	nomem_loop("json print", run_json_print, &c, 0);
	nomem_loop("json build (add_str/obj/arr, utf8_clean)", run_json_build, NULL, 0);
	free(c.ref_text);
	cJSON_Delete(c.ref);
}

/* ---- configmap ------------------------------------------------------------ */

static const char cm_doc[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"llm-config\","
	"\"namespace\":\"ns\",\"labels\":{\"app.kubernetes.io/managed-by\":\"foundry-controller\"},"
	"\"annotations\":{\"foundry.aucert.io/config-hash\":\"H\"},\"managedFields\":["
	"{\"manager\":\"foundry-controller\",\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"fieldsV1\":"
	"{\"f:data\":{\"f:FOUNDRY_DEPLOYMENT_A\":{},\"f:FOUNDRY_DEPLOYMENT_B\":{},\"f:FOUNDRY_ENDPOINT\":{},"
	"\"f:FOUNDRY_ENDPOINT_B\":{}}}},"
	"{\"manager\":\"kubectl-edit\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"fieldsV1\":"
	"{\"f:data\":{\"f:OTHER\":{},\"f:FOUNDRY_DEPLOYMENT_X\":{}}}}]},"
	"\"data\":{\"FOUNDRY_DEPLOYMENT_A\":\"gpt-5.4\",\"FOUNDRY_DEPLOYMENT_B\":\"gpt-5.4-pro\","
	"\"FOUNDRY_ENDPOINT\":\"https://w/\",\"FOUNDRY_ENDPOINT_B\":\"https://e/\",\"OTHER\":\"x\","
	"\"FOUNDRY_DEPLOYMENT_X\":\"theirs\"},\"binaryData\":{\"BIN\":\"AAECAw==\"}}";

struct cm_ctx {
	cJSON *cm;
	struct kv desired[4];
	char *body_ref;
};

static fc_err run_cm_owned(void *ctx)
{
	struct cm_ctx *c = ctx;
	struct kv *kv = (struct kv *)1;
	size_t n = 99;
	fc_err rc = configmap_owned(c->cm, CONFIGMAP_FIELD_MANAGER, &kv, &n);

	failmalloc_stop();
	if (rc) {
		assert_null(kv);
		assert_int_equal(n, 0);
		return rc;
	}
	assert_int_equal(n, 4);
	assert_string_equal(kv[0].key, "FOUNDRY_DEPLOYMENT_A");
	assert_string_equal(kv[3].value, "https://e/");
	assert_int_equal(configmap_other_bytes(c->cm, kv, n), strlen("OTHERx") +
			 strlen("FOUNDRY_DEPLOYMENT_Xtheirs") + strlen("BIN") + 4);
	kv_array_free(kv, n);
	return FC_OK;
}

static fc_err run_cm_foreign(void *ctx)
{
	struct cm_ctx *c = ctx;
	struct foreign_key *f = (struct foreign_key *)1;
	size_t n = 99;
	fc_err rc = configmap_foreign(c->cm, CONFIGMAP_FIELD_MANAGER, &f, &n);

	failmalloc_stop();
	if (rc) {
		assert_null(f);
		assert_int_equal(n, 0);
		return rc;
	}
	assert_int_equal(n, 2);
	assert_string_equal(f[1].key, "FOUNDRY_DEPLOYMENT_X");
	assert_string_equal(f[1].manager, "kubectl-edit");
	assert_string_equal(f[1].value, "theirs");
	foreign_keys_free(f, n);
	return FC_OK;
}

static fc_err run_cm_body(void *ctx)
{
	struct cm_ctx *c = ctx;
	char *body = (char *)1;
	fc_err rc = configmap_apply_body("ns", "llm-config", c->desired, 4, "HASH", &body);

	failmalloc_stop();
	if (rc) {
		assert_null(body);
		return rc;
	}
	assert_string_equal(body, c->body_ref);
	free(body);
	return FC_OK;
}

static fc_err run_cm_diff(void *ctx)
{
	struct cm_ctx *c = ctx;
	char *s = configmap_diff_summary(c->desired, 2, c->desired + 1, 3);

	failmalloc_stop();
	if (!s)
		return FC_ERR_NOMEM;
	assert_string_equal(s, "-FOUNDRY_DEPLOYMENT_A +FOUNDRY_ENDPOINT +FOUNDRY_ENDPOINT_B");
	free(s);
	return FC_OK;
}

/* needs_write answers "write" when it cannot tell (a write is harmless) */
static fc_err run_cm_needs_write(void *ctx)
{
	struct cm_ctx *c = ctx;
	struct kv same[4] = {
		{ (char *)"FOUNDRY_DEPLOYMENT_A", (char *)"gpt-5.4" },
		{ (char *)"FOUNDRY_DEPLOYMENT_B", (char *)"gpt-5.4-pro" },
		{ (char *)"FOUNDRY_ENDPOINT", (char *)"https://w/" },
		{ (char *)"FOUNDRY_ENDPOINT_B", (char *)"https://e/" },
	};
	int need = configmap_needs_write(c->cm, CONFIGMAP_FIELD_MANAGER, same, 4, "H");

	failmalloc_stop();
	if (failmalloc_fired()) {
		assert_int_equal(need, 1);
		return FC_OK;
	}
	assert_int_equal(need, 0);
	return FC_OK;
}

static void test_configmap(void **state)
{
	struct cm_ctx c = {
		.desired = {
			{ (char *)"FOUNDRY_DEPLOYMENT_A", (char *)"gpt-5.4" },
			{ (char *)"FOUNDRY_DEPLOYMENT_B", (char *)"gpt-5.4-pro" },
			{ (char *)"FOUNDRY_ENDPOINT", (char *)"https://w/" },
			{ (char *)"FOUNDRY_ENDPOINT_B", (char *)"https://e/" },
		},
	};

	(void)state;
	if (!failmalloc_works())
		skip();
	assert_int_equal(json_parse(cm_doc, strlen(cm_doc), &c.cm), FC_OK);
	assert_int_equal(configmap_apply_body("ns", "llm-config", c.desired, 4, "HASH", &c.body_ref), FC_OK);
	nomem_loop("configmap owned", run_cm_owned, &c, 0);
	nomem_loop("configmap foreign", run_cm_foreign, &c, 0);
	nomem_loop("configmap apply_body", run_cm_body, &c, 0);
	nomem_loop("configmap diff_summary", run_cm_diff, &c, 0);
	nomem_loop("configmap needs_write", run_cm_needs_write, &c, 1);
	free(c.body_ref);
	cJSON_Delete(c.cm);
}

/* ---- azure_catalog ---------------------------------------------------------- */

struct cat_ctx {
	char *page;
	size_t len;
	size_t count;
	struct azure_catalog_result ref;
};

static const struct azure_catalog_query cat_query = {
	"AIServices", "OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", "westus",
	1795000000, 90 * 86400,
};

static fc_err run_catalog(void *ctx)
{
	struct cat_ctx *c = ctx;
	struct azure_catalog *cat = NULL;
	struct azure_catalog_result r;
	char *next = (char *)1;
	fc_err rc = azure_catalog_new(&cat);

	if (!rc) {
		rc = azure_catalog_add_page(cat, c->page, c->len, &next);
		if (rc)
			assert_null(next);
	}
	if (!rc)
		rc = azure_catalog_lookup(cat, &cat_query, &r);
	failmalloc_stop();
	if (!rc) {
		assert_null(next);
		assert_int_equal(azure_catalog_count(cat), c->count);
		assert_memory_equal(&r, &c->ref, sizeof(r));
	}
	azure_catalog_free(cat);
	return rc;
}

static void test_azure_catalog(void **state)
{
	struct cat_ctx c;
	struct azure_catalog *cat;
	char *next;

	(void)state;
	if (!failmalloc_works())
		skip();
	c.page = fixture_read("azure/catalog", "westus.json", &c.len);
	assert_true(c.len > 0);
	assert_int_equal(azure_catalog_new(&cat), FC_OK);
	assert_int_equal(azure_catalog_add_page(cat, c.page, c.len, &next), FC_OK);
	assert_null(next);
	c.count = azure_catalog_count(cat);
	assert_true(c.count > 5);
	memset(&c.ref, 0, sizeof(c.ref));
	assert_int_equal(azure_catalog_lookup(cat, &cat_query, &c.ref), FC_OK);
	azure_catalog_free(cat);
	nomem_loop("azure_catalog new/add_page/lookup (westus)", run_catalog, &c, 0);
	free(c.page);
}

/* ---- events --------------------------------------------------------------- */

static fc_err run_event_build(void *ctx)
{
	struct event_ref ref = { "foundry.aucert.io/v1alpha1", "FoundryModel", "ns", "generation",
				 "uid-1", "7" };
	cJSON *ev = (cJSON *)1;
	fc_err rc = event_build(&ref, "Warning", "ConfigMapTooLarge", "too \xe6\xa8 large",
				"2026-11-24T07:00:00Z", "pod-1", &ev);

	(void)ctx;
	failmalloc_stop();
	if (rc) {
		assert_null(ev);
		return rc;
	}
	assert_string_equal(json_str_or(ev, "metadata.generateName", ""), "generation.");
	assert_string_equal(json_str_or(ev, "message", ""), "too \xef\xbf\xbd\xef\xbf\xbd large");
	cJSON_Delete(ev);
	return FC_OK;
}

/* init fails cleanly; should_emit emits when it cannot remember (a
 * duplicate event is better than a lost one) */
static fc_err run_event_dedup(void *ctx)
{
	struct event_dedup d;
	fc_err rc = event_dedup_init(&d);
	int emitted = 0;

	(void)ctx;
	if (rc) {
		failmalloc_stop();
		return rc;
	}
	for (int i = 0; i < 40; i++) {
		char uid[32];

		snprintf(uid, sizeof(uid), "uid-%d", i % 20);
		emitted += event_dedup_should_emit(&d, uid, "Published", i < 20 ? "a" : "b");
	}
	event_dedup_forget(&d, "uid-3");
	failmalloc_stop();
	if (!failmalloc_fired())
		assert_int_equal(emitted, 40);
	assert_true(emitted >= 40 - 1);
	event_dedup_release(&d);
	return FC_OK;
}

static void test_events(void **state)
{
	(void)state;
	if (!failmalloc_works())
		skip();
	nomem_loop("events build", run_event_build, NULL, 0);
	/* the first allocation is init's (NOMEM), the later ones are absorbed */
	nomem_loop("events dedup init/should_emit", run_event_dedup, NULL, 1);
}

/* ---- metrics --------------------------------------------------------------- */

struct metrics_ctx {
	char *ref;
};

static fc_err run_metrics(void *ctx)
{
	struct metrics_ctx *c = ctx;
	struct metrics *m = NULL;
	struct buf b;
	fc_err rc = metrics_new(0, &m);

	buf_init(&b, 4u << 20);
	if (!rc)
		rc = metrics_register_defaults(m);
	for (int i = 0; i < 6 && !rc; i++) {
		char ns[16];

		snprintf(ns, sizeof(ns), "ns-%d", i % 3);
		rc = metrics_counter_inc(m, METRICS_CONFIGMAP_WRITES_TOTAL, METRICS_LABELS(ns));
		if (!rc)
			rc = metrics_histogram_observe(m, METRICS_RECONCILE_TIME,
						       METRICS_LABELS("foundry-controller"), 0.01 * i);
		if (!rc)
			rc = metrics_gauge_set(m, METRICS_MODELS, METRICS_LABELS(ns, "True"), i);
	}
	if (!rc)
		rc = metrics_delete(m, METRICS_MODELS, METRICS_LABELS("ns-0", "True"));
	if (!rc)
		rc = metrics_render(m, &b);
	failmalloc_stop();
	if (!rc && c->ref)
		assert_string_equal(b.data, c->ref);
	if (!rc && !c->ref)
		c->ref = buf_take(&b);
	buf_release(&b);
	metrics_free(m);
	return rc;
}

static void test_metrics(void **state)
{
	struct metrics_ctx c = { NULL };

	(void)state;
	if (!failmalloc_works())
		skip();
	assert_int_equal(run_metrics(&c), FC_OK);
	assert_non_null(c.ref);
	assert_non_null(strstr(c.ref, "foundry_configmap_writes_total{namespace=\"ns-2\"} 2"));
	nomem_loop("metrics new/register/update/render", run_metrics, &c, 0);
	free(c.ref);
}

/* ---- kube_config (parser) ------------------------------------------------------ */

static const char kubeconfig[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: ctx\n"
	"contexts:\n"
	"- name: other\n"
	"  context: {cluster: nope, user: nope}\n"
	"- name: ctx\n"
	"  context: {cluster: c1, user: u1, namespace: team-a}\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443/\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    token: sEcReT-t0ken-value\n"
	"    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==\n";

static fc_err run_kubeconfig(void *ctx)
{
	struct kube_config kc;
	char err[256] = "";
	fc_err rc = kube_config_parse(kubeconfig, strlen(kubeconfig), NULL, &kc, err, sizeof(err));

	(void)ctx;
	failmalloc_stop();
	if (rc) {
		if (rc != FC_ERR_NOMEM)
			print_message("kube_config: %s: %s\n", fc_strerror(rc), err);
		assert_null(kc.server);
		assert_null(kc.token);
		assert_true(err[0] != '\0');
		kube_config_release(&kc);
		return rc;
	}
	assert_string_equal(kc.server, "https://127.0.0.1:6443");
	assert_string_equal(kc.token, "sEcReT-t0ken-value");
	assert_string_equal(kc.ns, "team-a");
	assert_non_null(kc.tls.ca_pem);
	assert_non_null(kc.tls.key_pem);
	kube_config_release(&kc);
	return FC_OK;
}

static void test_kube_config(void **state)
{
	(void)state;
	if (!failmalloc_works())
		skip();
	nomem_loop("kube_config parse (inline data, token)", run_kubeconfig, NULL, 0);
}

/* ---- kube_client: watch stream framing ----------------------------------------- */

struct watch_ctx {
	char *stream;
	size_t len;
	unsigned long events;
	unsigned long kept;
};

static fc_err on_event(void *ud, const char *type, cJSON **object)
{
	struct watch_ctx *w = ud;

	w->events++;
	if (!strcmp(type, "ADDED")) { /* take one object in two, as the informer does */
		w->kept++;
		cJSON_Delete(*object);
		*object = NULL;
	}
	return FC_OK;
}

static fc_err run_watch(void *ctx)
{
	struct watch_ctx *w = ctx;
	struct kube_watch_parser p;
	fc_err rc = FC_OK;

	w->events = w->kept = 0;
	kube_watch_parser_init(&p, 1u << 20, on_event, w);
	/* in odd-sized chunks, so events straddle them */
	for (size_t off = 0; off < w->len && !rc; off += 37) {
		size_t n = w->len - off < 37 ? w->len - off : 37;

		rc = kube_watch_parser_feed(&p, w->stream + off, n);
	}
	if (!rc)
		rc = kube_watch_parser_finish(&p);
	failmalloc_stop();
	if (!rc) {
		assert_int_equal(w->events, 30);
		assert_int_equal(w->kept, 10);
	} else {
		assert_true(w->events < 30);
	}
	kube_watch_parser_release(&p);
	return rc;
}

static void test_watch(void **state)
{
	struct watch_ctx w;
	struct buf b;

	(void)state;
	if (!failmalloc_works())
		skip();
	buf_init(&b, 1u << 20);
	for (int i = 0; i < 30; i++)
		assert_int_equal(buf_appendf(&b, "{\"type\":\"%s\",\"object\":{\"kind\":\"FoundryModel\","
					 "\"metadata\":{\"name\":\"m%d\",\"resourceVersion\":\"%d\"},"
					 "\"spec\":{\"keys\":[\"K%d\"]}}}\n",
					 i % 3 == 0 ? "ADDED" : i % 3 == 1 ? "MODIFIED" : "BOOKMARK",
					 i, 100 + i, i), FC_OK);
	w.len = b.len;
	w.stream = buf_take(&b);
	assert_non_null(w.stream);
	nomem_loop("kube_client watch framing (30 events, 37-byte chunks)", run_watch, &w, 0);
	free(w.stream);
}

/* ---- manifest_emit_yaml, verify formatters --------------------------------------- */

struct emit_ctx {
	cJSON *obj;
	char *ref;
};

static fc_err run_emit(void *ctx)
{
	struct emit_ctx *c = ctx;
	struct buf b;
	fc_err rc;

	buf_init(&b, 1u << 20);
	rc = manifest_emit_yaml(c->obj, &b);
	failmalloc_stop();
	if (!rc)
		assert_string_equal(b.data, c->ref);
	buf_release(&b);
	return rc;
}

static struct verify_row rows[3];

static fc_err run_format(void *ctx)
{
	struct buf b;
	fc_err rc;
	const char *const *ref = ctx;

	buf_init(&b, 1u << 20);
	rc = verify_format_table(rows, 3, &b);
	if (!rc)
		rc = buf_append_str(&b, "--\n");
	if (!rc)
		rc = verify_format_json(rows, 3, &b);
	failmalloc_stop();
	if (!rc && *ref)
		assert_string_equal(b.data, *ref);
	if (!rc && !*ref)
		*(char **)ctx = buf_take(&b);
	buf_release(&b);
	return rc;
}

static void test_manifest_verify_output(void **state)
{
	struct emit_ctx c;
	char *ref = NULL;
	struct buf b;
	static char *regions[] = { (char *)"eastus2", (char *)"swedencentral" };

	(void)state;
	if (!failmalloc_works())
		skip();
	assert_int_equal(json_parse(cm_doc, strlen(cm_doc), &c.obj), FC_OK);
	buf_init(&b, 1u << 20);
	assert_int_equal(manifest_emit_yaml(c.obj, &b), FC_OK);
	c.ref = buf_take(&b);
	nomem_loop("manifest emit_yaml", run_emit, &c, 0);
	free(c.ref);
	cJSON_Delete(c.obj);

	rows[0] = (struct verify_row){ (char *)"ns", (char *)"generation", (char *)"gpt-5.4",
				       (char *)"2026-03-05", (char *)"GlobalStandard", (char *)"acc",
				       (char *)"westus", VERIFY_AVAILABLE, (char *)"Published", NULL,
				       NULL, 0, (char *)"a.yaml", 3 };
	rows[1] = (struct verify_row){ (char *)"ns", (char *)"réasoning", (char *)"gpt-✓", (char *)"1",
				       (char *)"S", (char *)"acc", NULL, VERIFY_UNAVAILABLE,
				       (char *)"ModelNotInRegion", (char *)"try eastus2\tor swedencentral",
				       regions, 2, (char *)"b.yaml", 9 };
	rows[2] = (struct verify_row){ NULL, (char *)"x", NULL, NULL, NULL, NULL, NULL, VERIFY_UNKNOWN,
				       (char *)"InvalidSpec", (char *)"spec.keys: required", NULL, 0,
				       NULL, 0 };
	assert_int_equal(run_format(&ref), FC_OK);
	assert_non_null(ref);
	nomem_loop("verify format_table/format_json", run_format, &ref, 0);
	free(ref);
}

/* ---- no allocation at all -------------------------------------------------------- */

static void sha_op(void)
{
	char hex[SHA256_HEX_LEN + 1];
	struct sha256 c;
	unsigned char dig[SHA256_DIGEST_LEN];

	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, "0123456789", 10);
	sha256_final(&c, dig);
}

static void duration_op(void)
{
	static const char *const in[] = { "90s", "5m", "1h30m", "1.5h", "300ms", "0", "-1s", "1x", "" };
	int64_t ms;
	const char *why;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		(void)config_parse_duration(in[i], &ms, &why);
	assert_int_equal(config_parse_duration("1h30m", &ms, &why), FC_OK);
	assert_int_equal(ms, 90 * 60 * 1000);
}

static void catalog_time_op(void)
{
	int64_t t;
	char out[AZURE_CATALOG_TIME_LEN];

	assert_int_equal(azure_catalog_time_parse("2025-11-11T00:00:00+05:30", &t), FC_OK);
	azure_catalog_time_format(t, out);
	assert_string_equal(out, "2025-11-10T18:30:00Z");
}

static void test_no_allocation(void **state)
{
	(void)state;
	if (!failmalloc_works())
		skip();
	no_alloc("sha256 hex/update/final", sha_op);
	no_alloc("config parse_duration", duration_op);
	no_alloc("azure_catalog time_parse/time_format", catalog_time_op);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_json),
		cmocka_unit_test(test_configmap),
		cmocka_unit_test(test_azure_catalog),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_kube_config),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_manifest_verify_output),
		cmocka_unit_test(test_no_allocation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
