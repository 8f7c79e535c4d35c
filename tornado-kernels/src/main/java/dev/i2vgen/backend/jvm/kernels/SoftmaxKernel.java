package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/** Softmax over the last axis, max-subtracted (sum in double); vectorised, parallel over rows. */
public final class SoftmaxKernel {
    private SoftmaxKernel() {}

    public static void run(MemorySegment x, long rows, int d, MemorySegment out) {
        int vecEnd = d - d % F32.LANES;
        Parallel.forRange((int) rows, Math.max(1, 4096 / d), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                long base = r * d;
                FloatVector mv = FloatVector.broadcast(F32.SPECIES, Float.NEGATIVE_INFINITY);
                for (int j = 0; j < vecEnd; j += F32.LANES) mv = mv.max(F32.load(x, base + j));
                float max = mv.reduceLanes(VectorOperators.MAX);
                for (int j = vecEnd; j < d; j++) max = Math.max(max, F32.get(x, base + j));
                double sum = 0;
                for (int j = 0; j < vecEnd; j += F32.LANES) {
                    FloatVector e = F32.load(x, base + j).sub(max).lanewise(VectorOperators.EXP);
                    F32.store(e, out, base + j);
                    sum += e.reduceLanes(VectorOperators.ADD);
                }
                for (int j = vecEnd; j < d; j++) {
                    float e = (float) Math.exp(F32.get(x, base + j) - max);
                    F32.set(out, base + j, e);
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int j = 0; j < vecEnd; j += F32.LANES) F32.store(F32.load(out, base + j).mul(inv), out, base + j);
                for (int j = vecEnd; j < d; j++) F32.set(out, base + j, F32.get(out, base + j) * inv);
            }
        });
    }
}
