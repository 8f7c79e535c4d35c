package dev.i2vgen.backend.jvm;

import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static dev.i2vgen.backend.jvm.OpHarness.*;

/**
 * The frame-major forms of the temporal conv layer's ops against float64 loops: GroupNorm with its channels on axis 2
 * of [B, F, C, h, w] (statistics over F × C/G × h × w per video and group) and the frames-first TemporalConv with its
 * residual; and both against the channels-first ops between permutes (diffusers' layout).
 */
class FramesFirstTemporalOpsTest {

    @ParameterizedTest
    @CsvSource({"2, 5, 8, 4, 3, 5, true", "1, 1, 6, 3, 2, 2, false", "1, 16, 32, 32, 1, 3, true", "3, 3, 12, 4, 2, 7, false", "2, 3, 16, 8, 16, 32, true"})
    void groupNormOnChannelAxis2MatchesReference(int b, int f, int c, int groups, int h, int w, boolean silu) {
        Random rnd = new Random(b * 31L + f * 7 + c * 3L + groups + h * 13L + w);
        int s = h * w;
        Tensor x = tensor(random(rnd, b * f * c * s, 2), DType.F32, b, f, c, h, w);
        for (int i = 0; i < x.numel(); i++) x.setFlat(i, x.getFlat(i) + 0.5f + (i % 7) * 0.1f);   // a mean, varying by position
        Tensor gamma = tensor(random(rnd, c, 1), DType.F32, c), beta = tensor(random(rnd, c, 1), DType.F32, c);
        float eps = 1e-5f;
        Tensor y = run(Map.of("x", x), g -> g.g.groupNorm(g.in("x", x), g.constant("g", gamma), g.constant("b", beta), groups, eps, silu, 2));
        double[] xv = values(x), gv = values(gamma), bv = values(beta), ref = new double[xv.length];
        int cpg = c / groups;
        for (int bi = 0; bi < b; bi++)
            for (int gr = 0; gr < groups; gr++) {
                double mean = 0, var = 0, count = (double) f * cpg * s;
                for (int fi = 0; fi < f; fi++)
                    for (int ci = gr * cpg; ci < (gr + 1) * cpg; ci++)
                        for (int p = 0; p < s; p++) mean += xv[((bi * f + fi) * c + ci) * s + p];
                mean /= count;
                for (int fi = 0; fi < f; fi++)
                    for (int ci = gr * cpg; ci < (gr + 1) * cpg; ci++)
                        for (int p = 0; p < s; p++) { double d = xv[((bi * f + fi) * c + ci) * s + p] - mean; var += d * d; }
                var /= count;
                for (int fi = 0; fi < f; fi++)
                    for (int ci = gr * cpg; ci < (gr + 1) * cpg; ci++)
                        for (int p = 0; p < s; p++) {
                            int i = ((bi * f + fi) * c + ci) * s + p;
                            double v = (xv[i] - mean) / Math.sqrt(var + eps) * gv[ci] + bv[ci];
                            ref[i] = silu ? v / (1 + Math.exp(-v)) : v;
                        }
            }
        assertClose(y, new int[]{b, f, c, h, w}, ref, F32_TOL);
        // the same as the channels-first GroupNorm of the permuted tensor, permuted back
        Tensor viaPermute = run(Map.of("x", x), g -> g.g.permute(g.g.groupNorm(g.g.permute(g.in("x", x), 0, 2, 1, 3, 4),
                g.constant("g", gamma), g.constant("b", beta), groups, eps, silu), 0, 2, 1, 3, 4));
        assertClose(y, new int[]{b, f, c, h, w}, values(viaPermute), F32_TOL);
    }

    @ParameterizedTest
    @CsvSource({"2, 5, 4, 3, 5, 6, 3, true", "1, 1, 3, 2, 2, 4, 3, true", "1, 2, 8, 3, 4, 5, 3, false", "1, 7, 4, 2, 3, 3, 5, true",
            "2, 16, 6, 2, 2, 6, 3, true", "1, 3, 4, 2, 3, 5, 1, false", "2, 3, 16, 16, 32, 16, 3, true"})
    void framesFirstTemporalConvMatchesReference(int batch, int f, int c, int h, int w, int o, int k, boolean residual) {
        Random rnd = new Random(batch + c * 3L + f * 17L + o * 5L + k + (residual ? 99 : 0));
        int hw = h * w;
        Tensor x = tensor(random(rnd, batch * f * c * hw, 1), DType.F32, batch, f, c, h, w);
        Tensor wt = tensor(random(rnd, o * c * k, 0.4), DType.F32, o, c, k, 1, 1);
        Tensor b = tensor(random(rnd, o, 1), DType.F32, o);
        Tensor r = tensor(random(rnd, batch * f * o * hw, 1), DType.F32, batch, f, o, h, w);
        Map<String, Tensor> in = residual ? Map.of("x", x, "r", r) : Map.of("x", x);
        Tensor y = run(in, g -> g.g.temporalConvFramesFirst(g.in("x", x), g.constant("w", wt), g.constant("b", b), residual ? g.in("r", r) : null));
        double[] xv = values(x), wv = values(wt), bv = values(b), rv = values(r), ref = new double[batch * f * o * hw];
        int pad = (k - 1) / 2;
        for (int bi = 0; bi < batch; bi++)
            for (int fi = 0; fi < f; fi++)
                for (int oc = 0; oc < o; oc++)
                    for (int p = 0; p < hw; p++) {
                        int out = ((bi * f + fi) * o + oc) * hw + p;
                        double acc = bv[oc] + (residual ? rv[out] : 0);
                        for (int t = 0; t < k; t++) {
                            int src = fi + t - pad;
                            if (src < 0 || src >= f) continue;
                            for (int ic = 0; ic < c; ic++) acc += wv[(oc * c + ic) * k + t] * xv[((bi * f + src) * c + ic) * hw + p];
                        }
                        ref[out] = acc;
                    }
        assertClose(y, new int[]{batch, f, o, h, w}, ref, F32_TOL);
        // the same as the channels-first conv between permutes (plus the residual)
        Tensor viaPermute = run(in, g -> {
            Value v = g.g.permute(g.g.temporalConv(g.g.permute(g.in("x", x), 0, 2, 1, 3, 4), g.constant("w", wt), g.constant("b", b)), 0, 2, 1, 3, 4);
            return residual ? g.g.add(v, g.in("r", r)) : v;
        });
        assertClose(y, new int[]{batch, f, o, h, w}, values(viaPermute), F32_TOL);
    }
}
