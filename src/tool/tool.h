/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef IMALOG_TOOL_H
#define IMALOG_TOOL_H

#include <stdio.h>

#include "imalog.h"

/* Exit codes, the same for every subcommand (imalog(1)). */
enum {
	EXIT_VERIFIED = 0,
	EXIT_FAILED = 1,	/* the log or a record does not verify */
	EXIT_UNUSABLE = 2,	/* bad input or usage */
};

/* Options every subcommand that reads a log accepts. */
struct input {
	const char *path;
	struct imalog_reader_options opts;
	bool have_input_format, have_log_bank, have_order;
	int fd;
	imalog_reader *reader;
};

#define INPUT_LONG_OPTIONS                                                                         \
	{ "input-format", required_argument, NULL, 0x100 },                                        \
	{ "log-bank", required_argument, NULL, 0x101 },                                            \
	{ "byte-order", required_argument, NULL, 0x102 },                                          \
	{ "allow-partial", no_argument, NULL, 0x103 },                                             \
	{ "allow-unknown-templates", no_argument, NULL, 0x104 }

/* 1 if @opt was one of INPUT_LONG_OPTIONS, 0 if not, -1 on a bad argument (reported). */
int input_option(struct input *in, int opt, const char *arg);
/* Open the file (or stdin for "-", or the running kernel's list when NULL). */
int input_open(struct input *in, const char *path);
void input_close(struct input *in);
/* Report a reader error with file, record index and byte offset; returns EXIT_UNUSABLE. */
int input_error(const struct input *in, int err);
const char *input_name(const struct input *in);

/*
 * Add the expected values named by one --pcrs SPEC; errors are reported. The PCRs of a plain
 * "PCR ALG HEX" file are explicit claims: they are added to *required. The TPM's sources
 * (sysfs, evmctl files, tpm2_pcrread) list every PCR, most of them not IMA's.
 */
int load_pcr_spec(imalog_pcrs *p, const char *spec, uint64_t *required);
/* Replay all of @in; reports failures and returns the exit code (0 with *ret set). */
int replay_input(struct input *in, const struct imalog_replay_options *o, imalog_replay **ret);
int parse_banks(const char *list, uint32_t *ret);
int parse_u64(const char *s, uint64_t *ret);

/* How records are written: the kernel's ASCII, JSON lines, or binary. */
enum output { OUT_ASCII, OUT_JSON, OUT_BINARY };
int parse_output(const char *name, enum output *ret);
/* Render @r into @b, writing @b to stdout once it holds 64 KiB. */
int output_record(enum output out, const imalog_record *r, imalog_buf *b);
int output_flush(imalog_buf *b, size_t min);
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_show(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* Where imalogd's store and the kernel's list are (imalog status, snapshot, log, verify). */
struct store_opts {
	const char *store;
	const char *ima_dir;
	const char *log_id;
};

#define STORE_LONG_OPTIONS                                                                         \
	{ "store", required_argument, NULL, 0x200 },                                               \
	{ "securityfs", required_argument, NULL, 0x201 },                                          \
	{ "log-id", required_argument, NULL, 0x202 }

int store_option(struct store_opts *o, int opt, const char *arg);
/*
 * Every record from absolute index @from on, to @sink: the store's chunks (checked first),
 * then the kernel's list unless !@with_kernel. -EBADMSG when the store is inconsistent, has a
 * gap, or a record fails (all reported, naming the file).
 */
int store_walk(const struct store_opts *o, uint64_t from, bool with_kernel,
	       int (*sink)(void *ctx, const imalog_record *r), void *ctx);

/*
 * The kernel's remaining records (the staged list, then the current one), copied to a memory
 * file, and the absolute index of the first.
 */
int store_kernel_tail(const struct store_opts *o, int *ret_fd, uint64_t *ret_head);

/* Record verifier @name's acknowledgement of the records before @index (4.6); reported. */
int store_ack(const struct store_opts *o, const char *name, uint64_t index, bool quiet);

int cmd_ack(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_log(int argc, char **argv);

#endif
