// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading a measurement list as fs/seq_file.c does (seq_read_iter(), traverse()), because
 * readers depend on its details: a read returns whole records that fit in one buffer (4 KiB, or
 * one record if bigger), so a big read() returns less than asked long before the end; the
 * position is a record index, so records deleted from the head between two reads shift what
 * the next read returns; a read at another offset walks the list again from the start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

int si_seq_init(struct si_seq *m)
{
	*m = (struct si_seq){0};
	m->rec = imalog_record_new();
	m->line = imalog_buf_new();
	if (!m->rec || !m->line) {
		si_seq_release(m);
		return -ENOMEM;
	}
	return 0;
}

void si_seq_release(struct si_seq *m)
{
	free(m->buf);
	imalog_record_free(m->rec);
	imalog_buf_free(m->line);
	*m = (struct si_seq){0};
}

static const struct si_list *view_list(const struct si_state *st, const struct si_view *v)
{
	return v->staged ? &st->staged : &st->current;
}

/* ->show(): 0 if the record fit in the buffer, 1 if it overflowed, or a negative errno. */
static int show(struct si_state *st, struct si_seq *m, const struct si_view *v, uint64_t index)
{
	const struct si_record *r = si_list_get(st, view_list(st, v), index);
	const char *line;
	size_t len;
	int err;

	if (!v->ascii) {
		len = si_record_binary_len(st, r, v->bank);
		if (len > m->size - m->count)
			return 1;
		si_record_binary(st, r, v->bank, m->buf + m->count);
		m->count += len;
		return 0;
	}
	imalog_buf_clear(m->line);
	if ((err = si_record_ascii(st, r, v->bank, m->rec, m->line)) < 0)
		return err;
	line = imalog_buf_data(m->line, &len);
	if (len > m->size - m->count)
		return 1;
	memcpy(m->buf + m->count, line, len);
	m->count += len;
	return 0;
}

/* The record at m->index alone in the buffer, grown until it fits; 0 at the end of the list. */
static int show_first(struct si_state *st, struct si_seq *m, const struct si_view *v)
{
	int r = 0;

	m->count = m->from = 0;
	while (m->index < view_list(st, v)->len) {
		if (!m->buf || (r = show(st, m, v, m->index)) == 1) {
			size_t size = m->buf ? 2 * m->size : SI_PAGE_SIZE;
			uint8_t *buf = malloc(size);

			if (!buf)
				return -ENOMEM;
			free(m->buf);
			m->buf = buf;
			m->size = size;
			m->count = 0;
			continue;
		}
		return r < 0 ? r : 1;
	}
	return 0;
}

/* traverse(): walk from the first record to byte @offset, keeping the rest of its record. */
static int traverse(struct si_state *st, struct si_seq *m, const struct si_view *v,
		    uint64_t offset)
{
	uint64_t pos = 0;
	int r = 0;

	m->index = 0;
	m->count = m->from = 0;
	while (offset && (r = show_first(st, m, v)) == 1) {
		m->index++;
		if (pos + m->count > offset) {
			m->from = offset - pos;
			m->count -= m->from;
			return 0;
		}
		pos += m->count;
		m->count = 0;
		if (pos == offset)
			return 0;
	}
	return offset ? r : 0;
}

/* Records after the first, while the reader wants more and they fit (seq_read_iter() "Fill"). */
static int fill(struct si_state *st, struct si_seq *m, const struct si_view *v, size_t want)
{
	for (;;) {
		size_t offs = m->count;
		int r;

		m->index++;
		if (m->index >= view_list(st, v)->len || m->count >= want)
			return 0;
		if ((r = show(st, m, v, m->index)) != 0) {
			m->count = offs;
			return r < 0 ? r : 0;
		}
	}
}

static size_t flush(struct si_seq *m, char *out, size_t size)
{
	size_t n = m->count < size ? m->count : size;

	if (!n)
		return 0;	/* m->buf may not exist yet */
	memcpy(out, m->buf + m->from, n);
	m->count -= n;
	m->from += n;
	return n;
}

/* read() at @pos of at most @size bytes: the number of bytes, or a negative errno. */
ssize_t si_seq_read(struct si_state *st, struct si_seq *m, const struct si_view *v, char *out,
		    size_t size, uint64_t pos)
{
	size_t copied = 0;
	int r;

	if (pos != m->read_pos) {
		if ((r = traverse(st, m, v, pos)) < 0) {
			m->read_pos = m->index = m->count = 0;
			return r;
		}
		m->read_pos = pos;
	}
	if (m->count) {
		copied = flush(m, out, size);
		if (m->count)
			goto done;
	}
	if ((r = show_first(st, m, v)) == 1)
		r = fill(st, m, v, size - copied);
	if (r < 0 && !copied)
		return r;
	if (r >= 0)
		copied += flush(m, out + copied, size - copied);
	m->from = m->count ? m->from : 0;
done:
	m->read_pos += copied;
	return (ssize_t)copied;
}
