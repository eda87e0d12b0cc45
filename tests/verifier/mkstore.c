// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkstore: write an imalogd store (docs/format.md section 4) from a binary log, as the daemon
 * would after cutting it every N records, with the snapshot_aggregate record the kernel series
 * appends after each cut (section 3). For the verifier's tests: it can also forge an aggregate
 * and keep everything else (chunk digests, manifests, final PCR values) consistent with the
 * forgery, so that only the aggregate check can catch it.
 *
 *   mkstore LOG STORE --chunk N [--chunks M] [--aggregates] [--cut-every K [--cut-lag L]]
 *           [--forge-value K] [--forge-count K] [--forge-boot K] [--tail FILE] [--pcrs FILE]
 *           [--log-id ID]
 *
 * --aggregates cuts at every chunk boundary, as imalogd alone would. --cut-every adds the cuts
 * of another deleter: one after every K records of LOG, wherever it falls, its aggregate
 * appended L records later (records measured while the deletion ran), so that cuts fall inside
 * chunks, in the tail, and before aggregates in later chunks. Aggregates are numbered from 1 in
 * log order for --forge-*; the forged one's index is printed.
 * Records after the M-th chunk go to --tail (the kernel's remaining list); --pcrs receives the
 * PCR values of the whole log ("PCR ALG HEX" lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define BANKS (1u << IMALOG_SHA1 | 1u << IMALOG_SHA256)

struct opts {
	uint64_t chunk, chunks;
	bool aggregates;
	uint64_t cut_every, cut_lag;
	uint64_t forge_value, forge_count, forge_boot; /* 1-based aggregate number, 0: none */
	const char *tail, *pcrs, *log_id;
};

struct out {
	imalog_buf *chunk;
	uint64_t in_chunk, next, naggr;
	struct manifest *m;
	struct store_log *log;
	imalog_replay *rp;
	FILE *tail;
	const struct opts *o;
	/* The last boot_aggregate record's digest, which every aggregate repeats (3.3). */
	char boot[16 + 2 * IMALOG_MAX_DIGEST + 1];
	/* A cut of another deleter whose aggregate is not appended yet. */
	bool pending;
	uint64_t pending_at, lag_left;
	struct pcr_state pending_state;
	uint64_t forged_index, forged_cut; /* UINT64_MAX: none */
};

static void die(const char *what, int r)
{
	fprintf(stderr, "mkstore: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(2);
}

static void put32(imalog_buf *b, uint32_t v)
{
	if (imalog_buf_append(b, &v, 4) < 0) /* little-endian hosts only, as the tests run */
		die("out of memory", ENOMEM);
}

static void put(imalog_buf *b, const void *p, size_t n)
{
	if (imalog_buf_append(b, p, n) < 0)
		die("out of memory", ENOMEM);
}

/* The text of 3.3 for the state @st at cut @deleted. */
static void aggregate_text(const struct out *w, const struct pcr_state *st, uint64_t deleted,
			   char *text, size_t size)
{
	char hex[2 * IMALOG_MAX_DIGEST + 1];
	size_t n = (size_t)snprintf(text, size, "version=1;deleted=%" PRIu64 ";boot_aggregate=%s;",
				    deleted, w->boot);

	if (w->naggr == w->o->forge_boot) /* the last hex digit of the boot_aggregate */
		text[n - 2] = text[n - 2] == '0' ? '1' : '0';

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			if (!(st->used >> p & 1) || !(BANKS >> a & 1))
				continue;
			imalog_hex(st->v[p][a], imalog_hash_size((enum imalog_hash)a), hex);
			if (w->naggr == w->o->forge_value && a == IMALOG_SHA256 && p == 10)
				hex[0] = hex[0] == '0' ? '1' : '0';
			n += (size_t)snprintf(text + n, size - n, "pcr%u_%s=%s;", p,
					      imalog_hash_name((enum imalog_hash)a), hex);
		}
}

/* An ima-buf record in the kernel's binary form (ima_fs.c ima_measurements_show()). */
static void aggregate_record(const char *text, imalog_buf *rec)
{
	static const char name[] = "snapshot_aggregate", tname[] = "ima-buf";
	uint8_t d[32], hdr[20];
	imalog_buf *td = imalog_buf_new();
	const char *data;
	size_t len;

	if (!td)
		die("out of memory", ENOMEM);
	EVP_Digest(text, strlen(text), d, NULL, EVP_sha256(), NULL);
	put32(td, 8 + 32);
	put(td, "sha256:", 8);
	put(td, d, 32);
	put32(td, sizeof(name));
	put(td, name, sizeof(name));
	put32(td, (uint32_t)strlen(text));
	put(td, text, strlen(text));
	data = imalog_buf_data(td, &len);
	EVP_Digest(data, len, hdr, NULL, EVP_sha1(), NULL);
	put32(rec, 10);
	put(rec, hdr, 20);
	put32(rec, sizeof(tname) - 1);
	put(rec, tname, sizeof(tname) - 1);
	put32(rec, (uint32_t)len);
	put(rec, data, len);
	imalog_buf_free(td);
}

static void commit(struct out *w)
{
	const char *data;
	size_t len;
	int r;

	if (!w->in_chunk)
		return;
	pcr_state_from_replay(&w->m->end, w->rp, BANKS);
	w->m->count = w->in_chunk;
	data = imalog_buf_data(w->chunk, &len);
	if ((r = store_commit_chunk(w->log, (const uint8_t *)data, len, w->m)) < 0)
		die("commit", r);
	w->m->start = w->m->end;
	w->m->naggregates = 0;
	w->in_chunk = 0;
	imalog_buf_clear(w->chunk);
}

static void note_boot(struct out *w, const imalog_record *rec)
{
	enum imalog_hash alg;
	const uint8_t *digest;
	char hex[2 * IMALOG_MAX_DIGEST + 1];

	if (imalog_record_boot_aggregate(rec, &alg, &digest) != 1)
		return;
	imalog_hex(digest, imalog_hash_size(alg), hex);
	snprintf(w->boot, sizeof(w->boot), "%s:%s", imalog_hash_name(alg), hex);
}

/* Append one record (bytes @p) to the current chunk or the tail, replaying it. */
static void emit(struct out *w, const uint8_t *p, size_t n)
{
	struct imalog_reader_options ro = {
		.format = {IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_HOST_ORDER}};
	uint8_t scratch[16];
	imalog_record *rec = imalog_record_new();
	ptrdiff_t used;
	int r;

	if (!rec)
		die("out of memory", ENOMEM);
	used = imalog_parse_record(&ro.format, p, n, scratch, sizeof(scratch), rec);
	if (used != (ptrdiff_t)n || (r = imalog_replay_record(w->rp, rec)) < 0)
		die("a record does not parse or replay", EBADMSG);
	note_boot(w, rec);
	if (w->log->chunks < w->o->chunks) {
		imalog_aggregate *a;

		if (imalog_record_is_aggregate(rec) && imalog_aggregate_parse(rec, &a) == 0) {
			if (w->m->naggregates < STORE_MAX_AGGREGATES) {
				w->m->aggregates[w->m->naggregates].index = w->next;
				w->m->aggregates[w->m->naggregates++].deleted =
					imalog_aggregate_deleted(a);
			}
			imalog_aggregate_free(a);
		}
		put(w->chunk, p, n);
		w->in_chunk++;
	} else if (w->tail && fwrite(p, 1, n, w->tail) != n) {
		die("tail", errno);
	}
	imalog_record_free(rec);
	w->next++;
}

/* After a cut at record @deleted with state @st: the kernel appends the aggregate of the cut. */
static void emit_aggregate(struct out *w, uint64_t deleted, const struct pcr_state *st)
{
	char text[4096];
	imalog_buf *rec = imalog_buf_new();
	const char *data;
	size_t len;

	if (!rec)
		die("out of memory", ENOMEM);
	w->naggr++;
	if (w->naggr == w->o->forge_count || w->naggr == w->o->forge_value ||
	    w->naggr == w->o->forge_boot) {
		w->forged_index = w->next;
		w->forged_cut = deleted;
	}
	aggregate_text(w, st, w->naggr == w->o->forge_count ? deleted + 1 : deleted, text,
		       sizeof(text));
	aggregate_record(text, rec);
	data = imalog_buf_data(rec, &len);
	emit(w, (const uint8_t *)data, len);
	imalog_buf_free(rec);
}

/* The aggregate of another deleter's cut, once its lag has passed (or before a later cut). */
static void flush_pending(struct out *w, bool now)
{
	if (!w->pending || (!now && w->lag_left > 0))
		return;
	w->pending = false;
	emit_aggregate(w, w->pending_at, &w->pending_state);
}

/* Before input record @input (0-based) of LOG: another deleter's cut falls here every K. */
static void other_deleter(struct out *w, uint64_t input)
{
	if (!w->o->cut_every)
		return;
	flush_pending(w, false);
	if (input == 0 || input % w->o->cut_every != 0)
		return;
	flush_pending(w, true);
	w->pending = true;
	w->pending_at = w->next;
	w->lag_left = w->o->cut_lag;
	pcr_state_from_replay(&w->pending_state, w->rp, BANKS);
	flush_pending(w, false);
}

static uint8_t *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		die(path, errno);
	do {
		if (len == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 1 << 20)))
			die("out of memory", ENOMEM);
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*ret_len = len;
	return buf;
}

static void write_pcrs(const struct out *w, const char *path)
{
	char hex[2 * IMALOG_MAX_DIGEST + 1];
	FILE *f = fopen(path, "w");

	if (!f)
		die(path, errno);
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
			enum imalog_hash alg = (enum imalog_hash)a;

			if (!imalog_replay_pcr_used(w->rp, p) || !(BANKS >> a & 1))
				continue;
			imalog_hex(imalog_replay_pcr(w->rp, p, alg), imalog_hash_size(alg), hex);
			fprintf(f, "%u %s %s\n", p, imalog_hash_name(alg), hex);
		}
	if (fclose(f) != 0)
		die(path, errno);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{"chunk", required_argument, NULL, 'c'},
		{"chunks", required_argument, NULL, 'm'},
		{"aggregates", no_argument, NULL, 'a'},
		{"cut-every", required_argument, NULL, 'e'},
		{"cut-lag", required_argument, NULL, 'g'},
		{"forge-value", required_argument, NULL, 'v'},
		{"forge-count", required_argument, NULL, 'n'},
		{"forge-boot", required_argument, NULL, 'b'},
		{"tail", required_argument, NULL, 't'},
		{"pcrs", required_argument, NULL, 'p'},
		{"log-id", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	*o = (struct opts){.chunk = 1000, .chunks = UINT64_MAX, .log_id = "test-boot"};
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->chunk = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			o->chunks = strtoull(optarg, NULL, 10);
			break;
		case 'a':
			o->aggregates = true;
			break;
		case 'e':
			o->cut_every = strtoull(optarg, NULL, 10);
			break;
		case 'g':
			o->cut_lag = strtoull(optarg, NULL, 10);
			break;
		case 'v':
			o->forge_value = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			o->forge_count = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			o->forge_boot = strtoull(optarg, NULL, 10);
			break;
		case 't':
			o->tail = optarg;
			break;
		case 'p':
			o->pcrs = optarg;
			break;
		case 'l':
			o->log_id = optarg;
			break;
		default:
			exit(2);
		}
	}
	if (optind + 2 != argc || !o->chunk) {
		fprintf(stderr, "usage: mkstore LOG STORE --chunk N [--chunks M] [--aggregates] "
				"[--cut-every K [--cut-lag L]] [--forge-value K] [--forge-count K] "
				"[--forge-boot K] [--tail FILE] [--pcrs FILE] [--log-id ID]\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct imalog_replay_options ro = {.banks = BANKS, .threads = 1};
	struct imalog_format fmt = {IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_HOST_ORDER};
	struct opts o;
	struct out w = {.o = &o, .forged_index = UINT64_MAX};
	struct store *st;
	uint8_t scratch[16], *buf;
	imalog_record *rec = imalog_record_new();
	size_t len, pos = 0;
	uint64_t input = 0;
	int r;

	parse_args(argc, argv, &o);
	snprintf(w.boot, sizeof(w.boot), "sha256:%064d", 0); /* no boot_aggregate record yet */
	buf = read_all(argv[optind], &len);
	w.chunk = imalog_buf_new();
	w.m = calloc(1, sizeof(*w.m));
	w.log = calloc(1, sizeof(*w.log));
	if (!rec || !w.chunk || !w.m || !w.log)
		die("out of memory", ENOMEM);
	if ((r = store_open(argv[optind + 1], true, &st)) < 0 ||
	    (r = store_log_open(st, o.log_id, true, w.log)) < 0 ||
	    (r = store_log_add_boot(w.log, o.log_id)) < 0 ||
	    (r = imalog_replay_new(&ro, &w.rp)) < 0)
		die(argv[optind + 1], r);
	if (o.tail && !(w.tail = fopen(o.tail, "wb")))
		die(o.tail, errno);
	snprintf(w.m->boot_id, sizeof(w.m->boot_id), "%s", o.log_id);
	snprintf(w.m->saved_at, sizeof(w.m->saved_at), "2026-01-01T00:00:00Z");
	w.m->order = IMALOG_LITTLE_ENDIAN;
	w.m->start.banks = w.m->end.banks = BANKS;
	while (pos < len) {
		ptrdiff_t n = imalog_parse_record(&fmt, buf + pos, len - pos, scratch,
						  sizeof(scratch), rec);

		if (n <= 0)
			die("the log does not parse", EBADMSG);
		/* >=: another deleter's aggregate may have made the chunk one longer. */
		if (w.in_chunk >= o.chunk && w.log->chunks < o.chunks) {
			uint64_t cut = w.next;

			commit(&w);
			if (o.aggregates) {
				/* The earlier cut's aggregate comes first. */
				flush_pending(&w, true);
				emit_aggregate(&w, cut, &w.m->start);
			}
		}
		other_deleter(&w, input++);
		emit(&w, buf + pos, (size_t)n);
		if (w.pending && w.lag_left > 0)
			w.lag_left--;
		pos += (size_t)n;
	}
	flush_pending(&w, true);
	if (w.log->chunks < o.chunks)
		commit(&w);
	if (w.tail && fclose(w.tail) != 0)
		die(o.tail, errno);
	if (o.pcrs)
		write_pcrs(&w, o.pcrs);
	printf("%" PRIu64 " records, %" PRIu64 " chunks, %" PRIu64 " aggregates\n", w.next,
	       w.log->chunks, w.naggr);
	if (w.forged_index != UINT64_MAX)
		printf("forged aggregate at record %" PRIu64 ", cut at record %" PRIu64 "\n",
		       w.forged_index, w.forged_cut);
	imalog_replay_free(w.rp);
	imalog_record_free(rec);
	imalog_buf_free(w.chunk);
	store_free(st);
	free(w.m);
	free(w.log);
	free(buf);
	return 0;
}
