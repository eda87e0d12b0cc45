/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's side: the IMA securityfs files, and the export/delete interface of mainline
 * (Linux 7.2, CONFIG_IMA_STAGING) and of our 6.12 series. Only this file touches securityfs.
 */
#ifndef IMALOG_KERNEL_H
#define IMALOG_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERNEL_IMA_DIR "/sys/kernel/security/ima"
#define KERNEL_LIST "binary_runtime_measurements"

struct kernel {
	char dir[4096];
	bool can_delete;	/* the export/delete interface is there */
	bool has_counter;	/* runtime_measurements_deleted (our series) */
	int fd;			/* the list, open for reading or, to delete, for writing */
	int staged_fd;		/* its _staged twin, opened with it when the kernel can delete */
	bool writer;
};

int kernel_open(const char *dir, struct kernel *k);
/*
 * Open the list; @writer holds it for writing, which mainline grants to one process at a time
 * (-EBUSY otherwise), so no one else can delete until kernel_release().
 */
int kernel_acquire(struct kernel *k, bool writer);
void kernel_release(struct kernel *k);
/* Read the whole current list into *buf (grown as needed). */
int kernel_read_list(struct kernel *k, uint8_t **buf, size_t *cap, size_t *ret_len);
/*
 * Read the staged list, then the current one after it, into *buf: the kernel's records in
 * order (staged ones are the older). *ret_staged is the staged list's length in bytes.
 */
int kernel_read_lists(struct kernel *k, uint8_t **buf, size_t *cap, size_t *ret_len,
		      size_t *ret_staged);
/* Records deleted since cold boot (runtime_measurements_deleted). */
int kernel_deleted(const struct kernel *k, uint64_t *ret);
/* Delete the oldest @n records ("N\n"); needs the writer. */
int kernel_delete(struct kernel *k, uint64_t n);
/*
 * Stage the whole current list ("A\n" on the _staged file), or delete the staged records
 * ("D\n"); need the writer. The kernel's errors pass through: -ENOENT (nothing to stage or
 * delete), -EEXIST (already staged), -EACCES or -ESTALE (suspended for kexec).
 */
int kernel_stage(struct kernel *k);
int kernel_delete_staged(struct kernel *k);
/* Whether the running kernel was booted with ima_flush_htable (/proc/cmdline). */
bool kernel_flush_htable(void);
/* This boot's id, from /proc/sys/kernel/random/boot_id (or $IMALOG_BOOT_ID for tests). */
int kernel_boot_id(char *out, size_t size);

#endif
