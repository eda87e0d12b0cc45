// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hash algorithms of the TPM banks IMA extends, and the template hash of a record.
 *
 * SHA-1 and SHA-2 use libcrypto's one-shot block functions rather than EVP: replay hashes two
 * short messages per record and bank, and EVP's per-call dispatch costs more than the hashing
 * itself at that size. SM3 has no such function and goes through EVP.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include "internal.h"

struct hash_info {
	const char *name;	/* the kernel's hash_algo_name[] */
	const char *evp_name;
	size_t size;
};

static const struct hash_info hashes[IMALOG_HASH_COUNT] = {
	[IMALOG_SHA1] = { "sha1", "SHA1", 20 },
	[IMALOG_SHA256] = { "sha256", "SHA256", 32 },
	[IMALOG_SHA384] = { "sha384", "SHA384", 48 },
	[IMALOG_SHA512] = { "sha512", "SHA512", 64 },
	[IMALOG_SM3_256] = { "sm3", "SM3", 32 },
};

struct hash_ctx {
	enum imalog_hash alg;
	union {
		SHA_CTX sha1;
		SHA256_CTX sha256;
		SHA512_CTX sha512;
	} u;
	EVP_MD_CTX *evp;
	EVP_MD *md;
};

PUBLIC const char *imalog_hash_name(enum imalog_hash alg)
{
	return (unsigned int)alg < IMALOG_HASH_COUNT ? hashes[alg].name : NULL;
}

PUBLIC size_t imalog_hash_size(enum imalog_hash alg)
{
	return (unsigned int)alg < IMALOG_HASH_COUNT ? hashes[alg].size : 0;
}

PUBLIC int imalog_hash_from_name(const char *name, enum imalog_hash *ret_alg)
{
	static const char *const aliases[][2] = { { "sm3_256", "sm3" }, { "sm3-256", "sm3" } };

	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcasecmp(name, aliases[i][0]) == 0)
			name = aliases[i][1];
	for (int i = 0; i < IMALOG_HASH_COUNT; i++)
		if (strcasecmp(name, hashes[i].name) == 0) {
			*ret_alg = (enum imalog_hash)i;
			return 0;
		}
	return -EOPNOTSUPP;
}

PUBLIC bool imalog_hash_available(enum imalog_hash alg)
{
	struct hash_ctx *c = NULL;
	int r = hash_ctx_new(alg, &c);

	hash_ctx_free(c);
	return r == 0;
}

int hash_ctx_new(enum imalog_hash alg, struct hash_ctx **ret)
{
	struct hash_ctx *c;

	if ((unsigned int)alg >= IMALOG_HASH_COUNT)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->alg = alg;
	if (alg == IMALOG_SM3_256) {
		c->evp = EVP_MD_CTX_new();
		c->md = EVP_MD_fetch(NULL, hashes[alg].evp_name, NULL);
		if (!c->evp || !c->md) {
			int r = c->evp ? -EOPNOTSUPP : -ENOMEM;

			hash_ctx_free(c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

void hash_ctx_free(struct hash_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->evp);
	EVP_MD_free(c->md);
	free(c);
}

void hash_init(struct hash_ctx *c)
{
	switch (c->alg) {
	case IMALOG_SHA1:
		SHA1_Init(&c->u.sha1);
		break;
	case IMALOG_SHA256:
		SHA256_Init(&c->u.sha256);
		break;
	case IMALOG_SHA384:
		SHA384_Init(&c->u.sha512);
		break;
	case IMALOG_SHA512:
		SHA512_Init(&c->u.sha512);
		break;
	default:
		EVP_DigestInit_ex(c->evp, c->md, NULL);
		break;
	}
}

void hash_update(struct hash_ctx *c, const void *data, size_t len)
{
	switch (c->alg) {
	case IMALOG_SHA1:
		SHA1_Update(&c->u.sha1, data, len);
		break;
	case IMALOG_SHA256:
		SHA256_Update(&c->u.sha256, data, len);
		break;
	case IMALOG_SHA384:
	case IMALOG_SHA512:
		SHA512_Update(&c->u.sha512, data, len);
		break;
	default:
		EVP_DigestUpdate(c->evp, data, len);
		break;
	}
}

void hash_final(struct hash_ctx *c, uint8_t *out)
{
	switch (c->alg) {
	case IMALOG_SHA1:
		SHA1_Final(out, &c->u.sha1);
		break;
	case IMALOG_SHA256:
		SHA256_Final(out, &c->u.sha256);
		break;
	case IMALOG_SHA384:
		SHA384_Final(out, &c->u.sha512);
		break;
	case IMALOG_SHA512:
		SHA512_Final(out, &c->u.sha512);
		break;
	default:
		EVP_DigestFinal_ex(c->evp, out, NULL);
		break;
	}
}

static void store_be32(uint8_t *out, const unsigned int *h, int n)
{
	for (int i = 0; i < n; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

/*
 * PCR = H(PCR || digest). For SHA-1 (40 bytes) and SHA-256 (64 bytes) the padded message is one
 * and two blocks of known layout, so the compression function is called on them directly,
 * without the buffering and clean-up of Update and Final: extending is half of replay's
 * hashing.
 */
void hash_extend(struct hash_ctx *c, uint8_t *pcr, const uint8_t *digest)
{
	size_t size = hashes[c->alg].size;
	uint8_t block[64] = { 0 };

	if (c->alg == IMALOG_SHA1) {
		memcpy(block, pcr, 20);
		memcpy(block + 20, digest, 20);
		block[40] = 0x80;
		block[62] = 0x01;	/* 320 bits */
		block[63] = 0x40;
		SHA1_Init(&c->u.sha1);
		SHA1_Transform(&c->u.sha1, block);
		store_be32(pcr, (const unsigned int[]){ c->u.sha1.h0, c->u.sha1.h1, c->u.sha1.h2,
							 c->u.sha1.h3, c->u.sha1.h4 }, 5);
	} else if (c->alg == IMALOG_SHA256) {
		static const uint8_t pad[64] = { [0] = 0x80, [62] = 0x02 };	/* 512 bits */

		memcpy(block, pcr, 32);
		memcpy(block + 32, digest, 32);
		SHA256_Init(&c->u.sha256);
		SHA256_Transform(&c->u.sha256, block);
		SHA256_Transform(&c->u.sha256, pad);
		store_be32(pcr, c->u.sha256.h, 8);
	} else {
		hash_init(c);
		hash_update(c, pcr, size);
		hash_update(c, digest, size);
		hash_final(c, pcr);
	}
}

/*
 * ima_calc_field_array_hash_tfm(): every template but "ima" hashes its fields with their u32
 * lengths, which is the template data exactly as the binary log holds it. The "ima" template
 * hashes the 20-byte digest and the name zero-padded to IMA_EVENT_NAME_LEN_MAX + 1 bytes.
 */
void record_template_hash(struct hash_ctx *c, const struct imalog_record *r, uint8_t *out)
{
	hash_init(c);
	if (r->tmpl->legacy_ima) {
		uint8_t name[IMALOG_MAX_EVENT_NAME + 1] = { 0 };

		memcpy(name, r->data + 24, r->data_len - 24);
		hash_update(c, r->data, 20);
		hash_update(c, name, sizeof(name));
	} else {
		hash_update(c, r->data, r->data_len);
	}
	hash_final(c, out);
}
