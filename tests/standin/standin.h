/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * imalog-standin: the kernel's IMA securityfs directory with the export/delete ("staging")
 * interface, in user space, on FUSE. It holds the measurement list, a simulated TPM and the
 * snapshot_aggregate state in memory, and a control socket lets a test append measurements,
 * inject faults, simulate kexec and read back everything that was ever measured.
 *
 * The files mirror the kernel's split: record.c builds records as ima_template_lib.c and
 * ima_crypto.c do, queue.c holds the lists as ima_queue.c does, seqfile.c reads them as
 * fs/seq_file.c does, fs.c is ima_fs.c, aggregate.c the snapshot_aggregate (docs/format.md
 * section 3). One mutex, st->lock, guards all state: FUSE and control threads take it.
 */
#ifndef STANDIN_H
#define STANDIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>

#include "imalog.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SI_MAX_BANKS 5
#define SI_SHA1_SIZE 20
#define SI_PAGE_SIZE 4096		/* the first seq_file buffer */
#define SI_MEASURE_PCR 10		/* CONFIG_IMA_MEASURE_PCR_IDX */
#define SI_FIRMWARE_PCRS 10		/* PCRs 0-9 go into the boot_aggregate */
#define SI_BOOT_AGGREGATE_LEN (16 + 2 * IMALOG_MAX_DIGEST)

/* An allocated TPM bank, computed by IMA with its own hash. */
struct si_bank {
	enum imalog_hash alg;
	const char *name;		/* hash_algo_name[] */
	const EVP_MD *md;
	unsigned int size;
	size_t off;			/* of its template digest in si_record.data */
};

/*
 * One measurement as the kernel holds it: the record exactly as binary_runtime_measurements
 * shows it (SHA-1 template digest, host byte order), then the template digest of every bank
 * (all zero for a violation).
 */
struct si_record {
	uint32_t raw_len;
	uint32_t pcr;
	bool violation;
	uint8_t data[];
};

/* A list of records, as positions in st->truth, oldest first from idx[head]. */
struct si_list {
	uint64_t *idx;
	size_t head, len, cap;
};

enum si_op { SI_OP_OPEN, SI_OP_READ, SI_OP_WRITE, SI_OP_COUNT };

/* A fault rule: what the next matching operations do (inject.c). */
struct si_rule {
	enum si_op op;
	int error;			/* a positive errno, or 0 */
	size_t short_len;		/* reads return at most this many bytes; 0: no limit */
	unsigned int delay_ms;
	uint64_t skip;			/* matching operations to let pass first */
	uint64_t count;			/* operations to affect; UINT64_MAX: all */
	char file[96];			/* only this file (symlinks resolved); "": every file */
	struct si_rule *next;
};

/* What inject.c decided for one operation. */
struct si_fault {
	int error;
	size_t short_len;
	unsigned int delay_ms;
};

/* What a measurement file shows: which list, in which form, with which bank's digests. */
struct si_view {
	bool staged, ascii;
	unsigned int bank;
};

/* A file of the securityfs directory (fs.c). */
enum si_kind { SI_LIST, SI_COUNT, SI_VIOLATIONS, SI_DELETED, SI_LINK };

struct si_file {
	char name[64];
	enum si_kind kind;
	mode_t mode;
	struct si_view view;		/* SI_LIST */
	char target[64];		/* SI_LINK */
};

struct si_config {
	const char *banks;		/* "sha1,sha256": the TPM's allocated banks, in order */
	const char *ima_hash;		/* the d-ng algorithm of generated records */
	const char *seed_log;
	const char *state_dir;
	uint64_t seed;
	bool staging, aggregate, flush_htable;
	unsigned int release_grace_ms;
};

struct si_state {
	pthread_mutex_t lock;
	pthread_cond_t released;	/* a measurement file was closed */

	struct si_bank bank[SI_MAX_BANKS];
	unsigned int nbanks;
	size_t digests_len;
	enum imalog_hash ima_hash;
	bool staging, aggregate, flush_htable;
	unsigned int release_grace_ms;
	uid_t owner;
	time_t started;			/* every file's times */

	/* Every record ever appended, in order: the truth tests compare against. */
	struct si_record **truth;
	uint64_t ntruth, truth_cap;
	struct si_list current, staged;
	uint64_t deleted;		/* runtime_measurements_deleted, carried over kexec */
	/*
	 * Digests in the duplicate-detection table (ima_htable): one per record added, kept
	 * after N (only the template data is freed), dropped by D with ima_flush_htable.
	 */
	uint64_t htable;
	uint64_t violations;
	bool suspended;			/* measurement suspended for kexec */
	char boot_aggregate[SI_BOOT_AGGREGATE_LEN];	/* "<alg>:<hex>" of this boot */

	/* The simulated TPM, and V of docs/format.md 3.4 */
	uint8_t pcr[IMALOG_MAX_PCRS][SI_MAX_BANKS][IMALOG_MAX_DIGEST];
	uint64_t pcr_used;
	uint8_t agg[IMALOG_MAX_PCRS][SI_MAX_BANKS][IMALOG_MAX_DIGEST];
	uint64_t agg_used;

	uint64_t rng;

	/* ima_measure_lock(): > 0 readers, -1 a writer (task st->writer, with extra handles) */
	long users;
	pid_t writer;
	unsigned int writer_handles;

	struct si_rule *rules;
	uint64_t ops[SI_OP_COUNT];

	char *state_dir;
	int truth_fd;

	struct si_file *files;
	unsigned int nfiles;
};

/* state.c */
int si_state_new(const struct si_config *cfg, struct si_state **ret);
void si_state_free(struct si_state *st);
const uint8_t *si_digest(const struct si_state *st, const struct si_record *r, unsigned int b);
int si_bank_index(const struct si_state *st, enum imalog_hash alg);

/* record.c */
int si_record_from_raw(const struct si_state *st, const uint8_t *raw, size_t len,
		       struct si_record **ret);
struct si_field {
	const void *data;
	uint32_t len;
};
int si_record_build(const struct si_state *st, uint32_t pcr, const char *tmpl,
		    const struct si_field *f, unsigned int nfields, bool violation,
		    struct si_record **ret);
size_t si_record_binary_len(const struct si_state *st, const struct si_record *r, unsigned int b);
void si_record_binary(const struct si_state *st, const struct si_record *r, unsigned int b,
		      uint8_t *out);
int si_record_ascii(const struct si_state *st, const struct si_record *r, unsigned int b,
		    imalog_record *rec, imalog_buf *out);

/* gen.c */
struct si_gen {
	unsigned int pcr11_pct, violation_pct;
	bool sig;			/* ima-sig instead of ima-ng */
};
int si_gen_measurement(struct si_state *st, const struct si_gen *g, struct si_record **ret);
int si_gen_boot_aggregate(struct si_state *st, struct si_record **ret);
int si_gen_buf(const struct si_state *st, uint32_t pcr, const char *name, const void *buf,
	       uint32_t len, struct si_record **ret);
uint64_t si_rand(uint64_t *s);

/* queue.c: each returns 0 or a negative errno, with st->lock held */
int si_append(struct si_state *st, struct si_record *r);	/* takes @r, even on failure */
int si_truth_add(struct si_state *st, struct si_record *r);	/* takes @r; on no list */
int si_stage(struct si_state *st);
int si_delete_staged(struct si_state *st);
int si_delete_n(struct si_state *st, uint64_t n);
int si_kexec(struct si_state *st);
void si_list_free(struct si_list *l);
int si_list_push(struct si_list *l, uint64_t idx);
static inline const struct si_record *si_list_get(const struct si_state *st,
						  const struct si_list *l, size_t i)
{
	return st->truth[l->idx[l->head + i]];
}

/* aggregate.c */
int si_aggregate_cut(struct si_state *st, const struct si_list *l, size_t n);
int si_aggregate_record(const struct si_state *st, struct si_record **ret);

/* seqfile.c: one open measurement file's reading position and buffer */
struct si_seq {
	uint8_t *buf;
	size_t size, count, from;
	uint64_t index, read_pos;
	imalog_record *rec;
	imalog_buf *line;
};
int si_seq_init(struct si_seq *m);
void si_seq_release(struct si_seq *m);
ssize_t si_seq_read(struct si_state *st, struct si_seq *m, const struct si_view *v, char *out,
		    size_t size, uint64_t pos);

/* inject.c */
int si_inject_add(struct si_state *st, const struct si_rule *rule);
void si_inject_clear(struct si_state *st);
void si_inject_take(struct si_state *st, enum si_op op, const char *file, struct si_fault *ret);
const char *si_op_name(enum si_op op);
int si_op_from_name(const char *name, enum si_op *ret);
int si_errno_from_name(const char *name, int *ret);
const char *si_errno_name(int err);

/* persist.c */
int si_persist_open(struct si_state *st, const char *dir, bool *ret_loaded);
void si_persist_record(struct si_state *st, const struct si_record *r);
int si_persist_meta(struct si_state *st);

/* control.c: NULL @path opens nothing */
struct si_control;
int si_control_open(struct si_state *st, const char *path, struct si_control **ret);
int si_control_start(struct si_control *c);
void si_control_stop(struct si_control *c);

/* ctl.c: the client, "imalog-standin ctl SOCKET COMMAND..." */
int si_ctl_main(int argc, char **argv);

/* fs.c */
int si_fs_build(struct si_state *st);
const struct si_file *si_fs_lookup(const struct si_state *st, const char *name);
int si_fs_main(struct si_state *st, const char *mountpoint, const char *control,
	       bool foreground, bool debug);

#endif
