// SPDX-License-Identifier: GPL-2.0-or-later
/* The binary and ASCII parsers: layouts, byte orders, limits and every truncation point. */
#include <errno.h>

#include "check.h"
#include "imalog.h"
#include "logbuild.h"

static const struct imalog_format le_sha1 = { IMALOG_INPUT_BINARY, IMALOG_SHA1,
					      IMALOG_LITTLE_ENDIAN };

static ptrdiff_t parse(const struct imalog_format *f, const void *buf, size_t len,
		       imalog_record *r)
{
	static uint8_t scratch[1 << 17];

	return imalog_parse_record(f, buf, len, scratch, sizeof(scratch), r);
}

static void test_ima_ng_both_orders(void)
{
	imalog_record *r = imalog_record_new();
	struct imalog_format be = le_sha1;
	struct imalog_field f;
	struct lb b = { 0 };
	size_t len;

	be.order = IMALOG_BIG_ENDIAN;
	for (int order = 0; order < 2; order++) {
		b.len = 0;
		b.big_endian = order;
		lb_ima_ng(&b, 11, "/bin/true", 0xab, false);
		CHECK_INT(parse(order ? &be : &le_sha1, b.buf, b.len, r), b.len);
		CHECK_INT(imalog_record_pcr(r), 11);
		CHECK(!imalog_record_is_violation(r));
		CHECK_INT(imalog_record_field_count(r), 2);
		CHECK_INT(imalog_record_field(r, 1, &f), 0);
		CHECK_STR(f.id, "n-ng");
		CHECK_STR((const char *)f.data, "/bin/true");
		CHECK(memcmp(imalog_record_template(r, &len), "ima-ng", 6) == 0 && len == 6);
		/* Read in the wrong order, the lengths are absurd: an error, never a crash. */
		CHECK(parse(order ? &le_sha1 : &be, b.buf, b.len, r) != (ptrdiff_t)b.len);
	}
	imalog_record_free(r);
}

/* Every proper prefix of a record is "incomplete" (0), never an error or a record. */
static void test_every_truncation(void)
{
	imalog_record *r = imalog_record_new();
	struct lb b = { 0 };

	lb_ima_ng(&b, 10, "/usr/bin/env", 1, false);
	for (size_t n = 0; n < b.len; n++)
		CHECK_INT(parse(&le_sha1, b.buf, n, r), 0);
	imalog_record_free(r);
}

static void test_limits(void)
{
	imalog_record *r = imalog_record_new();
	struct lb b = { 0 };

	lb_ima_ng(&b, 10, "/x", 1, false);
	lb_u32(b.buf, 64, false); /* PCR past policy's 0..63 */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -E2BIG);
	lb_u32(b.buf, 10, false);
	lb_u32(b.buf + 24, 0, false); /* empty template name */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -EBADMSG);
	lb_u32(b.buf + 24, 240, false); /* name longer than the kernel allows */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -E2BIG);
	lb_u32(b.buf + 24, 6, false);
	lb_u32(b.buf + 34, 0x7fffffff, false); /* template data over the cap */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -E2BIG);
	imalog_record_free(r);
}

/* Field lengths must tile the template data, in the number of fields the template has. */
static void test_field_tiling(void)
{
	imalog_record *r = imalog_record_new();
	struct lb b = { 0 };
	const char one[] = "x";
	struct lb_field f1[1] = { { one, 2 } }, f3[3] = { { one, 2 }, { one, 2 }, { one, 2 } };

	lb_record(&b, 10, "ima-ng", f1, 1, false);
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -EBADMSG);
	b.len = 0;
	lb_record(&b, 10, "ima-ng", f3, 3, false);
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -EBADMSG);
	b.len = 0;
	lb_record(&b, 10, "ima-ng", f3, 2, false);
	lb_u32(b.buf + 38, 3, false); /* first field claims a byte of the next one's length */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -EBADMSG);
	imalog_record_free(r);
}

/* Unknown templates replay (their data is still length-prefixed) but have no known fields. */
static void test_unknown_template(void)
{
	imalog_record *r = imalog_record_new();
	struct lb b = { 0 };
	const char one[] = "x";
	struct lb_field f[2] = { { one, 2 }, { one, 2 } };
	imalog_buf *out = imalog_buf_new();

	lb_record(&b, 10, "d-ng|nosuchfield", f, 2, false);
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), b.len);
	CHECK_INT(imalog_record_field_count(r), -EOPNOTSUPP);
	CHECK_INT(imalog_render_ascii(r, out), -EOPNOTSUPP);
	b.len = 0;
	lb_record(&b, 10, "n-ng|sig", f, 2, false); /* a custom list of known fields */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), b.len);
	CHECK_INT(imalog_record_field_count(r), 2);
	imalog_buf_free(out);
	imalog_record_free(r);
}

/* The legacy "ima" template: no data length, a bare 20-byte digest, name without NUL. */
static void test_legacy_ima(void)
{
	imalog_record *r = imalog_record_new();
	imalog_buf *out = imalog_buf_new();
	struct lb b = { 0 };
	uint8_t d[20], zero[20] = { 0 };
	struct imalog_field f;
	size_t len;

	memset(d, 0x5a, sizeof(d));
	lb_put_u32(&b, 10);
	lb_put(&b, zero, 20);
	lb_put_u32(&b, 3);
	lb_put(&b, "ima", 3);
	lb_put(&b, d, 20);
	lb_put_u32(&b, 4);
	lb_put(&b, "/foo", 4);
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), b.len);
	CHECK(imalog_record_is_violation(r));
	CHECK_INT(imalog_record_field(r, 1, &f), 0);
	CHECK(f.len == 4 && memcmp(f.data, "/foo", 4) == 0);
	CHECK_INT(imalog_render_binary(r, out), 0);
	CHECK(memcmp(imalog_buf_data(out, &len), b.buf, b.len) == 0 && len == b.len);
	lb_u32(b.buf + 51, 256, false); /* name over IMA_EVENT_NAME_LEN_MAX */
	CHECK_INT(parse(&le_sha1, b.buf, b.len, r), -E2BIG);
	imalog_buf_free(out);
	imalog_record_free(r);
}

/* ASCII lines: rebuilt exactly, rendered back identically, malformed lines named. */
static void test_ascii_round_trip(void)
{
	static const char *const lines[] = {
		"10 91f34b5c671d73504b274a919661cf80dab1e127 ima-ng sha1:1801e1be3e65ef1eaa5c16617bec8f1274eaf6b3 boot_aggregate\n",
		" 9 0000000000000000000000000000000000000000 ima-sig sha256:0000000000000000000000000000000000000000000000000000000000000000 /tmp/x \n",
		"11 ffffffffffffffffffffffffffffffffffffffff ima-sigv2 ima:sha256:abcd /usr/bin/ls 0302\n",
		"10 1111111111111111111111111111111111111111 evm-sig sha256:ab /f 0301 security.ima|security.evm 0200 abcd 0 1000 33261\n",
		"10 2222222222222222222222222222222222222222 ima 2222222222222222222222222222222222222222 /short\n",
	};
	struct imalog_format ascii = { IMALOG_INPUT_ASCII, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN };
	imalog_record *r = imalog_record_new();
	imalog_buf *out = imalog_buf_new();
	size_t len;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		imalog_buf_clear(out);
		CHECK_INT(parse(&ascii, lines[i], strlen(lines[i]), r), strlen(lines[i]));
		CHECK_INT(imalog_render_ascii(r, out), 0);
		const char *got = imalog_buf_data(out, &len);
		if (len != strlen(lines[i]) || memcmp(got, lines[i], len) != 0) {
			fprintf(stderr, "line %zu renders as: %.*s", i, (int)len, got);
			check_failures++;
		}
	}
	CHECK_INT(parse(&ascii, lines[0], strlen(lines[0]) - 1, r), 0); /* no newline yet */
	CHECK_INT(parse(&ascii, "10 zz ima-ng a b\n", 17, r), -EBADMSG);
	static const char missing[] = "10 0000000000000000000000000000000000000000 ima-ng sha1:00\n";
	static const char unknown[] = "10 0000000000000000000000000000000000000000 foo a\n";
	static const char pcr64[] = "64 0000000000000000000000000000000000000000 ima-ng a b\n";
	CHECK_INT(parse(&ascii, missing, strlen(missing), r), -EBADMSG);
	CHECK_INT(parse(&ascii, unknown, strlen(unknown), r), -EOPNOTSUPP);
	CHECK_INT(parse(&ascii, pcr64, strlen(pcr64), r), -E2BIG);
	uint8_t small[8];
	CHECK_INT(imalog_parse_record(&ascii, (const uint8_t *)lines[0], strlen(lines[0]), small,
				      sizeof(small), r),
		  -ENOBUFS);
	imalog_buf_free(out);
	imalog_record_free(r);
}

int main(void)
{
	test_ima_ng_both_orders();
	test_every_truncation();
	test_limits();
	test_field_tiling();
	test_unknown_template();
	test_legacy_ima();
	test_ascii_round_trip();
	return check_done();
}
