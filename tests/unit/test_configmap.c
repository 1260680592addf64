/* Unit tests: configmap.c (ownership from managedFields, needs-write, apply body). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "configmap.h"
#include "json.h"

/* struct kv holds mutable strings; the literals here are never written */
#define KV(k, v) { (char *)(k), (char *)(v) }

static cJSON *parse(const char *s)
{
	cJSON *j = NULL;

	assert_int_equal(json_parse(s, strlen(s), &j), FC_OK);
	return j;
}

/* A ConfigMap shaped like the API server returns it: our Apply entry owns
 * two keys, kubectl owns a foreign one. */
static const char *CM =
	"{\"metadata\":{\"name\":\"llm-config\",\"namespace\":\"ns\","
	"\"labels\":{\"app.kubernetes.io/managed-by\":\"foundry-controller\"},"
	"\"annotations\":{\"foundry.aucert.io/config-hash\":\"H1\"},"
	"\"managedFields\":["
	"{\"manager\":\"kubectl-create\",\"operation\":\"Update\",\"fieldsType\":\"FieldsV1\","
	" \"fieldsV1\":{\"f:data\":{\".\":{},\"f:FOREIGN\":{}}}},"
	"{\"manager\":\"foundry-controller\",\"operation\":\"Apply\",\"fieldsType\":\"FieldsV1\","
	" \"fieldsV1\":{\"f:data\":{\"f:FOUNDRY_ENDPOINT\":{},\"f:FOUNDRY_DEPLOYMENT_A\":{}},"
	"  \"f:metadata\":{\"f:annotations\":{\"f:foundry.aucert.io/config-hash\":{}}}}}]},"
	"\"data\":{\"FOREIGN\":\"x\",\"FOUNDRY_ENDPOINT\":\"https://e/\",\"FOUNDRY_DEPLOYMENT_A\":\"a\"}}";

static void test_owned_keys(void **state)
{
	cJSON *cm = parse(CM);
	struct kv *kv;
	size_t n;

	(void)state;
	assert_int_equal(configmap_owned(cm, CONFIGMAP_FIELD_MANAGER, &kv, &n), FC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(kv[0].key, "FOUNDRY_DEPLOYMENT_A"); /* sorted */
	assert_string_equal(kv[0].value, "a");
	assert_string_equal(kv[1].key, "FOUNDRY_ENDPOINT");
	kv_array_free(kv, n);
	/* another manager owns FOREIGN only */
	assert_int_equal(configmap_owned(cm, "kubectl-create", &kv, &n), FC_OK);
	assert_int_equal(n, 0); /* Update, not Apply */
	kv_array_free(kv, n);
	assert_int_equal(configmap_owned(NULL, CONFIGMAP_FIELD_MANAGER, &kv, &n), FC_OK);
	assert_int_equal(n, 0);
	assert_null(kv);
	cJSON_Delete(cm);
}

static void test_owned_malformed(void **state)
{
	static const char *bad[] = {
		"{}", "{\"metadata\":{\"managedFields\":7}}",
		"{\"metadata\":{\"managedFields\":[1,\"x\",{\"manager\":5}]}}",
		"{\"metadata\":{\"managedFields\":[{\"manager\":\"foundry-controller\",\"operation\":\"Apply\",\"fieldsV1\":{\"f:data\":[]}}]}}",
		"{\"metadata\":{\"managedFields\":[{\"manager\":\"foundry-controller\",\"operation\":\"Apply\",\"fieldsV1\":{\"f:data\":{\"f:K\":{}}}}]},\"data\":{\"K\":3}}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *cm = parse(bad[i]);
		struct kv *kv;
		size_t n;

		assert_int_equal(configmap_owned(cm, CONFIGMAP_FIELD_MANAGER, &kv, &n), FC_OK);
		assert_int_equal(n, 0);
		kv_array_free(kv, n);
		cJSON_Delete(cm);
	}
}

static void test_needs_write(void **state)
{
	cJSON *cm = parse(CM);
	struct kv same[] = { KV("FOUNDRY_DEPLOYMENT_A", "a"), KV("FOUNDRY_ENDPOINT", "https://e/") };
	struct kv changed[] = { KV("FOUNDRY_DEPLOYMENT_A", "b"), KV("FOUNDRY_ENDPOINT", "https://e/") };
	struct kv fewer[] = { KV("FOUNDRY_ENDPOINT", "https://e/") };

	(void)state;
	assert_int_equal(configmap_needs_write(cm, CONFIGMAP_FIELD_MANAGER, same, 2, "H1"), 0);
	assert_int_equal(configmap_needs_write(cm, CONFIGMAP_FIELD_MANAGER, same, 2, "H2"), 1);
	assert_int_equal(configmap_needs_write(cm, CONFIGMAP_FIELD_MANAGER, changed, 2, "H1"), 1);
	assert_int_equal(configmap_needs_write(cm, CONFIGMAP_FIELD_MANAGER, fewer, 1, "H1"), 1);
	assert_int_equal(configmap_needs_write(NULL, CONFIGMAP_FIELD_MANAGER, same, 2, "H1"), 1);
	assert_int_equal(configmap_needs_write(NULL, CONFIGMAP_FIELD_MANAGER, NULL, 0, "H1"), 0);
	cJSON_Delete(cm);
}

static void test_apply_body(void **state)
{
	struct kv d[] = { KV("FOUNDRY_DEPLOYMENT_A", "a"), KV("FOUNDRY_ENDPOINT", "https://e/") };
	char *body = NULL;
	cJSON *j;

	(void)state;
	assert_int_equal(configmap_apply_body("ns", "llm-config", d, 2, "H", &body), FC_OK);
	j = parse(body);
	assert_string_equal(json_str_or(j, "kind", ""), "ConfigMap");
	assert_string_equal(json_str_or(j, "metadata.namespace", ""), "ns");
	assert_string_equal(json_str_or(j, "data.FOUNDRY_DEPLOYMENT_A", ""), "a");
	assert_string_equal(json_child(json_path(j, "metadata.annotations"), CONFIGMAP_HASH_ANNOTATION)->valuestring, "H");
	/* never Argo CD's tracking label/annotation */
	assert_null(strstr(body, "app.kubernetes.io/instance"));
	assert_null(strstr(body, "argocd.argoproj.io"));
	assert_null(json_path(j, "metadata.resourceVersion"));
	cJSON_Delete(j);
	free(body);
}

/* Guarded by the version it was computed from (409 if the ConfigMap moved on). */
static void test_apply_body_at(void **state)
{
	struct kv d[] = { KV("FOUNDRY_DEPLOYMENT_A", "a") };
	char *body = NULL;
	cJSON *j;

	(void)state;
	assert_int_equal(configmap_apply_body_at("ns", "llm-config", "4711", d, 1, "H", &body), FC_OK);
	j = parse(body);
	assert_string_equal(json_str_or(j, "metadata.resourceVersion", ""), "4711");
	assert_string_equal(json_str_or(j, "data.FOUNDRY_DEPLOYMENT_A", ""), "a");
	cJSON_Delete(j);
	free(body);
	/* no version (the ConfigMap is not there yet): a plain apply */
	assert_int_equal(configmap_apply_body_at("ns", "llm-config", "", d, 1, "H", &body), FC_OK);
	j = parse(body);
	assert_null(json_path(j, "metadata.resourceVersion"));
	cJSON_Delete(j);
	free(body);
}

static void test_apply_body_too_big(void **state)
{
	char *big = malloc(CONFIGMAP_MAX_BYTES + 2);
	struct kv d[1];
	char *body = (char *)"untouched";

	(void)state;
	memset(big, 'x', CONFIGMAP_MAX_BYTES + 1);
	big[CONFIGMAP_MAX_BYTES + 1] = 0;
	d[0].key = (char *)"K";
	d[0].value = big;
	assert_int_equal(configmap_apply_body("ns", "n", d, 1, "H", &body), FC_ERR_TOOBIG);
	assert_null(body);
	free(big);
}

static void test_diff_summary(void **state)
{
	struct kv a[] = { KV("A", "1"), KV("B", "2"), KV("C", "3") };
	struct kv b[] = { KV("B", "2"), KV("C", "4"), KV("D", "5") };
	char *s;

	(void)state;
	s = configmap_diff_summary(a, 3, b, 3);
	assert_string_equal(s, "-A ~C +D");
	free(s);
	s = configmap_diff_summary(a, 3, a, 3);
	assert_string_equal(s, "none");
	free(s);
}

/* 1,000 changed keys of 82 characters: the summary stays under
 * CONFIGMAP_DIFF_MAX and counts what it leaves out. */
static void test_diff_summary_bounded(void **state)
{
	enum { N = 1000 };
	struct kv *after = calloc(N, sizeof(*after));
	char *s, tail[64];
	size_t shown = 0;

	(void)state;
	assert_non_null(after);
	for (size_t i = 0; i < N; i++) {
		char k[128];

		snprintf(k, sizeof(k), "FOUNDRY_DEPLOYMENT_K%04zu_%057d", i, 0);
		after[i].key = strdup(k);
		after[i].value = strdup("v");
		assert_int_equal(strlen(after[i].key), 82);
	}
	s = configmap_diff_summary(NULL, 0, after, N);
	assert_non_null(s);
	assert_true(strlen(s) <= CONFIGMAP_DIFF_MAX);
	for (const char *p = s; (p = strstr(p, "+FOUNDRY_DEPLOYMENT_")); p++)
		shown++;
	assert_true(shown > 10 && shown < N);
	snprintf(tail, sizeof(tail), " (+%zu more)", N - shown);
	assert_string_equal(s + strlen(s) - strlen(tail), tail);
	free(s);
	for (size_t i = 0; i < N; i++) {
		free(after[i].key);
		free(after[i].value);
	}
	free(after);
}

/* What the controller counts against the API server's limit: keys and
 * values of the data it does not own, binaryData decoded. */
static void test_other_bytes(void **state)
{
	cJSON *cm = cJSON_Parse("{\"data\":{\"OURS\":\"12345\",\"THEIRS\":\"abc\"},"
				"\"binaryData\":{\"BIN\":\"AAECAw==\",\"B2\":\"AAE\"}}");
	struct kv owned[] = { KV("OURS", "12345") };

	(void)state;
	assert_non_null(cm);
	assert_int_equal(kv_array_bytes(owned, 1), 9);
	/* THEIRS + abc = 9, BIN + 4 bytes = 7, B2 + 2 bytes = 4 */
	assert_int_equal(configmap_other_bytes(cm, owned, 1), 20);
	assert_int_equal(configmap_other_bytes(cm, NULL, 0), 29);
	assert_int_equal(configmap_other_bytes(NULL, NULL, 0), 0);
	cJSON_Delete(cm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned_keys),
		cmocka_unit_test(test_owned_malformed),
		cmocka_unit_test(test_needs_write),
		cmocka_unit_test(test_apply_body),
		cmocka_unit_test(test_apply_body_at),
		cmocka_unit_test(test_apply_body_too_big),
		cmocka_unit_test(test_diff_summary),
		cmocka_unit_test(test_diff_summary_bounded),
		cmocka_unit_test(test_other_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
