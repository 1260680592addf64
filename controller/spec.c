#include "spec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "json.h"

/* Upper bound of an InvalidSpec message; later problems are dropped. */
#define INVALID_MAX 8192
#define DEFAULT_CONFIGMAP "llm-config"

fc_err spec_parse_validation(const char *s, enum validation_mode *out)
{
	if (!s)
		return FC_ERR_PARSE;
	if (!strcasecmp(s, "enforce"))
		*out = VALIDATION_ENFORCE;
	else if (!strcasecmp(s, "warn"))
		*out = VALIDATION_WARN;
	else if (!strcasecmp(s, "skip") || !strcasecmp(s, "off"))
		*out = VALIDATION_SKIP;
	else
		return FC_ERR_PARSE;
	return FC_OK;
}

const char *spec_validation_name(enum validation_mode m)
{
	switch (m) {
	case VALIDATION_ENFORCE:
		return "Enforce";
	case VALIDATION_WARN:
		return "Warn";
	case VALIDATION_SKIP:
		return "Skip";
	}
	return "Enforce";
}

/* ---- character classes and shapes (the CRD's OpenAPI rules) ---- */

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length in characters (UTF-8 code points), as OpenAPI minLength/maxLength count. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int spec_key_valid(const char *key)
{
	size_t n;

	if (!key || !(key[0] >= 'A' && key[0] <= 'Z'))
		return 0;
	for (n = 1; key[n]; n++) {
		char c = key[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return n <= 63;
}

/* ^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$ */
static int guid_valid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_hex(s[i])) {
			return 0;
		}
	}
	return 1;
}

/* ^[-\w.()]*[-\w()]$, 1..90 */
static int resource_group_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 90)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(is_alnum(c) || c == '_' || c == '-' || c == '.' || c == '(' || c == ')'))
			return 0;
	}
	return s[n - 1] != '.';
}

/* ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ with min..max characters */
static int azure_name_valid(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max || !is_alnum(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* ^[a-z0-9]+$, 1..64 */
static int region_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]))
			return 0;
	return 1;
}

/* ^https://[^\s]+$, at most 2048 */
static int endpoint_valid(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 || !s[8] || utf8_len(s) > 2048)
		return 0;
	for (const char *p = s + 8; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
			return 0;
	return 1;
}

/* DNS subdomain: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$, 1..253 */
static int dns_subdomain_valid(const char *s)
{
	size_t n = strlen(s);
	size_t label = 0;

	if (n < 1 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(is_lower_alnum(c) || c == '-'))
			return 0;
		if (label == 0 && c == '-')
			return 0;
		label++;
	}
	return label > 0 && s[n - 1] != '-';
}

/* ---- problem collection ---- */

static fc_err problem(struct buf *inv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends one "path: what is wrong" to the InvalidSpec message. Only NOMEM
 * is an error; past INVALID_MAX the rest is dropped. */
static fc_err problem(struct buf *inv, const char *fmt, ...)
{
	struct buf one;
	va_list ap;
	fc_err rc;

	buf_init(&one, INVALID_MAX);
	va_start(ap, fmt);
	rc = buf_vappendf(&one, fmt, ap);
	va_end(ap);
	if (rc == FC_OK && inv->len)
		rc = buf_append_str(inv, "; ");
	if (rc == FC_OK)
		rc = buf_append(inv, one.data, one.len);
	buf_release(&one);
	return rc == FC_ERR_NOMEM ? FC_ERR_NOMEM : FC_OK;
}

/* Copies the string member key of parent into *out. A missing member is a
 * problem when required; a member of another type always is. Returns only
 * FC_OK or FC_ERR_NOMEM. */
static fc_err take_str(const cJSON *parent, const char *key, const char *path,
		       int required, char **out, struct buf *inv)
{
	const cJSON *c = json_child(parent, key);

	*out = NULL;
	if (!c)
		return required ? problem(inv, "%s: required", path) : FC_OK;
	if (!cJSON_IsString(c) || !c->valuestring)
		return problem(inv, "%s: must be a string", path);
	*out = strdup(c->valuestring);
	return *out ? FC_OK : FC_ERR_NOMEM;
}

/* Checks a copied string's length in characters; records a problem. */
static fc_err check_len(const char *s, const char *path, size_t min, size_t max, struct buf *inv)
{
	size_t n;

	if (!s)
		return FC_OK;
	n = utf8_len(s);
	if (n < min)
		return min == 1 ? problem(inv, "%s: must not be empty", path)
				: problem(inv, "%s: must be at least %zu characters", path, min);
	if (n > max)
		return problem(inv, "%s: must be at most %zu characters (%zu given)", path, max, n);
	return FC_OK;
}

/* Reads an object member that must be an object when present. Sets *out to
 * NULL (with a problem when required or of another type). */
static fc_err take_obj(const cJSON *parent, const char *key, const char *path,
		       int required, const cJSON **out, struct buf *inv)
{
	const cJSON *c = json_child(parent, key);

	*out = NULL;
	if (!c)
		return required ? problem(inv, "%s: required", path) : FC_OK;
	if (!cJSON_IsObject(c))
		return problem(inv, "%s: must be an object", path);
	*out = c;
	return FC_OK;
}

static fc_err finish_invalid(struct buf *inv, char **out)
{
	*out = NULL;
	if (!inv->len)
		return FC_OK;
	*out = buf_take(inv);
	return *out ? FC_OK : FC_ERR_NOMEM;
}

/* ---- metadata ---- */

static fc_err dup_opt(const cJSON *obj, const char *path, char **out)
{
	const char *s;

	*out = NULL;
	if (json_get_str(obj, path, &s))
		return FC_OK;
	*out = strdup(s);
	return *out ? FC_OK : FC_ERR_NOMEM;
}

static void meta_release(struct spec_meta *m)
{
	free(m->ns);
	free(m->name);
	free(m->uid);
	free(m->resource_version);
	free(m->creation_timestamp);
	memset(m, 0, sizeof(*m));
}

static fc_err meta_parse(const cJSON *obj, struct spec_meta *m)
{
	const cJSON *md, *fin;
	const char *name, *ns = "default";
	fc_err rc;

	if (!obj || json_get_obj(obj, "metadata", &md))
		return FC_ERR_PARSE;
	if (json_get_str(md, "name", &name) || !*name)
		return FC_ERR_PARSE;
	/* a manifest without a namespace (verify, render) is in "default" */
	rc = json_get_str(md, "namespace", &ns);
	if (rc == FC_ERR_PARSE)
		return FC_ERR_PARSE;
	if (rc || !*ns)
		ns = "default";
	m->name = strdup(name);
	m->ns = strdup(ns);
	if (!m->name || !m->ns)
		return FC_ERR_NOMEM;
	if ((rc = dup_opt(md, "uid", &m->uid)) ||
	    (rc = dup_opt(md, "resourceVersion", &m->resource_version)) ||
	    (rc = dup_opt(md, "creationTimestamp", &m->creation_timestamp)))
		return rc;
	if (json_get_int64(md, "generation", &m->generation) || m->generation < 0)
		m->generation = 0;
	m->deleting = json_child(md, "deletionTimestamp") != NULL;
	fin = json_child(md, "finalizers");
	if (cJSON_IsArray(fin)) {
		const cJSON *f;

		cJSON_ArrayForEach(f, fin)
			if (cJSON_IsString(f) && f->valuestring && !strcmp(f->valuestring, SPEC_FINALIZER))
				m->has_finalizer = 1;
	}
	return FC_OK;
}

/* ---- FoundryAccount ---- */

static fc_err account_spec(const cJSON *spec, struct spec_account *acc, struct buf *inv)
{
	const cJSON *c;
	fc_err rc;

	if ((rc = take_str(spec, "subscriptionId", "spec.subscriptionId", 1, &acc->subscription_id, inv)))
		return rc;
	if (acc->subscription_id && !guid_valid(acc->subscription_id) &&
	    (rc = problem(inv, "spec.subscriptionId: \"%s\" is not a GUID such as "
			  "00000000-0000-0000-0000-000000000000", acc->subscription_id)))
		return rc;

	if ((rc = take_str(spec, "resourceGroup", "spec.resourceGroup", 1, &acc->resource_group, inv)))
		return rc;
	if (acc->resource_group && !resource_group_valid(acc->resource_group) &&
	    (rc = problem(inv, "spec.resourceGroup: \"%s\" is not a resource group name (1-90 "
			  "letters, digits, '_', '-', '.', '(' or ')', not ending in '.')",
			  acc->resource_group)))
		return rc;

	if ((rc = take_str(spec, "accountName", "spec.accountName", 0, &acc->account_name, inv)))
		return rc;
	if (acc->account_name) {
		if (!azure_name_valid(acc->account_name, 2, 64) &&
		    (rc = problem(inv, "spec.accountName: \"%s\" is not an Azure account name (2-64 "
				  "characters: a letter or digit, then letters, digits, '_', '.' or '-')",
				  acc->account_name)))
			return rc;
	} else if (!json_child(spec, "accountName")) {
		acc->account_name = strdup(acc->meta.name);
		if (!acc->account_name)
			return FC_ERR_NOMEM;
		if (!azure_name_valid(acc->account_name, 2, 64) &&
		    (rc = problem(inv, "spec.accountName: not set, and metadata.name \"%s\" is not an "
				  "Azure account name (2-64 characters: a letter or digit, then letters, "
				  "digits, '_', '.' or '-'); set spec.accountName", acc->account_name)))
			return rc;
	}

	c = json_child(spec, "primary");
	if (c && !cJSON_IsBool(c) &&
	    (rc = problem(inv, "spec.primary: must be a boolean (true or false)")))
		return rc;
	acc->primary = cJSON_IsTrue(c) ? 1 : 0;

	if ((rc = take_str(spec, "region", "spec.region", 0, &acc->region, inv)))
		return rc;
	if (acc->region && !region_valid(acc->region) &&
	    (rc = problem(inv, "spec.region: \"%s\" is not an ARM location name (lowercase letters "
			  "and digits, such as westus or eastus2)", acc->region)))
		return rc;

	if ((rc = take_str(spec, "endpoint", "spec.endpoint", 0, &acc->endpoint, inv)))
		return rc;
	if (acc->endpoint && !endpoint_valid(acc->endpoint) &&
	    (rc = problem(inv, "spec.endpoint: \"%s\" is not an https URL (such as "
			  "https://aucert-ai.openai.azure.com/)", acc->endpoint)))
		return rc;
	return FC_OK;
}

fc_err spec_account_parse(const cJSON *obj, struct spec_account *acc)
{
	const cJSON *spec = NULL;
	struct buf inv;
	fc_err rc;

	memset(acc, 0, sizeof(*acc));
	buf_init(&inv, INVALID_MAX);
	rc = meta_parse(obj, &acc->meta);
	if (rc)
		goto out;
	if ((rc = take_obj(obj, "spec", "spec", 1, &spec, &inv)))
		goto out;
	if (spec && (rc = account_spec(spec, acc, &inv)))
		goto out;
	if (!acc->account_name && !(acc->account_name = strdup(acc->meta.name))) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	if ((rc = dup_opt(obj, "status.endpoint", &acc->status_endpoint)) ||
	    (rc = dup_opt(obj, "status.region", &acc->status_region)) ||
	    (rc = dup_opt(obj, "status.kind", &acc->status_kind)))
		goto out;
	rc = finish_invalid(&inv, &acc->invalid);
out:
	buf_release(&inv);
	if (rc)
		spec_account_release(acc);
	return rc;
}

void spec_account_release(struct spec_account *acc)
{
	if (!acc)
		return;
	meta_release(&acc->meta);
	free(acc->subscription_id);
	free(acc->resource_group);
	free(acc->account_name);
	free(acc->region);
	free(acc->endpoint);
	free(acc->invalid);
	free(acc->status_endpoint);
	free(acc->status_region);
	free(acc->status_kind);
	memset(acc, 0, sizeof(*acc));
}

/* ---- FoundryModel ---- */

static int has_key(char *const *keys, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i], k))
			return 1;
	return 0;
}

static fc_err model_keys(const cJSON *spec, struct spec_model *m, struct buf *inv)
{
	const cJSON *arr = json_child(spec, "keys"), *it;
	size_t i = 0;
	int dup_reported = 0;
	fc_err rc;

	if (!arr)
		return problem(inv, "spec.keys: required (1 to %d keys such as GENERATION)", SPEC_MAX_KEYS);
	if (!cJSON_IsArray(arr))
		return problem(inv, "spec.keys: must be a list of keys such as [GENERATION]");
	if (cJSON_GetArraySize(arr) == 0)
		return problem(inv, "spec.keys: at least one key is required");
	if (cJSON_GetArraySize(arr) > SPEC_MAX_KEYS &&
	    (rc = problem(inv, "spec.keys: at most %d keys (%d given)", SPEC_MAX_KEYS,
			  cJSON_GetArraySize(arr))))
		return rc;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !it->valuestring) {
			rc = problem(inv, "spec.keys[%zu]: must be a string", i);
		} else if (!spec_key_valid(it->valuestring)) {
			rc = problem(inv, "spec.keys[%zu]: \"%s\" is not a key (upper case letters, digits "
				     "and '_', starting with a letter, at most 63 characters)",
				     i, it->valuestring);
		} else if (has_key(m->keys, m->nkeys, it->valuestring)) {
			rc = dup_reported ? FC_OK
				: problem(inv, "spec.keys[%zu]: \"%s\" is listed twice", i, it->valuestring);
			dup_reported = 1;
		} else if (m->nkeys < SPEC_MAX_KEYS) {
			m->keys[m->nkeys] = strdup(it->valuestring);
			rc = m->keys[m->nkeys] ? FC_OK : FC_ERR_NOMEM;
			if (!rc)
				m->nkeys++;
		} else {
			rc = FC_OK;
		}
		if (rc)
			return rc;
		i++;
	}
	return FC_OK;
}

static fc_err model_spec(const cJSON *spec, const struct spec_defaults *def,
			 struct spec_model *m, struct buf *inv)
{
	const cJSON *ref, *model, *sku, *c;
	fc_err rc;

	if ((rc = take_obj(spec, "accountRef", "spec.accountRef", 1, &ref, inv)))
		return rc;
	if (ref) {
		if ((rc = take_str(ref, "name", "spec.accountRef.name", 1, &m->account_ref, inv)))
			return rc;
		if (m->account_ref && !dns_subdomain_valid(m->account_ref) &&
		    (rc = problem(inv, "spec.accountRef.name: \"%s\" is not a FoundryAccount name "
				  "(lower case DNS subdomain)", m->account_ref)))
			return rc;
	}

	if ((rc = take_obj(spec, "model", "spec.model", 1, &model, inv)))
		return rc;
	if (model) {
		if ((rc = take_str(model, "format", "spec.model.format", 0, &m->model_format, inv)) ||
		    (rc = check_len(m->model_format, "spec.model.format", 1, 64, inv)) ||
		    (rc = take_str(model, "name", "spec.model.name", 1, &m->model_name, inv)) ||
		    (rc = check_len(m->model_name, "spec.model.name", 1, 128, inv)))
			return rc;
		c = json_child(model, "version");
		if (cJSON_IsNumber(c))
			rc = problem(inv, "spec.model.version: must be a string; quote it in YAML "
				     "(version: \"2026-03-05\")");
		else if (!(rc = take_str(model, "version", "spec.model.version", 1, &m->model_version, inv)))
			rc = check_len(m->model_version, "spec.model.version", 1, 64, inv);
		if (rc)
			return rc;
	}

	if ((rc = take_obj(spec, "sku", "spec.sku", 1, &sku, inv)))
		return rc;
	if (sku && ((rc = take_str(sku, "name", "spec.sku.name", 1, &m->sku, inv)) ||
		    (rc = check_len(m->sku, "spec.sku.name", 1, 64, inv))))
		return rc;

	if ((rc = take_str(spec, "deployment", "spec.deployment", 0, &m->deployment, inv)))
		return rc;
	if (m->deployment) {
		if (!azure_name_valid(m->deployment, 1, 64) &&
		    (rc = problem(inv, "spec.deployment: \"%s\" is not a deployment name (1-64 characters: "
				  "a letter or digit, then letters, digits, '_', '.' or '-')", m->deployment)))
			return rc;
	} else if (!json_child(spec, "deployment") && m->model_name && *m->model_name) {
		m->deployment = strdup(m->model_name);
		if (!m->deployment)
			return FC_ERR_NOMEM;
		if (!azure_name_valid(m->deployment, 1, 64) &&
		    (rc = problem(inv, "spec.deployment: not set, and model.name \"%s\" is not a deployment "
				  "name (1-64 characters: a letter or digit, then letters, digits, '_', '.' "
				  "or '-'); set spec.deployment", m->deployment)))
			return rc;
	}

	if ((rc = model_keys(spec, m, inv)))
		return rc;

	if ((rc = take_str(spec, "configMap", "spec.configMap", 0, &m->configmap, inv)))
		return rc;
	if (m->configmap && !dns_subdomain_valid(m->configmap) &&
	    (rc = problem(inv, "spec.configMap: \"%s\" is not a ConfigMap name (lower case DNS "
			  "subdomain, at most 253 characters)", m->configmap)))
		return rc;

	c = json_child(spec, "validation");
	if (c) {
		const char *v = cJSON_IsString(c) ? c->valuestring : NULL;

		/* the schema's enum is case-sensitive; the flag's spelling is not */
		if (v && !strcmp(v, "Enforce"))
			m->validation = VALIDATION_ENFORCE;
		else if (v && !strcmp(v, "Warn"))
			m->validation = VALIDATION_WARN;
		else if (v && !strcmp(v, "Skip"))
			m->validation = VALIDATION_SKIP;
		else if ((rc = problem(inv, "spec.validation: must be one of Enforce, Warn, Skip")))
			return rc;
	} else {
		m->validation = def ? def->validation : VALIDATION_ENFORCE;
	}
	return FC_OK;
}

/* Keeps a stored condition of type `type` when it is True/False and was
 * written for generation gen. */
static fc_err stored_cond(const cJSON *conds, const char *type, int64_t gen,
			  struct spec_stored_cond *out)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, conds) {
		const char *t, *st, *reason, *msg = NULL;
		int64_t og;

		if (json_get_str(c, "type", &t) || strcmp(t, type))
			continue;
		if (json_get_str(c, "status", &st) || (strcmp(st, "True") && strcmp(st, "False")))
			return FC_OK;
		if (json_get_str(c, "reason", &reason) || !*reason)
			return FC_OK;
		if (json_get_int64(c, "observedGeneration", &og) == FC_OK && og != gen)
			return FC_OK;
		(void)json_get_str(c, "message", &msg);
		out->reason = strdup(reason);
		out->message = msg ? strdup(msg) : NULL;
		if (!out->reason || (msg && !out->message))
			return FC_ERR_NOMEM;
		out->known = 1;
		out->is_true = !strcmp(st, "True");
		return FC_OK;
	}
	return FC_OK;
}

static void stored_release(struct spec_stored_cond *c)
{
	free(c->reason);
	free(c->message);
	memset(c, 0, sizeof(*c));
}

/* The verdict obtained earlier for the current generation, from .status. */
static fc_err model_stored(const cJSON *obj, struct spec_model *m)
{
	const cJSON *conds = json_path(obj, "status.conditions"), *arr, *it;
	const char *rd;
	size_t n = 0;
	fc_err rc;

	if (m->meta.generation <= 0 || m->status_observed_generation != m->meta.generation)
		return FC_OK;
	if (cJSON_IsArray(conds) &&
	    ((rc = stored_cond(conds, "RegionAvailable", m->meta.generation, &m->stored_region)) ||
	     (rc = stored_cond(conds, "DeploymentReady", m->meta.generation, &m->stored_deployment)) ||
	     (rc = stored_cond(conds, "Deprecated", m->meta.generation, &m->stored_deprecated))))
		return rc;
	if (json_get_str(obj, "status.retirementDate", &rd) == FC_OK &&
	    !(m->status_retirement_date = strdup(rd)))
		return FC_ERR_NOMEM;
	arr = json_path(obj, "status.availableRegions");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return FC_OK;
	m->status_available_regions = calloc((size_t)cJSON_GetArraySize(arr), sizeof(char *));
	if (!m->status_available_regions)
		return FC_ERR_NOMEM;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !it->valuestring)
			continue;
		if (!(m->status_available_regions[n] = strdup(it->valuestring)))
			return FC_ERR_NOMEM;
		m->nstatus_available_regions = ++n;
	}
	return FC_OK;
}

static fc_err model_status(const cJSON *obj, struct spec_model *m)
{
	const cJSON *arr = json_path(obj, "status.publishedKeys"), *it;

	if (json_get_int64(obj, "status.observedGeneration", &m->status_observed_generation))
		m->status_observed_generation = 0;
	if (!cJSON_IsArray(arr))
		return model_stored(obj, m);
	cJSON_ArrayForEach(it, arr) {
		if (m->npublished >= SPEC_MAX_KEYS)
			break;
		if (!cJSON_IsString(it) || !spec_key_valid(it->valuestring) ||
		    has_key(m->published_keys, m->npublished, it->valuestring))
			continue;
		m->published_keys[m->npublished] = strdup(it->valuestring);
		if (!m->published_keys[m->npublished])
			return FC_ERR_NOMEM;
		m->npublished++;
	}
	return model_stored(obj, m);
}

fc_err spec_model_parse(const cJSON *obj, const struct spec_defaults *def, struct spec_model *m)
{
	const cJSON *spec = NULL;
	struct buf inv;
	fc_err rc;

	memset(m, 0, sizeof(*m));
	m->validation = def ? def->validation : VALIDATION_ENFORCE;
	buf_init(&inv, INVALID_MAX);
	rc = meta_parse(obj, &m->meta);
	if (rc)
		goto out;
	if ((rc = take_obj(obj, "spec", "spec", 1, &spec, &inv)))
		goto out;
	if (spec && (rc = model_spec(spec, def, m, &inv)))
		goto out;
	if (!m->deployment && m->model_name && !(m->deployment = strdup(m->model_name))) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	if (!m->configmap) {
		const char *cm = def && def->configmap ? def->configmap : DEFAULT_CONFIGMAP;

		if (!(m->configmap = strdup(cm))) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
	}
	if ((rc = model_status(obj, m)))
		goto out;
	rc = finish_invalid(&inv, &m->invalid);
out:
	buf_release(&inv);
	if (rc)
		spec_model_release(m);
	return rc;
}

void spec_model_release(struct spec_model *m)
{
	if (!m)
		return;
	meta_release(&m->meta);
	free(m->account_ref);
	free(m->model_format);
	free(m->model_name);
	free(m->model_version);
	free(m->sku);
	free(m->deployment);
	for (size_t i = 0; i < m->nkeys; i++)
		free(m->keys[i]);
	free(m->configmap);
	free(m->invalid);
	for (size_t i = 0; i < m->npublished; i++)
		free(m->published_keys[i]);
	stored_release(&m->stored_region);
	stored_release(&m->stored_deployment);
	stored_release(&m->stored_deprecated);
	free(m->status_retirement_date);
	for (size_t i = 0; i < m->nstatus_available_regions; i++)
		free(m->status_available_regions[i]);
	free(m->status_available_regions);
	memset(m, 0, sizeof(*m));
}

/* ---- age order ---- */

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int mo, int d)
{
	int64_t era, yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" -> seconds, nanos. */
static int parse_rfc3339(const char *s, int64_t *sec, long *nsec)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	long ns = 0, scale = 100000000;
	const char *p;

	if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return 0;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return 0;
		p += 6;
	} else {
		return 0;
	}
	if (*p)
		return 0;
	*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       sign * (oh * 3600 + om * 60);
	*nsec = ns;
	return 1;
}

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

int spec_meta_older(const struct spec_meta *a, const struct spec_meta *b)
{
	int64_t sa, sb;
	long na, nb;
	int pa = parse_rfc3339(a->creation_timestamp, &sa, &na);
	int pb = parse_rfc3339(b->creation_timestamp, &sb, &nb);
	int c;

	if (pa && pb) {
		if (sa != sb)
			return sa < sb ? -1 : 1;
		if (na != nb)
			return na < nb ? -1 : 1;
	} else if (pa != pb) {
		return pa ? -1 : 1; /* no (usable) timestamp: not created yet, the newest */
	} else if ((c = cmp_str(a->creation_timestamp, b->creation_timestamp)) != 0) {
		return c < 0 ? -1 : 1;
	}
	c = cmp_str(a->name, b->name);
	if (c)
		return c < 0 ? -1 : 1;
	c = cmp_str(a->ns, b->ns);
	return c < 0 ? -1 : c > 0;
}
