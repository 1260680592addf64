/* configmap.h - pure helpers for the target ConfigMap (DESIGN.md §3).
 *
 * Ownership comes from server-side apply: the keys this controller owns are
 * those listed under f:data in the managedFields entry of field manager
 * CONFIGMAP_FIELD_MANAGER with operation Apply. Applying the full desired
 * set each time lets the API server remove keys we no longer want, and
 * leaves every key of other managers alone.
 */
#ifndef FC_CONFIGMAP_H
#define FC_CONFIGMAP_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "err.h"
#include "render.h"

#define CONFIGMAP_FIELD_MANAGER "foundry-controller"
#define CONFIGMAP_HASH_ANNOTATION "foundry.aucert.io/config-hash"
#define CONFIGMAP_MANAGED_LABEL "app.kubernetes.io/managed-by"
#define CONFIGMAP_MANAGED_VALUE "foundry-controller"
#define CONFIGMAP_MANAGED_LABEL_SELECTOR "app.kubernetes.io/managed-by=foundry-controller"
/* The API server refuses a ConfigMap whose data and binaryData values
 * pass 1 MiB (422 "Too long: must have at most 1048576 bytes"). The
 * controller counts keys and values against it (configmap_bytes), so what
 * it writes also leaves room for the keys' second copy in managedFields. */
#define CONFIGMAP_MAX_BYTES (1024u * 1024)

/* The controller-owned data of cm (NULL cm: none): each key our manager
 * owns, with its current value (a key owned but absent from data is skipped).
 * *out sorted by key; caller frees with kv_array_free(*out, *n). */
fc_err configmap_owned(const cJSON *cm, const char *manager, struct kv **out, size_t *n);

void kv_array_free(struct kv *a, size_t n);

/* Sum of the key and value lengths of a[0..n). */
size_t kv_array_bytes(const struct kv *a, size_t n);

/* The bytes of cm's data that are not in owned (sorted by key, as
 * configmap_owned gives it): key and value lengths of every other data
 * entry, plus binaryData keys and decoded values. 0 for a NULL cm. With
 * kv_array_bytes of the desired data it is the size the ConfigMap would
 * have after an apply. */
size_t configmap_other_bytes(const cJSON *cm, const struct kv *owned, size_t nowned);

/* The data keys of cm that field managers other than `manager` own (any
 * operation), with their manager and current value; a key co-owned by
 * several managers appears once per other manager. Caller frees with
 * foreign_keys_free(*out, *n). */
fc_err configmap_foreign(const cJSON *cm, const char *manager, struct foreign_key **out, size_t *n);
void foreign_keys_free(struct foreign_key *a, size_t n);

/* 1 when a write is needed: cm missing, owned key set or any value differs
 * from desired, hash annotation differs, or our label is missing. */
int configmap_needs_write(const cJSON *cm, const char *manager,
			  const struct kv *desired, size_t ndesired, const char *hash);

/* The server-side apply body (JSON, which is YAML) for ns/name carrying
 * exactly desired + hash annotation + managed-by label. Caller frees.
 * FC_ERR_TOOBIG when the values of desired alone pass CONFIGMAP_MAX_BYTES
 * (the API server would refuse it whatever else the ConfigMap holds). */
fc_err configmap_apply_body(const char *ns, const char *name,
			    const struct kv *desired, size_t ndesired,
			    const char *hash, char **out);

/* The same with metadata.resourceVersion = resource_version (when not NULL
 * or ""): the API server then applies it only to that version of the
 * ConfigMap (409 Conflict otherwise), so a body computed from a stale copy
 * (a kept last-known-good value read from a cache that has not seen the
 * last write yet) can never overwrite a newer one. */
fc_err configmap_apply_body_at(const char *ns, const char *name, const char *resource_version,
			       const struct kv *desired, size_t ndesired,
			       const char *hash, char **out);

/* Short description of a change for the reconcile log line, e.g.
 * "+FOUNDRY_DEPLOYMENT_ANALYSIS ~FOUNDRY_DEPLOYMENT_GENERATION -FOUNDRY_ENDPOINT_X",
 * at most CONFIGMAP_DIFF_MAX bytes: keys past it are counted, "(+N more)".
 * Caller frees (NULL on NOMEM). "none" when nothing changes. */
#define CONFIGMAP_DIFF_MAX 4096u
char *configmap_diff_summary(const struct kv *before, size_t nbefore,
			     const struct kv *after, size_t nafter);

#endif /* FC_CONFIGMAP_H */
