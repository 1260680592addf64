/* Unit tests: azure_catalog.c (RFC 3339, compact catalog, availability rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "azure_catalog.h"
#include "buf.h"
#include "fixture.h"

static int64_t T(const char *s)
{
	int64_t t = 0;

	assert_int_equal(azure_catalog_time_parse(s, &t), FC_OK);
	return t;
}

/* ---- RFC 3339 ------------------------------------------------------------ */

static void test_time_parse(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} ok[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2025-11-11T00:00:00Z", 1762819200},
		{"2025-11-11T00:00:00z", 1762819200},
		{"2025-11-11t00:00:00Z", 1762819200},
		{"2025-11-11 00:00:00Z", 1762819200},
		{"2025-10-28T14:48:21.7749336Z", 1761662901},
		{"2025-10-28T14:48:21.5Z", 1761662901},
		{"2025-11-11T05:30:00+05:30", 1762819200},
		{"2025-11-10T16:00:00-08:00", 1762819200},
		{"2025-11-10T16:00:00-0800", 1762819200},
		{"2025-11-11T00:00:00", 1762819200},   /* lenient: no offset = UTC */
		{"2025-11-11", 1762819200},            /* lenient: date only */
		{"2024-02-29T12:00:00Z", 1709208000},  /* leap day */
		{"2000-02-29T00:00:00Z", 951782400},   /* 400-year leap */
		{"2016-12-31T23:59:60Z", 1483228799},  /* leap second -> :59 */
		{"2099-12-31T00:00:00Z", 4102358400},
		{"1969-12-31T23:59:59Z", -1},
	};
	static const char *const bad[] = {
		"", "2025", "2025-11", "2025-13-01T00:00:00Z", "2025-00-10T00:00:00Z",
		"2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-11-31T00:00:00Z",
		"2025-11-11T24:00:00Z", "2025-11-11T00:60:00Z", "2025-11-11T00:00:61Z",
		"2025-11-11T00:00Z", "2025-11-11T00:00:00.Z", "2025-11-11T00:00:00+5:30",
		"2025-11-11T00:00:00+05:3", "2025-11-11T00:00:00Zjunk", "11/11/2025",
		"2025-11-11X00:00:00Z", "soon", "2025-1-11",
	};
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = 12345;
		if (azure_catalog_time_parse(ok[i].in, &t) != FC_OK || t != ok[i].want)
			fail_msg("%s: got %lld want %lld", ok[i].in, (long long)t,
				 (long long)ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (azure_catalog_time_parse(bad[i], &t) != FC_ERR_PARSE)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(azure_catalog_time_parse(NULL, &t), FC_ERR_PARSE);
}

static void test_time_format(void **state)
{
	char out[AZURE_CATALOG_TIME_LEN];
	static const char *const round[] = {
		"1970-01-01T00:00:00Z", "2025-11-11T00:00:00Z", "2027-03-31T00:00:00Z",
		"2024-02-29T23:59:59Z", "1969-12-31T23:59:59Z", "2099-12-31T00:00:00Z",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		azure_catalog_time_format(T(round[i]), out);
		assert_string_equal(out, round[i]);
	}
	azure_catalog_time_format(T("2025-11-11T05:30:00.999+05:30"), out);
	assert_string_equal(out, "2025-11-11T00:00:00Z");
}

/* ---- the rule, table-driven ---------------------------------------------- */

static const char CATALOG[] =
	"{\"value\":["
	/* gpt-5.4 for AIServices: GlobalStandard ok, Standard retired by SKU date */
	"{\"kind\":\"AIServices\",\"skuName\":\"S0\",\"unknownField\":{\"x\":[1,2]},"
	" \"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4\",\"version\":\"2026-03-05\","
	"  \"lifecycleStatus\":\"GenerallyAvailable\",\"deprecation\":{\"inference\":\"2027-03-31T00:00:00Z\"},"
	"  \"skus\":[{\"name\":\"GlobalStandard\",\"capacity\":{\"default\":10}},"
	"           {\"name\":\"Standard\",\"deprecationDate\":\"2026-01-01T00:00:00Z\"},"
	"           {\"name\":\"DataZoneStandard\",\"deprecationDate\":\"2026-07-01T00:00:00Z\"}]}},"
	/* the same model for OpenAI-kind accounts */
	"{\"kind\":\"OpenAI\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-5.4\",\"version\":\"2026-03-05\","
	"  \"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	/* Deprecating, no dates */
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-4o\",\"version\":\"2024-05-13\","
	"  \"lifecycleStatus\":\"Deprecating\",\"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	/* retired model (inference in the past) */
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-35-turbo\",\"version\":\"0301\","
	"  \"lifecycleStatus\":\"Deprecated\",\"deprecation\":{\"inference\":\"2025-04-30T00:00:00Z\"},"
	"  \"skus\":[{\"name\":\"Standard\"}]}},"
	/* retiring within the window */
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"gpt-4o-mini\",\"version\":\"2024-07-18\","
	"  \"lifecycleStatus\":\"GenerallyAvailable\",\"deprecation\":{\"inference\":\"2026-07-01T00:00:00Z\"},"
	"  \"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	/* another format */
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"MoonshotAI\",\"name\":\"Kimi-K2.6\",\"version\":\"1\","
	"  \"lifecycleStatus\":\"Stable\",\"deprecation\":{\"inference\":\"2099-12-31T00:00:00Z\"},"
	"  \"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	/* broken or partial entries: never crash */
	"{\"kind\":\"AIServices\"},"
	"{\"kind\":\"AIServices\",\"model\":null},"
	"{\"kind\":\"AIServices\",\"model\":{\"name\":\"noversion\",\"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	"{\"kind\":\"AIServices\",\"model\":{\"name\":\"\",\"version\":\"1\"}},"
	"{\"model\":{\"format\":\"OpenAI\",\"name\":\"nokind\",\"version\":\"1\",\"skus\":[{\"name\":\"GlobalStandard\"}]}},"
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"noskus\",\"version\":\"1\",\"skus\":\"GlobalStandard\"}},"
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"skunoname\",\"version\":\"1\",\"skus\":[{\"usageName\":\"x\"},7,null]}},"
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"baddate\",\"version\":\"1\","
	"  \"deprecation\":{\"inference\":\"soon\"},\"skus\":[{\"name\":\"GlobalStandard\",\"deprecationDate\":42}]}},"
	/* two entries for one model: the retired OpenAI one must not hide the live one */
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"dup\",\"version\":\"1\","
	"  \"deprecation\":{\"inference\":\"2020-01-01T00:00:00Z\"},\"skus\":[{\"name\":\"Standard\"}]}},"
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"dup\",\"version\":\"1\","
	"  \"skus\":[{\"name\":\"Standard\"}]}},"
	/* retires exactly at 'now' */
	"{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"edge\",\"version\":\"1\","
	"  \"deprecation\":{\"inference\":\"2026-06-01T00:00:00Z\"},\"skus\":[{\"name\":\"Standard\"}]}},"
	"42,\"str\",null"
	"]}";

#define NOW "2026-06-01T00:00:00Z"
#define DAYS90 (90 * 86400)

struct row {
	const char *what;
	const char *kind, *format, *name, *version, *sku;
	int64_t warning_s;
	enum azure_catalog_outcome want;
	int want_deprecated;
	const char *want_retirement; /* NULL: no date */
	const char *want_in_message; /* substring of message (or deprecated_message), or NULL */
};

static const struct row rows[] = {
	{"available", "AIServices", "OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, "2027-03-31T00:00:00Z", NULL},
	{"format not given", "AIServices", NULL, "gpt-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, "2027-03-31T00:00:00Z", NULL},
	{"sku ignores case", "AIServices", "OpenAI", "gpt-5.4", "2026-03-05", "globalstandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, "2027-03-31T00:00:00Z", NULL},
	{"kind ignores case", "aiservices", "OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, "2027-03-31T00:00:00Z", NULL},
	{"other kind entry", "OpenAI", "OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, NULL, NULL},
	{"wrong kind", "CognitiveServices", "OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL,
	 "gpt-5.4 2026-03-05 GlobalStandard is not offered in westus for CognitiveServices accounts"},
	{"format mismatch", "AIServices", "Microsoft", "gpt-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL, "with format Microsoft (it is with format OpenAI)"},
	{"sku not offered", "AIServices", "OpenAI", "gpt-5.4", "2026-03-05", "ProvisionedManaged", DAYS90,
	 AZURE_CATALOG_SKU_NOT_IN_REGION, 0, NULL,
	 "the model is, with SKUs GlobalStandard, Standard, DataZoneStandard"},
	{"sku deprecationDate past", "AIServices", "OpenAI", "gpt-5.4", "2026-03-05", "Standard", DAYS90,
	 AZURE_CATALOG_MODEL_RETIRED, 1, "2026-01-01T00:00:00Z", "the SKU's deprecationDate"},
	{"sku retiring within window", "AIServices", "OpenAI", "gpt-5.4", "2026-03-05", "DataZoneStandard",
	 DAYS90, AZURE_CATALOG_AVAILABLE, 1, "2026-07-01T00:00:00Z",
	 "gpt-5.4 2026-03-05 DataZoneStandard retires on 2026-07-01T00:00:00Z"},
	{"retired model", "AIServices", "OpenAI", "gpt-35-turbo", "0301", "Standard", DAYS90,
	 AZURE_CATALOG_MODEL_RETIRED, 1, "2025-04-30T00:00:00Z", "is retired in westus since 2025-04-30"},
	{"retired model, sku absent too", "AIServices", "OpenAI", "gpt-35-turbo", "0301", "GlobalStandard",
	 DAYS90, AZURE_CATALOG_MODEL_RETIRED, 1, "2025-04-30T00:00:00Z", NULL},
	{"retiring within window", "AIServices", "OpenAI", "gpt-4o-mini", "2024-07-18", "GlobalStandard",
	 DAYS90, AZURE_CATALOG_AVAILABLE, 1, "2026-07-01T00:00:00Z", "retires on 2026-07-01T00:00:00Z"},
	{"outside a short window", "AIServices", "OpenAI", "gpt-4o-mini", "2024-07-18", "GlobalStandard",
	 86400, AZURE_CATALOG_AVAILABLE, 0, "2026-07-01T00:00:00Z", NULL},
	{"lifecycle Deprecating", "AIServices", "OpenAI", "gpt-4o", "2024-05-13", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 1, NULL, "lifecycleStatus Deprecating"},
	{"wrong version", "AIServices", "OpenAI", "gpt-4o", "2024-08-06", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL, "gpt-4o 2024-08-06 GlobalStandard is not offered in westus"},
	{"unknown model", "AIServices", NULL, "gpt-9", "1", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL, NULL},
	{"name is case-sensitive", "AIServices", NULL, "GPT-5.4", "2026-03-05", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL, NULL},
	{"other format MaaS", "AIServices", "MoonshotAI", "Kimi-K2.6", "1", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, "2099-12-31T00:00:00Z", NULL},
	{"entry without kind", "AIServices", NULL, "nokind", "1", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL, NULL},
	{"entry without version skipped", "AIServices", NULL, "noversion", "", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_MODEL_NOT_IN_REGION, 0, NULL, NULL},
	{"skus not an array", "AIServices", NULL, "noskus", "1", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_SKU_NOT_IN_REGION, 0, NULL, "no SKU listed"},
	{"sku without a name", "AIServices", NULL, "skunoname", "1", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_SKU_NOT_IN_REGION, 0, NULL, NULL},
	{"unparsable dates count as absent", "AIServices", NULL, "baddate", "1", "GlobalStandard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, NULL, NULL},
	{"retired duplicate does not hide live one", "AIServices", NULL, "dup", "1", "standard", DAYS90,
	 AZURE_CATALOG_AVAILABLE, 0, NULL, NULL},
	{"retirement exactly now is retired", "AIServices", NULL, "edge", "1", "Standard", DAYS90,
	 AZURE_CATALOG_MODEL_RETIRED, 1, NOW, NULL},
};

static void test_rule_table(void **state)
{
	struct azure_catalog *c = NULL;
	char *next = (char *)"sentinel";
	char when[AZURE_CATALOG_TIME_LEN];

	(void)state;
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	assert_int_equal(azure_catalog_add_page(c, CATALOG, strlen(CATALOG), &next), FC_OK);
	assert_null(next);
	assert_int_equal(azure_catalog_count(c), 13);
	assert_true(azure_catalog_memory(c) > 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct azure_catalog_query q = {
			.kind = w->kind, .format = w->format, .name = w->name, .version = w->version,
			.sku = w->sku, .region = "westus", .now = T(NOW), .warning_s = w->warning_s,
		};
		struct azure_catalog_result r;

		assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
		if (r.outcome != w->want || r.deprecated != w->want_deprecated)
			fail_msg("%s: outcome %d deprecated %d (%s / %s)", w->what, r.outcome,
				 r.deprecated, r.message, r.deprecated_message);
		if (w->want_retirement) {
			if (r.retirement == AZURE_CATALOG_NO_DATE)
				fail_msg("%s: no retirement date", w->what);
			azure_catalog_time_format(r.retirement, when);
			if (strcmp(when, w->want_retirement))
				fail_msg("%s: retirement %s", w->what, when);
		} else if (r.retirement != AZURE_CATALOG_NO_DATE && w->want != AZURE_CATALOG_AVAILABLE) {
			fail_msg("%s: unexpected retirement date", w->what);
		}
		if (w->want == AZURE_CATALOG_AVAILABLE)
			assert_string_equal(r.message, "");
		else
			assert_true(r.message[0] != '\0');
		if (w->want_deprecated)
			assert_true(r.deprecated_message[0] != '\0');
		if (w->want_in_message && !strstr(r.message, w->want_in_message) &&
		    !strstr(r.deprecated_message, w->want_in_message))
			fail_msg("%s: message \"%s\" / \"%s\" lacks \"%s\"", w->what, r.message,
				 r.deprecated_message, w->want_in_message);
	}
	azure_catalog_free(c);
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(azure_catalog_outcome_reason(AZURE_CATALOG_AVAILABLE), "ModelAvailable");
	assert_string_equal(azure_catalog_outcome_reason(AZURE_CATALOG_MODEL_NOT_IN_REGION),
			    "ModelNotInRegion");
	assert_string_equal(azure_catalog_outcome_reason(AZURE_CATALOG_SKU_NOT_IN_REGION),
			    "SkuNotInRegion");
	assert_string_equal(azure_catalog_outcome_reason(AZURE_CATALOG_MODEL_RETIRED), "ModelRetired");
}

static void test_lookup_inval(void **state)
{
	struct azure_catalog *c = NULL;
	struct azure_catalog_query q = {.kind = "AIServices", .name = "x", .version = "1"};
	struct azure_catalog_result r;

	(void)state;
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_ERR_INVAL); /* no sku */
	q.sku = "Standard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);          /* empty catalog */
	assert_int_equal(r.outcome, AZURE_CATALOG_MODEL_NOT_IN_REGION);
	assert_non_null(strstr(r.message, "is not offered in this region"));
	azure_catalog_free(c);
	azure_catalog_free(NULL);
}

/* ---- real payloads ------------------------------------------------------- */

static void test_real_wire_westeurope(void **state)
{
	struct azure_catalog *c = NULL;
	char *next = NULL, *body;
	size_t len;
	struct azure_catalog_query q = {.kind = "OpenAI", .region = "westeurope",
					.now = T("2025-10-01T00:00:00Z"), .warning_s = DAYS90};
	struct azure_catalog_result r;
	char when[AZURE_CATALOG_TIME_LEN];

	(void)state;
	body = fixture_read("azure/unit", "models_list_westeurope_EXCERPT.json", &len);
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	assert_int_equal(azure_catalog_add_page(c, body, len, &next), FC_OK);
	assert_null(next);
	assert_int_equal(azure_catalog_count(c), 7);

	/* retired since 2024-06-14, lifecycle Deprecated */
	q.format = "OpenAI", q.name = "code-cushman-001", q.version = "1", q.sku = "Standard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_MODEL_RETIRED);
	assert_string_equal(r.lifecycle, "Deprecated");

	/* gpt-35-turbo 0125 Standard: available, retires 2025-11-11 (within 90 days) */
	q.name = "gpt-35-turbo", q.version = "0125", q.sku = "standard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_AVAILABLE);
	assert_int_equal(r.deprecated, 1);
	azure_catalog_time_format(r.retirement, when);
	assert_string_equal(when, "2025-11-11T00:00:00Z");

	/* its GlobalBatch SKU retired on 2025-04-30 */
	q.sku = "GlobalBatch";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_MODEL_RETIRED);
	azure_catalog_time_format(r.retirement, when);
	assert_string_equal(when, "2025-04-30T00:00:00Z");

	/* GlobalStandard is not one of its SKUs */
	q.sku = "GlobalStandard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_SKU_NOT_IN_REGION);

	/* MaaS entries need a MaaS account */
	q.format = NULL, q.name = "grok-3-mini", q.version = "1", q.sku = "GlobalStandard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_MODEL_NOT_IN_REGION);
	assert_non_null(strstr(r.message, "it is for MaaS accounts"));
	q.kind = "MaaS";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_AVAILABLE);
	assert_int_equal(r.deprecated, 0);
	assert_string_equal(r.lifecycle, "Preview");

	azure_catalog_free(c);
	free(body);
}

static void test_spec_example_2026(void **state)
{
	struct azure_catalog *c = NULL;
	char *next = NULL, *body;
	size_t len;
	struct azure_catalog_query q = {.kind = "OpenAI", .format = "OpenAI", .region = "westus",
					.now = T("2025-08-01T00:00:00Z"), .warning_s = DAYS90};
	struct azure_catalog_result r;

	(void)state;
	body = fixture_read("azure/unit", "spec_2026-09-01_ListLocationModels_body.json", &len);
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	assert_int_equal(azure_catalog_add_page(c, body, len, &next), FC_OK);
	assert_int_equal(azure_catalog_count(c), 6);
	/* gpt-4o 2024-05-13: Deprecating, retires 2025-09-15 (within 90 days) */
	q.name = "gpt-4o", q.version = "2024-05-13", q.sku = "Provisioned";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_AVAILABLE);
	assert_int_equal(r.deprecated, 1);
	assert_non_null(strstr(r.deprecated_message, "lifecycleStatus Deprecating"));
	/* gpt-4o 2024-08-06: no deprecation data at all */
	q.version = "2024-08-06", q.sku = "Standard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_AVAILABLE);
	assert_int_equal(r.deprecated, 0);
	assert_true(r.retirement == AZURE_CATALOG_NO_DATE);
	azure_catalog_free(c);
	free(body);
}

/* ---- malformed input and paging ------------------------------------------ */

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "null", "{\"value\":{}}", "{\"nextLink\":\"https://x\"}",
		"{\"value\":\"x\"}", "{\"value\":[]} trailing", "{\"value\":[{\"kind\":}]}",
	};
	struct azure_catalog *c = NULL;
	char *next;

	(void)state;
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		next = (char *)"sentinel";
		if (azure_catalog_add_page(c, bad[i], strlen(bad[i]), &next) != FC_ERR_PARSE)
			fail_msg("accepted %s", bad[i]);
		assert_null(next);
	}
	assert_int_equal(azure_catalog_add_page(c, "{\"value\":[],\"nextLink\":null}", 28, &next),
			 FC_OK);
	assert_null(next);
	assert_int_equal(azure_catalog_count(c), 0);
	azure_catalog_free(c);
}

static void test_paging(void **state)
{
	static const char p1[] =
		"{\"value\":[{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"b-model\","
		"\"version\":\"1\",\"skus\":[{\"name\":\"Standard\"}]}}],"
		"\"nextLink\":\"https://management.azure.com/subscriptions/s/providers/"
		"Microsoft.CognitiveServices/locations/westus/models?api-version=2024-10-01&$skipToken=abc\"}";
	static const char p2[] =
		"{\"value\":[{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\",\"name\":\"a-model\","
		"\"version\":\"1\",\"skus\":[{\"name\":\"GlobalStandard\"}]}}]}";
	static const char p3_bad[] = "{\"value\":[{\"kind\":\"AIServices\",\"model\":{\"name\":\"c\"";
	struct azure_catalog *c = NULL;
	struct azure_catalog_query q = {.kind = "AIServices", .version = "1", .now = 0,
					.warning_s = 0};
	struct azure_catalog_result r;
	char *next = NULL;

	(void)state;
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	assert_int_equal(azure_catalog_add_page(c, p1, strlen(p1), &next), FC_OK);
	assert_non_null(next);
	assert_non_null(strstr(next, "$skipToken=abc"));
	free(next);
	assert_int_equal(azure_catalog_add_page(c, p2, strlen(p2), &next), FC_OK);
	assert_null(next);
	assert_int_equal(azure_catalog_count(c), 2);
	/* a bad later page keeps the earlier entries */
	assert_int_equal(azure_catalog_add_page(c, p3_bad, strlen(p3_bad), &next), FC_ERR_PARSE);
	assert_int_equal(azure_catalog_count(c), 2);
	q.name = "a-model", q.sku = "GlobalStandard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_AVAILABLE);
	q.name = "b-model", q.sku = "Standard";
	assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
	assert_int_equal(r.outcome, AZURE_CATALOG_AVAILABLE);
	azure_catalog_free(c);
}

/* One catalog of 2000 models serves 20000 lookups; strings are interned. */
static void test_many_lookups(void **state)
{
	struct azure_catalog *c = NULL;
	struct buf page;
	char name[64], *next = NULL;
	struct azure_catalog_result r;
	struct azure_catalog_query q = {.kind = "AIServices", .format = "OpenAI", .version = "1",
					.sku = "GlobalStandard", .now = T(NOW), .warning_s = DAYS90};

	(void)state;
	buf_init(&page, 8u * 1024 * 1024);
	assert_int_equal(buf_append_str(&page, "{\"value\":["), FC_OK);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_appendf(&page,
					     "%s{\"kind\":\"AIServices\",\"model\":{\"format\":\"OpenAI\","
					     "\"name\":\"m%04d\",\"version\":\"1\",\"lifecycleStatus\":"
					     "\"GenerallyAvailable\",\"skus\":[{\"name\":\"GlobalStandard\"},"
					     "{\"name\":\"Standard\"}]}}",
					     i ? "," : "", (i * 7919) % 2000),
				 FC_OK);
	assert_int_equal(buf_append_str(&page, "]}"), FC_OK);
	assert_int_equal(azure_catalog_new(&c), FC_OK);
	assert_int_equal(azure_catalog_add_page(c, page.data, page.len, &next), FC_OK);
	assert_int_equal(azure_catalog_count(c), 2000);
	/* compact: smaller than even this terse JSON (real entries are ~2 KiB) */
	assert_true(azure_catalog_memory(c) < page.len);
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "m%04d", i % 2001);
		q.name = name;
		assert_int_equal(azure_catalog_lookup(c, &q, &r), FC_OK);
		assert_int_equal(r.outcome, i % 2001 == 2000 ? AZURE_CATALOG_MODEL_NOT_IN_REGION
							     : AZURE_CATALOG_AVAILABLE);
	}
	azure_catalog_free(c);
	buf_release(&page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_lookup_inval),
		cmocka_unit_test(test_real_wire_westeurope),
		cmocka_unit_test(test_spec_example_2026),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_many_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
