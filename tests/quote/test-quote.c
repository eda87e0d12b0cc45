// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Quote verification on fixed inputs: quotes a software TPM made over the first 900 records of
 * the embrave log (data/, saved by swtpm-quote.sh --save), and quotes built and signed here to
 * reach each check behind a good signature.
 *   test-quote DATA-DIR EMBRAVE-LOG
 */
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "../unit/check.h"
#include "internal.h"

#define QUOTED 900	/* records the TPM had seen when it quoted */

static const char *data_dir;

struct blob {
	uint8_t *p;
	size_t len;
};

static struct blob load(const char *name)
{
	char path[4096];
	struct blob b = { NULL, 0 };

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	if (quote_read_file(path, &b.p, &b.len) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	return b;
}

static void set_nonce_file(quote *q, const char *name)
{
	struct blob b = load(name);
	uint8_t nonce[QUOTE_MAX_NONCE];
	size_t n = b.len / 2;

	CHECK_INT(imalog_unhex((const char *)b.p, 2 * n, nonce, n), 0);
	CHECK_INT(quote_set_nonce(q, nonce, n), 0);
	free(b.p);
}

static int set_file(quote *q, int (*set)(quote *, const uint8_t *, size_t), const char *name)
{
	struct blob b = load(name);
	int r = set(q, b.p, b.len);

	free(b.p);
	return r;
}

/* A quote from data/: NAME.msg, NAME.sig, NAME.nonce and the key file KEY. */
static quote *load_quote(const char *name, const char *key)
{
	char file[256];
	quote *q = NULL;

	if (quote_new(&q) < 0)
		exit(2);
	snprintf(file, sizeof(file), "%s.msg", name);
	CHECK_INT(set_file(q, quote_set_attest, file), 0);
	snprintf(file, sizeof(file), "%s.sig", name);
	CHECK_INT(set_file(q, quote_set_signature, file), 0);
	snprintf(file, sizeof(file), "%s.nonce", name);
	set_nonce_file(q, file);
	CHECK_INT(set_file(q, quote_set_key, key), 0);
	return q;
}

/* PCR 10 of both banks after the first @n records of the log, replayed by libimalog. */
static imalog_pcrs *replayed(const char *log, uint64_t n)
{
	struct imalog_reader_options o = { .format = { .log_bank = IMALOG_SHA1 } };
	struct imalog_replay_options ro = { .banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256 };
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	imalog_pcrs *p = imalog_pcrs_new();
	imalog_reader *rd = NULL;
	imalog_replay *rp = NULL;
	const imalog_record *r;

	if (fd < 0 || !p || imalog_reader_new(fd, &o, &rd) < 0 || imalog_replay_new(&ro, &rp) < 0)
		exit(2);
	for (uint64_t i = 0; i < n; i++)
		if (imalog_reader_next(rd, &r) != 1 || imalog_replay_record(rp, r) < 0)
			exit(2);
	CHECK_INT(imalog_pcrs_set(p, 10, IMALOG_SHA1, imalog_replay_pcr(rp, 10, IMALOG_SHA1), 20),
		  0);
	CHECK_INT(imalog_pcrs_set(p, 10, IMALOG_SHA256,
				  imalog_replay_pcr(rp, 10, IMALOG_SHA256), 32),
		  0);
	imalog_replay_free(rp);
	imalog_reader_free(rd);
	close(fd);
	return p;
}

static void test_real(const char *name, const char *scheme, const imalog_pcrs *want,
		      const imalog_pcrs *early)
{
	char key[64], pcrs[64];
	imalog_pcrs *got = imalog_pcrs_new();
	struct quote_info info;
	quote *q;

	snprintf(key, sizeof(key), "%s.pub", name);
	snprintf(pcrs, sizeof(pcrs), "%s.pcrs", name);
	q = load_quote(name, key);
	CHECK_INT(quote_check_pcr_file(q, (const uint8_t *)"", 0), -EINVAL);
	CHECK_INT(quote_verify(q), 0);
	CHECK_STR(quote_failure(q), "");
	quote_get_info(q, &info);
	CHECK_STR(info.scheme, scheme);
	CHECK_STR(info.hash, "sha256");
	CHECK(quote_selects(q, 10, IMALOG_SHA1) && quote_selects(q, 10, IMALOG_SHA256));
	CHECK(!quote_selects(q, 11, IMALOG_SHA256) && !quote_selects(q, 10, IMALOG_SHA384));
	CHECK_INT(quote_banks(q), 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256);
	CHECK_INT(quote_expected(q, got), -EINVAL);

	/* The values file of tpm2_quote -o, and the log's own replay, give the signed digest. */
	CHECK_INT(set_file(q, quote_check_pcr_file, pcrs), 0);
	CHECK_INT(quote_expected(q, got), 0);
	CHECK_MEM(imalog_pcrs_get(got, 10, IMALOG_SHA1), imalog_pcrs_get(want, 10, IMALOG_SHA1), 20);
	CHECK_MEM(imalog_pcrs_get(got, 10, IMALOG_SHA256), imalog_pcrs_get(want, 10, IMALOG_SHA256),
		  32);
	CHECK_INT(quote_check_pcrs(q, want), 0);
	CHECK_INT(quote_check_pcrs(q, early), -EBADE);
	CHECK(strstr(quote_failure(q), "pcrDigest") != NULL);

	/* A new input voids the verdict. */
	CHECK_INT(quote_set_nonce(q, (const uint8_t *)"x", 1), 0);
	CHECK_INT(quote_check_pcrs(q, want), -EINVAL);
	CHECK_INT(quote_verify(q), -ESTALE);
	CHECK(strstr(quote_failure(q), "not the nonce") != NULL);
	quote_free(q);

	/* The key as PEM. */
	snprintf(key, sizeof(key), "%s.pem", name);
	q = load_quote(name, key);
	CHECK_INT(quote_verify(q), 0);
	quote_free(q);
	imalog_pcrs_free(got);
}

static void test_forgeries(void)
{
	quote *q = load_quote("other", "rsa.pub");
	struct blob pcrs = load("rsa.pcrs");

	/* Another AK of the same TPM signed it. */
	CHECK_INT(quote_verify(q), -EKEYREJECTED);
	CHECK(strstr(quote_failure(q), "does not verify") != NULL);
	quote_free(q);

	/* An ECDSA signature against an RSA key. */
	q = load_quote("ecc", "rsa.pub");
	CHECK_INT(quote_verify(q), -EKEYREJECTED);
	CHECK(strstr(quote_failure(q), "not an EC key") != NULL);
	quote_free(q);

	/* A selection without PCR 10, and values of another selection. */
	q = load_quote("nopcr10", "rsa.pub");
	CHECK_INT(quote_verify(q), 0);
	CHECK(!quote_selects(q, 10, IMALOG_SHA1) && !quote_selects(q, 10, IMALOG_SHA256));
	CHECK(quote_selects(q, 0, IMALOG_SHA1) && quote_selects(q, 2, IMALOG_SHA256));
	CHECK_INT(quote_check_pcr_file(q, pcrs.p, pcrs.len), -EBADE);
	CHECK(strstr(quote_failure(q), "another PCR selection") != NULL);
	CHECK_INT(set_file(q, quote_check_pcr_file, "nopcr10.pcrs"), 0);
	quote_free(q);

	/* One value edited after the quote: the first byte of the first digest. */
	q = load_quote("rsa", "rsa.pub");
	CHECK_INT(quote_verify(q), 0);
	pcrs.p[132 + 4 + 4 + 2] ^= 1;
	CHECK_INT(quote_check_pcr_file(q, pcrs.p, pcrs.len), -EBADE);
	quote_free(q);
	free(pcrs.p);

	/* A TPM key that signs anything cannot attest. */
	CHECK_INT(quote_new(&q), 0);
	CHECK_INT(set_file(q, quote_set_key, "unrestricted.pub"), -EKEYREJECTED);
	CHECK(strstr(quote_failure(q), "restricted") != NULL);
	quote_free(q);
}

/* A bit flipped in each byte of the attestation and of the signature's value: no verification. */
static void test_flips(const char *name)
{
	char file[64];
	quote *q = NULL;
	struct blob msg, sig;
	int bad = 0;

	snprintf(file, sizeof(file), "%s.msg", name);
	msg = load(file);
	snprintf(file, sizeof(file), "%s.sig", name);
	sig = load(file);
	snprintf(file, sizeof(file), "%s.pub", name);
	q = load_quote(name, file);
	for (size_t i = 0; i < msg.len; i++) {
		msg.p[i] ^= (uint8_t)(1u << (i % 8));
		if (quote_set_attest(q, msg.p, msg.len) < 0 || quote_verify(q) != -EKEYREJECTED)
			bad++;
		msg.p[i] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_INT(quote_set_attest(q, msg.p, msg.len), 0);
	/* Past sigAlg, hash and the first size: the flips that keep the file readable. */
	for (size_t i = 6; i < sig.len; i++) {
		int r;

		sig.p[i] ^= (uint8_t)(1u << (i % 8));
		r = quote_set_signature(q, sig.p, sig.len);
		if (r == 0 ? quote_verify(q) != -EKEYREJECTED : r != -EBADMSG)
			bad++;
		sig.p[i] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_INT(bad, 0);
	CHECK_INT(quote_set_signature(q, sig.p, sig.len), 0);
	CHECK_INT(quote_verify(q), 0);
	quote_free(q);
	free(msg.p);
	free(sig.p);
}

/* ---- quotes built and signed here (ECDSA P-256, SHA-256) ---- */

struct made {
	EVP_PKEY *key;
	TPMS_ATTEST attest;
	uint8_t nonce[20];
};

/* A quote of PCR 10 in two banks, signed by @key (kept by the caller). */
static void made_init(struct made *m, EVP_PKEY *key, TPM2_ALG_ID bank1, TPM2_ALG_ID bank2)
{
	TPMS_QUOTE_INFO *qi = &m->attest.attested.quote;

	memset(m, 0, sizeof(*m));
	m->key = key;
	memset(m->nonce, 0x4e, sizeof(m->nonce));
	m->attest.magic = TPM2_GENERATED_VALUE;
	m->attest.type = TPM2_ST_ATTEST_QUOTE;
	m->attest.extraData.size = sizeof(m->nonce);
	memcpy(m->attest.extraData.buffer, m->nonce, sizeof(m->nonce));
	qi->pcrSelect.count = 2;
	qi->pcrSelect.pcrSelections[0] = (TPMS_PCR_SELECTION){ bank1, 3, { 0, 4, 0 } };
	qi->pcrSelect.pcrSelections[1] = (TPMS_PCR_SELECTION){ bank2, 3, { 0, 4, 0 } };
	qi->pcrDigest.size = 32;
}

/* The TPM's ECDSA signature over @msg: r and s of the DER signature libcrypto makes. */
static void made_sign(const struct made *m, const uint8_t *msg, size_t len, quote *q)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[128], wire[256];
	const uint8_t *p = der;
	size_t der_len = sizeof(der), off = 0;
	TPMT_SIGNATURE s = { .sigAlg = TPM2_ALG_ECDSA };
	ECDSA_SIG *sig;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, m->key) != 1 ||
	    EVP_DigestSign(ctx, der, &der_len, msg, len) != 1 ||
	    !(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
		exit(2);
	s.signature.ecdsa.hash = TPM2_ALG_SHA256;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), s.signature.ecdsa.signatureR.buffer, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), s.signature.ecdsa.signatureS.buffer, 32);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&s, wire, sizeof(wire), &off) != TSS2_RC_SUCCESS)
		exit(2);
	CHECK_INT(quote_set_signature(q, wire, off), 0);
}

/* Marshal, sign and load everything; returns quote_verify(). */
static int made_verify(const struct made *m, quote *q)
{
	uint8_t wire[sizeof(TPMS_ATTEST)], *der = NULL;
	size_t off = 0;
	int der_len = i2d_PUBKEY(m->key, &der);

	if (der_len <= 0 ||
	    Tss2_MU_TPMS_ATTEST_Marshal(&m->attest, wire, sizeof(wire), &off) != TSS2_RC_SUCCESS)
		exit(2);
	CHECK_INT(quote_set_key(q, der, (size_t)der_len), 0);
	CHECK_INT(quote_set_attest(q, wire, off), 0);
	CHECK_INT(quote_set_nonce(q, m->nonce, sizeof(m->nonce)), 0);
	made_sign(m, wire, off, q);
	OPENSSL_free(der);
	return quote_verify(q);
}

static void put_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

/* What tpm2_quote -o writes, for the selection of @m with one value per selected PCR. */
static size_t pcrfile(const struct made *m, const uint8_t *const *values, const uint8_t *sizes,
		      size_t n, uint8_t *out)
{
	const TPML_PCR_SELECTION *sel = &m->attest.attested.quote.pcrSelect;

	memset(out, 0xa5, 136 + 532);	/* padding and unused entries hold anything */
	put_le(out, sel->count, 4);
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		put_le(out + 4 + 8 * i, s->hash, 2);
		out[4 + 8 * i + 2] = s->sizeofSelect;
		memcpy(out + 4 + 8 * i + 3, s->pcrSelect, 4);
	}
	put_le(out + 132, 1, 4);
	put_le(out + 136, (uint32_t)n, 4);
	for (size_t i = 0; i < n; i++) {
		put_le(out + 140 + 66 * i, sizes[i], 2);
		memcpy(out + 142 + 66 * i, values[i], sizes[i]);
	}
	return 136 + 532;
}

static void test_made(void)
{
	static const uint8_t v1[20] = { 1 }, v256[32] = { 2 };
	const uint8_t *values[2] = { v256, v1 }, sizes[2] = { 32, 20 };
	uint8_t concat[52], file[136 + 532];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	struct made m;
	quote *q = NULL;
	size_t len;

	if (!key)
		exit(2);
	CHECK_INT(quote_new(&q), 0);
	/* Banks in selection order, sha256 first: the digest follows that order. */
	made_init(&m, key, TPM2_ALG_SHA256, TPM2_ALG_SHA1);
	memcpy(concat, v256, 32);
	memcpy(concat + 32, v1, 20);
	EVP_Digest(concat, sizeof(concat), m.attest.attested.quote.pcrDigest.buffer, NULL,
		   EVP_sha256(), NULL);
	CHECK_INT(made_verify(&m, q), 0);
	len = pcrfile(&m, values, sizes, 2, file);
	CHECK_INT(quote_check_pcr_file(q, file, len), 0);
	/* The same values for a selection with the banks swapped: not what was signed. */
	m.attest.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA1;
	m.attest.attested.quote.pcrSelect.pcrSelections[1].hash = TPM2_ALG_SHA256;
	values[0] = v1, values[1] = v256;
	len = pcrfile(&m, values, (const uint8_t[]){ 20, 32 }, 2, file);
	CHECK_INT(quote_check_pcr_file(q, file, len), -EBADE);

	/* Signed, so past the signature: each field the TPM would never sign for a quote. */
	made_init(&m, key, TPM2_ALG_SHA1, TPM2_ALG_SHA256);
	m.attest.magic = 0xff544348;
	CHECK_INT(made_verify(&m, q), -EPROTO);
	CHECK(strstr(quote_failure(q), "TPM_GENERATED_VALUE") != NULL);
	made_init(&m, key, TPM2_ALG_SHA1, TPM2_ALG_SHA256);
	m.attest.type = TPM2_ST_ATTEST_CERTIFY;
	m.attest.attested.certify = (TPMS_CERTIFY_INFO){ 0 };
	CHECK_INT(made_verify(&m, q), -EPROTO);
	CHECK(strstr(quote_failure(q), "TPM_ST_ATTEST_QUOTE") != NULL);
	made_init(&m, key, TPM2_ALG_SHA1, TPM2_ALG_SHA256);
	m.attest.extraData.buffer[19] ^= 1;
	CHECK_INT(made_verify(&m, q), -ESTALE);
	made_init(&m, key, TPM2_ALG_SHA1, TPM2_ALG_SHA256);
	m.attest.attested.quote.pcrDigest.size = 20;
	CHECK_INT(made_verify(&m, q), -EBADMSG);
	made_init(&m, key, TPM2_ALG_SHA1, 0x0044);
	CHECK_INT(made_verify(&m, q), -EOPNOTSUPP);

	/* One PCR selected twice must have one value. */
	made_init(&m, key, TPM2_ALG_SHA1, TPM2_ALG_SHA1);
	memcpy(concat, v1, 20);
	memcpy(concat + 20, (const uint8_t[20]){ 3 }, 20);
	EVP_Digest(concat, 40, m.attest.attested.quote.pcrDigest.buffer, NULL, EVP_sha256(), NULL);
	CHECK_INT(made_verify(&m, q), 0);
	len = pcrfile(&m, (const uint8_t *const[]){ v1, concat + 20 }, (const uint8_t[]){ 20, 20 },
		      2, file);
	CHECK_INT(quote_check_pcr_file(q, file, len), -EBADE);
	CHECK(strstr(quote_failure(q), "two values") != NULL);
	EVP_PKEY_free(key);
	quote_free(q);
}

/* ---- the parsers on malformed input ---- */

static void test_pcrfile(void)
{
	struct blob b = load("rsa.pcrs");
	struct pcr_file *f = malloc(sizeof(*f));
	size_t offset = 0;

	CHECK_INT(pcrfile_parse(b.p, b.len, f, &offset), 0);
	CHECK_INT(f->count, 2);
	CHECK_INT(f->selection.count, 2);
	CHECK_INT(f->selection.pcrSelections[1].hash, TPM2_ALG_SHA256);
	CHECK_INT(f->values[1].size, 32);
	CHECK_INT(pcrfile_parse(b.p, 135, f, &offset), -EBADMSG);
	CHECK_INT(offset, 135);
	CHECK_INT(pcrfile_parse(b.p, b.len - 1, f, &offset), -EBADMSG);
	CHECK_INT(offset, 132);
	b.p[0] = 17;	/* more banks than a TPML_PCR_SELECTION holds */
	CHECK_INT(pcrfile_parse(b.p, b.len, f, &offset), -EBADMSG);
	CHECK_INT(offset, 0);
	b.p[0] = 2;
	b.p[4 + 8 + 2] = 5;	/* sizeofSelect of the second bank */
	CHECK_INT(pcrfile_parse(b.p, b.len, f, &offset), -EBADMSG);
	CHECK_INT(offset, 14);
	b.p[4 + 8 + 2] = 3;
	b.p[136] = 9;	/* digests in a TPML_DIGEST */
	CHECK_INT(pcrfile_parse(b.p, b.len, f, &offset), -EBADMSG);
	CHECK_INT(offset, 136);
	b.p[136] = 2;
	b.p[140] = 65;	/* a digest larger than a TPMU_HA */
	CHECK_INT(pcrfile_parse(b.p, b.len, f, &offset), -EBADMSG);
	CHECK_INT(offset, 140);
	b.p[140] = 20;
	b.p[7] = b.p[11] = 0x77;	/* padding and unused entries are not data */
	CHECK_INT(pcrfile_parse(b.p, b.len, f, &offset), 0);
	free(f);
	free(b.p);
}

/* Keys compare by their public part whatever the file's form; names are TPM 2.0 Part 1, 16's. */
static void test_keys(void)
{
	static const char *const names[][2] = {
		{ "rsa.pub", "000baac6898c5af378d07432a7ae57d711272d12b7cf23bf0a77d6d0eb951695e246" },
		{ "ecc.pub", "000b2d7197e8cf69c24ee904a61bf053fd7a567e76d43bc7b49b499013bbfea9dec5" },
	};
	quote *rsa = NULL, *rsa_pem = NULL, *ecc = NULL, *none = NULL;
	uint8_t name[QUOTE_MAX_NAME];
	char hex[2 * QUOTE_MAX_NAME + 1];
	size_t len = 0;

	if (quote_new(&rsa) < 0 || quote_new(&rsa_pem) < 0 || quote_new(&ecc) < 0 ||
	    quote_new(&none) < 0)
		exit(2);
	CHECK_INT(set_file(rsa, quote_set_key, "rsa.pub"), 0);
	CHECK_INT(set_file(rsa_pem, quote_set_key, "rsa.pem"), 0);
	CHECK_INT(set_file(ecc, quote_set_key, "ecc.pub"), 0);
	CHECK(quote_same_key(rsa, rsa_pem));
	CHECK(quote_same_key(rsa_pem, rsa));
	CHECK(!quote_same_key(rsa, ecc));
	CHECK(!quote_same_key(rsa, none));
	CHECK(!quote_same_key(none, none));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct blob b = load(names[i][0]);

		CHECK_INT(quote_key_name(b.p, b.len, name, &len), 0);
		CHECK_INT((int)len, 34);
		imalog_hex(name, len, hex);
		CHECK_STR(hex, names[i][1]);
		CHECK_INT(quote_key_name(b.p, b.len - 1, name, &len), -EBADMSG);
		free(b.p);
	}
	{
		struct blob b = load("rsa.pem");

		CHECK_INT(quote_key_name(b.p, b.len, name, &len), -EBADMSG);
		free(b.p);
	}
	quote_free(rsa);
	quote_free(rsa_pem);
	quote_free(ecc);
	quote_free(none);
}

static void test_inputs(void)
{
	static const uint8_t nonce[65] = { 0 };
	struct blob sig = load("rsa.sig"), pem = load("rsa.pem"), pub = load("rsa.pub");
	uint8_t big[QUOTE_MAX_FILE + 2] = { 0 };
	quote *q = NULL;

	CHECK_INT(quote_new(&q), 0);
	CHECK_INT(quote_verify(q), -EINVAL);
	CHECK_INT(quote_set_nonce(q, nonce, 0), -EINVAL);
	CHECK_INT(quote_set_nonce(q, nonce, 65), -E2BIG);
	CHECK_INT(quote_set_nonce(q, nonce, 64), 0);
	CHECK_INT(quote_set_attest(q, big, 0), -EBADMSG);
	CHECK_INT(quote_set_attest(q, big, sizeof(TPMS_ATTEST) + 1), -E2BIG);

	memcpy(big, sig.p, sig.len);
	CHECK_INT(quote_set_signature(q, big, sig.len + 1), -EBADMSG);	/* a trailing byte */
	CHECK_INT(quote_set_signature(q, big, sig.len - 1), -EBADMSG);
	big[1] = TPM2_ALG_HMAC;
	CHECK_INT(quote_set_signature(q, big, sig.len), -EBADMSG);	/* an HMAC's layout differs */
	big[1] = TPM2_ALG_RSASSA;
	big[3] = 0x44;	/* an unknown hash */
	CHECK_INT(quote_set_signature(q, big, sig.len), -EOPNOTSUPP);
	CHECK_INT(quote_set_signature(q, sig.p, sig.len), 0);

	memcpy(big, pem.p, pem.len);
	memcpy(big + pem.len, "\n\n", 2);
	CHECK_INT(quote_set_key(q, big, pem.len + 2), 0);
	memcpy(big + pem.len, "x\n", 2);
	CHECK_INT(quote_set_key(q, big, pem.len + 2), -EBADMSG);
	CHECK_INT(quote_set_key(q, big, pem.len - 30), -EBADMSG);
	memcpy(big, pub.p, pub.len);
	CHECK_INT(quote_set_key(q, big, pub.len + 1), -EBADMSG);
	CHECK_INT(quote_set_key(q, big, pub.len), 0);
	big[pub.len - 1] ^= 1;	/* the modulus is even now: not an RSA key */
	CHECK_INT(quote_set_key(q, big, pub.len), -EBADMSG);
	CHECK_INT(quote_set_key(q, big, QUOTE_MAX_FILE + 1), -E2BIG);
	quote_free(q);
	free(sig.p);
	free(pem.p);
	free(pub.p);
}

int main(int argc, char **argv)
{
	imalog_pcrs *want, *early;

	if (argc != 3) {
		fprintf(stderr, "usage: test-quote DATA-DIR EMBRAVE-LOG\n");
		return 2;
	}
	data_dir = argv[1];
	setenv("TSS2_LOG", "all+NONE", 0);	/* libtss2-mu's notes on the malformed inputs */
	want = replayed(argv[2], QUOTED);
	early = replayed(argv[2], QUOTED - 1);
	test_real("rsa", "rsassa", want, early);
	test_real("ecc", "ecdsa", want, early);
	test_real("pss", "rsapss", want, early);
	imalog_pcrs_free(want);
	imalog_pcrs_free(early);
	test_forgeries();
	test_flips("rsa");
	test_flips("ecc");
	test_made();
	test_pcrfile();
	test_inputs();
	test_keys();
	return check_done();
}
