package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ExecutionPlan#submit} and {@link ExecutionPlan#readAsync} on every available backend, as the VAE decode
 * loop uses them: runs submitted back to back with fresh inputs (each host input poisoned as soon as submit returns),
 * each run's outputs captured and copied into a NaN-filled host tensor two runs later (so later runs must not change
 * a captured value) or at the end (straight from the run's buffers). Each copied value must equal, bit for bit, what
 * execute + read give for the same input, and the function in double precision within the dtype's tolerance. Both
 * an F32 output and one stored in the activation dtype (converted on the way out) are read.
 */
class ExecutionPlanAsyncReadTest {
    static final int ROWS = 48, COLS = 1000, RUNS = 6, LAG = 2;

    @ParameterizedTest
    @CsvSource({"jvm,F32", "jvm,F16", "opencl,F32", "cuda,F32", "cuda,F16", "cuda,BF16"})
    void submittedRunsReadLaterMatchExecuteAndRead(String backendName, DType activation) {
        BackendProvider provider = Backends.provider(backendName);
        Assumptions.assumeTrue(provider.isAvailable(), () -> backendName + " unavailable: " + provider.unavailableReason());
        Random rnd = new Random(11);
        float[] a = gaussian(rnd, ROWS * COLS);
        float[][] xs = new float[RUNS][];
        for (int r = 0; r < RUNS; r++) xs[r] = gaussian(rnd, ROWS * COLS);

        TaskGraph g = new TaskGraph("async_read", activation);
        Value x = g.input("x", DType.F32, ROWS, COLS);
        Value av = g.constant("a", Tensor.fromFloats(a, ROWS, COLS));
        Value xa = activation == DType.F32 ? x : g.cast(x, activation);
        // no transcendental op: the JVM backend's tanh changes in the last bit once the JIT intrinsic takes over,
        // and the copies are compared bit for bit with a later execute
        Value y = g.affine(g.add(g.mul(xa, av), xa), 0.5f, 0.1f);
        g.output("act", y);                                                 // stored in the activation dtype
        g.output("f32", activation == DType.F32 ? g.scale(y, 2f) : g.cast(g.scale(y, 2f), DType.F32));
        ImmutableTaskGraph graph = g.freeze();

        double tolerance = activation == DType.F32 ? 1e-5 : activation == DType.F16 ? 5e-3 : 3e-2;
        long frame = (long) ROWS * COLS;
        Tensor gotAct = nanTensor(RUNS * frame), gotF32 = nanTensor(RUNS * frame);
        try (Backend backend = Backends.create(backendName); ExecutionPlan plan = backend.compile(graph)) {
            PendingRead[] act = new PendingRead[RUNS], f32 = new PendingRead[RUNS];
            for (int r = 0; r < RUNS; r++) {
                Tensor input = Tensor.fromFloats(xs[r], ROWS, COLS);
                plan.submit(Map.of(x, input));
                input.contiguousSegment().fill((byte) 0xff);   // NaN: the run must have taken its input already
                act[r] = plan.readAsync("act");
                f32[r] = plan.readAsync("f32");
                if (r >= LAG) {
                    act[r - LAG].into(gotAct, (r - LAG) * frame);
                    f32[r - LAG].into(gotF32, (r - LAG) * frame);
                }
            }
            for (int r = Math.max(0, RUNS - LAG); r < RUNS; r++) {
                // the newest is copied straight from the run's buffers (nothing overwrote them)
                f32[r].into(gotF32, r * frame);
                act[r].into(gotAct, r * frame);
            }
            assertThrows(IllegalStateException.class, () -> f32[0].into(gotF32, 0));
            PendingRead spare = plan.readAsync("f32");
            assertThrows(IllegalArgumentException.class, () -> spare.into(Tensor.allocate(DType.F16, ROWS, COLS), 0));
            assertThrows(IllegalArgumentException.class, () -> spare.into(gotF32, RUNS * frame - 1));
            spare.close();

            for (int r = 0; r < RUNS; r++) {
                plan.execute(Map.of(x, Tensor.fromFloats(xs[r], ROWS, COLS)));
                float[] refAct = plan.read("act").toFloatArray(), refF32 = plan.read("f32").toFloatArray();
                float[] ra = slice(gotAct, r, frame), rf = slice(gotF32, r, frame);
                for (float v : rf) assertFalse(Float.isNaN(v), backendName + " " + activation + " run " + r + ": unwritten element");
                assertArrayEquals(refAct, ra, backendName + " " + activation + " run " + r + ": act differs from execute + read");
                assertArrayEquals(refF32, rf, backendName + " " + activation + " run " + r + ": f32 differs from execute + read");
                float[] expected = new float[(int) frame];
                for (int i = 0; i < expected.length; i++) {
                    double xi = xs[r][i];
                    expected[i] = (float) (2 * ((xi * a[i] + xi) * 0.5 + 0.1));
                }
                double err = TensorComparison.relativeError(Tensor.fromFloats(rf, ROWS, COLS), Tensor.fromFloats(expected, ROWS, COLS));
                assertTrue(err <= tolerance, backendName + " " + activation + " run " + r + ": relative error " + err);
            }
            // a read given up, then more runs: the plan goes on; a read outliving its plan is refused (CUDA)
            plan.readAsync("f32").close();
            plan.execute(Map.of(x, Tensor.fromFloats(xs[0], ROWS, COLS)));
            PendingRead orphan = plan.readAsync("f32");
            plan.close();
            if (backendName.equals("cuda")) assertThrows(IllegalStateException.class, () -> orphan.into(gotF32, 0));
            orphan.close();
        }
    }

    private static Tensor nanTensor(long n) {
        Tensor t = Tensor.allocate(DType.F32, (int) n);
        t.contiguousSegment().fill((byte) 0xff);
        return t;
    }

    private static float[] slice(Tensor t, int run, long frame) {
        float[] v = new float[(int) frame];
        MemorySegment.copy(t.contiguousSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, run * frame * 4, v, 0, v.length);
        return v;
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
