// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ASCII form, as ima_ascii_measurements_show() (ima_fs.c) and the field_show functions of
 * ima_template_lib.c print it: "%2d <digest hex> <template>" then " <field>" per field, "\n".
 * Rendering reproduces it byte for byte; parsing rebuilds the exact binary template data.
 * The kernel replaces spaces in strings with '_' (ima_write_template_field_data()), so fields
 * never contain the separator.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "internal.h"

/* ima_show_template_data_ascii(), DATA_FMT_DIGEST_WITH_[TYPE_AND_]ALGO: "alg:" NUL digest. */
static int render_digest_algo(const uint8_t *data, uint32_t len, imalog_buf *out)
{
	size_t slen = strnlen((const char *)data, len), colon;
	int r;

	for (colon = slen; colon > 0 && data[colon - 1] != ':'; colon--)
		;
	if (colon == 0 || colon + 1 > len)
		return -EBADMSG;
	colon--;
	if (colon != 0 && (r = buf_append(out, data, slen)) < 0)
		return r;
	return buf_hex(out, data + colon + 2, len - colon - 2);
}

static int render_uint(const imalog_record *rec, const struct imalog_field *f, imalog_buf *out)
{
	if (f->len != 1 && f->len != 2 && f->len != 4 && f->len != 8)
		return 0;	/* the kernel prints nothing for other sizes */
	return buf_printf(out, "%" PRIu64, imalog_record_field_uint(rec, f));
}

static int render_field(const imalog_record *rec, const struct imalog_field *f, imalog_buf *out)
{
	switch (f->format) {
	case IMALOG_FIELD_DIGEST:
	case IMALOG_FIELD_HEX:
		return buf_hex(out, f->data, f->len);
	case IMALOG_FIELD_DIGEST_ALGO:
	case IMALOG_FIELD_DIGEST_TYPE_ALGO:
		return render_digest_algo(f->data, f->len, out);
	case IMALOG_FIELD_STRING:
		return buf_append(out, f->data, strnlen((const char *)f->data, f->len));
	case IMALOG_FIELD_UINT:
		return render_uint(rec, f, out);
	default:
		return -EOPNOTSUPP;
	}
}

PUBLIC int imalog_render_ascii(const imalog_record *rec, imalog_buf *out)
{
	int n = imalog_record_field_count(rec), r;

	if (n < 0)
		return n;
	if ((r = buf_printf(out, "%2u ", (unsigned int)rec->pcr)) < 0 ||
	    (r = buf_hex(out, rec->digest, rec->digest_len)) < 0 || (r = buf_append(out, " ", 1)) < 0 ||
	    (r = buf_append(out, rec->name, rec->name_len)) < 0)
		return r;
	for (int i = 0; i < n; i++) {
		struct imalog_field f;

		if ((r = imalog_record_field(rec, (unsigned int)i, &f)) < 0 ||
		    (r = buf_append(out, " ", 1)) < 0)
			return r;
		if (f.len && (r = render_field(rec, &f, out)) < 0)
			return r;
	}
	return buf_append(out, "\n", 1);
}

/* ---- parsing ---- */

struct token {
	const char *p;
	size_t len;
};

struct builder {
	uint8_t *p;
	size_t used;
	enum imalog_byte_order order;
};

static int put_hex(struct builder *b, struct token t)
{
	int r = imalog_unhex(t.p, t.len, b->p + b->used, t.len / 2);

	if (r < 0)
		return r;
	b->used += t.len / 2;
	return 0;
}

static int put_digest_algo(struct builder *b, struct token t)
{
	size_t colon = t.len;

	while (colon > 0 && t.p[colon - 1] != ':')
		colon--;
	if (colon < 2)
		return -EBADMSG;	/* the kernel always names the algorithm before the ':' */
	memcpy(b->p + b->used, t.p, colon);
	b->p[b->used + colon] = '\0';
	b->used += colon + 1;
	return put_hex(b, (struct token){ t.p + colon, t.len - colon });
}

static int put_uint(struct builder *b, struct token t, unsigned int size)
{
	uint64_t v = 0;

	if (t.len == 0 || t.len > 20)
		return -EBADMSG;
	for (size_t i = 0; i < t.len; i++) {
		if (t.p[i] < '0' || t.p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(t.p[i] - '0');
	}
	if (size < 8 && v >> (8 * size))
		return -E2BIG;
	for (unsigned int i = 0; i < size; i++) {
		unsigned int shift = b->order == IMALOG_BIG_ENDIAN ? 8 * (size - 1 - i) : 8 * i;

		b->p[b->used++] = (uint8_t)(v >> shift);
	}
	return 0;
}

/*
 * One field, as the kernel holds it: strings with their NUL (ima_write_template_field_data()),
 * and an empty field, which the kernel prints as nothing, as no bytes.
 */
static int put_field(struct builder *b, const struct field_type *ft, struct token t)
{
	if (t.len == 0 && ft->format != IMALOG_FIELD_STRING)
		return 0;
	switch (ft->format) {
	case IMALOG_FIELD_DIGEST:
	case IMALOG_FIELD_HEX:
		return put_hex(b, t);
	case IMALOG_FIELD_DIGEST_ALGO:
	case IMALOG_FIELD_DIGEST_TYPE_ALGO:
		return put_digest_algo(b, t);
	case IMALOG_FIELD_STRING:
		memcpy(b->p + b->used, t.p, t.len);
		b->p[b->used + t.len] = '\0';
		b->used += t.len + 1;
		return 0;
	case IMALOG_FIELD_UINT:
		return put_uint(b, t, ft->uint_size);
	default:
		return -EOPNOTSUPP;
	}
}

/* The legacy "ima" template: digest[20] || u32 len || name without NUL. */
static int build_legacy(struct builder *b, const struct token *tok)
{
	if (tok[0].len != 40 || tok[1].len > IMALOG_MAX_EVENT_NAME)
		return -EBADMSG;
	if (put_hex(b, tok[0]) < 0)
		return -EBADMSG;
	put_u32(b->p + b->used, (uint32_t)tok[1].len, b->order);
	memcpy(b->p + b->used + 4, tok[1].p, tok[1].len);
	b->used += 4 + tok[1].len;
	return 0;
}

static int build_fields(struct builder *b, const struct template_desc *t, const struct token *tok)
{
	if (t->legacy_ima)
		return build_legacy(b, tok);
	for (unsigned int i = 0; i < t->nfields; i++) {
		size_t start = b->used;
		int r;

		b->used += 4;
		r = put_field(b, field_type_get(t->field[i]), tok[i]);
		if (r < 0)
			return r;
		put_u32(b->p + start, (uint32_t)(b->used - start - 4), b->order);
	}
	return 0;
}

/* Split @line at single spaces after the fixed "%2d " prefix. */
static int split(const char *line, size_t len, struct token *tok, size_t max, size_t *ret_n)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (n == max)
			return -EBADMSG;
		tok[n++] = (struct token){ line + start, i - start };
		start = i + 1;
	}
	*ret_n = n;
	return 0;
}

static int parse_pcr(const char **line, size_t *len, uint32_t *ret)
{
	const char *p = *line, *end = p + *len;
	uint32_t v = 0;

	if (p < end && *p == ' ')
		p++;	/* "%2d" pads one-digit PCRs */
	if (p == end || *p < '0' || *p > '9')
		return -EBADMSG;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint32_t)(*p - '0');
		if (v >= IMALOG_MAX_PCRS)
			return -E2BIG;
	}
	if (p == end || *p != ' ')
		return -EBADMSG;
	*len -= (size_t)(p + 1 - *line);
	*line = p + 1;
	*ret = v;
	return 0;
}

int parse_ascii(const struct imalog_format *fmt, const uint8_t *buf, size_t len, uint8_t *scratch,
		size_t scratch_len, struct imalog_record *r)
{
	const uint8_t *nl = memchr(buf, '\n', len);
	struct token tok[2 + IMALOG_MAX_FIELDS];
	const char *line = (const char *)buf;
	size_t line_len, n, dlen = imalog_hash_size(fmt->log_bank);
	struct builder b = { scratch, 0, order_resolve(fmt->order) };
	int ret;

	if (!nl)
		return len > IMALOG_MAX_TEMPLATE_DATA * 2 + 4096 ? -E2BIG : 0;
	line_len = (size_t)(nl - buf);
	if (memchr(buf, '\0', line_len))
		return -EBADMSG;	/* the kernel prints C strings: no NUL in any field */
	if (scratch_len < ascii_scratch_need(line_len))
		return -ENOBUFS;
	if ((ret = parse_pcr(&line, &line_len, &r->pcr)) < 0 ||
	    (ret = split(line, line_len, tok, ARRAY_SIZE(tok), &n)) < 0)
		return ret;
	if (n < 2 || tok[0].len != 2 * dlen || tok[1].len == 0 ||
	    tok[1].len > IMALOG_MAX_TEMPLATE_NAME || put_hex(&b, tok[0]) < 0)
		return -EBADMSG;
	r->order = b.order;
	r->digest = scratch;
	r->digest_len = (uint8_t)dlen;
	r->digest_alg = fmt->log_bank;
	r->violation = true;
	for (size_t i = 0; i < dlen; i++)
		r->violation &= scratch[i] == 0;
	r->name = tok[1].p;
	r->name_len = (uint32_t)tok[1].len;
	r->tmpl = template_lookup(r->name, r->name_len, &r->custom);
	if (!r->tmpl->known)
		return -EOPNOTSUPP;
	if (n - 2 != r->tmpl->nfields)
		return -EBADMSG;
	if ((ret = build_fields(&b, r->tmpl, tok + 2)) < 0)
		return ret;
	r->data = scratch + dlen;
	r->data_len = (uint32_t)(b.used - dlen);
	return (int)(nl - buf) + 1;
}
