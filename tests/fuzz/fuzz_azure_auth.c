/* fuzz_azure_auth.c - Entra ID and IMDS token answers (azure_auth.h):
 * access_token, expires_in / expires_on (numbers or strings), error
 * bodies, through azure_auth_token with a fake transport (http_fake.h).
 *
 * Input: byte 0 picks the credential (0 client secret, 1 managed identity
 * with a client id, 2 managed identity with nothing configured); the rest
 * is NUL-separated answer segments (http_fake.h). Tokens are asked for at
 * t0, t0+1s, t0+2h (cache / failure hold / refresh), after an invalidate,
 * and at t0+400 days.
 * Properties: FC_OK gives a non-empty token, an error a NULL token and a
 * message; the documented error kinds only; the client secret (and its
 * URL-encoded form) never shows in a message.
 */
#include <string.h>

#include "azure_auth.h"
#include "azure_fake.h"
#include "fuzz.h"
#include "http_fake.h"

static void ask(struct azure_auth *a)
{
	char msg[AZURE_AUTH_MSG_MAX];
	char *tok = (char *)"unset";
	fc_err rc;

	memset(msg, 'x', sizeof(msg));
	rc = azure_auth_token(a, &tok, msg, sizeof(msg));
	FUZZ_CHECK(memchr(msg, '\0', sizeof(msg)));
	if (rc == FC_OK) {
		FUZZ_CHECK(tok && *tok);
		FUZZ_CHECK(msg[0] == '\0');
	} else {
		FUZZ_CHECK(tok == NULL);
		FUZZ_CHECK(msg[0]);
		FUZZ_CHECK(rc == FC_ERR_AUTH || rc == FC_ERR_THROTTLED || rc == FC_ERR_UNAVAILABLE ||
			   rc == FC_ERR_IO || rc == FC_ERR_TIMEOUT || rc == FC_ERR_TLS ||
			   rc == FC_ERR_PARSE || rc == FC_ERR_TOOBIG);
		if (azure_auth_kind(a) == AZURE_CRED_CLIENT_SECRET) {
			FUZZ_CHECK(!strstr(msg, AZURE_FAKE_SECRET));
			FUZZ_CHECK(!strstr(msg, AZURE_FAKE_SECRET_ENC));
		}
	}
	azure_auth_token_free(rc ? NULL : tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {"https://login.test/tenant-1/oauth2/v2.0/token",
					       "http://imds.test/metadata/identity/oauth2/token?",
					       NULL};
	static const azure_auth_getenv_fn envs[3] = {azure_fake_env_secret, azure_fake_env_mi,
						     azure_fake_env_none};
	struct fuzz_seg segs[FUZZ_HTTP_MAX_SEGS];
	struct azure_auth_options ao = {0};
	struct azure_auth *a = NULL;
	struct fuzz_http fh;
	char msg[AZURE_AUTH_MSG_MAX];
	size_t nsegs;

	fuzz_quiet_log();
	if (size < 1)
		return 0;
	nsegs = fuzz_split(data + 1, size - 1, segs, FUZZ_HTTP_MAX_SEGS);
	fuzz_http_init(&fh, segs, nsegs, prefixes);
	azure_fake_clock_ms = 1767225600000; /* 2026-01-01 */
	ao.transport = &fh.ft.t;
	ao.authority_host = "https://login.test/";
	ao.imds_endpoint = "http://imds.test/";
	ao.getenv_fn = envs[data[0] % 3];
	ao.now_ms = azure_fake_clock;
	FUZZ_CHECK(azure_auth_new(&ao, &a, msg, sizeof(msg)) == FC_OK);
	ask(a);
	azure_fake_clock_ms += 1000;
	ask(a);
	azure_fake_clock_ms += 2 * 3600 * 1000;
	ask(a);
	azure_auth_invalidate(a);
	ask(a);
	azure_fake_clock_ms += 400LL * 86400 * 1000;
	ask(a);
	azure_auth_free(a);
	fuzz_http_release(&fh);
	return 0;
}
