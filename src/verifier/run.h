/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A whole verification for the imalog command: pieces gathered, saved state used or not. */
#ifndef IMALOG_VERIFIER_RUN_H
#define IMALOG_VERIFIER_RUN_H

#include "verifier.h"

struct vrun_plain {
	const char *path;
	uint64_t first;
	bool have_first; /* else it follows the plain file before it (record 0 for the first) */
};

struct vrun {
	/* What to verify. */
	const char *store_root, *log_id; /* a store (and a log in it), or NULL */
	const struct vrun_plain *plain;
	size_t nplain;
	enum imalog_byte_order plain_order;
	int kernel_fd;				  /* the kernel's remaining list, or -1 */
	uint64_t kernel_head;			  /* absolute index of its first record */
	const char *state_path;			  /* the state file, or NULL */
	const char *checkpoint_in, *trusted_key;  /* start from another verifier's checkpoint */
	const char *checkpoint_out, *signing_key; /* write a signed checkpoint */
	char keys_dir[4096];			  /* the store's keys of quoted chunks (4.7) */
	/* What happened. */
	char log_dir[4096], used_log_id[64];
	bool resumed; /* from the saved state or the checkpoint */
	bool from_checkpoint;
	char restart[512]; /* why it verified from boot although a state file was named */
	size_t chunks;
	double seconds;
	struct vstate saved;
	struct vpieces ps;
	struct verifier_result res;
};

/* 0 verified (up to the expected values, if any), -EBADMSG with v->res.fail set, or -errno. */
int vrun_verify(struct vrun *v, struct verifier_options *o);
/* After the caller has checked the end against the quote: save the state, if asked to. */
int vrun_save(struct vrun *v, const struct verifier_options *o);
void vrun_free(struct vrun *v);

#endif
