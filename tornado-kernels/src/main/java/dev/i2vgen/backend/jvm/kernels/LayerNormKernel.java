package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/** LayerNorm over the last axis (statistics in double, biased variance); parallel over rows. */
public final class LayerNormKernel {
    private LayerNormKernel() {}

    public static void run(MemorySegment x, long rows, int d, MemorySegment gamma, MemorySegment beta, float eps, MemorySegment out) {
        Parallel.forRange((int) rows, Math.max(1, 4096 / d), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * d;
                double mean = Reductions.sum(x, base, d) / d;
                double var = Reductions.sumSquaredDeviation(x, base, d, (float) mean) / d;
                float rstd = (float) (1.0 / Math.sqrt(var + eps));
                float m = (float) mean;
                int j = 0;
                for (int upper = d - d % F32.LANES; j < upper; j += F32.LANES) {
                    FloatVector v = F32.load(x, base + j).sub(m).mul(rstd);
                    F32.store(v.fma(F32.load(gamma, j), F32.load(beta, j)), out, base + j);
                }
                for (; j < d; j++) F32.set(out, base + j, (F32.get(x, base + j) - m) * rstd * F32.get(gamma, j) + F32.get(beta, j));
            }
        });
    }
}
