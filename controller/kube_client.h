/* kube_client.h - Kubernetes API calls over an http_transport.
 *
 * Paths are API paths ("/api/v1/namespaces/ns/configmaps/x", built with
 * kube_path) appended to the configured server URL. Each request carries the
 * current bearer token from kube_config_token; a 401 re-reads the token
 * (kube_config_token_invalidate) and retries once. Responses are bounded
 * (KUBE_CLIENT_MAX_BODY unless changed with kube_client_set_limits).
 *
 * Errors: a transport error (IO, TIMEOUT, TLS, TOOBIG, CANCELLED, NOMEM), or
 * the HTTP status mapped by fc_err_from_http (AUTH, FORBIDDEN, NOTFOUND,
 * CONFLICT, GONE, THROTTLED, UNAVAILABLE, INVAL...), or PARSE for a 2xx body
 * that is not JSON. Every call takes an optional `struct kube_status *st`
 * (NULL allowed) that receives the HTTP status and the Status object's
 * reason and message (or the transport's error detail), for the caller to
 * log once. Nothing here logs above debug level.
 *
 * Bodies passed in are JSON (or YAML for kube_apply) text, borrowed.
 * Results come back as a cJSON tree owned by the caller (cJSON_Delete);
 * out may be NULL when the caller does not want the result.
 *
 * Thread-safety: a kube_client may be used from several threads at once
 * (provided its transport may).
 */
#ifndef FC_KUBE_CLIENT_H
#define FC_KUBE_CLIENT_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "kube_config.h"

#define KUBE_CLIENT_MAX_BODY (16u * 1024 * 1024)
#define KUBE_CLIENT_TIMEOUT_MS 30000L
#define KUBE_WATCH_MAX_EVENT (4u * 1024 * 1024)
#define KUBE_LIST_PAGE_SIZE 500
/* at most this many pages per list (500 x 10,000 = 5 M objects): TOOBIG past it */
#define KUBE_LIST_MAX_PAGES 10000
#define KUBE_PATH_MAX 1024

struct kube_status {
	long http_status;        /* 0 when no response was received */
	char reason[64];         /* Status.reason ("NotFound", "AlreadyExists", ...) or "" */
	char message[512];       /* Status.message, the transport's error, or "" */
	long retry_after_s;      /* Retry-After / details.retryAfterSeconds, -1 if none */
};

struct kube_client;

/* Creates a client; t and cfg are borrowed and must outlive it. Caller
 * frees with kube_client_free(). */
fc_err kube_client_new(struct http_transport *t, struct kube_config *cfg,
		       struct kube_client **out);
void kube_client_free(struct kube_client *kc);

/* Per-request timeout for non-watch calls (0 = KUBE_CLIENT_TIMEOUT_MS) and
 * the response body bound (0 = KUBE_CLIENT_MAX_BODY). Not thread-safe:
 * call before sharing the client. */
void kube_client_set_limits(struct kube_client *kc, long timeout_ms, size_t max_body);

/* The configuration the client was made with (borrowed). */
struct kube_config *kube_client_config(struct kube_client *kc);

/* Builds an API path into out (outlen bytes):
 *   group "" or NULL -> "/api/VERSION", else "/apis/GROUP/VERSION";
 *   then "/namespaces/NS" if ns is non-empty, "/PLURAL", "/NAME" if name,
 *   "/SUBRESOURCE" if subresource. Every segment must be non-empty (when
 *   given) and free of '/', '?', '#', '%' and spaces: INVAL otherwise;
 *   TOOBIG if out is too small. */
fc_err kube_path(char *out, size_t outlen, const char *group, const char *version, const char *ns,
		 const char *plural, const char *name, const char *subresource);

/* Appends s to b, percent-encoding everything but unreserved characters
 * (for query values such as label selectors). */
fc_err kube_url_escape(struct buf *b, const char *s);

/* GET path. */
fc_err kube_get(struct kube_client *kc, const char *path, cJSON **out, struct kube_status *st);

/* Called for each page of a list (a *List object, borrowed for the call).
 * Return FC_OK to continue; anything else stops the listing with that
 * error. */
typedef fc_err (*kube_page_fn)(void *ud, cJSON *page);

/* Lists path_query (a collection path, optionally with "?labelSelector=..."
 * and the like) page by page (limit=page_size, 0 = KUBE_LIST_PAGE_SIZE,
 * following metadata.continue). A continue token that expired is GONE. */
fc_err kube_list_pages(struct kube_client *kc, const char *path_query, long page_size,
		       kube_page_fn fn, void *ud, struct kube_status *st);

/* Lists every page and merges them into one *List object in *out:
 * "items" holds all items, "metadata" is the last page's (its
 * resourceVersion is the one to watch from; no "continue"). */
fc_err kube_list(struct kube_client *kc, const char *path_query, cJSON **out,
		 struct kube_status *st);

/* A watch event. type is "ADDED", "MODIFIED", "DELETED" or "BOOKMARK"
 * (ERROR events end the watch instead). *object is owned by the watch and
 * valid for the call; the callback may take it by setting *object = NULL
 * (it then frees it with cJSON_Delete). Return FC_OK to continue; anything
 * else ends the watch with that error. */
typedef fc_err (*kube_watch_fn)(void *ud, const char *type, cJSON **object);

/* Watch stream framing (newline-delimited JSON events), exposed so it can be
 * tested and fuzzed without a server. An event may be split across any
 * number of chunks; one event is at most max_event bytes (TOOBIG). A line
 * that is not a {"type": string, "object": object} JSON object is PARSE.
 * An ERROR event ends the stream with fc_err_from_http(Status.code) (410 ->
 * GONE; IO when there is no code), its message in err_message. */
struct kube_watch_parser {
	struct buf line;         /* the partial event so far */
	kube_watch_fn fn;
	void *ud;
	fc_err err;              /* sticky: once set, feed returns it */
	unsigned long events;    /* events delivered */
	long err_code;           /* Status.code of an ERROR event, else 0 */
	char err_reason[64];
	char err_message[512];   /* of an ERROR event or a PARSE failure */
};

void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_event, kube_watch_fn fn,
			    void *ud);
fc_err kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len);
/* The stream ended: a trailing event without a newline is delivered if it
 * is complete JSON; an incomplete one is IO. */
fc_err kube_watch_parser_finish(struct kube_watch_parser *p);
void kube_watch_parser_release(struct kube_watch_parser *p);

/* Watches path (a collection, optionally with a query) from
 * resource_version (NULL or "" = from now, after synthetic ADDED events for
 * what exists) with allowWatchBookmarks=true and timeoutSeconds=timeout_s
 * (0 = 300). Returns FC_OK when the server ends the watch normally (time
 * out), GONE when the resource version is too old (HTTP 410 or an ERROR
 * event with code 410), CANCELLED when *cancel became non-zero, or the
 * first error of the transport, the server or the callback. */
fc_err kube_watch(struct kube_client *kc, const char *path, const char *resource_version,
		  long timeout_s, kube_watch_fn fn, void *ud, const volatile int *cancel,
		  struct kube_status *st);

/* Server-side apply: PATCH path?fieldManager=FM[&force=true] with
 * Content-Type application/apply-patch+yaml. body is YAML or JSON (a full
 * object with apiVersion, kind, metadata.name). path may end in /status. */
fc_err kube_apply(struct kube_client *kc, const char *path, const char *body,
		  const char *field_manager, int force, cJSON **out, struct kube_status *st);

/* PATCH with application/merge-patch+json (e.g. finalizers). */
fc_err kube_merge_patch(struct kube_client *kc, const char *path, const char *json, cJSON **out,
			struct kube_status *st);

/* PATCH with application/json-patch+json (json is an array of operations;
 * a "test" op gives optimistic concurrency). */
fc_err kube_json_patch(struct kube_client *kc, const char *path, const char *json, cJSON **out,
		       struct kube_status *st);

/* PUT the whole object (json carries metadata.resourceVersion: CONFLICT if
 * it is stale). */
fc_err kube_update(struct kube_client *kc, const char *path, const char *json, cJSON **out,
		   struct kube_status *st);

/* PUT path_to_status (".../NAME/status") with the whole object, including
 * metadata.resourceVersion: CONFLICT if it is stale. */
fc_err kube_update_status(struct kube_client *kc, const char *path_to_status, const char *json,
			  cJSON **out, struct kube_status *st);

/* Merge-patch of path_to_status: no resourceVersion needed (last writer
 * wins for the fields given). */
fc_err kube_patch_status(struct kube_client *kc, const char *path_to_status, const char *json,
			 cJSON **out, struct kube_status *st);

/* POST json to a collection path (e.g. an Event). CONFLICT if it exists. */
fc_err kube_create(struct kube_client *kc, const char *path, const char *json, cJSON **out,
		   struct kube_status *st);

/* DELETE path. NOTFOUND when it is already gone (callers usually treat
 * that as success). */
fc_err kube_delete(struct kube_client *kc, const char *path, struct kube_status *st);

#endif /* FC_KUBE_CLIENT_H */
