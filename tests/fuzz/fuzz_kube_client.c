/* fuzz_kube_client.c - API server answers through kube_client.h with a
 * fake transport (http_fake.h): GET bodies, paged LISTs (metadata.continue),
 * Status error bodies and Retry-After, and a watch stream delivered in
 * chunks through the client's on_data path.
 *
 * Input: NUL-separated answer segments (http_fake.h; selector 6 is 410
 * here). The client GETs a ConfigMap, LISTs FoundryModels (following
 * continue tokens, at most 64 requests in all), watches them, applies a
 * ConfigMap and deletes one.
 * Properties: a LIST result has an items array; the
 * status's reason and message are NUL-terminated and free of control
 * characters (they end up in logs and Events); retry_after_s is -1 or
 * at least 0; watch callbacks get objects.
 */
#include <string.h>

#include "fuzz.h"
#include "http_fake.h"
#include "json.h"
#include "kube_client.h"
#include "kube_config.h"

#define SERVER "https://kube.test:6443"

static void check_status(const struct kube_status *st)
{
	FUZZ_CHECK(memchr(st->reason, '\0', sizeof(st->reason)));
	FUZZ_CHECK(memchr(st->message, '\0', sizeof(st->message)));
	for (const char *c = st->reason; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	for (const char *c = st->message; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	FUZZ_CHECK(st->retry_after_s >= -1);
}

static fc_err on_page(void *ud, cJSON *page)
{
	unsigned long *n = ud;

	FUZZ_CHECK(cJSON_IsObject(page));
	(*n)++;
	return FC_OK;
}

static fc_err on_event(void *ud, const char *type, cJSON **object)
{
	unsigned long *n = ud;

	FUZZ_CHECK(type && object && cJSON_IsObject(*object));
	(*n)++;
	return FC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {SERVER "/", NULL};
	struct fuzz_seg segs[FUZZ_HTTP_MAX_SEGS];
	struct fuzz_http fh;
	struct kube_config cfg;
	struct kube_client *kc = NULL;
	struct kube_status st;
	cJSON *out = NULL;
	const cJSON *items;
	unsigned long n = 0;
	size_t nsegs;
	fc_err rc;

	fuzz_quiet_log();
	nsegs = fuzz_split(data, size, segs, FUZZ_HTTP_MAX_SEGS);
	fuzz_http_init(&fh, segs, nsegs, prefixes);
	fh.status_6 = 410;
	fh.max_requests = 64;
	kube_config_init(&cfg);
	cfg.server = strdup(SERVER);
	cfg.token = strdup("fuzz-token");
	cfg.ns = strdup("aucert");
	cfg.source = strdup("fuzz");
	FUZZ_CHECK(cfg.server && cfg.token && cfg.ns && cfg.source);
	FUZZ_CHECK(kube_client_new(&fh.ft.t, &cfg, &kc) == FC_OK);

	rc = kube_get(kc, "/api/v1/namespaces/aucert/configmaps/llm-config", &out, &st);
	check_status(&st);
	if (rc)
		FUZZ_CHECK(out == NULL);
	cJSON_Delete(out);
	out = NULL;

	rc = kube_list(kc, "/apis/foundry.aucert.io/v1alpha1/foundrymodels", &out, &st);
	check_status(&st);
	if (rc == FC_OK) {
		FUZZ_CHECK(out && json_get_arr(out, "items", &items) == FC_OK);
		/* (no check that metadata.continue is gone: with a key repeated
		 * in metadata, only the first is removed, which is fine) */
	} else {
		FUZZ_CHECK(out == NULL);
	}
	cJSON_Delete(out);
	out = NULL;

	rc = kube_list_pages(kc, "/api/v1/configmaps?labelSelector=a%3Db", 2, on_page, &n, &st);
	check_status(&st);

	n = 0;
	rc = kube_watch(kc, "/apis/foundry.aucert.io/v1alpha1/namespaces/aucert/foundrymodels",
			"1001", 300, on_event, &n, NULL, &st);
	check_status(&st);

	rc = kube_apply(kc, "/api/v1/namespaces/aucert/configmaps/llm-config",
			"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"llm-config\"}}",
			"foundry-controller", 1, &out, &st);
	check_status(&st);
	cJSON_Delete(out);
	out = NULL;

	rc = kube_delete(kc, "/api/v1/namespaces/aucert/events/e1", &st);
	check_status(&st);
	(void)rc;

	kube_client_free(kc);
	kube_config_release(&cfg);
	fuzz_http_release(&fh);
	return 0;
}
