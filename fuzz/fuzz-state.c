// SPDX-License-Identifier: GPL-2.0-or-later
/* The verifier's state-file parser (docs/format.md 5.1) on arbitrary bytes. */
#include <string.h>

#include "fuzz.h"
#include "verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vstate s;
	char err[256];

	if (vstate_parse((const char *)data, size, &s, err, sizeof(err)) != 0)
		return 0; /* errors are expected: the property is not crashing */
	/* What the verifier relies on in a state it accepted. */
	FUZZ_ASSERT(s.verified >= s.next);
	FUZZ_ASSERT(s.nchunks <= VSTATE_MAX_CHUNKS);
	FUZZ_ASSERT(!s.next || s.state.used);
	FUZZ_ASSERT(!s.boot.set ||
		    (s.boot.readable && s.boot.index < s.next && s.boot.pcr < IMALOG_MAX_PCRS &&
		     (unsigned int)s.boot.alg < IMALOG_HASH_COUNT));
	for (size_t i = 0; i < s.nchunks; i++) {
		FUZZ_ASSERT(s.chunks[i].count > 0);
		FUZZ_ASSERT(i == 0 ||
			    s.chunks[i].first == s.chunks[i - 1].first + s.chunks[i - 1].count);
	}
	FUZZ_ASSERT(!s.nchunks ||
		    s.chunks[s.nchunks - 1].first + s.chunks[s.nchunks - 1].count == s.next);
	vstate_free(&s);
	return 0;
}
