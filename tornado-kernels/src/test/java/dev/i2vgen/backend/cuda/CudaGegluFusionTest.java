package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The feed-forward projection with GEGLU in its epilogue (GegluFusion, geglu_sm90.cu; compute capability 9.0 only,
 * skipped elsewhere) against the JVM backend in fp32 and against the same graph's unfused CUDA plan (cuBLASLt GEMM, then
 * the GEGLU kernel) on random data, fp16 and bf16: the K and I of each UNet level and of transformer_in with 300 rows
 * (a row tail), fewer rows than one tile, many tiles per block (the stage ring and the consumers' turns wrapping), no
 * bias. Every run on NaN-poisoned buffers, the CUDA graph replay identical to the first run; the fused plan launches the
 * fused kernel and neither the GEMM nor the GEGLU kernel, and plans less memory.
 */
class CudaGegluFusionTest {
    private static final String PROPERTY = "i2vgen.cuda.gegluFusion", MAX_K = "i2vgen.cuda.gegluFusionMaxK";
    private static final Random RND = new Random(20260301);
    static CudaBackend cuda;
    static Backend jvm;

    /** x [rows, k] · W [2·half, k]ᵀ (+ bias), then GEGLU. */
    record Case(String name, int rows, int k, int half, boolean bias) {}

    private static final List<Case> CASES = List.of(
            new Case("level 0 (K 320, I 1280)", 300, 320, 1280, true),
            new Case("transformer_in (K 512, I 2048)", 300, 512, 2048, true),
            new Case("level 1 (K 640, I 2560)", 300, 640, 2560, true),
            new Case("levels 2-3 (K 1280, I 5120)", 300, 1280, 5120, true),   // 20 k-tiles: the 6-stage ring wraps in a tile
            new Case("under one tile", 77, 64, 64, true),
            new Case("many tiles per block", 128 * 132 * 2 + 77, 128, 128, true),
            new Case("no bias", 200, 320, 1280, false));

    @BeforeAll
    static void open() {
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
        cuda = CudaBackend.create();
        jvm = Backends.create("jvm");
        Assumptions.assumeTrue(cuda.ccMajor == 9 && cuda.ccMinor == 0,
                "the fused GEGLU kernel needs compute capability 9.0, not " + cuda.ccMajor + "." + cuda.ccMinor);
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        if (jvm != null) jvm.close();
    }

    private static Tensor random(float scale, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) RND.nextGaussian() * scale;
        return Tensor.fromFloats(v, shape);
    }

    /** What one plan of a case computed and how it was lowered. */
    private record Result(Tensor out, List<String> kernels, int steps, long peakBytes) {}

    private static Result run(Backend backend, DType act, Case c, Tensor x, Tensor w, Tensor b, boolean fuse) {
        TaskGraph g = new TaskGraph("geglu", act);
        Value xv = g.input("x", act, c.rows(), c.k());
        g.output("out", g.geglu(g.linear(xv, g.constant("w", w), c.bias() ? g.constant("b", b) : null)));
        String previous = System.getProperty(PROPERTY), previousMaxK = System.getProperty(MAX_K);
        System.setProperty(PROPERTY, Boolean.toString(fuse));
        System.setProperty(MAX_K, "65536");   // the kernel at every K, also where the default leaves it to cuBLASLt
        try (ExecutionPlan plan = backend.compile(g.freeze())) {
            if (!(plan instanceof CudaExecutionPlan p)) {
                plan.executeByName(Map.of("x", x));
                return new Result(plan.read("out"), List.of(), 0, 0);
            }
            p.poison();
            p.executeByName(Map.of("x", x));
            Tensor first = p.read("out");
            p.poison();
            p.executeByName(Map.of("x", x));   // replayed as a CUDA graph
            Tensor second = p.read("out");
            assertEquals(0, TensorComparison.maxAbsError(first, second), c.name() + ": the CUDA graph replay differs from the first run");
            List<String> kernels = p.profile().stream().map(Map.Entry::getKey).toList();
            return new Result(second, kernels, p.stepCount(), p.plannedPeakBytes());
        } finally {
            if (previous == null) System.clearProperty(PROPERTY); else System.setProperty(PROPERTY, previous);
            if (previousMaxK == null) System.clearProperty(MAX_K); else System.setProperty(MAX_K, previousMaxK);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void fusedMatchesTheReferenceAndTheUnfusedPlan(DType act) {
        double tol = 1e-2, near = act == DType.F16 ? 3e-3 : 1.5e-2;
        for (Case c : CASES) {
            // weights at 1/sqrt(K): gates of order 1, where GELU bends
            Tensor x = random(1f, c.rows(), c.k()), w = random((float) (1 / Math.sqrt(c.k())), 2 * c.half(), c.k()), b = random(0.5f, 2 * c.half());
            Tensor expected = run(jvm, DType.F32, c, x, w, b, false).out();
            Result fused = run(cuda, act, c, x, w, b, true), unfused = run(cuda, act, c, x, w, b, false);
            double on = TensorComparison.relativeError(fused.out(), expected), off = TensorComparison.relativeError(unfused.out(), expected);
            double between = TensorComparison.relativeError(fused.out(), unfused.out());
            System.out.printf("geglu %-28s %-4s rel.err fused %.3e, unfused %.3e, between %.3e; steps %d vs %d; peak %d vs %d bytes; %s%n",
                    c.name(), act, on, off, between, fused.steps(), unfused.steps(), fused.peakBytes(), unfused.peakBytes(), fused.kernels());
            String what = c.name() + " " + act;
            assertTrue(fused.kernels().contains(Sm90GegluGemm.KERNEL), what + ": the fused kernel did not run: " + fused.kernels());
            assertTrue(fused.kernels().stream().noneMatch(k -> k.startsWith("geglu_v") || k.equals("geglu") || k.startsWith("gemm")),
                    what + ": a GEMM or GEGLU kernel ran beside the fused one: " + fused.kernels());
            assertEquals(unfused.steps() - 1, fused.steps(), what + ": one kernel instead of GEMM + GEGLU");
            assertTrue(fused.peakBytes() < unfused.peakBytes(), what + ": the [M, 2I] projection still takes memory");
            assertTrue(on <= tol && off <= tol, what + ": fused " + on + ", unfused " + off + " against fp32");
            // the fused kernel keeps the projection in fp32 (the unfused plan rounds it to 16 bits): no worse than unfused
            assertTrue(on <= 1.25 * off + 1e-4, what + ": fused " + on + " is worse than unfused " + off);
            assertTrue(between <= near, what + ": fused and unfused differ by " + between);
            assertElementsClose(what, fused.out(), expected, c.half(), act == DType.F16 ? 2e-2 : 6e-2);
        }
    }

    /** Every element within rtol·(|e| + rms(e)) of the reference; the first one that is not is named by row and column. */
    private static void assertElementsClose(String what, Tensor actual, Tensor expected, int cols, double rtol) {
        double sum = 0;
        for (long i = 0; i < expected.numel(); i++) sum += (double) expected.getFlat(i) * expected.getFlat(i);
        double rms = Math.sqrt(sum / expected.numel());
        for (long i = 0; i < expected.numel(); i++) {
            double a = actual.getFlat(i), e = expected.getFlat(i);
            if (!(Math.abs(a - e) <= rtol * (Math.abs(e) + rms)))
                throw new AssertionError(what + ": row " + i / cols + ", column " + i % cols + " is " + a + ", expected " + e + " (rms " + rms + ")");
        }
    }
}
