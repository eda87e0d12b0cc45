// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket: a Unix stream socket, one command per line. Every reply is either
 * "ok <length>\n" followed by <length> bytes of payload, or "err <ERRNO> <message>\n".
 * Commands are listed in README.md and by "help". They run under st->lock, so each is atomic
 * with respect to the file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "standin.h"

#define LINE_MAX_LEN 4096
#define MAX_ARGS 16
#define APPEND_MAX 10000000u

struct si_control {
	struct si_state *st;
	int fd;
	int stop[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
	bool running;
};

struct reply {
	imalog_buf *out;
	char msg[256];
};

static int fail(struct reply *rp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct reply *rp, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp->msg, sizeof(rp->msg), fmt, ap);
	va_end(ap);
	return err;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int printf_out(struct reply *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int printf_out(struct reply *rp, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return imalog_buf_append(rp->out, text, (size_t)len);
}

/* append N [pcr11=PCT] [violations=PCT] [template=ima-ng|ima-sig] */
static int parse_gen(int argc, char **argv, struct si_gen *g, struct reply *rp)
{
	for (int i = 2; i < argc; i++) {
		uint64_t v = 0;
		char *val = strchr(argv[i], '=');

		if (!val)
			return fail(rp, -EINVAL, "expected key=value: %s", argv[i]);
		*val++ = '\0';
		if (!strcmp(argv[i], "template") &&
		    (!strcmp(val, "ima-ng") || !strcmp(val, "ima-sig")))
			g->sig = !strcmp(val, "ima-sig");
		else if (!strcmp(argv[i], "pcr11") && !parse_u64(val, 100, &v))
			g->pcr11_pct = (unsigned int)v;
		else if (!strcmp(argv[i], "violations") && !parse_u64(val, 100, &v))
			g->violation_pct = (unsigned int)v;
		else
			return fail(rp, -EINVAL, "bad option %s", argv[i]);
	}
	return 0;
}

static int cmd_append(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	struct si_gen g = {0};
	uint64_t n, first = st->ntruth, done = 0;
	struct si_record *r;
	int err;

	if (parse_u64(argv[1], APPEND_MAX, &n) < 0)
		return fail(rp, -EINVAL, "bad count %s", argv[1]);
	if ((err = parse_gen(argc, argv, &g, rp)) < 0)
		return err;
	for (; done < n; done++)
		if ((err = si_gen_measurement(st, &g, &r)) < 0 || (err = si_append(st, r)) < 0)
			break;
	si_persist_meta(st);
	if (err == -ENODEV)
		return fail(rp, err, "measurement is suspended");
	if (err < 0)
		return err;
	return printf_out(rp, "first=%" PRIu64 " count=%" PRIu64 "\n", first, n);
}

static int rule_option(const struct si_state *st, const char *key, const char *val,
		       struct si_rule *rule)
{
	const struct si_file *f;

	if (!strcmp(key, "skip"))
		return parse_u64(val, UINT64_MAX - 1, &rule->skip);
	if (!strcmp(key, "count") && !strcmp(val, "all")) {
		rule->count = UINT64_MAX;
		return 0;
	}
	if (!strcmp(key, "count")) {
		if (parse_u64(val, UINT64_MAX - 1, &rule->count) < 0 || !rule->count)
			return -EINVAL;
		return 0;
	}
	if (strcmp(key, "file") || !(f = si_fs_lookup(st, val)))
		return -EINVAL;
	snprintf(rule->file, sizeof(rule->file), "%s", f->name);
	return 0;
}

/* [skip=S] [count=K|all] [file=NAME] */
static int parse_rule(const struct si_state *st, int argc, char **argv, int from,
		      struct si_rule *rule, struct reply *rp)
{
	rule->count = 1;
	for (int i = from; i < argc; i++) {
		char *val = strchr(argv[i], '=');

		if (!val)
			return fail(rp, -EINVAL, "expected key=value: %s", argv[i]);
		*val++ = '\0';
		if (rule_option(st, argv[i], val, rule) < 0)
			return fail(rp, -EINVAL, "bad option %s", argv[i]);
	}
	return 0;
}

/* fail OP ERRNO [options] */
static int cmd_fail(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	struct si_rule rule = {0};
	int err;

	if (si_op_from_name(argv[1], &rule.op) < 0)
		return fail(rp, -EINVAL, "unknown operation %s", argv[1]);
	if (si_errno_from_name(argv[2], &rule.error) < 0)
		return fail(rp, -EINVAL, "unknown errno %s", argv[2]);
	if ((err = parse_rule(st, argc, argv, 3, &rule, rp)) < 0)
		return err;
	return si_inject_add(st, &rule);
}

/* short BYTES [options]: reads return at most BYTES bytes */
static int cmd_short(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	struct si_rule rule = {.op = SI_OP_READ};
	uint64_t len;
	int err;

	if (parse_u64(argv[1], INT_MAX, &len) < 0 || !len)
		return fail(rp, -EINVAL, "bad length %s", argv[1]);
	rule.short_len = (size_t)len;
	if ((err = parse_rule(st, argc, argv, 2, &rule, rp)) < 0)
		return err;
	return si_inject_add(st, &rule);
}

/* delay OP MS [options] */
static int cmd_delay(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	struct si_rule rule = {0};
	uint64_t ms;
	int err;

	if (si_op_from_name(argv[1], &rule.op) < 0)
		return fail(rp, -EINVAL, "unknown operation %s", argv[1]);
	if (parse_u64(argv[2], 600000, &ms) < 0)
		return fail(rp, -EINVAL, "bad delay %s", argv[2]);
	rule.delay_ms = (unsigned int)ms;
	if ((err = parse_rule(st, argc, argv, 3, &rule, rp)) < 0)
		return err;
	return si_inject_add(st, &rule);
}

static int cmd_clear(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	si_inject_clear(st);
	return 0;
}

static int cmd_suspend(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	st->suspended = !strcmp(argv[0], "suspend");
	return si_persist_meta(st);
}

static int cmd_kexec(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	int err = si_kexec(st);

	si_persist_meta(st);
	return err;
}

/* Every record ever appended, in order, as binary_runtime_measurements shows them. */
static int cmd_truth(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	int err = 0;

	for (uint64_t i = 0; !err && i < st->ntruth; i++)
		err = imalog_buf_append(rp->out, st->truth[i]->data, st->truth[i]->raw_len);
	return err;
}

/* The simulated TPM: "PCR ALG HEX" for every PCR a record extended, in every bank. */
static int cmd_pcrs(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	char hex[2 * IMALOG_MAX_DIGEST + 1];
	int err = 0;

	for (unsigned int p = 0; p < IMALOG_MAX_PCRS; p++) {
		for (unsigned int b = 0; !err && b < st->nbanks && (st->pcr_used >> p & 1); b++) {
			imalog_hex(st->pcr[p][b], st->bank[b].size, hex);
			err = printf_out(rp, "%u %s %s\n", p, st->bank[b].name, hex);
		}
	}
	return err;
}

static int cmd_status(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	unsigned int rules = 0;

	for (const struct si_rule *r = st->rules; r; r = r->next)
		rules++;
	return printf_out(rp,
			  "records=%" PRIu64 "\ncurrent=%zu\nstaged=%zu\ndeleted=%" PRIu64
			  "\nviolations=%" PRIu64 "\nsuspended=%d\nreaders=%ld\nwriter=%d\n"
			  "opens=%" PRIu64 "\nreads=%" PRIu64 "\nwrites=%" PRIu64
			  "\nfaults=%u\nboot_aggregate=%s\nhtable=%" PRIu64 "\n",
			  st->ntruth, st->current.len, st->staged.len, st->deleted, st->violations,
			  st->suspended, st->users > 0 ? st->users : 0L, (int)st->writer,
			  st->ops[SI_OP_OPEN], st->ops[SI_OP_READ], st->ops[SI_OP_WRITE], rules,
			  st->boot_aggregate, st->htable);
}

static int cmd_save(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	return si_persist_meta(st);
}

static int cmd_help(struct si_state *st, int argc, char **argv, struct reply *rp);

static const struct command {
	const char *name;
	int (*fn)(struct si_state *st, int argc, char **argv, struct reply *rp);
	int min_args, max_args;
	const char *usage;
} commands[] = {
	{"append", cmd_append, 1, 4, "N [pcr11=PCT] [violations=PCT] [template=ima-ng|ima-sig]"},
	{"fail", cmd_fail, 2, 5, "open|read|write ERRNO [skip=S] [count=K|all] [file=NAME]"},
	{"short", cmd_short, 1, 4, "BYTES [skip=S] [count=K|all] [file=NAME]"},
	{"delay", cmd_delay, 2, 5, "open|read|write MS [skip=S] [count=K|all] [file=NAME]"},
	{"clear", cmd_clear, 0, 0, ""},
	{"suspend", cmd_suspend, 0, 0, ""},
	{"resume", cmd_suspend, 0, 0, ""},
	{"kexec", cmd_kexec, 0, 0, ""},
	{"truth", cmd_truth, 0, 0, ""},
	{"pcrs", cmd_pcrs, 0, 0, ""},
	{"status", cmd_status, 0, 0, ""},
	{"save", cmd_save, 0, 0, ""},
	{"help", cmd_help, 0, 0, ""},
};

static int cmd_help(struct si_state *st, int argc, char **argv, struct reply *rp)
{
	int err = 0;

	for (size_t i = 0; !err && i < ARRAY_SIZE(commands); i++)
		err = printf_out(rp, "%s %s\n", commands[i].name, commands[i].usage);
	return err;
}

static int run(struct si_state *st, char *line, struct reply *rp)
{
	char *argv[MAX_ARGS + 1], *save = NULL;
	int argc = 0, err;

	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (argc == MAX_ARGS)
			return fail(rp, -E2BIG, "too many arguments");
		argv[argc++] = t;
	}
	if (!argc)
		return fail(rp, -EINVAL, "empty command");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->name))
			continue;
		if (argc - 1 < c->min_args || argc - 1 > c->max_args)
			return fail(rp, -EINVAL, "usage: %s", c->usage);
		pthread_mutex_lock(&st->lock);
		err = c->fn(st, argc, argv, rp);
		pthread_mutex_unlock(&st->lock);
		return err;
	}
	return fail(rp, -EINVAL, "unknown command %s", argv[0]);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int answer(int fd, int err, struct reply *rp)
{
	char head[320];
	const char *data;
	size_t len;
	int n;

	if (err < 0) {
		n = snprintf(head, sizeof(head), "err %s %s\n", si_errno_name(-err),
			     rp->msg[0] ? rp->msg : strerror(-err));
		return write_all(fd, head, (size_t)n);
	}
	data = imalog_buf_data(rp->out, &len);
	n = snprintf(head, sizeof(head), "ok %zu\n", len);
	if ((err = write_all(fd, head, (size_t)n)) < 0)
		return err;
	return write_all(fd, data, len);
}

/* One command from a line of @buf; returns the bytes it used, 0 without a whole line. */
static size_t serve_line(struct si_control *c, int fd, char *buf, size_t len, int *ret)
{
	char *nl = memchr(buf, '\n', len);
	struct reply rp = {0};
	int err;

	if (!nl)
		return 0;
	*nl = '\0';
	rp.out = imalog_buf_new();
	err = rp.out ? run(c->st, buf, &rp) : -ENOMEM;
	*ret = answer(fd, err, &rp);
	imalog_buf_free(rp.out);
	return (size_t)(nl - buf) + 1;
}

/* Commands from one client until it closes, or until the server stops. */
static void serve_client(struct si_control *c, int fd)
{
	char buf[LINE_MAX_LEN];
	size_t have = 0, used;
	int err = 0;

	while (!err) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {c->stop[0], POLLIN, 0}};
		ssize_t n;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			return;
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n <= 0)
			return;
		have += (size_t)n;
		while (!err && (used = serve_line(c, fd, buf, have, &err)) > 0) {
			memmove(buf, buf + used, have - used);
			have -= used;
		}
		if (have == sizeof(buf))
			return;	/* a line longer than any command */
	}
}

static void *control_thread(void *arg)
{
	struct si_control *c = arg;

	for (;;) {
		struct pollfd p[2] = {{c->fd, POLLIN, 0}, {c->stop[0], POLLIN, 0}};
		int fd;

		if ((poll(p, 2, -1) < 0 && errno != EINTR) || p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_client(c, fd);
		close(fd);
	}
}

static int listen_at(struct si_control *c, const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char dir[PATH_MAX];
	struct stat sb;

	if (path[0] == '/')
		snprintf(c->path, sizeof(c->path), "%s", path);
	else if (!getcwd(dir, sizeof(dir)) ||
		 (size_t)snprintf(c->path, sizeof(c->path), "%s/%s", dir, path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	if (strlen(c->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, c->path, strlen(c->path) + 1);
	if (lstat(c->path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(c->path);	/* left by a stand-in that was killed */
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(c->fd, 16) < 0)
		return -errno;
	return 0;
}

/* Bind and listen now (before the process detaches); accept from si_control_start() on. */
int si_control_open(struct si_state *st, const char *path, struct si_control **ret)
{
	struct si_control *c;
	int err;

	*ret = NULL;
	if (!path)
		return 0;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->st = st;
	c->fd = c->stop[0] = c->stop[1] = -1;
	if (pipe2(c->stop, O_CLOEXEC) < 0)
		err = -errno;
	else
		err = listen_at(c, path);
	if (err < 0) {
		si_control_stop(c);
		return err;
	}
	*ret = c;
	return 0;
}

int si_control_start(struct si_control *c)
{
	if (!c)
		return 0;
	if (pthread_create(&c->thread, NULL, control_thread, c))
		return -EAGAIN;
	c->running = true;
	return 0;
}

void si_control_stop(struct si_control *c)
{
	if (!c)
		return;
	if (c->running) {
		if (write(c->stop[1], "x", 1) != 1)
			pthread_cancel(c->thread);
		pthread_join(c->thread, NULL);
	}
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	for (int i = 0; i < 2; i++)
		if (c->stop[i] >= 0)
			close(c->stop[i]);
	free(c);
}
