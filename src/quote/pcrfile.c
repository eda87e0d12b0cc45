// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PCR values file of tpm2_quote -o in its default "serialized" format (tpm2-tools 5.x,
 * lib/pcr.c, pcr_fwrite_serialized()). It is not marshalled: tpm2-tools writes the memory of its
 * structures, with the counts, the hash ids and the digest sizes made little-endian:
 *
 *   TPML_PCR_SELECTION    u32 count, then 16 entries of 8 bytes each:
 *                         u16 hash, u8 sizeofSelect, u8 pcrSelect[4], 1 byte of padding
 *   u32 n
 *   n times TPML_DIGEST   u32 count, then 8 entries of 66 bytes each: u16 size, u8 buffer[64]
 *
 * The digests run through the lists in selection order (TPM2_PCR_Read() returns at most 8 per
 * call, so tpm2-tools reads until the selection is done). Entries past a count, and padding,
 * are whatever the writer's memory held: they are skipped, never read as data.
 */
#include <stddef.h>

#include "internal.h"

#define SEL_ENTRY 8
#define SEL_SIZE (4 + TPM2_NUM_PCR_BANKS * SEL_ENTRY)
#define DIGEST_ENTRY (2 + sizeof(TPMU_HA))
#define DIGESTS_PER_LIST 8
#define LIST_SIZE (4 + DIGESTS_PER_LIST * DIGEST_ENTRY)

/* The layout above is the one these headers give on every Linux ABI; say so at build time. */
_Static_assert(sizeof(TPMS_PCR_SELECTION) == SEL_ENTRY, "TPMS_PCR_SELECTION layout");
_Static_assert(sizeof(TPML_PCR_SELECTION) == SEL_SIZE, "TPML_PCR_SELECTION layout");
_Static_assert(sizeof(TPML_DIGEST) == LIST_SIZE, "TPML_DIGEST layout");
_Static_assert(TPM2_PCR_SELECT_MAX == 4, "pcrSelect[] size");

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int parse_selection(const uint8_t *buf, TPML_PCR_SELECTION *sel, size_t *ret_offset)
{
	*sel = (TPML_PCR_SELECTION){ .count = le32(buf) };
	if (sel->count == 0 || sel->count > TPM2_NUM_PCR_BANKS) {
		*ret_offset = 0;
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < sel->count; i++) {
		const uint8_t *e = buf + 4 + i * SEL_ENTRY;
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		s->hash = le16(e);
		s->sizeofSelect = e[2];
		if (s->sizeofSelect > TPM2_PCR_SELECT_MAX) {
			*ret_offset = 4 + i * SEL_ENTRY + 2;
			return -EBADMSG;
		}
		memcpy(s->pcrSelect, e + 3, s->sizeofSelect);
	}
	return 0;
}

static int parse_list(const uint8_t *list, size_t at, struct pcr_file *f, size_t *ret_offset)
{
	uint32_t count = le32(list);

	if (count > DIGESTS_PER_LIST || count > MAX_SELECTED - f->count) {
		*ret_offset = at;
		return -EBADMSG;
	}
	for (uint32_t k = 0; k < count; k++) {
		const uint8_t *d = list + 4 + k * DIGEST_ENTRY;
		struct pcr_value *v = &f->values[f->count++];
		uint16_t size = le16(d);

		if (size == 0 || size > sizeof(v->value)) {
			*ret_offset = at + 4 + k * DIGEST_ENTRY;
			return -EBADMSG;
		}
		v->size = (uint8_t)size;
		memcpy(v->value, d + 2, size);
	}
	return 0;
}

int pcrfile_parse(const uint8_t *buf, size_t len, struct pcr_file *f, size_t *ret_offset)
{
	size_t where = 0, lists, rest;
	int r;

	if (len > QUOTE_MAX_FILE)
		return -E2BIG;
	if (len < SEL_SIZE + 4) {
		where = len;
		r = -EBADMSG;
		goto done;
	}
	f->count = 0;
	r = parse_selection(buf, &f->selection, &where);
	if (r < 0)
		goto done;
	lists = le32(buf + SEL_SIZE);
	rest = len - SEL_SIZE - 4;
	/* Exactly n lists, nothing after them. */
	if (lists == 0 || lists > rest / LIST_SIZE || rest != lists * LIST_SIZE) {
		where = SEL_SIZE;
		r = -EBADMSG;
		goto done;
	}
	for (size_t i = 0; i < lists && r == 0; i++) {
		size_t at = SEL_SIZE + 4 + i * LIST_SIZE;

		r = parse_list(buf + at, at, f, &where);
	}
done:
	if (r < 0 && ret_offset)
		*ret_offset = where;
	return r;
}
