#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the `aggregates` of imalogd's manifests against the snapshot_aggregate records of the
whole log (docs/format.md 4.3): a manifest lists exactly the aggregates its chunk holds, with
their absolute index and deleted count; every cut falls at the end of a chunk, before the
aggregate; deleted counts only grow; an aggregate's PCR values are the end state of the chunk
that ends at its cut.

    imalog show --format json TRUTH | check-aggregates.py LOGDIR

Prints what it checked; exits 1 with the first difference, 2 on unusable input.
"""
import glob
import json
import os
import sys


def aggregates_of(lines):
    """{absolute index: {key: value}} of the snapshot_aggregate records."""
    found = {}
    for line in lines:
        rec = json.loads(line)
        fields = {f["id"]: f for f in rec.get("fields", [])}
        if fields.get("n-ng", {}).get("value") != "snapshot_aggregate":
            continue
        text = bytes.fromhex(fields["buf"]["hex"]).decode("ascii")
        found[rec["recnum"]] = dict(kv.split("=", 1) for kv in text.split(";") if kv)
    return found


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    manifests = []
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.manifest"))):
        with open(path, encoding="utf-8") as f:
            manifests.append((os.path.basename(path), json.load(f)))
    if not manifests:
        print("no manifests in", sys.argv[1], file=sys.stderr)
        return 2
    aggs = aggregates_of(sys.stdin)
    ends = {m["first"] + m["count"]: m["end"] for _, m in manifests}
    start = manifests[0][1]["first"]
    stored_end = manifests[-1][1]["first"] + manifests[-1][1]["count"]

    listed = 0
    for name, m in manifests:
        first, count = m["first"], m["count"]
        have = [(a["index"], a["deleted"]) for a in m["aggregates"]]
        want = [(i, int(aggs[i]["deleted"])) for i in sorted(aggs) if first <= i < first + count]
        if have != want:
            print(f"{name}: aggregates {have}, the chunk holds {want}")
            return 1
        listed += len(have)

    last = -1
    for i in sorted(aggs):
        deleted = int(aggs[i]["deleted"])
        if deleted <= last or deleted > i:
            print(f"record {i}: deleted={deleted} after deleted={last}, or not before the record")
            return 1
        last = deleted
        if deleted <= start:
            continue  # a cut before this log began
        if deleted not in ends:
            print(f"record {i}: the cut at {deleted} is not the end of a chunk")
            return 1
        for key, value in aggs[i].items():
            if not key.startswith("pcr"):
                continue
            pcr, bank = key[3:].split("_", 1)
            stored = ends[deleted].get(pcr, {}).get(bank)
            if stored is not None and stored != value:
                print(f"record {i}: {key}={value}, "
                      f"the chunk ending at {deleted} ends with {stored}")
                return 1
    print(f"{len(aggs)} snapshot_aggregate records, {listed} listed in {len(manifests)} manifests "
          f"(records {start}..{stored_end - 1}), every cut at a chunk's end with its PCR values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
