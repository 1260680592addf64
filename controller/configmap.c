#include "configmap.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

void kv_array_free(struct kv *a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++) {
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
}

size_t kv_array_bytes(const struct kv *a, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += (a[i].key ? strlen(a[i].key) : 0) + (a[i].value ? strlen(a[i].value) : 0);
	return total;
}

static int kv_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct kv *)elem)->key);
}

/* Decoded length of base64 text (padding and whitespace not counted). */
static size_t base64_decoded_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '+' || *s == '/' || *s == '-' || *s == '_')
			n++;
	return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}

size_t configmap_other_bytes(const cJSON *cm, const struct kv *owned, size_t nowned)
{
	const cJSON *e;
	size_t total = 0;

	if (!cm)
		return 0;
	cJSON_ArrayForEach(e, json_path(cm, "data")) {
		if (!e->string || !cJSON_IsString(e))
			continue;
		if (nowned && bsearch(e->string, owned, nowned, sizeof(*owned), kv_key_cmp))
			continue;
		total += strlen(e->string) + strlen(e->valuestring);
	}
	cJSON_ArrayForEach(e, json_path(cm, "binaryData")) {
		if (!e->string || !cJSON_IsString(e))
			continue;
		total += strlen(e->string) + base64_decoded_len(e->valuestring);
	}
	return total;
}

void foreign_keys_free(struct foreign_key *a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++) {
		free(a[i].key);
		free(a[i].manager);
		free(a[i].value);
	}
	free(a);
}

fc_err configmap_foreign(const cJSON *cm, const char *manager, struct foreign_key **out, size_t *n)
{
	const cJSON *mf = cm ? json_path(cm, "metadata.managedFields") : NULL, *e, *f;
	const cJSON *data = cm ? json_path(cm, "data") : NULL;
	struct foreign_key *a = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(mf))
		return FC_OK;
	cJSON_ArrayForEach(e, mf) {
		const char *m = json_str_or(e, "manager", "");
		const cJSON *fdata = json_child(json_path(e, "fieldsV1"), "f:data");

		if (!strcmp(m, manager) || !cJSON_IsObject(fdata))
			continue;
		cJSON_ArrayForEach(f, fdata) {
			const cJSON *v;

			if (!f->string || strncmp(f->string, "f:", 2) != 0)
				continue;
			if (cnt == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct foreign_key *na = realloc(a, ncap * sizeof(*a));

				if (!na)
					goto nomem;
				a = na;
				cap = ncap;
			}
			v = json_child(data, f->string + 2);
			memset(&a[cnt], 0, sizeof(a[cnt]));
			cnt++;
			a[cnt - 1].key = strdup(f->string + 2);
			a[cnt - 1].manager = strdup(*m ? m : "unknown");
			if (cJSON_IsString(v))
				a[cnt - 1].value = strdup(v->valuestring);
			if (!a[cnt - 1].key || !a[cnt - 1].manager ||
			    (cJSON_IsString(v) && !a[cnt - 1].value))
				goto nomem;
		}
	}
	*out = a;
	*n = cnt;
	return FC_OK;
nomem:
	foreign_keys_free(a, cnt);
	return FC_ERR_NOMEM;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* The fieldsV1 of our Apply entry, or NULL. */
static const cJSON *owned_fields(const cJSON *cm, const char *manager)
{
	const cJSON *mf = json_path(cm, "metadata.managedFields"), *e;

	if (!cJSON_IsArray(mf))
		return NULL;
	cJSON_ArrayForEach(e, mf) {
		const char *m = json_str_or(e, "manager", NULL);
		const char *op = json_str_or(e, "operation", NULL);

		if (m && op && !strcmp(m, manager) && !strcmp(op, "Apply"))
			return json_path(e, "fieldsV1");
	}
	return NULL;
}

fc_err configmap_owned(const cJSON *cm, const char *manager, struct kv **out, size_t *n)
{
	const cJSON *fields, *fdata, *data, *f;
	struct kv *a = NULL;
	size_t cnt = 0, cap = 0;
	fc_err rc = FC_OK;

	*out = NULL;
	*n = 0;
	fields = cm ? owned_fields(cm, manager) : NULL;
	fdata = fields ? json_child(fields, "f:data") : NULL;
	data = cm ? json_path(cm, "data") : NULL;
	if (!fdata || !cJSON_IsObject(fdata))
		return FC_OK;
	cJSON_ArrayForEach(f, fdata) {
		const cJSON *v;

		if (!f->string || strncmp(f->string, "f:", 2) != 0)
			continue;
		v = json_child(data, f->string + 2);
		if (!cJSON_IsString(v))
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct kv *na = realloc(a, ncap * sizeof(*a));

			if (!na) {
				rc = FC_ERR_NOMEM;
				goto out;
			}
			a = na;
			cap = ncap;
		}
		a[cnt].key = strdup(f->string + 2);
		a[cnt].value = strdup(v->valuestring);
		cnt++;
		if (!a[cnt - 1].key || !a[cnt - 1].value) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
	}
	if (cnt)
		qsort(a, cnt, sizeof(*a), kv_cmp);
out:
	if (rc) {
		kv_array_free(a, cnt);
		return rc;
	}
	*out = a;
	*n = cnt;
	return FC_OK;
}

int configmap_needs_write(const cJSON *cm, const char *manager,
			  const struct kv *desired, size_t ndesired, const char *hash)
{
	const cJSON *ann, *lab;
	struct kv *owned = NULL;
	size_t nowned = 0;
	int need = 0;

	if (!cm)
		return ndesired > 0;
	ann = json_child(json_path(cm, "metadata.annotations"), CONFIGMAP_HASH_ANNOTATION);
	if (!cJSON_IsString(ann) || strcmp(ann->valuestring, hash) != 0)
		return 1;
	lab = json_child(json_path(cm, "metadata.labels"), CONFIGMAP_MANAGED_LABEL);
	if (!cJSON_IsString(lab) || strcmp(lab->valuestring, CONFIGMAP_MANAGED_VALUE) != 0)
		return 1;
	if (configmap_owned(cm, manager, &owned, &nowned))
		return 1;
	if (nowned != ndesired) {
		need = 1;
		goto out;
	}
	for (size_t i = 0; i < ndesired; i++) {
		/* both sorted by key */
		if (strcmp(owned[i].key, desired[i].key) || strcmp(owned[i].value, desired[i].value)) {
			need = 1;
			goto out;
		}
	}
out:
	kv_array_free(owned, nowned);
	return need;
}

fc_err configmap_apply_body(const char *ns, const char *name,
			    const struct kv *desired, size_t ndesired,
			    const char *hash, char **out)
{
	return configmap_apply_body_at(ns, name, NULL, desired, ndesired, hash, out);
}

fc_err configmap_apply_body_at(const char *ns, const char *name, const char *resource_version,
			       const struct kv *desired, size_t ndesired,
			       const char *hash, char **out)
{
	cJSON *root = NULL, *meta, *lab, *ann, *data;
	size_t total = 0;
	fc_err rc = FC_ERR_NOMEM;

	*out = NULL;
	for (size_t i = 0; i < ndesired; i++)
		total += strlen(desired[i].value);
	if (total > CONFIGMAP_MAX_BYTES)
		return FC_ERR_TOOBIG;
	root = cJSON_CreateObject();
	if (!root)
		goto out;
	if (json_add_str(root, "apiVersion", "v1") || json_add_str(root, "kind", "ConfigMap") ||
	    json_add_obj(root, "metadata", &meta) || json_add_str(meta, "name", name) ||
	    json_add_str(meta, "namespace", ns) ||
	    (resource_version && *resource_version &&
	     json_add_str(meta, "resourceVersion", resource_version)) ||
	    json_add_obj(meta, "labels", &lab) ||
	    json_add_str(lab, CONFIGMAP_MANAGED_LABEL, CONFIGMAP_MANAGED_VALUE) ||
	    json_add_obj(meta, "annotations", &ann) ||
	    json_add_str(ann, CONFIGMAP_HASH_ANNOTATION, hash) ||
	    json_add_obj(root, "data", &data))
		goto out;
	for (size_t i = 0; i < ndesired; i++)
		if (json_add_str(data, desired[i].key, desired[i].value))
			goto out;
	*out = json_print(root);
	rc = *out ? FC_OK : FC_ERR_NOMEM;
out:
	cJSON_Delete(root);
	return rc;
}

char *configmap_diff_summary(const struct kv *before, size_t nbefore,
			     const struct kv *after, size_t nafter)
{
	struct buf b;
	size_t i = 0, j = 0, more = 0;

	/* bounded, so the log line that carries it stays whole */
	buf_init(&b, CONFIGMAP_DIFF_MAX);
	while (i < nbefore || j < nafter) {
		int c = i >= nbefore ? 1 : j >= nafter ? -1 : strcmp(before[i].key, after[j].key);
		const char *sep = b.len ? " " : "";
		const char *key = NULL;
		char op = 0;

		if (c < 0) {
			op = '-';
			key = before[i++].key;
		} else if (c > 0) {
			op = '+';
			key = after[j++].key;
		} else {
			if (strcmp(before[i].value, after[j].value)) {
				op = '~';
				key = after[j].key;
			}
			i++;
			j++;
		}
		if (!key)
			continue;
		/* keep room for the " (+N more)" tail */
		if (more || b.len + strlen(sep) + 1 + strlen(key) > CONFIGMAP_DIFF_MAX - 32) {
			more++;
			continue;
		}
		if (buf_appendf(&b, "%s%c%s", sep, op, key))
			goto nomem;
	}
	if ((more && buf_appendf(&b, " (+%zu more)", more)) || (!b.len && buf_append_str(&b, "none")))
		goto nomem;
	return buf_take(&b);
nomem:
	buf_release(&b);
	return NULL;
}
