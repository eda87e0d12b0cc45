/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The piecewise verifier: a log kept in pieces (imalogd's chunks, plain log files, the kernel's
 * remaining list) checked piece by piece on several threads, then as one chain of PCR states.
 * Nothing a piece claims (manifest, snapshot_aggregate) is trusted before it is recomputed
 * (docs/design.md, docs/format.md 3.7 and 4.3).
 */
#ifndef IMALOG_VERIFIER_H
#define IMALOG_VERIFIER_H

#include <stdbool.h>
#include <stdint.h>

#include "imalog.h"
#include "quote.h"
#include "store.h"

/* The first thing that does not verify, in log order. */
struct vfailure {
	bool set;
	uint64_t index;	 /* absolute index of the record (or first record) at fault */
	uint64_t offset; /* byte offset in @file, or UINT64_MAX when no byte is at fault */
	char file[4096];
	char reason[512];
};

/* A boot_aggregate record: what every later snapshot_aggregate repeats (format.md 3.3). */
struct vboot {
	bool set;
	bool readable; /* its digest field names an algorithm and digest this verifier reads */
	uint64_t index;
	uint32_t pcr;
	enum imalog_hash alg;
	uint8_t digest[IMALOG_MAX_DIGEST];
};

/* The replayed state before record @index of a piece, kept for an aggregate cut there. */
struct vcut {
	uint64_t index;
	struct pcr_state state;
};

/* What proves a chunk's end (format.md 4.7), weakest first. */
enum vproof {
	VPROOF_MANIFEST,      /* nothing but its manifest's claim */
	VPROOF_AGGREGATE,     /* a snapshot_aggregate checked by the chain cuts there */
	VPROOF_TPM_UNTRUSTED, /* a quote that verifies, by a key only the store vouches for */
	VPROOF_TPM,	      /* a quote that verifies, by a trusted key */
};

/* "manifest", "aggregate", "tpm-untrusted-key", "tpm". */
const char *vproof_name(enum vproof p);

/* One piece of the log; @m is NULL for a plain file or the kernel's list. */
struct vpiece {
	char path[4096];
	uint64_t first;	     /* absolute index of the first record that counts */
	uint64_t file_first; /* of the file's first record: those before @first are skipped */
	enum imalog_byte_order order;
	struct manifest *m;
	int fd;	      /* an open file to read instead of @path, or -1 */
	bool follows; /* begins where the piece before it ends (@first set then) */
	/* Results of the piece's own check. */
	uint64_t count, violations;
	struct pcr_state end;
	bool matched; /* the expected values hold after record @match - 1 */
	uint64_t match;
	size_t naggr;
	struct vaggr *aggr;
	size_t nboot;
	struct vboot *boot; /* the boot_aggregate records it holds, in order */
	size_t ncuts;
	struct vcut *cuts; /* states at cuts strictly inside it, ascending */
	enum vproof proof; /* of its end, once the chain verified (pieces with a manifest) */
	struct vfailure fail;
};

/* A snapshot_aggregate found while replaying a piece. */
struct vaggr {
	uint64_t index, offset, deleted;
	uint32_t pcr;
	enum imalog_hash boot_alg;
	uint8_t boot[IMALOG_MAX_DIGEST]; /* its boot_aggregate */
	struct pcr_state claim;		 /* the values it claims, banks it names */
};

struct verifier_options {
	uint32_t banks; /* banks to verify: every piece's state must hold them */
	bool pre_5_8;
	unsigned int threads;	     /* 0: one per CPU */
	const imalog_pcrs *expected; /* optional: where the log reaches these values */
	uint64_t require_pcrs;
	const char *log_id; /* the log every manifest must name, or NULL */
	/* Where the pieces begin: record @seed_index with state @seed (zeros at 0). */
	uint64_t seed_index;
	struct pcr_state seed;
	struct vboot seed_boot; /* the last boot_aggregate record before @seed_index, if known */
	/* Quoted chunks (format.md 4.7): where the store keeps its keys, and the keys trusted. */
	const char *keys_dir;
	const quote *const *trusted;
	size_t ntrusted;
};

struct verifier_result {
	uint64_t next; /* absolute index after the last record */
	uint64_t records, violations;
	uint64_t aggregates;  /* snapshot_aggregate records checked */
	struct pcr_state end; /* after the last record */
	bool matched;	      /* the expected values hold after record @match - 1 */
	uint64_t match;
	/* The last chunk boundary at or before @match (or @next), its state and boot record. */
	uint64_t boundary;
	struct pcr_state boundary_state;
	struct vboot boundary_boot;
	/* The failure needs what is before @seed_index, which a saved state does not keep. */
	bool before_seed;
	struct vfailure fail;
};

/* Pieces: a growing array, in log order once verifier_sort() ran. */
struct vpieces {
	struct vpiece *p;
	size_t n, cap;
};

void vpieces_free(struct vpieces *ps);
/* Append a piece (manifest ownership is transferred); returns it or NULL. */
struct vpiece *vpieces_add(struct vpieces *ps, const char *path, uint64_t first,
			   enum imalog_byte_order order, struct manifest *m, int fd);
/*
 * Add the chunks of a store's log directory whose file name says they begin at @from or later,
 * by their names (never by what the store says of itself): each <first>.manifest is read
 * strictly; one that cannot be read fails @ret. A chunk holding records on both sides of
 * @from is not added: the chain then reports the gap.
 */
int vpieces_add_store(struct vpieces *ps, const char *log_dir, uint64_t from, struct vfailure *ret);

/* Check every piece, in parallel, then the chain; 0, or -EBADMSG with ret->fail set. */
int verifier_run(struct vpieces *ps, const struct verifier_options *o, struct verifier_result *ret);

/* ---- the state file (docs/format.md 5.1) ---- */

#define VSTATE_MAX_FILE (64u << 20)
#define VSTATE_MAX_CHUNKS (1u << 20)

struct vchunk_id {
	uint64_t first, count;
	uint8_t sha256[32];
};

/* What an earlier run verified against a quote or expected values, for log @log_id. */
struct vstate {
	char log_id[64];
	uint64_t next;		/* a chunk boundary: records before it are verified */
	struct pcr_state state; /* the state at @next */
	struct vboot boot;	/* the last boot_aggregate record before @next, if any */
	uint64_t verified;	/* records before this index reproduced the expected values */
	size_t nchunks;
	struct vchunk_id *chunks; /* the chunks verified, in order */
};

void vstate_free(struct vstate *s);
/* Parse a state file's text strictly (a pure parser: bytes in); -EBADMSG names why in @err. */
int vstate_parse(const char *text, size_t len, struct vstate *ret, char *err, size_t errlen);
/* -ENOENT when there is none yet. */
int vstate_read(const char *path, struct vstate *ret, char *err, size_t errlen);
/* Replace the file atomically (write, fsync, rename, fsync the directory). */
int vstate_write(const struct vstate *s, const char *path);
/* Append the chunk ids of @ps (pieces with a manifest) that end at or before @before. */
int vstate_add_chunks(struct vstate *s, const struct vpieces *ps, uint64_t before);

/* Checkpoints (5.3): sign a state file written by vstate_write() into @path.sig. */
int checkpoint_sign(const char *path, const char *private_key_pem);
/* Read a checkpoint whose signature verifies with the trusted public key; -EBADMSG if not. */
int checkpoint_read(const char *path, const char *trusted_key_pem, struct vstate *ret, char *err,
		    size_t errlen);

void vfail(struct vfailure *f, uint64_t index, uint64_t offset, const char *file, const char *fmt,
	   ...) __attribute__((format(printf, 5, 6)));

#endif
