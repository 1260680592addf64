/* spec.h - FoundryAccount and FoundryModel as the controller reads them.
 *
 * Parsed from the API objects (cJSON) with the controller's defaults applied
 * (the CRD schema has no defaults, so Argo CD sees no drift):
 *   account.account_name <- metadata.name, model.deployment <- model.name,
 *   model.configmap <- default_configmap, model.validation <- default_validation.
 * Checks the schema cannot express are done here too; a spec that fails them
 * is still returned, with `invalid` holding the human message (InvalidSpec).
 * Pure: no I/O. All strings owned by the struct.
 */
#ifndef FC_SPEC_H
#define FC_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "err.h"

#define SPEC_MAX_KEYS 16
#define SPEC_FINALIZER "foundry.aucert.io/finalizer"
#define SPEC_GROUP "foundry.aucert.io"
#define SPEC_VERSION "v1alpha1"

enum validation_mode {
	VALIDATION_ENFORCE = 0,
	VALIDATION_WARN,
	VALIDATION_SKIP,
};

/* "Enforce"/"Warn"/"Skip" (case-insensitive; also "enforce|warn|off" as the
 * --azure-validation flag spells them, "off" == Skip). */
fc_err spec_parse_validation(const char *s, enum validation_mode *out);
const char *spec_validation_name(enum validation_mode m); /* "Enforce"... */

struct spec_meta {
	char *ns;
	char *name;
	char *uid;
	char *resource_version;
	char *creation_timestamp; /* RFC 3339, as the API server writes it */
	int64_t generation;
	int deleting;             /* metadata.deletionTimestamp is set */
	int has_finalizer;        /* SPEC_FINALIZER in metadata.finalizers */
};

struct spec_account {
	struct spec_meta meta;
	char *subscription_id;
	char *resource_group;
	char *account_name;   /* defaulted to meta.name */
	int primary;
	char *region;         /* spec.region or NULL */
	char *endpoint;       /* spec.endpoint or NULL */
	char *invalid;        /* NULL when valid, else the InvalidSpec message */
	/* from .status (last known, used when Azure cannot be asked) */
	char *status_endpoint;
	char *status_region;
	char *status_kind;
};

/* A condition as stored in .status, kept only when it was written for the
 * object's current metadata.generation (status.observedGeneration and the
 * condition's observedGeneration, when present, equal it) and its status is
 * True or False: a verdict obtained earlier for this generation, which
 * stands while Azure cannot be asked (DESIGN.md §2). */
struct spec_stored_cond {
	int known;            /* 1: status True/False for the current generation */
	int is_true;
	char *reason;         /* NULL unless known */
	char *message;        /* NULL unless known (may be NULL if known) */
};

struct spec_model {
	struct spec_meta meta;
	char *account_ref;
	char *model_format;   /* NULL when not given */
	char *model_name;
	char *model_version;
	char *sku;
	char *deployment;     /* defaulted to model_name */
	char *keys[SPEC_MAX_KEYS];
	size_t nkeys;
	char *configmap;      /* defaulted to the controller's --configmap-name */
	enum validation_mode validation; /* defaulted to the controller flag */
	char *invalid;        /* NULL when valid, else the InvalidSpec message */
	/* from .status: what is currently published (last known good) */
	char *published_keys[SPEC_MAX_KEYS];
	size_t npublished;
	int64_t status_observed_generation;
	/* from .status, only when written for the current generation */
	struct spec_stored_cond stored_region;     /* RegionAvailable */
	struct spec_stored_cond stored_deployment; /* DeploymentReady */
	struct spec_stored_cond stored_deprecated; /* Deprecated */
	char *status_retirement_date;
	char **status_available_regions;
	size_t nstatus_available_regions;
};

struct spec_defaults {
	const char *configmap;               /* e.g. "llm-config" */
	enum validation_mode validation;     /* from --azure-validation */
};

/* Parses a FoundryAccount object. Returns FC_ERR_PARSE only when the object
 * is unusable (no metadata object, no metadata.name, or a namespace that is
 * not a string); a missing or empty namespace is "default" (manifests read
 * by `verify`/`render`). Every rule of the CRD schema (required, types,
 * patterns, lengths) and the checks the schema cannot express are applied;
 * problems go to acc->invalid as "path: what is wrong" joined by "; ", and
 * the struct is still filled as far as possible. Malformed status fields are
 * ignored. FC_ERR_NOMEM on allocation failure, with acc released. Caller
 * releases with spec_account_release() (also after an error: no-op). */
fc_err spec_account_parse(const cJSON *obj, struct spec_account *acc);
void spec_account_release(struct spec_account *acc);

/* Same contract for a FoundryModel. def may be NULL ("llm-config",
 * Enforce). spec.validation must be spelled as the schema's enum
 * (Enforce|Warn|Skip, case-sensitive); other spellings are InvalidSpec.
 * A deployment defaulted from model.name that is not a valid deployment
 * name is InvalidSpec ("set spec.deployment"). keys holds the valid,
 * distinct keys (at most SPEC_MAX_KEYS); published_keys the valid,
 * distinct keys of status.publishedKeys. */
fc_err spec_model_parse(const cJSON *obj, const struct spec_defaults *def,
			struct spec_model *m);
void spec_model_release(struct spec_model *m);

/* Older first: creationTimestamp (parsed as RFC 3339, so offsets and
 * fractions compare correctly), then name, then namespace (the conflict
 * rule). An object without a parseable creationTimestamp counts as the
 * newest. Returns -1, 0 or 1. */
int spec_meta_older(const struct spec_meta *a, const struct spec_meta *b);

/* 1 if key matches ^[A-Z][A-Z0-9_]{0,62}$. */
int spec_key_valid(const char *key);

#endif /* FC_SPEC_H */
