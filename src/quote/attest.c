// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The attestation structure (TPMS_ATTEST, TPM 2.0 Library Part 2, 10.12.12): what tpm2_quote -m
 * writes is the attestationData of the TPM2B_ATTEST that TPM2_Quote() returns, without its size.
 */
#include <tss2/tss2_mu.h>

#include "internal.h"

int attest_parse(const uint8_t *buf, size_t len, TPMS_ATTEST *ret)
{
	TPMS_ATTEST a = { 0 };
	size_t offset = 0;

	if (len > sizeof(((TPM2B_ATTEST *)0)->attestationData))
		return -E2BIG;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &offset, &a) != TSS2_RC_SUCCESS ||
	    offset != len)
		return -EBADMSG;
	*ret = a;
	return 0;
}
