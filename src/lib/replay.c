// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Replay: recompute the PCR values a log produces, by the rules of ima_add_template_entry() and
 * ima_pcr_extend() (ima_queue.c) since Linux 5.8: every bank is extended with its own hash of the
 * template data; a violation (all-zero template digest) is extended as all 0xFF. Before 5.8 the
 * SHA-1 template digest, zero-padded, went into every bank.
 *
 * Hashing the template data is most of the work, and every record's hash is independent of the
 * others; only the extends form a chain, one per bank. So a batch of records goes through two
 * phases on the workers: each hashes a slice of the records in every bank, then, once all
 * slices are done, each extends the PCRs of some banks with the whole batch's digests. The
 * caller's thread parses the next batch meanwhile. The log's own bank also checks every
 * record's header digest, which is the same hash.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define BATCH 4096
#define MAX_WORKERS 64
#define UNMATCHED (-1)
#define FROM_START (-2)	/* the value before the first record matches */

/* One hash chain per bank, and where its PCRs first match the expected values. */
struct job {
	enum imalog_hash alg;
	size_t size;
	bool extend;		/* false: a job that only checks header digests */
	bool check_header;
	bool pre_5_8;
	struct hash_ctx *ctx;	/* for the extends */
	uint8_t *digests;	/* the batch's digests in this bank, BATCH of them */
	uint8_t pcr[IMALOG_MAX_PCRS][IMALOG_MAX_DIGEST];
	const uint8_t *expected[IMALOG_MAX_PCRS];
	/*
	 * The first range of prefixes [from, until] over which a PCR holds its expected value. A
	 * prefix is named by the index of the record after it, so a log that starts at record
	 * 1000 has prefixes 1000 (nothing replayed) to 1000 + n.
	 */
	int64_t from[IMALOG_MAX_PCRS], until[IMALOG_MAX_PCRS];
};

/* A worker hashes a slice of each batch, then extends the banks dealt to it. */
struct worker {
	imalog_replay *rp;
	unsigned int id;
	pthread_t tid;
	struct hash_ctx *ctx[IMALOG_HASH_COUNT + 1];	/* one per job, of its digest's hash */
	const struct imalog_record *bad;	/* the slice's first record with a wrong header */
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
	/* the batch on the workers */
	const struct imalog_record *recs;
	size_t n;
	/* workers[0] also serves the caller's thread when it replays alone */
	struct worker *workers;
	unsigned int nworkers, started;
	bool pool;		/* threads started, for one imalog_replay_reader() call */
	pthread_mutex_t lock;
	pthread_cond_t posted, finished;
	pthread_barrier_t hashed;
	uint64_t generation;	/* batches posted */
	unsigned int busy;	/* workers still on the batch */
	bool quit;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	hash_ctx_free(j->ctx);
	free(j->digests);
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
	j->digests = malloc(BATCH * j->size);
	r = j->digests ? hash_ctx_new(alg, &j->ctx) : -ENOMEM;
	if (r < 0) {
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

/* The digest a record extends into this job's bank, with @ctx of the digest's hash. */
static void job_digest(const struct job *j, struct hash_ctx *ctx, const struct imalog_record *r,
		       uint8_t *out)
{
	if (!j->pre_5_8) {
		if (r->violation)
			memset(out, 0xff, j->size);
		else
			record_template_hash(ctx, r, out);
		return;
	}
	memset(out, 0, j->size);
	if (r->violation)
		memset(out, 0xff, 20);
	else
		record_template_hash(ctx, r, out);
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

/* Phase one: the digests of records [from, to) of the batch, in every bank. */
static void hash_slice(struct worker *w, size_t from, size_t to)
{
	const imalog_replay *rp = w->rp;

	w->bad = NULL;
	for (size_t i = from; i < to; i++) {
		const struct imalog_record *r = &rp->recs[i];

		for (unsigned int k = 0; k < rp->njobs; k++) {
			const struct job *j = rp->job[k];
			uint8_t *d = j->digests + i * j->size;

			job_digest(j, w->ctx[k], r, d);
			if (j->check_header && !r->violation && memcmp(d, r->digest, r->digest_len)) {
				w->bad = r;
				return;
			}
		}
	}
}

/* The batch's first record with a wrong header digest, once every slice is hashed. */
static const struct imalog_record *first_bad(const imalog_replay *rp, unsigned int nworkers)
{
	const struct imalog_record *bad = NULL;

	for (unsigned int w = 0; w < nworkers; w++)
		if (rp->workers[w].bad && (!bad || rp->workers[w].bad < bad))
			bad = rp->workers[w].bad;
	return bad;
}

/* Phase two: extend this job's PCRs with the batch's digests, up to the first bad record. */
static void extend_batch(const imalog_replay *rp, struct job *j, const struct imalog_record *bad)
{
	size_t n = bad ? (size_t)(bad - rp->recs) : rp->n;

	if (!j->extend)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct imalog_record *r = &rp->recs[i];

		hash_extend(j->ctx, j->pcr[r->pcr], j->digests + i * j->size);
		if (j->expected[r->pcr])
			job_match(j, r->pcr, r->index + 1);
	}
}

/* Worker @w's share of both phases of a batch, when @nw workers share it. */
static void run_share(struct worker *w, unsigned int nw)
{
	imalog_replay *rp = w->rp;
	const struct imalog_record *bad;

	hash_slice(w, rp->n * w->id / nw, rp->n * (w->id + 1) / nw);
	if (nw > 1)
		pthread_barrier_wait(&rp->hashed);
	bad = first_bad(rp, nw);
	for (unsigned int k = w->id; k < rp->njobs; k += nw)
		extend_batch(rp, rp->job[k], bad);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	imalog_replay *rp = w->rp;
	uint64_t seen = 0;

	for (;;) {
		pthread_mutex_lock(&rp->lock);
		while (rp->generation == seen && !rp->quit)
			pthread_cond_wait(&rp->posted, &rp->lock);
		if (rp->quit) {
			pthread_mutex_unlock(&rp->lock);
			return NULL;
		}
		seen = rp->generation;
		pthread_mutex_unlock(&rp->lock);

		run_share(w, rp->started);

		pthread_mutex_lock(&rp->lock);
		if (--rp->busy == 0)
			pthread_cond_signal(&rp->finished);
		pthread_mutex_unlock(&rp->lock);
	}
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

static void workers_free(imalog_replay *rp)
{
	for (unsigned int w = 0; rp->workers && w < rp->nworkers; w++)
		for (unsigned int k = 0; k < IMALOG_HASH_COUNT + 1; k++)
			hash_ctx_free(rp->workers[w].ctx[k]);
	free(rp->workers);
	rp->workers = NULL;
	rp->nworkers = 0;
}

PUBLIC void imalog_replay_free(imalog_replay *rp)
{
	if (!rp)
		return;
	for (unsigned int i = 0; i < rp->njobs; i++)
		job_free(rp->job[i]);
	workers_free(rp);
	free(rp->batch);
	free(rp);
}

/* 1 (the caller's thread alone) or one per CPU, or as many as the options ask for. */
static unsigned int worker_count(const imalog_replay *rp)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = rp->opts.threads ? rp->opts.threads : (cpus > 0 ? (unsigned int)cpus : 1);

	return n < MAX_WORKERS ? n : MAX_WORKERS;
}

/* Hash contexts for every worker, once the jobs are final. */
static int workers_new(imalog_replay *rp)
{
	unsigned int n = worker_count(rp);

	rp->workers = calloc(n, sizeof(*rp->workers));
	if (!rp->workers)
		return -ENOMEM;
	rp->nworkers = n;
	for (unsigned int w = 0; w < n; w++) {
		rp->workers[w].rp = rp;
		rp->workers[w].id = w;
		for (unsigned int k = 0; k < rp->njobs; k++) {
			const struct job *j = rp->job[k];
			int r = hash_ctx_new(j->pre_5_8 ? IMALOG_SHA1 : j->alg,
					     &rp->workers[w].ctx[k]);

			if (r < 0) {
				workers_free(rp);
				return r;
			}
		}
	}
	return 0;
}

/* Give the header check to the job that computes the same hash, or to a job of its own. */
static int configure(imalog_replay *rp, enum imalog_hash log_bank)
{
	struct imalog_replay_options o = rp->opts;
	struct job *j = NULL;
	int r;

	for (unsigned int i = 0; i < rp->njobs && !j; i++)
		if (rp->job[i]->pre_5_8 ? log_bank == IMALOG_SHA1 : rp->job[i]->alg == log_bank)
			j = rp->job[i];
	if (!j) {
		o.pre_5_8 = false;
		o.expected = NULL;
		if ((r = job_new(log_bank, &o, &j)) < 0)
			return r;
		j->extend = false;
		rp->job[rp->njobs++] = j;
	}
	j->check_header = true;
	if ((r = workers_new(rp)) < 0) {
		if (!j->extend)
			job_free(rp->job[--rp->njobs]);
		else
			j->check_header = false;
		return r;
	}
	rp->configured = true;
	return 0;
}

static void pool_stop(imalog_replay *rp)
{
	pthread_mutex_lock(&rp->lock);
	rp->quit = true;
	pthread_cond_broadcast(&rp->posted);
	pthread_mutex_unlock(&rp->lock);
	for (unsigned int w = 0; w < rp->started; w++)
		pthread_join(rp->workers[w].tid, NULL);
	if (rp->pool)
		pthread_barrier_destroy(&rp->hashed);
	rp->pool = false;
	pthread_cond_destroy(&rp->finished);
	pthread_cond_destroy(&rp->posted);
	pthread_mutex_destroy(&rp->lock);
	rp->started = 0;
}

/*
 * Start the worker threads, for as long as one imalog_replay_reader() call lasts. With one
 * worker, or if no thread can be had, the caller's thread does the hashing itself.
 */
static void pool_start(imalog_replay *rp)
{
	rp->started = 0;
	rp->quit = false;
	if (rp->nworkers < 2)
		return;
	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->posted, NULL);
	pthread_cond_init(&rp->finished, NULL);
	for (unsigned int w = 0; w < rp->nworkers; w++) {
		if (pthread_create(&rp->workers[w].tid, NULL, worker_main, &rp->workers[w]) != 0)
			break;
		rp->started++;
	}
	if (!rp->started) {
		pool_stop(rp);
		return;
	}
	/* the workers wait for a batch before they reach the barrier */
	pthread_barrier_init(&rp->hashed, NULL, rp->started);
	rp->pool = true;
}

/* Hand the batch to the workers, or hash it here if there are none. */
static void batch_start(imalog_replay *rp, const struct imalog_record *recs, size_t n)
{
	rp->recs = recs;
	rp->n = n;
	if (!rp->started) {
		run_share(&rp->workers[0], 1);
		return;
	}
	pthread_mutex_lock(&rp->lock);
	rp->busy = rp->started;
	rp->generation++;
	pthread_cond_broadcast(&rp->posted);
	pthread_mutex_unlock(&rp->lock);
}

/* Wait for the batch's workers; fold their results. Fails at the first bad record. */
static int batch_finish(imalog_replay *rp, const struct imalog_record *recs, size_t n)
{
	const struct imalog_record *bad;

	if (rp->started) {
		pthread_mutex_lock(&rp->lock);
		while (rp->busy)
			pthread_cond_wait(&rp->finished, &rp->lock);
		pthread_mutex_unlock(&rp->lock);
	}
	bad = first_bad(rp, rp->started ? rp->started : 1);
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
	if (!rp->pool && rp->nworkers > 1 && n > 1)
		pool_start(rp);
	batch_start(rp, recs, n);
	return 0;
}

/* One record: no threads, the caller's thread hashes it. */
PUBLIC int imalog_replay_record(imalog_replay *rp, const imalog_record *r)
{
	int e;

	if (rp->failed)
		return -EBADMSG;
	if (!rp->configured && (e = configure(rp, r->digest_alg)) < 0)
		return e;
	batch_start(rp, r, 1);
	return batch_finish(rp, r, 1);
}

/*
 * Two batches in flight: while the workers hash batch A, this thread parses batch B from what
 * the reader already holds; it refills the reader (which moves its buffer) only once A is done.
 * ASCII input rebuilds records in a scratch area that the next batch reuses: one at a time.
 */
static int replay_batches(imalog_replay *rp, imalog_reader *rd)
{
	struct imalog_record *a, *b, *t;
	int n, m, r;

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

PUBLIC int imalog_replay_reader(imalog_replay *rp, imalog_reader *rd)
{
	int r;

	if (!rp->batch && !(rp->batch = calloc(2 * BATCH, sizeof(*rp->batch))))
		return -ENOMEM;
	r = replay_batches(rp, rd);
	if (rp->pool)
		pool_stop(rp);
	return r;
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
