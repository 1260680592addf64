/* informer.h - list-then-watch one resource type into a local store.
 *
 * Each informer runs in its own thread: it lists (paginated), replaces its
 * store, then watches from the list's resourceVersion with bookmarks and a
 * jittered timeoutSeconds, re-watching from the last resourceVersion seen.
 * A 410 Gone (HTTP or ERROR event) relists at once (after a backoff if the
 * version the list just gave is already too old); other failures back off
 * exponentially (backoff_min_ms doubling to backoff_max_ms, jittered) before
 * re-watching (transient errors) or relisting (anything else). The backoff
 * resets only once a watch has worked (delivered an event or stayed up a
 * second), never after a mere successful list, so a watch that is refused
 * every time (403) cannot turn into a tight LIST loop. After a transport
 * failure (IO, TIMEOUT: no answer at all because the API server is down or
 * restarting, or a stream cut on the way) the delay is capped at
 * unreachable_max_ms instead: the informer is back within about that long
 * of the server or the network being up again, and an attempt that cannot
 * connect costs the server nothing. Errors the server answers (403, 429,
 * 5xx) back off up to backoff_max_ms.
 *
 * The store is keyed "namespace/name" ("name" for cluster-scoped objects).
 * After a relist the informer compares the new set with its store and emits
 * on_add / on_update (resourceVersion changed) / on_delete itself, so objects
 * created, changed or deleted while disconnected are reported like any
 * other change. Objects are stored without metadata.managedFields (unless
 * keep_managed_fields) and without the kubectl last-applied-configuration
 * annotation; list items get the apiVersion and kind that lists omit.
 *
 * Stored objects are frozen trees (frozen.h): immutable, and sharing their
 * identical parts (strings, members) with each other, which keeps a large
 * cache small. Read them with the cJSON getters; never modify or
 * cJSON_Delete them, nor compare their nodes by address. An object passed
 * by informer_each, on_add or on_update (both objects; not a DELETED
 * event's object) may be kept past the call with frozen_ref() and released
 * with frozen_unref(), even after informer_free(): it stays as it was when
 * lent, whatever the store does meanwhile.
 *
 * Callbacks run on the informer's thread, one at a time, with no lock held:
 * they may call informer_get / informer_each, and should be quick (enqueue
 * a key). Objects passed to them are borrowed for the call.
 *
 * Thread-safety: informer_get, informer_get_ref, informer_each,
 * informer_count, informer_synced and informer_wait_synced may be called
 * from any thread.
 */
#ifndef FC_INFORMER_H
#define FC_INFORMER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "err.h"
#include "kube_client.h"

#define INFORMER_WATCH_TIMEOUT_S 300L
#define INFORMER_BACKOFF_MIN_MS 200L
#define INFORMER_BACKOFF_MAX_MS 30000L
#define INFORMER_UNREACHABLE_MAX_MS 1000L

struct informer_handlers {
	void (*on_add)(void *ud, const cJSON *obj);
	void (*on_update)(void *ud, const cJSON *old_obj, const cJSON *new_obj);
	/* obj is the last state: the DELETED event's object, or the stored one
	 * for a deletion noticed by a relist */
	void (*on_delete)(void *ud, const cJSON *obj);
	/* after each successful (re)list has been applied to the store and its
	 * events emitted; the first call means "synced" */
	void (*on_synced)(void *ud);
	void *ud;
};

struct informer_opts {
	const char *group;          /* "" or NULL for the core group */
	const char *version;        /* "v1" */
	const char *plural;         /* "configmaps" */
	const char *ns;             /* one namespace, or NULL/"" for all */
	const char *label_selector; /* or NULL */
	const char *field_selector; /* or NULL */
	long watch_timeout_s;       /* 0 = INFORMER_WATCH_TIMEOUT_S; each watch asks
				     * for a random value in [t, 2t) */
	long backoff_min_ms;        /* 0 = INFORMER_BACKOFF_MIN_MS */
	long backoff_max_ms;        /* 0 = INFORMER_BACKOFF_MAX_MS */
	long unreachable_max_ms;    /* 0 = INFORMER_UNREACHABLE_MAX_MS: the cap
				     * after transport failures */
	long page_size;             /* 0 = KUBE_LIST_PAGE_SIZE */
	int keep_managed_fields;    /* keep metadata.managedFields */
};

struct informer;

/* Creates a stopped informer. kc is borrowed and must outlive it; the
 * strings of opts and the handlers are copied. Caller frees with
 * informer_free(). Errors: INVAL (missing version/plural, bad names), NOMEM. */
fc_err informer_new(struct kube_client *kc, const struct informer_opts *opts,
		    const struct informer_handlers *h, struct informer **out);

/* Starts the thread. STATE if already started. */
fc_err informer_start(struct informer *inf);

/* Stops the thread (cancelling a watch in flight, within about a second)
 * and joins it. Idempotent; the store stays readable. */
void informer_stop(struct informer *inf);

/* Stops it if running and frees everything. NULL is a no-op. */
void informer_free(struct informer *inf);

/* 1 once the first list has been applied. */
int informer_synced(struct informer *inf);

/* Waits until synced: FC_OK, TIMEOUT after timeout_ms (< 0 = forever), or
 * CANCELLED if the informer is stopped first. */
fc_err informer_wait_synced(struct informer *inf, long timeout_ms);

/* A deep copy of the stored object (caller frees with cJSON_Delete), or
 * NOTFOUND. ns may be NULL or "" for cluster-scoped objects. */
fc_err informer_get(struct informer *inf, const char *ns, const char *name, cJSON **out);

/* The stored object itself, with a reference taken (caller releases it
 * with frozen_unref), or NOTFOUND: no copy, read-only. */
fc_err informer_get_ref(struct informer *inf, const char *ns, const char *name, const cJSON **out);

/* Calls fn for every stored object (borrowed, valid for the call) under
 * the store's read lock, so the informer thread cannot apply events
 * meanwhile: fn should be quick and must not call informer_stop/free.
 * A non-zero return stops the walk and is returned. */
typedef fc_err (*informer_each_fn)(void *ud, const cJSON *obj);
fc_err informer_each(struct informer *inf, informer_each_fn fn, void *ud);

/* Number of stored objects. */
size_t informer_count(struct informer *inf);

/* The last resourceVersion seen into out (outlen bytes; "" before the
 * first list). */
void informer_resource_version(struct informer *inf, char *out, size_t outlen);

/* Drops metadata.managedFields (unless keep_managed_fields) and the
 * kubectl.kubernetes.io/last-applied-configuration annotation, in place. */
void informer_strip(cJSON *obj, int keep_managed_fields);

#endif /* FC_INFORMER_H */
