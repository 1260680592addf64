/* azure_catalog.h - pure: one region's model catalog, compact, and the
 * availability rule of DESIGN.md §4 step 2.
 *
 * A catalog is built from the pages of
 *   GET {arm}/subscriptions/S/providers/Microsoft.CognitiveServices/locations/R/models
 * (ARM JSON: {"value": [...], "nextLink": "..."}) and keeps only what the rule
 * needs: kind, model format/name/version, lifecycleStatus,
 * deprecation.inference and each SKU's name and deprecationDate. Strings are
 * interned in one arena (kinds, formats and SKU names repeat a lot) and the
 * entries are sorted by (name, version), so a lookup is a binary search: one
 * catalog serves thousands of lookups cheaply. Unknown fields are ignored; an
 * entry missing model.name or model.version is skipped; a missing kind, format
 * or SKU list simply never matches; an unparsable date counts as absent.
 *
 * No I/O, no clock (now is an argument), no locking: a catalog is built by
 * one thread and may then be read by several at once (lookups do not modify
 * it).
 */
#ifndef FC_AZURE_CATALOG_H
#define FC_AZURE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* "No date" for retirement/deprecation fields. */
#define AZURE_CATALOG_NO_DATE INT64_MIN

/* Bounds: a page or a catalog beyond them is FC_ERR_TOOBIG. */
#define AZURE_CATALOG_MAX_ENTRIES 200000u
#define AZURE_CATALOG_MAX_SKUS_PER_ENTRY 256u
#define AZURE_CATALOG_MAX_ARENA (16u * 1024 * 1024)

/* Size of a formatted time ("2025-11-11T00:00:00Z" plus room), with NUL. */
#define AZURE_CATALOG_TIME_LEN 48
/* Size of the messages in a result, with NUL (longer ones are cut). */
#define AZURE_CATALOG_MSG_MAX 512

/* Parses an RFC 3339 date-time to epoch seconds (UTC): "2025-11-11T00:00:00Z",
 * fractional seconds (truncated), offsets "+05:30"/"-0800"/"Z", 't'/'z'/' '
 * accepted. Leniently, as ARM sometimes writes them: no offset means UTC and a
 * bare date "2025-11-11" means midnight UTC. A leap second (:60) counts as :59.
 * FC_ERR_PARSE for anything else (bad ranges, trailing text, NULL). */
fc_err azure_catalog_time_parse(const char *s, int64_t *out);

/* Formats epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" into out. */
void azure_catalog_time_format(int64_t t, char out[AZURE_CATALOG_TIME_LEN]);

struct azure_catalog;

/* An empty catalog. Caller frees with azure_catalog_free(). */
fc_err azure_catalog_new(struct azure_catalog **out);
void azure_catalog_free(struct azure_catalog *c);

/* Parses one page (len bytes of JSON) and adds its entries. *next_link gets
 * the page's nextLink (caller frees with free()) or NULL when it is the last
 * page. Errors: FC_ERR_PARSE when the body is not JSON or has no `value`
 * array (an empty catalog must not be inferred from a malformed answer),
 * FC_ERR_TOOBIG past the bounds above, FC_ERR_NOMEM. On error the catalog
 * keeps the entries of the earlier pages and *next_link is NULL. */
fc_err azure_catalog_add_page(struct azure_catalog *c, const char *json, size_t len,
			      char **next_link);

/* Number of entries kept, and bytes of memory held (for bench/metrics). */
size_t azure_catalog_count(const struct azure_catalog *c);
size_t azure_catalog_memory(const struct azure_catalog *c);

struct azure_catalog_query {
	const char *kind;      /* the account's ARM kind, e.g. "AIServices" (case-insensitive) */
	const char *format;    /* model.format, or NULL for any (exact) */
	const char *name;      /* model.name (exact) */
	const char *version;   /* model.version (exact) */
	const char *sku;       /* SKU name (case-insensitive) */
	const char *region;    /* only for messages; NULL -> "this region" */
	int64_t now;           /* epoch seconds */
	int64_t warning_s;     /* --retirement-warning in seconds */
};

enum azure_catalog_outcome {
	AZURE_CATALOG_AVAILABLE = 0,
	AZURE_CATALOG_MODEL_NOT_IN_REGION, /* no entry for kind + name + version (+ format) */
	AZURE_CATALOG_SKU_NOT_IN_REGION,   /* the model is there, not with that SKU */
	AZURE_CATALOG_MODEL_RETIRED,       /* the entry exists but the model or SKU is retired */
};

/* Condition reason for an outcome: "ModelAvailable", "ModelNotInRegion",
 * "SkuNotInRegion", "ModelRetired". Static storage. */
const char *azure_catalog_outcome_reason(enum azure_catalog_outcome o);

/* Self-contained (no pointer into the catalog). */
struct azure_catalog_result {
	enum azure_catalog_outcome outcome;
	/* Deprecated=True: lifecycleStatus Deprecating/Deprecated, or a
	 * retirement date within warning_s of now; also set when retired. */
	int deprecated;
	/* AVAILABLE: the earliest future retirement (model deprecation.inference
	 * or the SKU's deprecationDate); RETIRED: the date that passed;
	 * otherwise AZURE_CATALOG_NO_DATE. */
	int64_t retirement;
	char lifecycle[32];                      /* lifecycleStatus as given, or "" */
	char message[AZURE_CATALOG_MSG_MAX];     /* why not available; "" when available */
	char deprecated_message[AZURE_CATALOG_MSG_MAX]; /* "" unless deprecated */
};

/* Applies DESIGN.md §4 step 2 to q. Never fails on content: FC_ERR_INVAL
 * only when a required query field (kind, name, version, sku) is NULL. */
fc_err azure_catalog_lookup(const struct azure_catalog *c, const struct azure_catalog_query *q,
			    struct azure_catalog_result *r);

#endif /* FC_AZURE_CATALOG_H */
