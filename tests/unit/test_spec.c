/* spec: parsing FoundryAccount / FoundryModel objects, defaults, the CRD's
 * rules (every manifest of tests/e2e/valid and tests/e2e/invalid), status,
 * age order, and a clean FC_ERR_NOMEM at every allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "failmalloc.h"
#include "spec.h"
#include "sqjson.h"

static const struct spec_defaults defs = { "llm-config", VALIDATION_WARN };

/* ---- a small YAML -> cJSON for the e2e manifests ---- */

static cJSON *yaml_node(yaml_document_t *doc, yaml_node_t *n)
{
	cJSON *out = NULL;

	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)n->data.scalar.value;
		char *end;
		double d;

		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return cJSON_CreateString(v);
		if (!*v || !strcmp(v, "null") || !strcmp(v, "~"))
			return cJSON_CreateNull();
		if (!strcmp(v, "true"))
			return cJSON_CreateTrue();
		if (!strcmp(v, "false"))
			return cJSON_CreateFalse();
		d = strtod(v, &end);
		if (end != v && !*end && strspn(v, "0123456789.-+eE") == strlen(v))
			return cJSON_CreateNumber(d);
		return cJSON_CreateString(v);
	}
	case YAML_SEQUENCE_NODE:
		out = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
			cJSON_AddItemToArray(out, yaml_node(doc, yaml_document_get_node(doc, *i)));
		return out;
	case YAML_MAPPING_NODE:
		out = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);

			cJSON_AddItemToObject(out, (const char *)k->data.scalar.value,
					      yaml_node(doc, yaml_document_get_node(doc, p->value)));
		}
		return out;
	default:
		return cJSON_CreateNull();
	}
}

static cJSON *load_yaml(const char *path)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	cJSON *out;

	assert_non_null(f);
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, f);
	assert_true(yaml_parser_load(&parser, &doc));
	out = yaml_node(&doc, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	assert_non_null(out);
	return out;
}

/* "# field: spec.x" from the manifest's comments, or "" */
static void manifest_field(const char *path, char *field, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[512];

	field[0] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "# field: ", 9)) {
			snprintf(field, len, "%s", line + 9);
			field[strcspn(field, "\r\n")] = '\0';
		}
	fclose(f);
}

static char *e2e_dir(const char *sub)
{
	const char *data = getenv("FC_TEST_DATA");
	char *p = malloc(4096);

	assert_non_null(p);
	snprintf(p, 4096, "%s/../e2e/%s", data ? data : "../fixtures", sub);
	return p;
}

/* Parses a manifest as its kind says. Returns the invalid message (copy) or NULL. */
static char *parse_manifest(const cJSON *obj, const char *path)
{
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(obj, "kind"));
	char *inv = NULL;

	assert_non_null(kind);
	if (!strcmp(kind, "FoundryAccount")) {
		struct spec_account a;

		if (spec_account_parse(obj, &a))
			fail_msg("%s: not parseable", path);
		inv = a.invalid ? strdup(a.invalid) : NULL;
		spec_account_release(&a);
	} else if (!strcmp(kind, "FoundryModel")) {
		struct spec_model m;

		if (spec_model_parse(obj, &defs, &m))
			fail_msg("%s: not parseable", path);
		inv = m.invalid ? strdup(m.invalid) : NULL;
		spec_model_release(&m);
	} else {
		fail_msg("%s: kind %s", path, kind);
	}
	return inv;
}

static void each_manifest(const char *sub, int expect_invalid)
{
	char *dir = e2e_dir(sub);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d) {
		free(dir);
		skip();
	}
	while ((e = readdir(d))) {
		char path[8192], field[512];
		cJSON *obj;
		char *inv;

		if (!strstr(e->d_name, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		obj = load_yaml(path);
		inv = parse_manifest(obj, path);
		if (expect_invalid) {
			manifest_field(path, field, sizeof(field));
			if (!inv)
				fail_msg("%s: accepted", e->d_name);
			if (field[0] && !strstr(inv, field))
				fail_msg("%s: message \"%s\" does not name %s", e->d_name, inv, field);
		} else if (inv) {
			fail_msg("%s: rejected: %s", e->d_name, inv);
		}
		free(inv);
		cJSON_Delete(obj);
		n++;
	}
	closedir(d);
	free(dir);
	assert_true(n > 0);
}

static void test_e2e_valid_manifests(void **state)
{
	(void)state;
	each_manifest("valid", 0);
}

static void test_e2e_invalid_manifests(void **state)
{
	(void)state;
	each_manifest("invalid", 1);
}

/* ---- accounts ---- */

static void test_account_defaults(void **state)
{
	struct spec_account a;
	cJSON *o = J("{'metadata':{'name':'aucert-ai','namespace':'aucert','uid':'u1',"
		     "'resourceVersion':'7','generation':3,'creationTimestamp':'2026-01-01T00:00:00Z'},"
		     "'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		     "'resourceGroup':'rg','primary':true,'region':'westus'},"
		     "'status':{'endpoint':'https://a/','region':'westus','kind':'AIServices'}}");

	(void)state;
	assert_int_equal(spec_account_parse(o, &a), FC_OK);
	assert_null(a.invalid);
	assert_string_equal(a.meta.ns, "aucert");
	assert_string_equal(a.meta.name, "aucert-ai");
	assert_string_equal(a.meta.uid, "u1");
	assert_string_equal(a.meta.resource_version, "7");
	assert_int_equal(a.meta.generation, 3);
	assert_string_equal(a.account_name, "aucert-ai");
	assert_true(a.primary);
	assert_string_equal(a.region, "westus");
	assert_null(a.endpoint);
	assert_string_equal(a.status_endpoint, "https://a/");
	assert_string_equal(a.status_region, "westus");
	assert_string_equal(a.status_kind, "AIServices");
	assert_false(a.meta.deleting);
	spec_account_release(&a);
	spec_account_release(&a); /* idempotent */
	cJSON_Delete(o);
}

struct acc_case {
	const char *json;
	fc_err rc;
	const char *invalid; /* substring expected in invalid, NULL: valid */
};

static void test_account_table(void **state)
{
	static const struct acc_case cases[] = {
		/* unusable objects */
		{ "{}", FC_ERR_PARSE, NULL },
		{ "{'metadata':{}}", FC_ERR_PARSE, NULL },
		{ "{'metadata':{'name':''}}", FC_ERR_PARSE, NULL },
		{ "{'metadata':{'name':5}}", FC_ERR_PARSE, NULL },
		{ "{'metadata':[]}", FC_ERR_PARSE, NULL },
		{ "{'metadata':{'name':'a','namespace':7}}", FC_ERR_PARSE, NULL },
		/* malformed: invalid, never a crash */
		{ "{'metadata':{'name':'ab'},'spec':[]}", FC_OK, "spec: must be an object" },
		{ "{'metadata':{'name':'ab'},'spec':null}", FC_OK, "spec: required" },
		{ "{'metadata':{'name':'ab'},'spec':{'subscriptionId':{},'resourceGroup':[]}}", FC_OK,
		  "spec.subscriptionId: must be a string" },
		{ "{'metadata':{'name':'ab'},'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		  "'resourceGroup':'r(g)_-.x'}}", FC_OK, NULL },
		{ "{'metadata':{'name':'ab'},'spec':{'subscriptionId':'00000000-0000-0000-0000-00000000000g',"
		  "'resourceGroup':'rg'}}", FC_OK, "spec.subscriptionId" },
		{ "{'metadata':{'name':'ab'},'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		  "'resourceGroup':'rg','endpoint':'https://x y'}}", FC_OK, "spec.endpoint" },
		{ "{'metadata':{'name':'ab'},'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		  "'resourceGroup':'rg','endpoint':'https://'}}", FC_OK, "spec.endpoint" },
		{ "{'metadata':{'name':'ab'},'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		  "'resourceGroup':'rg','primary':1}}", FC_OK, "spec.primary" },
		/* accountName defaulted from a name Azure would refuse */
		{ "{'metadata':{'name':'a'},'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		  "'resourceGroup':'rg'}}", FC_OK, "set spec.accountName" },
		{ "{'metadata':{'name':'a'},'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000',"
		  "'resourceGroup':'rg','accountName':'ok-name'}}", FC_OK, NULL },
		/* several problems are all reported */
		{ "{'metadata':{'name':'ab'},'spec':{'region':'West US'}}", FC_OK,
		  "spec.subscriptionId: required; spec.resourceGroup: required; spec.region" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec_account a;
		cJSON *o = J(cases[i].json);
		fc_err rc = spec_account_parse(o, &a);

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %s", i, fc_strerror(rc));
		if (!rc && !cases[i].invalid && a.invalid)
			fail_msg("case %zu: invalid: %s", i, a.invalid);
		if (!rc && cases[i].invalid && (!a.invalid || !strstr(a.invalid, cases[i].invalid)))
			fail_msg("case %zu: invalid \"%s\", want \"%s\"", i, a.invalid ? a.invalid : "(null)",
				 cases[i].invalid);
		if (!rc)
			assert_non_null(a.account_name);
		spec_account_release(&a);
		cJSON_Delete(o);
	}
}

/* ---- models ---- */

#define FM_SPEC "'accountRef':{'name':'aucert-ai'},'model':{'name':'gpt-5.4','version':'2026-03-05'}," \
		"'sku':{'name':'GlobalStandard'},'keys':['GENERATION','REPORTING']"

static void test_model_defaults(void **state)
{
	struct spec_model m;
	cJSON *o = J("{'metadata':{'name':'generation','namespace':'aucert','generation':4,"
		     "'finalizers':['other','foundry.aucert.io/finalizer'],"
		     "'deletionTimestamp':'2026-02-01T00:00:00Z'},"
		     "'spec':{" FM_SPEC "},"
		     "'status':{'observedGeneration':3,'publishedKeys':['GENERATION','bad','GENERATION','REPORTING']}}");

	(void)state;
	assert_int_equal(spec_model_parse(o, &defs, &m), FC_OK);
	assert_null(m.invalid);
	assert_string_equal(m.account_ref, "aucert-ai");
	assert_null(m.model_format);
	assert_string_equal(m.model_name, "gpt-5.4");
	assert_string_equal(m.model_version, "2026-03-05");
	assert_string_equal(m.sku, "GlobalStandard");
	assert_string_equal(m.deployment, "gpt-5.4");
	assert_string_equal(m.configmap, "llm-config");
	assert_int_equal(m.validation, VALIDATION_WARN);
	assert_int_equal(m.nkeys, 2);
	assert_string_equal(m.keys[0], "GENERATION");
	assert_string_equal(m.keys[1], "REPORTING");
	assert_int_equal(m.npublished, 2);
	assert_string_equal(m.published_keys[0], "GENERATION");
	assert_string_equal(m.published_keys[1], "REPORTING");
	assert_int_equal(m.status_observed_generation, 3);
	assert_true(m.meta.has_finalizer);
	assert_true(m.meta.deleting);
	assert_int_equal(m.meta.generation, 4);
	/* status for another generation: no stored verdict */
	assert_false(m.stored_region.known);
	spec_model_release(&m);
	cJSON_Delete(o);

	/* NULL defaults, explicit fields */
	o = J("{'metadata':{'name':'x'},'spec':{'accountRef':{'name':'a'},"
	      "'model':{'format':'OpenAI','name':'gpt-5.4','version':'1'},'sku':{'name':'S'},"
	      "'keys':['K'],'deployment':'dep','configMap':'team.cm','validation':'Skip'}}");
	assert_int_equal(spec_model_parse(o, NULL, &m), FC_OK);
	assert_null(m.invalid);
	assert_string_equal(m.meta.ns, "default");
	assert_string_equal(m.model_format, "OpenAI");
	assert_string_equal(m.deployment, "dep");
	assert_string_equal(m.configmap, "team.cm");
	assert_int_equal(m.validation, VALIDATION_SKIP);
	assert_false(m.meta.has_finalizer);
	assert_false(m.meta.deleting);
	spec_model_release(&m);
	cJSON_Delete(o);

	o = J("{'metadata':{'name':'x'},'spec':{" FM_SPEC "}}");
	assert_int_equal(spec_model_parse(o, NULL, &m), FC_OK);
	assert_string_equal(m.configmap, "llm-config");
	assert_int_equal(m.validation, VALIDATION_ENFORCE);
	spec_model_release(&m);
	cJSON_Delete(o);
}

static void test_model_stored_verdict(void **state)
{
	struct spec_model m;
	cJSON *o = J("{'metadata':{'name':'m','generation':5},'spec':{" FM_SPEC "},"
		     "'status':{'observedGeneration':5,'availableRegions':['eastus2','swedencentral'],"
		     "'retirementDate':'2027-03-31T00:00:00Z','conditions':["
		     "{'type':'Ready','status':'False','reason':'ModelNotInRegion','message':'r'},"
		     "{'type':'RegionAvailable','status':'False','reason':'ModelNotInRegion',"
		     "'message':'not offered in westus','observedGeneration':5},"
		     "{'type':'DeploymentReady','status':'True','reason':'DeploymentSucceeded'},"
		     "{'type':'Deprecated','status':'Unknown','reason':'AzureThrottled'}]}}");

	(void)state;
	assert_int_equal(spec_model_parse(o, NULL, &m), FC_OK);
	assert_true(m.stored_region.known);
	assert_false(m.stored_region.is_true);
	assert_string_equal(m.stored_region.reason, "ModelNotInRegion");
	assert_string_equal(m.stored_region.message, "not offered in westus");
	assert_true(m.stored_deployment.known);
	assert_true(m.stored_deployment.is_true);
	assert_null(m.stored_deployment.message);
	assert_false(m.stored_deprecated.known); /* Unknown is no verdict */
	assert_int_equal(m.nstatus_available_regions, 2);
	assert_string_equal(m.status_available_regions[1], "swedencentral");
	assert_string_equal(m.status_retirement_date, "2027-03-31T00:00:00Z");
	spec_model_release(&m);
	cJSON_Delete(o);

	/* a condition written for another generation does not count */
	o = J("{'metadata':{'name':'m','generation':5},'spec':{" FM_SPEC "},"
	      "'status':{'observedGeneration':5,'conditions':["
	      "{'type':'RegionAvailable','status':'True','reason':'ModelAvailable','observedGeneration':4}]}}");
	assert_int_equal(spec_model_parse(o, NULL, &m), FC_OK);
	assert_false(m.stored_region.known);
	spec_model_release(&m);
	cJSON_Delete(o);

	/* malformed status is ignored */
	o = J("{'metadata':{'name':'m','generation':5},'spec':{" FM_SPEC "},"
	      "'status':{'observedGeneration':'5','publishedKeys':'A','conditions':{}}}");
	assert_int_equal(spec_model_parse(o, NULL, &m), FC_OK);
	assert_null(m.invalid);
	assert_int_equal(m.npublished, 0);
	assert_int_equal(m.status_observed_generation, 0);
	spec_model_release(&m);
	cJSON_Delete(o);
}

static void test_model_table(void **state)
{
	static const struct acc_case cases[] = {
		{ "{'metadata':{'name':'m'},'spec':{" FM_SPEC "}}", FC_OK, NULL },
		{ "{'metadata':{'name':'m'}}", FC_OK, "spec: required" },
		{ "{'metadata':{'name':'m'},'spec':'x'}", FC_OK, "spec: must be an object" },
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':[],'model':'x','sku':5,'keys':{}}}", FC_OK,
		  "spec.accountRef: must be an object; spec.model: must be an object; spec.sku: must be an "
		  "object; spec.keys: must be a list" },
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},'model':{'name':'n','version':'v'},"
		  "'sku':{'name':'s'},'keys':['A',{},'B','A',null]}}", FC_OK, "spec.keys[1]: must be a string" },
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},'model':{'name':'n','version':'v'},"
		  "'sku':{'name':'s'},'keys':['A','B','A']}}", FC_OK, "spec.keys[2]: \"A\" is listed twice" },
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},'model':{'name':'n','version':2},"
		  "'sku':{'name':'s'},'keys':['A']}}", FC_OK, "quote it in YAML" },
		/* deployment defaulted from a model name that is no deployment name */
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},'model':{'name':'my model',"
		  "'version':'1'},'sku':{'name':'s'},'keys':['A']}}", FC_OK, "set spec.deployment" },
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},'model':{'name':'my model',"
		  "'version':'1'},'sku':{'name':'s'},'keys':['A'],'deployment':'mine'}}", FC_OK, NULL },
		{ "{'metadata':{'name':'m'},'spec':{" FM_SPEC ",'validation':'enforce'}}", FC_OK,
		  "spec.validation" },
		{ "{'metadata':{'name':'m'},'spec':{" FM_SPEC ",'validation':true}}", FC_OK, "spec.validation" },
		{ "{'metadata':{'name':'m'},'spec':{" FM_SPEC ",'configMap':'a..b'}}", FC_OK, "spec.configMap" },
		{ "{'metadata':{'name':'m'},'spec':{" FM_SPEC ",'configMap':'-a'}}", FC_OK, "spec.configMap" },
		{ "{'metadata':{'name':'m'},'spec':{" FM_SPEC ",'configMap':'a.b-c.d'}}", FC_OK, NULL },
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a.'},'model':{'name':'n','version':'v'},"
		  "'sku':{'name':'s'},'keys':['A']}}", FC_OK, "spec.accountRef.name" },
		/* characters, not bytes: 64 two-byte characters fit model.format's 64 */
		{ "{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},'model':{'name':'n','version':'v',"
		  "'format':'\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9'},"
		  "'sku':{'name':'s'},'keys':['A']}}", FC_OK, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec_model m;
		cJSON *o = J(cases[i].json);
		fc_err rc = spec_model_parse(o, &defs, &m);

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %s", i, fc_strerror(rc));
		if (!cases[i].invalid && m.invalid)
			fail_msg("case %zu: invalid: %s", i, m.invalid);
		if (cases[i].invalid && (!m.invalid || !strstr(m.invalid, cases[i].invalid)))
			fail_msg("case %zu: invalid \"%s\", want \"%s\"", i, m.invalid ? m.invalid : "(null)",
				 cases[i].invalid);
		assert_non_null(m.configmap);
		spec_model_release(&m);
		cJSON_Delete(o);
	}
}

static void test_model_keys_17(void **state)
{
	struct spec_model m;
	cJSON *o = J("{'metadata':{'name':'m'},'spec':{'accountRef':{'name':'a'},"
		     "'model':{'name':'n','version':'v'},'sku':{'name':'s'},'keys':['K0','K1','K2','K3',"
		     "'K4','K5','K6','K7','K8','K9','K10','K11','K12','K13','K14','K15','K16']}}");

	(void)state;
	assert_int_equal(spec_model_parse(o, NULL, &m), FC_OK);
	assert_non_null(m.invalid);
	assert_non_null(strstr(m.invalid, "at most 16 keys (17 given)"));
	assert_int_equal(m.nkeys, SPEC_MAX_KEYS);
	spec_model_release(&m);
	cJSON_Delete(o);
}

/* ---- small functions ---- */

static void test_parse_validation(void **state)
{
	static const struct {
		const char *in;
		fc_err rc;
		enum validation_mode m;
	} cases[] = {
		{ "Enforce", FC_OK, VALIDATION_ENFORCE }, { "enforce", FC_OK, VALIDATION_ENFORCE },
		{ "ENFORCE", FC_OK, VALIDATION_ENFORCE }, { "Warn", FC_OK, VALIDATION_WARN },
		{ "warn", FC_OK, VALIDATION_WARN }, { "Skip", FC_OK, VALIDATION_SKIP },
		{ "skip", FC_OK, VALIDATION_SKIP }, { "off", FC_OK, VALIDATION_SKIP },
		{ "OFF", FC_OK, VALIDATION_SKIP }, { "", FC_ERR_PARSE, 0 }, { "on", FC_ERR_PARSE, 0 },
		{ "enforced", FC_ERR_PARSE, 0 }, { NULL, FC_ERR_PARSE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum validation_mode m = VALIDATION_WARN;

		assert_int_equal(spec_parse_validation(cases[i].in, &m), cases[i].rc);
		if (!cases[i].rc)
			assert_int_equal(m, cases[i].m);
	}
	assert_string_equal(spec_validation_name(VALIDATION_ENFORCE), "Enforce");
	assert_string_equal(spec_validation_name(VALIDATION_WARN), "Warn");
	assert_string_equal(spec_validation_name(VALIDATION_SKIP), "Skip");
}

static void test_key_valid(void **state)
{
	static const struct {
		const char *k;
		int ok;
	} cases[] = {
		{ "A", 1 }, { "GENERATION", 1 }, { "B_2", 1 }, { "A0_", 1 },
		{ "K23456789012345678901234567890123456789012345678901234567890123", 1 }, /* 63 */
		{ "K234567890123456789012345678901234567890123456789012345678901234", 0 }, /* 64 */
		{ "", 0 }, { "a", 0 }, { "_A", 0 }, { "1A", 0 }, { "A-B", 0 }, { "A B", 0 }, { "Ab", 0 },
		{ NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (spec_key_valid(cases[i].k) != cases[i].ok)
			fail_msg("key %s", cases[i].k ? cases[i].k : "(null)");
}

static void test_meta_older(void **state)
{
	static const struct {
		const char *ta, *na, *tb, *nb;
		int want;
	} cases[] = {
		{ "2026-01-01T00:00:00Z", "b", "2026-01-02T00:00:00Z", "a", -1 },
		{ "2026-01-02T00:00:00Z", "a", "2026-01-01T00:00:00Z", "b", 1 },
		{ "2026-01-01T00:00:00Z", "a", "2026-01-01T00:00:00Z", "b", -1 }, /* tie: name */
		{ "2026-01-01T00:00:00Z", "b", "2026-01-01T00:00:00Z", "a", 1 },
		{ "2026-01-01T00:00:00Z", "a", "2026-01-01T00:00:00Z", "a", 0 },
		/* offsets and fractions compare as instants */
		{ "2026-01-01T01:00:00+02:00", "z", "2026-01-01T00:00:00Z", "a", -1 },
		{ "2026-01-01T00:00:00.5Z", "a", "2026-01-01T00:00:00.25Z", "b", 1 },
		{ "2025-12-31T23:59:59Z", "z", "2026-01-01T00:00:00Z", "a", -1 },
		{ "2024-02-29T00:00:00Z", "z", "2024-03-01T00:00:00Z", "a", -1 },
		/* no timestamp: the newest */
		{ NULL, "a", "2026-01-01T00:00:00Z", "b", 1 },
		{ "garbage", "a", "2026-01-01T00:00:00Z", "b", 1 },
		{ NULL, "a", NULL, "b", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec_meta a = { 0 }, b = { 0 };

		a.creation_timestamp = (char *)cases[i].ta;
		a.name = (char *)cases[i].na;
		b.creation_timestamp = (char *)cases[i].tb;
		b.name = (char *)cases[i].nb;
		if (spec_meta_older(&a, &b) != cases[i].want)
			fail_msg("case %zu", i);
		if (spec_meta_older(&b, &a) != -cases[i].want)
			fail_msg("case %zu reversed", i);
	}
}

/* ---- allocation failures ---- */

static void test_nomem(void **state)
{
	cJSON *acc = J("{'metadata':{'name':'aucert-ai','namespace':'aucert','uid':'u','resourceVersion':'1',"
		       "'creationTimestamp':'2026-01-01T00:00:00Z','finalizers':['x']},"
		       "'spec':{'subscriptionId':'bad','resourceGroup':'rg','region':'westus',"
		       "'endpoint':'https://a/'},'status':{'endpoint':'https://a/','region':'w','kind':'k'}}");
	cJSON *mod = J("{'metadata':{'name':'m','namespace':'ns','generation':2},'spec':{" FM_SPEC
		       ",'configMap':'BAD'},'status':{'observedGeneration':2,'publishedKeys':['A','B'],"
		       "'availableRegions':['x','y'],'retirementDate':'r','conditions':["
		       "{'type':'RegionAvailable','status':'True','reason':'R','message':'m'},"
		       "{'type':'DeploymentReady','status':'False','reason':'D','message':'m'},"
		       "{'type':'Deprecated','status':'False','reason':'N'}]}}");
	unsigned long n, fails = 0;

	(void)state;
	if (!failmalloc_works()) {
		cJSON_Delete(acc);
		cJSON_Delete(mod);
		skip();
	}
	for (n = 1;; n++) {
		struct spec_account a;
		fc_err rc;

		failmalloc_start(n, 0);
		rc = spec_account_parse(acc, &a);
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			spec_account_release(&a);
			break;
		}
		assert_int_equal(rc, FC_ERR_NOMEM);
		assert_null(a.meta.name); /* released */
		fails++;
	}
	for (n = 1;; n++) {
		struct spec_model m;
		fc_err rc;

		failmalloc_start(n, 0);
		rc = spec_model_parse(mod, &defs, &m);
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			assert_non_null(m.invalid);
			assert_true(m.stored_region.known);
			spec_model_release(&m);
			break;
		}
		assert_int_equal(rc, FC_ERR_NOMEM);
		assert_null(m.meta.name);
		fails++;
	}
	assert_true(fails > 20);
	failmalloc_report("spec account_parse/model_parse", fails);
	cJSON_Delete(acc);
	cJSON_Delete(mod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_valid_manifests),
		cmocka_unit_test(test_e2e_invalid_manifests),
		cmocka_unit_test(test_account_defaults),
		cmocka_unit_test(test_account_table),
		cmocka_unit_test(test_model_defaults),
		cmocka_unit_test(test_model_stored_verdict),
		cmocka_unit_test(test_model_table),
		cmocka_unit_test(test_model_keys_17),
		cmocka_unit_test(test_parse_validation),
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_meta_older),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
