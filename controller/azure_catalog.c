#include "azure_catalog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "json.h"

/* ---- RFC 3339 ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char **pp, unsigned n, unsigned *out)
{
	const char *p = *pp;
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*pp = p + n;
	*out = v;
	return 0;
}

fc_err azure_catalog_time_parse(const char *s, int64_t *out)
{
	unsigned year, mon, day, hh = 0, mm = 0, ss = 0, oh = 0, om = 0;
	int64_t off = 0;
	const char *p = s;

	if (!s)
		return FC_ERR_PARSE;
	if (digits(&p, 4, &year) || *p++ != '-' || digits(&p, 2, &mon) || *p++ != '-' ||
	    digits(&p, 2, &day))
		return FC_ERR_PARSE;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
		return FC_ERR_PARSE;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mm) || *p++ != ':' ||
		    digits(&p, 2, &ss))
			return FC_ERR_PARSE;
		if (hh > 23 || mm > 59 || ss > 60)
			return FC_ERR_PARSE;
		if (ss == 60)
			ss = 59;
		if (*p == '.') {
			p++;
			if (*p < '0' || *p > '9')
				return FC_ERR_PARSE;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;

			if (digits(&p, 2, &oh))
				return FC_ERR_PARSE;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &om) || oh > 23 || om > 59)
				return FC_ERR_PARSE;
			off = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
		}
	}
	if (*p)
		return FC_ERR_PARSE;
	*out = days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 +
	       ss - off;
	return FC_OK;
}

void azure_catalog_time_format(int64_t t, char out[AZURE_CATALOG_TIME_LEN])
{
	int64_t days = t / 86400, rem = t % 86400, y;
	unsigned m, d;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	snprintf(out, AZURE_CATALOG_TIME_LEN, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m,
		 d, (unsigned)(rem / 3600), (unsigned)(rem % 3600 / 60), (unsigned)(rem % 60));
}

/* ---- the compact catalog ----------------------------------------------- */

/* String ids are offsets into the arena; id 0 is "". */
struct cat_entry {
	uint32_t kind, format, name, version, lifecycle;
	uint32_t sku0, nskus;  /* range in skus[] */
	int64_t inference;     /* model deprecation.inference or NO_DATE */
};

struct cat_sku {
	uint32_t name;
	int64_t deprecation;   /* deprecationDate or NO_DATE */
};

struct azure_catalog {
	struct buf arena;      /* NUL-separated interned strings */
	uint32_t *intern;      /* open addressing: offset + 1, 0 = empty slot */
	size_t intern_cap, intern_n;
	struct cat_entry *entries;
	size_t n, cap;
	struct cat_sku *skus;
	size_t nskus, skus_cap;
};

static const char *str(const struct azure_catalog *c, uint32_t id)
{
	return c->arena.data + id;
}

static uint32_t hash_str(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static fc_err intern_grow(struct azure_catalog *c)
{
	size_t ncap = c->intern_cap ? c->intern_cap * 2 : 256;
	uint32_t *t = calloc(ncap, sizeof(*t));

	if (!t)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < c->intern_cap; i++) {
		uint32_t v = c->intern[i];
		const char *s;
		size_t j;

		if (!v)
			continue;
		s = str(c, v - 1);
		j = hash_str(s, strlen(s)) & (ncap - 1);
		while (t[j])
			j = (j + 1) & (ncap - 1);
		t[j] = v;
	}
	free(c->intern);
	c->intern = t;
	c->intern_cap = ncap;
	return FC_OK;
}

static fc_err intern(struct azure_catalog *c, const char *s, uint32_t *id)
{
	size_t len, j, off;
	fc_err rc;

	if (!s || !*s) {
		*id = 0;
		return FC_OK;
	}
	len = strlen(s);
	if ((c->intern_n + 1) * 2 > c->intern_cap) {
		rc = intern_grow(c);
		if (rc)
			return rc;
	}
	j = hash_str(s, len) & (c->intern_cap - 1);
	while (c->intern[j]) {
		const char *t = str(c, c->intern[j] - 1);

		if (strcmp(t, s) == 0) {
			*id = c->intern[j] - 1;
			return FC_OK;
		}
		j = (j + 1) & (c->intern_cap - 1);
	}
	off = c->arena.len;
	if (off >= UINT32_MAX - len - 2)
		return FC_ERR_TOOBIG;
	rc = buf_append(&c->arena, s, len + 1); /* with its NUL */
	if (rc)
		return rc;
	c->intern[j] = (uint32_t)off + 1;
	c->intern_n++;
	*id = (uint32_t)off;
	return FC_OK;
}

fc_err azure_catalog_new(struct azure_catalog **out)
{
	struct azure_catalog *c;
	fc_err rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return FC_ERR_NOMEM;
	buf_init(&c->arena, AZURE_CATALOG_MAX_ARENA);
	rc = buf_append(&c->arena, "", 1); /* id 0: "" */
	if (rc) {
		azure_catalog_free(c);
		return rc;
	}
	*out = c;
	return FC_OK;
}

void azure_catalog_free(struct azure_catalog *c)
{
	if (!c)
		return;
	buf_release(&c->arena);
	free(c->intern);
	free(c->entries);
	free(c->skus);
	free(c);
}

size_t azure_catalog_count(const struct azure_catalog *c)
{
	return c ? c->n : 0;
}

size_t azure_catalog_memory(const struct azure_catalog *c)
{
	if (!c)
		return 0;
	return sizeof(*c) + c->arena.cap + c->intern_cap * sizeof(*c->intern) +
	       c->cap * sizeof(*c->entries) + c->skus_cap * sizeof(*c->skus);
}

static int64_t date_or_none(const cJSON *obj, const char *path)
{
	const char *s;
	int64_t t;

	if (json_get_str(obj, path, &s) || azure_catalog_time_parse(s, &t))
		return AZURE_CATALOG_NO_DATE;
	return t;
}

static fc_err push_sku(struct azure_catalog *c, const cJSON *sku)
{
	const char *name;
	uint32_t id;
	fc_err rc;

	if (json_get_str(sku, "name", &name) || !*name)
		return FC_OK; /* a SKU without a name cannot match: skip it */
	rc = intern(c, name, &id);
	if (rc)
		return rc;
	if (c->nskus == c->skus_cap) {
		size_t ncap = c->skus_cap ? c->skus_cap * 2 : 256;
		struct cat_sku *p;

		if (ncap > (size_t)UINT32_MAX)
			return FC_ERR_TOOBIG;
		p = realloc(c->skus, ncap * sizeof(*p));
		if (!p)
			return FC_ERR_NOMEM;
		c->skus = p;
		c->skus_cap = ncap;
	}
	c->skus[c->nskus].name = id;
	c->skus[c->nskus].deprecation = date_or_none(sku, "deprecationDate");
	c->nskus++;
	return FC_OK;
}

static fc_err push_entry(struct azure_catalog *c, const cJSON *item)
{
	const cJSON *model = json_path(item, "model"), *skus = json_path(model, "skus"), *s;
	const char *name, *version;
	struct cat_entry e;
	size_t nsk = 0;
	fc_err rc;

	if (!cJSON_IsObject(model) || json_get_str(model, "name", &name) ||
	    json_get_str(model, "version", &version) || !*name || !*version)
		return FC_OK; /* unusable entry: skip */
	if (c->n >= AZURE_CATALOG_MAX_ENTRIES)
		return FC_ERR_TOOBIG;
	memset(&e, 0, sizeof(e));
	if ((rc = intern(c, json_str_or(item, "kind", ""), &e.kind)) ||
	    (rc = intern(c, json_str_or(model, "format", ""), &e.format)) ||
	    (rc = intern(c, name, &e.name)) || (rc = intern(c, version, &e.version)) ||
	    (rc = intern(c, json_str_or(model, "lifecycleStatus", ""), &e.lifecycle)))
		return rc;
	e.inference = date_or_none(model, "deprecation.inference");
	e.sku0 = (uint32_t)c->nskus;
	if (cJSON_IsArray(skus)) {
		cJSON_ArrayForEach(s, skus) {
			if (!cJSON_IsObject(s))
				continue;
			if (++nsk > AZURE_CATALOG_MAX_SKUS_PER_ENTRY)
				return FC_ERR_TOOBIG;
			rc = push_sku(c, s);
			if (rc)
				return rc;
		}
	}
	e.nskus = (uint32_t)c->nskus - e.sku0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct cat_entry *p = realloc(c->entries, ncap * sizeof(*p));

		if (!p)
			return FC_ERR_NOMEM;
		c->entries = p;
		c->cap = ncap;
	}
	c->entries[c->n++] = e;
	return FC_OK;
}

static int cmp_name_version(const struct azure_catalog *c, const struct cat_entry *e,
			    const char *name, const char *version)
{
	int r = strcmp(str(c, e->name), name);

	return r ? r : strcmp(str(c, e->version), version);
}

static int cmp_entries(const void *a, const void *b, void *ud)
{
	const struct azure_catalog *c = ud;
	const struct cat_entry *x = a, *y = b;

	return cmp_name_version(c, x, str(c, y->name), str(c, y->version));
}

fc_err azure_catalog_add_page(struct azure_catalog *c, const char *json, size_t len,
			      char **next_link)
{
	cJSON *root = NULL;
	const cJSON *value, *item;
	const char *next;
	size_t n0 = c->n, nskus0 = c->nskus;
	fc_err rc;

	*next_link = NULL;
	rc = json_parse(json, len, &root);
	if (rc)
		goto out;
	value = json_path(root, "value");
	if (!cJSON_IsArray(value)) {
		rc = FC_ERR_PARSE;
		goto out;
	}
	cJSON_ArrayForEach(item, value) {
		if (!cJSON_IsObject(item))
			continue;
		rc = push_entry(c, item);
		if (rc)
			goto out;
	}
	if (!json_get_str(root, "nextLink", &next) && *next) {
		*next_link = strdup(next);
		if (!*next_link) {
			rc = FC_ERR_NOMEM;
			goto out;
		}
	}
	if (c->n > 1)
		qsort_r(c->entries, c->n, sizeof(*c->entries), cmp_entries, c);
out:
	if (rc) {
		/* drop this page's entries; interned strings may stay */
		c->n = n0;
		c->nskus = nskus0;
	}
	cJSON_Delete(root);
	return rc;
}

/* ---- lookup ------------------------------------------------------------ */

const char *azure_catalog_outcome_reason(enum azure_catalog_outcome o)
{
	switch (o) {
	case AZURE_CATALOG_AVAILABLE:
		return "ModelAvailable";
	case AZURE_CATALOG_MODEL_NOT_IN_REGION:
		return "ModelNotInRegion";
	case AZURE_CATALOG_SKU_NOT_IN_REGION:
		return "SkuNotInRegion";
	case AZURE_CATALOG_MODEL_RETIRED:
		return "ModelRetired";
	}
	return "ModelNotInRegion";
}

/* Index of the first entry with (name, version), or c->n. */
static size_t lower_bound(const struct azure_catalog *c, const char *name, const char *version)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_name_version(c, &c->entries[mid], name, version) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int past(int64_t date, int64_t now)
{
	return date != AZURE_CATALOG_NO_DATE && date <= now;
}

/* Earliest of two dates, NO_DATE being "none". */
static int64_t earliest(int64_t a, int64_t b)
{
	if (a == AZURE_CATALOG_NO_DATE)
		return b;
	if (b == AZURE_CATALOG_NO_DATE)
		return a;
	return a < b ? a : b;
}

static const struct cat_sku *find_sku(const struct azure_catalog *c, const struct cat_entry *e,
				      const char *sku)
{
	for (uint32_t i = 0; i < e->nskus; i++)
		if (strcasecmp(str(c, c->skus[e->sku0 + i].name), sku) == 0)
			return &c->skus[e->sku0 + i];
	return NULL;
}

static int lifecycle_deprecating(const char *l)
{
	return strcasecmp(l, "Deprecating") == 0 || strcasecmp(l, "Deprecated") == 0;
}

/* snprintf-append into a fixed buffer; silently truncates. */
__attribute__((format(printf, 3, 4)))
static void addf(char *dst, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(dst, size);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(dst + len, size - len, fmt, ap);
	va_end(ap);
}

static void tuple(char *dst, size_t size, const struct azure_catalog_query *q)
{
	addf(dst, size, "%s %s %s", q->name, q->version, q->sku);
}

static void describe_skus(const struct azure_catalog *c, const struct cat_entry *e,
			  char *dst, size_t size)
{
	for (uint32_t i = 0; i < e->nskus; i++)
		addf(dst, size, "%s%s", i ? ", " : "", str(c, c->skus[e->sku0 + i].name));
}

fc_err azure_catalog_lookup(const struct azure_catalog *c, const struct azure_catalog_query *q,
			    struct azure_catalog_result *r)
{
	const struct cat_entry *best = NULL, *retired = NULL, *sku_less = NULL;
	const struct cat_sku *best_sku = NULL;
	const char *other_kind = NULL, *other_format = NULL;
	const char *region;
	int64_t retired_at = AZURE_CATALOG_NO_DATE;
	char when[AZURE_CATALOG_TIME_LEN];
	size_t i;

	memset(r, 0, sizeof(*r));
	r->retirement = AZURE_CATALOG_NO_DATE;
	if (!c || !q->kind || !q->name || !q->version || !q->sku)
		return FC_ERR_INVAL;
	region = q->region ? q->region : "this region";

	for (i = lower_bound(c, q->name, q->version);
	     i < c->n && cmp_name_version(c, &c->entries[i], q->name, q->version) == 0; i++) {
		const struct cat_entry *e = &c->entries[i];
		const struct cat_sku *s;

		if (q->format && strcmp(str(c, e->format), q->format) != 0) {
			other_format = str(c, e->format);
			continue;
		}
		if (strcasecmp(str(c, e->kind), q->kind) != 0) {
			other_kind = str(c, e->kind);
			continue;
		}
		if (past(e->inference, q->now)) {
			retired = e;
			retired_at = e->inference;
			continue;
		}
		s = find_sku(c, e, q->sku);
		if (!s) {
			sku_less = e;
			continue;
		}
		if (past(s->deprecation, q->now)) {
			if (!retired) {
				retired = e;
				retired_at = s->deprecation;
			}
			continue;
		}
		best = e;
		best_sku = s;
		break;
	}

	if (best) {
		int64_t ret = earliest(best->inference, best_sku->deprecation);
		const char *lc = str(c, best->lifecycle);

		r->outcome = AZURE_CATALOG_AVAILABLE;
		r->retirement = ret;
		snprintf(r->lifecycle, sizeof(r->lifecycle), "%s", lc);
		if (ret != AZURE_CATALOG_NO_DATE && ret - q->now <= q->warning_s) {
			r->deprecated = 1;
			azure_catalog_time_format(ret, when);
			tuple(r->deprecated_message, sizeof(r->deprecated_message), q);
			addf(r->deprecated_message, sizeof(r->deprecated_message), " retires on %s",
			     when);
			if (lifecycle_deprecating(lc))
				addf(r->deprecated_message, sizeof(r->deprecated_message),
				     " (lifecycleStatus %s)", lc);
		} else if (lifecycle_deprecating(lc)) {
			r->deprecated = 1;
			tuple(r->deprecated_message, sizeof(r->deprecated_message), q);
			addf(r->deprecated_message, sizeof(r->deprecated_message),
			     " has lifecycleStatus %s", lc);
			if (ret != AZURE_CATALOG_NO_DATE) {
				azure_catalog_time_format(ret, when);
				addf(r->deprecated_message, sizeof(r->deprecated_message),
				     "; it retires on %s", when);
			} else {
				addf(r->deprecated_message, sizeof(r->deprecated_message),
				     "; no retirement date is announced yet");
			}
		}
		return FC_OK;
	}

	if (retired) {
		r->outcome = AZURE_CATALOG_MODEL_RETIRED;
		r->retirement = retired_at;
		r->deprecated = 1;
		snprintf(r->lifecycle, sizeof(r->lifecycle), "%s", str(c, retired->lifecycle));
		azure_catalog_time_format(retired_at, when);
		tuple(r->message, sizeof(r->message), q);
		addf(r->message, sizeof(r->message), " is retired in %s since %s (%s)", region, when,
		     retired_at == retired->inference ? "the model's deprecation.inference date"
						      : "the SKU's deprecationDate");
		snprintf(r->deprecated_message, sizeof(r->deprecated_message), "%s", r->message);
		return FC_OK;
	}

	if (sku_less) {
		r->outcome = AZURE_CATALOG_SKU_NOT_IN_REGION;
		snprintf(r->lifecycle, sizeof(r->lifecycle), "%s", str(c, sku_less->lifecycle));
		tuple(r->message, sizeof(r->message), q);
		addf(r->message, sizeof(r->message), " is not offered in %s: the model is, with ",
		     region);
		if (sku_less->nskus) {
			addf(r->message, sizeof(r->message), "SKUs ");
			describe_skus(c, sku_less, r->message, sizeof(r->message));
		} else {
			addf(r->message, sizeof(r->message), "no SKU listed");
		}
		return FC_OK;
	}

	r->outcome = AZURE_CATALOG_MODEL_NOT_IN_REGION;
	tuple(r->message, sizeof(r->message), q);
	addf(r->message, sizeof(r->message), " is not offered in %s", region);
	if (other_kind)
		addf(r->message, sizeof(r->message), " for %s accounts (it is for %s accounts)",
		     q->kind, *other_kind ? other_kind : "other");
	else if (other_format)
		addf(r->message, sizeof(r->message), " with format %s (it is with format %s)",
		     q->format, *other_format ? other_format : "none");
	return FC_OK;
}
