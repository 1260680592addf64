#include "informer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "frozen.h"
#include "json.h"
#include "log.h"

#define RV_MAX 256
#define KEY_MAX 512
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
/* a watch that ends sooner than this without an event counts as a failure
 * (so a server that closes watches at once cannot make us spin) */
#define WATCH_MIN_OK_MS 1000L

/* ---- store: "ns/name" -> object ---------------------------------------- */

struct entry {
	char *key;
	const cJSON *obj; /* a frozen object: one reference */
	struct entry *next;
};

struct table {
	struct entry **b;
	size_t nb;      /* power of two */
	size_t count;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static fc_err table_init(struct table *t)
{
	t->nb = 64;
	t->count = 0;
	t->b = calloc(t->nb, sizeof(*t->b));
	return t->b ? FC_OK : FC_ERR_NOMEM;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; t->b && i < t->nb; i++) {
		struct entry *e = t->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->key);
			frozen_unref(e->obj);
			free(e);
		}
	}
	free(t->b);
	t->b = NULL;
	t->nb = 0;
	t->count = 0;
}

static struct entry *table_find(const struct table *t, const char *key)
{
	struct entry *e;

	if (!t->b)
		return NULL;
	for (e = t->b[hash_key(key) & (t->nb - 1)]; e; e = e->next) {
		if (!strcmp(e->key, key))
			return e;
	}
	return NULL;
}

static void table_grow(struct table *t)
{
	size_t nb = t->nb * 2;
	struct entry **b;

	if (nb < t->nb)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* stay at the current size: slower, still correct */
	for (size_t i = 0; i < t->nb; i++) {
		struct entry *e = t->b[i], *n;

		for (; e; e = n) {
			size_t j = hash_key(e->key) & (nb - 1);

			n = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

/* Stores obj (its reference taken) under key; the object it replaces goes
 * to *old (caller unrefs), NULL if new. On NOMEM obj is still taken. */
static fc_err table_put(struct table *t, const char *key, const cJSON *obj, const cJSON **old)
{
	struct entry *e = table_find(t, key);
	size_t i;

	*old = NULL;
	if (e) {
		*old = e->obj;
		e->obj = obj;
		return FC_OK;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		frozen_unref(obj);
		return FC_ERR_NOMEM;
	}
	e->obj = obj;
	if (t->count >= t->nb)
		table_grow(t);
	i = hash_key(key) & (t->nb - 1);
	e->next = t->b[i];
	t->b[i] = e;
	t->count++;
	return FC_OK;
}

/* Removes key; its object (caller unrefs) or NULL. */
static const cJSON *table_remove(struct table *t, const char *key)
{
	struct entry **pp, *e;
	const cJSON *obj;

	if (!t->b)
		return NULL;
	for (pp = &t->b[hash_key(key) & (t->nb - 1)]; (e = *pp) != NULL; pp = &e->next) {
		if (!strcmp(e->key, key)) {
			*pp = e->next;
			obj = e->obj;
			free(e->key);
			free(e);
			t->count--;
			return obj;
		}
	}
	return NULL;
}

/* ---- the informer ------------------------------------------------------ */

struct informer {
	struct kube_client *kc;
	struct informer_handlers h;
	char *name;               /* for logs: "group/plural" */
	char *path;               /* collection path with the selector query */
	long watch_timeout_s, backoff_min_ms, backoff_max_ms, unreachable_max_ms, page_size;
	int keep_managed_fields;

	pthread_rwlock_t store_lock;
	struct table store;       /* written by the informer thread only */

	pthread_mutex_t mu;       /* guards the fields below */
	pthread_cond_t cv;
	int started, stopping, joined, synced;
	char rv[RV_MAX];
	pthread_t thread;

	volatile int cancel;      /* read by the transport while watching */
	unsigned seed;
	unsigned long watch_events;
};

static long now_ms(void)
{
	return (long)clock_mono_ms();
}

void informer_strip(cJSON *obj, int keep_managed_fields)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *ann;

	if (!meta)
		return;
	if (!keep_managed_fields)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	if (ann && cJSON_IsObject(ann))
		cJSON_DeleteItemFromObjectCaseSensitive(ann, LAST_APPLIED);
}

/* "ns/name" or "name". */
static fc_err make_key(const char *ns, const char *name, char *out, size_t outlen)
{
	int n;

	if (!name || !*name)
		return FC_ERR_PARSE;
	if (ns && *ns)
		n = snprintf(out, outlen, "%s/%s", ns, name);
	else
		n = snprintf(out, outlen, "%s", name);
	return n < 0 || (size_t)n >= outlen ? FC_ERR_TOOBIG : FC_OK;
}

static fc_err object_key(const cJSON *obj, char *out, size_t outlen)
{
	return make_key(json_str_or(obj, "metadata.namespace", NULL),
			json_str_or(obj, "metadata.name", NULL), out, outlen);
}

static const char *object_rv(const cJSON *obj)
{
	return json_str_or(obj, "metadata.resourceVersion", "");
}

static void set_rv(struct informer *inf, const char *rv)
{
	if (!rv || !*rv || strlen(rv) >= RV_MAX)
		return;
	pthread_mutex_lock(&inf->mu);
	snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
	pthread_mutex_unlock(&inf->mu);
}

static int stopping(struct informer *inf)
{
	int s;

	pthread_mutex_lock(&inf->mu);
	s = inf->stopping;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

/* Sleeps ms or until stopped. 1 if stopped. */
static int sleep_or_stop(struct informer *inf, long ms)
{
	struct timespec ts;
	int s;

	clock_deadline(CLOCK_MONOTONIC, ms, &ts);
	pthread_mutex_lock(&inf->mu);
	while (!inf->stopping) {
		if (pthread_cond_timedwait(&inf->cv, &inf->mu, &ts))
			break;
	}
	s = inf->stopping;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

/* backoff/2 + random [0, backoff/2] */
static long jitter(struct informer *inf, long backoff)
{
	return backoff / 2 + (long)(rand_r(&inf->seed) % (unsigned)(backoff / 2 + 1));
}

/* ---- watch events ------------------------------------------------------ */

static fc_err on_event(void *ud, const char *type, cJSON **object)
{
	struct informer *inf = ud;
	cJSON *obj = *object;
	const cJSON *old = NULL, *stored;
	char key[KEY_MAX];
	const char *rv = object_rv(obj);
	fc_err rc;

	inf->watch_events++;
	if (!strcmp(type, "BOOKMARK")) {
		set_rv(inf, rv);
		return FC_OK;
	}
	rc = object_key(obj, key, sizeof(key));
	if (rc) {
		log_warn("watch event without a usable name, ignored", "informer", inf->name,
			 "type", type, NULL);
		set_rv(inf, rv);
		return FC_OK;
	}
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		informer_strip(obj, inf->keep_managed_fields);
		stored = frozen_new(obj);
		if (!stored)
			return FC_ERR_NOMEM; /* the watch ends, the informer relists */
		pthread_rwlock_wrlock(&inf->store_lock);
		rc = table_put(&inf->store, key, stored, &old);
		pthread_rwlock_unlock(&inf->store_lock);
		if (rc)
			return rc;
		set_rv(inf, object_rv(stored));
		if (old) {
			if (strcmp(object_rv(old), object_rv(stored)) && inf->h.on_update)
				inf->h.on_update(inf->h.ud, old, stored);
			frozen_unref(old);
		} else if (inf->h.on_add) {
			inf->h.on_add(inf->h.ud, stored);
		}
		return FC_OK;
	}
	if (!strcmp(type, "DELETED")) {
		informer_strip(obj, inf->keep_managed_fields);
		pthread_rwlock_wrlock(&inf->store_lock);
		old = table_remove(&inf->store, key);
		pthread_rwlock_unlock(&inf->store_lock);
		set_rv(inf, rv);
		if (inf->h.on_delete)
			inf->h.on_delete(inf->h.ud, obj);
		frozen_unref(old);
		return FC_OK;
	}
	log_debug("unknown watch event type, ignored", "informer", inf->name, "type", type, NULL);
	return FC_OK;
}

/* ---- list -------------------------------------------------------------- */

struct list_ctx {
	struct informer *inf;
	struct table fresh;
	char rv[RV_MAX];
};

/* Fills in apiVersion and kind ("FooList" -> "Foo") when an item lacks them. */
static fc_err add_type(cJSON *item, const cJSON *page)
{
	const char *api = json_str_or(page, "apiVersion", NULL);
	const char *kind = json_str_or(page, "kind", NULL);
	char k[256];
	size_t n;

	if (api && !cJSON_GetObjectItemCaseSensitive(item, "apiVersion") &&
	    !cJSON_AddStringToObject(item, "apiVersion", api))
		return FC_ERR_NOMEM;
	if (kind && !cJSON_GetObjectItemCaseSensitive(item, "kind")) {
		n = strlen(kind);
		if (n > 4 && n - 4 < sizeof(k) && !strcmp(kind + n - 4, "List")) {
			memcpy(k, kind, n - 4);
			k[n - 4] = '\0';
			if (!cJSON_AddStringToObject(item, "kind", k))
				return FC_ERR_NOMEM;
		}
	}
	return FC_OK;
}

static fc_err on_page(void *ud, cJSON *page)
{
	struct list_ctx *lc = ud;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items"), *it;
	const cJSON *stored, *old;
	const char *rv = json_str_or(page, "metadata.resourceVersion", "");
	char key[KEY_MAX];
	fc_err rc;

	if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items))
		return FC_ERR_PARSE;
	if (strlen(rv) < sizeof(lc->rv))
		snprintf(lc->rv, sizeof(lc->rv), "%s", rv);
	while (items && cJSON_IsArray(items) && (it = cJSON_DetachItemFromArray(items, 0)) != NULL) {
		if (!cJSON_IsObject(it) || object_key(it, key, sizeof(key))) {
			cJSON_Delete(it);
			continue;
		}
		informer_strip(it, lc->inf->keep_managed_fields);
		rc = add_type(it, page);
		stored = rc ? NULL : frozen_new(it);
		cJSON_Delete(it);
		if (!stored)
			return rc ? rc : FC_ERR_NOMEM;
		rc = table_put(&lc->fresh, key, stored, &old);
		frozen_unref(old);
		if (rc)
			return rc;
	}
	return FC_OK;
}

/* Lists, swaps the store and emits the differences. st receives the
 * list's HTTP status and message. */
static fc_err relist(struct informer *inf, struct kube_status *st)
{
	struct list_ctx lc;
	struct table old;
	fc_err rc;

	lc.inf = inf;
	lc.rv[0] = '\0';
	st->message[0] = '\0';
	st->http_status = 0;
	rc = table_init(&lc.fresh);
	if (rc)
		return rc;
	rc = kube_list_pages(inf->kc, inf->path, inf->page_size, on_page, &lc, st);
	if (rc) {
		if (rc != FC_ERR_CANCELLED) {
			char code[24];

			snprintf(code, sizeof(code), "%ld", st->http_status);
			log_warn("list failed", "informer", inf->name, "err", fc_strerror(rc),
				 "status", code, "message", st->message, NULL);
		}
		table_release(&lc.fresh);
		return rc;
	}
	if (!lc.rv[0]) {
		log_warn("list without a resourceVersion", "informer", inf->name, NULL);
		table_release(&lc.fresh);
		return FC_ERR_PARSE;
	}
	pthread_rwlock_wrlock(&inf->store_lock);
	old = inf->store;
	inf->store = lc.fresh;
	pthread_rwlock_unlock(&inf->store_lock);
	set_rv(inf, lc.rv);

	/* differences, with no lock held: only this thread writes the store */
	for (size_t i = 0; i < inf->store.nb; i++) {
		for (struct entry *e = inf->store.b[i]; e; e = e->next) {
			struct entry *o = table_find(&old, e->key);

			if (!o) {
				if (inf->h.on_add)
					inf->h.on_add(inf->h.ud, e->obj);
			} else if (strcmp(object_rv(o->obj), object_rv(e->obj))) {
				if (inf->h.on_update)
					inf->h.on_update(inf->h.ud, o->obj, e->obj);
			}
		}
	}
	for (size_t i = 0; i < old.nb; i++) {
		for (struct entry *o = old.b[i]; o; o = o->next) {
			if (!table_find(&inf->store, o->key) && inf->h.on_delete)
				inf->h.on_delete(inf->h.ud, o->obj);
		}
	}
	table_release(&old);
	log_debug("listed", "informer", inf->name, "resourceVersion", lc.rv, NULL);

	pthread_mutex_lock(&inf->mu);
	inf->synced = 1;
	pthread_cond_broadcast(&inf->cv);
	pthread_mutex_unlock(&inf->mu);
	if (inf->h.on_synced)
		inf->h.on_synced(inf->h.ud);
	return FC_OK;
}

/* ---- the thread -------------------------------------------------------- */

/* The connection failed, not the server: no answer at all (refused,
 * reset, connect timeout: the API server is down or restarting) or a
 * stream broken on the way (a proxy or load balancer cut it). An answered
 * error (403, 429, 5xx...) is the server's. */
static int transport_failure(fc_err rc)
{
	return rc == FC_ERR_IO || rc == FC_ERR_TIMEOUT;
}

/* The (jittered) delay before the next attempt; doubles *backoff for the
 * one after, up to backoff_max_ms, or up to unreachable_max_ms after a
 * transport failure: a connection attempt where nobody listens costs the
 * server nothing, and a restarted API server is then seen within about
 * that long instead of a full backoff cap later. */
static long next_delay(struct informer *inf, long *backoff, int transport)
{
	long cap = inf->backoff_max_ms, d;

	if (transport && cap > inf->unreachable_max_ms)
		cap = inf->unreachable_max_ms;
	if (*backoff > cap)
		*backoff = cap;
	d = jitter(inf, *backoff);
	*backoff = *backoff * 2 > cap ? cap : *backoff * 2;
	return d;
}

/* The backoff goes back to backoff_min_ms only when a watch has worked:
 * delivered an event or stayed up (2xx) for WATCH_MIN_OK_MS. A list that
 * works does not reset it, or a watch the server refuses every time (403
 * with list allowed, a 410 on the version just listed) would relist in a
 * tight loop. */
static void *run(void *arg)
{
	struct informer *inf = arg;
	struct kube_status st;
	char rv[RV_MAX];
	long backoff = inf->backoff_min_ms, t0, timeout;
	int need_list = 1, just_listed, worked;
	fc_err rc;

	while (!stopping(inf)) {
		just_listed = 0;
		if (need_list) {
			rc = relist(inf, &st);
			if (rc) {
				if (stopping(inf) ||
				    sleep_or_stop(inf, next_delay(inf, &backoff, transport_failure(rc))))
					break;
				continue;
			}
			need_list = 0;
			just_listed = 1;
		}
		informer_resource_version(inf, rv, sizeof(rv));
		timeout = inf->watch_timeout_s +
			  (long)(rand_r(&inf->seed) % (unsigned)inf->watch_timeout_s);
		inf->watch_events = 0;
		t0 = now_ms();
		rc = kube_watch(inf->kc, inf->path, rv, timeout, on_event, inf, &inf->cancel, &st);
		if (stopping(inf))
			break;
		/* an answer that took long is not a watch that stayed up */
		worked = inf->watch_events > 0 ||
			 (st.http_status / 100 == 2 && now_ms() - t0 >= WATCH_MIN_OK_MS);
		if (worked)
			backoff = inf->backoff_min_ms;
		if (rc == FC_OK) {
			if (worked)
				continue;
			log_debug("watch ended at once", "informer", inf->name, NULL);
		} else if (rc == FC_ERR_GONE) {
			log_info("resourceVersion too old, relisting", "informer", inf->name,
				 "resourceVersion", rv, NULL);
			need_list = 1;
			if (!just_listed || worked)
				continue;
			/* too old already on the version the list just gave:
			 * relisting at once would loop */
		} else {
			char code[24];

			snprintf(code, sizeof(code), "%ld", st.http_status);
			log_warn("watch failed", "informer", inf->name, "err", fc_strerror(rc),
				 "status", code, "message", st.message, NULL);
			if (!fc_err_is_transient(rc) || rc == FC_ERR_NOMEM)
				need_list = 1;
		}
		if (sleep_or_stop(inf, next_delay(inf, &backoff, transport_failure(rc))))
			break;
	}
	return NULL;
}

/* ---- API --------------------------------------------------------------- */

static fc_err build_path(struct informer *inf, const struct informer_opts *o)
{
	char p[KUBE_PATH_MAX];
	struct buf b;
	fc_err rc;
	char sep = '?';

	rc = kube_path(p, sizeof(p), o->group, o->version, o->ns, o->plural, NULL, NULL);
	if (rc)
		return rc;
	buf_init(&b, 8192);
	rc = buf_append_str(&b, p);
	if (!rc && o->label_selector && *o->label_selector) {
		rc = buf_appendf(&b, "%clabelSelector=", sep);
		sep = '&';
		if (!rc)
			rc = kube_url_escape(&b, o->label_selector);
	}
	if (!rc && o->field_selector && *o->field_selector) {
		rc = buf_appendf(&b, "%cfieldSelector=", sep);
		if (!rc)
			rc = kube_url_escape(&b, o->field_selector);
	}
	if (!rc) {
		inf->path = buf_take(&b);
		if (!inf->path)
			rc = FC_ERR_NOMEM;
	}
	buf_release(&b);
	return rc;
}

fc_err informer_new(struct kube_client *kc, const struct informer_opts *opts,
		    const struct informer_handlers *h, struct informer **out)
{
	struct informer *inf = NULL;
	pthread_condattr_t ca;
	char name[256];
	fc_err rc;

	*out = NULL;
	if (!kc || !opts || !opts->version || !opts->plural)
		return FC_ERR_INVAL;
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return FC_ERR_NOMEM;
	inf->kc = kc;
	if (h)
		inf->h = *h;
	inf->watch_timeout_s = opts->watch_timeout_s > 0 ? opts->watch_timeout_s
							 : INFORMER_WATCH_TIMEOUT_S;
	inf->backoff_min_ms = opts->backoff_min_ms > 0 ? opts->backoff_min_ms
						       : INFORMER_BACKOFF_MIN_MS;
	inf->backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms
						       : INFORMER_BACKOFF_MAX_MS;
	if (inf->backoff_max_ms < inf->backoff_min_ms)
		inf->backoff_max_ms = inf->backoff_min_ms;
	inf->unreachable_max_ms = opts->unreachable_max_ms > 0 ? opts->unreachable_max_ms
							       : INFORMER_UNREACHABLE_MAX_MS;
	inf->page_size = opts->page_size;
	inf->keep_managed_fields = opts->keep_managed_fields;
	inf->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)inf;
	pthread_rwlock_init(&inf->store_lock, NULL);
	pthread_mutex_init(&inf->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&inf->cv, &ca);
	pthread_condattr_destroy(&ca);

	snprintf(name, sizeof(name), "%s%s%s%s%s", opts->group && *opts->group ? opts->group : "",
		 opts->group && *opts->group ? "/" : "", opts->plural,
		 opts->ns && *opts->ns ? " in " : "", opts->ns && *opts->ns ? opts->ns : "");
	inf->name = strdup(name);
	if (!inf->name) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	rc = build_path(inf, opts);
	if (rc)
		goto out;
	rc = table_init(&inf->store);
	if (rc)
		goto out;
	*out = inf;
	inf = NULL;
out:
	informer_free(inf);
	return rc;
}

fc_err informer_start(struct informer *inf)
{
	fc_err rc = FC_OK;

	pthread_mutex_lock(&inf->mu);
	if (inf->started) {
		rc = FC_ERR_STATE;
		goto out;
	}
	if (pthread_create(&inf->thread, NULL, run, inf)) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	inf->started = 1;
out:
	pthread_mutex_unlock(&inf->mu);
	return rc;
}

void informer_stop(struct informer *inf)
{
	int join;

	pthread_mutex_lock(&inf->mu);
	inf->stopping = 1;
	__atomic_store_n(&inf->cancel, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&inf->cv);
	join = inf->started && !inf->joined;
	inf->joined = inf->joined || inf->started;
	pthread_mutex_unlock(&inf->mu);
	if (join)
		pthread_join(inf->thread, NULL);
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	table_release(&inf->store);
	pthread_cond_destroy(&inf->cv);
	pthread_mutex_destroy(&inf->mu);
	pthread_rwlock_destroy(&inf->store_lock);
	free(inf->path);
	free(inf->name);
	free(inf);
}

int informer_synced(struct informer *inf)
{
	int s;

	pthread_mutex_lock(&inf->mu);
	s = inf->synced;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

fc_err informer_wait_synced(struct informer *inf, long timeout_ms)
{
	struct timespec ts;
	fc_err rc = FC_OK;

	clock_deadline(CLOCK_MONOTONIC, timeout_ms, &ts); /* unused when timeout_ms < 0 */
	pthread_mutex_lock(&inf->mu);
	while (!inf->synced && !inf->stopping) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&inf->cv, &inf->mu);
		} else if (pthread_cond_timedwait(&inf->cv, &inf->mu, &ts)) {
			break;
		}
	}
	if (!inf->synced)
		rc = inf->stopping ? FC_ERR_CANCELLED : FC_ERR_TIMEOUT;
	pthread_mutex_unlock(&inf->mu);
	return rc;
}

fc_err informer_get(struct informer *inf, const char *ns, const char *name, cJSON **out)
{
	const cJSON *obj;
	fc_err rc;

	*out = NULL;
	rc = informer_get_ref(inf, ns, name, &obj);
	if (rc)
		return rc;
	*out = cJSON_Duplicate(obj, 1);
	frozen_unref(obj);
	return *out ? FC_OK : FC_ERR_NOMEM;
}

fc_err informer_get_ref(struct informer *inf, const char *ns, const char *name, const cJSON **out)
{
	char key[KEY_MAX];
	struct entry *e;
	fc_err rc;

	*out = NULL;
	rc = make_key(ns, name, key, sizeof(key));
	if (rc)
		return rc == FC_ERR_PARSE ? FC_ERR_INVAL : rc;
	pthread_rwlock_rdlock(&inf->store_lock);
	e = table_find(&inf->store, key);
	if (e)
		*out = frozen_ref(e->obj);
	pthread_rwlock_unlock(&inf->store_lock);
	return e ? FC_OK : FC_ERR_NOTFOUND;
}

fc_err informer_each(struct informer *inf, informer_each_fn fn, void *ud)
{
	fc_err rc = FC_OK;

	pthread_rwlock_rdlock(&inf->store_lock);
	for (size_t i = 0; !rc && i < inf->store.nb; i++) {
		for (struct entry *e = inf->store.b[i]; !rc && e; e = e->next)
			rc = fn(ud, e->obj);
	}
	pthread_rwlock_unlock(&inf->store_lock);
	return rc;
}

size_t informer_count(struct informer *inf)
{
	size_t n;

	pthread_rwlock_rdlock(&inf->store_lock);
	n = inf->store.count;
	pthread_rwlock_unlock(&inf->store_lock);
	return n;
}

void informer_resource_version(struct informer *inf, char *out, size_t outlen)
{
	if (!outlen)
		return;
	pthread_mutex_lock(&inf->mu);
	snprintf(out, outlen, "%s", inf->rv);
	pthread_mutex_unlock(&inf->mu);
}
