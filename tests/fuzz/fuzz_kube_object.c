/* fuzz_kube_object.c - Kubernetes objects and lists as the API server sends
 * them (GET/LIST bodies, watch objects): json_parse, then for the object
 * (or each item of a *List) spec_account_parse, spec_model_parse,
 * conditions_*_status, configmap_owned / configmap_foreign.
 *
 * Properties:
 *   - a status built from the stored one and then rebuilt from itself is
 *     equal to it (DESIGN.md §2: a resync with nothing new writes nothing),
 *     and conditions_status_equal is reflexive on what we build;
 *   - spec_meta_older is antisymmetric;
 *   - configmap_owned returns its keys sorted;
 *   - every string of a status we build is valid UTF-8 (an object whose
 *     strings are not is cleaned as the API server would: json_utf8_clean,
 *     which is valid, idempotent and the identity on valid text).
 */
#include <string.h>

#include "conditions.h"
#include "configmap.h"
#include "fuzz.h"
#include "json.h"
#include "render.h"
#include "spec.h"

#define NOW1 "2026-11-24T07:00:00Z"
#define NOW2 "2026-11-25T08:30:00Z"

static char msg_ok[] = "ok";

/* Every string we would send is valid UTF-8, so the API server stores it
 * byte for byte and the next resync finds it equal (not a U+FFFD copy). */
static void check_utf8(const cJSON *j)
{
	for (; j; j = j->next) {
		if (j->string)
			FUZZ_CHECK(json_utf8_valid(j->string));
		if (cJSON_IsString(j))
			FUZZ_CHECK(json_utf8_valid(j->valuestring));
		check_utf8(j->child);
	}
}

/* json_utf8_clean: valid, idempotent, the identity on valid text. */
static void check_clean(const cJSON *j)
{
	for (; j; j = j->next) {
		if (cJSON_IsString(j)) {
			char *c = json_utf8_clean(j->valuestring), *c2;

			if (c) {
				FUZZ_CHECK(json_utf8_valid(c));
				FUZZ_CHECK(!json_utf8_valid(j->valuestring) || !strcmp(c, j->valuestring));
				c2 = json_utf8_clean(c);
				FUZZ_CHECK(!c2 || !strcmp(c, c2));
				free(c2);
				free(c);
			}
		}
		check_clean(j->child);
	}
}

static void check_resync(const cJSON *st1, const cJSON *st2)
{
	check_utf8(st1->child);
	check_utf8(st2->child);
	FUZZ_CHECK(conditions_status_equal(st1, st1));
	FUZZ_CHECK(conditions_status_equal(st2, st2));
	FUZZ_CHECK(conditions_status_equal(st1, st2));
	FUZZ_CHECK(conditions_status_equal(st2, st1));
}

static void account(const cJSON *obj, struct spec_meta *meta_out, int *have)
{
	struct spec_account a;
	struct render_account_status rs;
	cJSON *st1 = NULL, *st2 = NULL;
	const cJSON *old = json_child(obj, "status");

	memset(&a, 0, sizeof(a));
	if (spec_account_parse(obj, &a) == FC_OK) {
		FUZZ_CHECK(a.meta.name && a.meta.ns && *a.meta.name && *a.meta.ns);
		FUZZ_CHECK(a.account_name);
		memset(&rs, 0, sizeof(rs));
		rs.usable = !a.invalid;
		rs.endpoint = a.endpoint ? a.endpoint : a.status_endpoint;
		rs.region = a.region ? a.region : a.status_region;
		rs.kind = a.status_kind;
		rs.conds[0].type = "Ready";
		rs.conds[0].status = a.invalid ? COND_FALSE : COND_TRUE;
		rs.conds[0].reason = a.invalid ? "InvalidSpec" : "AccountReady";
		rs.conds[0].message = a.invalid ? a.invalid : msg_ok;
		rs.nconds = 1;
		if (conditions_account_status(&a, &rs, old, NOW1, &st1) == FC_OK &&
		    conditions_account_status(&a, &rs, st1, NOW2, &st2) == FC_OK)
			check_resync(st1, st2);
		(void)conditions_status_equal(old, st1);
		if (!*have) {
			/* keep one meta to compare with the model's */
			meta_out->name = a.meta.name;
			meta_out->ns = a.meta.ns;
			meta_out->creation_timestamp = a.meta.creation_timestamp;
			a.meta.name = a.meta.ns = a.meta.creation_timestamp = NULL;
			*have = 1;
		}
	}
	cJSON_Delete(st1);
	cJSON_Delete(st2);
	spec_account_release(&a);
}

static void model(const cJSON *obj, const struct spec_meta *other, int have_other)
{
	static const struct spec_defaults def = {"llm-config", VALIDATION_ENFORCE};
	struct spec_model m;
	struct render_model_status rs;
	cJSON *st1 = NULL, *st2 = NULL;
	const cJSON *old = json_child(obj, "status");

	memset(&m, 0, sizeof(m));
	if (spec_model_parse(obj, &def, &m) == FC_OK) {
		FUZZ_CHECK(m.meta.name && m.meta.ns);
		FUZZ_CHECK(m.nkeys <= SPEC_MAX_KEYS && m.npublished <= SPEC_MAX_KEYS);
		for (size_t i = 0; i < m.nkeys; i++)
			FUZZ_CHECK(spec_key_valid(m.keys[i]));
		for (size_t i = 0; i < m.npublished; i++)
			FUZZ_CHECK(spec_key_valid(m.published_keys[i]));
		FUZZ_CHECK(m.invalid || (m.configmap && m.deployment && m.model_name &&
					 m.model_version && m.sku && m.account_ref));
		FUZZ_CHECK(spec_meta_older(&m.meta, &m.meta) == 0);
		if (have_other)
			FUZZ_CHECK(spec_meta_older(&m.meta, other) == -spec_meta_older(other, &m.meta));
		memset(&rs, 0, sizeof(rs));
		rs.deployment = m.deployment;
		rs.npublished = m.nkeys;
		memcpy(rs.published_keys, m.keys, sizeof(rs.published_keys));
		rs.available_regions = m.status_available_regions;
		rs.navailable_regions = m.nstatus_available_regions;
		rs.retirement_date = m.status_retirement_date;
		rs.conds[0].type = "Ready";
		rs.conds[0].status = m.invalid ? COND_FALSE : COND_TRUE;
		rs.conds[0].reason = m.invalid ? "InvalidSpec" : "Published";
		rs.conds[0].message = m.invalid ? m.invalid : msg_ok;
		rs.conds[1].type = "RegionAvailable";
		rs.conds[1].status = m.stored_region.known
					     ? (m.stored_region.is_true ? COND_TRUE : COND_FALSE)
					     : COND_UNKNOWN;
		rs.conds[1].reason = m.stored_region.reason;
		rs.conds[1].message = m.stored_region.message;
		rs.conds[2].type = "Deprecated";
		rs.conds[2].status = m.stored_deprecated.known
					     ? (m.stored_deprecated.is_true ? COND_TRUE : COND_FALSE)
					     : COND_UNKNOWN;
		rs.conds[2].reason = m.stored_deprecated.reason;
		rs.conds[2].message = m.stored_deprecated.message;
		rs.nconds = 3;
		if (conditions_model_status(&m, &rs, old, NOW1, &st1) == FC_OK &&
		    conditions_model_status(&m, &rs, st1, NOW2, &st2) == FC_OK)
			check_resync(st1, st2);
		(void)conditions_status_equal(old, st1);
		(void)conditions_status_equal(st1, old);
	}
	cJSON_Delete(st1);
	cJSON_Delete(st2);
	spec_model_release(&m);
}

static void configmap(const cJSON *obj)
{
	struct kv *owned = NULL;
	struct foreign_key *foreign = NULL;
	size_t nowned = 0, nforeign = 0;
	const char *hash = NULL;
	const cJSON *ann = json_path(obj, "metadata.annotations");
	const cJSON *h = json_child(ann, CONFIGMAP_HASH_ANNOTATION);

	if (cJSON_IsString(h))
		hash = h->valuestring;
	if (configmap_owned(obj, CONFIGMAP_FIELD_MANAGER, &owned, &nowned) == FC_OK) {
		for (size_t i = 0; i < nowned; i++) {
			FUZZ_CHECK(owned[i].key && owned[i].value);
			if (i)
				FUZZ_CHECK(strcmp(owned[i - 1].key, owned[i].key) <= 0);
		}
		(void)configmap_needs_write(obj, CONFIGMAP_FIELD_MANAGER, owned, nowned,
					    hash ? hash : "");
		free(configmap_diff_summary(owned, nowned, NULL, 0));
	}
	if (configmap_foreign(obj, CONFIGMAP_FIELD_MANAGER, &foreign, &nforeign) == FC_OK) {
		for (size_t i = 0; i < nforeign; i++)
			FUZZ_CHECK(foreign[i].key && foreign[i].manager);
	}
	kv_array_free(owned, nowned);
	foreign_keys_free(foreign, nforeign);
}

static void one(const cJSON *obj)
{
	struct spec_meta acct_meta;
	int have = 0;

	memset(&acct_meta, 0, sizeof(acct_meta));
	account(obj, &acct_meta, &have);
	model(obj, &acct_meta, have);
	configmap(obj);
	free(acct_meta.name);
	free(acct_meta.ns);
	free(acct_meta.creation_timestamp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = NULL;
	const cJSON *items, *it;
	const char *kind;

	fuzz_quiet_log();
	if (json_parse((const char *)data, size, &root))
		return 0;
	check_clean(root);
	kind = json_str_or(root, "kind", "");
	if (strlen(kind) >= 4 && !strcmp(kind + strlen(kind) - 4, "List") &&
	    json_get_arr(root, "items", &items) == FC_OK) {
		cJSON_ArrayForEach(it, items)
			one(it);
	} else {
		one(root);
	}
	cJSON_Delete(root);
	return 0;
}
