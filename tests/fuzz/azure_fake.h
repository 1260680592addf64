/* azure_fake.h - the clock and environments the Azure targets
 * (fuzz_azure_auth, fuzz_azure_client) hand to azure_auth_new().
 */
#ifndef FC_FUZZ_AZURE_FAKE_H
#define FC_FUZZ_AZURE_FAKE_H

#include <stdint.h>

/* The client secret azure_fake_env_secret gives, and its URL-encoded
 * form; no message may show either. */
#define AZURE_FAKE_SECRET "fz-Secr3t~v/+=&%"
#define AZURE_FAKE_SECRET_ENC "fz-Secr3t~v%2F%2B%3D%26%25"

/* What azure_fake_clock returns; a target sets it before each run. */
extern int64_t azure_fake_clock_ms;

/* azure_auth_options.now_ms / azure_client_options.now_ms: azure_fake_clock_ms. */
int64_t azure_fake_clock(void *ud);

/* azure_auth_options.getenv_fn: a client secret (tenant-1, client-1,
 * AZURE_FAKE_SECRET), a managed identity with client id client-1, and
 * nothing configured. The strings are static. */
char *azure_fake_env_secret(const char *name);
char *azure_fake_env_mi(const char *name);
char *azure_fake_env_none(const char *name);

#endif /* FC_FUZZ_AZURE_FAKE_H */
