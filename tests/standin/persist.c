// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state directory (--state DIR), so that a stand-in started again finds the kernel as it
 * was: DIR/truth holds every record ever appended, as binary_runtime_measurements shows them
 * (appended as they come); DIR/meta the rest, rewritten and renamed into place after every
 * change: which records are on which list, the deleted count, V, the generator's state.
 *
 *   imalog-standin-state 1
 *   banks sha1,sha256
 *   records 1234
 *   deleted 1000
 *   suspended 0
 *   rng 123456789
 *   boot_aggregate sha256:<hex>
 *   current 1000+234          (ranges of truth positions: first+count, comma-separated)
 *   staged
 *   agg 10 sha1 <hex>         (V, one line per PCR and bank)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "standin.h"

#define META_VERSION "imalog-standin-state 1"

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void si_persist_record(struct si_state *st, const struct si_record *r)
{
	int err;

	if (st->truth_fd >= 0 && (err = write_all(st->truth_fd, r->data, r->raw_len)) < 0)
		fprintf(stderr, "imalog-standin: %s/truth: %s\n", st->state_dir, strerror(-err));
}

static void banks_text(const struct si_state *st, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned int b = 0; b < st->nbanks && len < size; b++)
		len += (size_t)snprintf(out + len, size - len, "%s%s", b ? "," : "",
					st->bank[b].name);
}

static void write_list(const char *key, const struct si_list *l, FILE *f)
{
	const char *sep = " ";

	fputs(key, f);
	for (size_t i = 0, n; i < l->len; i += n) {
		uint64_t first = l->idx[l->head + i];

		for (n = 1; i + n < l->len && l->idx[l->head + i + n] == first + n; n++)
			;
		fprintf(f, "%s%" PRIu64 "+%zu", sep, first, n);
		sep = ",";
	}
	fputc('\n', f);
}

static void write_meta(const struct si_state *st, FILE *f)
{
	char hex[2 * IMALOG_MAX_DIGEST + 1], banks[128];

	banks_text(st, banks, sizeof(banks));
	fprintf(f, "%s\nbanks %s\n", META_VERSION, banks);
	fprintf(f, "records %" PRIu64 "\ndeleted %" PRIu64 "\nsuspended %d\nrng %" PRIu64
		   "\nboot_aggregate %s\nhtable %" PRIu64 "\n",
		st->ntruth, st->deleted, st->suspended, st->rng, st->boot_aggregate, st->htable);
	write_list("current", &st->current, f);
	write_list("staged", &st->staged, f);
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		for (unsigned int b = 0; b < st->nbanks && (st->agg_used >> p & 1); b++) {
			imalog_hex(st->agg[p][b], st->bank[b].size, hex);
			fprintf(f, "agg %u %s %s\n", p, st->bank[b].name, hex);
		}
	}
}

int si_persist_meta(struct si_state *st)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	FILE *f;
	int err = 0;

	if (!st->state_dir)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/meta.tmp", st->state_dir);
	snprintf(path, sizeof(path), "%s/meta", st->state_dir);
	if (!(f = fopen(tmp, "we")))
		err = -errno;
	if (f) {
		write_meta(st, f);
		if (fflush(f) || ferror(f))
			err = -EIO;
		if (fclose(f) && !err)
			err = -errno;
	}
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		fprintf(stderr, "imalog-standin: %s: %s\n", path, strerror(-err));
	return err;
}

/* "first+count,first+count" into @l; every position must be a record of the truth. */
static int parse_list(const struct si_state *st, char *text, struct si_list *l)
{
	char *save = NULL;
	int err = 0;

	for (char *t = strtok_r(text, ",", &save); t && !err; t = strtok_r(NULL, ",", &save)) {
		uint64_t first, n;

		if (sscanf(t, "%" SCNu64 "+%" SCNu64, &first, &n) != 2 || first > st->ntruth ||
		    n > st->ntruth - first)
			return -EBADMSG;
		for (uint64_t i = 0; !err && i < n; i++)
			err = si_list_push(l, first + i);
	}
	return err;
}

static int parse_agg(struct si_state *st, const char *value)
{
	char bank[16], hex[2 * IMALOG_MAX_DIGEST + 1];
	enum imalog_hash alg;
	unsigned int p;
	int b;

	if (sscanf(value, "%u %15s %128s", &p, bank, hex) != 3 || p >= IMALOG_MAX_PCRS ||
	    imalog_hash_from_name(bank, &alg) < 0 || (b = si_bank_index(st, alg)) < 0 ||
	    imalog_unhex(hex, strlen(hex), st->agg[p][b], st->bank[b].size) < 0)
		return -EBADMSG;
	st->agg_used |= 1ull << p;
	return 0;
}

static int meta_number(const char *value, uint64_t *ret)
{
	return sscanf(value, "%" SCNu64, ret) == 1 ? 0 : -EBADMSG;
}

static int meta_line(struct si_state *st, char *key, char *value, uint64_t *records)
{
	char banks[128];

	if (!strcmp(key, "banks")) {
		banks_text(st, banks, sizeof(banks));
		return strcmp(banks, value) ? -EINVAL : 0;
	}
	if (!strcmp(key, "records"))
		return meta_number(value, records);
	if (!strcmp(key, "deleted"))
		return meta_number(value, &st->deleted);
	if (!strcmp(key, "rng"))
		return meta_number(value, &st->rng);
	if (!strcmp(key, "htable"))
		return meta_number(value, &st->htable);
	if (!strcmp(key, "suspended")) {
		st->suspended = !strcmp(value, "1");
		return 0;
	}
	if (!strcmp(key, "boot_aggregate")) {
		snprintf(st->boot_aggregate, sizeof(st->boot_aggregate), "%s", value);
		return 0;
	}
	if (!strcmp(key, "current"))
		return parse_list(st, value, &st->current);
	if (!strcmp(key, "staged"))
		return parse_list(st, value, &st->staged);
	if (!strcmp(key, "agg"))
		return parse_agg(st, value);
	return -EBADMSG;
}

/* Records the truth holds beyond what meta lists were appended after its last rewrite. */
static int load_meta(struct si_state *st, FILE *f)
{
	char line[512];
	uint64_t records = UINT64_MAX;
	int err = 0;

	if (!fgets(line, sizeof(line), f) || strcmp(line, META_VERSION "\n"))
		return -EBADMSG;
	while (!err && fgets(line, sizeof(line), f)) {
		char *value = strchr(line, ' '), *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (value)
			*value++ = '\0';
		err = meta_line(st, line, value ? value : line + strlen(line), &records);
	}
	if (!err && records > st->ntruth)
		err = -EBADMSG;
	for (uint64_t i = records; !err && i < st->ntruth; i++, st->htable++)
		err = si_list_push(&st->current, i);
	return err;
}

static int truth_one(struct si_state *st, const imalog_record *rec, imalog_buf *bin)
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
	return si_truth_add(st, r);
}

static int load_truth(struct si_state *st, const char *path)
{
	const struct imalog_reader_options o = {
		.format = {IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_HOST_ORDER},
	};
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	imalog_buf *bin = imalog_buf_new();
	imalog_reader *rd = NULL;
	const imalog_record *rec;

	err = fd < 0 ? -errno : !bin ? -ENOMEM : imalog_reader_new(fd, &o, &rd);
	while (err >= 0 && (err = imalog_reader_next(rd, &rec)) > 0)
		err = truth_one(st, rec, bin);
	imalog_reader_free(rd);
	imalog_buf_free(bin);
	if (fd >= 0)
		close(fd);
	return err;
}

static int load(struct si_state *st, const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/truth", dir);
	if ((err = load_truth(st, path)) < 0)
		return err;
	snprintf(path, sizeof(path), "%s/meta", dir);
	if (!(f = fopen(path, "re")))
		return -errno;
	err = load_meta(st, f);
	fclose(f);
	return err;
}

/* Open (create) the state directory; load it if it holds a state. */
int si_persist_open(struct si_state *st, const char *dir, bool *ret_loaded)
{
	char path[PATH_MAX];
	int err = 0;

	*ret_loaded = false;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (!(st->state_dir = realpath(dir, NULL)))
		return -errno;
	snprintf(path, sizeof(path), "%s/meta", st->state_dir);
	if (access(path, F_OK) == 0) {
		if ((err = load(st, st->state_dir)) < 0) {
			fprintf(stderr, "imalog-standin: %s: unusable state: %s\n", st->state_dir,
				strerror(-err));
			return err;
		}
		*ret_loaded = true;
	}
	snprintf(path, sizeof(path), "%s/truth", st->state_dir);
	st->truth_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
					  (*ret_loaded ? 0 : O_TRUNC), 0600);
	return st->truth_fd < 0 ? -errno : 0;
}
