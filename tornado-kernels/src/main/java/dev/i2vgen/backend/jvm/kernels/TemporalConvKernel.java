package dev.i2vgen.backend.jvm.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Convolution over frames with a (k,1,1) kernel: for each tap t one GEMM
 * out[b][O, f·HW] += W_t[O, C] · x[b][C, (f + t − pad)·HW], over the frames where the shifted frame
 * exists (zero padding contributes nothing), with W_t read in place through strides.
 */
public final class TemporalConvKernel {
    private TemporalConvKernel() {}

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
