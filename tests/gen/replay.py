#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Minimal independent replay of an IMA binary log: the oracle that checks imalog-gen.

It shares no code with imalog-gen or libimalog. It is first checked against the real logs in
the shared test data (their PCR values were published with them), then used on generated logs
that evmctl cannot read (big-endian, per-bank header digests).

usage: replay.py [--log-bank ALG] [--byte-order le|be] [--banks LIST] [--allow-partial]
                 [--check-fields] LOG
prints "PCR ALG HEX" lines, sorted, for every PCR the log extends.
"""
import argparse
import hashlib
import struct
import sys

SIZES = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}
NAME_LEN_MAX = 255  # IMA_EVENT_NAME_LEN_MAX


class Truncated(ValueError):
    pass


def records(data, bank_size, order):
    """Yield (pcr, header_digest, template_name, hashed_bytes) for each record."""
    u32 = struct.Struct(order + "I")
    off = 0
    while off < len(data):
        if len(data) - off < 4 + bank_size + 4:
            raise Truncated(f"truncated record at offset {off}")
        pcr = u32.unpack_from(data, off)[0]
        digest = data[off + 4:off + 4 + bank_size]
        off += 4 + bank_size
        namelen = u32.unpack_from(data, off)[0]
        off += 4
        name = data[off:off + namelen].decode()
        off += namelen
        if len(name) != namelen or len(data) - off < 4:
            raise Truncated(f"truncated record at offset {off}")
        if name == "ima":
            # 20-byte digest, then u32 length and the name without NUL; hashed with the
            # name zero-padded to 256 bytes (ima_calc_field_array_hash_tfm).
            d = data[off:off + 20]
            nlen = u32.unpack_from(data, off + 20)[0]
            fname = data[off + 24:off + 24 + nlen]
            if len(fname) != nlen:
                raise Truncated(f"truncated record at offset {off}")
            off += 24 + nlen
            hashed = d + fname + b"\0" * (NAME_LEN_MAX + 1 - nlen)
        else:
            tlen = u32.unpack_from(data, off)[0]
            hashed = data[off + 4:off + 4 + tlen]
            if len(hashed) != tlen:
                raise Truncated(f"truncated template data at offset {off}")
            off += 4 + tlen
        yield pcr, digest, name, hashed


BUILTIN = {
    "ima-ng": "d-ng|n-ng",
    "ima-sig": "d-ng|n-ng|sig",
    "ima-ngv2": "d-ngv2|n-ng",
    "ima-sigv2": "d-ngv2|n-ng|sig",
    "ima-buf": "d-ng|n-ng|buf",
    "ima-modsig": "d-ng|n-ng|sig|d-modsig|modsig",
    "evm-sig": "d-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode",
}
FIXED = {"iuid": 4, "igid": 4, "imode": 2}


def check_digest_ng(value, prefixes):
    """<type>:<algo>:\0<digest> (ima_eventdigest_init_common), digest sized for algo."""
    head, sep, digest = value.partition(b"\0")
    parts = head.decode().split(":")
    if not sep or parts[-1] != "" or len(parts) != prefixes + 2:
        raise ValueError(f"bad digest field {value[:40]!r}")
    if prefixes and parts[0] not in ("ima", "verity"):
        raise ValueError(f"bad digest type {parts[0]}")
    size = SIZES.get(parts[-2], 16 if parts[-2] == "md5" else None)
    if len(digest) != size:
        raise ValueError(f"digest of {len(digest)} bytes for {parts[-2]}")


def check_fields(name, hashed, order):
    """Split template data into its fields and check the encodings the kernel produces."""
    if name == "ima":
        return
    fields = BUILTIN.get(name, name).split("|")
    u32 = struct.Struct(order + "I")
    off = 0
    for field in fields:
        if len(hashed) - off < 4:
            raise ValueError(f"template {name}: field {field} missing")
        n = u32.unpack_from(hashed, off)[0]
        value = hashed[off + 4:off + 4 + n]
        if len(value) != n:
            raise ValueError(f"template {name}: field {field} overruns the template data")
        off += 4 + n
        if field in ("d-ng", "d-modsig") and n:
            check_digest_ng(value, 0)
        elif field == "d-ngv2":
            check_digest_ng(value, 1)
        elif field in ("n-ng", "n") and (not value.endswith(b"\0") or b"\0" in value[:-1]):
            raise ValueError(f"template {name}: name field without exactly one NUL at the end")
        elif field == "d" and n not in (16, 20):
            raise ValueError(f"template {name}: d field of {n} bytes")
        elif field in FIXED and n not in (0, FIXED[field]):
            raise ValueError(f"template {name}: {field} field of {n} bytes")
    if off != len(hashed):
        raise ValueError(f"template {name}: {len(hashed) - off} bytes after the last field")


def complete_records(data, bank_size, order, allow_partial):
    try:
        yield from records(data, bank_size, order)
    except Truncated:
        if not allow_partial:
            raise


def replay(data, log_bank, order, banks, allow_partial, fields=False):
    pcrs = {}
    bank_size = SIZES[log_bank]
    for pcr, digest, name, hashed in complete_records(data, bank_size, order, allow_partial):
        if fields:
            check_fields(name, hashed, order)
        violation = digest == b"\0" * bank_size
        if not violation and hashlib.new(log_bank, hashed).digest() != digest:
            raise ValueError("template digest does not match the template data")
        for bank in banks:
            size = SIZES[bank]
            value = pcrs.setdefault((pcr, bank), b"\0" * size)
            ext = b"\xff" * size if violation else hashlib.new(bank, hashed).digest()
            pcrs[(pcr, bank)] = hashlib.new(bank, value + ext).digest()
    return pcrs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-bank", default="sha1")
    ap.add_argument("--byte-order", default="le", choices=["le", "be"])
    ap.add_argument("--banks", default="sha1,sha256,sha384,sha512")
    ap.add_argument("--allow-partial", action="store_true",
                    help="ignore an incomplete final record")
    ap.add_argument("--check-fields", action="store_true",
                    help="also check every field's encoding")
    ap.add_argument("log")
    a = ap.parse_args()
    with open(a.log, "rb") as f:
        data = f.read()
    order = "<" if a.byte_order == "le" else ">"
    pcrs = replay(data, a.log_bank, order, a.banks.split(","), a.allow_partial,
                  a.check_fields)
    for (pcr, bank), value in sorted(pcrs.items()):
        print(pcr, bank, value.hex())


if __name__ == "__main__":
    try:
        main()
    except ValueError as e:
        print(f"replay.py: {e}", file=sys.stderr)
        sys.exit(1)
