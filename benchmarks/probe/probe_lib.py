#!/usr/bin/env python3
"""Helpers for probe.sh: fixtures (prompt/pair files, patched GGUF models, reward children) and the
mechanical checks behind each verdict (ids counted, torn lines, non-finite numbers, rewards recomputed,
runs compared). Standard library only. Usage: python3 probe_lib.py COMMAND ARGS..."""
import json
import math
import os
import re
import shutil
import struct
import sys


# ---------------------------------------------------------------- JSONL

def read_jsonl(path):
    """(objects, torn): complete JSON-object lines, and lines that are not (an unterminated last line counts)."""
    if not os.path.exists(path):
        return [], 0
    with open(path, 'rb') as f:
        data = f.read()
    parts = data.split(b'\n')
    last = parts.pop()
    torn = 1 if last.strip() else 0
    out = []
    for p in parts:
        if not p.strip():
            continue
        try:
            o = json.loads(p)
        except ValueError:
            torn += 1
            continue
        if isinstance(o, dict):
            out.append(o)
        else:
            torn += 1
    return out, torn


def key(v):
    return json.dumps(v, sort_keys=True)


def input_ids(path):
    """The ids align4j gives the records of an input file: "id", else the 0-based line number."""
    ids = []
    with open(path, 'rb') as f:
        for i, line in enumerate(f.read().split(b'\n')):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if isinstance(o, dict):
                ids.append(key(o['id']) if 'id' in o else key(i))
    return ids


def stats(path):
    recs, torn = read_jsonl(path)
    ids = [key(r.get('id')) for r in recs]
    dup = len(ids) - len(set(ids))
    return len(recs), len(set(ids)), dup, torn


def cmd_stats(path):
    n, u, d, t = stats(path)
    print(f'records={n} unique_ids={u} duplicate_ids={d} torn_lines={t}')


def cmd_count(path):
    print(stats(path)[0])


def cmd_once(inp, out, *skip):
    """Every input record's id exactly once in OUT, nothing else, no torn line. Exit 1 otherwise."""
    want = [i for i in input_ids(inp) if i not in set(skip)]
    recs, torn = read_jsonl(out)
    got = [key(r.get('id')) for r in recs]
    from collections import Counter
    c = Counter(got)
    missing = [i for i in want if c[i] == 0]
    dups = [i for i, k in c.items() if k > 1]
    extra = [i for i in c if i not in set(want)]
    if not missing and not dups and not extra and not torn and len(got) == len(want):
        print(f'each of the {len(want)} records once')
        return 0
    print(f'{len(got)} records for {len(want)} inputs: missing={missing[:4]}{"..." if len(missing) > 4 else ""}'
          f' ({len(missing)}), duplicated={dups[:4]} ({len(dups)}), extra={extra[:4]} ({len(extra)}), torn={torn}')
    return 1


def cmd_rso_once(inp, out):
    """rso: one acceptance line per prompt, pair ids unique and each prompt's pairs numbered 0.. without gaps."""
    want = input_ids(inp)
    acc, torn_a = read_jsonl(out + '.acceptance.jsonl')
    pairs, torn_p = read_jsonl(out)
    from collections import Counter
    c = Counter(key(a.get('id')) for a in acc)
    missing = [i for i in want if c[i] == 0]
    dups = [i for i, k in c.items() if k > 1]
    pid = [key(p.get('id')) for p in pairs]
    pdup = len(pid) - len(set(pid))
    if not missing and not dups and not pdup and not torn_a and not torn_p and len(acc) == len(want):
        print(f'each of the {len(want)} prompts once, {len(pairs)} pairs, ids unique')
        return 0
    print(f'acceptance lines {len(acc)} for {len(want)} prompts: missing {len(missing)}, duplicated {len(dups)};'
          f' pairs {len(pairs)}, duplicate pair ids {pdup}; torn {torn_a + torn_p}')
    return 1


def cmd_ncompl(path):
    recs, _ = read_jsonl(path)
    from collections import Counter
    c = Counter(len(r.get('completions', [])) for r in recs)
    print(', '.join(f'{k} completions: {v} records' for k, v in sorted(c.items())))


def floats_close(a, b, tol):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= tol
    return a == b


def record_differs(a, b, tol=1e-2):
    if set(a) != set(b):
        return True
    for k in a:
        va, vb = a[k], b[k]
        if k == 'completions':
            if len(va) != len(vb):
                return True
            for ca, cb in zip(va, vb):
                if ca.get('token_ids') != cb.get('token_ids') or ca.get('text') != cb.get('text'):
                    return True
                if not floats_close(ca.get('reward'), cb.get('reward'), 1e-9):
                    return True
        elif k.endswith('logps') and not isinstance(va, list):
            if not floats_close(va, vb, tol):
                return True
        elif isinstance(va, list) and k.endswith('logps'):
            continue
        elif va != vb and not (isinstance(va, float) and floats_close(va, vb, tol)):
            return True
    return False


def cmd_mixed(out, ref):
    """How many of OUT's records differ from the same id's record in REF (an uninterrupted run)."""
    a, _ = read_jsonl(out)
    b, _ = read_jsonl(ref)
    bi = {key(r.get('id')): r for r in b}
    diff = sum(1 for r in a if key(r.get('id')) not in bi or record_differs(r, bi[key(r.get('id'))]))
    print(f'{diff} of {len(a)} records differ from an uninterrupted run with the original options')


def cmd_compare(out, ref):
    """Resumed vs uninterrupted: token ids, texts, rewards equal; max log-prob difference."""
    a, _ = read_jsonl(out)
    b, _ = read_jsonl(ref)
    bi = {key(r.get('id')): r for r in b}
    tokdiff = 0
    maxd = 0.0
    other = 0
    for r in a:
        s = bi.get(key(r.get('id')))
        if s is None:
            other += 1
            continue
        for k, v in r.items():
            if k == 'completions':
                for ca, cb in zip(v, s.get(k, [])):
                    if ca.get('token_ids') != cb.get('token_ids'):
                        tokdiff += 1
                    elif isinstance(ca.get('logps'), float):
                        maxd = max(maxd, abs(ca['logps'] - cb['logps']))
            elif k.endswith('logps') and isinstance(v, (int, float)) and isinstance(s.get(k), (int, float)):
                maxd = max(maxd, abs(v - s[k]))
            elif k.endswith('reward') or k in ('chosen', 'rejected', 'prompt'):
                if v != s.get(k):
                    other += 1
    print(f'token sequences differing: {tokdiff}, other fields differing: {other}, max log-prob difference {maxd:.2e}')
    return 1 if (tokdiff or other) else 0


# A non-finite number written as a JSON value (bare, as Jackson can write it, or as a string).
NONFINITE = re.compile(rb'[:\[,]\s*"?(NaN|[-+]?Infinity)"?\s*[,}\]\n]')


def cmd_nonfinite(*paths):
    n = 0
    for p in paths:
        if os.path.exists(p):
            with open(p, 'rb') as f:
                n += len(NONFINITE.findall(f.read()))
    print(n)


def reward_of(t):
    """The probe's reward child's reward for a completion text (a checksum: varied, and checkable)."""
    return float(sum((i + 1) * ord(c) for i, c in enumerate(t)) % 1009)


def cmd_kinds(path):
    """What kind of records a file holds: sample/bon ones (completions), score ones (chosen_logps), others."""
    recs, _ = read_jsonl(path)
    c = sum(1 for r in recs if 'completions' in r)
    sc = sum(1 for r in recs if 'chosen_logps' in r or 'completion_logps' in r)
    print(f'the file now holds {c} sample records (with completions) and {sc} score records (with chosen_logps)'
          f'{", " + str(len(recs) - c - sc) + " others" if len(recs) - c - sc else ""}')


def cmd_drift(out, ref, bound):
    """Per-token log-prob difference between a resumed run and the uninterrupted one (same token ids)."""
    bound = float(bound)
    a, _ = read_jsonl(out)
    b, _ = read_jsonl(ref)
    bi = {key(r.get('id')): r for r in b}
    worst = 0.0
    worst_sum = 0.0
    tokdiff = 0
    for r in a:
        s = bi.get(key(r.get('id')))
        if s is None:
            continue
        if 'completions' in r:
            for ca, cb in zip(r['completions'], s['completions']):
                if ca['token_ids'] != cb['token_ids']:
                    tokdiff += 1
                    continue
                for x, y in zip(ca['token_logps'], cb['token_logps']):
                    worst = max(worst, abs(x - y))
                worst_sum = max(worst_sum, abs(ca['logps'] - cb['logps']))
        else:
            for side in ('chosen', 'rejected', 'completion'):
                if side + '_logps' in r and side + '_logps' in s:
                    d = abs(r[side + '_logps'] - s[side + '_logps'])
                    worst_sum = max(worst_sum, d)
                    worst = max(worst, d / max(1, r.get(side + '_tokens', 1)))
    what = 'per token' if any('completions' in r for r in a) else 'per token (mean over a completion)'
    print(f'max log-prob difference {what} {worst:.1e}, on a sum {worst_sum:.1e}; token sequences differing: {tokdiff}')
    return 1 if worst > bound or (tokdiff and bound == 0) else 0  # other engine options may change a draw (README)


def cmd_wrong_rewards(path, kind):
    """Count the written rewards that are not reward_of(their completion's text)."""
    recs, _ = read_jsonl(path)
    wrong = 0
    total = 0
    for r in recs:
        if kind == 'bon':
            for c in r.get('completions', []):
                total += 1
                if c.get('reward') != reward_of(c.get('text', '')):
                    wrong += 1
        else:
            for side in ('chosen', 'rejected'):
                total += 1
                text = r.get(side)
                if isinstance(text, list):
                    text = text[-1].get('content', '')
                if r.get(side + '_reward') != reward_of(text or ''):
                    wrong += 1
    print(f'{wrong} {total}')


def cmd_field_values(path, field):
    recs, _ = read_jsonl(path)
    print(json.dumps([r.get(field) for r in recs]))


# ---------------------------------------------------------------- fixtures

def cmd_data(train, out):
    src = [json.loads(l) for l in open(train) if l.strip()]
    p = src[:20]
    w = lambda name, rows: open(os.path.join(out, name), 'w').write(''.join(json.dumps(r) + '\n' for r in rows))
    w('p20.jsonl', p)
    w('p8.jsonl', p[:8])
    w('p3.jsonl', p[:3])
    # same ids, other prompts
    w('p20b.jsonl', [dict(src[20 + i], id=p[i]['id']) for i in range(20)])
    w('p8b.jsonl', [dict(src[20 + i], id=p[i]['id']) for i in range(8)])
    # long completions so that a score run takes long enough to be killed part way
    pairs = []
    for i, r in enumerate(p):
        a = r['answer']
        pairs.append({'id': r['id'], 'prompt': r['prompt'], 'chosen': a + ' ' + '1 2 3 4 5 6 7 8 9 ' * (5 + i % 3),
                      'rejected': a + '9 ' + '3 4 5 6 7 8 ' * (7 + i % 2)})
    w('pairs20.jsonl', pairs)
    w('pairs20b.jsonl', [dict(q, chosen=q['chosen'] + '0') for q in pairs])
    short = [{'id': r['id'], 'prompt': r['prompt'], 'chosen': r['answer'],
              'rejected': str(int(r['answer']) + 10)} for r in p]
    w('pairs4.jsonl', short[:4])
    w('dpairs.jsonl', short[:4])
    w('dpairs-b.jsonl', [dict(q, rejected=str(int(q['chosen']) + 100)) for q in short[:4]])


def gguf_read(path):
    with open(path, 'rb') as f:
        d = f.read()
    assert d[:4] == b'GGUF', 'not a GGUF file'
    _ver, nt, nkv = struct.unpack_from('<IQQ', d, 4)
    p = 24

    def s(p):
        n, = struct.unpack_from('<Q', d, p)
        return d[p + 8:p + 8 + n].decode('utf-8', 'replace'), p + 8 + n
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    fmts = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}

    def val(t, p):
        if t == 8:
            return s(p)
        if t == 9:
            et, n = struct.unpack_from('<IQ', d, p)
            p += 12
            out = []
            for _ in range(n):
                v, p = val(et, p)
                out.append(v)
            return out, p
        return struct.unpack_from('<' + fmts[t], d, p)[0], p + sizes[t]
    kv = {}
    for _ in range(nkv):
        k, p = s(p)
        t, = struct.unpack_from('<I', d, p)
        p += 4
        v, p = val(t, p)
        kv[k] = v
    tensors = {}
    for _ in range(nt):
        name, p = s(p)
        nd, = struct.unpack_from('<I', d, p)
        p += 4
        dims = struct.unpack_from('<' + 'Q' * nd, d, p)
        p += 8 * nd
        typ, off = struct.unpack_from('<IQ', d, p)
        p += 12
        tensors[name] = (dims, typ, off)
    al = kv.get('general.alignment', 32)
    return kv, tensors, (p + al - 1) // al * al


def cmd_patch(src, dst, tensor, mode):
    """A copy of SRC with F32 tensor TENSOR set to NaN (0x7fc00000) / +inf, or scaled by 1.05 (a working other model)."""
    kv, ts, data = gguf_read(src)
    dims, typ, off = ts[tensor]
    assert typ == 0, tensor + ' is not F32'
    n = 1
    for x in dims:
        n *= x
    shutil.copyfile(src, dst)
    with open(dst, 'r+b') as f:
        f.seek(data + off)
        vals = list(struct.unpack('<%df' % n, f.read(4 * n)))
        if mode == 'nan':
            raw = struct.pack('<I', 0x7fc00000) * n
        elif mode == 'inf':
            raw = struct.pack('<I', 0x7f800000) * n
        else:
            raw = struct.pack('<%df' % n, *[v * 1.05 for v in vals])
        f.seek(data + off)
        f.write(raw)


def cmd_nanrow(src, dst, token_text):
    """A copy of SRC whose (tied) token_embd row for TOKEN is F16 NaN: that token's logit is NaN everywhere."""
    kv, ts, data = gguf_read(src)
    tok = kv['tokenizer.ggml.tokens'].index(token_text)
    dims, typ, off = ts['token_embd.weight']
    assert typ == 1, 'token_embd is not F16'
    embd = dims[0]
    shutil.copyfile(src, dst)
    with open(dst, 'r+b') as f:
        f.seek(data + off + 2 * embd * tok)
        f.write(struct.pack('<H', 0x7e00) * embd)


def cmd_corrupt(src, dst, how):
    with open(src, 'rb') as f:
        d = bytearray(f.read())
    if how == 'truncated-header':
        d = d[:200]
    elif how == 'truncated-data':
        d = d[:len(d) - 100000]
    elif how == 'magic':
        d[0:4] = b'GGUX'
    elif how == 'zero':
        d = b''
    elif how == 'huge-tensor-count':
        struct.pack_into('<Q', d, 8, 0x0FFFFFFFFFFFFFFF)
    elif how == 'huge-kv-count':
        struct.pack_into('<Q', d, 16, 0x0FFFFFFFFFFFFFFF)
    elif how == 'huge-string':
        # the first key's length
        struct.pack_into('<Q', d, 24, 0x0FFFFFFFFFFFFFFF)
    elif how == 'tensor-offset':
        # first tensor's data offset far past the end of the file
        kv, ts, data = gguf_read(src)
        name = 'token_embd.weight'
        i = d.find(name.encode())
        p = i + len(name)
        nd, = struct.unpack_from('<I', d, p)
        struct.pack_into('<Q', d, p + 4 + 8 * nd + 4, 1 << 40)
    with open(dst, 'wb') as f:
        f.write(d)


REWARD_CHILD = r'''import json, os, sys, time
slow = float(os.environ.get('PROBE_SLOW', '0'))
mode = sys.argv[1] if len(sys.argv) > 1 else 'ok'
total = int(sys.argv[2]) if len(sys.argv) > 2 else 0
k = 0
def reward_of(t):
    return float(sum((i + 1) * ord(c) for i, c in enumerate(t)) % 1009)
def say(s):
    sys.stdout.write(s + '\n'); sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    k += 1
    if mode in ('two', 'extra-mid-apart', 'extra-mid-apart-echo'):
        time.sleep(0.2)  # a child that takes its time per request (a reward model): deterministic interleaving
    if slow and req.get('completion_index') == 0:
        time.sleep(slow)
    r = {'reward': reward_of(req['completion'])}
    if mode.endswith('-echo'):
        r['id'] = req['id']; r['completion_index'] = req['completion_index']
    out = json.dumps(r)
    extra = json.dumps({'reward': 999.0, 'id': req['id'], 'completion_index': req['completion_index']} if mode.endswith('-echo') else {'reward': 999.0})
    if mode == 'two':
        out += '\n' + json.dumps({'reward': 999.0})
    elif mode == 'extra-last' and k == total:
        out += '\n' + extra
    elif mode == 'extra-last-late' and k == total:
        say(out); time.sleep(0.5); say(extra); continue
    elif mode.startswith('extra-mid-apart') and k == 2:
        say(out); time.sleep(0.5); say(extra); continue
    elif mode == 'wrong-id' and k == 3:
        r['id'] = 'nope'; out = json.dumps(r)
    elif mode == 'wrong-index' and k == 3:
        r['id'] = req['id']; r['completion_index'] = req['completion_index'] + 1; out = json.dumps(r)
    elif mode == 'crash' and k == 3:
        sys.stderr.write('reward child: giving up on request 3\n'); sys.exit(3)
    elif mode == 'hang' and k == 3:
        time.sleep(600)
    elif mode == 'exit-early' and k == 3:
        sys.exit(0)
    elif mode == 'nonjson':
        out = 'hello'
    elif mode == 'nan':
        out = '{"reward": NaN}'
    elif mode == 'inf':
        out = '{"reward": 1e999}'
    elif mode == 'string':
        out = '{"reward": "1"}'
    elif mode == 'missing':
        out = '{"score": 1}'
    elif mode == 'array':
        out = '[1]'
    say(out)
'''


def cmd_reward_child(dst):
    with open(dst, 'w') as f:
        f.write(REWARD_CHILD)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = globals()['cmd_' + cmd.replace('-', '_')]
    rc = fn(*args)
    sys.exit(rc or 0)


if __name__ == '__main__':
    main()
