// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One verification as the imalog command runs it: gather the pieces (a store's chunks, plain
 * files, the kernel's list), start from the saved state when it still applies, and fall back to
 * a verification from boot when the evidence contradicts that state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

void vrun_free(struct vrun *v)
{
	vpieces_free(&v->ps);
	vstate_free(&v->saved);
}

static int resolve_log(struct vrun *v)
{
	struct store *st;
	int r = store_open(v->store_root, false, &st);

	if (r < 0)
		return r;
	if (v->log_id)
		snprintf(v->used_log_id, sizeof(v->used_log_id), "%s", v->log_id);
	else
		r = store_latest_log(st, v->used_log_id, sizeof(v->used_log_id));
	store_free(st);
	if (r == 0 && (!v->used_log_id[0] || strchr(v->used_log_id, '/')))
		r = -EINVAL;
	if (r == 0) {
		snprintf(v->log_dir, sizeof(v->log_dir), "%.3000s/logs/%s", v->store_root,
			 v->used_log_id);
		snprintf(v->keys_dir, sizeof(v->keys_dir), "%.3000s/keys", v->store_root);
	}
	return r;
}

static void use_state(struct vrun *v, struct verifier_options *o, int r, const char *err);

/* Use the saved state only when it is for this log (same boot) and holds the banks verified. */
static void load_state(struct vrun *v, struct verifier_options *o)
{
	char err[256];
	int r = vstate_read(v->state_path, &v->saved, err, sizeof(err));

	use_state(v, o, r, err);
}

/* A checkpoint is used like a saved state once its signature verifies; else the run fails. */
static int load_checkpoint(struct vrun *v, struct verifier_options *o)
{
	char err[512];
	int r = checkpoint_read(v->checkpoint_in, v->trusted_key, &v->saved, err, sizeof(err));

	if (r < 0) {
		vfail(&v->res.fail, 0, UINT64_MAX, v->checkpoint_in, "checkpoint: %s", err);
		return r == -EBADMSG ? r : -EINVAL;
	}
	use_state(v, o, 0, "");
	v->from_checkpoint = v->resumed;
	return 0;
}

static void use_state(struct vrun *v, struct verifier_options *o, int r, const char *err)
{
	if (r == -ENOENT) {
		snprintf(v->restart, sizeof(v->restart), "no saved state yet: verifying from boot");
		return;
	}
	if (r < 0)
		snprintf(v->restart, sizeof(v->restart),
			 "the saved state cannot be used (%s): "
			 "verifying from boot",
			 err);
	else if (strcmp(v->saved.log_id, v->used_log_id) != 0)
		snprintf(v->restart, sizeof(v->restart),
			 "the saved state is for log %.64s, this is "
			 "log %.64s (a reboot): verifying from boot",
			 v->saved.log_id, v->used_log_id);
	else if (v->saved.next && (v->saved.state.banks & o->banks) != o->banks)
		snprintf(v->restart, sizeof(v->restart),
			 "the saved state lacks a bank being "
			 "verified: verifying from boot");
	else {
		v->resumed = true;
		o->seed_index = v->saved.next;
		o->seed = v->saved.state;
		o->seed_boot = v->saved.boot;
		return;
	}
	vstate_free(&v->saved);
}

static int add_pieces(struct vrun *v, const struct verifier_options *o)
{
	uint64_t next = o->seed_index;
	struct vpiece *pc;
	int r;

	if (v->store_root &&
	    (r = vpieces_add_store(&v->ps, v->log_dir, o->seed_index, &v->res.fail)) < 0)
		return r;
	v->chunks = v->ps.n;
	if (v->ps.n)
		next = v->ps.p[v->ps.n - 1].first + v->ps.p[v->ps.n - 1].m->count;
	for (size_t i = 0; i < v->nplain; i++) {
		uint64_t first = v->plain[i].have_first ? v->plain[i].first : next;

		if (!(pc = vpieces_add(&v->ps, v->plain[i].path, first, v->plain_order, NULL, -1)))
			return -ENOMEM;
		/* Its length is known once replayed: a file without a start follows it. */
		pc->follows = !v->plain[i].have_first && i > 0;
	}
	if (v->kernel_fd < 0)
		return 0;
	pc = vpieces_add(&v->ps, "the kernel's list", v->kernel_head, IMALOG_HOST_ORDER, NULL,
			 v->kernel_fd);
	if (!pc)
		return -ENOMEM;
	/* Records the kernel still holds that are also in the store are read there. */
	if (!v->nplain)
		pc->first = v->kernel_head > next ? v->kernel_head : next;
	return 0;
}

/*
 * Retention dropped the chunks before `dropped` (format.md 4.6): a chain that starts before it
 * cannot be built, and saying why beats naming a gap. The file is only read for this message:
 * the gap would fail the run anyway.
 */
static int check_dropped(struct vrun *v, const struct verifier_options *o)
{
	char path[4200];
	uint64_t k = 0;

	if (!v->store_root || store_read_index(v->log_dir, "dropped", &k) < 0 ||
	    o->seed_index >= k)
		return 0;
	snprintf(path, sizeof(path), "%.4000s/dropped", v->log_dir);
	vfail(&v->res.fail, o->seed_index, UINT64_MAX, path,
	      "records %" PRIu64 "..%" PRIu64 " were dropped from the store after its verifiers "
	      "acknowledged them: the log no longer starts at record %" PRIu64 "; verify from a "
	      "saved state (--state) or a checkpoint (--from-checkpoint) at record %" PRIu64
	      " or later",
	      o->seed_index, k - 1, o->seed_index, k);
	return -EBADMSG;
}

static int attempt(struct vrun *v, struct verifier_options *o)
{
	struct timespec t0, t1;
	int r;

	vpieces_free(&v->ps);
	memset(&v->res, 0, sizeof(v->res));
	if ((r = check_dropped(v, o)) < 0 || (r = add_pieces(v, o)) < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = verifier_run(&v->ps, o, &v->res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	v->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return r;
}

int vrun_verify(struct vrun *v, struct verifier_options *o)
{
	int r;

	memset(&o->seed, 0, sizeof(o->seed));
	memset(&o->seed_boot, 0, sizeof(o->seed_boot));
	o->seed.banks = o->banks;
	o->seed_index = 0;
	if (v->store_root && (r = resolve_log(v)) < 0) {
		vfail(&v->res.fail, 0, UINT64_MAX, v->store_root, "no log to verify (%s)",
		      strerror(-r));
		return r;
	}
	if (v->store_root) {
		o->log_id = v->used_log_id;
		o->keys_dir = v->keys_dir;
	}
	if (v->state_path && v->store_root)
		load_state(v, o);
	if (!v->resumed && v->checkpoint_in && v->store_root && (r = load_checkpoint(v, o)) < 0)
		return r;
	r = attempt(v, o);
	if (r == -EBADMSG && v->resumed &&
	    (v->res.fail.index <= o->seed_index || v->res.before_seed)) {
		/* The pieces do not continue the saved state: only now re-read the old records. */
		snprintf(v->restart, sizeof(v->restart),
			 "%s at record %" PRIu64 " (%.200s): verifying from boot",
			 v->res.before_seed
				 ? "the evidence needs records older than the saved state"
				 : "the evidence contradicts the saved state",
			 v->res.fail.index, v->res.fail.reason);
		v->resumed = false;
		vstate_free(&v->saved);
		memset(&o->seed, 0, sizeof(o->seed));
		memset(&o->seed_boot, 0, sizeof(o->seed_boot));
		o->seed.banks = o->banks;
		o->seed_index = 0;
		r = attempt(v, o);
	}
	return r;
}

int vrun_save(struct vrun *v, const struct verifier_options *o)
{
	struct vstate s = {0};
	int r;

	if ((!v->state_path && !v->checkpoint_out) || !v->store_root)
		return 0;
	snprintf(s.log_id, sizeof(s.log_id), "%s", v->used_log_id);
	s.next = v->res.boundary;
	s.state = v->res.boundary_state;
	s.boot = v->res.boundary_boot;
	s.verified = v->res.matched ? v->res.match : v->res.next;
	if (s.verified < s.next)
		s.verified = s.next;
	if (v->resumed && v->saved.nchunks) {
		s.chunks = v->saved.chunks; /* transferred */
		s.nchunks = v->saved.nchunks;
		v->saved.chunks = NULL;
		v->saved.nchunks = 0;
	}
	r = vstate_add_chunks(&s, &v->ps, s.next);
	if (r == 0 && v->state_path)
		r = vstate_write(&s, v->state_path);
	if (r == 0 && v->checkpoint_out && (r = vstate_write(&s, v->checkpoint_out)) == 0)
		r = checkpoint_sign(v->checkpoint_out, v->signing_key);
	vstate_free(&s);
	return r;
}
