#include "conditions.h"

#include <math.h>
#include <string.h>

#include "json.h"

/* The stored condition of this type, or NULL. */
static const cJSON *find_cond(const cJSON *existing, const char *type)
{
	const cJSON *c;

	if (!cJSON_IsArray(existing))
		return NULL;
	cJSON_ArrayForEach(c, existing) {
		const char *t;

		if (json_get_str(c, "type", &t) == FC_OK && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static fc_err add_num(cJSON *obj, const char *key, int64_t v)
{
	return cJSON_AddNumberToObject(obj, key, (double)v) ? FC_OK : FC_ERR_NOMEM;
}

/* An absent value the stored status has is written as null, so that a
 * merge patch removes it (a PUT ignores the null). */
static fc_err add_null_if_stored(cJSON *obj, const char *key, const cJSON *old_status)
{
	if (!json_child(old_status, key))
		return FC_OK;
	return cJSON_AddNullToObject(obj, key) ? FC_OK : FC_ERR_NOMEM;
}

static fc_err add_opt_str(cJSON *obj, const char *key, const char *v, const cJSON *old_status)
{
	return v && *v ? json_add_str(obj, key, v) : add_null_if_stored(obj, key, old_status);
}

fc_err conditions_merge(const struct render_cond *conds, size_t n, const cJSON *existing,
			const char *now, int64_t observed_generation, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray();
	fc_err rc = FC_ERR_NOMEM;

	*out = NULL;
	if (!arr)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct render_cond *c = &conds[i];
		const char *status = cond_status_name(c->status);
		const cJSON *old = find_cond(existing, c->type);
		const char *old_status, *ltt = now;
		cJSON *o = cJSON_CreateObject();

		if (!o) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
		if (old && json_get_str(old, "status", &old_status) == FC_OK &&
		    !strcmp(old_status, status) &&
		    json_get_str(old, "lastTransitionTime", &ltt) == FC_OK && *ltt)
			; /* status unchanged: keep its transition time */
		else
			ltt = now;
		if ((rc = json_add_str(o, "type", c->type)) ||
		    (rc = json_add_str(o, "status", status)) ||
		    (rc = add_num(o, "observedGeneration", observed_generation)) ||
		    (rc = json_add_str(o, "lastTransitionTime", ltt ? ltt : "")) ||
		    (rc = json_add_str(o, "reason", c->reason ? c->reason : "Unknown")) ||
		    (rc = json_add_str(o, "message", c->message ? c->message : "")))
			goto out;
	}
	rc = FC_OK;
out:
	if (rc)
		cJSON_Delete(arr);
	else
		*out = arr;
	return rc;
}

static fc_err add_str_list(cJSON *obj, const char *key, char *const *items, size_t n,
			  const cJSON *old_status)
{
	cJSON *arr;
	fc_err rc;

	if (!n)
		return add_null_if_stored(obj, key, old_status);
	if ((rc = json_add_arr(obj, key, &arr)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = json_create_str(items[i]);

		if (!s)
			return FC_ERR_NOMEM;
		cJSON_AddItemToArray(arr, s);
	}
	return FC_OK;
}

static fc_err add_conditions(cJSON *st, const struct render_cond *conds, size_t n,
			     const cJSON *old_status, const char *now, int64_t gen)
{
	cJSON *arr;
	fc_err rc = conditions_merge(conds, n, json_child(old_status, "conditions"), now, gen, &arr);

	if (rc)
		return rc;
	if (!cJSON_AddItemToObject(st, "conditions", arr)) {
		cJSON_Delete(arr);
		return FC_ERR_NOMEM;
	}
	return FC_OK;
}

fc_err conditions_model_status(const struct spec_model *m, const struct render_model_status *rs,
			       const cJSON *old_status, const char *now, cJSON **out)
{
	cJSON *st = cJSON_CreateObject();
	fc_err rc;

	*out = NULL;
	if (!st)
		return FC_ERR_NOMEM;
	if ((rc = add_num(st, "observedGeneration", m->meta.generation)) ||
	    (rc = add_opt_str(st, "deployment", rs->deployment, old_status)) ||
	    (rc = add_opt_str(st, "endpoint", rs->endpoint, old_status)) ||
	    (rc = add_str_list(st, "publishedKeys", rs->published_keys, rs->npublished, old_status)) ||
	    (rc = add_str_list(st, "availableRegions", rs->available_regions,
			       rs->navailable_regions, old_status)) ||
	    (rc = add_opt_str(st, "retirementDate", rs->retirement_date, old_status)) ||
	    (rc = add_conditions(st, rs->conds, rs->nconds, old_status, now, m->meta.generation))) {
		cJSON_Delete(st);
		return rc;
	}
	*out = st;
	return FC_OK;
}

fc_err conditions_account_status(const struct spec_account *a,
				 const struct render_account_status *rs,
				 const cJSON *old_status, const char *now, cJSON **out)
{
	cJSON *st = cJSON_CreateObject();
	fc_err rc;

	*out = NULL;
	if (!st)
		return FC_ERR_NOMEM;
	if ((rc = add_num(st, "observedGeneration", a->meta.generation)) ||
	    (rc = add_opt_str(st, "region", rs->region, old_status)) ||
	    (rc = add_opt_str(st, "endpoint", rs->endpoint, old_status)) ||
	    (rc = add_opt_str(st, "kind", rs->kind, old_status)) ||
	    (rc = add_conditions(st, rs->conds, rs->nconds, old_status, now, a->meta.generation))) {
		cJSON_Delete(st);
		return rc;
	}
	*out = st;
	return FC_OK;
}

/* null, [] and an object of such members count as absent */
static int is_empty(const cJSON *c)
{
	const cJSON *m;

	if (!c || cJSON_IsNull(c))
		return 1;
	if (cJSON_IsArray(c))
		return !c->child;
	if (!cJSON_IsObject(c))
		return 0;
	for (m = c->child; m; m = m->next)
		if (!is_empty(m))
			return 0;
	return 1;
}

static int equal(const cJSON *a, const cJSON *b);

/* Every non-empty member of a is in b with an equal value. */
static int members_in(const cJSON *a, const cJSON *b)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, a) {
		const cJSON *o;

		if (is_empty(c))
			continue;
		if (!c->string)
			return 0;
		o = cJSON_GetObjectItemCaseSensitive(b, c->string);
		if (is_empty(o) || !equal(c, o))
			return 0;
	}
	return 1;
}

static int equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (is_empty(a) || is_empty(b))
		return is_empty(a) && is_empty(b);
	if ((a->type & 0xff) != (b->type & 0xff)) {
		/* cJSON_False and cJSON_True are different types */
		return 0;
	}
	if (cJSON_IsNumber(a))
		return a->valuedouble == b->valuedouble ||
		       (isnan(a->valuedouble) && isnan(b->valuedouble));
	if (cJSON_IsString(a))
		return a->valuestring && b->valuestring && !strcmp(a->valuestring, b->valuestring);
	if (cJSON_IsObject(a))
		return members_in(a, b) && members_in(b, a);
	if (cJSON_IsArray(a)) {
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!equal(x, y))
				return 0;
		return !x && !y;
	}
	return 1; /* true/false of the same type */
}

int conditions_status_equal(const cJSON *a, const cJSON *b)
{
	return equal(a, b);
}
