#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"
#define TAG_PREFIX_LEN (sizeof(TAG_PREFIX) - 1)
/* Longest plain scalar that is tried as a number (longer ones are strings). */
#define NUMBER_MAX 512
/* Most entries read from one directory. */
#define DIR_MAX_ENTRIES 100000u

static fc_err nomem(char *err, size_t errlen)
{
	fc_errf(err, errlen, "out of memory");
	return FC_ERR_NOMEM;
}

/* ---- the set ------------------------------------------------------------ */

void manifest_set_init(struct manifest_set *s)
{
	memset(s, 0, sizeof(*s));
}

static void truncate_docs(struct manifest_set *s, size_t n)
{
	while (s->ndocs > n) {
		s->ndocs--;
		cJSON_Delete(s->docs[s->ndocs].obj);
		free(s->docs[s->ndocs].file);
	}
}

void manifest_set_release(struct manifest_set *s)
{
	truncate_docs(s, 0);
	free(s->docs);
	memset(s, 0, sizeof(*s));
}

/* ---- scalar resolution (go-yaml v2's resolve) ---------------------------- */

enum rkind { R_NULL, R_BOOL, R_INT, R_FLOAT, R_STR, R_NANINF };

struct resolved {
	enum rkind kind;
	int b;
	double d;
};

static int one_of(const char *s, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && !memcmp(*list, s, len))
			return 1;
	return 0;
}

static int is_digit_in(char c, int base)
{
	switch (base) {
	case 2:
		return c == '0' || c == '1';
	case 8:
		return c >= '0' && c <= '7';
	case 10:
		return c >= '0' && c <= '9';
	default:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	}
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

/* Go's strconv.ParseInt(s, 0, 64) syntax (sign, 0x/0b/0o/0 prefixes); the
 * value as a double. Out-of-range values are numbers too (go-yaml turns
 * them into a big.Int, which JSON writes as a number). */
static int go_int(const char *s, double *out)
{
	int neg = 0, base = 10;
	double v = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s += 1;
	}
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!is_digit_in(*s, base))
			return 0;
		v = v * base + digit_value(*s);
	}
	*out = neg ? -v : v;
	return 1;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int yaml_style_float(const char *s)
{
	size_t n;

	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.') {
		s++;
		if (!(n = strspn(s, "0123456789")))
			return 0;
		s += n;
	} else {
		if (!(n = strspn(s, "0123456789")))
			return 0;
		s += n;
		if (*s == '.')
			s += 1 + strspn(s + 1, "0123456789");
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(n = strspn(s, "0123456789")))
			return 0;
		s += n;
	}
	return *s == '\0';
}

/* strtod of a yaml_style_float string; 0 when it overflows (Go's ParseFloat
 * fails then, and the scalar stays a string). */
static int finite_float(const char *s, double *out)
{
	double d;

	errno = 0;
	d = strtod(s, NULL);
	if (!isfinite(d) || (errno == ERANGE && fabs(d) > 1.0))
		return 0;
	*out = d;
	return 1;
}

static void resolve_plain(const char *s, size_t len, struct resolved *r)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					   "on", "On", "ON", NULL };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					  "off", "Off", "OFF", NULL };
	static const char *const nul[] = { "~", "null", "Null", "NULL", NULL };
	static const char *const naninf[] = { ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
					      "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
					      "-.INF", NULL };
	char plain[NUMBER_MAX + 1];
	size_t n = 0;
	char c;

	memset(r, 0, sizeof(*r));
	r->kind = R_STR;
	if (len == 0) {
		r->kind = R_NULL;
		return;
	}
	c = s[0];
	if (!(c == '+' || c == '-' || (c >= '0' && c <= '9') || c == '.' ||
	      strchr("yYnNtTfFoO~", c)))
		return;
	if (one_of(s, len, yes) || one_of(s, len, no)) {
		r->kind = R_BOOL;
		r->b = one_of(s, len, yes);
		return;
	}
	if (one_of(s, len, nul)) {
		r->kind = R_NULL;
		return;
	}
	if (one_of(s, len, naninf)) {
		r->kind = R_NANINF;
		return;
	}
	if (len > NUMBER_MAX || strchr("yYnNtTfFoO~", c))
		return;
	if (c == '.') {
		/* Go: ParseFloat(in) as is, no '_' removal */
		memcpy(plain, s, len);
		plain[len] = '\0';
		if (yaml_style_float(plain) && finite_float(plain, &r->d))
			r->kind = R_FLOAT;
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (s[i] != '_')
			plain[n++] = s[i];
	plain[n] = '\0';
	if (go_int(plain, &r->d)) {
		r->kind = R_INT;
		return;
	}
	if (yaml_style_float(plain) && finite_float(plain, &r->d))
		r->kind = R_FLOAT;
}

/* ---- YAML nodes -> cJSON ---------------------------------------------------- */

struct parse {
	struct manifest_set *set;
	const char *name;
	const char *data;
	size_t len;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	size_t nodes;   /* this document, aliases expanded */
	size_t bytes;
};

static fc_err at(struct parse *p, const yaml_mark_t *m, fc_err rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static fc_err at(struct parse *p, const yaml_mark_t *m, fc_err rc, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fc_errf(p->err, p->errlen, "%s:%zu:%zu: %s", p->name, m->line + 1, m->column + 1, what);
	return rc;
}

static const char *short_tag(const yaml_node_t *n)
{
	const char *t = (const char *)n->tag;

	if (t && !strncmp(t, TAG_PREFIX, TAG_PREFIX_LEN))
		return t + TAG_PREFIX_LEN;
	return t ? t : "str";
}

static int is_plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
	       n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

/* The JSON value of a scalar, as go-yaml v2 decodes into interface{}. */
static fc_err scalar_resolve(struct parse *p, yaml_node_t *n, struct resolved *r)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	const char *tag = short_tag(n);
	const char *t = (const char *)n->tag;

	memset(r, 0, sizeof(*r));
	r->kind = R_STR;
	if (memchr(v, '\0', len))
		return at(p, &n->start_mark, FC_ERR_PARSE, "a NUL character in a string is not supported");
	if (t && strncmp(t, TAG_PREFIX, TAG_PREFIX_LEN))
		return FC_OK; /* a local tag (!foo): go-yaml keeps the text */
	if (!strcmp(tag, "str")) {
		if (is_plain(n))
			resolve_plain(v, len, r);
		return FC_OK;
	}
	if (!strcmp(tag, "timestamp"))
		return FC_OK;
	if (!strcmp(tag, "binary"))
		return at(p, &n->start_mark, FC_ERR_PARSE, "!!binary values are not supported");
	if (strcmp(tag, "null") && strcmp(tag, "bool") && strcmp(tag, "int") && strcmp(tag, "float"))
		return FC_OK; /* other standard tags: the text */
	resolve_plain(v, len, r);
	if ((!strcmp(tag, "null") && r->kind == R_NULL) || (!strcmp(tag, "bool") && r->kind == R_BOOL) ||
	    (!strcmp(tag, "int") && r->kind == R_INT) ||
	    (!strcmp(tag, "float") && (r->kind == R_FLOAT || r->kind == R_INT || r->kind == R_NANINF)))
		return FC_OK;
	return at(p, &n->start_mark, FC_ERR_PARSE, "cannot decode `%.*s` as a !!%s",
		  (int)(len > 64 ? 64 : len), v, tag);
}

static fc_err count_node(struct parse *p, yaml_node_t *n, size_t bytes)
{
	if (++p->nodes > MANIFEST_MAX_NODES)
		return at(p, &n->start_mark, FC_ERR_TOOBIG,
			  "more than %u nodes in one document once aliases are expanded",
			  MANIFEST_MAX_NODES);
	if (bytes > MANIFEST_MAX_DOC_BYTES - p->bytes)
		return at(p, &n->start_mark, FC_ERR_TOOBIG,
			  "more than %u MiB of text in one document once aliases are expanded",
			  MANIFEST_MAX_DOC_BYTES >> 20);
	p->bytes += bytes;
	if (++p->set->total_nodes > MANIFEST_MAX_TOTAL_NODES)
		return at(p, &n->start_mark, FC_ERR_TOOBIG, "more than %u nodes in all the manifests",
			  MANIFEST_MAX_TOTAL_NODES);
	if (bytes > MANIFEST_MAX_TOTAL_BYTES - p->set->total_bytes)
		return at(p, &n->start_mark, FC_ERR_TOOBIG,
			  "more than %u MiB of text in all the manifests", MANIFEST_MAX_TOTAL_BYTES >> 20);
	p->set->total_bytes += bytes;
	return FC_OK;
}

static fc_err conv(struct parse *p, yaml_node_t *n, int depth, cJSON **out);

static fc_err conv_scalar(struct parse *p, yaml_node_t *n, cJSON **out)
{
	struct resolved r;
	fc_err rc;

	rc = scalar_resolve(p, n, &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_NULL:
		*out = cJSON_CreateNull();
		break;
	case R_BOOL:
		*out = cJSON_CreateBool(r.b);
		break;
	case R_INT:
	case R_FLOAT:
		*out = cJSON_CreateNumber(r.d);
		break;
	case R_NANINF:
		return at(p, &n->start_mark, FC_ERR_PARSE,
			  "%s is not a number JSON can hold (quote it for a string)",
			  (const char *)n->data.scalar.value);
	default:
		*out = cJSON_CreateString((const char *)n->data.scalar.value);
		break;
	}
	return *out ? FC_OK : nomem(p->err, p->errlen);
}

/* Go's strconv.FormatFloat(f, 'g', -1, 32), as sigs.k8s.io/yaml writes a
 * float key. */
static void float_key(double d, char *out, size_t n)
{
	char e[64];
	int nd = 1, exp, dp, eprec = 6;

	if (isnan(d)) {
		snprintf(out, n, ".nan");
		return;
	}
	if (isinf(d)) {
		snprintf(out, n, d > 0 ? ".inf" : "-.inf");
		return;
	}
	for (nd = 1; nd < 9; nd++) {
		snprintf(e, sizeof(e), "%.*e", nd - 1, d);
		if ((float)strtod(e, NULL) == (float)d)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", nd - 1, d);
	exp = atoi(strchr(e, 'e') + 1);
	dp = exp + 1;
	if (d == 0) {
		dp = 1;
		exp = 0;
	}
	if (eprec > nd && nd >= dp)
		eprec = nd;
	if (exp < -4 || exp >= eprec)
		snprintf(out, n, "%.*e", nd - 1, d);
	else
		snprintf(out, n, "%.*f", nd - dp > 0 ? nd - dp : 0, d);
}

/* A mapping key as sigs.k8s.io/yaml turns it into a JSON key. Caller frees. */
static fc_err key_string(struct parse *p, yaml_node_t *k, char **out)
{
	struct resolved r;
	char num[64];
	fc_err rc;

	*out = NULL;
	if (k->type != YAML_SCALAR_NODE)
		return at(p, &k->start_mark, FC_ERR_PARSE,
			  "a mapping key must be a scalar (JSON keys are strings)");
	rc = count_node(p, k, k->data.scalar.length);
	if (!rc)
		rc = scalar_resolve(p, k, &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_NULL:
		return at(p, &k->start_mark, FC_ERR_PARSE, "a mapping key must not be null");
	case R_BOOL:
		*out = strdup(r.b ? "true" : "false");
		break;
	case R_INT:
		if (fabs(r.d) < 9.2e18)
			snprintf(num, sizeof(num), "%lld", (long long)r.d);
		else
			snprintf(num, sizeof(num), "%.0f", r.d);
		*out = strdup(num);
		break;
	case R_FLOAT:
		float_key(r.d, num, sizeof(num));
		*out = strdup(num);
		break;
	case R_NANINF: {
		const char *v = (const char *)k->data.scalar.value;

		*out = strdup(strstr(v, "an") || strstr(v, "AN") ? ".nan" : v[0] == '-' ? "-.inf" : ".inf");
		break;
	}
	default:
		*out = strdup((const char *)k->data.scalar.value);
		break;
	}
	return *out ? FC_OK : nomem(p->err, p->errlen);
}

static int is_merge_key(const yaml_node_t *k)
{
	const char *tag = short_tag(k);

	return k->type == YAML_SCALAR_NODE && k->data.scalar.length == 2 &&
	       !memcmp(k->data.scalar.value, "<<", 2) &&
	       ((is_plain(k) && !strcmp(tag, "str")) || !strcmp(tag, "merge"));
}

struct entry {
	const char *key;      /* explicit: owned (keys[]); merged: borrowed from src */
	size_t prio;          /* 0 explicit, 1 + n for the n-th merge source */
	size_t seq;           /* order of appearance */
	yaml_node_t *knode;   /* explicit: the key node (for messages) */
	yaml_node_t *vnode;   /* explicit: the value node */
	cJSON *merged;        /* merged: the member of a converted source */
	int win;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static fc_err add_merge_source(struct parse *p, yaml_node_t *src, int depth, cJSON **srcs,
			       size_t *nsrcs, size_t cap)
{
	fc_err rc;

	if (src->type != YAML_MAPPING_NODE)
		return at(p, &src->start_mark, FC_ERR_PARSE,
			  "a merge key (<<) needs a mapping or a sequence of mappings");
	if (*nsrcs >= cap)
		FC_BUG("merge sources over capacity");
	rc = conv(p, src, depth + 1, &srcs[*nsrcs]);
	if (!rc)
		(*nsrcs)++;
	return rc;
}

static fc_err conv_mapping(struct parse *p, yaml_node_t *n, int depth, cJSON **out)
{
	yaml_node_pair_t *start = n->data.mapping.pairs.start, *top = n->data.mapping.pairs.top;
	size_t npairs = (size_t)(top - start), nsrc_cap = 0, nsrcs = 0, nent = 0, ent_cap;
	struct entry *ent = NULL, **order = NULL;
	cJSON **srcs = NULL, *obj = NULL;
	char **keys = NULL;
	fc_err rc = FC_ERR_NOMEM;

	*out = NULL;
	/* merge sources: count them first */
	for (yaml_node_pair_t *pr = start; pr < top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);

		if (k && v && is_merge_key(k))
			nsrc_cap += v->type == YAML_SEQUENCE_NODE
					    ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
					    : 1;
	}
	obj = cJSON_CreateObject();
	keys = calloc(npairs + 1, sizeof(*keys));
	srcs = calloc(nsrc_cap + 1, sizeof(*srcs));
	if (!obj || !keys || !srcs)
		goto nomem;
	for (yaml_node_pair_t *pr = start; pr < top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);

		if (!k || !v)
			FC_BUG("libyaml gave a pair without nodes");
		if (!is_merge_key(k))
			continue;
		if ((rc = count_node(p, k, 2)))
			goto out;
		if (v->type == YAML_SEQUENCE_NODE) {
			if ((rc = count_node(p, v, 0)))
				goto out;
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				rc = add_merge_source(p, yaml_document_get_node(p->doc, *it), depth,
						      srcs, &nsrcs, nsrc_cap);
				if (rc)
					goto out;
			}
		} else if ((rc = add_merge_source(p, v, depth, srcs, &nsrcs, nsrc_cap))) {
			goto out;
		}
	}
	ent_cap = npairs;
	for (size_t i = 0; i < nsrcs; i++)
		ent_cap += (size_t)cJSON_GetArraySize(srcs[i]);
	ent = calloc(ent_cap + 1, sizeof(*ent));
	order = calloc(ent_cap + 1, sizeof(*order));
	if (!ent || !order)
		goto nomem;
	for (yaml_node_pair_t *pr = start; pr < top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);

		if (is_merge_key(k))
			continue;
		if ((rc = key_string(p, k, &keys[nent])))
			goto out;
		ent[nent] = (struct entry){ .key = keys[nent], .prio = 0, .seq = nent, .knode = k,
					    .vnode = yaml_document_get_node(p->doc, pr->value) };
		nent++;
	}
	for (size_t i = 0; i < nsrcs; i++) {
		for (cJSON *m = srcs[i]->child; m; m = m->next) {
			ent[nent] = (struct entry){ .key = m->string, .prio = 1 + i, .seq = nent,
						    .merged = m };
			nent++;
		}
	}
	for (size_t i = 0; i < nent; i++)
		order[i] = &ent[i];
	qsort(order, nent, sizeof(*order), entry_cmp);
	for (size_t i = 0; i < nent; i++) {
		if (i > 0 && !strcmp(order[i]->key, order[i - 1]->key)) {
			if (order[i]->prio == 0) {
				rc = at(p, &order[i]->knode->start_mark, FC_ERR_PARSE,
					"key \"%s\" is repeated in this mapping (first at line %zu)",
					order[i]->key, order[i - 1]->knode->start_mark.line + 1);
				goto out;
			}
			continue;
		}
		order[i]->win = 1;
	}
	for (size_t i = 0; i < nent; i++) {
		cJSON *val = NULL;

		if (!ent[i].win)
			continue;
		if (ent[i].merged) {
			size_t src = ent[i].prio - 1;

			val = cJSON_DetachItemViaPointer(srcs[src], ent[i].merged);
		} else if ((rc = conv(p, ent[i].vnode, depth + 1, &val))) {
			goto out;
		}
		if (!cJSON_AddItemToObject(obj, ent[i].key, val)) {
			cJSON_Delete(val);
			goto nomem;
		}
	}
	*out = obj;
	obj = NULL;
	rc = FC_OK;
	goto out;
nomem:
	rc = nomem(p->err, p->errlen);
out:
	for (size_t i = 0; i < nsrcs; i++)
		cJSON_Delete(srcs[i]);
	if (keys)
		for (size_t i = 0; i < npairs; i++)
			free(keys[i]);
	free(keys);
	free(srcs);
	free(ent);
	free(order);
	cJSON_Delete(obj);
	return rc;
}

static fc_err conv(struct parse *p, yaml_node_t *n, int depth, cJSON **out)
{
	cJSON *arr = NULL;
	fc_err rc;

	*out = NULL;
	if (n->type != YAML_SCALAR_NODE && depth > MANIFEST_MAX_DEPTH)
		return at(p, &n->start_mark, FC_ERR_TOOBIG,
			  "nesting deeper than %d levels (or an alias inside its own anchor)",
			  MANIFEST_MAX_DEPTH);
	rc = count_node(p, n, n->type == YAML_SCALAR_NODE ? n->data.scalar.length : 0);
	if (rc)
		return rc;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return conv_scalar(p, n, out);
	case YAML_MAPPING_NODE:
		return conv_mapping(p, n, depth, out);
	case YAML_SEQUENCE_NODE:
		arr = cJSON_CreateArray();
		if (!arr)
			return nomem(p->err, p->errlen);
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			cJSON *c = NULL;

			rc = conv(p, yaml_document_get_node(p->doc, *it), depth + 1, &c);
			if (rc) {
				cJSON_Delete(arr);
				return rc;
			}
			if (!cJSON_AddItemToArray(arr, c)) {
				cJSON_Delete(c);
				cJSON_Delete(arr);
				return nomem(p->err, p->errlen);
			}
		}
		*out = arr;
		return FC_OK;
	default:
		return at(p, &n->start_mark, FC_ERR_PARSE, "empty node");
	}
}

/* ---- documents ---------------------------------------------------------------- */

static fc_err push_doc(struct parse *p, cJSON *obj, int line)
{
	struct manifest_set *s = p->set;
	struct manifest_doc *d;

	if (s->ndocs >= MANIFEST_MAX_DOCS) {
		cJSON_Delete(obj);
		fc_errf(p->err, p->errlen, "%s:%d: more than %u objects in all the manifests", p->name,
			line, MANIFEST_MAX_DOCS);
		return FC_ERR_TOOBIG;
	}
	if (s->ndocs == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct manifest_doc *nd = realloc(s->docs, ncap * sizeof(*nd));

		if (!nd) {
			cJSON_Delete(obj);
			return nomem(p->err, p->errlen);
		}
		s->docs = nd;
		s->cap = ncap;
	}
	d = &s->docs[s->ndocs];
	d->file = strdup(p->name);
	if (!d->file) {
		cJSON_Delete(obj);
		return nomem(p->err, p->errlen);
	}
	d->obj = obj;
	d->line = line;
	s->ndocs++;
	return FC_OK;
}

static int scalar_is_null(struct parse *p, yaml_node_t *n)
{
	struct resolved r;

	if (n->type != YAML_SCALAR_NODE || scalar_resolve(p, n, &r))
		return 0;
	return r.kind == R_NULL;
}

static const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

/* The `items` sequence of a List document, or NULL. */
static yaml_node_t *list_items(struct parse *p, yaml_node_t *root)
{
	yaml_node_t *items = NULL;
	int is_list = 0;

	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *kv, *vv;
		size_t vl;

		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			if (k->type == YAML_SCALAR_NODE && v->type == YAML_SEQUENCE_NODE &&
			    !strcmp((const char *)k->data.scalar.value, "items"))
				items = v;
			continue;
		}
		kv = (const char *)k->data.scalar.value;
		vv = (const char *)v->data.scalar.value;
		vl = v->data.scalar.length;
		if (!strcmp(kv, "kind") && vl >= 4 && !memcmp(vv + vl - 4, "List", 4))
			is_list = 1;
	}
	return is_list ? items : NULL;
}

static fc_err load_document(struct parse *p, yaml_node_t *root)
{
	yaml_node_t *items;
	cJSON *obj = NULL;
	fc_err rc;

	p->nodes = 0;
	p->bytes = 0;
	if (scalar_is_null(p, root))
		return FC_OK;
	if (root->type != YAML_MAPPING_NODE)
		return at(p, &root->start_mark, FC_ERR_PARSE,
			  "a manifest must be a mapping (an object), not %s", node_kind(root));
	items = list_items(p, root);
	if (!items) {
		rc = conv(p, root, 1, &obj);
		return rc ? rc : push_doc(p, obj, (int)root->start_mark.line + 1);
	}
	for (yaml_node_item_t *it = items->data.sequence.items.start;
	     it < items->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(p->doc, *it);

		if (scalar_is_null(p, item))
			continue;
		if (item->type != YAML_MAPPING_NODE)
			return at(p, &item->start_mark, FC_ERR_PARSE,
				  "an item of a List must be a mapping (an object), not %s",
				  node_kind(item));
		rc = conv(p, item, 2, &obj);
		if (!rc)
			rc = push_doc(p, obj, (int)item->start_mark.line + 1);
		if (rc)
			return rc;
	}
	return FC_OK;
}

static fc_err parser_error(struct parse *p, const yaml_parser_t *y)
{
	size_t line = 1, col = 1;

	switch (y->error) {
	case YAML_NO_ERROR:
		/* libyaml 0.2.5's loader fails some allocations without setting
		 * an error (yaml_strdup of a default tag) */
	case YAML_MEMORY_ERROR:
		return nomem(p->err, p->errlen);
	case YAML_READER_ERROR:
		for (size_t i = 0; i < y->problem_offset && i < p->len; i++) {
			if (p->data[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (y->problem_value != -1)
			fc_errf(p->err, p->errlen, "%s:%zu:%zu: %s (byte 0x%02x)", p->name, line, col,
				y->problem ? y->problem : "unreadable input", (unsigned)y->problem_value);
		else
			fc_errf(p->err, p->errlen, "%s:%zu:%zu: %s", p->name, line, col,
				y->problem ? y->problem : "unreadable input");
		return FC_ERR_PARSE;
	default:
		if (y->context)
			fc_errf(p->err, p->errlen, "%s:%zu:%zu: %s (%s at line %zu)", p->name,
				y->problem_mark.line + 1, y->problem_mark.column + 1,
				y->problem ? y->problem : "malformed YAML", y->context,
				y->context_mark.line + 1);
		else
			fc_errf(p->err, p->errlen, "%s:%zu:%zu: %s", p->name, y->problem_mark.line + 1,
				y->problem_mark.column + 1, y->problem ? y->problem : "malformed YAML");
		return FC_ERR_PARSE;
	}
}

/* Event pass before loading: libyaml's loader has no nesting limit, so a
 * deeply nested input is refused here, before it builds anything. */
static fc_err prescan(struct parse *p)
{
	yaml_parser_t y;
	yaml_event_t ev;
	size_t nodes = 0;
	int depth = 0, done = 0;
	fc_err rc = FC_OK;

	if (!yaml_parser_initialize(&y))
		return nomem(p->err, p->errlen);
	yaml_parser_set_input_string(&y, (const unsigned char *)p->data, p->len);
	while (!done && !rc) {
		if (!yaml_parser_parse(&y, &ev)) {
			rc = parser_error(p, &y);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			nodes = 0;
			depth = 0;
		} else if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > MANIFEST_MAX_DEPTH)
				rc = at(p, &ev.start_mark, FC_ERR_TOOBIG, "nesting deeper than %d levels",
					MANIFEST_MAX_DEPTH);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (ev.type == YAML_STREAM_END_EVENT) {
			done = 1;
		}
		if (!rc && (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT ||
			    ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) &&
		    ++nodes > MANIFEST_MAX_NODES)
			rc = at(p, &ev.start_mark, FC_ERR_TOOBIG, "more than %u nodes in one document",
				MANIFEST_MAX_NODES);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y);
	return rc;
}

fc_err manifest_parse(struct manifest_set *s, const char *name, const char *data, size_t len,
		      char *err, size_t errlen)
{
	struct parse p = { .set = s, .name = name, .data = data, .len = len, .err = err,
			   .errlen = errlen };
	size_t ndocs = s->ndocs, tnodes = s->total_nodes, tbytes = s->total_bytes;
	yaml_parser_t y;
	int parser_ok = 0;
	fc_err rc;

	if (len > MANIFEST_MAX_FILE) {
		fc_errf(err, errlen, "%s: larger than %u MiB", name, MANIFEST_MAX_FILE >> 20);
		return FC_ERR_TOOBIG;
	}
	rc = prescan(&p);
	if (rc)
		goto out;
	if (!yaml_parser_initialize(&y)) {
		rc = nomem(err, errlen);
		goto out;
	}
	parser_ok = 1;
	yaml_parser_set_input_string(&y, (const unsigned char *)data, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&y, &doc)) {
			rc = parser_error(&p, &y);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (root) {
			p.doc = &doc;
			rc = load_document(&p, root);
			p.doc = NULL;
		}
		yaml_document_delete(&doc);
		if (rc || !root)
			break;
	}
out:
	if (parser_ok)
		yaml_parser_delete(&y);
	if (rc) {
		truncate_docs(s, ndocs);
		s->total_nodes = tnodes;
		s->total_bytes = tbytes;
	}
	return rc;
}

/* ---- files ----------------------------------------------------------------------- */

static fc_err read_fd(int fd, const char *name, struct buf *b, char *err, size_t errlen)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		fc_err rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fc_errf(err, errlen, "%s: %s", name, strerror(errno));
			return FC_ERR_IO;
		}
		if (n == 0)
			return FC_OK;
		rc = buf_append(b, chunk, (size_t)n);
		if (rc == FC_ERR_TOOBIG) {
			fc_errf(err, errlen, "%s: larger than %u MiB", name, MANIFEST_MAX_FILE >> 20);
			return rc;
		}
		if (rc)
			return nomem(err, errlen);
	}
}

static fc_err load_file(struct manifest_set *s, const char *path, char *err, size_t errlen)
{
	struct buf b;
	struct stat st;
	int fd = -1, is_stdin = !strcmp(path, "-");
	fc_err rc;

	buf_init(&b, MANIFEST_MAX_FILE);
	if (s->nfiles >= MANIFEST_MAX_FILES) {
		fc_errf(err, errlen, "%s: more than %u files", path, MANIFEST_MAX_FILES);
		return FC_ERR_TOOBIG;
	}
	s->nfiles++;
	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fc_errf(err, errlen, "%s: %s", path, strerror(errno));
		return FC_ERR_IO;
	}
	if (!is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uintmax_t)st.st_size > MANIFEST_MAX_FILE) {
		fc_errf(err, errlen, "%s: larger than %u MiB (%jd bytes)", path, MANIFEST_MAX_FILE >> 20,
			(intmax_t)st.st_size);
		rc = FC_ERR_TOOBIG;
		goto out;
	}
	rc = read_fd(fd, path, &b, err, errlen);
	if (!rc)
		rc = manifest_parse(s, path, b.data ? b.data : "", b.len, err, errlen);
out:
	if (!is_stdin)
		close(fd);
	buf_release(&b);
	return rc;
}

static int wanted_file(const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(name, "kustomization.yaml") || !strcmp(name, "kustomization.yml") ||
	    !strcmp(name, "Kustomization"))
		return 0;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static fc_err load_dir(struct manifest_set *s, const char *path, int depth, char *err,
		       size_t errlen)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct buf full;
	fc_err rc = FC_OK;

	buf_init(&full, 4096);
	d = opendir(path);
	if (!d) {
		fc_errf(err, errlen, "%s: %s", path, strerror(errno));
		return FC_ERR_IO;
	}
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n >= DIR_MAX_ENTRIES) {
			fc_errf(err, errlen, "%s: more than %u entries", path, DIR_MAX_ENTRIES);
			rc = FC_ERR_TOOBIG;
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nn = realloc(names, ncap * sizeof(*nn));

			if (!nn) {
				rc = nomem(err, errlen);
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = nomem(err, errlen);
			goto out;
		}
		n++;
	}
	if (errno) {
		fc_errf(err, errlen, "%s: %s", path, strerror(errno));
		rc = FC_ERR_IO;
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		struct stat st;
		size_t plen = strlen(path);

		buf_reset(&full);
		rc = buf_append(&full, path, plen);
		if (!rc && (plen == 0 || path[plen - 1] != '/'))
			rc = buf_append_str(&full, "/");
		if (!rc)
			rc = buf_append_str(&full, names[i]);
		if (rc) {
			fc_errf(err, errlen, "%s/%s: path too long", path, names[i]);
			rc = rc == FC_ERR_NOMEM ? FC_ERR_NOMEM : FC_ERR_TOOBIG;
			break;
		}
		if (stat(full.data, &st) != 0) {
			fc_errf(err, errlen, "%s: %s", full.data, strerror(errno));
			rc = FC_ERR_IO;
		} else if (S_ISDIR(st.st_mode)) {
			if (depth + 1 > MANIFEST_MAX_DIR_DEPTH) {
				fc_errf(err, errlen, "%s: directories nested deeper than %d levels "
					"(a symbolic link loop?)", full.data, MANIFEST_MAX_DIR_DEPTH);
				rc = FC_ERR_TOOBIG;
			} else {
				rc = load_dir(s, full.data, depth + 1, err, errlen);
			}
		} else if (S_ISREG(st.st_mode) && wanted_file(names[i])) {
			rc = load_file(s, full.data, err, errlen);
		}
	}
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_release(&full);
	return rc;
}

fc_err manifest_load_path(struct manifest_set *s, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (strcmp(path, "-") != 0) {
		if (stat(path, &st) != 0) {
			fc_errf(err, errlen, "%s: %s", path, strerror(errno));
			return FC_ERR_IO;
		}
		if (S_ISDIR(st.st_mode))
			return load_dir(s, path, 0, err, errlen);
	}
	return load_file(s, path, err, errlen);
}

fc_err manifest_load(struct manifest_set *s, char *const *paths, size_t n, char *err,
		     size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		fc_err rc = manifest_load_path(s, paths[i], err, errlen);

		if (rc)
			return rc;
	}
	return FC_OK;
}

/* ---- YAML out ------------------------------------------------------------------ */

static int plain_key(const char *k)
{
	struct resolved r;
	size_t n = strlen(k);

	if (!n || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
		return 0;
	if (strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return 0;
	resolve_plain(k, n, &r);
	return r.kind == R_STR;
}

static fc_err emit_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fc_err rc = buf_append(b, "\"", 1);

	while (!rc && *p) {
		size_t run = 0;

		/* copy plain runs at once */
		while (p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
			run++;
		if (run) {
			rc = buf_append(b, p, run);
			p += run;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			rc = buf_appendf(b, "\\%c", *p);
			p++;
		} else if (*p == '\n') {
			rc = buf_append_str(b, "\\n");
			p++;
		} else if (*p == '\t') {
			rc = buf_append_str(b, "\\t");
			p++;
		} else if (*p == '\r') {
			rc = buf_append_str(b, "\\r");
			p++;
		} else if (*p < 0x80) {
			rc = buf_appendf(b, "\\u%04X", *p);
			p++;
		} else {
			/* UTF-8: escape the code points YAML reads as line breaks or
			 * does not allow unescaped; copy the others */
			unsigned cp = 0;
			size_t len = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
			int ok = len > 0;

			for (size_t i = 1; ok && i < len; i++)
				ok = (p[i] & 0xc0) == 0x80;
			if (!ok) {
				rc = buf_appendf(b, "\\x%02X", *p);
				p++;
				continue;
			}
			cp = len == 2 ? (p[0] & 0x1fu) : len == 3 ? (p[0] & 0x0fu) : (p[0] & 0x07u);
			for (size_t i = 1; i < len; i++)
				cp = (cp << 6) | (p[i] & 0x3fu);
			if (cp == 0x85)
				rc = buf_append_str(b, "\\N");
			else if (cp == 0x2028)
				rc = buf_append_str(b, "\\L");
			else if (cp == 0x2029)
				rc = buf_append_str(b, "\\P");
			else if ((cp >= 0x80 && cp < 0xa0) || cp == 0xfeff || (cp >= 0xd800 && cp < 0xe000) ||
				 cp == 0xfffe || cp == 0xffff)
				rc = buf_appendf(b, "\\u%04X", cp);
			else
				rc = buf_append(b, p, len);
			p += len;
		}
	}
	if (!rc)
		rc = buf_append(b, "\"", 1);
	return rc;
}

static fc_err emit_indent(struct buf *b, int n)
{
	fc_err rc = FC_OK;

	for (int i = 0; i < n && !rc; i++)
		rc = buf_append(b, " ", 1);
	return rc;
}

static fc_err emit_scalar(struct buf *b, const cJSON *v)
{
	double d;

	if (cJSON_IsString(v) || cJSON_IsRaw(v))
		return emit_str(b, v->valuestring ? v->valuestring : "");
	if (cJSON_IsBool(v))
		return buf_append_str(b, cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		if (!isfinite(d))
			return buf_append_str(b, "null");
		if (d == floor(d) && fabs(d) < 9.0e15)
			return buf_appendf(b, "%lld", (long long)d);
		return buf_appendf(b, "%.17g", d);
	}
	if (cJSON_IsObject(v))
		return buf_append_str(b, "{}");
	if (cJSON_IsArray(v))
		return buf_append_str(b, "[]");
	return buf_append_str(b, "null");
}

static int is_block(const cJSON *v)
{
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child;
}

static fc_err emit_node(struct buf *b, const cJSON *v, int indent, int depth, int inline_first);

/* YAML limits a simple (implicit) key to 1024 characters: a longer one
 * must be written as an explicit key ("? KEY" then ": VALUE"). Measured in
 * bytes of the emitted key, which are never fewer than its characters. */
#define EMIT_SIMPLE_KEY_MAX 1000

/* Writes k, as "? k" (and sets *explicit_key) when too long for a simple key. */
static fc_err emit_key(struct buf *b, const char *k, int *explicit_key)
{
	struct buf t;
	fc_err rc;

	*explicit_key = 0;
	if (plain_key(k) && strlen(k) <= EMIT_SIMPLE_KEY_MAX)
		return buf_append_str(b, k);
	buf_init(&t, b->max);
	rc = emit_str(&t, k);
	if (!rc && t.len > EMIT_SIMPLE_KEY_MAX) {
		*explicit_key = 1;
		rc = buf_append(b, "? ", 2);
	}
	if (!rc)
		rc = buf_append(b, t.data, t.len);
	buf_release(&t);
	return rc;
}

/* Members of an object at indent; with inline_first the first member goes
 * on the current line (after "- "). */
static fc_err emit_object(struct buf *b, const cJSON *obj, int indent, int depth, int inline_first)
{
	fc_err rc = FC_OK;

	for (const cJSON *m = obj->child; m && !rc; m = m->next) {
		int explicit_key = 0;

		if (!(inline_first && m == obj->child))
			rc = emit_indent(b, indent);
		if (!rc)
			rc = emit_key(b, m->string ? m->string : "", &explicit_key);
		if (!rc && explicit_key) {
			rc = buf_append(b, "\n", 1);
			if (!rc)
				rc = emit_indent(b, indent);
		}
		if (!rc)
			rc = buf_append(b, ":", 1);
		if (rc)
			break;
		if (is_block(m)) {
			rc = buf_append(b, "\n", 1);
			if (!rc)
				rc = emit_node(b, m, cJSON_IsArray(m) && !explicit_key ? indent : indent + 2,
					       depth + 1, 0);
		} else {
			rc = buf_append(b, " ", 1);
			if (!rc)
				rc = emit_scalar(b, m);
			if (!rc)
				rc = buf_append(b, "\n", 1);
		}
	}
	return rc;
}

static fc_err emit_array(struct buf *b, const cJSON *arr, int indent, int depth, int inline_first)
{
	fc_err rc = FC_OK;

	for (const cJSON *it = arr->child; it && !rc; it = it->next) {
		if (!(inline_first && it == arr->child))
			rc = emit_indent(b, indent);
		if (!rc)
			rc = buf_append(b, "- ", 2);
		if (rc)
			break;
		if (is_block(it))
			rc = emit_node(b, it, indent + 2, depth + 1, 1);
		else if (!(rc = emit_scalar(b, it)))
			rc = buf_append(b, "\n", 1);
	}
	return rc;
}

static fc_err emit_node(struct buf *b, const cJSON *v, int indent, int depth, int inline_first)
{
	if (depth > MANIFEST_MAX_DEPTH)
		return FC_ERR_INVAL;
	if (cJSON_IsObject(v))
		return emit_object(b, v, indent, depth, inline_first);
	return emit_array(b, v, indent, depth, inline_first);
}

fc_err manifest_emit_yaml(const cJSON *obj, struct buf *out)
{
	fc_err rc;

	if (!is_block(obj)) {
		rc = emit_scalar(out, obj);
		return rc ? rc : buf_append(out, "\n", 1);
	}
	return emit_node(out, obj, 0, 1, 0);
}
