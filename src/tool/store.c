// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The commands that work on imalogd's store: status, snapshot, and log (the whole log from any
 * absolute index: the store's chunks followed by the kernel's remaining list).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "sync.h"
#include "tool.h"

int store_option(struct store_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 0x200:
		o->store = arg;
		return 1;
	case 0x201:
		o->ima_dir = arg;
		return 1;
	case 0x202:
		o->log_id = arg;
		return 1;
	default:
		return 0;
	}
}

/* Open the store read-only and the log asked for (default: the newest). */
static int open_log(const struct store_opts *o, struct store **ret_store, struct store_log *log)
{
	char id[64];
	int r = store_open(o->store, false, ret_store);

	if (r < 0) {
		errorf("%s: %s", o->store, strerror(-r));
		return r;
	}
	if (!o->log_id && (r = store_latest_log(*ret_store, id, sizeof(id))) < 0) {
		errorf("%s: no log stored yet", o->store);
		return r;
	}
	r = store_log_open(*ret_store, o->log_id ? o->log_id : id, false, log);
	if (r < 0)
		errorf("%s: log %s: %s", o->store, o->log_id ? o->log_id : id, strerror(-r));
	return r;
}

static json_object *read_status(const char *store)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/status.json", store);
	return json_object_from_file(path);
}

static bool daemon_alive(json_object *status, pid_t *ret_pid)
{
	json_object *pid;

	if (!status || !json_object_object_get_ex(status, "pid", &pid))
		return false;
	*ret_pid = (pid_t)json_object_get_int(pid);
	return *ret_pid > 0 && kill(*ret_pid, 0) == 0;
}

static uint64_t status_u64(json_object *status, const char *key)
{
	json_object *v;

	return status && json_object_object_get_ex(status, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *status_str(json_object *status, const char *key)
{
	json_object *v;

	return status && json_object_object_get_ex(status, key, &v) ? json_object_get_string(v)
								     : "";
}

/* ---- imalog status ---- */

/* Each verifier's acknowledgement (4.6), and the index that bounds what may be dropped. */
static void print_acks(const struct store_log *log)
{
	char dir[4200], err[4300] = "";
	struct dirent *e;
	uint64_t acked = 0, v;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/acks", log->dir);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && store_ack_name_valid(e->d_name)) {
			if (store_read_index(dir, e->d_name, &v) == 0)
				printf("acknowledged:     records before %" PRIu64 " by %s\n", v,
				       e->d_name);
			else
				printf("acknowledged:     %s/%s is not a decimal index and a "
				       "newline\n",
				       dir, e->d_name);
		}
	closedir(d);
	if (store_log_acked(log, &acked, err, sizeof(err)) == 0)
		printf("may be dropped:   records before %" PRIu64 " (what every verifier "
		       "acknowledged), if a retention limit is set\n",
		       acked);
}

/* Quoted cuts (docs/format.md 4.7), when the daemon makes them. */
static void print_quotes(json_object *status)
{
	json_object *v;

	if (!json_object_object_get_ex(status, "quote", &v) || !json_object_get_boolean(v))
		return;
	printf("quoted cuts:      %" PRIu64 " chunks quoted, %" PRIu64 " without a quote since "
	       "the daemon started%s%s\n",
	       status_u64(status, "quoted_chunks"), status_u64(status, "unquoted_chunks"),
	       *status_str(status, "last_unquoted") ? "; the last because: " : "",
	       status_str(status, "last_unquoted"));
}

static int print_status(const struct store_opts *o, const struct store_log *log,
			json_object *status)
{
	bool running = store_locked(o->store);
	pid_t pid = 0;

	printf("store:            %s\n", o->store);
	printf("log:              %s (%s)\n", log->id, log->error[0] ? log->error : "consistent");
	printf("saved records:    %" PRIu64 " (records %" PRIu64 "..%" PRIu64 ") in %" PRIu64
	       " chunks, %" PRIu64 " bytes\n",
	       log->next - log->first, log->first, log->next ? log->next - 1 : 0, log->chunks,
	       log->bytes);
	if (log->dropped > log->start)
		printf("dropped:          records %" PRIu64 "..%" PRIu64 " (acknowledged by every "
		       "verifier, removed by retention)\n",
		       log->start, log->dropped - 1);
	print_acks(log);
	printf("daemon:           %s", running ? "running" : "not running");
	if (running && daemon_alive(status, &pid))
		printf(" (pid %ld)", (long)pid);
	printf("\n");
	if (!status)
		return EXIT_VERIFIED;
	printf("kernel records:   %" PRIu64 " (%" PRIu64 " bytes), first is record %" PRIu64 "\n",
	       status_u64(status, "kernel_records"), status_u64(status, "kernel_bytes"),
	       status_u64(status, "kernel_first_index"));
	printf("deletions:        %" PRIu64 " (%" PRIu64 " records, %" PRIu64 " bytes freed)\n",
	       status_u64(status, "deletions"), status_u64(status, "deleted_records"),
	       status_u64(status, "bytes_freed"));
	print_quotes(status);
	printf("last update:      %s\n", status_str(status, "updated_at"));
	printf("last error:       %s\n", *status_str(status, "last_error") ?
	       status_str(status, "last_error") : "none");
	return log->error[0] ? EXIT_FAILED : EXIT_VERIFIED;
}

int cmd_status(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		STORE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { STORE_DEFAULT, KERNEL_IMA_DIR, NULL };
	struct store_log *log = calloc(1, sizeof(*log));
	struct store *st = NULL;
	json_object *status;
	bool json = false;
	int opt, ret = EXIT_UNUSABLE;

	while (log && (opt = getopt_long(argc, argv, "j", options, NULL)) != -1) {
		if (opt == 'j')
			json = true;
		else if (!store_option(&o, opt, optarg))
			goto done;
	}
	if (!log || open_log(&o, &st, log) < 0)
		goto done;
	status = read_status(o.store);
	if (json && status)
		puts(json_object_to_json_string_ext(status, JSON_C_TO_STRING_PRETTY));
	ret = json ? (status ? EXIT_VERIFIED : EXIT_UNUSABLE) : print_status(&o, log, status);
	json_object_put(status);
done:
	store_free(st);
	free(log);
	return ret;
}

/* ---- imalog snapshot ---- */

/* Ask the running daemon for a cycle that saves and deletes now, and wait for it. */
static int snapshot_by_daemon(const struct store_opts *o)
{
	json_object *status = read_status(o->store);
	uint64_t before = status_u64(status, "forced_cycles");
	bool failed, done = false;
	pid_t pid;

	if (!daemon_alive(status, &pid) || kill(pid, SIGUSR1) < 0) {
		json_object_put(status);
		errorf("imalogd holds %s but cannot be signalled", o->store);
		return EXIT_UNUSABLE;
	}
	for (int i = 0; i < 600; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		json_object_put(status);
		status = read_status(o->store);
		/* Its own cycle, not an error left by an earlier one. */
		if ((done = status_u64(status, "forced_cycles") > before))
			break;
		nanosleep(&ts, NULL);
	}
	failed = !done || *status_str(status, "last_error") != '\0';
	if (!done)
		errorf("snapshot: imalogd (pid %ld) did not complete a cycle within 60 s",
		       (long)pid);
	else if (failed)
		errorf("snapshot failed: %s", status_str(status, "last_error"));
	else
		printf("saved up to record %" PRIu64 "; the kernel now starts at record %" PRIu64
		       "\n",
		       status_u64(status, "log_first") + status_u64(status, "saved_records") - 1,
		       status_u64(status, "kernel_first_index"));
	json_object_put(status);
	return failed ? EXIT_FAILED : EXIT_VERIFIED;
}

/* No daemon: take the store's lock and run one forced cycle here. */
static int snapshot_here(const struct store_opts *o)
{
	struct sync_config c;
	struct sync *s = NULL;
	int r;

	sync_config_defaults(&c);
	snprintf(c.store_dir, sizeof(c.store_dir), "%s", o->store);
	snprintf(c.ima_dir, sizeof(c.ima_dir), "%s", o->ima_dir);
	r = sync_start(&c, &s);
	if (r == 0)
		r = sync_cycle(s, true);
	if (r < 0 || (s && s->error[0]))
		errorf("snapshot: %s", s && s->error[0] ? s->error : strerror(-r));
	else
		printf("saved up to record %" PRIu64 "; the kernel now starts at record %" PRIu64
		       "%s\n", s->log.next - 1, s->head,
		       s->kernel.can_delete ? "" : " (this kernel cannot delete)");
	sync_free(s);
	return r < 0 ? EXIT_FAILED : EXIT_VERIFIED;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option options[] = { STORE_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
	struct store_opts o = { STORE_DEFAULT, KERNEL_IMA_DIR, NULL };
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1)
		if (!store_option(&o, opt, optarg))
			return usage_error("snapshot: bad option"), EXIT_UNUSABLE;
	return store_locked(o.store) ? snapshot_by_daemon(&o) : snapshot_here(&o);
}

/* ---- imalog log ---- */

struct output_sink {
	enum output out;
	imalog_buf *buf;
};

static int output_sink(void *ctx, const imalog_record *r)
{
	struct output_sink *o = ctx;

	return output_record(o->out, r, o->buf);
}

struct log_out {
	uint64_t from;
	uint64_t end; /* the store's end when it was checked: later chunks are not read */
	int (*sink)(void *ctx, const imalog_record *r);
	void *ctx;
	int error;
};

/* Write the records of @fd whose index is at least l->from; @first is the index of its first. */
static int emit(struct log_out *l, int fd, const char *name, uint64_t first,
		enum imalog_byte_order order)
{
	struct imalog_reader_options ro = {
		.format = { IMALOG_INPUT_BINARY, IMALOG_SHA1, order },
		.allow_unknown_templates = true,
		.first_index = first,
	};
	const imalog_record *r;
	imalog_reader *rd;
	int n = imalog_reader_new(fd, &ro, &rd);

	while (n == 0 && (n = imalog_reader_next(rd, &r)) > 0) {
		n = imalog_record_index(r) < l->from ? 0 : l->sink(l->ctx, r);
		if (n < 0)
			errorf("%s: record %" PRIu64 " at byte offset %" PRIu64 ": %s", name,
			       imalog_record_index(r), imalog_record_offset(r),
			       n == -EBADMSG ? "template digest does not match the template data"
					     : strerror(-n));
	}
	if (n < 0 && n != -EIO && n != -EBADMSG) {
		uint64_t index, offset;

		imalog_reader_where(rd, &index, &offset);
		errorf("%s: record %" PRIu64 " at byte offset %" PRIu64 ": malformed", name, index,
		       offset);
	}
	imalog_reader_free(rd);
	return n;
}

static int emit_chunk(const struct manifest *m, const char *chunk, void *arg)
{
	struct log_out *l = arg;
	int fd, r;

	/*
	 * A chunk the daemon committed after the check holds records the kernel's copy has too
	 * (it was read first): they are written from there, once.
	 */
	if (m->first + m->count <= l->from || m->first >= l->end)
		return 0;
	if ((fd = open(chunk, O_RDONLY | O_CLOEXEC)) < 0) {
		errorf("%s: %s", chunk, strerror(errno));
		return l->error = -errno;
	}
	r = emit(l, fd, chunk, m->first, m->order);
	close(fd);
	return l->error = r;
}

int store_kernel_tail(const struct store_opts *o, int *ret_fd, uint64_t *ret_head)
{
	struct kernel k;
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, staged = 0;
	uint64_t before = 0, after = 0;
	json_object *status;
	int r, fd;

	if ((r = kernel_open(o->ima_dir, &k)) < 0)
		return r;
	/* imalogd holds the list for writing through a cycle (read, save, delete): wait for it. */
	for (int i = 0; (r = kernel_acquire(&k, false)) == -EBUSY && i < 200; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (r < 0)
		return r;
	do {
		before = after;
		if ((r = kernel_deleted(&k, &before)) < 0 ||
		    (r = kernel_read_lists(&k, &buf, &cap, &len, &staged)) < 0 ||
		    (r = kernel_deleted(&k, &after)) < 0)
			break;
	} while (before != after);
	kernel_release(&k);
	*ret_head = before;
	if (r == 0 && k.can_delete && !k.has_counter) {
		status = read_status(o->store);	/* only the daemon knows where the kernel starts */
		*ret_head = status_u64(status, "kernel_first_index");
		json_object_put(status);
	}
	fd = r == 0 ? memfd_create("imalog-kernel-list", MFD_CLOEXEC) : -1;
	if (r == 0 && (fd < 0 || write(fd, buf, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0))
		r = -errno;
	free(buf);
	if (r < 0 && fd >= 0)
		close(fd);
	*ret_fd = fd;
	return r;
}

int store_walk(const struct store_opts *o, uint64_t from, bool with_kernel,
	       int (*sink)(void *ctx, const imalog_record *r), void *ctx)
{
	struct log_out out = { from, UINT64_MAX, sink, ctx, 0 }, *l = &out;
	struct store_log *log = calloc(1, sizeof(*log));
	struct store *st = NULL;
	uint64_t head = 0;
	int kfd = -1, r = log ? 0 : -ENOMEM;

	/* The kernel first: whatever it deletes after this read is in the store by then. */
	if (r == 0 && with_kernel && (r = store_kernel_tail(o, &kfd, &head)) < 0)
		errorf("%s: %s (use --no-kernel for the store alone)", o->ima_dir, strerror(-r));
	if (r == 0 && (r = open_log(o, &st, log)) == 0 && log->error[0]) {
		errorf("the store is inconsistent: %s", log->error);
		r = -EBADMSG;
	}
	if (r == 0 && l->from < log->dropped) {
		errorf("records %" PRIu64 "..%" PRIu64 " were dropped from the store after every "
		       "verifier acknowledged them (%s/dropped); the log is kept from record "
		       "%" PRIu64 " on: use --from %" PRIu64,
		       l->from, log->dropped - 1, log->dir, log->first, log->first);
		r = -ENOENT;
	}
	if (r == 0 && l->from < log->start)
		errorf("warning: records %" PRIu64 "..%" PRIu64 " were lost before the store began",
		       l->from, log->start - 1);
	if (r == 0 && with_kernel && head > log->next) {
		errorf("records %" PRIu64 "..%" PRIu64 " are neither stored nor in the kernel",
		       log->next, head - 1);
		r = -EBADMSG;
	}
	if (r == 0)
		l->end = log->next;
	if (r == 0 && (r = store_for_each_chunk(log, emit_chunk, l)) == 0 && with_kernel) {
		l->from = l->from > log->next ? l->from : log->next;
		r = emit(l, kfd, "the kernel's list", head, IMALOG_HOST_ORDER);
	}
	if (kfd >= 0)
		close(kfd);
	store_free(st);
	free(log);
	return r;
}

int cmd_log(int argc, char **argv)
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "format", required_argument, NULL, 'f' },
		{ "no-kernel", no_argument, NULL, 'K' },
		STORE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { STORE_DEFAULT, KERNEL_IMA_DIR, NULL };
	struct output_sink l = { OUT_BINARY, imalog_buf_new() };
	bool with_kernel = true;
	uint64_t from = 0;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "f:", options, NULL)) != -1) {
		if (store_option(&o, opt, optarg) || (opt == 'f' && parse_output(optarg, &l.out) == 0) ||
		    (opt == 'F' && parse_u64(optarg, &from) == 0))
			continue;
		if (opt == 'K') {
			with_kernel = false;
			continue;
		}
		imalog_buf_free(l.buf);
		return usage_error("log: bad option or argument"), EXIT_UNUSABLE;
	}
	if (!l.buf)
		return EXIT_UNUSABLE;
	if (l.out == OUT_BINARY && isatty(STDOUT_FILENO)) {
		imalog_buf_free(l.buf);
		return usage_error("log: binary output to a terminal; redirect it or use --format"),
		       EXIT_UNUSABLE;
	}
	r = store_walk(&o, from, with_kernel, output_sink, &l);
	if (output_flush(l.buf, 0) < 0 || fflush(stdout) != 0)
		r = -EIO;
	imalog_buf_free(l.buf);
	return r == -EBADMSG || r == -ENOENT ? EXIT_FAILED : r < 0 ? EXIT_UNUSABLE : EXIT_VERIFIED;
}

/* ---- imalog ack ---- */

int store_ack(const struct store_opts *o, const char *name, uint64_t index, bool quiet)
{
	struct store_log *log = calloc(1, sizeof(*log));
	struct store *st = NULL;
	int r = log ? open_log(o, &st, log) : -ENOMEM;

	if (r == 0 && log->error[0]) {
		errorf("the store is inconsistent: %s", log->error);
		r = -EBADMSG;
	}
	if (r == 0 && (r = store_log_ack(log, name, index)) < 0) {
		if (r == -ERANGE)
			errorf("%s: record %" PRIu64 " is past the end of log %s (it ends before "
			       "record %" PRIu64 "): a verifier cannot have checked it",
			       o->store, index, log->id, log->next);
		else
			errorf("%s/acks/%s: %s", log->dir, name, strerror(-r));
	}
	if (r == 0 && index < log->first)
		errorf("warning: records %" PRIu64 "..%" PRIu64 " were already dropped", index,
		       log->first - 1);
	if (r == 0 && !quiet)
		printf("log %s: verifier %s acknowledged the records before %" PRIu64 "\n", log->id,
		       name, index);
	store_free(st);
	free(log);
	return r;
}

int cmd_ack(int argc, char **argv)
{
	static const struct option options[] = {
		{"name", required_argument, NULL, 'n'},
		STORE_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct store_opts o = {STORE_DEFAULT, KERNEL_IMA_DIR, NULL};
	const char *name = "default";
	uint64_t index;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'n')
			name = optarg;
		else if (!store_option(&o, opt, optarg))
			return usage_error("ack: bad option"), EXIT_UNUSABLE;
	}
	if (optind + 1 != argc || parse_u64(argv[optind], &index) < 0)
		return usage_error("ack: one absolute record index expected"), EXIT_UNUSABLE;
	if (!store_ack_name_valid(name))
		return usage_error("ack: --name: 1 to 64 of A-Z a-z 0-9 . _ -, not beginning with "
				   "'.' nor ending in .tmp"),
		       EXIT_UNUSABLE;
	return store_ack(&o, name, index, false) < 0 ? EXIT_UNUSABLE : EXIT_VERIFIED;
}
