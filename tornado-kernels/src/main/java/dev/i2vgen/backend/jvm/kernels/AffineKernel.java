package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** out = x·scale + shift. */
public final class AffineKernel {
    private AffineKernel() {}

    public static void run(MemorySegment x, long n, float scale, float shift, MemorySegment out) {
        Parallel.forLongRange(n, 1 << 14, (a, b) -> Elementwise.scaleShift(x, out, a, b - a, scale, shift, false));
    }
}
