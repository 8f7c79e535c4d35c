package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** One DDIM update, element-wise; see {@link dev.i2vgen.graph.ops.DdimStep} for the coefficients. */
public final class DdimStepKernel {
    private DdimStepKernel() {}

    public static void run(MemorySegment sample, MemorySegment model, MemorySegment coef, MemorySegment noise, long n, MemorySegment out) {
        float at = F32.get(coef, 0), bt = F32.get(coef, 1), aPrev = F32.get(coef, 2), dir = F32.get(coef, 3), sigma = F32.get(coef, 4);
        int type = Math.round(F32.get(coef, 5));
        float clip = F32.get(coef, 6);
        if (type < 0 || type > 2) throw new IllegalArgumentException("ddim_step: prediction type " + type + " is not 0 (epsilon), 1 (v) or 2 (sample)");
        boolean addNoise = sigma > 0 && noise != null;
        Parallel.forLongRange(n, 1 << 14, (a, b) -> {
            for (long i = a; i < b; i++) {
                float x = F32.get(sample, i), m = F32.get(model, i);
                float x0, eps;
                switch (type) {
                    case 0 -> { x0 = (x - bt * m) / at; eps = m; }
                    case 1 -> { x0 = at * x - bt * m; eps = at * m + bt * x; }
                    default -> { x0 = m; eps = (x - at * x0) / bt; }
                }
                if (clip > 0) {
                    x0 = Math.min(Math.max(x0, -clip), clip);
                }
                float prev = aPrev * x0 + dir * eps;
                if (addNoise) prev += sigma * F32.get(noise, i);
                F32.set(out, i, prev);
            }
        });
    }
}
