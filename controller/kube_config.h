/* kube_config.h - where the API server is and how to authenticate to it.
 *
 * Sources, first that applies (kube_config_load):
 *   1. an explicit kubeconfig path (--kubeconfig);
 *   2. $KUBECONFIG (the first non-empty path of a ':' list);
 *   3. in-cluster: $KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT and the
 *      service account directory (/var/run/secrets/kubernetes.io/serviceaccount,
 *      or $FC_SERVICEACCOUNT_DIR) with token, ca.crt and namespace.
 * A kubeconfig is parsed with libyaml: current-context -> context -> cluster
 * (server, certificate-authority[-data], insecure-skip-tls-verify) and user
 * (token, tokenFile, client-certificate[-data], client-key[-data]). Relative
 * paths are resolved against the kubeconfig's directory. Users with an exec
 * credential plugin or an auth-provider, or with username/password, are
 * FC_ERR_UNSUPPORTED. A kubeconfig is at most KUBE_CONFIG_MAX bytes.
 *
 * Tokens: a static token, or a token file re-read when it may have changed
 * (bound service-account tokens rotate): at most once per
 * KUBE_CONFIG_TOKEN_RECHECK_S, or at once after kube_config_token_invalidate.
 * Tokens and private keys are zeroed before they are freed and never logged.
 *
 * Thread-safety: after load, kube_config_token and kube_config_token_invalidate
 * may be called from any thread; the other fields are read-only.
 */
#ifndef FC_KUBE_CONFIG_H
#define FC_KUBE_CONFIG_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "err.h"
#include "http.h"

#define KUBE_CONFIG_MAX (1024u * 1024)
#define KUBE_CONFIG_TOKEN_MAX (64u * 1024)
#define KUBE_CONFIG_TOKEN_RECHECK_S 5
#define KUBE_CONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
	char *server;           /* "https://host:port[/prefix]", no trailing '/'; owned */
	struct http_tls tls;    /* every string owned (key_pem is a secret) */
	char *ns;               /* default namespace ("default" if unset); owned */
	char *source;           /* "kubeconfig PATH (context C)" or "in-cluster"; owned */

	/* bearer token source; both NULL = no token (client cert or anonymous) */
	char *token;            /* static token; owned, secret */
	char *token_file;       /* path of a token file; owned */

	/* token file cache: guarded by lock */
	pthread_mutex_t lock;
	char *cached_token;     /* last read from token_file; secret */
	time_t checked_at;      /* when token_file was last read (monotonic s) */
	int force_reread;
	int lock_ready;
};

/* Loads the configuration (see above). path may be NULL. On failure a
 * one-line reason goes to err (errlen bytes, may be 0) and out is left
 * released; on success release with kube_config_release().
 * Errors: NOTFOUND (no kubeconfig and not in a cluster, or a file that
 * does not exist), IO, TOOBIG, PARSE (malformed YAML or base64), INVAL
 * (missing current-context, context, cluster, server...), UNSUPPORTED,
 * NOMEM. */
fc_err kube_config_load(const char *path, struct kube_config *out, char *err, size_t errlen);

/* Parses kubeconfig text (len bytes, at most KUBE_CONFIG_MAX); relative
 * paths are resolved against base_dir (NULL = the working directory).
 * Same contract as kube_config_load. */
fc_err kube_config_parse(const char *yaml, size_t len, const char *base_dir,
			 struct kube_config *out, char *err, size_t errlen);

/* In-cluster configuration from the environment and sa_dir (NULL = the
 * default or $FC_SERVICEACCOUNT_DIR). */
fc_err kube_config_in_cluster(const char *sa_dir, struct kube_config *out, char *err,
			      size_t errlen);

/* Sets up an empty configuration for a caller that fills the fields by
 * hand (strings must then be malloc'ed: kube_config_release frees them). */
void kube_config_init(struct kube_config *kc);

/* Frees everything (zeroing secrets); out is then empty. Safe on an
 * all-zero or already released struct. */
void kube_config_release(struct kube_config *kc);

/* The current bearer token in *out (caller zeroes and frees it with
 * kube_config_token_free()), or *out = NULL when no token is configured.
 * Errors: IO / NOTFOUND when the token file cannot be read (the last good
 * token is returned instead if there is one), NOMEM. */
fc_err kube_config_token(struct kube_config *kc, char **out);

/* Makes the next kube_config_token re-read the token file (after a 401). */
void kube_config_token_invalidate(struct kube_config *kc);

/* Zeroes and frees a token; NULL is a no-op. */
void kube_config_token_free(char *token);

#endif /* FC_KUBE_CONFIG_H */
