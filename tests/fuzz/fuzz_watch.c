/* fuzz_watch.c - the watch stream framing (kube_client.h
 * kube_watch_parser_*): newline-delimited {"type","object"} events from the
 * API server.
 *
 * Input: byte 0 picks the chunking and byte 1 the event bound; the rest is
 * the stream. It is fed once whole and once in chunks whose sizes come from
 * the data, and both runs must agree (events delivered, result, ERROR
 * code): framing must not depend on where the network splits the stream.
 * The callback takes ownership of some objects and stops the watch on a
 * "STOP" event, to cover both paths.
 */
#include <string.h>

#include "fuzz.h"
#include "kube_client.h"

struct sink {
	unsigned long n;
	unsigned long taken;
};

static fc_err on_event(void *ud, const char *type, cJSON **object)
{
	struct sink *s = ud;

	FUZZ_CHECK(type && object && *object && cJSON_IsObject(*object));
	s->n++;
	if (!strcmp(type, "STOP"))
		return FC_ERR_CANCELLED;
	if (s->n % 2) {
		cJSON_Delete(*object);
		*object = NULL;
		s->taken++;
	}
	return FC_OK;
}

struct outcome {
	fc_err feed, finish;
	unsigned long events;
	long err_code;
};

static struct outcome run(const char *data, size_t len, size_t max_event, uint8_t mode)
{
	struct kube_watch_parser p;
	struct sink s = {0};
	struct outcome o = {0};
	size_t off = 0;

	kube_watch_parser_init(&p, max_event, on_event, &s);
	if (mode == 0) {
		o.feed = kube_watch_parser_feed(&p, data, len);
	} else {
		/* chunk sizes from the data: 1..mode bytes, mode 255 = up to 4 KiB */
		size_t limit = mode == 255 ? 4096 : mode;

		while (off < len) {
			size_t n = 1 + ((size_t)(uint8_t)data[off] * 131u + off) % limit;

			if (n > len - off)
				n = len - off;
			o.feed = kube_watch_parser_feed(&p, data + off, n);
			off += n;
			if (o.feed)
				break;
		}
		/* once failed, it stays failed */
		if (o.feed)
			FUZZ_CHECK(kube_watch_parser_feed(&p, "\n", 1) == o.feed);
	}
	/* an empty feed is harmless */
	if (!o.feed)
		FUZZ_CHECK(kube_watch_parser_feed(&p, "", 0) == FC_OK);
	o.finish = kube_watch_parser_finish(&p);
	if (o.feed)
		FUZZ_CHECK(o.finish == o.feed);
	FUZZ_CHECK(memchr(p.err_message, '\0', sizeof(p.err_message)));
	FUZZ_CHECK(memchr(p.err_reason, '\0', sizeof(p.err_reason)));
	o.events = p.events;
	o.err_code = p.err_code;
	FUZZ_CHECK(s.n == p.events);
	kube_watch_parser_release(&p);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t bounds[4] = {0, 64, 512, 4096};
	struct outcome whole, chunked;
	size_t max_event;
	uint8_t mode;

	fuzz_quiet_log();
	if (size < 2)
		return 0;
	mode = data[0];
	max_event = bounds[data[1] % 4];
	data += 2;
	size -= 2;
	whole = run((const char *)data, size, max_event, 0);
	if (!mode)
		return 0;
	chunked = run((const char *)data, size, max_event, mode);
	FUZZ_CHECK(whole.events == chunked.events);
	FUZZ_CHECK(whole.feed == chunked.feed);
	FUZZ_CHECK(whole.finish == chunked.finish);
	FUZZ_CHECK(whole.err_code == chunked.err_code);
	return 0;
}
