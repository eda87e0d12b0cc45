// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * imalog-standin: mount a stand-in for /sys/kernel/security/ima with the export/delete
 * interface, for tests at scale without a VM. See README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

static const char usage_text[] =
	"Usage: imalog-standin [OPTIONS] MOUNTPOINT\n"
	"       imalog-standin ctl SOCKET COMMAND [ARG...]\n"
	"\n"
	"  -c, --control PATH      control socket (commands: imalog-standin ctl PATH help)\n"
	"  -s, --seed-log FILE     initial records: a binary log, SHA-1 header digests\n"
	"  -S, --state DIR         keep the state in DIR; load it if DIR holds one\n"
	"      --seed N            seed of the synthetic measurements (default 1)\n"
	"      --banks LIST        allocated TPM banks, in order (default sha1,sha256)\n"
	"      --ima-hash ALG      digest algorithm of d-ng fields (default sha256)\n"
	"      --aggregate         a snapshot_aggregate record after every deletion\n"
	"      --no-staging        a kernel without the series: no _staged files, no writes\n"
	"      --flush-htable      boot option ima_flush_htable: N is refused\n"
	"      --release-grace MS  how long a conflicting open waits for releases FUSE has\n"
	"                          not delivered yet (default 100)\n"
	"  -f, --foreground        stay in the foreground\n"
	"  -d, --debug             FUSE debug output (implies -f)\n";

enum { OPT_SEED = 0x100, OPT_BANKS, OPT_IMA_HASH, OPT_AGGREGATE, OPT_NO_STAGING,
       OPT_FLUSH_HTABLE, OPT_GRACE };

static const struct option long_options[] = {
	{"control", required_argument, NULL, 'c'},
	{"seed-log", required_argument, NULL, 's'},
	{"state", required_argument, NULL, 'S'},
	{"seed", required_argument, NULL, OPT_SEED},
	{"banks", required_argument, NULL, OPT_BANKS},
	{"ima-hash", required_argument, NULL, OPT_IMA_HASH},
	{"aggregate", no_argument, NULL, OPT_AGGREGATE},
	{"no-staging", no_argument, NULL, OPT_NO_STAGING},
	{"flush-htable", no_argument, NULL, OPT_FLUSH_HTABLE},
	{"release-grace", required_argument, NULL, OPT_GRACE},
	{"foreground", no_argument, NULL, 'f'},
	{"debug", no_argument, NULL, 'd'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct args {
	struct si_config cfg;
	const char *control, *mountpoint;
	bool foreground, debug;
};

static int number(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end || !*s || *s == '-' || *ret > max ? -EINVAL : 0;
}

static int option(struct args *a, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'c': a->control = arg; return 0;
	case 's': a->cfg.seed_log = arg; return 0;
	case 'S': a->cfg.state_dir = arg; return 0;
	case OPT_SEED: return number(arg, UINT64_MAX, &a->cfg.seed);
	case OPT_BANKS: a->cfg.banks = arg; return 0;
	case OPT_IMA_HASH: a->cfg.ima_hash = arg; return 0;
	case OPT_AGGREGATE: a->cfg.aggregate = true; return 0;
	case OPT_NO_STAGING: a->cfg.staging = false; return 0;
	case OPT_FLUSH_HTABLE: a->cfg.flush_htable = true; return 0;
	case OPT_GRACE:
		if (number(arg, 600000, &v) < 0)
			return -EINVAL;
		a->cfg.release_grace_ms = (unsigned int)v;
		return 0;
	case 'f': a->foreground = true; return 0;
	case 'd': a->debug = a->foreground = true; return 0;
	default: return -EINVAL;
	}
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int opt;

	*a = (struct args){
		.cfg = {.banks = "sha1,sha256", .ima_hash = "sha256", .seed = 1, .staging = true,
			.release_grace_ms = 100},
	};
	while ((opt = getopt_long(argc, argv, "c:s:S:fdh", long_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (option(a, opt, optarg) < 0)
			return -EINVAL;
	}
	if (optind + 1 != argc)
		return -EINVAL;
	a->mountpoint = argv[optind];
	if (a->cfg.aggregate && !a->cfg.staging)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct si_state *st;
	struct args a;
	int err;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return si_ctl_main(argc - 1, argv + 1);
	if (parse_args(argc, argv, &a) < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if ((err = si_state_new(&a.cfg, &st)) < 0) {
		fprintf(stderr, "imalog-standin: %s\n",
			err == -EEXIST ? "--seed-log given, but --state already holds a state" :
					 strerror(-err));
		return 1;
	}
	if ((err = si_fs_build(st)) == 0)
		err = si_fs_main(st, a.mountpoint, a.control, a.foreground, a.debug);
	if (err < 0)
		fprintf(stderr, "imalog-standin: %s: %s\n", a.mountpoint, strerror(-err));
	si_state_free(st);
	return err < 0 ? 1 : 0;
}
