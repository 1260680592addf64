#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const cJSON *json_child(const cJSON *obj, const char *key)
{
	const cJSON *c;

	if (!obj || !cJSON_IsObject(obj))
		return NULL;
	/* case-sensitive: Kubernetes and ARM keys are */
	c = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!c || cJSON_IsNull(c))
		return NULL;
	return c;
}

const cJSON *json_path(const cJSON *root, const char *path)
{
	char key[256];
	const cJSON *cur = root;
	const char *p = path;

	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = json_child(cur, key);
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

fc_err json_get_str(const cJSON *root, const char *path, const char **out)
{
	const cJSON *c = json_path(root, path);

	if (!c)
		return FC_ERR_NOTFOUND;
	if (!cJSON_IsString(c) || !c->valuestring)
		return FC_ERR_PARSE;
	*out = c->valuestring;
	return FC_OK;
}

fc_err json_get_int64(const cJSON *root, const char *path, int64_t *out)
{
	const cJSON *c = json_path(root, path);
	double d;

	if (!c)
		return FC_ERR_NOTFOUND;
	if (!cJSON_IsNumber(c))
		return FC_ERR_PARSE;
	d = c->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < -9.007199254740992e15 || d > 9.007199254740992e15)
		return FC_ERR_PARSE;
	*out = (int64_t)d;
	return FC_OK;
}

fc_err json_get_bool(const cJSON *root, const char *path, int *out)
{
	const cJSON *c = json_path(root, path);

	if (!c)
		return FC_ERR_NOTFOUND;
	if (!cJSON_IsBool(c))
		return FC_ERR_PARSE;
	*out = cJSON_IsTrue(c) ? 1 : 0;
	return FC_OK;
}

fc_err json_get_obj(const cJSON *root, const char *path, const cJSON **out)
{
	const cJSON *c = json_path(root, path);

	if (!c)
		return FC_ERR_NOTFOUND;
	if (!cJSON_IsObject(c))
		return FC_ERR_PARSE;
	*out = c;
	return FC_OK;
}

fc_err json_get_arr(const cJSON *root, const char *path, const cJSON **out)
{
	const cJSON *c = json_path(root, path);

	if (!c)
		return FC_ERR_NOTFOUND;
	if (!cJSON_IsArray(c))
		return FC_ERR_PARSE;
	*out = c;
	return FC_OK;
}

const char *json_str_or(const cJSON *root, const char *path, const char *def)
{
	const char *s;

	return json_get_str(root, path, &s) ? def : s;
}

/* Bracket depth check before handing the text to cJSON (whose own nesting
 * limit is 1000 and recursive). Strings are skipped. */
static int too_deep(const char *data, size_t len)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = data[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		if (ch == '"')
			in_str = 1;
		else if (ch == '{' || ch == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return 1;
		} else if (ch == '}' || ch == ']')
			depth--;
	}
	return 0;
}

fc_err json_parse(const char *data, size_t len, cJSON **out)
{
	const char *end = NULL;
	cJSON *root;

	*out = NULL;
	if (!data || len == 0)
		return FC_ERR_PARSE;
	if (too_deep(data, len))
		return FC_ERR_PARSE;
	root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!root)
		return FC_ERR_PARSE;
	/* allow trailing whitespace only */
	while (end && (size_t)(end - data) < len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t' || *end == '\0'))
		end++;
	if (end && (size_t)(end - data) < len) {
		cJSON_Delete(root);
		return FC_ERR_PARSE;
	}
	*out = root;
	return FC_OK;
}

char *json_print(const cJSON *item)
{
	return cJSON_PrintUnformatted(item);
}

fc_err json_add_str(cJSON *obj, const char *key, const char *val)
{
	return cJSON_AddStringToObject(obj, key, val) ? FC_OK : FC_ERR_NOMEM;
}

fc_err json_add_obj(cJSON *obj, const char *key, cJSON **out)
{
	cJSON *o = cJSON_AddObjectToObject(obj, key);

	if (out)
		*out = o;
	return o ? FC_OK : FC_ERR_NOMEM;
}

fc_err json_add_arr(cJSON *obj, const char *key, cJSON **out)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);

	if (out)
		*out = a;
	return a ? FC_OK : FC_ERR_NOMEM;
}
