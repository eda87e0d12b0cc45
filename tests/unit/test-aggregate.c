// SPDX-License-Identifier: GPL-2.0-or-later
/* snapshot_aggregate records (docs/format.md section 3): strict parsing of the claim. */
#include <errno.h>

#include "check.h"
#include "imalog.h"
#include "logbuild.h"

#define S1 "00112233445566778899aabbccddeeff00112233"
#define S256 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static int parse_buf(const char *text, imalog_aggregate **agg, bool *is_aggregate)
{
	static uint8_t dng[8 + 32] = "sha256:";
	const char *name = "snapshot_aggregate";
	struct imalog_format fmt = { IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN };
	struct lb_field f[3] = { { dng, sizeof(dng) },
				 { name, (uint32_t)strlen(name) + 1 },
				 { text, (uint32_t)strlen(text) } };
	imalog_record *r = imalog_record_new();
	struct lb b = { 0 };
	int ret;

	lb_record(&b, 10, "ima-buf", f, 3, false);
	if (imalog_parse_record(&fmt, b.buf, b.len, NULL, 0, r) != (ptrdiff_t)b.len)
		abort();
	*is_aggregate = imalog_record_is_aggregate(r);
	ret = imalog_aggregate_parse(r, agg);
	imalog_record_free(r);
	return ret;
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
	imalog_aggregate_free(a);
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
	return check_done();
}
