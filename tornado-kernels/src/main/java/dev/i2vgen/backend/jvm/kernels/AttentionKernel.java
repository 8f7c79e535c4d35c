package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * Memory-efficient ("flash") attention: each worker takes a block of queries of one (batch, head),
 * walks the keys in tiles, and keeps only a QB×KB tile of scores with an online softmax (running
 * max and sum, rescaling the partial output when the max grows). Heads are interleaved in the last
 * axis: q[B, Lq, H·D], k[B, Lk, H·D], v[B, Lk, H·Dv] → out[B, Lq, H·Dv].
 */
public final class AttentionKernel {
    private AttentionKernel() {}

    static final int QB = 64;   // queries per block (amortises the key-tile transpose)
    static final int KB = 64;   // keys per tile (a multiple of the vector length)

    public static void run(MemorySegment q, MemorySegment k, MemorySegment v, int batch, int lq, int lk, int heads,
                           int d, int dv, float scale, boolean causal, MemorySegment out) {
        int qBlocks = (lq + QB - 1) / QB;
        int tasks = batch * heads * qBlocks;
        Parallel.forRange(tasks, 1, (t0, t1) -> {
            Tile tile = new Tile(d, dv);
            for (int t = t0; t < t1; t++) {
                int qb = t % qBlocks, h = (t / qBlocks) % heads, b = t / (qBlocks * heads);
                block(q, k, v, b, h, qb * QB, Math.min(QB, lq - qb * QB), lq, lk, heads, d, dv, scale, causal, out, tile);
            }
        });
    }

    /** Per-worker scratch: one query block, one key tile (transposed) and value tile, one score tile, the running output. */
    private static final class Tile {
        final float[] q, kT, v, s, o, max, sum, correction;

        Tile(int d, int dv) {
            q = new float[QB * d];
            kT = new float[d * KB];
            v = new float[KB * dv];
            s = new float[QB * KB];
            o = new float[QB * dv];
            max = new float[QB];
            sum = new float[QB];
            correction = new float[QB];
        }
    }

    private static void block(MemorySegment q, MemorySegment k, MemorySegment v, int b, int h, int i0, int rows, int lq, int lk,
                              int heads, int d, int dv, float scale, boolean causal, MemorySegment out, Tile t) {
        long qRow = (long) heads * d, vRow = (long) heads * dv;
        for (int i = 0; i < rows; i++) {
            long src = ((long) b * lq + i0 + i) * qRow + (long) h * d;
            MemorySegment.copy(q, F32.LAYOUT, src * 4, t.q, i * d, d);
            for (int c = 0; c < d; c++) t.q[i * d + c] *= scale;
        }
        java.util.Arrays.fill(t.o, 0, rows * dv, 0f);
        java.util.Arrays.fill(t.max, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(t.sum, 0f);
        int keyEnd = causal ? Math.min(lk, i0 + rows) : lk;
        for (int j0 = 0; j0 < keyEnd; j0 += KB) {
            int cols = Math.min(KB, keyEnd - j0);
            loadTile(k, v, b, h, j0, cols, lk, qRow, vRow, d, dv, t);
            scores(t, rows, d, cols);
            for (int i = 0; i < rows; i++) {
                int visible = causal ? Math.max(0, Math.min(cols, i0 + i + 1 - j0)) : cols;
                int si = i * KB;
                if (visible == 0) {
                    t.correction[i] = 1f;
                    java.util.Arrays.fill(t.s, si, si + cols, 0f);
                    continue;
                }
                float rowMax = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) rowMax = Math.max(rowMax, t.s[si + j]);
                float newMax = Math.max(t.max[i], rowMax);
                t.correction[i] = (float) Math.exp(t.max[i] - newMax);
                t.max[i] = newMax;
                t.sum[i] = t.sum[i] * t.correction[i] + expInPlace(t.s, si, visible, newMax);
                java.util.Arrays.fill(t.s, si + visible, si + cols, 0f); // masked keys get probability 0
            }
            accumulate(t, rows, cols, dv);
        }
        for (int i = 0; i < rows; i++) {
            float inv = 1f / t.sum[i];
            for (int c = 0; c < dv; c++) t.o[i * dv + c] *= inv;
            long dst = ((long) b * lq + i0 + i) * vRow + (long) h * dv;
            MemorySegment.copy(t.o, i * dv, out, F32.LAYOUT, dst * 4, dv);
        }
    }

    /** Copies a tile of keys transposed (kT[c·KB + j], so scores vectorise over keys) and of values as rows. */
    private static void loadTile(MemorySegment k, MemorySegment v, int b, int h, int j0, int cols, int lk, long qRow, long vRow,
                                 int d, int dv, Tile t) {
        float[] row = t.s; // free at this point: borrow it as a row buffer when d ≤ QB·KB
        boolean borrow = d <= row.length;
        for (int j = 0; j < cols; j++) {
            long ks = ((long) b * lk + j0 + j) * qRow + (long) h * d;
            if (borrow) {
                MemorySegment.copy(k, F32.LAYOUT, ks * 4, row, 0, d);
                for (int c = 0; c < d; c++) t.kT[c * KB + j] = row[c];
            } else {
                for (int c = 0; c < d; c++) t.kT[c * KB + j] = F32.get(k, ks + c);
            }
            long vs = ((long) b * lk + j0 + j) * vRow + (long) h * dv;
            MemorySegment.copy(v, F32.LAYOUT, vs * 4, t.v, j * dv, dv);
        }
        int step = 2 * F32.LANES, padded = Math.min(KB, (cols + step - 1) / step * step);
        for (int c = 0; c < d; c++) java.util.Arrays.fill(t.kT, c * KB + cols, c * KB + padded, 0f);
    }

    /**
     * s[i, j] = q[i]·k[j] for the block, in 4-query × 2-vector register tiles (like the GEMM
     * micro-kernel: two key loads and four broadcasts feed eight FMAs).
     */
    private static void scores(Tile t, int rows, int d, int cols) {
        final int L = F32.LANES, L2 = 2 * L;
        int i = 0;
        for (; i + 4 <= rows; i += 4) {
            int q0 = i * d, q1 = q0 + d, q2 = q1 + d, q3 = q2 + d;
            for (int j = 0; j < cols; j += L2) {
                FloatVector z = FloatVector.zero(F32.SPECIES);
                FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
                for (int c = 0, kc = j; c < d; c++, kc += KB) {
                    FloatVector k0 = FloatVector.fromArray(F32.SPECIES, t.kT, kc);
                    FloatVector k1 = FloatVector.fromArray(F32.SPECIES, t.kT, kc + L);
                    FloatVector b0 = FloatVector.broadcast(F32.SPECIES, t.q[q0 + c]);
                    a00 = k0.fma(b0, a00); a01 = k1.fma(b0, a01);
                    FloatVector b1 = FloatVector.broadcast(F32.SPECIES, t.q[q1 + c]);
                    a10 = k0.fma(b1, a10); a11 = k1.fma(b1, a11);
                    FloatVector b2 = FloatVector.broadcast(F32.SPECIES, t.q[q2 + c]);
                    a20 = k0.fma(b2, a20); a21 = k1.fma(b2, a21);
                    FloatVector b3 = FloatVector.broadcast(F32.SPECIES, t.q[q3 + c]);
                    a30 = k0.fma(b3, a30); a31 = k1.fma(b3, a31);
                }
                int s0 = i * KB + j;
                a00.intoArray(t.s, s0); a01.intoArray(t.s, s0 + L);
                a10.intoArray(t.s, s0 + KB); a11.intoArray(t.s, s0 + KB + L);
                a20.intoArray(t.s, s0 + 2 * KB); a21.intoArray(t.s, s0 + 2 * KB + L);
                a30.intoArray(t.s, s0 + 3 * KB); a31.intoArray(t.s, s0 + 3 * KB + L);
            }
        }
        for (; i < rows; i++) {
            for (int j = 0; j < cols; j += L) {
                FloatVector a0 = FloatVector.zero(F32.SPECIES);
                for (int c = 0, kc = j; c < d; c++, kc += KB) {
                    a0 = FloatVector.fromArray(F32.SPECIES, t.kT, kc).fma(FloatVector.broadcast(F32.SPECIES, t.q[i * d + c]), a0);
                }
                a0.intoArray(t.s, i * KB + j);
            }
        }
    }

    /** s[j] = exp(s[j] − max) over [off, off + n); returns the sum. */
    private static float expInPlace(float[] s, int off, int n, float max) {
        int j = 0;
        FloatVector acc = FloatVector.zero(F32.SPECIES);
        for (int upper = n - n % F32.LANES; j < upper; j += F32.LANES) {
            FloatVector e = FloatVector.fromArray(F32.SPECIES, s, off + j).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, off + j);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            s[off + j] = (float) Math.exp(s[off + j] - max);
            sum += s[off + j];
        }
        return sum;
    }

    /**
     * o[i] = o[i]·correction[i] + Σ_j p[i, j]·v[j], in 4-row × 2-vector register tiles over the value
     * width, then single vectors, then a scalar tail (and scalar rows when fewer than four remain).
     */
    private static void accumulate(Tile t, int rows, int cols, int dv) {
        final int L = F32.LANES;
        int pairEnd = dv - dv % (2 * L), vecEnd = dv - dv % L;
        int i = 0;
        for (; i + 4 <= rows; i += 4) {
            int c = 0;
            for (; c < pairEnd; c += 2 * L) accumulate4x2(t, i, c, cols, dv);
            for (; c < vecEnd; c += L) accumulate4x1(t, i, c, cols, dv);
        }
        for (int r = 0; r < rows; r++) {
            int from = r < i ? vecEnd : 0; // rows handled above still need their scalar tail columns
            for (int c = from; c < dv; c++) {
                float acc = t.o[r * dv + c] * t.correction[r];
                for (int j = 0; j < cols; j++) acc += t.s[r * KB + j] * t.v[j * dv + c];
                t.o[r * dv + c] = acc;
            }
        }
    }

    private static void accumulate4x2(Tile t, int i, int c, int cols, int dv) {
        final int L = F32.LANES;
        int o0 = i * dv + c, o1 = o0 + dv, o2 = o1 + dv, o3 = o2 + dv;
        FloatVector a00 = FloatVector.fromArray(F32.SPECIES, t.o, o0).mul(t.correction[i]);
        FloatVector a01 = FloatVector.fromArray(F32.SPECIES, t.o, o0 + L).mul(t.correction[i]);
        FloatVector a10 = FloatVector.fromArray(F32.SPECIES, t.o, o1).mul(t.correction[i + 1]);
        FloatVector a11 = FloatVector.fromArray(F32.SPECIES, t.o, o1 + L).mul(t.correction[i + 1]);
        FloatVector a20 = FloatVector.fromArray(F32.SPECIES, t.o, o2).mul(t.correction[i + 2]);
        FloatVector a21 = FloatVector.fromArray(F32.SPECIES, t.o, o2 + L).mul(t.correction[i + 2]);
        FloatVector a30 = FloatVector.fromArray(F32.SPECIES, t.o, o3).mul(t.correction[i + 3]);
        FloatVector a31 = FloatVector.fromArray(F32.SPECIES, t.o, o3 + L).mul(t.correction[i + 3]);
        int p0 = i * KB;
        for (int j = 0, vj = c; j < cols; j++, vj += dv) {
            FloatVector v0 = FloatVector.fromArray(F32.SPECIES, t.v, vj);
            FloatVector v1 = FloatVector.fromArray(F32.SPECIES, t.v, vj + L);
            FloatVector b0 = FloatVector.broadcast(F32.SPECIES, t.s[p0 + j]);
            a00 = v0.fma(b0, a00); a01 = v1.fma(b0, a01);
            FloatVector b1 = FloatVector.broadcast(F32.SPECIES, t.s[p0 + KB + j]);
            a10 = v0.fma(b1, a10); a11 = v1.fma(b1, a11);
            FloatVector b2 = FloatVector.broadcast(F32.SPECIES, t.s[p0 + 2 * KB + j]);
            a20 = v0.fma(b2, a20); a21 = v1.fma(b2, a21);
            FloatVector b3 = FloatVector.broadcast(F32.SPECIES, t.s[p0 + 3 * KB + j]);
            a30 = v0.fma(b3, a30); a31 = v1.fma(b3, a31);
        }
        a00.intoArray(t.o, o0); a01.intoArray(t.o, o0 + L);
        a10.intoArray(t.o, o1); a11.intoArray(t.o, o1 + L);
        a20.intoArray(t.o, o2); a21.intoArray(t.o, o2 + L);
        a30.intoArray(t.o, o3); a31.intoArray(t.o, o3 + L);
    }

    private static void accumulate4x1(Tile t, int i, int c, int cols, int dv) {
        int o0 = i * dv + c, o1 = o0 + dv, o2 = o1 + dv, o3 = o2 + dv;
        FloatVector a0 = FloatVector.fromArray(F32.SPECIES, t.o, o0).mul(t.correction[i]);
        FloatVector a1 = FloatVector.fromArray(F32.SPECIES, t.o, o1).mul(t.correction[i + 1]);
        FloatVector a2 = FloatVector.fromArray(F32.SPECIES, t.o, o2).mul(t.correction[i + 2]);
        FloatVector a3 = FloatVector.fromArray(F32.SPECIES, t.o, o3).mul(t.correction[i + 3]);
        int p0 = i * KB;
        for (int j = 0, vj = c; j < cols; j++, vj += dv) {
            FloatVector vv = FloatVector.fromArray(F32.SPECIES, t.v, vj);
            a0 = vv.fma(FloatVector.broadcast(F32.SPECIES, t.s[p0 + j]), a0);
            a1 = vv.fma(FloatVector.broadcast(F32.SPECIES, t.s[p0 + KB + j]), a1);
            a2 = vv.fma(FloatVector.broadcast(F32.SPECIES, t.s[p0 + 2 * KB + j]), a2);
            a3 = vv.fma(FloatVector.broadcast(F32.SPECIES, t.s[p0 + 3 * KB + j]), a3);
        }
        a0.intoArray(t.o, o0);
        a1.intoArray(t.o, o1);
        a2.intoArray(t.o, o2);
        a3.intoArray(t.o, o3);
    }
}
