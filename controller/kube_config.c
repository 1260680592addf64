#include "kube_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

#define PATH_MAX_LEN 4096

/* ---- small helpers ----------------------------------------------------- */

static void zero(void *p, size_t n)
{
	volatile unsigned char *c = p;

	while (n--)
		*c++ = 0;
}

static void free_secret(char *s)
{
	if (s) {
		zero(s, strlen(s));
		free(s);
	}
}

void kube_config_token_free(char *token)
{
	free_secret(token);
}

static time_t mono_s(void)
{
	return (time_t)(clock_mono_ms() / 1000);
}

/* Reads at most max bytes of path into b (initialised by the caller).
 * NOTFOUND if it does not exist, TOOBIG past max, IO otherwise. */
static fc_err read_file(const char *path, size_t max, struct buf *b)
{
	char chunk[4096];
	int fd = -1;
	ssize_t n;
	fc_err rc = FC_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? FC_ERR_NOTFOUND : FC_ERR_IO;
		goto out;
	}
	b->max = max;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = FC_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		rc = buf_append(b, chunk, (size_t)n);
		if (rc)
			goto out;
	}
	if (!b->data) {
		rc = buf_append(b, "", 0);
		if (rc)
			goto out;
	}
out:
	zero(chunk, sizeof(chunk));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A copy of s without leading/trailing whitespace (secret-safe). */
static char *strdup_trim(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return strndup(s, n);
}

/* path, or base_dir/path when path is relative and base_dir is given. */
static fc_err resolve_path(const char *base_dir, const char *path, char **out)
{
	size_t n;

	*out = NULL;
	if (path[0] == '/' || !base_dir || !*base_dir) {
		*out = strdup(path);
		return *out ? FC_OK : FC_ERR_NOMEM;
	}
	n = strlen(base_dir) + 1 + strlen(path) + 1;
	if (n > PATH_MAX_LEN)
		return FC_ERR_TOOBIG;
	*out = malloc(n);
	if (!*out)
		return FC_ERR_NOMEM;
	snprintf(*out, n, "%s/%s", base_dir, path);
	return FC_OK;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (whitespace ignored, padding optional) into a
 * NUL-terminated string. PARSE on any other character or a NUL byte in the
 * output. */
static fc_err b64_decode(const char *in, size_t len, char **out)
{
	unsigned char *o;
	size_t olen = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;

	*out = NULL;
	o = malloc(len / 4 * 3 + 4);
	if (!o)
		return FC_ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[olen] = (unsigned char)(acc >> bits);
			if (o[olen] == 0)
				goto bad;
			olen++;
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 6 || pad > 2)
		goto bad;
	o[olen] = '\0';
	*out = (char *)o;
	return FC_OK;
bad:
	zero(o, len / 4 * 3 + 4);
	free(o);
	return FC_ERR_PARSE;
}

/* ---- release ----------------------------------------------------------- */

static void free_tls(struct http_tls *t)
{
	free((void *)t->ca_file);
	free((void *)t->ca_pem);
	free((void *)t->cert_file);
	free((void *)t->cert_pem);
	free((void *)t->key_file);
	free_secret((char *)t->key_pem);
	memset(t, 0, sizeof(*t));
}

void kube_config_release(struct kube_config *kc)
{
	if (!kc)
		return;
	free(kc->server);
	free_tls(&kc->tls);
	free(kc->ns);
	free(kc->source);
	free_secret(kc->token);
	free(kc->token_file);
	free_secret(kc->cached_token);
	if (kc->lock_ready)
		pthread_mutex_destroy(&kc->lock);
	memset(kc, 0, sizeof(*kc));
}

void kube_config_init(struct kube_config *kc)
{
	memset(kc, 0, sizeof(*kc));
	pthread_mutex_init(&kc->lock, NULL);
	kc->lock_ready = 1;
}

/* ---- YAML document access ---------------------------------------------- */

static yaml_node_t *node(yaml_document_t *d, int id)
{
	return id ? yaml_document_get_node(d, id) : NULL;
}

/* The scalar's text, or NULL when n is not a scalar or is a YAML null. */
static const char *scalar(yaml_node_t *n, size_t *len)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (n->data.scalar.length == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
	     !strcmp(v, "Null") || !strcmp(v, "NULL")))
		return NULL;
	if (len)
		*len = n->data.scalar.length;
	return v;
}

/* Value of key in mapping m, or NULL. */
static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(d, p->key);
		const char *ks = scalar(k, NULL);

		if (ks && !strcmp(ks, key))
			return node(d, p->value);
	}
	return NULL;
}

static const char *map_str(yaml_document_t *d, yaml_node_t *m, const char *key, size_t *len)
{
	return scalar(map_get(d, m, key), len);
}

/* In the sequence under top-level key list ("clusters"), the entry whose
 * name is name; *out its member under field ("cluster"). NOTFOUND if no
 * such entry. */
static fc_err named_entry(yaml_document_t *d, yaml_node_t *root, const char *list, const char *name,
			  const char *field, yaml_node_t **out)
{
	yaml_node_t *seq = map_get(d, root, list);

	*out = NULL;
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return FC_ERR_NOTFOUND;
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node(d, *it);
		const char *n = map_str(d, e, "name", NULL);

		if (n && !strcmp(n, name)) {
			*out = map_get(d, e, field);
			return FC_OK;
		}
	}
	return FC_ERR_NOTFOUND;
}

static int truthy(const char *s)
{
	return s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
		     !strcmp(s, "yes") || !strcmp(s, "on"));
}

/* Zeroes every scalar of the document (tokens, keys) before it is freed. */
static void zero_document(yaml_document_t *d)
{
	for (yaml_node_t *n = d->nodes.start; n && n < d->nodes.top; n++) {
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
			zero(n->data.scalar.value, n->data.scalar.length);
	}
}

static void zero_parser(yaml_parser_t *p)
{
	if (p->buffer.start && p->buffer.end > p->buffer.start)
		zero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start && p->raw_buffer.end > p->raw_buffer.start)
		zero(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

/* A PEM value from FIELD-data (base64) or FIELD (a path). */
static fc_err pem_field(yaml_document_t *d, yaml_node_t *m, const char *field, const char *base_dir,
			const char *what, const char *owner, const char **pem, const char **file,
			char *err, size_t errlen)
{
	char key[64];
	const char *v;
	size_t len = 0;
	char *decoded = NULL, *path = NULL;
	fc_err rc;

	snprintf(key, sizeof(key), "%s-data", field);
	v = map_str(d, m, key, &len);
	if (v) {
		rc = b64_decode(v, len, &decoded);
		if (rc == FC_OK && !strstr(decoded, "-----BEGIN")) {
			free_secret(decoded);
			rc = FC_ERR_PARSE;
		}
		if (rc) {
			if (rc == FC_ERR_PARSE)
				fc_errf(err, errlen, "%s %s: %s is not base64-encoded PEM", what, owner, key);
			return rc;
		}
		*pem = decoded;
		return FC_OK;
	}
	v = map_str(d, m, field, NULL);
	if (v) {
		rc = resolve_path(base_dir, v, &path);
		if (rc) {
			fc_errf(err, errlen, "%s %s: %s: path too long", what, owner, field);
			return rc;
		}
		*file = path;
	}
	return FC_OK;
}

static fc_err parse_cluster(yaml_document_t *d, yaml_node_t *c, const char *name,
			    const char *base_dir, struct kube_config *out, char *err, size_t errlen)
{
	const char *server;
	size_t n;
	fc_err rc;

	if (!c || c->type != YAML_MAPPING_NODE) {
		fc_errf(err, errlen, "cluster %s has no cluster section", name);
		return FC_ERR_INVAL;
	}
	server = map_str(d, c, "server", NULL);
	if (!server || !*server) {
		fc_errf(err, errlen, "cluster %s has no server", name);
		return FC_ERR_INVAL;
	}
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7)) {
		fc_errf(err, errlen, "cluster %s: server %s is not an http(s) URL", name, server);
		return FC_ERR_INVAL;
	}
	if (map_str(d, c, "proxy-url", NULL)) {
		fc_errf(err, errlen, "cluster %s uses proxy-url, which foundry-controller does not support",
			name);
		return FC_ERR_UNSUPPORTED;
	}
	if (map_str(d, c, "tls-server-name", NULL)) {
		fc_errf(err, errlen,
			"cluster %s uses tls-server-name, which foundry-controller does not support", name);
		return FC_ERR_UNSUPPORTED;
	}
	n = strlen(server);
	while (n > 0 && server[n - 1] == '/')
		n--;
	if (n <= strlen(server[4] == 's' ? "https://" : "http://")) {
		fc_errf(err, errlen, "cluster %s: server %s has no host", name, server);
		return FC_ERR_INVAL;
	}
	out->server = strndup(server, n);
	if (!out->server)
		return FC_ERR_NOMEM;
	out->tls.insecure = truthy(map_str(d, c, "insecure-skip-tls-verify", NULL));
	rc = pem_field(d, c, "certificate-authority", base_dir, "cluster", name, &out->tls.ca_pem,
		       &out->tls.ca_file, err, errlen);
	return rc;
}

static fc_err parse_user(yaml_document_t *d, yaml_node_t *u, const char *name, const char *base_dir,
			 struct kube_config *out, char *err, size_t errlen)
{
	const char *v;
	size_t len = 0;
	fc_err rc;

	if (!u)
		return FC_OK; /* "user: {}" or null: anonymous */
	if (u->type != YAML_MAPPING_NODE) {
		fc_errf(err, errlen, "user %s is not a mapping", name);
		return FC_ERR_PARSE;
	}
	if (map_get(d, u, "exec")) {
		fc_errf(err, errlen,
			"user %s uses an exec credential plugin, which foundry-controller does not "
			"support; use a token or client certificate", name);
		return FC_ERR_UNSUPPORTED;
	}
	if (map_get(d, u, "auth-provider")) {
		fc_errf(err, errlen,
			"user %s uses an auth-provider plugin, which foundry-controller does not "
			"support; use a token or client certificate", name);
		return FC_ERR_UNSUPPORTED;
	}
	if (map_str(d, u, "username", NULL) || map_str(d, u, "password", NULL)) {
		fc_errf(err, errlen,
			"user %s uses basic authentication, which foundry-controller does not "
			"support; use a token or client certificate", name);
		return FC_ERR_UNSUPPORTED;
	}
	if (map_get(d, u, "as") || map_get(d, u, "as-groups") || map_get(d, u, "as-uid")) {
		fc_errf(err, errlen,
			"user %s uses impersonation, which foundry-controller does not support", name);
		return FC_ERR_UNSUPPORTED;
	}
	v = map_str(d, u, "token", &len);
	if (v && len) {
		out->token = strdup_trim(v, len);
		if (!out->token)
			return FC_ERR_NOMEM;
	}
	v = map_str(d, u, "tokenFile", NULL);
	if (v && *v) {
		rc = resolve_path(base_dir, v, &out->token_file);
		if (rc) {
			fc_errf(err, errlen, "user %s: tokenFile path too long", name);
			return rc;
		}
	}
	rc = pem_field(d, u, "client-certificate", base_dir, "user", name, &out->tls.cert_pem,
		       &out->tls.cert_file, err, errlen);
	if (rc)
		return rc;
	rc = pem_field(d, u, "client-key", base_dir, "user", name, &out->tls.key_pem,
		       &out->tls.key_file, err, errlen);
	if (rc)
		return rc;
	if ((out->tls.cert_pem || out->tls.cert_file) != (out->tls.key_pem || out->tls.key_file)) {
		fc_errf(err, errlen, "user %s: client-certificate and client-key must be given together",
			name);
		return FC_ERR_INVAL;
	}
	return FC_OK;
}

static fc_err parse_doc(yaml_document_t *d, const char *base_dir, const char *label,
			struct kube_config *out, char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(d);
	yaml_node_t *ctx = NULL, *cl = NULL, *us = NULL;
	const char *cur, *cluster, *user, *ns;
	char src[512];
	fc_err rc;

	if (!root || root->type != YAML_MAPPING_NODE) {
		fc_errf(err, errlen, "%s is not a YAML mapping", label);
		return FC_ERR_PARSE;
	}
	cur = map_str(d, root, "current-context", NULL);
	if (!cur || !*cur) {
		fc_errf(err, errlen, "%s has no current-context", label);
		return FC_ERR_INVAL;
	}
	if (named_entry(d, root, "contexts", cur, "context", &ctx) || !ctx ||
	    ctx->type != YAML_MAPPING_NODE) {
		fc_errf(err, errlen, "%s: context %s not found", label, cur);
		return FC_ERR_INVAL;
	}
	cluster = map_str(d, ctx, "cluster", NULL);
	if (!cluster || !*cluster) {
		fc_errf(err, errlen, "%s: context %s names no cluster", label, cur);
		return FC_ERR_INVAL;
	}
	if (named_entry(d, root, "clusters", cluster, "cluster", &cl)) {
		fc_errf(err, errlen, "%s: cluster %s (of context %s) not found", label, cluster, cur);
		return FC_ERR_INVAL;
	}
	rc = parse_cluster(d, cl, cluster, base_dir, out, err, errlen);
	if (rc)
		return rc;
	user = map_str(d, ctx, "user", NULL);
	if (user && *user) {
		if (named_entry(d, root, "users", user, "user", &us)) {
			fc_errf(err, errlen, "%s: user %s (of context %s) not found", label, user, cur);
			return FC_ERR_INVAL;
		}
		rc = parse_user(d, us, user, base_dir, out, err, errlen);
		if (rc)
			return rc;
	}
	ns = map_str(d, ctx, "namespace", NULL);
	out->ns = strdup(ns && *ns ? ns : "default");
	snprintf(src, sizeof(src), "%s (context %s)", label, cur);
	out->source = strdup(src);
	if (!out->ns || !out->source)
		return FC_ERR_NOMEM;
	return FC_OK;
}

static fc_err parse_labelled(const char *yaml, size_t len, const char *base_dir, const char *label,
			     struct kube_config *out, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int have_parser = 0, have_doc = 0;
	fc_err rc;

	kube_config_init(out);
	if (len > KUBE_CONFIG_MAX) {
		fc_errf(err, errlen, "%s is larger than %u bytes", label, KUBE_CONFIG_MAX);
		rc = FC_ERR_TOOBIG;
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* libyaml 0.2.5's loader fails some allocations without setting
		 * an error (yaml_strdup of a default tag): no error is NOMEM too */
		if (parser.error == YAML_MEMORY_ERROR || parser.error == YAML_NO_ERROR) {
			rc = FC_ERR_NOMEM;
		} else {
			fc_errf(err, errlen, "%s: invalid YAML at line %zu: %s", label,
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "syntax error");
			rc = FC_ERR_PARSE;
		}
		goto out;
	}
	have_doc = 1;
	rc = parse_doc(&doc, base_dir, label, out, err, errlen);
out:
	if (have_doc) {
		zero_document(&doc);
		yaml_document_delete(&doc);
	}
	if (have_parser) {
		zero_parser(&parser);
		yaml_parser_delete(&parser);
	}
	if (rc) {
		if (rc == FC_ERR_NOMEM)
			fc_errf(err, errlen, "%s: out of memory", label);
		kube_config_release(out);
	}
	return rc;
}

fc_err kube_config_parse(const char *yaml, size_t len, const char *base_dir,
			 struct kube_config *out, char *err, size_t errlen)
{
	return parse_labelled(yaml, len, base_dir, "kubeconfig", out, err, errlen);
}

static fc_err load_file(const char *path, struct kube_config *out, char *err, size_t errlen)
{
	struct buf b;
	char *dir = NULL, *slash;
	char label[PATH_MAX_LEN + 16];
	fc_err rc;

	buf_init(&b, KUBE_CONFIG_MAX);
	memset(out, 0, sizeof(*out));
	snprintf(label, sizeof(label), "kubeconfig %s", path);
	rc = read_file(path, KUBE_CONFIG_MAX, &b);
	if (rc) {
		if (rc == FC_ERR_NOTFOUND)
			fc_errf(err, errlen, "%s: no such file", label);
		else if (rc == FC_ERR_TOOBIG)
			fc_errf(err, errlen, "%s is larger than %u bytes", label, KUBE_CONFIG_MAX);
		else if (rc == FC_ERR_NOMEM)
			fc_errf(err, errlen, "%s: out of memory", label);
		else
			fc_errf(err, errlen, "%s: cannot read it", label);
		goto out;
	}
	dir = strdup(path);
	if (!dir) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	rc = parse_labelled(b.data, b.len, dir, label, out, err, errlen);
out:
	free(dir);
	buf_release_secret(&b);
	return rc;
}

/* ---- in-cluster -------------------------------------------------------- */

fc_err kube_config_in_cluster(const char *sa_dir, struct kube_config *out, char *err,
			      size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[PATH_MAX_LEN];
	struct buf b;
	size_t n;
	fc_err rc;

	buf_init(&b, 4096);
	kube_config_init(out);
	if (!sa_dir)
		sa_dir = getenv("FC_SERVICEACCOUNT_DIR");
	if (!sa_dir || !*sa_dir)
		sa_dir = KUBE_CONFIG_SA_DIR;
	if (!host || !*host || !port || !*port) {
		fc_errf(err, errlen,
			"no kubeconfig (--kubeconfig or KUBECONFIG) and not running in a cluster "
			"(KUBERNETES_SERVICE_HOST/PORT unset)");
		rc = FC_ERR_NOTFOUND;
		goto out;
	}
	n = strlen(host) + strlen(port) + 16;
	out->server = malloc(n);
	if (!out->server) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	snprintf(out->server, n, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);

	if ((size_t)snprintf(path, sizeof(path), "%s/token", sa_dir) >= sizeof(path)) {
		rc = FC_ERR_TOOBIG;
		goto out;
	}
	if (access(path, R_OK)) {
		int e = errno;

		fc_errf(err, errlen, "in-cluster: cannot read service account token %s: %s", path,
			strerror(e));
		rc = e == ENOENT ? FC_ERR_NOTFOUND : FC_ERR_IO;
		goto out;
	}
	out->token_file = strdup(path);
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (access(path, R_OK)) {
		int e = errno;

		fc_errf(err, errlen, "in-cluster: cannot read service account CA %s: %s", path,
			strerror(e));
		rc = e == ENOENT ? FC_ERR_NOTFOUND : FC_ERR_IO;
		goto out;
	}
	out->tls.ca_file = strdup(path);
	snprintf(path, sizeof(path), "%s/namespace", sa_dir);
	if (read_file(path, 4096, &b) == FC_OK && b.len)
		out->ns = strdup_trim(b.data, b.len);
	if (!out->ns || !*out->ns) {
		free(out->ns);
		out->ns = strdup("default");
	}
	out->source = strdup("in-cluster service account");
	if (!out->token_file || !out->tls.ca_file || !out->ns || !out->source) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	rc = FC_OK;
out:
	buf_release(&b);
	if (rc)
		kube_config_release(out);
	return rc;
}

fc_err kube_config_load(const char *path, struct kube_config *out, char *err, size_t errlen)
{
	const char *env;
	char first[PATH_MAX_LEN];
	fc_err rc;

	if (err && errlen)
		err[0] = '\0';
	if (path && *path)
		return load_file(path, out, err, errlen);
	env = getenv("KUBECONFIG");
	while (env && *env) {
		const char *colon = strchr(env, ':');
		size_t n = colon ? (size_t)(colon - env) : strlen(env);

		if (n > 0) {
			if (n >= sizeof(first)) {
				fc_errf(err, errlen, "KUBECONFIG: path too long");
				memset(out, 0, sizeof(*out));
				return FC_ERR_TOOBIG;
			}
			memcpy(first, env, n);
			first[n] = '\0';
			return load_file(first, out, err, errlen);
		}
		env = colon ? colon + 1 : NULL;
	}
	rc = kube_config_in_cluster(NULL, out, err, errlen);
	return rc;
}

/* ---- tokens ------------------------------------------------------------ */

/* Reads the token file into *out (trimmed). */
static fc_err read_token_file(const char *path, char **out)
{
	struct buf b;
	fc_err rc;

	*out = NULL;
	buf_init(&b, KUBE_CONFIG_TOKEN_MAX);
	rc = read_file(path, KUBE_CONFIG_TOKEN_MAX, &b);
	if (rc)
		goto out;
	*out = strdup_trim(b.data, b.len);
	if (!*out) {
		rc = FC_ERR_NOMEM;
		goto out;
	}
	if (!**out) {
		free(*out);
		*out = NULL;
		rc = FC_ERR_INVAL;
	}
out:
	buf_release_secret(&b);
	return rc;
}

fc_err kube_config_token(struct kube_config *kc, char **out)
{
	char *fresh = NULL;
	time_t now;
	fc_err rc = FC_OK;

	*out = NULL;
	if (!kc->token_file) {
		if (!kc->token)
			return FC_OK;
		*out = strdup(kc->token);
		return *out ? FC_OK : FC_ERR_NOMEM;
	}
	pthread_mutex_lock(&kc->lock);
	now = mono_s();
	if (!kc->cached_token || kc->force_reread ||
	    now - kc->checked_at >= KUBE_CONFIG_TOKEN_RECHECK_S) {
		rc = read_token_file(kc->token_file, &fresh);
		kc->checked_at = now;
		kc->force_reread = 0;
		if (rc == FC_OK) {
			if (kc->cached_token && !strcmp(kc->cached_token, fresh)) {
				free_secret(fresh);
			} else {
				if (kc->cached_token)
					log_info("bearer token file changed, using the new token",
						 "path", kc->token_file, NULL);
				free_secret(kc->cached_token);
				kc->cached_token = fresh;
			}
			fresh = NULL;
		} else {
			log_warn("cannot read bearer token file", "path", kc->token_file, "err",
				 fc_strerror(rc), NULL);
		}
	}
	if (kc->cached_token) {
		*out = strdup(kc->cached_token);
		rc = *out ? FC_OK : FC_ERR_NOMEM;
	} else if (kc->token) {
		*out = strdup(kc->token);
		rc = *out ? FC_OK : FC_ERR_NOMEM;
	}
	pthread_mutex_unlock(&kc->lock);
	return rc;
}

void kube_config_token_invalidate(struct kube_config *kc)
{
	if (!kc->token_file)
		return;
	pthread_mutex_lock(&kc->lock);
	kc->force_reread = 1;
	pthread_mutex_unlock(&kc->lock);
}
