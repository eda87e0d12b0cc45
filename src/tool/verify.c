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
#include <unistd.h>

#include "kernel.h"
#include "quote.h"
#include "run.h"
#include "tool.h"

#define DEFAULT_TPM "/sys/class/tpm/tpm0"

struct verify {
	imalog_pcrs *expected;
	uint32_t banks;
	uint64_t required;	/* PCRs that must match even if the log never extends them */
	bool json;
	quote *quote;		/* --quote: verified before the log is read */
	struct store_opts store;	/* --store: imalogd's chunks, then the kernel's list */
	bool with_kernel;
	bool quote_values;	/* --quote-pcrs: the quoted values are the expected ones */
	struct vrun_plain *pieces;	/* --piece: plain log files in order */
	size_t npieces;
	const char *state;	/* --state: the verifier's state file */
	const char *checkpoint_out, *signing_key;	/* --checkpoint, --checkpoint-key */
	const char *checkpoint_in, *trusted_key;	/* --from-checkpoint, --trust-key */
	const char *ack; /* --ack NAME: acknowledge the verified records in the store */
	enum imalog_byte_order order;
	const char **ak_paths; /* --ak: keys trusted to have made the store's quotes */
	size_t naks;
	const quote **trusted; /* those keys, and the live quote's */
	size_t ntrusted;
};

/* --quote and its companions (imalog(1), QUOTES). */
struct quote_args {
	const char *attest, *sig, *ak, *nonce, *pcrs;
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

static uint64_t used_pcrs(const imalog_replay *rp)
{
	uint64_t used = 0;

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		used |= (uint64_t)imalog_replay_pcr_used(rp, p) << p;
	return used;
}

static bool verified_pcr(const struct verify *v, uint64_t used, unsigned int p)
{
	return (used | v->required) >> p & 1;
}

/* Every PCR verified must have an expected value in every verified bank. */
static int check_coverage(const struct verify *v, uint64_t used)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++)
			if (verified_pcr(v, used, p) && v->banks >> a & 1 &&
			    !imalog_pcrs_get(v->expected, p, (enum imalog_hash)a)) {
				errorf("PCR %u must be verified (%s) but there is no expected %s value "
				       "for it", p, used >> p & 1 ? "the log extends it"
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

			if (!verified_pcr(v, used_pcrs(rp), p) || !(v->banks >> a & 1))
				continue;
			imalog_hex(imalog_replay_pcr(rp, p, alg), imalog_hash_size(alg), got);
			imalog_hex(imalog_pcrs_get(v->expected, p, alg), imalog_hash_size(alg), want);
			fprintf(stderr, "  PCR %u %s: whole log gives %s, expected %s\n", p,
				imalog_hash_name(alg), got, want);
		}
}

static json_object *quote_json(const struct verify *v)
{
	json_object *o = json_object_new_object();
	struct quote_info info;

	quote_get_info(v->quote, &info);
	json_object_object_add(o, "scheme", json_object_new_string(info.scheme));
	json_object_object_add(o, "hash", json_object_new_string(info.hash));
	json_object_object_add(o, "pcr_values", json_object_new_string(v->quote_values ? "file"
											  : "log"));
	json_object_object_add(o, "reset_count", json_object_new_uint64(info.reset_count));
	json_object_object_add(o, "restart_count", json_object_new_uint64(info.restart_count));
	json_object_object_add(o, "clock", json_object_new_uint64(info.clock));
	return o;
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
		if (verified_pcr(v, used_pcrs(rp), p))
			json_object_array_add(pcrs, json_object_new_int((int)p));
	json_object_object_add(o, "banks", banks);
	json_object_object_add(o, "pcrs", pcrs);
	if (v->quote)
		json_object_object_add(o, "quote", quote_json(v));
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

/* A quote that does not verify fails verification; a file that cannot be read is unusable. */
static int quote_exit(int r)
{
	return r == -ENOMEM || r == -EOPNOTSUPP || r == -EINVAL || r == -ENOENT ? EXIT_UNUSABLE
										  : EXIT_FAILED;
}

static int quote_file(quote *q, const char *path, const char *what,
		      int (*use)(quote *, const uint8_t *, size_t))
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = quote_read_file(path, &buf, &len);

	if (r < 0) {
		errorf("%s: %s", path, r == -E2BIG ? "larger than 64 KiB" : strerror(-r));
		return r;
	}
	r = use(q, buf, len);
	free(buf);
	if (r < 0)
		errorf("%s: %s: %s", path, what, quote_failure(q));
	return r;
}

static int quote_nonce(quote *q, const char *hex)
{
	uint8_t nonce[QUOTE_MAX_NONCE];
	size_t len = strlen(hex) / 2;
	int r = len > sizeof(nonce) ? -E2BIG : imalog_unhex(hex, strlen(hex), nonce, len);

	if (r == 0)
		r = quote_set_nonce(q, nonce, len);
	if (r < 0)
		usage_error("--nonce must be 1 to %d bytes in hex", QUOTE_MAX_NONCE);
	return r;
}

static void print_quote(const struct verify *v, const struct quote_args *qa)
{
	struct quote_info info;

	quote_get_info(v->quote, &info);
	printf("%s: %s/%s signature by %s verifies, nonce matches, selects", qa->attest,
	       info.scheme, info.hash, qa->ak);
	for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
		const char *sep = ":";

		if (!(quote_banks(v->quote) >> a & 1))
			continue;
		printf(" %s", imalog_hash_name((enum imalog_hash)a));
		for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
			if (quote_selects(v->quote, p, (enum imalog_hash)a)) {
				printf("%s%u", sep, p);
				sep = ",";
			}
	}
	printf(", TPM resets %" PRIu32 ", restarts %" PRIu32 "; %s\n", info.reset_count,
	       info.restart_count,
	       v->quote_values ? "the PCR values file gives its PCR digest"
			       : "the log must give its PCR digest");
}

/* Check the quote before the log; its PCR values, if given, become the expected values. */
static int load_quote(struct verify *v, const struct quote_args *qa)
{
	int r;

	if (quote_new(&v->quote) < 0)
		return EXIT_UNUSABLE;
	if ((r = quote_file(v->quote, qa->attest, "attestation", quote_set_attest)) < 0 ||
	    (r = quote_file(v->quote, qa->sig, "signature", quote_set_signature)) < 0 ||
	    (r = quote_file(v->quote, qa->ak, "attestation key", quote_set_key)) < 0 ||
	    (r = quote_nonce(v->quote, qa->nonce)) < 0)
		/* A key that cannot attest makes the quote fail; anything unreadable is unusable. */
		return r == -EKEYREJECTED ? EXIT_FAILED : EXIT_UNUSABLE;
	r = quote_verify(v->quote);
	if (r < 0) {
		errorf("%s: verification failed: %s", qa->attest, quote_failure(v->quote));
		return quote_exit(r);
	}
	if (!quote_banks(v->quote)) {
		errorf("%s: verification failed: the quote selects no PCR of a bank imalog replays",
		       qa->attest);
		return EXIT_FAILED;
	}
	if (!qa->pcrs)
		return EXIT_VERIFIED;
	r = quote_file(v->quote, qa->pcrs, "PCR values", quote_check_pcr_file);
	if (r == 0 && (r = quote_expected(v->quote, v->expected)) < 0)
		errorf("%s: %s", qa->pcrs, strerror(-r));
	v->quote_values = r == 0;
	return r < 0 ? quote_exit(r) : EXIT_VERIFIED;
}

/* The quote attests only to what it selects: every PCR verified, in every bank verified. */
static int check_quote_coverage(const struct verify *v, uint64_t used)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++)
			if (verified_pcr(v, used, p) && v->banks >> a & 1 &&
			    !quote_selects(v->quote, p, (enum imalog_hash)a)) {
				errorf("verification failed: the quote does not select PCR %u "
				       "of %s (%s)",
				       p, imalog_hash_name((enum imalog_hash)a),
				       used >> p & 1 ? "the log extends it" : "the IMA PCR");
				return -ENOENT;
			}
	return 0;
}

/* Without --quote-pcrs: the values the whole log gives must be the ones the TPM quoted. */
static int report_replayed(const struct verify *v, const struct input *in,
			   const imalog_replay *rp)
{
	imalog_pcrs *values = imalog_pcrs_new();
	uint64_t n = imalog_replay_records(rp);
	int r = values ? 0 : -ENOMEM;

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS && r == 0; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT && r == 0; a++) {
			enum imalog_hash alg = (enum imalog_hash)a;

			if (v->banks >> a & 1 && verified_pcr(v, used_pcrs(rp), p))
				r = imalog_pcrs_set(values, p, alg, imalog_replay_pcr(rp, p, alg),
						    imalog_hash_size(alg));
		}
	if (r == 0)
		r = quote_check_pcrs(v->quote, values);
	imalog_pcrs_free(values);
	if (v->json && (r == 0 || r == -EBADE))
		report_json(v, rp, r == 0, n);
	if (r == -EBADE) {
		errorf("%s: verification failed: the %" PRIu64 " records do not give the "
		       "quoted PCR values (a log read after the quote may run ahead of it: give "
		       "the quoted values with --quote-pcrs)",
		       input_name(in), n);
		return EXIT_FAILED;
	}
	if (r < 0) {
		errorf("%s", r == -ENOMEM ? strerror(ENOMEM) : quote_failure(v->quote));
		return EXIT_UNUSABLE;
	}
	if (!v->json)
		printf("%s: verified %" PRIu64 " of %" PRIu64 " records (%" PRIu64 " violations): "
		       "the whole log gives the quoted PCR values\n",
		       input_name(in), n, n, imalog_replay_violations(rp));
	return EXIT_VERIFIED;
}

/* ---- a log in pieces: --store, --piece (src/verifier) ---- */

static void report_failure(const struct verify *v, const struct vrun *run)
{
	const struct vfailure *f = &run->res.fail;
	char offset[48] = "";

	if (f->offset != UINT64_MAX)
		snprintf(offset, sizeof(offset), ", byte offset %" PRIu64, f->offset);
	errorf("%s: verification failed at record %" PRIu64 "%s: %s", f->file, f->index, offset,
	       f->reason);
}

static json_object *failure_json(const struct vfailure *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "index", json_object_new_uint64(f->index));
	json_object_object_add(o, "file", json_object_new_string(f->file));
	if (f->offset != UINT64_MAX)
		json_object_object_add(o, "offset", json_object_new_uint64(f->offset));
	json_object_object_add(o, "reason", json_object_new_string(f->reason));
	return o;
}

/* How many of the chunks read have an end proven each way (enum vproof). */
static void count_proofs(const struct vrun *run, uint64_t ret[VPROOF_TPM + 1])
{
	memset(ret, 0, (VPROOF_TPM + 1) * sizeof(*ret));
	for (size_t i = 0; i < run->ps.n; i++)
		if (run->ps.p[i].m)
			ret[run->ps.p[i].proof]++;
}

/* Per chunk read: what proves its end (format.md 4.7). */
static void proofs_json(json_object *o, const struct vrun *run)
{
	json_object *chunks = json_object_new_array(), *counts = json_object_new_object();
	uint64_t n[VPROOF_TPM + 1];

	for (size_t i = 0; i < run->ps.n; i++) {
		const struct vpiece *pc = &run->ps.p[i];
		json_object *c;

		if (!pc->m)
			continue;
		c = json_object_new_object();
		json_object_object_add(c, "first", json_object_new_uint64(pc->first));
		json_object_object_add(c, "count", json_object_new_uint64(pc->count));
		json_object_object_add(c, "proof", json_object_new_string(vproof_name(pc->proof)));
		if (pc->proof >= VPROOF_TPM_UNTRUSTED)
			json_object_object_add(c, "key", json_object_new_string(pc->m->quote.key));
		json_object_array_add(chunks, c);
	}
	count_proofs(run, n);
	for (int p = VPROOF_TPM; p >= VPROOF_MANIFEST; p--)
		json_object_object_add(counts, vproof_name((enum vproof)p),
				       json_object_new_uint64(n[p]));
	json_object_object_add(o, "chunk_ends", chunks);
	json_object_object_add(o, "chunk_proofs", counts);
}

static void pieces_json(const struct verify *v, const struct vrun *run, bool ok, uint64_t match,
			const char *failure)
{
	const struct verifier_result *res = &run->res;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "verified", json_object_new_boolean(ok));
	json_object_object_add(o, "from", json_object_new_uint64(run->resumed ? run->saved.next
									     : 0));
	json_object_object_add(o, "next", json_object_new_uint64(res->next));
	json_object_object_add(o, "records", json_object_new_uint64(res->records));
	json_object_object_add(o, "violations", json_object_new_uint64(res->violations));
	json_object_object_add(o, "chunks", json_object_new_uint64(run->chunks));
	json_object_object_add(o, "aggregates", json_object_new_uint64(res->aggregates));
	json_object_object_add(o, "resumed", json_object_new_boolean(run->resumed));
	json_object_object_add(o, "from_checkpoint", json_object_new_boolean(run->from_checkpoint));
	if (run->restart[0])
		json_object_object_add(o, "restart", json_object_new_string(run->restart));
	json_object_object_add(o, "seconds", json_object_new_double(run->seconds));
	if (ok) {
		json_object_object_add(o, "matched_records", json_object_new_uint64(match));
		json_object_object_add(o, "records_after", json_object_new_uint64(res->next - match));
		proofs_json(o, run);
	}
	if (res->fail.set)
		json_object_object_add(o, "failure", failure_json(&res->fail));
	else if (failure)
		json_object_object_add(o, "failure", json_object_new_string(failure));
	if (v->quote)
		json_object_object_add(o, "quote", quote_json(v));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* Without --quote-pcrs: the state after the last record must be the quoted one. */
static int check_end_quoted(const struct verify *v, const struct pcr_state *end)
{
	imalog_pcrs *values = imalog_pcrs_new();
	int r = values ? 0 : -ENOMEM;

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS && r == 0; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT && r == 0; a++)
			if (v->banks >> a & 1 && verified_pcr(v, end->used, p))
				r = imalog_pcrs_set(values, p, (enum imalog_hash)a, end->v[p][a],
						    imalog_hash_size((enum imalog_hash)a));
	if (r == 0)
		r = quote_check_pcrs(v->quote, values);
	imalog_pcrs_free(values);
	return r;
}

/* The end of the chain against the quote or the expected values: the exit code. */
static int check_pieces_end(const struct verify *v, const struct vrun *run, uint64_t *ret_match)
{
	const struct verifier_result *res = &run->res;
	int r;

	*ret_match = res->next;
	if (v->quote && check_quote_coverage(v, res->end.used) < 0)
		return EXIT_FAILED;
	if (v->quote && !v->quote_values) {
		r = check_end_quoted(v, &res->end);
		if (r == -EBADE)
			errorf("verification failed: the %" PRIu64 " records do not give the quoted "
			       "PCR values", res->next);
		else if (r < 0)
			errorf("%s", r == -ENOMEM ? strerror(ENOMEM) : quote_failure(v->quote));
		return r == 0 ? EXIT_VERIFIED : r == -EBADE ? EXIT_FAILED : EXIT_UNUSABLE;
	}
	if (check_coverage(v, res->end.used) < 0)
		return EXIT_UNUSABLE;
	if (!res->matched) {
		errorf("verification failed: no prefix of the %" PRIu64 " records reproduces the "
		       "expected PCR values", res->next);
		return EXIT_FAILED;
	}
	*ret_match = res->match;
	return EXIT_VERIFIED;
}

static void print_proofs(const struct vrun *run)
{
	uint64_t n[VPROOF_TPM + 1];

	if (!run->store_root)
		return; /* plain pieces have no manifest: nothing claims their ends */
	count_proofs(run, n);
	printf("chunk ends proven: %" PRIu64 " by the TPM, ", n[VPROOF_TPM]);
	if (n[VPROOF_TPM_UNTRUSTED])
		printf("%" PRIu64 " by a quote whose key only the store vouches for (no --ak), ",
		       n[VPROOF_TPM_UNTRUSTED]);
	printf("%" PRIu64 " by an aggregate, %" PRIu64 " by the manifest only\n",
	       n[VPROOF_AGGREGATE], n[VPROOF_MANIFEST]);
}

static void print_pieces(const struct vrun *run, unsigned int threads, uint64_t match)
{
	const struct verifier_result *res = &run->res;
	uint64_t from = run->resumed ? run->saved.next : 0;

	if (run->restart[0])
		printf("note: %s\n", run->restart);
	if (run->from_checkpoint)
		printf("note: starting from the checkpoint %s at record %" PRIu64 ", signed by the "
		       "key %s you trust\n", run->checkpoint_in, from, run->trusted_key);
	printf("%s: verified records %" PRIu64 "..%" PRId64 " (%" PRIu64 " replayed %s, %zu "
	       "chunks, %" PRIu64 " snapshot_aggregate records checked, %" PRIu64 " violations) "
	       "in %.3f s on %u threads; every expected PCR matches after record %" PRId64
	       "; %" PRIu64 " records follow\n",
	       run->store_root ? run->store_root : run->plain[0].path, from,
	       (int64_t)res->next - 1, res->records,
	       run->resumed ? "after the saved state" : "from boot", run->chunks,
	       res->aggregates, res->violations, run->seconds, threads, (int64_t)match - 1,
	       res->next - match);
	print_proofs(run);
}

/* --ack: the records before the saved state's boundary may leave the store (format.md 4.6). */
static int ack_verified(const struct verify *v, const struct vrun *run)
{
	struct store_opts o = v->store;

	o.log_id = run->used_log_id;
	return store_ack(&o, v->ack, run->res.boundary, v->json);
}

static int verify_pieces(struct verify *v, unsigned int threads, bool pre_5_8)
{
	struct verifier_options o = {
		.banks = v->banks, .pre_5_8 = pre_5_8, .threads = threads,
		.expected = v->quote && !v->quote_values ? NULL : v->expected,
		.require_pcrs = v->required, .trusted = v->trusted, .ntrusted = v->ntrusted,
	};
	struct vrun *run = calloc(1, sizeof(*run));
	uint64_t match = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int r, ret = EXIT_UNUSABLE;

	if (!run)
		return EXIT_UNUSABLE;
	*run = (struct vrun){
		.store_root = v->store.store, .log_id = v->store.log_id, .plain = v->pieces,
		.nplain = v->npieces, .plain_order = v->order, .kernel_fd = -1,
		.state_path = v->state, .checkpoint_in = v->checkpoint_in,
		.trusted_key = v->trusted_key, .checkpoint_out = v->checkpoint_out,
		.signing_key = v->signing_key,
	};
	if (v->store.store && v->with_kernel &&
	    (r = store_kernel_tail(&v->store, &run->kernel_fd, &run->kernel_head)) < 0) {
		errorf("%s: %s (use --no-kernel for the store alone)", v->store.ima_dir,
		       strerror(-r));
		goto done;
	}
	r = vrun_verify(run, &o);
	if (r == -EBADMSG) {
		report_failure(v, run);
		ret = EXIT_FAILED;
	} else if (r < 0) {
		errorf("%s", run->res.fail.set ? run->res.fail.reason : strerror(-r));
	} else {
		ret = check_pieces_end(v, run, &match);
	}
	if (ret == EXIT_VERIFIED && (r = vrun_save(run, &o)) < 0) {
		errorf("cannot save the verifier's state or checkpoint: %s", strerror(-r));
		ret = EXIT_UNUSABLE;
	}
	/* Only once the state that resumes there is saved: the store may then drop the rest. */
	if (ret == EXIT_VERIFIED && v->ack && ack_verified(v, run) < 0)
		ret = EXIT_UNUSABLE;
	if (v->json)
		pieces_json(v, run, ret == EXIT_VERIFIED, match, ret == EXIT_VERIFIED ? NULL
				: "the end of the log does not give the expected PCR values");
	else if (ret == EXIT_VERIFIED)
		print_pieces(run, threads ? threads : cpus > 0 ? (unsigned int)cpus : 1, match);
done:
	if (run->kernel_fd >= 0)
		close(run->kernel_fd);
	vrun_free(run);
	free(run);
	return ret;
}

static int verify(struct verify *v, struct input *in, unsigned int threads, bool pre_5_8)
{
	struct imalog_replay_options o = {
		.banks = v->banks, .pre_5_8 = pre_5_8, .threads = threads,
		.expected = v->quote && !v->quote_values ? NULL : v->expected,
		.require_pcrs = v->required,
	};
	imalog_replay *rp = NULL;
	int ret;

	if (v->store.store || v->npieces)
		return verify_pieces(v, threads, pre_5_8);
	ret = replay_input(in, &o, &rp);
	if (ret != EXIT_VERIFIED)
		return ret;
	if (v->quote && check_quote_coverage(v, used_pcrs(rp)) < 0)
		ret = EXIT_FAILED;
	else if (v->quote && !v->quote_values)
		ret = report_replayed(v, in, rp);
	else
		ret = check_coverage(v, used_pcrs(rp)) < 0 ? EXIT_UNUSABLE : report(v, in, rp);
	imalog_replay_free(rp);
	return ret;
}

/* --ak, and the live quote's key: the keys whose quotes prove a chunk's end (format.md 4.7). */
static int load_trusted(struct verify *v)
{
	v->trusted = calloc(v->naks + 1, sizeof(*v->trusted));
	if (!v->trusted)
		return -ENOMEM;
	for (size_t i = 0; i < v->naks; i++) {
		quote *q = NULL;
		int r = quote_new(&q);

		if (r < 0 ||
		    (r = quote_file(q, v->ak_paths[i], "attestation key", quote_set_key)) < 0) {
			quote_free(q);
			return r;
		}
		v->trusted[v->ntrusted++] = q; /* transferred */
	}
	if (v->quote)
		v->trusted[v->ntrusted++] = v->quote;
	return 0;
}

static void free_trusted(struct verify *v)
{
	for (size_t i = 0; i < v->ntrusted; i++)
		if (v->trusted[i] != v->quote)
			quote_free((quote *)v->trusted[i]);
	free(v->trusted);
	free(v->ak_paths);
}

/* --piece FILE[@FIRST]: a plain log file holding records FIRST... (else after the one before). */
static int add_piece(struct verify *v, char *arg, int argc)
{
	char *at = strrchr(arg, '@');
	struct vrun_plain *p;

	if (!v->pieces && !(v->pieces = calloc((size_t)argc, sizeof(*v->pieces))))
		return -ENOMEM;
	p = &v->pieces[v->npieces++];
	p->path = arg;
	if (at && parse_u64(at + 1, &p->first) == 0) {
		*at = '\0';
		p->have_first = true;
	}
	return 0;
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
		{ "quote", required_argument, NULL, 'Q' },
		{ "quote-sig", required_argument, NULL, 'S' },
		{ "ak-pub", required_argument, NULL, 'K' },
		{ "nonce", required_argument, NULL, 'N' },
		{ "quote-pcrs", required_argument, NULL, 'V' },
		{ "no-kernel", no_argument, NULL, 'k' },
		{ "piece", required_argument, NULL, 'L' },
		{ "state", required_argument, NULL, 'T' },
		{ "checkpoint", required_argument, NULL, 'C' },
		{ "checkpoint-key", required_argument, NULL, 'Y' },
		{ "from-checkpoint", required_argument, NULL, 'F' },
		{ "trust-key", required_argument, NULL, 'R' },
		{ "ack", required_argument, NULL, 'A' },
		{ "ak", required_argument, NULL, 'a' },
		INPUT_LONG_OPTIONS,
		STORE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct verify v = {
		.expected = imalog_pcrs_new(),
		.required = UINT64_C(1) << 10,
		.store = { NULL, KERNEL_IMA_DIR, NULL },
		.with_kernel = true,
	};
	struct input in = { 0 };
	struct quote_args qa = { 0 };
	uint32_t requested = 0;
	unsigned int threads = 0;
	bool pre_5_8 = false, have_pcrs = false;
	int opt, ret = EXIT_UNUSABLE;

	if (!v.expected)
		return EXIT_UNUSABLE;
	/* libtss2-mu writes its own notes on malformed input to stderr; ours name the file. */
	setenv("TSS2_LOG", "all+NONE", 0);
	while ((opt = getopt_long(argc, argv, "jb:", options, NULL)) != -1) {
		int used = input_option(&in, opt, optarg);

		if (used < 0)
			goto done;
		if (used || store_option(&v.store, opt, optarg))
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
		else if (opt == 'k')
			v.with_kernel = false;
		else if (opt == 'L' && add_piece(&v, optarg, argc) == 0)
			;
		else if (opt == 'T')
			v.state = optarg;
		else if (opt == 'A')
			v.ack = optarg;
		else if (opt == 'a' &&
			 (v.ak_paths || (v.ak_paths = calloc((size_t)argc, sizeof(*v.ak_paths)))))
			v.ak_paths[v.naks++] = optarg;
		else if (opt == 'C' || opt == 'Y' || opt == 'F' || opt == 'R')
			*(opt == 'C'   ? &v.checkpoint_out
			  : opt == 'Y' ? &v.signing_key
			  : opt == 'F' ? &v.checkpoint_in
				       : &v.trusted_key) = optarg;
		else if (opt == 'Q' || opt == 'S' || opt == 'K' || opt == 'N' || opt == 'V')
			*(opt == 'Q'   ? &qa.attest
			  : opt == 'S' ? &qa.sig
			  : opt == 'K' ? &qa.ak
			  : opt == 'N' ? &qa.nonce
				       : &qa.pcrs) = optarg;
		else if (opt == 'i' && atoi(optarg) >= 0 && atoi(optarg) < IMALOG_MAX_PCRS)
			v.required = (v.required & ~(UINT64_C(1) << 10)) | UINT64_C(1) << atoi(optarg);
		else
			goto usage;
	}
	if (optind + 1 < argc)
		goto usage;
	if (qa.attest || qa.sig || qa.ak || qa.nonce || qa.pcrs) {
		if (!qa.attest || !qa.sig || !qa.ak || !qa.nonce || have_pcrs ||
		    (requested && !qa.pcrs)) {
			usage_error("verify: --quote needs --quote-sig, --ak-pub and --nonce, "
				    "takes no --pcrs, and --banks only with --quote-pcrs");
			goto done;
		}
		ret = load_quote(&v, &qa);
		if (ret != EXIT_VERIFIED)
			goto done;
		ret = EXIT_UNUSABLE;
		if (!v.json)
			print_quote(&v, &qa);
	}
	/* The TPM is read before the log, never after: see the comment at the top. */
	if (!have_pcrs && !v.quote && load_pcr_spec(v.expected, DEFAULT_TPM, &v.required) < 0)
		goto done;
	if (v.quote && !v.quote_values)
		v.banks = quote_banks(v.quote);
	else if (choose_banks(&v, requested) < 0)
		goto done;
	if ((v.store.store || v.npieces) && argv[optind])
		goto usage;
	if ((v.state || v.checkpoint_out || v.checkpoint_in) && !v.store.store) {
		usage_error("verify: --state and checkpoints need --store: they are kept per log");
		goto done;
	}
	if (v.ack && (!v.store.store || (!v.state && !v.checkpoint_out))) {
		usage_error("verify: --ack needs --store and --state or --checkpoint: a verifier "
			    "that keeps no state needs every chunk again");
		goto done;
	}
	if (v.ack && !store_ack_name_valid(v.ack)) {
		usage_error("verify: --ack NAME: 1 to 64 of A-Z a-z 0-9 . _ -, not beginning with "
			    "'.' nor ending in .tmp");
		goto done;
	}
	if (v.naks && !v.store.store) {
		usage_error("verify: --ak needs --store: it names the keys trusted for the quotes "
			    "a store keeps");
		goto done;
	}
	if (load_trusted(&v) < 0)
		goto done;
	if (!v.checkpoint_out != !v.signing_key || !v.checkpoint_in != !v.trusted_key) {
		usage_error("verify: --checkpoint goes with --checkpoint-key, --from-checkpoint "
			    "with --trust-key");
		goto done;
	}
	v.order = in.opts.format.order;
	in.path = v.store.store;
	if (!v.store.store && !v.npieces && input_open(&in, argv[optind]) < 0)
		goto done;
	ret = verify(&v, &in, threads, pre_5_8);
	input_close(&in);
	goto done;
usage:
	usage_error("verify: bad option or argument");
done:
	free(v.pieces);
	free_trusted(&v);
	quote_free(v.quote);
	imalog_pcrs_free(v.expected);
	return ret;
}
