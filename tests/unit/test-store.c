// SPDX-License-Identifier: GPL-2.0-or-later
/* imalogd's store: the commit protocol and the integrity check (docs/format.md 4.2, 4.5). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "logbuild.h"
#include "store.h"

static char root[] = "/tmp/imalog-store-XXXXXX";

static struct lb records(int n, int seed)
{
	struct lb b = { 0 };

	for (int i = 0; i < n; i++)
		lb_ima_ng(&b, 10, "/usr/bin/x", (uint8_t)(seed + i), false);
	return b;
}

/* Commit @n records with a made-up end state that chains on the log's. */
static int commit(struct store_log *l, int n, int seed)
{
	static struct manifest m;
	struct lb b = records(n, seed);

	memset(&m, 0, sizeof(m));
	m.count = (uint64_t)n;
	m.order = IMALOG_LITTLE_ENDIAN;
	m.start = l->end;
	m.end.used = UINT64_C(1) << 10;
	m.end.banks = 1u << IMALOG_SHA1;
	memset(m.end.v[10][IMALOG_SHA1], seed, 20);
	snprintf(m.boot_id, sizeof(m.boot_id), "boot");
	snprintf(m.saved_at, sizeof(m.saved_at), "2026-01-01T00:00:00Z");
	return store_commit_chunk(l, b.buf, b.len, &m);
}

static void write_garbage(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs("garbage\n", f) < 0 || fclose(f) != 0)
		abort();
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

int main(void)
{
	struct store *s = NULL, *other = NULL;
	static struct store_log l;
	char path[4200];

	CHECK(mkdtemp(root) != NULL);
	CHECK_INT(store_open(root, true, &s), 0);
	CHECK_INT(store_open(root, true, &other), -EWOULDBLOCK); /* one daemon at a time */
	CHECK(store_locked(root));
	CHECK_INT(store_log_open(s, "boot", true, &l), 0);
	CHECK_INT(commit(&l, 5, 1), 0);
	CHECK_INT(commit(&l, 7, 2), 0);
	CHECK_INT(l.next, 12);

	/* Reopened: the same state; an uncommitted chunk and tmp files are removed. */
	store_chunk_path(&l, 12, "chunk", path, sizeof(path));
	write_garbage(path);
	snprintf(path, sizeof(path), "%s/tmp/x", l.dir);
	write_garbage(path);
	CHECK_INT(store_log_open(s, "boot", false, &l), 0);
	CHECK_STR(l.error, "");
	CHECK_INT(l.next, 12);
	CHECK_INT(l.chunks, 2);
	CHECK_MEM(l.end.v[10][IMALOG_SHA1], "\x02\x02\x02\x02", 4);
	store_chunk_path(&l, 12, "chunk", path, sizeof(path));
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/tmp/x", l.dir);
	CHECK(access(path, F_OK) != 0);

	/* A truncated chunk makes the log inconsistent, naming the file; nothing more is added. */
	store_chunk_path(&l, 5, "chunk", path, sizeof(path));
	CHECK_INT(truncate(path, 100), 0);
	CHECK_INT(store_log_open(s, "boot", false, &l), 0);
	CHECK(strstr(l.error, "00000000000000000005.chunk") != NULL);
	CHECK_INT(commit(&l, 1, 3), -EBADMSG);

	/* A chunk missing in the middle is a gap; a missing last one is just not committed. */
	CHECK_INT(store_log_open(s, "other", true, &l), 0);
	CHECK_INT(commit(&l, 2, 1), 0);
	CHECK_INT(commit(&l, 2, 2), 0);
	CHECK_INT(commit(&l, 2, 3), 0);
	store_chunk_path(&l, 2, "manifest", path, sizeof(path));
	CHECK_INT(unlink(path), 0);
	CHECK_INT(store_log_open(s, "other", false, &l), 0);
	CHECK(strstr(l.error, "00000000000000000004.chunk: starts at record 4, expected 2") != NULL);

	store_free(s);
	store_free(other);
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
