package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;

import java.lang.foreign.MemorySegment;

/**
 * Convolution over frames with a (k,1,1) kernel: for each tap t one GEMM
 * out[b][O, f·HW] += W_t[O, C] · x[b][C, (f + t − pad)·HW], over the frames where the shifted frame
 * exists (zero padding contributes nothing), with W_t read in place through strides.
 */
public final class TemporalConvKernel {
    private TemporalConvKernel() {}

    /**
     * Frames-first: x[B, F, C, H, W] → out[B, F, O, H, W] (+ residual, shaped like out, when not null). Each output
     * frame is its own [O, H·W] matrix: bias (and residual) first, then one GEMM per tap whose shifted frame exists.
     */
    public static void runFramesFirst(MemorySegment x, int[] xs, MemorySegment w, int[] ws, MemorySegment bias, MemorySegment residual,
                                      MemorySegment out) {
        int batch = xs[0], f = xs[1], c = xs[2];
        long hw = (long) xs[3] * xs[4];
        int o = ws[0], k = ws[2], pad = (k - 1) / 2;
        for (int b = 0; b < batch; b++) {
            for (int fr = 0; fr < f; fr++) {
                long oOff = ((long) b * f + fr) * o * hw;
                boolean acc = bias != null || residual != null;   // the centre tap always exists: it sets acc otherwise
                if (bias != null) BiasFill.channels(out, oOff, o, hw, bias);
                else if (residual != null) F32.copy(residual, oOff, out, oOff, o * hw);
                if (bias != null && residual != null) addInPlace(out, residual, oOff, o * hw);
                for (int t = 0; t < k; t++) {
                    int src = fr + t - pad;
                    if (src < 0 || src >= f) continue;   // zero padding contributes nothing
                    Sgemm.Strided a = new Sgemm.Strided(w, t, (long) c * k, k);
                    Sgemm.Strided bm = Sgemm.Strided.rowMajor(x, ((long) b * f + src) * c * hw, hw);
                    Sgemm.multiply(o, (int) hw, c, 1f, a, bm, out, oOff, hw, acc);
                    acc = true;
                }
            }
        }
    }

    private static void addInPlace(MemorySegment out, MemorySegment residual, long off, long n) {
        for (long i = 0; i < n; i++) F32.set(out, off + i, F32.get(out, off + i) + F32.get(residual, off + i));
    }

    public static void run(MemorySegment x, int[] xs, MemorySegment w, int[] ws, MemorySegment bias, MemorySegment out) {
        int batch = xs[0], c = xs[1], f = xs[2];
        long hw = (long) xs[3] * xs[4];
        int o = ws[0], k = ws[2], pad = (k - 1) / 2;
        long frameCols = f * hw;
        for (int b = 0; b < batch; b++) {
            long xOff = (long) b * c * frameCols, oOff = (long) b * o * frameCols;
            boolean acc = bias != null;
            if (bias != null) BiasFill.channels(out, oOff, o, frameCols, bias);
            // centre tap first: it covers every frame, so it can initialise the output when there is no bias
            int[] taps = new int[k];
            taps[0] = pad;
            for (int t = 0, i = 1; t < k; t++) if (t != pad) taps[i++] = t;
            for (int t : taps) {
                int shift = t - pad;
                int f0 = Math.max(0, -shift), f1 = Math.min(f, f - shift);
                if (f0 >= f1) continue;
                Sgemm.Strided a = new Sgemm.Strided(w, t, (long) c * k, k);
                Sgemm.Strided bm = Sgemm.Strided.rowMajor(x, xOff + (f0 + shift) * hw, frameCols);
                Sgemm.multiply(o, (int) ((f1 - f0) * hw), c, 1f, a, bm, out, oOff + f0 * hw, frameCols, acc);
                acc = true;
            }
        }
    }
}
