// SPDX-License-Identifier: GPL-2.0-or-later
/* --pcrs SPEC: where expected PCR values come from (imalog(1), "EXPECTED VALUES"). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

#define MAX_PCR_FILE (1u << 20)

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	char *text = malloc(MAX_PCR_FILE + 1);
	size_t len = 0;

	if (fd < 0 || !text) {
		r = fd < 0 ? -errno : -ENOMEM;
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, text + len, MAX_PCR_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > MAX_PCR_FILE) {
			r = -E2BIG;
			goto done;
		}
	}
	*ret = text;
	*ret_len = len;
	text = NULL; /* transferred */
done:
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}

/* The PCRs a plain file lists: an explicit claim, so each of them must match. */
static uint64_t listed_pcrs(const char *text, size_t len)
{
	imalog_pcrs *plain = imalog_pcrs_new();
	uint64_t mask = 0;

	if (plain && imalog_pcrs_parse(plain, IMALOG_PCRS_PLAIN, IMALOG_SHA1, text, len, NULL) == 0)
		for (unsigned int pcr = 0; pcr < IMALOG_MAX_PCRS; pcr++)
			for (int a = 0; a < IMALOG_HASH_COUNT; a++)
				if (imalog_pcrs_get(plain, pcr, (enum imalog_hash)a))
					mask |= UINT64_C(1) << pcr;
	imalog_pcrs_free(plain);
	return mask;
}

static int load_text(imalog_pcrs *p, const char *path, enum imalog_pcrs_syntax syntax,
		     enum imalog_hash bank, uint64_t *required)
{
	unsigned int line = 0;
	size_t len = 0;
	char *text = NULL;
	int r = read_file(path, &text, &len);

	if (r < 0) {
		errorf("%s: %s", path, r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	r = imalog_pcrs_parse(p, syntax, bank, text, len, &line);
	if (r == 0 && syntax == IMALOG_PCRS_AUTO)
		*required |= listed_pcrs(text, len);
	if (r < 0)
		errorf("%s: line %u: %s", path, line,
		       r == -EOPNOTSUPP ? "unknown hash algorithm"
		       : r == -E2BIG	? "PCR index out of range"
					: "not a PCR value line (or a digest of the wrong size)");
	free(text);
	return r;
}

int load_pcr_spec(imalog_pcrs *p, const char *spec, uint64_t *required)
{
	const char *comma = strchr(spec, ',');
	struct stat st;
	int r;

	if (comma) {
		char alg_name[16];
		enum imalog_hash alg;

		if ((size_t)(comma - spec) < sizeof(alg_name)) {
			memcpy(alg_name, spec, (size_t)(comma - spec));
			alg_name[comma - spec] = '\0';
			if (imalog_hash_from_name(alg_name, &alg) == 0)
				return load_text(p, comma + 1, IMALOG_PCRS_EVMCTL, alg, required);
		}
	}
	if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = imalog_pcrs_load_sysfs(p, spec);
		if (r < 0)
			errorf("%s: cannot read PCRs (pcr-<alg>/<n>): %s", spec, strerror(-r));
		return r;
	}
	return load_text(p, spec, IMALOG_PCRS_AUTO, IMALOG_SHA1, required);
}
