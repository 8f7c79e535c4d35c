package dev.i2vgen.backend.jvm;

import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static dev.i2vgen.backend.jvm.OpHarness.*;

/** Conv2d (direct 1×1 and implicit im2col) and the temporal conv against float64 loops. */
class ConvKernelTest {

    static double[] convRef(double[] x, int n, int c, int h, int w, double[] wt, int o, int kh, int kw, double[] bias, Conv2d p) {
        int ho = (h + p.padTop() + p.padBottom() - kh) / p.strideH() + 1, wo = (w + p.padLeft() + p.padRight() - kw) / p.strideW() + 1;
        double[] y = new double[n * o * ho * wo];
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ic = 0; ic < c; ic++)
                            for (int ki = 0; ki < kh; ki++)
                                for (int kj = 0; kj < kw; kj++) {
                                    int ih = i * p.strideH() - p.padTop() + ki, iw = j * p.strideW() - p.padLeft() + kj;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                                    s += x[((b * c + ic) * h + ih) * w + iw] * wt[((oc * c + ic) * kh + ki) * kw + kj];
                                }
                        y[((b * o + oc) * ho + i) * wo + j] = s;
                    }
        return y;
    }

    @ParameterizedTest(name = "[{index}] x[{0},{1},{2},{3}] w[{4},{1},{5},{6}] s{7}x{8} pad t{9} b{10} l{11} r{12} bias={13} {14}")
    @CsvSource({
            "2, 5, 7, 9, 6, 1, 1, 1, 1, 0, 0, 0, 0, true, F32",     // 1×1: direct GEMM
            "1, 3, 11, 13, 8, 3, 3, 1, 1, 1, 1, 1, 1, true, F32",   // 3×3 same padding
            "2, 4, 9, 10, 5, 3, 3, 2, 2, 0, 1, 0, 1, false, F32",   // VAE downsampler: stride 2, pad right/bottom only
            "1, 3, 28, 42, 7, 14, 14, 14, 14, 0, 0, 0, 0, false, F32", // CLIP patch embedding
            "1, 6, 5, 7, 3, 3, 1, 1, 2, 2, 0, 1, 1, true, F32",     // non-square kernel, mixed stride and padding
            "1, 4, 6, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, true, F16",
            "1, 4, 6, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, true, BF16",
            "1, 40, 12, 12, 33, 3, 3, 1, 1, 1, 1, 1, 1, true, F32",   // K = 360 > KC
            "1, 3, 5, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, true, F32"})     // wide rows: contiguous im2col panels
    void conv2dMatchesReference(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw,
                                int pt, int pb, int pl, int pr, boolean bias, DType wType) {
        Random rnd = new Random(n + c * 7L + h * 31L + w * 131L + o + kh);
        Conv2d p = new Conv2d(sh, sw, pt, pb, pl, pr);
        Tensor x = tensor(random(rnd, n * c * h * w, 1), DType.F32, n, c, h, w);
        Tensor wt = tensor(random(rnd, o * c * kh * kw, 0.3), wType, o, c, kh, kw);
        Tensor b = bias ? tensor(random(rnd, o, 1), wType, o) : null;
        Tensor y = run(Map.of("x", x), g -> g.g.conv2d(g.in("x", x), g.constant("w", wt), b == null ? null : g.constant("b", b), p));
        int ho = (h + pt + pb - kh) / sh + 1, wo = (w + pl + pr - kw) / sw + 1;
        assertClose(y, new int[]{n, o, ho, wo}, convRef(values(x), n, c, h, w, values(wt), o, kh, kw, b == null ? null : values(b), p), F32_TOL);
    }

    @ParameterizedTest
    @CsvSource({"2, 5, 4, 3, 5, 6, 3, true", "1, 3, 1, 2, 2, 4, 3, false", "1, 8, 7, 3, 4, 5, 5, true", "1, 4, 6, 2, 3, 3, 1, true"})
    void temporalConvMatchesReference(int batch, int c, int f, int h, int w, int o, int k, boolean bias) {
        Random rnd = new Random(batch + c * 3L + f * 17L + o * 5L + k);
        Tensor x = tensor(random(rnd, batch * c * f * h * w, 1), DType.F32, batch, c, f, h, w);
        Tensor wt = tensor(random(rnd, o * c * k, 0.4), DType.F32, o, c, k, 1, 1);
        Tensor b = bias ? tensor(random(rnd, o, 1), DType.F32, o) : null;
        Tensor y = run(Map.of("x", x), g -> g.g.temporalConv(g.in("x", x), g.constant("w", wt), b == null ? null : g.constant("b", b)));
        double[] xv = values(x), wv = values(wt), ref = new double[batch * o * f * h * w];
        int pad = (k - 1) / 2, hw = h * w;
        for (int bi = 0; bi < batch; bi++)
            for (int oc = 0; oc < o; oc++)
                for (int fi = 0; fi < f; fi++)
                    for (int s = 0; s < hw; s++) {
                        double acc = b == null ? 0 : values(b)[oc];
                        for (int ic = 0; ic < c; ic++)
                            for (int t = 0; t < k; t++) {
                                int src = fi + t - pad;
                                if (src < 0 || src >= f) continue;
                                acc += wv[(oc * c + ic) * k + t] * xv[((bi * c + ic) * f + src) * hw + s];
                            }
                        ref[((bi * o + oc) * f + fi) * hw + s] = acc;
                    }
        assertClose(y, new int[]{batch, o, f, h, w}, ref, F32_TOL);
    }
}
