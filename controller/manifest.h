/* manifest.h - Kubernetes manifests (YAML or JSON files, multi-document)
 * read into cJSON objects, one per object, as `kubectl apply -f` reads them.
 *
 * Input: files, or directories walked recursively in byte order of the names
 * (files ending in .yaml, .yml or .json; names starting with '.' and files
 * named kustomization.yaml / kustomization.yml / Kustomization are skipped
 * in directories, other extensions are ignored). A path given explicitly is
 * read whatever its name; "-" is standard input.
 *
 * YAML -> JSON as sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) does it:
 *   mappings -> objects (keys must be scalars: a bool key becomes "true" /
 *   "false", a number key its decimal form; a null key is an error),
 *   sequences -> arrays, plain scalars resolved:
 *     "", ~, null, Null, NULL                         -> null
 *     true True TRUE yes Yes YES y Y on On ON          -> true
 *     false False FALSE no No NO n N off Off OFF       -> false
 *     integers (decimal, 0x hex, 0o / leading-0 octal, 0b binary, with
 *     optional sign and '_' separators) and floats    -> numbers
 *     .inf / .nan                                     -> error (not JSON)
 *     anything else (dates included)                  -> string
 *   quoted and block scalars are always strings. An explicit tag
 *   (!!int "5", !!str) is honoured, except that a plain scalar tagged !!str
 *   is resolved as if untagged (libyaml's document API gives untagged
 *   scalars the !!str tag). Merge keys (`<<: *anchor`, `<<: [*a, *b]`) are
 *   supported; explicit keys win over merged ones, earlier merge sources win
 *   over later ones.
 * Stricter than sigs.k8s.io/yaml: a key repeated in one mapping is an error
 * (the YAML spec forbids it; go-yaml v2 would keep one silently).
 *
 * Documents: an empty (or null) document is skipped; a document must
 * otherwise be a mapping; a mapping whose kind is "List" or ends in "List"
 * and that has an `items` array (kubectl get -o yaml) is replaced by its
 * items, each tagged with its own line.
 *
 * Bounds (FC_ERR_TOOBIG, with a message): a file or stdin larger than
 * MANIFEST_MAX_FILE; nesting deeper than MANIFEST_MAX_DEPTH; a document
 * with more than MANIFEST_MAX_NODES nodes or MANIFEST_MAX_DOC_BYTES bytes
 * of scalars once aliases are expanded (the "billion laughs" guard); more
 * than MANIFEST_MAX_FILES files, MANIFEST_MAX_DOCS documents,
 * MANIFEST_MAX_TOTAL_NODES nodes or MANIFEST_MAX_TOTAL_BYTES scalar bytes in
 * one manifest_set.
 *
 * Errors come with a one-line message in the caller's buffer:
 *   FC_ERR_PARSE   "FILE:LINE:COL: problem (context)", lines and columns from 1
 *   FC_ERR_TOOBIG  "FILE:LINE:COL: ..." or "FILE: larger than 4 MiB"
 *   FC_ERR_IO      "FILE: No such file or directory" (strerror)
 *   FC_ERR_NOMEM   "out of memory"
 * On any error the set keeps the documents of the files loaded before the
 * failing one (none of the failing file's).
 *
 * Pure except for reading files (manifest_parse does no I/O). Not
 * thread-safe: one set per thread.
 */
#ifndef FC_MANIFEST_H
#define FC_MANIFEST_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"

#define MANIFEST_MAX_FILE (4u * 1024 * 1024)
#define MANIFEST_MAX_DEPTH 64
#define MANIFEST_MAX_NODES 100000u
#define MANIFEST_MAX_DOC_BYTES (16u * 1024 * 1024)
#define MANIFEST_MAX_FILES 10000u
#define MANIFEST_MAX_DOCS 100000u
#define MANIFEST_MAX_TOTAL_NODES 2000000u
#define MANIFEST_MAX_TOTAL_BYTES (64u * 1024 * 1024)
#define MANIFEST_MAX_DIR_DEPTH 32
/* A good size for the error buffers of this module, with NUL. */
#define MANIFEST_ERR_MAX 1024

struct manifest_doc {
	cJSON *obj;   /* an object; owned by the set */
	char *file;   /* the path it was read from ("-" for stdin); owned by the set */
	int line;     /* 1-based line where the object starts */
};

/* Documents in load order (files in the order given, directory entries
 * sorted, documents in file order). */
struct manifest_set {
	struct manifest_doc *docs;
	size_t ndocs;
	/* private: capacity and the running totals the bounds apply to */
	size_t cap;
	size_t nfiles;
	size_t total_nodes;
	size_t total_bytes;
};

void manifest_set_init(struct manifest_set *s);
/* Frees every document; the set is empty and reusable. */
void manifest_set_release(struct manifest_set *s);

/* Parses len bytes of YAML/JSON (one or more documents) named name (for
 * messages and manifest_doc.file) and appends its objects to s. data need
 * not be NUL-terminated. Borrowed arguments. */
fc_err manifest_parse(struct manifest_set *s, const char *name, const char *data, size_t len,
		      char *err, size_t errlen);

/* Reads one path (file, directory, or "-") and appends its objects. */
fc_err manifest_load_path(struct manifest_set *s, const char *path, char *err, size_t errlen);

/* manifest_load_path for each of paths[0..n-1], stopping at the first error. */
fc_err manifest_load(struct manifest_set *s, char *const *paths, size_t n, char *err,
		     size_t errlen);

/* Writes obj as one block-style YAML document (no leading "---"), for
 * review and for `kubectl apply -f -`: every string value is double-quoted
 * (JSON escapes, plus \N \L \P for the YAML line breaks), keys are quoted
 * unless they are plain words that YAML cannot read as anything else
 * (a key too long for a YAML simple key, over 1000 bytes as written, is an
 * explicit key: "? KEY" then ": VALUE"), object members keep their order, empty objects and arrays are {} and [].
 * Appends to out; FC_ERR_TOOBIG when out's maximum is reached,
 * FC_ERR_INVAL for a depth beyond MANIFEST_MAX_DEPTH. */
fc_err manifest_emit_yaml(const cJSON *obj, struct buf *out);

#endif /* FC_MANIFEST_H */
