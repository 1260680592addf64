/* json.h - checked getters over cJSON.
 *
 * Paths are dot-separated object keys ("metadata.name", "spec.model.version").
 * A key that itself contains a dot (annotation names) must be read with
 * json_child(). All returned pointers are borrowed from the tree and valid
 * while the root is alive and unmodified.
 * Errors: FC_ERR_NOTFOUND when a path element is absent (or JSON null),
 * FC_ERR_PARSE when present with the wrong type.
 */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "err.h"

/* Maximum nesting accepted by json_parse (cJSON's own limit is 1000). */
#define JSON_MAX_DEPTH 64

/* The item at path, or NULL (also NULL for a JSON null). */
const cJSON *json_path(const cJSON *root, const char *path);

/* Direct child by exact key (dots allowed in key). NULL if absent. */
const cJSON *json_child(const cJSON *obj, const char *key);

fc_err json_get_str(const cJSON *root, const char *path, const char **out);
fc_err json_get_int64(const cJSON *root, const char *path, int64_t *out);
fc_err json_get_bool(const cJSON *root, const char *path, int *out);
fc_err json_get_obj(const cJSON *root, const char *path, const cJSON **out);
fc_err json_get_arr(const cJSON *root, const char *path, const cJSON **out);

/* The string at path, or def when absent or not a string. Borrowed. */
const char *json_str_or(const cJSON *root, const char *path, const char *def);

/* Parses len bytes (need not be NUL-terminated). Rejects nesting deeper
 * than JSON_MAX_DEPTH and trailing garbage (PARSE); an allocation that
 * failed during the parse is NOMEM, not PARSE. Caller frees with
 * cJSON_Delete. */
fc_err json_parse(const char *data, size_t len, cJSON **out);

/* Serialises without whitespace. Caller frees with free(). NULL on NOMEM. */
char *json_print(const cJSON *item);

/* 1 when s is valid UTF-8 (as Go's utf8.DecodeRune reads it: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
int json_utf8_valid(const char *s);

/* s with every byte that does not start a valid UTF-8 sequence replaced by
 * U+FFFD: exactly what the API server (Go's encoding/json) stores for it,
 * so a string we send compares equal to what we read back. NULL on NOMEM;
 * caller frees. */
char *json_utf8_clean(const char *s);

/* A cJSON string of json_utf8_clean(s); NULL on NOMEM. */
cJSON *json_create_str(const char *s);

/* Adds a string / object / array member; FC_ERR_NOMEM on failure. Strings
 * go through json_utf8_clean. The new object/array is borrowed from
 * parent. */
fc_err json_add_str(cJSON *obj, const char *key, const char *val);
fc_err json_add_obj(cJSON *obj, const char *key, cJSON **out);
fc_err json_add_arr(cJSON *obj, const char *key, cJSON **out);

#endif /* FC_JSON_H */
