package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** GroupNorm over x[N, C, S...] (statistics in double, biased variance), optional fused SiLU; parallel over (n, group). */
public final class GroupNormKernel {
    private GroupNormKernel() {}

    public static void run(MemorySegment x, int[] shape, MemorySegment gamma, MemorySegment beta, int groups, float eps, boolean silu, MemorySegment out) {
        int n = shape[0], c = shape[1];
        long spatial = 1;
        for (int i = 2; i < shape.length; i++) spatial *= shape[i];
        int cpg = c / groups;
        long groupSize = cpg * spatial;
        long sp = spatial;
        Parallel.forRange(n * groups, 1, (g0, g1) -> {
            for (int ng = g0; ng < g1; ng++) {
                long base = (long) ng * groupSize;
                double mean = Reductions.sum(x, base, groupSize) / groupSize;
                double var = Reductions.sumSquaredDeviation(x, base, groupSize, (float) mean) / groupSize;
                float rstd = (float) (1.0 / Math.sqrt(var + eps));
                float m = (float) mean;
                int firstChannel = (ng % groups) * cpg;
                for (int ci = 0; ci < cpg; ci++) {
                    float scale = F32.get(gamma, firstChannel + ci) * rstd;
                    float shift = F32.get(beta, firstChannel + ci) - m * scale;
                    Elementwise.scaleShift(x, out, base + ci * sp, sp, scale, shift, silu);
                }
            }
        });
    }
}
