// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * imalogd: save every IMA measurement record durably before the kernel deletes it.
 * The cycle itself is src/store/sync.c; this file is configuration, the loop, signals and the
 * status file that `imalog status` and `imalog snapshot` read.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync.h"
#include "tpm.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef DEFAULT_CONFIG
#define DEFAULT_CONFIG "/etc/imalog/imalogd.conf"
#endif

enum quote_mode { QUOTE_AUTO, QUOTE_YES, QUOTE_NO };

struct options {
	struct sync_config sync;
	unsigned int poll_seconds;
	bool once;
	enum quote_mode quote;		/* quoted cuts (docs/format.md 4.7) */
	char tcti[512];
	uint32_t ak_handle;
};

static volatile sig_atomic_t stop, snapshot_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		snapshot_requested = 1;
	else
		stop = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("imalogd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- configuration ---- */

static int set_u64(const char *v, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || end == v || *end || *v == '-' ? -EINVAL : 0;
}

/* An age: a number of seconds, or a number with s, m, h or d. */
static int set_age(const char *v, uint64_t *out)
{
	static const struct {
		char unit;
		uint64_t seconds;
	} units[] = {
		{'s', 1},
		{'m', 60},
		{'h', 3600},
		{'d', 86400},
	};
	char num[32];
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[len - 1] == units[i].unit) {
			num[len - 1] = '\0';
			if (set_u64(num, out) < 0 || *out > UINT64_MAX / units[i].seconds)
				return -EINVAL;
			*out *= units[i].seconds;
			return 0;
		}
	return set_u64(num, out);
}

static const char *const delete_modes[] = {
	[SYNC_DELETE_AUTO] = "auto",
	[SYNC_DELETE_COUNT] = "count",
	[SYNC_DELETE_STAGED] = "staged",
};

/* The index of @v in @names (a configuration key's words), or -EINVAL. */
static int word_index(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return (int)i;
	return -EINVAL;
}

static const char *const quote_modes[] = {
	[QUOTE_AUTO] = "auto",
	[QUOTE_YES] = "yes",
	[QUOTE_NO] = "no",
};

/* A persistent handle (TPM 2.0 Part 2, 7.2: 0x81000000 to 0x81ffffff), in hex with 0x. */
static int set_handle(const char *v, uint32_t *out)
{
	unsigned long h;
	char *end;

	errno = 0;
	h = strtoul(v, &end, 16);
	if (errno || strncmp(v, "0x", 2) != 0 || *end || h >> 24 != 0x81)
		return -EINVAL;
	*out = (uint32_t)h;
	return 0;
}

static int set_option(struct options *o, const char *key, const char *v)
{
	uint64_t n = 0;
	int i;

	if (!strcmp(key, "quote")) {
		if ((i = word_index(v, quote_modes, ARRAY_SIZE(quote_modes))) < 0)
			return i;
		o->quote = (enum quote_mode)i;
		return 0;
	}
	if (!strcmp(key, "tpm_tcti"))
		return !*v || snprintf(o->tcti, sizeof(o->tcti), "%s", v) >= (int)sizeof(o->tcti);
	if (!strcmp(key, "ak_handle"))
		return set_handle(v, &o->ak_handle);

	if (!strcmp(key, "store"))
		return snprintf(o->sync.store_dir, sizeof(o->sync.store_dir), "%s", v) < 0;
	if (!strcmp(key, "securityfs"))
		return snprintf(o->sync.ima_dir, sizeof(o->sync.ima_dir), "%s", v) < 0;
	if (!strcmp(key, "tpm"))
		return snprintf(o->sync.tpm_dir, sizeof(o->sync.tpm_dir), "%s", v) < 0;
	if (!strcmp(key, "banks")) {
		uint32_t banks = 0;
		char *copy = strdup(v), *save = NULL;

		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
		     t = strtok_r(NULL, ",", &save)) {
			enum imalog_hash alg;

			if (imalog_hash_from_name(t, &alg) < 0) {
				free(copy);
				return -EINVAL;
			}
			banks |= 1u << alg;
		}
		free(copy);
		o->sync.banks = banks;
		return banks ? 0 : -EINVAL;
	}
	if (!strcmp(key, "keep_age"))
		return set_age(v, &o->sync.keep.keep_seconds);
	if (!strcmp(key, "delete")) {
		if ((i = word_index(v, delete_modes, ARRAY_SIZE(delete_modes))) < 0)
			return i;
		o->sync.delete_mode = (enum sync_delete)i;
		return 0;
	}
	if (set_u64(v, &n) < 0)
		return -EINVAL;
	if (!strcmp(key, "delete_records"))
		o->sync.delete_records = n;
	else if (!strcmp(key, "delete_bytes"))
		o->sync.delete_bytes = n;
	else if (!strcmp(key, "save_records") && n > 0)
		o->sync.save_records = n;
	else if (!strcmp(key, "save_seconds") && n < 86400)
		o->sync.save_seconds = (unsigned int)n;
	else if (!strcmp(key, "poll_seconds") && n > 0 && n < 86400)
		o->poll_seconds = (unsigned int)n;
	else if (!strcmp(key, "keep_chunks"))
		o->sync.keep.keep_chunks = n;
	else if (!strcmp(key, "keep_bytes"))
		o->sync.keep.keep_bytes = n;
	else
		return -EINVAL;
	return 0;
}

/* "key = value" lines, '#' comments. A missing default file is fine; a given one is not. */
static int read_config(struct options *o, const char *path, bool required)
{
	char line[4200];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (!required && errno == ENOENT)
			return 0;
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key = line, *eq, *v, *end;

		lineno++;
		key += strspn(key, " \t");
		if (*key == '#' || *key == '\n' || !*key)
			continue;
		if (!(eq = strchr(key, '='))) {
			say("%s:%u: expected \"key = value\"", path, lineno);
			fclose(f);
			return -1;
		}
		for (end = eq; end > key && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		v = eq + 1 + strspn(eq + 1, " \t");
		v[strcspn(v, " \t\n#")] = '\0';
		if (set_option(o, key, v) != 0) {
			say("%s:%u: bad value \"%s\" for \"%s\"", path, lineno, v, key);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* ---- status ---- */

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* STORE/status.json, replaced atomically after every cycle (read by imalog status/snapshot). */
static void write_status(const struct sync *s, uint64_t forced)
{
	json_object *o = json_object_new_object();
	char path[4200], tmp[4200], now[32];
	time_t t = time(NULL);
	FILE *f;

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	add_u64(o, "pid", (uint64_t)getpid());
	json_object_object_add(o, "boot_id", json_object_new_string(s->boot_id));
	json_object_object_add(o, "log_id", json_object_new_string(s->log.id));
	json_object_object_add(o, "can_delete", json_object_new_boolean(s->kernel.can_delete));
	json_object_object_add(o, "delete_with",
			       json_object_new_string(s->staged_flavour ? "staged" : "count"));
	add_u64(o, "kernel_records", s->stats.kernel_records);
	add_u64(o, "kernel_bytes", s->stats.kernel_bytes);
	add_u64(o, "kernel_first_index", s->head);
	add_u64(o, "log_start", s->log.start);
	add_u64(o, "log_first", s->log.first);
	add_u64(o, "saved_records", s->log.next - s->log.first);
	add_u64(o, "acknowledged", s->stats.acked);
	add_u64(o, "dropped_chunks", s->stats.dropped_chunks);
	add_u64(o, "chunks", s->log.chunks);
	add_u64(o, "store_bytes", s->log.bytes);
	add_u64(o, "deletions", s->stats.deletions);
	add_u64(o, "deleted_records", s->stats.deleted_records);
	add_u64(o, "bytes_freed", s->stats.deleted_bytes);
	add_u64(o, "saves", s->stats.saves);
	add_u64(o, "snapshots", s->stats.snapshots);
	add_u64(o, "forced_cycles", forced); /* succeeded or not: what imalog snapshot waits for */
	add_u64(o, "errors", s->stats.errors);
	json_object_object_add(o, "quote", json_object_new_boolean(s->quoter != NULL));
	add_u64(o, "quoted_chunks", s->stats.quoted_chunks);
	add_u64(o, "unquoted_chunks", s->stats.unquoted_chunks);
	json_object_object_add(o, "last_unquoted", json_object_new_string(s->unquoted));
	json_object_object_add(o, "last_error", json_object_new_string(s->error));
	json_object_object_add(o, "updated_at", json_object_new_string(now));
	snprintf(path, sizeof(path), "%s/status.json", s->cfg.store_dir);
	snprintf(tmp, sizeof(tmp), "%s/status.json.tmp", s->cfg.store_dir);
	if ((f = fopen(tmp, "we"))) {
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		if (fclose(f) == 0)
			rename(tmp, path);
	}
	json_object_put(o);
}

static void write_pid(const struct sync_config *c)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.pid", c->store_dir);
	if ((f = fopen(path, "we"))) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
}

/* ---- the loop ---- */

static const char *deleting_with(const struct sync *s)
{
	if (!s->kernel.can_delete)
		return "the kernel cannot delete";
	return s->staged_flavour ? "deleting with A and D on the _staged file" :
				   "deleting with N";
}

static void report(const struct sync *s, const struct sync_stats *before, char *last_error,
		   size_t size, bool staged_before)
{
	if (s->staged_flavour != staged_before)
		say("the kernel refused N (EINVAL: booted with ima_flush_htable): %s from now on",
		    deleting_with(s));
	if (s->error[0] && strcmp(s->error, last_error) != 0)
		say("%s", s->error);
	else if (!s->error[0] && last_error[0])
		say("recovered: saving and deleting normally again");
	snprintf(last_error, size, "%s", s->error);
	if (s->stats.unquoted_chunks != before->unquoted_chunks)
		say("saved %" PRIu64 " chunks without a quote: %s",
		    s->stats.unquoted_chunks - before->unquoted_chunks, s->unquoted);
	if (s->stats.saves != before->saves)
		say("saved records up to %" PRIu64 " in %s (%" PRIu64 " chunks)", s->log.next - 1,
		    s->log.dir, s->log.chunks);
	if (s->stats.deletions != before->deletions)
		say("deleted %" PRIu64 " records (%" PRIu64 " bytes) from the kernel; it now starts "
		    "at record %" PRIu64, s->stats.deleted_records - before->deleted_records,
		    s->stats.deleted_bytes - before->deleted_bytes, s->head);
	if (s->stats.dropped_chunks != before->dropped_chunks)
		say("dropped %" PRIu64 " chunks that every verifier acknowledged (up to record "
		    "%" PRIu64 "); the store now starts at record %" PRIu64,
		    s->stats.dropped_chunks - before->dropped_chunks, s->stats.acked, s->log.first);
}

/* Sleep until the next poll, a signal, or at once if one is pending. */
static void wait_poll(unsigned int seconds)
{
	sigset_t none;
	struct timespec ts = { (time_t)seconds, 0 };

	sigemptyset(&none);
	if (!stop && !snapshot_requested)
		ppoll(NULL, 0, &ts, &none);
}

static int quote_tpm(void *arg, uint64_t pcrs, uint32_t banks, struct manifest_quote *ret,
		     char *err, size_t errlen)
{
	return tpm_quote(arg, pcrs, banks, ret, err, errlen);
}

static const struct tpm_key *key_tpm(void *arg)
{
	return tpm_key(arg);
}

/* quote = auto: quoted cuts if the TPM and the key can be had; yes: they must be. */
static int start_quotes(const struct options *o, struct sync *s, struct tpm **ret_tpm,
			struct sync_quoter *q)
{
	char err[600] = "";

	*ret_tpm = NULL;
	/* auto quotes only the kernel's own list: a TPM quotes what that kernel extended. */
	if (o->quote == QUOTE_NO ||
	    (o->quote == QUOTE_AUTO && strcmp(o->sync.ima_dir, KERNEL_IMA_DIR) != 0))
		return 0;
	/* Failures are said here, with what failed: not also by tpm2-tss's own logging. */
	setenv("TSS2_LOG", "all+NONE", 0);
	if (tpm_open(o->tcti, o->ak_handle, o->sync.store_dir, ret_tpm, err, sizeof(err)) < 0) {
		say("%s%s", err, o->quote == QUOTE_YES ? " (quote = yes: not starting)" :
			     "; chunks are saved without quotes (quote = auto)");
		return o->quote == QUOTE_YES ? -1 : 0;
	}
	*q = (struct sync_quoter){ quote_tpm, key_tpm, *ret_tpm };
	s->quoter = q;
	say("quoting every chunk's end with the key %s at 0x%08x (%s)", tpm_key(*ret_tpm)->name,
	    o->ak_handle, o->tcti);
	return 0;
}

static int run(const struct options *o)
{
	char last_error[sizeof(((struct sync *)0)->error)] = "";
	uint64_t forced = 0;
	struct sync *s = NULL;
	struct sync_quoter quoter;
	struct tpm *tpm = NULL;
	int r = sync_start(&o->sync, &s);

	if (r < 0) {
		say("%s", s ? s->error : strerror(-r));
		sync_free(s);
		return 1;
	}
	if (s->error[0])
		say("%s", s->error);
	if (start_quotes(o, s, &tpm, &quoter) < 0) {
		sync_free(s);
		return 1;
	}
	write_pid(&o->sync);
	say("saving log %s of boot %s into %s (%s)", s->log.id, s->boot_id, s->log.dir,
	    deleting_with(s));
	while (!stop) {
		struct sync_stats before = s->stats;
		bool force = snapshot_requested || o->once, staged = s->staged_flavour;

		snapshot_requested = 0;
		r = sync_cycle(s, force);
		report(s, &before, last_error, sizeof(last_error), staged);
		forced += force;
		write_status(s, forced);
		if (o->once)
			break;
		wait_poll(r == -EAGAIN ? 1 : o->poll_seconds);
	}
	sync_free(s);
	tpm_free(tpm);
	return o->once && r < 0 ? 1 : 0;
}

static void usage(FILE *f)
{
	fputs("Usage: imalogd [--config FILE] [--store DIR] [--securityfs DIR]\n"
	      "               [--tpm DIR] [--delete-records N] [--poll-seconds N] [--once]\n"
      "--once: one cycle that saves (and, if the kernel can, deletes) everything now.\n"
	      "Saves every IMA measurement record before the kernel deletes it. See imalogd(8).\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "securityfs", required_argument, NULL, 'k' },
		{ "tpm", required_argument, NULL, 't' },
		{ "delete-records", required_argument, NULL, 'd' },
		{ "poll-seconds", required_argument, NULL, 'p' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .poll_seconds = 5, .ak_handle = TPM_AK_HANDLE_DEFAULT,
			     .tcti = TPM_TCTI_DEFAULT };
	const char *config = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t blocked;
	int opt;

	sync_config_defaults(&o.sync);
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			config = argv[i + 1];
	if (read_config(&o, config ? config : DEFAULT_CONFIG, config != NULL) < 0)
		return 2;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		static const char *const keys[] = { ['s'] = "store", ['k'] = "securityfs",
						    ['t'] = "tpm",
						    ['d'] = "delete_records", ['p'] = "poll_seconds" };

		if (opt == 'c')
			continue;
		if (opt == '1') {
			o.once = true;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt > 0 && (size_t)opt < sizeof(keys) / sizeof(keys[0]) && keys[opt]) {
			if (set_option(&o, keys[opt], optarg) != 0) {
				say("bad value \"%s\" for --%s", optarg, keys[opt]);
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (o.quote == QUOTE_YES && !tpm_built()) {
		say("quote = yes, but imalogd was built without tpm2-tss (meson option tpm): "
		    "not starting; set quote = auto or no, or build it with tpm2-tss");
		return 2;
	}
	/* Signals are delivered only while waiting, never in the middle of a cycle. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	return run(&o);
}
