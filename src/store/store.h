/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The record store of imalogd (docs/format.md section 4): chunks of records as the kernel
 * returned them, each committed with a manifest before anything is deleted from the kernel.
 * Used by the daemon (writing) and by the imalog command (reading, checking).
 */
#ifndef IMALOG_STORE_H
#define IMALOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imalog.h"

#define STORE_DEFAULT "/var/lib/imalog"
#define STORE_MAX_AGGREGATES 1024	/* per chunk */

/* Replayed PCR values: every PCR in @used, in every bank in @banks. */
struct pcr_state {
	uint64_t used;
	uint32_t banks;
	uint8_t v[IMALOG_MAX_PCRS][IMALOG_HASH_COUNT][IMALOG_MAX_DIGEST];
};

struct aggregate_ref {
	uint64_t index;		/* absolute index of the snapshot_aggregate record */
	uint64_t deleted;	/* the deleted count it claims */
};

/* A quoted cut (4.7): the TPM's quote of the state at the chunk's end, as the manifest holds it. */
#define STORE_MAX_KEY_NAME 68	/* TPM2B_NAME of a key: a 2-byte algorithm and a digest */
#define STORE_MAX_ATTEST 1024	/* > sizeof(TPMS_ATTEST) */
#define STORE_MAX_SIGNATURE 1024 /* > a marshalled TPMT_SIGNATURE of an RSA-4096 key */
#define STORE_MAX_QUALIFYING 64 /* sizeof(TPMU_HA) */

struct manifest_quote {
	char key[2 * STORE_MAX_KEY_NAME + 1];	/* the key's name, lowercase hex; "" if unquoted */
	uint8_t attest[STORE_MAX_ATTEST];
	uint8_t signature[STORE_MAX_SIGNATURE];
	uint8_t nonce[STORE_MAX_QUALIFYING];
	size_t attest_len, signature_len, nonce_len;
};

struct manifest {
	char log_id[64];
	char boot_id[64];
	uint64_t first, count, bytes;
	uint8_t sha256[32];
	enum imalog_byte_order order;
	struct pcr_state start, end;
	size_t naggregates;
	struct aggregate_ref aggregates[STORE_MAX_AGGREGATES];
	char saved_at[32];
	struct manifest_quote quote;	/* quote.key[0] == '\0': the chunk's end is not quoted */
};

/* One log directory, checked. */
struct store_log {
	char id[64];
	char dir[4096];
	uint64_t start;		/* absolute index the log starts at: 0 unless records were lost */
	uint64_t dropped;	/* retention dropped the records before this index (0: none) */
	uint64_t first;		/* the first record stored: the larger of @start and @dropped */
	uint64_t next;		/* absolute index after the last stored record */
	uint64_t chunks, bytes;
	struct pcr_state end;	/* state after the last stored record */
	enum imalog_byte_order order;
	char error[512];	/* why the log is inconsistent, naming the file; "" if it is not */
};

struct store;

/* Open (creating) a store; with @exclusive take its lock, -EWOULDBLOCK if another holds it. */
int store_open(const char *root, bool exclusive, struct store **ret);
void store_free(struct store *s);
/* Whether a process (imalogd) holds the store's lock now. */
bool store_locked(const char *root);
const char *store_root(const struct store *s);

/* Open (with @create, creating) log @id and check it (4.5); inconsistency is in ret->error. */
int store_log_open(struct store *s, const char *id, bool create, struct store_log *ret);
/* The id of the newest log, or -ENOENT. */
int store_latest_log(const struct store *s, char *ret_id, size_t size);
/* A new, empty log begins at @first: the records before it were deleted before it existed. */
int store_log_set_start(struct store_log *l, uint64_t first);
/* Record that @boot_id continues log @l (after a kexec); idempotent. */
int store_log_add_boot(struct store_log *l, const char *boot_id);
bool store_log_has_boot(const struct store_log *l, const char *boot_id);

/* Commit records [l->next, l->next + m->count) as a chunk (4.2); updates l. */
int store_commit_chunk(struct store_log *l, const uint8_t *bytes, size_t len, struct manifest *m);

/* Write @root/keys/@name.pub (4.7) unless it exists: tmp, fsync, rename, fsync of keys/. */
int store_write_key(const char *root, const char *name, const uint8_t *pub, size_t len);

/* Retention (4.6). The smallest index in @l's acks/ (0 if none); -EBADMSG names a bad file. */
int store_log_acked(const struct store_log *l, uint64_t *ret, char *err, size_t errlen);
/* Replace acks/@name with @index atomically; -EINVAL for a bad name, -ERANGE past l->next. */
int store_log_ack(const struct store_log *l, const char *name, uint64_t index);
bool store_ack_name_valid(const char *name);
/* Read a file holding one decimal index and a newline: 0, -ENOENT, or -EBADMSG. */
int store_read_index(const char *dir, const char *name, uint64_t *ret);

struct retention {
	uint64_t keep_chunks;  /* 0: no limit */
	uint64_t keep_bytes;   /* 0: no limit */
	uint64_t keep_seconds; /* 0: no limit */
};

static inline bool retention_limited(const struct retention *rt)
{
	return rt->keep_chunks || rt->keep_bytes || rt->keep_seconds;
}

/*
 * Drop the oldest chunks of @l over a limit of @rt whose records all lie before @limit (the
 * acknowledged index, or the kernel's first record if lower); never the newest chunk. Sets
 * *ret_dropped to the number of chunks dropped; l->dropped, first, chunks, bytes follow.
 */
int store_retain(struct store_log *l, const struct retention *rt, uint64_t limit, time_t now,
		 uint64_t *ret_dropped);

/* Read a manifest file; -EBADMSG names the problem in @err. */
int manifest_read(const char *path, struct manifest *m, char *err, size_t errlen);
int manifest_write(const struct manifest *m, const char *path);

/* Path of chunk/manifest @first of log @l. */
void store_chunk_path(const struct store_log *l, uint64_t first, const char *ext, char *out,
		      size_t size);
/* The chunks of @l in order: calls @fn for each manifest; stops on a non-zero return. */
int store_for_each_chunk(const struct store_log *l,
			 int (*fn)(const struct manifest *m, const char *chunk_path, void *arg),
			 void *arg);

/* Fill @st from a replay's values for every PCR it used, in @banks. */
void pcr_state_from_replay(struct pcr_state *st, const imalog_replay *rp, uint32_t banks);
int pcr_state_seed(const struct pcr_state *st, imalog_replay *rp);
bool pcr_state_equal(const struct pcr_state *a, const struct pcr_state *b);

#endif
