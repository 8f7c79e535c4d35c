package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Builds one-op graphs, runs them on the JVM backend and compares with float64 references. */
final class OpHarness {
    private OpHarness() {}

    /** Relative error bound for F32 kernels against a float64 reference. */
    static final double F32_TOL = 1e-5;

    static final Backend JVM = Backends.create("jvm");

    /** Uniform random values in [-1, 1) scaled, never all zero. */
    static double[] random(Random rnd, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (rnd.nextDouble() * 2 - 1) * scale;
        return a;
    }

    /** A host tensor of {@code dtype} holding {@code values} (rounded to the dtype). */
    static Tensor tensor(double[] values, DType dtype, int... shape) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
        Tensor t = Tensor.fromFloats(f, shape);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    /** The values a tensor actually holds, widened to double (what a reference should consume). */
    static double[] values(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) d[i] = t.getFlat(i);
        return d;
    }

    /** Builds a graph with {@code build} (given the graph, returns the output), runs it with {@code inputs}. */
    static Tensor run(Map<String, Tensor> inputs, Function<Builder, Value> build) {
        return run(DType.F32, inputs, build);
    }

    static Tensor run(DType activation, Map<String, Tensor> inputs, Function<Builder, Value> build) {
        TaskGraph g = new TaskGraph("test", activation);
        Builder b = new Builder(g);
        Value out = build.apply(b);
        g.output("out", out);
        try (ExecutionPlan plan = JVM.compile(g.freeze())) {
            Map<String, Tensor> byName = new HashMap<>();
            for (String name : b.inputNames) byName.put(name, inputs.get(name));
            plan.executeByName(byName);
            return plan.read("out");
        }
    }

    /** Graph builder plus the names of the inputs it declared. */
    static final class Builder {
        final TaskGraph g;
        final java.util.List<String> inputNames = new java.util.ArrayList<>();

        Builder(TaskGraph g) { this.g = g; }

        Value in(String name, Tensor t) {
            inputNames.add(name);
            return g.input(name, t.dtype(), t.shape());
        }

        Value constant(String name, Tensor t) { return g.constant(name, t); }
    }

    static double relativeError(Tensor actual, double[] expected) {
        assertTrue(actual.numel() == expected.length, "size " + actual.numel() + " vs " + expected.length);
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double a = actual.getFlat(i);
            if (Double.isNaN(a)) return Double.NaN;
            num += (a - expected[i]) * (a - expected[i]);
            den += expected[i] * expected[i];
        }
        assertTrue(den > 0, "reference is all zeros: the test could not fail");
        return Math.sqrt(num / den);
    }

    static void assertClose(Tensor actual, int[] shape, double[] expected, double tol) {
        assertArrayEquals(shape, actual.shape(), "shape " + Arrays.toString(actual.shape()));
        double e = relativeError(actual, expected);
        assertTrue(e <= tol, "relative error " + e + " > " + tol);
    }
}
