/* azure_client.h - read-only ARM calls and their caches (DESIGN.md §4).
 *
 * Three calls, all GET, api-version AZURE_API_VERSION (the one place it is
 * set), with `Authorization: Bearer <token from azure_auth>`:
 *   account     {arm}/subscriptions/S/resourceGroups/G/providers/Microsoft.CognitiveServices/accounts/A
 *   catalog     {arm}/subscriptions/S/providers/Microsoft.CognitiveServices/locations/R/models
 *               (every page: nextLink is followed only when it points into
 *               {arm}, at most AZURE_CLIENT_MAX_PAGES pages)
 *   deployment  .../accounts/A/deployments/D
 *
 * Caches:
 *   - catalog per (subscription, region) for catalog_ttl: exactly one
 *     request (one per page) per key per TTL, however many models; callers
 *     that need a key being loaded wait for that load (mutex + condvar) and
 *     share its outcome. A failed load is remembered for
 *     AZURE_CLIENT_FAILURE_HOLD_MS (or the Retry-After) so a burst of models
 *     makes one request, not one each.
 *   - account per FoundryAccount and deployment per FoundryModel for
 *     deployment_ttl; refreshed at once when the object's
 *     metadata.generation differs from the one the cached answer was
 *     fetched for (the spec changed). A 404 is cached like an answer. A
 *     failed lookup (not a 429: see below) is held for
 *     AZURE_CLIENT_FAILURE_HOLD_MS: the same Unknown check, same message,
 *     without a request, unless the generation changed. (Without it the
 *     status write reporting a failure, whose message differs each time,
 *     would set off the next request at once, bypassing any backoff.)
 *   A TTL of 0 disables that cache (concurrent catalog loads are still shared).
 *
 * HTTP failures:
 *   401         azure_auth_invalidate() and one retry with a fresh token
 *   403         AzureForbidden, naming the missing permission (the action in
 *               ARM's AuthorizationFailed message) and its scope
 *   429         AzureThrottled; Retry-After (else the "try again after 'N'
 *               seconds" of the message, else 10 s) is honoured: no ARM call
 *               for that subscription (ARM throttles per subscription) is sent
 *               before it elapses, and the delay is returned to the caller
 *   5xx, other statuses, timeouts, I/O, TLS, malformed bodies
 *               AzureUnreachable (the caller backs off)
 *   token errors  rejected credentials -> AzureForbidden, 429 -> AzureThrottled,
 *               others -> AzureUnreachable, with azure_auth's message.
 * An Azure failure is never an fc_err: it is reported as checks with status
 * Unknown, reason AzureUnreachable/AzureThrottled/AzureForbidden and a
 * message. The fc_err return is FC_ERR_NOMEM (or FC_ERR_INVAL for a NULL
 * argument): the verdict is then empty.
 *
 * Thread-safe: any number of reconcile workers may call at once.
 */
#ifndef FC_AZURE_CLIENT_H
#define FC_AZURE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "azure_auth.h"
#include "err.h"
#include "http.h"
#include "render.h"
#include "spec.h"

/* The ARM api-version of every call (DESIGN.md §4: 2024-10-01 is safe). */
#define AZURE_API_VERSION "2024-10-01"
#define AZURE_PUBLIC_ARM_ENDPOINT "https://management.azure.com"
#define AZURE_CLIENT_MAX_PAGES 100
#define AZURE_CLIENT_DEFAULT_RETRY_AFTER_MS 10000L
#define AZURE_CLIENT_FAILURE_HOLD_MS 10000L

/* Condition reasons this module sets (static strings; see render.h). */
#define AZURE_REASON_ACCOUNT_READY "AccountReady"
#define AZURE_REASON_ACCOUNT_NOT_FOUND "AccountNotFound"
#define AZURE_REASON_ACCOUNT_NOT_READY "AccountNotReady"
#define AZURE_REASON_MODEL_AVAILABLE "ModelAvailable"
#define AZURE_REASON_MODEL_NOT_IN_REGION "ModelNotInRegion"
#define AZURE_REASON_SKU_NOT_IN_REGION "SkuNotInRegion"
#define AZURE_REASON_MODEL_RETIRED "ModelRetired"
#define AZURE_REASON_MODEL_DEPRECATING "ModelDeprecating"
#define AZURE_REASON_NOT_DEPRECATED "NotDeprecated"
#define AZURE_REASON_DEPLOYMENT_SUCCEEDED "DeploymentSucceeded"
#define AZURE_REASON_DEPLOYMENT_NOT_FOUND "DeploymentNotFound"
#define AZURE_REASON_DEPLOYMENT_NOT_SUCCEEDED "DeploymentNotSucceeded"
#define AZURE_REASON_VALIDATION_SKIPPED "ValidationSkipped"
#define AZURE_REASON_INVALID_SPEC "InvalidSpec"
#define AZURE_REASON_UNREACHABLE "AzureUnreachable"
#define AZURE_REASON_THROTTLED "AzureThrottled"
#define AZURE_REASON_FORBIDDEN "AzureForbidden"

struct azure_client_options {
	struct http_transport *transport; /* borrowed, required */
	struct azure_auth *auth;          /* borrowed; NULL sends no Authorization (tests) */
	const char *arm_endpoint;         /* NULL: AZURE_PUBLIC_ARM_ENDPOINT; trailing '/' ignored */
	const char *api_version;          /* NULL: AZURE_API_VERSION */
	int64_t catalog_ttl_ms;           /* --catalog-ttl */
	int64_t deployment_ttl_ms;        /* --deployment-ttl (accounts and deployments) */
	char *const *suggest_regions;     /* --suggest-regions (copied), may be NULL */
	size_t nsuggest_regions;
	int64_t retirement_warning_ms;    /* --retirement-warning */
	const char *ca_file;              /* --azure-ca-file for every request, or NULL */
	long timeout_ms;                  /* per request; 0: 30 s */
	azure_clock_fn now_ms;            /* NULL: the real clock (epoch ms) */
	void *clock_ud;
	azure_request_hook on_request;    /* per request: "account"|"catalog"|"deployment" */
	void *hook_ud;
};

struct azure_client;

/* Copies what it needs from opt (transport and auth stay borrowed and must
 * outlive the client). Caller frees with azure_client_free(). */
fc_err azure_client_new(const struct azure_client_options *opt, struct azure_client **out);
void azure_client_free(struct azure_client *ac);

/* DESIGN.md §4 step 1 for one FoundryAccount. out is filled (caller releases
 * it with account_verdict_release()):
 *   ready True  AccountReady, endpoint/region/kind set
 *   ready False AccountNotFound (404 for the account or its resource group),
 *               AccountNotReady (provisioningState not Succeeded; spec.region
 *               set and ARM's location differs: "spec.region westus but Azure
 *               says eastus2"; no endpoint anywhere)
 *   ready Unknown AzureUnreachable/AzureThrottled/AzureForbidden; endpoint,
 *               region and kind then hold the last answer cached for this
 *               account, if any (spec.endpoint wins for endpoint).
 * endpoint is spec.endpoint, else properties.endpoints["OpenAI Language Model
 * Instance API"], else properties.endpoint. region is ARM's location in lower
 * case without spaces ("JAPANEAST" -> "japaneast"). A spec with `invalid` set
 * gives ready False InvalidSpec without a request. */
fc_err azure_client_check_account(struct azure_client *ac, const struct spec_account *acct,
				  struct account_verdict *out);

/* DESIGN.md §4 steps 2-4 for one FoundryModel on acct, whose verdict is
 * acct_verdict (its region and kind are used; when it has none, every check is
 * Unknown with the account's reason). primary / primary_verdict: the
 * namespace's primary account, or NULL; when it is not acct, has another
 * region, and that region's catalog offers the tuple, out->consolidation is
 * "gpt-5.4-pro 2026-03-05 GlobalStandard is now offered in westus, the primary
 * account's region: the model can move back to aucert-ai".
 * check_deployment 0 leaves deployment Unknown, ValidationSkipped (verify
 * without --check-deployments). now: epoch seconds for the retirement
 * comparisons, 0 for the client's clock.
 * out (caller releases with model_verdict_release()):
 *   generation           m->meta.generation
 *   region               True ModelAvailable | False ModelNotInRegion,
 *                        SkuNotInRegion, ModelRetired | Unknown Azure*
 *   deprecated           True ModelDeprecating (lifecycleStatus Deprecating/
 *                        Deprecated or retirement within the warning) or
 *                        ModelRetired | False NotDeprecated | Unknown
 *                        (not offered: reason ModelNotInRegion/SkuNotInRegion;
 *                        or the Azure failure)
 *   retirement_date      RFC 3339 from the catalog, when it gives one
 *   available_regions    when not available: the --suggest-regions whose
 *                        catalog offers the tuple; the region message ends
 *                        "; offered in eastus2, southcentralus" or "; not
 *                        offered in any of the --suggest-regions (a, b)"
 *   deployment           True DeploymentSucceeded | False DeploymentNotFound,
 *                        DeploymentNotSucceeded (provisioningState, or
 *                        properties.model differs from spec, saying which)
 *                        | Unknown Azure* / ValidationSkipped
 * *retry_after_ms (may be NULL) is 0, or the delay after which the caller
 * should requeue (429). */
fc_err azure_client_check_model(struct azure_client *ac, const struct spec_model *m,
				const struct spec_account *acct,
				const struct account_verdict *acct_verdict,
				const struct spec_account *primary_or_NULL,
				const struct account_verdict *primary_verdict, int check_deployment,
				int64_t now, struct model_verdict *out, long *retry_after_ms);

/* Milliseconds before ARM may be called again for this subscription (a 429
 * was answered), 0 when it may be called now. For requeueing after an
 * account check that came back AzureThrottled. */
long azure_client_throttle_ms(struct azure_client *ac, const char *subscription_id);

#endif /* FC_AZURE_CLIENT_H */
