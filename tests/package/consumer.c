// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A program built against the installed library only (its header, pkg-config file and shared
 * object): replays a binary log from standard input in the sha256 bank and prints the record
 * count and every PCR the log extends, as "PCR sha256 HEX" lines.
 */
#include <stdio.h>
#include <string.h>

#include <imalog.h>

int main(void)
{
	struct imalog_reader_options ro;
	struct imalog_replay_options po = { .banks = 1u << IMALOG_SHA256 };
	imalog_reader *rd = NULL;
	imalog_replay *rp = NULL;
	int r;

	memset(&ro, 0, sizeof(ro));
	imalog_format_from_name("binary_runtime_measurements", &ro.format);
	if ((r = imalog_reader_new(0, &ro, &rd)) < 0 || (r = imalog_replay_new(&po, &rp)) < 0 ||
	    (r = imalog_replay_reader(rp, rd)) < 0) {
		fprintf(stderr, "consumer: %s\n", strerror(-r));
		return 1;
	}
	printf("records %llu\n", (unsigned long long)imalog_replay_records(rp));
	for (unsigned int p = 0; p < 24; p++) {
		const uint8_t *v = imalog_replay_pcr(rp, p, IMALOG_SHA256);

		if (!imalog_replay_pcr_used(rp, p))
			continue;
		printf("%u sha256 ", p);
		for (size_t i = 0; i < imalog_hash_size(IMALOG_SHA256); i++)
			printf("%02x", v[i]);
		printf("\n");
	}
	imalog_replay_free(rp);
	imalog_reader_free(rd);
	return 0;
}
