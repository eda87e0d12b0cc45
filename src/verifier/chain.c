// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pieces of a log in order, checked in parallel, then chained: absolute indices run without
 * gap, overlap or reordering, each manifest's start state is the state the chain reached, and
 * each snapshot_aggregate claims the state the chain had at the cut it names, wherever that cut
 * falls, and the boot_aggregate of the boot_aggregate record before it (format.md 3.7).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define NO_OFFSET UINT64_MAX
#define MAX_THREADS 64

void vpieces_free(struct vpieces *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->p[i].m);
		free(ps->p[i].aggr);
		free(ps->p[i].boot);
		free(ps->p[i].cuts);
	}
	free(ps->p);
	memset(ps, 0, sizeof(*ps));
}

struct vpiece *vpieces_add(struct vpieces *ps, const char *path, uint64_t first,
			   enum imalog_byte_order order, struct manifest *m, int fd)
{
	struct vpiece *pc;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;
		struct vpiece *grown = realloc(ps->p, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		ps->p = grown;
		ps->cap = cap;
	}
	pc = &ps->p[ps->n++];
	memset(pc, 0, sizeof(*pc));
	snprintf(pc->path, sizeof(pc->path), "%s", path);
	pc->first = pc->file_first = first;
	pc->order = order;
	pc->m = m; /* transferred */
	pc->fd = fd;
	return pc;
}

/* "<20 digits>.manifest" → its first index; anything else is not a manifest's name. */
static bool manifest_name(const char *name, uint64_t *ret)
{
	char *end;

	if (strlen(name) != 20 + strlen(".manifest") || strcmp(name + 20, ".manifest") != 0 ||
	    name[0] < '0' || name[0] > '9')
		return false;
	errno = 0;
	*ret = strtoull(name, &end, 10);
	return errno == 0 && end == name + 20;
}

static int compare_first(const void *a, const void *b)
{
	const struct vpiece *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static int add_chunk(struct vpieces *ps, const char *dir, uint64_t first, struct vfailure *ret)
{
	char path[4200], err[400];
	struct manifest *m = malloc(sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%.4000s/%020" PRIu64 ".manifest", dir, first);
	if ((r = manifest_read(path, m, err, sizeof(err))) < 0) {
		vfail(ret, first, NO_OFFSET, path, "manifest: %s", err);
		free(m);
		return r == -ENOMEM ? r : -EBADMSG;
	}
	snprintf(path, sizeof(path), "%.4000s/%020" PRIu64 ".chunk", dir, first);
	if (!vpieces_add(ps, path, first, m->order, m, -1)) {
		free(m);
		return -ENOMEM;
	}
	return 0;
}

int vpieces_add_store(struct vpieces *ps, const char *log_dir, uint64_t from, struct vfailure *ret)
{
	DIR *d = opendir(log_dir);
	struct dirent *e;
	size_t before = ps->n;
	int r = 0;

	if (!d) {
		vfail(ret, 0, NO_OFFSET, log_dir, "%s", strerror(errno));
		return -errno;
	}
	while (r == 0 && (e = readdir(d))) {
		uint64_t first;

		if (manifest_name(e->d_name, &first) && first >= from)
			r = add_chunk(ps, log_dir, first, ret);
	}
	closedir(d);
	if (ps->n > before)	/* ps->p is NULL while empty */
		qsort(ps->p + before, ps->n - before, sizeof(*ps->p), compare_first);
	return r;
}

/* ---- checking the pieces on threads ---- */

struct pool {
	struct vpieces *ps;
	const struct verifier_options *o;
	const struct vwant *want;
	atomic_size_t next;
	atomic_bool stop;
};

static void *pool_worker(void *arg)
{
	struct pool *pl = arg;
	size_t i;

	while (!atomic_load(&pl->stop) && (i = atomic_fetch_add(&pl->next, 1)) < pl->ps->n) {
		struct vpiece *pc = &pl->ps->p[i];

		if (!pc->m)
			continue; /* plain pieces need the chain's state: done in order */
		if (vpiece_check(pc, pl->o, &pc->m->start, pl->want) == -ENOMEM)
			atomic_store(&pl->stop, true);
	}
	return NULL;
}

static void check_parallel(struct vpieces *ps, const struct verifier_options *o,
			   const struct vwant *want)
{
	struct pool pl = {.ps = ps, .o = o, .want = want};
	pthread_t tid[MAX_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = o->threads ? o->threads : cpus > 0 ? (unsigned int)cpus : 1, started = 0;

	atomic_init(&pl.next, 0);
	atomic_init(&pl.stop, false);
	n = n > MAX_THREADS ? MAX_THREADS : n;
	for (unsigned int t = 1; t < n; t++)
		if (pthread_create(&tid[started], NULL, pool_worker, &pl) == 0)
			started++;
	pool_worker(&pl);
	for (unsigned int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}

/* ---- the chain ---- */

static int compare_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Sort and drop repeats. */
static size_t sort_unique(uint64_t *v, size_t n)
{
	size_t m = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), compare_u64);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || v[m - 1] != v[i])
			v[m++] = v[i];
	return m;
}

/*
 * The cuts the manifests' aggregates claim: each worker keeps the state where it passes one,
 * so that a cut inside a chunk costs no second pass. A manifest that lies about its aggregates
 * fails its own check; a cut nobody announced is found by a second pass (fill_cuts()).
 */
static int announced_cuts(const struct vpieces *ps, uint64_t **ret, size_t *ret_n)
{
	size_t n = 0, k = 0;
	uint64_t *v;

	for (size_t i = 0; i < ps->n; i++)
		n += ps->p[i].m ? ps->p[i].m->naggregates : 0;
	*ret = NULL;
	*ret_n = 0;
	if (!n)
		return 0;
	if (!(v = malloc(n * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < ps->n; i++)
		for (size_t j = 0; ps->p[i].m && j < ps->p[i].m->naggregates; j++)
			v[k++] = ps->p[i].m->aggregates[j].deleted;
	*ret = v;
	*ret_n = sort_unique(v, n);
	return 0;
}

struct cut {
	uint64_t index;
	const struct pcr_state *state;
};

struct chain {
	const struct verifier_options *o;
	struct verifier_result *res;
	struct vpieces *ps;
	const struct vwant *want;
	struct cut *cuts; /* every piece boundary the chain passed, ascending */
	size_t ncuts;
	uint64_t last_deleted;
	struct vboot boot; /* the last boot_aggregate record passed */
};

static const struct pcr_state *state_at(const struct chain *c, uint64_t index)
{
	size_t lo = 0, hi = c->ncuts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->cuts[mid].index == index)
			return c->cuts[mid].state;
		if (c->cuts[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The piece among the first @upto + 1 chained that holds record @index, or NULL. */
static struct vpiece *piece_of(const struct chain *c, size_t upto, uint64_t index)
{
	size_t lo = 0, hi = upto + 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct vpiece *pc = &c->ps->p[mid];

		if (index < pc->first)
			hi = mid;
		else if (index - pc->first >= pc->count)
			lo = mid + 1;
		else
			return pc;
	}
	return NULL;
}

/* The state before record @index of the pieces chained so far (up to @upto), or NULL. */
static const struct pcr_state *state_before(const struct chain *c, size_t upto, uint64_t index)
{
	const struct pcr_state *st = state_at(c, index);
	const struct vpiece *pc;

	if (st)
		return st;
	pc = piece_of(c, upto, index);
	return pc ? vpiece_cut(pc, index) : NULL;
}

/*
 * Before piece @i's aggregates are checked: the states at their cuts that no worker kept (a
 * cut no manifest announced) come from one more pass over each piece holding some, as far as
 * the last of them. The pieces passed the checks already; a pass that now fails means a file
 * changed under the verifier, and is reported as it is.
 */
static int fill_cuts(struct chain *c, size_t i)
{
	const struct vpiece *pc = &c->ps->p[i];
	uint64_t *need = pc->naggr ? malloc(pc->naggr * sizeof(*need)) : NULL;
	size_t n = 0;
	int r = 0;

	if (pc->naggr && !need)
		return -ENOMEM;
	for (size_t k = 0; k < pc->naggr; k++)
		if (!state_before(c, i, pc->aggr[k].deleted) && piece_of(c, i, pc->aggr[k].deleted))
			need[n++] = pc->aggr[k].deleted;
	n = sort_unique(need, n);
	for (size_t k = 0; k < n && r == 0;) {
		struct vpiece *q = piece_of(c, i, need[k]);
		struct vwant w = {need + k, 0};

		while (k + w.n < n && piece_of(c, i, need[k + w.n]) == q)
			w.n++;
		r = vpiece_cut_states(q, c->o, state_at(c, q->first), &w, &c->res->fail);
		k += w.n;
	}
	free(need);
	return r;
}

static void hexdigest(const uint8_t *d, enum imalog_hash alg, char out[2 * IMALOG_MAX_DIGEST + 1])
{
	imalog_hex(d, imalog_hash_size(alg), out);
}

/* 3.3: the boot_aggregate of the running kernel's own boot_aggregate record, in its PCR. */
static void check_boot(struct chain *c, const struct vpiece *pc, const struct vaggr *a)
{
	const struct vboot *b = &c->boot;
	struct vfailure *f = &c->res->fail;
	char got[2 * IMALOG_MAX_DIGEST + 1], want[2 * IMALOG_MAX_DIGEST + 1];

	if (!b->set) {
		vfail(f, a->index, a->offset, pc->path,
		      "no boot_aggregate record precedes this snapshot_aggregate%s",
		      c->o->seed_index ? " among the records read after the saved state" : "");
		c->res->before_seed = c->o->seed_index > 0;
		return;
	}
	if (!b->readable) {
		vfail(f, a->index, a->offset, pc->path,
		      "the boot_aggregate record %" PRIu64 " has no digest this verifier reads",
		      b->index);
		return;
	}
	hexdigest(a->boot, a->boot_alg, got);
	hexdigest(b->digest, b->alg, want);
	if (a->boot_alg != b->alg || memcmp(a->boot, b->digest, imalog_hash_size(b->alg)) != 0)
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate's boot_aggregate %s:%s is not %s:%s of the "
		      "boot_aggregate record %" PRIu64,
		      imalog_hash_name(a->boot_alg), got, imalog_hash_name(b->alg), want, b->index);
	else if (a->pcr != b->pcr)
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate is in PCR %u, the boot_aggregate record %" PRIu64
		      " in PCR %u: both go to the IMA PCR",
		      a->pcr, b->index, b->pcr);
}

/* 3.7: the aggregate must claim exactly the state the verified chain had at its cut. */
static void check_aggregate(struct chain *c, size_t i, const struct vaggr *a)
{
	const struct vpiece *pc = &c->ps->p[i];
	const struct pcr_state *at = state_before(c, i, a->deleted);
	struct vfailure *f = &c->res->fail;

	if (a->deleted > a->index || a->deleted <= c->last_deleted)
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate claims %" PRIu64
		      " records deleted, impossible here (previous cut %" PRIu64 ")",
		      a->deleted, c->last_deleted);
	else if (a->deleted < c->o->seed_index) {
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate claims a cut at record %" PRIu64
		      ", before record %" PRIu64 " where this run started",
		      a->deleted, c->o->seed_index);
		c->res->before_seed = c->o->seed_index > 0;
	} else if (!at)
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate claims a cut at record %" PRIu64
		      ", which none of the pieces verified holds",
		      a->deleted);
	else if (a->claim.used != at->used || !vstate_equal(&a->claim, at, c->o->banks))
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate's PCR values are not "
		      "the state after record %" PRIu64,
		      a->deleted - 1);
	if (!f->set)
		check_boot(c, pc, a);
	c->last_deleted = a->deleted;
	c->res->aggregates++;
}

/* The piece's boot_aggregate and snapshot_aggregate records, in log order. */
static int check_records(struct chain *c, size_t i)
{
	const struct vpiece *pc = &c->ps->p[i];
	size_t ka = 0, kb = 0;
	int r;

	if ((r = fill_cuts(c, i)) < 0 || c->res->fail.set)
		return r == -ENOMEM ? r : -EBADMSG;
	while ((ka < pc->naggr || kb < pc->nboot) && !c->res->fail.set) {
		if (kb < pc->nboot && (ka == pc->naggr || pc->boot[kb].index < pc->aggr[ka].index))
			c->boot = pc->boot[kb++];
		else
			check_aggregate(c, i, &pc->aggr[ka++]);
	}
	return c->res->fail.set ? -EBADMSG : 0;
}

static int add_cut(struct chain *c, uint64_t index, const struct pcr_state *st)
{
	struct cut *grown;

	if (c->ncuts && c->cuts[c->ncuts - 1].index == index) {
		c->cuts[c->ncuts - 1].state = st;
		return 0;
	}
	grown = realloc(c->cuts, (c->ncuts + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->cuts = grown;
	c->cuts[c->ncuts++] = (struct cut){index, st};
	return 0;
}

/* Place piece @pc after the chain's current end; the state it starts from must be that end. */
static int link_piece(struct chain *c, struct vpiece *pc, const struct pcr_state *cur)
{
	struct verifier_result *res = c->res;
	uint64_t next = res->next;

	if (pc->first > next)
		vfail(&res->fail, next, NO_OFFSET, pc->path,
		      "records %" PRIu64 "..%" PRIu64 " are missing (gap before this piece)", next,
		      pc->first - 1);
	else if (pc->first < next)
		vfail(&res->fail, pc->first, NO_OFFSET, pc->path,
		      "begins at record %" PRIu64
		      ", already covered by the pieces before it (overlap or reordering)",
		      pc->first);
	else if (pc->m && pc->m->first != pc->first)
		vfail(&res->fail, pc->first, NO_OFFSET, pc->path,
		      "its manifest names record %" PRIu64
		      " as its first (moved or reordered chunk)",
		      pc->m->first);
	else if (pc->m && c->o->log_id && strcmp(pc->m->log_id, c->o->log_id) != 0)
		vfail(&res->fail, pc->first, NO_OFFSET, pc->path,
		      "its manifest is for log %.64s, "
		      "not %.64s",
		      pc->m->log_id, c->o->log_id);
	else if (pc->m && (pc->m->end.banks & c->o->banks) != c->o->banks)
		vfail(&res->fail, pc->first, NO_OFFSET, pc->path,
		      "its manifest lacks a bank "
		      "being verified");
	else if (pc->m && !vstate_equal(&pc->m->start, cur, c->o->banks))
		vfail(&res->fail, pc->first, NO_OFFSET, pc->path,
		      "its manifest's start state is "
		      "not the state the records before it give");
	return res->fail.set ? -EBADMSG : 0;
}

static int chain_piece(struct chain *c, size_t i, const struct pcr_state **cur)
{
	struct verifier_result *res = c->res;
	struct vpiece *pc = &c->ps->p[i];
	int r;

	if (pc->follows)
		pc->first = pc->file_first = res->next;
	if ((r = link_piece(c, pc, *cur)) < 0)
		return r;
	if (!pc->m && (r = vpiece_check(pc, c->o, *cur, c->want)) == -ENOMEM)
		return r;
	if (pc->fail.set) {
		res->fail = pc->fail;
		return -EBADMSG;
	}
	if ((r = check_records(c, i)) < 0)
		return r;
	if (pc->matched && !res->matched) {
		res->matched = true;
		res->match = pc->match;
	}
	res->records += pc->count;
	res->violations += pc->violations;
	res->next += pc->count;
	*cur = &pc->end;
	if (pc->m && (!res->matched || res->match >= res->next)) {
		res->boundary = res->next;
		res->boundary_state = pc->end;
		res->boundary_boot = c->boot;
	}
	return add_cut(c, res->next, *cur);
}

/*
 * A chunk whose end is the cut of a snapshot_aggregate the chain checked is proven by it too,
 * unless a quote proves it. Cuts ascend along the chain (check_aggregate()), as chunk ends do.
 */
static void aggregate_proofs(struct vpieces *ps)
{
	size_t j = 0, k = 0; /* the next aggregate: the k-th of piece j */

	for (size_t i = 0; i < ps->n; i++) {
		struct vpiece *pc = &ps->p[i];
		uint64_t end = pc->first + pc->count;

		while (j < ps->n && (k == ps->p[j].naggr || ps->p[j].aggr[k].deleted < end)) {
			if (k == ps->p[j].naggr) {
				j++;
				k = 0;
			} else {
				k++;
			}
		}
		if (pc->m && pc->proof == VPROOF_MANIFEST && j < ps->n &&
		    ps->p[j].aggr[k].deleted == end)
			pc->proof = VPROOF_AGGREGATE;
	}
}

int verifier_run(struct vpieces *ps, const struct verifier_options *o, struct verifier_result *ret)
{
	struct chain c = {.o = o, .res = ret, .ps = ps, .boot = o->seed_boot};
	const struct pcr_state *cur = &o->seed;
	struct vwant want = {0};
	uint64_t *cuts = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->next = ret->boundary = o->seed_index;
	ret->boundary_state = o->seed;
	ret->boundary_boot = o->seed_boot;
	if ((r = announced_cuts(ps, &cuts, &want.n)) < 0)
		return r;
	want.at = cuts;
	c.want = &want;
	check_parallel(ps, o, &want);
	if (add_cut(&c, o->seed_index, cur) < 0)
		r = -ENOMEM;
	/* A state before any piece matches too: nothing new since the quote. */
	for (size_t i = 0; r == 0 && i < ps->n; i++)
		r = chain_piece(&c, i, &cur);
	if (r == 0) {
		ret->end = *cur;
		aggregate_proofs(ps);
	}
	free(c.cuts);
	free(cuts);
	return r;
}
