// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCR selections (TPML_PCR_SELECTION, TPM 2.0 Library Part 2, 10.6.2 and 10.9.7): a list of
 * banks, each with a bit map of PCRs, bit n of byte n / 8 for PCR n.
 */
#include "internal.h"

static bool selected(const TPMS_PCR_SELECTION *s, unsigned int pcr)
{
	return pcr / 8 < s->sizeofSelect && (s->pcrSelect[pcr / 8] >> (pcr % 8) & 1);
}

int selection_flatten(const TPML_PCR_SELECTION *sel, struct pcr_ref out[static MAX_SELECTED],
		      size_t *ret_n)
{
	size_t n = 0;

	if (sel->count > TPM2_NUM_PCR_BANKS)
		return -EBADMSG;
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		const struct tpm_hash *bank = tpm_hash_get(s->hash);

		if (s->sizeofSelect > TPM2_PCR_SELECT_MAX)
			return -EBADMSG;
		if (!bank)
			return -EOPNOTSUPP;
		for (unsigned int pcr = 0; pcr < 8u * s->sizeofSelect; pcr++)
			if (selected(s, pcr))
				out[n++] = (struct pcr_ref){ .bank = bank, .pcr = (uint8_t)pcr };
	}
	*ret_n = n;
	return 0;
}

bool selection_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b)
{
	if (a->count != b->count || a->count > TPM2_NUM_PCR_BANKS)
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		const TPMS_PCR_SELECTION *x = &a->pcrSelections[i], *y = &b->pcrSelections[i];

		if (x->hash != y->hash || x->sizeofSelect > TPM2_PCR_SELECT_MAX ||
		    y->sizeofSelect > TPM2_PCR_SELECT_MAX)
			return false;
		for (unsigned int pcr = 0; pcr < 8u * TPM2_PCR_SELECT_MAX; pcr++)
			if (selected(x, pcr) != selected(y, pcr))
				return false;
	}
	return true;
}
