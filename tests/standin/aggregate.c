// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The snapshot_aggregate record of docs/format.md section 3: after every deletion, V (the value
 * of every PCR any deleted record extended, in every bank) is replayed with libimalog over the
 * records just cut, from the values of the previous cut, and an ima-buf record carrying V,
 * the deleted count and the boot_aggregate is appended to the current list.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

static int replay_new(const struct si_state *st, imalog_replay **ret)
{
	struct imalog_replay_options o = {.threads = 1};
	imalog_replay *rp;
	int err;

	for (unsigned int b = 0; b < st->nbanks; b++)
		o.banks |= 1u << st->bank[b].alg;
	if ((err = imalog_replay_new(&o, &rp)) < 0)
		return err;
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (unsigned int b = 0; !err && b < st->nbanks && (st->agg_used >> p & 1); b++)
			err = imalog_replay_seed(rp, p, st->bank[b].alg, st->agg[p][b],
						 st->bank[b].size);
	if (err < 0) {
		imalog_replay_free(rp);
		return err;
	}
	*ret = rp;
	return 0;
}

static int replay_cut(const struct si_state *st, imalog_replay *rp, const struct si_list *l,
		      size_t n)
{
	const struct imalog_format fmt = {IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_HOST_ORDER};
	imalog_record *rec = imalog_record_new();
	int err = rec ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < n; i++) {
		const struct si_record *r = si_list_get(st, l, i);
		ptrdiff_t len = imalog_parse_record(&fmt, r->data, r->raw_len, NULL, 0, rec);

		err = len < 0 ? (int)len : imalog_replay_record(rp, rec);
	}
	imalog_record_free(rec);
	return err;
}

/* V over the oldest @n records of @l, which are about to be deleted. */
int si_aggregate_cut(struct si_state *st, const struct si_list *l, size_t n)
{
	imalog_replay *rp;
	int err;

	if ((err = replay_new(st, &rp)) < 0)
		return err;
	if ((err = replay_cut(st, rp, l, n)) == 0) {
		for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
			if (!imalog_replay_pcr_used(rp, p))
				continue;
			for (unsigned int b = 0; b < st->nbanks; b++)
				memcpy(st->agg[p][b], imalog_replay_pcr(rp, p, st->bank[b].alg),
				       st->bank[b].size);
			st->agg_used |= 1ull << p;
		}
	}
	imalog_replay_free(rp);
	return err;
}

/* version=1;deleted=D;boot_aggregate=<alg>:<hex>;pcr<P>_<bank>=<hex>;... (3.3) */
static char *aggregate_text(const struct si_state *st, size_t *ret_len)
{
	size_t size = 256 + 64 * SI_MAX_BANKS * (24 + 2 * IMALOG_MAX_DIGEST), len;
	char *text = malloc(size), hex[2 * IMALOG_MAX_DIGEST + 1];

	if (!text)
		return NULL;
	len = (size_t)snprintf(text, size, "version=1;deleted=%" PRIu64 ";boot_aggregate=%s;",
			       st->deleted, st->boot_aggregate);
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		for (unsigned int b = 0; b < st->nbanks && (st->agg_used >> p & 1); b++) {
			imalog_hex(st->agg[p][b], st->bank[b].size, hex);
			len += (size_t)snprintf(text + len, size - len, "pcr%u_%s=%s;", p,
						st->bank[b].name, hex);
		}
	}
	*ret_len = len;
	return text;
}

int si_aggregate_record(const struct si_state *st, struct si_record **ret)
{
	size_t len;
	char *text = aggregate_text(st, &len);
	int err;

	if (!text)
		return -ENOMEM;
	err = si_gen_buf(st, SI_MEASURE_PCR, "snapshot_aggregate", text, (uint32_t)len, ret);
	free(text);
	return err;
}
