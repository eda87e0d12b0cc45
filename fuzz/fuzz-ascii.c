// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ASCII parser on arbitrary text. A line that parses is rebuilt into binary template data;
 * rendering that record and parsing the rendering again must give the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "imalog.h"

#define MAX_INPUT (1 << 16)

static void check_round_trip(const struct imalog_format *fmt, const imalog_record *r,
			     uint8_t *scratch, size_t scratch_len)
{
	imalog_record *again = imalog_record_new();
	imalog_buf *text = imalog_buf_new(), *b1 = imalog_buf_new(), *b2 = imalog_buf_new();
	size_t len, l1, l2;
	const char *t, *d1, *d2;

	if (!again || !text || !b1 || !b2 || imalog_render_ascii(r, text) < 0)
		goto done;
	t = imalog_buf_data(text, &len);
	FUZZ_ASSERT(imalog_parse_record(fmt, (const uint8_t *)t, len, scratch, scratch_len, again) ==
		    (ptrdiff_t)len);
	FUZZ_ASSERT(imalog_render_binary(r, b1) == 0 && imalog_render_binary(again, b2) == 0);
	d1 = imalog_buf_data(b1, &l1);
	d2 = imalog_buf_data(b2, &l2);
	FUZZ_ASSERT(l1 == l2 && memcmp(d1, d2, l1) == 0);
done:
	imalog_buf_free(b2);
	imalog_buf_free(b1);
	imalog_buf_free(text);
	imalog_record_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imalog_format fmt = { IMALOG_INPUT_ASCII, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN };
	/* A rendered line is at most twice as long as the line it came from, plus the digest. */
	size_t scratch_len = 4 * size + 512;
	uint8_t *scratch = NULL;
	imalog_record *r = NULL;
	ptrdiff_t n;

	if (size > MAX_INPUT || !(scratch = malloc(2 * scratch_len)) || !(r = imalog_record_new()))
		goto done;
	while ((n = imalog_parse_record(&fmt, data, size, scratch, scratch_len, r)) > 0) {
		check_round_trip(&fmt, r, scratch + scratch_len, scratch_len);
		data += n;
		size -= (size_t)n;
	}
done:
	imalog_record_free(r);
	free(scratch);
	return 0;
}
