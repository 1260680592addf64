/* frozen.h - immutable cJSON trees that share their identical parts.
 *
 * A tree from cJSON_Parse costs one malloc per node and one per string:
 * a 1.6 KB FoundryModel with its status takes about 9 KB, and a cache of
 * 10,000 of them about 90 MB. Most of it repeats from object to object:
 * keys, apiVersion, spec.model, conditions written in the same second.
 *
 * frozen_new() copies a tree into a process-wide pool where
 *   - every string (keys and values) is stored once (interned);
 *   - every child list (the members of an object, the items of an array,
 *     with their own children) is stored once (hash-consed): two objects
 *     with the same members, in the same order, point at the same nodes.
 * Only the root node is the tree's own. The same model then takes about
 * 2.5 KB, less the more alike the objects are.
 *
 * The nodes are ordinary cJSON nodes without cJSON_IsReference or
 * cJSON_StringIsConst, linked as cJSON links siblings, so every cJSON
 * reader works, and cJSON_Duplicate() makes an ordinary (modifiable) deep
 * copy. A frozen tree is shared between threads and with other trees: it
 * must never be modified, nor passed to cJSON_Delete or to any cJSON
 * function that detaches, replaces or adds items, and nodes must not be
 * compared by address across trees. frozen_unref() releases it when its
 * last reference goes.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef FC_FROZEN_H
#define FC_FROZEN_H

#include <cjson/cJSON.h>

/* A frozen copy of tree (its siblings are not copied) holding one
 * reference, or NULL on NOMEM (or when tree is NULL). tree is borrowed
 * and unchanged. */
const cJSON *frozen_new(const cJSON *tree);

/* Takes another reference on a frozen tree; returns it. f must be a root
 * returned by frozen_new (FC_BUG otherwise). NULL is a no-op. */
const cJSON *frozen_ref(const cJSON *f);

/* Drops a reference; the last one releases the tree. NULL is a no-op. */
void frozen_unref(const cJSON *f);

#endif /* FC_FROZEN_H */
