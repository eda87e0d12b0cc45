// SPDX-License-Identifier: GPL-2.0-or-later
/* Does the kernel's list reach the TPM's PCRs (see pcrcheck.h)? */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcrcheck.h"

/* The kernel's first record after a (kexec) boot: ima_add_boot_aggregate(). */
static bool is_boot_aggregate(const imalog_record *r)
{
	static const char name[] = "boot_aggregate";
	struct imalog_field f;

	return imalog_record_field_count(r) >= 2 && imalog_record_field(r, 1, &f) == 0 &&
	       f.format == IMALOG_FIELD_STRING && f.len >= sizeof(name) - 1 &&
	       !memcmp(f.data, name, sizeof(name) - 1);
}

/* A file holding @len bytes of @buf, for a reader; -errno on failure. */
static int memory_file(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("imalog-pcrcheck", MFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* The banks to check: asked for, allocated in the TPM, and known in @start. */
static uint32_t common_banks(const imalog_pcrs *tpm, const struct pcr_state *start,
			     uint32_t banks)
{
	uint32_t b = 0;

	for (int a = 0; a < IMALOG_HASH_COUNT; a++)
		if ((banks >> a & 1) && (start->banks >> a & 1 || !start->used) &&
		    imalog_pcrs_get(tpm, 10, (enum imalog_hash)a))
			b |= 1u << a;
	return b;
}

static int seed(imalog_replay *rp, const struct pcr_state *start, uint32_t banks)
{
	int r = 0;

	for (unsigned int p = 0; r == 0 && p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; r == 0 && a < IMALOG_HASH_COUNT; a++)
			if ((start->used >> p & 1) && (banks >> a & 1))
				r = imalog_replay_seed(rp, p, (enum imalog_hash)a, start->v[p][a],
						       imalog_hash_size((enum imalog_hash)a));
	return r;
}

/* Replay the records; *ret_boot: the index of the last boot_aggregate, else @first. */
static int replay_all(imalog_replay *rp, imalog_reader *rd, uint64_t first, uint64_t *ret_boot)
{
	const imalog_record *rec;
	int r;

	*ret_boot = first;
	while ((r = imalog_reader_next(rd, &rec)) == 1) {
		if (is_boot_aggregate(rec))
			*ret_boot = imalog_record_index(rec);
		if ((r = imalog_replay_record(rp, rec)) < 0)
			return r;
	}
	return r;
}

/* Name the first PCR the replay used whose final value is not the TPM's. */
static void name_mismatch(const imalog_replay *rp, const imalog_pcrs *tpm, uint32_t banks,
			  uint64_t boot, char *err, size_t err_size)
{
	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++)
		for (int a = 0; imalog_replay_pcr_used(rp, p) && a < IMALOG_HASH_COUNT; a++) {
			enum imalog_hash alg = (enum imalog_hash)a;
			const uint8_t *want = imalog_pcrs_get(tpm, p, alg);

			if (!(banks >> a & 1) || !want ||
			    !memcmp(imalog_replay_pcr(rp, p, alg), want, imalog_hash_size(alg)))
				continue;
			snprintf(err, err_size, "the kernel's list does not account for PCR %u "
				 "(%s bank): records measured before record %" PRIu64 " were lost "
				 "(a kexec that did not carry them?)", p, imalog_hash_name(alg), boot);
			return;
		}
	snprintf(err, err_size, "the kernel's list does not reach the TPM's PCRs at any one "
		 "record: records measured before record %" PRIu64 " were lost (a kexec that did "
		 "not carry them?)", boot);
}

int pcr_check_load(const char *tpm_dir, imalog_pcrs **ret)
{
	imalog_pcrs *p = imalog_pcrs_new();
	int r;

	*ret = NULL;
	if (!p)
		return -ENOMEM;
	r = imalog_pcrs_load_sysfs(p, tpm_dir);
	if (r < 0) {
		imalog_pcrs_free(p);
		return r == -ENOENT ? 0 : r;
	}
	*ret = p;
	return 0;
}

int pcr_check_reach(const imalog_pcrs *tpm, const struct pcr_state *start, uint32_t banks,
		    enum imalog_byte_order order, const uint8_t *buf, size_t len, uint64_t first,
		    char *err, size_t err_size)
{
	struct imalog_replay_options o = { .threads = 1, .expected = tpm };
	struct imalog_reader_options ro = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, order },
		.first_index = first,
	};
	imalog_replay *rp = NULL;
	imalog_reader *rd = NULL;
	uint64_t boot = first, prefix = 0;
	int fd = -1, r;

	if (!tpm || len == 0 || !(o.banks = common_banks(tpm, start, banks)))
		return 0;	/* no TPM to ask, or nothing to replay */
	if ((r = imalog_replay_new(&o, &rp)) == 0 && (r = seed(rp, start, o.banks)) == 0 &&
	    (r = fd = memory_file(buf, len)) >= 0 && (r = imalog_reader_new(fd, &ro, &rd)) == 0 &&
	    (r = replay_all(rp, rd, first, &boot)) == 0 && !imalog_replay_match(rp, &prefix)) {
		name_mismatch(rp, tpm, o.banks, boot, err, err_size);
		r = -EBADMSG;
	} else if (r < 0) {
		snprintf(err, err_size, "replaying the kernel's records from %" PRIu64
			 " against the TPM's PCRs: %s", first, strerror(-r));
	}
	imalog_reader_free(rd);
	if (fd >= 0)
		close(fd);
	imalog_replay_free(rp);
	return r;
}
