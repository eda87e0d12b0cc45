// SPDX-License-Identifier: GPL-2.0-or-later
/* Expected-value parsers: the four sources, and errors that name the line. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "imalog.h"

#define H20 "00112233445566778899aabbccddeeff00112233"
#define H32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static int parse(imalog_pcrs *p, enum imalog_pcrs_syntax s, enum imalog_hash bank, const char *text,
		 unsigned int *line)
{
	return imalog_pcrs_parse(p, s, bank, text, strlen(text), line);
}

static void check_value(const imalog_pcrs *p, unsigned int pcr, enum imalog_hash alg,
			const char *hex)
{
	const uint8_t *v = imalog_pcrs_get(p, pcr, alg);
	char got[129];

	CHECK(v != NULL);
	if (!v)
		return;
	imalog_hex(v, imalog_hash_size(alg), got);
	CHECK_STR(got, hex);
}

static void test_plain(void)
{
	imalog_pcrs *p = imalog_pcrs_new();
	unsigned int line = 0;

	CHECK_INT(parse(p, IMALOG_PCRS_AUTO, IMALOG_SHA1,
			"# comment\n10 sha1 " H20 "\n\n11 SHA256 0x" H32 "\n", &line), 0);
	check_value(p, 10, IMALOG_SHA1, H20);
	check_value(p, 11, IMALOG_SHA256, H32);
	CHECK(imalog_pcrs_get(p, 10, IMALOG_SHA256) == NULL);
	CHECK_INT(parse(p, IMALOG_PCRS_PLAIN, IMALOG_SHA1, "10 sha1 " H20 "\n10 sha256 " H20 "\n",
			&line), -EBADMSG);
	CHECK_INT(line, 2);
	CHECK_INT(parse(p, IMALOG_PCRS_PLAIN, IMALOG_SHA1, "10 md5 " H20 "\n", &line), -EOPNOTSUPP);
	CHECK_INT(parse(p, IMALOG_PCRS_PLAIN, IMALOG_SHA1, "64 sha1 " H20 "\n", &line), -E2BIG);
	imalog_pcrs_free(p);
}

static void test_yaml(void)
{
	imalog_pcrs *p = imalog_pcrs_new();
	unsigned int line = 0;

	CHECK_INT(parse(p, IMALOG_PCRS_AUTO, IMALOG_SHA1,
			"  sha1:\n    0 : 0x" H20 "\n    10: 0x" H20 "\n  sha256:\n    10: 0x" H32
			"\n",
			&line),
		  0);
	check_value(p, 0, IMALOG_SHA1, H20);
	check_value(p, 10, IMALOG_SHA256, H32);
	CHECK_INT(parse(p, IMALOG_PCRS_YAML, IMALOG_SHA1, "  10: 0x" H20 "\n", &line), -EBADMSG);
	CHECK_INT(line, 1);
	imalog_pcrs_free(p);
}

static void test_evmctl(void)
{
	imalog_pcrs *p = imalog_pcrs_new();
	unsigned int line = 0;

	CHECK_INT(parse(p, IMALOG_PCRS_EVMCTL, IMALOG_SHA256,
			"PCR-00: " H32 "\nPCR-10: " H32 "\n", &line), 0);
	check_value(p, 10, IMALOG_SHA256, H32);
	/* The TPM 1.2 sysfs layout, bytes separated by spaces. */
	CHECK_INT(parse(p, IMALOG_PCRS_EVMCTL, IMALOG_SHA1,
			"PCR-08: 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33\n",
			&line), 0);
	check_value(p, 8, IMALOG_SHA1, H20);
	CHECK_INT(parse(p, IMALOG_PCRS_EVMCTL, IMALOG_SHA1, "PCR-24: " H20 "\n", &line), -E2BIG);
	CHECK_INT(parse(p, IMALOG_PCRS_EVMCTL, IMALOG_SHA1, "PCR10 " H20 "\n", &line), -EBADMSG);
	imalog_pcrs_free(p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void test_sysfs(void)
{
	char dir[] = "/tmp/imalog-pcrs-XXXXXX", path[256];
	imalog_pcrs *p = imalog_pcrs_new();

	if (!mkdtemp(dir))
		abort();
	CHECK_INT(imalog_pcrs_load_sysfs(p, dir), -ENOENT);
	snprintf(path, sizeof(path), "%s/pcr-sha1", dir);
	mkdir(path, 0700);
	for (int i = 0; i < 24; i++) {
		snprintf(path, sizeof(path), "%s/pcr-sha1/%d", dir, i);
		write_file(path, i == 10 ? "00112233445566778899AABBCCDDEEFF00112233\n"
					 : "0000000000000000000000000000000000000000\n");
	}
	CHECK_INT(imalog_pcrs_load_sysfs(p, dir), 0);
	check_value(p, 10, IMALOG_SHA1, H20);
	CHECK(imalog_pcrs_get(p, 10, IMALOG_SHA256) == NULL);
	snprintf(path, sizeof(path), "%s/pcr-sha1/5", dir);
	write_file(path, "xyz\n");
	CHECK_INT(imalog_pcrs_load_sysfs(p, dir), -EBADMSG);
	for (int i = 0; i < 24; i++) {
		snprintf(path, sizeof(path), "%s/pcr-sha1/%d", dir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/pcr-sha1", dir);
	rmdir(path);
	rmdir(dir);
	imalog_pcrs_free(p);
}

int main(void)
{
	test_plain();
	test_yaml();
	test_evmctl();
	test_sysfs();
	return check_done();
}
