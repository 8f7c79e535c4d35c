package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Multi-head attention with an online (flash-style) softmax over key tiles: the score matrix never exists. One
 * work-item per query row and head, {@link #ROWS} rows per work-group sharing each tile of K and V in local memory.
 * Heads are interleaved in the last axis: q[B, Lq, H·dk], k[B, Lk, H·dk], v[B, Lk, H·dv], out[B, Lq, H·dv]; the
 * running output accumulates in out itself (each row is owned by one work-item).
 */
public final class AttentionKernel {
    /** Query rows per work-group. */
    public static final int ROWS = 32;
    /** Floats of each local tile (K and V): a tile holds LOCAL_FLOATS / width keys, at most {@link #MAX_TILE}. */
    public static final int LOCAL_FLOATS = 4096;
    public static final int MAX_TILE = 32;

    private AttentionKernel() {}

    /** p: q, k, v, out, lq, lk, heads, dk, dv, causal, tile; f: scale. Grid (⌈lq/32⌉·32, B·H), work-groups (32, 1). */
    public static void attention(KernelContext ctx, IntArray p, FloatArray f, FloatArray q, FloatArray k, FloatArray v, FloatArray out) {
        int qo = p.get(0), ko = p.get(1), vo = p.get(2), oo = p.get(3);
        int lq = p.get(4), lk = p.get(5), heads = p.get(6), dk = p.get(7), dv = p.get(8), causal = p.get(9), tile = p.get(10);
        float scale = f.get(0);
        float[] kt = ctx.allocateFloatLocalArray(4096);
        float[] vt = ctx.allocateFloatLocalArray(4096);
        float[] s = new float[32];
        int i = ctx.globalIdx, bh = ctx.globalIdy;
        int b = bh / heads, h = bh % heads;
        int li = ctx.localIdx;
        boolean active = i < lq;
        int row = active ? i : 0;
        int kRow = heads * dk, vRow = heads * dv;
        int qi = qo + (b * lq + row) * kRow + h * dk;
        int oi = oo + (b * lq + row) * vRow + h * dv;
        int kb = ko + b * lk * kRow + h * dk;
        int vb = vo + b * lk * vRow + h * dv;
        if (active) {
            for (int d = 0; d < dv; d++) out.set(oi + d, 0.0f);
        }
        // causal: the last row of this work-group sees keys up to its index; every work-item runs the same tiles
        int end = causal == 1 ? TornadoMath.min(lk, (ctx.groupIdx + 1) * 32) : lk;
        float m = Float.NEGATIVE_INFINITY, l = 0.0f;
        for (int j0 = 0; j0 < end; j0 += tile) {
            int cnt = TornadoMath.min(tile, end - j0);
            for (int idx = li; idx < cnt * dk; idx += 32) kt[idx] = k.get(kb + (j0 + idx / dk) * kRow + idx % dk);
            for (int idx = li; idx < cnt * dv; idx += 32) vt[idx] = v.get(vb + (j0 + idx / dv) * vRow + idx % dv);
            ctx.localBarrier();
            int visible = causal == 1 ? TornadoMath.min(cnt, i - j0 + 1) : cnt;
            if (active && visible > 0) {
                float tileMax = Float.NEGATIVE_INFINITY;
                for (int jj = 0; jj < visible; jj++) {
                    float acc = 0.0f;
                    for (int d = 0; d < dk; d++) acc += q.get(qi + d) * kt[jj * dk + d];
                    s[jj] = acc * scale;
                    tileMax = TornadoMath.max(tileMax, s[jj]);
                }
                float mNew = TornadoMath.max(m, tileMax);
                float corr = TornadoMath.exp(m - mNew);
                float sum = 0.0f;
                for (int jj = 0; jj < visible; jj++) {
                    s[jj] = TornadoMath.exp(s[jj] - mNew);
                    sum += s[jj];
                }
                l = l * corr + sum;
                for (int d = 0; d < dv; d++) {
                    float acc = out.get(oi + d) * corr;
                    for (int jj = 0; jj < visible; jj++) acc += s[jj] * vt[jj * dv + d];
                    out.set(oi + d, acc);
                }
                m = mNew;
            }
            ctx.localBarrier();
        }
        if (active) {
            float inv = 1.0f / l;
            for (int d = 0; d < dv; d++) out.set(oi + d, out.get(oi + d) * inv);
        }
    }
}
