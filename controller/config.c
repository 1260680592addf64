#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VALUE_MAX 4096        /* longest flag value accepted */
#define REGION_NAME_MAX 64
#define DURATION_HINT "(use e.g. 90s, 5m, 1h)"

/* ---- clouds ------------------------------------------------------------ */

struct cloud {
	const char *name;
	const char *arm;        /* no trailing '/' */
	const char *authority;  /* one trailing '/' */
	const char *audience;   /* one trailing '/' */
};

static const struct cloud clouds[] = {
	[CONFIG_CLOUD_PUBLIC] = { "AzurePublicCloud", "https://management.azure.com",
				  "https://login.microsoftonline.com/",
				  "https://management.azure.com/" },
	[CONFIG_CLOUD_CHINA] = { "AzureChinaCloud", "https://management.chinacloudapi.cn",
				 "https://login.chinacloudapi.cn/",
				 "https://management.chinacloudapi.cn/" },
	[CONFIG_CLOUD_USGOV] = { "AzureUSGovernment", "https://management.usgovcloudapi.net",
				 "https://login.microsoftonline.us/",
				 "https://management.usgovcloudapi.net/" },
};

const char *config_cloud_name(enum config_cloud cloud)
{
	if ((unsigned)cloud >= sizeof(clouds) / sizeof(clouds[0]))
		return "unknown";
	return clouds[cloud].name;
}

static const char *const cmd_names[CONFIG_CMD__COUNT] = {
	[CONFIG_CMD_RUN] = "run",
	[CONFIG_CMD_VERIFY] = "verify",
	[CONFIG_CMD_RENDER] = "render",
	[CONFIG_CMD_VERSION] = "version",
	[CONFIG_CMD_HELP] = "help",
};

const char *config_cmd_name(enum config_cmd cmd)
{
	if ((unsigned)cmd >= CONFIG_CMD__COUNT)
		return "unknown";
	return cmd_names[cmd];
}

/* ---- parser state and error messages ----------------------------------- */

struct flag;

struct parser {
	struct config *cfg;
	char *err;
	size_t errlen;
	unsigned char set[32];  /* per flag: given on the command line or in env */
};

typedef fc_err (*set_fn)(struct parser *p, const struct flag *f, const char *val,
			 const char *src);

struct flag {
	const char *name;   /* long name, without "--" */
	set_fn set;
	size_t off;         /* target field in struct config */
	unsigned cmds;      /* bit per enum config_cmd */
	int arg;            /* setter-specific */
	char shorthand;     /* or 0 */
	unsigned char is_bool;
	unsigned char no_env;
};

/* Writes s to dst as a double-quoted string, escaping what is not
 * printable ASCII and cutting it after 64 bytes, so a message stays on
 * one line whatever the user typed. */
static void quote(char *dst, size_t n, const char *s)
{
	size_t o = 0, i;

	if (n < 8) {
		if (n)
			dst[0] = '\0';
		return;
	}
	dst[o++] = '"';
	for (i = 0; s[i] && o + 8 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 64) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(dst + o, n - o, "\\x%02x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

/* A flag name as typed, for "unknown flag": printable ASCII, at most 64. */
static void sanitize(char *dst, size_t n, const char *s, size_t len)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < len && i < 64 && i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[i] = (c < 0x21 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
}

static fc_err failf(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static fc_err failf(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return FC_ERR_INVAL;
}

/* invalid value "<val>" for <src>: <why> */
static fc_err bad_value(struct parser *p, const char *val, const char *src, const char *why)
{
	char q[300];

	quote(q, sizeof(q), val);
	return failf(p, "invalid value %s for %s: %s", q, src, why);
}

static fc_err replace_str(char **dst, const char *val)
{
	char *s = strdup(val);

	if (!s)
		return FC_ERR_NOMEM;
	free(*dst);
	*dst = s;
	return FC_OK;
}

#define FIELD(p, f, T) ((T *)(void *)((char *)(p)->cfg + (f)->off))

/* ---- value checks ------------------------------------------------------ */

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most max bytes. */
static int dns_label_n(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return s[0] != '-' && s[len - 1] != '-';
}

/* RFC 1123 subdomain: labels joined by '.', at most 253 bytes. */
static int dns_subdomain(const char *s)
{
	size_t len = strlen(s);
	const char *p = s, *dot;

	if (len == 0 || len > 253)
		return 0;
	for (;;) {
		dot = strchr(p, '.');
		if (!dns_label_n(p, dot ? (size_t)(dot - p) : strlen(p), 63))
			return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}

enum str_class { STR_PATH = 0, STR_DNS_LABEL, STR_DNS_SUBDOMAIN };

static fc_err check_str(struct parser *p, const char *val, const char *src, int cls)
{
	switch (cls) {
	case STR_DNS_LABEL:
		if (!dns_label_n(val, strlen(val), 63))
			return bad_value(p, val, src,
					 "not a namespace name (lower case letters, digits and '-', "
					 "at most 63)");
		break;
	case STR_DNS_SUBDOMAIN:
		if (!dns_subdomain(val))
			return bad_value(p, val, src,
					 "not a Kubernetes object name (lower case letters, digits, "
					 "'-' and '.', at most 253)");
		break;
	default:
		break;
	}
	return FC_OK;
}

/* ---- durations --------------------------------------------------------- */

struct unit {
	const char *name;
	uint64_t ns;
};

static const struct unit units[] = {
	{ "ns", 1ull },
	{ "us", 1000ull },
	{ "\xc2\xb5s", 1000ull },  /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ull },  /* U+03BC Greek mu */
	{ "ms", 1000000ull },
	{ "s", 1000000000ull },
	{ "m", 60ull * 1000000000ull },
	{ "h", 3600ull * 1000000000ull },
};

fc_err config_parse_duration(const char *s, int64_t *out_ms, const char **why)
{
	const char *p = s, *u;
	const char *reason = "not a duration " DURATION_HINT;
	uint64_t total = 0, limit = (uint64_t)INT64_MAX;
	int neg = 0;
	size_t i;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*out_ms = 0;
		return FC_OK;
	}
	if (!*p)
		goto bad;
	while (*p) {
		uint64_t v = 0, frac = 0, scale = 1, unit_ns = 0;
		int pre = 0, post = 0;

		while (*p >= '0' && *p <= '9') {
			if (v > (limit - (uint64_t)(*p - '0')) / 10) {
				reason = "too large";
				goto bad;
			}
			v = v * 10 + (uint64_t)(*p++ - '0');
			pre = 1;
		}
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				/* Digits past what int64 can scale are dropped (as Go). */
				if (scale <= UINT64_MAX / 100) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					scale *= 10;
				}
				p++;
				post = 1;
			}
		}
		if (!pre && !post)
			goto bad;
		u = p;
		while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
			p++;
		if (p == u) {
			reason = "missing unit " DURATION_HINT;
			goto bad;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == (size_t)(p - u) &&
			    !memcmp(units[i].name, u, (size_t)(p - u))) {
				unit_ns = units[i].ns;
				break;
			}
		}
		if (!unit_ns) {
			reason = "unknown unit (use ns, us, ms, s, m or h; 90 days is 2160h)";
			goto bad;
		}
		if (v > limit / unit_ns) {
			reason = "too large";
			goto bad;
		}
		v *= unit_ns;
		if (frac) {
			long double f = (long double)frac * ((long double)unit_ns / (long double)scale);

			if (f >= (long double)(limit - v)) {
				reason = "too large";
				goto bad;
			}
			v += (uint64_t)f;
		}
		if (v > limit - total) {
			reason = "too large";
			goto bad;
		}
		total += v;
	}
	if (neg && total) {
		reason = "must not be negative";
		goto bad;
	}
	*out_ms = (int64_t)(total / 1000000u + (total % 1000000u ? 1 : 0));
	return FC_OK;
bad:
	if (why)
		*why = reason;
	return FC_ERR_PARSE;
}

/* ---- setters ----------------------------------------------------------- */

/* Optional string: empty means "not given" (NULL). arg: enum str_class. */
static fc_err set_opt_str(struct parser *p, const struct flag *f, const char *val,
			  const char *src)
{
	char **dst = FIELD(p, f, char *);
	fc_err rc;

	if (!*val) {
		free(*dst);
		*dst = NULL;
		return FC_OK;
	}
	rc = check_str(p, val, src, f->arg);
	if (rc)
		return rc;
	return replace_str(dst, val);
}

/* String with a default: must not be empty. arg: enum str_class. */
static fc_err set_req_str(struct parser *p, const struct flag *f, const char *val,
			  const char *src)
{
	fc_err rc;

	if (!*val)
		return bad_value(p, val, src, "must not be empty");
	rc = check_str(p, val, src, f->arg);
	if (rc)
		return rc;
	return replace_str(FIELD(p, f, char *), val);
}

/* As Go's strconv.ParseBool. */
static int parse_bool(const char *s, int *out)
{
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False" };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i])) {
			*out = 1;
			return 1;
		}
		if (!strcmp(s, f[i])) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

static fc_err set_bool(struct parser *p, const struct flag *f, const char *val,
		       const char *src)
{
	if (!parse_bool(val, FIELD(p, f, int)))
		return bad_value(p, val, src, "use true or false");
	return FC_OK;
}

/* arg: the smallest value accepted, in ms (0 or 1). */
static fc_err set_duration(struct parser *p, const struct flag *f, const char *val,
			   const char *src)
{
	const char *why = NULL;
	int64_t ms;

	if (config_parse_duration(val, &ms, &why))
		return bad_value(p, val, src, why);
	if (ms < f->arg)
		return bad_value(p, val, src, "must be more than 0");
	*FIELD(p, f, int64_t) = ms;
	return FC_OK;
}

static int host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-';
}

static fc_err set_bind(struct parser *p, const struct flag *f, const char *val,
		       const char *src)
{
	struct config_bind *b = FIELD(p, f, struct config_bind);
	struct config_bind nb = { 0 };
	const char *host, *port, *colon;
	size_t hlen, i;
	long n = 0;

	if (!strcmp(val, "0")) {
		nb.enabled = 0;
		goto store;
	}
	nb.enabled = 1;
	if (val[0] == '[') {
		const char *end = strchr(val, ']');

		if (!end || end[1] != ':')
			return bad_value(p, val, src, "want [IPV6]:PORT, e.g. [::1]:8080");
		host = val + 1;
		hlen = (size_t)(end - host);
		port = end + 2;
		if (!hlen)
			return bad_value(p, val, src, "empty IPv6 address in brackets");
		for (i = 0; i < hlen; i++) {
			if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
				return bad_value(p, val, src, "not an IPv6 address in brackets");
		}
	} else {
		colon = strrchr(val, ':');
		if (!colon)
			return bad_value(p, val, src,
					 "want [HOST]:PORT, e.g. :8080 or 127.0.0.1:8080 (0 disables)");
		host = val;
		hlen = (size_t)(colon - val);
		port = colon + 1;
		if (memchr(host, ':', hlen))
			return bad_value(p, val, src, "put an IPv6 address in brackets, e.g. [::1]:8080");
		if (hlen > 253)
			return bad_value(p, val, src, "host name too long");
		for (i = 0; i < hlen; i++) {
			if (!host_char(host[i]))
				return bad_value(p, val, src, "not a host name or IP address");
		}
	}
	if (!*port || strlen(port) > 5)
		return bad_value(p, val, src, "port must be 0-65535 (0 alone disables the server)");
	for (i = 0; port[i]; i++) {
		if (port[i] < '0' || port[i] > '9')
			return bad_value(p, val, src,
					 "port must be 0-65535 (0 alone disables the server)");
		n = n * 10 + (port[i] - '0');
	}
	if (n > 65535)
		return bad_value(p, val, src, "port must be 0-65535 (0 alone disables the server)");
	nb.port = (int)n;
	if (hlen) {
		nb.host = strndup(host, hlen);
		if (!nb.host)
			return FC_ERR_NOMEM;
	}
store:
	nb.addr = strdup(val);
	if (!nb.addr) {
		free(nb.host);
		return FC_ERR_NOMEM;
	}
	free(b->addr);
	free(b->host);
	*b = nb;
	return FC_OK;
}

static fc_err set_validation(struct parser *p, const struct flag *f, const char *val,
			     const char *src)
{
	enum validation_mode *m = FIELD(p, f, enum validation_mode);

	if (!strcasecmp(val, "enforce"))
		*m = VALIDATION_ENFORCE;
	else if (!strcasecmp(val, "warn"))
		*m = VALIDATION_WARN;
	else if (!strcasecmp(val, "off") || !strcasecmp(val, "skip"))
		*m = VALIDATION_SKIP;
	else
		return bad_value(p, val, src, "use enforce, warn or off");
	return FC_OK;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static fc_err set_regions(struct parser *p, const struct flag *f, const char *val,
			  const char *src)
{
	char **v = NULL;
	size_t n = 0, i, len;
	const char *s = val, *e;
	char name[REGION_NAME_MAX + 1], q[100], why[200];
	fc_err rc = FC_OK;

	(void)f;
	v = calloc(CONFIG_MAX_REGIONS, sizeof(*v));
	if (!v)
		return FC_ERR_NOMEM;
	while (*s) {
		e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		while (s < e && isspace((unsigned char)*s))
			s++;
		len = (size_t)(e - s);
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len) {
			int ok = len <= REGION_NAME_MAX && isalpha((unsigned char)s[0]);

			for (i = 0; ok && i < len; i++)
				ok = isalnum((unsigned char)s[i]);
			if (!ok) {
				char tmp[REGION_NAME_MAX + 2];
				size_t tl = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;

				memcpy(tmp, s, tl);
				tmp[tl] = '\0';
				quote(q, sizeof(q), tmp);
				snprintf(why, sizeof(why),
					 "%s is not a region name (use names like eastus2, "
					 "not display names)", q);
				rc = bad_value(p, val, src, why);
				goto out;
			}
			for (i = 0; i < len; i++)
				name[i] = (char)tolower((unsigned char)s[i]);
			name[len] = '\0';
			for (i = 0; i < n && strcmp(v[i], name); i++)
				;
			if (i == n) {
				if (n == CONFIG_MAX_REGIONS) {
					rc = bad_value(p, val, src, "too many regions (at most 64)");
					goto out;
				}
				v[n] = strdup(name);
				if (!v[n]) {
					rc = FC_ERR_NOMEM;
					goto out;
				}
				n++;
			}
		}
		s = *e ? e + 1 : e;
	}
	free_strv(p->cfg->suggest_regions, p->cfg->nsuggest_regions);
	p->cfg->suggest_regions = n ? v : NULL;
	p->cfg->nsuggest_regions = n;
	if (!n)
		free(v);
	v = NULL;
out:
	free_strv(v, n);
	return rc;
}

static fc_err set_log_format(struct parser *p, const struct flag *f, const char *val,
			     const char *src)
{
	(void)f;
	if (log_parse_format(val, &p->cfg->log_format))
		return bad_value(p, val, src, "use text or json");
	return FC_OK;
}

static fc_err set_log_level(struct parser *p, const struct flag *f, const char *val,
			    const char *src)
{
	(void)f;
	if (log_parse_level(val, &p->cfg->log_level))
		return bad_value(p, val, src, "use debug, info, warn or error");
	return FC_OK;
}

static fc_err set_cloud(struct parser *p, const struct flag *f, const char *val,
			const char *src)
{
	char q[300];
	size_t i;

	(void)f;
	for (i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++) {
		if (!strcasecmp(val, clouds[i].name)) {
			p->cfg->azure_cloud = (enum config_cloud)i;
			return FC_OK;
		}
	}
	quote(q, sizeof(q), val);
	return failf(p, "unknown %s %s: use AzurePublicCloud, AzureChinaCloud or AzureUSGovernment",
		     src, q);
}

static fc_err set_output(struct parser *p, const struct flag *f, const char *val,
			 const char *src)
{
	(void)f;
	if (!strcasecmp(val, "table"))
		p->cfg->output = CONFIG_OUTPUT_TABLE;
	else if (!strcasecmp(val, "json"))
		p->cfg->output = CONFIG_OUTPUT_JSON;
	else
		return bad_value(p, val, src, "use table or json");
	return FC_OK;
}

enum { URL_HTTP_ANYWHERE = 1, URL_TRAILING_SLASH = 2 };

/* 127.a.b.c as a dotted-quad literal (not a name such as 127.0.0.1.nip.io). */
static int ipv4_loopback(const char *h, size_t len)
{
	size_t i, parts = 1, digits = 0;
	unsigned v = 0;

	if (len < 4 || strncmp(h, "127.", 4))
		return 0;
	for (i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (!digits || ++parts > 4)
				return 0;
			digits = 0;
			v = 0;
		} else if (h[i] >= '0' && h[i] <= '9') {
			v = v * 10 + (unsigned)(h[i] - '0');
			if (++digits > 3 || v > 255)
				return 0;
		} else {
			return 0;
		}
	}
	return parts == 4 && digits;
}

static int loopback_host(const char *h, size_t len)
{
	return (len == 9 && !strncasecmp(h, "localhost", 9)) || ipv4_loopback(h, len) ||
	       (len == 5 && !strncmp(h, "[::1]", 5));
}

/* A base URL: http(s)://HOST[:PORT][/PATH], stored without trailing '/'
 * (or with exactly one, URL_TRAILING_SLASH). */
static fc_err set_url(struct parser *p, const struct flag *f, const char *val,
		      const char *src)
{
	const char *rest, *end;
	size_t hlen, len, i;
	char *s;
	int http;

	if (!strncasecmp(val, "https://", 8)) {
		http = 0;
		rest = val + 8;
	} else if (!strncasecmp(val, "http://", 7)) {
		http = 1;
		rest = val + 7;
	} else {
		return bad_value(p, val, src, "not a URL (want https://HOST[:PORT][/PATH])");
	}
	for (i = 0; val[i]; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '@')
			return bad_value(p, val, src,
					 "not a base URL (no spaces, query, fragment or user)");
	}
	end = strchr(rest, '/');
	hlen = end ? (size_t)(end - rest) : strlen(rest);
	if (!hlen || rest[0] == ':')
		return bad_value(p, val, src, "URL without a host");
	if (http && !(f->arg & URL_HTTP_ANYWHERE)) {
		/* the host, without the port */
		size_t h = hlen;

		if (rest[0] == '[') {
			const char *rb = memchr(rest, ']', hlen);

			h = rb ? (size_t)(rb - rest) + 1 : hlen;
		} else {
			const char *c = memchr(rest, ':', hlen);

			if (c)
				h = (size_t)(c - rest);
		}
		if (!loopback_host(rest, h))
			return bad_value(p, val, src,
					 "must be https (http only for localhost, 127.0.0.1 or [::1])");
	}
	len = strlen(val);
	while (len && val[len - 1] == '/')
		len--;
	s = malloc(len + 2);
	if (!s)
		return FC_ERR_NOMEM;
	memcpy(s, val, len);
	if (f->arg & URL_TRAILING_SLASH)
		s[len++] = '/';
	s[len] = '\0';
	free(*FIELD(p, f, char *));
	*FIELD(p, f, char *) = s;
	return FC_OK;
}

static fc_err add_file(struct parser *p, const char *val, const char *src)
{
	struct config *cfg = p->cfg;
	char **v, *s;

	if (!*val)
		return bad_value(p, val, src, "empty path");
	s = strdup(val);
	if (!s)
		return FC_ERR_NOMEM;
	v = realloc(cfg->files, (cfg->nfiles + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return FC_ERR_NOMEM;
	}
	v[cfg->nfiles++] = s;
	cfg->files = v;
	return FC_OK;
}

static fc_err set_file(struct parser *p, const struct flag *f, const char *val,
		       const char *src)
{
	(void)f;
	return add_file(p, val, src);
}

/* ---- the flags ---------------------------------------------------------- */

#define RUN (1u << CONFIG_CMD_RUN)
#define VERIFY (1u << CONFIG_CMD_VERIFY)
#define RENDER (1u << CONFIG_CMD_RENDER)
#define OFF(field) offsetof(struct config, field)

static const struct flag flags[] = {
	{ .name = "kubeconfig", .cmds = RUN, .set = set_opt_str, .off = OFF(kubeconfig),
	  .arg = STR_PATH },
	{ .name = "namespace", .cmds = RUN, .set = set_opt_str, .off = OFF(namespace),
	  .arg = STR_DNS_LABEL },
	{ .name = "configmap-name", .cmds = RUN | RENDER, .set = set_req_str,
	  .off = OFF(configmap_name), .arg = STR_DNS_SUBDOMAIN },
	{ .name = "metrics-bind-address", .cmds = RUN, .set = set_bind, .off = OFF(metrics_bind) },
	{ .name = "health-probe-bind-address", .cmds = RUN, .set = set_bind,
	  .off = OFF(health_bind) },
	{ .name = "leader-elect", .cmds = RUN, .set = set_bool, .off = OFF(leader_elect),
	  .is_bool = 1 },
	{ .name = "leader-election-namespace", .cmds = RUN, .set = set_opt_str,
	  .off = OFF(leader_election_namespace), .arg = STR_DNS_LABEL },
	{ .name = "leader-election-id", .cmds = RUN, .set = set_req_str,
	  .off = OFF(leader_election_id), .arg = STR_DNS_SUBDOMAIN },
	{ .name = "resync-period", .cmds = RUN, .set = set_duration, .off = OFF(resync_period_ms) },
	{ .name = "kube-timeout", .cmds = RUN, .set = set_duration, .off = OFF(kube_timeout_ms),
	  .arg = 1 },
	{ .name = "azure-validation", .cmds = RUN | VERIFY, .set = set_validation,
	  .off = OFF(azure_validation) },
	{ .name = "catalog-ttl", .cmds = RUN, .set = set_duration, .off = OFF(catalog_ttl_ms) },
	{ .name = "deployment-ttl", .cmds = RUN, .set = set_duration,
	  .off = OFF(deployment_ttl_ms) },
	{ .name = "suggest-regions", .cmds = RUN | VERIFY, .set = set_regions,
	  .off = OFF(suggest_regions) },
	{ .name = "retirement-warning", .cmds = RUN | VERIFY, .set = set_duration,
	  .off = OFF(retirement_warning_ms) },
	{ .name = "azure-cloud", .cmds = RUN | VERIFY, .set = set_cloud, .off = OFF(azure_cloud) },
	{ .name = "azure-arm-endpoint", .cmds = RUN | VERIFY, .set = set_url,
	  .off = OFF(azure_arm_endpoint) },
	{ .name = "azure-authority-host", .cmds = RUN | VERIFY, .set = set_url,
	  .off = OFF(azure_authority_host), .arg = URL_TRAILING_SLASH },
	{ .name = "azure-imds-endpoint", .cmds = RUN | VERIFY, .set = set_url,
	  .off = OFF(azure_imds_endpoint), .arg = URL_HTTP_ANYWHERE },
	{ .name = "azure-ca-file", .cmds = RUN | VERIFY, .set = set_opt_str,
	  .off = OFF(azure_ca_file), .arg = STR_PATH },
	{ .name = "filename", .shorthand = 'f', .cmds = VERIFY | RENDER, .set = set_file,
	  .off = OFF(files), .no_env = 1 },
	{ .name = "output", .shorthand = 'o', .cmds = VERIFY, .set = set_output,
	  .off = OFF(output) },
	{ .name = "check-deployments", .cmds = VERIFY, .set = set_bool,
	  .off = OFF(check_deployments), .is_bool = 1 },
	{ .name = "log-format", .cmds = RUN | VERIFY | RENDER, .set = set_log_format,
	  .off = OFF(log_format) },
	{ .name = "log-level", .cmds = RUN | VERIFY | RENDER, .set = set_log_level,
	  .off = OFF(log_level) },
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

_Static_assert(NFLAGS <= sizeof(((struct parser *)0)->set), "parser.set too small");

static const struct flag *flag_by_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NFLAGS; i++) {
		if (strlen(flags[i].name) == len && !memcmp(flags[i].name, name, len))
			return &flags[i];
	}
	return NULL;
}

static size_t flag_index(const char *name)
{
	const struct flag *f = flag_by_name(name, strlen(name));

	if (!f)
		FC_BUG("no flag --%s", name);
	return (size_t)(f - flags);
}

static const struct flag *flag_by_short(char c)
{
	size_t i;

	for (i = 0; c && i < NFLAGS; i++) {
		if (flags[i].shorthand == c)
			return &flags[i];
	}
	return NULL;
}

/* FOUNDRY_<NAME>, upper case, '-' as '_'. */
static void env_name(const struct flag *f, char *out, size_t n)
{
	size_t o, i;

	o = (size_t)snprintf(out, n, "FOUNDRY_");
	for (i = 0; f->name[i] && o + 1 < n; i++)
		out[o++] = f->name[i] == '-' ? '_' : (char)toupper((unsigned char)f->name[i]);
	out[o] = '\0';
}

/* Applies one value; marks the flag given unless an empty optional string
 * (which means "not given", so env still applies). */
static fc_err apply(struct parser *p, const struct flag *f, const char *val, const char *src)
{
	fc_err rc;

	if (strlen(val) > VALUE_MAX)
		return bad_value(p, val, src, "too long");
	rc = f->set(p, f, val, src);
	if (rc)
		return rc;
	if (!(f->set == set_opt_str && !*val))
		p->set[f - flags] = 1;
	return FC_OK;
}

static fc_err unknown_flag(struct parser *p, const char *arg, size_t len, const struct flag *f)
{
	char name[80], also[160] = "";
	enum config_cmd cmd = p->cfg->cmd;
	unsigned c;
	size_t o;

	sanitize(name, sizeof(name), arg, len);
	if (!f && len > 2 && arg[1] != '-' && flag_by_name(arg + 1, len - 1))
		snprintf(also, sizeof(also), " (long flags take two dashes: -%s)", name);
	if (f) {
		unsigned left = (unsigned)__builtin_popcount(f->cmds), k = 0;

		o = (size_t)snprintf(also, sizeof(also), " (it is a flag of ");
		for (c = 0; c < CONFIG_CMD__COUNT && o < sizeof(also); c++) {
			if (!(f->cmds & (1u << c)))
				continue;
			k++;
			o += (size_t)snprintf(also + o, sizeof(also) - o, "%s%s", cmd_names[c],
					      k == left ? ")" : k + 1 == left ? " and " : ", ");
		}
	}
	return failf(p, "unknown flag %s for \"%s\"%s", name, cmd_names[cmd], also);
}

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static int lookup_cmd(const char *s, enum config_cmd *out)
{
	unsigned c;

	for (c = 0; c < CONFIG_CMD__COUNT; c++) {
		if (!strcmp(s, cmd_names[c])) {
			*out = (enum config_cmd)c;
			return 1;
		}
	}
	return 0;
}

/* One argument that is not a flag. */
static fc_err positional(struct parser *p, const char *a, const struct flag *prev_bool)
{
	struct config *cfg = p->cfg;
	char q[300];
	int b;

	if (prev_bool && parse_bool(a, &b))
		return failf(p, "unexpected argument \"%s\" after --%s: write --%s=%s",
			     a, prev_bool->name, prev_bool->name, a);
	switch (cfg->cmd) {
	case CONFIG_CMD_VERIFY:
	case CONFIG_CMD_RENDER:
		return add_file(p, a, "path");
	default:
		quote(q, sizeof(q), a);
		return failf(p, "unexpected argument %s for \"%s\"", q, cmd_names[cfg->cmd]);
	}
}

static fc_err parse_args(struct parser *p, int argc, const char *const *argv, int *help_out)
{
	struct config *cfg = p->cfg;
	const struct flag *f, *prev_bool = NULL;
	const char *a, *val, *eq;
	char src[80];
	int i = 1, explicit_cmd = 0, flags_done = 0;
	fc_err rc;

	*help_out = 0;
	if (argc > 1 && argv[1][0] != '-') {
		if (!lookup_cmd(argv[1], &cfg->cmd)) {
			char q[300];

			quote(q, sizeof(q), argv[1]);
			return failf(p, "unknown subcommand %s (use run, verify, render, "
				     "version or help)", q);
		}
		explicit_cmd = 1;
		i = 2;
	} else if (argc > 1 && !strcmp(argv[1], "--version")) {
		cfg->cmd = CONFIG_CMD_VERSION;
		explicit_cmd = 1;
		i = 2;
	}
	if (cfg->cmd == CONFIG_CMD_HELP) {
		cfg->help = 1;
		/* help [COMMAND] */
		if (i < argc && argv[i][0] != '-') {
			if (!lookup_cmd(argv[i], &cfg->cmd)) {
				char q[300];

				quote(q, sizeof(q), argv[i]);
				return failf(p, "unknown subcommand %s (use run, verify, render, "
					     "version or help)", q);
			}
			i++;
		}
		if (i < argc && !is_help(argv[i])) {
			char q[300];

			quote(q, sizeof(q), argv[i]);
			return failf(p, "unexpected argument %s for \"help\"", q);
		}
		*help_out = 1;
		return FC_OK;
	}
	for (; i < argc; i++) {
		const struct flag *was_bool = prev_bool;

		a = argv[i];
		prev_bool = NULL;
		if (flags_done || a[0] != '-' || a[1] == '\0') {
			rc = positional(p, a, was_bool);
			if (rc)
				return rc;
			continue;
		}
		if (!strcmp(a, "--")) {
			flags_done = 1;
			continue;
		}
		if (is_help(a)) {
			cfg->help = 1;
			if (!explicit_cmd)
				cfg->cmd = CONFIG_CMD_HELP;
			*help_out = 1;
			return FC_OK;
		}
		if (a[1] == '-') {
			size_t nlen;

			eq = strchr(a + 2, '=');
			nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			f = flag_by_name(a + 2, nlen);
			if (!f || !(f->cmds & (1u << cfg->cmd)))
				return unknown_flag(p, a, eq ? (size_t)(eq - a) : strlen(a), f);
			snprintf(src, sizeof(src), "--%s", f->name);
			val = eq ? eq + 1 : NULL;
		} else {
			f = flag_by_short(a[1]);
			if (!f && a[2]) {
				eq = strchr(a, '=');
				return unknown_flag(p, a, eq ? (size_t)(eq - a) : strlen(a), NULL);
			}
			if (!f || !(f->cmds & (1u << cfg->cmd)))
				return unknown_flag(p, a, 2, f);
			snprintf(src, sizeof(src), "-%c", a[1]);
			val = a[2] ? a + 2 + (a[2] == '=') : NULL;
		}
		if (!val && f->is_bool) {
			val = "true";
			prev_bool = f;
		} else if (!val) {
			if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
				return failf(p, "flag %s needs a value", src);
			val = argv[++i];
		}
		rc = apply(p, f, val, src);
		if (rc)
			return rc;
	}
	return FC_OK;
}

static fc_err parse_env(struct parser *p, config_getenv_fn getenv_fn)
{
	struct config *cfg = p->cfg;
	unsigned bit = 1u << cfg->cmd;
	const struct flag *f;
	const char *v;
	char name[80];
	size_t i;
	fc_err rc;

	if (!getenv_fn)
		return FC_OK;
	for (i = 0; i < NFLAGS; i++) {
		f = &flags[i];
		if (!(f->cmds & bit) || f->no_env || p->set[i])
			continue;
		env_name(f, name, sizeof(name));
		v = getenv_fn(name);
		if (!v || !*v)
			continue;
		rc = apply(p, f, v, name);
		if (rc)
			return rc;
	}
	if (cfg->cmd == CONFIG_CMD_RUN && !cfg->kubeconfig) {
		v = getenv_fn("KUBECONFIG");
		if (v && *v) {
			rc = replace_str(&cfg->kubeconfig, v);
			if (rc)
				return rc;
		}
	}
	f = &flags[flag_index("azure-authority-host")];
	if ((f->cmds & bit) && !p->set[f - flags]) {
		v = getenv_fn("AZURE_AUTHORITY_HOST");
		if (v && *v) {
			rc = apply(p, f, v, "AZURE_AUTHORITY_HOST");
			if (rc)
				return rc;
		}
	}
	return FC_OK;
}

/* The cloud's endpoints where no override was given. */
static fc_err derive(struct parser *p)
{
	struct config *cfg = p->cfg;
	const struct cloud *c = &clouds[cfg->azure_cloud];
	fc_err rc;

	if (!p->set[flag_index("azure-arm-endpoint")]) {
		rc = replace_str(&cfg->azure_arm_endpoint, c->arm);
		if (rc)
			return rc;
	}
	if (!p->set[flag_index("azure-authority-host")]) {
		rc = replace_str(&cfg->azure_authority_host, c->authority);
		if (rc)
			return rc;
	}
	return replace_str(&cfg->azure_arm_audience, c->audience);
}

fc_err config_init(struct config *cfg)
{
	fc_err rc = FC_ERR_NOMEM;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cmd = CONFIG_CMD_RUN;
	cfg->leader_elect = 0;
	cfg->resync_period_ms = 10LL * 3600 * 1000;
	cfg->kube_timeout_ms = 30LL * 1000;
	cfg->azure_validation = VALIDATION_ENFORCE;
	cfg->catalog_ttl_ms = 3600LL * 1000;
	cfg->deployment_ttl_ms = 5LL * 60 * 1000;
	cfg->retirement_warning_ms = 2160LL * 3600 * 1000;
	cfg->azure_cloud = CONFIG_CLOUD_PUBLIC;
	cfg->output = CONFIG_OUTPUT_TABLE;
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->log_level = LOG_INFO;
	cfg->metrics_bind.port = 8080;
	cfg->metrics_bind.enabled = 1;
	cfg->health_bind.port = 8081;
	cfg->health_bind.enabled = 1;
	if (!(cfg->configmap_name = strdup(CONFIG_DEFAULT_CONFIGMAP)) ||
	    !(cfg->leader_election_id = strdup(CONFIG_DEFAULT_LEADER_ELECTION_ID)) ||
	    !(cfg->metrics_bind.addr = strdup(":8080")) ||
	    !(cfg->health_bind.addr = strdup(":8081")) ||
	    !(cfg->azure_arm_endpoint = strdup(clouds[CONFIG_CLOUD_PUBLIC].arm)) ||
	    !(cfg->azure_authority_host = strdup(clouds[CONFIG_CLOUD_PUBLIC].authority)) ||
	    !(cfg->azure_arm_audience = strdup(clouds[CONFIG_CLOUD_PUBLIC].audience)) ||
	    !(cfg->azure_imds_endpoint = strdup(CONFIG_DEFAULT_IMDS_ENDPOINT)))
		goto out;
	rc = FC_OK;
out:
	if (rc)
		config_release(cfg);
	return rc;
}

fc_err config_parse(int argc, const char *const *argv, config_getenv_fn getenv_fn,
		    struct config *cfg, char *errbuf, size_t errlen)
{
	struct parser p;
	int help = 0;
	fc_err rc;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.err = errbuf;
	p.errlen = errlen;
	if (errlen)
		errbuf[0] = '\0';
	rc = config_init(cfg);
	if (rc)
		goto out;
	rc = parse_args(&p, argc, argv, &help);
	if (rc || help)
		goto out;
	rc = parse_env(&p, getenv_fn);
	if (rc)
		goto out;
	if ((cfg->cmd == CONFIG_CMD_VERIFY || cfg->cmd == CONFIG_CMD_RENDER) && !cfg->nfiles) {
		rc = failf(&p, "\"%s\" needs at least one manifest: -f PATH (a YAML file or a "
			   "directory)", cmd_names[cfg->cmd]);
		goto out;
	}
	rc = derive(&p);
out:
	if (rc) {
		if (rc == FC_ERR_NOMEM && errlen)
			snprintf(errbuf, errlen, "out of memory");
		config_release(cfg);
	}
	return rc;
}

void config_release(struct config *cfg)
{
	free(cfg->kubeconfig);
	free(cfg->namespace);
	free(cfg->configmap_name);
	free(cfg->metrics_bind.addr);
	free(cfg->metrics_bind.host);
	free(cfg->health_bind.addr);
	free(cfg->health_bind.host);
	free(cfg->leader_election_namespace);
	free(cfg->leader_election_id);
	free_strv(cfg->suggest_regions, cfg->nsuggest_regions);
	free(cfg->azure_arm_endpoint);
	free(cfg->azure_authority_host);
	free(cfg->azure_arm_audience);
	free(cfg->azure_imds_endpoint);
	free(cfg->azure_ca_file);
	free_strv(cfg->files, cfg->nfiles);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- help --------------------------------------------------------------- */

#define U_ENV \
	"Every flag --NAME can also be set in the environment as FOUNDRY_<NAME>\n" \
	"(upper case, '-' as '_', e.g. FOUNDRY_CATALOG_TTL); the command line wins.\n" \
	"Durations are Go-style: 90s, 5m, 1h30m, 2160h.\n"

#define U_KUBE \
	"\nKubernetes:\n" \
	"  --kubeconfig PATH\n" \
	"      kubeconfig file. Default: $KUBECONFIG, else the in-cluster service\n" \
	"      account. Env FOUNDRY_KUBECONFIG.\n" \
	"  --namespace NAME\n" \
	"      Watch only this namespace. Default: all namespaces.\n" \
	"      Env FOUNDRY_NAMESPACE.\n" \
	"  --configmap-name NAME\n" \
	"      ConfigMap written for models without spec.configMap.\n" \
	"      Default llm-config. Env FOUNDRY_CONFIGMAP_NAME.\n" \
	"  --resync-period DURATION\n" \
	"      Re-check every object this often (0: never). Default 10h.\n" \
	"      Env FOUNDRY_RESYNC_PERIOD.\n" \
	"  --kube-timeout DURATION\n" \
	"      Timeout of one API server request (not watches). Default 30s.\n" \
	"      Env FOUNDRY_KUBE_TIMEOUT.\n" \
	"  --leader-elect[=true|false]\n" \
	"      Elect a leader (a Lease) so that one replica works at a time.\n" \
	"      Default false. Env FOUNDRY_LEADER_ELECT.\n" \
	"  --leader-election-namespace NAME\n" \
	"      Namespace of the Lease. Default: the controller's own namespace.\n" \
	"      Env FOUNDRY_LEADER_ELECTION_NAMESPACE.\n" \
	"  --leader-election-id NAME\n" \
	"      Name of the Lease. Default foundry-controller-leader.\n" \
	"      Env FOUNDRY_LEADER_ELECTION_ID.\n" \
	"\nServers ([HOST]:PORT; 0 disables the server):\n" \
	"  --metrics-bind-address ADDR\n" \
	"      Prometheus /metrics. Default :8080. Env FOUNDRY_METRICS_BIND_ADDRESS.\n" \
	"  --health-probe-bind-address ADDR\n" \
	"      /healthz and /readyz. Default :8081.\n" \
	"      Env FOUNDRY_HEALTH_PROBE_BIND_ADDRESS.\n"

#define U_VALIDATION \
	"  --azure-validation enforce|warn|off\n" \
	"      For models without spec.validation: enforce (publish only what Azure\n" \
	"      offers), warn (publish and report) or off (do not ask Azure).\n" \
	"      Default enforce. Env FOUNDRY_AZURE_VALIDATION.\n"

#define U_CACHE \
	"  --catalog-ttl DURATION\n" \
	"      How long a region's model catalog is cached (0: no cache).\n" \
	"      Default 1h. Env FOUNDRY_CATALOG_TTL.\n" \
	"  --deployment-ttl DURATION\n" \
	"      How long accounts and deployments are cached (0: no cache).\n" \
	"      Default 5m. Env FOUNDRY_DEPLOYMENT_TTL.\n"

#define U_SUGGEST \
	"  --suggest-regions REGION,...\n" \
	"      Regions whose catalogs are searched when a model is not offered in\n" \
	"      its account's region (e.g. eastus2,swedencentral). Default: none.\n" \
	"      Env FOUNDRY_SUGGEST_REGIONS.\n" \
	"  --retirement-warning DURATION\n" \
	"      Report a model as Deprecated this long before its retirement date.\n" \
	"      Default 2160h (90 days). Env FOUNDRY_RETIREMENT_WARNING.\n"

#define U_CLOUD \
	"  --azure-cloud NAME\n" \
	"      AzurePublicCloud, AzureChinaCloud or AzureUSGovernment: sets the ARM\n" \
	"      endpoint and the authority host. Default AzurePublicCloud.\n" \
	"      Env FOUNDRY_AZURE_CLOUD.\n" \
	"  --azure-arm-endpoint URL\n" \
	"      ARM base URL. Default: the cloud's (https://management.azure.com).\n" \
	"      Env FOUNDRY_AZURE_ARM_ENDPOINT.\n" \
	"  --azure-authority-host URL\n" \
	"      Entra ID base URL. Default: $AZURE_AUTHORITY_HOST, else the cloud's\n" \
	"      (https://login.microsoftonline.com/). Env FOUNDRY_AZURE_AUTHORITY_HOST.\n" \
	"  --azure-imds-endpoint URL\n" \
	"      Managed identity (IMDS) base URL. Default http://169.254.169.254.\n" \
	"      Env FOUNDRY_AZURE_IMDS_ENDPOINT.\n" \
	"  --azure-ca-file PATH\n" \
	"      Extra CA bundle (PEM) trusted for Azure. Default: system CAs only.\n" \
	"      Env FOUNDRY_AZURE_CA_FILE.\n" \
	"  Credentials: AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET, or\n" \
	"  + AZURE_FEDERATED_TOKEN_FILE (workload identity), else managed identity\n" \
	"  (AZURE_CLIENT_ID picks a user-assigned one).\n"

#define U_LOG \
	"\nLogging (to stderr):\n" \
	"  --log-format text|json\n" \
	"      Default text. Env FOUNDRY_LOG_FORMAT.\n" \
	"  --log-level debug|info|warn|error\n" \
	"      Default info. Env FOUNDRY_LOG_LEVEL.\n"

#define U_HELP \
	"  -h, --help\n" \
	"      Print this help.\n"

#define U_RUN_FLAGS \
	U_KUBE \
	"\nAzure:\n" \
	U_VALIDATION U_CACHE U_SUGGEST U_CLOUD U_LOG \
	"\nOther:\n" U_HELP

static const char usage_run[] =
	"Usage: foundry-controller [run] [flags]\n"
	"\n"
	"Runs the controller: watches FoundryAccount and FoundryModel objects,\n"
	"checks every model against Azure and keeps the llm-config ConfigMap of\n"
	"each namespace correct (only its own keys, in one write).\n"
	"\n"
	U_ENV
	U_RUN_FLAGS;

static const char usage_verify[] =
	"Usage: foundry-controller verify -f PATH... [-o table|json] [flags]\n"
	"\n"
	"Reads FoundryAccount and FoundryModel manifests (YAML files or\n"
	"directories, multi-document) and checks every model against Azure as the\n"
	"controller would. One row per model on stdout: NAMESPACE, NAME, MODEL,\n"
	"VERSION, SKU, ACCOUNT, REGION, VERDICT, REASON, HINT.\n"
	"Exit 0: all available; 1: some unavailable; 2: usage or Azure error, or\n"
	"an invalid manifest.\n"
	"\n"
	U_ENV
	"\nInput and output:\n"
	"  -f, --filename PATH\n"
	"      A manifest file or a directory of them; repeat for more. Paths may\n"
	"      also be given as arguments, before or after the flags.\n"
	"  -o, --output table|json\n"
	"      table, or one JSON object per line. Default table.\n"
	"      Env FOUNDRY_OUTPUT.\n"
	"  --check-deployments[=true|false]\n"
	"      Also check that each deployment exists and succeeded (off by default:\n"
	"      a pre-deploy gate runs before the deployment exists).\n"
	"      Default false. Env FOUNDRY_CHECK_DEPLOYMENTS.\n"
	"\nAzure:\n"
	U_VALIDATION U_SUGGEST U_CLOUD U_LOG
	"\nOther:\n" U_HELP;

static const char usage_render[] =
	"Usage: foundry-controller render -f PATH... [flags]\n"
	"\n"
	"Prints the ConfigMap(s) that the FoundryAccount and FoundryModel\n"
	"manifests in PATH produce (no cluster needed), for review in a pull\n"
	"request.\n"
	"\n"
	U_ENV
	"\nInput:\n"
	"  -f, --filename PATH\n"
	"      A manifest file or a directory of them; repeat for more. Paths may\n"
	"      also be given as arguments, before or after the flags.\n"
	"  --configmap-name NAME\n"
	"      ConfigMap for models without spec.configMap.\n"
	"      Default llm-config. Env FOUNDRY_CONFIGMAP_NAME.\n"
	U_LOG
	"\nOther:\n" U_HELP;

static const char usage_version[] =
	"Usage: foundry-controller version\n"
	"\n"
	"Prints the version of foundry-controller and of the libraries it uses.\n"
	"\nFlags:\n" U_HELP;

static const char usage_top[] =
	"foundry-controller: keeps the llm-config ConfigMap in step with\n"
	"FoundryAccount and FoundryModel objects, checked against Azure AI Foundry.\n"
	"\n"
	"Usage:\n"
	"  foundry-controller [run] [flags]      run the controller (the default)\n"
	"  foundry-controller verify -f PATH...  check manifests against Azure\n"
	"  foundry-controller render -f PATH...  print the ConfigMap they produce\n"
	"  foundry-controller version            print the version\n"
	"  foundry-controller help [COMMAND]     print this help, or a command's\n"
	"\n"
	"Run 'foundry-controller COMMAND --help' for the flags of a command.\n"
	"\n"
	U_ENV
	"\nThe flags of run follow.\n"
	U_RUN_FLAGS;

const char *config_usage(enum config_cmd cmd)
{
	switch (cmd) {
	case CONFIG_CMD_RUN:
		return usage_run;
	case CONFIG_CMD_VERIFY:
		return usage_verify;
	case CONFIG_CMD_RENDER:
		return usage_render;
	case CONFIG_CMD_VERSION:
		return usage_version;
	default:
		return usage_top;
	}
}
