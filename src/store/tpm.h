/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TPM side of quoted cuts (docs/format.md 4.7), through the ESAPI of tpm2-tss: open the TPM,
 * load or make the attestation key, save its public area in STORE/keys/, and quote. Built
 * without tpm2-tss, tpm_open() fails with -EOPNOTSUPP and says so.
 */
#ifndef IMALOG_TPM_H
#define IMALOG_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define TPM_TCTI_DEFAULT "device:/dev/tpmrm0"
#define TPM_AK_HANDLE_DEFAULT 0x81010010u
#define TPM_MAX_PUBLIC 1024	/* > sizeof(TPM2B_PUBLIC) */

struct tpm;

/* Whether this build has tpm2-tss (the meson option tpm). */
bool tpm_built(void);

/* The attestation key as the store holds it: its name (hex) and marshalled TPM2B_PUBLIC. */
struct tpm_key {
	char name[2 * STORE_MAX_KEY_NAME + 1];
	uint8_t pub[TPM_MAX_PUBLIC];
	size_t pub_len;
};

/*
 * Open the TPM through the TCTI @tcti, read its PCR banks, load the key at @ak_handle (making
 * and persisting it if the handle is empty) and write STORE/keys/<name>.pub. On failure
 * @err says what failed.
 */
int tpm_open(const char *tcti, uint32_t ak_handle, const char *store_dir, struct tpm **ret,
	     char *err, size_t errlen);
void tpm_free(struct tpm *t);
const struct tpm_key *tpm_key(const struct tpm *t);
/* Bit (1 << enum imalog_hash) per bank the TPM has allocated. */
uint32_t tpm_banks(const struct tpm *t);

/*
 * Quote PCRs @pcrs (a bit each) in @banks (those the TPM lacks are left out) with 16 random
 * bytes as qualifying data; fills @ret (key, attest, signature, nonce). After a TPM error the
 * next call reopens the TPM first.
 */
int tpm_quote(struct tpm *t, uint64_t pcrs, uint32_t banks, struct manifest_quote *ret,
	      char *err, size_t errlen);

/*
 * The cut (4.7): the byte length of the shortest non-empty prefix of the records @p, @len
 * replayed from @start in @banks, after which the quote @q (signed by @key) gives the PCR
 * values; -ENOENT with the reason in @err if none does.
 */
int tpm_find_cut(const struct manifest_quote *q, const struct tpm_key *key,
		 const struct pcr_state *start, uint32_t banks, enum imalog_byte_order order,
		 const uint8_t *p, size_t len, size_t *ret_len, char *err, size_t errlen);

#endif
