/* frozen: immutable cJSON trees sharing strings and child lists
 * (fidelity, links, what is shared, references, the pool under churn,
 * NOMEM at every allocation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failmalloc.h"
#include "frozen.h"
#include "json.h"

#define LONG_MSG "K0001 published in ConfigMap bench-idle-000/llm-config (validation Skip: not checked against Azure)"

static const char rich[] =
	"{\"apiVersion\":\"foundry.aucert.io/v1alpha1\",\"kind\":\"FoundryModel\","
	"\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"1\","
	"\"finalizers\":[\"foundry.aucert.io/finalizer\"],\"generation\":3},"
	"\"data\":{\"s\":\"same\",\"u\":\"\\u00e9\\u4e2d\",\"e\":\"\",\"q\":\"a\\\"b\\\\c\"},"
	"\"n\":[1,-2.5,1e300,4294967296,true,false,null,{},[],\"same\"],"
	"\"deep\":{\"a\":[{\"b\":[{\"c\":\"same\"}]},\"same\"]},"
	"\"status\":{\"conditions\":[{\"type\":\"Ready\",\"message\":\"" LONG_MSG "\"},"
	"{\"type\":\"Published\",\"message\":\"" LONG_MSG "\"}]}}";

static cJSON *parse(const char *s)
{
	cJSON *o = NULL;

	assert_int_equal(json_parse(s, strlen(s), &o), FC_OK);
	return o;
}

/* Every array/object: the first child's prev is the last child, the last
 * child's next is NULL, the others' prev is the previous sibling. */
static void check_links(const cJSON *it)
{
	for (; it; it = it->next) {
		const cJSON *c, *prev = NULL;

		for (c = it->child; c; prev = c, c = c->next) {
			if (c != it->child)
				assert_ptr_equal(c->prev, prev);
		}
		if (it->child)
			assert_ptr_equal(it->child->prev, prev);
		check_links(it->child);
	}
}

static void test_same_tree(void **state)
{
	cJSON *src = parse(rich), *copy;
	const cJSON *f;
	char *a, *b;

	(void)state;
	f = frozen_new(src);
	assert_non_null(f);
	assert_true(cJSON_Compare(f, src, 1));
	a = cJSON_PrintUnformatted(src);
	b = cJSON_PrintUnformatted(f);
	assert_string_equal(a, b);
	free(b);
	check_links(f);
	assert_null(f->next);
	assert_null(f->prev);
	assert_null(f->string);
	assert_string_equal(json_str_or(f, "data.u", ""), "\xc3\xa9\xe4\xb8\xad");
	assert_int_equal(cJSON_GetArraySize(json_path(f, "n")), 10);
	assert_true(cJSON_GetArrayItem(json_path(f, "n"), 2)->valuedouble > 1e299);

	/* a deep copy is an ordinary tree */
	copy = cJSON_Duplicate(f, 1);
	assert_non_null(copy);
	assert_true(cJSON_AddItemToArray(cJSON_GetObjectItem(copy, "n"), cJSON_CreateString("more")));
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(copy, "metadata"), "finalizers");
	cJSON_Delete(copy);

	/* the source can go: nothing points into it */
	cJSON_Delete(src);
	b = cJSON_PrintUnformatted(f);
	assert_string_equal(a, b);
	free(b);
	free(a);
	frozen_unref(f);
}

static void test_flags_cleared_and_siblings_ignored(void **state)
{
	cJSON *arr = cJSON_CreateArray(), *o = cJSON_CreateObject(), *ref;
	const cJSON *f;

	(void)state;
	/* a constant key and a reference: the copy owns neither flag */
	cJSON_AddItemToObjectCS(o, "const-key", cJSON_CreateString("v"));
	ref = cJSON_CreateStringReference("referenced");
	cJSON_AddItemToObject(o, "r", ref);
	cJSON_AddItemToArray(arr, o);
	cJSON_AddItemToArray(arr, cJSON_CreateString("sibling"));
	f = frozen_new(arr->child);
	assert_non_null(f);
	assert_null(f->next);
	assert_int_equal(f->child->type & (cJSON_StringIsConst | cJSON_IsReference), 0);
	assert_int_equal(f->child->next->type, cJSON_String);
	assert_string_equal(json_str_or(f, "r", ""), "referenced");
	frozen_unref(f);
	cJSON_Delete(arr);
	assert_null(frozen_new(NULL));
}

static void test_shared_strings_and_references(void **state)
{
	cJSON *src = parse(rich);
	const cJSON *f1, *f2, *c1, *c2;

	(void)state;
	f1 = frozen_new(src);
	f2 = frozen_new(src);
	assert_non_null(f1);
	assert_non_null(f2);
	/* each tree has its own root; below it everything is shared */
	assert_ptr_not_equal(f1, f2);
	assert_ptr_equal(f1->child, f2->child);
	assert_ptr_equal(json_str_or(f1, "apiVersion", NULL), json_str_or(f2, "apiVersion", NULL));
	/* within a tree too: the same string, the same members */
	c1 = cJSON_GetArrayItem(json_path(f1, "status.conditions"), 0);
	c2 = cJSON_GetArrayItem(json_path(f1, "status.conditions"), 1);
	assert_ptr_not_equal(c1, c2);
	assert_ptr_equal(json_str_or(c1, "message", NULL), json_str_or(c2, "message", NULL));
	assert_string_equal(json_str_or(c1, "message", ""), LONG_MSG);

	assert_ptr_equal(frozen_ref(f1), f1);
	frozen_unref(f1);
	frozen_unref(f1); /* freed; f2's strings stay */
	assert_string_equal(json_str_or(f2, "apiVersion", ""), "foundry.aucert.io/v1alpha1");
	assert_true(cJSON_Compare(f2, src, 1));
	frozen_unref(f2);
	assert_null(frozen_ref(NULL));
	frozen_unref(NULL);
	cJSON_Delete(src);
}

/* Trees that differ in one leaf share the rest; releasing one leaves the
 * other whole. */
static void test_partial_sharing(void **state)
{
	cJSON *a = parse("{\"metadata\":{\"name\":\"x\",\"rv\":\"1\"},\"spec\":{\"m\":{\"f\":\"OpenAI\","
			 "\"v\":[1,2,{\"k\":\"deep\"}]}},\"status\":{\"c\":[{\"t\":\"Ready\"}]}}");
	cJSON *b = parse("{\"metadata\":{\"name\":\"x\",\"rv\":\"2\"},\"spec\":{\"m\":{\"f\":\"OpenAI\","
			 "\"v\":[1,2,{\"k\":\"deep\"}]}},\"status\":{\"c\":[{\"t\":\"Ready\"}]}}");
	const cJSON *fa = frozen_new(a), *fb = frozen_new(b);

	(void)state;
	assert_non_null(fa);
	assert_non_null(fb);
	assert_ptr_not_equal(fa->child, fb->child);                   /* rv differs */
	assert_ptr_not_equal(json_path(fa, "metadata")->child, json_path(fb, "metadata")->child);
	assert_ptr_equal(json_path(fa, "spec")->child, json_path(fb, "spec")->child);
	assert_ptr_equal(json_path(fa, "status")->child, json_path(fb, "status")->child);
	frozen_unref(fa);
	assert_true(cJSON_Compare(fb, b, 1));
	cJSON_Delete(a);
	/* equal siblings: their members are the same nodes */
	a = parse("[{\"k\":\"v\",\"n\":1},{\"k\":\"v\",\"n\":1},{\"k\":\"v\",\"n\":2}]");
	fa = frozen_new(a);
	assert_non_null(fa);
	assert_ptr_equal(fa->child->child, fa->child->next->child);
	assert_ptr_not_equal(fa->child->child, fa->child->next->next->child);
	assert_true(cJSON_Compare(fa, a, 1));
	check_links(fa);
	frozen_unref(fa);
	check_links(fb);
	frozen_unref(fb);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

/* Many trees with distinct and shared strings, freed in a scattered
 * order: the pool grows, shrinks (backward-shift deletion) and empties,
 * and the remaining trees keep their strings. */
static void test_pool_churn(void **state)
{
	enum { N = 3000 };
	const cJSON **f = calloc(N, sizeof(*f));
	char buf[256];

	(void)state;
	assert_non_null(f);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			cJSON *o;

			snprintf(buf, sizeof(buf),
				 "{\"name\":\"obj-%d\",\"group\":\"g-%d\",\"k-%d\":\"shared\",\"n\":%d}",
				 i, i % 17, i % 5, i);
			o = parse(buf);
			f[i] = frozen_new(o);
			assert_non_null(f[i]);
			cJSON_Delete(o);
		}
		for (int i = 0; i < N; i += 3) {
			frozen_unref(f[i]);
			f[i] = NULL;
		}
		for (int i = 0; i < N; i++) {
			if (!f[i])
				continue;
			snprintf(buf, sizeof(buf), "obj-%d", i);
			assert_string_equal(json_str_or(f[i], "name", ""), buf);
			snprintf(buf, sizeof(buf), "g-%d", i % 17);
			assert_string_equal(json_str_or(f[i], "group", ""), buf);
			snprintf(buf, sizeof(buf), "k-%d", i % 5);
			assert_string_equal(json_str_or(f[i], buf, ""), "shared");
		}
		for (int i = N - 1; i >= 0; i--)
			frozen_unref(f[i]);
	}
	free(f);
}

static void test_nomem(void **state)
{
	cJSON *src = parse(rich);
	const cJSON *keep, *f;
	unsigned long fails = 0;

	(void)state;
	if (!failmalloc_works()) {
		cJSON_Delete(src);
		skip();
	}
	/* with strings already pooled, and with an empty pool */
	for (int pass = 0; pass < 2; pass++) {
		keep = pass ? NULL : frozen_new(src);
		for (unsigned long n = 1;; n++) {
			failmalloc_start(n, 0);
			f = frozen_new(src);
			failmalloc_stop();
			if (!failmalloc_fired()) {
				assert_non_null(f);
				assert_true(cJSON_Compare(f, src, 1));
				frozen_unref(f);
				break;
			}
			assert_null(f);
			fails++;
		}
		frozen_unref(keep);
	}
	assert_true(fails > 10);
	failmalloc_report("frozen new", fails);
	cJSON_Delete(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_tree),
		cmocka_unit_test(test_flags_cleared_and_siblings_ignored),
		cmocka_unit_test(test_shared_strings_and_references),
		cmocka_unit_test(test_partial_sharing),
		cmocka_unit_test(test_pool_churn),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
