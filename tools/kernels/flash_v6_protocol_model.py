#!/usr/bin/env python3
"""Randomised model of the synchronisation protocol of the v6 flash-attention kernels (attention_sm90_ws.cu).

Actors: the producer thread and every consumer warp, each running the kernel's sequence of mbarrier waits/arrives,
named-barrier turns and wgmma issues/waits; asynchronous agents: TMA copies (a slot reads as "writing" from issue to
completion) and warpgroup wgmma ops (they run once all 4 warps issued them, and check that every slot they read holds
the tile they expect). A random scheduler interleaves everything; a run fails on a deadlock, a wrong or half-written
tile read, or a barrier left mid-phase at the end. Keep it in step with h6_produce / h6_step / h6_flash when the
protocol changes (docs/cuda-performance-notes.md, section 1d). Usage: python3 tools/kernels/flash_v6_protocol_model.py
"""
import random
import sys

class MBar:
    def __init__(s, count): s.count = count; s.pending = count; s.tx = 0; s.phase = 0
    def _check(s):
        if s.pending == 0 and s.tx == 0:
            s.phase += 1; s.pending = s.count
    def arrive(s):
        assert s.pending > 0; s.pending -= 1; s._check()
    def expect_arrive(s, b):
        s.tx += b; s.pending -= 1; s._check()
    def complete_tx(s, b):
        s.tx -= b; assert s.tx >= 0; s._check()
    def done(s, parity):  # try_wait.parity
        return (s.phase & 1) != parity

class NamedBar:
    def __init__(s, count): s.count = count; s.arrived = 0; s.gen = 0
    def arrive(s):
        g = s.gen; s.arrived += 1
        if s.arrived == s.count: s.arrived = 0; s.gen += 1
        return g

def run(NWG, STAGES, ntiles, PINGPONG, seed):
    rnd = random.Random(seed)
    q_full = MBar(1)
    k_full = [MBar(1) for _ in range(STAGES)]; v_full = [MBar(1) for _ in range(STAGES)]
    k_empty = [MBar(NWG * 4) for _ in range(STAGES)]; v_empty = [MBar(NWG * 4) for _ in range(STAGES)]
    done = MBar(NWG * 4)
    turns = [None] + [NamedBar(8) for _ in range(NWG)]
    kslot = ['x'] * STAGES; vslot = ['x'] * STAGES; qslot = ['x']
    tma = []  # in-flight copies: (kind, slot, tile, bar)
    # wgmma ops per warpgroup: list of dicts {issued: set(warps), reads: [...], executed: bool}
    ops = [[] for _ in range(NWG)]
    errors = []

    def tma_issue(kind, slot, tile, bar):
        if kind == 'K': kslot[slot] = 'writing'
        elif kind == 'V': vslot[slot] = 'writing'
        else: qslot[0] = 'writing'
        tma.append((kind, slot, tile, bar))

    def producer():
        q_full.expect_arrive(128); tma_issue('Q', 0, 0, q_full)
        ks = vs = 0; kr = vr = 0
        for j in range(ntiles + 1):
            if j < ntiles:
                yield lambda ks=ks, kr=kr: k_empty[ks].done(kr ^ 1)
                k_full[ks].expect_arrive(128); tma_issue('K', ks, j, k_full[ks])
                ks += 1
                if ks == STAGES: ks = 0; kr ^= 1
            if j >= 1:
                yield lambda vs=vs, vr=vr: v_empty[vs].done(vr ^ 1)
                v_full[vs].expect_arrive(128); tma_issue('V', vs, j - 1, v_full[vs])
                vs += 1
                if vs == STAGES: vs = 0; vr ^= 1
        yield lambda: done.done(0)

    def consumer(wg, warp):
        n = ntiles
        myops = ops[wg]
        count = [0]  # ops issued by this warp
        def issue(reads):
            idx = count[0]; count[0] += 1
            if idx == len(myops): myops.append({'issued': set(), 'reads': reads, 'executed': False})
            assert myops[idx]['reads'] == reads, (wg, warp, idx, reads, myops[idx]['reads'])
            myops[idx]['issued'].add(warp)
            return idx
        def wait_op(idx):
            return lambda: myops[idx]['executed']
        def turn_pass(i):
            turns[i].arrive()
        def turn_wait(i):
            g = turns[i].arrive()
            return lambda: turns[i].gen > g
        if PINGPONG and n > 1 and wg == NWG - 1: turn_pass(1)
        yield lambda: q_full.done(0)
        yield lambda: k_full[0].done(0)
        i = issue([('Q',), ('K', 0, 0)])
        yield wait_op(i)
        k_empty[0].arrive()
        steps = []
        if n == 1: steps.append((False, False, 0))
        else:
            steps.append((False, True, 0))
            for j in range(1, n): steps.append((True, j + 1 < n, j))
        for PV, S, j in steps:
            vs = (j + STAGES - 1) % STAGES; ks = (j + 1) % STAGES
            if PV or S:
                if PINGPONG: yield turn_wait(1 + wg)
                if PV: yield lambda vs=vs, j=j: v_full[vs].done(((j - 1) // STAGES) & 1)
                if S: yield lambda ks=ks, j=j: k_full[ks].done(((j + 1) // STAGES) & 1)
                reads = ([('V', vs, j - 1)] if PV else []) + ([('Q',), ('K', ks, j + 1)] if S else [])
                i = issue(reads)
                if PINGPONG and not (wg == NWG - 1 and not S): turn_pass(1 + (wg + 1) % NWG)
            yield lambda: True  # softmax
            if PV or S:
                yield wait_op(i)
                if PV: v_empty[vs].arrive()
                if S: k_empty[ks].arrive()
        vs = (n - 1) % STAGES
        yield lambda: v_full[vs].done(((n - 1) // STAGES) & 1)
        i = issue([('V', vs, n - 1)])
        yield wait_op(i)
        v_empty[vs].arrive()
        done.arrive()

    actors = [producer()] + [consumer(w, x) for w in range(NWG) for x in range(4)]
    conds = [lambda: True] * len(actors)
    alive = [True] * len(actors)
    steps = 0
    while True:
        steps += 1
        events = []
        for a in range(len(actors)):
            if alive[a] and conds[a](): events.append(('actor', a))
        for t in range(len(tma)): events.append(('tma', t))
        for w in range(NWG):
            for idx, op in enumerate(ops[w]):
                if not op['executed'] and len(op['issued']) == 4 and all(o['executed'] for o in ops[w][:idx]):
                    events.append(('mma', w, idx)); break
        if not events:
            if any(alive): return 'DEADLOCK', [a for a in range(len(actors)) if alive[a]], errors
            for i in range(1, NWG + 1):
                if turns[i].arrived: errors.append(('named barrier left with arrivals', i, turns[i].arrived))
            for b in [q_full, done] + k_full + v_full + k_empty + v_empty:
                if b.tx or b.pending != b.count: errors.append(('mbarrier mid-phase', b.pending, b.tx))
            return 'OK', steps, errors
        e = rnd.choice(events)
        if e[0] == 'actor':
            a = e[1]
            try: conds[a] = next(actors[a])
            except StopIteration: alive[a] = False
        elif e[0] == 'tma':
            kind, slot, tile, bar = tma.pop(e[1])
            if kind == 'K': kslot[slot] = tile
            elif kind == 'V': vslot[slot] = tile
            else: qslot[0] = 'Q'
            bar.complete_tx(128)
        else:
            w, idx = e[1], e[2]
            op = ops[w][idx]
            for r in op['reads']:
                got = qslot[0] if r[0] == 'Q' else (kslot if r[0] == 'K' else vslot)[r[1]]
                want = 'Q' if r[0] == 'Q' else r[2]
                if got != want: errors.append((w, idx, r, got))
            op['executed'] = True

bad = 0
for NWG in (2, 3):
    for STAGES in (2, 4, 6):
        for n in (1, 2, 3, 4, 5, 7, 8, 13):
            for pp in (True, False):
                for seed in range(60):
                    res = run(NWG, STAGES, n, pp, seed)
                    if res[0] != 'OK' or res[2]:
                        bad += 1
                        if bad < 10: print('FAIL', NWG, STAGES, n, pp, seed, res[0], res[1], res[2][:3])
print('failures', bad)
sys.exit(1 if bad else 0)
