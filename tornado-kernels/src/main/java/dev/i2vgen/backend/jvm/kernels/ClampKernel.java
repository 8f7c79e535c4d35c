package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** out = min(max(x, min), max). */
public final class ClampKernel {
    private ClampKernel() {}

    public static void run(MemorySegment x, long n, float min, float max, MemorySegment out) {
        Parallel.forLongRange(n, 1 << 14, (a, b) -> {
            for (long i = a; i < b; i++) F32.set(out, i, Math.min(Math.max(F32.get(x, i), min), max));
        });
    }
}
