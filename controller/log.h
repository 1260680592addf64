/* log.h - levelled, structured logging to stderr, one line per record.
 *
 * A record is a constant message plus key/value string fields:
 *   log_info("reconciled", "configmap", "aucert/llm-config", "changed", "2", NULL);
 * text:  2026-11-24T07:00:00.123Z INFO reconciled configmap=aucert/llm-config changed=2
 * json:  {"ts":"2026-11-24T07:00:00.123Z","level":"info","msg":"reconciled","configmap":"aucert/llm-config","changed":"2"}
 * Values containing spaces or quotes are quoted in text mode. Lines are
 * written atomically (thread-safe). Never pass a secret as a value.
 */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <stdio.h>

#include "err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/* Parses "debug|info|warn|warning|error" and "text|json". */
fc_err log_parse_level(const char *s, enum log_level *out);
fc_err log_parse_format(const char *s, enum log_format *out);

/* Sets the minimum level and format (default: info, text, stderr). out may
 * be NULL for stderr; the stream is borrowed. */
void log_setup(enum log_level level, enum log_format format, FILE *out);

int log_enabled(enum log_level level);

/* Emits msg with key/value pairs (const char * each), ended by NULL.
 * A NULL value is printed as an empty string. */
void log_kv(enum log_level level, const char *msg, ...);

#define log_debug(...) log_kv(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_kv(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_kv(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_kv(LOG_ERROR, __VA_ARGS__)

#endif /* FC_LOG_H */
