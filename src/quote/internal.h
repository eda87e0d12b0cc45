/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Definitions shared by the quote modules, their unit tests and the fuzzer; never installed. */
#ifndef IMALOG_QUOTE_INTERNAL_H
#define IMALOG_QUOTE_INTERNAL_H

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include "quote.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every PCR of every bank a TPML_PCR_SELECTION can hold. */
#define MAX_SELECTED (TPM2_NUM_PCR_BANKS * TPM2_PCR_SELECT_MAX * 8)

/* ---- hash algorithms by TPM_ALG_ID (alg.c) ---- */

struct tpm_hash {
	uint16_t id;	  /* TPM_ALG_ID, TPM 2.0 Library Part 2, 6.3 */
	const char *name; /* tpm2-tools' spelling */
	const char *evp_name;
	uint8_t size;
	enum imalog_hash bank; /* IMALOG_HASH_COUNT if libimalog has no such bank */
};

/* NULL for an algorithm that is not a hash this code knows. */
const struct tpm_hash *tpm_hash_get(uint16_t id);
const struct tpm_hash *tpm_hash_of_bank(enum imalog_hash bank);
/* One-shot digest; -EOPNOTSUPP if libcrypto lacks the algorithm. */
int tpm_hash_digest(const struct tpm_hash *h, const uint8_t *data, size_t len,
		    uint8_t out[static sizeof(TPMU_HA)]);

/* ---- PCR selections (selection.c) ---- */

struct pcr_ref {
	const struct tpm_hash *bank;
	uint8_t pcr;
};

/*
 * The PCRs of @sel in the order a TPM digests them (TPM 2.0 Library Part 1, 17.5 / Part 3,
 * TPM2_Quote(): each TPMS_PCR_SELECTION in turn, its PCRs in ascending order). -EOPNOTSUPP
 * for a bank that is not a known hash, -EBADMSG for sizes out of range.
 */
int selection_flatten(const TPML_PCR_SELECTION *sel, struct pcr_ref out[static MAX_SELECTED],
		      size_t *ret_n);
/* Same banks in the same order with the same PCRs (sizeofSelect may differ). */
bool selection_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b);

/* ---- the attestation (attest.c) ---- */

/* Unmarshal a TPMS_ATTEST that fills @len exactly. */
int attest_parse(const uint8_t *buf, size_t len, TPMS_ATTEST *ret);

/* ---- signatures (signature.c) ---- */

/* Unmarshal a TPMT_SIGNATURE that fills @len exactly; RSASSA, RSAPSS and ECDSA only. */
int signature_parse(const uint8_t *buf, size_t len, TPMT_SIGNATURE *ret);

/* ---- the attestation key (key.c) ---- */

struct ak {
	EVP_PKEY *pkey;
	bool from_tpm; /* a TPM2B_PUBLIC: the fields below are known */
	TPMA_OBJECT attributes;
	TPMT_SIG_SCHEME scheme; /* TPM2_ALG_NULL: any scheme the key type allows */
};

/* PEM or DER SubjectPublicKeyInfo, or a TPM2B_PUBLIC (an RSA or ECC signing key). */
int ak_parse(const uint8_t *buf, size_t len, struct ak *ret);
void ak_clear(struct ak *k);

/* ---- the PCR values file of tpm2_quote -o (pcrfile.c) ---- */

struct pcr_value {
	uint8_t size;
	uint8_t value[sizeof(TPMU_HA)];
};

struct pcr_file {
	TPML_PCR_SELECTION selection;
	size_t count;
	struct pcr_value values[MAX_SELECTED]; /* in file order */
};

/*
 * Fill @f from the file's bytes. On failure @f holds a part of them, and *ret_offset (if not
 * NULL) the byte offset of the field that is wrong.
 */
int pcrfile_parse(const uint8_t *buf, size_t len, struct pcr_file *f, size_t *ret_offset);

/* ---- the quote object (quote.c) ---- */

struct quote {
	uint8_t attest_raw[sizeof(((TPM2B_ATTEST *)0)->attestationData)];
	size_t attest_len;
	bool have_attest, have_sig, have_nonce;
	TPMT_SIGNATURE sig;
	struct ak key;
	uint8_t nonce[QUOTE_MAX_NONCE];
	size_t nonce_len;

	/* After the signature verified and the attestation parsed: */
	bool verified;
	TPMS_ATTEST attest;
	const struct tpm_hash *digest_hash; /* the signature's, which pcrDigest uses */
	size_t nselected;
	struct pcr_ref selected[MAX_SELECTED];

	/* After quote_check_pcr_file(): the values, in selection order. */
	bool have_values;
	struct pcr_value values[MAX_SELECTED];

	char failure[256];
};

/* Record why a call failed; returns @err. */
int quote_fail(quote *q, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The checks after a verified signature; quote_verify() ends with it, the fuzzer calls it alone. */
int quote_check_attest(quote *q);
/* The signature over the attestation's bytes, with the key (signature.c). */
int quote_check_signature(quote *q);

#endif
