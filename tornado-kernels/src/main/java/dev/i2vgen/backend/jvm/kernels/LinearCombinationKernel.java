package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/**
 * out = Σ_i c[i]·term_i in float32, in the order every backend uses (see {@link dev.i2vgen.graph.ops.LinearCombination}):
 * acc = c0·t0, then acc = fma(c_i, t_i, acc). The vector lanes and the scalar tail compute the same fused operations,
 * so the result does not depend on where a vector boundary falls. The coefficients are read on every run.
 */
public final class LinearCombinationKernel {
    private LinearCombinationKernel() {}

    public static void run(MemorySegment coefficients, MemorySegment[] terms, long n, MemorySegment out) {
        int k = terms.length;
        float[] c = new float[k];
        FloatVector[] cv = new FloatVector[k];
        for (int i = 0; i < k; i++) {
            c[i] = F32.get(coefficients, i);
            cv[i] = FloatVector.broadcast(F32.SPECIES, c[i]);
        }
        Parallel.forLongRange(n, 1 << 14, (a, b) -> {
            long i = a;
            for (long upper = b - (b - a) % F32.LANES; i < upper; i += F32.LANES) {
                FloatVector acc = F32.load(terms[0], i).mul(cv[0]);
                for (int t = 1; t < k; t++) acc = F32.load(terms[t], i).fma(cv[t], acc);
                F32.store(acc, out, i);
            }
            for (; i < b; i++) {
                float acc = c[0] * F32.get(terms[0], i);
                for (int t = 1; t < k; t++) acc = Math.fma(c[t], F32.get(terms[t], i), acc);
                F32.set(out, i, acc);
            }
        });
    }
}
