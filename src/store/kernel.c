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

int kernel_acquire(struct kernel *k, bool writer)
{
	char path[4200];

	kernel_release(k);
	path_of(k, KERNEL_LIST, path, sizeof(path));
	k->fd = open(path, (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (k->fd < 0)
		return -errno;
	k->writer = writer;
	return 0;
}

void kernel_release(struct kernel *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->writer = false;
}

int kernel_read_list(struct kernel *k, uint8_t **buf, size_t *cap, size_t *ret_len)
{
	size_t len = 0;

	if (lseek(k->fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == *cap) {
			size_t ncap = *cap ? 2 * *cap : 1 << 20;
			uint8_t *p = realloc(*buf, ncap);

			if (!p)
				return -ENOMEM;
			*buf = p;
			*cap = ncap;
		}
		n = read(k->fd, *buf + len, *cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
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

int kernel_delete(struct kernel *k, uint64_t n)
{
	char cmd[32];
	int len = snprintf(cmd, sizeof(cmd), "%" PRIu64 "\n", n);
	ssize_t w;

	if (!k->writer)
		return -EBADF;
	/* seq_file rejects pwrite(); securityfs writers want a write at offset 0. */
	if (lseek(k->fd, 0, SEEK_SET) < 0)
		return -errno;
	do
		w = write(k->fd, cmd, (size_t)len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return w == len ? 0 : -EIO;
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
