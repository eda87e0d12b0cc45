// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Faults on demand: rules say what the next matching open, read or write does (fail with an
 * errno, read at most some bytes, wait first). A rule lets its first `skip` matches pass, then
 * affects `count` of them, so a test can walk a fault through every operation of a run, as
 * SQLite's tests walk allocation failures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

static const char *const op_names[SI_OP_COUNT] = {"open", "read", "write"};

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{"EPERM", EPERM},   {"ENOENT", ENOENT}, {"EINTR", EINTR},   {"EIO", EIO},
	{"ENXIO", ENXIO},   {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EACCES", EACCES},
	{"EFAULT", EFAULT}, {"EBUSY", EBUSY},	{"EEXIST", EEXIST}, {"ENODEV", ENODEV},
	{"EINVAL", EINVAL}, {"ENFILE", ENFILE}, {"ENOSPC", ENOSPC}, {"ERANGE", ERANGE},
	{"ESTALE", ESTALE}, {"ETIMEDOUT", ETIMEDOUT},
};

const char *si_op_name(enum si_op op)
{
	return op < SI_OP_COUNT ? op_names[op] : NULL;
}

int si_op_from_name(const char *name, enum si_op *ret)
{
	for (int op = 0; op < SI_OP_COUNT; op++)
		if (!strcmp(name, op_names[op])) {
			*ret = (enum si_op)op;
			return 0;
		}
	return -EINVAL;
}

int si_errno_from_name(const char *name, int *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (!strcmp(name, errnos[i].name)) {
			*ret = errnos[i].err;
			return 0;
		}
	return -EINVAL;
}

const char *si_errno_name(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return "E?";
}

int si_inject_add(struct si_state *st, const struct si_rule *rule)
{
	struct si_rule *r = malloc(sizeof(*r)), **tail = &st->rules;

	if (!r)
		return -ENOMEM;
	*r = *rule;
	r->next = NULL;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	return 0;
}

void si_inject_clear(struct si_state *st)
{
	while (st->rules) {
		struct si_rule *next = st->rules->next;

		free(st->rules);
		st->rules = next;
	}
}

static void apply(const struct si_rule *r, struct si_fault *f)
{
	if (r->error && !f->error)
		f->error = r->error;
	if (r->short_len && (!f->short_len || r->short_len < f->short_len))
		f->short_len = r->short_len;
	f->delay_ms += r->delay_ms;
}

/* Count the operation and decide its faults; rules used up go away. */
void si_inject_take(struct si_state *st, enum si_op op, const char *file, struct si_fault *ret)
{
	struct si_rule **pp = &st->rules;

	*ret = (struct si_fault){0};
	st->ops[op]++;
	while (*pp) {
		struct si_rule *r = *pp;

		if (r->op != op || (r->file[0] && strcmp(r->file, file))) {
			pp = &r->next;
			continue;
		}
		if (r->skip) {
			r->skip--;
			pp = &r->next;
			continue;
		}
		apply(r, ret);
		if (r->count != UINT64_MAX && --r->count == 0) {
			*pp = r->next;
			free(r);
			continue;
		}
		pp = &r->next;
	}
}
