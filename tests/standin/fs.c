// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The securityfs directory on FUSE, after ima_fs.c with the export/delete series: per-bank
 * measurement files and their _staged twins, the SHA-1 symlinks, the counters. Opening a
 * measurement file takes ima_measure_lock(): many readers or one writer (EBUSY otherwise), the
 * writing task may open more files for writing; writing needs CAP_SYS_ADMIN. Every file is
 * direct I/O, so that each read() reaches seqfile.c as it reaches seq_read() in the kernel.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "standin.h"

#define CAP_SYS_ADMIN_BIT 21
#define STAGED_REQ_LENGTH 21	/* "18446744073709551615\n" */

struct handle {
	const struct si_file *file;
	bool locked, write;
	uint64_t shift;		/* bytes FUSE advanced the file position by writes */
	struct si_seq seq;
};

static struct si_state *state(void)
{
	return fuse_get_context()->private_data;
}

static struct si_file *add_file(struct si_state *st, const char *name, enum si_kind kind,
				mode_t mode)
{
	struct si_file *f = &st->files[st->nfiles++];

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->kind = kind;
	f->mode = mode;
	return f;
}

static void add_link(struct si_state *st, const char *name, const char *target)
{
	struct si_file *f = add_file(st, name, SI_LINK, 0777);

	snprintf(f->target, sizeof(f->target), "%s", target);
}

static void add_lists(struct si_state *st, unsigned int b, bool staged)
{
	mode_t mode = st->staging ? 0660 : 0440;
	const char *sfx = staged ? "_staged" : "";
	char name[64];

	for (int ascii = 0; ascii < 2; ascii++) {
		snprintf(name, sizeof(name), "%s_runtime_measurements_%s%s",
			 ascii ? "ascii" : "binary", st->bank[b].name, sfx);
		add_file(st, name, SI_LIST, mode)->view =
			(struct si_view){.staged = staged, .ascii = ascii, .bank = b};
	}
}

/* The directory ima_fs_init() creates (create_securityfs_measurement_lists() per bank). */
int si_fs_build(struct si_state *st)
{
	st->files = calloc(4 * st->nbanks + 8, sizeof(*st->files));
	if (!st->files)
		return -ENOMEM;
	for (unsigned int b = 0; b < st->nbanks; b++) {
		add_lists(st, b, false);
		if (st->staging)
			add_lists(st, b, true);
	}
	add_link(st, "binary_runtime_measurements", "binary_runtime_measurements_sha1");
	add_link(st, "ascii_runtime_measurements", "ascii_runtime_measurements_sha1");
	if (st->staging) {
		add_link(st, "binary_runtime_measurements_staged",
			 "binary_runtime_measurements_sha1_staged");
		add_link(st, "ascii_runtime_measurements_staged",
			 "ascii_runtime_measurements_sha1_staged");
		add_file(st, "runtime_measurements_deleted", SI_DELETED, 0440);
	}
	add_file(st, "runtime_measurements_count", SI_COUNT, 0440);
	add_file(st, "violations", SI_VIOLATIONS, 0440);
	return 0;
}

/* A file by name, symlinks followed. */
const struct si_file *si_fs_lookup(const struct si_state *st, const char *name)
{
	for (unsigned int i = 0; i < st->nfiles; i++) {
		if (strcmp(st->files[i].name, name))
			continue;
		if (st->files[i].kind == SI_LINK)
			return si_fs_lookup(st, st->files[i].target);
		return &st->files[i];
	}
	return NULL;
}

static const struct si_file *path_file(const struct si_state *st, const char *path, bool follow)
{
	if (path[0] != '/' || !path[1] || strchr(path + 1, '/'))
		return NULL;
	if (follow)
		return si_fs_lookup(st, path + 1);
	for (unsigned int i = 0; i < st->nfiles; i++)
		if (!strcmp(st->files[i].name, path + 1))
			return &st->files[i];
	return NULL;
}

static int fs_getattr(const char *path, struct stat *stbuf, struct fuse_file_info *fi)
{
	struct si_state *st = state();
	const struct si_file *f = path_file(st, path, false);

	memset(stbuf, 0, sizeof(*stbuf));
	stbuf->st_uid = st->owner;
	stbuf->st_gid = getgid();
	stbuf->st_atime = stbuf->st_mtime = stbuf->st_ctime = st->started;
	if (!strcmp(path, "/")) {
		stbuf->st_mode = S_IFDIR | 0755;
		stbuf->st_nlink = 2;
		return 0;
	}
	if (!f)
		return -ENOENT;
	stbuf->st_mode = (f->kind == SI_LINK ? S_IFLNK : S_IFREG) | f->mode;
	stbuf->st_nlink = 1;
	stbuf->st_size = f->kind == SI_LINK ? (off_t)strlen(f->target) : 0;
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	const struct si_file *f = path_file(state(), path, false);

	if (!f || f->kind != SI_LINK)
		return -EINVAL;
	snprintf(buf, size, "%s", f->target);
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct si_state *st = state();

	if (strcmp(path, "/"))
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	for (unsigned int i = 0; i < st->nfiles; i++)
		filler(buf, st->files[i].name, NULL, 0, 0);
	return 0;
}

/* CAP_SYS_ADMIN in the caller's effective set; a stand-in run by a user trusts that user. */
static bool may_write(const struct si_state *st, const struct fuse_context *ctx)
{
	char path[64], line[256];
	unsigned long long caps = 0;
	FILE *f;

	if (st->owner != 0 && ctx->uid == st->owner)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	if (!(f = fopen(path, "re")))
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps >> CAP_SYS_ADMIN_BIT & 1;
}

static void deadline_after(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/*
 * ima_measure_lock(). FUSE sends the release of a closed file asynchronously, so a conflict
 * waits up to release_grace_ms for releases already on their way before it is EBUSY.
 */
static int measure_lock(struct si_state *st, bool write, pid_t pid)
{
	struct timespec deadline;

	deadline_after(&deadline, st->release_grace_ms);
	for (;;) {
		if (write && st->users < 0 && st->writer == pid) {
			st->writer_handles++;
			return 0;
		}
		if (write ? st->users == 0 : st->users >= 0) {
			if (write) {
				st->users = -1;
				st->writer = pid;
				st->writer_handles = 1;
			} else {
				st->users++;
			}
			return 0;
		}
		if (pthread_cond_timedwait(&st->released, &st->lock, &deadline))
			return -EBUSY;
	}
}

static void measure_unlock(struct si_state *st, bool write)
{
	if (!write)
		st->users--;
	else if (--st->writer_handles == 0) {
		st->users = 0;
		st->writer = 0;
	}
	pthread_cond_broadcast(&st->released);
}

/* Count the operation, take its faults and wait out its delay; st->lock is held throughout. */
static int take_fault(struct si_state *st, enum si_op op, const struct si_file *f,
		      struct si_fault *fault)
{
	si_inject_take(st, op, f->name, fault);
	if (fault->delay_ms) {
		struct timespec ts = {fault->delay_ms / 1000,
				      (long)(fault->delay_ms % 1000) * 1000000};

		pthread_mutex_unlock(&st->lock);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&st->lock);
	}
	return -fault->error;
}

static int open_locked(struct si_state *st, const struct si_file *f, struct handle *h, int flags)
{
	struct fuse_context *ctx = fuse_get_context();
	struct si_fault fault;
	int err;

	if ((err = take_fault(st, SI_OP_OPEN, f, &fault)) < 0)
		return err;
	h->write = (flags & O_ACCMODE) != O_RDONLY;
	if (f->kind != SI_LIST || !st->staging)
		return 0;
	if (h->write && !may_write(st, ctx))
		return -EPERM;
	if ((err = measure_lock(st, h->write, ctx->pid)) < 0)
		return err;
	h->locked = true;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct si_state *st = state();
	const struct si_file *f = path_file(st, path, true);
	struct handle *h;
	int err;

	if (!f)
		return -ENOENT;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	h->file = f;
	if ((err = si_seq_init(&h->seq)) < 0) {
		free(h);
		return err;
	}
	pthread_mutex_lock(&st->lock);
	err = open_locked(st, f, h, fi->flags);
	pthread_mutex_unlock(&st->lock);
	if (err < 0) {
		si_seq_release(&h->seq);
		free(h);
		return err;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct si_state *st = state();
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	pthread_mutex_lock(&st->lock);
	if (h->locked)
		measure_unlock(st, h->write);
	pthread_mutex_unlock(&st->lock);
	si_seq_release(&h->seq);
	free(h);
	return 0;
}

/* simple_read_from_buffer() of a counter, "%lu\n" as ima_show_counter() prints it. */
static int read_counter(const struct si_state *st, const struct si_file *f, char *buf,
			size_t size, off_t off)
{
	uint64_t v = f->kind == SI_COUNT ? st->current.len :
		     f->kind == SI_DELETED ? st->deleted : st->violations;
	char text[32];
	int len = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);

	if (off >= len)
		return 0;
	if (size > (size_t)(len - off))
		size = (size_t)(len - off);
	memcpy(buf, text + off, size);
	return (int)size;
}

static int read_locked(struct si_state *st, struct handle *h, char *buf, size_t size, off_t off)
{
	struct si_fault fault;
	uint64_t pos = (uint64_t)off;
	int err;

	if ((err = take_fault(st, SI_OP_READ, h->file, &fault)) < 0)
		return err;
	if (fault.short_len && fault.short_len < size)
		size = fault.short_len;
	if (h->file->kind != SI_LIST)
		return read_counter(st, h->file, buf, size, off);
	/* the kernel does not move the position on a write to these files; FUSE does */
	if (pos == h->seq.read_pos + h->shift)
		pos = h->seq.read_pos;
	else
		h->shift = 0;
	return (int)si_seq_read(st, &h->seq, &h->file->view, buf, size, pos);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct si_state *st = state();
	int r;

	pthread_mutex_lock(&st->lock);
	r = read_locked(st, (struct handle *)(uintptr_t)fi->fh, buf, size, off);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/*
 * kstrtoul(s, 10): an optional '+', decimal digits, an optional newline; ERANGE past
 * ULONG_MAX, EINVAL for anything else.
 */
static int parse_ulong(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	bool overflow = false;
	const char *p = s + (*s == '+');
	const char *digits = p;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
	}
	if (overflow)
		return -ERANGE;
	if (p == digits)
		return -EINVAL;
	p += *p == '\n';
	if (*p)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* _ima_measurements_write(): "A\n" and "D\n" on a _staged file, "N\n" on an original one. */
static int measurements_write(struct si_state *st, bool staged, const char *buf, size_t len)
{
	char req[STAGED_REQ_LENGTH + 1];
	uint64_t n;
	int err;

	if (len < 2 || len > STAGED_REQ_LENGTH)
		return -EINVAL;
	memcpy(req, buf, len);
	if (req[len - 1] != '\n')
		return -EINVAL;
	req[len - 1] = '\0';
	if (req[0] == 'A' || req[0] == 'D') {
		if (len != 2 || !staged)
			return -EINVAL;
		return req[0] == 'A' ? si_stage(st) : si_delete_staged(st);
	}
	if (staged || st->flush_htable)
		return -EINVAL;
	if ((err = parse_ulong(req, &n)) < 0)
		return err;
	return n ? si_delete_n(st, n) : -EINVAL;
}

static int write_locked(struct si_state *st, struct handle *h, const char *buf, size_t size)
{
	struct si_fault fault;
	int err;

	if ((err = take_fault(st, SI_OP_WRITE, h->file, &fault)) < 0)
		return err;
	if (h->file->kind != SI_LIST || !st->staging)
		return -EINVAL;
	if ((err = measurements_write(st, h->file->view.staged, buf, size)) < 0)
		return err;
	h->shift += size;
	si_persist_meta(st);
	return (int)size;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct si_state *st = state();
	int r;

	pthread_mutex_lock(&st->lock);
	r = write_locked(st, (struct handle *)(uintptr_t)fi->fh, buf, size);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* securityfs has no ->create: vfs_create() says EACCES. */
static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EACCES;
}

/* O_TRUNC on a securityfs file succeeds and changes nothing. */
static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	return path_file(state(), path, true) ? 0 : -ENOENT;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->entry_timeout = 1;
	cfg->attr_timeout = 1;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.readdir = fs_readdir,
	.create = fs_create,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.truncate = fs_truncate,
	.release = fs_release,
};

static int serve(struct fuse *fuse, struct si_control *ctl, bool foreground)
{
	struct fuse_session *se = fuse_get_session(fuse);
	struct fuse_loop_config *cfg;
	int r;

	if (fuse_daemonize(foreground) < 0 || fuse_set_signal_handlers(se) < 0)
		return -EIO;
	if ((r = si_control_start(ctl)) < 0 || !(cfg = fuse_loop_cfg_create())) {
		fuse_remove_signal_handlers(se);
		return r < 0 ? r : -ENOMEM;
	}
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 16);
	r = fuse_loop_mt(fuse, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_remove_signal_handlers(se);
	return r ? -EIO : 0;
}

/*
 * Mount, open the control socket, then (unless @foreground) detach: the caller's parent process
 * returns once both exist. Serve until unmounted or signalled.
 */
int si_fs_main(struct si_state *st, const char *mountpoint, const char *control,
	       bool foreground, bool debug)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct si_control *ctl = NULL;
	struct fuse *fuse = NULL;
	int err = -ENOMEM;

	if (fuse_opt_add_arg(&args, "imalog-standin") ||
	    fuse_opt_add_arg(&args, "-ofsname=imalog-standin,subtype=imalog-standin") ||
	    (debug && fuse_opt_add_arg(&args, "-d")))
		goto done;
	err = -EIO;
	if (!(fuse = fuse_new(&args, &ops, sizeof(ops), st)))
		goto done;
	if (fuse_mount(fuse, mountpoint) < 0)
		goto done;
	if ((err = si_control_open(st, control, &ctl)) == 0)
		err = serve(fuse, ctl, foreground);
	si_control_stop(ctl);
	fuse_unmount(fuse);
done:
	if (fuse)
		fuse_destroy(fuse);
	fuse_opt_free_args(&args);
	return err;
}
