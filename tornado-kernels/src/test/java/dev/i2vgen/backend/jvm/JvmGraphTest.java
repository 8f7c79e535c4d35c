package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static dev.i2vgen.backend.jvm.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole graphs on the JVM backend: a ResNet block + attention block replayed with new inputs, views, and input checks. */
class JvmGraphTest {
    static final int N = 2, C = 8, H = 6, W = 5, T = 12, GROUPS = 4, HEADS = 2;

    final Random rnd = new Random(42);
    final Tensor n1g = w(C, 1), n1b = w(C, 1), c1w = w(C * C * 9, 0.2, C, C, 3, 3), c1b = w(C, 0.5);
    final Tensor tw = w(C * T, 0.3, C, T), tb = w(C, 0.5);
    final Tensor n2g = w(C, 1), n2b = w(C, 1), c2w = w(C * C * 9, 0.2, C, C, 3, 3), c2b = w(C, 0.5);
    final Tensor ang = w(C, 1), anb = w(C, 1);
    final Tensor qw = w(C * C, 0.4, C, C), kw = w(C * C, 0.4, C, C), vw = w(C * C, 0.4, C, C), ow = w(C * C, 0.4, C, C), ob = w(C, 0.5);

    private Tensor w(int n, double scale, int... shape) {
        return tensor(random(rnd, n, scale), DType.F32, shape.length == 0 ? new int[]{n} : shape);
    }

    private Value resnetAndAttention(TaskGraph g, Value x, Value temb) {
        Value h = g.groupNorm(x, g.constant("n1.g", n1g), g.constant("n1.b", n1b), GROUPS, 1e-5f, true);
        h = g.conv2d(h, g.constant("c1.w", c1w), g.constant("c1.b", c1b), 1, 1);
        Value t = g.linear(g.silu(temb), g.constant("t.w", tw), g.constant("t.b", tb));
        h = g.add(h, g.reshape(t, N, C, 1, 1));
        h = g.groupNorm(h, g.constant("n2.g", n2g), g.constant("n2.b", n2b), GROUPS, 1e-5f, true);
        h = g.conv2d(h, g.constant("c2.w", c2w), g.constant("c2.b", c2b), 1, 1);
        Value res = g.add(x, h);
        Value a = g.groupNorm(res, g.constant("an.g", ang), g.constant("an.b", anb), GROUPS, 1e-5f, false);
        Value tokens = g.permute(g.reshape(a, N, C, H * W), 0, 2, 1);
        Value q = g.linear(tokens, g.constant("q", qw), null), k = g.linear(tokens, g.constant("k", kw), null), v = g.linear(tokens, g.constant("v", vw), null);
        Value o = g.linear(g.attention(q, k, v, HEADS, (float) (1 / Math.sqrt(C / HEADS)), false), g.constant("o.w", ow), g.constant("o.b", ob));
        Value back = g.reshape(g.permute(o, 0, 2, 1), N, C, H, W);
        return g.add(back, res);
    }

    private static double[] groupNorm(double[] x, int n, int c, int s, int groups, double[] gamma, double[] beta, boolean silu) {
        double[] y = new double[x.length];
        int cpg = c / groups;
        for (int b = 0; b < n; b++)
            for (int gr = 0; gr < groups; gr++) {
                int base = (b * c + gr * cpg) * s, size = cpg * s;
                double mean = 0, var = 0;
                for (int i = 0; i < size; i++) mean += x[base + i];
                mean /= size;
                for (int i = 0; i < size; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
                var /= size;
                for (int i = 0; i < size; i++) {
                    int ch = gr * cpg + i / s;
                    double v = (x[base + i] - mean) / Math.sqrt(var + 1e-5) * gamma[ch] + beta[ch];
                    y[base + i] = silu ? v / (1 + Math.exp(-v)) : v;
                }
            }
        return y;
    }

    private double[] reference(double[] x, double[] temb) {
        int s = H * W;
        var pad1 = dev.i2vgen.graph.ops.Conv2d.of(1, 1);
        double[] h = groupNorm(x, N, C, s, GROUPS, values(n1g), values(n1b), true);
        h = ConvKernelTest.convRef(h, N, C, H, W, values(c1w), C, 3, 3, values(c1b), pad1);
        double[] st = temb.clone();
        for (int i = 0; i < st.length; i++) st[i] = st[i] / (1 + Math.exp(-st[i]));
        double[] t = LinearMatMulKernelTest.linearRef(st, N, T, values(tw), C, values(tb));
        for (int i = 0; i < h.length; i++) h[i] += t[i / s];
        h = groupNorm(h, N, C, s, GROUPS, values(n2g), values(n2b), true);
        h = ConvKernelTest.convRef(h, N, C, H, W, values(c2w), C, 3, 3, values(c2b), pad1);
        double[] res = new double[x.length];
        for (int i = 0; i < x.length; i++) res[i] = x[i] + h[i];
        double[] a = groupNorm(res, N, C, s, GROUPS, values(ang), values(anb), false);
        double[] tokens = new double[a.length];
        for (int b = 0; b < N; b++) for (int c = 0; c < C; c++) for (int p = 0; p < s; p++) tokens[(b * s + p) * C + c] = a[(b * C + c) * s + p];
        double[] q = LinearMatMulKernelTest.linearRef(tokens, N * s, C, values(qw), C, null);
        double[] k = LinearMatMulKernelTest.linearRef(tokens, N * s, C, values(kw), C, null);
        double[] v = LinearMatMulKernelTest.linearRef(tokens, N * s, C, values(vw), C, null);
        double[] att = NormAttentionKernelTest.attentionRef(q, k, v, N, s, s, HEADS, C / HEADS, C / HEADS, 1 / Math.sqrt(C / HEADS), false);
        double[] o = LinearMatMulKernelTest.linearRef(att, N * s, C, values(ow), C, values(ob));
        double[] out = new double[x.length];
        for (int b = 0; b < N; b++) for (int c = 0; c < C; c++) for (int p = 0; p < s; p++) out[(b * C + c) * s + p] = o[(b * s + p) * C + c] + res[(b * C + c) * s + p];
        return out;
    }

    @Test
    void frozenBlockReplaysWithNewInputs() {
        TaskGraph g = new TaskGraph("block", DType.F32);
        Value x = g.input("x", DType.F32, N, C, H, W), temb = g.input("temb", DType.F32, N, T);
        g.output("y", resnetAndAttention(g, x, temb));
        try (ExecutionPlan plan = Backends.create("jvm").compile(g.freeze())) {
            assertTrue(plan.plannedPeakBytes() > 0);
            for (int run = 0; run < 3; run++) {
                Tensor xi = tensor(random(rnd, N * C * H * W, 1), DType.F32, N, C, H, W), ti = tensor(random(rnd, N * T, 1), DType.F32, N, T);
                plan.execute(Map.of(x, xi, temb, ti));
                assertClose(plan.read("y"), new int[]{N, C, H, W}, reference(values(xi), values(ti)), 1e-5);
            }
        }
    }

    @Test
    void viewOfAnEarlyValueIsNotOverwrittenByLaterTemporaries() {
        TaskGraph g = new TaskGraph("alias", DType.F32);
        Value x = g.input("x", DType.F32, 8, 16);
        Value early = g.reshape(g.scale(x, 3f), 16, 8);
        Value t = g.silu(x);
        for (int i = 0; i < 6; i++) t = g.affine(t, 1.5f, 0.25f);
        g.output("y", g.sub(g.reshape(t, 16, 8), early));
        Tensor xi = tensor(random(rnd, 128, 2), DType.F32, 8, 16);
        Tensor y = runToY(g, Map.of("x", xi));
        double[] xv = values(xi), ref = new double[128];
        for (int i = 0; i < 128; i++) {
            double v = xv[i] / (1 + Math.exp(-xv[i]));
            for (int r = 0; r < 6; r++) v = v * 1.5 + 0.25;
            ref[i] = v - 3 * xv[i];
        }
        assertClose(y, new int[]{16, 8}, ref, 1e-5);
    }

    private static Tensor runToY(TaskGraph g, Map<String, Tensor> in) {
        try (ExecutionPlan plan = JVM.compile(g.freeze())) {
            plan.executeByName(in);
            return plan.read("y");
        }
    }

    @Test
    void halfPrecisionWeightsAreWidenedOncePerBackendAndViewsOfConstantsWork() {
        Tensor wHalf = tensor(random(rnd, 6 * 4, 1), DType.F16, 6, 4);
        Tensor bias = tensor(random(rnd, 6, 1), DType.BF16, 6);
        try (JvmBackend backend = new JvmBackend()) {
            for (int round = 0; round < 2; round++) {
                TaskGraph g = new TaskGraph("shared" + round, DType.F32);
                Value x = g.input("x", DType.F32, 3, 4);
                Value y = g.linear(x, g.constant("w", wHalf), null);
                g.output("y", g.add(y, g.reshape(g.constant("b", bias), 1, 6)));   // a view of a constant
                Tensor xi = tensor(random(rnd, 12, 1), DType.F32, 3, 4);
                try (ExecutionPlan plan = backend.compile(g.freeze())) {
                    plan.execute(Map.of(x, xi));
                    double[] ref = LinearMatMulKernelTest.linearRef(values(xi), 3, 4, values(wHalf), 6, values(bias));
                    assertClose(plan.read("y"), new int[]{3, 6}, ref, 1e-6);
                }
                // F16 [6,4] + BF16 [6] widened to F32 (64-byte aligned allocations), the second graph reuses them
                assertEquals(6 * 4 * 4 + 6 * 4, backend.widenedConstantBytes(), "round " + round);
            }
        }
    }

    @Test
    void badInputsAndUnreadableValuesGiveClearErrors() {
        TaskGraph g = new TaskGraph("checks", DType.F32);
        Value x = g.input("latents", DType.F32, 2, 3);
        Value hidden = g.silu(x);
        g.output("y", g.scale(hidden, 2f));
        try (ExecutionPlan plan = JVM.compile(g.freeze())) {
            var e1 = assertThrows(IllegalArgumentException.class, () -> plan.execute(Map.of(x, Tensor.allocate(DType.F32, 3, 2))));
            assertTrue(e1.getMessage().contains("latents") && e1.getMessage().contains("[2, 3]"), e1.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> plan.execute(Map.of(x, Tensor.allocate(DType.I32, 2, 3))));
            assertTrue(e2.getMessage().contains("latents") && e2.getMessage().contains("I32"), e2.getMessage());
            var e3 = assertThrows(IllegalArgumentException.class, () -> plan.execute(Map.of()));
            assertTrue(e3.getMessage().contains("latents"), e3.getMessage());
            plan.execute(Map.of(x, tensor(new double[]{1, -2, 3, 0.5, 0.25, -1}, DType.F32, 2, 3)));
            var e4 = assertThrows(IllegalArgumentException.class, () -> plan.read(hidden));
            assertTrue(e4.getMessage().contains("not a graph output"), e4.getMessage());
            assertEquals(2 * 1 / (1 + Math.exp(-1)), plan.read("y").getFlat(0), 1e-6);
        }
    }
}
