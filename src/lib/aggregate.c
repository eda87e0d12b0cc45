// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The snapshot_aggregate record of the kernel series (docs/format.md section 3): an ima-buf
 * record whose buf is "version=1;deleted=D;boot_aggregate=alg:hex;pcrP_bank=hex;...". Parsed
 * strictly, because it is a claim by the machine being attested that a verifier must check.
 */
#include <stdlib.h>

#include "internal.h"

#define NAME "snapshot_aggregate"

struct imalog_aggregate {
	uint64_t deleted;
	uint64_t pcrs;
	uint32_t banks[IMALOG_MAX_PCRS];	/* bit per enum imalog_hash */
	uint8_t value[IMALOG_MAX_PCRS][IMALOG_HASH_COUNT][IMALOG_MAX_DIGEST];
	uint8_t boot[IMALOG_MAX_DIGEST];
	size_t boot_len;
	enum imalog_hash boot_alg;
};

struct text {
	const char *p;
	size_t len;
};

static bool field_is(const imalog_record *r, unsigned int i, const char *id, struct imalog_field *f)
{
	return imalog_record_field(r, i, f) == 0 && strcmp(f->id, id) == 0;
}

PUBLIC bool imalog_record_is_aggregate(const imalog_record *r)
{
	struct imalog_field f;

	return imalog_record_field_count(r) == 3 && field_is(r, 1, "n-ng", &f) &&
	       f.len == sizeof(NAME) && memcmp(f.data, NAME, sizeof(NAME)) == 0 &&
	       field_is(r, 2, "buf", &f);
}

/* Next "key=value;" item; false at the end or when malformed. */
static bool next_item(struct text *t, struct text *key, struct text *value)
{
	const char *eq = memchr(t->p, '=', t->len), *semi = memchr(t->p, ';', t->len);

	if (!eq || !semi || eq > semi)
		return false;
	*key = (struct text){ t->p, (size_t)(eq - t->p) };
	*value = (struct text){ eq + 1, (size_t)(semi - eq - 1) };
	t->len -= (size_t)(semi + 1 - t->p);
	t->p = semi + 1;
	return true;
}

static bool is(struct text t, const char *s)
{
	return t.len == strlen(s) && memcmp(t.p, s, t.len) == 0;
}

/* Decimal without sign or leading zeros. */
static int parse_dec(struct text t, uint64_t *ret)
{
	uint64_t v = 0;

	if (t.len == 0 || t.len > 20 || (t.p[0] == '0' && t.len > 1))
		return -EBADMSG;
	for (size_t i = 0; i < t.len; i++) {
		if (t.p[i] < '0' || t.p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(t.p[i] - '0');
	}
	*ret = v;
	return 0;
}

static int parse_lower_hex(struct text t, uint8_t *out, size_t size)
{
	for (size_t i = 0; i < t.len; i++)
		if (t.p[i] >= 'A' && t.p[i] <= 'F')
			return -EBADMSG;
	return imalog_unhex(t.p, t.len, out, size);
}

/* "pcr<P>_<bank>" = hex */
static int parse_pcr_item(imalog_aggregate *a, struct text key, struct text value,
			  unsigned int *last_pcr)
{
	const char *us = memchr(key.p, '_', key.len);
	char bank[16];
	uint64_t pcr;
	enum imalog_hash alg;
	size_t blen;

	if (key.len < 5 || memcmp(key.p, "pcr", 3) || !us ||
	    parse_dec((struct text){ key.p + 3, (size_t)(us - key.p - 3) }, &pcr) < 0 ||
	    pcr >= IMALOG_MAX_PCRS || pcr < *last_pcr)
		return -EBADMSG;
	*last_pcr = (unsigned int)pcr;
	blen = key.len - (size_t)(us + 1 - key.p);
	if (blen == 0 || blen >= sizeof(bank))
		return -EBADMSG;
	memcpy(bank, us + 1, blen);
	bank[blen] = '\0';
	if (imalog_hash_from_name(bank, &alg) < 0)
		return value.len % 2 ? -EBADMSG : 0;	/* a bank this library does not know */
	if (a->banks[pcr] >> alg & 1)
		return -EBADMSG;
	if (parse_lower_hex(value, a->value[pcr][alg], imalog_hash_size(alg)) < 0)
		return -EBADMSG;
	a->banks[pcr] |= 1u << alg;
	a->pcrs |= UINT64_C(1) << pcr;
	return 0;
}

static int parse_boot(imalog_aggregate *a, struct text v)
{
	const char *colon = memchr(v.p, ':', v.len);
	char name[16];
	enum imalog_hash alg;
	size_t nlen;

	if (!colon || (nlen = (size_t)(colon - v.p)) == 0 || nlen >= sizeof(name))
		return -EBADMSG;
	memcpy(name, v.p, nlen);
	name[nlen] = '\0';
	if (imalog_hash_from_name(name, &alg) < 0)
		return -EOPNOTSUPP;
	a->boot_alg = alg;
	a->boot_len = imalog_hash_size(alg);
	return parse_lower_hex((struct text){ colon + 1, v.len - nlen - 1 }, a->boot, a->boot_len);
}

/*
 * A digest field as ima_eventdigest_init_common() writes it: d (a bare SHA-1 digest), d-ng
 * ("<alg>:" NUL digest) or d-ngv2 ("<type>:<alg>:" NUL digest).
 */
static int digest_field(const struct imalog_field *f, enum imalog_hash *ret_alg,
			const uint8_t **ret_digest)
{
	const uint8_t *nul = memchr(f->data, '\0', f->len);
	const uint8_t *start = f->data, *colon = NULL;
	char name[16];
	enum imalog_hash alg;
	size_t nlen;

	if (f->format == IMALOG_FIELD_DIGEST) {
		if (f->len != imalog_hash_size(IMALOG_SHA1))
			return -EBADMSG;
		*ret_alg = IMALOG_SHA1;
		*ret_digest = f->data;
		return 0;
	}
	if (f->format != IMALOG_FIELD_DIGEST_ALGO && f->format != IMALOG_FIELD_DIGEST_TYPE_ALGO)
		return -EBADMSG;
	if (!nul || nul == f->data || nul[-1] != ':')
		return -EBADMSG;
	colon = nul - 1;
	if (f->format == IMALOG_FIELD_DIGEST_TYPE_ALGO) {
		const uint8_t *type_end = memchr(f->data, ':', (size_t)(colon - f->data));

		if (!type_end)
			return -EBADMSG;
		start = type_end + 1;
	}
	nlen = (size_t)(colon - start);
	if (nlen == 0 || nlen >= sizeof(name))
		return -EBADMSG;
	memcpy(name, start, nlen);
	name[nlen] = '\0';
	if (imalog_hash_from_name(name, &alg) < 0)
		return -EOPNOTSUPP;
	if ((size_t)(f->data + f->len - (nul + 1)) != imalog_hash_size(alg))
		return -EBADMSG;
	*ret_alg = alg;
	*ret_digest = nul + 1;
	return 0;
}

/* 3.2: d-ng is the kernel's ima_hash digest of buf, as for every ima-buf record. */
static int check_buf_digest(const imalog_record *r, const struct imalog_field *buf)
{
	struct imalog_field f;
	enum imalog_hash alg;
	const uint8_t *digest;
	uint8_t want[IMALOG_MAX_DIGEST];
	struct hash_ctx *c;
	int e;

	if (imalog_record_field(r, 0, &f) < 0 || !f.id || strcmp(f.id, "d-ng") != 0)
		return -EBADMSG;
	if ((e = digest_field(&f, &alg, &digest)) < 0 || (e = hash_ctx_new(alg, &c)) < 0)
		return e;
	hash_init(c);
	hash_update(c, buf->data, buf->len);
	hash_final(c, want);
	hash_ctx_free(c);
	return memcmp(want, digest, imalog_hash_size(alg)) == 0 ? 0 : -EBADMSG;
}

static int parse_text(imalog_aggregate *a, struct text t)
{
	static const char allowed[] = "0123456789abcdefghijklmnopqrstuvwxyz_=:;-";
	struct text key, value;
	unsigned int last_pcr = 0;
	int r;

	for (size_t i = 0; i < t.len; i++)
		if (!t.p[i] || !strchr(allowed, t.p[i]))
			return -EBADMSG;
	if (!next_item(&t, &key, &value) || !is(key, "version"))
		return -EBADMSG;
	if (!is(value, "1"))
		return -EOPNOTSUPP;
	if (!next_item(&t, &key, &value) || !is(key, "deleted") ||
	    parse_dec(value, &a->deleted) < 0 || a->deleted == 0)
		return -EBADMSG;
	if (!next_item(&t, &key, &value) || !is(key, "boot_aggregate") ||
	    (r = parse_boot(a, value)) < 0)
		return -EBADMSG;
	while (t.len > 0) {
		if (!next_item(&t, &key, &value))
			return -EBADMSG;
		if ((r = parse_pcr_item(a, key, value, &last_pcr)) < 0)
			return r;
	}
	return 0;
}

PUBLIC int imalog_aggregate_parse(const imalog_record *r, imalog_aggregate **ret)
{
	struct imalog_field f;
	imalog_aggregate *a;
	int e;

	if (!imalog_record_is_aggregate(r) || imalog_record_field(r, 2, &f) < 0)
		return -EINVAL;
	/* 3.2: ima-buf whatever the configured template, and a d-ng that matches buf. */
	if (r->name_len != strlen("ima-buf") || memcmp(r->name, "ima-buf", r->name_len) != 0)
		return -EBADMSG;
	if ((e = check_buf_digest(r, &f)) < 0)
		return e;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	e = parse_text(a, (struct text){ (const char *)f.data, f.len });
	if (e < 0) {
		free(a);
		return e;
	}
	*ret = a;
	return 0;
}

PUBLIC void imalog_aggregate_free(imalog_aggregate *a)
{
	free(a);
}

PUBLIC uint64_t imalog_aggregate_deleted(const imalog_aggregate *a)
{
	return a->deleted;
}

PUBLIC uint64_t imalog_aggregate_pcrs(const imalog_aggregate *a)
{
	return a->pcrs;
}

PUBLIC const uint8_t *imalog_aggregate_pcr(const imalog_aggregate *a, unsigned int pcr,
					   enum imalog_hash alg)
{
	if (pcr >= IMALOG_MAX_PCRS || (unsigned int)alg >= IMALOG_HASH_COUNT ||
	    !(a->banks[pcr] >> alg & 1))
		return NULL;
	return a->value[pcr][alg];
}

PUBLIC const uint8_t *imalog_aggregate_boot_digest(const imalog_aggregate *a, size_t *ret_len)
{
	*ret_len = a->boot_len;
	return a->boot;
}

PUBLIC enum imalog_hash imalog_aggregate_boot_alg(const imalog_aggregate *a)
{
	return a->boot_alg;
}

static bool name_is_boot_aggregate(const struct imalog_field *f)
{
	static const char name[] = "boot_aggregate";

	/* n-ng holds the name and its NUL; the legacy n field of the "ima" template has none. */
	return f->format == IMALOG_FIELD_STRING && f->len >= sizeof(name) - 1 &&
	       f->len <= sizeof(name) && memcmp(f->data, name, f->len) == 0 &&
	       (f->len == sizeof(name) ? strcmp(f->id, "n-ng") == 0 : strcmp(f->id, "n") == 0);
}

PUBLIC int imalog_record_boot_aggregate(const imalog_record *r, enum imalog_hash *ret_alg,
					const uint8_t **ret_digest)
{
	int n = imalog_record_field_count(r);
	struct imalog_field f, d;
	bool named = false;

	if (n < 2 || imalog_record_field(r, 0, &d) < 0)
		return 0;
	for (int i = 1; i < n; i++) {
		if (imalog_record_field(r, (unsigned int)i, &f) < 0)
			return 0;
		if (strcmp(f.id, "n-ng") == 0 || strcmp(f.id, "n") == 0)
			named = name_is_boot_aggregate(&f);
		else if (strcmp(f.id, "buf") == 0 && f.len)
			return 0; /* an ima-buf record of some key or buffer of that name */
	}
	if (!named || r->violation)
		return 0;
	return digest_field(&d, ret_alg, ret_digest) < 0 ? -EBADMSG : 1;
}
