// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The attestation key's public part: PEM or DER SubjectPublicKeyInfo (tpm2_createak -f pem|der),
 * or the TPM2B_PUBLIC that tpm2_createak -u writes by default (TPM 2.0 Library Part 2, 12.2.5),
 * made into a libcrypto key. A TPM2B_PUBLIC also says what the key may do: a key that signs
 * quotes must be a restricted signing key (Part 1, 25.2.5: only such a key refuses to sign data
 * that begins with TPM_GENERATED_VALUE, so only its quotes are the TPM's own). Keys compare by
 * their public part; a TPM2B_PUBLIC also has a TPM name, which names imalogd's key files (4.7).
 */
#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "internal.h"

void ak_clear(struct ak *k)
{
	EVP_PKEY_free(k->pkey);
	*k = (struct ak){ 0 };
}

static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **ret)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL, *out = NULL;
	EVP_PKEY_CTX *check = NULL;
	int r = -ENOMEM;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
		goto done;
	r = -EBADMSG;
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto done;
	/* fromdata() takes any numbers: an EC point must lie on its curve, an RSA modulus be odd.
	 */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1)
		goto done;
	out = pkey;
	pkey = NULL; /* transferred */
	r = 0;
done:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	if (r == 0)
		*ret = out;
	return r;
}

static int rsa_key(const TPMT_PUBLIC *p, EVP_PKEY **ret)
{
	const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
	/* Part 2, 12.2.3.5: an exponent of zero means 2^16 + 1. */
	uint32_t e = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn_n = BN_bin2bn(n->buffer, n->size, NULL), *bn_e = BN_new();
	int r = -ENOMEM;

	if (n->size == 0 || n->size * 8u != p->parameters.rsaDetail.keyBits) {
		r = -EBADMSG;
		goto done;
	}
	if (bld && bn_n && bn_e && BN_set_word(bn_e, e) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		r = pkey_from_params("RSA", bld, ret);
done:
	BN_free(bn_n);
	BN_free(bn_e);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static const struct {
	uint16_t id;
	const char *name;
	uint8_t size;
} curves[] = {
	{ TPM2_ECC_NIST_P256, "prime256v1", 32 },
	{ TPM2_ECC_NIST_P384, "secp384r1", 48 },
	{ TPM2_ECC_NIST_P521, "secp521r1", 66 },
};

static int ecc_key(const TPMT_PUBLIC *p, EVP_PKEY **ret)
{
	const TPMS_ECC_POINT *pt = &p->unique.ecc;
	uint8_t octets[1 + 2 * 66] = { 4 }; /* SEC 1, 2.3.3: uncompressed point */
	OSSL_PARAM_BLD *bld;
	size_t c = 0, sz;
	int r = -ENOMEM;

	while (c < ARRAY_SIZE(curves) && curves[c].id != p->parameters.eccDetail.curveID)
		c++;
	if (c == ARRAY_SIZE(curves))
		return -EOPNOTSUPP;
	sz = curves[c].size;
	if (pt->x.size == 0 || pt->x.size > sz || pt->y.size == 0 || pt->y.size > sz)
		return -EBADMSG;
	/* Coordinates may come without their leading zero bytes. */
	memcpy(octets + 1 + sz - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(octets + 1 + 2 * sz - pt->y.size, pt->y.buffer, pt->y.size);
	bld = OSSL_PARAM_BLD_new();
	if (bld &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[c].name, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, octets, 1 + 2 * sz))
		r = pkey_from_params("EC", bld, ret);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int tpm_public(const uint8_t *buf, size_t len, struct ak *ret)
{
	TPM2B_PUBLIC pub = { 0 }; /* the unmarshaller wants the size zero */
	const TPMT_PUBLIC *p = &pub.publicArea;
	size_t offset = 0;
	EVP_PKEY *pkey = NULL;
	int r;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &offset, &pub) != TSS2_RC_SUCCESS ||
	    offset != len)
		return -EBADMSG;
	if ((p->objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED)) !=
	    (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED))
		return -EKEYREJECTED;
	if (p->type == TPM2_ALG_RSA)
		r = rsa_key(p, &pkey);
	else if (p->type == TPM2_ALG_ECC)
		r = ecc_key(p, &pkey);
	else
		r = -EOPNOTSUPP;
	if (r < 0)
		return r;
	*ret = (struct ak){ .pkey = pkey, .from_tpm = true, .attributes = p->objectAttributes };
	/* TPMT_RSA_SCHEME and TPMT_ECC_SCHEME share TPMT_SIG_SCHEME's layout for signing schemes.
	 */
	ret->scheme.scheme = p->type == TPM2_ALG_RSA ? p->parameters.rsaDetail.scheme.scheme
						     : p->parameters.eccDetail.scheme.scheme;
	ret->scheme.details.any.hashAlg =
		p->type == TPM2_ALG_RSA ? p->parameters.rsaDetail.scheme.details.anySig.hashAlg
					: p->parameters.eccDetail.scheme.details.anySig.hashAlg;
	return 0;
}

/* Nothing but white space may follow the PEM block. */
static bool only_space(BIO *bio)
{
	char c;

	while (BIO_read(bio, &c, 1) == 1)
		if (!isspace((unsigned char)c))
			return false;
	return true;
}

static int spki(const uint8_t *buf, size_t len, bool pem, struct ak *ret)
{
	EVP_PKEY *pkey = NULL;

	if (len > INT32_MAX)
		return -E2BIG;
	if (pem) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);

		if (!bio)
			return -ENOMEM;
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		if (pkey && !only_space(bio)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		BIO_free(bio);
	} else {
		const uint8_t *p = buf;

		pkey = d2i_PUBKEY(NULL, &p, (long)len);
		if (pkey && p != buf + len) {
			EVP_PKEY_free(pkey);
			return -EBADMSG;
		}
	}
	if (!pkey)
		return -EBADMSG;
	if (!EVP_PKEY_is_a(pkey, "RSA") && !EVP_PKEY_is_a(pkey, "EC")) {
		EVP_PKEY_free(pkey);
		return -EOPNOTSUPP;
	}
	*ret = (struct ak){ .pkey = pkey };
	return 0;
}

int ak_parse(const uint8_t *buf, size_t len, struct ak *ret)
{
	static const char pem[] = "-----BEGIN ";

	if (len > QUOTE_MAX_FILE)
		return -E2BIG;
	if (len >= sizeof(pem) - 1 && memcmp(buf, pem, sizeof(pem) - 1) == 0)
		return spki(buf, len, true, ret);
	/* A DER SEQUENCE starts 0x30; a TPM2B_PUBLIC that large (> 12 KiB) cannot exist. */
	if (len >= 1 && buf[0] == 0x30)
		return spki(buf, len, false, ret);
	return tpm_public(buf, len, ret);
}

bool quote_same_key(const quote *q, const quote *other)
{
	return q->key.pkey && other->key.pkey && EVP_PKEY_eq(q->key.pkey, other->key.pkey) == 1;
}

int quote_key_name(const uint8_t *buf, size_t len, uint8_t ret[static QUOTE_MAX_NAME],
		   size_t *ret_len)
{
	TPM2B_PUBLIC pub = { 0 };
	uint8_t area[sizeof(TPMT_PUBLIC)];
	size_t offset = 0, area_len = 0;
	const struct tpm_hash *h;
	int r;

	if (len > QUOTE_MAX_FILE)
		return -E2BIG;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &offset, &pub) != TSS2_RC_SUCCESS ||
	    offset != len)
		return -EBADMSG;
	if (!(h = tpm_hash_get(pub.publicArea.nameAlg)))
		return -EOPNOTSUPP;
	/* Marshalled again rather than taken from @buf: the name is of the canonical bytes. */
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, area, sizeof(area), &area_len) !=
	    TSS2_RC_SUCCESS)
		return -EBADMSG;
	if ((r = tpm_hash_digest(h, area, area_len, ret + 2)) < 0)
		return r;
	ret[0] = (uint8_t)(h->id >> 8);
	ret[1] = (uint8_t)h->id;
	*ret_len = 2 + (size_t)h->size;
	return 0;
}
