package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/**
 * Single-precision GEMM, C[M,N] = alpha · A[M,K] · B[K,N] (+ C), in the BLIS style: B is packed in
 * KC×NC blocks into NR-wide column panels, A in MC×KC blocks into MR-high row panels, and a
 * register-blocked MR×NR micro-kernel (Vector API FMAs) runs over the panels. Blocks of A times
 * chunks of B panels are spread over the worker threads. Operands are read through strides (so
 * transposes are free) or, for B, through any {@link PanelSource} (implicit im2col for convolutions).
 */
public final class Sgemm {
    private Sgemm() {}

    /**
     * Rows per micro-tile. 4×(2 vectors) keeps 8 accumulators + 2 B vectors + 1 broadcast in the 16
     * AVX2 registers; 6 rows (15 live vectors) made C2 spill and ran 3× slower.
     */
    static final int MR = 4;
    /** Columns per micro-tile: two vectors. */
    static final int NR = 2 * F32.LANES;
    /** Depth of a packed block (A panel + B panel stay in L1/L2). */
    static final int KC = 256;
    /** Rows of A per packed block (MC·KC floats = 128 KB, in L2). */
    static final int MC = 32 * MR;
    /** Columns of B per packed block (KC·NC floats in L3). */
    static final int NC = 256 * NR;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][]);

    /** Packs columns [j0, j0 + cols) (cols ≤ NR) of rows [k0, k0 + kc) of a K×N matrix into dst[k·NR + j], zero-padded. */
    public interface PanelSource {
        void packPanel(int k0, int kc, int j0, int cols, float[] dst, int off);
    }

    /** A matrix in a buffer: element (r, c) at index offset + r·rowStride + c·colStride. */
    public record Strided(MemorySegment seg, long offset, long rowStride, long colStride) implements PanelSource {
        public static Strided rowMajor(MemorySegment seg, long offset, long ld) { return new Strided(seg, offset, ld, 1); }

        /** The transpose view of a row-major [rows, ld] matrix. */
        public static Strided transposed(MemorySegment seg, long offset, long ld) { return new Strided(seg, offset, 1, ld); }

        public void packPanel(int k0, int kc, int j0, int cols, float[] dst, int off) {
            pack(k0, kc, j0, cols, NR, dst, off, rowStride, colStride);
        }

        /** Packs rows [i0, i0 + rows) of columns [k0, k0 + kc) as an MR-high panel: dst[k·MR + i]. */
        void packRows(int i0, int rows, int k0, int kc, float[] dst, int off) {
            pack(i0, rows, k0, kc, dst, off);
        }

        private void pack(int i0, int rows, int k0, int kc, float[] dst, int off) {
            if (rows < MR) java.util.Arrays.fill(dst, off, off + kc * MR, 0f);
            float[] line = lineBuffer(kc);
            for (int i = 0; i < rows; i++) {
                readLine(offset + (long) (i0 + i) * rowStride + (long) k0 * colStride, colStride, kc, line);
                for (int k = 0; k < kc; k++) dst[off + k * MR + i] = line[k];
            }
        }

        private void pack(int k0, int kc, int j0, int cols, int width, float[] dst, int off, long rs, long cs) {
            if (cols < width) java.util.Arrays.fill(dst, off, off + kc * width, 0f);
            if (cs == 1) {
                for (int k = 0; k < kc; k++) {
                    long base = offset + (long) (k0 + k) * rs + j0;
                    MemorySegment.copy(seg, F32.LAYOUT, base * 4, dst, off + k * width, cols);
                }
            } else {
                float[] line = lineBuffer(kc);
                for (int j = 0; j < cols; j++) {
                    readLine(offset + (long) k0 * rs + (long) (j0 + j) * cs, rs, kc, line);
                    for (int k = 0; k < kc; k++) dst[off + k * width + j] = line[k];
                }
            }
        }

        /** n elements starting at {@code start}, {@code stride} apart (a bulk copy when contiguous). */
        private void readLine(long start, long stride, int n, float[] line) {
            if (stride == 1) MemorySegment.copy(seg, F32.LAYOUT, start * 4, line, 0, n);
            else for (int k = 0; k < n; k++) line[k] = F32.get(seg, start + k * stride);
        }
    }

    private static final ThreadLocal<float[]> LINE = ThreadLocal.withInitial(() -> new float[KC]);

    private static float[] lineBuffer(int n) {
        float[] b = LINE.get();
        if (b.length < n) LINE.set(b = new float[n]);
        return b;
    }

    /**
     * C[i, j] at c[cOff + i·ldc + j] = alpha · Σ_k A[i,k]·B[k,j] (+ the previous C when accumulate).
     */
    public static void multiply(int m, int n, int k, float alpha, Strided a, PanelSource b,
                                MemorySegment c, long cOff, long ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) for (int i = 0; i < m; i++) c.asSlice((cOff + i * ldc) * 4, n * 4L).fill((byte) 0);
            return;
        }
        // The packed-B buffer is taken out of this thread's slot while in use, so a multiply nested on the same
        // thread (a PanelSource or a work-stealing join running another GEMM) allocates its own instead of overwriting it.
        float[][] scratch = SCRATCH.get();
        float[] packedB = scratch[0];
        scratch[0] = null;
        try {
            packedB = multiplyBlocks(m, n, k, alpha, a, b, c, cOff, ldc, accumulate, packedB);
        } finally {
            scratch[0] = packedB;
        }
    }

    /** The blocked loops of {@link #multiply}; returns the (possibly grown) packed-B buffer for reuse. */
    private static float[] multiplyBlocks(int m, int n, int k, float alpha, Strided a, PanelSource b,
                                          MemorySegment c, long cOff, long ldc, boolean accumulate, float[] packedB) {
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            int panels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                int panelSize = kc * NR;
                if (packedB == null || packedB.length < panels * panelSize) packedB = new float[panels * panelSize];
                float[] bp = packedB;
                final int jcf = jc, pcf = pc;
                Parallel.forRange(panels, Math.max(1, 16384 / panelSize), (p0, p1) -> {
                    for (int p = p0; p < p1; p++) {
                        int j0 = jcf + p * NR;
                        b.packPanel(pcf, kc, j0, Math.min(NR, jcf + nc - j0), bp, p * panelSize);
                    }
                });
                boolean acc = accumulate || pc > 0;
                int mBlocks = (m + MC - 1) / MC;
                int want = Parallel.threads() * 3;
                int nChunks = Math.max(1, Math.min(panels, (want + mBlocks - 1) / mBlocks));
                int tasks = mBlocks * nChunks;
                Parallel.forRange(tasks, 1, (t0, t1) -> {
                    float[][] local = SCRATCH.get();
                    int aSize = MC * kc;
                    if (local[1] == null || local[1].length < aSize) local[1] = new float[aSize];
                    float[] ap = local[1];
                    int packedBlock = -1;
                    float[] tile = new float[MR * NR];
                    for (int t = t0; t < t1; t++) {
                        int mb = t / nChunks, ch = t % nChunks;
                        int i0 = mb * MC, mc = Math.min(MC, m - i0);
                        if (packedBlock != mb) {
                            for (int ip = 0; ip < mc; ip += MR) a.packRows(i0 + ip, Math.min(MR, mc - ip), pcf, kc, ap, ip * kc);
                            packedBlock = mb;
                        }
                        int pFrom = panels * ch / nChunks, pTo = panels * (ch + 1) / nChunks;
                        for (int p = pFrom; p < pTo; p++) {
                            int j0 = jcf + p * NR, nr = Math.min(NR, jcf + nc - j0);
                            for (int ip = 0; ip < mc; ip += MR) {
                                int mr = Math.min(MR, mc - ip);
                                microKernel(kc, ap, ip * kc, bp, p * panelSize, c, cOff + (long) (i0 + ip) * ldc + j0, ldc,
                                        mr, nr, alpha, acc, tile);
                            }
                        }
                    }
                });
            }
        }
        return packedB;
    }

    /** MR×NR tile: eight vector accumulators, one broadcast of A and two vectors of B per k (fits 16 registers). */
    private static void microKernel(int kc, float[] ap, int aOff, float[] bp, int bOff, MemorySegment c, long cIdx, long ldc,
                                    int mr, int nr, float alpha, boolean acc, float[] tile) {
        final int L = F32.LANES;
        FloatVector z = FloatVector.zero(F32.SPECIES);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        int ai = aOff, bi = bOff;
        for (int kk = 0; kk < kc; kk++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(F32.SPECIES, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F32.SPECIES, bp, bi + L);
            FloatVector a0 = FloatVector.broadcast(F32.SPECIES, ap[ai]);
            c00 = b0.fma(a0, c00); c01 = b1.fma(a0, c01);
            FloatVector a1 = FloatVector.broadcast(F32.SPECIES, ap[ai + 1]);
            c10 = b0.fma(a1, c10); c11 = b1.fma(a1, c11);
            FloatVector a2 = FloatVector.broadcast(F32.SPECIES, ap[ai + 2]);
            c20 = b0.fma(a2, c20); c21 = b1.fma(a2, c21);
            FloatVector a3 = FloatVector.broadcast(F32.SPECIES, ap[ai + 3]);
            c30 = b0.fma(a3, c30); c31 = b1.fma(a3, c31);
        }
        if (mr == MR && nr == NR) {
            store(c00, c01, c, cIdx, alpha, acc);
            store(c10, c11, c, cIdx + ldc, alpha, acc);
            store(c20, c21, c, cIdx + 2 * ldc, alpha, acc);
            store(c30, c31, c, cIdx + 3 * ldc, alpha, acc);
            return;
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + L);
        for (int i = 0; i < mr; i++) {
            long row = cIdx + i * ldc;
            for (int j = 0; j < nr; j++) {
                float v = alpha * tile[i * NR + j];
                F32.set(c, row + j, acc ? F32.get(c, row + j) + v : v);
            }
        }
    }

    private static void store(FloatVector v0, FloatVector v1, MemorySegment c, long idx, float alpha, boolean acc) {
        if (alpha != 1f) { v0 = v0.mul(alpha); v1 = v1.mul(alpha); }
        if (acc) {
            v0 = v0.add(F32.load(c, idx));
            v1 = v1.add(F32.load(c, idx + F32.LANES));
        }
        F32.store(v0, c, idx);
        F32.store(v1, c, idx + F32.LANES);
    }
}
