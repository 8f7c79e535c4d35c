package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** Concatenation along {@code axis}: for each outer index, the parts' inner blocks are copied side by side. */
public final class ConcatKernel {
    private ConcatKernel() {}

    public static void run(List<MemorySegment> parts, List<int[]> shapes, int axis, MemorySegment out, int[] os) {
        int ax = axis < 0 ? axis + os.length : axis;
        long outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= os[i];
        for (int i = ax + 1; i < os.length; i++) inner *= os[i];
        long outBlock = os[ax] * inner;
        long[] blocks = new long[parts.size()];
        long[] starts = new long[parts.size()];
        long pos = 0;
        for (int p = 0; p < parts.size(); p++) {
            blocks[p] = shapes.get(p)[ax] * inner;
            starts[p] = pos;
            pos += blocks[p];
        }
        long in = inner;
        Parallel.forRange((int) outer, Math.max(1, (int) (8192 / Math.max(outBlock, 1))), (o0, o1) -> {
            for (long o = o0; o < o1; o++) {
                for (int p = 0; p < blocks.length; p++) F32.copy(parts.get(p), o * blocks[p], out, o * outBlock + starts[p], blocks[p]);
            }
        });
    }
}
