// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Where a quote cuts the records (docs/format.md 4.7): replay the unsaved records one by one
 * and stop at the first after which the quote's pcrDigest matches. Checked with the quote
 * verifier of src/quote, the same code a verifier runs on the stored quote.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"
#include "tpm.h"

static int open_quote(const struct manifest_quote *mq, const struct tpm_key *key, quote **ret)
{
	int r = quote_new(ret);

	if (r == 0 && ((r = quote_set_attest(*ret, mq->attest, mq->attest_len)) < 0 ||
		       (r = quote_set_signature(*ret, mq->signature, mq->signature_len)) < 0 ||
		       (r = quote_set_key(*ret, key->pub, key->pub_len)) < 0 ||
		       (r = quote_set_nonce(*ret, mq->nonce, mq->nonce_len)) < 0))
		return r;
	return r == 0 ? quote_verify(*ret) : r;
}

/* Does the replayed state give the quote's pcrDigest? -EBADE if not. */
static int matches(quote *q, const imalog_replay *rp, uint32_t banks)
{
	imalog_pcrs *values = imalog_pcrs_new();
	int r = values ? 0 : -ENOMEM;

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS && r == 0; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT && r == 0; a++) {
			enum imalog_hash alg = (enum imalog_hash)a;

			if (!quote_selects(q, p, alg))
				continue;
			if (!(banks >> a & 1))
				r = -ENOENT;
			else
				r = imalog_pcrs_set(values, p, alg, imalog_replay_pcr(rp, p, alg),
						    imalog_hash_size(alg));
		}
	if (r == 0)
		r = quote_check_pcrs(q, values);
	imalog_pcrs_free(values);
	return r;
}

static int replay_to_cut(quote *q, imalog_replay *rp, uint32_t banks,
			 enum imalog_byte_order order, const uint8_t *p, size_t len,
			 size_t *ret_len, char *err, size_t errlen)
{
	struct imalog_format f = { IMALOG_INPUT_BINARY, IMALOG_SHA1, order };
	imalog_record *rec = imalog_record_new();
	size_t off = 0;
	uint64_t n = 0;
	int r = rec ? matches(q, rp, banks) : -ENOMEM;
	bool at_start = r == 0;

	while ((r == 0 || r == -EBADE) && off < len) {
		ptrdiff_t used = imalog_parse_record(&f, p + off, len - off, NULL, 0, rec);

		if (used <= 0 || (r = imalog_replay_record(rp, rec)) < 0) {
			r = used <= 0 ? -EBADMSG : r;
			break;
		}
		off += (size_t)used;
		n++;
		if ((r = matches(q, rp, banks)) == 0) {
			*ret_len = off;
			break;
		}
	}
	imalog_record_free(rec);
	if (r == 0 && off > 0)
		return 0;
	if (at_start)
		snprintf(err, errlen, "the quote was taken before any of the %" PRIu64
			 " unsaved records was measured", n);
	else if (r == -EBADE || r == 0)
		snprintf(err, errlen, "none of the %" PRIu64 " unsaved records gives the quoted "
			 "PCR values (something other than IMA extended a quoted PCR?)", n);
	else if (r == -ENOENT)
		snprintf(err, errlen, "the quote selects a bank the daemon does not replay");
	else
		snprintf(err, errlen, "checking the quote: %s",
			 quote_failure(q)[0] ? quote_failure(q) : strerror(-r));
	return -ENOENT;
}

int tpm_find_cut(const struct manifest_quote *mq, const struct tpm_key *key,
		 const struct pcr_state *start, uint32_t banks, enum imalog_byte_order order,
		 const uint8_t *p, size_t len, size_t *ret_len, char *err, size_t errlen)
{
	struct imalog_replay_options o = { .banks = banks, .threads = 1 };
	imalog_replay *rp = NULL;
	quote *q = NULL;
	int r = open_quote(mq, key, &q);

	if (r < 0)
		snprintf(err, errlen, "the TPM's quote does not verify: %s",
			 q && quote_failure(q)[0] ? quote_failure(q) : strerror(-r));
	else if ((r = imalog_replay_new(&o, &rp)) < 0 || (r = pcr_state_seed(start, rp)) < 0)
		snprintf(err, errlen, "replaying the unsaved records: %s", strerror(-r));
	else
		r = replay_to_cut(q, rp, banks, order, p, len, ret_len, err, errlen);
	imalog_replay_free(rp);
	quote_free(q);
	return r < 0 ? -ENOENT : 0;
}
