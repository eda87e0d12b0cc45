#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The verifier's tamper suite: stores of generated and real logs, split into chunks with
snapshot_aggregate records by mkstore, changed in every way below; each change must make
`imalog verify --store` fail (exit 1) naming the expected absolute index and file.

Where the evidence pins one record (a changed byte fails that record's digest, parse or PCR
check; a forged aggregate), that record's index is expected. Where only a whole chunk can be
seen to be wrong (a record dropped, duplicated or moved inside a chunk: the manifest's count,
digest or end state disagree), the chunk's first index is expected, and the failure names the
chunk's range.

Forged aggregates are made by mkstore, which keeps everything else consistent with the forgery:
at chunk boundaries (imalogd alone deleting), and at the cuts of another deleter, which fall
inside chunks and in the kernel's list, their aggregates in the same chunk, a later one or the
kernel's list.

usage: tamper.py IMALOG MKSTORE IMALOG_GEN TESTDATA WORKDIR
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys

IMALOG, MKSTORE, GEN, DATA, WORK = sys.argv[1:6]
passed = failed = 0


def records(buf):
    """(offset, length, pcr) of each record of a little-endian binary log with SHA-1 headers
    (ima_measurements_show(): the "ima" template has no data length and a bare digest)."""
    out, pos = [], 0
    while pos < len(buf):
        pcr, = struct.unpack_from('<I', buf, pos)
        nlen, = struct.unpack_from('<I', buf, pos + 24)
        name = buf[pos + 28:pos + 28 + nlen]
        p = pos + 28 + nlen
        if name == b'ima':
            flen, = struct.unpack_from('<I', buf, p + 20)
            p += 24 + flen
        else:
            dlen, = struct.unpack_from('<I', buf, p)
            p += 4 + dlen
        out.append((pos, p - pos, pcr))
        pos = p
    return out


class Store:
    def __init__(self, name, log, chunk, chunks, *extra):
        self.dir = os.path.join(WORK, name)
        self.root = os.path.join(self.dir, 'store')
        self.tail = os.path.join(self.dir, 'tail')
        self.pcrs = os.path.join(self.dir, 'pcrs')
        self.extra = list(extra)
        os.makedirs(self.dir)
        out = subprocess.run([MKSTORE, log, self.root, '--chunk', str(chunk), '--chunks',
                              str(chunks), '--aggregates', '--tail', self.tail, '--pcrs',
                              self.pcrs] + self.extra,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        self.naggr = int(out.split(' aggregates')[0].split()[-1])
        # "forged aggregate at record N, cut at record D"
        self.forged = None
        if 'forged' in out:
            words = out.split('forged aggregate at record ')[1].split()
            self.forged = (int(words[0].rstrip(',')), int(words[-1]))
        self.logdir = os.path.join(self.root, 'logs', 'test-boot')
        self.chunks = []      # (first, path, manifest path, [records])
        for n in sorted(os.listdir(self.logdir)):
            if n.endswith('.chunk'):
                path = os.path.join(self.logdir, n)
                with open(path, 'rb') as f:
                    recs = records(f.read())
                self.chunks.append((int(n[:20]), path, path[:-6] + '.manifest', recs))

    def verify(self):
        r = subprocess.run([IMALOG, 'verify', '--store', self.root, '--no-kernel', '--piece',
                            self.tail, '--pcrs', self.pcrs, '--json'],
                           capture_output=True, text=True)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = {}
        return r.returncode, out


def check(store, what, index, path=None, offset=None):
    """Run the verifier; it must fail naming @index (or one of a tuple of indices), and @path,
    and a byte offset within @offset (start, length) when it names one."""
    global passed, failed
    rc, out = store.verify()
    f = out.get('failure') if isinstance(out.get('failure'), dict) else {}
    ok = rc == 1 and f.get('index') in (index if isinstance(index, tuple) else (index,))
    if ok and path:
        ok = f.get('file') == path
    if ok and offset and 'offset' in f:
        ok = offset[0] <= f['offset'] < offset[0] + offset[1]
    if ok:
        passed += 1
    else:
        failed += 1
        print(f'FAIL: {store.dir}: {what}: exit {rc}, expected index {index}, got {f}')


def mutate(path, fn):
    with open(path, 'rb') as f:
        orig = f.read()
    with open(path, 'wb') as f:
        f.write(fn(orig))
    return orig


def restore(path, orig):
    with open(path, 'wb') as f:
        f.write(orig)


def flip(store, k, rec, bit):
    first, path, _, recs = store.chunks[k]
    off, length, _ = recs[rec]
    byte = off + bit // 8
    orig = mutate(path, lambda b: b[:byte] + bytes([b[byte] ^ (1 << (bit % 8))]) + b[byte + 1:])
    want = first + rec
    if orig[off + 4:off + 24] == bytes(20) and bit >= 24 * 8:
        # A violation: no digest covers its template, so only the chunk's SHA-256 sees the
        # change, unless it no longer parses.
        want = (first + rec, first)
    check(store, f'bit {bit} of record {first + rec}', want, path, (off, length))
    restore(path, orig)


def record_bits(store, k, rec):
    """Every bit of the header and length fields; one bit of every third byte after them."""
    length = store.chunks[k][3][rec][1]
    head = min(length, 32)
    for bit in range(head * 8):
        flip(store, k, rec, bit)
    for byte in range(head, length, 3):
        flip(store, k, rec, byte * 8 + byte % 8)


def record_edits(store, k):
    """Drop, duplicate and reorder records inside chunk k, and across its end."""
    first, path, _, recs = store.chunks[k]

    def piece(b, i):
        o, n, _ = recs[i]
        return b[o:o + n]
    for i in (0, len(recs) // 2, len(recs) - 1):
        o, n, _ = recs[i]
        orig = mutate(path, lambda b: b[:o] + b[o + n:])
        check(store, f'record {first + i} dropped', first, path)
        restore(path, orig)
        orig = mutate(path, lambda b: b[:o + n] + b[o:o + n] + b[o + n:])
        check(store, f'record {first + i} duplicated', first, path)
        restore(path, orig)
    for i in (0, len(recs) // 2):
        o = recs[i][0]
        e = recs[i + 1][0] + recs[i + 1][1]
        orig = mutate(path, lambda b: b[:o] + piece(b, i + 1) + piece(b, i) + b[e:])
        check(store, f'records {first + i} and {first + i + 1} swapped', first, path)
        restore(path, orig)


def chunk_edits(store, k):
    """Drop, repeat and swap whole chunks (chunk file and manifest together)."""
    first, path, man, _ = store.chunks[k]
    nfirst, npath, nman, _ = store.chunks[k + 1]
    saved = {p: open(p, 'rb').read() for p in (path, man, npath, nman)}

    def put_back():
        for p, b in saved.items():
            restore(p, b)
    os.remove(path), os.remove(man)
    check(store, f'chunk {first} dropped', first, npath)
    put_back()
    restore(npath, saved[path]), restore(nman, saved[man])
    check(store, f'chunk {first} repeated as {nfirst}', nfirst, npath)
    put_back()
    m = json.loads(saved[man])
    m['first'] = nfirst
    restore(npath, saved[path]), restore(nman, json.dumps(m).encode())
    check(store, f'chunk {first} repeated with its first edited', nfirst, npath)
    put_back()
    restore(path, saved[npath]), restore(man, saved[nman])
    restore(npath, saved[path]), restore(nman, saved[man])
    check(store, f'chunks {first} and {nfirst} swapped', first, path)
    put_back()
    restore(path, saved[npath]), restore(npath, saved[path])
    check(store, f'chunk files {first} and {nfirst} swapped, manifests not', first, path)
    put_back()


def hexflip(h):
    return ('1' if h[0] == '0' else '0') + h[1:]


def manifest_edits(store, k):
    first, path, man, _ = store.chunks[k]
    orig = open(man, 'rb').read()
    m0 = json.loads(orig)
    edits = {
        'count + 1': lambda m: m.update(count=m['count'] + 1),
        'count - 1': lambda m: m.update(count=m['count'] - 1),
        'bytes - 1': lambda m: m.update(bytes=m['bytes'] - 1),
        'sha256': lambda m: m.update(sha256=hexflip(m['sha256'])),
        'first': lambda m: m.update(first=m['first'] + 1),
        'log_id': lambda m: m.update(log_id='another-boot'),
        'byte_order': lambda m: m.update(byte_order='big'),
        'format': lambda m: m.update(format='imalog-chunk/2'),
        'end sha256': lambda m: m['end']['10'].update(sha256=hexflip(m['end']['10']['sha256'])),
        'end sha1': lambda m: m['end']['10'].update(sha1=hexflip(m['end']['10']['sha1'])),
        'end PCR added': lambda m: m['end'].update({'11': m['end']['10']}),
    }
    if k > 0:
        edits['start sha256'] = lambda m: m['start']['10'].update(
            sha256=hexflip(m['start']['10']['sha256']))
        edits['start dropped'] = lambda m: m.update(start={})
    if m0['aggregates']:
        edits['aggregate deleted'] = lambda m: m['aggregates'][0].update(
            deleted=m['aggregates'][0]['deleted'] + 1)
        edits['aggregate removed'] = lambda m: m.update(aggregates=[])
    for name, fn in edits.items():
        m = json.loads(orig)
        fn(m)
        restore(man, json.dumps(m).encode())
        want = first
        if name.startswith('aggregate'):
            want = m0['aggregates'][0]['index']
        check(store, f'manifest of chunk {first}: {name}', want,
              man if name == 'format' else path)
        restore(man, orig)


def forged(name, log, chunk, chunks, k):
    """A store rebuilt around a forged aggregate: only the aggregate check can catch it."""
    for opt, what in (('--forge-value', 'values'), ('--forge-count', 'count'),
                      ('--forge-boot', 'boot_aggregate')):
        s = Store(f'{name}-forge-{what}', log, chunk, chunks, opt, str(k))
        with open(s.chunks[k][2]) as f:
            index = json.load(f)['aggregates'][0]['index']
        check(s, f'aggregate {k} forged ({what})', index, s.chunks[k][1],
              (s.chunks[k][3][0][0], s.chunks[k][3][0][1]))


def where(store, index):
    """(file, (offset, length)) of record @index: a chunk or the tail."""
    for first, path, _, recs in store.chunks:
        if first <= index < first + len(recs):
            return path, recs[index - first][:2]
    end = store.chunks[-1][0] + len(store.chunks[-1][3])
    with open(store.tail, 'rb') as f:
        return store.tail, records(f.read())[index - end][:2]


def tail_cuts(store):
    """The deleted counts of the snapshot_aggregate records in the tail, in order."""
    with open(store.tail, 'rb') as f:
        buf = f.read()
    cuts = []
    for off, length, _ in records(buf):
        rec = buf[off:off + length]
        nlen, = struct.unpack_from('<I', rec, 24)
        if rec[28:28 + nlen] != b'ima-buf' or b'snapshot_aggregate\0' not in rec:
            continue
        text = rec[rec.index(b'snapshot_aggregate\0') + 23:].decode()
        cuts.append(int(text.split('deleted=')[1].split(';')[0]))
    return cuts


def forged_inner(name, log, chunk, chunks, every, lag):
    """Another deleter cuts every @every records, its aggregate @lag records later: forge each
    aggregate of a cut inside a chunk or the tail in turn, its values and its count; each must
    fail naming it."""
    global failed
    plain = Store(f'{name}-cuts', log, chunk, chunks, '--cut-every', str(every), '--cut-lag',
                  str(lag))
    rc, out = plain.verify()
    if rc != 0:
        failed += 1
        print(f'FAIL: {plain.dir}: another deleter\'s cuts do not verify: {out}')
    bounds = {first for first, _, _, _ in plain.chunks}
    bounds.add(plain.chunks[-1][0] + len(plain.chunks[-1][3]))
    cuts = []
    for _, _, man, _ in plain.chunks:
        with open(man) as f:
            cuts += [a['deleted'] for a in json.load(f)['aggregates']]
    cuts += tail_cuts(plain)
    if len(cuts) != plain.naggr:
        failed += 1
        print(f'FAIL: {name}: {len(cuts)} aggregates found, mkstore wrote {plain.naggr}')
    inner = {'chunk': 0, 'tail': 0}
    for k in [k + 1 for k, cut in enumerate(cuts) if cut not in bounds]:
        for opt, what in (('--forge-value', 'values'), ('--forge-count', 'count')):
            s = Store(f'{name}-cuts-{k}-{what}', log, chunk, chunks, '--cut-every', str(every),
                      '--cut-lag', str(lag), opt, str(k))
            index, cut = s.forged
            path, span = where(s, index)
            check(s, f'aggregate {k} at record {index}, cut at {cut}, forged ({what})', index,
                  path, span)
            if cut not in bounds:
                inner['tail' if path == s.tail else 'chunk'] += 1
            shutil.rmtree(s.dir)
    # The point of this store: cuts inside chunks, aggregates in chunks and in the tail.
    if inner['chunk'] < 4 or inner['tail'] < 2:
        failed += 1
        print(f'FAIL: {name}: too few forged aggregates at inner cuts: {inner}')
    return inner


def suite(name, log, chunk, chunks, exhaustive, sampled):
    s = Store(name, log, chunk, chunks)
    rc, out = s.verify()
    if rc != 0:
        sys.exit(f'{name}: the untouched store does not verify: {out}')
    for k, rec in exhaustive:
        record_bits(s, k, rec)
    rnd = random.Random(name)
    for _ in range(sampled):
        k = rnd.randrange(len(s.chunks))
        rec = rnd.randrange(len(s.chunks[k][3]))
        flip(s, k, rec, rnd.randrange(s.chunks[k][3][rec][1] * 8))
    for k in (0, len(s.chunks) // 2, len(s.chunks) - 2):
        record_edits(s, k)
        chunk_edits(s, k)
        manifest_edits(s, k)
    forged(name, log, chunk, chunks, len(s.chunks) // 2)
    inner = forged_inner(name, log, chunk, chunks, chunk * 3 // 2 + 1, chunk // 2 + 3)
    print(f'{name}: forged aggregates at inner cuts, in chunks and in the tail: {inner}')


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    gen = os.path.join(WORK, 'gen.log')
    subprocess.run([GEN, '-n', '300', '-t', 'mixed', '-V', '0.03', '-s', '5', '-o', gen],
                   check=True)
    # Every header bit of an aggregate and of a real record; random bits of any record.
    # About 850 cases: a few minutes on a loaded 2-core machine (process start-up dominates).
    suite('generated', gen, 30, 8, [(1, 0)], 60)
    suite('embrave', os.path.join(DATA, 'embrave-binary_runtime_measurements'), 100, 8,
          [(4, 17)], 60)
    print(f'{passed} tamper cases rejected with the right index, {failed} not')
    sys.exit(1 if failed else 0)


main()
