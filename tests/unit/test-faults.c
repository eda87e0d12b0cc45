// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Error paths by enumeration, in SQLite's manner: fail the Nth allocation for N = 0, 1, 2...
 * until the whole operation succeeds; every failure must come back as -ENOMEM with nothing
 * leaked (ASan and valgrind runs check that). Then read errors from the operating system.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "imalog.h"
#include "logbuild.h"

static long alloc_budget = -1;	/* allocations left before one fails; -1: never fail */

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

static bool fail_now(void)
{
	if (alloc_budget < 0)
		return false;
	return alloc_budget-- == 0;
}

void *__wrap_malloc(size_t size)
{
	return fail_now() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return fail_now() ? NULL : __real_realloc(p, size);
}

static struct lb log_data;

/* Read, render and replay the whole log; returns 0 or the first error. */
static int operation(int fd)
{
	struct imalog_reader_options ro = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN },
	};
	struct imalog_replay_options o = { .banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256 };
	imalog_reader *rd = NULL;
	imalog_replay *rp = NULL;
	imalog_pcrs *want = imalog_pcrs_new();
	imalog_buf *out = imalog_buf_new();
	const imalog_record *r;
	int ret;

	o.expected = want;
	if (!want || !out) {
		ret = -ENOMEM;
		goto done;
	}
	lseek(fd, 0, SEEK_SET);
	if ((ret = imalog_reader_new(fd, &ro, &rd)) < 0)
		goto done;
	while ((ret = imalog_reader_next(rd, &r)) > 0)
		if ((ret = imalog_render_ascii(r, out)) < 0)
			goto done;
	if (ret < 0)
		goto done;
	lseek(fd, 0, SEEK_SET);
	imalog_reader_free(rd);
	rd = NULL;
	if ((ret = imalog_reader_new(fd, &ro, &rd)) < 0 || (ret = imalog_replay_new(&o, &rp)) < 0)
		goto done;
	ret = imalog_replay_reader(rp, rd);
done:
	imalog_replay_free(rp);
	imalog_reader_free(rd);
	imalog_buf_free(out);
	imalog_pcrs_free(want);
	return ret;
}

static void test_allocation_failures(int fd)
{
	long n;
	int ret = -ENOMEM;

	for (n = 0; n < 1000 && ret == -ENOMEM; n++) {
		alloc_budget = n;
		ret = operation(fd);
		alloc_budget = -1;
		if (ret != 0 && ret != -ENOMEM) {
			fprintf(stderr, "allocation %ld failing gave %d, expected -ENOMEM\n", n, ret);
			check_failures++;
		}
	}
	CHECK_INT(ret, 0);
	CHECK(n > 3); /* the enumeration really went through several allocations */
	printf("operation succeeded after failing each of its first %ld allocations\n", n - 1);
}

static void test_read_error(void)
{
	struct imalog_reader_options ro = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN },
	};
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	const imalog_record *r;
	imalog_reader *rd;

	CHECK(fd >= 0);
	CHECK_INT(imalog_reader_new(fd, &ro, &rd), 0);
	CHECK_INT(imalog_reader_next(rd, &r), -EISDIR);
	imalog_reader_free(rd);
	close(fd);
}

int main(void)
{
	FILE *f = tmpfile();
	int fd;

	for (int i = 0; i < 50; i++)
		lb_ima_ng(&log_data, 10, "/usr/lib/libfoo.so", (uint8_t)i, i == 7);
	if (!f || fwrite(log_data.buf, 1, log_data.len, f) != log_data.len || fflush(f))
		return 2;
	fd = fileno(f);
	test_allocation_failures(fd);
	test_read_error();
	fclose(f);
	return check_done();
}
