#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct event_dedup_entry {
	struct event_dedup_entry *next;
	char *key;          /* uid "\x1f" reason */
	uint64_t msg_hash;
	uint64_t used;      /* tick of last use, for eviction */
};

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

fc_err event_build(const struct event_ref *ref, const char *type, const char *reason,
		   const char *message, const char *now, const char *instance, cJSON **out)
{
	cJSON *ev = NULL, *meta, *inv, *src;
	char gen[300];

	*out = NULL;
	snprintf(gen, sizeof(gen), "%.250s.", ref->name);
	ev = cJSON_CreateObject();
	if (!ev)
		return FC_ERR_NOMEM;
	if (json_add_str(ev, "apiVersion", "v1") || json_add_str(ev, "kind", "Event") ||
	    json_add_obj(ev, "metadata", &meta) || json_add_str(meta, "generateName", gen) ||
	    json_add_str(meta, "namespace", ref->ns) ||
	    json_add_obj(ev, "involvedObject", &inv) ||
	    json_add_str(inv, "apiVersion", ref->api_version) ||
	    json_add_str(inv, "kind", ref->kind) || json_add_str(inv, "namespace", ref->ns) ||
	    json_add_str(inv, "name", ref->name) ||
	    (ref->uid && json_add_str(inv, "uid", ref->uid)) ||
	    (ref->resource_version && json_add_str(inv, "resourceVersion", ref->resource_version)) ||
	    json_add_str(ev, "reason", reason) || json_add_str(ev, "message", message) ||
	    json_add_str(ev, "type", type) || json_add_obj(ev, "source", &src) ||
	    json_add_str(src, "component", EVENTS_COMPONENT) ||
	    json_add_str(ev, "firstTimestamp", now) || json_add_str(ev, "lastTimestamp", now) ||
	    !cJSON_AddNumberToObject(ev, "count", 1) ||
	    json_add_str(ev, "reportingComponent", EVENTS_COMPONENT) ||
	    json_add_str(ev, "reportingInstance", instance ? instance : EVENTS_COMPONENT)) {
		cJSON_Delete(ev);
		return FC_ERR_NOMEM;
	}
	*out = ev;
	return FC_OK;
}

fc_err event_dedup_init(struct event_dedup *d)
{
	memset(d, 0, sizeof(*d));
	d->nbuckets = 4096;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets)
		return FC_ERR_NOMEM;
	pthread_mutex_init(&d->lock, NULL);
	return FC_OK;
}

void event_dedup_release(struct event_dedup *d)
{
	if (!d->buckets)
		return;
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct event_dedup_entry *e = d->buckets[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->key);
			free(e);
		}
	}
	free(d->buckets);
	d->buckets = NULL;
	pthread_mutex_destroy(&d->lock);
}

/* Drops the least recently used entry (linear scan: rare, bounded table). */
static void evict_oldest(struct event_dedup *d)
{
	struct event_dedup_entry **victim = NULL;

	for (size_t i = 0; i < d->nbuckets; i++)
		for (struct event_dedup_entry **pe = &d->buckets[i]; *pe; pe = &(*pe)->next)
			if (!victim || (*pe)->used < (*victim)->used)
				victim = pe;
	if (victim) {
		struct event_dedup_entry *e = *victim;

		*victim = e->next;
		free(e->key);
		free(e);
		d->count--;
	}
}

int event_dedup_should_emit(struct event_dedup *d, const char *uid, const char *reason,
			    const char *message)
{
	size_t klen = strlen(uid) + 1 + strlen(reason) + 1;
	char *key = malloc(klen);
	uint64_t mh = fnv1a(message, 14695981039346656037ULL);
	struct event_dedup_entry *e;
	size_t b;
	int emit = 1;

	if (!key)
		return 1;
	snprintf(key, klen, "%s\x1f%s", uid, reason);
	b = fnv1a(key, 14695981039346656037ULL) % d->nbuckets;
	pthread_mutex_lock(&d->lock);
	d->tick++;
	for (e = d->buckets[b]; e; e = e->next)
		if (!strcmp(e->key, key))
			break;
	if (e) {
		emit = e->msg_hash != mh;
		e->msg_hash = mh;
		e->used = d->tick;
		free(key);
	} else {
		if (d->count >= EVENTS_DEDUP_MAX)
			evict_oldest(d);
		e = calloc(1, sizeof(*e));
		if (!e) {
			free(key);
		} else {
			e->key = key;
			e->msg_hash = mh;
			e->used = d->tick;
			e->next = d->buckets[b];
			d->buckets[b] = e;
			d->count++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return emit;
}

void event_dedup_forget(struct event_dedup *d, const char *uid)
{
	size_t ulen = strlen(uid);

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct event_dedup_entry **pe = &d->buckets[i];

		while (*pe) {
			struct event_dedup_entry *e = *pe;

			if (!strncmp(e->key, uid, ulen) && e->key[ulen] == '\x1f') {
				*pe = e->next;
				free(e->key);
				free(e);
				d->count--;
			} else {
				pe = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&d->lock);
}
