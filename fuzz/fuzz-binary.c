// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The binary parser, renderers and replay on arbitrary bytes. The first byte picks the byte
 * order and header bank. Every record that parses must render to the bytes it came from.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "imalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imalog_format fmt = { IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN };
	struct imalog_replay_options o = { .banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256,
					   .threads = 1 };
	imalog_record *r = imalog_record_new();
	imalog_buf *out = imalog_buf_new();
	imalog_replay *rp = NULL;
	ptrdiff_t n;

	if (size < 1 || !r || !out || imalog_replay_new(&o, &rp) < 0)
		goto done;
	fmt.order = data[0] & 1 ? IMALOG_BIG_ENDIAN : IMALOG_LITTLE_ENDIAN;
	fmt.log_bank = (enum imalog_hash)((data[0] >> 1) % IMALOG_HASH_COUNT);
	data++, size--;
	while ((n = imalog_parse_record(&fmt, data, size, NULL, 0, r)) > 0) {
		size_t len;

		const char *bytes;
		int ignored;

		imalog_buf_clear(out);
		FUZZ_ASSERT(imalog_render_binary(r, out) == 0);
		bytes = imalog_buf_data(out, &len);
		FUZZ_ASSERT(len == (size_t)n && memcmp(bytes, data, len) == 0);
		imalog_buf_clear(out);
		ignored = imalog_render_ascii(r, out);	/* may refuse unknown templates */
		ignored = imalog_replay_record(rp, r);	/* may find a digest mismatch */
		(void)ignored;
		data += n;
		size -= (size_t)n;
	}
done:
	imalog_replay_free(rp);
	imalog_buf_free(out);
	imalog_record_free(r);
	return 0;
}
