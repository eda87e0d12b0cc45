// SPDX-License-Identifier: GPL-2.0-or-later
/* The expected-value parsers on arbitrary text; the first byte picks the syntax. */
#include "fuzz.h"
#include "imalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	imalog_pcrs *p = imalog_pcrs_new();
	unsigned int line = 0;
	int ignored = 0;

	if (size >= 1 && p)
		ignored = imalog_pcrs_parse(p, (enum imalog_pcrs_syntax)(data[0] % 4),
					(enum imalog_hash)((data[0] >> 2) % IMALOG_HASH_COUNT),
					(const char *)data + 1, size - 1, &line);
	(void)ignored;	/* errors are expected: the property is not crashing */
	imalog_pcrs_free(p);
	return 0;
}
