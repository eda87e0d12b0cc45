// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verifier's state file (docs/format.md 5.1): what an earlier run verified, so that the
 * next one replays only newer records. Written by this verifier and kept on its own disk, but
 * read as strictly as any input: a file that does not parse is reported, never half used.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verifier.h"

#define FORMAT "imalog-verifier-state/1"

void vstate_free(struct vstate *s)
{
	free(s->chunks);
	memset(s, 0, sizeof(*s));
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static json_object *get(json_object *o, const char *key, json_type type)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, type) ? v : NULL;
}

static bool get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v = get(o, key, json_type_int);

	if (!v || json_object_get_int64(v) < 0)
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

static bool get_hex(json_object *v, uint8_t *out, size_t size)
{
	return v && json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == 2 * size &&
	       imalog_unhex(json_object_get_string(v), 2 * size, out, size) == 0;
}

/* {"<pcr>": {"<bank>": "<hex>"}}, every PCR with the same banks, at least one bank. */
static int parse_state(json_object *o, struct pcr_state *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	json_object_object_foreach(o, key, banks)
	{
		char *end;
		unsigned long p = strtoul(key, &end, 10);
		uint32_t seen = 0;

		if (*end || end == key || (key[0] == '0' && key[1]) || p >= IMALOG_MAX_PCRS ||
		    (st->used >> p & 1) || !json_object_is_type(banks, json_type_object))
			return bad(err, errlen, "state: bad PCR \"%.20s\"", key);
		st->used |= UINT64_C(1) << p;
		json_object_object_foreach(banks, bank, value)
		{
			enum imalog_hash alg;

			if (imalog_hash_from_name(bank, &alg) < 0 || (seen >> alg & 1) ||
			    !get_hex(value, st->v[p][alg], imalog_hash_size(alg)))
				return bad(err, errlen, "state: PCR %lu: bad bank or value", p);
			seen |= 1u << alg;
		}
		if (!seen || (st->banks && seen != st->banks))
			return bad(err, errlen, "state: PCR %lu has no or other banks", p);
		st->banks = seen;
	}
	return 0;
}

/* {"index": N, "pcr": P, "digest": "<alg>:<hex>"}: optional, absent when none was seen. */
static int parse_boot(json_object *root, struct vboot *b, char *err, size_t errlen)
{
	json_object *o, *d;
	const char *text, *colon;
	char name[16];
	uint64_t pcr;

	if (!json_object_object_get_ex(root, "boot_aggregate", &o))
		return 0;
	d = json_object_is_type(o, json_type_object) ? get(o, "digest", json_type_string) : NULL;
	text = d ? json_object_get_string(d) : "";
	colon = strchr(text, ':');
	if (!d || !get_u64(o, "index", &b->index) || !get_u64(o, "pcr", &pcr) ||
	    pcr >= IMALOG_MAX_PCRS || !colon || colon == text ||
	    (size_t)(colon - text) >= sizeof(name))
		return bad(err, errlen, "\"boot_aggregate\" is not {index, pcr, digest}");
	memcpy(name, text, (size_t)(colon - text));
	name[colon - text] = '\0';
	if (imalog_hash_from_name(name, &b->alg) < 0 ||
	    strcmp(name, imalog_hash_name(b->alg)) != 0 ||
	    strlen(colon + 1) != 2 * imalog_hash_size(b->alg) ||
	    imalog_unhex(colon + 1, strlen(colon + 1), b->digest, imalog_hash_size(b->alg)) < 0)
		return bad(err, errlen, "\"boot_aggregate\": bad digest");
	b->pcr = (uint32_t)pcr;
	b->set = b->readable = true;
	return 0;
}

static int parse_chunks(json_object *a, struct vstate *s, char *err, size_t errlen)
{
	size_t n = json_object_array_length(a);

	if (n > VSTATE_MAX_CHUNKS)
		return bad(err, errlen, "more than %u chunks", VSTATE_MAX_CHUNKS);
	if (n && !(s->chunks = calloc(n, sizeof(*s->chunks))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(a, i);
		struct vchunk_id *id = &s->chunks[i];

		if (!json_object_is_type(c, json_type_object) || !get_u64(c, "first", &id->first) ||
		    !get_u64(c, "count", &id->count) || !id->count ||
		    !get_hex(get(c, "sha256", json_type_string), id->sha256, 32) ||
		    id->first > UINT64_MAX - id->count ||
		    (i && id->first != s->chunks[i - 1].first + s->chunks[i - 1].count))
			return bad(err, errlen, "chunk %zu: bad or out of order", i);
		s->nchunks = i + 1;
	}
	if (n && s->chunks[n - 1].first + s->chunks[n - 1].count != s->next)
		return bad(err, errlen, "the chunks do not end at \"next\"");
	return 0;
}

static int parse_root(json_object *root, struct vstate *s, char *err, size_t errlen)
{
	json_object *format = get(root, "format", json_type_string);
	json_object *id = get(root, "log_id", json_type_string);
	json_object *state = get(root, "state", json_type_object);
	json_object *chunks = get(root, "chunks", json_type_array);
	int r;

	if (!format || strcmp(json_object_get_string(format), FORMAT) != 0)
		return bad(err, errlen, "\"format\" is not " FORMAT);
	if (!id || !json_object_get_string_len(id) ||
	    (size_t)json_object_get_string_len(id) >= sizeof(s->log_id) ||
	    strlen(json_object_get_string(id)) != (size_t)json_object_get_string_len(id))
		return bad(err, errlen, "\"log_id\" missing or bad");
	memcpy(s->log_id, json_object_get_string(id), (size_t)json_object_get_string_len(id) + 1);
	if (!get_u64(root, "next", &s->next) || !get_u64(root, "verified", &s->verified) ||
	    s->verified < s->next)
		return bad(err, errlen, "\"next\" or \"verified\" missing or bad");
	if (!state || !chunks)
		return bad(err, errlen, "\"state\" or \"chunks\" missing");
	if ((r = parse_state(state, &s->state, err, errlen)) < 0)
		return r;
	if (s->next && !s->state.used)
		return bad(err, errlen, "records verified but no PCR state");
	if ((r = parse_boot(root, &s->boot, err, errlen)) < 0)
		return r;
	if (s->boot.set && s->boot.index >= s->next)
		return bad(err, errlen, "\"boot_aggregate\" is not before \"next\"");
	return parse_chunks(chunks, s, err, errlen);
}

int vstate_parse(const char *text, size_t len, struct vstate *ret, char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *root;
	struct vstate s = {0};
	int r;

	if (len > VSTATE_MAX_FILE)
		return bad(err, errlen, "larger than %u bytes", VSTATE_MAX_FILE);
	if (!(tok = json_tokener_new()))
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(root, json_type_object))
		r = bad(err, errlen, "not one JSON object");
	else
		r = parse_root(root, &s, err, errlen);
	json_object_put(root);
	json_tokener_free(tok);
	if (r < 0) {
		vstate_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int vstate_read(const char *path, struct vstate *ret, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	char *text = NULL;
	size_t len = 0, cap = 0;
	ssize_t n = 1;

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	while (n > 0 && len <= VSTATE_MAX_FILE) {
		if (len == cap) {
			char *grown = realloc(text, cap = cap ? 2 * cap : 1 << 16);

			if (!grown) {
				n = -1;
				errno = ENOMEM;
				break;
			}
			text = grown;
		}
		n = read(fd, text + len, cap - len);
		len += n > 0 ? (size_t)n : 0;
	}
	r = n < 0 ? -errno : vstate_parse(text, len, ret, err, errlen);
	if (n < 0)
		snprintf(err, errlen, "%s", strerror(-r));
	close(fd);
	free(text);
	return r;
}

static json_object *state_json(const struct pcr_state *st)
{
	json_object *o = json_object_new_object();
	char key[8], hex[2 * IMALOG_MAX_DIGEST + 1];

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

static json_object *boot_json(const struct vboot *b)
{
	json_object *o = json_object_new_object();
	char text[16 + 2 * IMALOG_MAX_DIGEST + 1];
	size_t n = (size_t)snprintf(text, sizeof(text), "%s:", imalog_hash_name(b->alg));

	imalog_hex(b->digest, imalog_hash_size(b->alg), text + n);
	json_object_object_add(o, "index", json_object_new_uint64(b->index));
	json_object_object_add(o, "pcr", json_object_new_uint64(b->pcr));
	json_object_object_add(o, "digest", json_object_new_string(text));
	return o;
}

static json_object *vstate_json(const struct vstate *s)
{
	json_object *o = json_object_new_object(), *chunks = json_object_new_array();
	char hex[65];

	json_object_object_add(o, "format", json_object_new_string(FORMAT));
	json_object_object_add(o, "log_id", json_object_new_string(s->log_id));
	json_object_object_add(o, "next", json_object_new_uint64(s->next));
	json_object_object_add(o, "verified", json_object_new_uint64(s->verified));
	json_object_object_add(o, "state", state_json(&s->state));
	if (s->boot.set && s->boot.readable)
		json_object_object_add(o, "boot_aggregate", boot_json(&s->boot));
	for (size_t i = 0; i < s->nchunks; i++) {
		json_object *c = json_object_new_object();

		imalog_hex(s->chunks[i].sha256, 32, hex);
		json_object_object_add(c, "first", json_object_new_uint64(s->chunks[i].first));
		json_object_object_add(c, "count", json_object_new_uint64(s->chunks[i].count));
		json_object_object_add(c, "sha256", json_object_new_string(hex));
		json_object_array_add(chunks, c);
	}
	json_object_object_add(o, "chunks", chunks);
	return o;
}

int vstate_write(const struct vstate *s, const char *path)
{
	json_object *o = vstate_json(s);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char tmp[4200], dir[4200];
	size_t len = strlen(text);
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%.4000s.tmp", path);
	snprintf(dir, sizeof(dir), "%.4000s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		r = -errno;
	else if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	json_object_put(o);
	if (r == 0 && (fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return r;
}

int vstate_add_chunks(struct vstate *s, const struct vpieces *ps, uint64_t before)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct vpiece *pc = &ps->p[i];
		struct vchunk_id *grown;

		if (!pc->m || pc->first + pc->count > before)
			continue;
		if (s->nchunks >= VSTATE_MAX_CHUNKS)
			return -E2BIG;
		grown = realloc(s->chunks, (s->nchunks + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->chunks = grown;
		s->chunks[s->nchunks++] = (struct vchunk_id){pc->first, pc->count, {0}};
		memcpy(s->chunks[s->nchunks - 1].sha256, pc->m->sha256, 32);
	}
	return 0;
}
