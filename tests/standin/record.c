// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Records as the kernel builds and shows them. A record is kept in the form
 * binary_runtime_measurements shows it (ima_measurements_show(): SHA-1 template digest, host byte
 * order) plus the template digest of every allocated bank, computed as
 * ima_calc_field_array_hash_tfm() does: the bank's hash of the template data, or for the legacy
 * "ima" template of the 20-byte digest and the name zero-padded to 256 bytes. A violation keeps
 * all-zero digests (ima_add_violation()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

#define IMA_NAME_PADDED 256	/* IMA_EVENT_NAME_LEN_MAX + 1 */

static int hash_legacy(const struct si_bank *bk, const imalog_record *rec, uint8_t *out)
{
	static const uint8_t zeros[IMA_NAME_PADDED];
	struct imalog_field d, n;
	EVP_MD_CTX *ctx;
	int ok;

	if (imalog_record_field(rec, 0, &d) < 0 || imalog_record_field(rec, 1, &n) < 0 ||
	    n.len >= IMA_NAME_PADDED)
		return -EBADMSG;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, bk->md, NULL) && EVP_DigestUpdate(ctx, d.data, d.len) &&
	     EVP_DigestUpdate(ctx, n.data, n.len) &&
	     EVP_DigestUpdate(ctx, zeros, IMA_NAME_PADDED - n.len) &&
	     EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static int hash_template(const struct si_bank *bk, const imalog_record *rec, uint8_t *out)
{
	size_t tlen, data_len;
	const char *tmpl = imalog_record_template(rec, &tlen);
	const uint8_t *data;

	if (tlen == 3 && !memcmp(tmpl, "ima", 3))
		return hash_legacy(bk, rec, out);
	data = imalog_record_template_data(rec, &data_len);
	return EVP_Digest(data, data_len, out, NULL, bk->md, NULL) ? 0 : -EIO;
}

/* Every bank's digest; the SHA-1 one must be the header digest the record carries. */
static int fill_digests(const struct si_state *st, const imalog_record *rec, struct si_record *r)
{
	size_t hlen;
	const uint8_t *header = imalog_record_digest(rec, &hlen);
	int sha1 = si_bank_index(st, IMALOG_SHA1);
	int err;

	r->violation = imalog_record_is_violation(rec);
	if (r->violation)
		return 0;	/* calloc()ed: all zero */
	for (unsigned int b = 0; b < st->nbanks; b++) {
		uint8_t *d = r->data + r->raw_len + st->bank[b].off;

		if ((err = hash_template(&st->bank[b], rec, d)) < 0)
			return err;
	}
	if (sha1 < 0 || hlen != SI_SHA1_SIZE || memcmp(header, si_digest(st, r, sha1), hlen))
		return -EBADMSG;
	return 0;
}

/* A record from its binary form (SHA-1 header, host order), whole and valid, or an error. */
int si_record_from_raw(const struct si_state *st, const uint8_t *raw, size_t len,
		       struct si_record **ret)
{
	const struct imalog_format fmt = {IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_HOST_ORDER};
	imalog_record *rec = imalog_record_new();
	struct si_record *r = NULL;
	ptrdiff_t n;
	int err;

	*ret = NULL;
	if (!rec)
		return -ENOMEM;
	n = imalog_parse_record(&fmt, raw, len, NULL, 0, rec);
	err = n < 0 ? (int)n : (size_t)n != len ? -EBADMSG : 0;
	if (!err && !(r = calloc(1, sizeof(*r) + len + st->digests_len)))
		err = -ENOMEM;
	if (!err) {
		r->raw_len = (uint32_t)len;
		r->pcr = imalog_record_pcr(rec);
		memcpy(r->data, raw, len);
		err = fill_digests(st, rec, r);
	}
	imalog_record_free(rec);
	if (err < 0) {
		free(r);
		return err;
	}
	*ret = r;
	return 0;
}

static void put_u32(uint8_t **p, uint32_t v)
{
	memcpy(*p, &v, 4);	/* host order, as the kernel writes without ima_canonical_fmt */
	*p += 4;
}

/*
 * A record of a template other than "ima" from its fields, each written with its u32 length
 * (ima_write_template_field_data()). A violation gets an all-zero template digest.
 */
int si_record_build(const struct si_state *st, uint32_t pcr, const char *tmpl,
		    const struct si_field *f, unsigned int nfields, bool violation,
		    struct si_record **ret)
{
	size_t name_len = strlen(tmpl), data_len = 0, len;
	uint8_t *raw, *p, *data;
	int err;

	for (unsigned int i = 0; i < nfields; i++)
		data_len += 4 + f[i].len;
	len = 4 + SI_SHA1_SIZE + 4 + name_len + 4 + data_len;
	if (!(raw = calloc(1, len)))
		return -ENOMEM;
	p = raw;
	put_u32(&p, pcr);
	p += SI_SHA1_SIZE;	/* filled below */
	put_u32(&p, (uint32_t)name_len);
	memcpy(p, tmpl, name_len);
	p += name_len;
	put_u32(&p, (uint32_t)data_len);
	data = p;
	for (unsigned int i = 0; i < nfields; i++) {
		put_u32(&p, f[i].len);
		memcpy(p, f[i].data, f[i].len);
		p += f[i].len;
	}
	if (!violation && !EVP_Digest(data, data_len, raw + 4, NULL, EVP_sha1(), NULL))
		err = -EIO;
	else
		err = si_record_from_raw(st, raw, len, ret);
	free(raw);
	return err;
}

size_t si_record_binary_len(const struct si_state *st, const struct si_record *r, unsigned int b)
{
	return r->raw_len - SI_SHA1_SIZE + st->bank[b].size;
}

/* The record as binary_runtime_measurements_<bank> shows it. */
void si_record_binary(const struct si_state *st, const struct si_record *r, unsigned int b,
		      uint8_t *out)
{
	unsigned int size = st->bank[b].size;

	memcpy(out, r->data, 4);
	memcpy(out + 4, si_digest(st, r, b), size);
	memcpy(out + 4 + size, r->data + 4 + SI_SHA1_SIZE, r->raw_len - 4 - SI_SHA1_SIZE);
}

/* Append the record's line of ascii_runtime_measurements_<bank>, rendered by libimalog. */
int si_record_ascii(const struct si_state *st, const struct si_record *r, unsigned int b,
		    imalog_record *rec, imalog_buf *out)
{
	const struct imalog_format fmt = {IMALOG_INPUT_BINARY, st->bank[b].alg, IMALOG_HOST_ORDER};
	size_t len = si_record_binary_len(st, r, b);
	uint8_t *bin = malloc(len);
	ptrdiff_t n;
	int err;

	if (!bin)
		return -ENOMEM;
	si_record_binary(st, r, b, bin);
	n = imalog_parse_record(&fmt, bin, len, NULL, 0, rec);
	err = n < 0 ? (int)n : imalog_render_ascii(rec, out);
	free(bin);
	return err;
}
