// SPDX-License-Identifier: GPL-2.0-or-later
/* imalog replay: the PCR values a log produces, as "PCR ALG HEX" lines or one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int replay_input(struct input *in, const struct imalog_replay_options *o, imalog_replay **ret)
{
	imalog_replay *rp;
	uint64_t index, offset;
	int r = imalog_replay_new(o, &rp);

	if (r < 0) {
		errorf("cannot replay: %s", r == -EOPNOTSUPP ? "a bank's hash is not available"
							     : strerror(-r));
		return EXIT_UNUSABLE;
	}
	r = imalog_replay_reader(rp, in->reader);
	if (r < 0 && imalog_replay_bad_record(rp, &index, &offset)) {
		errorf("%s: record %" PRIu64 " at byte offset %" PRIu64
		       ": template digest does not match the template data",
		       input_name(in), index, offset);
		imalog_replay_free(rp);
		return EXIT_FAILED;
	}
	if (r < 0) {
		imalog_replay_free(rp);
		return input_error(in, r);
	}
	if (imalog_reader_partial_bytes(in->reader))
		errorf("%s: warning: ignored a truncated final record of %" PRIu64 " bytes",
		       input_name(in), imalog_reader_partial_bytes(in->reader));
	*ret = rp;
	return EXIT_VERIFIED;
}

static void print_text(const imalog_replay *rp, uint32_t banks)
{
	char hex[2 * IMALOG_MAX_DIGEST + 1];

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		if (!imalog_replay_pcr_used(rp, p))
			continue;
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			if (!(banks >> a & 1))
				continue;
			imalog_hex(imalog_replay_pcr(rp, p, (enum imalog_hash)a),
				   imalog_hash_size((enum imalog_hash)a), hex);
			printf("%u %s %s\n", p, imalog_hash_name((enum imalog_hash)a), hex);
		}
	}
}

static void print_json(const imalog_replay *rp, uint32_t banks)
{
	json_object *o = json_object_new_object(), *pcrs = json_object_new_object();
	char hex[2 * IMALOG_MAX_DIGEST + 1], key[8];

	json_object_object_add(o, "records", json_object_new_uint64(imalog_replay_records(rp)));
	json_object_object_add(o, "violations",
			       json_object_new_uint64(imalog_replay_violations(rp)));
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		json_object *bank_obj;

		if (!imalog_replay_pcr_used(rp, p))
			continue;
		bank_obj = json_object_new_object();
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			if (!(banks >> a & 1))
				continue;
			imalog_hex(imalog_replay_pcr(rp, p, (enum imalog_hash)a),
				   imalog_hash_size((enum imalog_hash)a), hex);
			json_object_object_add(bank_obj, imalog_hash_name((enum imalog_hash)a),
					       json_object_new_string(hex));
		}
		snprintf(key, sizeof(key), "%u", p);
		json_object_object_add(pcrs, key, bank_obj);
	}
	json_object_object_add(o, "pcrs", pcrs);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(o);
}

int cmd_replay(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "banks", required_argument, NULL, 'b' },
		{ "pre-5.8", no_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		INPUT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct imalog_replay_options o = { .banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256 };
	struct input in = { 0 };
	imalog_replay *rp = NULL;
	bool json = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "jb:", options, NULL)) != -1) {
		int used = input_option(&in, opt, optarg);

		if (used < 0)
			return EXIT_UNUSABLE;
		if (used)
			continue;
		if (opt == 'j')
			json = true;
		else if (opt == 'b' && parse_banks(optarg, &o.banks) == 0)
			;
		else if (opt == 'p')
			o.pre_5_8 = true;
		else if (opt == 't' && atoi(optarg) > 0)
			o.threads = (unsigned int)atoi(optarg);
		else
			return usage_error("replay: bad option or argument"), EXIT_UNUSABLE;
	}
	if (optind + 1 < argc)
		return usage_error("replay: one FILE at most"), EXIT_UNUSABLE;
	if (input_open(&in, argv[optind]) < 0)
		return EXIT_UNUSABLE;
	ret = replay_input(&in, &o, &rp);
	if (ret == EXIT_VERIFIED)
		(json ? print_json : print_text)(rp, o.banks);
	imalog_replay_free(rp);
	input_close(&in);
	return ret;
}
