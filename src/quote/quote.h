/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TPM 2.0 quotes as tpm2-tools writes them: the attestation (tpm2_quote -m), its signature
 * (tpm2_quote -s, the default "tss" format: a marshalled TPMT_SIGNATURE), the attestation key's
 * public part (PEM or DER SubjectPublicKeyInfo, or the TPM2B_PUBLIC of tpm2_createak -u) and the
 * PCR values file (tpm2_quote -o, the default "serialized" format).
 *
 * The order of checks is fixed: the signature over the attestation's bytes first, and only
 * then are those bytes parsed (TPM 2.0 Library, Part 3, TPM2_Quote()); then the magic, the type,
 * the nonce, and last the PCR values against the signed pcrDigest.
 *
 * Errors are negative errno values with fixed meanings:
 *   -EBADMSG       malformed input, or trailing bytes
 *   -E2BIG         an input over its limit
 *   -EOPNOTSUPP    an algorithm, scheme, curve or bank this code does not verify
 *   -EKEYREJECTED  the signature does not verify with the key, or the key cannot have made it
 *   -EPROTO        signed, but not a TPM-generated quote (magic or type)
 *   -ESTALE        the quote's qualifying data is not the verifier's nonce
 *   -EBADE         PCR values that do not give the signed pcrDigest, or a values file for
 *                  another selection
 *   -ENOENT        a selected PCR with no value to check
 *   -EINVAL        a call out of order (an input missing)   -ENOMEM  out of memory
 * After any failure, quote_failure() says in words what failed and where. Nothing here prints.
 */
#ifndef IMALOG_QUOTE_H
#define IMALOG_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imalog.h"

#define QUOTE_MAX_NONCE 64	   /* sizeof(TPMU_HA): the largest TPM2B_DATA */
#define QUOTE_MAX_FILE (64u << 10) /* every input file is far smaller */

typedef struct quote quote;

IMALOG_MUST_CHECK int quote_new(quote **ret);
void quote_free(quote *q);

/* Inputs. Each copies what it keeps and may be called again to replace it. */
IMALOG_MUST_CHECK int quote_set_attest(quote *q, const uint8_t *buf, size_t len);
IMALOG_MUST_CHECK int quote_set_signature(quote *q, const uint8_t *buf, size_t len);
IMALOG_MUST_CHECK int quote_set_key(quote *q, const uint8_t *buf, size_t len);
IMALOG_MUST_CHECK int quote_set_nonce(quote *q, const uint8_t *nonce, size_t len);

/* The signature, then magic, type, nonce and the form of the selection and pcrDigest. */
IMALOG_MUST_CHECK int quote_verify(quote *q);

/*
 * After quote_verify(): the PCR values. Either a tpm2_quote -o file, whose selection must be the
 * quote's; or values from elsewhere (a replay), which must cover every PCR the quote selects.
 * Either way their digest must be the signed pcrDigest.
 */
IMALOG_MUST_CHECK int quote_check_pcr_file(quote *q, const uint8_t *buf, size_t len);
IMALOG_MUST_CHECK int quote_check_pcrs(quote *q, const imalog_pcrs *values);

/* After quote_verify(): is PCR @pcr of bank @alg in the selection? */
bool quote_selects(const quote *q, unsigned int pcr, enum imalog_hash alg);
/* Bit (1 << enum imalog_hash) per bank with a selected PCR. */
uint32_t quote_banks(const quote *q);
/* After quote_check_pcr_file(): add the values it proved to @p. */
IMALOG_MUST_CHECK int quote_expected(const quote *q, imalog_pcrs *p);

struct quote_info {
	const char *scheme; /* "rsassa", "rsapss", "ecdsa" */
	const char *hash;   /* of the signature and of pcrDigest: "sha256", ... */
	uint64_t clock;	    /* TPMS_CLOCK_INFO, milliseconds */
	uint32_t reset_count;
	uint32_t restart_count;
	bool safe;
	uint64_t firmware_version;
};

/* After quote_verify(). */
void quote_get_info(const quote *q, struct quote_info *ret);

/*
 * Keys. The same public key as @other's (PEM, DER and TPM2B_PUBLIC compare alike): a verifier's
 * trusted keys are quote objects with only a key set. False while either has none.
 */
bool quote_same_key(const quote *q, const quote *other);

#define QUOTE_MAX_NAME (2 + 64) /* a TPM2B_NAME of a key: nameAlg and its digest */

/*
 * The TPM name of the key in a TPM2B_PUBLIC (TPM 2.0 Library Part 1, 16: nameAlg, then the
 * nameAlg digest of the marshalled public area). -EBADMSG for anything else, -EOPNOTSUPP for a
 * nameAlg this code does not hash.
 */
IMALOG_MUST_CHECK int quote_key_name(const uint8_t *buf, size_t len,
				     uint8_t ret[static QUOTE_MAX_NAME], size_t *ret_len);

/* What the last failing call found; "" if none failed. */
const char *quote_failure(const quote *q);

/* Read a whole input file of at most QUOTE_MAX_FILE bytes; -E2BIG if larger. */
IMALOG_MUST_CHECK int quote_read_file(const char *path, uint8_t **ret, size_t *ret_len);

#endif
