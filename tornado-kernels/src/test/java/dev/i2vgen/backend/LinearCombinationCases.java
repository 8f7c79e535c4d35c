package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Half;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LinearCombination cases every backend's test runs: one compiled plan per case, run once per coefficient
 * vector (the coefficients rebound between runs, as a sampler does per step), with two expectations per run: a
 * float64 reference (within the output dtype's rounding) and the float32 sequence of LinearCombination's contract
 * (c0·t0, then fma in term order, one rounding to the output dtype), which every backend must reproduce bit for bit.
 */
public final class LinearCombinationCases {
    private LinearCombinationCases() {}

    /** Odd, with a vector body and a tail for every vector width (1005 = 62·16 + 13). */
    static final int[] SHAPE = {3, 5, 67};

    /** A term: a graph input (given on every run) or a constant, holding {@code host} (already in {@code host.dtype()}); a name used twice is one value. */
    public record Term(String name, boolean constant, Tensor host) {}

    /** out = Σ c[i]·terms[i] in a graph of {@code activation}; one run per entry of {@code coefficientRuns}. */
    public record Case(String name, DType activation, List<Term> terms, List<float[]> coefficientRuns, boolean constantCoefficients) {
        @Override public String toString() { return name; }

        public ImmutableTaskGraph graph() {
            TaskGraph g = new TaskGraph("linear_combination " + name, activation);
            Value c = constantCoefficients ? g.constant("c", Tensor.fromFloats(coefficientRuns.get(0).clone(), terms.size()))
                    : g.input("c", DType.F32, terms.size());
            Value[] values = new Value[terms.size()];
            Map<String, Value> byName = new LinkedHashMap<>();   // a name listed twice is one value passed twice
            for (int i = 0; i < values.length; i++) {
                Term t = terms.get(i);
                values[i] = byName.computeIfAbsent(t.name(), n -> t.constant() ? g.constant(n, t.host()) : g.input(n, t.host().dtype(), t.host().shape()));
            }
            g.output("out", g.linearCombination(c, values));
            return g.freeze();
        }

        /** Compiles once on {@code backend} and returns the output of each run; {@code beforeRun} sees the plan first. */
        public List<Tensor> run(Backend backend, Consumer<ExecutionPlan> beforeRun) {
            List<Tensor> outputs = new ArrayList<>();
            try (ExecutionPlan plan = backend.compile(graph())) {
                Map<String, Tensor> termInputs = new LinkedHashMap<>();
                for (Term t : terms) if (!t.constant()) termInputs.put(t.name(), t.host());
                for (float[] c : coefficientRuns) {
                    if (!constantCoefficients) plan.bind("c", Tensor.fromFloats(c.clone(), c.length));
                    beforeRun.accept(plan);
                    plan.executeByName(termInputs);
                    outputs.add(plan.read("out"));
                }
            }
            return outputs;
        }

        public List<Tensor> run(Backend backend) { return run(backend, p -> {}); }

        /** Σ c[i]·t_i in float64 over the values the terms hold. */
        public double[] reference(int run) {
            float[] c = coefficientRuns.get(run);
            double[] r = new double[(int) terms.get(0).host().numel()];
            for (int i = 0; i < terms.size(); i++) {
                Tensor t = terms.get(i).host();
                for (int e = 0; e < r.length; e++) r[e] += (double) c[i] * t.getFlat(e);
            }
            return r;
        }

        /** The contract's float32 sequence, rounded once to the activation dtype: what every backend must return. */
        public float[] float32Sequence(int run) {
            float[] c = coefficientRuns.get(run);
            float[] r = new float[(int) terms.get(0).host().numel()];
            for (int e = 0; e < r.length; e++) {
                float acc = c[0] * terms.get(0).host().getFlat(e);
                for (int i = 1; i < terms.size(); i++) acc = Math.fma(c[i], terms.get(i).host().getFlat(e), acc);
                r[e] = switch (activation) {
                    case F16 -> Half.f16ToFloat(Half.floatToF16(acc));
                    case BF16 -> Half.bf16ToFloat(Half.floatToBf16(acc));
                    default -> acc;
                };
            }
            return r;
        }

        /** Normwise relative error allowed against the float64 reference: the output dtype's rounding. */
        public double tolerance() {
            return switch (activation) {
                case F16 -> 1e-3;
                case BF16 -> 8e-3;
                default -> 1e-5;
            };
        }

        /** Checks one run's output against both expectations. */
        public void check(int run, Tensor actual, String backend) {
            String what = backend + " " + name + " run " + run;
            assertArrayEquals(terms.get(0).host().shape(), actual.shape(), what + ": shape");
            double[] ref = reference(run);
            double num = 0, den = 0;
            for (int e = 0; e < ref.length; e++) {
                double d = actual.getFlat(e) - ref[e];
                num += d * d;
                den += ref[e] * ref[e];
            }
            assertTrue(den > 0, what + ": reference is all zeros, the check could not fail");
            double err = Math.sqrt(num / den);
            assertTrue(err <= tolerance(), what + ": relative error " + err + " against float64 > " + tolerance());
            assertBitsEqual(float32Sequence(run), actual, what + " against the float32 sequence");
        }
    }

    /** Bit-for-bit equality (NaN never equals anything expected here). */
    public static void assertBitsEqual(float[] expected, Tensor actual, String what) {
        assertEquals(expected.length, actual.numel(), what + ": size");
        for (int e = 0; e < expected.length; e++) {
            float a = actual.getFlat(e);
            if (Float.floatToIntBits(a) != Float.floatToIntBits(expected[e])) {
                throw new AssertionError(what + ": element " + e + " is " + a + ", expected " + expected[e]);
            }
        }
    }

    public static void assertBitsEqual(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertBitsEqual(expected.toFloatArray(), actual, what);
    }

    /** Every case, built from a fixed seed. */
    public static List<Case> all() {
        Random rnd = new Random(20250611);
        List<Case> cases = new ArrayList<>();
        for (DType act : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            for (int k = 1; k <= 3; k++) {
                List<Term> terms = new ArrayList<>();
                for (int i = 0; i < k; i++) terms.add(new Term("t" + i, false, gaussian(rnd, 1, act)));
                cases.add(new Case("k=" + k + " " + act, act, terms, List.of(coefficients(rnd, k), coefficients(rnd, k)), false));
            }
        }
        cases.add(new Case("mixed terms F32", DType.F32, List.of(new Term("t0", false, gaussian(rnd, 1, DType.F16)),
                new Term("w0", true, gaussian(rnd, 1, DType.BF16)), new Term("t1", false, gaussian(rnd, 1, DType.F32))),
                List.of(coefficients(rnd, 3), coefficients(rnd, 3)), false));
        cases.add(new Case("mixed terms F16", DType.F16, List.of(new Term("t0", false, gaussian(rnd, 1, DType.F32)),
                new Term("t1", false, gaussian(rnd, 1, DType.BF16)), new Term("w0", true, gaussian(rnd, 1, DType.F32))),
                List.of(coefficients(rnd, 3), coefficients(rnd, 3)), false));
        cases.add(new Case("mixed terms BF16", DType.BF16, List.of(new Term("w0", true, gaussian(rnd, 1, DType.F16)),
                new Term("t0", false, gaussian(rnd, 1, DType.F32))), List.of(coefficients(rnd, 2), coefficients(rnd, 2)), false));
        // x (F32) − x rounded to fp16: only the rounding residue is left, which is lost if the F32 term is read as fp16
        Tensor x = gaussian(rnd, 16, DType.F32);
        cases.add(new Case("F32 term in an F16 graph", DType.F16, List.of(new Term("x32", false, x), new Term("x16", false, x.to(DType.F16))),
                List.of(new float[]{1f, -1f}, new float[]{-0.75f, 0.75f}), false));
        // c0·y − y with c0 = 1.0002 (1.0 in fp16 and bf16): the result is lost if the coefficients are rounded to the graph's dtype
        for (DType act : new DType[]{DType.F16, DType.BF16}) {
            Tensor y = gaussian(rnd, 1, act);
            cases.add(new Case("coefficients kept F32 in " + act, act, List.of(new Term("y", false, y), new Term("y", false, y)),
                    List.of(new float[]{1.0002f, -1f}, new float[]{-1f, 1.0003f}), false));
        }
        Tensor z = gaussian(rnd, 1, DType.F16);
        cases.add(new Case("constant coefficients in F16", DType.F16, List.of(new Term("z", false, z), new Term("z", false, z)),
                List.<float[]>of(new float[]{1.0002f, -1f}), true));
        List<Term> eight = new ArrayList<>();
        for (int i = 0; i < 8; i++) eight.add(new Term("t" + i, false, gaussian(rnd, 1, i % 2 == 0 ? DType.F16 : DType.F32)));
        cases.add(new Case("eight terms F16", DType.F16, eight, List.of(coefficients(rnd, 8), coefficients(rnd, 8)), false));
        return cases;
    }

    /** Gaussian values (never exactly zero in practice) times {@code scale}, held in {@code dtype}. */
    static Tensor gaussian(Random rnd, double scale, DType dtype) {
        float[] v = new float[(int) Tensor.numel(SHAPE)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        Tensor t = Tensor.fromFloats(v, SHAPE);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    /** k coefficients in ±[0.25, 2). */
    static float[] coefficients(Random rnd, int k) {
        float[] c = new float[k];
        for (int i = 0; i < k; i++) c[i] = (float) ((rnd.nextBoolean() ? 1 : -1) * (0.25 + 1.75 * rnd.nextDouble()));
        return c;
    }
}
