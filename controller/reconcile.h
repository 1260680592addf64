/* reconcile.h - desired vs actual for one target ConfigMap and its models.
 *
 * reconcile_configmap() is the whole reconcile of one workqueue key
 * (namespace/configmap): it reads a snapshot (objects from the informer
 * caches), asks for verdicts, renders (render.h, pure), and performs the
 * writes through `struct reconcile_ops`, in this order:
 *   1. add the finalizer to live models that lack it;
 *   2. one server-side apply of the ConfigMap, only when its controller-owned
 *      data differs from the desired data (atomic: every changed key at once);
 *      a ConfigMap that would pass the API server's size limit
 *      (CONFIGMAP_MAX_BYTES) is not sent: the newest models whose change
 *      adds bytes are held back until it fits (Ready=False
 *      ConfigMapTooLarge, last known good kept); an apply the server
 *      refuses (422, 413) holds back every changed model (ConfigMapRejected,
 *      or ConfigMapTooLarge when it says so) and returns its error (backoff);
 *   3. status of models (and, for the namespace's default ConfigMap, of its
 *      accounts) where it changed;
 *   4. events (deduplicated);
 *   5. drop the finalizer of deleting models whose keys are gone.
 * It does no I/O itself: ops do, so unit tests hand it fakes. A failed
 * write leaves what the API server has: the next reconcile retries.
 */
#ifndef FC_RECONCILE_H
#define FC_RECONCILE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "err.h"
#include "events.h"
#include "render.h"
#include "spec.h"

struct reconcile_ops {
	void *ud;
	/* Server-side apply of the ConfigMap (JSON body, field manager
	 * foundry-controller, no force: keys of other
	 * managers are never taken over; a 409 is returned as CONFLICT, also
	 * when the ConfigMap changed since the snapshot: the body carries the
	 * snapshot's resourceVersion).
	 * On failure it may copy the API server's message into why (whylen
	 * bytes, NUL-terminated). INVAL (422) and TOOBIG (413) mean the
	 * content is refused: the held-back models' status says so. */
	fc_err (*apply_configmap)(void *ud, const char *ns, const char *name, const char *body,
				  char *why, size_t whylen);
	/* Merge-patch the status subresource: body is {"status": {...}}.
	 * plural is "foundrymodels" or "foundryaccounts". */
	fc_err (*patch_status)(void *ud, const char *plural, const char *ns, const char *name,
			       const char *resource_version, const char *body);
	/* Merge-patch metadata.finalizers to `finalizers` (a JSON array text),
	 * guarded by resource_version (409 on a concurrent change). */
	fc_err (*set_finalizers)(void *ud, const char *ns, const char *name,
				 const char *resource_version, const char *finalizers_json);
	/* Creates a core/v1 Event. Failures are logged, not fatal. */
	fc_err (*create_event)(void *ud, const char *ns, const cJSON *event);
	/* Verdicts. NULL when validation is off for the whole controller.
	 * They report Azure failures inside the verdict (Unknown checks); the
	 * fc_err return is for NOMEM. retry_after_ms > 0 asks for a requeue. */
	fc_err (*check_account)(void *ud, const struct spec_account *acc,
				struct account_verdict *out);
	fc_err (*check_model)(void *ud, const struct spec_model *m, const struct spec_account *acc,
			      const struct account_verdict *acc_v, const struct spec_account *primary,
			      const struct account_verdict *primary_v, struct model_verdict *out,
			      long *retry_after_ms);
	/* Non-zero when the process is shutting down: the reconcile stops
	 * between Azure calls (before any write) with FC_ERR_CANCELLED. May
	 * be NULL. */
	int (*stopping)(void *ud);
	/* RFC 3339 UTC time now, e.g. "2026-11-24T07:00:00Z". */
	void (*now)(void *ud, char *out, size_t n);
};

/* The objects one reconcile looks at; all borrowed for the call. */
struct reconcile_snapshot {
	const char *ns;
	const char *configmap;
	const cJSON *const *accounts; size_t naccounts; /* every FoundryAccount of ns */
	const cJSON *const *models; size_t nmodels;     /* FoundryModels of ns targeting configmap */
	const cJSON *cm;                                /* current ConfigMap, or NULL */
};

struct reconcile_config {
	const char *default_configmap;     /* --configmap-name */
	enum validation_mode default_validation;
	int azure_off;                     /* --azure-validation=off: no ops->check_* */
	const char *instance;              /* reporting instance for events */
};

struct reconcile_stats {
	int wrote_configmap;               /* 1 if an apply was sent */
	int status_writes;                 /* status patches sent */
	char *changes;                     /* e.g. "+FOUNDRY_DEPLOYMENT_X ~Y", caller frees */
	long requeue_after_ms;             /* > 0: reconcile again after this delay */
	int models_ready, models_total;
};

/* Reconciles one ConfigMap. FC_OK when everything was written (or nothing
 * needed writing); an error asks the caller to retry with backoff.
 * Caller frees stats->changes. */
fc_err reconcile_configmap(const struct reconcile_config *cfg, const struct reconcile_ops *ops,
			   struct event_dedup *events, const struct reconcile_snapshot *snap, struct reconcile_stats *stats);

#endif /* FC_RECONCILE_H */
