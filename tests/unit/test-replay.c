// SPDX-License-Identifier: GPL-2.0-or-later
/* Replay and prefix matching, against PCR values computed here independently. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "imalog.h"
#include "logbuild.h"

#define RECORDS 40

struct model {
	uint8_t pcr[2][16][32];	/* [bank sha1/sha256][pcr] */
};

static const char *const md_names[2] = { "SHA1", "SHA256" };
static const size_t md_sizes[2] = { 20, 32 };

/* Extend the model with one record's template data as the kernel does (Linux >= 5.8). */
static void model_extend(struct model *m, uint32_t pcr, const uint8_t *data, size_t len,
			 bool violation, bool pre_5_8)
{
	for (int b = 0; b < 2; b++) {
		uint8_t digest[32] = { 0 }, buf[64];
		size_t size = md_sizes[b];

		if (violation)
			memset(digest, 0xff, pre_5_8 ? 20 : size);
		else
			EVP_Digest(data, len, digest, NULL,
				   EVP_get_digestbyname(pre_5_8 ? "SHA1" : md_names[b]), NULL);
		memcpy(buf, m->pcr[b][pcr], size);
		memcpy(buf + size, digest, size);
		EVP_Digest(buf, 2 * size, m->pcr[b][pcr], NULL, EVP_get_digestbyname(md_names[b]),
			   NULL);
	}
}

struct fixture {
	struct lb log;
	size_t offset[RECORDS];
	struct model after[RECORDS + 1];	/* state after each prefix */
};

static void build(struct fixture *fx, bool pre_5_8)
{
	memset(fx, 0, sizeof(*fx));
	for (int i = 0; i < RECORDS; i++) {
		char name[32];
		uint32_t pcr = i % 7 == 3 ? 11 : 10;
		bool violation = i == 17;
		size_t start;

		snprintf(name, sizeof(name), "/usr/bin/prog%d", i);
		fx->offset[i] = fx->log.len;
		lb_ima_ng(&fx->log, pcr, name, (uint8_t)i, violation);
		/* template data starts after pcr, digest, name length and "ima-ng", data length */
		start = fx->offset[i] + 4 + 20 + 4 + 6 + 4;
		fx->after[i + 1] = fx->after[i];
		model_extend(&fx->after[i + 1], pcr, fx->log.buf + start,
			     fx->log.len - start, violation, pre_5_8);
	}
}

static int log_fd(const struct lb *log)
{
	FILE *f = tmpfile();
	int fd;

	if (!f || fwrite(log->buf, 1, log->len, f) != log->len || fflush(f) != 0)
		abort();
	fd = dup(fileno(f));
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Replay @log with the given options; returns the reader's or replay's result. */
static int run(const struct lb *log, struct imalog_replay_options *o, imalog_replay **ret)
{
	struct imalog_reader_options ro = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN },
	};
	imalog_reader *rd;
	int fd = log_fd(log), r;

	o->banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256;
	if (imalog_reader_new(fd, &ro, &rd) < 0 || imalog_replay_new(o, ret) < 0)
		abort();
	r = imalog_replay_reader(*ret, rd);
	imalog_reader_free(rd);
	close(fd);
	return r;
}

static void check_state(const imalog_replay *rp, const struct model *m)
{
	for (unsigned int p = 10; p <= 11; p++) {
		CHECK_MEM(imalog_replay_pcr(rp, p, IMALOG_SHA1), m->pcr[0][p], 20);
		CHECK_MEM(imalog_replay_pcr(rp, p, IMALOG_SHA256), m->pcr[1][p], 32);
	}
}

static void test_replay(unsigned int threads, bool pre_5_8)
{
	static struct fixture fx;
	struct imalog_replay_options o = { .threads = threads, .pre_5_8 = pre_5_8 };
	imalog_replay *rp;

	build(&fx, pre_5_8);
	CHECK_INT(run(&fx.log, &o, &rp), 0);
	CHECK_INT(imalog_replay_records(rp), RECORDS);
	CHECK_INT(imalog_replay_violations(rp), 1);
	CHECK(imalog_replay_pcr_used(rp, 10) && imalog_replay_pcr_used(rp, 11));
	CHECK(!imalog_replay_pcr_used(rp, 12));
	check_state(rp, &fx.after[RECORDS]);
	imalog_replay_free(rp);
}

/* The log runs ahead of the PCRs: the match is the first prefix with every value. */
static void test_match_prefix(void)
{
	static struct fixture fx;
	imalog_pcrs *want = imalog_pcrs_new();
	struct imalog_replay_options o = { .expected = want };
	imalog_replay *rp;
	uint64_t prefix = 0;

	build(&fx, false);
	for (unsigned int p = 10; p <= 11; p++) {
		CHECK_INT(imalog_pcrs_set(want, p, IMALOG_SHA1, fx.after[25].pcr[0][p], 20), 0);
		CHECK_INT(imalog_pcrs_set(want, p, IMALOG_SHA256, fx.after[25].pcr[1][p], 32), 0);
	}
	CHECK_INT(run(&fx.log, &o, &rp), 0);
	CHECK_INT(imalog_replay_match(rp, &prefix), 1);
	CHECK_INT(prefix, 25);
	imalog_replay_free(rp);

	/* One wrong bank value: no prefix matches. */
	fx.after[25].pcr[1][11][0] ^= 1;
	CHECK_INT(imalog_pcrs_set(want, 11, IMALOG_SHA256, fx.after[25].pcr[1][11], 32), 0);
	CHECK_INT(run(&fx.log, &o, &rp), 0);
	CHECK_INT(imalog_replay_match(rp, &prefix), 0);
	imalog_replay_free(rp);
	imalog_pcrs_free(want);
}

/* A changed byte of template data is caught at its record, with its offset. */
static void test_bad_header(void)
{
	static struct fixture fx;
	struct imalog_replay_options o = { 0 };
	imalog_replay *rp;
	uint64_t index = 0, offset = 0;

	build(&fx, false);
	fx.log.buf[fx.offset[29] + 50] ^= 0x80; /* first byte of the file digest */
	CHECK_INT(run(&fx.log, &o, &rp), -EBADMSG);
	CHECK(imalog_replay_bad_record(rp, &index, &offset));
	CHECK_INT(index, 29);
	CHECK_INT(offset, fx.offset[29]);
	imalog_replay_free(rp);
}

/* The legacy template hashes the digest and the name padded to 256 bytes. */
static void test_legacy_hash(void)
{
	struct lb b = { 0 };
	uint8_t d[20], padded[20 + 256] = { 0 }, digest[20], pcr[40] = { 0 }, want[20];
	struct imalog_replay_options o = { 0 };
	imalog_replay *rp;

	memset(d, 7, sizeof(d));
	memcpy(padded, d, 20);
	memcpy(padded + 20, "/etc/passwd", 11);
	SHA1(padded, sizeof(padded), digest);
	lb_put_u32(&b, 10);
	lb_put(&b, digest, 20);
	lb_put_u32(&b, 3);
	lb_put(&b, "ima", 3);
	lb_put(&b, d, 20);
	lb_put_u32(&b, 11);
	lb_put(&b, "/etc/passwd", 11);
	memcpy(pcr + 20, digest, 20);
	SHA1(pcr, sizeof(pcr), want);
	CHECK_INT(run(&b, &o, &rp), 0);
	CHECK_MEM(imalog_replay_pcr(rp, 10, IMALOG_SHA1), want, 20);
	imalog_replay_free(rp);
}

/* Replaying the second half of a log from the state after the first gives the whole log's. */
static void test_seed(void)
{
	static struct fixture fx;
	struct imalog_reader_options ro = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, IMALOG_LITTLE_ENDIAN },
	};
	struct imalog_replay_options o = { .banks = 1u << IMALOG_SHA1 | 1u << IMALOG_SHA256 };
	struct lb tail = { 0 };
	imalog_reader *rd;
	imalog_replay *rp;
	int fd;

	build(&fx, false);
	tail.len = fx.log.len - fx.offset[20];
	memcpy(tail.buf, fx.log.buf + fx.offset[20], tail.len);
	fd = log_fd(&tail);
	CHECK_INT(imalog_replay_new(&o, &rp), 0);
	for (unsigned int p = 10; p <= 11; p++) {
		CHECK_INT(imalog_replay_seed(rp, p, IMALOG_SHA1, fx.after[20].pcr[0][p], 20), 0);
		CHECK_INT(imalog_replay_seed(rp, p, IMALOG_SHA256, fx.after[20].pcr[1][p], 32), 0);
	}
	CHECK_INT(imalog_replay_seed(rp, 10, IMALOG_SHA384, fx.after[20].pcr[1][10], 48), -EINVAL);
	CHECK_INT(imalog_reader_new(fd, &ro, &rd), 0);
	CHECK_INT(imalog_replay_reader(rp, rd), 0);
	CHECK_INT(imalog_replay_records(rp), RECORDS - 20);
	check_state(rp, &fx.after[RECORDS]);
	CHECK_INT(imalog_replay_seed(rp, 10, IMALOG_SHA1, fx.after[20].pcr[0][10], 20), -EINVAL);
	imalog_reader_free(rd);
	imalog_replay_free(rp);
	close(fd);
}

int main(void)
{
	test_seed();
	test_replay(1, false);
	test_replay(2, false);
	test_replay(1, true);
	test_replay(3, true);
	test_match_prefix();
	test_bad_header();
	test_legacy_hash();
	return check_done();
}
