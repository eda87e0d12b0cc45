// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The store's directories, its lock, the commit protocol of a chunk and the integrity check
 * (docs/format.md 4.1, 4.2, 4.5).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

struct store {
	char root[4096];
	int lock_fd;
	bool exclusive;		/* the lock is held: this process is the store's only writer */
};

static int mkdir_p(const char *path)
{
	char buf[4096];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int store_open(const char *root, bool exclusive, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));
	char path[4200];
	int r;

	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	snprintf(s->root, sizeof(s->root), "%s", root);
	snprintf(path, sizeof(path), "%s/logs", root);
	if ((r = mkdir_p(path)) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/lock", root);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (exclusive && flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		goto fail;
	}
	s->exclusive = exclusive;
	*ret = s;
	return 0;
fail:
	store_free(s);
	return r;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

bool store_locked(const char *root)
{
	char path[4200];
	int fd;
	bool held;

	snprintf(path, sizeof(path), "%s/lock", root);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

const char *store_root(const struct store *s)
{
	return s->root;
}

void store_chunk_path(const struct store_log *l, uint64_t first, const char *ext, char *out,
		      size_t size)
{
	snprintf(out, size, "%s/%020" PRIu64 ".%s", l->dir, first, ext);
}

/* ---- boots ---- */

bool store_log_has_boot(const struct store_log *l, const char *boot_id)
{
	char path[4200], line[128];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/boots", l->dir);
	if (!(f = fopen(path, "re")))
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, boot_id, strlen(boot_id)) == 0 && line[strlen(boot_id)] == '\n';
	fclose(f);
	return found;
}

int store_log_add_boot(struct store_log *l, const char *boot_id)
{
	char path[4200];
	int fd, r = 0;

	if (store_log_has_boot(l, boot_id))
		return 0;
	snprintf(path, sizeof(path), "%s/boots", l->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%s\n", boot_id) < 0 || fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r ? r : fsync_dir(l->dir);
}

int store_log_set_start(struct store_log *l, uint64_t first)
{
	char path[4200];
	int fd, r = 0;

	if (l->chunks)
		return -EEXIST;
	snprintf(path, sizeof(path), "%s/start", l->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%" PRIu64 "\n", first) < 0 || fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && (r = fsync_dir(l->dir)) == 0)
		l->start = l->first = l->next = first;
	return r;
}

int store_read_index(const char *dir, const char *name, uint64_t *ret)
{
	char path[4200], text[32], *end;
	int fd, r = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	/* Digits, one newline, nothing else: a torn or foreign file is not a number. */
	if (n < 2 || text[0] < '0' || text[0] > '9' || text[n - 1] != '\n')
		return -EBADMSG;
	text[n - 1] = '\0';
	errno = 0;
	*ret = strtoull(text, &end, 10);
	return errno || *end ? -EBADMSG : 0;
}

/* `start` or `dropped` (4.1): 0 when absent; a file that is not a number makes @l inconsistent. */
static uint64_t read_log_index(struct store_log *l, const char *name)
{
	uint64_t v = 0;
	int r = store_read_index(l->dir, name, &v);

	if (r == -ENOENT)
		return 0;
	if (r < 0 && !l->error[0])
		snprintf(l->error, sizeof(l->error), "%.400s/%s: %s", l->dir, name,
			 r == -EBADMSG ? "not a decimal index and a newline" : strerror(-r));
	return r < 0 ? 0 : v;
}

/* ---- scanning ---- */

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in @dir ending in @ext; the caller frees each and the array. */
static int list_names(const char *dir, const char *ext, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0, elen = strlen(ext);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **grown;

		if (len <= elen || strcmp(e->d_name + len - elen, ext) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = realloc(names, cap * sizeof(*names))))
				break;
			names = grown;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (e) {
		while (n)
			free(names[--n]);
		free(names);
		return -ENOMEM;
	}
	if (n)
		qsort(names, n, sizeof(*names), compare_names);	/* names is NULL when n is 0 */
	*ret = names;
	*ret_n = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The index a "<20 digits>.ext" name starts with; false for any other name. */
static bool name_index(const char *name, uint64_t *ret)
{
	char *end;

	if (strspn(name, "0123456789") != 20 || name[20] != '.')
		return false;
	errno = 0;
	*ret = strtoull(name, &end, 10);
	return errno == 0 && end == name + 20;
}

/*
 * Complete a drop (4.6): remove every manifest, then every chunk, whose first record lies
 * before l->dropped. Only the lock holder does this.
 */
static void remove_dropped(const struct store_log *l)
{
	static const char *const exts[] = {".manifest", ".chunk"};
	char path[4200], **names;
	uint64_t first;
	size_t n;

	if (!l->dropped)
		return;
	for (size_t e = 0; e < 2; e++) {
		if (list_names(l->dir, exts[e], &names, &n) < 0)
			continue;
		for (size_t i = 0; i < n && name_index(names[i], &first) && first < l->dropped;
		     i++) {
			snprintf(path, sizeof(path), "%s/%s", l->dir, names[i]);
			unlink(path);
		}
		free_names(names, n);
	}
	fsync_dir(l->dir);
}

/* The name of the last manifest of @l without its extension ("" if none) into @out. */
static void last_manifest(const struct store_log *l, char *out, size_t size)
{
	char **names;
	size_t n;

	out[0] = '\0';
	if (list_names(l->dir, ".manifest", &names, &n) < 0)
		return;
	if (n > 0)
		snprintf(out, size, "%.*s", (int)(strlen(names[n - 1]) - strlen(".manifest")),
			 names[n - 1]);
	free_names(names, n);
}

/*
 * Remove what was never committed: tmp/ files, and a chunk without a manifest after the last
 * committed one (a commit cut short, 4.2). A chunk without a manifest before that is not one: its
 * manifest was lost, and the chunk may be the only copy of its records; it stays, and the check
 * (4.5) reports the gap.
 */
static void remove_uncommitted(struct store_log *l)
{
	char path[4200], last[64], **names;
	size_t n;

	snprintf(path, sizeof(path), "%s/tmp", l->dir);
	if (list_names(path, "", &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/tmp/%s", l->dir, names[i]);
			unlink(path);
		}
		free_names(names, n);
	}
	last_manifest(l, last, sizeof(last));
	if (list_names(l->dir, ".chunk", &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int stem = (int)(strlen(names[i]) - strlen(".chunk"));
		/* Names are zero-padded indexes: they sort as the numbers do. */
		bool before_last_commit =
			(size_t)stem == strlen(last) && strncmp(names[i], last, (size_t)stem) <= 0;

		if (before_last_commit)
			continue;
		snprintf(path, sizeof(path), "%s/%.*s.manifest", l->dir, stem, names[i]);
		if (access(path, F_OK) != 0 && errno == ENOENT) {
			snprintf(path, sizeof(path), "%s/%s", l->dir, names[i]);
			unlink(path);
		}
	}
	free_names(names, n);
}

/* SHA-256 and size of a file. */
static int hash_file(const char *path, uint8_t digest[32], uint64_t *ret_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(1 << 16);
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	uint64_t size = 0;
	ssize_t n;

	if (!ctx || !buf || fd < 0 || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = fd < 0 ? -errno : -ENOMEM;
		goto done;
	}
	while ((n = read(fd, buf, 1 << 16)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		size += (uint64_t)n;
	}
	if (n < 0)
		r = -errno;
	else if (!EVP_DigestFinal_ex(ctx, digest, NULL))
		r = -EIO;
	*ret_size = size;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Count the whole records of a chunk; -EBADMSG if it does not parse to its end. */
static int count_records(const char *path, enum imalog_byte_order order, uint64_t *ret)
{
	struct imalog_reader_options o = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, order },
		.allow_unknown_templates = true,
	};
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	const imalog_record *rec;
	imalog_reader *rd;
	uint64_t n = 0;

	if (fd < 0)
		return -errno;
	r = imalog_reader_new(fd, &o, &rd);
	while (r == 0 && (r = imalog_reader_next(rd, &rec)) > 0) {
		n++;
		r = 0;
	}
	imalog_reader_free(rd);
	close(fd);
	*ret = n;
	return r;
}

/* 4.5: the chunk exists, has the manifest's size, digest and record count. */
static int check_chunk(const struct manifest *m, const char *path, char *err, size_t errlen)
{
	uint8_t digest[32];
	uint64_t size = 0, count = 0;
	int r = hash_file(path, digest, &size);

	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	else if (size != m->bytes || memcmp(digest, m->sha256, 32) != 0)
		snprintf(err, errlen, "%s: size or SHA-256 differs from its manifest", path);
	else if ((r = count_records(path, m->order, &count)) < 0 || count != m->count)
		snprintf(err, errlen, "%s: holds %s than the %" PRIu64 " records its manifest says",
			 path, r < 0 ? "other bytes" : "another number of records", m->count);
	else
		return 0;
	return r < 0 ? r : -EBADMSG;
}

int store_for_each_chunk(const struct store_log *l,
			 int (*fn)(const struct manifest *m, const char *chunk_path, void *arg),
			 void *arg)
{
	struct manifest *m = malloc(sizeof(*m));
	char path[4200], chunk[4200], err[400], **names = NULL;
	size_t n = 0;
	uint64_t first;
	int r = m ? list_names(l->dir, ".manifest", &names, &n) : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++) {
		/* Left by a drop cut short (4.6): no longer part of the log. */
		if (name_index(names[i], &first) && first < l->dropped)
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->dir, names[i]);
		r = manifest_read(path, m, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			break;
		}
		store_chunk_path(l, m->first, "chunk", chunk, sizeof(chunk));
		r = fn(m, chunk, arg);
	}
	free_names(names, n);
	free(m);
	return r;
}

struct scan {
	struct store_log *l;
	uint64_t chunks;
};

static int scan_one(const struct manifest *m, const char *chunk, void *arg)
{
	struct scan *sc = arg;
	struct store_log *l = sc->l;
	char expect[4200];
	int r;

	store_chunk_path(l, m->first, "chunk", expect, sizeof(expect));
	if (m->first != l->next || strcmp(m->log_id, l->id) != 0) {
		snprintf(l->error, sizeof(l->error),
			 "%s: starts at record %" PRIu64 ", expected %" PRIu64 " (gap or overlap)",
			 chunk, m->first, l->next);
		return -EBADMSG;
	}
	/* After a drop nothing here vouches for the first chunk's start; a verifier's state does */
	if (sc->chunks ? !pcr_state_equal(&m->start, &l->end)
		       : l->dropped == 0 && m->start.used != 0) {
		snprintf(l->error, sizeof(l->error),
			 "%s: its manifest's start state is not the previous chunk's end", chunk);
		return -EBADMSG;
	}
	if ((r = check_chunk(m, chunk, l->error, sizeof(l->error))) < 0)
		return r;
	l->next = m->first + m->count;
	l->end = m->end;
	l->order = m->order;
	l->bytes += m->bytes;
	l->chunks = ++sc->chunks;
	return 0;
}

int store_log_open(struct store *s, const char *id, bool create, struct store_log *ret)
{
	struct scan sc = { ret, 0 };
	char path[4200];
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!*id || strchr(id, '/') || strlen(id) >= sizeof(ret->id))
		return -EINVAL;
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	if ((size_t)snprintf(ret->dir, sizeof(ret->dir), "%.3000s/logs/%s", s->root, id) >=
	    sizeof(ret->dir))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/tmp", ret->dir);
	if (create && (r = mkdir_p(path)) < 0)
		return r;
	if (access(ret->dir, F_OK) != 0)
		return -ENOENT;
	ret->order = IMALOG_HOST_ORDER;
	ret->start = read_log_index(ret, "start");
	ret->dropped = read_log_index(ret, "dropped");
	ret->first = ret->next = ret->start > ret->dropped ? ret->start : ret->dropped;
	if (ret->error[0])
		return 0;
	/*
	 * Only the lock holder may clean up: to a reader, a chunk without a manifest may be one
	 * that the daemon is about to commit, and removing it would commit a manifest without its
	 * chunk. Readers skip such files anyway (the scan goes by manifests).
	 */
	if (s->exclusive) {
		remove_dropped(ret);
		remove_uncommitted(ret);
	}
	r = store_for_each_chunk(ret, scan_one, &sc);
	if (r < 0 && !ret->error[0])
		snprintf(ret->error, sizeof(ret->error), "%.400s: a manifest cannot be read", ret->dir);
	return r == -ENOMEM ? r : 0;
}

int store_latest_log(const struct store *s, char *ret_id, size_t size)
{
	char path[4200], **names, best[64] = "";
	struct stat st;
	time_t newest = 0;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/logs", s->root);
	if ((r = list_names(path, "", &names, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/logs/%s/boots", s->root, names[i]);
		if (names[i][0] != '.' && stat(path, &st) == 0 && st.st_mtime >= newest &&
		    strlen(names[i]) < sizeof(best)) {
			newest = st.st_mtime;
			snprintf(best, sizeof(best), "%s", names[i]);
		}
	}
	free_names(names, n);
	if (!best[0])
		return -ENOENT;
	snprintf(ret_id, size, "%s", best);
	return 0;
}

/* ---- committing ---- */

static int write_file(const char *path, const uint8_t *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r = 0;

	if (fd < 0)
		return -errno;
	while (len && r == 0) {
		ssize_t n = write(fd, bytes, len);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			bytes += n, len -= (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

/* 4.7: keys/<name>.pub, written once, atomically, before a manifest names it. */
int store_write_key(const char *root, const char *name, const uint8_t *pub, size_t len)
{
	char dir[4200], tmp[4300], final[4300];
	struct stat st;
	int r;

	snprintf(dir, sizeof(dir), "%s/keys", root);
	snprintf(final, sizeof(final), "%s/%s.pub", dir, name);
	if (stat(final, &st) == 0)
		return 0;	/* never changed once written */
	snprintf(tmp, sizeof(tmp), "%s/%s.pub.tmp", dir, name);
	if ((r = mkdir_p(dir)) < 0 || (r = write_file(tmp, pub, len)) < 0)
		return r;
	if (rename(tmp, final) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return fsync_dir(dir);
}

/* 4.2: chunk, then manifest (the commit point), then the directory. */
int store_commit_chunk(struct store_log *l, const uint8_t *bytes, size_t len, struct manifest *m)
{
	char tmp[4200], final[4200];
	int r;

	if (l->error[0])
		return -EBADMSG;	/* never extend an inconsistent log */
	m->first = l->next;
	m->bytes = len;
	snprintf(m->log_id, sizeof(m->log_id), "%s", l->id);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%020" PRIu64 ".chunk", l->dir, m->first);
	store_chunk_path(l, m->first, "chunk", final, sizeof(final));
	if (!EVP_Digest(bytes, len, m->sha256, NULL, EVP_sha256(), NULL))
		return -EIO;
	if ((r = write_file(tmp, bytes, len)) < 0 || (rename(tmp, final) < 0 && (r = -errno)))
		goto fail;
	snprintf(tmp, sizeof(tmp), "%s/tmp/%020" PRIu64 ".manifest", l->dir, m->first);
	store_chunk_path(l, m->first, "manifest", final, sizeof(final));
	if ((r = manifest_write(m, tmp)) < 0 || (rename(tmp, final) < 0 && (r = -errno)) ||
	    (r = fsync_dir(l->dir)) < 0)
		goto fail;
	l->next += m->count;
	l->end = m->end;
	l->order = m->order;
	l->bytes += len;
	l->chunks++;
	return 0;
fail:
	unlink(tmp);
	return r;
}
