/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Build binary IMA records for tests, independently of the library: fields are written and
 * hashed here with OpenSSL's one-shot functions, as ima_template_lib.c and ima_crypto.c do.
 */
#ifndef IMALOG_LOGBUILD_H
#define IMALOG_LOGBUILD_H

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct lb {
	uint8_t buf[1 << 16];
	size_t len;
	bool big_endian;
	const char *header_md;	/* "SHA1" or the per-bank file's algorithm */
};

static inline void lb_u32(uint8_t *p, uint32_t v, bool be)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (be ? 24 - 8 * i : 8 * i));
}

static inline void lb_put(struct lb *b, const void *p, size_t n)
{
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static inline void lb_put_u32(struct lb *b, uint32_t v)
{
	lb_u32(b->buf + b->len, v, b->big_endian);
	b->len += 4;
}

/* Template data: fields given as (pointer, length) pairs, each written with its u32 length. */
struct lb_field {
	const void *data;
	uint32_t len;
};

static inline size_t lb_template_data(const struct lb *b, uint8_t *out, const struct lb_field *f,
				      int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		lb_u32(out + len, f[i].len, b->big_endian);
		memcpy(out + len + 4, f[i].data, f[i].len);
		len += 4 + f[i].len;
	}
	return len;
}

/* Append one non-legacy record; @violation writes an all-zero header digest. */
static inline void lb_record(struct lb *b, uint32_t pcr, const char *tmpl, const struct lb_field *f,
			     int n, bool violation)
{
	uint8_t data[1 << 14], digest[EVP_MAX_MD_SIZE] = { 0 };
	unsigned int dlen = 0;
	const EVP_MD *md = EVP_get_digestbyname(b->header_md ? b->header_md : "SHA1");
	size_t len = lb_template_data(b, data, f, n);

	EVP_Digest(data, len, digest, &dlen, md, NULL);
	if (violation)
		memset(digest, 0, dlen);
	lb_put_u32(b, pcr);
	lb_put(b, digest, dlen);
	lb_put_u32(b, (uint32_t)strlen(tmpl));
	lb_put(b, tmpl, strlen(tmpl));
	lb_put_u32(b, (uint32_t)len);
	lb_put(b, data, len);
}

/* An ima-ng record for file @name with a sha256 file digest of @seed. */
static inline void lb_ima_ng(struct lb *b, uint32_t pcr, const char *name, uint8_t seed,
			     bool violation)
{
	uint8_t dng[7 + 1 + 32];

	memcpy(dng, "sha256:", 7);
	dng[7] = 0;
	memset(dng + 8, seed, 32);
	struct lb_field f[2] = { { dng, sizeof(dng) }, { name, (uint32_t)strlen(name) + 1 } };
	lb_record(b, pcr, "ima-ng", f, 2, violation);
}

#endif
