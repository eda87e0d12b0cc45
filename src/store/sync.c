// SPDX-License-Identifier: GPL-2.0-or-later
/* The save-and-delete cycle (see sync.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "pcrcheck.h"
#include "sync.h"

void sync_config_defaults(struct sync_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->store_dir, sizeof(c->store_dir), "%s", STORE_DEFAULT);
	snprintf(c->ima_dir, sizeof(c->ima_dir), "%s", KERNEL_IMA_DIR);
	snprintf(c->tpm_dir, sizeof(c->tpm_dir), "%s", TPM_DEFAULT_DIR);
	c->banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256;
	c->delete_records = 100000;
	c->save_records = 1000;
	c->save_seconds = 60;
}

static int fail(struct sync *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct sync *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->stats.errors++;
	return err;
}

static uint64_t now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* ---- records in memory ---- */

/* Byte length of the first @n records of @buf, or -EBADMSG. Records use the log's order. */
static int64_t skip_records(const struct sync *s, const uint8_t *buf, size_t len, uint64_t n)
{
	struct imalog_format f = { IMALOG_INPUT_BINARY, IMALOG_SHA1, s->log.order };
	imalog_record *r = imalog_record_new();
	size_t off = 0;

	if (!r)
		return -ENOMEM;
	while (n-- > 0) {
		ptrdiff_t used = imalog_parse_record(&f, buf + off, len - off, NULL, 0, r);

		if (used <= 0) {
			imalog_record_free(r);
			return -EBADMSG;
		}
		off += (size_t)used;
	}
	imalog_record_free(r);
	return (int64_t)off;
}

static int pending_append(struct sync *s, const uint8_t *p, size_t len)
{
	if (len > s->pending_cap - s->pending_len) {
		size_t cap = s->pending_cap ? s->pending_cap : 1 << 20;
		uint8_t *n;

		while (cap - s->pending_len < len)
			cap *= 2;
		if (!(n = realloc(s->pending, cap)))
			return -ENOMEM;
		s->pending = n;
		s->pending_cap = cap;
	}
	memcpy(s->pending + s->pending_len, p, len);
	s->pending_len += len;
	return 0;
}

/* The kernel's head moved to @head (a deletion): forget the stored records it dropped. */
static int pending_advance(struct sync *s, uint64_t head)
{
	int64_t off = skip_records(s, s->pending, s->pending_len, head - s->head);

	if (off < 0)
		return (int)off;
	memmove(s->pending, s->pending + off, s->pending_len - (size_t)off);
	s->pending_len -= (size_t)off;
	s->head = head;
	return 0;
}

/* ---- saving ---- */

static void utc_now(char *out, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void note_aggregate(struct manifest *m, const imalog_record *r, uint64_t index)
{
	imalog_aggregate *a;

	if (!imalog_record_is_aggregate(r) || m->naggregates == STORE_MAX_AGGREGATES ||
	    imalog_aggregate_parse(r, &a) < 0)
		return;	/* a malformed one is still stored; the verifier rejects it */
	m->aggregates[m->naggregates++] = (struct aggregate_ref){ index, imalog_aggregate_deleted(a) };
	imalog_aggregate_free(a);
}

/*
 * Replay @n new records from the log's end state into @m's end state, noting aggregates. A log
 * keeps the banks it was saved in: a chunk starts where the one before it ended, also when
 * imalog snapshot saves it with the default banks while no daemon runs.
 */
static int describe(struct sync *s, const uint8_t *p, size_t len, struct manifest *m)
{
	struct imalog_replay_options o = { .banks = s->cfg.banks | s->log.end.banks, .threads = 1 };
	struct imalog_format f = { IMALOG_INPUT_BINARY, IMALOG_SHA1, s->log.order };
	imalog_record *r = imalog_record_new();
	imalog_replay *rp = NULL;
	size_t off = 0;
	int ret = r ? imalog_replay_new(&o, &rp) : -ENOMEM;

	if (ret == 0)
		ret = pcr_state_seed(&s->log.end, rp);
	for (uint64_t i = 0; ret == 0 && off < len; i++) {
		ptrdiff_t used = imalog_parse_record(&f, p + off, len - off, NULL, 0, r);

		if (used <= 0) {
			ret = used < 0 ? (int)used : -EBADMSG;
			break;
		}
		note_aggregate(m, r, s->log.next + i);
		ret = imalog_replay_record(rp, r);
		off += (size_t)used;
		m->count++;
	}
	if (ret == 0) {
		m->start = s->log.end;
		pcr_state_from_replay(&m->end, rp, o.banks);
	}
	imalog_replay_free(rp);
	imalog_record_free(r);
	return ret;
}

/* Commit @p, @len as a chunk whose end @q quoted (NULL: an unquoted chunk). */
static int save(struct sync *s, const uint8_t *p, size_t len, const struct manifest_quote *q)
{
	struct manifest *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	if (q)
		m->quote = *q;
	m->order = s->log.order;
	snprintf(m->boot_id, sizeof(m->boot_id), "%s", s->boot_id);
	utc_now(m->saved_at, sizeof(m->saved_at));
	r = describe(s, p, len, m);
	if (r < 0)
		r = fail(s, r, "kernel records from %" PRIu64 " do not replay: %s", s->log.next,
			 strerror(-r));
	else if ((r = store_commit_chunk(&s->log, p, len, m)) < 0)
		r = fail(s, r, "cannot save records %" PRIu64 "..%" PRIu64 " in %s: %s; nothing is "
			 "deleted from the kernel until they are saved", s->log.next,
			 s->log.next + m->count - 1, s->log.dir, strerror(-r));
	else if ((r = pending_append(s, p, len)) == 0) {
		s->stats.saves++;
		if (s->quoter)
			q ? s->stats.quoted_chunks++ : s->stats.unquoted_chunks++;
	}
	free(m);
	return r;
}

/* ---- the cycle ---- */

/* The number of records in @p, @len; with @used, a bit for each PCR they extend. */
static int64_t count_records(const struct sync *s, const uint8_t *p, size_t len, uint64_t *pcrs)
{
	struct imalog_format f = { IMALOG_INPUT_BINARY, IMALOG_SHA1, s->log.order };
	imalog_record *r = imalog_record_new();
	int64_t n = 0;

	for (size_t off = 0; r && off < len; n++) {
		ptrdiff_t used = imalog_parse_record(&f, p + off, len - off, NULL, 0, r);

		if (used <= 0) {
			n = -EBADMSG;
			break;
		}
		if (pcrs && imalog_record_pcr(r) < IMALOG_MAX_PCRS)
			*pcrs |= 1ull << imalog_record_pcr(r);
		off += (size_t)used;
	}
	imalog_record_free(r);
	return r ? n : -ENOMEM;
}

/* Read the list and the index of its first record; -EAGAIN if a deletion ran meanwhile. */
static int read_kernel(struct sync *s, size_t *ret_len, uint64_t *ret_head)
{
	uint64_t before = 0, after = 0;
	int r;

	if ((r = kernel_deleted(&s->kernel, &before)) < 0 ||
	    (r = kernel_read_lists(&s->kernel, &s->buf, &s->buf_cap, ret_len,
				   &s->staged_len)) < 0 ||
	    (r = kernel_deleted(&s->kernel, &after)) < 0)
		return fail(s, r, "reading %s: %s", s->kernel.dir, strerror(-r));
	if (before != after)
		return fail(s, -EAGAIN, "records were deleted by someone else while reading; retrying");
	*ret_head = s->kernel.has_counter ? before : s->head;
	return 0;
}

/* Check the kernel's list against the store: returns where its unsaved records begin. */
static int64_t reconcile(struct sync *s, size_t len, uint64_t head)
{
	int r;

	if (head < s->head)
		return fail(s, -ESTALE, "the kernel's deleted count went back from %" PRIu64
			    " to %" PRIu64 ": not the log this store holds", s->head, head);
	if (head > s->log.next)
		return fail(s, -EBADMSG, "records %" PRIu64 "..%" PRIu64 " were deleted from the "
			    "kernel without being saved: the log has a gap", s->log.next, head - 1);
	if (head > s->head && (r = pending_advance(s, head)) < 0)
		return fail(s, r, "stored records before %" PRIu64 " do not parse", head);
	if (len < s->pending_len || (s->pending_len && memcmp(s->buf, s->pending, s->pending_len) != 0))
		return fail(s, -EBADMSG, "the kernel's records %" PRIu64 "..%" PRIu64
			    " differ from the ones stored in %s", head, s->log.next - 1, s->log.dir);
	return (int64_t)s->pending_len;
}

/* Records left staged (a deletion cut short between A and D) are deleted as soon as saved. */
static bool delete_due(const struct sync *s)
{
	return s->kernel.can_delete && s->cfg.delete_records &&
	       (s->stats.kernel_records >= s->cfg.delete_records || s->staged_len > 0 ||
		(s->cfg.delete_bytes && s->stats.kernel_bytes >= s->cfg.delete_bytes));
}

/* The kernel deleted its oldest @n records, @bytes long, all of them stored. */
static int deleted(struct sync *s, uint64_t n, size_t bytes)
{
	uint64_t counter;
	int r;

	s->stats.deletions++;
	s->stats.deleted_records += n;
	s->stats.deleted_bytes += bytes;
	s->stats.kernel_records -= n;
	s->stats.kernel_bytes -= bytes;
	if (s->head + n == s->log.next) {
		s->head += n;
		s->pending_len = 0;
	} else if ((r = pending_advance(s, s->head + n)) < 0)
		return fail(s, r, "stored records before %" PRIu64 " do not parse", s->head + n);
	if (s->kernel.has_counter && kernel_deleted(&s->kernel, &counter) == 0 && counter != s->head)
		return fail(s, -EBADMSG, "after deleting, the kernel counts %" PRIu64
			    " deleted records, the store %" PRIu64, counter, s->head);
	return 0;
}

/* `N` on the list: the saved records the kernel holds. -EINVAL is left to the caller. */
static int delete_count(struct sync *s)
{
	uint64_t n = s->log.next - s->head;
	size_t bytes = s->pending_len;
	int r;

	if (n == 0)
		return 0;
	r = kernel_delete(&s->kernel, n);
	if (r == -EINVAL && s->cfg.delete_mode == SYNC_DELETE_AUTO)
		return r;
	if (r == -EINVAL)
		return fail(s, r, "the kernel refuses to delete with N (EINVAL; booted with "
			    "ima_flush_htable?): nothing deleted; use delete = staged or auto");
	if (r == -ESTALE)
		return fail(s, r, "measurement is suspended for kexec: the records travel to the "
			    "next kernel, nothing deleted");
	if (r < 0)
		return fail(s, r, "deleting %" PRIu64 " records from the kernel: %s", n, strerror(-r));
	return deleted(s, n, bytes);
}

/* `D` on the staged list, whose records were all read and saved in this cycle. */
static int delete_staged(struct sync *s)
{
	int64_t n = count_records(s, s->buf, s->staged_len, NULL);
	size_t bytes = s->staged_len;
	int r;

	if (n < 0)
		return fail(s, (int)n, "the kernel's staged list does not parse");
	if (s->log.next < s->head + (uint64_t)n)
		return fail(s, -EAGAIN, "staged records %" PRIu64 "..%" PRIu64 " are not saved "
			    "yet; retrying", s->log.next, s->head + (uint64_t)n - 1);
	r = kernel_delete_staged(&s->kernel);
	if (r == -ESTALE)
		return fail(s, r, "measurement is suspended for kexec: the staged records travel "
			    "to the next kernel, nothing deleted");
	if (r < 0)
		return fail(s, r, "deleting the %" PRId64 " staged records from the kernel: %s", n,
			    strerror(-r));
	s->staged_len = 0;
	return deleted(s, (uint64_t)n, bytes);
}

static int read_and_save(struct sync *s, bool save_now);

/*
 * `A`, then save what the staged list holds that the store does not (records measured since
 * the last read), then `D`. A crash in between leaves the records staged: the next start reads
 * them first and recognises what it saved (docs/format.md 4.4).
 */
static int stage_and_delete(struct sync *s)
{
	int r = kernel_stage(&s->kernel);

	if (r == -ENOENT)
		return 0;	/* the list is empty */
	if (r == -EACCES || r == -ESTALE)
		return fail(s, r, "measurement is suspended for kexec: the records travel to the "
			    "next kernel, nothing staged");
	if (r < 0 && r != -EEXIST)	/* EEXIST: already staged, deleted below all the same */
		return fail(s, r, "staging the kernel's list: %s", strerror(-r));
	if ((r = read_and_save(s, true)) < 0)
		return r;
	return s->staged_len ? delete_staged(s) : 0;
}

/* Delete what the store holds: staged leftovers first, then in the configured flavour. */
static int delete_saved(struct sync *s, bool force)
{
	int r;

	if (s->staged_len > 0 && ((r = delete_staged(s)) < 0 || !(force || delete_due(s))))
		return r;
	if (s->staged_flavour)
		return stage_and_delete(s);
	r = delete_count(s);
	if (r == -EINVAL && s->cfg.delete_mode == SYNC_DELETE_AUTO) {
		/* With _staged files, N is refused only with ima_flush_htable: A and D then. */
		s->staged_flavour = true;
		return stage_and_delete(s);
	}
	return r;
}

static bool save_due(struct sync *s, int64_t unsaved, bool writer)
{
	uint64_t now = now_seconds();

	if (unsaved <= 0) {
		s->unsaved_since = 0;
		return false;
	}
	if (!s->unsaved_since)
		s->unsaved_since = now;
	return writer || (uint64_t)unsaved >= s->cfg.save_records ||
	       now - s->unsaved_since >= s->cfg.save_seconds;
}

/* Read the kernel's lists and check them against the store; the unsaved records follow @off. */
static int read_unsaved(struct sync *s, size_t *len, int64_t *off, int64_t *unsaved,
			uint64_t *pcrs)
{
	uint64_t head = 0;
	int r;

	if ((r = read_kernel(s, len, &head)) < 0)
		return r;
	if ((*off = reconcile(s, *len, head)) < 0)
		return (int)*off;
	*unsaved = count_records(s, s->buf + *off, *len - (size_t)*off, pcrs);
	if (*unsaved < 0)
		return fail(s, (int)*unsaved, "the kernel's list does not parse after record "
			    "%" PRIu64, s->log.next);
	s->stats.kernel_records = s->log.next - s->head + (uint64_t)*unsaved;
	s->stats.kernel_bytes = *len;
	return 0;
}

static void unquoted(struct sync *s, const char *why)
{
	snprintf(s->unquoted, sizeof(s->unquoted), "%s", why);
}

/*
 * A quote of every PCR the log extended so far (PCR 10 at least), then the list again: the
 * kernel appends a record before it extends the PCR, so the list read after the quote holds
 * every record the quote covers (docs/format.md 4.7). False (and why) if the TPM failed.
 */
static bool quote_and_read(struct sync *s, uint64_t pcrs, struct manifest_quote *q,
			   size_t *len, int64_t *off, int64_t *unsaved, int *ret)
{
	char err[sizeof(s->unquoted)] = "";

	pcrs |= s->log.end.used | 1ull << 10;
	if (s->quoter->quote(s->quoter->arg, pcrs, s->cfg.banks, q, err, sizeof(err)) < 0) {
		unquoted(s, err);
		return false;
	}
	*ret = read_unsaved(s, len, off, unsaved, NULL);
	return true;
}

/*
 * Save records from @off to @len of s->buf. With a quote, the first chunk ends where the quote
 * cuts and the records after it wait, but staged records must all be saved before `D`: those
 * after the cut become a chunk of their own, without a quote. Unsaved staged records also end
 * a chunk of their own without one: `D` cuts the log there, and a cut falls at the end of a
 * chunk (docs/format.md 4.3).
 */
static int save_records(struct sync *s, size_t off, size_t len, const struct manifest_quote *q)
{
	size_t staged = s->staged_len > off ? s->staged_len : 0, cut = 0; /* unsaved staged end */
	char why[sizeof(s->unquoted)];
	int r;

	if (q && tpm_find_cut(q, s->quoter->key(s->quoter->arg), &s->log.end, s->cfg.banks,
			      s->log.order, s->buf + off, len - off, &cut, why, sizeof(why)) < 0) {
		unquoted(s, why);
		q = NULL;
	}
	if (!q) {
		cut = staged ? staged : len;	/* staged_len <= len */
		return (r = save(s, s->buf + off, cut - off, NULL)) < 0 || cut == len ? r :
			save(s, s->buf + cut, len - cut, NULL);
	}
	cut += off;
	if ((r = save(s, s->buf + off, cut - off, q)) < 0 || cut >= staged)
		return r;
	unquoted(s, "staged records after the quoted cut, saved before D deletes them");
	return save(s, s->buf + cut, staged - cut, NULL);
}

/* Read the kernel's lists, check them against the store, and save what is due. */
static int read_and_save(struct sync *s, bool save_now)
{
	struct manifest_quote *q = NULL;
	int64_t off = 0, unsaved = 0;
	uint64_t pcrs = 0;
	size_t len = 0;
	int r = read_unsaved(s, &len, &off, &unsaved, &pcrs);

	if (r == 0 && save_due(s, unsaved, save_now)) {
		if (s->quoter && !(q = malloc(sizeof(*q))))
			return fail(s, -ENOMEM, "%s", strerror(ENOMEM));
		if (q && !quote_and_read(s, pcrs, q, &len, &off, &unsaved, &r)) {
			free(q);
			q = NULL;
		}
		if (r == 0)
			r = save_records(s, (size_t)off, len, q);
		free(q);
	}
	if (r == 0 && s->log.next - s->head == s->stats.kernel_records)
		s->unsaved_since = 0;	/* everything is saved */
	return r;
}

static int cycle(struct sync *s, bool writer, bool force)
{
	int r;

	if ((r = kernel_acquire(&s->kernel, writer)) < 0)
		return fail(s, r, r == -EBUSY ? "another process holds the measurement list for "
			    "writing; retrying" : "opening the measurement list: %s", strerror(-r));
	r = read_and_save(s, writer || force);
	if (r == 0 && writer && (force || delete_due(s)))
		r = delete_saved(s, force);
	kernel_release(&s->kernel);
	return r;
}

/* Drop what the limits allow of what every verifier acknowledged and the kernel no longer holds. */
static int retain(struct sync *s)
{
	char err[4200] = "";
	uint64_t acked = 0, limit, dropped = 0;
	int r;

	if (!retention_limited(&s->cfg.keep))
		return 0;
	if ((r = store_log_acked(&s->log, &acked, err, sizeof(err))) < 0)
		return fail(s, r, "nothing is dropped while an acknowledgement cannot be read: %s",
			    err[0] ? err : strerror(-r));
	s->stats.acked = acked;
	limit = acked < s->head ? acked : s->head;
	r = store_retain(&s->log, &s->cfg.keep, limit, time(NULL), &dropped);
	s->stats.dropped_chunks += dropped;
	if (r < 0)
		return fail(s, r, "dropping chunks before record %" PRIu64 " of %s: %s",
			    s->log.first, s->log.dir, strerror(-r));
	return 0;
}

int sync_cycle(struct sync *s, bool force)
{
	bool writer = s->kernel.can_delete && (force || delete_due(s));
	int r;

	s->error[0] = '\0';
	if (s->log.error[0])
		return fail(s, -EBADMSG, "the store is inconsistent, nothing is saved or deleted "
			    "until it is repaired: %s", s->log.error);
	r = cycle(s, writer, force);
	if (r == 0 && !writer && delete_due(s))
		r = cycle(s, true, false);	/* the read showed that a deletion is due */
	if (r == 0)
		r = retain(s);
	if (r == 0 && s->loss[0])
		snprintf(s->error, sizeof(s->error), "%s", s->loss);	/* saving goes on */
	if (r == 0 && force)
		s->stats.snapshots++;
	return r;
}

/* ---- start-up ---- */

struct load {
	struct sync *s;
	int error;
};

/* Put the stored records from s->head on into pending: the kernel still holds them. */
static int load_chunk(const struct manifest *m, const char *chunk, void *arg)
{
	struct load *ld = arg;
	struct sync *s = ld->s;
	uint8_t *bytes = NULL;
	size_t cap = 0, len = 0;
	struct kernel file = { .fd = open(chunk, O_RDONLY | O_CLOEXEC) };
	int64_t skip = 0;
	int r;

	if (m->first + m->count <= s->head)
		return 0;
	if (file.fd < 0)
		return ld->error = -errno;
	r = kernel_read_list(&file, &bytes, &cap, &len);
	close(file.fd);
	if (r == 0 && m->first < s->head)
		skip = skip_records(s, bytes, len, s->head - m->first);
	if (r == 0 && skip >= 0)
		r = pending_append(s, bytes + skip, len - (size_t)skip);
	free(bytes);
	return ld->error = r < 0 ? r : skip < 0 ? (int)skip : 0;
}

/* A log for a new cold boot; @counter records deleted before it are lost, and it says so. */
static int new_log(struct sync *s, uint64_t counter)
{
	int r;

	s->head = counter;
	s->pending_len = 0;
	if ((r = store_log_open(s->store, s->boot_id, true, &s->log)) < 0)
		return fail(s, r, "creating log %s: %s", s->boot_id, strerror(-r));
	if (s->log.chunks == 0 && counter > 0 && (r = store_log_set_start(&s->log, counter)) < 0)
		return fail(s, r, "recording where log %s starts: %s", s->boot_id, strerror(-r));
	if (counter > s->log.next)
		fail(s, 0, "records 0..%" PRIu64 " were deleted before this store saw them",
		     counter - 1);
	return store_log_add_boot(&s->log, s->boot_id);
}

/* Load pending for a kernel whose first record is @head; false if the stored bytes differ. */
static bool matches_from(struct sync *s, uint64_t head, size_t len)
{
	struct load ld = { s, 0 };

	s->head = head;
	s->pending_len = 0;
	if (store_for_each_chunk(&s->log, load_chunk, &ld) < 0 || ld.error < 0)
		return false;
	return len >= s->pending_len && (s->pending_len == 0 || memcmp(s->buf, s->pending, s->pending_len) == 0);
}

struct locate {
	struct sync *s;
	const uint8_t *first;	/* the kernel's first record */
	size_t first_len;
	uint64_t found;
};

/* Without a deleted count: the last stored record identical to the kernel's first. */
static int locate_chunk(const struct manifest *m, const char *chunk, void *arg)
{
	struct locate *lc = arg;
	struct kernel file = { .fd = open(chunk, O_RDONLY | O_CLOEXEC) };
	struct imalog_format f = { IMALOG_INPUT_BINARY, IMALOG_SHA1, m->order };
	imalog_record *r = imalog_record_new();
	uint8_t *bytes = NULL;
	size_t cap = 0, len = 0, off = 0;

	if (file.fd >= 0 && r && kernel_read_list(&file, &bytes, &cap, &len) == 0)
		for (uint64_t i = m->first; off < len; i++) {
			ptrdiff_t used = imalog_parse_record(&f, bytes + off, len - off, NULL, 0, r);

			if (used <= 0)
				break;
			if ((size_t)used == lc->first_len && !memcmp(bytes + off, lc->first, lc->first_len))
				lc->found = i;
			off += (size_t)used;
		}
	if (file.fd >= 0)
		close(file.fd);
	imalog_record_free(r);
	free(bytes);
	return 0;
}

/*
 * Where the kernel's list starts in the store's numbering. With the series' deleted count that
 * is the count; without it, the stored record the list starts with (or, if none matches, the
 * store's end: every stored record was deleted).
 */
static uint64_t kernel_head(struct sync *s, uint64_t counter, size_t len)
{
	struct imalog_format f = { IMALOG_INPUT_BINARY, IMALOG_SHA1, s->log.order };
	struct locate lc = { s, s->buf, 0, s->log.next };
	imalog_record *r;
	ptrdiff_t used;

	if (s->kernel.has_counter || !s->kernel.can_delete || len == 0)
		return s->kernel.has_counter ? counter : s->kernel.can_delete ? s->log.next : 0;
	if (!(r = imalog_record_new()))
		return s->log.next;
	used = imalog_parse_record(&f, s->buf, len, NULL, 0, r);
	imalog_record_free(r);
	if (used > 0) {
		lc.first_len = (size_t)used;
		store_for_each_chunk(&s->log, locate_chunk, &lc);
	}
	return lc.found;
}

/* Does the kernel's list continue the log (same cold boot, after a kexec or a restart)? */
static bool continues(struct sync *s, uint64_t head, size_t len)
{
	if (head > s->log.next)
		return false;	/* not this log, or records deleted unsaved */
	if (!matches_from(s, head, len))
		return false;
	return s->pending_len > 0 || (head > 0 && head == s->log.next);
}

/*
 * The records this store has not saved, replayed from its end, must reach the TPM's PCRs: if
 * they cannot, records measured before them were lost (a kexec that did not carry them).
 * Saving goes on, the kernel's records are real, but the loss stays reported.
 */
static int check_pcrs(struct sync *s, size_t len)
{
	if (s->head > s->log.next || s->pending_len > len ||
	    pcr_check_reach(s->tpm, &s->log.end, s->cfg.banks, s->log.order,
			    s->buf + s->pending_len, len - s->pending_len, s->log.next, s->loss,
			    sizeof(s->loss)) == 0)
		return 0;
	return fail(s, 0, "log %s: %s", s->log.id, s->loss);
}

/* This boot's log: the one that lists it, or the newest if the kernel continues it, or new. */
static int choose_log(struct sync *s)
{
	char id[64];
	uint64_t counter = 0;
	size_t len = 0;
	int r;

	if ((r = pcr_check_load(s->cfg.tpm_dir, &s->tpm)) < 0)
		fail(s, 0, "reading the TPM's PCRs in %s: %s; the list is not checked against them",
		     s->cfg.tpm_dir, strerror(-r));
	if ((r = kernel_acquire(&s->kernel, false)) < 0 ||
	    (r = kernel_read_lists(&s->kernel, &s->buf, &s->buf_cap, &len, &s->staged_len)) < 0 ||
	    (r = kernel_deleted(&s->kernel, &counter)) < 0)
		return fail(s, r, "reading %s: %s", s->kernel.dir, strerror(-r));
	kernel_release(&s->kernel);
	if (store_latest_log(s->store, id, sizeof(id)) == 0 &&
	    store_log_open(s->store, id, false, &s->log) == 0) {
		uint64_t head;

		/*
		 * Stays inconsistent, in any boot: whether this kernel's list continues the log
		 * cannot be told from a damaged one, and a new log would delete records it may
		 * hold. sync_cycle() says so until it is repaired.
		 */
		if (s->log.error[0])
			return 0;
		head = kernel_head(s, counter, len);
		/*
		 * A restart in the same boot: checked when the boot began. Records lost then are
		 * in the store's replay now, and no index after them would name the loss.
		 */
		if (store_log_has_boot(&s->log, s->boot_id) && matches_from(s, head, len))
			return 0;
		if (continues(s, head, len))
			return (r = store_log_add_boot(&s->log, s->boot_id)) < 0 ? r : check_pcrs(s, len);
	}
	return (r = new_log(s, counter)) < 0 ? r : check_pcrs(s, len);
}

int sync_start(const struct sync_config *cfg, struct sync **ret)
{
	struct sync *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->kernel.fd = -1;
	s->kernel.staged_fd = -1;
	s->staged_flavour = cfg->delete_mode == SYNC_DELETE_STAGED ||
			    (cfg->delete_mode == SYNC_DELETE_AUTO && kernel_flush_htable());
	if ((r = store_open(cfg->store_dir, true, &s->store)) < 0)
		r = fail(s, r, r == -EWOULDBLOCK ? "%s is in use by another imalogd" : "%s: %s",
			 cfg->store_dir, strerror(-r));
	else if ((r = kernel_open(cfg->ima_dir, &s->kernel)) < 0)
		r = fail(s, r, "%s: %s", cfg->ima_dir, strerror(-r));
	else if ((r = kernel_boot_id(s->boot_id, sizeof(s->boot_id))) < 0)
		r = fail(s, r, "reading the boot id: %s", strerror(-r));
	else
		r = choose_log(s);
	imalog_pcrs_free(s->tpm);	/* only the start-up check uses them */
	s->tpm = NULL;
	*ret = s;	/* also on failure: s->error says why */
	return r;
}

void sync_free(struct sync *s)
{
	if (!s)
		return;
	kernel_release(&s->kernel);
	store_free(s->store);
	free(s->pending);
	free(s->buf);
	free(s);
}
