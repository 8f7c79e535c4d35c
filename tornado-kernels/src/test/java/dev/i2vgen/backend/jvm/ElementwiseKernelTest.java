package dev.i2vgen.backend.jvm;

import dev.i2vgen.graph.ops.Binary;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Half;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;

import static dev.i2vgen.backend.jvm.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Element-wise, data-movement and sampler ops against float64 references. */
class ElementwiseKernelTest {

    /** erf by Simpson integration of 2/√π·e^(−t²) (independent of the kernel's rational fit). */
    static double erf(double x) {
        int n = 2000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++) {
            double t = i * h, f = Math.exp(-t * t);
            s += (i == 0 || i == n) ? f : (i % 2 == 1 ? 4 * f : 2 * f);
        }
        return 2 / Math.sqrt(Math.PI) * s * h / 3;
    }

    static DoubleUnaryOperator reference(Unary.Kind kind) {
        return switch (kind) {
            case SILU -> x -> x / (1 + Math.exp(-x));
            case GELU -> x -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case QUICK_GELU -> x -> x / (1 + Math.exp(-1.702 * x));
            case EXP -> Math::exp;
            case SIGMOID -> x -> 1 / (1 + Math.exp(-x));
            case TANH -> Math::tanh;
        };
    }

    @ParameterizedTest
    @EnumSource(Unary.Kind.class)
    void unaryMatchesReference(Unary.Kind kind) {
        Random rnd = new Random(kind.ordinal());
        Tensor x = tensor(random(rnd, 3 * 1001, 6), DType.F32, 3, 1001);
        Tensor y = run(Map.of("x", x), g -> g.g.unary(g.in("x", x), kind));
        double[] ref = values(x);
        DoubleUnaryOperator f = reference(kind);
        for (int i = 0; i < ref.length; i++) ref[i] = f.applyAsDouble(ref[i]);
        assertClose(y, new int[]{3, 1001}, ref, F32_TOL);
    }

    @Test
    void gegluMatchesReference() {
        Random rnd = new Random(1);
        int rows = 7, d = 13;
        Tensor x = tensor(random(rnd, rows * 2 * d, 4), DType.F32, 1, rows, 2 * d);
        Tensor y = run(Map.of("x", x), g -> g.g.geglu(g.in("x", x)));
        double[] xv = values(x), ref = new double[rows * d];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < d; j++) {
                double gate = xv[r * 2 * d + d + j];
                ref[r * d + j] = xv[r * 2 * d + j] * 0.5 * gate * (1 + erf(gate / Math.sqrt(2)));
            }
        assertClose(y, new int[]{1, rows, d}, ref, F32_TOL);
    }

    @ParameterizedTest
    @CsvSource({
            "ADD, 2:3:4:5, 2:3:4:5", "SUB, 2:3:4:5, 3:1:1", "MUL, 2:3:1:1, 1:3:4:5", "DIV, 4:1:17, 5:1",
            "ADD, 3, 2:4:3", "MUL, 1, 5:19", "SUB, 2:1:9, 1:7:1"})
    void binaryBroadcastsLikeNumPy(Binary.Kind kind, String aShape, String bShape) {
        int[] as = parse(aShape), bs = parse(bShape);
        Random rnd = new Random(kind.ordinal() * 100L + as.length * 10L + bs.length);
        Tensor a = tensor(random(rnd, (int) Tensor.numel(as), 2), DType.F32, as);
        double[] bRaw = random(rnd, (int) Tensor.numel(bs), 2);
        for (int i = 0; i < bRaw.length; i++) bRaw[i] += Math.signum(bRaw[i]) * 0.5; // keep divisors away from zero
        Tensor b = tensor(bRaw, DType.F32, bs);
        Tensor y = run(Map.of("a", a, "b", b), g -> g.g.add(new Binary(kind), g.in("a", a), g.in("b", b)));
        int r = Math.max(as.length, bs.length);
        int[] os = new int[r];
        for (int i = 0; i < r; i++) os[i] = Math.max(dimFromRight(as, r - 1 - i), dimFromRight(bs, r - 1 - i));
        double[] av = values(a), bv = values(b), ref = new double[(int) Tensor.numel(os)];
        for (int flat = 0; flat < ref.length; flat++) {
            int rem = flat;
            int[] idx = new int[r];
            for (int i = r - 1; i >= 0; i--) { idx[i] = rem % os[i]; rem /= os[i]; }
            double x = av[index(as, idx)], z = bv[index(bs, idx)];
            ref[flat] = switch (kind) { case ADD -> x + z; case SUB -> x - z; case MUL -> x * z; case DIV -> x / z; };
        }
        assertClose(y, os, ref, F32_TOL);
    }

    private static int[] parse(String s) { return java.util.Arrays.stream(s.split(":")).mapToInt(Integer::parseInt).toArray(); }

    private static int dimFromRight(int[] s, int fromRight) { return fromRight < s.length ? s[s.length - 1 - fromRight] : 1; }

    /** Row-major index into a broadcast operand of shape s for output index idx. */
    private static int index(int[] s, int[] idx) {
        int off = idx.length - s.length, flat = 0;
        for (int i = 0; i < s.length; i++) flat = flat * s[i] + (s[i] == 1 ? 0 : idx[i + off]);
        return flat;
    }

    @Test
    void affineClampAndCfg() {
        Random rnd = new Random(2);
        Tensor x = tensor(random(rnd, 2 * 3 * 37, 3), DType.F32, 2, 3, 37);
        double[] xv = values(x);
        Tensor aff = run(Map.of("x", x), g -> g.g.affine(g.in("x", x), 0.75f, -0.25f));
        Tensor cl = run(Map.of("x", x), g -> g.g.clamp(g.in("x", x), -1.5f, 0.5f));
        Tensor cfg = run(Map.of("x", x), g -> g.g.cfgCombine(g.in("x", x), 7.5f));
        double[] affRef = new double[xv.length], clRef = new double[xv.length], cfgRef = new double[xv.length / 2];
        for (int i = 0; i < xv.length; i++) {
            affRef[i] = xv[i] * 0.75 - 0.25;
            clRef[i] = Math.min(Math.max(xv[i], -1.5), 0.5);
        }
        for (int i = 0; i < cfgRef.length; i++) cfgRef[i] = xv[i] + 7.5 * (xv[cfgRef.length + i] - xv[i]);
        assertClose(aff, new int[]{2, 3, 37}, affRef, F32_TOL);
        assertClose(cl, new int[]{2, 3, 37}, clRef, 0);
        assertClose(cfg, new int[]{1, 3, 37}, cfgRef, F32_TOL);
    }

    @Test
    void castRoundsToHalfPrecisionAndBack() {
        Random rnd = new Random(4);
        Tensor x = tensor(random(rnd, 257, 100), DType.F32, 257);
        Tensor f16 = run(Map.of("x", x), g -> g.g.cast(g.g.cast(g.in("x", x), DType.F16), DType.F32));
        Tensor bf16 = run(Map.of("x", x), g -> g.g.cast(g.g.cast(g.in("x", x), DType.BF16), DType.F32));
        for (int i = 0; i < 257; i++) {
            float v = x.getFlat(i);
            assertEquals(Half.f16ToFloat(Half.floatToF16(v)), f16.getFlat(i), 0f, "f16 at " + i);
            assertEquals(Half.bf16ToFloat(Half.floatToBf16(v)), bf16.getFlat(i), 0f, "bf16 at " + i);
        }
        assertTrue(TensorDiff.differs(x, bf16), "bf16 rounding must change some values");
    }

    /** Tiny helper so the cast test can prove rounding happened. */
    static final class TensorDiff {
        static boolean differs(Tensor a, Tensor b) {
            for (int i = 0; i < a.numel(); i++) if (a.getFlat(i) != b.getFlat(i)) return true;
            return false;
        }
    }

    @ParameterizedTest
    @CsvSource({"0, 0, 0", "1, 0, 0", "2, 0, 0", "0, 1.0, 0", "0, 0, 0.3", "1, 0.8, 0.2"})
    void ddimStepMatchesReference(int type, float clip, float sigma) {
        Random rnd = new Random(type * 10 + (long) (clip * 10) + (long) (sigma * 100));
        int n = 3 * 41;
        Tensor x = tensor(random(rnd, n, 2), DType.F32, 3, 41), m = tensor(random(rnd, n, 2), DType.F32, 3, 41);
        Tensor noise = tensor(random(rnd, n, 1), DType.F32, 3, 41);
        double abarT = 0.6, abarPrev = 0.8;
        double[] c = {Math.sqrt(abarT), Math.sqrt(1 - abarT), Math.sqrt(abarPrev), Math.sqrt(1 - abarPrev - sigma * sigma), sigma, type, clip};
        Tensor coef = tensor(c, DType.F32, 7);
        Tensor y = run(Map.of("x", x, "m", m, "c", coef, "z", noise),
                g -> g.g.ddimStep(g.in("x", x), g.in("m", m), g.in("c", coef), g.in("z", noise)));
        double[] xv = values(x), mv = values(m), zv = values(noise), cv = values(coef), ref = new double[n];
        for (int i = 0; i < n; i++) {
            double x0, eps;
            if (type == 0) { x0 = (xv[i] - cv[1] * mv[i]) / cv[0]; eps = mv[i]; }
            else if (type == 1) { x0 = cv[0] * xv[i] - cv[1] * mv[i]; eps = cv[0] * mv[i] + cv[1] * xv[i]; }
            else { x0 = mv[i]; eps = (xv[i] - cv[0] * x0) / cv[1]; }
            if (clip > 0) x0 = Math.max(-clip, Math.min(clip, x0)); // ε stays as derived (use_clipped_model_output = false)
            ref[i] = cv[2] * x0 + cv[3] * eps + (sigma > 0 ? cv[4] * zv[i] : 0);
        }
        assertClose(y, new int[]{3, 41}, ref, F32_TOL);
    }

    @ParameterizedTest
    @CsvSource({"320, true, 0", "33, false, 1", "8, true, 1"})
    void timestepEmbeddingMatchesDiffusersFormula(int dim, boolean flip, float shift) {
        Tensor t = tensor(new double[]{999, 1, 437.5}, DType.F32, 3);
        Tensor y = run(Map.of("t", t), g -> g.g.timestepEmbedding(g.in("t", t), dim, flip, shift));
        int half = dim / 2;
        double[] ref = new double[3 * dim];
        for (int b = 0; b < 3; b++)
            for (int j = 0; j < half; j++) {
                double arg = t.getFlat(b) * Math.exp(-Math.log(10000) * j / (half - shift));
                ref[b * dim + j] = flip ? Math.cos(arg) : Math.sin(arg);
                ref[b * dim + half + j] = flip ? Math.sin(arg) : Math.cos(arg);
            }
        // fp32 arguments near 1000 carry ~6e-5 absolute error, as in diffusers' own fp32 computation
        assertClose(y, new int[]{3, dim}, ref, 1e-4);
    }

    @Test
    void embeddingLooksUpRowsAndRejectsBadIds() {
        Random rnd = new Random(6);
        Tensor table = tensor(random(rnd, 11 * 5, 1), DType.BF16, 11, 5);
        Tensor ids = tensor(new double[]{3, 0, 10, 3, 7, 1}, DType.F32, 2, 3);
        Tensor y = run(Map.of("ids", ids), g -> g.g.embedding(g.constant("t", table), g.in("ids", ids)));
        double[] tv = values(table), ref = new double[6 * 5];
        for (int i = 0; i < 6; i++) for (int j = 0; j < 5; j++) ref[i * 5 + j] = tv[(int) ids.getFlat(i) * 5 + j];
        assertClose(y, new int[]{2, 3, 5}, ref, 0);
        Tensor bad = tensor(new double[]{3, 11}, DType.F32, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(Map.of("ids", bad), g -> g.g.embedding(g.constant("t", table), g.in("ids", bad))));
        assertTrue(e.getMessage().contains("11") && e.getMessage().contains("embedding"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"3, 4, 6, 8", "3, 4, 3, 4", "5, 3, 7, 8", "4, 6, 2, 3"})
    void upsampleNearestUsesPyTorchIndexRule(int h, int w, int oh, int ow) {
        Random rnd = new Random(h * 100L + w * 10L + oh);
        Tensor x = tensor(random(rnd, 2 * 3 * h * w, 1), DType.F32, 2, 3, h, w);
        Tensor y = run(Map.of("x", x), g -> g.g.upsampleNearest(g.in("x", x), oh, ow));
        double[] xv = values(x), ref = new double[2 * 3 * oh * ow];
        for (int p = 0; p < 6; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int si = Math.min((int) Math.floor(i * (double) h / oh), h - 1), sj = Math.min((int) Math.floor(j * (double) w / ow), w - 1);
                    ref[(p * oh + i) * ow + j] = xv[(p * h + si) * w + sj];
                }
        assertClose(y, new int[]{2, 3, oh, ow}, ref, 0);
    }

    @Test
    void concatSliceAndPermuteMoveDataExactly() {
        Random rnd = new Random(8);
        Tensor a = tensor(random(rnd, 2 * 3 * 5, 1), DType.F32, 2, 3, 5);
        Tensor b = tensor(random(rnd, 2 * 4 * 5, 1), DType.F32, 2, 4, 5);
        Tensor cat = run(Map.of("a", a, "b", b), g -> g.g.concat(1, g.in("a", a), g.in("b", b)));
        double[] av = values(a), bv = values(b), catRef = new double[2 * 7 * 5];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 7; j++)
                for (int k = 0; k < 5; k++) catRef[(i * 7 + j) * 5 + k] = j < 3 ? av[(i * 3 + j) * 5 + k] : bv[(i * 4 + j - 3) * 5 + k];
        assertClose(cat, new int[]{2, 7, 5}, catRef, 0);

        Tensor sl = run(Map.of("b", b), g -> g.g.slice(g.in("b", b), -1, 1, 4));
        double[] slRef = new double[2 * 4 * 3];
        for (int i = 0; i < 8; i++) for (int k = 0; k < 3; k++) slRef[i * 3 + k] = bv[i * 5 + k + 1];
        assertClose(sl, new int[]{2, 4, 3}, slRef, 0);

        Tensor x = tensor(random(rnd, 2 * 3 * 4 * 5, 1), DType.F32, 2, 3, 4, 5);
        int[] perm = {2, 0, 3, 1};
        Tensor p = run(Map.of("x", x), g -> g.g.permute(g.in("x", x), perm));
        Tensor view = x.permute(perm); // Tensor's strided view is an independent path to the same answer
        double[] pRef = new double[(int) x.numel()];
        for (int i = 0; i < pRef.length; i++) pRef[i] = view.getFlat(i);
        assertClose(p, new int[]{4, 2, 5, 3}, pRef, 0);
    }

    @ParameterizedTest
    @CsvSource({"2:37:70, 0:2:1", "3:4:5:6:7, 0:3:4:1:2", "65:33, 1:0", "2:5:1:40, 0:3:1:2", "4:3:2, 2:1:0"})
    void permuteMatchesStridedView(String shape, String permutation) {
        int[] s = parse(shape), perm = parse(permutation);
        Tensor x = tensor(random(new Random(s.length * 7L + perm[0]), (int) Tensor.numel(s), 1), DType.F32, s);
        Tensor y = run(Map.of("x", x), g -> g.g.permute(g.in("x", x), perm));
        Tensor view = x.permute(perm);
        double[] ref = new double[(int) x.numel()];
        for (int i = 0; i < ref.length; i++) ref[i] = view.getFlat(i);
        assertClose(y, view.shape(), ref, 0);
    }

    @Test
    void halfPrecisionActivationsRoundEachResult() {
        Random rnd = new Random(9);
        Tensor x = tensor(random(rnd, 4 * 33, 1), DType.F32, 4, 33);
        Tensor w = tensor(random(rnd, 17 * 33, 0.3), DType.F16, 17, 33);
        for (DType act : new DType[]{DType.F16, DType.BF16}) {
            Tensor y = run(act, Map.of("x", x), g -> g.g.gelu(g.g.linear(g.in("x", x), g.constant("w", w), null)));
            double[] ref = LinearMatMulKernelTest.linearRef(values(x), 4, 33, values(w), 17, null);
            DoubleUnaryOperator gelu = reference(Unary.Kind.GELU);
            for (int i = 0; i < ref.length; i++) ref[i] = gelu.applyAsDouble(ref[i]);
            for (int i = 0; i < ref.length; i++) {
                float v = y.getFlat(i);
                float rounded = act == DType.F16 ? Half.f16ToFloat(Half.floatToF16(v)) : Half.bf16ToFloat(Half.floatToBf16(v));
                assertEquals(rounded, v, 0f, "output must be representable in " + act);
            }
            // F16: 11-bit significand (~5e-4 per rounding); BF16: 8-bit (~4e-3 per rounding), a few roundings deep
            assertClose(y, new int[]{4, 17}, ref, act == DType.F16 ? 2e-3 : 1.6e-2);
        }
    }
}
