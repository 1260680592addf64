/* Live tests: http + kube_config + kube_client + informer against a real
 * kube-apiserver. SKIPPED unless FC_TEST_KUBECONFIG names a kubeconfig:
 *
 *   d=$(tests/cluster/up | tail -1)
 *   FC_TEST_KUBECONFIG=$d/kubeconfig make unit
 *   tests/cluster/down $d
 *
 * With a cluster from tests/cluster/up (ca.crt, ca.key and token next to
 * the kubeconfig) the TLS, client-certificate and token-file tests run too.
 * Everything is created in a fresh namespace fc-live-<pid>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "http.h"
#include "informer.h"
#include "json.h"
#include "kube_client.h"
#include "kube_config.h"

struct live {
	struct kube_config cfg;
	struct http_transport *t;
	struct kube_client *kc;
	char ns[64];
	char dir[1024];            /* the kubeconfig's directory */
};

static struct live *L;

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int group_setup(void **state)
{
	const char *kcfg = getenv("FC_TEST_KUBECONFIG");
	char err[512], path[256], body[256];
	struct kube_status st;
	char *slash;

	(void)state;
	if (!kcfg || !*kcfg)
		return 0;
	L = calloc(1, sizeof(*L));
	if (!L || http_global_init())
		return -1;
	if (kube_config_load(kcfg, &L->cfg, err, sizeof(err))) {
		fprintf(stderr, "kubeconfig: %s\n", err);
		return -1;
	}
	if (http_transport_curl_new(&L->t) || kube_client_new(L->t, &L->cfg, &L->kc))
		return -1;
	snprintf(L->dir, sizeof(L->dir), "%s", kcfg);
	slash = strrchr(L->dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(L->dir, sizeof(L->dir), ".");
	snprintf(L->ns, sizeof(L->ns), "fc-live-%d", (int)getpid());
	snprintf(body, sizeof(body), "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		 L->ns);
	snprintf(path, sizeof(path), "/api/v1/namespaces");
	if (kube_create(L->kc, path, body, NULL, &st)) {
		fprintf(stderr, "create namespace: %s\n", st.message);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char path[256];

	(void)state;
	if (!L)
		return 0;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s", L->ns);
	kube_delete(L->kc, path, NULL);
	kube_client_free(L->kc);
	http_transport_free(L->t);
	kube_config_release(&L->cfg);
	free(L);
	L = NULL;
	http_global_cleanup();
	return 0;
}

#define NEED_CLUSTER()          \
	do {                    \
		(void)state;    \
		if (!L)         \
			skip(); \
	} while (0)

static void cm_path(char *out, size_t n, const char *name)
{
	assert_int_equal(kube_path(out, n, "", "v1", L->ns, "configmaps", name, NULL), FC_OK);
}

static int has_name(const cJSON *items, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		if (!strcmp(json_str_or(it, "metadata.name", ""), name))
			return 1;
	}
	return 0;
}

/* ---- tests ----------------------------------------------------------- */

struct pagecount {
	int pages;
	int items;
};

static fc_err count_pages(void *ud, cJSON *page)
{
	struct pagecount *c = ud;

	c->pages++;
	c->items += cJSON_GetArraySize(cJSON_GetObjectItem(page, "items"));
	return FC_OK;
}

static void test_namespaces(void **state)
{
	struct kube_status st;
	struct pagecount pc = { 0, 0 };
	cJSON *list = NULL;
	const cJSON *items;

	NEED_CLUSTER();
	assert_int_equal(kube_list(L->kc, "/api/v1/namespaces", &list, &st), FC_OK);
	assert_int_equal(json_get_arr(list, "items", &items), FC_OK);
	assert_true(has_name(items, "default"));
	assert_true(has_name(items, "kube-system"));
	assert_true(has_name(items, L->ns));
	assert_true(json_str_or(list, "metadata.resourceVersion", "")[0] != '\0');
	/* real pagination: one namespace per page */
	assert_int_equal(kube_list_pages(L->kc, "/api/v1/namespaces", 1, count_pages, &pc, &st), FC_OK);
	assert_int_equal(pc.items, cJSON_GetArraySize(items));
	assert_int_equal(pc.pages, pc.items);
	cJSON_Delete(list);
}

static const cJSON *manager_entry(const cJSON *obj, const char *manager)
{
	const cJSON *mf = json_path(obj, "metadata.managedFields"), *e;

	cJSON_ArrayForEach(e, mf) {
		if (!strcmp(json_str_or(e, "manager", ""), manager))
			return e;
	}
	return NULL;
}

static void test_apply_get_notfound(void **state)
{
	struct kube_status st;
	char p[256], body[512];
	cJSON *o = NULL;
	const cJSON *e;

	NEED_CLUSTER();
	cm_path(p, sizeof(p), "llm-config");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"llm-config\","
		 "\"namespace\":\"%s\"},\"data\":{\"FOUNDRY_ENDPOINT\":\"https://a.example/\"}}", L->ns);
	assert_int_equal(kube_apply(L->kc, p, body, "foundry-controller", 1, &o, &st), FC_OK);
	assert_string_equal(json_str_or(o, "data.FOUNDRY_ENDPOINT", ""), "https://a.example/");
	e = manager_entry(o, "foundry-controller");
	assert_non_null(e);
	assert_string_equal(json_str_or(e, "operation", ""), "Apply");
	cJSON_Delete(o);

	/* YAML body, another manager, its own key */
	snprintf(body, sizeof(body),
		 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: llm-config\n  namespace: %s\n"
		 "data:\n  OTHER: \"1\"\n", L->ns);
	assert_int_equal(kube_apply(L->kc, p, body, "someone-else", 0, NULL, &st), FC_OK);

	/* a key owned by another manager: conflict unless forced */
	snprintf(body, sizeof(body),
		 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: llm-config\n  namespace: %s\n"
		 "data:\n  FOUNDRY_ENDPOINT: \"https://b.example/\"\n", L->ns);
	assert_int_equal(kube_apply(L->kc, p, body, "someone-else", 0, NULL, &st), FC_ERR_CONFLICT);
	assert_int_equal(st.http_status, 409);
	assert_string_equal(st.reason, "Conflict");
	assert_non_null(strstr(st.message, "foundry-controller"));

	assert_int_equal(kube_get(L->kc, p, &o, &st), FC_OK);
	assert_string_equal(json_str_or(o, "data.FOUNDRY_ENDPOINT", ""), "https://a.example/");
	assert_string_equal(json_str_or(o, "data.OTHER", ""), "1");
	cJSON_Delete(o);

	cm_path(p, sizeof(p), "does-not-exist");
	assert_int_equal(kube_get(L->kc, p, &o, &st), FC_ERR_NOTFOUND);
	assert_null(o);
	assert_int_equal(st.http_status, 404);
	assert_string_equal(st.reason, "NotFound");
	assert_non_null(strstr(st.message, "not found"));
	assert_int_equal(kube_delete(L->kc, p, &st), FC_ERR_NOTFOUND);
}

struct seen_ev {
	char want_name[64];
	int modified;
	int added;
	int bookmarks;
};

static fc_err on_watch(void *ud, const char *type, cJSON **obj)
{
	struct seen_ev *s = ud;

	if (!strcmp(type, "BOOKMARK")) {
		s->bookmarks++;
		return FC_OK;
	}
	if (strcmp(json_str_or(*obj, "metadata.name", ""), s->want_name))
		return FC_OK;
	if (!strcmp(type, "ADDED"))
		s->added++;
	if (!strcmp(type, "MODIFIED")) {
		s->modified++;
		return FC_ERR_STATE; /* seen it: end the watch */
	}
	return FC_OK;
}

static void test_watch(void **state)
{
	struct kube_status st;
	struct seen_ev s;
	char p[256], coll[256], rv[64], body[512];
	cJSON *list = NULL;
	long t0;

	NEED_CLUSTER();
	memset(&s, 0, sizeof(s));
	snprintf(s.want_name, sizeof(s.want_name), "watched");
	cm_path(coll, sizeof(coll), NULL);
	assert_int_equal(kube_list(L->kc, coll, &list, &st), FC_OK);
	snprintf(rv, sizeof(rv), "%s", json_str_or(list, "metadata.resourceVersion", ""));
	cJSON_Delete(list);

	cm_path(p, sizeof(p), "watched");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"watched\"},"
		 "\"data\":{\"a\":\"1\"}}");
	assert_int_equal(kube_apply(L->kc, p, body, "fc-live", 1, NULL, &st), FC_OK);
	assert_int_equal(kube_merge_patch(L->kc, p, "{\"data\":{\"a\":\"2\"}}", NULL, &st), FC_OK);

	/* from the list's version: ADDED then MODIFIED, replayed */
	assert_int_equal(kube_watch(L->kc, coll, rv, 30, on_watch, &s, NULL, &st), FC_ERR_STATE);
	assert_int_equal(s.added, 1);
	assert_int_equal(s.modified, 1);

	/* a watch with nothing to say ends when the server times it out */
	memset(&s, 0, sizeof(s));
	snprintf(s.want_name, sizeof(s.want_name), "nothing-here");
	assert_int_equal(kube_list(L->kc, coll, &list, &st), FC_OK);
	snprintf(rv, sizeof(rv), "%s", json_str_or(list, "metadata.resourceVersion", ""));
	cJSON_Delete(list);
	t0 = ms_now();
	assert_int_equal(kube_watch(L->kc, coll, rv, 1, on_watch, &s, NULL, &st), FC_OK);
	assert_true(ms_now() - t0 < 10000);
	assert_int_equal(st.http_status, 200);
}

static void test_patch_create_delete(void **state)
{
	struct kube_status st;
	char p[256], coll[256], body[768];
	cJSON *o = NULL;
	const char *rv;

	NEED_CLUSTER();
	cm_path(p, sizeof(p), "with-finalizer");
	cm_path(coll, sizeof(coll), NULL);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"with-finalizer\"},"
		 "\"data\":{\"x\":\"1\"}}");
	assert_int_equal(kube_create(L->kc, coll, body, &o, &st), FC_OK);
	assert_int_equal(st.http_status, 201);
	cJSON_Delete(o);
	assert_int_equal(kube_create(L->kc, coll, body, NULL, &st), FC_ERR_CONFLICT);
	assert_string_equal(st.reason, "AlreadyExists");

	/* finalizers by merge patch */
	assert_int_equal(kube_merge_patch(L->kc, p,
					  "{\"metadata\":{\"finalizers\":[\"foundry.aucert.io/finalizer\"]}}",
					  &o, &st), FC_OK);
	assert_string_equal(cJSON_GetArrayItem(json_path(o, "metadata.finalizers"), 0)->valuestring,
			    "foundry.aucert.io/finalizer");
	cJSON_Delete(o);

	/* PUT with a stale resourceVersion: CONFLICT */
	assert_int_equal(kube_get(L->kc, p, &o, &st), FC_OK);
	rv = json_str_or(o, "metadata.resourceVersion", "");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"with-finalizer\","
		 "\"resourceVersion\":\"%s\",\"finalizers\":[\"foundry.aucert.io/finalizer\"]},"
		 "\"data\":{\"x\":\"2\"}}", rv);
	cJSON_Delete(o);
	assert_int_equal(kube_update(L->kc, p, body, NULL, &st), FC_OK);
	assert_int_equal(kube_update(L->kc, p, body, NULL, &st), FC_ERR_CONFLICT);
	assert_int_equal(st.http_status, 409);

	/* JSON patch whose test fails */
	assert_int_equal(kube_json_patch(L->kc, p, "[{\"op\":\"test\",\"path\":\"/data/x\",\"value\":\"9\"}]",
					 NULL, &st), FC_ERR_INVAL);
	assert_int_equal(kube_json_patch(L->kc, p,
					 "[{\"op\":\"test\",\"path\":\"/data/x\",\"value\":\"2\"},"
					 "{\"op\":\"replace\",\"path\":\"/data/x\",\"value\":\"3\"}]",
					 &o, &st), FC_OK);
	assert_string_equal(json_str_or(o, "data.x", ""), "3");
	cJSON_Delete(o);

	/* delete: held by the finalizer until it is dropped */
	assert_int_equal(kube_delete(L->kc, p, &st), FC_OK);
	assert_int_equal(kube_get(L->kc, p, &o, &st), FC_OK);
	assert_non_null(json_path(o, "metadata.deletionTimestamp"));
	cJSON_Delete(o);
	assert_int_equal(kube_merge_patch(L->kc, p, "{\"metadata\":{\"finalizers\":null}}", NULL, &st), FC_OK);
	assert_int_equal(kube_get(L->kc, p, NULL, &st), FC_ERR_NOTFOUND);

	/* an Event */
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"generateName\":\"x.\"},"
		 "\"involvedObject\":{\"kind\":\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"llm-config\"},"
		 "\"reason\":\"Test\",\"message\":\"hello\",\"type\":\"Normal\"}", L->ns);
	assert_int_equal(kube_path(coll, sizeof(coll), "", "v1", L->ns, "events", NULL, NULL), FC_OK);
	assert_int_equal(kube_create(L->kc, coll, body, NULL, &st), FC_OK);
}

struct counts {
	int adds, updates, deletes, synced;
};

static void c_add(void *ud, const cJSON *o)
{
	(void)o;
	__atomic_add_fetch(&((struct counts *)ud)->adds, 1, __ATOMIC_SEQ_CST);
}

static void c_update(void *ud, const cJSON *old, const cJSON *o)
{
	(void)old;
	(void)o;
	__atomic_add_fetch(&((struct counts *)ud)->updates, 1, __ATOMIC_SEQ_CST);
}

static void c_delete(void *ud, const cJSON *o)
{
	(void)o;
	__atomic_add_fetch(&((struct counts *)ud)->deletes, 1, __ATOMIC_SEQ_CST);
}

static void c_synced(void *ud)
{
	__atomic_add_fetch(&((struct counts *)ud)->synced, 1, __ATOMIC_SEQ_CST);
}

static int wait_for(struct informer *inf, const char *ns, const char *name, int present)
{
	long end = ms_now() + 15000;

	while (ms_now() < end) {
		cJSON *o = NULL;
		fc_err rc = informer_get(inf, ns, name, &o);

		cJSON_Delete(o);
		if ((rc == FC_OK) == present)
			return 1;
		usleep(20000);
	}
	return 0;
}

static void test_informer(void **state)
{
	struct counts c = { 0, 0, 0, 0 };
	struct informer_opts o = { .version = "v1", .plural = "configmaps", .watch_timeout_s = 5 };
	struct informer_handlers h = { c_add, c_update, c_delete, c_synced, &c };
	struct informer *inf = NULL;
	struct kube_status st;
	char p[256], body[512];
	cJSON *obj = NULL;
	long t0;

	NEED_CLUSTER();
	o.ns = L->ns;
	assert_int_equal(informer_new(L->kc, &o, &h, &inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_OK);
	assert_int_equal(informer_wait_synced(inf, 15000), FC_OK);
	assert_true(informer_count(inf) >= 1); /* llm-config, watched */
	assert_int_equal(informer_get(inf, L->ns, "llm-config", &obj), FC_OK);
	assert_null(json_path(obj, "metadata.managedFields"));
	assert_string_equal(json_str_or(obj, "kind", ""), "ConfigMap");
	cJSON_Delete(obj);

	cm_path(p, sizeof(p), "inf-x");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"inf-x\"},"
		 "\"data\":{\"v\":\"1\"}}");
	assert_int_equal(kube_apply(L->kc, p, body, "fc-live", 1, NULL, &st), FC_OK);
	assert_true(wait_for(inf, L->ns, "inf-x", 1));
	assert_int_equal(kube_merge_patch(L->kc, p, "{\"data\":{\"v\":\"2\"}}", NULL, &st), FC_OK);
	{
		long end = ms_now() + 15000;

		while (ms_now() < end) {
			assert_int_equal(informer_get(inf, L->ns, "inf-x", &obj), FC_OK);
			if (!strcmp(json_str_or(obj, "data.v", ""), "2"))
				break;
			cJSON_Delete(obj);
			obj = NULL;
			usleep(20000);
		}
		assert_non_null(obj);
		assert_string_equal(json_str_or(obj, "data.v", ""), "2");
		cJSON_Delete(obj);
	}
	/* survive a server-side watch timeout (5-10 s): still live afterwards */
	sleep(11);
	assert_int_equal(kube_delete(L->kc, p, &st), FC_OK);
	assert_true(wait_for(inf, L->ns, "inf-x", 0));
	assert_true(__atomic_load_n(&c.adds, __ATOMIC_SEQ_CST) >= 2);
	assert_true(__atomic_load_n(&c.updates, __ATOMIC_SEQ_CST) >= 1);
	assert_true(__atomic_load_n(&c.deletes, __ATOMIC_SEQ_CST) >= 1);
	assert_int_equal(__atomic_load_n(&c.synced, __ATOMIC_SEQ_CST), 1);

	t0 = ms_now();
	informer_stop(inf);
	assert_true(ms_now() - t0 < 3000);
	informer_free(inf);
}

static int file_exists(const char *dir, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, name);
	return access(out, R_OK) == 0;
}

/* GET with cfg, over a fresh transport when fresh is set (no pooled
 * connection made with other credentials can be reused). */
static fc_err get_with(struct kube_config *cfg, struct kube_status *st, int fresh)
{
	struct http_transport *t = L->t;
	struct kube_client *kc = NULL;
	fc_err rc;

	if (fresh)
		assert_int_equal(http_transport_curl_new(&t), FC_OK);
	rc = kube_client_new(t, cfg, &kc);
	if (!rc)
		rc = kube_get(kc, "/api/v1/namespaces/default", NULL, st);
	if (rc)
		fprintf(stderr, "  (GET default namespace: %s: %s)\n", fc_strerror(rc), st->message);
	kube_client_free(kc);
	if (fresh)
		http_transport_free(t);
	return rc;
}

static fc_err list_ns_with(struct kube_config *cfg, struct kube_status *st)
{
	return get_with(cfg, st, 0);
}

static void copy_config(struct kube_config *dst)
{
	kube_config_init(dst);
	dst->server = strdup(L->cfg.server);
}

static void test_tls(void **state)
{
	struct kube_config c;
	struct kube_status st;
	char ca[1200], tok[1200];
	struct buf b;
	FILE *f;

	NEED_CLUSTER();
	if (!file_exists(L->dir, "ca.crt", ca, sizeof(ca)) || !file_exists(L->dir, "token", tok, sizeof(tok)))
		skip();
	buf_init(&b, 4096);
	f = fopen(tok, "r");
	assert_non_null(f);
	{
		char line[256];

		assert_non_null(fgets(line, sizeof(line), f));
		line[strcspn(line, "\r\n")] = '\0';
		buf_append_str(&b, line);
	}
	fclose(f);

	/* the right CA file */
	copy_config(&c);
	c.token = strdup(b.data);
	c.tls.ca_file = strdup(ca);
	assert_int_equal(list_ns_with(&c, &st), FC_OK);
	kube_config_release(&c);

	/* the system CAs do not know this cluster */
	copy_config(&c);
	c.token = strdup(b.data);
	assert_int_equal(list_ns_with(&c, &st), FC_ERR_TLS);
	assert_true(st.message[0] != '\0');
	kube_config_release(&c);

	/* another CA bundle: TLS */
	copy_config(&c);
	c.token = strdup(b.data);
	c.tls.ca_file = strdup("/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(list_ns_with(&c, &st), FC_ERR_TLS);
	kube_config_release(&c);

	/* insecure */
	copy_config(&c);
	c.token = strdup(b.data);
	c.tls.insecure = 1;
	assert_int_equal(list_ns_with(&c, &st), FC_OK);
	kube_config_release(&c);

	/* no token: 401 / 403 */
	copy_config(&c);
	c.tls.ca_file = strdup(ca);
	{
		fc_err rc = list_ns_with(&c, &st);

		assert_true(rc == FC_ERR_AUTH || rc == FC_ERR_FORBIDDEN);
	}
	kube_config_release(&c);
	buf_release_secret(&b);
}

static char *slurp(const char *path)
{
	struct buf b;
	FILE *f = fopen(path, "r");
	char chunk[1024];
	size_t n;

	buf_init(&b, 1 << 20);
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_take(&b);
}

/* copy_config() with a client certificate: the paths of the CA, the
 * certificate and its key, or with in_memory their contents (the
 * *-data fields of a kubeconfig). Release with kube_config_release(). */
static void copy_config_cert(struct kube_config *c, const char *ca, const char *crt,
			     const char *key, int in_memory)
{
	copy_config(c);
	if (in_memory) {
		c->tls.ca_pem = slurp(ca);
		c->tls.cert_pem = slurp(crt);
		c->tls.key_pem = slurp(key);
	} else {
		c->tls.ca_file = strdup(ca);
		c->tls.cert_file = strdup(crt);
		c->tls.key_file = strdup(key);
	}
}

static void test_client_cert(void **state)
{
	char ca[1200], cakey[1200], cmd[4096], tmp[] = "/tmp/fc-cert-XXXXXX";
	char crt[256], key[256];
	struct kube_config c;
	struct kube_status st;
	fc_err rc_files, rc_blobs, rc_mismatch;

	NEED_CLUSTER();
	if (!file_exists(L->dir, "ca.crt", ca, sizeof(ca)) || !file_exists(L->dir, "ca.key", cakey, sizeof(cakey)))
		skip();
	assert_non_null(mkdtemp(tmp));
	snprintf(crt, sizeof(crt), "%s/client.crt", tmp);
	snprintf(key, sizeof(key), "%s/client.key", tmp);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -newkey rsa:2048 -nodes -subj '/O=system:masters/CN=fc-cert-user' "
		 "-keyout client.key -out client.csr >/dev/null 2>&1 && "
		 "openssl x509 -req -in client.csr -CA '%s' -CAkey '%s' -CAcreateserial -CAserial ca.srl "
		 "-days 1 -out client.crt >/dev/null 2>&1", tmp, ca, cakey);
	assert_int_equal(system(cmd), 0);

	/* results are checked after the temporary directory is removed */
	/* from files */
	copy_config_cert(&c, ca, crt, key, 0);
	rc_files = list_ns_with(&c, &st);
	kube_config_release(&c);

	/* from memory (client-certificate-data / client-key-data, and CA data) */
	copy_config_cert(&c, ca, crt, key, 1);
	rc_blobs = list_ns_with(&c, &st);
	kube_config_release(&c);

	/* a key that does not match the certificate (on a fresh transport:
	 * libcurl would reuse a connection made with the same certificate) */
	copy_config_cert(&c, ca, crt, cakey, 0);
	rc_mismatch = get_with(&c, &st, 1);
	kube_config_release(&c);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rc_files, FC_OK);
	assert_int_equal(rc_blobs, FC_OK);
	assert_int_equal(rc_mismatch, FC_ERR_TLS);
}

static void test_token_file_rotation(void **state)
{
	char ca[1200], tok[1200], tmp[] = "/tmp/fc-tokf-XXXXXX", tf[256];
	struct kube_config c;
	struct kube_status st;
	char *good;
	FILE *f;

	NEED_CLUSTER();
	if (!file_exists(L->dir, "ca.crt", ca, sizeof(ca)) || !file_exists(L->dir, "token", tok, sizeof(tok)))
		skip();
	good = slurp(tok);
	assert_non_null(mkdtemp(tmp));
	snprintf(tf, sizeof(tf), "%s/token", tmp);
	f = fopen(tf, "w");
	fputs("not-the-token\n", f);
	fclose(f);

	copy_config(&c);
	c.tls.ca_file = strdup(ca);
	c.token_file = strdup(tf);
	assert_int_equal(list_ns_with(&c, &st), FC_ERR_AUTH);
	assert_int_equal(st.http_status, 401);

	/* rotated: the next request gets a 401 with the cached token, re-reads
	 * the file and retries once */
	f = fopen(tf, "w");
	fputs(good, f);
	fclose(f);
	assert_int_equal(list_ns_with(&c, &st), FC_OK);
	kube_config_release(&c);

	kube_config_token_free(good);
	unlink(tf);
	rmdir(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_apply_get_notfound),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_patch_create_delete),
		cmocka_unit_test(test_informer),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_token_file_rotation),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
