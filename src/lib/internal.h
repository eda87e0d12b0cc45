/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Definitions shared by the library's modules; never installed. */
#ifndef IMALOG_INTERNAL_H
#define IMALOG_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "imalog.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PUBLIC __attribute__((visibility("default")))

/* ---- templates (template.c) ---- */

struct template_desc {
	char name[IMALOG_MAX_TEMPLATE_NAME + 1];
	uint8_t nfields;
	bool known;		/* every field id is one the kernel defines */
	bool legacy_ima;	/* the "ima" template: its own binary layout and hash */
	uint8_t field[IMALOG_MAX_FIELDS];	/* index into the field table */
};

struct field_type {
	const char *id;
	enum imalog_field_format format;
	uint8_t uint_size;	/* for UINT fields: the kernel's sizeof() */
};

const struct field_type *field_type_get(unsigned int idx);
/*
 * Describe a template from its name: a built-in descriptor, or @custom filled from the field
 * list the name spells (known == false if a field id is not the kernel's).
 */
const struct template_desc *template_lookup(const char *name, size_t len,
					    struct template_desc *custom);

/* ---- records ---- */

struct imalog_record {
	uint64_t index;
	uint64_t offset;
	const uint8_t *digest;		/* header digest, log bank */
	const char *name;		/* template name */
	const uint8_t *data;		/* template data, as hashed (legacy: d || u32 len || name) */
	const struct template_desc *tmpl;
	uint32_t pcr;
	uint32_t name_len;
	uint32_t data_len;
	uint8_t digest_len;
	enum imalog_hash digest_alg;	/* the log's bank */
	bool violation;
	enum imalog_byte_order order;	/* resolved: never IMALOG_HOST_ORDER */
	struct template_desc custom;	/* tmpl points here for templates not built in */
};

/* Bound on what one ASCII line rebuilds into (see imalog_parse_record()). */
static inline size_t ascii_scratch_need(size_t line_len)
{
	return 2 * line_len + 256;
}

int parse_binary(const struct imalog_format *fmt, const uint8_t *buf, size_t len,
		 struct imalog_record *r);
int parse_ascii(const struct imalog_format *fmt, const uint8_t *buf, size_t len, uint8_t *scratch,
		size_t scratch_len, struct imalog_record *r);

/* Walk the length-prefixed fields of a non-legacy template. -EBADMSG if they do not tile it. */
int template_data_check(const struct imalog_record *r);

/* ---- byte order ---- */

static inline enum imalog_byte_order order_resolve(enum imalog_byte_order o)
{
	if (o != IMALOG_HOST_ORDER)
		return o;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return IMALOG_BIG_ENDIAN;
#else
	return IMALOG_LITTLE_ENDIAN;
#endif
}

static inline uint32_t get_u32(const uint8_t *p, enum imalog_byte_order o)
{
	if (o == IMALOG_BIG_ENDIAN)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline void put_u32(uint8_t *p, uint32_t v, enum imalog_byte_order o)
{
	for (int i = 0; i < 4; i++) {
		int shift = o == IMALOG_BIG_ENDIAN ? 24 - 8 * i : 8 * i;

		p[i] = (uint8_t)(v >> shift);
	}
}

/* ---- hashing (hash.c) ---- */

struct hash_ctx;
/* -EOPNOTSUPP when the crypto backend lacks the algorithm. */
int hash_ctx_new(enum imalog_hash alg, struct hash_ctx **ret);
void hash_ctx_free(struct hash_ctx *c);
void hash_init(struct hash_ctx *c);
void hash_update(struct hash_ctx *c, const void *data, size_t len);
void hash_final(struct hash_ctx *c, uint8_t *out);
/* PCR = H(PCR || digest), in place. */
void hash_extend(struct hash_ctx *c, uint8_t *pcr, const uint8_t *digest);

/* The digest IMA extends for a record in one bank (ima_calc_field_array_hash_tfm()). */
void record_template_hash(struct hash_ctx *c, const struct imalog_record *r, uint8_t *out);

/* ---- output buffer (buf.c) ---- */

int buf_reserve(imalog_buf *b, size_t more);
int buf_append(imalog_buf *b, const void *data, size_t len);
int buf_printf(imalog_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_hex(imalog_buf *b, const uint8_t *data, size_t len);

/* ---- reader internals used by replay.c ---- */

/*
 * Parse every whole record that is in the reader's buffer now (at most @max) into @recs.
 * Returns the count, 0 at the end of input, or a negative errno. Without @may_refill the
 * buffer is not touched, so the previous batch stays valid: -EAGAIN when no whole record is
 * left in it. Otherwise the records stay valid until the next call.
 */
int reader_next_batch(imalog_reader *rd, imalog_record *recs, size_t max, bool may_refill);
/* Whether batches may overlap: not for ASCII input, whose batches share one scratch area. */
bool reader_overlaps(const imalog_reader *rd);

#endif
