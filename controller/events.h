/* events.h - core/v1 Events: building them (pure) and deduplicating them.
 *
 * An event is emitted for an object only when its (reason, message) differs
 * from the last one emitted for that object and reason, so a resync or a
 * retry loop does not produce an event storm. The dedup table is bounded
 * (EVENTS_DEDUP_MAX entries, oldest evicted first) and thread-safe.
 */
#ifndef FC_EVENTS_H
#define FC_EVENTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "err.h"

#define EVENTS_DEDUP_MAX 16384
#define EVENTS_COMPONENT "foundry-controller"

struct event_ref {
	const char *api_version; /* "foundry.aucert.io/v1alpha1" */
	const char *kind;        /* "FoundryModel" */
	const char *ns;
	const char *name;
	const char *uid;
	const char *resource_version; /* may be NULL */
};

/* Builds the Event object (type "Normal" or "Warning") with
 * firstTimestamp = lastTimestamp = now (RFC 3339), count 1, a generateName
 * of "<name>." and source/reportingComponent EVENTS_COMPONENT.
 * Caller frees with cJSON_Delete. */
fc_err event_build(const struct event_ref *ref, const char *type, const char *reason,
		   const char *message, const char *now, const char *instance, cJSON **out);

struct event_dedup_entry;

struct event_dedup {
	pthread_mutex_t lock;
	struct event_dedup_entry **buckets;
	size_t nbuckets;
	size_t count;
	uint64_t tick;
};

fc_err event_dedup_init(struct event_dedup *d);
void event_dedup_release(struct event_dedup *d);

/* 1 if (uid, reason, message) differs from the last recorded for
 * (uid, reason), and records it; 0 if it is a repeat. On NOMEM returns 1
 * (better a duplicate event than a lost one). */
int event_dedup_should_emit(struct event_dedup *d, const char *uid, const char *reason,
			    const char *message);

/* Forgets everything recorded for uid (object deleted). */
void event_dedup_forget(struct event_dedup *d, const char *uid);

#endif /* FC_EVENTS_H */
