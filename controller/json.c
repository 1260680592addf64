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

/* cJSON answers NULL both for malformed text and for a failed
 * allocation; its allocations go through this hook so json_parse can tell
 * NOMEM (retry later) from PARSE (the input is bad). Installed before main,
 * while the process has one thread. */
static _Thread_local int cjson_nomem;

static void *cjson_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		cjson_nomem = 1;
	return p;
}

static void cjson_free(void *p)
{
	free(p);
}

__attribute__((constructor)) static void cjson_hooks(void)
{
	cJSON_Hooks h = { cjson_malloc, cjson_free };

	cJSON_InitHooks(&h);
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
	cjson_nomem = 0;
	root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!root)
		return cjson_nomem ? FC_ERR_NOMEM : FC_ERR_PARSE;
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

/* Length of the valid UTF-8 sequence p starts (1 to 4), 0 when none (Go's
 * utf8.DecodeRune: 0xC0/0xC1 and 0xF5.. never start one, 0xE0 needs
 * 0xA0.., 0xED ..0x9F, 0xF0 0x90.., 0xF4 ..0x8F). Reads no byte past a NUL. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		       (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

int json_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

char *json_utf8_clean(const char *s)
{
	const unsigned char *p;
	size_t len = 0;
	char *out, *o;

	for (p = (const unsigned char *)s; *p;) {
		size_t n = utf8_seq(p);

		len += n ? n : 3;
		p += n ? n : 1;
	}
	out = malloc(len + 1);
	if (!out)
		return NULL;
	for (p = (const unsigned char *)s, o = out; *p;) {
		size_t n = utf8_seq(p);

		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			p++;
		}
	}
	*o = '\0';
	return out;
}

cJSON *json_create_str(const char *s)
{
	char *clean;
	cJSON *c;

	if (!s || json_utf8_valid(s))
		return cJSON_CreateString(s);
	clean = json_utf8_clean(s);
	if (!clean)
		return NULL;
	c = cJSON_CreateString(clean);
	free(clean);
	return c;
}

fc_err json_add_str(cJSON *obj, const char *key, const char *val)
{
	cJSON *c = json_create_str(val);

	/* cJSON_AddItemToObject does not free the item when copying the key fails */
	if (!c || !cJSON_AddItemToObject(obj, key, c)) {
		cJSON_Delete(c);
		return FC_ERR_NOMEM;
	}
	return FC_OK;
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
