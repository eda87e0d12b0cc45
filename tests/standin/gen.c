// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Synthetic measurements, deterministic for a seed: file reads in PCR 10, executables in PCR 11
 * (a policy with "measure func=BPRM_CHECK pcr=11"), ToMToU/open-writers violations, the
 * boot_aggregate and ima-buf records. Field encodings follow ima_template_lib.c:
 * d-ng is "<alg>:" NUL digest (ima_eventdigest_init_common()), a violation's d-ng digest is
 * zeros of the algorithm's size, n-ng is the name and its NUL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "standin.h"

#define NAME_MAX_LEN 512

static const char *const exec_dirs[] = {
	"/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/lib/systemd",
};
static const char *const execs[] = {
	"bash",	 "ls",	 "grep",      "sed",	    "python3.11", "sshd",  "systemctl",
	"ip",	 "tar",	 "gzip",      "dpkg",	    "curl",	  "runc",  "containerd-shim",
	"mount", "node", "journalctl", "systemd-udevd",
};
static const char *const file_dirs[] = {
	"/usr/lib/x86_64-linux-gnu", "/etc",	      "/etc/ssl/certs",
	"/var/lib/dpkg/info",	     "/opt/app/lib", "/usr/lib/python3/dist-packages/requests",
	"/usr/share/zoneinfo/Europe",
};
static const char *const files[] = {
	"libc.so.6",	 "libssl.so.3", "libcrypto.so.3", "libsystemd.so.0", "ld.so.cache",
	"passwd",	 "os-release",	"ca-certificates.crt", "Berlin",	"sessions.py",
	"config.yaml",	 "libz.so.1",	"nsswitch.conf",  "status",		"app.jar",
};

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
uint64_t si_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rand_bytes(uint64_t *s, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = si_rand(s);

		memcpy(out + i, &v, len - i < 8 ? len - i : 8);
	}
}

static const char *pick(uint64_t *s, const char *const *list, size_t n)
{
	return list[si_rand(s) % n];
}

/*
 * A file name unique in the log (it carries the record's number); now and then a long one, as
 * container overlay paths are.
 */
static void make_name(struct si_state *st, bool exec, char *out, size_t size)
{
	uint64_t n = st->ntruth;

	if (!exec && n % 64 == 63) {
		uint8_t layer[32];
		char hex[65];

		rand_bytes(&st->rng, layer, sizeof(layer));
		imalog_hex(layer, sizeof(layer), hex);
		snprintf(out, size, "/var/lib/containers/storage/overlay/%s/diff%s/%s.%" PRIu64,
			 hex, pick(&st->rng, file_dirs, ARRAY_SIZE(file_dirs)),
			 pick(&st->rng, files, ARRAY_SIZE(files)), n);
	} else if (exec) {
		snprintf(out, size, "%s/%s.%" PRIu64,
			 pick(&st->rng, exec_dirs, ARRAY_SIZE(exec_dirs)),
			 pick(&st->rng, execs, ARRAY_SIZE(execs)), n);
	} else {
		snprintf(out, size, "%s/%s.%" PRIu64,
			 pick(&st->rng, file_dirs, ARRAY_SIZE(file_dirs)),
			 pick(&st->rng, files, ARRAY_SIZE(files)), n);
	}
}

/* "<alg>:" NUL and the digest; NULL @digest: a violation's zeros. Returns the length. */
static uint32_t digest_ng(enum imalog_hash alg, const uint8_t *digest, uint8_t *out)
{
	const char *name = imalog_hash_name(alg);
	size_t len = strlen(name), size = imalog_hash_size(alg);

	memcpy(out, name, len);
	out[len] = ':';
	out[len + 1] = '\0';
	if (digest)
		memcpy(out + len + 2, digest, size);
	else
		memset(out + len + 2, 0, size);
	return (uint32_t)(len + 2 + size);
}

/* A fake appended signature (signature_v2_hdr: type 3, version 2, sha256, key id, length). */
static uint32_t fake_sig(uint64_t *s, uint8_t *out)
{
	static const uint8_t hdr[] = {0x03, 0x02, 0x04};
	const uint32_t body = 64;

	memcpy(out, hdr, sizeof(hdr));
	rand_bytes(s, out + 3, 4);
	out[7] = 0;
	out[8] = (uint8_t)body;
	rand_bytes(s, out + 9, body);
	return 9 + body;
}

int si_gen_measurement(struct si_state *st, const struct si_gen *g, struct si_record **ret)
{
	bool violation = si_rand(&st->rng) % 100 < g->violation_pct;
	bool exec = !violation && si_rand(&st->rng) % 100 < g->pcr11_pct;
	uint8_t file_digest[IMALOG_MAX_DIGEST], dng[32 + IMALOG_MAX_DIGEST], sig[80];
	char name[NAME_MAX_LEN];
	struct si_field f[3];
	uint32_t sig_len = 0;

	make_name(st, exec, name, sizeof(name));
	rand_bytes(&st->rng, file_digest, imalog_hash_size(st->ima_hash));
	f[0] = (struct si_field){dng, digest_ng(st->ima_hash, violation ? NULL : file_digest, dng)};
	f[1] = (struct si_field){name, (uint32_t)strlen(name) + 1};
	if (g->sig && !violation && si_rand(&st->rng) % 4)
		sig_len = fake_sig(&st->rng, sig);
	f[2] = (struct si_field){sig, sig_len};
	return si_record_build(st, exec ? 11 : SI_MEASURE_PCR, g->sig ? "ima-sig" : "ima-ng", f,
			       g->sig ? 3 : 2, violation, ret);
}

/*
 * ima_calc_boot_aggregate(): the hash of PCRs 0-7 (SHA-1) or 0-9 (other banks), in the bank of
 * ima_hash when the TPM has it allocated, else SHA-1.
 */
int si_gen_boot_aggregate(struct si_state *st, struct si_record **ret)
{
	int b = si_bank_index(st, st->ima_hash);
	uint8_t digest[IMALOG_MAX_DIGEST], dng[32 + IMALOG_MAX_DIGEST];
	char hex[2 * IMALOG_MAX_DIGEST + 1];
	static const char name[] = "boot_aggregate";
	unsigned int npcrs;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct si_field f[2];
	int ok;

	if (b < 0)
		b = si_bank_index(st, IMALOG_SHA1);
	npcrs = st->bank[b].alg == IMALOG_SHA1 ? 8 : SI_FIRMWARE_PCRS;
	ok = ctx && EVP_DigestInit_ex(ctx, st->bank[b].md, NULL);
	for (unsigned int p = 0; ok && p < npcrs; p++)
		ok = EVP_DigestUpdate(ctx, st->pcr[p][b], st->bank[b].size);
	ok = ok && EVP_DigestFinal_ex(ctx, digest, NULL);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -ENOMEM;
	imalog_hex(digest, st->bank[b].size, hex);
	snprintf(st->boot_aggregate, sizeof(st->boot_aggregate), "%s:%s", st->bank[b].name, hex);
	f[0] = (struct si_field){dng, digest_ng(st->bank[b].alg, digest, dng)};
	f[1] = (struct si_field){name, sizeof(name)};
	return si_record_build(st, SI_MEASURE_PCR, "ima-ng", f, 2, false, ret);
}

/* An ima-buf record (process_buffer_measurement()): d-ng is the ima_hash digest of @buf. */
int si_gen_buf(const struct si_state *st, uint32_t pcr, const char *name, const void *buf,
	       uint32_t len, struct si_record **ret)
{
	uint8_t digest[IMALOG_MAX_DIGEST], dng[32 + IMALOG_MAX_DIGEST];
	int b = si_bank_index(st, st->ima_hash);
	const EVP_MD *md =
		b >= 0 ? st->bank[b].md : EVP_get_digestbyname(imalog_hash_name(st->ima_hash));
	struct si_field f[3];

	if (!md || !EVP_Digest(buf, len, digest, NULL, md, NULL))
		return -EIO;
	f[0] = (struct si_field){dng, digest_ng(st->ima_hash, digest, dng)};
	f[1] = (struct si_field){name, (uint32_t)strlen(name) + 1};
	f[2] = (struct si_field){buf, len};
	return si_record_build(st, pcr, "ima-buf", f, 3, false, ret);
}
