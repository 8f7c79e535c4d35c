package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** Contiguous copy of [start, end) along {@code axis}. */
public final class SliceKernel {
    private SliceKernel() {}

    public static void run(MemorySegment x, int[] xs, int axis, int start, int end, MemorySegment out) {
        int ax = axis < 0 ? axis + xs.length : axis;
        long outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= xs[i];
        for (int i = ax + 1; i < xs.length; i++) inner *= xs[i];
        long inBlock = xs[ax] * inner, outBlock = (long) (end - start) * inner, skip = start * inner;
        Parallel.forRange((int) outer, Math.max(1, (int) (8192 / Math.max(outBlock, 1))), (o0, o1) -> {
            for (long o = o0; o < o1; o++) F32.copy(x, o * inBlock + skip, out, o * outBlock, outBlock);
        });
    }
}
