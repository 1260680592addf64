/* Unit tests: informer.c over a scripted fake transport (list pagination,
 * watch events, bookmarks, 410 relist with delete detection, backoff,
 * stop, store access). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "frozen.h"
#include "informer.h"
#include "json.h"

/* ---- scripted API server --------------------------------------------- */

struct step {
	const char *want_in_url;   /* substring the URL must contain, or NULL */
	long status;               /* 0: no answer at all (connection refused) */
	const char *body;
	size_t chunk;
	fc_err err;                /* returned after the body (the stream broke), or
				    * with status 0 (FC_ERR_IO when unset) */
};

struct server {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	const struct step *steps;
	int nsteps;
	int next;
	int blocked;               /* the informer is waiting in the final watch */
	char urls[16][512];
	char bad[512];             /* first URL mismatch */
};

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static fc_err serve(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct server *s = ud;
	const struct step *st = NULL;
	int i;

	pthread_mutex_lock(&s->lock);
	i = s->next++;
	if (i < 16)
		snprintf(s->urls[i], sizeof(s->urls[i]), "%s", req->url);
	if (i < s->nsteps) {
		st = &s->steps[i];
		if (st->want_in_url && !strstr(req->url, st->want_in_url) && !s->bad[0])
			snprintf(s->bad, sizeof(s->bad), "step %d: %s lacks %s", i, req->url,
				 st->want_in_url);
	} else {
		s->blocked = 1;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	if (!st) {
		/* a watch that lasts until cancelled */
		while (!(req->cancel && __atomic_load_n(req->cancel, __ATOMIC_ACQUIRE)))
			usleep(2000);
		return FC_ERR_CANCELLED;
	}
	if (!st->status)
		return st->err ? st->err : FC_ERR_IO;
	{
		fc_err rc = fake_transport_respond(req, resp, st->status, st->body, st->chunk);

		return rc ? rc : st->err;
	}
}

/* Waits until the informer blocks in its final watch. */
static void wait_blocked(struct server *s)
{
	long end = ms_now() + 10000;

	pthread_mutex_lock(&s->lock);
	while (!s->blocked && ms_now() < end) {
		pthread_mutex_unlock(&s->lock);
		usleep(2000);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	assert_true(s->blocked);
}

/* ---- recorded callbacks ---------------------------------------------- */

struct rec {
	pthread_mutex_t lock;
	char ev[64][96];
	int n;
};

static void add_rec(struct rec *r, const char *s)
{
	pthread_mutex_lock(&r->lock);
	if (r->n < 64)
		snprintf(r->ev[r->n++], sizeof(r->ev[0]), "%s", s);
	pthread_mutex_unlock(&r->lock);
}

static void on_add(void *ud, const cJSON *o)
{
	char b[96];

	snprintf(b, sizeof(b), "add %s %s", json_str_or(o, "metadata.name", "?"),
		 json_str_or(o, "metadata.resourceVersion", "?"));
	add_rec(ud, b);
}

static void on_update(void *ud, const cJSON *old, const cJSON *o)
{
	char b[96];

	snprintf(b, sizeof(b), "update %s %s->%s", json_str_or(o, "metadata.name", "?"),
		 json_str_or(old, "metadata.resourceVersion", "?"),
		 json_str_or(o, "metadata.resourceVersion", "?"));
	add_rec(ud, b);
}

static void on_delete(void *ud, const cJSON *o)
{
	char b[96];

	snprintf(b, sizeof(b), "delete %s %s", json_str_or(o, "metadata.name", "?"),
		 json_str_or(o, "metadata.resourceVersion", "?"));
	add_rec(ud, b);
}

static void on_synced(void *ud)
{
	add_rec(ud, "synced");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Checks r->ev[from..from+n) equals want (sorted when unordered). */
static void check_events(struct rec *r, int from, const char *const *want, int n, int unordered)
{
	char got[16][96];

	assert_true(from + n <= r->n);
	for (int i = 0; i < n; i++)
		memcpy(got[i], r->ev[from + i], sizeof(got[i]));
	if (unordered)
		qsort(got, (size_t)n, sizeof(got[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		if (strcmp(got[i], want[i]))
			fail_msg("event %d: got '%s' want '%s'", from + i, got[i], want[i]);
	}
}

/* ---- fixtures -------------------------------------------------------- */

struct fx {
	struct server srv;
	struct rec rec;
	struct fake_transport ft;
	struct kube_config cfg;
	struct kube_client *kc;
};

static int setup(void **state)
{
	static const char y[] =
		"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"clusters: [{name: c, cluster: {server: 'https://k8s.test'}}]\n"
		"users: [{name: u, user: {token: t}}]\n";
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	pthread_mutex_init(&f->srv.lock, NULL);
	pthread_cond_init(&f->srv.cv, NULL);
	pthread_mutex_init(&f->rec.lock, NULL);
	fake_transport_init(&f->ft, serve, &f->srv);
	if (kube_config_parse(y, sizeof(y) - 1, NULL, &f->cfg, NULL, 0) ||
	    kube_client_new(&f->ft.t, &f->cfg, &f->kc))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	kube_client_free(f->kc);
	kube_config_release(&f->cfg);
	fake_transport_release(&f->ft);
	pthread_mutex_destroy(&f->srv.lock);
	pthread_cond_destroy(&f->srv.cv);
	pthread_mutex_destroy(&f->rec.lock);
	free(f);
	return 0;
}

static struct informer_handlers handlers_for(struct rec *r)
{
	struct informer_handlers h = { on_add, on_update, on_delete, on_synced, r };

	return h;
}

#define CM(name, rv, extra) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"" extra "}}"
#define WEV(type, name, rv) \
	"{\"type\":\"" type "\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\"," \
	"\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"}}}\n"

static const struct step main_script[] = {
	/* 0, 1: the first list, two pages */
	{ "/api/v1/namespaces/ns/configmaps?limit=2", 200,
	  "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"10\","
	  "\"continue\":\"c1\"},\"items\":["
	  CM("a", "1", ",\"managedFields\":[{\"manager\":\"kubectl\"}],\"annotations\":{"
		       "\"kubectl.kubernetes.io/last-applied-configuration\":\"{huge}\",\"keep\":\"me\"}")
	  "," CM("b", "2", "") "]}", 0, FC_OK },
	{ "&continue=c1", 200,
	  "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"10\"},"
	  "\"items\":[" CM("c", "3", "") "]}", 0, FC_OK },
	/* 2: watch from 10 */
	{ "watch=1&allowWatchBookmarks=true&timeoutSeconds=", 200,
	  WEV("ADDED", "d", "11") WEV("MODIFIED", "a", "12") WEV("DELETED", "b", "13")
	  "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
	  "\"metadata\":{\"resourceVersion\":\"20\"}}}\n", 5, FC_OK },
	/* 3: re-watch from the bookmark: too old */
	{ "&resourceVersion=20", 200,
	  "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":\"too old\"}}\n", 0, FC_OK },
	/* 4: relist: d deleted, c changed, e added while away */
	{ "/api/v1/namespaces/ns/configmaps?limit=2", 200,
	  "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"40\"},"
	  "\"items\":[" CM("a", "12", "") "," CM("c", "30", "") "," CM("e", "31", "") "]}", 0, FC_OK },
	/* 5: a server error: back off, re-watch from the same version */
	{ "&resourceVersion=40", 500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd down\"}", 0, FC_OK },
	/* 6: HTTP 410: relist */
	{ "&resourceVersion=40", 410, "{\"kind\":\"Status\",\"code\":410,\"message\":\"gone\"}", 0, FC_OK },
	/* 7: relist, nothing changed */
	{ "?limit=2", 200,
	  "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"50\"},"
	  "\"items\":[" CM("a", "12", "") "," CM("c", "30", "") "," CM("e", "31", "") "]}", 0, FC_OK },
	/* 8: the watch then blocks until stopped (not scripted) */
};

struct names {
	char all[256];
};

static fc_err collect(void *ud, const cJSON *o)
{
	struct names *n = ud;

	strncat(n->all, json_str_or(o, "metadata.name", "?"), sizeof(n->all) - strlen(n->all) - 2);
	strcat(n->all, ",");
	return FC_OK;
}

static fc_err stop_at_first(void *ud, const cJSON *o)
{
	(void)ud;
	(void)o;
	return FC_ERR_STATE;
}

static void test_list_watch_relist(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .group = "", .version = "v1", .plural = "configmaps", .ns = "ns",
				   .page_size = 2, .backoff_min_ms = 10, .backoff_max_ms = 40 };
	struct informer_handlers h = handlers_for(&f->rec);
	struct informer *inf = NULL;
	struct names names = { "" };
	cJSON *obj = NULL;
	char rv[64], sorted[256];
	static const char *const phase1[] = { "add a 1", "add b 2", "add c 3" };
	static const char *const watch1[] = { "add d 11", "update a 1->12", "delete b 13" };
	static const char *const phase2[] = { "add e 31", "update c 3->30" };

	f->srv.steps = main_script;
	f->srv.nsteps = (int)(sizeof(main_script) / sizeof(main_script[0]));
	assert_int_equal(informer_new(f->kc, &o, &h, &inf), FC_OK);
	assert_int_equal(informer_synced(inf), 0);
	assert_int_equal(informer_wait_synced(inf, 10), FC_ERR_TIMEOUT);
	assert_int_equal(informer_start(inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_ERR_STATE);
	assert_int_equal(informer_wait_synced(inf, 5000), FC_OK);
	wait_blocked(&f->srv);
	if (f->srv.bad[0])
		fail_msg("%s", f->srv.bad);
	assert_int_equal(f->srv.next, 9);

	/* the event sequence */
	assert_int_equal(f->rec.n, 3 + 1 + 3 + 3 + 1 + 1);
	check_events(&f->rec, 0, phase1, 3, 1);
	assert_string_equal(f->rec.ev[3], "synced");
	check_events(&f->rec, 4, watch1, 3, 0);
	check_events(&f->rec, 7, phase2, 2, 1);
	assert_string_equal(f->rec.ev[9], "delete d 11"); /* noticed by the relist */
	assert_string_equal(f->rec.ev[10], "synced");
	assert_string_equal(f->rec.ev[11], "synced"); /* second relist: no change */

	/* the store */
	assert_int_equal(informer_count(inf), 3);
	informer_resource_version(inf, rv, sizeof(rv));
	assert_string_equal(rv, "50");
	assert_int_equal(informer_get(inf, "ns", "a", &obj), FC_OK);
	assert_string_equal(json_str_or(obj, "metadata.resourceVersion", ""), "12");
	assert_string_equal(json_str_or(obj, "kind", ""), "ConfigMap");     /* added to list items */
	assert_string_equal(json_str_or(obj, "apiVersion", ""), "v1");
	cJSON_Delete(obj);
	assert_int_equal(informer_get(inf, "ns", "b", &obj), FC_ERR_NOTFOUND);
	assert_null(obj);
	assert_int_equal(informer_get(inf, "ns", "", &obj), FC_ERR_INVAL);
	{
		const cJSON *ref = NULL;

		assert_int_equal(informer_get_ref(inf, "ns", "a", &ref), FC_OK);
		assert_string_equal(json_str_or(ref, "metadata.resourceVersion", ""), "12");
		frozen_unref(ref);
		assert_int_equal(informer_get_ref(inf, "ns", "b", &ref), FC_ERR_NOTFOUND);
		assert_null(ref);
		assert_int_equal(informer_get_ref(inf, "ns", "", &ref), FC_ERR_INVAL);
	}
	assert_int_equal(informer_each(inf, collect, &names), FC_OK);
	{
		/* order is the hash's: compare sorted */
		char buf[256], *save = NULL, got[3][16];
		int n = 0;

		snprintf(buf, sizeof(buf), "%s", names.all);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			assert_true(n < 3);
			snprintf(got[n++], sizeof(got[0]), "%s", t);
		}
		assert_int_equal(n, 3);
		qsort(got, 3, sizeof(got[0]), cmp_str);
		snprintf(sorted, sizeof(sorted), "%s,%s,%s", got[0], got[1], got[2]);
		assert_string_equal(sorted, "a,c,e");
	}
	assert_int_equal(informer_each(inf, stop_at_first, NULL), FC_ERR_STATE);

	/* URLs: the watches resumed from the right versions */
	assert_non_null(strstr(f->srv.urls[2], "&resourceVersion=10"));
	assert_non_null(strstr(f->srv.urls[8], "&resourceVersion=50"));

	informer_stop(inf);
	informer_stop(inf); /* idempotent */
	/* the store stays readable after stop */
	assert_int_equal(informer_count(inf), 3);
	informer_free(inf);
}

static void test_strip_on_first_list(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .version = "v1", .plural = "configmaps", .ns = "ns", .page_size = 2 };
	struct informer *inf = NULL;
	cJSON *obj = NULL;
	const cJSON *ann;

	f->srv.steps = main_script;
	f->srv.nsteps = 2;
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_OK);
	assert_int_equal(informer_wait_synced(inf, 5000), FC_OK);
	assert_int_equal(informer_get(inf, "ns", "a", &obj), FC_OK);
	assert_null(json_path(obj, "metadata.managedFields"));
	assert_int_equal(json_get_obj(obj, "metadata.annotations", &ann), FC_OK);
	assert_null(json_child(ann, "kubectl.kubernetes.io/last-applied-configuration"));
	assert_string_equal(json_str_or(ann, "keep", ""), "me");
	cJSON_Delete(obj);
	informer_free(inf);

	/* keep_managed_fields (the ConfigMap owner check needs them) */
	f->srv.next = 0;
	f->srv.blocked = 0;
	o.keep_managed_fields = 1;
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_OK);
	assert_int_equal(informer_wait_synced(inf, 5000), FC_OK);
	assert_int_equal(informer_get(inf, "ns", "a", &obj), FC_OK);
	assert_non_null(json_path(obj, "metadata.managedFields"));
	cJSON_Delete(obj);
	informer_free(inf);
}

static const struct step failing_lists[] = {
	{ "?limit=500", 500, "", 0, FC_OK },
	{ "?limit=500", 503, "", 0, FC_OK },
	{ "?limit=500", 403, "{\"kind\":\"Status\",\"message\":\"forbidden\"}", 0, FC_OK },
	{ "?limit=500", 200, "{\"kind\":\"FoundryModelList\",\"apiVersion\":\"foundry.aucert.io/v1alpha1\","
			     "\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"metadata\":{\"name\":\"cluster-wide\","
			     "\"resourceVersion\":\"4\"}}]}", 0, FC_OK },
};

static void test_backoff_then_sync(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .group = "foundry.aucert.io", .version = "v1alpha1",
				   .plural = "foundrymodels", .backoff_min_ms = 20, .backoff_max_ms = 40 };
	struct informer_handlers h = handlers_for(&f->rec);
	struct informer *inf = NULL;
	cJSON *obj = NULL;
	long t0;

	f->srv.steps = failing_lists;
	f->srv.nsteps = 4;
	assert_int_equal(informer_new(f->kc, &o, &h, &inf), FC_OK);
	t0 = ms_now();
	assert_int_equal(informer_start(inf), FC_OK);
	assert_int_equal(informer_wait_synced(inf, 5000), FC_OK);
	/* three backoffs of at least 10, 20, 20 ms (half-jittered) */
	assert_true(ms_now() - t0 >= 50);
	wait_blocked(&f->srv);
	if (f->srv.bad[0])
		fail_msg("%s", f->srv.bad);
	assert_string_equal(f->srv.urls[0], "https://k8s.test/apis/foundry.aucert.io/v1alpha1/foundrymodels?limit=500");
	/* cluster-wide store key is the name alone; kind from "FoundryModelList" */
	assert_int_equal(informer_get(inf, NULL, "cluster-wide", &obj), FC_OK);
	assert_string_equal(json_str_or(obj, "kind", ""), "FoundryModel");
	assert_string_equal(json_str_or(obj, "apiVersion", ""), "foundry.aucert.io/v1alpha1");
	cJSON_Delete(obj);
	assert_int_equal(f->rec.n, 2);
	assert_string_equal(f->rec.ev[0], "add cluster-wide 4");
	informer_free(inf);
}

struct stopper {
	struct informer *inf;
	long after_ms;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;

	usleep((useconds_t)s->after_ms * 1000);
	informer_stop(s->inf);
	return NULL;
}

static const struct step always_failing[] = {
	{ NULL, 500, "", 0, FC_OK }, { NULL, 500, "", 0, FC_OK }, { NULL, 500, "", 0, FC_OK }, { NULL, 500, "", 0, FC_OK },
	{ NULL, 500, "", 0, FC_OK }, { NULL, 500, "", 0, FC_OK }, { NULL, 500, "", 0, FC_OK }, { NULL, 500, "", 0, FC_OK },
};

static void test_stop_before_sync(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .version = "v1", .plural = "configmaps",
				   .backoff_min_ms = 10000, .backoff_max_ms = 30000 };
	struct informer *inf = NULL;
	struct stopper s;
	pthread_t th;
	long t0;

	f->srv.steps = always_failing;
	f->srv.nsteps = 8;
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_OK);
	assert_int_equal(informer_wait_synced(inf, 100), FC_ERR_TIMEOUT);
	s.inf = inf;
	s.after_ms = 50;
	t0 = ms_now();
	pthread_create(&th, NULL, stop_later, &s);
	/* wakes when stopped; the thread was in a 5-10 s backoff sleep */
	assert_int_equal(informer_wait_synced(inf, -1), FC_ERR_CANCELLED);
	pthread_join(th, NULL);
	assert_true(ms_now() - t0 < 2000);
	assert_int_equal(f->srv.next, 1);
	informer_free(inf);

	/* never started */
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_OK);
	informer_stop(inf);
	informer_free(inf);
	informer_free(NULL);
}

static const struct step selector_script[] = {
	{ "https://k8s.test/api/v1/namespaces/team/configmaps?labelSelector=app%3Dx%2Cenv%20in%20%28a%29"
	  "&fieldSelector=metadata.name%3Dllm-config&limit=500", 200,
	  "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}", 0, FC_OK },
	{ "configmaps?labelSelector=app%3Dx%2Cenv%20in%20%28a%29&fieldSelector=metadata.name%3Dllm-config"
	  "&watch=1", 200, "", 0, FC_OK },
};

static void test_selectors_and_quick_watch_end(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .version = "v1", .plural = "configmaps", .ns = "team",
				   .label_selector = "app=x,env in (a)",
				   .field_selector = "metadata.name=llm-config",
				   .watch_timeout_s = 7, .backoff_min_ms = 10 };
	struct informer *inf = NULL;

	f->srv.steps = selector_script;
	f->srv.nsteps = 2;
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_OK);
	wait_blocked(&f->srv);
	if (f->srv.bad[0])
		fail_msg("%s", f->srv.bad);
	/* the timeout is jittered within [7, 14) */
	{
		const char *t = strstr(f->srv.urls[1], "timeoutSeconds=");
		long v;

		assert_non_null(t);
		v = strtol(t + 15, NULL, 10);
		assert_true(v >= 7 && v < 14);
	}
	/* an empty watch that ended at once was followed by a re-watch
	 * (after a backoff), not a relist */
	assert_non_null(strstr(f->srv.urls[2], "watch=1"));
	assert_non_null(strstr(f->srv.urls[2], "resourceVersion=1"));
	informer_free(inf);
}

static void test_invalid(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .version = "v1", .plural = "config maps" };
	struct informer *inf = NULL;

	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_ERR_INVAL);
	assert_null(inf);
	o.plural = NULL;
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_ERR_INVAL);
}

static void test_strip(void **state)
{
	cJSON *o = NULL;
	static const char s[] =
		"{\"metadata\":{\"name\":\"x\",\"managedFields\":[],\"annotations\":{"
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}}}";

	(void)state;
	assert_int_equal(json_parse(s, sizeof(s) - 1, &o), FC_OK);
	informer_strip(o, 1);
	assert_non_null(json_path(o, "metadata.managedFields"));
	informer_strip(o, 0);
	assert_null(json_path(o, "metadata.managedFields"));
	assert_null(json_child(json_path(o, "metadata.annotations"),
			       "kubectl.kubernetes.io/last-applied-configuration"));
	cJSON_Delete(o);
	o = cJSON_CreateObject();
	informer_strip(o, 0); /* no metadata: nothing to do */
	cJSON_Delete(o);
}


/* ---- stored objects: packed, shared by reference -------------------------- */

#define RICH "{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"1\"," \
	"\"labels\":{\"x\":\"same\",\"y\":\"same\"}},\"data\":{\"s\":\"same\",\"u\":\"\\u00e9\\u4e2d\"," \
	"\"e\":\"\"},\"n\":[1,-2.5,1e300,4294967296,true,false,null,{},[],\"same\"]," \
	"\"deep\":{\"a\":[{\"b\":[{\"c\":\"same\"}]},\"same\"]}}"

static const struct step packed_script[] = {
	{ "?limit=500", 200,
	  "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"10\"},"
	  "\"items\":[" RICH "," CM("b", "2", "") "]}", 0, FC_OK },
	{ "watch=1", 200, WEV("MODIFIED", "a", "11"), 0, FC_OK },
};

struct held {
	const cJSON *a;
};

static void hold_a(void *ud, const cJSON *o)
{
	struct held *h = ud;

	if (!strcmp(json_str_or(o, "metadata.name", ""), "a"))
		h->a = frozen_ref(o);
}

/* Every array/object: the first child's prev is the last child, as cJSON
 * itself links them (cJSON_AddItemToArray relies on it). */
static void check_links(const cJSON *it)
{
	for (; it; it = it->next) {
		if (it->child) {
			const cJSON *last = it->child;

			while (last->next)
				last = last->next;
			assert_ptr_equal(it->child->prev, last);
			check_links(it->child);
		}
	}
}

static void test_packed_and_referenced(void **state)
{
	struct fx *f = *state;
	struct informer_opts o = { .version = "v1", .plural = "configmaps", .ns = "ns" };
	struct held held = { NULL };
	struct informer_handlers h = { hold_a, NULL, NULL, NULL, &held };
	struct informer *inf = NULL;
	cJSON *want = NULL, *copy = NULL;
	char *want_s, *got_s;

	/* what a plain parse gives, with the type a list item lacks */
	assert_int_equal(json_parse(RICH, sizeof(RICH) - 1, &want), FC_OK);
	assert_non_null(cJSON_AddStringToObject(want, "apiVersion", "v1"));
	assert_non_null(cJSON_AddStringToObject(want, "kind", "ConfigMap"));
	want_s = cJSON_PrintUnformatted(want);
	assert_non_null(want_s);

	f->srv.steps = packed_script;
	f->srv.nsteps = 2;
	assert_int_equal(informer_new(f->kc, &o, &h, &inf), FC_OK);
	assert_int_equal(informer_start(inf), FC_OK);
	wait_blocked(&f->srv);
	if (f->srv.bad[0])
		fail_msg("%s", f->srv.bad);

	/* the store has moved on; the reference still reads the listed object */
	assert_int_equal(informer_get(inf, "ns", "a", &copy), FC_OK);
	assert_string_equal(json_str_or(copy, "metadata.resourceVersion", ""), "11");
	cJSON_Delete(copy);
	assert_non_null(held.a);
	got_s = cJSON_PrintUnformatted(held.a);
	assert_string_equal(got_s, want_s);
	free(got_s);
	check_links(held.a);
	assert_true(cJSON_Compare(held.a, want, 1));

	/* a deep copy is an ordinary tree: modifiable, freed with cJSON_Delete */
	copy = cJSON_Duplicate(held.a, 1);
	assert_non_null(copy);
	assert_true(cJSON_AddItemToArray(cJSON_GetObjectItem(copy, "n"), cJSON_CreateString("more")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(copy, "n")), 11);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(copy, "metadata"), "labels");
	cJSON_Delete(copy);

	/* a reference outlives the informer */
	informer_free(inf);
	got_s = cJSON_PrintUnformatted(held.a);
	assert_string_equal(got_s, want_s);
	free(got_s);
	assert_ptr_equal(frozen_ref(held.a), held.a);
	frozen_unref(held.a);
	frozen_unref(held.a);
	assert_null(frozen_ref(NULL));
	frozen_unref(NULL);
	free(want_s);
	cJSON_Delete(want);
}


/* ---- backoff ----------------------------------------------------------- */

#define LIST_OK(rv) \
	{ "?limit=500", 200, "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\"," \
	  "\"metadata\":{\"resourceVersion\":\"" rv "\"},\"items\":[]}", 0, FC_OK }
#define WATCH_403 \
	{ "watch=1", 403, "{\"kind\":\"Status\",\"code\":403,\"reason\":\"Forbidden\"," \
	  "\"message\":\"cannot watch\"}", 0, FC_OK }
#define WATCH_410 \
	{ "watch=1", 200, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410," \
	  "\"message\":\"too old\"}}\n", 0, FC_OK }
#define REFUSED(what) { what, 0, NULL, 0, FC_ERR_IO }
#define WATCH_EVENT_THEN_RESET(rv) { "watch=1", 200, WEV("MODIFIED", "a", rv), 0, FC_ERR_IO }

/* Runs script (then an endless watch: the script must end where the
 * informer watches next) with the given backoff and returns the
 * milliseconds until the informer blocked at its end. */
static long time_script(struct fx *f, const struct step *script, int n, long min_ms, long max_ms,
			long unreachable_ms)
{
	struct informer_opts o = { .version = "v1", .plural = "configmaps", .backoff_min_ms = min_ms,
				   .backoff_max_ms = max_ms, .unreachable_max_ms = unreachable_ms };
	struct informer *inf = NULL;
	long t0, dt;

	f->srv.steps = script;
	f->srv.nsteps = n;
	assert_int_equal(informer_new(f->kc, &o, NULL, &inf), FC_OK);
	t0 = ms_now();
	assert_int_equal(informer_start(inf), FC_OK);
	wait_blocked(&f->srv);
	dt = ms_now() - t0;
	if (f->srv.bad[0])
		fail_msg("%s", f->srv.bad);
	informer_free(inf);
	return dt;
}

/* A watch refused with 403 while list is allowed (a wrong Role): each
 * successful relist used to reset the backoff, so it relisted every
 * 0.1-0.2 s forever. The backoff now keeps growing: 20-40, 40-80, 80-160,
 * 160-320, 320-640 ms before the 2nd..6th list. */
static void test_forbidden_watch_backs_off(void **state)
{
	static const struct step script[] = {
		LIST_OK("1"), WATCH_403, LIST_OK("1"), WATCH_403, LIST_OK("1"), WATCH_403,
		LIST_OK("1"), WATCH_403, LIST_OK("1"), WATCH_403, LIST_OK("1"),
	};
	long dt = time_script(*state, script, (int)(sizeof(script) / sizeof(script[0])), 40, 10000, 0);

	assert_true(dt >= 620);
	assert_non_null(strstr(((struct fx *)*state)->srv.urls[10], "?limit=500"));
}

/* The same for a 410 on the very version the list returned. */
static void test_gone_right_after_list_backs_off(void **state)
{
	static const struct step script[] = {
		LIST_OK("7"), WATCH_410, LIST_OK("7"), WATCH_410, LIST_OK("7"), WATCH_410,
		LIST_OK("7"), WATCH_410, LIST_OK("7"),
	};
	long dt = time_script(*state, script, (int)(sizeof(script) / sizeof(script[0])), 40, 10000, 0);

	/* 20-40, 40-80, 80-160, 160-320 ms (it used to relist at once, forever) */
	assert_true(dt >= 300);
}

/* A watch that served events and then broke (a proxy or load balancer
 * cutting streams) is working: each re-watch waits the minimum, not a
 * growing backoff (50-100 ms each, not 50-100, 100-200, ... 1600-3200). */
static void test_watch_that_worked_resets_backoff(void **state)
{
	static const struct step script[] = {
		LIST_OK("1"), WATCH_EVENT_THEN_RESET("2"), WATCH_EVENT_THEN_RESET("3"),
		WATCH_EVENT_THEN_RESET("4"), WATCH_EVENT_THEN_RESET("5"), WATCH_EVENT_THEN_RESET("6"),
		WATCH_EVENT_THEN_RESET("7"),
	};
	struct fx *f = *state;
	long dt = time_script(f, script, (int)(sizeof(script) / sizeof(script[0])), 100, 10000, 0);

	/* six sleeps of at most 100 ms (would be at least 50+100+...+1600 = 3150) */
	assert_true(dt < 2500);
	/* transient: each re-watch resumed from the last event, no relist */
	assert_non_null(strstr(f->srv.urls[7], "resourceVersion=7"));
	assert_non_null(strstr(f->srv.urls[7], "watch=1"));
}

/* The API server is down (connection refused) for a while: the delay is
 * capped at unreachable_max_ms (here 200 ms) however long it lasts, so the
 * informer is back within that long of the server returning; with the
 * ordinary cap it would wait 50-100, 100-200, ... 1600-3200 ms. */
static void test_unreachable_server_capped(void **state)
{
	static const struct step script[] = {
		LIST_OK("1"), REFUSED("watch=1"), REFUSED("watch=1"), REFUSED("watch=1"),
		REFUSED("watch=1"), REFUSED("watch=1"), REFUSED("watch=1"),
	};
	struct fx *f = *state;
	long dt = time_script(f, script, (int)(sizeof(script) / sizeof(script[0])), 100, 30000, 200);

	/* 50-100 + 5 x 100-200 ms: at most 1100 (uncapped: at least 3150) */
	assert_true(dt >= 550);
	assert_true(dt < 2500);
	/* a refused watch is transient: re-watched from where it was */
	assert_non_null(strstr(f->srv.urls[7], "watch=1&allowWatchBookmarks=true"));
	assert_non_null(strstr(f->srv.urls[7], "resourceVersion=1"));
}

/* Watches accepted (200) and cut before their first event, again and
 * again (a flaky proxy): capped the same way, not backed off to 30 s. */
static void test_streams_cut_before_first_event_capped(void **state)
{
	static const struct step script[] = {
		LIST_OK("1"), { "watch=1", 200, "{\"type\":\"MODIFIED\",\"obj", 0, FC_ERR_IO },
		{ "watch=1", 200, "{\"ty", 0, FC_ERR_IO }, { "watch=1", 200, "", 0, FC_ERR_IO },
		{ "watch=1", 200, "{", 0, FC_ERR_IO }, { "watch=1", 200, "{\"type\":", 0, FC_ERR_IO },
		{ "watch=1", 200, "{\"type\":\"ADDED\"", 0, FC_ERR_IO },
	};
	struct fx *f = *state;
	long dt = time_script(f, script, (int)(sizeof(script) / sizeof(script[0])), 100, 30000, 200);

	assert_true(dt >= 550);
	assert_true(dt < 2500);
	assert_non_null(strstr(f->srv.urls[7], "resourceVersion=1"));
}

/* A list that cannot connect is capped the same way. */
static void test_unreachable_list_capped(void **state)
{
	static const struct step script[] = {
		REFUSED("?limit=500"), REFUSED("?limit=500"), REFUSED("?limit=500"),
		REFUSED("?limit=500"), REFUSED("?limit=500"), REFUSED("?limit=500"), LIST_OK("3"),
	};
	long dt = time_script(*state, script, (int)(sizeof(script) / sizeof(script[0])), 100, 30000, 200);

	/* 50-100 + 5 x 100-200 ms (uncapped: at least 50+100+...+1600 = 3150) */
	assert_true(dt >= 550);
	assert_true(dt < 2500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_watch_relist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strip_on_first_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_then_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_before_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_and_quick_watch_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test(test_strip),
		cmocka_unit_test_setup_teardown(test_packed_and_referenced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forbidden_watch_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_right_after_list_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_that_worked_resets_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_server_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_list_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams_cut_before_first_event_capped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
