/* fuzz_azure_catalog.c - ARM model catalog pages (azure_catalog.h):
 * GET .../locations/R/models answers, {"value": [...], "nextLink": ...}.
 *
 * Input: one or more pages separated by NUL bytes, added in order to one
 * catalog. Then every entry of the pages (kind, model format/name/version,
 * each SKU) is looked up at three dates, plus a few fixed queries, and the
 * date strings found are run through azure_catalog_time_parse.
 * Properties: a lookup never fails on content; an entry of an accepted page
 * with string kind/format and non-empty name/version is never "not in
 * region"; an available result has no message; parse(format(parse(s))) ==
 * parse(s).
 */
#include <string.h>

#include "azure_catalog.h"
#include "fuzz.h"
#include "json.h"

static const int64_t nows[] = {1577836800 /* 2020 */, 1780272000 /* 2026-06 */,
			       1893456000 /* 2030 */};

static void check_result(const struct azure_catalog_result *r)
{
	FUZZ_CHECK(r->outcome >= AZURE_CATALOG_AVAILABLE && r->outcome <= AZURE_CATALOG_MODEL_RETIRED);
	FUZZ_CHECK(azure_catalog_outcome_reason(r->outcome));
	FUZZ_CHECK(memchr(r->lifecycle, '\0', sizeof(r->lifecycle)));
	FUZZ_CHECK(memchr(r->message, '\0', sizeof(r->message)));
	FUZZ_CHECK(memchr(r->deprecated_message, '\0', sizeof(r->deprecated_message)));
	if (r->outcome == AZURE_CATALOG_AVAILABLE)
		FUZZ_CHECK(r->message[0] == '\0');
	else
		FUZZ_CHECK(r->message[0] != '\0');
	if (r->outcome == AZURE_CATALOG_MODEL_RETIRED)
		FUZZ_CHECK(r->deprecated);
	if (!r->deprecated)
		FUZZ_CHECK(r->deprecated_message[0] == '\0');
}

static void lookup(const struct azure_catalog *c, struct azure_catalog_query *q, int must_exist)
{
	struct azure_catalog_result r;

	for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		q->now = nows[i];
		q->warning_s = i == 1 ? 90 * 86400 : 0;
		memset(&r, 0xa5, sizeof(r));
		FUZZ_CHECK(azure_catalog_lookup(c, q, &r) == FC_OK);
		check_result(&r);
		if (must_exist && r.outcome == AZURE_CATALOG_MODEL_NOT_IN_REGION) {
			fprintf(stderr, "entry not found: kind %s format %s name %s version %s: %s\n",
				q->kind, q->format ? q->format : "(any)", q->name, q->version,
				r.message);
			FUZZ_CHECK(!"an entry of an accepted page is not in the catalog");
		}
	}
}

static void time_roundtrip(const char *s)
{
	char out[AZURE_CATALOG_TIME_LEN];
	int64_t t, t2;

	if (azure_catalog_time_parse(s, &t))
		return;
	azure_catalog_time_format(t, out);
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)));
	FUZZ_CHECK(azure_catalog_time_parse(out, &t2) == FC_OK);
	FUZZ_CHECK(t == t2);
}

/* Looks up every entry of an accepted page. */
static void entries(const struct azure_catalog *c, const char *page, size_t len, int accepted)
{
	cJSON *root = NULL;
	const cJSON *value, *item;

	if (json_parse(page, len, &root))
		return;
	if (json_get_arr(root, "value", &value) == FC_OK) {
		cJSON_ArrayForEach(item, value) {
			const cJSON *skus = json_path(item, "model.skus"), *sku;
			struct azure_catalog_query q = {0};
			int exists;

			time_roundtrip(json_str_or(item, "model.deprecation.inference", ""));
			q.kind = json_str_or(item, "kind", NULL);
			q.format = json_str_or(item, "model.format", NULL);
			q.name = json_str_or(item, "model.name", NULL);
			q.version = json_str_or(item, "model.version", NULL);
			q.region = json_str_or(item, "location", NULL);
			if (!q.kind || !q.name || !q.version)
				continue;
			/* an empty name or version counts as missing: the entry is skipped */
			exists = accepted && q.format && *q.name && *q.version;
			q.sku = "no-such-sku";
			lookup(c, &q, exists);
			q.format = NULL;
			lookup(c, &q, exists);
			if (!cJSON_IsArray(skus))
				continue;
			cJSON_ArrayForEach(sku, skus) {
				time_roundtrip(json_str_or(sku, "deprecationDate", ""));
				q.sku = json_str_or(sku, "name", NULL);
				if (q.sku)
					lookup(c, &q, exists);
			}
		}
	}
	cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct azure_catalog *c = NULL;
	struct azure_catalog_query q = {"AIServices", NULL, "gpt-4o", "2024-11-20", "GlobalStandard",
					NULL, 0, 0};
	int accepted[16];
	size_t npages = 0, count_before;
	fc_err rc = FC_OK;
	char tbuf[64];

	fuzz_quiet_log();
	/* the first bytes as a date string */
	snprintf(tbuf, sizeof(tbuf), "%.*s", (int)(size < 40 ? size : 40), (const char *)data);
	time_roundtrip(tbuf);
	if (azure_catalog_new(&c))
		return 0;
	/* pages, NUL-separated; stop after the first rejected one */
	while (p < end && npages < 16 && !rc) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		char *next = (char *)"unset";

		count_before = azure_catalog_count(c);
		rc = azure_catalog_add_page(c, p, n, &next);
		accepted[npages++] = rc == FC_OK;
		if (rc) {
			FUZZ_CHECK(next == NULL);
			FUZZ_CHECK(azure_catalog_count(c) >= count_before);
		}
		free(next);
		p += n + (nul ? 1 : 0);
	}
	FUZZ_CHECK(azure_catalog_memory(c) > 0 || azure_catalog_count(c) == 0);
	lookup(c, &q, 0);
	q.format = "OpenAI";
	lookup(c, &q, 0);
	/* every entry of the pages */
	p = (const char *)data;
	for (size_t i = 0; i < npages; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);

		entries(c, p, n, accepted[i]);
		p += n + (nul ? 1 : 0);
	}
	azure_catalog_free(c);
	return 0;
}
