package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** Pre-fills an output with its bias so that the GEMM can accumulate onto it. */
final class BiasFill {
    private BiasFill() {}

    /** out[r, j] = bias[j] for a row-major [rows, n] output. */
    static void rows(MemorySegment out, int rows, int n, MemorySegment bias) {
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(n, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) F32.copy(bias, 0, out, (long) r * n, n);
        });
    }

    /** out[c, s] = bias[c] for a channel-major [channels, spatial] output at element offset {@code off}. */
    static void channels(MemorySegment out, long off, int channels, long spatial, MemorySegment bias) {
        Parallel.forRange(channels, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                float b = F32.get(bias, c);
                long base = off + c * spatial;
                for (long s = 0; s < spatial; s++) F32.set(out, base + s, b);
            }
        });
    }
}
