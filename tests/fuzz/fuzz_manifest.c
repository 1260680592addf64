/* fuzz_manifest.c - manifests for `verify` and `render` (manifest.h
 * manifest_parse: YAML 1.1 / JSON, multi-document, aliases, merge keys),
 * then verify_render and verify_run (no Azure) and the output formatters.
 *
 * Properties:
 *   - every object read, written back with manifest_emit_yaml, reads back
 *     as one equal object (except *List objects, which are expanded);
 *   - render's YAML reads back as exactly nconfigmaps ConfigMaps;
 *   - verify rows are sorted by namespace then name, and without Azure no
 *     row is available or unavailable unless a conflict made it so;
 *   - error messages are NUL-terminated and non-empty.
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "json.h"
#include "manifest.h"
#include "verify.h"

static int is_list(const cJSON *o)
{
	const char *kind = json_str_or(o, "kind", "");
	size_t n = strlen(kind);
	const cJSON *items;

	return n >= 4 && !strcmp(kind + n - 4, "List") && json_get_arr(o, "items", &items) == FC_OK;
}

static void roundtrip(const cJSON *obj)
{
	struct manifest_set s2;
	struct buf out;
	char err[MANIFEST_ERR_MAX];
	fc_err rc;

	buf_init(&out, 64u * 1024 * 1024);
	rc = manifest_emit_yaml(obj, &out);
	FUZZ_CHECK(rc == FC_OK || rc == FC_ERR_TOOBIG || rc == FC_ERR_INVAL);
	if (rc == FC_OK && !is_list(obj)) {
		manifest_set_init(&s2);
		err[0] = '\0';
		rc = manifest_parse(&s2, "emitted.yaml", out.data ? out.data : "", out.len, err,
				    sizeof(err));
		if (rc != FC_OK) {
			fprintf(stderr, "emitted YAML does not read back (%s):\n%s\n", err,
				out.data ? out.data : "");
			FUZZ_CHECK(rc == FC_OK);
		}
		FUZZ_CHECK(s2.ndocs == 1);
		if (!cJSON_Compare(obj, s2.docs[0].obj, 1)) {
			char *a = cJSON_PrintUnformatted(obj), *b = cJSON_PrintUnformatted(s2.docs[0].obj);

			fprintf(stderr, "round trip changed the object:\n%s\n%s\nYAML:\n%s\n", a, b,
				out.data);
			free(a);
			free(b);
			FUZZ_CHECK(!"manifest_emit_yaml round trip");
		}
		manifest_set_release(&s2);
	}
	buf_release(&out);
}

static void render(const struct manifest_set *s)
{
	struct verify_render_result rr;
	struct manifest_set s2;
	char err[MANIFEST_ERR_MAX];
	fc_err rc;

	memset(&rr, 0, sizeof(rr));
	err[0] = '\0';
	rc = verify_render(s, NULL, &rr, err, sizeof(err));
	FUZZ_CHECK(rc == FC_OK || rc == FC_ERR_TOOBIG);
	if (rc == FC_OK) {
		FUZZ_CHECK(rr.yaml);
		manifest_set_init(&s2);
		rc = manifest_parse(&s2, "render.yaml", rr.yaml, strlen(rr.yaml), err, sizeof(err));
		if (rc) {
			fprintf(stderr, "render output does not read back (%s):\n%s\n", err, rr.yaml);
			FUZZ_CHECK(rc == FC_OK);
		}
		FUZZ_CHECK(s2.ndocs == rr.nconfigmaps);
		for (size_t i = 0; i < s2.ndocs; i++)
			FUZZ_CHECK(!strcmp(json_str_or(s2.docs[i].obj, "kind", ""), "ConfigMap"));
		manifest_set_release(&s2);
	} else {
		FUZZ_CHECK(err[0]);
	}
	verify_render_result_release(&rr);
}

static void verify(const struct manifest_set *s)
{
	struct verify_options opt = {0};
	struct verify_result vr;
	struct buf out;
	char err[MANIFEST_ERR_MAX];
	int code;

	memset(&vr, 0, sizeof(vr));
	opt.default_validation = VALIDATION_ENFORCE;
	opt.now = 1780272000;
	FUZZ_CHECK(verify_run(s, NULL, &opt, &vr, err, sizeof(err)) == FC_OK);
	for (size_t i = 0; i < vr.nrows; i++) {
		const struct verify_row *r = &vr.rows[i];

		FUZZ_CHECK(r->ns && r->name && r->reason);
		if (i) {
			int c = strcmp(vr.rows[i - 1].ns, r->ns);

			FUZZ_CHECK(c < 0 || (c == 0 && strcmp(vr.rows[i - 1].name, r->name) <= 0));
		}
		FUZZ_CHECK(r->verdict != VERIFY_AVAILABLE);
	}
	code = verify_exit_code(&vr);
	FUZZ_CHECK(code >= 0 && code <= 2);
	buf_init(&out, VERIFY_MAX_OUTPUT);
	FUZZ_CHECK(verify_format_table(vr.rows, vr.nrows, &out) == FC_OK);
	buf_reset(&out);
	FUZZ_CHECK(verify_format_json(vr.rows, vr.nrows, &out) == FC_OK);
	/* one JSON object per line */
	for (const char *p = out.data, *nl; p && *p; p = nl + 1) {
		cJSON *row = NULL;

		nl = strchr(p, '\n');
		FUZZ_CHECK(nl);
		FUZZ_CHECK(json_parse(p, (size_t)(nl - p), &row) == FC_OK);
		cJSON_Delete(row);
	}
	buf_release(&out);
	verify_result_release(&vr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_set s;
	char err[MANIFEST_ERR_MAX];
	fc_err rc;

	fuzz_quiet_log();
	manifest_set_init(&s);
	memset(err, 'x', sizeof(err));
	rc = manifest_parse(&s, "fuzz.yaml", (const char *)data, size, err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
		FUZZ_CHECK(rc == FC_ERR_PARSE || rc == FC_ERR_TOOBIG);
		FUZZ_CHECK(err[0]);
		FUZZ_CHECK(s.ndocs == 0);
	} else {
		for (size_t i = 0; i < s.ndocs; i++) {
			FUZZ_CHECK(cJSON_IsObject(s.docs[i].obj));
			FUZZ_CHECK(s.docs[i].line >= 1);
			roundtrip(s.docs[i].obj);
		}
		render(&s);
		verify(&s);
	}
	manifest_set_release(&s);
	return 0;
}
