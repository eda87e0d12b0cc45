// SPDX-License-Identifier: GPL-2.0-or-later
/* imalog: the command. Dispatches to one file per subcommand; shared input handling is here. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static const char *const default_logs[] = {
	"/sys/kernel/security/ima/binary_runtime_measurements",
	"/sys/kernel/security/integrity/ima/binary_runtime_measurements",
};

static void report(const char *fmt, va_list ap, const char *suffix)
{
	fputs("imalog: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(suffix, stderr);
}

void errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap, "\n");
	va_end(ap);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap, " (see imalog --help)\n");
	va_end(ap);
}

int parse_banks(const char *list, uint32_t *ret)
{
	char *copy = strdup(list), *save = NULL;
	uint32_t banks = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		enum imalog_hash alg;

		if (imalog_hash_from_name(t, &alg) < 0) {
			usage_error("unknown hash algorithm '%s'", t);
			r = -EINVAL;
			break;
		}
		banks |= 1u << alg;
	}
	free(copy);
	if (r == 0 && !banks) {
		usage_error("empty bank list");
		r = -EINVAL;
	}
	if (r == 0)
		*ret = banks;
	return r;
}

int input_option(struct input *in, int opt, const char *arg)
{
	enum imalog_hash alg;

	switch (opt) {
	case 0x100:
		in->have_input_format = true;
		if (strcmp(arg, "binary") == 0)
			in->opts.format.input = IMALOG_INPUT_BINARY;
		else if (strcmp(arg, "ascii") == 0)
			in->opts.format.input = IMALOG_INPUT_ASCII;
		else
			return usage_error("--input-format must be binary or ascii"), -1;
		return 1;
	case 0x101:
		if (imalog_hash_from_name(arg, &alg) < 0)
			return usage_error("unknown --log-bank '%s'", arg), -1;
		in->have_log_bank = true;
		in->opts.format.log_bank = alg;
		return 1;
	case 0x102:
		in->have_order = true;
		if (strcmp(arg, "le") == 0 || strcmp(arg, "little") == 0)
			in->opts.format.order = IMALOG_LITTLE_ENDIAN;
		else if (strcmp(arg, "be") == 0 || strcmp(arg, "big") == 0)
			in->opts.format.order = IMALOG_BIG_ENDIAN;
		else if (strcmp(arg, "host") == 0)
			in->opts.format.order = IMALOG_HOST_ORDER;
		else
			return usage_error("--byte-order must be le, be or host"), -1;
		return 1;
	case 0x103:
		in->opts.allow_partial = true;
		return 1;
	case 0x104:
		in->opts.allow_unknown_templates = true;
		return 1;
	default:
		return 0;
	}
}

const char *input_name(const struct input *in)
{
	return strcmp(in->path, "-") == 0 ? "<stdin>" : in->path;
}

static const char *default_log(void)
{
	for (size_t i = 0; i < sizeof(default_logs) / sizeof(default_logs[0]); i++)
		if (access(default_logs[i], F_OK) == 0)
			return default_logs[i];
	return NULL;
}

int input_open(struct input *in, const char *path)
{
	struct imalog_format named;
	int r;

	if (!path && !(path = default_log())) {
		usage_error("no log given and no IMA log in securityfs");
		return -ENOENT;
	}
	in->path = path;
	/* What the name says fills only what the options left open. */
	imalog_format_from_name(strcmp(path, "-") == 0 ? "" : path, &named);
	if (!in->have_input_format)
		in->opts.format.input = named.input;
	if (!in->have_log_bank)
		in->opts.format.log_bank = named.log_bank;
	in->fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0) {
		r = -errno;
		errorf("%s: %s", path, strerror(errno));
		return r;
	}
	r = imalog_reader_new(in->fd, &in->opts, &in->reader);
	if (r < 0)
		errorf("%s: %s", input_name(in), strerror(-r));
	return r;
}

void input_close(struct input *in)
{
	imalog_reader_free(in->reader);
	in->reader = NULL;
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

int input_error(const struct input *in, int err)
{
	uint64_t index, offset;

	imalog_reader_where(in->reader, &index, &offset);
	errorf("%s: record %" PRIu64 " at byte offset %" PRIu64 ": %s", input_name(in), index,
	       offset, imalog_reader_strerror(err));
	return EXIT_UNUSABLE;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "show", cmd_show, "print records as ASCII (the kernel's form), JSON lines or binary" },
	{ "replay", cmd_replay, "compute the PCR values the log produces" },
	{ "verify", cmd_verify, "check the log against expected PCR values (default: the TPM)" },
	{ "status", cmd_status, "what imalogd has saved and deleted, and its last error" },
	{ "snapshot", cmd_snapshot, "save and delete now (through imalogd if it runs)" },
	{ "log", cmd_log, "the whole log from any record on: saved chunks, then the kernel's list" },
	{ "ack", cmd_ack, "a verifier no longer needs the stored records before N (retention)" },
};

static void help(FILE *f)
{
	fputs("Usage: imalog COMMAND [OPTIONS] [FILE]\n\nCommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\nFILE defaults to the running kernel's binary_runtime_measurements; '-' reads stdin.\n"
	      "Exit status: 0 verified, 1 verification failed, 2 unusable input or usage.\n"
	      "See imalog(1) for the options of each command.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return EXIT_UNUSABLE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("imalog " IMALOG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	usage_error("unknown command '%s'", argv[1]);
	return EXIT_UNUSABLE;
}
