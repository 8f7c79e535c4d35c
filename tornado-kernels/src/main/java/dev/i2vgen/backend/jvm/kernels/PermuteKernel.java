package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** Contiguous copy with permuted axes (output axis i = input axis perm[i]); parallel over output rows. */
public final class PermuteKernel {
    private PermuteKernel() {}

    public static void run(MemorySegment x, int[] xs, int[] perm, MemorySegment out) {
        int r = xs.length;
        long[] inStrides = new long[r];
        long acc = 1;
        for (int i = r - 1; i >= 0; i--) { inStrides[i] = acc; acc *= xs[i]; }
        int[] os = new int[r];
        long[] srcStride = new long[r];   // input stride of each output axis
        for (int i = 0; i < r; i++) { os[i] = xs[perm[i]]; srcStride[i] = inStrides[perm[i]]; }
        int last = r == 0 ? 1 : os[r - 1];
        long lastStride = r == 0 ? 0 : srcStride[r - 1];
        long rows = F32.numel(os) / Math.max(last, 1);
        int unit = -1; // the output axis that walks the input contiguously
        for (int i = 0; i < r - 1; i++) if (srcStride[i] == 1 && os[i] > 1) unit = i;
        if (lastStride != 1 && unit >= 0 && last > 1) {
            transposeTiles(x, os, srcStride, unit, out);
            return;
        }
        Parallel.forRange((int) rows, Math.max(1, 8192 / Math.max(last, 1)), (r0, r1) -> {
            for (long row = r0; row < r1; row++) {
                long src = 0, rem = row;
                for (int ax = r - 2; ax >= 0; ax--) {
                    src += (rem % os[ax]) * srcStride[ax];
                    rem /= os[ax];
                }
                long dst = row * last;
                if (lastStride == 1) F32.copy(x, src, out, dst, last);
                else for (int j = 0; j < last; j++) F32.set(out, dst + j, F32.get(x, src + j * lastStride));
            }
        });
    }

    private static final int TILE = 32;

    /**
     * The case where the output's last axis is strided in the input (e.g. [N, C, HW] → [N, HW, C]):
     * copy TILE×TILE squares of the plane spanned by that axis and the input's contiguous axis, so
     * both reads and writes stay within a few cache lines.
     */
    private static void transposeTiles(MemorySegment x, int[] os, long[] srcStride, int unit, MemorySegment out) {
        int r = os.length, last = os[r - 1], rowsA = os[unit];
        long[] outStride = new long[r];
        long acc = 1;
        for (int i = r - 1; i >= 0; i--) { outStride[i] = acc; acc *= os[i]; }
        long outer = F32.numel(os) / ((long) last * rowsA);
        int aTiles = (rowsA + TILE - 1) / TILE;
        long lastStride = srcStride[r - 1];
        Parallel.forRange((int) (outer * aTiles), 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                long o = t / aTiles;
                int a0 = (t % aTiles) * TILE, a1 = Math.min(rowsA, a0 + TILE);
                long src = 0, dst = 0, rem = o;
                for (int ax = r - 2; ax >= 0; ax--) {
                    if (ax == unit) continue;
                    long c = rem % os[ax];
                    rem /= os[ax];
                    src += c * srcStride[ax];
                    dst += c * outStride[ax];
                }
                for (int b0 = 0; b0 < last; b0 += TILE) {
                    int b1 = Math.min(last, b0 + TILE);
                    for (int a = a0; a < a1; a++) {
                        long d = dst + a * outStride[unit], s = src + a;
                        for (int b = b0; b < b1; b++) F32.set(out, d + b, F32.get(x, s + b * lastStride));
                    }
                }
            }
        });
    }
}
