/* manifest: multi-document YAML, directories, List flattening, the YAML ->
 * JSON typing of sigs.k8s.io/yaml, malformed input with its position, the
 * bounds (billion laughs, nesting, oversize files), the YAML emitter, and a
 * clean FC_ERR_NOMEM at every allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failmalloc.h"
#include "json.h"
#include "manifest.h"

static char err[MANIFEST_ERR_MAX];

static fc_err parse(struct manifest_set *s, const char *text)
{
	err[0] = '\0';
	return manifest_parse(s, "t.yaml", text, strlen(text), err, sizeof(err));
}

/* The JSON (unformatted) of the only document of text. Caller frees. */
static char *one_doc(const char *text)
{
	struct manifest_set s;
	char *out;

	manifest_set_init(&s);
	if (parse(&s, text) != FC_OK)
		fail_msg("parse failed: %s\n%s", err, text);
	assert_int_equal(s.ndocs, 1);
	out = json_print(s.docs[0].obj);
	assert_non_null(out);
	manifest_set_release(&s);
	return out;
}

static char *fixture(const char *sub)
{
	const char *data = getenv("FC_TEST_DATA");
	char *p = malloc(4096);

	assert_non_null(p);
	snprintf(p, 4096, "%s/manifests/%s", data ? data : "../fixtures", sub);
	return p;
}

/* ---- documents --------------------------------------------------------------- */

static void test_multi_document(void **state)
{
	struct manifest_set s;

	(void)state;
	manifest_set_init(&s);
	assert_int_equal(parse(&s, "# leading comment\n"
				  "a: 1\n"
				  "---\n"
				  "---\n"            /* empty document: skipped */
				  "# only a comment\n"
				  "---\n"
				  "~\n"              /* null document: skipped */
				  "---\n"
				  "\n"
				  "b: [x, y]\n"
				  "...\n"
				  "--- {c: true}\n"), FC_OK);
	assert_int_equal(s.ndocs, 3);
	assert_int_equal(s.docs[0].line, 2);
	assert_int_equal(s.docs[1].line, 10);
	assert_int_equal(s.docs[2].line, 12);
	assert_string_equal(s.docs[0].file, "t.yaml");
	assert_int_equal(json_path(s.docs[0].obj, "a")->valuedouble, 1);
	assert_int_equal(cJSON_GetArraySize(json_path(s.docs[1].obj, "b")), 2);
	assert_true(cJSON_IsTrue(json_path(s.docs[2].obj, "c")));
	/* appending keeps what is there */
	assert_int_equal(parse(&s, "d: 4\n"), FC_OK);
	assert_int_equal(s.ndocs, 4);
	manifest_set_release(&s);

	/* empty input: nothing */
	manifest_set_init(&s);
	assert_int_equal(parse(&s, ""), FC_OK);
	assert_int_equal(parse(&s, "---\n...\n"), FC_OK);
	assert_int_equal(s.ndocs, 0);
	manifest_set_release(&s);
}

static void test_list_flattened(void **state)
{
	struct manifest_set s;

	(void)state;
	manifest_set_init(&s);
	assert_int_equal(parse(&s, "apiVersion: v1\n"
				  "kind: List\n"
				  "metadata: {}\n"
				  "items:\n"
				  "- kind: A\n"
				  "  n: 1\n"
				  "- ~\n"
				  "- kind: B\n"
				  "---\n"
				  "kind: FoundryModelList\n"
				  "items: [{kind: C}]\n"
				  "---\n"
				  "kind: List\n"                /* no items: an ordinary object */
				  "---\n"
				  "kind: Thing\n"
				  "items: [1, 2]\n"), FC_OK);  /* not a List: kept whole */
	assert_int_equal(s.ndocs, 5);
	assert_string_equal(json_str_or(s.docs[0].obj, "kind", ""), "A");
	assert_int_equal(s.docs[0].line, 5);
	assert_string_equal(json_str_or(s.docs[1].obj, "kind", ""), "B");
	assert_int_equal(s.docs[1].line, 8);
	assert_string_equal(json_str_or(s.docs[2].obj, "kind", ""), "C");
	assert_int_equal(s.docs[2].line, 11);
	assert_string_equal(json_str_or(s.docs[3].obj, "kind", ""), "List");
	assert_string_equal(json_str_or(s.docs[4].obj, "kind", ""), "Thing");
	/* an item that is not a mapping */
	assert_int_equal(parse(&s, "kind: List\nitems:\n- a: 1\n- [x]\n"), FC_ERR_PARSE);
	assert_string_equal(err, "t.yaml:4:3: an item of a List must be a mapping (an object), not a sequence");
	assert_int_equal(s.ndocs, 5); /* the failing input adds nothing */
	manifest_set_release(&s);
}

static void test_not_a_mapping(void **state)
{
	struct manifest_set s;

	(void)state;
	manifest_set_init(&s);
	assert_int_equal(parse(&s, "a: 1\n---\n- x\n- y\n"), FC_ERR_PARSE);
	assert_string_equal(err, "t.yaml:3:1: a manifest must be a mapping (an object), not a sequence");
	assert_int_equal(s.ndocs, 0);
	assert_int_equal(parse(&s, "just text\n"), FC_ERR_PARSE);
	assert_string_equal(err, "t.yaml:1:1: a manifest must be a mapping (an object), not a scalar");
	manifest_set_release(&s);
}

/* ---- typing -------------------------------------------------------------------- */

static void test_typing_table(void **state)
{
	static const struct {
		const char *yaml;  /* the value of key v */
		const char *json;  /* the document as JSON */
	} cases[] = {
		/* null */
		{ "", "{\"v\":null}" },
		{ "~", "{\"v\":null}" },
		{ "null", "{\"v\":null}" },
		{ "Null", "{\"v\":null}" },
		{ "NULL", "{\"v\":null}" },
		{ "nULL", "{\"v\":\"nULL\"}" },
		/* booleans, YAML 1.1 as go-yaml v2 */
		{ "true", "{\"v\":true}" },
		{ "True", "{\"v\":true}" },
		{ "TRUE", "{\"v\":true}" },
		{ "yes", "{\"v\":true}" },
		{ "Y", "{\"v\":true}" },
		{ "on", "{\"v\":true}" },
		{ "false", "{\"v\":false}" },
		{ "FALSE", "{\"v\":false}" },
		{ "no", "{\"v\":false}" },
		{ "n", "{\"v\":false}" },
		{ "Off", "{\"v\":false}" },
		{ "tRUE", "{\"v\":\"tRUE\"}" },
		{ "yEs", "{\"v\":\"yEs\"}" },
		/* integers */
		{ "0", "{\"v\":0}" },
		{ "42", "{\"v\":42}" },
		{ "-17", "{\"v\":-17}" },
		{ "+8", "{\"v\":8}" },
		{ "1_000", "{\"v\":1000}" },
		{ "0x1F", "{\"v\":31}" },
		{ "0o17", "{\"v\":15}" },
		{ "017", "{\"v\":15}" },
		{ "0b101", "{\"v\":5}" },
		{ "-0b11", "{\"v\":-3}" },
		{ "08", "{\"v\":8}" },          /* not octal: read as a float */
		/* floats */
		{ "1.5", "{\"v\":1.5}" },
		{ "-0.25", "{\"v\":-0.25}" },
		{ ".5", "{\"v\":0.5}" },
		{ "+.5", "{\"v\":0.5}" },
		{ "1.", "{\"v\":1}" },
		{ "1e3", "{\"v\":1000}" },
		{ "2.5E-1", "{\"v\":0.25}" },
		/* strings */
		{ "1e400", "{\"v\":\"1e400\"}" },   /* overflows: Go keeps the text */
		{ "0x", "{\"v\":\"0x\"}" },
		{ "1:30", "{\"v\":\"1:30\"}" },     /* no sexagesimal numbers */
		{ "2026-03-05", "{\"v\":\"2026-03-05\"}" },
		{ "2026-03-05T00:00:00Z", "{\"v\":\"2026-03-05T00:00:00Z\"}" },
		{ "1.2.3", "{\"v\":\"1.2.3\"}" },
		{ "12abc", "{\"v\":\"12abc\"}" },
		{ "-x", "{\"v\":\"-x\"}" },
		{ "._5", "{\"v\":\"._5\"}" },
		{ "gpt-5.4", "{\"v\":\"gpt-5.4\"}" },
		{ "https://a.b/c?d=e", "{\"v\":\"https://a.b/c?d=e\"}" },
		/* quoted and block scalars: always strings */
		{ "\"1\"", "{\"v\":\"1\"}" },
		{ "'true'", "{\"v\":\"true\"}" },
		{ "\"\"", "{\"v\":\"\"}" },
		{ "'~'", "{\"v\":\"~\"}" },
		{ "\".inf\"", "{\"v\":\".inf\"}" },
		{ "\"a\\tb\\u00e9\"", "{\"v\":\"a\\tb\xc3\xa9\"}" },
		{ "|\n  two\n  lines\n", "{\"v\":\"two\\nlines\\n\"}" },
		{ ">-\n  folded\n  text\n", "{\"v\":\"folded text\"}" },
		/* explicit tags */
		{ "!!int \"5\"", "{\"v\":5}" },
		{ "!!float 1", "{\"v\":1}" },
		{ "!!bool \"yes\"", "{\"v\":true}" },
		{ "!!null ''", "{\"v\":null}" },
		{ "!!str \"7\"", "{\"v\":\"7\"}" },
		{ "!custom 7", "{\"v\":\"7\"}" },
		{ "!!timestamp 2026-01-01", "{\"v\":\"2026-01-01\"}" },
		/* collections */
		{ "[]", "{\"v\":[]}" },
		{ "{}", "{\"v\":{}}" },
		{ "[1, \"1\", true, ~, a]", "{\"v\":[1,\"1\",true,null,\"a\"]}" },
		{ "\n  - a\n  - {b: 2}\n", "{\"v\":[\"a\",{\"b\":2}]}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char doc[256], *got;

		snprintf(doc, sizeof(doc), "v: %s\n", cases[i].yaml);
		got = one_doc(doc);
		if (strcmp(got, cases[i].json))
			fail_msg("v: %s -> %s, want %s", cases[i].yaml, got, cases[i].json);
		free(got);
	}
}

static void test_keys(void **state)
{
	static const struct {
		const char *yaml;
		const char *json;
	} cases[] = {
		{ "1: a", "{\"1\":\"a\"}" },
		{ "0x10: a", "{\"16\":\"a\"}" },
		{ "1.5: a", "{\"1.5\":\"a\"}" },
		{ "1e6: a", "{\"1e+06\":\"a\"}" },
		{ "100000.0: a", "{\"100000\":\"a\"}" },
		{ "true: a", "{\"true\":\"a\"}" },
		{ "y: a", "{\"true\":\"a\"}" },    /* YAML 1.1: y is a boolean, as in kubectl */
		{ "yes: a", "{\"true\":\"a\"}" },
		{ "off: a", "{\"false\":\"a\"}" },
		{ "\"yes\": a", "{\"yes\":\"a\"}" },
		{ "app.kubernetes.io/name: a", "{\"app.kubernetes.io/name\":\"a\"}" },
		{ ".inf: a", "{\".inf\":\"a\"}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = one_doc(cases[i].yaml);

		if (strcmp(got, cases[i].json))
			fail_msg("%s -> %s, want %s", cases[i].yaml, got, cases[i].json);
		free(got);
	}
}

static void test_anchors_and_merge(void **state)
{
	char *got;

	(void)state;
	got = one_doc("base: &b {p: 1, q: 2}\n"
		      "list: &l [a, b]\n"
		      "copy: *l\n"
		      "d: {<<: *b, q: 3}\n"          /* explicit keys win */
		      "e: {q: 3, <<: *b}\n"          /* wherever << is */
		      "f:\n"
		      "  <<: [{p: 10, z: 1}, *b]\n"  /* earlier sources win */
		      "  w: 0\n");
	assert_string_equal(got, "{\"base\":{\"p\":1,\"q\":2},\"list\":[\"a\",\"b\"],"
				 "\"copy\":[\"a\",\"b\"],\"d\":{\"q\":3,\"p\":1},\"e\":{\"q\":3,\"p\":1},"
				 "\"f\":{\"w\":0,\"p\":10,\"z\":1,\"q\":2}}");
	free(got);
}

static void test_mapping_errors(void **state)
{
	static const struct {
		const char *yaml;
		fc_err rc;
		const char *msg;
	} cases[] = {
		{ "a: 1\nb: 2\na: 3\n", FC_ERR_PARSE,
		  "t.yaml:3:1: key \"a\" is repeated in this mapping (first at line 1)" },
		{ "1: a\n\"1\": b\n", FC_ERR_PARSE,
		  "t.yaml:2:1: key \"1\" is repeated in this mapping (first at line 1)" },
		{ "~: a\n", FC_ERR_PARSE, "t.yaml:1:1: a mapping key must not be null" },
		{ "? [a]\n: b\n", FC_ERR_PARSE,
		  "t.yaml:1:3: a mapping key must be a scalar (JSON keys are strings)" },
		{ "v: .inf\n", FC_ERR_PARSE,
		  "t.yaml:1:4: .inf is not a number JSON can hold (quote it for a string)" },
		{ "v: -.Inf\n", FC_ERR_PARSE,
		  "t.yaml:1:4: -.Inf is not a number JSON can hold (quote it for a string)" },
		{ "v: .NaN\n", FC_ERR_PARSE,
		  "t.yaml:1:4: .NaN is not a number JSON can hold (quote it for a string)" },
		{ "v: !!int abc\n", FC_ERR_PARSE, "t.yaml:1:4: cannot decode `abc` as a !!int" },
		{ "v: !!binary aGk=\n", FC_ERR_PARSE, "t.yaml:1:4: !!binary values are not supported" },
		{ "v: \"a\\0b\"\n", FC_ERR_PARSE,
		  "t.yaml:1:4: a NUL character in a string is not supported" },
		{ "a: &x 1\nb: {<<: *x}\n", FC_ERR_PARSE,
		  "t.yaml:1:4: a merge key (<<) needs a mapping or a sequence of mappings" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct manifest_set s;
		fc_err rc;

		manifest_set_init(&s);
		rc = parse(&s, cases[i].yaml);
		if (rc != cases[i].rc || strcmp(err, cases[i].msg))
			fail_msg("%s -> %s \"%s\", want %s \"%s\"", cases[i].yaml, fc_strerror(rc), err,
				 fc_strerror(cases[i].rc), cases[i].msg);
		assert_int_equal(s.ndocs, 0);
		manifest_set_release(&s);
	}
}

/* ---- malformed input -------------------------------------------------------------- */

static void test_malformed(void **state)
{
	static const struct {
		const char *yaml;
		const char *msg;
	} cases[] = {
		{ "a: 1\nb: [1, 2\nc: 3\n",
		  "t.yaml:3:2: did not find expected ',' or ']' (while parsing a flow sequence at line 2)" },
		{ "a: 1\n  b: 2\n", "t.yaml:2:4: mapping values are not allowed in this context" },
		{ "a:\n  b: 1\n c: 2\n",
		  "t.yaml:3:2: did not find expected key (while parsing a block mapping at line 1)" },
		{ "- a\nb: 1\n",
		  "t.yaml:2:1: did not find expected '-' indicator (while parsing a block collection at "
		  "line 1)" },
		{ "a: b\n\tc: d\n", "t.yaml:2:1: found a tab character that violates indentation (while "
				  "scanning a plain scalar at line 1)" },
		{ "a: *nope\n", "t.yaml:1:4: found undefined alias" },
		{ "a: \"open\n", "t.yaml:2:1: found unexpected end of stream (while scanning a quoted "
			       "scalar at line 1)" },
		{ "ok: 1\n---\na: b: c\n", "t.yaml:3:5: mapping values are not allowed in this context" },
		{ "a: \x01\n", "t.yaml:1:4: control characters are not allowed (byte 0x01)" },
		{ "a: b\n\xff\n", "t.yaml:2:1: invalid leading UTF-8 octet (byte 0xff)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct manifest_set s;
		fc_err rc;

		manifest_set_init(&s);
		rc = parse(&s, cases[i].yaml);
		if (rc != FC_ERR_PARSE || strcmp(err, cases[i].msg))
			fail_msg("%s -> %s \"%s\", want PARSE \"%s\"", cases[i].yaml, fc_strerror(rc), err,
				 cases[i].msg);
		assert_int_equal(s.ndocs, 0); /* nothing of a failing file */
		manifest_set_release(&s);
	}
}

/* ---- bounds -------------------------------------------------------------------------- */

static void test_billion_laughs(void **state)
{
	struct manifest_set s;
	struct buf b;

	(void)state;
	manifest_set_init(&s);
	/* 10^9 nodes once expanded */
	assert_int_equal(parse(&s, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
				  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
				  "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
				  "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
				  "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
				  "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"), FC_ERR_TOOBIG);
	assert_non_null(strstr(err, "more than 100000 nodes in one document once aliases are expanded"));
	assert_int_equal(strncmp(err, "t.yaml:", 7), 0);
	assert_int_equal(s.ndocs, 0);
	assert_int_equal(s.total_nodes, 0); /* rolled back */

	/* few nodes, but a big string repeated: bounded by bytes */
	buf_init(&b, 4u << 20);
	assert_int_equal(buf_append_str(&b, "a: &a \""), FC_OK);
	for (int i = 0; i < 1024 * 1024; i++)
		assert_int_equal(buf_append(&b, "x", 1), FC_OK);
	assert_int_equal(buf_append_str(&b, "\"\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, "
					     "*a, *a, *a, *a, *a, *a, *a, *a]\n"), FC_OK);
	err[0] = '\0';
	assert_int_equal(manifest_parse(&s, "big.yaml", b.data, b.len, err, sizeof(err)), FC_ERR_TOOBIG);
	assert_non_null(strstr(err, "MiB of text in one document once aliases are expanded"));
	buf_release(&b);

	/* an alias inside its own anchor */
	assert_int_equal(parse(&s, "a: &a [x, *a]\n"), FC_ERR_TOOBIG);
	assert_non_null(strstr(err, "nesting deeper than 64 levels"));
	assert_int_equal(parse(&s, "a: &a {k: v, <<: *a}\n"), FC_ERR_TOOBIG);
	assert_non_null(strstr(err, "nesting deeper than 64 levels"));
	assert_int_equal(s.ndocs, 0);
	manifest_set_release(&s);
}

static void test_depth(void **state)
{
	struct manifest_set s;
	char doc[1024];
	size_t n = 0;

	(void)state;
	manifest_set_init(&s);
	/* 64 levels: the root mapping and 63 sequences */
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "a: ");
	for (int i = 0; i < 63; i++)
		doc[n++] = '[';
	for (int i = 0; i < 63; i++)
		doc[n++] = ']';
	doc[n++] = '\n';
	doc[n] = '\0';
	assert_int_equal(parse(&s, doc), FC_OK);
	assert_int_equal(s.ndocs, 1);
	/* 65 */
	memmove(doc + 4, doc + 3, n - 2);
	doc[3] = '[';
	doc[n] = ']';
	doc[n + 1] = '\n';
	doc[n + 2] = '\0';
	assert_int_equal(parse(&s, doc), FC_ERR_TOOBIG);
	assert_string_equal(err, "t.yaml:1:67: nesting deeper than 64 levels");
	manifest_set_release(&s);

	/* a flood of brackets is refused before libyaml builds anything */
	{
		size_t big = 3u << 20;
		char *flood = malloc(big + 1);

		assert_non_null(flood);
		memset(flood, '[', big);
		flood[big] = '\0';
		manifest_set_init(&s);
		assert_int_equal(manifest_parse(&s, "f.yaml", flood, big, err, sizeof(err)), FC_ERR_TOOBIG);
		assert_string_equal(err, "f.yaml:1:65: nesting deeper than 64 levels");
		manifest_set_release(&s);
		free(flood);
	}
}

static void test_oversize(void **state)
{
	char path[] = "/tmp/fc-manifest-XXXXXX";
	struct manifest_set s;
	int fd = mkstemp(path);
	char *big = calloc(1, MANIFEST_MAX_FILE + 1);

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(big);
	memset(big, '#', MANIFEST_MAX_FILE + 1);
	assert_int_equal(write(fd, big, MANIFEST_MAX_FILE + 1), MANIFEST_MAX_FILE + 1);
	close(fd);
	manifest_set_init(&s);
	assert_int_equal(manifest_load_path(&s, path, err, sizeof(err)), FC_ERR_TOOBIG);
	assert_non_null(strstr(err, ": larger than 4 MiB"));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(manifest_parse(&s, "x", big, MANIFEST_MAX_FILE + 1, err, sizeof(err)),
			 FC_ERR_TOOBIG);
	assert_string_equal(err, "x: larger than 4 MiB");
	/* exactly 4 MiB of comment is fine */
	assert_int_equal(manifest_parse(&s, "x", big, MANIFEST_MAX_FILE, err, sizeof(err)), FC_OK);
	assert_int_equal(s.ndocs, 0);
	manifest_set_release(&s);
	unlink(path);
	free(big);
}

/* ---- files and directories ----------------------------------------------------------- */

static void test_directory(void **state)
{
	char *dir = fixture("good");
	struct manifest_set s;
	static const char *const want[][3] = {
		/* file (relative to the fixture dir), kind, name */
		{ "00-namespace.yaml", "Namespace", "gate" },
		{ "accounts.yaml", "FoundryAccount", "aucert-ai" },
		{ "accounts.yaml", "FoundryAccount", "aucert-ai-east" },
		{ "models/generation.yaml", "FoundryModel", "generation" },
		{ "models/list.json", "FoundryModel", "analysis" },
		{ "models/more.yml", "FoundryModel", "reasoning-pro" },
		{ "models/more.yml", "FoundryModel", "legacy" },
	};
	static const int lines[] = { 1, 2, 14, 1, 5, 2, 21 };

	(void)state;
	manifest_set_init(&s);
	if (manifest_load_path(&s, dir, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(s.ndocs, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s.ndocs; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, want[i][0]);
		assert_string_equal(s.docs[i].file, path);
		assert_string_equal(json_str_or(s.docs[i].obj, "kind", ""), want[i][1]);
		assert_string_equal(json_str_or(s.docs[i].obj, "metadata.name", ""), want[i][2]);
		assert_int_equal(s.docs[i].line, lines[i]);
	}
	manifest_set_release(&s);

	/* a path given explicitly is read whatever its name */
	{
		char *k = fixture("good/kustomization.yaml");
		char *names[2];

		manifest_set_init(&s);
		names[0] = dir;
		names[1] = k;
		assert_int_equal(manifest_load(&s, names, 2, err, sizeof(err)), FC_ERR_PARSE);
		assert_int_equal(strncmp(err, k, strlen(k)), 0);
		assert_non_null(strstr(err, ":3:1: did not find expected ',' or ']'"));
		assert_int_equal(s.ndocs, 7); /* the files before the failing one stay */
		manifest_set_release(&s);
		free(k);
	}
	free(dir);
}

static void test_missing_path(void **state)
{
	struct manifest_set s;

	(void)state;
	manifest_set_init(&s);
	assert_int_equal(manifest_load_path(&s, "/nonexistent/x.yaml", err, sizeof(err)), FC_ERR_IO);
	assert_string_equal(err, "/nonexistent/x.yaml: No such file or directory");
	manifest_set_release(&s);
}

static void test_malformed_fixture(void **state)
{
	char *dir = fixture("malformed");
	struct manifest_set s;
	char want[4200];

	(void)state;
	manifest_set_init(&s);
	assert_int_equal(manifest_load_path(&s, dir, err, sizeof(err)), FC_ERR_PARSE);
	snprintf(want, sizeof(want), "%s/broken.yaml:8:8: did not find expected ',' or '}' (while "
		 "parsing a flow mapping at line 7)", dir);
	assert_string_equal(err, want);
	assert_int_equal(s.ndocs, 1); /* accounts.yaml, read first */
	manifest_set_release(&s);
	free(dir);
}

static void test_json_input(void **state)
{
	char *got;

	(void)state;
	got = one_doc("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"n\":-1.5e2,\"t\":true,"
		      "\"z\":null,\"a\":[],\"s\":\"x\\\"y\\u00e9\",\"o\":{\"k\":\"01\"}}");
	assert_string_equal(got, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"n\":-150,\"t\":true,"
				 "\"z\":null,\"a\":[],\"s\":\"x\\\"y\xc3\xa9\",\"o\":{\"k\":\"01\"}}");
	free(got);
	got = one_doc("{\n    \"a\": {\n        \"b\": [\n            1,\n            2\n        ]\n    }\n}\n");
	assert_string_equal(got, "{\"a\":{\"b\":[1,2]}}");
	free(got);
}

/* ---- YAML out ------------------------------------------------------------------------------ */

static void test_emit_roundtrip(void **state)
{
	static const char *const strings[] = {
		"", "plain", "yes", "no", "on", "true", "null", "~", "123", "0x1F", "1e3", "- x",
		"a: b", "#c", "quote\"back\\slash", "new\nline\ttab\rcr", "\x01\x1f\x7f",
		"caf\xc3\xa9 \xe2\x80\xa8 \xe2\x80\xa9 \xc2\x85 \xef\xbb\xbf \xc2\x80",
		"https://aucert-ai.openai.azure.com/", "  lead and trail  ", "@at", "`tick", "!bang",
		"&amp", "*star", "%pct", "{brace}", "[bracket]", "|pipe", ">gt", "'single'",
	};
	cJSON *root = cJSON_CreateObject(), *arr, *nested, *data;
	struct manifest_set s;
	struct buf out;
	char *text;

	(void)state;
	assert_non_null(root);
	data = cJSON_AddObjectToObject(root, "data");
	arr = cJSON_AddArrayToObject(root, "list");
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		char key[32];

		snprintf(key, sizeof(key), "K%zu", i);
		assert_non_null(cJSON_AddStringToObject(data, key, strings[i]));
		assert_non_null(cJSON_AddStringToObject(data, strings[i], key)); /* as keys too */
		cJSON_AddItemToArray(arr, cJSON_CreateString(strings[i]));
	}
	nested = cJSON_CreateObject();
	cJSON_AddNumberToObject(nested, "int", 42);
	cJSON_AddNumberToObject(nested, "neg", -7);
	cJSON_AddNumberToObject(nested, "float", 0.125);
	cJSON_AddBoolToObject(nested, "t", 1);
	cJSON_AddNullToObject(nested, "z");
	cJSON_AddObjectToObject(nested, "empty");
	cJSON_AddArrayToObject(nested, "none");
	cJSON_AddItemToArray(arr, nested);
	cJSON_AddItemToArray(arr, cJSON_Parse("[[1, 2], [], {\"a\": [3]}]"));
	cJSON_AddItemToObject(root, "obj", cJSON_Parse("{\"x\": {\"y\": {\"z\": [true]}}}"));

	buf_init(&out, 1u << 20);
	assert_int_equal(manifest_emit_yaml(root, &out), FC_OK);
	manifest_set_init(&s);
	err[0] = '\0';
	if (manifest_parse(&s, "emitted", out.data, out.len, err, sizeof(err)))
		fail_msg("%s\n%s", err, out.data);
	assert_int_equal(s.ndocs, 1);
	if (!cJSON_Compare(root, s.docs[0].obj, 1)) {
		text = json_print(s.docs[0].obj);
		fail_msg("round trip differs:\n%s\n%s", out.data, text);
	}
	/* every string value is quoted */
	assert_non_null(strstr(out.data, "  K2: \"yes\"\n"));
	assert_non_null(strstr(out.data, "  K8: \"123\"\n"));
	assert_non_null(strstr(out.data, "  \"yes\": \"K2\"\n"));
	assert_non_null(strstr(out.data, "\\L"));
	assert_non_null(strstr(out.data, "\\N"));
	manifest_set_release(&s);
	buf_release(&out);
	cJSON_Delete(root);

	/* the shape of a ConfigMap */
	root = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"llm-config\","
			   "\"labels\":{\"app.kubernetes.io/managed-by\":\"foundry-controller\"}},"
			   "\"data\":{\"FOUNDRY_ENDPOINT\":\"https://e/\"},\"list\":[{\"a\":1,\"b\":2}]}");
	buf_init(&out, 4096);
	assert_int_equal(manifest_emit_yaml(root, &out), FC_OK);
	assert_string_equal(out.data, "apiVersion: \"v1\"\n"
				      "kind: \"ConfigMap\"\n"
				      "metadata:\n"
				      "  name: \"llm-config\"\n"
				      "  labels:\n"
				      "    \"app.kubernetes.io/managed-by\": \"foundry-controller\"\n"
				      "data:\n"
				      "  FOUNDRY_ENDPOINT: \"https://e/\"\n"
				      "list:\n"
				      "- a: 1\n"
				      "  b: 2\n");
	/* bounded output */
	buf_release(&out);
	buf_init(&out, 16);
	assert_int_equal(manifest_emit_yaml(root, &out), FC_ERR_TOOBIG);
	buf_release(&out);
	cJSON_Delete(root);
}

/* ---- allocation failures ---------------------------------------------------------- */

static void test_nomem(void **state)
{
	static const char *text = "a: &a {x: 1, y: [1, 2, {z: ~}]}\n"
				  "b: {<<: *a, w: \"q\"}\n"
				  "---\n"
				  "kind: List\n"
				  "items: [{k: 1}, {k: 2}]\n";
	unsigned long n, fails = 0;

	(void)state;
	if (!failmalloc_works())
		skip();
	for (n = 1;; n++) {
		struct manifest_set s;
		char e[128];
		fc_err rc;

		manifest_set_init(&s);
		e[0] = '\0';
		failmalloc_start(n, 0);
		rc = manifest_parse(&s, "t.yaml", text, strlen(text), e, sizeof(e));
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			assert_int_equal(s.ndocs, 3);
			manifest_set_release(&s);
			break;
		}
		if (rc != FC_ERR_NOMEM)
			fail_msg("allocation %lu: %s (%s)", n, fc_strerror(rc), e);
		assert_string_equal(e, "out of memory");
		assert_int_equal(s.ndocs, 0);
		manifest_set_release(&s);
		fails++;
	}
	assert_true(fails > 20);
	failmalloc_report("manifest parse (YAML, anchors, List)", fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_list_flattened),
		cmocka_unit_test(test_not_a_mapping),
		cmocka_unit_test(test_typing_table),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_anchors_and_merge),
		cmocka_unit_test(test_mapping_errors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_missing_path),
		cmocka_unit_test(test_malformed_fixture),
		cmocka_unit_test(test_json_input),
		cmocka_unit_test(test_emit_roundtrip),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
