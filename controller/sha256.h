/* sha256.h - SHA-256 (FIPS 180-4), pure, for content hashes.
 *
 * Used for the ConfigMap's foundry.aucert.io/config-hash annotation. Not for
 * secrets (no constant-time guarantees needed there).
 */
#ifndef FC_SHA256_H
#define FC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 64 /* without the NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	unsigned char blk[64];
	size_t nblk;           /* bytes waiting in blk */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Writes the digest; c must be re-initialised before further use. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_LEN]);

/* One-shot: lowercase hex digest of data into hex (SHA256_HEX_LEN + 1 bytes,
 * NUL-terminated). */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);

/* Lowercase hex of a finished digest (SHA256_HEX_LEN + 1 bytes). */
void sha256_to_hex(const unsigned char dig[SHA256_DIGEST_LEN], char hex[SHA256_HEX_LEN + 1]);

#endif /* FC_SHA256_H */
