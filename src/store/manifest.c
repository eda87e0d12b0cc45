// SPDX-License-Identifier: GPL-2.0-or-later
/* Chunk manifests (docs/format.md 4.3), read strictly: they are claims to be checked. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#define FORMAT "imalog-chunk/1"
#define MAX_MANIFEST (1u << 20)

/* ---- PCR states ---- */

void pcr_state_from_replay(struct pcr_state *st, const imalog_replay *rp, uint32_t banks)
{
	memset(st, 0, sizeof(*st));
	st->banks = banks;
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		if (!imalog_replay_pcr_used(rp, p))
			continue;
		st->used |= UINT64_C(1) << p;
		for (int a = 0; a < IMALOG_HASH_COUNT; a++)
			if (banks >> a & 1)
				memcpy(st->v[p][a], imalog_replay_pcr(rp, p, (enum imalog_hash)a),
				       imalog_hash_size((enum imalog_hash)a));
	}
}

int pcr_state_seed(const struct pcr_state *st, imalog_replay *rp)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			int r;

			if (!(st->used >> p & 1) || !(st->banks >> a & 1))
				continue;
			r = imalog_replay_seed(rp, p, (enum imalog_hash)a, st->v[p][a],
					       imalog_hash_size((enum imalog_hash)a));
			if (r < 0)
				return r;
		}
	return 0;
}

bool pcr_state_equal(const struct pcr_state *a, const struct pcr_state *b)
{
	if (a->used != b->used || a->banks != b->banks)
		return false;
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int h = 0; h < IMALOG_HASH_COUNT; h++)
			if ((a->used >> p & 1) && (a->banks >> h & 1) &&
			    memcmp(a->v[p][h], b->v[p][h], imalog_hash_size((enum imalog_hash)h)))
				return false;
	return true;
}

static json_object *state_json(const struct pcr_state *st)
{
	json_object *o = json_object_new_object();
	char hex[2 * IMALOG_MAX_DIGEST + 1], key[8];

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		json_object *banks;

		if (!(st->used >> p & 1))
			continue;
		banks = json_object_new_object();
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			if (!(st->banks >> a & 1))
				continue;
			imalog_hex(st->v[p][a], imalog_hash_size((enum imalog_hash)a), hex);
			json_object_object_add(banks, imalog_hash_name((enum imalog_hash)a),
					       json_object_new_string(hex));
		}
		snprintf(key, sizeof(key), "%u", p);
		json_object_object_add(o, key, banks);
	}
	return o;
}

/* ---- writing ---- */

static const char *order_name(enum imalog_byte_order o)
{
	return o == IMALOG_BIG_ENDIAN ? "big" : "little";
}

static void add_hex(json_object *o, const char *key, const uint8_t *bytes, size_t len)
{
	char hex[2 * STORE_MAX_ATTEST + 1];

	imalog_hex(bytes, len, hex);
	json_object_object_add(o, key, json_object_new_string(hex));
}

static json_object *quote_json(const struct manifest_quote *q)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "key", json_object_new_string(q->key));
	add_hex(o, "attest", q->attest, q->attest_len);
	add_hex(o, "signature", q->signature, q->signature_len);
	add_hex(o, "nonce", q->nonce, q->nonce_len);
	return o;
}

static json_object *manifest_json(const struct manifest *m)
{
	json_object *o = json_object_new_object(), *aggs = json_object_new_array();
	char hex[65];

	imalog_hex(m->sha256, 32, hex);
	json_object_object_add(o, "format", json_object_new_string(FORMAT));
	json_object_object_add(o, "log_id", json_object_new_string(m->log_id));
	json_object_object_add(o, "boot_id", json_object_new_string(m->boot_id));
	json_object_object_add(o, "first", json_object_new_uint64(m->first));
	json_object_object_add(o, "count", json_object_new_uint64(m->count));
	json_object_object_add(o, "bytes", json_object_new_uint64(m->bytes));
	json_object_object_add(o, "sha256", json_object_new_string(hex));
	json_object_object_add(o, "log_bank", json_object_new_string("sha1"));
	json_object_object_add(o, "byte_order", json_object_new_string(order_name(m->order)));
	json_object_object_add(o, "start", state_json(&m->start));
	json_object_object_add(o, "end", state_json(&m->end));
	for (size_t i = 0; i < m->naggregates; i++) {
		json_object *a = json_object_new_object();

		json_object_object_add(a, "index", json_object_new_uint64(m->aggregates[i].index));
		json_object_object_add(a, "deleted",
				       json_object_new_uint64(m->aggregates[i].deleted));
		json_object_array_add(aggs, a);
	}
	json_object_object_add(o, "aggregates", aggs);
	json_object_object_add(o, "saved_at", json_object_new_string(m->saved_at));
	if (m->quote.key[0])
		json_object_object_add(o, "quote", quote_json(&m->quote));
	return o;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write and fsync @path (a new file in tmp/; the caller renames it). */
int manifest_write(const struct manifest *m, const char *path)
{
	json_object *o = manifest_json(m);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_SPACED |
								     JSON_C_TO_STRING_NOSLASHESCAPE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r;

	if (fd < 0) {
		json_object_put(o);
		return -errno;
	}
	r = write_all(fd, text, strlen(text));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	json_object_put(o);
	return r;
}

/* ---- reading ---- */

struct reading {
	json_object *root;
	char *err;
	size_t errlen;
};

static int bad(struct reading *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct reading *rd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rd->err, rd->errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static json_object *member(struct reading *rd, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_object_get_ex(rd->root, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int get_u64(struct reading *rd, const char *key, uint64_t *ret)
{
	json_object *v = member(rd, key, json_type_int);

	if (!v || json_object_get_int64(v) < 0)
		return bad(rd, "\"%s\" missing or not a non-negative integer", key);
	*ret = json_object_get_uint64(v);
	return 0;
}

static int get_str(struct reading *rd, const char *key, char *out, size_t size)
{
	json_object *v = member(rd, key, json_type_string);

	if (!v || (size_t)json_object_get_string_len(v) >= size)
		return bad(rd, "\"%s\" missing, not a string, or too long", key);
	memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int get_hex(struct reading *rd, json_object *v, const char *what, uint8_t *out,
		   size_t size)
{
	if (!json_object_is_type(v, json_type_string) ||
	    imalog_unhex(json_object_get_string(v), (size_t)json_object_get_string_len(v), out,
			 size) < 0)
		return bad(rd, "%s is not %zu bytes of hex", what, size);
	return 0;
}

static int get_state(struct reading *rd, const char *key, struct pcr_state *st)
{
	json_object *o = member(rd, key, json_type_object);

	memset(st, 0, sizeof(*st));
	if (!o)
		return bad(rd, "\"%s\" missing or not an object", key);
	json_object_object_foreach(o, pcr_key, banks) {
		char *end;
		unsigned long p = strtoul(pcr_key, &end, 10);
		uint32_t seen = 0;

		if (*end || end == pcr_key || p >= IMALOG_MAX_PCRS ||
		    !json_object_is_type(banks, json_type_object))
			return bad(rd, "\"%s\": bad PCR \"%s\"", key, pcr_key);
		st->used |= UINT64_C(1) << p;
		json_object_object_foreach(banks, bank, value) {
			enum imalog_hash alg;
			int r;

			if (imalog_hash_from_name(bank, &alg) < 0)
				return bad(rd, "\"%s\": unknown bank \"%s\"", key, bank);
			r = get_hex(rd, value, bank, st->v[p][alg], imalog_hash_size(alg));
			if (r < 0)
				return r;
			seen |= 1u << alg;
		}
		if (st->banks && seen != st->banks)
			return bad(rd, "\"%s\": PCR %lu has other banks than the PCRs before", key, p);
		st->banks = seen;
	}
	return 0;
}

static int get_aggregates(struct reading *rd, struct manifest *m)
{
	json_object *a = member(rd, "aggregates", json_type_array);
	size_t n;

	if (!a)
		return bad(rd, "\"aggregates\" missing or not an array");
	n = json_object_array_length(a);
	if (n > STORE_MAX_AGGREGATES)
		return bad(rd, "more than %d aggregates", STORE_MAX_AGGREGATES);
	for (size_t i = 0; i < n; i++) {
		struct reading item = { json_object_array_get_idx(a, i), rd->err, rd->errlen };
		int r;

		if (!json_object_is_type(item.root, json_type_object))
			return bad(rd, "aggregate %zu is not an object", i);
		if ((r = get_u64(&item, "index", &m->aggregates[i].index)) < 0 ||
		    (r = get_u64(&item, "deleted", &m->aggregates[i].deleted)) < 0)
			return r;
	}
	m->naggregates = n;
	return 0;
}

/* A hex string of 0 to @max bytes; @min_len at least. */
static int get_hex_var(struct reading *rd, const char *key, size_t min_len, uint8_t *out,
		       size_t max, size_t *ret_len)
{
	json_object *v = member(rd, key, json_type_string);
	size_t len = v ? (size_t)json_object_get_string_len(v) : 0;

	if (!v || len % 2 || len / 2 < min_len || len / 2 > max ||
	    imalog_unhex(json_object_get_string(v), len, out, len / 2) < 0)
		return bad(rd, "quote: \"%s\" missing or not %zu to %zu bytes of hex", key, min_len, max);
	*ret_len = len / 2;
	return 0;
}

/* The optional "quote" (4.7). */
static int get_quote(struct reading *rd, struct manifest_quote *q)
{
	json_object *o = member(rd, "quote", json_type_object);
	struct reading in = { o, rd->err, rd->errlen };
	uint8_t name[STORE_MAX_KEY_NAME];
	size_t name_len;
	int r;

	memset(q, 0, sizeof(*q));
	if (!o)
		return json_object_object_get_ex(rd->root, "quote", NULL) ?
			       bad(rd, "\"quote\" is not an object") : 0;
	if ((r = get_hex_var(&in, "key", 4, name, sizeof(name), &name_len)) < 0 ||
	    (r = get_hex_var(&in, "attest", 1, q->attest, sizeof(q->attest), &q->attest_len)) < 0 ||
	    (r = get_hex_var(&in, "signature", 1, q->signature, sizeof(q->signature),
			     &q->signature_len)) < 0 ||
	    (r = get_hex_var(&in, "nonce", 0, q->nonce, sizeof(q->nonce), &q->nonce_len)) < 0)
		return r;
	imalog_hex(name, name_len, q->key);	/* lowercase, so that it names its file */
	return 0;
}

static int parse_manifest(struct reading *rd, struct manifest *m)
{
	char format[32], bank[16], order[16];
	json_object *sha;
	int r;

	if ((r = get_str(rd, "format", format, sizeof(format))) < 0)
		return r;
	if (strcmp(format, FORMAT) != 0)
		return bad(rd, "format \"%s\" is not " FORMAT, format);
	if ((r = get_str(rd, "log_id", m->log_id, sizeof(m->log_id))) < 0 ||
	    (r = get_str(rd, "boot_id", m->boot_id, sizeof(m->boot_id))) < 0 ||
	    (r = get_u64(rd, "first", &m->first)) < 0 || (r = get_u64(rd, "count", &m->count)) < 0 ||
	    (r = get_u64(rd, "bytes", &m->bytes)) < 0 ||
	    (r = get_str(rd, "log_bank", bank, sizeof(bank))) < 0 ||
	    (r = get_str(rd, "byte_order", order, sizeof(order))) < 0 ||
	    (r = get_str(rd, "saved_at", m->saved_at, sizeof(m->saved_at))) < 0)
		return r;
	if (!(sha = member(rd, "sha256", json_type_string)) ||
	    (r = get_hex(rd, sha, "sha256", m->sha256, 32)) < 0)
		return r < 0 ? r : bad(rd, "\"sha256\" missing");
	if (strcmp(bank, "sha1") != 0 || m->count == 0)
		return bad(rd, "log_bank must be sha1 and count at least 1");
	if (strcmp(order, "little") && strcmp(order, "big"))
		return bad(rd, "byte_order must be little or big");
	m->order = order[0] == 'b' ? IMALOG_BIG_ENDIAN : IMALOG_LITTLE_ENDIAN;
	if ((r = get_state(rd, "start", &m->start)) < 0 || (r = get_state(rd, "end", &m->end)) < 0)
		return r;
	if ((r = get_aggregates(rd, m)) < 0)
		return r;
	return get_quote(rd, &m->quote);
}

int manifest_read(const char *path, struct manifest *m, char *err, size_t errlen)
{
	struct reading rd = { NULL, err, errlen };
	char *text = malloc(MAX_MANIFEST + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t n = -1;

	if (fd >= 0 && text)
		n = read(fd, text, MAX_MANIFEST + 1);
	if (fd < 0 || !text || n < 0) {
		r = !text ? -ENOMEM : -errno;
		snprintf(err, errlen, "cannot read: %s", strerror(-r));
	} else if (n > (ssize_t)MAX_MANIFEST) {
		r = bad(&rd, "larger than 1 MiB");
	} else {
		text[n] = '\0';
		rd.root = json_tokener_parse(text);
		r = rd.root ? parse_manifest(&rd, m) : bad(&rd, "not JSON");
	}
	json_object_put(rd.root);
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}
