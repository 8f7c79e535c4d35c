package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** Nearest resize of x[N, C, H, W] to [N, C, outH, outW] with PyTorch's 'nearest' index rule. */
public final class UpsampleNearestKernel {
    private UpsampleNearestKernel() {}

    public static void run(MemorySegment x, int[] xs, int outH, int outW, MemorySegment out) {
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        int[] rowSrc = sourceIndices(h, outH), colSrc = sourceIndices(w, outW);
        Parallel.forRange(planes, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                long in = (long) p * h * w, o = (long) p * outH * outW;
                for (int i = 0; i < outH; i++) {
                    long srcRow = in + (long) rowSrc[i] * w, dstRow = o + (long) i * outW;
                    for (int j = 0; j < outW; j++) F32.set(out, dstRow + j, F32.get(x, srcRow + colSrc[j]));
                }
            }
        });
    }

    /** PyTorch: same size → identity, double → dst/2, else min(floor(dst · (float) in/out), in − 1). */
    static int[] sourceIndices(int in, int out) {
        int[] s = new int[out];
        float scale = (float) in / out;
        for (int i = 0; i < out; i++) {
            s[i] = out == in ? i : out == 2 * in ? i >> 1 : Math.min((int) Math.floor(i * scale), in - 1);
        }
        return s;
    }
}
