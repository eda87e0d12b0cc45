// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * imalog verify: does the log reproduce the expected PCR values? The kernel appends a record
 * before it extends the PCR (ima_add_template_entry()), so a log read after the PCRs may run
 * ahead of them: the answer is the shortest prefix that reproduces every expected value.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define DEFAULT_TPM "/sys/class/tpm/tpm0"

struct verify {
	imalog_pcrs *expected;
	uint32_t banks;
	uint64_t required;	/* PCRs that must match even if the log never extends them */
	bool json;
};

static uint32_t banks_with_values(const imalog_pcrs *p)
{
	uint32_t banks = 0;

	for (int a = 0; a < IMALOG_HASH_COUNT; a++)
		for (unsigned int pcr = 0; pcr < IMALOG_MAX_PCRS; pcr++)
			if (imalog_pcrs_get(p, pcr, (enum imalog_hash)a))
				banks |= 1u << a;
	return banks;
}

static int choose_banks(struct verify *v, uint32_t requested)
{
	uint32_t have = banks_with_values(v->expected);

	if (!have) {
		errorf("no expected PCR values");
		return -ENOENT;
	}
	for (int a = 0; a < IMALOG_HASH_COUNT; a++)
		if (requested >> a & ~have >> a & 1) {
			errorf("no expected values for bank %s", imalog_hash_name((enum imalog_hash)a));
			return -ENOENT;
		}
	v->banks = requested ? requested : have;
	return 0;
}

static bool verified_pcr(const struct verify *v, const imalog_replay *rp, unsigned int p)
{
	return imalog_replay_pcr_used(rp, p) || (v->required >> p & 1);
}

/* Every PCR verified must have an expected value in every verified bank. */
static int check_coverage(const struct verify *v, const imalog_replay *rp)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++)
			if (verified_pcr(v, rp, p) && v->banks >> a & 1 &&
			    !imalog_pcrs_get(v->expected, p, (enum imalog_hash)a)) {
				errorf("PCR %u must be verified (%s) but there is no expected %s value "
				       "for it", p, imalog_replay_pcr_used(rp, p) ? "the log extends it"
				       : "it is required", imalog_hash_name((enum imalog_hash)a));
				return -ENOENT;
			}
	return 0;
}

static void print_mismatch(const struct verify *v, const imalog_replay *rp)
{
	char got[2 * IMALOG_MAX_DIGEST + 1], want[2 * IMALOG_MAX_DIGEST + 1];

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			enum imalog_hash alg = (enum imalog_hash)a;

			if (!verified_pcr(v, rp, p) || !(v->banks >> a & 1))
				continue;
			imalog_hex(imalog_replay_pcr(rp, p, alg), imalog_hash_size(alg), got);
			imalog_hex(imalog_pcrs_get(v->expected, p, alg), imalog_hash_size(alg), want);
			fprintf(stderr, "  PCR %u %s: whole log gives %s, expected %s\n", p,
				imalog_hash_name(alg), got, want);
		}
}

static void report_json(const struct verify *v, const imalog_replay *rp, bool ok, uint64_t prefix)
{
	json_object *o = json_object_new_object(), *banks = json_object_new_array();
	json_object *pcrs = json_object_new_array();
	uint64_t n = imalog_replay_records(rp);

	json_object_object_add(o, "verified", json_object_new_boolean(ok));
	json_object_object_add(o, "records", json_object_new_uint64(n));
	json_object_object_add(o, "violations", json_object_new_uint64(imalog_replay_violations(rp)));
	if (ok) {
		json_object_object_add(o, "matched_records", json_object_new_uint64(prefix));
		json_object_object_add(o, "records_after", json_object_new_uint64(n - prefix));
	}
	for (int a = 0; a < IMALOG_HASH_COUNT; a++)
		if (v->banks >> a & 1)
			json_object_array_add(banks, json_object_new_string(
						      imalog_hash_name((enum imalog_hash)a)));
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		if (verified_pcr(v, rp, p))
			json_object_array_add(pcrs, json_object_new_int((int)p));
	json_object_object_add(o, "banks", banks);
	json_object_object_add(o, "pcrs", pcrs);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int report(const struct verify *v, const struct input *in, const imalog_replay *rp)
{
	uint64_t prefix = 0, n = imalog_replay_records(rp);
	int matched = imalog_replay_match(rp, &prefix);

	if (v->json)
		report_json(v, rp, matched == 1, prefix);
	if (matched != 1) {
		errorf("%s: verification failed: no prefix of the %" PRIu64
		       " records reproduces the expected PCR values",
		       input_name(in), n);
		print_mismatch(v, rp);
		return EXIT_FAILED;
	}
	if (!v->json)
		printf("%s: verified %" PRIu64 " of %" PRIu64 " records (%" PRIu64
		       " violations): every expected PCR matches after record %" PRId64
		       "; %" PRIu64 " records follow\n",
		       input_name(in), prefix, n, imalog_replay_violations(rp), (int64_t)prefix - 1,
		       n - prefix);
	return EXIT_VERIFIED;
}

static int verify(struct verify *v, struct input *in, unsigned int threads, bool pre_5_8)
{
	struct imalog_replay_options o = {
		.banks = v->banks, .pre_5_8 = pre_5_8, .threads = threads, .expected = v->expected,
		.require_pcrs = v->required,
	};
	imalog_replay *rp = NULL;
	int ret = replay_input(in, &o, &rp);

	if (ret != EXIT_VERIFIED)
		return ret;
	ret = check_coverage(v, rp) < 0 ? EXIT_UNUSABLE : report(v, in, rp);
	imalog_replay_free(rp);
	return ret;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pcrs", required_argument, NULL, 'P' },
		{ "banks", required_argument, NULL, 'b' },
		{ "pre-5.8", no_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "ima-pcr", required_argument, NULL, 'i' },
		INPUT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct verify v = { .expected = imalog_pcrs_new(), .required = UINT64_C(1) << 10 };
	struct input in = { 0 };
	uint32_t requested = 0;
	unsigned int threads = 0;
	bool pre_5_8 = false, have_pcrs = false;
	int opt, ret = EXIT_UNUSABLE;

	if (!v.expected)
		return EXIT_UNUSABLE;
	while ((opt = getopt_long(argc, argv, "jb:", options, NULL)) != -1) {
		int used = input_option(&in, opt, optarg);

		if (used < 0)
			goto done;
		if (used)
			continue;
		if (opt == 'P' && load_pcr_spec(v.expected, optarg, &v.required) == 0)
			have_pcrs = true;
		else if (opt == 'P')
			goto done;
		else if (opt == 'b' && parse_banks(optarg, &requested) == 0)
			;
		else if (opt == 'p')
			pre_5_8 = true;
		else if (opt == 't' && atoi(optarg) > 0)
			threads = (unsigned int)atoi(optarg);
		else if (opt == 'j')
			v.json = true;
		else if (opt == 'i' && atoi(optarg) >= 0 && atoi(optarg) < IMALOG_MAX_PCRS)
			v.required = (v.required & ~(UINT64_C(1) << 10)) | UINT64_C(1) << atoi(optarg);
		else
			goto usage;
	}
	if (optind + 1 < argc)
		goto usage;
	/* The TPM is read before the log, never after: see the comment at the top. */
	if (!have_pcrs && load_pcr_spec(v.expected, DEFAULT_TPM, &v.required) < 0)
		goto done;
	if (choose_banks(&v, requested) < 0 || input_open(&in, argv[optind]) < 0)
		goto done;
	ret = verify(&v, &in, threads, pre_5_8);
	input_close(&in);
	goto done;
usage:
	usage_error("verify: bad option or argument");
done:
	imalog_pcrs_free(v.expected);
	return ret;
}
