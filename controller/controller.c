#include "controller.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "azure_auth.h"
#include "azure_client.h"
#include "buf.h"
#include "clock.h"
#include "configmap.h"
#include "frozen.h"
#include "http.h"
#include "httpd.h"
#include "informer.h"
#include "json.h"
#include "kube_client.h"
#include "kube_config.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "reconcile.h"
#include "workqueue.h"

#ifndef FC_VERSION
#define FC_VERSION "0.0.0-dev" /* the Makefile passes the real one */
#endif

#define NWORKERS 2
#define CONTROLLER_NAME "foundrymodel"
#define KEY_MAX 600
/* A reconcile that failed because the API server did not answer (IO: down,
 * restarting, connection reset) is retried this often, outside the per-key
 * exponential backoff: the key is not at fault, and a backoff grown through
 * a long outage would hold the retry well past the server's return. */
#define UNREACHABLE_RETRY_MS 1000
/* Cap of the per-key exponential backoff of failed reconciles (an Azure call
 * failed: DESIGN.md §4). client-go's 1000 s would leave a namespace
 * unvalidated for up to 17 minutes after an Azure outage ends; Azure is
 * asked at most once per AZURE_CLIENT_FAILURE_HOLD_MS per failed lookup
 * anyway (azure_client.h), so a short cap costs no extra requests. */
#define RETRY_MAX_MS 60000

struct controller {
	const struct config *cfg;
	struct http_transport *http;
	struct kube_config kcfg;
	int kcfg_loaded;
	struct kube_client *kc;
	struct informer *accounts, *models, *cms;
	struct workqueue *wq;
	struct event_dedup events;
	struct azure_auth *auth;
	struct azure_client *az;
	struct metrics *metrics;
	struct httpd *httpd;
	struct leader *leader;
	struct reconcile_config rcfg;
	pthread_t workers[NWORKERS];
	int nworkers;
	atomic_int leading;      /* 1 while this replica may write */
	atomic_int stopping;
	atomic_int fatal;        /* exit code 1 requested (lost lease) */
	atomic_long last_loop;   /* monotonic seconds, for /healthz */
	pthread_mutex_t start_lock;
	char instance[160];
};

/* ---- small helpers -------------------------------------------------------- */

/* Gives the free pages of the heap back to the system (glibc keeps
 * them): after the initial lists and whenever the queue runs dry. */
static void release_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void now_rfc3339(void *ud, char *out, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	(void)ud;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *target_of(const struct controller *c, const cJSON *model)
{
	const char *cm = json_str_or(model, "spec.configMap", NULL);

	return cm && *cm ? cm : c->cfg->configmap_name;
}

static void enqueue(struct controller *c, const char *ns, const char *name)
{
	char key[KEY_MAX];

	if (!ns || !name)
		return;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	workqueue_add(c->wq, key);
}

/* ---- event handlers (informer threads) ------------------------------------- */

static void model_add(void *ud, const cJSON *obj)
{
	struct controller *c = ud;

	enqueue(c, json_str_or(obj, "metadata.namespace", NULL), target_of(c, obj));
}

static void model_update(void *ud, const cJSON *old, const cJSON *obj)
{
	struct controller *c = ud;
	const char *ns = json_str_or(obj, "metadata.namespace", NULL);

	/* every change is reconciled, status-only ones too (a hand-edited
	 * status is put right at once); our own status writes come back
	 * here as no-op reconciles, collapsed by the workqueue */
	if (old && strcmp(target_of(c, old), target_of(c, obj)))
		enqueue(c, ns, target_of(c, old));
	enqueue(c, ns, target_of(c, obj));
}

static void model_delete(void *ud, const cJSON *obj)
{
	model_add(ud, obj);
}

struct ns_walk {
	struct controller *c;
	const char *ns;
	int is_cm;
};

static fc_err enqueue_ns_item(void *ud, const cJSON *obj)
{
	struct ns_walk *w = ud;
	const char *ns = json_str_or(obj, "metadata.namespace", "");

	if (strcmp(ns, w->ns))
		return FC_OK;
	enqueue(w->c, ns, w->is_cm ? json_str_or(obj, "metadata.name", NULL) : target_of(w->c, obj));
	return FC_OK;
}

/* Every ConfigMap of a namespace: the default one, every model's target,
 * every ConfigMap we manage there. */
static void enqueue_namespace(struct controller *c, const char *ns)
{
	struct ns_walk w = { c, ns, 0 };

	if (!ns)
		return;
	enqueue(c, ns, c->cfg->configmap_name);
	informer_each(c->models, enqueue_ns_item, &w);
	w.is_cm = 1;
	informer_each(c->cms, enqueue_ns_item, &w);
}

static void account_add(void *ud, const cJSON *obj)
{
	enqueue_namespace(ud, json_str_or(obj, "metadata.namespace", NULL));
}

static void account_update(void *ud, const cJSON *old, const cJSON *obj)
{
	(void)old;
	account_add(ud, obj);
}

static void account_delete(void *ud, const cJSON *obj)
{
	account_add(ud, obj);
}

static void cm_add(void *ud, const cJSON *obj)
{
	enqueue(ud, json_str_or(obj, "metadata.namespace", NULL), json_str_or(obj, "metadata.name", NULL));
}

static void cm_update(void *ud, const cJSON *old, const cJSON *obj)
{
	(void)old;
	cm_add(ud, obj);
}

static void cm_delete(void *ud, const cJSON *obj)
{
	cm_add(ud, obj);
}

/* ---- reconcile ops over the kube client -------------------------------------- */

/* May this replica write now? With leader election, the Lease must also be
 * fresh by our own clock (leader_is_leading): a leader frozen past its renew
 * deadline (SIGSTOP, a stalled node) must not write when it resumes, before
 * its election thread has noticed that another replica took over. */
static int may_write(struct controller *c)
{
	if (!atomic_load(&c->leading) || atomic_load(&c->fatal))
		return 0;
	return !c->cfg->leader_elect || leader_is_leading(c->leader);
}

static fc_err guard(struct controller *c)
{
	return may_write(c) ? FC_OK : FC_ERR_STATE;
}

static void log_kube_error(const char *what, const char *ns, const char *name, fc_err rc,
			   const struct kube_status *st)
{
	char code[16];

	snprintf(code, sizeof(code), "%ld", st->http_status);
	log_error(what, "namespace", ns, "name", name, "error", fc_strerror(rc), "status", code,
		  "message", st->message, NULL);
}

static fc_err op_apply_configmap(void *ud, const char *ns, const char *name, const char *body,
				 char *why, size_t whylen)
{
	struct controller *c = ud;
	struct kube_status st = { 0 };
	char path[KUBE_PATH_MAX];
	fc_err rc = guard(c);

	if (rc)
		return rc;
	rc = kube_path(path, sizeof(path), "", "v1", ns, "configmaps", name, NULL);
	if (!rc)
		/* no force: a key another manager owns is never taken over (render
		 * already leaves those alone; a 409 here is a race, retried) */
		rc = kube_apply(c->kc, path, body, "foundry-controller", 0, NULL, &st);
	if (rc == FC_ERR_CONFLICT) {
		/* computed from a copy the cache had not updated yet: retried */
		log_debug("ConfigMap changed since it was read, retrying", "namespace", ns, "name", name,
			  NULL);
		return rc;
	}
	if (rc) {
		log_kube_error("ConfigMap apply failed", ns, name, rc, &st);
		snprintf(why, whylen, "%s", st.message);
		return rc;
	}
	metrics_counter_inc(c->metrics, METRICS_CONFIGMAP_WRITES_TOTAL, METRICS_LABELS(ns));
	return FC_OK;
}

/* Status writes already sent while the cache has not yet seen them: a
 * reconcile of the same key right after ours reads the old status from the
 * cache and would send the same patch again. Keyed by object, holding the
 * body's hash and the resourceVersion the cache had then; a lossy table (a
 * collision only costs one redundant write). */
#define STATUS_MEMO_SLOTS 4096

struct status_memo {
	uint64_t key, body;
	char rv[32];
};

static struct status_memo status_memo[STATUS_MEMO_SLOTS];
static pthread_mutex_t status_memo_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv(const char *s, uint64_t h)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* 1 if this exact body was already written for the object at this cached
 * resourceVersion; else records it (when record) and returns 0. */
static int status_memo_seen(const char *plural, const char *ns, const char *name, const char *rv,
			    const char *body, int record)
{
	uint64_t k = fnv(name, fnv(ns, fnv(plural, 14695981039346656037ULL)));
	uint64_t b = fnv(body, 14695981039346656037ULL);
	struct status_memo *m = &status_memo[k % STATUS_MEMO_SLOTS];
	int seen;

	if (!rv || !*rv)
		return 0;
	pthread_mutex_lock(&status_memo_lock);
	seen = m->key == k && m->body == b && !strcmp(m->rv, rv);
	if (!seen && record) {
		m->key = k;
		m->body = b;
		snprintf(m->rv, sizeof(m->rv), "%s", rv);
	}
	pthread_mutex_unlock(&status_memo_lock);
	return seen;
}

static fc_err op_patch_status(void *ud, const char *plural, const char *ns, const char *name,
			      const char *rv, const char *body)
{
	struct controller *c = ud;
	struct kube_status st = { 0 }; /* logged even when no request was made */
	char path[KUBE_PATH_MAX];
	fc_err rc = guard(c);

	if (rc)
		return rc;
	if (status_memo_seen(plural, ns, name, rv, body, 0))
		return FC_OK; /* already sent; the cache has not caught up yet */
	rc = kube_path(path, sizeof(path), SPEC_GROUP, SPEC_VERSION, ns, plural, name, "status");
	if (!rc)
		rc = kube_patch_status(c->kc, path, body, NULL, &st);
	if (rc && rc != FC_ERR_NOTFOUND)
		log_kube_error("status update failed", ns, name, rc, &st);
	if (!rc)
		status_memo_seen(plural, ns, name, rv, body, 1);
	if (!rc)
		metrics_counter_inc(c->metrics, METRICS_STATUS_WRITES_TOTAL,
				    METRICS_LABELS(!strcmp(plural, "foundrymodels") ? "FoundryModel"
										: "FoundryAccount"));
	return rc;
}

static fc_err op_set_finalizers(void *ud, const char *ns, const char *name, const char *rv,
				const char *finalizers_json)
{
	struct controller *c = ud;
	struct kube_status st = { 0 }; /* logged even when no request was made */
	char path[KUBE_PATH_MAX];
	struct buf b;
	fc_err rc = guard(c);

	if (rc)
		return rc;
	buf_init(&b, 64 * 1024);
	rc = kube_path(path, sizeof(path), SPEC_GROUP, SPEC_VERSION, ns, "foundrymodels", name, NULL);
	if (!rc)
		rc = buf_appendf(&b, "{\"metadata\":{\"resourceVersion\":\"%s\",\"finalizers\":%s}}",
				 rv ? rv : "", finalizers_json);
	if (!rc)
		rc = kube_merge_patch(c->kc, path, b.data, NULL, &st);
	if (rc && rc != FC_ERR_NOTFOUND && rc != FC_ERR_CONFLICT)
		log_kube_error("finalizer update failed", ns, name, rc, &st);
	buf_release(&b);
	return rc;
}

static fc_err op_create_event(void *ud, const char *ns, const cJSON *event)
{
	struct controller *c = ud;
	struct kube_status st;
	char path[KUBE_PATH_MAX];
	char *body;
	fc_err rc = guard(c);

	if (rc)
		return rc;
	rc = kube_path(path, sizeof(path), "", "v1", ns, "events", NULL, NULL);
	if (rc)
		return rc;
	body = json_print(event);
	if (!body)
		return FC_ERR_NOMEM;
	rc = kube_create(c->kc, path, body, NULL, &st);
	free(body);
	return rc;
}

static int op_stopping(void *ud)
{
	struct controller *c = ud;

	return atomic_load(&c->stopping);
}

static fc_err op_check_account(void *ud, const struct spec_account *acc, struct account_verdict *out)
{
	struct controller *c = ud;

	return azure_client_check_account(c->az, acc, out);
}

static fc_err op_check_model(void *ud, const struct spec_model *m, const struct spec_account *acc,
			     const struct account_verdict *acc_v, const struct spec_account *primary,
			     const struct account_verdict *primary_v, struct model_verdict *out,
			     long *retry_after_ms)
{
	struct controller *c = ud;

	return azure_client_check_model(c->az, m, acc, acc_v, primary, primary_v, 1, 0, out,
					retry_after_ms);
}

/* ---- snapshot ------------------------------------------------------------------ */

struct snap_build {
	struct controller *c;
	const char *ns, *cm;
	const cJSON **items; /* references on stored objects (frozen_ref) */
	size_t n, cap;
	fc_err err;
	int models;
};

static fc_err snap_collect(void *ud, const cJSON *obj)
{
	struct snap_build *s = ud;

	if (strcmp(json_str_or(obj, "metadata.namespace", ""), s->ns))
		return FC_OK;
	if (s->models && strcmp(target_of(s->c, obj), s->cm))
		return FC_OK;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		const cJSON **ni = realloc(s->items, ncap * sizeof(*ni));

		if (!ni)
			return s->err = FC_ERR_NOMEM;
		s->items = ni;
		s->cap = ncap;
	}
	/* no copy: the reconcile reads the stored object, which stays as it is
	 * while referenced even if the informer replaces it meanwhile */
	s->items[s->n++] = frozen_ref(obj);
	return FC_OK;
}

static void snap_free(struct snap_build *s)
{
	for (size_t i = 0; i < s->n; i++)
		frozen_unref(s->items[i]);
	free(s->items);
}

/* The ConfigMap as the API server has it, managedFields included: for one
 * the informer does not hold (its selector is our label, which a ConfigMap
 * made by hand lacks). NULL in *out when there is none. */
/* Reads one ConfigMap from the server. A list with a field selector, not a
 * GET: the chart's Role grants list on ConfigMaps but not get (RBAC kept to
 * what is used). *out is the object or NULL when there is none. */
static fc_err get_configmap(struct controller *c, const char *ns, const char *name, cJSON **out)
{
	struct kube_status st = { 0 };
	char path[KUBE_PATH_MAX];
	struct buf q;
	cJSON *list = NULL, *items, *first;
	fc_err rc;

	*out = NULL;
	buf_init(&q, 2 * KUBE_PATH_MAX);
	rc = kube_path(path, sizeof(path), "", "v1", ns, "configmaps", NULL, NULL);
	if (!rc)
		rc = buf_append_str(&q, path);
	if (!rc)
		rc = buf_append_str(&q, "?fieldSelector=metadata.name%3D");
	if (!rc)
		rc = kube_url_escape(&q, name);
	if (!rc)
		rc = kube_list(c->kc, q.data, &list, &st);
	if (rc) {
		log_kube_error("ConfigMap read failed", ns, name, rc, &st);
		goto out;
	}
	items = cJSON_GetObjectItemCaseSensitive(list, "items");
	first = cJSON_IsArray(items) ? cJSON_DetachItemFromArray(items, 0) : NULL;
	*out = first;
out:
	cJSON_Delete(list);
	buf_release(&q);
	return rc;
}

static fc_err reconcile_key(struct controller *c, const char *key, struct reconcile_stats *stats)
{
	char ns[KEY_MAX], *name;
	struct snap_build accs = { c, NULL, NULL, NULL, 0, 0, FC_OK, 0 };
	struct snap_build models = { c, NULL, NULL, NULL, 0, 0, FC_OK, 1 };
	struct reconcile_snapshot snap;
	struct reconcile_ops ops = {
		.ud = c,
		.apply_configmap = op_apply_configmap,
		.patch_status = op_patch_status,
		.set_finalizers = op_set_finalizers,
		.create_event = op_create_event,
		.check_account = c->az ? op_check_account : NULL,
		.check_model = c->az ? op_check_model : NULL,
		.stopping = op_stopping,
		.now = now_rfc3339,
	};
	const cJSON *cm = NULL;
	fc_err rc;

	snprintf(ns, sizeof(ns), "%s", key);
	name = strchr(ns, '/');
	if (!name)
		return FC_ERR_INVAL;
	*name++ = '\0';
	accs.ns = models.ns = ns;
	accs.cm = models.cm = name;
	informer_each(c->accounts, snap_collect, &accs);
	informer_each(c->models, snap_collect, &models);
	rc = accs.err ? accs.err : models.err;
	if (rc)
		goto out;
	rc = informer_get_ref(c->cms, ns, name, &cm);
	if (rc == FC_ERR_NOTFOUND)
		rc = FC_OK;
	if (rc)
		goto out;
	snap.ns = ns;
	snap.configmap = name;
	snap.accounts = accs.items;
	snap.naccounts = accs.n;
	snap.models = models.items;
	snap.nmodels = models.n;
	snap.cm = cm;
	rc = reconcile_configmap(&c->rcfg, &ops, &c->events, &snap, stats);
	if (rc == FC_ERR_CONFLICT && !cm) {
		/* A ConfigMap without our label (made by hand) in which another
		 * manager owns a key we would write: the informer never saw it,
		 * so the render did not know that key is foreign and the apply
		 * was refused (409). Render again from the live object; the
		 * conflict becomes a KeyConflict instead of a retry forever. */
		cJSON *live = NULL;

		if (get_configmap(c, ns, name, &live) == FC_OK && live) {
			snap.cm = live;
			rc = reconcile_configmap(&c->rcfg, &ops, &c->events, &snap, stats);
			snap.cm = NULL;
		}
		cJSON_Delete(live);
	}
out:
	frozen_unref(cm);
	snap_free(&accs);
	snap_free(&models);
	return rc;
}

static void *worker_main(void *arg)
{
	struct controller *c = arg;
	char *key = NULL;

	while (workqueue_get(c->wq, &key) == FC_OK) {
		struct reconcile_stats stats;
		int64_t t0 = clock_mono_ms();
		double secs;
		fc_err rc;
		char dur[32], ready[48];
		const char *result;

		atomic_store(&c->last_loop, (long)(t0 / 1000));
		memset(&stats, 0, sizeof(stats));
		if (!may_write(c)) {
			/* not leader (any more): leave it for whoever leads */
			workqueue_done(c->wq, key);
			free(key);
			continue;
		}
		rc = reconcile_key(c, key, &stats);
		secs = (double)(clock_mono_ms() - t0) / 1000.0;
		snprintf(dur, sizeof(dur), "%.3fs", secs);
		snprintf(ready, sizeof(ready), "%d/%d", stats.models_ready, stats.models_total);
		if (rc == FC_ERR_STATE || rc == FC_ERR_CANCELLED) {
			result = "error";
			workqueue_forget(c->wq, key);
		} else if (rc) {
			result = "error";
			log_warn("reconcile failed, will retry", "configmap", key, "error", fc_strerror(rc),
				 "duration", dur, NULL);
			metrics_counter_inc(c->metrics, METRICS_RECONCILE_ERRORS_TOTAL,
					    METRICS_LABELS(CONTROLLER_NAME));
			if (rc == FC_ERR_IO) {
				workqueue_forget(c->wq, key);
				workqueue_add_after(c->wq, key, UNREACHABLE_RETRY_MS);
			} else {
				workqueue_add_rate_limited(c->wq, key);
			}
		} else {
			workqueue_forget(c->wq, key);
			if (stats.requeue_after_ms > 0) {
				result = "requeue_after";
				workqueue_add_after(c->wq, key, stats.requeue_after_ms);
			} else {
				result = "success";
				if (c->az && stats.models_total > 0) {
					/* ask Azure again once the shorter cache expires */
					int64_t again = c->cfg->deployment_ttl_ms;

					if (c->cfg->catalog_ttl_ms > 0 && (again <= 0 || c->cfg->catalog_ttl_ms < again))
						again = c->cfg->catalog_ttl_ms;
					if (again > 0)
						workqueue_add_after(c->wq, key, again);
				}
			}
			log_info("reconciled", "configmap", key,
				 "changed", stats.wrote_configmap ? (stats.changes ? stats.changes : "yes") : "none",
				 "ready", ready, "duration", dur, NULL);
		}
		metrics_counter_inc(c->metrics, METRICS_RECONCILE_TOTAL, METRICS_LABELS(CONTROLLER_NAME, result));
		metrics_histogram_observe(c->metrics, METRICS_RECONCILE_TIME, METRICS_LABELS(CONTROLLER_NAME), secs);
		free(stats.changes);
		workqueue_done(c->wq, key);
		free(key);
		key = NULL;
		if (!workqueue_len(c->wq))
			release_memory();
	}
	return NULL;
}

/* ---- leadership -------------------------------------------------------------- */

static fc_err enqueue_all_cm(void *ud, const cJSON *obj)
{
	cm_add(ud, obj);
	return FC_OK;
}

static fc_err enqueue_all_model(void *ud, const cJSON *obj)
{
	model_add(ud, obj);
	return FC_OK;
}

static fc_err enqueue_all_account(void *ud, const cJSON *obj)
{
	struct controller *c = ud;

	enqueue(c, json_str_or(obj, "metadata.namespace", NULL), c->cfg->configmap_name);
	return FC_OK;
}

/* Every key we know of: at start of leadership and on resync. */
static void enqueue_everything(struct controller *c)
{
	informer_each(c->cms, enqueue_all_cm, c);
	informer_each(c->models, enqueue_all_model, c);
	informer_each(c->accounts, enqueue_all_account, c);
}

static void on_started_leading(void *ud)
{
	struct controller *c = ud;

	log_info("became leader", "identity", c->instance, NULL);
	atomic_store(&c->leading, 1);
	metrics_gauge_set(c->metrics, METRICS_LEADER_STATUS, METRICS_LABELS(c->cfg->leader_election_id), 1);
	enqueue_everything(c);
}

static void on_stopped_leading(void *ud)
{
	struct controller *c = ud;

	atomic_store(&c->leading, 0);
	metrics_gauge_set(c->metrics, METRICS_LEADER_STATUS, METRICS_LABELS(c->cfg->leader_election_id), 0);
	if (!atomic_load(&c->stopping)) {
		log_error("leader election lost; exiting so the pod restarts", "identity", c->instance, NULL);
		atomic_store(&c->fatal, 1);
		kill(getpid(), SIGTERM);
	}
}

/* ---- probes and metrics ------------------------------------------------------ */

/* Alive while the main loop turns (it wakes every second). */
static fc_err probe_healthy(void *ud, char *msg, size_t n)
{
	struct controller *c = ud;
	long age = (long)(clock_mono_ms() / 1000) - atomic_load(&c->last_loop);

	if (age > 30) {
		snprintf(msg, n, "main loop stalled for %lds", age);
		return FC_ERR_STATE;
	}
	snprintf(msg, n, "ok");
	return FC_OK;
}

/* Ready once the caches are synced (a follower is ready too). */
static fc_err probe_ready(void *ud, char *msg, size_t n)
{
	struct controller *c = ud;

	if (!informer_synced(c->accounts) || !informer_synced(c->models) || !informer_synced(c->cms)) {
		snprintf(msg, n, "caches not synced");
		return FC_ERR_STATE;
	}
	snprintf(msg, n, "ok");
	return FC_OK;
}

struct count_walk {
	struct metrics *m;
};

static const char *ready_status(const cJSON *obj)
{
	const cJSON *conds = json_path(obj, "status.conditions"), *cd;
	const char *ready = "Unknown";

	cJSON_ArrayForEach(cd, conds) {
		if (!strcmp(json_str_or(cd, "type", ""), "Ready"))
			ready = json_str_or(cd, "status", "Unknown");
	}
	return ready;
}

/* "2027-03-31T00:00:00Z" (fraction and a numeric offset allowed) -> Unix
 * seconds; -1 if malformed. */
static int parse_rfc3339(const char *s, double *out)
{
	struct tm tm;
	const char *p;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L + ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = (double)(timegm(&tm) - off);
	return 0;
}

static fc_err count_model(void *ud, const cJSON *obj)
{
	struct count_walk *w = ud;
	const char *ns = json_str_or(obj, "metadata.namespace", "");
	double when;

	metrics_gauge_add(w->m, METRICS_MODELS, METRICS_LABELS(ns, ready_status(obj)), 1);
	if (!parse_rfc3339(json_str_or(obj, "status.retirementDate", NULL), &when))
		metrics_gauge_set(w->m, METRICS_MODEL_RETIREMENT,
				  METRICS_LABELS(ns, json_str_or(obj, "metadata.name", ""),
						 json_str_or(obj, "spec.model.name", ""),
						 json_str_or(obj, "spec.model.version", "")),
				  when);
	return FC_OK;
}

static fc_err count_account(void *ud, const cJSON *obj)
{
	struct count_walk *w = ud;

	metrics_gauge_add(w->m, METRICS_ACCOUNTS,
			  METRICS_LABELS(json_str_or(obj, "metadata.namespace", ""), ready_status(obj)), 1);
	return FC_OK;
}

static fc_err render_metrics(void *ud, struct buf *out)
{
	struct controller *c = ud;
	struct count_walk w = { c->metrics };

	/* recomputed from the caches on every scrape: deleted objects vanish */
	metrics_clear(c->metrics, METRICS_MODELS);
	metrics_clear(c->metrics, METRICS_MODEL_RETIREMENT);
	metrics_clear(c->metrics, METRICS_ACCOUNTS);
	informer_each(c->models, count_model, &w);
	informer_each(c->accounts, count_account, &w);
	metrics_gauge_set(c->metrics, METRICS_WQ_DEPTH, METRICS_LABELS(CONTROLLER_NAME),
			  (double)workqueue_len(c->wq));
	{
		/* the queue keeps its own totals; bring the counters up to them */
		struct workqueue_stats ws;
		double cur;

		workqueue_stats(c->wq, &ws);
		if (metrics_get(c->metrics, METRICS_WQ_ADDS_TOTAL, METRICS_LABELS(CONTROLLER_NAME), &cur))
			cur = 0;
		if ((double)ws.adds_total >= cur)
			metrics_counter_add(c->metrics, METRICS_WQ_ADDS_TOTAL, METRICS_LABELS(CONTROLLER_NAME),
					    (double)ws.adds_total - cur);
		if (metrics_get(c->metrics, METRICS_WQ_RETRIES_TOTAL, METRICS_LABELS(CONTROLLER_NAME), &cur))
			cur = 0;
		if ((double)ws.retries_total >= cur)
			metrics_counter_add(c->metrics, METRICS_WQ_RETRIES_TOTAL,
					    METRICS_LABELS(CONTROLLER_NAME), (double)ws.retries_total - cur);
	}
	metrics_update_process(c->metrics);
	return metrics_render(c->metrics, out);
}

/* ---- setup / teardown ---------------------------------------------------------- */

static fc_err start_informer(struct controller *c, const char *group, const char *version,
			     const char *plural, const char *selector, int keep_mf,
			     const struct informer_handlers *h, struct informer **out)
{
	struct informer_opts o;

	memset(&o, 0, sizeof(o));
	o.group = group;
	o.version = version;
	o.plural = plural;
	o.ns = c->cfg->namespace;
	o.label_selector = selector;
	o.keep_managed_fields = keep_mf;
	return informer_new(c->kc, &o, h, out);
}

static void azure_hook(void *ud, const char *call, long status, int64_t duration_ms)
{
	struct controller *c = ud;
	char code[16];

	snprintf(code, sizeof(code), "%ld", status);
	metrics_counter_inc(c->metrics, METRICS_AZURE_REQUESTS_TOTAL, METRICS_LABELS(call, code));
	metrics_histogram_observe(c->metrics, METRICS_AZURE_REQUEST_DURATION, METRICS_LABELS(call),
				  (double)duration_ms / 1000.0);
}

void controller_azure_options(const struct config *cfg, struct http_transport *t,
			      struct azure_auth_options *ao, struct azure_client_options *co)
{
	memset(ao, 0, sizeof(*ao));
	ao->transport = t;
	ao->authority_host = cfg->azure_authority_host;
	ao->audience = cfg->azure_arm_audience;
	ao->imds_endpoint = cfg->azure_imds_endpoint;
	ao->ca_file = cfg->azure_ca_file;
	memset(co, 0, sizeof(*co));
	co->transport = t;
	co->arm_endpoint = cfg->azure_arm_endpoint;
	co->catalog_ttl_ms = cfg->catalog_ttl_ms;
	co->deployment_ttl_ms = cfg->deployment_ttl_ms;
	co->suggest_regions = cfg->suggest_regions;
	co->nsuggest_regions = cfg->nsuggest_regions;
	co->retirement_warning_ms = cfg->retirement_warning_ms;
	co->ca_file = cfg->azure_ca_file;
}

static fc_err setup_azure(struct controller *c)
{
	const struct config *cfg = c->cfg;
	struct azure_auth_options ao;
	struct azure_client_options co;
	char msg[AZURE_AUTH_MSG_MAX];
	fc_err rc;

	if (cfg->azure_validation == VALIDATION_SKIP) {
		log_info("Azure validation is off: nothing is asked of Azure; accounts need spec.endpoint", NULL);
		return FC_OK;
	}
	controller_azure_options(cfg, c->http, &ao, &co);
	ao.on_request = azure_hook;
	ao.hook_ud = c;
	msg[0] = '\0';
	rc = azure_auth_new(&ao, &c->auth, msg, sizeof(msg));
	if (rc) {
		log_error("Azure credentials unusable", "error", fc_strerror(rc), "message", msg, NULL);
		return rc;
	}
	log_info("Azure credentials", "kind", azure_auth_cred_name(azure_auth_kind(c->auth)),
		 "arm", cfg->azure_arm_endpoint, NULL);
	co.auth = c->auth;
	co.on_request = azure_hook;
	co.hook_ud = c;
	return azure_client_new(&co, &c->az);
}

static void identity(char *out, size_t n)
{
	char host[128] = "unknown";
	unsigned char rnd[6] = { 0 };
	FILE *f;

	gethostname(host, sizeof(host) - 1);
	f = fopen("/dev/urandom", "rb");
	if (f) {
		if (fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		fclose(f);
	}
	snprintf(out, n, "%s_%02x%02x%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		 rnd[5]);
}

int controller_run(const struct config *cfg)
{
	struct controller *c;
	struct informer_handlers hm = { model_add, model_update, model_delete, NULL, NULL };
	struct informer_handlers ha = { account_add, account_update, account_delete, NULL, NULL };
	struct informer_handlers hc = { cm_add, cm_update, cm_delete, NULL, NULL };
	char err[512] = "";
	sigset_t set;
	int sig = 0, code = 1;
	int64_t next_resync;
	fc_err rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->cfg = cfg;
	atomic_store(&c->last_loop, (long)(clock_mono_ms() / 1000));
	identity(c->instance, sizeof(c->instance));
	event_dedup_init(&c->events);
	c->rcfg.default_configmap = cfg->configmap_name;
	c->rcfg.default_validation = cfg->azure_validation == VALIDATION_SKIP ? VALIDATION_ENFORCE
									   : cfg->azure_validation;
	c->rcfg.azure_off = cfg->azure_validation == VALIDATION_SKIP;
	c->rcfg.instance = c->instance;
	hm.ud = ha.ud = hc.ud = c;

	rc = metrics_new(METRICS_DEFAULT_MAX_SERIES, &c->metrics);
	if (!rc)
		rc = metrics_register_defaults(c->metrics);
	if (rc)
		goto out;
	metrics_gauge_set(c->metrics, METRICS_BUILD_INFO, METRICS_LABELS(FC_VERSION), 1);
	metrics_gauge_set(c->metrics, METRICS_MAX_CONCURRENT, METRICS_LABELS(CONTROLLER_NAME), NWORKERS);
	rc = kube_config_load(cfg->kubeconfig, &c->kcfg, err, sizeof(err));
	if (rc) {
		log_error("cannot load Kubernetes configuration", "error", fc_strerror(rc), "message", err, NULL);
		goto out;
	}
	c->kcfg_loaded = 1;
	log_info("Kubernetes API server", "server", c->kcfg.server, "from", c->kcfg.source,
		 "ca", c->kcfg.tls.insecure ? "none (insecure-skip-tls-verify)"
		       : c->kcfg.tls.ca_file ? c->kcfg.tls.ca_file
		       : c->kcfg.tls.ca_pem ? "certificate-authority-data"
					    : "system CAs", NULL);
	if (c->kcfg.tls.insecure)
		log_warn("TLS verification of the API server is off (insecure-skip-tls-verify in the "
			 "kubeconfig): anyone on the path can read the token", "server", c->kcfg.server, NULL);
	rc = http_transport_curl_new(&c->http);
	if (rc)
		goto out;
	rc = kube_client_new(c->http, &c->kcfg, &c->kc);
	if (rc)
		goto out;
	if (cfg->kube_timeout_ms > 0)
		kube_client_set_limits(c->kc, (long)cfg->kube_timeout_ms, 0);
	rc = setup_azure(c);
	if (rc)
		goto out;
	rc = workqueue_new(workqueue_clock_monotonic, NULL, &c->wq);
	if (rc)
		goto out;
	workqueue_set_backoff(c->wq, 0, RETRY_MAX_MS);
	rc = start_informer(c, SPEC_GROUP, SPEC_VERSION, "foundryaccounts", NULL, 0, &ha, &c->accounts);
	if (!rc)
		rc = start_informer(c, SPEC_GROUP, SPEC_VERSION, "foundrymodels", NULL, 0, &hm, &c->models);
	if (!rc)
		rc = start_informer(c, "", "v1", "configmaps",
				    CONFIGMAP_MANAGED_LABEL_SELECTOR, 1, &hc, &c->cms);
	if (rc)
		goto out;

	{
		struct httpd_config hcfg;

		memset(&hcfg, 0, sizeof(hcfg));
		hcfg.metrics_bind_address = cfg->metrics_bind.addr;
		hcfg.health_probe_bind_address = cfg->health_bind.addr;
		hcfg.healthy = probe_healthy;
		hcfg.ready = probe_ready;
		hcfg.render_metrics = render_metrics;
		hcfg.ud = c;
		rc = httpd_start(&hcfg, &c->httpd);
		if (rc) {
			log_error("cannot start the probe/metrics server", "error", fc_strerror(rc), NULL);
			goto out;
		}
	}
	if ((rc = informer_start(c->accounts)) || (rc = informer_start(c->models)) ||
	    (rc = informer_start(c->cms)))
		goto out;
	for (int i = 0; i < NWORKERS; i++) {
		if (pthread_create(&c->workers[i], NULL, worker_main, c)) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
		c->nworkers++;
	}
	/* wait for the caches before deciding anything */
	while (!informer_synced(c->accounts) || !informer_synced(c->models) || !informer_synced(c->cms)) {
		struct timespec ts = { 0, 0 };

		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		ts.tv_nsec = 100 * 1000000L;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			code = 0;
			goto out;
		}
	}
	{
		char na[24], nm[24], nc[24];

		snprintf(na, sizeof(na), "%zu", informer_count(c->accounts));
		snprintf(nm, sizeof(nm), "%zu", informer_count(c->models));
		snprintf(nc, sizeof(nc), "%zu", informer_count(c->cms));
		log_info("caches synced", "accounts", na, "models", nm, "configmaps", nc, NULL);
		release_memory();
	}
	if (cfg->leader_elect) {
		struct leader_config lc;

		/* a standby reports 0 (the family would be missing otherwise) */
		metrics_gauge_set(c->metrics, METRICS_LEADER_STATUS,
				  METRICS_LABELS(cfg->leader_election_id), 0);

		memset(&lc, 0, sizeof(lc));
		lc.ns = cfg->leader_election_namespace;
		lc.name = cfg->leader_election_id;
		lc.identity = c->instance;
		lc.on_started_leading = on_started_leading;
		lc.on_stopped_leading = on_stopped_leading;
		lc.ud = c;
		rc = leader_start(c->kc, &lc, &c->leader);
		if (rc)
			goto out;
	} else {
		on_started_leading(c);
	}

	next_resync = cfg->resync_period_ms > 0 ? clock_mono_ms() + cfg->resync_period_ms : 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		struct timespec ts = { 1, 0 };

		sig = sigtimedwait(&set, NULL, &ts);
		atomic_store(&c->last_loop, (long)(clock_mono_ms() / 1000));
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (next_resync && clock_mono_ms() >= next_resync) {
			log_info("periodic resync", NULL);
			if (atomic_load(&c->leading))
				enqueue_everything(c);
			next_resync = clock_mono_ms() + cfg->resync_period_ms;
		}
	}
	code = atomic_load(&c->fatal) ? 1 : 0;
	log_info(code ? "stopping after losing leadership" : "signal received, stopping", NULL);
out:
	if (rc && !err[0])
		log_error("controller stopped on error", "error", fc_strerror(rc), NULL);
	atomic_store(&c->stopping, 1);
	/* finish the reconciles in flight, then stop */
	if (c->wq)
		workqueue_shutdown(c->wq);
	for (int i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i], NULL);
	if (c->leader)
		leader_stop(c->leader); /* releases the Lease so a standby takes over at once */
	atomic_store(&c->leading, 0);
	informer_free(c->accounts);
	informer_free(c->models);
	informer_free(c->cms);
	httpd_stop(c->httpd);
	leader_free(c->leader);
	workqueue_free(c->wq);
	azure_client_free(c->az);
	azure_auth_free(c->auth);
	kube_client_free(c->kc);
	http_transport_free(c->http);
	if (c->kcfg_loaded)
		kube_config_release(&c->kcfg);
	metrics_free(c->metrics);
	event_dedup_release(&c->events);
	free(c);
	return rc && !code ? 1 : code;
}
