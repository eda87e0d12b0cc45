// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The chunk manifest parser (docs/format.md 4.3) on arbitrary bytes: manifest_read() reads a
 * path, so the input goes through a memory file. A manifest it accepts must survive
 * manifest_write() and a second read unchanged.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "store.h"

static int memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz-manifest", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct manifest m, again;
	char path[64], err[400];
	int fd = memfile(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	if (manifest_read(path, &m, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(m.count >= 1 && m.naggregates <= STORE_MAX_AGGREGATES);
		FUZZ_ASSERT(manifest_write(&m, path) == 0);
		FUZZ_ASSERT(manifest_read(path, &again, err, sizeof(err)) == 0);
		FUZZ_ASSERT(again.first == m.first && again.count == m.count &&
			    again.bytes == m.bytes && !memcmp(again.sha256, m.sha256, 32) &&
			    again.order == m.order && again.naggregates == m.naggregates);
		FUZZ_ASSERT(pcr_state_equal(&again.start, &m.start) &&
			    pcr_state_equal(&again.end, &m.end));
	}
	close(fd);
	return 0;
}
