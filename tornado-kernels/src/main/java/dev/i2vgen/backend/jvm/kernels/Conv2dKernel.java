package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.graph.ops.Conv2d;

import java.lang.foreign.MemorySegment;

/**
 * 2-D convolution as one GEMM per image: out[O, Ho·Wo] = W[O, C·kh·kw] · col[C·kh·kw, Ho·Wo] (+ bias).
 * 1×1 stride-1 unpadded convolutions read the input directly; all others form the im2col matrix
 * implicitly, one packed GEMM panel at a time, so no im2col buffer is ever allocated.
 */
public final class Conv2dKernel {
    private Conv2dKernel() {}

    public static void run(MemorySegment x, int[] xs, MemorySegment w, int[] ws, MemorySegment bias, Conv2d p, MemorySegment out, int[] os) {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int o = ws[0], kh = ws[2], kw = ws[3];
        int ho = os[2], wo = os[3];
        int k = c * kh * kw;
        long spatial = (long) ho * wo;
        boolean direct = kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1
                && p.padTop() == 0 && p.padBottom() == 0 && p.padLeft() == 0 && p.padRight() == 0;
        for (int img = 0; img < n; img++) {
            long xOff = (long) img * c * h * wd, oOff = (long) img * o * spatial;
            if (bias != null) BiasFill.channels(out, oOff, o, spatial, bias);
            Sgemm.PanelSource b = direct ? Sgemm.Strided.rowMajor(x, xOff, (long) h * wd)
                    : new Im2col(x, xOff, h, wd, kh, kw, wo, p);
            Sgemm.multiply(o, (int) spatial, k, 1f, Sgemm.Strided.rowMajor(w, 0, k), b, out, oOff, spatial, bias != null);
        }
    }

    /** The im2col matrix of one image, row (ci, ki, kj), column (oh, ow), packed on demand. */
    private record Im2col(MemorySegment x, long xOff, int h, int w, int kh, int kw, int wo, Conv2d p) implements Sgemm.PanelSource {
        public void packPanel(int k0, int kc, int j0, int cols, float[] dst, int off) {
            int nr = Sgemm.NR;
            int[] rowBase = new int[cols], colBase = new int[cols];
            for (int j = 0; j < cols; j++) {
                int oh = (j0 + j) / wo, ow = (j0 + j) % wo;
                rowBase[j] = oh * p.strideH() - p.padTop();
                colBase[j] = ow * p.strideW() - p.padLeft();
            }
            // a panel inside one output row with unit horizontal stride reads consecutive input pixels
            boolean oneRow = p.strideW() == 1 && (j0 % wo) + cols <= wo;
            for (int kk = 0; kk < kc; kk++) {
                int r = k0 + kk;
                int ci = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw;
                long plane = xOff + (long) ci * h * w;
                int d = off + kk * nr;
                int ih0 = rowBase[0] + ki, iw0 = colBase[0] + kj;
                if (oneRow && ih0 >= 0 && ih0 < h && iw0 >= 0 && iw0 + cols <= w) {
                    MemorySegment.copy(x, F32.LAYOUT, (plane + (long) ih0 * w + iw0) * 4, dst, d, cols);
                } else {
                    for (int j = 0; j < cols; j++) {
                        int ih = rowBase[j] + ki, iw = colBase[j] + kj;
                        dst[d + j] = ih >= 0 && ih < h && iw >= 0 && iw < w ? F32.get(x, plane + (long) ih * w + iw) : 0f;
                    }
                }
                for (int j = cols; j < nr; j++) dst[d + j] = 0f;
            }
        }
    }
}
