// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The stand-in's state from its configuration: the TPM banks, the firmware PCRs the
 * boot_aggregate covers, and the first records (a seed log, a saved state, or a cold boot's
 * boot_aggregate).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "standin.h"

const uint8_t *si_digest(const struct si_state *st, const struct si_record *r, unsigned int b)
{
	return r->data + r->raw_len + st->bank[b].off;
}

int si_bank_index(const struct si_state *st, enum imalog_hash alg)
{
	for (unsigned int b = 0; b < st->nbanks; b++)
		if (st->bank[b].alg == alg)
			return (int)b;
	return -1;
}

static int add_bank(struct si_state *st, const char *name)
{
	struct si_bank *bk = &st->bank[st->nbanks];
	enum imalog_hash alg;
	int err;

	if ((err = imalog_hash_from_name(name, &alg)) < 0)
		return err;
	if (si_bank_index(st, alg) >= 0 || st->nbanks == SI_MAX_BANKS)
		return -EINVAL;
	bk->alg = alg;
	bk->name = imalog_hash_name(alg);
	bk->md = EVP_get_digestbyname(bk->name);
	if (!bk->md)
		return -EOPNOTSUPP;
	bk->size = (unsigned int)imalog_hash_size(alg);
	bk->off = st->digests_len;
	st->digests_len += bk->size;
	st->nbanks++;
	return 0;
}

/* "sha1,sha256": the banks in the TPM's allocated_banks order. SHA-1 must be one of them. */
static int parse_banks(struct si_state *st, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int err = copy ? 0 : -ENOMEM;

	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && !err;
	     t = strtok_r(NULL, ",", &save))
		err = add_bank(st, t);
	free(copy);
	if (!err && si_bank_index(st, IMALOG_SHA1) < 0)
		err = -EINVAL;
	return err;
}

/* Firmware PCRs 0-9, fixed for a seed: what the boot_aggregate hashes. */
static int firmware_pcrs(struct si_state *st, uint64_t seed)
{
	char text[64];

	for (unsigned int p = 0; p < SI_FIRMWARE_PCRS; p++) {
		int len = snprintf(text, sizeof(text), "firmware PCR %u, seed %" PRIu64, p, seed);

		for (unsigned int b = 0; b < st->nbanks; b++) {
			const EVP_MD *md = st->bank[b].md;

			if (!EVP_Digest(text, (size_t)len, st->pcr[p][b], NULL, md, NULL))
				return -EIO;
		}
	}
	return 0;
}

/* boot_aggregate=<alg>:<hex> of docs/format.md 3.3 from a boot_aggregate record's d-ng. */
static void note_boot_aggregate(struct si_state *st, const imalog_record *rec)
{
	struct imalog_field d, n;
	const uint8_t *colon;
	size_t alg_len;

	if (imalog_record_field_count(rec) < 2 || imalog_record_field(rec, 0, &d) < 0 ||
	    imalog_record_field(rec, 1, &n) < 0 || d.format != IMALOG_FIELD_DIGEST_ALGO ||
	    n.len != sizeof("boot_aggregate") || memcmp(n.data, "boot_aggregate", n.len))
		return;
	colon = memchr(d.data, ':', d.len);
	if (!colon || (alg_len = (size_t)(colon - d.data)) + 2 > d.len ||
	    alg_len + 1 + 2 * (d.len - alg_len - 2) >= sizeof(st->boot_aggregate))
		return;
	memcpy(st->boot_aggregate, d.data, alg_len + 1);
	imalog_hex(colon + 2, d.len - alg_len - 2, st->boot_aggregate + alg_len + 1);
}

static int seed_one(struct si_state *st, const imalog_record *rec, imalog_buf *bin)
{
	struct si_record *r;
	const char *data;
	size_t len;
	int err;

	imalog_buf_clear(bin);
	if ((err = imalog_render_binary(rec, bin)) < 0)
		return err;
	data = imalog_buf_data(bin, &len);
	if ((err = si_record_from_raw(st, (const uint8_t *)data, len, &r)) < 0)
		return err;
	note_boot_aggregate(st, rec);
	return si_append(st, r);
}

/* The initial list from a binary log with SHA-1 template digests, in this host's byte order. */
static int load_seed(struct si_state *st, const char *path)
{
	const struct imalog_reader_options o = {
		.format = {IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_HOST_ORDER},
	};
	imalog_reader *rd = NULL;
	imalog_buf *bin = imalog_buf_new();
	const imalog_record *rec;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		err = -errno;
	else if (!bin)
		err = -ENOMEM;
	else
		err = imalog_reader_new(fd, &o, &rd);
	while (err >= 0 && (err = imalog_reader_next(rd, &rec)) > 0)
		err = seed_one(st, rec, bin);
	if (err < 0) {
		uint64_t index = 0, offset = 0;

		if (rd)
			imalog_reader_where(rd, &index, &offset);
		fprintf(stderr, "imalog-standin: %s: record %" PRIu64 " at byte %" PRIu64 ": %s\n",
			path, index, offset, strerror(-err));
	}
	imalog_reader_free(rd);
	imalog_buf_free(bin);
	if (fd >= 0)
		close(fd);
	return err;
}

static int first_records(struct si_state *st, const struct si_config *cfg)
{
	struct si_record *r;
	bool loaded = false;
	int err;

	if (cfg->state_dir && (err = si_persist_open(st, cfg->state_dir, &loaded)) < 0)
		return err;
	if (loaded)
		return cfg->seed_log ? -EEXIST : 0;
	if (cfg->seed_log)
		err = load_seed(st, cfg->seed_log);
	else if ((err = si_gen_boot_aggregate(st, &r)) == 0)
		err = si_append(st, r);
	return err < 0 ? err : si_persist_meta(st);
}

static int configure(struct si_state *st, const struct si_config *cfg)
{
	char *zeros = st->boot_aggregate;
	int err;

	st->staging = cfg->staging;
	st->aggregate = cfg->aggregate && cfg->staging;
	st->flush_htable = cfg->flush_htable;
	st->release_grace_ms = cfg->release_grace_ms;
	st->owner = getuid();
	st->started = time(NULL);
	st->rng = cfg->seed;
	st->truth_fd = -1;
	if ((err = parse_banks(st, cfg->banks)) < 0 ||
	    (err = imalog_hash_from_name(cfg->ima_hash, &st->ima_hash)) < 0 ||
	    (err = firmware_pcrs(st, cfg->seed)) < 0)
		return err;
	/* No boot_aggregate record (a seed log without one): all zeros, as without a TPM. */
	zeros += snprintf(zeros, 16, "%s:", imalog_hash_name(st->ima_hash));
	memset(zeros, '0', 2 * imalog_hash_size(st->ima_hash));
	return 0;
}

/* Waits on it have deadlines on the monotonic clock (fs.c). */
static void init_released(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

int si_state_new(const struct si_config *cfg, struct si_state **ret)
{
	struct si_state *st = calloc(1, sizeof(*st));
	int err;

	*ret = NULL;
	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	init_released(&st->released);
	if ((err = configure(st, cfg)) < 0 || (err = first_records(st, cfg)) < 0) {
		si_state_free(st);
		return err;
	}
	*ret = st;
	return 0;
}

void si_state_free(struct si_state *st)
{
	if (!st)
		return;
	for (uint64_t i = 0; i < st->ntruth; i++)
		free(st->truth[i]);
	free(st->truth);
	si_list_free(&st->current);
	si_list_free(&st->staged);
	si_inject_clear(st);
	free(st->state_dir);
	free(st->files);
	if (st->truth_fd >= 0)
		close(st->truth_fd);
	pthread_cond_destroy(&st->released);
	pthread_mutex_destroy(&st->lock);
	free(st);
}
