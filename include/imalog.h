/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libimalog: read, render, replay and verify Linux IMA measurement logs exactly as the kernel
 * writes them (security/integrity/ima/ima_fs.c). See docs/format.md for every byte.
 *
 * Conventions: functions return 0 (or a count) on success and a negative errno on failure:
 *   -EBADMSG     malformed input          -E2BIG       a length over its limit
 *   -EOPNOTSUPP  unknown template/field/algorithm
 *   -EINVAL      bad argument             -ENOMEM      out of memory
 *   -EIO, -ENOENT, ...                    from the operating system
 * Outputs are named ret_* and written only on success. The library never prints or exits;
 * where a failure happened is available from the object that failed (imalog_reader_where()).
 */
#ifndef IMALOG_H
#define IMALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define IMALOG_MUST_CHECK __attribute__((warn_unused_result))
#else
#define IMALOG_MUST_CHECK
#endif

/* Limits, from the kernel where it has one (security/integrity/ima/ima.h). */
#define IMALOG_MAX_DIGEST 64		/* SHA-512 */
#define IMALOG_MAX_PCRS 64		/* policy pcr= accepts 0..63 (INVALID_PCR) */
#define IMALOG_MAX_TEMPLATE_NAME 239	/* < MAX_TEMPLATE_NAME_LEN (16 * 15) */
#define IMALOG_MAX_FIELDS 15		/* IMA_TEMPLATE_NUM_FIELDS_MAX */
#define IMALOG_MAX_TEMPLATE_DATA (16u << 20)	/* ours: no kernel record comes near it */
#define IMALOG_MAX_EVENT_NAME 255	/* IMA_EVENT_NAME_LEN_MAX, legacy "ima" template */

/* ---- hash algorithms (TPM banks) ---- */

enum imalog_hash {
	IMALOG_SHA1,
	IMALOG_SHA256,
	IMALOG_SHA384,
	IMALOG_SHA512,
	IMALOG_SM3_256,
	IMALOG_HASH_COUNT
};

/* Kernel name ("sha1", "sha256", "sha384", "sha512", "sm3"), or NULL. */
const char *imalog_hash_name(enum imalog_hash alg);
/* Accepts the kernel names, "sm3_256"/"sm3-256", and TPM-style upper case. -EOPNOTSUPP if unknown. */
int imalog_hash_from_name(const char *name, enum imalog_hash *ret_alg);
size_t imalog_hash_size(enum imalog_hash alg);
/* false when the crypto backend of this build lacks the algorithm (sm3 on some OpenSSL builds). */
bool imalog_hash_available(enum imalog_hash alg);

/* ---- how a log is encoded ---- */

enum imalog_byte_order {
	IMALOG_HOST_ORDER,	/* what the kernel writes unless ima_canonical_fmt */
	IMALOG_LITTLE_ENDIAN,	/* ima_canonical_fmt, or any little-endian machine */
	IMALOG_BIG_ENDIAN,
};

enum imalog_input {
	IMALOG_INPUT_BINARY,	/* binary_runtime_measurements[_<alg>] */
	IMALOG_INPUT_ASCII,	/* ascii_runtime_measurements[_<alg>] */
};

struct imalog_format {
	enum imalog_input input;
	enum imalog_hash log_bank;	/* the header digest: sha1, or the per-bank file's algorithm */
	enum imalog_byte_order order;
};

/*
 * Fill @ret from a file name the kernel uses: "ascii" in the name selects ASCII input, a
 * "_<alg>" suffix selects the per-bank header digest. Byte order stays host order: it cannot be
 * read from a name, and it is never guessed.
 */
void imalog_format_from_name(const char *path, struct imalog_format *ret);

/* ---- records ---- */

typedef struct imalog_record imalog_record;

enum imalog_field_format {
	IMALOG_FIELD_DIGEST,		/* d: raw digest */
	IMALOG_FIELD_DIGEST_ALGO,	/* d-ng, d-modsig: "<alg>:\0" digest */
	IMALOG_FIELD_DIGEST_TYPE_ALGO,	/* d-ngv2: "<type>:<alg>:\0" digest */
	IMALOG_FIELD_STRING,		/* n, n-ng, xattrnames */
	IMALOG_FIELD_HEX,		/* sig, buf, modsig, evmsig, xattrlengths, xattrvalues */
	IMALOG_FIELD_UINT,		/* iuid, igid, imode */
	IMALOG_FIELD_UNKNOWN,		/* a field of a template this library does not know */
};

struct imalog_field {
	const char *id;			/* "d-ng", ...; NULL for an unknown template */
	enum imalog_field_format format;
	const uint8_t *data;		/* as the kernel holds it (template_data[i]) */
	uint32_t len;
};

uint64_t imalog_record_index(const imalog_record *r);	/* position: first_index + 0, 1, ... */
uint64_t imalog_record_offset(const imalog_record *r);	/* byte offset of its first byte */
uint32_t imalog_record_pcr(const imalog_record *r);
/* The header (template) digest of the log's bank. */
const uint8_t *imalog_record_digest(const imalog_record *r, size_t *ret_len);
enum imalog_hash imalog_record_digest_alg(const imalog_record *r);
/* Template name (not NUL-terminated): the descriptor name, or its field list for custom ones. */
const char *imalog_record_template(const imalog_record *r, size_t *ret_len);
/* Template data as hashed for every template but "ima" (length-prefixed fields). */
const uint8_t *imalog_record_template_data(const imalog_record *r, size_t *ret_len);
/* An all-zero header digest: the kernel's mark of a violation (extended as all 0xFF). */
bool imalog_record_is_violation(const imalog_record *r);
/* Number of fields, or -EOPNOTSUPP for a template whose field list is unknown. */
int imalog_record_field_count(const imalog_record *r);
int imalog_record_field(const imalog_record *r, unsigned int i, struct imalog_field *ret);
/* Decode a UINT field by the record's byte order. */
uint64_t imalog_record_field_uint(const imalog_record *r, const struct imalog_field *f);

/*
 * The pure parser: bytes in, one record out. Returns the number of bytes consumed (> 0), 0 when
 * @len does not yet hold a whole record, or a negative errno. The record points into @buf and,
 * for ASCII input, into @scratch, where the binary template data is rebuilt: it needs
 * 2 * (line length) + 256 bytes, or the call fails with -ENOBUFS. The record lives as long as
 * @buf and @scratch do.
 */
imalog_record *imalog_record_new(void);
void imalog_record_free(imalog_record *r);
IMALOG_MUST_CHECK ptrdiff_t imalog_parse_record(const struct imalog_format *fmt, const uint8_t *buf,
						size_t len, uint8_t *scratch, size_t scratch_len,
						imalog_record *ret);

/* ---- rendering (append to a caller's buffer) ---- */

typedef struct imalog_buf imalog_buf;
imalog_buf *imalog_buf_new(void);
void imalog_buf_free(imalog_buf *b);
const char *imalog_buf_data(const imalog_buf *b, size_t *ret_len);
void imalog_buf_clear(imalog_buf *b);
IMALOG_MUST_CHECK int imalog_buf_append(imalog_buf *b, const void *data, size_t len);

/* One line of ascii_runtime_measurements, newline included. */
IMALOG_MUST_CHECK int imalog_render_ascii(const imalog_record *r, imalog_buf *out);
/* The record in the kernel's binary form and its own byte order (ASCII input included). */
IMALOG_MUST_CHECK int imalog_render_binary(const imalog_record *r, imalog_buf *out);

/* ---- streaming reader (file descriptor in, records out; memory bounded by one record) ---- */

typedef struct imalog_reader imalog_reader;

struct imalog_reader_options {
	struct imalog_format format;
	bool allow_partial;	/* a truncated final record ends the log instead of failing */
	/*
	 * Accept template names that are neither built in nor a list of known fields. The name is
	 * not covered by the template hash, so by default such a record fails with -EOPNOTSUPP.
	 */
	bool allow_unknown_templates;
	/* Index of the first record: a piece of a longer log (a chunk) keeps absolute numbers. */
	uint64_t first_index;
};

IMALOG_MUST_CHECK int imalog_reader_new(int fd, const struct imalog_reader_options *opts,
					imalog_reader **ret);
void imalog_reader_free(imalog_reader *rd);
/* 1 and a record, 0 at the end, or a negative errno (see imalog_reader_where()). */
IMALOG_MUST_CHECK int imalog_reader_next(imalog_reader *rd, const imalog_record **ret);
/* Where the last error (or the end) happened: record index and byte offset. */
void imalog_reader_where(const imalog_reader *rd, uint64_t *ret_index, uint64_t *ret_offset);
/* Bytes of a truncated final record that allow_partial skipped (0 if none). */
uint64_t imalog_reader_partial_bytes(const imalog_reader *rd);
/*
 * What a reader's error means, in words (-EBADMSG: a malformed record or one cut short; -E2BIG:
 * a length over its cap; ...): strerror()'s text fits the conventions above badly.
 */
const char *imalog_reader_strerror(int err);

/* ---- expected PCR values ---- */

typedef struct imalog_pcrs imalog_pcrs;

imalog_pcrs *imalog_pcrs_new(void);
void imalog_pcrs_free(imalog_pcrs *p);
IMALOG_MUST_CHECK int imalog_pcrs_set(imalog_pcrs *p, unsigned int pcr, enum imalog_hash alg,
				      const uint8_t *value, size_t len);
/* Returns the value, or NULL when none is set. */
const uint8_t *imalog_pcrs_get(const imalog_pcrs *p, unsigned int pcr, enum imalog_hash alg);

enum imalog_pcrs_syntax {
	IMALOG_PCRS_AUTO,	/* YAML if it has a "<alg>:" line, else plain */
	IMALOG_PCRS_PLAIN,	/* "PCR ALG HEX" lines, '#' comments */
	IMALOG_PCRS_YAML,	/* what tpm2_pcrread prints */
	IMALOG_PCRS_EVMCTL,	/* "PCR-NN: hex" lines of one bank (evmctl --pcrs ALG,FILE) */
};

/*
 * Parse text into @p. @bank is used by IMALOG_PCRS_EVMCTL only. On failure *ret_line (if not
 * NULL) holds the 1-based line that failed.
 */
IMALOG_MUST_CHECK int imalog_pcrs_parse(imalog_pcrs *p, enum imalog_pcrs_syntax syntax,
					enum imalog_hash bank, const char *text, size_t len,
					unsigned int *ret_line);
/*
 * Read a directory laid out like /sys/class/tpm/tpm0: pcr-<alg>/<n> files with hex values, for
 * PCRs 0..23 of every bank present.
 */
IMALOG_MUST_CHECK int imalog_pcrs_load_sysfs(imalog_pcrs *p, const char *dir);

/* ---- replay and verification ---- */

typedef struct imalog_replay imalog_replay;

struct imalog_replay_options {
	uint32_t banks;		/* bit (1 << enum imalog_hash) per bank to compute */
	bool pre_5_8;		/* extend every bank with the zero-padded SHA-1 template digest */
	unsigned int threads;	/* 0: one per bank up to the number of CPUs */
	const imalog_pcrs *expected;	/* optional: find the prefix whose PCRs match */
	/*
	 * PCRs that must match even if no record extends them (bit per PCR): the IMA PCR, or
	 * PCRs a verifier's policy names. Without it an empty log would match anything.
	 */
	uint64_t require_pcrs;
};

IMALOG_MUST_CHECK int imalog_replay_new(const struct imalog_replay_options *opts,
					imalog_replay **ret);
void imalog_replay_free(imalog_replay *rp);
/* Replay one record. Fails with -EBADMSG if the header digest is not the template data's. */
IMALOG_MUST_CHECK int imalog_replay_record(imalog_replay *rp, const imalog_record *r);
/* Replay everything @rd yields, in batches, on several threads. Stops at the first failure. */
IMALOG_MUST_CHECK int imalog_replay_reader(imalog_replay *rp, imalog_reader *rd);

uint64_t imalog_replay_records(const imalog_replay *rp);
uint64_t imalog_replay_violations(const imalog_replay *rp);
/* PCR value, or NULL if the bank is not computed. Untouched PCRs read as zero. */
const uint8_t *imalog_replay_pcr(const imalog_replay *rp, unsigned int pcr, enum imalog_hash alg);
bool imalog_replay_pcr_used(const imalog_replay *rp, unsigned int pcr);
/*
 * Start from a state other than all zeros (a chunk's manifest, a verifier's saved state): set
 * PCR @pcr of bank @alg before any record is replayed. The PCR counts as used.
 */
IMALOG_MUST_CHECK int imalog_replay_seed(imalog_replay *rp, unsigned int pcr, enum imalog_hash alg,
					 const uint8_t *value, size_t len);
/* After a header digest failure: the record that failed (index, offset). */
bool imalog_replay_bad_record(const imalog_replay *rp, uint64_t *ret_index, uint64_t *ret_offset);

/*
 * The outcome of matching @expected while replaying: the shortest prefix whose replay gives every
 * expected value of every PCR the log uses or require_pcrs names, in every bank with expected
 * values. The prefix is
 * named by the index of the first record after it (first_index when nothing needed replaying).
 * Returns 1 and the prefix, 0 if no prefix matches.
 */
IMALOG_MUST_CHECK int imalog_replay_match(const imalog_replay *rp, uint64_t *ret_prefix);

/* ---- snapshot_aggregate records (docs/format.md section 3) ---- */

typedef struct imalog_aggregate imalog_aggregate;

/* True for an ima-buf record named "snapshot_aggregate". */
bool imalog_record_is_aggregate(const imalog_record *r);
/*
 * Parse its buf strictly: version 1, keys in order, lowercase hex of the right sizes. Banks the
 * library does not know are skipped. The record must be an ima-buf one whose d-ng is the digest
 * of its buf. -EBADMSG when malformed, -EOPNOTSUPP for another version or a d-ng
 * algorithm the library does not know.
 */
IMALOG_MUST_CHECK int imalog_aggregate_parse(const imalog_record *r, imalog_aggregate **ret);
void imalog_aggregate_free(imalog_aggregate *a);
uint64_t imalog_aggregate_deleted(const imalog_aggregate *a);
/* The value the record claims for a PCR and bank, or NULL when it has none. */
const uint8_t *imalog_aggregate_pcr(const imalog_aggregate *a, unsigned int pcr,
				    enum imalog_hash alg);
/* The PCRs it lists, as a bit mask. */
uint64_t imalog_aggregate_pcrs(const imalog_aggregate *a);
const uint8_t *imalog_aggregate_boot_digest(const imalog_aggregate *a, size_t *ret_len);
enum imalog_hash imalog_aggregate_boot_alg(const imalog_aggregate *a);
/*
 * Whether @r is a kernel's boot_aggregate record (ima_add_boot_aggregate()): named
 * "boot_aggregate", not a violation, no buf. Returns 1 with the algorithm and digest of its
 * digest field (d: SHA-1; d-ng and d-ngv2: the algorithm they name), 0 if it is not one,
 * -EBADMSG when its digest field cannot be read.
 */
IMALOG_MUST_CHECK int imalog_record_boot_aggregate(const imalog_record *r,
						   enum imalog_hash *ret_alg,
						   const uint8_t **ret_digest);

/* ---- hex helpers shared by the tools ---- */

void imalog_hex(const uint8_t *in, size_t len, char *out);	/* out: 2 * len + 1 bytes */
IMALOG_MUST_CHECK int imalog_unhex(const char *in, size_t in_len, uint8_t *out, size_t out_len);

#ifdef __cplusplus
}
#endif
#endif
