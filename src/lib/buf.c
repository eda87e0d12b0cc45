// SPDX-License-Identifier: LGPL-2.1-or-later
/* A growable byte buffer for rendering, and the hex helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct imalog_buf {
	char *data;
	size_t len;
	size_t cap;
};

PUBLIC imalog_buf *imalog_buf_new(void)
{
	return calloc(1, sizeof(struct imalog_buf));
}

PUBLIC void imalog_buf_free(imalog_buf *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

PUBLIC const char *imalog_buf_data(const imalog_buf *b, size_t *ret_len)
{
	*ret_len = b->len;
	return b->data;
}

PUBLIC void imalog_buf_clear(imalog_buf *b)
{
	b->len = 0;
}

int buf_reserve(imalog_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -E2BIG;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

PUBLIC int imalog_buf_append(imalog_buf *b, const void *data, size_t len)
{
	return buf_append(b, data, len);
}

int buf_append(imalog_buf *b, const void *data, size_t len)
{
	int r = buf_reserve(b, len);

	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int buf_printf(imalog_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int buf_hex(imalog_buf *b, const uint8_t *data, size_t len)
{
	int r;

	if (len > SIZE_MAX / 2 - 1)
		return -E2BIG;
	r = buf_reserve(b, 2 * len + 1);
	if (r < 0)
		return r;
	imalog_hex(data, len, b->data + b->len);
	b->len += 2 * len;
	return 0;
}

PUBLIC void imalog_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * out_len hex digits, either case. */
PUBLIC int imalog_unhex(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
	if (in_len != 2 * out_len)
		return -EBADMSG;
	for (size_t i = 0; i < out_len; i++) {
		int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
