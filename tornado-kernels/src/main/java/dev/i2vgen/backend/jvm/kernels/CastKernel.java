package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * Conversion to {@code target}. JVM buffers are F32, so float targets are a copy (the plan rounds
 * F16/BF16 results to their precision); integer targets truncate toward zero like torch's casts.
 */
public final class CastKernel {
    private CastKernel() {}

    public static void run(MemorySegment x, long n, DType target, MemorySegment out) {
        if (target.isFloating()) {
            F32.copy(x, 0, out, 0, n);
            return;
        }
        Parallel.forLongRange(n, 1 << 14, (a, b) -> {
            for (long i = a; i < b; i++) {
                float v = F32.get(x, i);
                F32.set(out, i, target == DType.BOOL ? (v != 0 ? 1f : 0f) : (float) (long) v);
            }
        });
    }
}
