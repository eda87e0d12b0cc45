// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Replay: recompute the PCR values a log produces, by the rules of ima_add_template_entry() and
 * ima_pcr_extend() (ima_queue.c) since Linux 5.8: every bank is extended with its own hash of the
 * template data; a violation (all-zero template digest) is extended as all 0xFF. Before 5.8 the
 * SHA-1 template digest, zero-padded, went into every bank.
 *
 * Each bank is an independent hash chain, so banks replay in parallel: the reader parses a
 * batch of records, then one job per bank runs over the whole batch. The job of the log's own
 * bank also checks every record's header digest, which is the same hash.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define BATCH 4096
#define UNMATCHED (-1)
#define FROM_START (-2)	/* the value before the first record matches */

/* One hash chain per bank, and where its PCRs first match the expected values. */
struct job {
	enum imalog_hash alg;
	size_t size;
	bool extend;		/* false: a job that only checks header digests */
	bool check_header;
	bool pre_5_8;
	struct hash_ctx *ctx, *sha1;
	uint8_t pcr[IMALOG_MAX_PCRS][IMALOG_MAX_DIGEST];
	const uint8_t *expected[IMALOG_MAX_PCRS];
	/*
	 * The first range of prefixes [from, until] over which a PCR holds its expected value. A
	 * prefix is named by the index of the record after it, so a log that starts at record
	 * 1000 has prefixes 1000 (nothing replayed) to 1000 + n.
	 */
	int64_t from[IMALOG_MAX_PCRS], until[IMALOG_MAX_PCRS];
	const struct imalog_record *bad;
	/* the batch being run */
	const struct imalog_record *recs;
	size_t n;
};

struct imalog_replay {
	struct imalog_replay_options opts;
	struct job *job[IMALOG_HASH_COUNT + 1];
	unsigned int njobs;
	bool configured;	/* the header-check job depends on the first record's bank */
	uint64_t records, violations, used;
	uint64_t start, end;	/* prefixes before the first and after the last record */
	bool failed;
	uint64_t bad_index, bad_offset;
	struct imalog_record *batch;	/* two batches: one hashed while the other is parsed */
	struct job *lists[IMALOG_HASH_COUNT + 1][IMALOG_HASH_COUNT + 2];
	pthread_t tid[IMALOG_HASH_COUNT + 1];
	unsigned int started;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	hash_ctx_free(j->ctx);
	hash_ctx_free(j->sha1);
	free(j);
}

static int job_new(enum imalog_hash alg, const struct imalog_replay_options *o, struct job **ret)
{
	static const uint8_t zero[IMALOG_MAX_DIGEST];
	struct job *j = calloc(1, sizeof(*j));
	int r;

	if (!j)
		return -ENOMEM;
	j->alg = alg;
	j->size = imalog_hash_size(alg);
	j->extend = true;
	j->pre_5_8 = o->pre_5_8;
	if ((r = hash_ctx_new(alg, &j->ctx)) < 0 ||
	    (o->pre_5_8 && (r = hash_ctx_new(IMALOG_SHA1, &j->sha1)) < 0)) {
		job_free(j);
		return r;
	}
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		j->expected[p] = o->expected ? imalog_pcrs_get(o->expected, p, alg) : NULL;
		j->from[p] = j->expected[p] && !memcmp(j->expected[p], zero, j->size) ? FROM_START
											: UNMATCHED;
		j->until[p] = UNMATCHED;
	}
	*ret = j;
	return 0;
}

/* The digest a record extends into this job's bank. */
static void job_digest(struct job *j, const struct imalog_record *r, uint8_t *out)
{
	if (!j->pre_5_8) {
		if (r->violation)
			memset(out, 0xff, j->size);
		else
			record_template_hash(j->ctx, r, out);
		return;
	}
	memset(out, 0, j->size);
	if (r->violation)
		memset(out, 0xff, 20);
	else
		record_template_hash(j->sha1, r, out);
}

/* Track the first range of prefix lengths over which @p holds its expected value. */
static void job_match(struct job *j, unsigned int p, uint64_t prefix)
{
	if (j->from[p] != UNMATCHED) {
		if (j->until[p] == UNMATCHED)
			j->until[p] = (int64_t)prefix - 1;
	} else if (j->pcr[p][0] == j->expected[p][0] && !memcmp(j->pcr[p], j->expected[p], j->size)) {
		j->from[p] = (int64_t)prefix;	/* the first byte rules out all but 1 in 256 */
	}
}

static void extend(struct job *j, unsigned int p, const uint8_t *digest)
{
	hash_extend(j->ctx, j->pcr[p], digest);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	uint8_t digest[IMALOG_MAX_DIGEST];

	for (size_t i = 0; i < j->n && !j->bad; i++) {
		const struct imalog_record *r = &j->recs[i];

		if (!j->extend) {
			if (!r->violation)
				record_template_hash(j->ctx, r, digest);
		} else {
			job_digest(j, r, digest);
		}
		if (j->check_header && !r->violation && memcmp(digest, r->digest, r->digest_len)) {
			j->bad = r;
			break;
		}
		if (!j->extend)
			continue;
		extend(j, r->pcr, digest);
		if (j->expected[r->pcr])
			job_match(j, r->pcr, r->index + 1);
	}
	return NULL;
}

PUBLIC int imalog_replay_new(const struct imalog_replay_options *opts, imalog_replay **ret)
{
	imalog_replay *rp;

	if (!opts->banks || opts->banks >> IMALOG_HASH_COUNT)
		return -EINVAL;
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	rp->opts = *opts;
	for (int a = 0; a < IMALOG_HASH_COUNT; a++) {
		int r;

		if (!(opts->banks & 1u << a))
			continue;
		r = job_new((enum imalog_hash)a, opts, &rp->job[rp->njobs]);
		if (r < 0) {
			imalog_replay_free(rp);
			return r;
		}
		rp->njobs++;
	}
	*ret = rp;
	return 0;
}

PUBLIC void imalog_replay_free(imalog_replay *rp)
{
	if (!rp)
		return;
	for (unsigned int i = 0; i < rp->njobs; i++)
		job_free(rp->job[i]);
	free(rp->batch);
	free(rp);
}

/* Give the header check to the job that computes the same hash, or to a job of its own. */
static int configure(imalog_replay *rp, enum imalog_hash log_bank)
{
	struct imalog_replay_options o = rp->opts;
	struct job *j;
	int r;

	for (unsigned int i = 0; i < rp->njobs; i++) {
		j = rp->job[i];
		if (j->pre_5_8 ? log_bank == IMALOG_SHA1 : j->alg == log_bank) {
			j->check_header = true;
			rp->configured = true;
			return 0;
		}
	}
	o.pre_5_8 = false;
	o.expected = NULL;
	if ((r = job_new(log_bank, &o, &j)) < 0)
		return r;
	j->extend = false;
	j->check_header = true;
	rp->job[rp->njobs++] = j;
	rp->configured = true;
	return 0;
}

static unsigned int worker_count(const imalog_replay *rp)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = rp->opts.threads ? rp->opts.threads : (cpus > 0 ? (unsigned int)cpus : 1);

	return n < rp->njobs ? n : rp->njobs;
}

static void *worker(void *arg)
{
	struct job **jobs = arg;

	for (; *jobs; jobs++)
		job_run(*jobs);
	return NULL;
}

/*
 * Start every job on the batch, on threads of their own: jobs are dealt round-robin to
 * the workers. The caller parses the next batch meanwhile, then calls batch_finish().
 */
static void batch_start(imalog_replay *rp, const struct imalog_record *recs, size_t n)
{
	unsigned int nw = worker_count(rp);

	memset(rp->lists, 0, sizeof(rp->lists));
	for (unsigned int i = 0; i < rp->njobs; i++) {
		rp->job[i]->recs = recs;
		rp->job[i]->n = n;
		rp->lists[i % nw][i / nw] = rp->job[i];
	}
	rp->started = 0;
	for (unsigned int w = 0; w < nw; w++) {
		if (pthread_create(&rp->tid[w], NULL, worker, rp->lists[w]) != 0)
			break;
		rp->started++;
	}
	for (unsigned int w = rp->started; w < nw; w++)
		worker(rp->lists[w]);	/* no thread: do its share here */
}

/* Wait for the batch's jobs; fold their results. Fails at the first bad record. */
static int batch_finish(imalog_replay *rp, const struct imalog_record *recs, size_t n)
{
	const struct imalog_record *bad = NULL;

	for (unsigned int w = 0; w < rp->started; w++)
		pthread_join(rp->tid[w], NULL);
	rp->started = 0;
	for (unsigned int i = 0; i < rp->njobs; i++)
		if (rp->job[i]->bad && (!bad || rp->job[i]->bad->index < bad->index))
			bad = rp->job[i]->bad;
	if (n && !rp->records && !rp->failed)
		rp->start = rp->end = recs[0].index;
	for (size_t i = 0; i < n && (!bad || &recs[i] < bad); i++) {
		rp->records++;
		rp->end = recs[i].index + 1;
		rp->violations += recs[i].violation;
		rp->used |= UINT64_C(1) << recs[i].pcr;
	}
	if (!bad)
		return 0;
	rp->failed = true;
	rp->bad_index = bad->index;
	rp->bad_offset = bad->offset;
	return -EBADMSG;
}

static int batch_begin(imalog_replay *rp, const struct imalog_record *recs, size_t n)
{
	int r;

	if (rp->failed)
		return -EBADMSG;
	if (!rp->configured && (r = configure(rp, recs[0].digest_alg)) < 0)
		return r;
	batch_start(rp, recs, n);
	return 0;
}

/* One record: no threads, the jobs run here. */
PUBLIC int imalog_replay_record(imalog_replay *rp, const imalog_record *r)
{
	int e;

	if (rp->failed)
		return -EBADMSG;
	if (!rp->configured && (e = configure(rp, r->digest_alg)) < 0)
		return e;
	for (unsigned int i = 0; i < rp->njobs; i++) {
		rp->job[i]->recs = r;
		rp->job[i]->n = 1;
		job_run(rp->job[i]);
	}
	return batch_finish(rp, r, 1);
}

/*
 * Two batches in flight: while the jobs hash batch A, this thread parses batch B from what the
 * reader already holds; it refills the reader (which moves its buffer) only once A is done.
 * ASCII input rebuilds records in a scratch area that the next batch reuses: one at a time.
 */
PUBLIC int imalog_replay_reader(imalog_replay *rp, imalog_reader *rd)
{
	struct imalog_record *a, *b, *t;
	int n, m, r;

	if (!rp->batch && !(rp->batch = calloc(2 * BATCH, sizeof(*rp->batch))))
		return -ENOMEM;
	a = rp->batch;
	b = rp->batch + BATCH;
	n = reader_next_batch(rd, a, BATCH, true);
	while (n > 0) {
		if ((r = batch_begin(rp, a, (size_t)n)) < 0)
			return r;
		m = reader_overlaps(rd) ? reader_next_batch(rd, b, BATCH, false) : -EAGAIN;
		if ((r = batch_finish(rp, a, (size_t)n)) < 0)
			return r;
		if (m == -EAGAIN)
			m = reader_next_batch(rd, b, BATCH, true);
		t = a, a = b, b = t;
		n = m;
	}
	return n;
}

PUBLIC uint64_t imalog_replay_records(const imalog_replay *rp)
{
	return rp->records;
}

PUBLIC uint64_t imalog_replay_violations(const imalog_replay *rp)
{
	return rp->violations;
}

static struct job *find_job(const imalog_replay *rp, enum imalog_hash alg)
{
	for (unsigned int i = 0; i < rp->njobs; i++)
		if (rp->job[i]->alg == alg && rp->job[i]->extend)
			return rp->job[i];
	return NULL;
}

PUBLIC const uint8_t *imalog_replay_pcr(const imalog_replay *rp, unsigned int pcr,
					enum imalog_hash alg)
{
	const struct job *j = find_job(rp, alg);

	return j && pcr < IMALOG_MAX_PCRS ? j->pcr[pcr] : NULL;
}

PUBLIC bool imalog_replay_pcr_used(const imalog_replay *rp, unsigned int pcr)
{
	return pcr < IMALOG_MAX_PCRS && (rp->used >> pcr & 1);
}

PUBLIC int imalog_replay_seed(imalog_replay *rp, unsigned int pcr, enum imalog_hash alg,
			      const uint8_t *value, size_t len)
{
	struct job *j = find_job(rp, alg);

	if (!j || pcr >= IMALOG_MAX_PCRS || len != j->size || rp->records)
		return -EINVAL;
	memcpy(j->pcr[pcr], value, len);
	j->from[pcr] = j->expected[pcr] && !memcmp(value, j->expected[pcr], len) ? FROM_START
										 : UNMATCHED;
	rp->used |= UINT64_C(1) << pcr;
	return 0;
}

PUBLIC bool imalog_replay_bad_record(const imalog_replay *rp, uint64_t *ret_index,
				     uint64_t *ret_offset)
{
	if (!rp->failed)
		return false;
	*ret_index = rp->bad_index;
	*ret_offset = rp->bad_offset;
	return true;
}

/* Intersect, over every used PCR with an expected value, the ranges where each one matches. */
PUBLIC int imalog_replay_match(const imalog_replay *rp, uint64_t *ret_prefix)
{
	int64_t lo = (int64_t)rp->start, hi = (int64_t)rp->end;

	for (unsigned int i = 0; i < rp->njobs; i++) {
		const struct job *j = rp->job[i];

		for (unsigned int p = 0; j->extend && p < IMALOG_MAX_PCRS; p++) {
			if (!j->expected[p] ||
			    !(imalog_replay_pcr_used(rp, p) || rp->opts.require_pcrs >> p & 1))
				continue;
			if (j->from[p] == UNMATCHED)
				return 0;
			if (j->from[p] > lo)
				lo = j->from[p];
			if (j->until[p] != UNMATCHED && j->until[p] < hi)
				hi = j->until[p];
		}
	}
	if (lo > hi)
		return 0;
	*ret_prefix = (uint64_t)lo;
	return 1;
}
