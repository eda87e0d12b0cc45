// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * imalogd's store: the commit protocol, the integrity check, acknowledgements and retention
 * (docs/format.md 4.2, 4.5, 4.6).
 */
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

static bool exists(const struct store_log *l, uint64_t first, const char *ext)
{
	char path[4200];

	store_chunk_path(l, first, ext, path, sizeof(path));
	return access(path, F_OK) == 0;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* 4.6: acknowledgements, what the limits drop, a drop cut short, a damaged `dropped`. */
static void check_retention(struct store *s)
{
	static struct store_log l;
	struct retention keep = {.keep_chunks = 1};
	struct store *reader = NULL;
	const time_t saved = 1767225600; /* 2026-01-01T00:00:00Z, the chunks' saved_at */
	char err[4400] = "", dir[4200];
	uint64_t acked = 99, dropped = 99;

	CHECK_INT(store_log_open(s, "kept", true, &l), 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(commit(&l, 3, 10 + i), 0); /* chunks 0, 3, 6, 9; next 12 */
	CHECK_INT(store_log_acked(&l, &acked, err, sizeof(err)), 0);
	CHECK_INT(acked, 0); /* nobody acknowledged anything */
	CHECK_INT(store_retain(&l, &keep, acked, saved, &dropped), 0);
	CHECK_INT(dropped, 0);
	CHECK_INT(store_log_ack(&l, "a", 6), 0);
	CHECK_INT(store_log_ack(&l, "b", 9), 0);
	CHECK_INT(store_log_ack(&l, "../x", 1), -EINVAL);
	CHECK_INT(store_log_ack(&l, "x.tmp", 1), -EINVAL);
	CHECK_INT(store_log_ack(&l, "c", 13), -ERANGE); /* past the store's end */
	CHECK_INT(store_log_acked(&l, &acked, err, sizeof(err)), 0);
	CHECK_INT(acked, 6); /* the slower verifier */
	snprintf(dir, sizeof(dir), "%s/acks", l.dir);
	write_text(dir, "c", "7x\n");
	CHECK_INT(store_log_acked(&l, &acked, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "acks/c: not a decimal index") != NULL);
	write_text(dir, "c", "7\n");

	/* Up to the acknowledged 6 only, although keep_chunks = 1 asks for more. */
	CHECK_INT(store_retain(&l, &keep, 6, saved, &dropped), 0);
	CHECK_INT(dropped, 2);
	CHECK_INT(l.dropped, 6);
	CHECK_INT(l.first, 6);
	CHECK_INT(l.chunks, 2);
	CHECK(!exists(&l, 0, "manifest") && !exists(&l, 0, "chunk"));
	CHECK(!exists(&l, 3, "manifest") && !exists(&l, 3, "chunk"));
	CHECK(exists(&l, 6, "chunk") && exists(&l, 9, "chunk"));
	/* Everything acknowledged: the newest chunk stays all the same. */
	CHECK_INT(store_retain(&l, &keep, 100, saved, &dropped), 0);
	CHECK_INT(dropped, 1);
	CHECK_INT(l.first, 9);
	CHECK(exists(&l, 9, "manifest"));
	CHECK_INT(store_log_open(s, "kept", false, &l), 0);
	CHECK_STR(l.error, "");
	CHECK_INT(l.first, 9);
	CHECK_INT(l.next, 12);
	CHECK_INT(l.chunks, 1);

	/* keep_age: only chunks saved longer ago than the limit. */
	CHECK_INT(store_log_open(s, "aged", true, &l), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(commit(&l, 2, 20 + i), 0);
	keep = (struct retention){.keep_seconds = 3600};
	CHECK_INT(store_retain(&l, &keep, 100, saved + 3600, &dropped), 0);
	CHECK_INT(dropped, 0);
	CHECK_INT(store_retain(&l, &keep, 100, saved + 3601, &dropped), 0);
	CHECK_INT(dropped, 2);
	CHECK_INT(l.first, 4);

	/* A drop cut short after its commit point: readers skip, the lock holder removes. */
	CHECK_INT(store_log_open(s, "cut", true, &l), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(commit(&l, 2, 30 + i), 0);
	write_text(l.dir, "dropped", "4\n");
	CHECK_INT(store_open(root, false, &reader), 0);
	CHECK_INT(store_log_open(reader, "cut", false, &l), 0);
	CHECK_STR(l.error, "");
	CHECK_INT(l.first, 4);
	CHECK_INT(l.chunks, 1);
	CHECK(exists(&l, 0, "manifest")); /* a reader removes nothing */
	CHECK_INT(store_log_open(s, "cut", false, &l), 0);
	CHECK_STR(l.error, "");
	CHECK(!exists(&l, 0, "manifest") && !exists(&l, 2, "chunk"));
	CHECK(exists(&l, 4, "manifest"));

	/* A damaged `dropped` makes the log inconsistent; nothing is removed. */
	write_text(l.dir, "dropped", "4 \n");
	CHECK_INT(store_log_open(s, "cut", false, &l), 0);
	CHECK(strstr(l.error, "/dropped: not a decimal index") != NULL);
	CHECK_INT(store_retain(&l, &keep, 100, saved + 9999, &dropped), -EBADMSG);
	CHECK(exists(&l, 4, "manifest"));
	store_free(reader);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

/* A quoted chunk's manifest (4.7) reads back as written; a bad quote names the key. */
static void check_quote(struct store_log *l)
{
	static struct manifest m;
	char path[4200], err[512];
	FILE *f;

	CHECK_INT(commit(l, 1, 4), 0);
	store_chunk_path(l, l->next - 1, "manifest", path, sizeof(path));
	CHECK_INT(manifest_read(path, &m, err, sizeof(err)), 0);
	CHECK_STR(m.quote.key, "");
	snprintf(m.quote.key, sizeof(m.quote.key), "000b%064x", 7);
	m.quote.attest_len = 300;
	memset(m.quote.attest, 0xa5, m.quote.attest_len);
	m.quote.signature_len = 72;
	memset(m.quote.signature, 0x5a, m.quote.signature_len);
	m.quote.nonce_len = 16;
	memset(m.quote.nonce, 1, m.quote.nonce_len);
	CHECK_INT(manifest_write(&m, path), 0);
	memset(&m, 0, sizeof(m));
	CHECK_INT(manifest_read(path, &m, err, sizeof(err)), 0);
	CHECK(strncmp(m.quote.key, "000b", 4) == 0 && strlen(m.quote.key) == 68);
	CHECK_INT(m.quote.attest_len, 300);
	CHECK_INT(m.quote.attest[299], 0xa5);
	CHECK_INT(m.quote.signature_len, 72);
	CHECK_INT(m.quote.nonce_len, 16);

	CHECK((f = fopen(path, "w")) != NULL);
	fputs("{\"format\": \"imalog-chunk/1\", \"log_id\": \"q\", \"boot_id\": \"b\", "
	      "\"first\": 0, \"count\": 1, \"bytes\": 1, \"sha256\": \"", f);
	for (int i = 0; i < 64; i++)
		fputc('0', f);
	fputs("\", \"log_bank\": \"sha1\", \"byte_order\": \"little\", \"start\": {}, "
	      "\"end\": {}, \"aggregates\": [], \"saved_at\": \"x\", "
	      "\"quote\": {\"key\": \"0b\", \"attest\": \"00\", \"signature\": \"00\", "
	      "\"nonce\": \"\"}}", f);
	CHECK(fclose(f) == 0);
	CHECK_INT(manifest_read(path, &m, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "\"key\"") != NULL);
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

	CHECK_INT(store_log_open(s, "quoted", true, &l), 0);
	check_quote(&l);
	check_retention(s);
	store_free(s);
	store_free(other);
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
