/* fuzz_kubeconfig.c - kubeconfig YAML (kube_config.h kube_config_parse),
 * read by the controller from --kubeconfig / $KUBECONFIG.
 *
 * The input is the file. Properties: on success the server is an http(s)
 * URL without a trailing '/', the namespace and source are set, a client
 * certificate comes with its key; on failure the struct is left released
 * and err holds a (NUL-terminated) message. A
 * static token is read back with
 * kube_config_token (token files are not read: paths come from the input).
 */
#include <string.h>

#include "fuzz.h"
#include "kube_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_config kc;
	char err[512];
	char *tok = NULL;
	fc_err rc;

	fuzz_quiet_log();
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = 'x';
	rc = kube_config_parse((const char *)data, size, size % 2 ? "/fuzz/kube" : NULL, &kc, err,
			       sizeof(err));
	if (rc) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
		FUZZ_CHECK(err[0] || rc == FC_ERR_NOMEM);
		FUZZ_CHECK(!kc.server && !kc.token && !kc.token_file && !kc.ns && !kc.source);
		FUZZ_CHECK(!kc.tls.ca_pem && !kc.tls.cert_pem && !kc.tls.key_pem);
	} else {
		size_t n;

		FUZZ_CHECK(kc.server && kc.ns && kc.source);
		FUZZ_CHECK(!strncmp(kc.server, "https://", 8) || !strncmp(kc.server, "http://", 7));
		n = strlen(kc.server);
		FUZZ_CHECK(n && kc.server[n - 1] != '/');
		FUZZ_CHECK(!!(kc.tls.cert_pem || kc.tls.cert_file) ==
			   !!(kc.tls.key_pem || kc.tls.key_file));
		if (kc.token) {
			if (!kc.token_file) {
				FUZZ_CHECK(kube_config_token(&kc, &tok) == FC_OK);
				FUZZ_CHECK(tok && !strcmp(tok, kc.token));
				kube_config_token_free(tok);
			}
		}
	}
	kube_config_release(&kc);
	kube_config_release(&kc); /* documented as safe */
	return 0;
}
