/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Does the kernel's list account for the TPM's PCRs? A kexec that carried nothing, or lost the
 * records measured after the image was loaded, leaves PCRs no prefix of the list replays to.
 */
#ifndef IMALOG_PCRCHECK_H
#define IMALOG_PCRCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define TPM_DEFAULT_DIR "/sys/class/tpm/tpm0"

/*
 * The TPM's PCRs from @tpm_dir (pcr-<alg>/<n>), or *ret NULL when it has none. Read them before
 * the list: the kernel appends a record before it extends the PCR, so PCRs read first lag the
 * list, never lead it (a file measured after the list was read, such as a chunk of the store
 * on a measured file system, would otherwise look lost).
 */
int pcr_check_load(const char *tpm_dir, imalog_pcrs **ret);

/*
 * Replay @len bytes of records (absolute indexes from @first) from @start in the banks of
 * @banks the TPM has, and look for a prefix whose replay gives @tpm's value of every PCR the
 * records extend. 0 if one does or there is nothing to check (@tpm NULL, no common bank);
 * -EBADMSG with @err naming the PCR, the bank and the record before which records were lost.
 */
int pcr_check_reach(const imalog_pcrs *tpm, const struct pcr_state *start, uint32_t banks,
		    enum imalog_byte_order order, const uint8_t *buf, size_t len, uint64_t first,
		    char *err, size_t err_size);

#endif
