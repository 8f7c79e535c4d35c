package dev.i2vgen.backend.jvm.kernels;

import java.lang.foreign.MemorySegment;

/** y[rows, n] = x[rows, k] · W[n, k]ᵀ + bias[n], through {@link Sgemm} (W read transposed in place). */
public final class LinearKernel {
    private LinearKernel() {}

    public static void run(MemorySegment x, int rows, int k, MemorySegment w, int n, MemorySegment bias, MemorySegment out) {
        if (bias != null) BiasFill.rows(out, rows, n, bias);
        Sgemm.multiply(rows, n, k, 1f, Sgemm.Strided.rowMajor(x, 0, k), Sgemm.Strided.transposed(w, 0, k), out, 0, n, bias != null);
    }
}
