package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/**
 * GroupNorm over x[N, D…, C, S…] with the channels on {@code channelAxis} (statistics in double, biased variance),
 * optional fused SiLU; parallel over (n, group). A group of n is {@code mid} = ∏D segments of C/G·∏S contiguous
 * elements, one per D index, at a stride of C·∏S (one segment when the channels are axis 1).
 */
public final class GroupNormKernel {
    private GroupNormKernel() {}

    public static void run(MemorySegment x, int[] shape, MemorySegment gamma, MemorySegment beta, int groups, float eps, boolean silu, MemorySegment out) {
        run(x, shape, 1, gamma, beta, groups, eps, silu, out);
    }

    public static void run(MemorySegment x, int[] shape, int channelAxis, MemorySegment gamma, MemorySegment beta, int groups, float eps,
                           boolean silu, MemorySegment out) {
        int n = shape[0], c = shape[channelAxis];
        long mid = 1, spatial = 1;
        for (int i = 1; i < channelAxis; i++) mid *= shape[i];
        for (int i = channelAxis + 1; i < shape.length; i++) spatial *= shape[i];
        int cpg = c / groups;
        long segment = cpg * spatial, stride = c * spatial, count = mid * segment;
        long sp = spatial, md = mid;
        Parallel.forRange(n * groups, 1, (g0, g1) -> {
            for (int ng = g0; ng < g1; ng++) {
                int image = ng / groups, group = ng % groups;
                long first = (long) image * md * stride + (long) group * segment;   // segment m starts at first + m·stride
                double total = 0;
                for (long m = 0; m < md; m++) total += Reductions.sum(x, first + m * stride, segment);
                double mean = total / count;
                double dev = 0;
                for (long m = 0; m < md; m++) dev += Reductions.sumSquaredDeviation(x, first + m * stride, segment, (float) mean);
                float rstd = (float) (1.0 / Math.sqrt(dev / count + eps));
                float mf = (float) mean;
                int firstChannel = group * cpg;
                for (int ci = 0; ci < cpg; ci++) {
                    float scale = F32.get(gamma, firstChannel + ci) * rstd;
                    float shift = F32.get(beta, firstChannel + ci) - mf * scale;
                    for (long m = 0; m < md; m++) Elementwise.scaleShift(x, out, first + m * stride + ci * sp, sp, scale, shift, silu);
                }
            }
        });
    }
}
