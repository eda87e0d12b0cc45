// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A quote and the checks that make it evidence (TPM 2.0 Library Part 3, TPM2_Quote(); Part 2,
 * 10.12.8 TPMS_QUOTE_INFO): a good signature by the attestation key over the attestation, the
 * TPM's magic, the quote type, the verifier's nonce as qualifying data, and PCR values whose
 * digest, in selection order with the signature's hash, is the signed pcrDigest.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int quote_new(quote **ret)
{
	quote *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	*ret = q;
	return 0;
}

void quote_free(quote *q)
{
	if (!q)
		return;
	ak_clear(&q->key);
	free(q);
}

int quote_fail(quote *q, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->failure, sizeof(q->failure), fmt, ap);
	va_end(ap);
	return err;
}

const char *quote_failure(const quote *q)
{
	return q->failure;
}

/* Every call starts with no failure; a new input voids what was checked with the old one. */
static void begin(quote *q, bool input)
{
	q->failure[0] = '\0';
	if (input)
		q->verified = q->have_values = false;
}

int quote_set_attest(quote *q, const uint8_t *buf, size_t len)
{
	begin(q, true);
	q->have_attest = false;
	if (len > sizeof(q->attest_raw))
		return quote_fail(q, -E2BIG,
				  "the attestation is %zu bytes, more than a TPM2B_ATTEST holds",
				  len);
	if (len == 0)
		return quote_fail(q, -EBADMSG, "the attestation is empty");
	memcpy(q->attest_raw, buf, len);
	q->attest_len = len;
	q->have_attest = true;
	return 0;
}

int quote_set_signature(quote *q, const uint8_t *buf, size_t len)
{
	int r;

	begin(q, true);
	q->have_sig = false;
	r = signature_parse(buf, len, &q->sig);
	if (r == -EOPNOTSUPP)
		return quote_fail(q, r,
				  "not an RSASSA, RSAPSS or ECDSA signature with a known hash");
	if (r < 0)
		return quote_fail(q, r,
				  "not a TPMT_SIGNATURE as tpm2_quote writes it (-f tss), "
				  "or bytes follow it");
	q->have_sig = true;
	return 0;
}

int quote_set_key(quote *q, const uint8_t *buf, size_t len)
{
	struct ak k;
	int r;

	begin(q, true);
	ak_clear(&q->key);
	r = ak_parse(buf, len, &k);
	switch (r) {
	case 0:
		q->key = k;
		return 0;
	case -EKEYREJECTED:
		return quote_fail(q, r,
				  "the TPM key is not a restricted signing key, so its "
				  "signature does not show that the TPM made the quote");
	case -EOPNOTSUPP:
		return quote_fail(q, r,
				  "not an RSA key or an ECC key on NIST P-256, P-384 or P-521");
	case -EBADMSG:
		return quote_fail(q, r, "neither a PEM or DER public key nor a TPM2B_PUBLIC");
	default:
		return quote_fail(q, r, "cannot load the key: %s", strerror(-r));
	}
}

int quote_set_nonce(quote *q, const uint8_t *nonce, size_t len)
{
	begin(q, true);
	q->have_nonce = false;
	if (len == 0 || len > QUOTE_MAX_NONCE)
		return quote_fail(q, len ? -E2BIG : -EINVAL,
				  "a nonce has 1 to %d bytes (a TPM2B_DATA), not %zu",
				  QUOTE_MAX_NONCE, len);
	memcpy(q->nonce, nonce, len);
	q->nonce_len = len;
	q->have_nonce = true;
	return 0;
}

static int check_header(quote *q, const TPMS_ATTEST *a)
{
	if (a->magic != TPM2_GENERATED_VALUE)
		return quote_fail(
			q, -EPROTO,
			"magic is 0x%08x, not TPM_GENERATED_VALUE: the TPM did not make it",
			a->magic);
	if (a->type != TPM2_ST_ATTEST_QUOTE)
		return quote_fail(q, -EPROTO, "type is 0x%04x, not TPM_ST_ATTEST_QUOTE (0x%04x)",
				  a->type, TPM2_ST_ATTEST_QUOTE);
	if (a->extraData.size != q->nonce_len ||
	    CRYPTO_memcmp(a->extraData.buffer, q->nonce, q->nonce_len) != 0)
		return quote_fail(
			q, -ESTALE,
			"the quote's qualifying data (%u bytes) is not the nonce (%zu bytes): "
			"it is not a fresh answer to this verifier",
			a->extraData.size, q->nonce_len);
	return 0;
}

int quote_check_attest(quote *q)
{
	const struct tpm_hash *h = tpm_hash_get(q->sig.signature.any.hashAlg);
	TPMS_ATTEST a = { 0 };
	int r;

	q->verified = q->have_values = false;
	if (!q->have_attest || !q->have_sig || !q->have_nonce || !h)
		return quote_fail(q, -EINVAL, "the attestation, signature or nonce is missing");
	if (attest_parse(q->attest_raw, q->attest_len, &a) < 0)
		return quote_fail(q, -EBADMSG,
				  "the attestation is not a TPMS_ATTEST, or bytes follow");
	r = check_header(q, &a);
	if (r < 0)
		return r;
	if (a.attested.quote.pcrDigest.size != h->size)
		return quote_fail(q, -EBADMSG, "pcrDigest has %u bytes, not the %u of %s",
				  a.attested.quote.pcrDigest.size, h->size, h->name);
	r = selection_flatten(&a.attested.quote.pcrSelect, q->selected, &q->nselected);
	if (r < 0)
		return quote_fail(q, r, "the quote's PCR selection has %s",
				  r == -EOPNOTSUPP ? "a bank that is not a known hash"
						   : "sizes out of range");
	q->attest = a;
	q->digest_hash = h;
	q->verified = true;
	return 0;
}

int quote_verify(quote *q)
{
	int r;

	begin(q, false);
	q->verified = q->have_values = false;
	if (!q->have_attest || !q->have_sig || !q->key.pkey || !q->have_nonce)
		return quote_fail(q, -EINVAL,
				  "the attestation, signature, key or nonce is missing");
	r = quote_check_signature(q);
	return r < 0 ? r : quote_check_attest(q);
}

/* H(value of each selected PCR, in selection order) against the signed pcrDigest. */
static int check_digest(quote *q, const uint8_t *const *values)
{
	const struct tpm_hash *h = q->digest_hash;
	const TPM2B_DIGEST *want = &q->attest.attested.quote.pcrDigest;
	EVP_MD *md = EVP_MD_fetch(NULL, h->evp_name, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t got[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int r = -ENOMEM;

	if (!md || !ctx || !EVP_DigestInit_ex(ctx, md, NULL))
		goto done;
	for (size_t i = 0; i < q->nselected; i++)
		if (!EVP_DigestUpdate(ctx, values[i], q->selected[i].bank->size))
			goto done;
	if (!EVP_DigestFinal_ex(ctx, got, &len) || len != want->size)
		goto done;
	r = CRYPTO_memcmp(got, want->buffer, len) == 0 ? 0 : -EBADE;
done:
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	if (r == -EBADE)
		return quote_fail(q, r,
				  "the PCR values do not give the quote's pcrDigest: they are "
				  "not the values the TPM quoted");
	return r < 0 ? quote_fail(q, r, "cannot compute the PCR digest: %s", strerror(-r)) : 0;
}

/* The same PCR named twice must have one value: the TPM reads them all at once. */
static int check_duplicates(quote *q, const struct pcr_value *v)
{
	for (size_t i = 0; i < q->nselected; i++)
		for (size_t j = i + 1; j < q->nselected; j++)
			if (q->selected[i].bank == q->selected[j].bank &&
			    q->selected[i].pcr == q->selected[j].pcr &&
			    memcmp(v[i].value, v[j].value, v[i].size) != 0)
				return quote_fail(q, -EBADE, "PCR %u of %s has two values",
						  q->selected[i].pcr, q->selected[i].bank->name);
	return 0;
}

static int check_file_values(quote *q, const struct pcr_file *f)
{
	const uint8_t *values[MAX_SELECTED];

	if (!selection_equal(&f->selection, &q->attest.attested.quote.pcrSelect))
		return quote_fail(q, -EBADE,
				  "the PCR values file is for another PCR selection than "
				  "the quote's");
	if (f->count != q->nselected)
		return quote_fail(q, -EBADMSG, "the PCR values file holds %zu values for %zu PCRs",
				  f->count, q->nselected);
	for (size_t i = 0; i < q->nselected; i++) {
		if (f->values[i].size != q->selected[i].bank->size)
			return quote_fail(q, -EBADMSG,
					  "value %zu of the PCR values file (PCR %u of "
					  "%s) has %u bytes",
					  i, q->selected[i].pcr, q->selected[i].bank->name,
					  f->values[i].size);
		values[i] = f->values[i].value;
	}
	return check_digest(q, values);
}

int quote_check_pcr_file(quote *q, const uint8_t *buf, size_t len)
{
	struct pcr_file *f;
	size_t offset = 0;
	int r;

	begin(q, false);
	q->have_values = false;
	if (!q->verified)
		return quote_fail(q, -EINVAL, "the quote is not verified");
	f = malloc(sizeof(*f));
	if (!f)
		return quote_fail(q, -ENOMEM, "out of memory");
	r = pcrfile_parse(buf, len, f, &offset);
	if (r < 0)
		quote_fail(q, r,
			   "not a PCR values file as tpm2_quote -o writes it (bad field at "
			   "byte offset %zu)",
			   offset);
	if (r == 0)
		r = check_file_values(q, f);
	if (r == 0)
		r = check_duplicates(q, f->values);
	if (r == 0) {
		memcpy(q->values, f->values, q->nselected * sizeof(f->values[0]));
		q->have_values = true;
	}
	free(f);
	return r;
}

int quote_check_pcrs(quote *q, const imalog_pcrs *values)
{
	const uint8_t *v[MAX_SELECTED];

	begin(q, false);
	if (!q->verified)
		return quote_fail(q, -EINVAL, "the quote is not verified");
	for (size_t i = 0; i < q->nselected; i++) {
		const struct pcr_ref *s = &q->selected[i];

		if (s->bank->bank == IMALOG_HASH_COUNT)
			return quote_fail(q, -EOPNOTSUPP,
					  "the quote selects bank %s, which imalog "
					  "does not replay",
					  s->bank->name);
		v[i] = imalog_pcrs_get(values, s->pcr, s->bank->bank);
		if (!v[i])
			return quote_fail(q, -ENOENT,
					  "the quote selects PCR %u of %s, which has no "
					  "value to check",
					  s->pcr, s->bank->name);
	}
	return check_digest(q, v);
}

bool quote_selects(const quote *q, unsigned int pcr, enum imalog_hash alg)
{
	for (size_t i = 0; q->verified && i < q->nselected; i++)
		if (q->selected[i].pcr == pcr && q->selected[i].bank->bank == alg)
			return true;
	return false;
}

uint32_t quote_banks(const quote *q)
{
	uint32_t banks = 0;

	for (size_t i = 0; q->verified && i < q->nselected; i++)
		if (q->selected[i].bank->bank != IMALOG_HASH_COUNT)
			banks |= 1u << q->selected[i].bank->bank;
	return banks;
}

int quote_expected(const quote *q, imalog_pcrs *p)
{
	if (!q->have_values)
		return -EINVAL;
	for (size_t i = 0; i < q->nselected; i++) {
		const struct pcr_ref *s = &q->selected[i];
		int r;

		if (s->bank->bank == IMALOG_HASH_COUNT)
			continue;
		r = imalog_pcrs_set(p, s->pcr, s->bank->bank, q->values[i].value,
				    q->values[i].size);
		if (r < 0)
			return r;
	}
	return 0;
}

void quote_get_info(const quote *q, struct quote_info *ret)
{
	const TPMS_ATTEST *a = &q->attest;

	*ret = (struct quote_info){
		.scheme = q->sig.sigAlg == TPM2_ALG_RSASSA   ? "rsassa"
			  : q->sig.sigAlg == TPM2_ALG_RSAPSS ? "rsapss"
							     : "ecdsa",
		.hash = q->digest_hash ? q->digest_hash->name : "",
		.clock = a->clockInfo.clock,
		.reset_count = a->clockInfo.resetCount,
		.restart_count = a->clockInfo.restartCount,
		.safe = a->clockInfo.safe == TPM2_YES,
		.firmware_version = a->firmwareVersion,
	};
}
