// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One piece of the log, checked on its own from the state its manifest claims (or the state
 * the chain hands it): every record parses and its digests hold, the manifest's count, size,
 * SHA-256 and end state are what the records give, and every snapshot_aggregate and
 * boot_aggregate record is collected for the chain check, which knows the state at each cut.
 * The state at a cut inside the piece is kept as the replay passes it, when the cut is known
 * in advance (from the manifests), or by a second, partial replay when it is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define NO_OFFSET UINT64_MAX

void vfail(struct vfailure *f, uint64_t index, uint64_t offset, const char *file, const char *fmt,
	   ...)
{
	va_list ap;

	if (f->set)
		return; /* the first failure is the one that counts */
	f->set = true;
	f->index = index;
	f->offset = offset;
	snprintf(f->file, sizeof(f->file), "%s", file);
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

bool vstate_equal(const struct pcr_state *a, const struct pcr_state *b, uint32_t banks)
{
	if (a->used != b->used)
		return false;
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int h = 0; h < IMALOG_HASH_COUNT; h++)
			if ((a->used >> p & 1) && (banks >> h & 1) &&
			    memcmp(a->v[p][h], b->v[p][h], imalog_hash_size((enum imalog_hash)h)))
				return false;
	return true;
}

/* SHA-256 and size of what @fd holds, from its start. */
static int hash_fd(int fd, uint8_t digest[32], uint64_t *ret_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(1 << 16);
	uint64_t size = 0;
	ssize_t n = -1;
	int r = -ENOMEM;

	if (ctx && buf && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    lseek(fd, 0, SEEK_SET) == 0) {
		while ((n = read(fd, buf, 1 << 16)) > 0) {
			EVP_DigestUpdate(ctx, buf, (size_t)n);
			size += (uint64_t)n;
		}
		r = n < 0 ? -errno : EVP_DigestFinal_ex(ctx, digest, NULL) ? 0 : -EIO;
	}
	if (r == 0 && lseek(fd, 0, SEEK_SET) != 0)
		r = -errno;
	*ret_size = size;
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* 3.3: a value for every PCR it lists in every bank verified (it lists all it computes). */
static int claim_complete(const imalog_aggregate *a, uint32_t banks, unsigned int *ret_pcr,
			  enum imalog_hash *ret_alg)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int h = 0; h < IMALOG_HASH_COUNT; h++)
			if ((imalog_aggregate_pcrs(a) >> p & 1) && (banks >> h & 1) &&
			    !imalog_aggregate_pcr(a, p, (enum imalog_hash)h)) {
				*ret_pcr = p;
				*ret_alg = (enum imalog_hash)h;
				return -EBADMSG;
			}
	return 0;
}

static void fill_aggregate(struct vaggr *v, const imalog_record *rec, const imalog_aggregate *a,
			   uint32_t banks)
{
	size_t len;
	const uint8_t *boot = imalog_aggregate_boot_digest(a, &len);

	memset(v, 0, sizeof(*v));
	v->index = imalog_record_index(rec);
	v->offset = imalog_record_offset(rec);
	v->pcr = imalog_record_pcr(rec);
	v->deleted = imalog_aggregate_deleted(a);
	v->boot_alg = imalog_aggregate_boot_alg(a);
	memcpy(v->boot, boot, len);
	v->claim.used = imalog_aggregate_pcrs(a);
	v->claim.banks = banks;
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int h = 0; h < IMALOG_HASH_COUNT; h++) {
			const uint8_t *val = imalog_aggregate_pcr(a, p, (enum imalog_hash)h);

			if (val && (banks >> h & 1))
				memcpy(v->claim.v[p][h], val,
				       imalog_hash_size((enum imalog_hash)h));
		}
}

static int add_aggregate(struct vpiece *pc, const imalog_record *rec, uint32_t banks)
{
	uint64_t i = imalog_record_index(rec), off = imalog_record_offset(rec);
	imalog_aggregate *a;
	struct vaggr *grown;
	enum imalog_hash alg;
	unsigned int pcr;
	int r = imalog_aggregate_parse(rec, &a);

	if (r < 0) {
		vfail(&pc->fail, i, off, pc->path, "snapshot_aggregate is malformed (%s)",
		      r == -EBADMSG ? "not the kernel's ima-buf text, or its d-ng is not the "
				      "digest of its text"
				    : strerror(-r));
		return r == -ENOMEM ? r : -EBADMSG;
	}
	if (claim_complete(a, banks, &pcr, &alg) < 0) {
		vfail(&pc->fail, i, off, pc->path,
		      "snapshot_aggregate lists PCR %u without its %s value", pcr,
		      imalog_hash_name(alg));
		imalog_aggregate_free(a);
		return -EBADMSG;
	}
	grown = realloc(pc->aggr, (pc->naggr + 1) * sizeof(*grown));
	if (!grown) {
		imalog_aggregate_free(a);
		return -ENOMEM;
	}
	pc->aggr = grown;
	fill_aggregate(&pc->aggr[pc->naggr++], rec, a, banks);
	imalog_aggregate_free(a);
	return 0;
}

/* A boot_aggregate record: the chain compares the next snapshot_aggregates with it. */
static int add_boot(struct vpiece *pc, const imalog_record *rec)
{
	enum imalog_hash alg;
	const uint8_t *digest;
	struct vboot *grown, *b;
	int r = imalog_record_boot_aggregate(rec, &alg, &digest);

	if (r == 0)
		return 0;
	grown = realloc(pc->boot, (pc->nboot + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pc->boot = grown;
	b = &pc->boot[pc->nboot++];
	memset(b, 0, sizeof(*b));
	b->set = true;
	b->readable = r == 1;
	b->index = imalog_record_index(rec);
	b->pcr = imalog_record_pcr(rec);
	if (b->readable) {
		b->alg = alg;
		memcpy(b->digest, digest, imalog_hash_size(alg));
	}
	return 0;
}

static const char *replay_reason(int r)
{
	return r == -EBADMSG ? "template digest does not match the template data" : strerror(-r);
}

/* One pass over a piece's records. */
struct walk {
	struct vpiece *pc;
	uint32_t banks;
	const struct vwant *want;
	size_t k;      /* the next entry of @want */
	uint64_t stop; /* replay only the records before this index */
	bool collect;  /* the piece's own check: aggregates, boot records, manifest PCRs */
	struct vfailure *fail;
};

static int cut_cmp(const void *a, const void *b)
{
	const struct vcut *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

const struct pcr_state *vpiece_cut(const struct vpiece *pc, uint64_t index)
{
	struct vcut key = {.index = index};
	const struct vcut *c =
		pc->ncuts ? bsearch(&key, pc->cuts, pc->ncuts, sizeof(key), cut_cmp) : NULL;

	return c ? &c->state : NULL;
}

/*
 * Before record @i: keep the state if @i is a cut wanted strictly inside the piece (the callers
 * never want one twice).
 */
static int keep_cut(struct walk *w, uint64_t i, const imalog_replay *rp)
{
	struct vpiece *pc = w->pc;
	struct vcut *grown;

	while (w->k < w->want->n && w->want->at[w->k] < i)
		w->k++;
	if (w->k == w->want->n || w->want->at[w->k] != i || i == pc->first)
		return 0;
	grown = realloc(pc->cuts, (pc->ncuts + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pc->cuts = grown;
	pc->cuts[pc->ncuts].index = i;
	pcr_state_from_replay(&pc->cuts[pc->ncuts++].state, rp, w->banks);
	return 0;
}

/* Replay the records of @rd into @rp; failures name the record. */
static int replay_records(struct walk *w, imalog_reader *rd, imalog_replay *rp)
{
	struct vpiece *pc = w->pc;
	const imalog_record *rec;
	int r;

	while ((r = imalog_reader_next(rd, &rec)) > 0) {
		uint64_t i = imalog_record_index(rec), off = imalog_record_offset(rec);
		unsigned int pcr = imalog_record_pcr(rec);

		if (i < pc->first)
			continue; /* the kernel's copy of records already in the store */
		if ((r = keep_cut(w, i, rp)) < 0 || i >= w->stop)
			return r < 0 ? r : 0;
		if (w->collect && pc->m && !(pc->m->end.used >> pcr & 1)) {
			vfail(w->fail, i, off, pc->path,
			      "the record extends PCR %u, which its "
			      "manifest's end state does not list",
			      pcr);
			return -EBADMSG;
		}
		if ((r = imalog_replay_record(rp, rec)) < 0) {
			vfail(w->fail, i, off, pc->path, "%s", replay_reason(r));
			return r;
		}
		if (!w->collect)
			continue;
		if (imalog_record_is_aggregate(rec) && (r = add_aggregate(pc, rec, w->banks)) < 0)
			return r;
		if ((r = add_boot(pc, rec)) < 0)
			return r;
	}
	if (r < 0) {
		uint64_t i, off;

		imalog_reader_where(rd, &i, &off);
		vfail(w->fail, i, off, pc->path, "%s", imalog_reader_strerror(r));
	}
	return r;
}

/* The manifest's claims about the bytes: checked once the records themselves passed. */
static void check_claims(struct vpiece *pc, int fd, uint32_t banks)
{
	const struct manifest *m = pc->m;
	uint8_t digest[32];
	uint64_t size = 0;
	size_t k = 0;

	if (pc->count != m->count)
		vfail(&pc->fail, pc->first, NO_OFFSET, pc->path,
		      "holds %" PRIu64 " records, its "
		      "manifest says %" PRIu64,
		      pc->count, m->count);
	else if (hash_fd(fd, digest, &size) < 0 || size != m->bytes ||
		 memcmp(digest, m->sha256, 32) != 0)
		vfail(&pc->fail, pc->first, NO_OFFSET, pc->path,
		      "size or SHA-256 differs from "
		      "its manifest");
	else if (!vstate_equal(&pc->end, &m->end, banks))
		vfail(&pc->fail, pc->first, NO_OFFSET, pc->path,
		      "the records %" PRIu64 "..%" PRIu64
		      " do not give the end state of its manifest",
		      pc->first, pc->first + pc->count - 1);
	if (pc->fail.set)
		return;
	for (k = 0; k < pc->naggr && k < m->naggregates; k++)
		if (m->aggregates[k].index != pc->aggr[k].index ||
		    m->aggregates[k].deleted != pc->aggr[k].deleted)
			break;
	if (k < pc->naggr || k < m->naggregates)
		vfail(&pc->fail, k < pc->naggr ? pc->aggr[k].index : m->aggregates[k].index,
		      NO_OFFSET, pc->path,
		      "its manifest's list of snapshot_aggregate records is "
		      "not the one the chunk holds");
}

static int open_piece(struct vpiece *pc)
{
	int fd;

	if (pc->fd >= 0) {
		fd = dup(pc->fd);
		if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0) {
			close(fd);
			return -errno;
		}
		return fd < 0 ? -errno : fd;
	}
	fd = open(pc->path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The first entry of @want at or after @index. */
static size_t want_from(const struct vwant *want, uint64_t index)
{
	size_t lo = 0, hi = want->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (want->at[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Open the piece and replay it from @seed as @w says; with @w->collect, the piece's results,
 * and for a quoted chunk its quote (checked with @q, in @q's banks too).
 */
static int walk_piece(struct walk *w, const struct verifier_options *o,
		      const struct pcr_state *seed, quote *q)
{
	struct vpiece *pc = w->pc;
	struct imalog_replay_options ro = {
		.banks = o->banks | (q ? vquote_banks(q, pc->m) : 0),
		.pre_5_8 = o->pre_5_8,
		.threads = 1,
		.expected = w->collect ? o->expected : NULL,
		.require_pcrs = o->require_pcrs,
	};
	struct imalog_reader_options rdo = {
		.format = {IMALOG_INPUT_BINARY, IMALOG_SHA1, pc->order},
		.first_index = pc->file_first,
	};
	imalog_replay *rp = NULL;
	imalog_reader *rd = NULL;
	int fd = open_piece(pc), r = fd;

	if (fd < 0) {
		vfail(w->fail, pc->first, NO_OFFSET, pc->path, "cannot open: %s", strerror(-fd));
		return fd;
	}
	w->k = want_from(w->want, pc->first);
	if ((r = imalog_replay_new(&ro, &rp)) < 0 || (r = vstate_seed(seed, ro.banks, rp)) < 0 ||
	    (r = imalog_reader_new(fd, &rdo, &rd)) < 0) {
		vfail(w->fail, pc->first, NO_OFFSET, pc->path, "%s", strerror(-r));
		goto done;
	}
	r = replay_records(w, rd, rp);
	if (w->collect) {
		pc->count = imalog_replay_records(rp);
		pc->violations = imalog_replay_violations(rp);
		pcr_state_from_replay(&pc->end, rp, o->banks);
		pc->matched = imalog_replay_match(rp, &pc->match) == 1;
		if (r == 0 && pc->m)
			check_claims(pc, fd, o->banks);
		if (q && !w->fail->set && (r = vquote_check(pc, o, q, rp)) == -ENOMEM)
			goto done;
	}
	r = w->fail->set ? -EBADMSG : r;
done:
	imalog_reader_free(rd);
	imalog_replay_free(rp);
	close(fd);
	return r;
}

int vpiece_check(struct vpiece *pc, const struct verifier_options *o, const struct pcr_state *seed,
		 const struct vwant *want)
{
	struct walk w = {
		.pc = pc,
		.banks = o->banks,
		.want = want,
		.stop = UINT64_MAX,
		.collect = true,
		.fail = &pc->fail,
	};
	quote *q = NULL;
	int r;

	/* The signature before a record is read: a chunk whose quote is forged fails at once. */
	if (pc->m && pc->m->quote.key[0] && (r = vquote_load(pc, o, &q)) < 0)
		return r;
	r = walk_piece(&w, o, seed, q);
	quote_free(q);
	return r;
}

int vpiece_cut_states(struct vpiece *pc, const struct verifier_options *o,
		      const struct pcr_state *seed, const struct vwant *want,
		      struct vfailure *ret_fail)
{
	struct walk w = {
		.pc = pc,
		.banks = o->banks,
		.want = want,
		.fail = ret_fail,
		.stop = want->n ? want->at[want->n - 1] : 0,
	};
	int r = want->n ? walk_piece(&w, o, seed, NULL) : 0;

	if (pc->ncuts > 1)
		qsort(pc->cuts, pc->ncuts, sizeof(*pc->cuts), cut_cmp);
	return r;
}

int vstate_seed(const struct pcr_state *st, uint32_t banks, imalog_replay *rp)
{
	struct pcr_state s = *st;

	s.banks = banks;
	return pcr_state_seed(&s, rp);
}
