// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The quote parsers and checks (src/quote) on arbitrary bytes. The first byte picks the target:
 *   0  a TPMT_SIGNATURE                 1  an attestation key (PEM, DER or TPM2B_PUBLIC)
 *   2  a tpm2_quote -o PCR values file
 *   3  the checks behind a good signature: u8 n, nonce[n], u16 m (big-endian), attestation[m],
 *      then a PCR values file
 *   4  everything, signature included: u16 key length, key, u16 signature length, signature,
 *      then as for 3
 * The property is more than not crashing: every failure says why, and values that passed the
 * digest check can be taken as expected values.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "internal.h"

struct input {
	const uint8_t *p;
	size_t left;
};

/* A field of @len bytes, or NULL when the input has fewer. */
static const uint8_t *take(struct input *in, size_t len)
{
	const uint8_t *p = in->p;

	if (len > in->left)
		return NULL;
	in->p += len;
	in->left -= len;
	return p;
}

static bool take_sized(struct input *in, size_t size_bytes, const uint8_t **ret, size_t *ret_len)
{
	const uint8_t *s = take(in, size_bytes);
	size_t len;

	if (!s)
		return false;
	len = size_bytes == 1 ? s[0] : (size_t)(s[0] << 8 | s[1]);
	*ret = take(in, len);
	*ret_len = len;
	return *ret != NULL;
}

static void check_failure(const quote *q, int r)
{
	FUZZ_ASSERT(r <= 0);
	FUZZ_ASSERT(r == 0 || quote_failure(q)[0] != '\0');
}

/* Nonce, attestation and PCR values; @signed_too: through quote_verify(), else behind it. */
static void attestation(quote *q, struct input *in, bool signed_too)
{
	const uint8_t *nonce, *attest;
	size_t nonce_len, attest_len;
	imalog_pcrs *p;
	int r;

	if (!take_sized(in, 1, &nonce, &nonce_len) || !take_sized(in, 2, &attest, &attest_len))
		return;
	if (quote_set_nonce(q, nonce, nonce_len) < 0 || quote_set_attest(q, attest, attest_len) < 0)
		return;
	r = signed_too ? quote_verify(q) : quote_check_attest(q);
	check_failure(q, r);
	if (r < 0)
		return;
	FUZZ_ASSERT((quote_banks(q) & ~((1u << IMALOG_HASH_COUNT) - 1)) == 0);
	r = quote_check_pcr_file(q, in->p, in->left);
	check_failure(q, r);
	p = imalog_pcrs_new();
	if (p)
		FUZZ_ASSERT(quote_expected(q, p) == (r == 0 ? 0 : -EINVAL));
	imalog_pcrs_free(p);
}

/* An ECDSA signature with SHA-256, for target 3: its hash is the one pcrDigest must have. */
static const uint8_t any_signature[] = { 0x00, 0x18, 0x00, 0x0b, 0x00, 0x01, 0x01, 0x00, 0x01, 0x01 };

static void run(quote *q, uint8_t target, struct input *in)
{
	struct pcr_file *f;
	const uint8_t *key, *sig;
	size_t key_len, sig_len;

	switch (target) {
	case 0:
		check_failure(q, quote_set_signature(q, in->p, in->left));
		break;
	case 1:
		check_failure(q, quote_set_key(q, in->p, in->left));
		break;
	case 2:
		f = malloc(sizeof(*f));
		if (f)
			FUZZ_ASSERT(pcrfile_parse(in->p, in->left, f, NULL) <= 0);
		free(f);
		break;
	case 3:
		FUZZ_ASSERT(quote_set_signature(q, any_signature, sizeof(any_signature)) == 0);
		attestation(q, in, false);
		break;
	default:
		if (!take_sized(in, 2, &key, &key_len) || !take_sized(in, 2, &sig, &sig_len) ||
		    quote_set_key(q, key, key_len) < 0 || quote_set_signature(q, sig, sig_len) < 0)
			break;
		attestation(q, in, true);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data + 1, size ? size - 1 : 0 };
	quote *q = NULL;

	/* libtss2-mu reports malformed input on stderr; the answer is in the return code. */
	setenv("TSS2_LOG", "all+NONE", 0);
	if (size < 1 || quote_new(&q) < 0)
		return 0;
	run(q, data[0] % 5, &in);
	quote_free(q);
	return 0;
}
