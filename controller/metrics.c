#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FC_VERSION
#define FC_VERSION "0.0.0-dev"
#endif

const double metrics_reconcile_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35,
	0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
	1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7,
	8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
};
const size_t metrics_reconcile_buckets_len =
	sizeof(metrics_reconcile_buckets) / sizeof(metrics_reconcile_buckets[0]);

const double metrics_workqueue_buckets[] = {
	1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000,
};
const size_t metrics_workqueue_buckets_len =
	sizeof(metrics_workqueue_buckets) / sizeof(metrics_workqueue_buckets[0]);

const double metrics_azure_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
};
const size_t metrics_azure_buckets_len =
	sizeof(metrics_azure_buckets) / sizeof(metrics_azure_buckets[0]);

/* One series. For a histogram, bucket[] holds nbounds + 1 non-cumulative
 * counts (the last is the +Inf bucket); the key follows the buckets: the
 * label values, each NUL-terminated, in declaration order. */
struct series {
	double value; /* counter, gauge */
	double sum;   /* histogram */
	uint64_t count;
	size_t keylen;
	uint64_t bucket[];
};

struct family {
	char *name;
	char *help;
	enum metrics_type type;
	size_t nlabels;
	char *labels[METRICS_MAX_LABELS];
	double *bounds; /* histogram upper bounds, +Inf excluded */
	size_t nbounds;
	struct series **series; /* sorted by key */
	size_t nseries;
	size_t cap;
	size_t max_series;
};

struct metrics {
	pthread_mutex_t lock;
	struct family *fam[METRICS_MAX_FAMILIES]; /* sorted by name */
	size_t nfam;
	size_t max_series;
};

static char *series_key(const struct family *f, struct series *s)
{
	size_t nb = f->type == METRICS_HISTOGRAM ? f->nbounds + 1 : 0;

	return (char *)(s->bucket + nb);
}

/* ---- validation ---- */

static int valid_name(const char *s, int colon_ok)
{
	size_t i;

	if (!s || !*s)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    c == '_' || (colon_ok && c == ':');

		if (i >= METRICS_MAX_NAME)
			return 0;
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n, k;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* ---- lookup ---- */

static struct family *find_family(struct metrics *m, const char *name, size_t *pos)
{
	size_t lo = 0, hi = m->nfam;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, m->fam[mid]->name);

		if (c == 0) {
			if (pos)
				*pos = mid;
			return m->fam[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

/* Compares label values with a series key (both in declaration order). */
static int cmp_values(const struct family *f, const char *const *vals, const char *key)
{
	size_t i;

	for (i = 0; i < f->nlabels; i++) {
		int c = strcmp(vals[i], key);

		if (c)
			return c;
		key += strlen(key) + 1;
	}
	return 0;
}

static struct series *find_series(struct family *f, const char *const *vals, size_t *pos)
{
	size_t lo = 0, hi = f->nseries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_values(f, vals, series_key(f, f->series[mid]));

		if (c == 0) {
			if (pos)
				*pos = mid;
			return f->series[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

static fc_err check_values(const struct family *f, const char *const *vals, size_t *keylen)
{
	size_t i, len = 0;

	if (f->nlabels && !vals)
		return FC_ERR_INVAL;
	for (i = 0; i < f->nlabels; i++) {
		size_t n;

		if (!vals[i])
			return FC_ERR_INVAL;
		n = strlen(vals[i]);
		if (n > METRICS_MAX_LABEL_VALUE)
			return FC_ERR_TOOBIG;
		if (!valid_utf8((const unsigned char *)vals[i], n))
			return FC_ERR_INVAL;
		len += n + 1;
	}
	*keylen = len;
	return FC_OK;
}

static struct series *series_new(const struct family *f, const char *const *vals, size_t keylen)
{
	size_t nb = f->type == METRICS_HISTOGRAM ? f->nbounds + 1 : 0;
	struct series *s;
	char *p;
	size_t i;

	s = calloc(1, sizeof(*s) + nb * sizeof(uint64_t) + keylen + 1);
	if (!s)
		return NULL;
	s->keylen = keylen;
	p = (char *)(s->bucket + nb);
	for (i = 0; i < f->nlabels; i++) {
		size_t n = strlen(vals[i]) + 1;

		memcpy(p, vals[i], n);
		p += n;
	}
	return s;
}

static fc_err insert_series(struct family *f, size_t pos, struct series *s)
{
	if (f->nseries == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 8;
		struct series **p;

		if (ncap > f->max_series)
			ncap = f->max_series;
		p = realloc(f->series, ncap * sizeof(*p));
		if (!p)
			return FC_ERR_NOMEM;
		f->series = p;
		f->cap = ncap;
	}
	memmove(f->series + pos + 1, f->series + pos, (f->nseries - pos) * sizeof(*f->series));
	f->series[pos] = s;
	f->nseries++;
	return FC_OK;
}

static void count_drop(struct metrics *m, const char *name);

/* The series for vals in f, created when absent. */
static fc_err get_series(struct metrics *m, struct family *f, const char *const *vals,
			 struct series **out)
{
	struct series *s;
	size_t pos, keylen;
	fc_err rc;

	rc = check_values(f, vals, &keylen);
	if (rc)
		return rc;
	s = find_series(f, vals, &pos);
	if (s) {
		*out = s;
		return FC_OK;
	}
	if (f->nseries >= f->max_series) {
		count_drop(m, f->name);
		return FC_ERR_TOOBIG;
	}
	s = series_new(f, vals, keylen);
	if (!s)
		return FC_ERR_NOMEM;
	rc = insert_series(f, pos, s);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return FC_OK;
}

/* Counts a dropped series. The dropped family's own cap is the number of
 * families, so it never drops itself. */
static void count_drop(struct metrics *m, const char *name)
{
	struct family *d = find_family(m, METRICS_SERIES_DROPPED_TOTAL, NULL);
	struct series *s;
	const char *vals[1] = { name };

	if (d && d != find_family(m, name, NULL) && get_series(m, d, vals, &s) == FC_OK)
		s->value += 1;
}

/* ---- declaration ---- */

static void family_free(struct family *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nseries; i++)
		free(f->series[i]);
	free(f->series);
	for (i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->bounds);
	free(f->help);
	free(f->name);
	free(f);
}

static fc_err declare(struct metrics *m, const char *name, const char *help,
		      enum metrics_type type, const double *bounds, size_t nbounds,
		      size_t max_series, va_list ap)
{
	struct family *f = NULL;
	struct series *s;
	const char *label;
	size_t pos, i;
	fc_err rc = FC_ERR_INVAL;

	if (!valid_name(name, 1) || !help || strlen(help) > METRICS_MAX_HELP ||
	    (unsigned)type > METRICS_HISTOGRAM)
		return FC_ERR_INVAL;
	if (type == METRICS_HISTOGRAM) {
		if (nbounds && isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
			nbounds--;
		if (nbounds > METRICS_MAX_BUCKETS)
			return FC_ERR_INVAL;
		for (i = 0; i < nbounds; i++)
			if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
				return FC_ERR_INVAL;
	}

	f = calloc(1, sizeof(*f));
	if (!f)
		return FC_ERR_NOMEM;
	f->type = type;
	f->max_series = max_series;
	while ((label = va_arg(ap, const char *)) != NULL) {
		rc = FC_ERR_INVAL;
		if (f->nlabels == METRICS_MAX_LABELS || !valid_name(label, 0) ||
		    !strncmp(label, "__", 2) ||
		    (type == METRICS_HISTOGRAM && !strcmp(label, "le")))
			goto out;
		for (i = 0; i < f->nlabels; i++)
			if (!strcmp(f->labels[i], label))
				goto out;
		rc = FC_ERR_NOMEM;
		f->labels[f->nlabels] = strdup(label);
		if (!f->labels[f->nlabels])
			goto out;
		f->nlabels++;
	}

	pthread_mutex_lock(&m->lock);
	if (find_family(m, name, &pos)) {
		rc = FC_ERR_CONFLICT;
		goto unlock;
	}
	if (m->nfam == METRICS_MAX_FAMILIES) {
		rc = FC_ERR_TOOBIG;
		goto unlock;
	}
	rc = FC_ERR_NOMEM;
	f->name = strdup(name);
	f->help = strdup(help);
	if (!f->name || !f->help)
		goto unlock;
	if (type == METRICS_HISTOGRAM) {
		f->nbounds = nbounds;
		f->bounds = malloc((nbounds ? nbounds : 1) * sizeof(double));
		if (!f->bounds)
			goto unlock;
		if (nbounds)
			memcpy(f->bounds, bounds, nbounds * sizeof(double));
	}
	if (f->nlabels == 0) {
		rc = get_series(m, f, NULL, &s);
		if (rc)
			goto unlock;
	}
	memmove(m->fam + pos + 1, m->fam + pos, (m->nfam - pos) * sizeof(m->fam[0]));
	m->fam[pos] = f;
	m->nfam++;
	f = NULL;
	rc = FC_OK;
unlock:
	pthread_mutex_unlock(&m->lock);
out:
	family_free(f);
	return rc;
}

fc_err metrics_declare(struct metrics *m, const char *name, const char *help,
		       enum metrics_type type, ...)
{
	va_list ap;
	fc_err rc;

	va_start(ap, type);
	rc = declare(m, name, help, type, metrics_reconcile_buckets,
		     metrics_reconcile_buckets_len, m->max_series, ap);
	va_end(ap);
	return rc;
}

fc_err metrics_declare_histogram(struct metrics *m, const char *name,
				 const char *help, const double *bounds,
				 size_t n, ...)
{
	va_list ap;
	fc_err rc;

	if (n && !bounds)
		return FC_ERR_INVAL;
	va_start(ap, n);
	rc = declare(m, name, help, METRICS_HISTOGRAM, bounds, n, m->max_series, ap);
	va_end(ap);
	return rc;
}

static fc_err declare_dropped(struct metrics *m, ...)
{
	va_list ap;
	fc_err rc;

	va_start(ap, m);
	rc = declare(m, METRICS_SERIES_DROPPED_TOTAL,
		     "Series updates dropped because the family reached its series limit.",
		     METRICS_COUNTER, NULL, 0, METRICS_MAX_FAMILIES, ap);
	va_end(ap);
	return rc;
}

fc_err metrics_new(size_t max_series, struct metrics **out)
{
	struct metrics *m;
	fc_err rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return FC_ERR_NOMEM;
	if (pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		return FC_ERR_NOMEM;
	}
	m->max_series = max_series ? max_series : METRICS_DEFAULT_MAX_SERIES;
	rc = declare_dropped(m, "metric", (const char *)NULL);
	if (rc) {
		metrics_free(m);
		return rc;
	}
	*out = m;
	return FC_OK;
}

void metrics_free(struct metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nfam; i++)
		family_free(m->fam[i]);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- updates ---- */

enum op { OP_COUNTER_ADD, OP_COUNTER_SET, OP_GAUGE_SET, OP_GAUGE_ADD, OP_OBSERVE };

static fc_err update(struct metrics *m, const char *name, const char *const *vals,
		     enum op op, double v)
{
	struct family *f;
	struct series *s;
	fc_err rc;
	size_t lo, hi;

	switch (op) {
	case OP_COUNTER_ADD:
	case OP_COUNTER_SET:
		if (isnan(v) || v < 0)
			return FC_ERR_INVAL;
		break;
	case OP_OBSERVE:
		if (isnan(v))
			return FC_ERR_INVAL;
		break;
	default:
		break;
	}

	pthread_mutex_lock(&m->lock);
	f = find_family(m, name, NULL);
	rc = FC_ERR_NOTFOUND;
	if (!f)
		goto out;
	rc = FC_ERR_INVAL;
	if ((op == OP_COUNTER_ADD || op == OP_COUNTER_SET) && f->type != METRICS_COUNTER)
		goto out;
	if ((op == OP_GAUGE_SET || op == OP_GAUGE_ADD) && f->type != METRICS_GAUGE)
		goto out;
	if (op == OP_OBSERVE && f->type != METRICS_HISTOGRAM)
		goto out;
	rc = get_series(m, f, vals, &s);
	if (rc)
		goto out;
	switch (op) {
	case OP_COUNTER_ADD:
	case OP_GAUGE_ADD:
		s->value += v;
		break;
	case OP_COUNTER_SET:
	case OP_GAUGE_SET:
		s->value = v;
		break;
	case OP_OBSERVE:
		/* first bound >= v; past the last bound is +Inf */
		lo = 0;
		hi = f->nbounds;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (f->bounds[mid] >= v)
				hi = mid;
			else
				lo = mid + 1;
		}
		s->bucket[lo]++;
		s->count++;
		s->sum += v;
		break;
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

fc_err metrics_counter_add(struct metrics *m, const char *name,
			   const char *const *label_values, double v)
{
	return update(m, name, label_values, OP_COUNTER_ADD, v);
}

fc_err metrics_counter_inc(struct metrics *m, const char *name,
			   const char *const *label_values)
{
	return update(m, name, label_values, OP_COUNTER_ADD, 1);
}

fc_err metrics_gauge_set(struct metrics *m, const char *name,
			 const char *const *label_values, double v)
{
	return update(m, name, label_values, OP_GAUGE_SET, v);
}

fc_err metrics_gauge_add(struct metrics *m, const char *name,
			 const char *const *label_values, double v)
{
	return update(m, name, label_values, OP_GAUGE_ADD, v);
}

fc_err metrics_histogram_observe(struct metrics *m, const char *name,
				 const char *const *label_values, double v)
{
	return update(m, name, label_values, OP_OBSERVE, v);
}

static void series_zero(const struct family *f, struct series *s)
{
	size_t nb = f->type == METRICS_HISTOGRAM ? f->nbounds + 1 : 0;

	s->value = 0;
	s->sum = 0;
	s->count = 0;
	memset(s->bucket, 0, nb * sizeof(uint64_t));
}

/* The family called name and its series for vals, both existing, with the
 * series' position in *pos (pos may be NULL); m->lock held. NOTFOUND when
 * either is absent, INVAL or TOOBIG for unusable vals (check_values). */
static fc_err find_existing(struct metrics *m, const char *name, const char *const *vals,
			    struct family **f, struct series **s, size_t *pos)
{
	size_t keylen;
	fc_err rc;

	*f = find_family(m, name, NULL);
	if (!*f)
		return FC_ERR_NOTFOUND;
	rc = check_values(*f, vals, &keylen);
	if (rc)
		return rc;
	*s = find_series(*f, vals, pos);
	return *s ? FC_OK : FC_ERR_NOTFOUND;
}

fc_err metrics_delete(struct metrics *m, const char *name,
		      const char *const *label_values)
{
	struct family *f;
	struct series *s;
	size_t pos;
	fc_err rc;

	pthread_mutex_lock(&m->lock);
	rc = find_existing(m, name, label_values, &f, &s, &pos);
	if (rc)
		goto out;
	if (f->nlabels == 0) {
		series_zero(f, s);
	} else {
		free(s);
		memmove(f->series + pos, f->series + pos + 1,
			(f->nseries - pos - 1) * sizeof(*f->series));
		f->nseries--;
	}
	rc = FC_OK;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

fc_err metrics_clear(struct metrics *m, const char *name)
{
	struct family *f;
	size_t i;
	fc_err rc = FC_ERR_NOTFOUND;

	pthread_mutex_lock(&m->lock);
	f = find_family(m, name, NULL);
	if (!f)
		goto out;
	if (f->nlabels == 0) {
		for (i = 0; i < f->nseries; i++)
			series_zero(f, f->series[i]);
	} else {
		for (i = 0; i < f->nseries; i++)
			free(f->series[i]);
		free(f->series);
		f->series = NULL;
		f->nseries = 0;
		f->cap = 0;
	}
	rc = FC_OK;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

fc_err metrics_get(struct metrics *m, const char *name,
		   const char *const *label_values, double *out)
{
	struct family *f;
	struct series *s;
	fc_err rc;

	pthread_mutex_lock(&m->lock);
	rc = find_existing(m, name, label_values, &f, &s, NULL);
	if (rc)
		goto out;
	*out = f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
	rc = FC_OK;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* ---- rendering ---- */

/* Shortest text that reads back as v, "+Inf", "-Inf" or "NaN". Plain
 * decimal notation for exponents -4..14 (so integers below 1e15, such as
 * Unix timestamps and byte counts, print exactly), %e notation otherwise. */
static void fmt_double(char *out, size_t n, double v)
{
	int prec, exp;
	char *e;

	if (isnan(v)) {
		snprintf(out, n, "%s", "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, n, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 0; prec < 17; prec++) {
		snprintf(out, n, "%.*e", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	e = strchr(out, 'e');
	exp = e ? atoi(e + 1) : 0;
	if (exp >= -4 && exp < 15)
		snprintf(out, n, "%.*f", prec > exp ? prec - exp : 0, v);
}

static fc_err append_escaped(struct buf *b, const char *s, int quote)
{
	fc_err rc = FC_OK;
	const char *run = s;

	for (; *s && !rc; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quote && *s == '"')
			esc = "\\\"";
		if (!esc)
			continue;
		rc = buf_append(b, run, (size_t)(s - run));
		if (!rc)
			rc = buf_append_str(b, esc);
		run = s + 1;
	}
	if (!rc)
		rc = buf_append(b, run, (size_t)(s - run));
	return rc;
}

/* name{l1="v1",...[,le="x"]} (braces omitted when there are no labels). */
static fc_err append_series_name(struct buf *b, const struct family *f, const char *suffix,
				 const char *key, const char *le)
{
	fc_err rc;
	size_t i;
	int any = 0;

	rc = buf_append_str(b, f->name);
	if (!rc)
		rc = buf_append_str(b, suffix);
	for (i = 0; i < f->nlabels && !rc; i++) {
		rc = buf_appendf(b, "%s%s=\"", any ? "," : "{", f->labels[i]);
		if (!rc)
			rc = append_escaped(b, key, 1);
		if (!rc)
			rc = buf_append_str(b, "\"");
		key += strlen(key) + 1;
		any = 1;
	}
	if (!rc && le) {
		rc = buf_appendf(b, "%sle=\"%s\"", any ? "," : "{", le);
		any = 1;
	}
	if (!rc && any)
		rc = buf_append_str(b, "}");
	return rc;
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

static fc_err render_family(struct buf *b, const struct family *f)
{
	char num[64], le[64];
	size_t i, j;
	fc_err rc;

	if (!f->nseries)
		return FC_OK;
	rc = buf_appendf(b, "# HELP %s ", f->name);
	if (!rc)
		rc = append_escaped(b, f->help, 0);
	if (!rc)
		rc = buf_appendf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
	for (i = 0; i < f->nseries && !rc; i++) {
		struct series *s = f->series[i];
		const char *key = series_key(f, s);

		if (f->type != METRICS_HISTOGRAM) {
			fmt_double(num, sizeof(num), s->value);
			rc = append_series_name(b, f, "", key, NULL);
			if (!rc)
				rc = buf_appendf(b, " %s\n", num);
			continue;
		}
		{
			uint64_t cum = 0;

			for (j = 0; j <= f->nbounds && !rc; j++) {
				cum += s->bucket[j];
				if (j < f->nbounds)
					fmt_double(le, sizeof(le), f->bounds[j]);
				else
					snprintf(le, sizeof(le), "%s", "+Inf");
				rc = append_series_name(b, f, "_bucket", key, le);
				if (!rc)
					rc = buf_appendf(b, " %llu\n", (unsigned long long)cum);
			}
		}
		fmt_double(num, sizeof(num), s->sum);
		if (!rc)
			rc = append_series_name(b, f, "_sum", key, NULL);
		if (!rc)
			rc = buf_appendf(b, " %s\n", num);
		if (!rc)
			rc = append_series_name(b, f, "_count", key, NULL);
		if (!rc)
			rc = buf_appendf(b, " %llu\n", (unsigned long long)s->count);
	}
	return rc;
}

fc_err metrics_render(struct metrics *m, struct buf *out)
{
	size_t i;
	fc_err rc = FC_OK;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->nfam && !rc; i++)
		rc = render_family(out, m->fam[i]);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* ---- defaults ---- */

static fc_err declare_defaults(struct metrics *m)
{
	const char *const ver[] = { FC_VERSION };
	fc_err rc;

#define CHECK(call) \
	do { \
		rc = (call); \
		if (rc) \
			return rc; \
	} while (0)
	CHECK(metrics_declare(m, METRICS_RECONCILE_TOTAL,
			      "Total number of reconciliations per controller",
			      METRICS_COUNTER, "controller", "result", NULL));
	CHECK(metrics_declare(m, METRICS_RECONCILE_ERRORS_TOTAL,
			      "Total number of reconciliation errors per controller",
			      METRICS_COUNTER, "controller", NULL));
	CHECK(metrics_declare_histogram(m, METRICS_RECONCILE_TIME,
					"Length of time per reconciliation per controller",
					metrics_reconcile_buckets, metrics_reconcile_buckets_len,
					"controller", NULL));
	CHECK(metrics_declare(m, METRICS_ACTIVE_WORKERS,
			      "Number of currently used workers per controller",
			      METRICS_GAUGE, "controller", NULL));
	CHECK(metrics_declare(m, METRICS_MAX_CONCURRENT,
			      "Maximum number of concurrent reconciles per controller",
			      METRICS_GAUGE, "controller", NULL));
	CHECK(metrics_declare(m, METRICS_WQ_DEPTH, "Current depth of workqueue",
			      METRICS_GAUGE, "name", NULL));
	CHECK(metrics_declare(m, METRICS_WQ_ADDS_TOTAL,
			      "Total number of adds handled by workqueue",
			      METRICS_COUNTER, "name", NULL));
	CHECK(metrics_declare(m, METRICS_WQ_RETRIES_TOTAL,
			      "Total number of retries handled by workqueue",
			      METRICS_COUNTER, "name", NULL));
	CHECK(metrics_declare_histogram(m, METRICS_WQ_QUEUE_DURATION,
					"How long in seconds an item stays in workqueue before being requested",
					metrics_workqueue_buckets, metrics_workqueue_buckets_len,
					"name", NULL));
	CHECK(metrics_declare_histogram(m, METRICS_WQ_WORK_DURATION,
					"How long in seconds processing an item from workqueue takes.",
					metrics_workqueue_buckets, metrics_workqueue_buckets_len,
					"name", NULL));
	CHECK(metrics_declare(m, METRICS_LEADER_STATUS,
			      "Gauge of if the reporting system is master of the relevant lease, "
			      "0 indicates backup, 1 indicates master. 'name' is the string used "
			      "to identify the lease. Please make sure to group by name.",
			      METRICS_GAUGE, "name", NULL));
	CHECK(metrics_declare(m, METRICS_MODELS,
			      "Number of FoundryModels by namespace and Ready condition",
			      METRICS_GAUGE, "namespace", "ready", NULL));
	CHECK(metrics_declare(m, METRICS_ACCOUNTS,
			      "Number of FoundryAccounts by namespace and Ready condition",
			      METRICS_GAUGE, "namespace", "ready", NULL));
	CHECK(metrics_declare(m, METRICS_CONFIGMAP_WRITES_TOTAL,
			      "Total number of writes of the generated ConfigMap",
			      METRICS_COUNTER, "namespace", NULL));
	CHECK(metrics_declare(m, METRICS_STATUS_WRITES_TOTAL,
			      "Total number of status subresource writes by kind",
			      METRICS_COUNTER, "kind", NULL));
	CHECK(metrics_declare(m, METRICS_AZURE_REQUESTS_TOTAL,
			      "Total number of Azure requests by call and HTTP status code",
			      METRICS_COUNTER, "call", "code", NULL));
	CHECK(metrics_declare_histogram(m, METRICS_AZURE_REQUEST_DURATION,
					"Duration of Azure requests in seconds by call",
					metrics_azure_buckets, metrics_azure_buckets_len,
					"call", NULL));
	CHECK(metrics_declare(m, METRICS_MODEL_RETIREMENT,
			      "Announced retirement date of a FoundryModel's model version, "
			      "as a Unix timestamp",
			      METRICS_GAUGE, "namespace", "name", "model", "version", NULL));
	CHECK(metrics_declare(m, METRICS_BUILD_INFO,
			      "Build information; the value is always 1",
			      METRICS_GAUGE, "version", NULL));
	CHECK(metrics_gauge_set(m, METRICS_BUILD_INFO, ver, 1));
	CHECK(metrics_declare(m, METRICS_PROCESS_RSS, "Resident memory size in bytes.",
			      METRICS_GAUGE, NULL));
	CHECK(metrics_declare(m, METRICS_PROCESS_CPU,
			      "Total user and system CPU time spent in seconds.",
			      METRICS_COUNTER, NULL));
	CHECK(metrics_declare(m, METRICS_PROCESS_START,
			      "Start time of the process since unix epoch in seconds.",
			      METRICS_GAUGE, NULL));
	CHECK(metrics_declare(m, METRICS_PROCESS_FDS, "Number of open file descriptors.",
			      METRICS_GAUGE, NULL));
#undef CHECK
	return FC_OK;
}

fc_err metrics_register_defaults(struct metrics *m)
{
	return declare_defaults(m);
}

/* ---- process metrics: the only I/O in this file ---- */

#define PROC_STAT_MAX 4096

/* Reads a small /proc file into out (NUL-terminated). */
static fc_err read_small(const char *path, char *out, size_t n)
{
	FILE *fp = NULL;
	size_t len;
	fc_err rc = FC_ERR_IO;

	fp = fopen(path, "re");
	if (!fp)
		goto out;
	len = fread(out, 1, n - 1, fp);
	if (ferror(fp) || len == 0)
		goto out;
	out[len] = '\0';
	rc = FC_OK;
out:
	if (fp)
		fclose(fp);
	return rc;
}

/* btime (boot time, Unix seconds) from /proc/stat, read line by line since
 * the file grows with the number of CPUs and interrupts. */
static fc_err boot_time(double *out)
{
	FILE *fp = NULL;
	char line[256];
	int at_start = 1;
	fc_err rc = FC_ERR_IO;

	fp = fopen("/proc/stat", "re");
	if (!fp)
		goto out;
	while (fgets(line, sizeof(line), fp)) {
		int was_start = at_start;

		at_start = strchr(line, '\n') != NULL;
		if (was_start && !strncmp(line, "btime ", 6)) {
			char *end;
			double v = strtod(line + 6, &end);

			if (end != line + 6) {
				*out = v;
				rc = FC_OK;
			}
			break;
		}
	}
out:
	if (fp)
		fclose(fp);
	return rc;
}

static fc_err count_fds(double *out)
{
	DIR *d;
	struct dirent *e;
	double n = 0;

	d = opendir("/proc/self/fd");
	if (!d)
		return FC_ERR_IO;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	*out = n > 0 ? n - 1 : 0; /* not counting the directory's own fd */
	return FC_OK;
}

fc_err metrics_update_process(struct metrics *m)
{
	char stat[PROC_STAT_MAX];
	unsigned long long utime, stime, starttime;
	long long rss;
	long ticks, page;
	double btime, fds;
	const char *p;
	fc_err rc;

	rc = read_small("/proc/self/stat", stat, sizeof(stat));
	if (rc)
		return rc;
	/* the command name (field 2) may hold spaces and ')': skip to the
	 * last ')', then field 3 (state) onwards. */
	p = strrchr(stat, ')');
	if (!p)
		return FC_ERR_IO;
	if (sscanf(p + 1,
		   " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s"
		   " %*s %*s %llu %*s %lld",
		   &utime, &stime, &starttime, &rss) != 4)
		return FC_ERR_IO;
	ticks = sysconf(_SC_CLK_TCK);
	page = sysconf(_SC_PAGESIZE);
	if (ticks <= 0 || page <= 0)
		return FC_ERR_IO;
	rc = boot_time(&btime);
	if (rc)
		return rc;
	rc = count_fds(&fds);
	if (rc)
		return rc;

	rc = metrics_gauge_set(m, METRICS_PROCESS_RSS, NULL, (double)rss * (double)page);
	if (!rc)
		rc = update(m, METRICS_PROCESS_CPU, NULL, OP_COUNTER_SET,
			    (double)(utime + stime) / (double)ticks);
	if (!rc)
		rc = metrics_gauge_set(m, METRICS_PROCESS_START, NULL,
				       btime + (double)starttime / (double)ticks);
	if (!rc)
		rc = metrics_gauge_set(m, METRICS_PROCESS_FDS, NULL, fds);
	return rc;
}
