/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal test harness: every check says what it expected and what it got. */
#ifndef IMALOG_CHECK_H
#define IMALOG_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);        \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                                       \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (g_ != w_) {                                                                    \
			fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__,  \
				#got, g_, w_);                                                     \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_MEM(got, want, len)                                                                  \
	do {                                                                                       \
		if (memcmp((got), (want), (len)) != 0) {                                           \
			fprintf(stderr, "%s:%d: %s differs from %s\n", __FILE__, __LINE__, #got,   \
				#want);                                                            \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (strcmp(g_, w_) != 0) {                                                         \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,         \
				__LINE__, #got, g_, w_);                                           \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static inline int check_done(void)
{
	if (check_failures)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	return check_failures ? 1 : 0;
}

#endif
