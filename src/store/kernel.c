// SPDX-License-Identifier: GPL-2.0-or-later
/* IMA securityfs access for imalogd and imalog (see kernel.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"

static void path_of(const struct kernel *k, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", k->dir, name);
}

int kernel_open(const char *dir, struct kernel *k)
{
	char path[4200];

	memset(k, 0, sizeof(*k));
	k->fd = -1;
	k->staged_fd = -1;
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	path_of(k, KERNEL_LIST, path, sizeof(path));
	if (access(path, R_OK) != 0)
		return -errno;
	/* Mainline gives every measurement file a _staged twin when deletion is built in. */
	path_of(k, KERNEL_LIST "_staged", path, sizeof(path));
	k->can_delete = access(path, F_OK) == 0;
	path_of(k, "runtime_measurements_deleted", path, sizeof(path));
	k->has_counter = access(path, R_OK) == 0;
	return 0;
}

/*
 * The staged twin is opened while the list is held, in the same mode: a reader keeps writers
 * out, so neither list can move between the two reads; the writer task may open more files for
 * writing (ima_measure_lock()).
 */
int kernel_acquire(struct kernel *k, bool writer)
{
	char path[4200];
	int flags = (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC;

	kernel_release(k);
	path_of(k, KERNEL_LIST, path, sizeof(path));
	k->fd = open(path, flags);
	if (k->fd < 0)
		return -errno;
	k->writer = writer;
	if (!k->can_delete)
		return 0;
	path_of(k, KERNEL_LIST "_staged", path, sizeof(path));
	k->staged_fd = open(path, flags);
	if (k->staged_fd < 0) {
		int r = -errno;

		kernel_release(k);
		return r;
	}
	return 0;
}

void kernel_release(struct kernel *k)
{
	if (k->staged_fd >= 0)
		close(k->staged_fd);
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->staged_fd = -1;
	k->writer = false;
}

/* Read @fd from its start, appending to *buf from *len on. */
static int read_all(int fd, uint8_t **buf, size_t *cap, size_t *len)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (*len == *cap) {
			size_t ncap = *cap ? 2 * *cap : 1 << 20;
			uint8_t *p = realloc(*buf, ncap);

			if (!p)
				return -ENOMEM;
			*buf = p;
			*cap = ncap;
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

int kernel_read_list(struct kernel *k, uint8_t **buf, size_t *cap, size_t *ret_len)
{
	size_t len = 0;
	int r = read_all(k->fd, buf, cap, &len);

	if (r == 0)
		*ret_len = len;
	return r;
}

int kernel_read_lists(struct kernel *k, uint8_t **buf, size_t *cap, size_t *ret_len,
		      size_t *ret_staged)
{
	size_t len = 0, staged;
	int r = k->staged_fd >= 0 ? read_all(k->staged_fd, buf, cap, &len) : 0;

	staged = len;
	if (r == 0 && (r = read_all(k->fd, buf, cap, &len)) == 0) {
		*ret_len = len;
		*ret_staged = staged;
	}
	return r;
}

static int read_text(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	out[n] = '\0';
	return 0;
}

int kernel_deleted(const struct kernel *k, uint64_t *ret)
{
	char path[4200], text[32], *end;
	int r;

	if (!k->has_counter) {
		*ret = 0;
		return 0;
	}
	path_of(k, "runtime_measurements_deleted", path, sizeof(path));
	if ((r = read_text(path, text, sizeof(text))) < 0)
		return r;
	errno = 0;
	*ret = strtoull(text, &end, 10);
	return errno || end == text || (*end && *end != '\n') ? -EBADMSG : 0;
}

/* One command, in one write at offset 0 (seq_file rejects pwrite()). */
static int command(const struct kernel *k, int fd, const char *cmd)
{
	size_t len = strlen(cmd);
	ssize_t w;

	if (!k->writer || fd < 0)
		return -EBADF;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	do
		w = write(fd, cmd, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

int kernel_delete(struct kernel *k, uint64_t n)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "%" PRIu64 "\n", n);
	return command(k, k->fd, cmd);
}

int kernel_stage(struct kernel *k)
{
	return command(k, k->staged_fd, "A\n");
}

int kernel_delete_staged(struct kernel *k)
{
	return command(k, k->staged_fd, "D\n");
}

/* ima_flush_htable_setup() is a __setup() handler: the bare word, or with a value. */
bool kernel_flush_htable(void)
{
	char text[8192], *save = NULL;

	if (read_text("/proc/cmdline", text, sizeof(text)) < 0)
		return false;
	for (char *t = strtok_r(text, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
		if (!strcmp(t, "ima_flush_htable") || !strncmp(t, "ima_flush_htable=", 17))
			return true;
	return false;
}

int kernel_boot_id(char *out, size_t size)
{
	const char *env = getenv("IMALOG_BOOT_ID");
	int r;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return 0;
	}
	r = read_text("/proc/sys/kernel/random/boot_id", out, size);
	if (r == 0)
		out[strcspn(out, "\n")] = '\0';
	return r;
}
