/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One save-and-delete cycle of imalogd, also run by `imalog snapshot` when no daemon runs:
 * read the kernel's list, check what the store already holds, commit new records as a chunk,
 * and delete from the kernel only what is committed (docs/format.md 4.2, 4.4).
 */
#ifndef IMALOG_SYNC_H
#define IMALOG_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"
#include "store.h"
#include "tpm.h"

/*
 * How saved records leave the kernel (docs/design.md): `N` on the list, or `A` then `D` on its
 * _staged twin, the only way that also frees the duplicate-detection digests (ima_flush_htable);
 * auto picks staged when the kernel was booted with ima_flush_htable, or refuses `N` with EINVAL.
 */
enum sync_delete { SYNC_DELETE_AUTO, SYNC_DELETE_COUNT, SYNC_DELETE_STAGED };

struct sync_config {
	char store_dir[4096];
	char ima_dir[4096];
	char tpm_dir[4096];		/* pcr-<alg>/<n> files to check the kernel's list against */
	uint32_t banks;			/* banks replayed into manifests */
	uint64_t delete_records;	/* delete once the kernel holds this many records (0: never) */
	uint64_t delete_bytes;		/* ... or this many bytes (0: no byte limit) */
	enum sync_delete delete_mode;
	uint64_t save_records;		/* save once this many records are new ... */
	unsigned int save_seconds;	/* ... or this long after the oldest unsaved one appeared */
	struct retention keep; /* limits on what the log keeps (4.6); 0: keep every chunk */
};

struct sync_stats {
	uint64_t kernel_records, kernel_bytes;	/* the kernel's current list, last read */
	uint64_t deletions, deleted_records, deleted_bytes;
	uint64_t saves, snapshots;
	uint64_t errors;
	uint64_t dropped_chunks; /* by retention, since start */
	uint64_t acked;		 /* the acknowledged index, last read */
	uint64_t quoted_chunks, unquoted_chunks; /* with a quoter (4.7), since start */
};

/*
 * Quoted cuts (docs/format.md 4.7): how the cycle asks for a quote, so that the store library
 * needs no TPM stack; imalogd passes tpm_quote() and tpm_key() of its struct tpm.
 */
struct sync_quoter {
	int (*quote)(void *arg, uint64_t pcrs, uint32_t banks, struct manifest_quote *ret,
		     char *err, size_t errlen);
	const struct tpm_key *(*key)(void *arg);
	void *arg;
};

struct sync {
	struct sync_config cfg;
	struct store *store;
	struct store_log log;
	struct kernel kernel;
	char boot_id[64];
	uint64_t head;			/* absolute index of the kernel's first (staged) record */
	bool staged_flavour;		/* delete with A and D (the mode, resolved) */
	size_t staged_len;		/* bytes of the staged list at the start of s->buf */
	uint8_t *pending;		/* stored records the kernel still holds: [head, log.next) */
	size_t pending_len, pending_cap;
	uint8_t *buf;			/* the kernel's list, last read */
	size_t buf_cap;
	uint64_t unsaved_since;		/* monotonic seconds when unsaved records were first seen */
	struct sync_stats stats;
	const struct sync_quoter *quoter; /* NULL: chunks end wherever the list ends */
	char unquoted[600];		/* why the last chunk saved without a quote was */
	char error[600];		/* the last error, "" after a clean cycle */
	imalog_pcrs *tpm;		/* the TPM's PCRs at start-up, read before the list */
	char loss[600];			/* records lost before this start (PCR check): stays reported */
};

void sync_config_defaults(struct sync_config *c);
/* Open the store (its lock held), the kernel, and the log this boot continues or starts. */
int sync_start(const struct sync_config *cfg, struct sync **ret);
void sync_free(struct sync *s);
/* One cycle; @force saves and deletes whatever it can now. Errors are also in s->error. */
int sync_cycle(struct sync *s, bool force);

#endif
