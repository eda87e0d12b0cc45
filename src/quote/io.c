// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading the input files whole; the only I/O of the quote code, kept apart from its parsers. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int quote_read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	uint8_t *buf = malloc(QUOTE_MAX_FILE + 1);
	size_t len = 0;

	if (fd < 0 || !buf) {
		r = fd < 0 ? -errno : -ENOMEM;
		goto done;
	}
	/* One byte more than the limit tells a file at the limit from a larger one. */
	while (len <= QUOTE_MAX_FILE) {
		ssize_t n = read(fd, buf + len, QUOTE_MAX_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > QUOTE_MAX_FILE) {
		r = -E2BIG;
		goto done;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL; /* transferred */
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}
