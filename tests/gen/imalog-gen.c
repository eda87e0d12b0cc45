// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * imalog-gen: write a valid IMA binary measurement log and the PCR values it produces.
 *
 * Written from the kernel sources (Linux 6.12 security/integrity/ima/ima_fs.c for the record
 * layout, ima_template_lib.c for the field encodings, ima_crypto.c for the template hash) and
 * deliberately not from libimalog: it uses OpenSSL directly so that it can cross-check the
 * library and evmctl.
 *
 * Output is deterministic for a given seed and set of options.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#define MAX_BANKS 8
#define NUM_PCRS 24
#define MAX_DIGEST 64
#define MAX_FIELDS 16
#define EVENT_NAME_LEN_MAX 255 /* IMA_EVENT_NAME_LEN_MAX, ima.h */
#define OUT_FLUSH (1u << 20)

/* Hash algorithms by their kernel name (hash_algo_name[]) and their TPM bank name. */
struct alg {
	const char *name;
	const char *tpm_name;
	unsigned int size;
};

static const struct alg algs[] = {
	{"md5", NULL, 16},	  {"sha1", "sha1", 20},	    {"sha224", "sha224", 28},
	{"sha256", "sha256", 32}, {"sha384", "sha384", 48}, {"sha512", "sha512", 64},
	{"sm3", "sm3_256", 32},
};

enum field_id {
	F_D,
	F_N,
	F_DNG,
	F_DNGV2,
	F_NNG,
	F_SIG,
	F_BUF,
	F_DMODSIG,
	F_MODSIG,
	F_EVMSIG,
	F_XNAMES,
	F_XLENGTHS,
	F_XVALUES,
	F_IUID,
	F_IGID,
	F_IMODE,
};

/* supported_fields[] in ima_template.c */
static const char *const field_names[] = {
	[F_D] = "d",
	[F_N] = "n",
	[F_DNG] = "d-ng",
	[F_DNGV2] = "d-ngv2",
	[F_NNG] = "n-ng",
	[F_SIG] = "sig",
	[F_BUF] = "buf",
	[F_DMODSIG] = "d-modsig",
	[F_MODSIG] = "modsig",
	[F_EVMSIG] = "evmsig",
	[F_XNAMES] = "xattrnames",
	[F_XLENGTHS] = "xattrlengths",
	[F_XVALUES] = "xattrvalues",
	[F_IUID] = "iuid",
	[F_IGID] = "igid",
	[F_IMODE] = "imode",
};

struct tmpl {
	char name[128]; /* what the log shows: the builtin name, or the field list if custom */
	bool is_ima;	/* the legacy "ima" template: different binary form and hash */
	int nfields;
	enum field_id fields[MAX_FIELDS];
};

/* builtin_templates[] in ima_template.c */
static const char *const builtins[][2] = {
	{"ima", "d|n"},
	{"ima-ng", "d-ng|n-ng"},
	{"ima-sig", "d-ng|n-ng|sig"},
	{"ima-ngv2", "d-ngv2|n-ng"},
	{"ima-sigv2", "d-ngv2|n-ng|sig"},
	{"ima-buf", "d-ng|n-ng|buf"},
	{"ima-modsig", "d-ng|n-ng|sig|d-modsig|modsig"},
	{"evm-sig", "d-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode"},
};

/* What "mixed" draws from: every builtin plus custom field lists; the first is boot_aggregate's. */
static const char default_pool[] =
	"ima-ng,ima,ima-sig,ima-ngv2,ima-sigv2,ima-buf,ima-modsig,evm-sig,"
	"d-ng|n-ng|sig,n-ng|d-ng,d|n-ng,d-ng|n-ng|iuid|igid|imode";

#define MAX_POOL 32

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct bank {
	const struct alg *alg;
	EVP_MD *md;
	uint8_t pcr[NUM_PCRS][MAX_DIGEST];
	uint8_t digest[MAX_DIGEST]; /* this record's template digest in this bank */
};

struct opts {
	uint64_t records;
	const char *template;
	const struct alg *log_bank;
	const struct alg *file_alg;
	bool big_endian;
	double violations;
	double pcr11;
	uint64_t seed;
	const char *banks;
	const char *output;
	const char *out_dir;
	const char *expected;
	const char *evmctl_prefix;
	const char *yaml;
	const char *sysfs;
	const char *offsets;
};

struct gen {
	struct opts o;
	uint64_t rng[4];
	struct bank banks[MAX_BANKS];
	int nbanks;
	int log_bank_idx;
	bool pcr_used[NUM_PCRS];
	struct tmpl pool[MAX_POOL];
	int npool;
	EVP_MD_CTX *ctx;
	EVP_MD *file_md;
	FILE *out;
	FILE *offsets;
	uint64_t offset;
	struct buf outbuf;
	struct buf tdata; /* template data exactly as hashed */
	struct buf tshow; /* the legacy "ima" template's binary form, which differs */
	struct buf scratch;
	struct buf field;
};

static void die(const char *msg)
{
	fprintf(stderr, "imalog-gen: %s\n", msg);
	exit(2);
}

static void die_errno(const char *what, const char *path)
{
	fprintf(stderr, "imalog-gen: %s %s: %s\n", what, path, strerror(errno));
	exit(2);
}

/* xoshiro256** seeded through splitmix64: the same stream on every platform. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(struct gen *g)
{
	uint64_t *s = g->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static uint32_t rnd_below(struct gen *g, uint32_t n)
{
	return (uint32_t)(((rnd(g) >> 32) * n) >> 32);
}

static bool rnd_chance(struct gen *g, double p)
{
	return p > 0 && (double)(rnd(g) >> 11) * 0x1.0p-53 < p;
}

static void rnd_bytes(struct gen *g, uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t r = rnd(g);

		memcpy(p, &r, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t r = rnd(g);

		memcpy(p, &r, n);
	}
}

static void buf_reserve(struct buf *b, size_t more)
{
	size_t cap;

	if (more <= b->cap - b->len)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < more)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		die("out of memory");
	b->cap = cap;
}

static void put(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_zeros(struct buf *b, size_t n)
{
	buf_reserve(b, n);
	memset(b->p + b->len, 0, n);
	b->len += n;
}

static void put_random(struct gen *g, struct buf *b, size_t n)
{
	buf_reserve(b, n);
	rnd_bytes(g, b->p + b->len, n);
	b->len += n;
}

/* Integers in a record use the log's byte order: host, or le with ima_canonical_fmt. */
static void put_u32(struct gen *g, struct buf *b, uint32_t v)
{
	uint8_t x[4];

	if (g->o.big_endian) {
		x[0] = v >> 24, x[1] = v >> 16, x[2] = v >> 8, x[3] = v;
	} else {
		x[0] = v, x[1] = v >> 8, x[2] = v >> 16, x[3] = v >> 24;
	}
	put(b, x, 4);
}

static void put_u16(struct gen *g, struct buf *b, uint16_t v)
{
	uint8_t x[2];

	if (g->o.big_endian) {
		x[0] = v >> 8, x[1] = v;
	} else {
		x[0] = v, x[1] = v >> 8;
	}
	put(b, x, 2);
}

static const struct alg *alg_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (!strcmp(algs[i].name, name) ||
		    (algs[i].tpm_name && !strcmp(algs[i].tpm_name, name)))
			return &algs[i];
	return NULL;
}

static int field_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_names); i++)
		if (strlen(field_names[i]) == len && !memcmp(field_names[i], name, len))
			return (int)i;
	return -1;
}

/* A builtin name or a field list (ima_template_fmt=), as template_desc_init_fields(). */
static int template_parse(const char *spec, struct tmpl *t)
{
	const char *fmt = spec, *p;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(spec, builtins[i][0]))
			fmt = builtins[i][1];
	if (strlen(spec) >= sizeof(t->name))
		return -1;
	strcpy(t->name, spec);
	t->is_ima = !strcmp(spec, "ima");
	for (p = fmt;; p++) {
		size_t len = strcspn(p, "|");
		int f = field_by_name(p, len);

		if (f < 0 || t->nfields == MAX_FIELDS)
			return -1;
		t->fields[t->nfields++] = (enum field_id)f;
		p += len;
		if (!*p)
			return 0;
	}
}

/* Paths of 10..80 characters that look like what a tcb policy measures. */
static const char *const dirs[] = {
	"/usr/bin",
	"/usr/sbin",
	"/usr/lib/x86_64-linux-gnu",
	"/usr/lib/systemd",
	"/usr/lib/python3/dist-packages/apt",
	"/usr/libexec",
	"/usr/share/perl5/Debian",
	"/etc",
	"/etc/systemd/system",
	"/lib/modules/6.12.17-amd64/kernel/drivers/net",
	"/lib/modules/6.12.17-amd64/kernel/fs",
	"/opt/app/current/bin",
	"/var/lib/dpkg/info",
	"/usr/local/bin",
	"/root/.cache",
};

static const char *const syllables[] = {
	"lib", "sys", "net", "ssl", "crypt", "core", "util", "tpm", "ima", "dbus",
	"ext", "fs",  "x",   "gnu", "std",   "py",   "conf", "ctl", "d",   "mod",
};

static const char *const suffixes[] = {
	"",	"",	 ".so", ".so.6",  ".so.3.0.2", ".py",
	".pyc", ".conf", ".ko", ".ko.xz", ".sh",       ".service",
};

static void make_name(struct gen *g, char *name, size_t cap)
{
	size_t len, min = 10, max = 80;
	int parts;

	do {
		const char *dir = dirs[rnd_below(g, ARRAY_SIZE(dirs))];

		len = (size_t)snprintf(name, cap, "%s/", dir);
		parts = 1 + (int)rnd_below(g, 4);
		while (parts-- && len < max) {
			const char *s = syllables[rnd_below(g, ARRAY_SIZE(syllables))];

			len += (size_t)snprintf(name + len, cap - len, "%s", s);
		}
		if (rnd_below(g, 3) == 0)
			len += (size_t)snprintf(name + len, cap - len, "-%u", rnd_below(g, 1000));
		len += (size_t)snprintf(name + len, cap - len, "%s",
					suffixes[rnd_below(g, ARRAY_SIZE(suffixes))]);
	} while (len < min || len > max);
}

/* A field's data as ima_write_template_field_data() stores it. */
struct record_ctx {
	const char *name;
	bool violation;
	bool boot_aggregate;
	bool is_buf;
};

/* DATA_FMT_DIGEST_WITH_ALGO / _WITH_TYPE_AND_ALGO: [type ':'] algo ':' '\0' digest */
static void field_digest_ng(struct gen *g, struct buf *b, const char *type,
			    const struct record_ctx *r, const uint8_t *digest)
{
	const struct alg *a = g->o.file_alg;

	if (type) {
		put(b, type, strlen(type));
		put(b, ":", 1);
	}
	put(b, a->name, strlen(a->name));
	put(b, ":", 2); /* ':' and the NUL */
	if (r->violation) {
		put_zeros(b, a->size);
	} else if (digest) {
		put(b, digest, a->size);
	} else {
		put_random(g, b, a->size);
	}
}

/* ima_eventdigest_init: sha1 (or md5) only, zeros for a violation. */
static void field_d(struct gen *g, struct buf *b, const struct record_ctx *r)
{
	unsigned int n = g->o.file_alg->size == 16 ? 16 : 20;

	if (r->violation) {
		put_zeros(b, 20);
		return;
	}
	put_random(g, b, n);
}

/* An IMA signature xattr (EVM_IMA_XATTR_DIGSIG, struct signature_v2_hdr) with random contents. */
static void field_sig(struct gen *g, struct buf *b, uint8_t version)
{
	uint16_t siglen = rnd_below(g, 2) ? 256 : 70 + (uint16_t)rnd_below(g, 3);
	uint8_t hdr[9] = {0x03, version, 4 /* sha256 */};

	rnd_bytes(g, hdr + 3, 4);
	hdr[7] = siglen >> 8;
	hdr[8] = siglen & 0xff;
	put(b, hdr, sizeof(hdr));
	put_random(g, b, siglen);
}

static const char selinux_label[] = "system_u:object_r:bin_t:s0";

/* evm_read_protected_xattrs(): names joined by '|', lengths as u32, values concatenated. */
static void field_xattrs(struct gen *g, struct buf *b, enum field_id f)
{
	const char *names = "security.selinux|security.ima";

	switch (f) {
	case F_XNAMES:
		put(b, names, strlen(names) + 1);
		break;
	case F_XLENGTHS:
		put_u32(g, b, sizeof(selinux_label));
		put_u32(g, b, 2 + 32);
		break;
	default:
		put(b, selinux_label, sizeof(selinux_label));
		put(b, "\x04\x04", 2); /* IMA_XATTR_DIGEST_NG, HASH_ALGO_SHA256 */
		put_random(g, b, 32);
		break;
	}
}

static void ima_buf_digest(struct gen *g, const uint8_t *data, size_t len, uint8_t *out)
{
	if (!g->file_md)
		g->file_md = EVP_MD_fetch(NULL, g->o.file_alg->name, NULL);
	if (!g->file_md || !EVP_Digest(data, len, out, NULL, g->file_md, NULL))
		die("cannot hash an ima-buf buffer with the file-digest algorithm");
}

/* Data of field f, without its length prefix. */
static void field_data(struct gen *g, struct buf *b, enum field_id f, const struct record_ctx *r,
		       const uint8_t *bufdigest)
{
	bool file = !r->boot_aggregate && !r->is_buf; /* event_data->file is set */

	switch (f) {
	case F_D:
		field_d(g, b, r);
		break;
	case F_N:
	case F_NNG:
		put(b, r->name, strlen(r->name) + 1); /* DATA_FMT_STRING keeps the NUL */
		break;
	case F_DNG:
		field_digest_ng(g, b, NULL, r, bufdigest);
		break;
	case F_DNGV2:
		field_digest_ng(g, b, "ima", r, bufdigest);
		break;
	case F_SIG:
		if (file && !r->violation && rnd_below(g, 4))
			field_sig(g, b, 2);
		break;
	case F_BUF:
		if (r->is_buf)
			put(b, g->scratch.p, g->scratch.len);
		break;
	case F_DMODSIG:
	case F_MODSIG:
		break; /* filled together, see record_fields() */
	case F_EVMSIG:
		if (file && rnd_below(g, 2)) {
			put(b, "\x05\x02\x04", 3); /* EVM_XATTR_PORTABLE_DIGSIG, v2, sha256 */
			put_random(g, b, 6 + 256);
		}
		break;
	case F_XNAMES:
	case F_XLENGTHS:
	case F_XVALUES:
		if (file)
			field_xattrs(g, b, f);
		break;
	case F_IUID:
	case F_IGID:
		if (file)
			put_u32(g, b, rnd_below(g, 2) ? 0 : 1000); /* sizeof(unsigned int) */
		break;
	case F_IMODE:
		if (file)
			put_u16(g, b, rnd_below(g, 2) ? 0100755 : 0100644);
		break;
	}
}

/* ima-buf content: a kexec command line or a key; the digest field is its real hash. */
static void make_buf(struct gen *g, struct record_ctx *r, uint8_t *digest)
{
	static const char cmdline[] = "root=/dev/vda1 ro console=ttyS0 ima_policy=tcb";

	g->scratch.len = 0;
	if (rnd_below(g, 2)) {
		r->name = "kexec-cmdline";
		put(&g->scratch, cmdline, sizeof(cmdline) - 1);
	} else {
		r->name = ".builtin_trusted_keys";
		put(&g->scratch, "\x30\x82\x05\x6a", 4); /* a DER SEQUENCE header, then noise */
		put_random(g, &g->scratch, 200 + rnd_below(g, 1200));
	}
	ima_buf_digest(g, g->scratch.p, g->scratch.len, digest);
}

static void append_field(struct gen *g, enum field_id f, const struct record_ctx *r,
			 const uint8_t *bufdigest, struct buf *scratch)
{
	scratch->len = 0;
	field_data(g, scratch, f, r, bufdigest);
	/* ima_calc_field_array_hash_tfm(): length (log byte order) then data, for every field */
	put_u32(g, &g->tdata, (uint32_t)scratch->len);
	put(&g->tdata, scratch->p, scratch->len);
}

/*
 * The legacy "ima" template: hashed as the digest followed by the name zero-padded to
 * IMA_EVENT_NAME_LEN_MAX + 1 bytes; shown as the digest without a length, then the name
 * without its NUL after a u32 length (IMA_SHOW_BINARY_OLD_STRING_FMT).
 */
static void record_ima(struct gen *g, const struct record_ctx *r)
{
	struct buf *s = &g->scratch;
	size_t namelen = strlen(r->name);

	s->len = 0;
	field_d(g, s, r);
	put(&g->tdata, s->p, s->len);
	put(&g->tshow, s->p, s->len);
	put(&g->tdata, r->name, namelen);
	put_zeros(&g->tdata, EVENT_NAME_LEN_MAX + 1 - namelen);
	put_u32(g, &g->tshow, (uint32_t)namelen);
	put(&g->tshow, r->name, namelen);
}

static void record_fields(struct gen *g, const struct tmpl *t, const struct record_ctx *r,
			  const uint8_t *bufdigest)
{
	struct buf *field = &g->field;
	bool modsig = !r->violation && !r->boot_aggregate && !r->is_buf && rnd_below(g, 3) == 0;

	for (int i = 0; i < t->nfields; i++) {
		enum field_id f = t->fields[i];

		if (f == F_DMODSIG && modsig) {
			field->len = 0;
			field_digest_ng(g, field, NULL, r, NULL);
			put_u32(g, &g->tdata, (uint32_t)field->len);
			put(&g->tdata, field->p, field->len);
		} else if (f == F_MODSIG && modsig) {
			/* a PKCS#7 blob (ima_get_raw_modsig) */
			put_u32(g, &g->tdata, 600);
			put(&g->tdata, "\x30\x82\x02\x54", 4);
			put_random(g, &g->tdata, 596);
		} else {
			append_field(g, f, r, bufdigest, field);
		}
	}
}

static void hash_bank(struct gen *g, struct bank *b, const void *p, size_t n, uint8_t *out)
{
	if (!EVP_DigestInit_ex2(g->ctx, b->md, NULL) || !EVP_DigestUpdate(g->ctx, p, n) ||
	    !EVP_DigestFinal_ex(g->ctx, out, NULL))
		die("hash failed");
}

/* tpm_pcr_extend: PCR = H(PCR || digest); a violation is extended as all 0xff (ima_queue.c). */
static void extend(struct gen *g, uint32_t pcr, bool violation)
{
	for (int i = 0; i < g->nbanks; i++) {
		struct bank *b = &g->banks[i];
		uint8_t in[2 * MAX_DIGEST];
		unsigned int n = b->alg->size;

		memcpy(in, b->pcr[pcr], n);
		if (violation)
			memset(in + n, 0xff, n);
		else
			memcpy(in + n, b->digest, n);
		hash_bank(g, b, in, 2 * n, b->pcr[pcr]);
	}
	g->pcr_used[pcr] = true;
}

static void flush_out(struct gen *g, bool force)
{
	if (!force && g->outbuf.len < OUT_FLUSH)
		return;
	if (g->outbuf.len && fwrite(g->outbuf.p, 1, g->outbuf.len, g->out) != g->outbuf.len)
		die("write failed");
	g->outbuf.len = 0;
}

/* ima_measurements_show(): pcr, digest, name length, name, [template data length], data. */
static void emit(struct gen *g, const struct tmpl *t, uint32_t pcr, bool violation)
{
	struct buf *o = &g->outbuf;
	const struct buf *shown = t->is_ima ? &g->tshow : &g->tdata;
	size_t namelen = strlen(t->name), start = o->len, tdata_off;

	put_u32(g, o, pcr);
	if (violation)
		put_zeros(o, g->o.log_bank->size);
	else
		put(o, g->banks[g->log_bank_idx].digest, g->o.log_bank->size);
	put_u32(g, o, (uint32_t)namelen);
	put(o, t->name, namelen);
	if (!t->is_ima)
		put_u32(g, o, (uint32_t)shown->len);
	tdata_off = o->len;
	put(o, shown->p, shown->len);
	if (g->offsets)
		fprintf(g->offsets, "%" PRIu64 " %" PRIu64 " %u %" PRIu64 " %" PRIu64 "\n",
			g->offset, g->offset + (tdata_off - start), pcr,
			g->offset + (o->len - start), (uint64_t)violation);
	g->offset += o->len - start;
	flush_out(g, false);
}

/* The first record, boot_aggregate, uses the first template of the pool (ima_init.c). */
static const struct tmpl *pick_template(struct gen *g, bool boot_aggregate)
{
	if (boot_aggregate || g->npool == 1)
		return &g->pool[0];
	return &g->pool[rnd_below(g, (uint32_t)g->npool)];
}

static bool template_has(const struct tmpl *t, enum field_id f)
{
	for (int i = 0; i < t->nfields; i++)
		if (t->fields[i] == f)
			return true;
	return false;
}

static void one_record(struct gen *g, uint64_t index)
{
	char name[128];
	uint8_t bufdigest[MAX_DIGEST];
	struct record_ctx r = {.name = name, .boot_aggregate = index == 0};
	const struct tmpl *t = pick_template(g, r.boot_aggregate);
	uint32_t pcr = 10;

	g->tdata.len = 0;
	g->tshow.len = 0;
	if (r.boot_aggregate) {
		strcpy(name, "boot_aggregate");
	} else if (template_has(t, F_BUF) && rnd_below(g, 4)) {
		r.is_buf = true;
		make_buf(g, &r, bufdigest);
	} else {
		make_name(g, name, sizeof(name));
		r.violation = rnd_chance(g, g->o.violations);
		/* violations always go to CONFIG_IMA_MEASURE_PCR_IDX (ima_add_violation) */
		if (!r.violation && rnd_chance(g, g->o.pcr11))
			pcr = 11;
	}
	if (t->is_ima)
		record_ima(g, &r);
	else
		record_fields(g, t, &r, r.is_buf ? bufdigest : NULL);
	for (int i = 0; i < g->nbanks; i++)
		hash_bank(g, &g->banks[i], g->tdata.p, g->tdata.len, g->banks[i].digest);
	extend(g, pcr, r.violation);
	emit(g, t, pcr, r.violation);
}

static void hex(FILE *f, const uint8_t *p, unsigned int n, bool upper)
{
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, upper ? "%02X" : "%02x", p[i]);
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die_errno("cannot create", path);
	return f;
}

static void close_out(FILE *f, const char *path)
{
	if (fclose(f))
		die_errno("cannot write", path);
}

static void write_expected(struct gen *g, const char *path)
{
	FILE *f = open_out(path);

	fprintf(f, "# PCR values after replaying the generated log: PCR ALG HEX\n");
	for (int pcr = 0; pcr < NUM_PCRS; pcr++) {
		if (!g->pcr_used[pcr])
			continue;
		for (int i = 0; i < g->nbanks; i++) {
			fprintf(f, "%d %s ", pcr, g->banks[i].alg->name);
			hex(f, g->banks[i].pcr[pcr], g->banks[i].alg->size, false);
			fputc('\n', f);
		}
	}
	close_out(f, path);
}

/* evmctl ima_measurement --pcrs ALG,FILE: "PCR-NN: hex" for PCR 00..23, in order. */
static void write_evmctl(struct gen *g, const char *prefix)
{
	char path[4096];

	for (int i = 0; i < g->nbanks; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s%s", prefix, g->banks[i].alg->name);
		f = open_out(path);
		for (int pcr = 0; pcr < NUM_PCRS; pcr++) {
			fprintf(f, "PCR-%02d: ", pcr);
			hex(f, g->banks[i].pcr[pcr], g->banks[i].alg->size, false);
			fputc('\n', f);
		}
		close_out(f, path);
	}
}

/* The layout tpm2_pcrread prints (tpm2-tools 5.x, lib/pcr.c). */
static void write_yaml(struct gen *g, const char *path)
{
	FILE *f = open_out(path);

	for (int i = 0; i < g->nbanks; i++) {
		fprintf(f, "  %s:\n", g->banks[i].alg->tpm_name);
		for (int pcr = 0; pcr < NUM_PCRS; pcr++) {
			fprintf(f, "    %-2d: 0x", pcr);
			hex(f, g->banks[i].pcr[pcr], g->banks[i].alg->size, true);
			fputc('\n', f);
		}
	}
	close_out(f, path);
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST)
		die_errno("cannot create", path);
}

/* /sys/class/tpm/tpm0/pcr-<alg>/<n>: uppercase hex and a newline (pcr_value_show, tpm-sysfs.c). */
static void write_sysfs(struct gen *g, const char *dir)
{
	char path[4096];

	make_dir(dir);
	for (int i = 0; i < g->nbanks; i++) {
		snprintf(path, sizeof(path), "%s/pcr-%s", dir, g->banks[i].alg->tpm_name);
		make_dir(path);
		for (int pcr = 0; pcr < NUM_PCRS; pcr++) {
			FILE *f;

			snprintf(path, sizeof(path), "%s/pcr-%s/%d", dir, g->banks[i].alg->tpm_name,
				 pcr);
			f = open_out(path);
			hex(f, g->banks[i].pcr[pcr], g->banks[i].alg->size, true);
			fputc('\n', f);
			close_out(f, path);
		}
	}
}

static int add_bank(struct gen *g, const struct alg *a)
{
	for (int i = 0; i < g->nbanks; i++)
		if (g->banks[i].alg == a)
			return i;
	if (g->nbanks == MAX_BANKS || !a->tpm_name)
		die("bad bank");
	g->banks[g->nbanks].alg = a;
	/* an explicit fetch: the implicit one in EVP_DigestInit takes a lock on every call */
	g->banks[g->nbanks].md = EVP_MD_fetch(NULL, a->name, NULL);
	if (!g->banks[g->nbanks].md)
		die("OpenSSL lacks a bank's hash algorithm");
	return g->nbanks++;
}

static void setup_banks(struct gen *g)
{
	char list[256];
	char *save = NULL;

	if (strlen(g->o.banks) >= sizeof(list))
		die("bank list too long");
	strcpy(list, g->o.banks);
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		const struct alg *a = alg_by_name(s);

		if (!a || !a->tpm_name)
			die("unknown bank in --banks");
		add_bank(g, a);
	}
	g->log_bank_idx = add_bank(g, g->o.log_bank);
}

/* --template T, "mixed" (the default pool) or "mixed:T1,T2,..." (one drawn per record). */
static void setup_templates(struct gen *g)
{
	const char *spec = g->o.template;
	char list[1024];
	char *save = NULL;

	if (!strcmp(spec, "mixed"))
		spec = default_pool;
	else if (!strncmp(spec, "mixed:", 6))
		spec += 6;
	else if (template_parse(spec, &g->pool[g->npool++]))
		die("unknown template or field in --template");
	if (g->npool)
		return;
	if (strlen(spec) >= sizeof(list))
		die("template list too long");
	strcpy(list, spec);
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (g->npool == MAX_POOL || template_parse(s, &g->pool[g->npool++]))
			die("unknown template or field in --template mixed:");
	}
	if (!g->npool)
		die("empty template list");
}

/*
 * With ima_hash=md5 the kernel writes a 16-byte d field; in the legacy "ima" template that
 * field has no length, so no reader can tell it from the usual 20 bytes. Refuse to write that.
 */
static void check_templates(struct gen *g)
{
	for (int i = 0; i < g->npool; i++)
		if (g->pool[i].is_ima && g->o.file_alg->size == 16)
			die("the ima template with an md5 digest cannot be parsed back");
}

static void seed_rng(struct gen *g)
{
	uint64_t x = g->o.seed;

	for (int i = 0; i < 4; i++)
		g->rng[i] = splitmix64(&x);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (!p)
		die("out of memory");
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* --out-dir: every output under its conventional name. */
static void fill_out_dir(struct opts *o)
{
	static char logname[64];

	make_dir(o->out_dir);
	if (!strcmp(o->log_bank->name, "sha1"))
		snprintf(logname, sizeof(logname), "binary_runtime_measurements");
	else
		snprintf(logname, sizeof(logname), "binary_runtime_measurements_%s",
			 o->log_bank->name);
	if (!o->output)
		o->output = join(o->out_dir, logname);
	if (!o->expected)
		o->expected = join(o->out_dir, "expected");
	if (!o->evmctl_prefix)
		o->evmctl_prefix = join(o->out_dir, "evmctl-pcrs-");
	if (!o->yaml)
		o->yaml = join(o->out_dir, "pcrread.yaml");
	if (!o->sysfs)
		o->sysfs = join(o->out_dir, "tpm0");
	if (!o->offsets)
		o->offsets = join(o->out_dir, "offsets");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imalog-gen [options]\n"
		"  -n, --records N          records, the first a boot_aggregate (default 100)\n"
		"  -t, --template T         ima, ima-ng, ima-sig, ima-ngv2, ima-sigv2, ima-buf,\n"
		"                           ima-modsig, evm-sig, a field list (d-ng|n-ng), mixed\n"
		"                           (all of those) or mixed:T1,T2,... (one per record)\n"
		"  -b, --log-bank ALG       header digest bank (default sha1, as\n"
		"                           binary_runtime_measurements; others as the _ALG\n"
		"                           files)\n"
		"  -e, --byte-order le|be   (default le)\n"
		"  -V, --violations RATE    fraction of records that are violations (default 0)\n"
		"  -p, --pcr11 RATE         fraction of records measured into PCR 11 (default 0)\n"
		"  -f, --file-hash ALG      file digest algorithm (default sha256)\n"
		"  -s, --seed N             (default 1)\n"
		"  -B, --banks LIST         banks to compute (default sha1,sha256,sha384,sha512)\n"
		"  -o, --output FILE        the log, '-' for stdout (default stdout)\n"
		"  -d, --out-dir DIR        write every output below under its usual name in DIR\n"
		"      --expected FILE      lines 'PCR ALG HEX'\n"
		"      --evmctl-pcrs PREFIX one evmctl --pcrs file per bank, PREFIX<alg>\n"
		"      --yaml FILE          tpm2_pcrread output\n"
		"      --sysfs DIR          DIR/pcr-<alg>/<n> like /sys/class/tpm/tpm0\n"
		"      --offsets FILE       per record: offset, template-data offset, pcr, end,\n"
		"                           violation\n");
}

static double parse_rate(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || !(v >= 0 && v <= 1))
		die("a rate is a number from 0 to 1");
	return v;
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s || *s == '-')
		die("bad number");
	return v;
}

static const struct alg *parse_alg(const char *s)
{
	const struct alg *a = alg_by_name(s);

	if (!a)
		die("unknown hash algorithm");
	return a;
}

enum { OPT_EXPECTED = 256, OPT_EVMCTL, OPT_YAML, OPT_SYSFS, OPT_OFFSETS };

static const struct option long_opts[] = {
	{"records", required_argument, NULL, 'n'},
	{"template", required_argument, NULL, 't'},
	{"log-bank", required_argument, NULL, 'b'},
	{"byte-order", required_argument, NULL, 'e'},
	{"violations", required_argument, NULL, 'V'},
	{"pcr11", required_argument, NULL, 'p'},
	{"file-hash", required_argument, NULL, 'f'},
	{"seed", required_argument, NULL, 's'},
	{"banks", required_argument, NULL, 'B'},
	{"output", required_argument, NULL, 'o'},
	{"out-dir", required_argument, NULL, 'd'},
	{"expected", required_argument, NULL, OPT_EXPECTED},
	{"evmctl-pcrs", required_argument, NULL, OPT_EVMCTL},
	{"yaml", required_argument, NULL, OPT_YAML},
	{"sysfs", required_argument, NULL, OPT_SYSFS},
	{"offsets", required_argument, NULL, OPT_OFFSETS},
	{"help", no_argument, NULL, 'h'},
	{0},
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.records = 100,
			   .template = "ima-ng",
			   .seed = 1,
			   .banks = "sha1,sha256,sha384,sha512"};
	o->log_bank = alg_by_name("sha1");
	o->file_alg = alg_by_name("sha256");
	while ((c = getopt_long(argc, argv, "n:t:b:e:V:p:f:s:B:o:d:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->records = parse_u64(optarg);
			break;
		case 't':
			o->template = optarg;
			break;
		case 'b':
			o->log_bank = parse_alg(optarg);
			break;
		case 'e':
			if (strcmp(optarg, "le") && strcmp(optarg, "be"))
				die("--byte-order is le or be");
			o->big_endian = !strcmp(optarg, "be");
			break;
		case 'V':
			o->violations = parse_rate(optarg);
			break;
		case 'p':
			o->pcr11 = parse_rate(optarg);
			break;
		case 'f':
			o->file_alg = parse_alg(optarg);
			break;
		case 's':
			o->seed = parse_u64(optarg);
			break;
		case 'B':
			o->banks = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'd':
			o->out_dir = optarg;
			break;
		case OPT_EXPECTED:
			o->expected = optarg;
			break;
		case OPT_EVMCTL:
			o->evmctl_prefix = optarg;
			break;
		case OPT_YAML:
			o->yaml = optarg;
			break;
		case OPT_SYSFS:
			o->sysfs = optarg;
			break;
		case OPT_OFFSETS:
			o->offsets = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument");
	if (!o->log_bank->tpm_name)
		die("--log-bank must be a TPM bank algorithm");
	if (o->out_dir)
		fill_out_dir(o);
}

static void open_outputs(struct gen *g)
{
	if (!g->o.output || !strcmp(g->o.output, "-"))
		g->out = stdout;
	else
		g->out = open_out(g->o.output);
	if (g->o.offsets)
		g->offsets = open_out(g->o.offsets);
	g->ctx = EVP_MD_CTX_new();
	if (!g->ctx)
		die("out of memory");
}

static void finish(struct gen *g)
{
	flush_out(g, true);
	if (g->out == stdout ? fflush(stdout) != 0 : fclose(g->out) != 0)
		die("cannot write the log");
	if (g->offsets)
		close_out(g->offsets, g->o.offsets);
	if (g->o.expected)
		write_expected(g, g->o.expected);
	if (g->o.evmctl_prefix)
		write_evmctl(g, g->o.evmctl_prefix);
	if (g->o.yaml)
		write_yaml(g, g->o.yaml);
	if (g->o.sysfs)
		write_sysfs(g, g->o.sysfs);
}

int main(int argc, char **argv)
{
	static struct gen g;

	parse_args(argc, argv, &g.o);
	setup_banks(&g);
	setup_templates(&g);
	check_templates(&g);
	seed_rng(&g);
	open_outputs(&g);
	for (uint64_t i = 0; i < g.o.records; i++)
		one_record(&g, i);
	finish(&g);
	EVP_MD_CTX_free(g.ctx);
	EVP_MD_free(g.file_md);
	for (int i = 0; i < g.nbanks; i++)
		EVP_MD_free(g.banks[i].md);
	free(g.outbuf.p);
	free(g.tdata.p);
	free(g.tshow.p);
	free(g.scratch.p);
	free(g.field.p);
	return 0;
}
