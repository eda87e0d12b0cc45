#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Forge the snapshot_aggregate record at INDEX of a binary log (little-endian, SHA-1 header
digests) as a kernel that lies would write it: its text changed, its d-ng and header digest
recomputed, so that the record itself is well formed and only a check of its claim against a
replay of the records before its cut can catch it (docs/format.md 3.7).

    forge-aggregate.py LOG INDEX value|count OUT

value: the first PCR value it lists changes; count: its deleted count grows by one.
"""
import hashlib
import struct
import sys


def split(buf):
    """(offset, length, template name, template data) of each record; not for "ima"."""
    out, pos = [], 0
    while pos < len(buf):
        nlen, = struct.unpack_from('<I', buf, pos + 24)
        name = buf[pos + 28:pos + 28 + nlen]
        dlen, = struct.unpack_from('<I', buf, pos + 28 + nlen)
        data = buf[pos + 32 + nlen:pos + 32 + nlen + dlen]
        if name == b'ima' or len(data) != dlen:
            sys.exit(f'record {len(out)}: not a record this script can rewrite')
        out.append((pos, 32 + nlen + dlen, name, data))
        pos += 32 + nlen + dlen
    return out


def fields(data):
    out, pos = [], 0
    while pos < len(data):
        n, = struct.unpack_from('<I', data, pos)
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def forge(text, how):
    items = text.split(';')
    for i, item in enumerate(items):
        key, _, value = item.partition('=')
        if how == 'count' and key == 'deleted':
            items[i] = f'deleted={int(value) + 1}'
            return ';'.join(items)
        if how == 'value' and key.startswith('pcr'):
            items[i] = f'{key}={"1" if value[0] == "0" else "0"}{value[1:]}'
            return ';'.join(items)
    sys.exit(f'nothing to forge ({how}) in {text}')


def main():
    if len(sys.argv) != 5 or sys.argv[3] not in ('value', 'count'):
        sys.exit(__doc__)
    with open(sys.argv[1], 'rb') as f:
        buf = f.read()
    index = int(sys.argv[2])
    recs = split(buf)
    off, length, name, data = recs[index]
    dng, nng, text = fields(data)
    if name != b'ima-buf' or nng != b'snapshot_aggregate\0':
        sys.exit(f'record {index} is not a snapshot_aggregate')
    alg = dng[:dng.index(b'\0')].rstrip(b':').decode()
    new = forge(text.decode(), sys.argv[3]).encode()
    new_dng = dng[:dng.index(b'\0') + 1] + hashlib.new(alg, new).digest()
    new_data = b''.join(struct.pack('<I', len(f)) + f for f in (new_dng, nng, new))
    record = (buf[off:off + 4] + hashlib.sha1(new_data).digest() +
              struct.pack('<I', len(name)) + name + struct.pack('<I', len(new_data)) + new_data)
    with open(sys.argv[4], 'wb') as f:
        f.write(buf[:off] + record + buf[off + length:])


main()
