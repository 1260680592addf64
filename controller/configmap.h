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
/* The API server's limit for a whole object is 1 MiB; keep a margin. */
#define CONFIGMAP_MAX_DATA (1000u * 1024)

/* The controller-owned data of cm (NULL cm: none): each key our manager
 * owns, with its current value (a key owned but absent from data is skipped).
 * *out sorted by key; caller frees with kv_array_free(*out, *n). */
fc_err configmap_owned(const cJSON *cm, const char *manager, struct kv **out, size_t *n);

void kv_array_free(struct kv *a, size_t n);

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
 * FC_ERR_TOOBIG when the data would exceed CONFIGMAP_MAX_DATA. */
fc_err configmap_apply_body(const char *ns, const char *name,
			    const struct kv *desired, size_t ndesired,
			    const char *hash, char **out);

/* Short description of a change for the reconcile log line, e.g.
 * "+FOUNDRY_DEPLOYMENT_ANALYSIS ~FOUNDRY_DEPLOYMENT_GENERATION -FOUNDRY_ENDPOINT_X".
 * Caller frees. "none" when nothing changes. */
char *configmap_diff_summary(const struct kv *before, size_t nbefore,
			     const struct kv *after, size_t nafter);

#endif /* FC_CONFIGMAP_H */
