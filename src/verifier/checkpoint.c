// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Checkpoints (docs/format.md 5.3): a state file (5.1) signed by the verifier that wrote it, so
 * that another verifier that chooses to trust that key can start its chain there. The signature
 * covers the file's bytes exactly; nothing in the file is used before it verifies.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verifier.h"

#define MAX_SIG 4096

static int read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(max + 1);
	ssize_t n = -1;
	size_t len = 0;

	if (fd >= 0 && buf)
		while ((n = read(fd, buf + len, max + 1 - len)) > 0 && (len += (size_t)n) <= max)
			;
	if (fd >= 0)
		close(fd);
	if (fd < 0 || !buf || n < 0 || len > max) {
		int r = !buf ? -ENOMEM : len > max ? -E2BIG : -errno;

		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static EVP_PKEY *read_key(const char *path, bool private)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
		    : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

int checkpoint_sign(const char *path, const char *key_path)
{
	EVP_PKEY *key = read_key(key_path, true);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *data = NULL, sig[MAX_SIG];
	size_t len = 0, siglen = sizeof(sig);
	char sig_path[4200];
	int r = key && ctx ? read_file(path, VSTATE_MAX_FILE, &data, &len) : -EINVAL;
	FILE *f;

	if (r == 0 && (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
		       EVP_DigestSign(ctx, sig, &siglen, data, len) != 1))
		r = -EINVAL;
	snprintf(sig_path, sizeof(sig_path), "%.4000s.sig", path);
	if (r == 0 &&
	    (!(f = fopen(sig_path, "we")) || fwrite(sig, 1, siglen, f) != siglen || fclose(f) != 0))
		r = -EIO;
	free(data);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return r;
}

int checkpoint_read(const char *path, const char *trusted_key, struct vstate *ret, char *err,
		    size_t errlen)
{
	EVP_PKEY *key = read_key(trusted_key, false);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *data = NULL, *sig = NULL;
	size_t len = 0, siglen = 0;
	char sig_path[4200];
	int r;

	snprintf(sig_path, sizeof(sig_path), "%.4000s.sig", path);
	if (!key || !ctx) {
		snprintf(err, errlen, "%s: not a PEM public key", trusted_key);
		r = -EINVAL;
	} else if ((r = read_file(path, VSTATE_MAX_FILE, &data, &len)) < 0 ||
		   (r = read_file(sig_path, MAX_SIG, &sig, &siglen)) < 0) {
		snprintf(err, errlen, "%s or its .sig: %s", path, strerror(-r));
	} else if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
		   EVP_DigestVerify(ctx, sig, siglen, data, len) != 1) {
		snprintf(err, errlen, "%s: the signature does not verify with %s", path,
			 trusted_key);
		r = -EBADMSG;
	} else {
		r = vstate_parse((const char *)data, len, ret, err, errlen);
	}
	free(data);
	free(sig);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return r;
}
