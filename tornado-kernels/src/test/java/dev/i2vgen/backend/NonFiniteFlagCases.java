package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The NonFiniteFlag cases every backend's test runs, as a sampling loop uses the op: one compiled plan per case, one
 * run per step with a new x and the step index, the flag copied back into the previous-flag input between runs
 * ({@link ExecutionPlan#copy}). Each case's steps hold NaN or ±Inf planted at random positions (or none), so the
 * expected flag after step i is 1 + the first step up to i whose x is not all finite, else 0.
 */
public final class NonFiniteFlagCases {
    private NonFiniteFlagCases() {}

    static final String X = "x", PREVIOUS = "previous", STEP = "step", FLAG = "flag";

    /** Odd, so vector bodies and tails are both used; the large one spans many CUDA blocks and grid-stride rounds. */
    static final int[] SMALL = {3, 5, 67}, LARGE = {4, 33, 2053};

    /** Flag = nonFiniteFlag(x, previous, step) in a graph of {@code activation}, x an input of {@code xDtype}; one run per entry of {@code steps}. */
    public record Case(String name, DType activation, DType xDtype, List<Tensor> steps) {
        @Override public String toString() { return name; }

        public ImmutableTaskGraph graph() {
            TaskGraph g = new TaskGraph("nonfinite_flag " + name, activation);
            Value x = g.input(X, xDtype, steps.get(0).shape());
            Value flag = g.nonFiniteFlag(x, g.input(PREVIOUS, DType.F32, 1), g.input(STEP, DType.F32, 1));
            g.output(FLAG, flag);
            return g.freeze();
        }

        /** The flag after each step, on {@code backend}; {@code beforeRun} sees the plan first. */
        public List<Float> run(Backend backend, Consumer<ExecutionPlan> beforeRun) {
            List<Float> flags = new ArrayList<>();
            try (ExecutionPlan plan = backend.compile(graph())) {
                plan.bind(PREVIOUS, Tensor.fromFloats(new float[]{0f}, 1));
                for (int i = 0; i < steps.size(); i++) {
                    beforeRun.accept(plan);
                    plan.executeByName(Map.of(X, steps.get(i), STEP, Tensor.fromFloats(new float[]{i}, 1)));
                    Tensor flag = plan.read(FLAG);
                    assertEquals(1, flag.numel(), name + ": the flag is one value");
                    flags.add(flag.getFlat(0));
                    plan.copy(FLAG, PREVIOUS);
                }
            }
            return flags;
        }

        public List<Float> run(Backend backend) { return run(backend, p -> {}); }

        /** 1 + the first step up to each step whose x (as its dtype holds it) is not all finite, else 0. */
        public List<Float> expected() {
            List<Float> flags = new ArrayList<>();
            float flag = 0;
            for (int i = 0; i < steps.size(); i++) {
                if (flag == 0 && !allFinite(steps.get(i).to(xDtype))) flag = i + 1;
                flags.add(flag);
            }
            return flags;
        }

        /** Runs on {@code backend} and checks every step's flag. */
        public void check(Backend backend, Consumer<ExecutionPlan> beforeRun, String label) {
            assertEquals(expected(), run(backend, beforeRun), label + " " + name + ": the flag after each step");
        }
    }

    static boolean allFinite(Tensor t) {
        for (long e = 0; e < t.numel(); e++) if (!Float.isFinite(t.getFlat(e))) return false;
        return true;
    }

    /** Every case, built from a fixed seed. */
    public static List<Case> all() {
        Random rnd = new Random(20250614);
        List<Case> cases = new ArrayList<>();
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        for (DType act : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            for (DType xt : new DType[]{DType.F32, DType.F16, DType.BF16}) {
                for (int[] shape : new int[][]{SMALL, LARGE}) {
                    // clean, clean, one planted value, clean (the flag stays), several planted (the first step is kept)
                    List<Tensor> steps = new ArrayList<>();
                    steps.add(gaussian(rnd, shape, xt));
                    steps.add(gaussian(rnd, shape, xt));
                    steps.add(planted(rnd, gaussian(rnd, shape, xt), bad[rnd.nextInt(bad.length)], 1));
                    steps.add(gaussian(rnd, shape, xt));
                    steps.add(planted(rnd, gaussian(rnd, shape, xt), bad[rnd.nextInt(bad.length)], 5));
                    cases.add(new Case("x " + xt + " in " + act + " " + Arrays.toString(shape), act, xt, steps));
                }
            }
            List<Tensor> clean = new ArrayList<>();
            for (int i = 0; i < 4; i++) clean.add(gaussian(rnd, LARGE, DType.F32));
            cases.add(new Case("all finite in " + act, act, DType.F32, clean));
        }
        for (float v : bad) {
            cases.add(new Case("first element " + v, DType.F16, DType.F16,
                    List.of(gaussian(rnd, SMALL, DType.F16), at(gaussian(rnd, SMALL, DType.F16), 0, v))));
            cases.add(new Case("last element " + v, DType.BF16, DType.F32,
                    List.of(at(gaussian(rnd, LARGE, DType.F32), Tensor.numel(LARGE) - 1, v))));
        }
        // 1e5 overflows fp16: stored in an F16 x it is +Inf (an overflow the flag must see); in an F32 x of an F16
        // graph it is finite (x is read in its own dtype, never narrowed to the activation dtype first)
        cases.add(new Case("fp16 overflow of the stored x", DType.F16, DType.F16,
                List.of(gaussian(rnd, SMALL, DType.F32), at(gaussian(rnd, SMALL, DType.F32), 17, 1e5f))));
        cases.add(new Case("large F32 x in an F16 graph", DType.F16, DType.F32,
                List.of(at(gaussian(rnd, LARGE, DType.F32), 17, 1e30f), at(gaussian(rnd, LARGE, DType.F32), 4000, -3e38f))));
        return cases;
    }

    /** Gaussian values held in {@code dtype}. */
    static Tensor gaussian(Random rnd, int[] shape, DType dtype) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        Tensor t = Tensor.fromFloats(v, shape);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    /** {@code t} with {@code value} at {@code count} random positions. */
    static Tensor planted(Random rnd, Tensor t, float value, int count) {
        for (int i = 0; i < count; i++) t = at(t, rnd.nextLong(t.numel()), value);
        return t;
    }

    static Tensor at(Tensor t, long index, float value) {
        t.setFlat(index, value);
        return t;
    }
}
