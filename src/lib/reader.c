// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Streaming reader: a file descriptor in, records out. Memory is one buffer that grows only to
 * hold the largest single record, so it does not grow with the log. Works on pipes and on
 * securityfs files, whose size is not known in advance.
 */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define INITIAL_BUFFER (4u << 20)	/* several batches: one parsed while one is hashed */
#define MAX_BUFFER (2 * (size_t)IMALOG_MAX_TEMPLATE_DATA + (1u << 16))

struct imalog_reader {
	int fd;
	struct imalog_reader_options opts;
	uint8_t *buf;
	size_t cap, start, end;
	bool eof;
	uint8_t *scratch;	/* ASCII input: where template data is rebuilt */
	size_t scratch_cap, scratch_used;
	uint64_t index, offset;	/* of the next record */
	uint64_t partial;
	struct imalog_record rec;
};

PUBLIC void imalog_format_from_name(const char *path, struct imalog_format *ret)
{
	const char *base = strrchr(path, '/'), *us;
	enum imalog_hash alg;

	base = base ? base + 1 : path;
	memset(ret, 0, sizeof(*ret));
	ret->log_bank = IMALOG_SHA1;
	ret->order = IMALOG_HOST_ORDER;
	ret->input = strstr(base, "ascii") ? IMALOG_INPUT_ASCII : IMALOG_INPUT_BINARY;
	us = strrchr(base, '_');
	if (us && strstr(base, "runtime_measurements_") && imalog_hash_from_name(us + 1, &alg) == 0)
		ret->log_bank = alg;
}

PUBLIC int imalog_reader_new(int fd, const struct imalog_reader_options *opts, imalog_reader **ret)
{
	imalog_reader *rd;

	if (!imalog_hash_size(opts->format.log_bank))
		return -EINVAL;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->fd = fd;
	rd->opts = *opts;
	rd->index = opts->first_index;
	rd->cap = INITIAL_BUFFER;
	rd->buf = malloc(rd->cap);
	if (opts->format.input == IMALOG_INPUT_ASCII) {
		rd->scratch_cap = ascii_scratch_need(rd->cap);
		rd->scratch = malloc(rd->scratch_cap);
	}
	if (!rd->buf || (opts->format.input == IMALOG_INPUT_ASCII && !rd->scratch)) {
		imalog_reader_free(rd);
		return -ENOMEM;
	}
	*ret = rd;
	return 0;
}

PUBLIC void imalog_reader_free(imalog_reader *rd)
{
	if (!rd)
		return;
	free(rd->buf);
	free(rd->scratch);
	free(rd);
}

static int grow(uint8_t **p, size_t *cap, size_t max)
{
	size_t ncap = *cap * 2;
	uint8_t *n;

	if (*cap >= max)
		return -E2BIG;
	if (ncap > max)
		ncap = max;
	n = realloc(*p, ncap);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = ncap;
	return 0;
}

/* Move what is left to the front, make room, and read until full or end of input. */
static int refill(imalog_reader *rd)
{
	int r;

	if (rd->start > 0) {
		memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
		rd->end -= rd->start;
		rd->start = 0;
	}
	if (rd->end == rd->cap && (r = grow(&rd->buf, &rd->cap, MAX_BUFFER)) < 0)
		return r;
	while (rd->end < rd->cap) {
		ssize_t n = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			rd->eof = true;
			break;
		}
		rd->end += (size_t)n;
	}
	return 0;
}

/* Parse one record at the buffer's start into @r, using scratch from scratch_used on. */
static ptrdiff_t parse_one(imalog_reader *rd, struct imalog_record *r)
{
	uint8_t *scratch = rd->scratch ? rd->scratch + rd->scratch_used : NULL;
	ptrdiff_t n = imalog_parse_record(&rd->opts.format, rd->buf + rd->start, rd->end - rd->start,
					  scratch, rd->scratch_cap - rd->scratch_used, r);

	if (n > 0 && !r->tmpl->known && !rd->opts.allow_unknown_templates)
		return -EOPNOTSUPP;
	if (n > 0) {
		r->index = rd->index++;
		r->offset = rd->offset;
		rd->offset += (uint64_t)n;
		rd->start += (size_t)n;
	}
	return n;
}

/* The buffer holds no whole record: read more, or decide how the input ends. */
static int need_more(imalog_reader *rd)
{
	if (!rd->eof) {
		int r = refill(rd);

		return r < 0 ? r : 1;
	}
	if (rd->start == rd->end)
		return 0;
	if (!rd->opts.allow_partial)
		return -EBADMSG;	/* truncated record, or trailing bytes */
	rd->partial = rd->end - rd->start;
	rd->start = rd->end;
	return 0;
}

bool reader_overlaps(const imalog_reader *rd)
{
	return rd->scratch == NULL;
}

int reader_next_batch(imalog_reader *rd, struct imalog_record *recs, size_t max, bool may_refill)
{
	size_t n = 0;

	rd->scratch_used = 0;
	for (;;) {
		ptrdiff_t r = n < max ? parse_one(rd, &recs[n]) : 1;

		if (r > 0 && n < max) {
			if (rd->scratch)
				rd->scratch_used += ascii_scratch_need((size_t)r);
			n++;
			continue;
		}
		if (n > 0)
			return (int)n;
		if (r == -ENOBUFS) {
			r = grow(&rd->scratch, &rd->scratch_cap, ascii_scratch_need(MAX_BUFFER));
			if (r < 0)
				return (int)r;
			continue;
		}
		if (r < 0)
			return (int)r;
		if (!may_refill)
			return -EAGAIN;
		r = need_more(rd);
		if (r <= 0)
			return (int)r;
	}
}

PUBLIC int imalog_reader_next(imalog_reader *rd, const imalog_record **ret)
{
	int n = reader_next_batch(rd, &rd->rec, 1, true);

	if (n > 0)
		*ret = &rd->rec;
	return n;
}

PUBLIC void imalog_reader_where(const imalog_reader *rd, uint64_t *ret_index, uint64_t *ret_offset)
{
	*ret_index = rd->index;
	*ret_offset = rd->offset;
}

PUBLIC uint64_t imalog_reader_partial_bytes(const imalog_reader *rd)
{
	return rd->partial;
}

PUBLIC const char *imalog_reader_strerror(int err)
{
	switch (err) {
	case -EBADMSG:
		return "malformed record, or the input ends inside a record";
	case -E2BIG:
		return "a length or value exceeds its limit";
	case -EOPNOTSUPP:
		return "unknown template name (neither built in nor a list of known fields)";
	default:
		return strerror(-err);
	}
}
