// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Records as JSON lines. The record-level names follow the TCG Canonical Event Log's JSON
 * encoding (recnum, pcr, digests[].hashAlg/digest, content_type "ima_template", content
 * {template_name, template_data}); the decoded fields are ours.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static json_object *hex_string(const uint8_t *data, size_t len)
{
	char *hex = malloc(2 * len + 1);
	json_object *o;

	if (!hex)
		return NULL;
	imalog_hex(data, len, hex);
	o = json_object_new_string_len(hex, (int)(2 * len));
	free(hex);
	return o;
}

/* "<type>:<alg>:" NUL digest, or "<alg>:" NUL digest (ima_eventdigest_init_common()). */
static void add_digest_algo(json_object *o, const struct imalog_field *f)
{
	const char *s = (const char *)f->data, *alg = s, *colon;
	size_t slen = strnlen(s, f->len);

	if (slen == f->len || slen == 0 || s[slen - 1] != ':') {
		json_object_object_add(o, "hex", hex_string(f->data, f->len));
		return;
	}
	colon = memchr(s, ':', slen - 1);
	if (colon) {
		json_object_object_add(o, "type", json_object_new_string_len(s, (int)(colon - s)));
		alg = colon + 1;
	}
	json_object_object_add(o, "algorithm",
			       json_object_new_string_len(alg, (int)(s + slen - 1 - alg)));
	json_object_object_add(o, "digest", hex_string(f->data + slen + 1, f->len - slen - 1));
}

/* Well-formed UTF-8 (RFC 3629): JSON strings cannot carry other bytes. */
static bool valid_utf8(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
			 : (c & 0xf8) == 0xf0 ? 3 : 4;
		uint32_t cp = n == 0 ? c : c & (0x3f >> n);

		if (n == 4 || n > len - i - 1)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* A string field as text, or as hex when its bytes are not UTF-8 (file names need not be). */
static void add_string(json_object *o, const struct imalog_field *f)
{
	size_t len = strnlen((const char *)f->data, f->len);

	if (valid_utf8(f->data, len))
		json_object_object_add(o, "value", json_object_new_string_len(
						(const char *)f->data, (int)len));
	else
		json_object_object_add(o, "hex", hex_string(f->data, len));
}

static json_object *field_json(const imalog_record *r, const struct imalog_field *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(f->id));
	switch (f->format) {
	case IMALOG_FIELD_DIGEST:
		json_object_object_add(o, "digest", hex_string(f->data, f->len));
		break;
	case IMALOG_FIELD_DIGEST_ALGO:
	case IMALOG_FIELD_DIGEST_TYPE_ALGO:
		add_digest_algo(o, f);
		break;
	case IMALOG_FIELD_STRING:
		add_string(o, f);
		break;
	case IMALOG_FIELD_UINT:
		json_object_object_add(o, "value",
				       json_object_new_uint64(imalog_record_field_uint(r, f)));
		break;
	default:
		json_object_object_add(o, "hex", hex_string(f->data, f->len));
		break;
	}
	return o;
}

static json_object *fields_json(const imalog_record *r)
{
	int n = imalog_record_field_count(r);
	json_object *a;

	if (n < 0)
		return NULL;
	a = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct imalog_field f;

		if (imalog_record_field(r, (unsigned int)i, &f) == 0)
			json_object_array_add(a, field_json(r, &f));
	}
	return a;
}

static json_object *record_json(const imalog_record *r)
{
	json_object *o = json_object_new_object(), *d = json_object_new_object();
	json_object *digests = json_object_new_array(), *content = json_object_new_object();
	size_t len, dlen;
	const char *name = imalog_record_template(r, &len);
	const uint8_t *digest = imalog_record_digest(r, &dlen);
	const uint8_t *data;
	enum imalog_hash alg = imalog_record_digest_alg(r);

	json_object_object_add(o, "recnum", json_object_new_uint64(imalog_record_index(r)));
	json_object_object_add(o, "pcr", json_object_new_int((int)imalog_record_pcr(r)));
	json_object_object_add(d, "hashAlg", json_object_new_string(imalog_hash_name(alg)));
	json_object_object_add(d, "digest", hex_string(digest, dlen));
	json_object_array_add(digests, d);
	json_object_object_add(o, "digests", digests);
	json_object_object_add(o, "content_type", json_object_new_string("ima_template"));
	json_object_object_add(content, "template_name",
			       json_object_new_string_len(name, (int)len));
	data = imalog_record_template_data(r, &len);
	json_object_object_add(content, "template_data", hex_string(data, len));
	json_object_object_add(o, "content", content);
	json_object_object_add(o, "fields", fields_json(r));
	json_object_object_add(o, "violation", json_object_new_boolean(imalog_record_is_violation(r)));
	json_object_object_add(o, "offset", json_object_new_uint64(imalog_record_offset(r)));
	return o;
}

int json_render_record(const imalog_record *r, imalog_buf *out)
{
	json_object *o = record_json(r);
	const char *s;
	int ret;

	if (!o)
		return -ENOMEM;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = s ? 0 : -ENOMEM;
	if (ret == 0)
		ret = imalog_buf_append(out, s, strlen(s));
	if (ret == 0)
		ret = imalog_buf_append(out, "\n", 1);
	json_object_put(o);
	return ret;
}
