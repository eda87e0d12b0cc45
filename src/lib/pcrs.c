// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Expected PCR values, from the places people keep them: the kernel's per-bank sysfs files
 * (drivers/char/tpm/tpm-sysfs.c, pcr-<alg>/<n>), what tpm2_pcrread prints, evmctl's --pcrs
 * files ("PCR-NN: hex", the TPM 1.2 sysfs layout), and plain "PCR ALG HEX" lines.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define TPM_PCRS 24

struct imalog_pcrs {
	uint64_t set[IMALOG_HASH_COUNT];
	uint8_t value[IMALOG_HASH_COUNT][IMALOG_MAX_PCRS][IMALOG_MAX_DIGEST];
};

PUBLIC imalog_pcrs *imalog_pcrs_new(void)
{
	return calloc(1, sizeof(struct imalog_pcrs));
}

PUBLIC void imalog_pcrs_free(imalog_pcrs *p)
{
	free(p);
}

PUBLIC int imalog_pcrs_set(imalog_pcrs *p, unsigned int pcr, enum imalog_hash alg,
			   const uint8_t *value, size_t len)
{
	if (pcr >= IMALOG_MAX_PCRS || !imalog_hash_size(alg))
		return -EINVAL;
	if (len != imalog_hash_size(alg))
		return -EBADMSG;
	memcpy(p->value[alg][pcr], value, len);
	p->set[alg] |= UINT64_C(1) << pcr;
	return 0;
}

PUBLIC const uint8_t *imalog_pcrs_get(const imalog_pcrs *p, unsigned int pcr, enum imalog_hash alg)
{
	if (pcr >= IMALOG_MAX_PCRS || (unsigned int)alg >= IMALOG_HASH_COUNT ||
	    !(p->set[alg] >> pcr & 1))
		return NULL;
	return p->value[alg][pcr];
}

/* ---- text ---- */

struct line {
	const char *p;
	size_t len;
};

static struct line trim(struct line l)
{
	while (l.len && isspace((unsigned char)l.p[0]))
		l.p++, l.len--;
	while (l.len && isspace((unsigned char)l.p[l.len - 1]))
		l.len--;
	return l;
}

/* Next whitespace-separated word of @l, consumed. */
static struct line word(struct line *l)
{
	struct line w;

	*l = trim(*l);
	w.p = l->p;
	for (w.len = 0; w.len < l->len && !isspace((unsigned char)l->p[w.len]); w.len++)
		;
	l->p += w.len;
	l->len -= w.len;
	return w;
}

static int parse_uint(struct line w, unsigned int max, unsigned int *ret)
{
	unsigned int v = 0;

	if (w.len == 0 || w.len > 3)
		return -EBADMSG;
	for (size_t i = 0; i < w.len; i++) {
		if (!isdigit((unsigned char)w.p[i]))
			return -EBADMSG;
		v = v * 10 + (unsigned int)(w.p[i] - '0');
	}
	if (v >= max)
		return -E2BIG;
	*ret = v;
	return 0;
}

static int parse_alg(struct line w, enum imalog_hash *ret)
{
	char name[16];

	if (w.len == 0 || w.len >= sizeof(name))
		return -EOPNOTSUPP;
	memcpy(name, w.p, w.len);
	name[w.len] = '\0';
	return imalog_hash_from_name(name, ret);
}

/* Hex digits with an optional 0x and any inner spaces ("PCR-00: 3A 3F ..."). */
static int set_hex(imalog_pcrs *p, unsigned int pcr, enum imalog_hash alg, struct line hex)
{
	char digits[2 * IMALOG_MAX_DIGEST];
	uint8_t value[IMALOG_MAX_DIGEST];
	size_t n = 0, size = imalog_hash_size(alg);

	hex = trim(hex);
	if (hex.len >= 2 && hex.p[0] == '0' && (hex.p[1] == 'x' || hex.p[1] == 'X'))
		hex.p += 2, hex.len -= 2;
	for (size_t i = 0; i < hex.len; i++) {
		if (hex.p[i] == ' ')
			continue;
		if (n == sizeof(digits))
			return -EBADMSG;
		digits[n++] = hex.p[i];
	}
	if (imalog_unhex(digits, n, value, size) < 0)
		return -EBADMSG;
	return imalog_pcrs_set(p, pcr, alg, value, size);
}

static int line_plain(imalog_pcrs *p, struct line l)
{
	unsigned int pcr;
	enum imalog_hash alg;
	int r;

	if ((r = parse_uint(word(&l), IMALOG_MAX_PCRS, &pcr)) < 0 ||
	    (r = parse_alg(word(&l), &alg)) < 0)
		return r;
	return set_hex(p, pcr, alg, l);
}

/* "PCR-NN: hex" */
static int line_evmctl(imalog_pcrs *p, struct line l, enum imalog_hash bank)
{
	const char *colon = memchr(l.p, ':', l.len);
	unsigned int pcr;
	int r;

	if (l.len < 5 || memcmp(l.p, "PCR-", 4) || !colon)
		return -EBADMSG;
	r = parse_uint((struct line){ l.p + 4, (size_t)(colon - l.p - 4) }, TPM_PCRS, &pcr);
	if (r < 0)
		return r;
	return set_hex(p, pcr, bank, (struct line){ colon + 1, l.len - (size_t)(colon + 1 - l.p) });
}

/* tpm2_pcrread: "<alg>:" opens a bank, "<n> : 0x<hex>" sets a PCR in it. */
static int line_yaml(imalog_pcrs *p, struct line l, enum imalog_hash *bank, bool *have_bank)
{
	const char *colon = memchr(l.p, ':', l.len);
	struct line key, rest;
	unsigned int pcr;
	int r;

	if (!colon)
		return -EBADMSG;
	key = trim((struct line){ l.p, (size_t)(colon - l.p) });
	rest = trim((struct line){ colon + 1, l.len - (size_t)(colon + 1 - l.p) });
	if (rest.len == 0) {
		r = parse_alg(key, bank);
		*have_bank = r == 0;
		return r;
	}
	if (!*have_bank)
		return -EBADMSG;
	if ((r = parse_uint(key, IMALOG_MAX_PCRS, &pcr)) < 0)
		return r;
	return set_hex(p, pcr, *bank, rest);
}

static bool is_yaml(const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		struct line l = trim((struct line){ text + i, nl ? (size_t)(nl - text - i) : len - i });
		enum imalog_hash alg;

		if (l.len > 1 && l.p[l.len - 1] == ':' &&
		    parse_alg((struct line){ l.p, l.len - 1 }, &alg) == 0)
			return true;
		i = nl ? (size_t)(nl - text) + 1 : len;
	}
	return false;
}

PUBLIC int imalog_pcrs_parse(imalog_pcrs *p, enum imalog_pcrs_syntax syntax, enum imalog_hash bank,
			     const char *text, size_t len, unsigned int *ret_line)
{
	bool have_bank = false;
	unsigned int lineno = 0;

	if (syntax == IMALOG_PCRS_AUTO)
		syntax = is_yaml(text, len) ? IMALOG_PCRS_YAML : IMALOG_PCRS_PLAIN;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		struct line l = { text + i, nl ? (size_t)(nl - text - i) : len - i };
		int r = 0;

		lineno++;
		i = nl ? (size_t)(nl - text) + 1 : len;
		l = trim(l);
		if (l.len == 0 || l.p[0] == '#')
			continue;
		if (syntax == IMALOG_PCRS_PLAIN)
			r = line_plain(p, l);
		else if (syntax == IMALOG_PCRS_EVMCTL)
			r = line_evmctl(p, l, bank);
		else
			r = line_yaml(p, l, &bank, &have_bank);
		if (r < 0) {
			if (ret_line)
				*ret_line = lineno;
			return r;
		}
	}
	return 0;
}

/* ---- sysfs ---- */

static int read_small(const char *path, char *out, size_t size, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, out, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	return 0;
}

static int load_bank(imalog_pcrs *p, const char *dir, enum imalog_hash alg)
{
	char path[4096], text[2 * IMALOG_MAX_DIGEST + 8];
	size_t len = 0;
	int r;

	for (unsigned int pcr = 0; pcr < TPM_PCRS; pcr++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/pcr-%s/%u", dir, imalog_hash_name(alg),
				     pcr) >= sizeof(path))
			return -ENAMETOOLONG;
		r = read_small(path, text, sizeof(text), &len);
		if (r == 0)
			r = set_hex(p, pcr, alg, (struct line){ text, len });
		if (r < 0)
			return r;
	}
	return 0;
}

PUBLIC int imalog_pcrs_load_sysfs(imalog_pcrs *p, const char *dir)
{
	char path[4096];
	int found = 0;

	for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
		int r;

		snprintf(path, sizeof(path), "%s/pcr-%s", dir, imalog_hash_name((enum imalog_hash)a));
		if (access(path, F_OK) != 0)
			continue;
		r = load_bank(p, dir, (enum imalog_hash)a);
		if (r < 0)
			return r;
		found++;
	}
	return found ? 0 : -ENOENT;
}
