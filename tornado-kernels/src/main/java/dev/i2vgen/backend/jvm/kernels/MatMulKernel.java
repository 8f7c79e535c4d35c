package dev.i2vgen.backend.jvm.kernels;

import java.lang.foreign.MemorySegment;

/** Batched out[..., M, N] = alpha · a[..., M, K] · b[..., K, N] (b[..., N, K] when transposed; rank-2 b is shared). */
public final class MatMulKernel {
    private MatMulKernel() {}

    public static void run(MemorySegment a, int[] aShape, MemorySegment b, int[] bShape, boolean transposeB, float alpha, MemorySegment out) {
        int r = aShape.length;
        int m = aShape[r - 2], k = aShape[r - 1];
        int n = transposeB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
        long batch = 1;
        for (int i = 0; i < r - 2; i++) batch *= aShape[i];
        boolean sharedB = bShape.length == 2;
        for (long bi = 0; bi < batch; bi++) {
            long bOff = sharedB ? 0 : bi * (long) k * n;
            Sgemm.Strided bm = transposeB ? Sgemm.Strided.transposed(b, bOff, k) : Sgemm.Strided.rowMajor(b, bOff, n);
            Sgemm.multiply(m, n, k, alpha, Sgemm.Strided.rowMajor(a, bi * (long) m * k, k), bm, out, bi * (long) m * n, n, false);
        }
    }
}
