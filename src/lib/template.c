// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Template descriptors and their fields, as defined by security/integrity/ima/ima_template.c
 * (supported_fields[], builtin_templates[]) and ima_template_lib.c (the data formats).
 */
#include "internal.h"

static const struct field_type fields[] = {
	{ "d", IMALOG_FIELD_DIGEST, 0 },
	{ "n", IMALOG_FIELD_STRING, 0 },
	{ "d-ng", IMALOG_FIELD_DIGEST_ALGO, 0 },
	{ "d-ngv2", IMALOG_FIELD_DIGEST_TYPE_ALGO, 0 },
	{ "n-ng", IMALOG_FIELD_STRING, 0 },
	{ "sig", IMALOG_FIELD_HEX, 0 },
	{ "buf", IMALOG_FIELD_HEX, 0 },
	{ "d-modsig", IMALOG_FIELD_DIGEST_ALGO, 0 },
	{ "modsig", IMALOG_FIELD_HEX, 0 },
	{ "evmsig", IMALOG_FIELD_HEX, 0 },
	{ "iuid", IMALOG_FIELD_UINT, 4 },	/* uid_t */
	{ "igid", IMALOG_FIELD_UINT, 4 },	/* gid_t */
	{ "imode", IMALOG_FIELD_UINT, 2 },	/* umode_t */
	{ "xattrnames", IMALOG_FIELD_STRING, 0 },
	{ "xattrlengths", IMALOG_FIELD_HEX, 0 },
	{ "xattrvalues", IMALOG_FIELD_HEX, 0 },
};

static const struct field_type unknown_field = { NULL, IMALOG_FIELD_UNKNOWN, 0 };

enum { F_D, F_N, F_DNG, F_DNGV2, F_NNG, F_SIG, F_BUF, F_DMODSIG, F_MODSIG, F_EVMSIG, F_IUID,
       F_IGID, F_IMODE, F_XNAMES, F_XLENGTHS, F_XVALUES, F_UNKNOWN = 0xff };

#define T(nm, legacy, ...)                                                                         \
	{ .name = nm, .known = true, .legacy_ima = legacy,                                         \
	  .nfields = sizeof((uint8_t[]){ __VA_ARGS__ }), .field = { __VA_ARGS__ } }

static const struct template_desc builtin[] = {
	T("ima-ng", false, F_DNG, F_NNG),
	T("ima-sig", false, F_DNG, F_NNG, F_SIG),
	T("ima-buf", false, F_DNG, F_NNG, F_BUF),
	T("ima", true, F_D, F_N),
	T("ima-ngv2", false, F_DNGV2, F_NNG),
	T("ima-sigv2", false, F_DNGV2, F_NNG, F_SIG),
	T("ima-modsig", false, F_DNG, F_NNG, F_SIG, F_DMODSIG, F_MODSIG),
	T("evm-sig", false, F_DNG, F_NNG, F_EVMSIG, F_XNAMES, F_XLENGTHS, F_XVALUES, F_IUID, F_IGID,
	  F_IMODE),
};

const struct field_type *field_type_get(unsigned int idx)
{
	return idx < ARRAY_SIZE(fields) ? &fields[idx] : &unknown_field;
}

static uint8_t field_index(const char *id, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strlen(fields[i].id) == len && memcmp(fields[i].id, id, len) == 0)
			return (uint8_t)i;
	return F_UNKNOWN;
}

/* A custom template is named by its field list, "d-ng|n-ng|sig" (template_desc_init_fields()). */
static void parse_field_list(const char *name, size_t len, struct template_desc *t)
{
	size_t start = 0;

	t->known = len > 0;
	t->nfields = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '|')
			continue;
		if (t->nfields == IMALOG_MAX_FIELDS) {
			t->known = false;
			return;
		}
		t->field[t->nfields] = field_index(name + start, i - start);
		if (t->field[t->nfields] == F_UNKNOWN)
			t->known = false;
		t->nfields++;
		start = i + 1;
	}
}

const struct template_desc *template_lookup(const char *name, size_t len,
					    struct template_desc *custom)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		if (strlen(builtin[i].name) == len && memcmp(builtin[i].name, name, len) == 0)
			return &builtin[i];

	memset(custom, 0, sizeof(*custom));
	memcpy(custom->name, name, len < IMALOG_MAX_TEMPLATE_NAME ? len : IMALOG_MAX_TEMPLATE_NAME);
	parse_field_list(name, len, custom);
	if (!custom->known)
		custom->nfields = 0;
	return custom;
}

int template_data_check(const struct imalog_record *r)
{
	uint32_t off = 0, n = 0;

	while (off < r->data_len) {
		uint32_t left = r->data_len - off, flen;

		if (left < 4 || n == IMALOG_MAX_FIELDS)
			return -EBADMSG;
		flen = get_u32(r->data + off, r->order);
		if (flen > left - 4)
			return -EBADMSG;
		off += 4 + flen;
		n++;
	}
	if (r->tmpl->known && n != r->tmpl->nfields)
		return -EBADMSG;
	return 0;
}

PUBLIC int imalog_record_field_count(const imalog_record *r)
{
	return r->tmpl->known ? r->tmpl->nfields : -EOPNOTSUPP;
}

/* The legacy "ima" layout: a 20-byte digest, then a u32 length and the name (no NUL). */
static void legacy_field(const imalog_record *r, unsigned int i, struct imalog_field *f)
{
	if (i == 0) {
		f->data = r->data;
		f->len = 20;
	} else {
		f->data = r->data + 24;
		f->len = r->data_len - 24;
	}
}

PUBLIC int imalog_record_field(const imalog_record *r, unsigned int i, struct imalog_field *ret)
{
	const struct field_type *ft;
	uint32_t off = 0;

	if (!r->tmpl->known || i >= r->tmpl->nfields)
		return r->tmpl->known ? -EINVAL : -EOPNOTSUPP;
	ft = field_type_get(r->tmpl->field[i]);
	ret->id = ft->id;
	ret->format = ft->format;
	if (r->tmpl->legacy_ima) {
		legacy_field(r, i, ret);
		return 0;
	}
	/* template_data_check() proved that the lengths tile the data. */
	for (unsigned int k = 0; k < i; k++)
		off += 4 + get_u32(r->data + off, r->order);
	ret->len = get_u32(r->data + off, r->order);
	ret->data = r->data + off + 4;
	return 0;
}

PUBLIC uint64_t imalog_record_field_uint(const imalog_record *r, const struct imalog_field *f)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < f->len && i < 8; i++) {
		uint32_t k = r->order == IMALOG_BIG_ENDIAN ? i : f->len - 1 - i;

		v = v << 8 | f->data[k];
	}
	return v;
}
