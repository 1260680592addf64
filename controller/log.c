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

/* Room kept past LOG_LINE_MAX for what closes a cut line (the quote, the
 * truncated marker, the brace and the newline), so a line is always whole. */
#define LOG_LINE_SLACK 64

/* Drops the bytes of a UTF-8 sequence left incomplete at the end of b. */
static void trim_partial_utf8(struct buf *b)
{
	size_t i = b->len, back = 0;

	while (i > 0 && back < 4 && ((unsigned char)b->data[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i > 0) {
		unsigned char lead = (unsigned char)b->data[i - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;

		if (lead >= 0xC0 && need > back + 1) {
			b->len = i - 1;
			b->data[b->len] = '\0';
		}
	}
}

/* Appends s as a JSON string, cut where the line would pass LOG_LINE_MAX
 * (at a character boundary); returns 1 if it was cut. */
static int json_escape(struct buf *b, const char *s)
{
	int cut = 0;

	buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (b->len + 6 > LOG_LINE_MAX) {
			trim_partial_utf8(b);
			cut = 1;
			break;
		}
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
	return cut;
}

/* Appends s as it is, cut at LOG_LINE_MAX (at a character boundary). */
static int text_raw(struct buf *b, const char *s)
{
	size_t n = strlen(s), room = b->len < LOG_LINE_MAX ? LOG_LINE_MAX - b->len : 0;

	if (n <= room)
		return buf_append(b, s, n) != FC_OK;
	buf_append(b, s, room);
	trim_partial_utf8(b);
	return 1;
}

static int text_value(struct buf *b, const char *s)
{
	if (*s && !strpbrk(s, " \t\n\r\"=") && b->len + strlen(s) <= LOG_LINE_MAX)
		return buf_append_str(b, s) != FC_OK;
	return json_escape(b, s);
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
	int cut;

	if (level < min_level)
		return;
	if ((unsigned)level > LOG_ERROR)
		level = LOG_ERROR;
	buf_init(&b, LOG_LINE_MAX + LOG_LINE_SLACK);
	timestamp(ts, sizeof(ts));
	if (fmt == LOG_FORMAT_JSON) {
		buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
		cut = json_escape(&b, msg);
	} else {
		buf_appendf(&b, "%s %-5s ", ts, level_upper[level]);
		cut = text_raw(&b, msg);
	}
	va_start(ap, msg);
	while (!cut && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (!v)
			v = "";
		if (b.len + strlen(k) + 8 > LOG_LINE_MAX) {
			cut = 1;
		} else if (fmt == LOG_FORMAT_JSON) {
			buf_append(&b, ",", 1);
			json_escape(&b, k);
			buf_append(&b, ":", 1);
			cut = json_escape(&b, v);
		} else {
			buf_appendf(&b, " %s=", k);
			cut = text_value(&b, v);
		}
	}
	va_end(ap);
	/* a line over LOG_LINE_MAX is cut, never left open: it says so */
	if (cut)
		buf_append_str(&b, fmt == LOG_FORMAT_JSON ? ",\"truncated\":\"true\"" : " truncated=true");
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
