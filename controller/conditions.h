/* conditions.h - metav1.Condition lists and the status objects written back.
 *
 * Pure: the time is an argument (`now`, RFC 3339, e.g. "2026-11-24T07:00:00Z").
 * Every cJSON tree returned is owned by the caller (cJSON_Delete); inputs
 * are borrowed.
 *
 * Status is written only when it changes (DESIGN.md §2): build the new
 * status with conditions_*_status() from the object's current .status, then
 * write it only if !conditions_status_equal(old, new). Because a condition
 * keeps its lastTransitionTime while its status is unchanged, a resync or a
 * restart with nothing new builds a status equal to the stored one.
 */
#ifndef FC_CONDITIONS_H
#define FC_CONDITIONS_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "err.h"
#include "render.h"
#include "spec.h"

/* Builds the metav1.Condition array for conds (in that order):
 *   {type, status, observedGeneration, lastTransitionTime, reason, message}
 * lastTransitionTime is copied from the existing condition of the same type
 * when its status is unchanged, else it is now. existing is the stored
 * .status.conditions (may be NULL or malformed: ignored). Stored conditions
 * of types not in conds are dropped (the controller owns the status). A
 * NULL reason is written as "Unknown"; a NULL message as "". */
fc_err conditions_merge(const struct render_cond *conds, size_t n, const cJSON *existing,
			const char *now, int64_t observed_generation, cJSON **out);

/* The whole .status of a FoundryModel: observedGeneration, deployment,
 * endpoint, publishedKeys, availableRegions, retirementDate, conditions.
 * Absent values (NULL strings, empty lists) are omitted, or written as
 * null when old_status has them (so a merge patch of {"status": ...}
 * removes them). old_status is the object's current .status (may be NULL). */
fc_err conditions_model_status(const struct spec_model *m, const struct render_model_status *rs,
			       const cJSON *old_status, const char *now, cJSON **out);

/* The whole .status of a FoundryAccount: observedGeneration, region,
 * endpoint, kind, conditions. Same rules. */
fc_err conditions_account_status(const struct spec_account *a,
				 const struct render_account_status *rs,
				 const cJSON *old_status, const char *now, cJSON **out);

/* 1 when a and b hold the same status: object key order is ignored,
 * numbers compare by value, arrays by order, and a member that is null, an
 * empty array or an empty object counts as absent. NULL equals an empty
 * status. */
int conditions_status_equal(const cJSON *a, const cJSON *b);

#endif /* FC_CONDITIONS_H */
