// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The measurement lists and the TPM, after ima_queue.c with the export/delete series:
 * ima_add_template_entry() appends and extends every bank, ima_queue_stage() moves the whole
 * current list to the staged one, ima_queue_staged_delete_all() frees it,
 * ima_queue_delete_partial() frees the oldest N current records. Errors and their order are the
 * kernel's; ESTALE stands for "measurement suspended for kexec" everywhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

#define LIST_MIN 1024

void si_list_free(struct si_list *l)
{
	free(l->idx);
	*l = (struct si_list){0};
}

int si_list_push(struct si_list *l, uint64_t idx)
{
	if (l->head > 0 && l->head >= l->len) {
		/* most of the array is deleted records: move the live ones down */
		memmove(l->idx, l->idx + l->head, l->len * sizeof(*l->idx));
		l->head = 0;
	}
	if (l->head + l->len == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : LIST_MIN;
		uint64_t *p = realloc(l->idx, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->idx = p;
		l->cap = cap;
	}
	l->idx[l->head + l->len++] = idx;
	return 0;
}

/* ima_pcr_extend(): every bank with its own digest; a violation as all 0xff. */
static void tpm_extend(struct si_state *st, const struct si_record *r)
{
	uint8_t ff[IMALOG_MAX_DIGEST], buf[2 * IMALOG_MAX_DIGEST];

	memset(ff, 0xff, sizeof(ff));
	for (unsigned int b = 0; b < st->nbanks; b++) {
		unsigned int size = st->bank[b].size;

		memcpy(buf, st->pcr[r->pcr][b], size);
		memcpy(buf + size, r->violation ? ff : si_digest(st, r, b), size);
		EVP_Digest(buf, 2 * size, st->pcr[r->pcr][b], NULL, st->bank[b].md, NULL);
	}
	st->pcr_used |= 1ull << r->pcr;
}

/* A record joins the truth and the TPM; the caller puts it on a list. Takes @r. */
int si_truth_add(struct si_state *st, struct si_record *r)
{
	if (st->ntruth == st->truth_cap) {
		uint64_t cap = st->truth_cap ? 2 * st->truth_cap : LIST_MIN;
		struct si_record **p = realloc(st->truth, cap * sizeof(*p));

		if (!p) {
			free(r);
			return -ENOMEM;
		}
		st->truth = p;
		st->truth_cap = cap;
	}
	st->truth[st->ntruth++] = r;
	st->violations += r->violation;
	tpm_extend(st, r);
	return 0;
}

/*
 * ima_add_template_entry(): nothing is added while measurement is suspended (ENODEV). Takes @r.
 * A record the state directory failed to keep is still measured (si_persist_record() says so).
 */
int si_append(struct si_state *st, struct si_record *r)
{
	int err;

	if (st->suspended) {
		free(r);
		return -ENODEV;
	}
	if ((err = si_list_push(&st->current, st->ntruth)) < 0) {
		free(r);
		return err;
	}
	if ((err = si_truth_add(st, r)) < 0) {
		st->current.len--;
		return err;
	}
	st->htable++;
	si_persist_record(st, r);
	return 0;
}

int si_stage(struct si_state *st)
{
	if (st->staged.len)
		return -EEXIST;
	if (!st->current.len)
		return -ENOENT;
	if (st->suspended)
		return -ESTALE;
	si_list_free(&st->staged);
	st->staged = st->current;
	st->current = (struct si_list){0};
	return 0;
}

/* After a cut: the snapshot_aggregate record, if the option is on. */
static int after_cut(struct si_state *st, uint64_t n)
{
	struct si_record *r;
	int err;

	st->deleted += n;
	if (!st->aggregate)
		return 0;
	if ((err = si_aggregate_record(st, &r)) < 0)
		return err;
	return si_append(st, r);
}

int si_delete_staged(struct si_state *st)
{
	size_t n = st->staged.len;
	int err;

	if (!n)
		return -ENOENT;
	if (st->suspended)
		return -ESTALE;
	if (st->aggregate && (err = si_aggregate_cut(st, &st->staged, n)) < 0)
		return err;
	si_list_free(&st->staged);
	/* ima_alloc_replace_htable(): an empty table, the current list's digests go too */
	if (st->flush_htable)
		st->htable = 0;
	return after_cut(st, n);
}

int si_delete_n(struct si_state *st, uint64_t n)
{
	int err;

	/* docs/format.md 3.1: with the aggregate every cut removes the oldest records */
	if (st->aggregate && st->staged.len)
		return -EEXIST;
	if (n > st->current.len)
		return -ENOENT;
	if (st->suspended)
		return -ESTALE;
	if (st->aggregate && (err = si_aggregate_cut(st, &st->current, n)) < 0)
		return err;
	st->current.head += n;
	st->current.len -= n;
	return after_cut(st, n);
}

/*
 * A kexec soft reboot: the records travel to the next kernel, staged ones first
 * (ima_dump_measurement_list()), with the deleted count and V (docs/format.md 3.6); the TPM keeps
 * its PCRs; the new kernel measures its own boot_aggregate.
 */
int si_kexec(struct si_state *st)
{
	struct si_list carried = {0};
	struct si_record *r;
	int err = 0;

	for (size_t i = 0; !err && i < st->staged.len; i++)
		err = si_list_push(&carried, st->staged.idx[st->staged.head + i]);
	for (size_t i = 0; !err && i < st->current.len; i++)
		err = si_list_push(&carried, st->current.idx[st->current.head + i]);
	if (err < 0) {
		si_list_free(&carried);
		return err;
	}
	si_list_free(&st->staged);
	si_list_free(&st->current);
	st->current = carried;
	st->htable = carried.len;	/* ima_restore_measurement_list() adds each one */
	st->suspended = false;
	if ((err = si_gen_boot_aggregate(st, &r)) < 0)
		return err;
	return si_append(st, r);
}
