#include "kube_client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "log.h"

#ifndef FC_VERSION
#define FC_VERSION "0.0.0-dev"
#endif

#define URL_MAX (16u * 1024)
#define WATCH_DEFAULT_TIMEOUT_S 300L
/* the client gives the server this long past timeoutSeconds to end a watch */
#define WATCH_GRACE_S 30L
#define AUTH_HEADER_MAX (KUBE_CONFIG_TOKEN_MAX + 32)

struct kube_client {
	struct http_transport *t;
	struct kube_config *cfg;
	long timeout_ms;
	size_t max_body;
};

fc_err kube_client_new(struct http_transport *t, struct kube_config *cfg,
		       struct kube_client **out)
{
	struct kube_client *kc;

	*out = NULL;
	if (!t || !cfg || !cfg->server)
		return FC_ERR_INVAL;
	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return FC_ERR_NOMEM;
	kc->t = t;
	kc->cfg = cfg;
	kc->timeout_ms = KUBE_CLIENT_TIMEOUT_MS;
	kc->max_body = KUBE_CLIENT_MAX_BODY;
	*out = kc;
	return FC_OK;
}

void kube_client_free(struct kube_client *kc)
{
	free(kc);
}

void kube_client_set_limits(struct kube_client *kc, long timeout_ms, size_t max_body)
{
	kc->timeout_ms = timeout_ms > 0 ? timeout_ms : KUBE_CLIENT_TIMEOUT_MS;
	kc->max_body = max_body ? max_body : KUBE_CLIENT_MAX_BODY;
}

struct kube_config *kube_client_config(struct kube_client *kc)
{
	return kc->cfg;
}

/* ---- paths ------------------------------------------------------------- */

static int bad_segment(const char *s)
{
	return !*s || strpbrk(s, "/?#% \t\r\n") != NULL;
}

fc_err kube_path(char *out, size_t outlen, const char *group, const char *version, const char *ns,
		 const char *plural, const char *name, const char *subresource)
{
	size_t n = 0;
	int w;

#define PART(...)                                                     \
	do {                                                          \
		w = snprintf(out + n, outlen - n, __VA_ARGS__);       \
		if (w < 0 || (size_t)w >= outlen - n)                 \
			goto toobig;                                  \
		n += (size_t)w;                                       \
	} while (0)

	if (!out || !outlen)
		return FC_ERR_INVAL;
	out[0] = '\0';
	if (!version || bad_segment(version) || !plural || bad_segment(plural) ||
	    (group && *group && bad_segment(group)) || (ns && *ns && bad_segment(ns)) ||
	    (name && bad_segment(name)) || (subresource && bad_segment(subresource)))
		return FC_ERR_INVAL;
	if (group && *group)
		PART("/apis/%s/%s", group, version);
	else
		PART("/api/%s", version);
	if (ns && *ns)
		PART("/namespaces/%s", ns);
	PART("/%s", plural);
	if (name)
		PART("/%s", name);
	if (subresource) {
		if (!name)
			goto inval;
		PART("/%s", subresource);
	}
	return FC_OK;
toobig:
	out[0] = '\0';
	return FC_ERR_TOOBIG;
inval:
	out[0] = '\0';
	return FC_ERR_INVAL;
#undef PART
}

fc_err kube_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	fc_err rc;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			rc = buf_append(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			rc = buf_append(b, e, 3);
		}
		if (rc)
			return rc;
	}
	return FC_OK;
}

/* ---- status ------------------------------------------------------------ */

static void status_reset(struct kube_status *st)
{
	if (!st)
		return;
	st->http_status = 0;
	st->reason[0] = '\0';
	st->message[0] = '\0';
	st->retry_after_s = -1;
}

static void copy_printable(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[j] = '\0';
}

/* Fills st from an error response: a Status object, or the raw body. */
static void status_from_response(struct kube_status *st, const struct http_response *resp)
{
	cJSON *root = NULL;
	const char *s;
	int64_t ra;

	if (!st)
		return;
	st->http_status = resp->status;
	st->retry_after_s = http_retry_after_seconds(resp->retry_after, (long)time(NULL));
	if (resp->body.len && json_parse(resp->body.data, resp->body.len, &root) == FC_OK &&
	    !strcmp(json_str_or(root, "kind", ""), "Status")) {
		s = json_str_or(root, "message", "");
		copy_printable(st->message, sizeof(st->message), s, strlen(s));
		s = json_str_or(root, "reason", "");
		copy_printable(st->reason, sizeof(st->reason), s, strlen(s));
		if (st->retry_after_s < 0 &&
		    json_get_int64(root, "details.retryAfterSeconds", &ra) == FC_OK && ra >= 0)
			st->retry_after_s = ra > 86400 ? 86400 : (long)ra;
	} else if (resp->body.len) {
		copy_printable(st->message, sizeof(st->message), resp->body.data,
			       resp->body.len > 200 ? 200 : resp->body.len);
	}
	cJSON_Delete(root);
}

/* The error for resp's HTTP status: st gets the status code, and for an
 * error status what status_from_response() reads from the body. */
static fc_err status_check(struct kube_status *st, const struct http_response *resp)
{
	fc_err rc = fc_err_from_http(resp->status);

	if (rc)
		status_from_response(st, resp);
	else if (st)
		st->http_status = resp->status;
	return rc;
}

/* ---- requests ---------------------------------------------------------- */

struct call {
	const char *method;
	const char *path;            /* with query */
	const char *content_type;    /* NULL without a body */
	const char *body;
	size_t body_len;
	long timeout_ms;
	http_data_fn on_data;
	void *ud;
	const volatile int *cancel;
};

static fc_err build_url(struct kube_client *kc, const char *path, struct buf *url)
{
	if (!path || path[0] != '/')
		return FC_ERR_INVAL;
	if (buf_append_str(url, kc->cfg->server) || buf_append_str(url, path))
		return FC_ERR_TOOBIG;
	return FC_OK;
}

/* One HTTP exchange with the bearer token; retried once after a 401 when
 * the token comes from a file (it may have rotated). resp is filled
 * whatever the status. */
static fc_err perform(struct kube_client *kc, const struct call *c, struct http_response *resp,
		      struct kube_status *st)
{
	struct buf url, auth, ctype;
	const char *headers[6];
	struct http_request req;
	char *token = NULL;
	int attempt, nh;
	fc_err rc;

	buf_init(&url, URL_MAX);
	buf_init(&auth, AUTH_HEADER_MAX);
	buf_init(&ctype, 256);
	rc = build_url(kc, c->path, &url);
	if (rc)
		goto out;
	if (c->content_type) {
		rc = buf_appendf(&ctype, "Content-Type: %s", c->content_type);
		if (rc)
			goto out;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		buf_release_secret(&auth);
		kube_config_token_free(token);
		token = NULL;
		rc = kube_config_token(kc->cfg, &token);
		if (rc) {
			if (st)
				snprintf(st->message, sizeof(st->message), "cannot read bearer token: %s",
					 fc_strerror(rc));
			goto out;
		}
		nh = 0;
		headers[nh++] = "Accept: application/json";
		headers[nh++] = "User-Agent: foundry-controller/" FC_VERSION;
		if (c->content_type)
			headers[nh++] = ctype.data;
		if (token) {
			rc = buf_append_str(&auth, "Authorization: Bearer ");
			if (!rc)
				rc = buf_append_str(&auth, token);
			if (rc)
				goto out;
			headers[nh++] = auth.data;
		}
		headers[nh] = NULL;

		memset(&req, 0, sizeof(req));
		req.method = c->method;
		req.url = url.data;
		req.headers = headers;
		req.body = c->body;
		req.body_len = c->body_len;
		req.timeout_ms = c->timeout_ms;
		req.max_body = kc->max_body;
		req.tls = &kc->cfg->tls;
		req.on_data = c->on_data;
		req.ud = c->ud;
		req.cancel = c->cancel;
		rc = http_do(kc->t, &req, resp);
		if (rc || resp->status != 401 || !kc->cfg->token_file || attempt > 0)
			break;
		log_debug("401 from the API server, re-reading the token", "path", c->path, NULL);
		kube_config_token_invalidate(kc->cfg);
	}
	if (rc && st) {
		st->http_status = resp->status;
		snprintf(st->message, sizeof(st->message), "%s",
			 resp->error[0] ? resp->error : fc_strerror(rc));
	}
out:
	kube_config_token_free(token);
	buf_release_secret(&auth);
	buf_release(&ctype);
	buf_release(&url);
	return rc;
}

/* A whole request/response with a JSON result. */
static fc_err call_json(struct kube_client *kc, const struct call *c, cJSON **out,
			struct kube_status *st)
{
	struct http_response resp;
	fc_err rc;

	if (out)
		*out = NULL;
	status_reset(st);
	http_response_init(&resp);
	rc = perform(kc, c, &resp, st);
	if (rc)
		goto out;
	rc = status_check(st, &resp);
	if (rc)
		goto out;
	if (out && resp.body.len) {
		rc = json_parse(resp.body.data, resp.body.len, out);
		if (rc && st)
			snprintf(st->message, sizeof(st->message), "response is not valid JSON");
	}
out:
	http_response_release(&resp);
	return rc;
}

static fc_err simple(struct kube_client *kc, const char *method, const char *path,
		     const char *content_type, const char *body, cJSON **out,
		     struct kube_status *st)
{
	struct call c = {
		.method = method,
		.path = path,
		.content_type = body ? content_type : NULL,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = kc->timeout_ms,
	};

	return call_json(kc, &c, out, st);
}

fc_err kube_get(struct kube_client *kc, const char *path, cJSON **out, struct kube_status *st)
{
	return simple(kc, "GET", path, NULL, NULL, out, st);
}

fc_err kube_merge_patch(struct kube_client *kc, const char *path, const char *json, cJSON **out,
			struct kube_status *st)
{
	return simple(kc, "PATCH", path, "application/merge-patch+json", json, out, st);
}

fc_err kube_json_patch(struct kube_client *kc, const char *path, const char *json, cJSON **out,
		       struct kube_status *st)
{
	return simple(kc, "PATCH", path, "application/json-patch+json", json, out, st);
}

fc_err kube_update(struct kube_client *kc, const char *path, const char *json, cJSON **out,
		   struct kube_status *st)
{
	return simple(kc, "PUT", path, "application/json", json, out, st);
}

fc_err kube_update_status(struct kube_client *kc, const char *path_to_status, const char *json,
			  cJSON **out, struct kube_status *st)
{
	return simple(kc, "PUT", path_to_status, "application/json", json, out, st);
}

fc_err kube_patch_status(struct kube_client *kc, const char *path_to_status, const char *json,
			 cJSON **out, struct kube_status *st)
{
	return simple(kc, "PATCH", path_to_status, "application/merge-patch+json", json, out, st);
}

fc_err kube_create(struct kube_client *kc, const char *path, const char *json, cJSON **out,
		   struct kube_status *st)
{
	return simple(kc, "POST", path, "application/json", json, out, st);
}

fc_err kube_delete(struct kube_client *kc, const char *path, struct kube_status *st)
{
	return simple(kc, "DELETE", path, NULL, NULL, NULL, st);
}

fc_err kube_apply(struct kube_client *kc, const char *path, const char *body,
		  const char *field_manager, int force, cJSON **out, struct kube_status *st)
{
	struct buf p;
	fc_err rc;

	if (out)
		*out = NULL;
	if (!body || !field_manager || !*field_manager || !path || strchr(path, '?'))
		return FC_ERR_INVAL;
	buf_init(&p, URL_MAX);
	rc = buf_append_str(&p, path);
	if (!rc)
		rc = buf_append_str(&p, "?fieldManager=");
	if (!rc)
		rc = kube_url_escape(&p, field_manager);
	if (!rc && force)
		rc = buf_append_str(&p, "&force=true");
	if (!rc)
		rc = simple(kc, "PATCH", p.data, "application/apply-patch+yaml", body, out, st);
	buf_release(&p);
	return rc;
}

/* ---- lists ------------------------------------------------------------- */

/* fn may take the page (*page = NULL). */
typedef fc_err (*page_take_fn)(void *ud, cJSON **page);

static fc_err list_pages(struct kube_client *kc, const char *path_query, long page_size,
			 page_take_fn fn, void *ud, struct kube_status *st)
{
	struct buf path;
	char *cont = NULL;
	cJSON *page = NULL;
	const char *next;
	unsigned long pages = 0;
	fc_err rc;

	if (!path_query)
		return FC_ERR_INVAL;
	if (page_size <= 0)
		page_size = KUBE_LIST_PAGE_SIZE;
	buf_init(&path, URL_MAX);
	for (;;) {
		buf_reset(&path);
		rc = buf_appendf(&path, "%s%slimit=%ld", path_query, strchr(path_query, '?') ? "&" : "?",
				 page_size);
		if (!rc && cont) {
			rc = buf_append_str(&path, "&continue=");
			if (!rc)
				rc = kube_url_escape(&path, cont);
		}
		if (rc)
			goto out;
		rc = kube_get(kc, path.data, &page, st);
		if (rc)
			goto out;
		if (!page || !cJSON_IsObject(page)) {
			rc = FC_ERR_PARSE;
			goto out;
		}
		free(cont);
		cont = NULL;
		next = json_str_or(page, "metadata.continue", NULL);
		if (next && *next && ++pages >= KUBE_LIST_MAX_PAGES) {
			/* a server that never stops paging must not loop us forever */
			rc = FC_ERR_TOOBIG;
			goto out;
		}
		if (next && *next) {
			cont = strdup(next);
			if (!cont) {
				rc = FC_ERR_NOMEM;
				goto out;
			}
		}
		rc = fn(ud, &page);
		cJSON_Delete(page);
		page = NULL;
		if (rc || !cont)
			goto out;
	}
out:
	cJSON_Delete(page);
	free(cont);
	buf_release(&path);
	return rc;
}

struct page_borrow {
	kube_page_fn fn;
	void *ud;
};

static fc_err page_borrow_cb(void *ud, cJSON **page)
{
	struct page_borrow *b = ud;

	return b->fn(b->ud, *page);
}

fc_err kube_list_pages(struct kube_client *kc, const char *path_query, long page_size,
		       kube_page_fn fn, void *ud, struct kube_status *st)
{
	struct page_borrow b = { fn, ud };

	return list_pages(kc, path_query, page_size, page_borrow_cb, &b, st);
}

static fc_err merge_page(void *ud, cJSON **page)
{
	cJSON **merged = ud;
	cJSON *items, *dst, *it, *meta;

	items = cJSON_GetObjectItemCaseSensitive(*page, "items");
	if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items))
		return FC_ERR_PARSE;
	if (!*merged) {
		if (!items || cJSON_IsNull(items)) {
			cJSON_DeleteItemFromObjectCaseSensitive(*page, "items");
			if (!cJSON_AddArrayToObject(*page, "items"))
				return FC_ERR_NOMEM;
		}
		*merged = *page;
		*page = NULL;
		return FC_OK;
	}
	dst = cJSON_GetObjectItemCaseSensitive(*merged, "items");
	while (items && (it = cJSON_DetachItemFromArray(items, 0)) != NULL)
		cJSON_AddItemToArray(dst, it);
	meta = cJSON_DetachItemFromObjectCaseSensitive(*page, "metadata");
	if (meta && !cJSON_ReplaceItemInObjectCaseSensitive(*merged, "metadata", meta)) {
		cJSON_Delete(meta);
		return FC_ERR_NOMEM;
	}
	return FC_OK;
}

fc_err kube_list(struct kube_client *kc, const char *path_query, cJSON **out,
		 struct kube_status *st)
{
	cJSON *merged = NULL, *meta;
	fc_err rc;

	*out = NULL;
	rc = list_pages(kc, path_query, 0, merge_page, &merged, st);
	if (rc) {
		cJSON_Delete(merged);
		return rc;
	}
	meta = cJSON_GetObjectItemCaseSensitive(merged, "metadata");
	if (meta) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "continue");
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "remainingItemCount");
	}
	*out = merged;
	return FC_OK;
}

/* ---- watch framing ----------------------------------------------------- */

void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_event, kube_watch_fn fn,
			    void *ud)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->line, max_event ? max_event : KUBE_WATCH_MAX_EVENT);
	p->fn = fn;
	p->ud = ud;
}

void kube_watch_parser_release(struct kube_watch_parser *p)
{
	buf_release(&p->line);
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	}
	return 1;
}

/* Handles one complete event line. */
static fc_err parse_event(struct kube_watch_parser *p, const char *s, size_t n)
{
	cJSON *ev = NULL, *obj;
	const char *type;
	int64_t code = 0;
	const char *m;
	fc_err rc;

	if (blank(s, n))
		return FC_OK;
	rc = json_parse(s, n, &ev);
	if (rc) {
		snprintf(p->err_message, sizeof(p->err_message),
			 "watch event %lu is not valid JSON", p->events + 1);
		return rc;
	}
	type = json_str_or(ev, "type", NULL);
	obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (!type || !obj || !cJSON_IsObject(obj)) {
		snprintf(p->err_message, sizeof(p->err_message),
			 "watch event %lu has no type or object", p->events + 1);
		rc = FC_ERR_PARSE;
		goto out;
	}
	if (!strcmp(type, "ERROR")) {
		if (json_get_int64(obj, "code", &code) != FC_OK)
			code = 0;
		p->err_code = (long)code;
		m = json_str_or(obj, "message", "");
		copy_printable(p->err_message, sizeof(p->err_message), m, strlen(m));
		m = json_str_or(obj, "reason", "");
		copy_printable(p->err_reason, sizeof(p->err_reason), m, strlen(m));
		rc = code ? fc_err_from_http((long)code) : FC_ERR_IO;
		if (rc == FC_OK)
			rc = FC_ERR_IO;
		goto out;
	}
	obj = cJSON_DetachItemViaPointer(ev, obj);
	p->events++;
	rc = p->fn(p->ud, type, &obj);
	cJSON_Delete(obj);
out:
	cJSON_Delete(ev);
	return rc;
}

fc_err kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len)
{
	const char *nl;
	size_t n;
	fc_err rc;

	if (p->err)
		return p->err;
	while (len) {
		nl = memchr(data, '\n', len);
		if (!nl) {
			rc = buf_append(&p->line, data, len);
			if (rc) {
				snprintf(p->err_message, sizeof(p->err_message),
					 "watch event larger than %zu bytes", p->line.max);
				goto fail;
			}
			return FC_OK;
		}
		n = (size_t)(nl - data);
		if (p->line.len) {
			rc = buf_append(&p->line, data, n);
			if (rc) {
				snprintf(p->err_message, sizeof(p->err_message),
					 "watch event larger than %zu bytes", p->line.max);
				goto fail;
			}
			rc = parse_event(p, p->line.data, p->line.len);
			buf_reset(&p->line);
		} else if (n > p->line.max) {
			snprintf(p->err_message, sizeof(p->err_message),
				 "watch event larger than %zu bytes", p->line.max);
			rc = FC_ERR_TOOBIG;
		} else {
			rc = parse_event(p, data, n);
		}
		if (rc)
			goto fail;
		data = nl + 1;
		len -= n + 1;
	}
	return FC_OK;
fail:
	p->err = rc;
	return rc;
}

fc_err kube_watch_parser_finish(struct kube_watch_parser *p)
{
	cJSON *probe = NULL;
	fc_err rc;

	if (p->err)
		return p->err;
	if (!p->line.len || blank(p->line.data, p->line.len))
		return FC_OK;
	if (json_parse(p->line.data, p->line.len, &probe)) {
		snprintf(p->err_message, sizeof(p->err_message), "watch stream ended inside an event");
		p->err = FC_ERR_IO;
		return p->err;
	}
	cJSON_Delete(probe);
	rc = parse_event(p, p->line.data, p->line.len);
	buf_reset(&p->line);
	if (rc)
		p->err = rc;
	return rc;
}

/* ---- watch ------------------------------------------------------------- */

static fc_err watch_sink(void *ud, const char *data, size_t len)
{
	return kube_watch_parser_feed(ud, data, len);
}

fc_err kube_watch(struct kube_client *kc, const char *path, const char *resource_version,
		  long timeout_s, kube_watch_fn fn, void *ud, const volatile int *cancel,
		  struct kube_status *st)
{
	struct kube_watch_parser p;
	struct http_response resp;
	struct buf q;
	struct call c;
	fc_err rc;

	status_reset(st);
	kube_watch_parser_init(&p, KUBE_WATCH_MAX_EVENT, fn, ud);
	http_response_init(&resp);
	buf_init(&q, URL_MAX);
	if (!path || !fn) {
		rc = FC_ERR_INVAL;
		goto out;
	}
	if (timeout_s <= 0)
		timeout_s = WATCH_DEFAULT_TIMEOUT_S;
	rc = buf_appendf(&q, "%s%swatch=1&allowWatchBookmarks=true&timeoutSeconds=%ld", path,
			 strchr(path, '?') ? "&" : "?", timeout_s);
	if (!rc && resource_version && *resource_version) {
		rc = buf_append_str(&q, "&resourceVersion=");
		if (!rc)
			rc = kube_url_escape(&q, resource_version);
	}
	if (rc)
		goto out;
	memset(&c, 0, sizeof(c));
	c.method = "GET";
	c.path = q.data;
	c.timeout_ms = (timeout_s + WATCH_GRACE_S) * 1000;
	c.on_data = watch_sink;
	c.ud = &p;
	c.cancel = cancel;
	rc = perform(kc, &c, &resp, st);
	if (rc) {
		if (p.err == rc && st) {
			st->http_status = resp.status;
			st->retry_after_s = -1;
			snprintf(st->message, sizeof(st->message), "%s", p.err_message);
			snprintf(st->reason, sizeof(st->reason), "%s", p.err_reason);
		}
		goto out;
	}
	rc = status_check(st, &resp);
	if (rc)
		goto out;
	rc = kube_watch_parser_finish(&p);
	if (rc && st) {
		snprintf(st->message, sizeof(st->message), "%s", p.err_message);
		snprintf(st->reason, sizeof(st->reason), "%s", p.err_reason);
	}
out:
	buf_release(&q);
	http_response_release(&resp);
	kube_watch_parser_release(&p);
	return rc;
}
