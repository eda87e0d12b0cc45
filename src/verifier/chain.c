// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pieces of a log in order, checked in parallel, then chained: absolute indices run without
 * gap, overlap or reordering, each manifest's start state is the state the chain reached, and
 * each snapshot_aggregate claims the state the chain had at the cut it names.
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
		if (vpiece_check(pc, pl->o, &pc->m->start) == -ENOMEM)
			atomic_store(&pl->stop, true);
	}
	return NULL;
}

static void check_parallel(struct vpieces *ps, const struct verifier_options *o)
{
	struct pool pl = {.ps = ps, .o = o};
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

struct cut {
	uint64_t index;
	const struct pcr_state *state;
};

struct chain {
	const struct verifier_options *o;
	struct verifier_result *res;
	struct cut *cuts; /* every piece boundary the chain passed, ascending */
	size_t ncuts;
	uint64_t last_deleted;
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

/* 3.7: the aggregate must claim exactly the state the verified chain had at its cut. */
static void check_aggregate(struct chain *c, const struct vpiece *pc, const struct vaggr *a)
{
	const struct pcr_state *at = state_at(c, a->deleted);
	struct vfailure *f = &c->res->fail;
	uint32_t banks = a->claim.banks & c->o->banks;

	if (a->deleted > a->index || a->deleted <= c->last_deleted)
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate claims %" PRIu64
		      " records deleted, impossible here (previous cut %" PRIu64 ")",
		      a->deleted, c->last_deleted);
	else if (!at)
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate claims a cut at record %" PRIu64
		      ", which is not a boundary of the pieces verified",
		      a->deleted);
	else if (!banks || a->claim.used != at->used || !vstate_equal(&a->claim, at, banks))
		vfail(f, a->index, a->offset, pc->path,
		      "snapshot_aggregate's PCR values are not "
		      "the state after record %" PRIu64,
		      a->deleted - 1);
	c->last_deleted = a->deleted;
	c->res->aggregates++;
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

static int chain_piece(struct chain *c, struct vpiece *pc, const struct pcr_state **cur)
{
	struct verifier_result *res = c->res;
	int r;

	if (pc->follows)
		pc->first = pc->file_first = res->next;
	if ((r = link_piece(c, pc, *cur)) < 0)
		return r;
	if (!pc->m && (r = vpiece_check(pc, c->o, *cur)) == -ENOMEM)
		return r;
	if (pc->fail.set) {
		res->fail = pc->fail;
		return -EBADMSG;
	}
	for (size_t k = 0; k < pc->naggr && !res->fail.set; k++)
		check_aggregate(c, pc, &pc->aggr[k]);
	if (res->fail.set)
		return -EBADMSG;
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
	}
	return add_cut(c, res->next, *cur);
}

int verifier_run(struct vpieces *ps, const struct verifier_options *o, struct verifier_result *ret)
{
	struct chain c = {.o = o, .res = ret};
	const struct pcr_state *cur = &o->seed;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->next = ret->boundary = o->seed_index;
	ret->boundary_state = o->seed;
	check_parallel(ps, o);
	if (add_cut(&c, o->seed_index, cur) < 0)
		r = -ENOMEM;
	/* A state before any piece matches too: nothing new since the quote. */
	for (size_t i = 0; r == 0 && i < ps->n; i++)
		r = chain_piece(&c, &ps->p[i], &cur);
	if (r == 0)
		ret->end = *cur;
	free(c.cuts);
	return r;
}
