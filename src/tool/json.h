/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef IMALOG_TOOL_JSON_H
#define IMALOG_TOOL_JSON_H

#include "imalog.h"

/* One JSON line per record, named after TCG CEL-JSON where CEL has a name for it. */
int json_render_record(const imalog_record *r, imalog_buf *out);

#endif
