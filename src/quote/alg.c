// SPDX-License-Identifier: GPL-2.0-or-later
/* The hash algorithms of PCR banks and signatures, by TPM_ALG_ID (TPM 2.0 Library Part 2, 6.3). */
#include <openssl/evp.h>

#include "internal.h"

static const struct tpm_hash hashes[] = {
	{ TPM2_ALG_SHA1, "sha1", "SHA1", 20, IMALOG_SHA1 },
	{ TPM2_ALG_SHA256, "sha256", "SHA256", 32, IMALOG_SHA256 },
	{ TPM2_ALG_SHA384, "sha384", "SHA384", 48, IMALOG_SHA384 },
	{ TPM2_ALG_SHA512, "sha512", "SHA512", 64, IMALOG_SHA512 },
	{ TPM2_ALG_SM3_256, "sm3_256", "SM3", 32, IMALOG_SM3_256 },
	{ TPM2_ALG_SHA3_256, "sha3_256", "SHA3-256", 32, IMALOG_HASH_COUNT },
	{ TPM2_ALG_SHA3_384, "sha3_384", "SHA3-384", 48, IMALOG_HASH_COUNT },
	{ TPM2_ALG_SHA3_512, "sha3_512", "SHA3-512", 64, IMALOG_HASH_COUNT },
};

const struct tpm_hash *tpm_hash_get(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].id == id)
			return &hashes[i];
	return NULL;
}

const struct tpm_hash *tpm_hash_of_bank(enum imalog_hash bank)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].bank == bank && bank != IMALOG_HASH_COUNT)
			return &hashes[i];
	return NULL;
}

int tpm_hash_digest(const struct tpm_hash *h, const uint8_t *data, size_t len,
		    uint8_t out[static sizeof(TPMU_HA)])
{
	EVP_MD *md = EVP_MD_fetch(NULL, h->evp_name, NULL);
	unsigned int n = 0;
	int r = 0;

	if (!md)
		return -EOPNOTSUPP;
	if (!EVP_Digest(data, len, out, &n, md, NULL) || n != h->size)
		r = -ENOMEM;
	EVP_MD_free(md);
	return r;
}
