package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Persistent input bindings and output→input feedback ({@link ExecutionPlan#bind}, {@link ExecutionPlan#copy}) on
 * every available backend: a small loop x ← tanh(x·a + s)·0.5 + 0.1 run four times with {@code a} bound once,
 * {@code s} given per run and x carried on the backend, against the same loop in double precision on the host.
 * The input slots are reused by intermediates inside a run, so a binding that lived only in the slot would fail.
 */
class ExecutionPlanBindingTest {
    static final int ROWS = 16, COLS = 96, RUNS = 4;

    @ParameterizedTest
    @CsvSource({"jvm,F32", "jvm,F16", "cuda,F32", "cuda,F16", "cuda,BF16"})
    void loopCarriedStateMatchesHostLoop(String backendName, DType activation) {
        BackendProvider provider = Backends.provider(backendName);
        Assumptions.assumeTrue(provider.isAvailable(), () -> backendName + " unavailable: " + provider.unavailableReason());
        Random rnd = new Random(7);
        float[] x0 = gaussian(rnd, ROWS * COLS), a = gaussian(rnd, ROWS * COLS);
        float[][] s = new float[RUNS][];
        for (int r = 0; r < RUNS; r++) s[r] = gaussian(rnd, COLS);

        TaskGraph g = new TaskGraph("loop", activation);
        Value x = g.input("x", activation, ROWS, COLS);
        Value av = g.input("a", activation, ROWS, COLS);
        Value sv = g.input("s", DType.F32, COLS);
        Value y = g.unary(g.add(g.mul(x, av), sv), Unary.Kind.TANH);
        g.output("next", g.affine(y, 0.5f, 0.1f));
        ImmutableTaskGraph graph = g.freeze();

        double tolerance = activation == DType.F32 ? 1e-5 : activation == DType.F16 ? 5e-3 : 3e-2;
        try (Backend backend = Backends.create(backendName); ExecutionPlan plan = backend.compile(graph)) {
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, plan::execute);
            assertTrue(missing.getMessage().contains("neither given nor bound"), missing.getMessage());
            assertThrows(IllegalStateException.class, () -> plan.copy("next", "x"));

            plan.bind("a", Tensor.fromFloats(a, ROWS, COLS));
            plan.bind("x", Tensor.fromFloats(x0, ROWS, COLS));
            double[] expected = new double[x0.length];
            for (int i = 0; i < x0.length; i++) expected[i] = x0[i];
            for (int r = 0; r < RUNS; r++) {
                plan.execute(Map.of(graph.input("s"), Tensor.fromFloats(s[r], COLS)));
                for (int i = 0; i < expected.length; i++) expected[i] = Math.tanh(expected[i] * a[i] + s[r][i % COLS]) * 0.5 + 0.1;
                Tensor got = plan.read("next");
                double err = TensorComparison.relativeError(got, Tensor.fromFloats(toFloats(expected), ROWS, COLS));
                assertTrue(err <= tolerance, backendName + " " + activation + " run " + r + ": relative error " + err);
                plan.copy("next", "x");
            }
            // a binding outlives execute(Map) runs that do not mention it, and can be replaced
            plan.bind("x", Tensor.fromFloats(x0, ROWS, COLS));
            plan.execute(Map.of(graph.input("s"), Tensor.fromFloats(s[0], COLS)));
            float[] first = plan.read("next").toFloatArray();
            float[] again = new float[first.length];
            for (int i = 0; i < again.length; i++) again[i] = (float) (Math.tanh((double) x0[i] * a[i] + s[0][i % COLS]) * 0.5 + 0.1);
            assertTrue(TensorComparison.relativeError(Tensor.fromFloats(first, ROWS, COLS), Tensor.fromFloats(again, ROWS, COLS)) <= tolerance);
            IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class, () -> plan.bind("a", Tensor.fromFloats(a, COLS, ROWS)));
            assertTrue(wrongShape.getMessage().contains("'a'"), wrongShape.getMessage());
            assertEquals(ROWS * COLS, first.length);
        }
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
