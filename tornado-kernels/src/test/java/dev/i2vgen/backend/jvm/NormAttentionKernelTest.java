package dev.i2vgen.backend.jvm;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static dev.i2vgen.backend.jvm.OpHarness.*;

/** GroupNorm, LayerNorm, Softmax and Attention against float64 loops. */
class NormAttentionKernelTest {

    @ParameterizedTest
    @CsvSource({"2, 8, 4, 5, 7, false", "1, 6, 3, 3, 1, true", "1, 32, 32, 1, 37, true", "2, 12, 4, 4, 9, false"})
    void groupNormMatchesReference(int n, int c, int groups, int h, int w, boolean silu) {
        Random rnd = new Random(n + c * 3L + groups * 7L + h * 13L + w);
        Tensor x = tensor(random(rnd, n * c * h * w, 2), DType.F32, n, c, h, w);
        for (int i = 0; i < x.numel(); i++) x.setFlat(i, x.getFlat(i) + 0.5f); // non-zero mean
        Tensor gamma = tensor(random(rnd, c, 1), DType.F32, c), beta = tensor(random(rnd, c, 1), DType.F32, c);
        float eps = 1e-6f;
        Tensor y = run(Map.of("x", x), g -> g.g.groupNorm(g.in("x", x), g.constant("g", gamma), g.constant("b", beta), groups, eps, silu));
        double[] xv = values(x), gv = values(gamma), bv = values(beta), ref = new double[xv.length];
        int cpg = c / groups, s = h * w;
        for (int b = 0; b < n; b++)
            for (int gr = 0; gr < groups; gr++) {
                double mean = 0, var = 0;
                int base = (b * c + gr * cpg) * s, size = cpg * s;
                for (int i = 0; i < size; i++) mean += xv[base + i];
                mean /= size;
                for (int i = 0; i < size; i++) var += (xv[base + i] - mean) * (xv[base + i] - mean);
                var /= size;
                for (int i = 0; i < size; i++) {
                    int ch = gr * cpg + i / s;
                    double v = (xv[base + i] - mean) / Math.sqrt(var + eps) * gv[ch] + bv[ch];
                    ref[base + i] = silu ? v / (1 + Math.exp(-v)) : v;
                }
            }
        assertClose(y, new int[]{n, c, h, w}, ref, F32_TOL);
    }

    @ParameterizedTest
    @CsvSource({"3, 5, 1", "2, 7, 37", "1, 4, 64"})
    void layerNormAndSoftmaxMatchReference(int a, int b, int d) {
        Random rnd = new Random(a * 7L + b + d);
        Tensor x = tensor(random(rnd, a * b * d, 3), DType.F32, a, b, d);
        Tensor gamma = tensor(random(rnd, d, 1), DType.F32, d), beta = tensor(random(rnd, d, 1), DType.F32, d);
        Tensor ln = run(Map.of("x", x), g -> g.g.layerNorm(g.in("x", x), g.constant("g", gamma), g.constant("b", beta), 1e-5f));
        Tensor sm = run(Map.of("x", x), g -> g.g.softmax(g.in("x", x)));
        double[] xv = values(x), gv = values(gamma), bv = values(beta);
        double[] lnRef = new double[xv.length], smRef = new double[xv.length];
        for (int r = 0; r < a * b; r++) {
            double mean = 0, var = 0, max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < d; j++) { mean += xv[r * d + j]; max = Math.max(max, xv[r * d + j]); }
            mean /= d;
            for (int j = 0; j < d; j++) var += Math.pow(xv[r * d + j] - mean, 2);
            var /= d;
            for (int j = 0; j < d; j++) {
                lnRef[r * d + j] = (xv[r * d + j] - mean) / Math.sqrt(var + 1e-5) * gv[j] + bv[j];
                sum += Math.exp(xv[r * d + j] - max);
            }
            for (int j = 0; j < d; j++) smRef[r * d + j] = Math.exp(xv[r * d + j] - max) / sum;
        }
        assertClose(ln, new int[]{a, b, d}, lnRef, F32_TOL);
        assertClose(sm, new int[]{a, b, d}, smRef, F32_TOL);
    }

    static double[] attentionRef(double[] q, double[] k, double[] v, int batch, int lq, int lk, int heads, int d, int dv, double scale, boolean causal) {
        double[] out = new double[batch * lq * heads * dv];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < lq; i++) {
                    double[] s = new double[lk];
                    double max = Double.NEGATIVE_INFINITY;
                    int visible = causal ? i + 1 : lk;
                    for (int j = 0; j < visible; j++) {
                        double acc = 0;
                        for (int c = 0; c < d; c++) acc += q[(b * lq + i) * heads * d + h * d + c] * k[(b * lk + j) * heads * d + h * d + c];
                        s[j] = acc * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < visible; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                    for (int c = 0; c < dv; c++) {
                        double acc = 0;
                        for (int j = 0; j < visible; j++) acc += s[j] * v[(b * lk + j) * heads * dv + h * dv + c];
                        out[(b * lq + i) * heads * dv + h * dv + c] = acc / sum;
                    }
                }
        return out;
    }

    @ParameterizedTest
    @CsvSource({
            "1, 5, 5, 1, 8, 8, false", "2, 19, 300, 3, 10, 10, false", "2, 37, 37, 2, 16, 16, true",
            "1, 300, 300, 1, 13, 13, true",  // causal across several key tiles
            "1, 4, 77, 5, 40, 24, false"})   // Lq ≠ Lk (cross attention), Dv ≠ Dk
    void attentionMatchesReference(int batch, int lq, int lk, int heads, int d, int dv, boolean causal) {
        Random rnd = new Random(batch + lq * 3L + lk * 7L + heads * 11L + d);
        Tensor q = tensor(random(rnd, batch * lq * heads * d, 2), DType.F32, batch, lq, heads * d);
        Tensor k = tensor(random(rnd, batch * lk * heads * d, 2), DType.F32, batch, lk, heads * d);
        Tensor v = tensor(random(rnd, batch * lk * heads * dv, 1), DType.F32, batch, lk, heads * dv);
        float scale = (float) (1 / Math.sqrt(d));
        Tensor y = run(Map.of("q", q, "k", k, "v", v), g -> g.g.attention(g.in("q", q), g.in("k", k), g.in("v", v), heads, scale, causal));
        assertClose(y, new int[]{batch, lq, heads * dv},
                attentionRef(values(q), values(k), values(v), batch, lq, lk, heads, d, dv, scale, causal), F32_TOL);
    }

    @Test
    void attentionSurvivesLargeScores() {
        // scores of ±hundreds: a softmax without max subtraction would overflow
        Random rnd = new Random(3);
        int lq = 9, lk = 150, d = 8;
        Tensor q = tensor(random(rnd, lq * d, 30), DType.F32, 1, lq, d);
        Tensor k = tensor(random(rnd, lk * d, 30), DType.F32, 1, lk, d);
        Tensor v = tensor(random(rnd, lk * d, 1), DType.F32, 1, lk, d);
        Tensor y = run(Map.of("q", q, "k", k, "v", v), g -> g.g.attention(g.in("q", q), g.in("k", k), g.in("v", v), 1, 1f, false));
        assertClose(y, new int[]{1, lq, d}, attentionRef(values(q), values(k), values(v), 1, lq, lk, 1, d, d, 1, false), F32_TOL);
    }
}
