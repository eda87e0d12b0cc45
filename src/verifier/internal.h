/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the verifier's files; not for its users. */
#ifndef IMALOG_VERIFIER_INTERNAL_H
#define IMALOG_VERIFIER_INTERNAL_H

#include "verifier.h"

/* Equal PCR sets, and equal values in @banks. */
bool vstate_equal(const struct pcr_state *a, const struct pcr_state *b, uint32_t banks);
/* Seed @rp with @st's values in @banks. */
int vstate_seed(const struct pcr_state *st, uint32_t banks, imalog_replay *rp);
/* Absolute indices at which to keep the replayed state, ascending, without repeats. */
struct vwant {
	const uint64_t *at;
	size_t n;
};

/*
 * Check one piece from @seed, keeping the state at each index of @want strictly inside it; 0,
 * or a failure in pc->fail. Thread-safe across pieces.
 */
int vpiece_check(struct vpiece *pc, const struct verifier_options *o, const struct pcr_state *seed,
		 const struct vwant *want);
/*
 * Replay a piece that passed vpiece_check() again from @seed, only as far as the last index of
 * @want, keeping the state at each; a failure (the file changed since) goes to @ret_fail.
 */
int vpiece_cut_states(struct vpiece *pc, const struct verifier_options *o,
		      const struct pcr_state *seed, const struct vwant *want,
		      struct vfailure *ret_fail);
/* The state kept at @index inside @pc, or NULL. */
const struct pcr_state *vpiece_cut(const struct vpiece *pc, uint64_t index);

/*
 * The quote in @pc's manifest, checked before the chunk is replayed: its key file, the
 * signature, magic, type and qualifying data; 0, or a failure in pc->fail.
 */
int vquote_load(struct vpiece *pc, const struct verifier_options *o, quote **ret);
/* The banks beyond the verified ones to replay for @q's selection (0 for no quote). */
uint32_t vquote_banks(const quote *q, const struct manifest *m);
/* After the replay of @pc: the quote against its end, and whose key made it; sets pc->proof. */
int vquote_check(struct vpiece *pc, const struct verifier_options *o, quote *q,
		 const imalog_replay *rp);

#endif
