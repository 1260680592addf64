/* Unit tests: kube_config.c (kubeconfig table over tests/fixtures/kubeconfig,
 * KUBECONFIG, in-cluster, token file rotation, size bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kube_config.h"

static char fixtures[1024];

static void fixture(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/kubeconfig/%s", fixtures, name);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

#define CA_PEM "-----BEGIN CERTIFICATE-----\nCA-DATA\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nCLIENT-CERT\n-----END CERTIFICATE-----\n"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nCLIENT-KEY\n-----END PRIVATE KEY-----\n"

struct want {
	const char *file;
	fc_err rc;
	const char *server;
	const char *token;        /* static token */
	const char *token_file;   /* suffix of the resolved path */
	const char *ns;
	const char *ca_pem;
	const char *ca_file;      /* suffix */
	const char *cert_pem;
	const char *cert_file;    /* suffix */
	const char *key_pem;
	const char *key_file;     /* suffix */
	int insecure;
	const char *err_has;      /* substring of the error message */
};

static const struct want table[] = {
	{ .file = "token.yaml", .server = "https://127.0.0.1:6443", .token = "abc.def-123",
	  .ns = "team-a", .ca_pem = CA_PEM },
	{ .file = "token-file.yaml", .server = "https://kube.example.com",
	  .token_file = "/kubeconfig/token.txt", .ns = "default", .ca_file = "/kubeconfig/certs/ca.crt" },
	{ .file = "cert-data.yaml", .server = "https://10.0.0.1:443", .ns = "default", .ca_pem = CA_PEM,
	  .cert_pem = CERT_PEM, .key_pem = KEY_PEM },
	{ .file = "cert-files.yaml", .server = "https://10.0.0.1:443", .ns = "default",
	  .ca_file = "/etc/kubernetes/pki/ca.crt", .cert_file = "/kubeconfig/certs/client.crt",
	  .key_file = "/kubeconfig/../kubeconfig/certs/client.key" },
	{ .file = "insecure.yaml", .server = "https://127.0.0.1:6443", .token = "t0k", .ns = "default",
	  .insecure = 1 },
	{ .file = "multi.yaml", .server = "https://prod.example.com:6443", .token = "prod-token",
	  .ns = "aucert" },
	{ .file = "anonymous.yaml", .server = "http://127.0.0.1:8080", .ns = "default" },
	{ .file = "json.yaml", .server = "https://json.example.com", .token = "json-token", .ns = "js",
	  .insecure = 1 },
	{ .file = "exec.yaml", .rc = FC_ERR_UNSUPPORTED,
	  .err_has = "user clusterUser_rg_aks uses an exec credential plugin, which foundry-controller "
		     "does not support; use a token or client certificate" },
	{ .file = "auth-provider.yaml", .rc = FC_ERR_UNSUPPORTED, .err_has = "auth-provider" },
	{ .file = "basic-auth.yaml", .rc = FC_ERR_UNSUPPORTED, .err_has = "basic authentication" },
	{ .file = "proxy.yaml", .rc = FC_ERR_UNSUPPORTED, .err_has = "proxy-url" },
	{ .file = "no-current-context.yaml", .rc = FC_ERR_INVAL, .err_has = "no current-context" },
	{ .file = "missing-context.yaml", .rc = FC_ERR_INVAL, .err_has = "context other not found" },
	{ .file = "missing-cluster.yaml", .rc = FC_ERR_INVAL, .err_has = "cluster nope" },
	{ .file = "missing-user.yaml", .rc = FC_ERR_INVAL, .err_has = "user ghost" },
	{ .file = "no-server.yaml", .rc = FC_ERR_INVAL, .err_has = "no server" },
	{ .file = "cert-without-key.yaml", .rc = FC_ERR_INVAL, .err_has = "together" },
	{ .file = "malformed.yaml", .rc = FC_ERR_PARSE, .err_has = "invalid YAML at line" },
	{ .file = "not-mapping.yaml", .rc = FC_ERR_PARSE, .err_has = "not a YAML mapping" },
	{ .file = "bad-base64.yaml", .rc = FC_ERR_PARSE, .err_has = "certificate-authority-data" },
	{ .file = "not-pem.yaml", .rc = FC_ERR_PARSE, .err_has = "not base64-encoded PEM" },
	{ .file = "does-not-exist.yaml", .rc = FC_ERR_NOTFOUND, .err_has = "no such file" },
};

static void check_suffix(const char *what, const char *got, const char *want_suffix)
{
	size_t g, w;

	if (!want_suffix) {
		if (got)
			fail_msg("%s: unexpected %s", what, got);
		return;
	}
	if (!got)
		fail_msg("%s: missing, want ...%s", what, want_suffix);
	g = strlen(got);
	w = strlen(want_suffix);
	if (g < w || strcmp(got + g - w, want_suffix))
		fail_msg("%s: got %s, want ...%s", what, got, want_suffix);
}

static void check_str(const char *what, const char *got, const char *want)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(got, want))
		fail_msg("%s: got %s, want %s", what, got ? got : "NULL", want ? want : "NULL");
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct want *w = &table[i];
		struct kube_config kc;
		char path[1200], err[512];
		fc_err rc;

		fixture(path, sizeof(path), w->file);
		err[0] = '\0';
		rc = kube_config_load(path, &kc, err, sizeof(err));
		if (rc != w->rc)
			fail_msg("%s: rc %s want %s (%s)", w->file, fc_strerror(rc), fc_strerror(w->rc), err);
		if (rc) {
			assert_null(kc.server);
			if (!strstr(err, w->err_has))
				fail_msg("%s: error '%s' lacks '%s'", w->file, err, w->err_has);
			kube_config_release(&kc); /* harmless on a failed load */
			continue;
		}
		check_str("server", kc.server, w->server);
		check_str("token", kc.token, w->token);
		check_suffix("token_file", kc.token_file, w->token_file);
		check_str("ns", kc.ns, w->ns);
		check_str("ca_pem", kc.tls.ca_pem, w->ca_pem);
		check_suffix("ca_file", kc.tls.ca_file, w->ca_file);
		check_str("cert_pem", kc.tls.cert_pem, w->cert_pem);
		check_suffix("cert_file", kc.tls.cert_file, w->cert_file);
		check_str("key_pem", kc.tls.key_pem, w->key_pem);
		check_suffix("key_file", kc.tls.key_file, w->key_file);
		assert_int_equal(kc.tls.insecure, w->insecure);
		assert_non_null(strstr(kc.source, w->file));
		kube_config_release(&kc);
		kube_config_release(&kc); /* twice is fine */
	}
}

static void test_parse_string(void **state)
{
	static const char y[] =
		"current-context: x\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: ca.pem}}]\n"
		"users: [{name: u, user: {tokenFile: /abs/token, token: fallback}}]\n";
	struct kube_config kc;
	char err[256];

	(void)state;
	assert_int_equal(kube_config_parse(y, sizeof(y) - 1, "/base", &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.tls.ca_file, "/base/ca.pem");
	assert_string_equal(kc.token_file, "/abs/token");
	assert_string_equal(kc.token, "fallback");
	kube_config_release(&kc);

	assert_int_equal(kube_config_parse(y, sizeof(y) - 1, NULL, &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.tls.ca_file, "ca.pem");
	kube_config_release(&kc);

	/* empty input, and errlen 0 */
	assert_int_equal(kube_config_parse("", 0, NULL, &kc, NULL, 0), FC_ERR_PARSE);
	assert_int_equal(kube_config_parse("a: [", 4, NULL, &kc, err, 0), FC_ERR_PARSE);
}

static void test_oversize(void **state)
{
	char path[] = "/tmp/fc-kubeconfig-big-XXXXXX";
	int fd = mkstemp(path);
	struct kube_config kc;
	char err[256], *big;
	size_t n = KUBE_CONFIG_MAX + 1;

	(void)state;
	assert_true(fd >= 0);
	big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(write(fd, big, n), (ssize_t)n);
	close(fd);
	assert_int_equal(kube_config_load(path, &kc, err, sizeof(err)), FC_ERR_TOOBIG);
	assert_non_null(strstr(err, "larger than"));
	assert_int_equal(kube_config_parse(big, n, NULL, &kc, err, sizeof(err)), FC_ERR_TOOBIG);
	free(big);
	unlink(path);
}

static void test_kubeconfig_env(void **state)
{
	char a[1200], b[1200], env[2600];
	struct kube_config kc;
	char err[256];

	(void)state;
	fixture(a, sizeof(a), "multi.yaml");
	fixture(b, sizeof(b), "token.yaml");
	snprintf(env, sizeof(env), "::%s:%s", a, b);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kube_config_load(NULL, &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.server, "https://prod.example.com:6443");
	kube_config_release(&kc);
	/* an explicit path wins over KUBECONFIG */
	assert_int_equal(kube_config_load(b, &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.server, "https://127.0.0.1:6443");
	kube_config_release(&kc);
	unsetenv("KUBECONFIG");
}

static void make_sa_dir(char *dir, const char *token, const char *ns)
{
	char p[512];

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/token", dir);
	write_file(p, token);
	snprintf(p, sizeof(p), "%s/ca.crt", dir);
	write_file(p, CA_PEM);
	if (ns) {
		snprintf(p, sizeof(p), "%s/namespace", dir);
		write_file(p, ns);
	}
}

static void rm_sa_dir(const char *dir)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/token", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ca.crt", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/namespace", dir);
	unlink(p);
	rmdir(dir);
}

static void test_in_cluster(void **state)
{
	char dir[] = "/tmp/fc-sa-XXXXXX";
	struct kube_config kc;
	char err[256], *tok = NULL;

	(void)state;
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	make_sa_dir(dir, "sa-token-1\n", "aucert\n");
	setenv("FC_SERVICEACCOUNT_DIR", dir, 1);

	assert_int_equal(kube_config_load(NULL, &kc, err, sizeof(err)), FC_ERR_NOTFOUND);
	assert_non_null(strstr(err, "not running in a cluster"));

	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_load(NULL, &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.server, "https://10.0.0.1:443");
	assert_string_equal(kc.ns, "aucert");
	assert_non_null(strstr(kc.tls.ca_file, "/ca.crt"));
	assert_null(kc.token);
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_string_equal(tok, "sa-token-1");
	kube_config_token_free(tok);
	kube_config_release(&kc);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(kube_config_in_cluster(dir, &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.server, "https://[fd00::1]:443");
	kube_config_release(&kc);

	/* no token file: a clear error */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/token", dir);
		unlink(p);
	}
	assert_int_equal(kube_config_in_cluster(dir, &kc, err, sizeof(err)), FC_ERR_NOTFOUND);
	assert_non_null(strstr(err, "service account token"));

	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("FC_SERVICEACCOUNT_DIR");
	rm_sa_dir(dir);
}

static void test_in_cluster_default_ns(void **state)
{
	char dir[] = "/tmp/fc-sa-XXXXXX";
	struct kube_config kc;
	char err[256];

	(void)state;
	make_sa_dir(dir, "t", NULL);
	setenv("KUBERNETES_SERVICE_HOST", "k", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(kube_config_in_cluster(dir, &kc, err, sizeof(err)), FC_OK);
	assert_string_equal(kc.ns, "default");
	kube_config_release(&kc);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	rm_sa_dir(dir);
}

static void test_token_rotation(void **state)
{
	char dir[] = "/tmp/fc-tok-XXXXXX";
	char tf[512], y[1024];
	struct kube_config kc;
	char err[256], *tok = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(tf, sizeof(tf), "%s/token", dir);
	write_file(tf, "first\n");
	snprintf(y, sizeof(y),
		 "current-context: x\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "users: [{name: u, user: {tokenFile: token}}]\n");
	assert_int_equal(kube_config_parse(y, strlen(y), dir, &kc, err, sizeof(err)), FC_OK);
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_string_equal(tok, "first");
	kube_config_token_free(tok);

	/* rotated: still cached within the recheck interval ... */
	write_file(tf, "second");
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_string_equal(tok, "first");
	kube_config_token_free(tok);
	/* ... re-read at once after a 401 */
	kube_config_token_invalidate(&kc);
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_string_equal(tok, "second");
	kube_config_token_free(tok);

	/* file gone: the last good token is kept */
	unlink(tf);
	kube_config_token_invalidate(&kc);
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_string_equal(tok, "second");
	kube_config_token_free(tok);
	kube_config_release(&kc);

	/* file gone from the start: an error */
	assert_int_equal(kube_config_parse(y, strlen(y), dir, &kc, err, sizeof(err)), FC_OK);
	assert_int_equal(kube_config_token(&kc, &tok), FC_ERR_NOTFOUND);
	assert_null(tok);
	kube_config_release(&kc);
	rmdir(dir);
}

static void test_static_and_no_token(void **state)
{
	struct kube_config kc;
	char path[1200], err[256], *tok = (char *)"x";

	(void)state;
	fixture(path, sizeof(path), "anonymous.yaml");
	assert_int_equal(kube_config_load(path, &kc, err, sizeof(err)), FC_OK);
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_null(tok);
	kube_config_token_invalidate(&kc); /* no-op */
	kube_config_release(&kc);

	fixture(path, sizeof(path), "token-file.yaml");
	assert_int_equal(kube_config_load(path, &kc, err, sizeof(err)), FC_OK);
	assert_int_equal(kube_config_token(&kc, &tok), FC_OK);
	assert_string_equal(tok, "file-token-1");
	kube_config_token_free(tok);
	kube_config_release(&kc);
	kube_config_token_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_parse_string),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_kubeconfig_env),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_in_cluster_default_ns),
		cmocka_unit_test(test_token_rotation),
		cmocka_unit_test(test_static_and_no_token),
	};
	const char *d = getenv("FC_TEST_DATA");

	snprintf(fixtures, sizeof(fixtures), "%s", d && *d ? d : "../fixtures");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
