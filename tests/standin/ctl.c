// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control client: "imalog-standin ctl SOCKET COMMAND [ARG...]" sends one command and
 * copies the payload of an "ok" reply to stdout (exit 0); an "err" reply goes to stderr
 * (exit 1); no connection or a broken reply is exit 2. While the stand-in is still starting
 * (no socket yet, or nobody listening), it retries for up to five seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "standin.h"

#define CONNECT_TRIES 100
#define HEAD_MAX 512

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const struct timespec pause = {0, 50 * 1000 * 1000};

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	for (int i = 0; i < CONNECT_TRIES; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		err = -errno;
		close(fd);
		if (err != -ENOENT && err != -ECONNREFUSED)
			return err;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

static int send_command(int fd, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *sep = i + 1 < argc ? " " : "\n";

		if (send(fd, argv[i], strlen(argv[i]), MSG_NOSIGNAL) < 0 ||
		    send(fd, sep, 1, MSG_NOSIGNAL) < 0)
			return -errno;
	}
	return 0;
}

/* The reply's first line, without its newline. */
static int read_head(int fd, char *head, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = recv(fd, head + len, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPROTO;
		if (head[len] == '\n') {
			head[len] = '\0';
			return 0;
		}
		len++;
	}
	return -EPROTO;
}

static int copy_payload(int fd, unsigned long long len)
{
	char buf[65536];

	while (len) {
		ssize_t n = recv(fd, buf, len < sizeof(buf) ? len : sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPROTO;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -EIO;
		len -= (unsigned long long)n;
	}
	return fflush(stdout) ? -EIO : 0;
}

static int exchange(const char *path, int argc, char **argv)
{
	char head[HEAD_MAX];
	unsigned long long len;
	int fd = connect_to(path), err;

	if (fd < 0) {
		fprintf(stderr, "imalog-standin ctl: %s: %s\n", path, strerror(-fd));
		return 2;
	}
	err = send_command(fd, argc, argv);
	if (!err)
		err = read_head(fd, head, sizeof(head));
	if (!err && !strncmp(head, "err ", 4)) {
		fprintf(stderr, "imalog-standin ctl: %s\n", head + 4);
		close(fd);
		return 1;
	}
	if (!err)
		err = sscanf(head, "ok %llu", &len) == 1 ? copy_payload(fd, len) : -EPROTO;
	close(fd);
	if (err < 0) {
		fprintf(stderr, "imalog-standin ctl: %s: %s\n", path, strerror(-err));
		return 2;
	}
	return 0;
}

int si_ctl_main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: imalog-standin ctl SOCKET COMMAND [ARG...]\n");
		return 2;
	}
	return exchange(argv[1], argc - 2, argv + 2);
}
