// SPDX-License-Identifier: GPL-2.0-or-later
/* imalog show: records as the kernel's ASCII, JSON lines, or binary, optionally a range. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tool.h"

struct show {
	enum output out;
	uint64_t from, count;
};

int parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*ret = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

int parse_output(const char *name, enum output *ret)
{
	static const char *const names[] = { [OUT_ASCII] = "ascii", [OUT_JSON] = "json",
					     [OUT_BINARY] = "binary" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*ret = (enum output)i;
			return 0;
		}
	return -EINVAL;
}

/* Write out what is buffered once there is enough of it (@min), or all of it (@min == 0). */
int output_flush(imalog_buf *b, size_t min)
{
	size_t len;
	const char *data = imalog_buf_data(b, &len);

	if (len < min || !len)
		return 0;
	if (fwrite(data, 1, len, stdout) != len)
		return -EIO;
	imalog_buf_clear(b);
	return 0;
}

int output_record(enum output out, const imalog_record *r, imalog_buf *b)
{
	int e;

	switch (out) {
	case OUT_ASCII:
		e = imalog_render_ascii(r, b);
		break;
	case OUT_BINARY:
		e = imalog_render_binary(r, b);
		break;
	default:
		e = json_render_record(r, b);
		break;
	}
	return e < 0 ? e : output_flush(b, 1 << 16);
}

static int show(const struct show *s, struct input *in)
{
	imalog_buf *b = imalog_buf_new();
	const imalog_record *r;
	int n, ret = EXIT_VERIFIED;

	if (!b)
		return EXIT_UNUSABLE;
	while ((n = imalog_reader_next(in->reader, &r)) > 0) {
		uint64_t i = imalog_record_index(r);
		int e;

		if (i < s->from)
			continue;
		if (i - s->from >= s->count)
			break;
		if ((e = output_record(s->out, r, b)) < 0) {
			errorf("%s: record %" PRIu64 " at byte offset %" PRIu64 ": cannot write: %s",
			       input_name(in), i, imalog_record_offset(r),
			       e == -EOPNOTSUPP ? "unknown template" : strerror(-e));
			ret = EXIT_UNUSABLE;
			break;
		}
	}
	if (n < 0)
		ret = input_error(in, n);
	if (output_flush(b, 0) < 0 || fflush(stdout) != 0) {
		errorf("writing output: %s", strerror(errno));
		ret = EXIT_UNUSABLE;
	}
	imalog_buf_free(b);
	return ret;
}

int cmd_show(int argc, char **argv)
{
	static const struct option options[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'F' },
		{ "count", required_argument, NULL, 'n' },
		INPUT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct show s = { OUT_ASCII, 0, UINT64_MAX };
	struct input in = { 0 };
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "f:", options, NULL)) != -1) {
		int used = input_option(&in, opt, optarg);

		if (used < 0)
			return EXIT_UNUSABLE;
		if (used)
			continue;
		if (opt == 'f' && parse_output(optarg, &s.out) == 0)
			;
		else if (opt == 'F' && parse_u64(optarg, &s.from) == 0)
			;
		else if (opt == 'n' && parse_u64(optarg, &s.count) == 0)
			;
		else
			return usage_error("show: bad option or argument"), EXIT_UNUSABLE;
	}
	if (optind + 1 < argc)
		return usage_error("show: one FILE at most"), EXIT_UNUSABLE;
	if (input_open(&in, argv[optind]) < 0)
		return EXIT_UNUSABLE;
	ret = show(&s, &in);
	input_close(&in);
	return ret;
}
