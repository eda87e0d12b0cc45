// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verifiers' acknowledgements and the retention limits that may drop the chunks they cover
 * (docs/format.md 4.6). Nothing is dropped that every verifier has not acknowledged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define ACK_NAME_MAX 64

bool store_ack_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len >= 1 && len <= ACK_NAME_MAX && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
		       len &&
	       !(len >= 4 && strcmp(name + len - 4, ".tmp") == 0);
}

int store_log_acked(const struct store_log *l, uint64_t *ret, char *err, size_t errlen)
{
	char dir[4200];
	uint64_t low = UINT64_MAX;
	struct dirent *e;
	DIR *d;
	int r = 0;

	snprintf(dir, sizeof(dir), "%s/acks", l->dir);
	if (!(d = opendir(dir))) {
		*ret = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	while (r == 0 && (e = readdir(d))) {
		uint64_t v;

		if (e->d_name[0] == '.' || !store_ack_name_valid(e->d_name))
			continue; /* ".", "..", files being written */
		r = store_read_index(dir, e->d_name, &v);
		if (r == -ENOENT) {
			r = 0; /* withdrawn meanwhile */
			continue;
		}
		if (r < 0)
			snprintf(err, errlen, "%.4000s/%s: %s", dir, e->d_name,
				 r == -EBADMSG ? "not a decimal index and a newline"
					       : strerror(-r));
		else if (v < low)
			low = v;
	}
	closedir(d);
	if (r < 0)
		return r;
	*ret = low == UINT64_MAX ? 0 : low;
	return 0;
}

/*
 * Replace @path with a file holding @v and a newline, durably: written to @tmp and synced,
 * renamed over @path, then @dir (the directory holding @path) synced.
 */
static int commit_number(const char *tmp, const char *path, const char *dir, uint64_t v)
{
	int fd, r = 0;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (dprintf(fd, "%" PRIu64 "\n", v) < 0 || fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int store_log_ack(const struct store_log *l, const char *name, uint64_t index)
{
	char dir[4200], tmp[4300], path[4300];

	if (!store_ack_name_valid(name))
		return -EINVAL;
	if (index > l->next)
		return -ERANGE;
	snprintf(dir, sizeof(dir), "%s/acks", l->dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return commit_number(tmp, path, dir, index);
}

/* The manifest's saved_at ("YYYY-MM-DDTHH:MM:SSZ") as a time; false if it is not one. */
static bool saved_time(const struct manifest *m, time_t *ret)
{
	struct tm tm = {0};
	const char *end = strptime(m->saved_at, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (!end || *end)
		return false;
	*ret = timegm(&tm);
	return *ret != (time_t)-1;
}

static int write_dropped(const struct store_log *l, uint64_t k)
{
	char tmp[4200], path[4200];

	snprintf(tmp, sizeof(tmp), "%s/tmp/dropped", l->dir);
	snprintf(path, sizeof(path), "%s/dropped", l->dir);
	return commit_number(tmp, path, l->dir, k);
}

/* 4.6, step 2: the manifest, then the chunk, of every chunk before @k; then the directory. */
static int unlink_before(const struct store_log *l, const uint64_t *firsts, size_t n)
{
	char path[4200];
	int fd, r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		store_chunk_path(l, firsts[i], "manifest", path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			r = -errno;
		store_chunk_path(l, firsts[i], "chunk", path, sizeof(path));
		if (r == 0 && unlink(path) < 0 && errno != ENOENT)
			r = -errno;
	}
	if ((fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return r ? r : -errno;
	if (fsync(fd) < 0 && r == 0)
		r = -errno;
	close(fd);
	return r;
}

struct plan {
	const struct retention *rt;
	uint64_t limit, next; /* drop only below @limit; @next ends the newest chunk */
	time_t now;
	uint64_t chunks, bytes; /* what stays if the chunks planned so far are dropped */
	uint64_t k;		/* the first index kept */
	uint64_t *firsts;	/* the chunks planned, oldest first */
	size_t n, cap;
};

static bool over_limit(const struct plan *p, const struct manifest *m)
{
	time_t saved;

	return (p->rt->keep_chunks && p->chunks > p->rt->keep_chunks) ||
	       (p->rt->keep_bytes && p->bytes > p->rt->keep_bytes) ||
	       (p->rt->keep_seconds && saved_time(m, &saved) && saved <= p->now &&
		(uint64_t)(p->now - saved) > p->rt->keep_seconds);
}

/* Oldest first: plan to drop @m if 4.6 allows; 1 stops the walk at the first it may not. */
static int plan_one(const struct manifest *m, const char *chunk, void *arg)
{
	struct plan *p = arg;
	uint64_t end = m->first + m->count;

	(void)chunk;
	if (end >= p->next || end > p->limit || !over_limit(p, m))
		return 1;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		uint64_t *grown = realloc(p->firsts, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		p->firsts = grown;
		p->cap = cap;
	}
	p->firsts[p->n++] = m->first;
	p->chunks--;
	p->bytes -= m->bytes < p->bytes ? m->bytes : p->bytes;
	p->k = end;
	return 0;
}

int store_retain(struct store_log *l, const struct retention *rt, uint64_t limit, time_t now,
		 uint64_t *ret_dropped)
{
	struct plan p = {rt, limit, l->next, now, l->chunks, l->bytes, l->first, NULL, 0, 0};
	int r;

	*ret_dropped = 0;
	if (l->error[0])
		return -EBADMSG; /* never touch an inconsistent log */
	if (!retention_limited(rt) || l->chunks < 2)
		return 0;
	r = store_for_each_chunk(l, plan_one, &p);
	if (r < 0 || p.n == 0) {
		free(p.firsts);
		return r < 0 ? r : 0;
	}
	/* The commit point of the drop: from here on the log begins at p.k. */
	if ((r = write_dropped(l, p.k)) == 0) {
		l->dropped = l->first = p.k;
		l->chunks = p.chunks;
		l->bytes = p.bytes;
		*ret_dropped = p.n;
		/* A failure now leaves files below K: readers ignore them, start-up removes them.
		 */
		r = unlink_before(l, p.firsts, p.n);
	}
	free(p.firsts);
	return r;
}
