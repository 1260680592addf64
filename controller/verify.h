/* verify.h - the logic of `foundry-controller verify` and `render`
 * (DESIGN.md §5), over manifests loaded by manifest.h.
 *
 * Only objects with apiVersion foundry.aucert.io/v1alpha1 and kind
 * FoundryAccount or FoundryModel are looked at; everything else (Namespace,
 * ConfigMap, ...) is ignored. Objects are parsed with spec.h, so the same
 * defaults and schema rules as the controller apply (a missing namespace is
 * "default"). An object defined twice (same kind, namespace and name): the
 * last one wins, as with `kubectl apply`, and a warning names both places.
 *
 * verify: one row per FoundryModel, sorted by namespace then name, checked
 * as the controller checks it (azure_client.h: the account, then the model,
 * the deployment only with check_deployments). The first that applies:
 *   spec fails the schema (spec_model_parse's `invalid`)
 *                         unknown      InvalidSpec        the problems
 *   account not in the manifests (same namespace)
 *                         unknown      AccountNotFound    "FoundryAccount X is not in
 *                                                         the given manifests"
 *   account spec invalid  unknown      InvalidSpec        "FoundryAccount X: ..."
 *   validation Skip (spec.validation, or --azure-validation=off, or no
 *   azure_client)         skipped      ValidationSkipped  nothing is asked of Azure
 *   account check False   unavailable  AccountNotFound / AccountNotReady (ARM's answer)
 *   account check Unknown unknown      AzureUnreachable / AzureThrottled / AzureForbidden
 *   region check False    unavailable  ModelNotInRegion / SkuNotInRegion / ModelRetired;
 *                                      HINT "offered in eastus2, southcentralus" when
 *                                      --suggest-regions found some, else the reason
 *   region check Unknown  unknown      Azure*
 *   deployment False      unavailable  DeploymentNotFound / DeploymentNotSucceeded
 *   deployment Unknown    unknown      Azure*
 *   otherwise             available    Published; HINT the deprecation ("... retires on
 *                                      DATE") and the consolidation hint, if any
 * Then, as the controller's render_configmap() decides them among the rows
 * that are available or skipped: KeyConflict (two models claim a key of one
 * ConfigMap; without creationTimestamps in the manifests the older is the
 * one whose name sorts first) and PrimaryConflict (a model on a second
 * primary account) make the row unavailable with render's message as HINT.
 * The verdict does not depend on spec.validation Enforce or Warn: verify
 * reports what Azure offers (Warn only changes what the controller
 * publishes).
 * An invalid FoundryAccount or a Foundry object without metadata.name is an
 * error of the run (exit 2) even when no row shows it.
 *
 * render: the ConfigMaps the controller would write for these manifests with
 * --azure-validation=off (nothing is asked of Azure; an account needs
 * spec.endpoint): one per (namespace, ConfigMap) that gets at least one key
 * (the controller does not create an empty one), sorted, each the
 * server-side apply body of configmap.h as YAML.
 */
#ifndef FC_VERIFY_H
#define FC_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "azure_auth.h"
#include "azure_client.h"
#include "buf.h"
#include "err.h"
#include "manifest.h"
#include "spec.h"

/* Largest output of the formatters and of render. */
#define VERIFY_MAX_OUTPUT (64u * 1024 * 1024)

enum verify_verdict {
	VERIFY_AVAILABLE = 0,
	VERIFY_UNAVAILABLE,
	VERIFY_UNKNOWN,
	VERIFY_SKIPPED,
};

/* "available", "unavailable", "unknown", "skipped". Static storage. */
const char *verify_verdict_name(enum verify_verdict v);

/* Every string is owned by the row; NULL means "not known / not given". */
struct verify_row {
	char *ns;
	char *name;
	char *model;                /* spec.model.name */
	char *version;              /* spec.model.version */
	char *sku;                  /* spec.sku.name */
	char *account;              /* spec.accountRef.name */
	char *region;               /* ARM's location, else the account's spec.region */
	enum verify_verdict verdict;
	char *reason;               /* condition reason (DESIGN.md §2), never NULL */
	char *hint;
	char **available_regions;   /* --suggest-regions offering the model, may be 0 */
	size_t navailable_regions;
	char *file;                 /* where the FoundryModel is defined */
	int line;
};

/* Owned message list ("FILE:LINE: ..."), printed by the caller. */
struct verify_msgs {
	char **v;
	size_t n;
};

struct verify_result {
	struct verify_row *rows;
	size_t nrows;
	struct verify_msgs errors;    /* problems that fail the run (exit 2) */
	struct verify_msgs warnings;  /* informational */
};

struct verify_options {
	enum validation_mode default_validation; /* --azure-validation (SKIP: ask nothing) */
	const char *default_configmap;           /* NULL: "llm-config" (for KeyConflict) */
	int check_deployments;                   /* --check-deployments */
	int64_t now;                             /* epoch seconds for retirement; 0: the client's clock */
	/* When set, one token is requested before the first Azure call; if that
	 * fails verify_run() stops with FC_ERR_AUTH (credentials unusable). */
	struct azure_auth *auth;
};

/* Checks every FoundryModel of docs. ac may be NULL (then every row that
 * would ask Azure is skipped, as with --azure-validation=off); borrowed.
 * Returns FC_OK (then out is filled; release it with
 * verify_result_release()), FC_ERR_AUTH with a message in err, or
 * FC_ERR_NOMEM. */
fc_err verify_run(const struct manifest_set *docs, struct azure_client *ac,
		  const struct verify_options *opt, struct verify_result *out, char *err,
		  size_t errlen);
void verify_result_release(struct verify_result *r);

/* DESIGN.md §5: 2 if any row is unknown or r has errors, else 1 if any row
 * is unavailable, else 0 (skipped counts as fine). */
int verify_exit_code(const struct verify_result *r);

/* kubectl-style table: a header line NAMESPACE NAME MODEL VERSION SKU
 * ACCOUNT REGION VERDICT REASON HINT, columns as wide as their widest cell
 * (in characters) separated by two spaces, "<none>" for an unknown value,
 * control characters shown as spaces, no trailing blanks. Nothing at all
 * for no rows. Appends to out. */
fc_err verify_format_table(const struct verify_row *rows, size_t n, struct buf *out);

/* One JSON object per line: namespace, name, model, version, sku, account,
 * region, verdict, reason, hint (null when unknown) and availableRegions
 * (an array, possibly empty). Appends to out. */
fc_err verify_format_json(const struct verify_row *rows, size_t n, struct buf *out);

struct verify_render_result {
	char *yaml;                  /* "---\n" + document per ConfigMap; "" for none; owned */
	size_t nconfigmaps;
	struct verify_msgs errors;   /* invalid specs: the caller exits 2 and prints nothing */
	struct verify_msgs warnings; /* accounts without spec.endpoint, conflicts, ... */
};

/* Renders the ConfigMaps of docs (see above) with render_configmap(), the
 * controller's own code. default_configmap NULL: "llm-config". FC_OK or
 * FC_ERR_NOMEM / FC_ERR_TOOBIG (a ConfigMap over the 1 MiB limit; err
 * says which). Release out with verify_render_result_release(). */
fc_err verify_render(const struct manifest_set *docs, const char *default_configmap,
		     struct verify_render_result *out, char *err, size_t errlen);
void verify_render_result_release(struct verify_render_result *r);

void verify_msgs_release(struct verify_msgs *m);

#endif /* FC_VERIFY_H */
