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
	const char *reason;     /* static CamelCase reason */
	char *message;          /* owned */
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

/* What Azure said about one model, for one generation. */
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
};

struct render_model_status {
	int published;                 /* this model's spec (current generation) is what the data holds */
	char *endpoint;                /* endpoint published for its keys (or NULL) */
	char *published_keys[SPEC_MAX_KEYS]; size_t npublished;
	struct render_cond conds[8]; size_t nconds; /* Ready first */
	const char *event_reason;      /* suggested event reason or NULL */
	char *conflict_winner;         /* for KeyConflict: the winner's name */
};

struct render_account_status {
	char *endpoint, *region, *kind;
	struct render_cond conds[2]; size_t nconds; /* Ready */
};

struct render_output {
	struct kv *data; size_t ndata;   /* sorted by key, owned */
	char *hash;                       /* hex SHA-256-like hash of data, owned */
	struct render_model_status *models;   /* same index as input.models */
	struct render_account_status *accounts; /* same index as input.accounts */
};

/* Renders one ConfigMap. Caller releases out with render_output_release(). */
fc_err render_configmap(const struct render_input *in, struct render_output *out);
void render_output_release(struct render_output *out);

#endif /* FC_RENDER_H */
