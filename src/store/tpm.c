// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The TPM side of quoted cuts (see tpm.h): ESAPI calls only, no other program is run. The
 * ESYS context stays open for the daemon's life; a TPM error closes it and the next quote
 * opens it again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpm.h"

bool tpm_built(void)
{
#ifdef HAVE_TPM
	return true;
#else
	return false;
#endif
}

#ifndef HAVE_TPM

int tpm_open(const char *tcti, uint32_t ak_handle, const char *store_dir, struct tpm **ret,
	     char *err, size_t errlen)
{
	*ret = NULL;
	snprintf(err, errlen, "imalogd was built without tpm2-tss (meson option tpm): it cannot "
		 "quote");
	return -EOPNOTSUPP;
}

void tpm_free(struct tpm *t)
{
}

const struct tpm_key *tpm_key(const struct tpm *t)
{
	return NULL;
}

uint32_t tpm_banks(const struct tpm *t)
{
	return 0;
}

int tpm_quote(struct tpm *t, uint64_t pcrs, uint32_t banks, struct manifest_quote *ret,
	      char *err, size_t errlen)
{
	snprintf(err, errlen, "imalogd was built without tpm2-tss");
	return -EOPNOTSUPP;
}

#else

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define QUALIFYING_BYTES 16

struct tpm {
	char tcti_conf[512];
	uint32_t ak_handle;
	char store_dir[4096];
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR ak;
	uint32_t banks;
	struct tpm_key key;
};

static const struct {
	enum imalog_hash bank;
	TPM2_ALG_ID id;
} bank_ids[] = {
	{ IMALOG_SHA1, TPM2_ALG_SHA1 },
	{ IMALOG_SHA256, TPM2_ALG_SHA256 },
	{ IMALOG_SHA384, TPM2_ALG_SHA384 },
	{ IMALOG_SHA512, TPM2_ALG_SHA512 },
	{ IMALOG_SM3_256, TPM2_ALG_SM3_256 },
};

static int tpm_fail(char *err, size_t errlen, TSS2_RC rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int tpm_fail(char *err, size_t errlen, TSS2_RC rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (rc != TSS2_RC_SUCCESS && n < errlen)
		snprintf(err + n, errlen - n, ": %s", Tss2_RC_Decode(rc));
	return -EIO;
}

static void tpm_close(struct tpm *t)
{
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	t->esys = NULL;
	t->tcti = NULL;
	t->ak = ESYS_TR_NONE;
}

/* The PCR banks the TPM has allocated (a bank with no PCR selected is not). */
static int read_banks(struct tpm *t, char *err, size_t errlen)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = 0;
	TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CAP_PCRS, 0, 1, &more, &cap);

	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, errlen, rc, "%s: reading the PCR banks", t->tcti_conf);
	t->banks = 0;
	for (UINT32 i = 0; i < cap->data.assignedPCR.count; i++) {
		const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
		bool any = false;

		for (UINT8 b = 0; b < s->sizeofSelect && b < sizeof(s->pcrSelect); b++)
			any |= s->pcrSelect[b] != 0;
		for (size_t k = 0; any && k < sizeof(bank_ids) / sizeof(bank_ids[0]); k++)
			if (bank_ids[k].id == s->hash)
				t->banks |= 1u << bank_ids[k].bank;
	}
	Esys_Free(cap);
	return 0;
}

/* The template of 4.7: the only key a handle may hold for imalogd to use it. */
static void ak_template(TPM2B_PUBLIC *pub)
{
	memset(pub, 0, sizeof(*pub));
	pub->publicArea.type = TPM2_ALG_ECC;
	pub->publicArea.nameAlg = TPM2_ALG_SHA256;
	pub->publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
					   TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					   TPMA_OBJECT_SENSITIVEDATAORIGIN |
					   TPMA_OBJECT_USERWITHAUTH;
	pub->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	pub->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pub->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

/* A restricted signing key that signs with ECDSA/SHA-256 (the scheme tpm_quote() asks for). */
static bool ak_usable(const TPMT_PUBLIC *p)
{
	const TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
				 TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_USERWITHAUTH;

	return p->type == TPM2_ALG_ECC && (p->objectAttributes & need) == need &&
	       !(p->objectAttributes & TPMA_OBJECT_DECRYPT) &&
	       p->parameters.eccDetail.scheme.scheme == TPM2_ALG_ECDSA &&
	       p->parameters.eccDetail.scheme.details.ecdsa.hashAlg == TPM2_ALG_SHA256;
}

/* CreatePrimary in the endorsement hierarchy, then EvictControl to the handle. */
static int make_ak(struct tpm *t, char *err, size_t errlen)
{
	TPM2B_SENSITIVE_CREATE sensitive = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_PUBLIC tmpl;
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;

	ak_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sensitive, &tmpl, &outside, &none, &primary, NULL,
				NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, errlen, rc, "%s: creating the attestation key in the "
				"endorsement hierarchy", t->tcti_conf);
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, t->ak_handle, &t->ak);
	Esys_FlushContext(t->esys, primary);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, errlen, rc, "%s: making the attestation key persistent at "
				"0x%08x", t->tcti_conf, t->ak_handle);
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* ReadPublic: check the key, keep its name and marshalled public area. */
static int read_ak(struct tpm *t, char *err, size_t errlen)
{
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	size_t off = 0;
	TSS2_RC rc = Esys_ReadPublic(t->esys, t->ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
				     &name, NULL);
	int r = 0;

	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, errlen, rc, "%s: reading the key at 0x%08x", t->tcti_conf,
				t->ak_handle);
	if (!ak_usable(&pub->publicArea))
		r = tpm_fail(err, errlen, 0, "the key at 0x%08x is not a restricted ECDSA/SHA-256 "
			     "signing key (docs/format.md 4.7): set ak_handle to another handle",
			     t->ak_handle);
	else if (name->size > STORE_MAX_KEY_NAME ||
		 Tss2_MU_TPM2B_PUBLIC_Marshal(pub, t->key.pub, sizeof(t->key.pub), &off) !=
			 TSS2_RC_SUCCESS)
		r = tpm_fail(err, errlen, 0, "the key at 0x%08x: its public area does not marshal",
			     t->ak_handle);
	if (r == 0) {
		hex(name->name, name->size, t->key.name);
		t->key.pub_len = off;
	}
	Esys_Free(pub);
	Esys_Free(name);
	return r;
}

static int load_ak(struct tpm *t, char *err, size_t errlen)
{
	TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, t->ak_handle, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &t->ak);
	int r;

	/* A format-one TPM_RC_HANDLE (Part 2, 6.6.3): no object at the handle. */
	if ((rc & 0xbf) == TPM2_RC_HANDLE) {
		if ((r = make_ak(t, err, errlen)) < 0)
			return r;
	} else if (rc != TSS2_RC_SUCCESS) {
		return tpm_fail(err, errlen, rc, "%s: loading the key at 0x%08x", t->tcti_conf,
				t->ak_handle);
	}
	return read_ak(t, err, errlen);
}

static int tpm_connect(struct tpm *t, char *err, size_t errlen)
{
	TSS2_RC rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	int r;

	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, errlen, rc, "opening the TPM (tpm_tcti = %s)", t->tcti_conf);
	if ((rc = Esys_Initialize(&t->esys, t->tcti, NULL)) != TSS2_RC_SUCCESS)
		r = tpm_fail(err, errlen, rc, "%s: starting ESAPI", t->tcti_conf);
	else if ((r = read_banks(t, err, errlen)) == 0)
		r = load_ak(t, err, errlen);
	if (r < 0)
		tpm_close(t);
	return r;
}

int tpm_open(const char *tcti, uint32_t ak_handle, const char *store_dir, struct tpm **ret,
	     char *err, size_t errlen)
{
	struct tpm *t = calloc(1, sizeof(*t));
	int r;

	*ret = NULL;
	if (!t)
		return -ENOMEM;
	snprintf(t->tcti_conf, sizeof(t->tcti_conf), "%s", tcti);
	snprintf(t->store_dir, sizeof(t->store_dir), "%s", store_dir);
	t->ak_handle = ak_handle;
	t->ak = ESYS_TR_NONE;
	if ((r = tpm_connect(t, err, errlen)) == 0 &&
	    (r = store_write_key(store_dir, t->key.name, t->key.pub, t->key.pub_len)) < 0)
		snprintf(err, errlen, "%s/keys/%s.pub: %s", store_dir, t->key.name, strerror(-r));
	if (r < 0) {
		tpm_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

void tpm_free(struct tpm *t)
{
	if (!t)
		return;
	tpm_close(t);
	free(t);
}

const struct tpm_key *tpm_key(const struct tpm *t)
{
	return &t->key;
}

uint32_t tpm_banks(const struct tpm *t)
{
	return t->banks;
}

static void select_pcrs(const struct tpm *t, uint64_t pcrs, uint32_t banks,
			TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	for (size_t k = 0; k < sizeof(bank_ids) / sizeof(bank_ids[0]); k++) {
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[sel->count];

		if (!(banks & t->banks & 1u << bank_ids[k].bank))
			continue;
		s->hash = bank_ids[k].id;
		s->sizeofSelect = 3;
		for (unsigned int p = 0; p < 24; p++)
			if (pcrs >> p & 1)
				s->pcrSelect[p / 8] |= (uint8_t)(1u << (p % 8));
		sel->count++;
	}
}

/* A quote's bytes into the manifest's form. */
static int keep_quote(const struct tpm *t, const TPM2B_DIGEST *nonce, const TPM2B_ATTEST *a,
		      const TPMT_SIGNATURE *sig, struct manifest_quote *ret)
{
	size_t off = 0;

	if (a->size > sizeof(ret->attest) ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(sig, ret->signature, sizeof(ret->signature), &off) !=
		    TSS2_RC_SUCCESS)
		return -E2BIG;
	memcpy(ret->attest, a->attestationData, a->size);
	ret->attest_len = a->size;
	ret->signature_len = off;
	memcpy(ret->nonce, nonce->buffer, nonce->size);
	ret->nonce_len = nonce->size;
	snprintf(ret->key, sizeof(ret->key), "%s", t->key.name);
	return 0;
}

static int quote(struct tpm *t, const TPML_PCR_SELECTION *sel, struct manifest_quote *ret,
		 char *err, size_t errlen)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA,
				   .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
	TPM2B_DIGEST *nonce = NULL;
	TPM2B_DATA qualifying = { 0 };
	TPM2B_ATTEST *attest = NULL;
	TPMT_SIGNATURE *sig = NULL;
	TSS2_RC rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    QUALIFYING_BYTES, &nonce);
	int r;

	if (rc != TSS2_RC_SUCCESS || nonce->size != QUALIFYING_BYTES) {
		Esys_Free(nonce);
		return tpm_fail(err, errlen, rc, "%s: GetRandom for the qualifying data",
				t->tcti_conf);
	}
	qualifying.size = nonce->size;
	memcpy(qualifying.buffer, nonce->buffer, nonce->size);
	rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying,
			&scheme, sel, &attest, &sig);
	if (rc != TSS2_RC_SUCCESS)
		r = tpm_fail(err, errlen, rc, "%s: quoting with the key at 0x%08x", t->tcti_conf,
			     t->ak_handle);
	else if ((r = keep_quote(t, nonce, attest, sig, ret)) < 0)
		snprintf(err, errlen, "the TPM's quote is larger than a manifest holds");
	Esys_Free(nonce);
	Esys_Free(attest);
	Esys_Free(sig);
	return r;
}

int tpm_quote(struct tpm *t, uint64_t pcrs, uint32_t banks, struct manifest_quote *ret,
	      char *err, size_t errlen)
{
	char old[sizeof(t->key.name)];
	TPML_PCR_SELECTION sel;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!t->esys) {
		memcpy(old, t->key.name, sizeof(old));
		if ((r = tpm_connect(t, err, errlen)) < 0)
			return r;
		/* Another key at the handle now: it is saved before any manifest names it. */
		if (strcmp(old, t->key.name) != 0 &&
		    (r = store_write_key(t->store_dir, t->key.name, t->key.pub, t->key.pub_len)) < 0)
			return tpm_fail(err, errlen, 0, "%s/keys/%s.pub: %s", t->store_dir,
					t->key.name, strerror(-r));
	}
	select_pcrs(t, pcrs, banks, &sel);
	if (sel.count == 0)
		return tpm_fail(err, errlen, 0, "the TPM allocates none of the configured banks");
	if ((r = quote(t, &sel, ret, err, errlen)) == -EIO)
		tpm_close(t);	/* reopened by the next quote */
	return r;
}

#endif
