// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hashlimit: how fast this machine's libcrypto can do exactly the hashing that verifying a
 * log against sha1 and sha256 PCRs needs, with nothing else in the timed part (no parsing,
 * no I/O, no allocation): per record, the template-data hash in each bank and each bank's
 * PCR extend. Measured on one thread and on all cores.
 *
 * usage: hashlimit [--threads N] [--repeat R] LOG
 *   LOG: a binary log with sha1 header digests in host byte order, without the legacy
 *   "ima" template (whose hash input is not its template data).
 * Prints "key: value" lines, including the PCR values it computed so that a caller can check
 * that it hashed the right bytes.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init() and friends: no EVP dispatch per call */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define NUM_PCRS 24
#define MAX_THREADS 64

struct rec {
	const uint8_t *data;
	uint32_t len;
	uint32_t pcr;
};

struct log {
	struct rec *recs;
	size_t n;
	uint64_t data_bytes;
};

/* Digests per record and bank, filled by the parallel phase. */
struct digests {
	uint8_t (*sha1)[SHA_DIGEST_LENGTH];
	uint8_t (*sha256)[SHA256_DIGEST_LENGTH];
};

struct pcrs {
	uint8_t sha1[NUM_PCRS][SHA_DIGEST_LENGTH];
	uint8_t sha256[NUM_PCRS][SHA256_DIGEST_LENGTH];
};

enum method { M_LOWLEVEL, M_EVP };
static const char *const method_names[] = {"sha_lowlevel_block_extend", "evp_prefetched"};

struct hasher {
	enum method m;
	EVP_MD_CTX *ctx;
	EVP_MD *sha1, *sha256;
};

static void die(const char *msg)
{
	fprintf(stderr, "hashlimit: %s\n", msg);
	exit(2);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void hasher_init(struct hasher *h, enum method m)
{
	h->m = m;
	h->ctx = EVP_MD_CTX_new();
	h->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!h->ctx || !h->sha1 || !h->sha256)
		die("cannot set up OpenSSL digests");
}

static void hasher_free(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->sha1);
	EVP_MD_free(h->sha256);
}

static void evp(struct hasher *h, EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
		uint8_t *out)
{
	if (!EVP_DigestInit_ex2(h->ctx, md, NULL) || !EVP_DigestUpdate(h->ctx, a, an) ||
	    (bn && !EVP_DigestUpdate(h->ctx, b, bn)) || !EVP_DigestFinal_ex(h->ctx, out, NULL))
		die("digest failed");
}

static void store_be32(uint8_t *out, const unsigned int *words, int n)
{
	for (int i = 0; i < n; i++) {
		out[4 * i] = (uint8_t)(words[i] >> 24);
		out[4 * i + 1] = (uint8_t)(words[i] >> 16);
		out[4 * i + 2] = (uint8_t)(words[i] >> 8);
		out[4 * i + 3] = (uint8_t)words[i];
	}
}

/*
 * An extend is H(PCR || digest) of a fixed size, so its padding is known: the block function
 * alone does it, one block for sha1 and two for sha256, as libimalog does.
 */
static void extend_sha1_block(const uint8_t *pcr, const uint8_t *digest, uint8_t *out)
{
	uint8_t block[64] = {[40] = 0x80, [62] = 0x01, [63] = 0x40}; /* 320 bits */
	SHA_CTX c;

	memcpy(block, pcr, 20);
	memcpy(block + 20, digest, 20);
	SHA1_Init(&c);
	SHA1_Transform(&c, block);
	store_be32(out, (const unsigned int[]){c.h0, c.h1, c.h2, c.h3, c.h4}, 5);
}

static void extend_sha256_block(const uint8_t *pcr, const uint8_t *digest, uint8_t *out)
{
	static const uint8_t pad[64] = {[0] = 0x80, [62] = 0x02}; /* 512 bits */
	uint8_t block[64];
	SHA256_CTX c;

	memcpy(block, pcr, 32);
	memcpy(block + 32, digest, 32);
	SHA256_Init(&c);
	SHA256_Transform(&c, block);
	SHA256_Transform(&c, pad);
	store_be32(out, c.h, 8);
}

/*
 * H(a || b), for the template hash (bn == 0) and the extend (a = PCR, b = digest, both of the
 * digest's size).
 */
static void h_sha1(struct hasher *h, const void *a, size_t an, const void *b, size_t bn,
		   uint8_t *out)
{
	SHA_CTX c;

	if (h->m == M_EVP) {
		evp(h, h->sha1, a, an, b, bn, out);
		return;
	}
	if (bn) {
		extend_sha1_block(a, b, out);
		return;
	}
	SHA1_Init(&c);
	SHA1_Update(&c, a, an);
	SHA1_Update(&c, b, bn);
	SHA1_Final(out, &c);
}

static void h_sha256(struct hasher *h, const void *a, size_t an, const void *b, size_t bn,
		     uint8_t *out)
{
	SHA256_CTX c;

	if (h->m == M_EVP) {
		evp(h, h->sha256, a, an, b, bn, out);
		return;
	}
	if (bn) {
		extend_sha256_block(a, b, out);
		return;
	}
	SHA256_Init(&c);
	SHA256_Update(&c, a, an);
	SHA256_Update(&c, b, bn);
	SHA256_Final(out, &c);
}

/* One thread, record by record, as a simple verifier would go. */
static double run_single(const struct log *l, enum method m, struct pcrs *p)
{
	struct hasher h;
	uint8_t d1[SHA_DIGEST_LENGTH], d256[SHA256_DIGEST_LENGTH];
	double t;

	hasher_init(&h, m);
	memset(p, 0, sizeof(*p));
	t = now();
	for (size_t i = 0; i < l->n; i++) {
		const struct rec *r = &l->recs[i];

		h_sha1(&h, r->data, r->len, NULL, 0, d1);
		h_sha1(&h, p->sha1[r->pcr], sizeof(d1), d1, sizeof(d1), p->sha1[r->pcr]);
		h_sha256(&h, r->data, r->len, NULL, 0, d256);
		h_sha256(&h, p->sha256[r->pcr], sizeof(d256), d256, sizeof(d256),
			 p->sha256[r->pcr]);
	}
	t = now() - t;
	hasher_free(&h);
	return t;
}

struct job {
	const struct log *l;
	struct digests *d;
	struct pcrs *p;
	enum method m;
	size_t from, to;
	int bank; /* extend phase: 0 sha1, 1 sha256 */
};

static void *template_hashes(void *arg)
{
	struct job *j = arg;
	struct hasher h;

	hasher_init(&h, j->m);
	for (size_t i = j->from; i < j->to; i++) {
		const struct rec *r = &j->l->recs[i];

		h_sha1(&h, r->data, r->len, NULL, 0, j->d->sha1[i]);
		h_sha256(&h, r->data, r->len, NULL, 0, j->d->sha256[i]);
	}
	hasher_free(&h);
	return NULL;
}

/* The extends of one bank: a chain per PCR, so one thread per bank. */
static void *extends(void *arg)
{
	struct job *j = arg;
	struct hasher h;

	hasher_init(&h, j->m);
	for (size_t i = 0; i < j->l->n; i++) {
		uint32_t pcr = j->l->recs[i].pcr;

		if (j->bank == 0)
			h_sha1(&h, j->p->sha1[pcr], SHA_DIGEST_LENGTH, j->d->sha1[i],
			       SHA_DIGEST_LENGTH, j->p->sha1[pcr]);
		else
			h_sha256(&h, j->p->sha256[pcr], SHA256_DIGEST_LENGTH, j->d->sha256[i],
				 SHA256_DIGEST_LENGTH, j->p->sha256[pcr]);
	}
	hasher_free(&h);
	return NULL;
}

static void run_threads(struct job *jobs, int n, void *(*fn)(void *))
{
	pthread_t t[MAX_THREADS];

	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, &jobs[i]))
			die("pthread_create failed");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/*
 * All cores: the template hashes split across threads, then the two banks' extend chains
 * in parallel. Thread start-up is inside the timed part, as it would be in a verifier.
 */
static double run_parallel(const struct log *l, enum method m, int threads, struct digests *d,
			   struct pcrs *p)
{
	struct job jobs[MAX_THREADS];
	double t;

	memset(p, 0, sizeof(*p));
	t = now();
	for (int i = 0; i < threads; i++)
		jobs[i] = (struct job){.l = l,
				       .d = d,
				       .p = p,
				       .m = m,
				       .from = l->n * (size_t)i / (size_t)threads,
				       .to = l->n * (size_t)(i + 1) / (size_t)threads};
	run_threads(jobs, threads, template_hashes);
	for (int i = 0; i < 2; i++)
		jobs[i] = (struct job){.l = l, .d = d, .p = p, .m = m, .bank = i};
	run_threads(jobs, 2, extends);
	return now() - t;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Record boundaries of a sha1-header log (ima_measurements_show in ima_fs.c). */
static void parse(const uint8_t *p, size_t size, struct log *l)
{
	size_t off = 0, cap = 1024;

	l->recs = malloc(cap * sizeof(*l->recs));
	while (l->recs && off < size) {
		struct rec r;
		uint32_t namelen;

		if (size - off < 4 + 20 + 4)
			die("truncated record");
		r.pcr = get_u32(p + off);
		namelen = get_u32(p + off + 24);
		off += 28;
		if (r.pcr >= NUM_PCRS || namelen > size - off || size - off - namelen < 4)
			die("bad record");
		if (namelen == 3 && !memcmp(p + off, "ima", 3))
			die("the legacy ima template is not supported");
		off += namelen;
		r.len = get_u32(p + off);
		off += 4;
		if (r.len > size - off)
			die("truncated template data");
		r.data = p + off;
		off += r.len;
		if (l->n == cap)
			l->recs = realloc(l->recs, (cap *= 2) * sizeof(*l->recs));
		if (l->recs)
			l->recs[l->n++] = r;
		l->data_bytes += r.len;
	}
	if (!l->recs)
		die("out of memory");
}

static void print_pcr(const char *name, const uint8_t *v, size_t n)
{
	printf("%s: ", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", v[i]);
	printf("\n");
}

static void report(const struct log *l, const char *what, double s)
{
	printf("%s_seconds: %.4f\n", what, s);
	printf("%s_records_per_second: %.0f\n", what, (double)l->n / s);
}

static void load(const char *path, struct log *l)
{
	struct stat st;
	void *map;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		die(strerror(errno));
	if (!st.st_size)
		die("empty log");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		die(strerror(errno));
	close(fd);
	parse(map, (size_t)st.st_size, l);
}

struct result {
	double single[2]; /* best single-thread seconds per method */
	enum method m;	  /* the faster one, used on all cores */
	double parallel;
	struct pcrs pcrs;
};

static void measure(const struct log *l, int threads, int repeat, struct result *res)
{
	struct digests d = {malloc(l->n * sizeof(*d.sha1)), malloc(l->n * sizeof(*d.sha256))};
	struct pcrs q;

	if (!d.sha1 || !d.sha256)
		die("out of memory");
	/* touch the log and the digest arrays once, so page faults stay out of the timing */
	run_parallel(l, M_LOWLEVEL, threads, &d, &q);
	res->single[0] = res->single[1] = res->parallel = 1e30;
	for (int r = 0; r < repeat; r++) {
		for (int k = 0; k < 2; k++) {
			double s = run_single(l, (enum method)k, &res->pcrs);

			res->single[k] = s < res->single[k] ? s : res->single[k];
		}
	}
	res->m = res->single[M_EVP] < res->single[M_LOWLEVEL] ? M_EVP : M_LOWLEVEL;
	for (int r = 0; r < repeat; r++) {
		double s = run_parallel(l, res->m, threads, &d, &q);

		res->parallel = s < res->parallel ? s : res->parallel;
	}
	if (memcmp(&res->pcrs, &q, sizeof(q)))
		die("single-thread and parallel replays disagree");
	free(d.sha1);
	free(d.sha256);
}

static void print_results(const struct log *l, int threads, const struct result *res)
{
	static const uint8_t zero[SHA_DIGEST_LENGTH];

	printf("records: %zu\n", l->n);
	printf("template_data_bytes: %llu\n", (unsigned long long)l->data_bytes);
	printf("hashes_per_record: 4 (sha1 and sha256: template data and extend)\n");
	printf("libcrypto: %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("method: %s (evp_prefetched %.4f s, sha_lowlevel_block_extend %.4f s)\n", method_names[res->m],
	       res->single[M_EVP], res->single[M_LOWLEVEL]);
	report(l, "single_thread", res->single[res->m]);
	printf("threads: %d\n", threads);
	report(l, "all_cores", res->parallel);
	for (int pcr = 0; pcr < NUM_PCRS; pcr++) {
		char name[32];

		if (!memcmp(res->pcrs.sha1[pcr], zero, sizeof(zero)))
			continue;
		snprintf(name, sizeof(name), "pcr%d_sha1", pcr);
		print_pcr(name, res->pcrs.sha1[pcr], SHA_DIGEST_LENGTH);
		snprintf(name, sizeof(name), "pcr%d_sha256", pcr);
		print_pcr(name, res->pcrs.sha256[pcr], SHA256_DIGEST_LENGTH);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"threads", required_argument, NULL, 't'},
					     {"repeat", required_argument, NULL, 'r'},
					     {0}};
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), repeat = 3, c;
	struct log l = {0};
	struct result res;

	while ((c = getopt_long(argc, argv, "t:r:", opts, NULL)) != -1) {
		if (c == 't')
			threads = atoi(optarg);
		else if (c == 'r')
			repeat = atoi(optarg);
		else
			die("usage: hashlimit [--threads N] [--repeat R] LOG");
	}
	if (optind + 1 != argc || threads < 1 || threads > MAX_THREADS || repeat < 1)
		die("usage: hashlimit [--threads N] [--repeat R] LOG");
	load(argv[optind], &l);
	measure(&l, threads, repeat, &res);
	print_results(&l, threads, &res);
	free(l.recs);
	return 0;
}
