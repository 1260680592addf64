/* render.h - pure: accounts + models + verdicts -> ConfigMap data + status.
 *
 * One call renders one target ConfigMap (namespace + name). No I/O, no
 * clock: everything is an argument. This is the seam where the Azure
 * verdict plugs in: the caller (reconcile) gets verdicts from azure_client
 * (or synthesises them when validation is off/Skip) and passes them here.
 *
 * Keys (DESIGN.md §3):
 *   FOUNDRY_ENDPOINT           primary account endpoint (primary exists, Ready)
 *   FOUNDRY_DEPLOYMENT_<KEY>   model deployment, per key of a published model
 *   FOUNDRY_ENDPOINT_<KEY>     model's account endpoint, only if not primary
 *
 * Last known good: a model that is not publishable now (Enforce and a
 * failing/unknown verdict, account missing or not ready, ...) but has
 * published_keys in its status keeps the values the current ConfigMap
 * holds for those keys (FOUNDRY_DEPLOYMENT_<K> and FOUNDRY_ENDPOINT_<K>).
 * A model being deleted (meta.deleting) contributes nothing.
 */
#ifndef FC_RENDER_H
#define FC_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spec.h"

enum cond_status { COND_UNKNOWN = 0, COND_TRUE, COND_FALSE };
const char *cond_status_name(enum cond_status s); /* "True"/"False"/"Unknown" */

/* One condition as computed now; the caller merges it with the stored
 * conditions to keep lastTransitionTime (see conditions.h). */
struct render_cond {
	const char *type;       /* static: "Ready", "RegionAvailable", ... */
	enum cond_status status;
	const char *reason;     /* CamelCase; static, or borrowed from the render
				 * input (a verdict's reason, a stored condition's
				 * reason): valid while the input is */
	char *message;          /* owned; never NULL in render output */
};

/* A check's outcome, as azure_client (or the skip logic) reports it. */
struct check {
	enum cond_status status; /* True ok, False verdict against, Unknown not known */
	const char *reason;      /* static: e.g. "ModelNotInRegion", "AzureThrottled" */
	char *message;           /* owned; may be NULL */
};

/* What Azure said about one account (or what the spec implies when
 * validation is off). ready.status True means usable: endpoint is set. */
struct account_verdict {
	struct check ready;      /* reasons: AccountReady, AccountNotFound, AccountNotReady, Azure* */
	char *endpoint;          /* resolved per DESIGN.md §4 step 1, owned, may be NULL */
	char *region;
	char *kind;
};

/* What Azure said about one model, for one generation.
 * A check that could not be made (Azure failed) is Unknown with the Azure
 * reason; render then falls back to the stored verdict for the current
 * generation (spec_model.stored_*), DESIGN.md §2. skipped: nothing was
 * asked (validation off); the model is then treated as Skip whatever its
 * spec.validation says. */
struct model_verdict {
	int64_t generation;      /* the spec generation this verdict is for */
	int skipped;             /* validation Skip/off: nothing was asked */
	struct check region;     /* RegionAvailable: ModelNotInRegion, SkuNotInRegion, ModelRetired */
	struct check deployment; /* DeploymentReady: DeploymentNotFound, DeploymentNotSucceeded */
	struct check deprecated; /* Deprecated: True when deprecating / retiring soon */
	char *retirement_date;   /* RFC 3339 or NULL */
	char **available_regions; size_t navailable_regions;
	char *consolidation;     /* non-NULL: message for ConsolidationPossible */
};

void check_release(struct check *c);
void account_verdict_release(struct account_verdict *v);
void model_verdict_release(struct model_verdict *v);

/* One key/value pair of the rendered data. */
struct kv {
	char *key;
	char *value;
};

/* A ConfigMap key written by another field manager (from managedFields):
 * never changed by us (DESIGN.md §3). */
struct foreign_key {
	char *key;      /* full key, e.g. "FOUNDRY_DEPLOYMENT_GENERATION" */
	char *manager;  /* e.g. "kubectl-create" */
	char *value;    /* its current value, or NULL */
};

struct render_input {
	const char *ns;
	const char *configmap;       /* the target ConfigMap name */
	const char *default_configmap; /* --configmap-name: FOUNDRY_ENDPOINT goes to it and to every target */
	/* all accounts of the namespace, with their verdicts (same index);
	 * a NULL verdict means "not known yet" */
	const struct spec_account *accounts; size_t naccounts;
	const struct account_verdict *const *account_verdicts;
	/* the models of the namespace that target this ConfigMap */
	const struct spec_model *models; size_t nmodels;
	const struct model_verdict *const *model_verdicts; /* NULL entry: unknown */
	/* the controller-owned data currently in the ConfigMap (for last known good) */
	const struct kv *current; size_t ncurrent;
	/* keys other managers own in the ConfigMap: a model that would write
	 * a different value to one of them loses with KeyConflict naming the
	 * manager; FOUNDRY_ENDPOINT is then not written either */
	const struct foreign_key *foreign; size_t nforeign;
	/* Models held back (same index as models; NULL: none). A held model
	 * that is not being deleted is not publishable now, whatever its
	 * verdict: it gets the blocking issue held_reason (static, e.g.
	 * "ConfigMapTooLarge") with held_message (borrowed) on Ready and
	 * Published, and keeps its last known good values. reconcile holds
	 * back the models whose change the API server cannot take (the
	 * ConfigMap would pass its size limit, or it refused the write). */
	const unsigned char *held;
	const char *held_reason;
	const char *held_message;
};
/* account_verdicts and model_verdicts may themselves be NULL (all unknown).
 * The caller passes only models whose configmap is in.configmap; render does
 * not filter them. */

struct render_model_status {
	int published;                 /* this model's spec (current generation) is what the data holds */
	int last_known_good;           /* not publishable; the data keeps its earlier values */
	char *endpoint;                /* endpoint applications use for its keys (or NULL) */
	char *published_keys[SPEC_MAX_KEYS]; size_t npublished; /* sorted */
	struct render_cond conds[8]; size_t nconds; /* Ready, RegionAvailable, DeploymentReady,
						       Published, Deprecated (deleting: Ready, Published) */
	const char *event_reason;      /* suggested event reason or NULL:
					  "ConsolidationPossible", else "Deprecated" */
	char *event_message;           /* owned, with event_reason */
	char *conflict_winner;         /* for KeyConflict: the winner's name */
	/* for status (conditions.h): spec.deployment or model.name, and the
	 * verdict's (or the stored) availableRegions / retirementDate */
	char *deployment;
	char **available_regions; size_t navailable_regions;
	char *retirement_date;
};

struct render_account_status {
	int usable;                    /* its endpoint may be published */
	int primary;                   /* THE primary of the namespace */
	char *endpoint, *region, *kind;
	struct render_cond conds[2]; size_t nconds; /* Ready */
};

struct render_output {
	struct kv *data; size_t ndata;   /* sorted by key, owned */
	char *hash;                       /* hex SHA-256 of the "key=value\n" lines of data */
	struct render_model_status *models; size_t nmodels;     /* same index as input.models */
	struct render_account_status *accounts; size_t naccounts; /* same index as input.accounts */
};

/* Renders one ConfigMap. Deterministic: the same input gives the same
 * output, whatever the order of accounts and models.
 *
 * Decisions where DESIGN.md is silent:
 * - Primary: among accounts with primary=true that are not being deleted,
 *   the oldest (spec_meta_older) is THE primary, whatever its readiness.
 *   The others get Ready=False PrimaryConflict naming it; they stay usable
 *   as non-primary accounts, so their models are published with
 *   FOUNDRY_ENDPOINT_<KEY>; such a model gets Ready=False PrimaryConflict
 *   (Published=True) so the misconfiguration shows.
 * - Account usable: verdict ready True with an endpoint; or verdict NULL /
 *   Unknown (Azure failed) and a status.endpoint known (last known good,
 *   Ready=True AccountReady). InvalidSpec, being deleted, verdict False:
 *   not usable.
 * - FOUNDRY_ENDPOINT is written into every ConfigMap rendered for the
 *   namespace when THE primary is usable.
 * - Publishable (current generation): not deleting, valid spec, account
 *   found and usable, and by validation mode: Skip (or skipped verdict)
 *   always; Warn always (failures are reported, Ready=True Published with
 *   the warnings in its message); Enforce when RegionAvailable and
 *   DeploymentReady are both True for the current generation (fresh
 *   verdict, else the stored verdict). No verdict known -> Ready=Unknown
 *   ValidationPending; Azure failed and nothing known -> Ready=False with
 *   the Azure reason.
 * - Key conflicts: models are taken oldest first; a model claims its spec
 *   keys when publishable, else the keys it keeps as last known good. A model
 *   whose claim meets a key already taken loses as a whole (all-or-nothing,
 *   so a multi-key switch stays atomic): it publishes nothing, not even its
 *   last known good, and gets KeyConflict naming the older model.
 * - Last known good keeps, for each key of status.publishedKeys whose
 *   FOUNDRY_DEPLOYMENT_<KEY> is in in.current, that value and
 *   FOUNDRY_ENDPOINT_<KEY> if present; publishedKeys then lists exactly the
 *   kept keys. Published=False with the blocking reason.
 * - Output holds only controller-owned keys; the caller applies them with
 *   its field manager, so foreign keys are never touched.
 * Caller releases out with render_output_release() (also after an error). */
fc_err render_configmap(const struct render_input *in, struct render_output *out);
void render_output_release(struct render_output *out);

#endif /* FC_RENDER_H */
