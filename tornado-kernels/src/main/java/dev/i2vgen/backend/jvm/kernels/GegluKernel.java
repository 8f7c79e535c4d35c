package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** out[r, j] = x[r, j] · gelu_erf(x[r, D + j]) for x[rows, 2D]; parallel over rows. */
public final class GegluKernel {
    private GegluKernel() {}

    public static void run(MemorySegment x, long rows, int d, MemorySegment out) {
        Parallel.forRange((int) rows, Math.max(1, 8192 / d), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                long in = r * 2 * d, o = r * d;
                int j = 0;
                for (int upper = d - d % F32.LANES; j < upper; j += F32.LANES) {
                    F32.store(F32.load(x, in + j).mul(Elementwise.gelu(F32.load(x, in + d + j))), out, o + j);
                }
                for (; j < d; j++) F32.set(out, o + j, F32.get(x, in + j) * Elementwise.gelu(F32.get(x, in + d + j)));
            }
        });
    }
}
