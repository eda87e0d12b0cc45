// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The binary record, as ima_measurements_show() (security/integrity/ima/ima_fs.c) writes it:
 *
 *   u32 pcr | digest[bank size] | u32 name_len | name | u32 data_len | template data
 *
 * where the legacy "ima" template has no data_len, a 20-byte digest without a length, and its
 * name as u32 length plus the bytes without NUL (IMA_SHOW_BINARY_OLD_STRING_FMT). Integers are
 * in the writer's byte order, little-endian with ima_canonical_fmt.
 */
#include <stdlib.h>

#include "internal.h"

struct cursor {
	const uint8_t *p;
	size_t left;
};

/* Take @n bytes; false if the input ends first. */
static bool take(struct cursor *c, size_t n, const uint8_t **ret)
{
	if (n > c->left)
		return false;
	*ret = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static bool take_u32(struct cursor *c, enum imalog_byte_order o, uint32_t *ret)
{
	const uint8_t *p;

	if (!take(c, 4, &p))
		return false;
	*ret = get_u32(p, o);
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* 1 when done, 0 when the input ends early, or a negative errno. */
static int parse_template_data(struct cursor *c, struct imalog_record *r)
{
	const uint8_t *p;
	uint32_t len;

	if (r->tmpl->legacy_ima) {
		const uint8_t *start = c->p;

		if (!take(c, 20, &p) || !take_u32(c, r->order, &len))
			return 0;
		if (len > IMALOG_MAX_EVENT_NAME)
			return -E2BIG;
		if (!take(c, len, &p))
			return 0;
		r->data = start;
		r->data_len = 24 + len;
		return 1;
	}
	if (!take_u32(c, r->order, &len))
		return 0;
	if (len > IMALOG_MAX_TEMPLATE_DATA)
		return -E2BIG;
	if (!take(c, len, &r->data))
		return 0;
	r->data_len = len;
	return template_data_check(r) < 0 ? -EBADMSG : 1;
}

int parse_binary(const struct imalog_format *fmt, const uint8_t *buf, size_t len,
		 struct imalog_record *r)
{
	struct cursor c = { buf, len };
	const uint8_t *p;
	size_t dlen = imalog_hash_size(fmt->log_bank);
	int ret;

	r->order = order_resolve(fmt->order);
	if (!take_u32(&c, r->order, &r->pcr) || !take(&c, dlen, &r->digest) ||
	    !take_u32(&c, r->order, &r->name_len))
		return 0;
	if (r->pcr >= IMALOG_MAX_PCRS || r->name_len > IMALOG_MAX_TEMPLATE_NAME)
		return -E2BIG;
	if (r->name_len == 0)
		return -EBADMSG;
	if (!take(&c, r->name_len, &p))
		return 0;
	r->name = (const char *)p;
	r->digest_len = (uint8_t)dlen;
	r->digest_alg = fmt->log_bank;
	r->violation = all_zero(r->digest, dlen);
	r->tmpl = template_lookup(r->name, r->name_len, &r->custom);
	ret = parse_template_data(&c, r);
	if (ret <= 0)
		return ret;
	return (int)(len - c.left);
}

PUBLIC ptrdiff_t imalog_parse_record(const struct imalog_format *fmt, const uint8_t *buf,
				     size_t len, uint8_t *scratch, size_t scratch_len,
				     imalog_record *ret)
{
	if (!imalog_hash_size(fmt->log_bank))
		return -EINVAL;
	if (fmt->input == IMALOG_INPUT_ASCII)
		return parse_ascii(fmt, buf, len, scratch, scratch_len, ret);
	return parse_binary(fmt, buf, len, ret);
}

PUBLIC imalog_record *imalog_record_new(void)
{
	return calloc(1, sizeof(struct imalog_record));
}

PUBLIC void imalog_record_free(imalog_record *r)
{
	free(r);
}

PUBLIC uint64_t imalog_record_index(const imalog_record *r)
{
	return r->index;
}

PUBLIC uint64_t imalog_record_offset(const imalog_record *r)
{
	return r->offset;
}

PUBLIC uint32_t imalog_record_pcr(const imalog_record *r)
{
	return r->pcr;
}

PUBLIC const uint8_t *imalog_record_digest(const imalog_record *r, size_t *ret_len)
{
	*ret_len = r->digest_len;
	return r->digest;
}

PUBLIC enum imalog_hash imalog_record_digest_alg(const imalog_record *r)
{
	return r->digest_alg;
}

PUBLIC const char *imalog_record_template(const imalog_record *r, size_t *ret_len)
{
	*ret_len = r->name_len;
	return r->name;
}

PUBLIC const uint8_t *imalog_record_template_data(const imalog_record *r, size_t *ret_len)
{
	*ret_len = r->data_len;
	return r->data;
}

PUBLIC bool imalog_record_is_violation(const imalog_record *r)
{
	return r->violation;
}

/*
 * The record as the kernel wrote it. Its byte order is kept: the template hash covers the field
 * lengths in that order, so a record converted to another order would no longer match its digest.
 */
PUBLIC int imalog_render_binary(const imalog_record *r, imalog_buf *out)
{
	uint8_t u32[4];
	int ret;

	put_u32(u32, r->pcr, r->order);
	if ((ret = buf_append(out, u32, 4)) < 0 || (ret = buf_append(out, r->digest, r->digest_len)) < 0)
		return ret;
	put_u32(u32, r->name_len, r->order);
	if ((ret = buf_append(out, u32, 4)) < 0 || (ret = buf_append(out, r->name, r->name_len)) < 0)
		return ret;
	if (!r->tmpl->legacy_ima) {
		put_u32(u32, r->data_len, r->order);
		if ((ret = buf_append(out, u32, 4)) < 0)
			return ret;
	}
	return buf_append(out, r->data, r->data_len);
}
