/* SHA-256 against the FIPS 180-2 test vectors, and chunked updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sha256.h"

static const struct {
	const char *in;
	const char *hex;
} vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	{ "The quick brown fox jumps over the lazy dog",
	  "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592" },
};

static void test_vectors(void **state)
{
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		sha256_hex(vectors[i].in, strlen(vectors[i].in), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

/* FIPS 180-2 appendix B.3: one million 'a', fed in uneven chunks. */
static void test_million_a(void **state)
{
	static const size_t chunks[] = { 1, 3, 55, 56, 63, 64, 65, 1000 };
	char *buf = malloc(1000000);
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	sha256_hex(buf, 1000000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct sha256 ctx;
		unsigned char dig[SHA256_DIGEST_LEN];
		size_t off = 0;

		sha256_init(&ctx);
		while (off < 1000000) {
			size_t n = chunks[c] < 1000000 - off ? chunks[c] : 1000000 - off;

			sha256_update(&ctx, buf + off, n);
			off += n;
		}
		sha256_final(&ctx, dig);
		sha256_to_hex(dig, hex);
		assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}
	free(buf);
}

/* Padding edges: lengths around the 55/56/64-byte block boundaries hash the
 * same one-shot and byte by byte. */
static void test_boundaries(void **state)
{
	unsigned char data[130];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 1);
	for (size_t len = 0; len <= sizeof(data); len++) {
		char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
		unsigned char dig[SHA256_DIGEST_LEN];
		struct sha256 ctx;

		sha256_hex(data, len, a);
		sha256_init(&ctx);
		for (size_t i = 0; i < len; i++)
			sha256_update(&ctx, data + i, 1);
		sha256_final(&ctx, dig);
		sha256_to_hex(dig, b);
		assert_string_equal(a, b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
