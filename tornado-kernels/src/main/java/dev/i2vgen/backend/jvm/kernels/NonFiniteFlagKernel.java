package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * out = previous if non-zero, else stepIndex + 1 if x holds a NaN or ±Inf, else 0 (see
 * {@link dev.i2vgen.graph.ops.NonFiniteFlag}). A flag already set skips the scan; the scan stops at the first bad element.
 */
public final class NonFiniteFlagKernel {
    private NonFiniteFlagKernel() {}

    public static void run(MemorySegment x, long n, MemorySegment previous, MemorySegment step, MemorySegment out) {
        float before = F32.get(previous, 0);
        F32.set(out, 0, before != 0 ? before : allFinite(x, n) ? 0f : F32.get(step, 0) + 1f);
    }

    static boolean allFinite(MemorySegment x, long n) {
        long i = 0;
        for (long upper = n - n % F32.LANES; i < upper; i += F32.LANES) {
            if (!F32.load(x, i).test(VectorOperators.IS_FINITE).allTrue()) return false;
        }
        for (; i < n; i++) if (!Float.isFinite(F32.get(x, i))) return false;
        return true;
    }
}
