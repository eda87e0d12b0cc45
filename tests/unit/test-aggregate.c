// SPDX-License-Identifier: GPL-2.0-or-later
/* snapshot_aggregate records (docs/format.md section 3): strict parsing of the claim. */
#include <errno.h>

#include "check.h"
#include "imalog.h"
#include "logbuild.h"

#define S1 "00112233445566778899aabbccddeeff00112233"
#define S256 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static const struct imalog_format fmt = { IMALOG_INPUT_BINARY, IMALOG_SHA1,
					 IMALOG_LITTLE_ENDIAN };

/*
 * An aggregate record with @text as buf, in template @tmpl, whose d-ng names @alg and holds the
 * SHA-256 of @text with its first byte xored with @flip.
 */
static int parse_as(const char *tmpl, const char *alg, uint8_t flip, const char *text,
		    imalog_aggregate **agg, bool *is_aggregate)
{
	uint8_t dng[16 + 32];
	size_t alen = strlen(alg) + 1;
	const char *name = "snapshot_aggregate";
	imalog_record *r = imalog_record_new();
	struct lb b = { 0 };
	int ret;

	memcpy(dng, alg, alen);
	SHA256((const uint8_t *)text, strlen(text), dng + alen);
	dng[alen] ^= flip;
	struct lb_field f[3] = { { dng, (uint32_t)(alen + 32) },
				 { name, (uint32_t)strlen(name) + 1 },
				 { text, (uint32_t)strlen(text) } };
	lb_record(&b, 10, tmpl, f, 3, false);
	if (imalog_parse_record(&fmt, b.buf, b.len, NULL, 0, r) != (ptrdiff_t)b.len)
		abort();
	*is_aggregate = imalog_record_is_aggregate(r);
	ret = imalog_aggregate_parse(r, agg);
	imalog_record_free(r);
	return ret;
}

static int parse_buf(const char *text, imalog_aggregate **agg, bool *is_aggregate)
{
	return parse_as("ima-buf", "sha256:", 0, text, agg, is_aggregate);
}

static void test_valid(void)
{
	imalog_aggregate *a = NULL;
	bool is = false;
	size_t len;
	uint8_t want1[20], want256[32];

	CHECK_INT(parse_buf("version=1;deleted=1000;boot_aggregate=sha256:" S256 ";pcr10_sha1=" S1
			    ";pcr10_sha256=" S256 ";pcr11_sha1=" S1 ";pcr11_sm3=" S256 ";",
			    &a, &is),
		  0);
	CHECK(is);
	if (!a)
		return;
	CHECK_INT(imalog_unhex(S1, 40, want1, 20), 0);
	CHECK_INT(imalog_unhex(S256, 64, want256, 32), 0);
	CHECK_INT(imalog_aggregate_deleted(a), 1000);
	CHECK_INT(imalog_aggregate_pcrs(a), (1 << 10) | (1 << 11));
	CHECK_MEM(imalog_aggregate_pcr(a, 10, IMALOG_SHA1), want1, 20);
	CHECK_MEM(imalog_aggregate_pcr(a, 10, IMALOG_SHA256), want256, 32);
	CHECK(imalog_aggregate_pcr(a, 11, IMALOG_SHA256) == NULL);
	CHECK_MEM(imalog_aggregate_boot_digest(a, &len), want256, 32);
	CHECK_INT(len, 32);
	CHECK_INT(imalog_aggregate_boot_alg(a), IMALOG_SHA256);
	imalog_aggregate_free(a);
}

/* 3.2: the kernel writes it as ima-buf with d-ng the ima_hash digest of buf. */
static void test_record(void)
{
	static const char text[] = "version=1;deleted=1;boot_aggregate=sha1:" S1 ";";
	imalog_aggregate *a = NULL;
	bool is = false;

	CHECK_INT(parse_as("ima-buf", "sha256:", 0x01, text, &a, &is), -EBADMSG);
	CHECK_INT(parse_as("d-ng|n-ng|buf", "sha256:", 0, text, &a, &is), -EBADMSG);
	CHECK(is);
	CHECK_INT(parse_as("ima-buf", "md5:", 0, text, &a, &is), -EOPNOTSUPP);
	CHECK_INT(parse_as("ima-buf", "sha256:", 0, text, &a, &is), 0);
	CHECK_INT(imalog_aggregate_boot_alg(a), IMALOG_SHA1);
	imalog_aggregate_free(a);
}

/* Parse one record built in @b; the result of imalog_record_boot_aggregate() on it. */
static int boot_of(const struct lb *b, enum imalog_hash *alg, const uint8_t **digest)
{
	imalog_record *r = imalog_record_new();
	int ret;

	if (imalog_parse_record(&fmt, b->buf, b->len, NULL, 0, r) != (ptrdiff_t)b->len)
		abort();
	ret = imalog_record_boot_aggregate(r, alg, digest);
	imalog_record_free(r);
	return ret;
}

static void boot_record(struct lb *b, const char *tmpl, const char *prefix, size_t dlen,
			const char *name, const char *buf)
{
	uint8_t d[32 + 64];
	size_t plen = strlen(prefix) + 1;
	struct lb_field f[3] = { { d, (uint32_t)(plen + dlen) },
				 { name, (uint32_t)strlen(name) + 1 },
				 { buf, (uint32_t)strlen(buf ? buf : "") } };

	b->len = 0;
	memcpy(d, prefix, plen);
	memset(d + plen, 0xb0, dlen);
	lb_record(b, 10, tmpl, f, buf ? 3 : 2, false);
}

/* What a snapshot_aggregate's boot_aggregate is compared with (3.3). */
static void test_boot_record(void)
{
	uint8_t want[32];
	enum imalog_hash alg = IMALOG_HASH_COUNT;
	const uint8_t *digest = NULL;
	struct lb b = { 0 };

	memset(want, 0xb0, sizeof(want));
	boot_record(&b, "ima-ng", "sha256:", 32, "boot_aggregate", NULL);
	CHECK_INT(boot_of(&b, &alg, &digest), 1);
	CHECK_INT(alg, IMALOG_SHA256);
	CHECK(digest && memcmp(digest, want, 32) == 0);
	boot_record(&b, "ima-ngv2", "ima:sha1:", 20, "boot_aggregate", NULL);
	CHECK_INT(boot_of(&b, &alg, &digest), 1);
	CHECK_INT(alg, IMALOG_SHA1);
	boot_record(&b, "ima-buf", "sha256:", 32, "boot_aggregate", "");
	CHECK_INT(boot_of(&b, &alg, &digest), 1);
	boot_record(&b, "ima-buf", "sha256:", 32, "boot_aggregate", "a key");
	CHECK_INT(boot_of(&b, &alg, &digest), 0);
	boot_record(&b, "ima-ng", "sha256:", 32, "/boot_aggregate", NULL);
	CHECK_INT(boot_of(&b, &alg, &digest), 0);
	boot_record(&b, "ima-ng", "sha256:", 20, "boot_aggregate", NULL);
	CHECK_INT(boot_of(&b, &alg, &digest), -EBADMSG);
	/* The legacy "ima" template: a bare SHA-1 digest, the name without NUL. */
	b.len = 0;
	lb_put_u32(&b, 10);
	lb_put(&b, want, 20); /* any header digest but a violation's zeros */
	lb_put_u32(&b, 3);
	lb_put(&b, "ima", 3);
	lb_put(&b, want, 20);
	lb_put_u32(&b, 14);
	lb_put(&b, "boot_aggregate", 14);
	CHECK_INT(boot_of(&b, &alg, &digest), 1);
	CHECK_INT(alg, IMALOG_SHA1);
	CHECK(digest && memcmp(digest, want, 20) == 0);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"version=1;deleted=0;boot_aggregate=sha256:" S256 ";",	/* nothing deleted */
		"version=1;deleted=01;boot_aggregate=sha256:" S256 ";",	/* leading zero */
		"deleted=1;version=1;boot_aggregate=sha256:" S256 ";",	/* order */
		"version=1;deleted=1;boot_aggregate=sha256:" S256,	/* no final ; */
		"version=1;deleted=1;boot_aggregate=sha256:" S256 ";pcr10_sha1=" S1 ";pcr10_sha1=" S1 ";",
		"version=1;deleted=1;boot_aggregate=sha256:" S256 ";pcr11_sha1=" S1 ";pcr10_sha1=" S1 ";",
		"version=1;deleted=1;boot_aggregate=sha256:" S256 ";pcr10_sha1=" S256 ";",	/* size */
		"version=1;deleted=1;boot_aggregate=sha256:" S256 ";pcr10_sha1=00112233445566778899AABBCCDDEEFF00112233;",
		"version=1;deleted=1;boot_aggregate=sha256:" S256 ";pcr64_sha1=" S1 ";",
		"version=1;deleted=1;boot_aggregate=sha256:" S256 "; pcr10_sha1=" S1 ";",
	};
	imalog_aggregate *a = NULL;
	bool is;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_buf(bad[i], &a, &is);

		if (r != -EBADMSG) {
			fprintf(stderr, "malformed aggregate %zu gave %d, expected -EBADMSG\n", i, r);
			check_failures++;
		}
	}
	CHECK_INT(parse_buf("version=2;deleted=1;", &a, &is), -EOPNOTSUPP);
}

int main(void)
{
	test_valid();
	test_malformed();
	test_record();
	test_boot_record();
	return check_done();
}
