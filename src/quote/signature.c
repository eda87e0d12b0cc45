// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The quote's signature (TPMT_SIGNATURE, TPM 2.0 Library Part 2, 11.3.4), as tpm2_quote -s
 * writes it by default, checked with libcrypto over the attestation's bytes. The TPM signs the
 * digest of those bytes with the scheme's hash (Part 1, 18.4 and Part 3, TPM2_Quote()).
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <tss2/tss2_mu.h>

#include "internal.h"

int signature_parse(const uint8_t *buf, size_t len, TPMT_SIGNATURE *ret)
{
	TPMT_SIGNATURE s = { 0 };
	size_t offset = 0;

	if (len > sizeof(TPMT_SIGNATURE))
		return -E2BIG;
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &offset, &s) != TSS2_RC_SUCCESS ||
	    offset != len)
		return -EBADMSG;
	/* The hash is the first member of every signature scheme's details. */
	switch (s.sigAlg) {
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
	case TPM2_ALG_ECDSA:
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (!tpm_hash_get(s.signature.any.hashAlg))
		return -EOPNOTSUPP;
	*ret = s;
	return 0;
}

static const char *scheme_name(uint16_t alg)
{
	return alg == TPM2_ALG_RSASSA ? "rsassa" : alg == TPM2_ALG_RSAPSS ? "rsapss" : "ecdsa";
}

/* The DER ECDSA-Sig-Value libcrypto verifies, from the TPM's r and s. */
static int ecdsa_der(const TPMS_SIGNATURE_ECC *e, uint8_t **ret, size_t *ret_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL);
	BIGNUM *s = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL);
	uint8_t *der = NULL;
	int len, err = -ENOMEM;

	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s))
		goto done;
	r = s = NULL; /* transferred */
	len = i2d_ECDSA_SIG(sig, &der);
	if (len <= 0)
		goto done;
	*ret = der;
	*ret_len = (size_t)len;
	err = 0;
done:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return err;
}

/* The key must be of the signature's type and, for a TPM key with a scheme, that scheme. */
static int check_key(quote *q)
{
	const TPMT_SIGNATURE *s = &q->sig;
	bool rsa = s->sigAlg != TPM2_ALG_ECDSA;
	const char *want = rsa ? "RSA" : "EC";

	if (!EVP_PKEY_is_a(q->key.pkey, want))
		return quote_fail(q, -EKEYREJECTED,
				  "the signature is %s but the key is not an %s key",
				  scheme_name(s->sigAlg), want);
	if (q->key.from_tpm && q->key.scheme.scheme != TPM2_ALG_NULL &&
	    (q->key.scheme.scheme != s->sigAlg ||
	     q->key.scheme.details.any.hashAlg != s->signature.any.hashAlg))
		return quote_fail(
			q, -EKEYREJECTED,
			"the signature's scheme or hash is not the one the key is bound to");
	return 0;
}

static int set_padding(EVP_PKEY_CTX *ctx, const TPMT_SIGNATURE *s, const EVP_MD *md)
{
	if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
		return -ENOMEM;
	if (s->sigAlg == TPM2_ALG_RSASSA)
		return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 ? 0 : -ENOMEM;
	if (s->sigAlg != TPM2_ALG_RSAPSS)
		return 0;
	/* Part 1, B.7: the salt is as long as the digest; older TPMs used the longest possible. */
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0)
		return -ENOMEM;
	return 0;
}

static int verify_digest(quote *q, const EVP_MD *md, const uint8_t *digest, size_t dlen)
{
	const TPMT_SIGNATURE *s = &q->sig;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, q->key.pkey, NULL);
	const uint8_t *sig = s->signature.rsassa.sig.buffer;
	size_t sig_len = s->signature.rsassa.sig.size;
	uint8_t *der = NULL;
	int r = -ENOMEM;

	if (!ctx || EVP_PKEY_verify_init(ctx) <= 0)
		goto done;
	if (s->sigAlg == TPM2_ALG_ECDSA) {
		r = ecdsa_der(&s->signature.ecdsa, &der, &sig_len);
		if (r < 0)
			goto done;
		sig = der;
	}
	r = set_padding(ctx, s, md);
	if (r == 0 && EVP_PKEY_verify(ctx, sig, sig_len, digest, dlen) != 1)
		r = quote_fail(q, -EKEYREJECTED,
			       "the %s signature does not verify with the attestation key",
			       scheme_name(s->sigAlg));
done:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int quote_check_signature(quote *q)
{
	const struct tpm_hash *h = tpm_hash_get(q->sig.signature.any.hashAlg);
	uint8_t digest[sizeof(TPMU_HA)];
	EVP_MD *md;
	int r;

	if (!h)
		return quote_fail(q, -EOPNOTSUPP, "unknown signature hash");
	r = check_key(q);
	if (r < 0)
		return r;
	md = EVP_MD_fetch(NULL, h->evp_name, NULL);
	if (!md)
		return quote_fail(q, -EOPNOTSUPP, "libcrypto has no %s", h->name);
	r = tpm_hash_digest(h, q->attest_raw, q->attest_len, digest);
	if (r == 0)
		r = verify_digest(q, md, digest, h->size);
	EVP_MD_free(md);
	if (r < 0 && !q->failure[0])
		quote_fail(q, r, "cannot verify the signature: %s", strerror(-r));
	return r;
}
