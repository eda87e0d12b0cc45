/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the verifier's files; not for its users. */
#ifndef IMALOG_VERIFIER_INTERNAL_H
#define IMALOG_VERIFIER_INTERNAL_H

#include "verifier.h"

/* Equal PCR sets, and equal values in @banks. */
bool vstate_equal(const struct pcr_state *a, const struct pcr_state *b, uint32_t banks);
/* Seed @rp with @st's values in @banks. */
int vstate_seed(const struct pcr_state *st, uint32_t banks, imalog_replay *rp);
/* Check one piece from @seed; 0, or a failure in pc->fail. Thread-safe across pieces. */
int vpiece_check(struct vpiece *pc, const struct verifier_options *o, const struct pcr_state *seed);

#endif
