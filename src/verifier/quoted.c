// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Quoted cuts (format.md 4.7): a chunk whose manifest carries the TPM's quote of the chunk's end.
 * The quote is checked with the store's copy of the key (keys/<name>.pub, which must be the key
 * of that name) before the chunk is replayed, and against the replayed state at its end after.
 * The store's copy of a key is a claim of the machine: only a key the verifier was given
 * (--ak, or the live quote's) makes the end proven by the TPM; with such keys given, a quote by
 * any other key fails.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NO_OFFSET UINT64_MAX

static uint64_t last_of(const struct manifest *m)
{
	return m->first + m->count - 1;
}

/* keys/<name>.pub, which must be the key that name names. */
static int load_key(struct vpiece *pc, const struct verifier_options *o, quote *q)
{
	const struct manifest *m = pc->m;
	uint8_t *buf = NULL, name[QUOTE_MAX_NAME];
	char path[4200], hex[2 * QUOTE_MAX_NAME + 1] = "";
	size_t len = 0, name_len = 0;
	int r;

	snprintf(path, sizeof(path), "%.4000s/%s.pub", o->keys_dir ? o->keys_dir : "keys",
		 m->quote.key);
	if ((r = quote_read_file(path, &buf, &len)) < 0) {
		vfail(&pc->fail, last_of(m), NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 ": quoted by key %s, whose file %s cannot be "
		      "read (%s)",
		      m->first, last_of(m), m->quote.key, path,
		      r == -E2BIG ? "larger than 64 KiB" : strerror(-r));
		goto done;
	}
	r = quote_key_name(buf, len, name, &name_len);
	if (r == 0)
		imalog_hex(name, name_len, hex);
	if (r < 0 || strcmp(hex, m->quote.key) != 0) {
		vfail(&pc->fail, last_of(m), NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 ": quoted by key %s, but %s %s%s", m->first,
		      last_of(m), m->quote.key, path,
		      r < 0 ? "is not a TPM2B_PUBLIC with a name this verifier computes"
			    : "is the key named ",
		      hex);
		r = -EBADMSG;
		goto done;
	}
	if ((r = quote_set_key(q, buf, len)) < 0)
		vfail(&pc->fail, last_of(m), NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 ": the key %s of the quote of their end: %s",
		      m->first, last_of(m), path, quote_failure(q));
done:
	free(buf);
	return r;
}

int vquote_load(struct vpiece *pc, const struct verifier_options *o, quote **ret)
{
	const struct manifest_quote *mq = &pc->m->quote;
	quote *q = NULL;
	int r;

	*ret = NULL;
	if ((r = quote_new(&q)) < 0)
		return r;
	if ((r = load_key(pc, o, q)) < 0)
		goto done;
	if ((r = quote_set_attest(q, mq->attest, mq->attest_len)) < 0 ||
	    (r = quote_set_signature(q, mq->signature, mq->signature_len)) < 0 ||
	    (r = quote_set_nonce(q, mq->nonce, mq->nonce_len)) < 0 || (r = quote_verify(q)) < 0)
		vfail(&pc->fail, last_of(pc->m), NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 ": the quote of their end by key %s does not "
		      "verify: %s",
		      pc->m->first, last_of(pc->m), mq->key, quote_failure(q));
done:
	if (r < 0) {
		quote_free(q);
		return r == -ENOMEM ? r : -EBADMSG;
	}
	*ret = q; /* transferred */
	return 0;
}

/*
 * The banks to replay beyond the verified ones, so that every PCR the quote selects has a value:
 * those the manifest has (its start state has none on the first chunk: all zeros).
 */
uint32_t vquote_banks(const quote *q, const struct manifest *m)
{
	return q ? quote_banks(q) & m->end.banks : 0;
}

/*
 * The quote attests only to what it selects: it proves the end when it selects every PCR the
 * records extend, in every bank verified (imalogd selects them all, 4.7).
 */
static bool covers(const struct verifier_options *o, const quote *q, const imalog_replay *rp)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++)
			if (imalog_replay_pcr_used(rp, p) && o->banks >> a & 1 &&
			    !quote_selects(q, p, (enum imalog_hash)a))
				return false;
	return true;
}

/* The replayed values of every PCR the quote selects, in the banks replayed. */
static int selected_values(const quote *q, const imalog_replay *rp, imalog_pcrs **ret)
{
	imalog_pcrs *v = imalog_pcrs_new();
	int r = v ? 0 : -ENOMEM;

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS && r == 0; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT && r == 0; a++) {
			enum imalog_hash alg = (enum imalog_hash)a;
			const uint8_t *val = imalog_replay_pcr(rp, p, alg);

			if (val && quote_selects(q, p, alg))
				r = imalog_pcrs_set(v, p, alg, val, imalog_hash_size(alg));
		}
	if (r < 0) {
		imalog_pcrs_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

static bool trusted(const struct verifier_options *o, const quote *q)
{
	for (size_t i = 0; i < o->ntrusted; i++)
		if (quote_same_key(q, o->trusted[i]))
			return true;
	return false;
}

int vquote_check(struct vpiece *pc, const struct verifier_options *o, quote *q,
		 const imalog_replay *rp)
{
	const struct manifest *m = pc->m;
	imalog_pcrs *values = NULL;
	int r;

	if ((r = selected_values(q, rp, &values)) < 0)
		return r;
	r = quote_check_pcrs(q, values);
	imalog_pcrs_free(values);
	if (r < 0) {
		vfail(&pc->fail, last_of(m), NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 " do not give the state the TPM quoted at "
		      "their end (key %s): %s",
		      m->first, last_of(m), m->quote.key, quote_failure(q));
		return r == -ENOMEM ? r : -EBADMSG;
	}
	if (o->ntrusted && !trusted(o, q)) {
		vfail(&pc->fail, last_of(m), NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 ": quoted by key %s, which is not a trusted "
		      "key",
		      m->first, last_of(m), m->quote.key);
		return -EBADMSG;
	}
	/* Checked, and true; but a quote of a part of the state does not prove the whole end. */
	if (covers(o, q, rp))
		pc->proof = o->ntrusted ? VPROOF_TPM : VPROOF_TPM_UNTRUSTED;
	return 0;
}

const char *vproof_name(enum vproof p)
{
	static const char *const names[] = {
		[VPROOF_MANIFEST] = "manifest",
		[VPROOF_AGGREGATE] = "aggregate",
		[VPROOF_TPM_UNTRUSTED] = "tpm-untrusted-key",
		[VPROOF_TPM] = "tpm",
	};

	return (unsigned int)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}
