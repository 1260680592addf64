#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"

#define LOG_LINE_MAX (64 * 1024)

static enum log_level min_level = LOG_INFO;
static enum log_format fmt = LOG_FORMAT_TEXT;
static FILE *stream;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const level_upper[] = { "DEBUG", "INFO", "WARN", "ERROR" };

fc_err log_parse_level(const char *s, enum log_level *out)
{
	if (!strcasecmp(s, "debug"))
		*out = LOG_DEBUG;
	else if (!strcasecmp(s, "info"))
		*out = LOG_INFO;
	else if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		*out = LOG_WARN;
	else if (!strcasecmp(s, "error"))
		*out = LOG_ERROR;
	else
		return FC_ERR_PARSE;
	return FC_OK;
}

fc_err log_parse_format(const char *s, enum log_format *out)
{
	if (!strcasecmp(s, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcasecmp(s, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return FC_ERR_PARSE;
	return FC_OK;
}

void log_setup(enum log_level level, enum log_format format, FILE *out)
{
	pthread_mutex_lock(&lock);
	min_level = level;
	fmt = format;
	stream = out;
	pthread_mutex_unlock(&lock);
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

static void json_escape(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		default:
			if (*p < 0x20)
				buf_appendf(b, "\\u%04x", *p);
			else
				buf_append(b, p, 1);
		}
	}
	buf_append(b, "\"", 1);
}

static void text_value(struct buf *b, const char *s)
{
	if (*s && !strpbrk(s, " \t\n\r\"=")) {
		buf_append_str(b, s);
		return;
	}
	json_escape(b, s);
}

static void timestamp(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

void log_kv(enum log_level level, const char *msg, ...)
{
	struct buf b;
	char ts[48];
	va_list ap;
	const char *k, *v;
	FILE *out;

	if (level < min_level)
		return;
	if ((unsigned)level > LOG_ERROR)
		level = LOG_ERROR;
	buf_init(&b, LOG_LINE_MAX);
	timestamp(ts, sizeof(ts));
	if (fmt == LOG_FORMAT_JSON) {
		buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
		json_escape(&b, msg);
	} else {
		buf_appendf(&b, "%s %-5s %s", ts, level_upper[level], msg);
	}
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (!v)
			v = "";
		if (fmt == LOG_FORMAT_JSON) {
			buf_append(&b, ",", 1);
			json_escape(&b, k);
			buf_append(&b, ":", 1);
			json_escape(&b, v);
		} else {
			buf_appendf(&b, " %s=", k);
			text_value(&b, v);
		}
	}
	va_end(ap);
	if (fmt == LOG_FORMAT_JSON)
		buf_append(&b, "}", 1);
	buf_append(&b, "\n", 1);
	pthread_mutex_lock(&lock);
	out = stream ? stream : stderr;
	if (b.data) {
		fwrite(b.data, 1, b.len, out);
		fflush(out);
	}
	pthread_mutex_unlock(&lock);
	buf_release(&b);
}
