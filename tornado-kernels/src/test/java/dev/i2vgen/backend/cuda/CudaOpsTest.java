package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Binary;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op on the GPU against the JVM backend on the same random data (fp32: relative error ≤ 1e-5;
 * fp16/bf16 activations: ≤ 1e-2), plus float64 references for the GEMM and the attention kernel.
 * Outputs are poisoned with NaN before each run, and every graph runs twice (the second time replayed
 * as a CUDA graph). Skips with the reason when no CUDA device is usable.
 */
class CudaOpsTest {
    static CudaBackend cuda;
    static Backend jvm;
    static final Random RND = new Random(20251122);

    @BeforeAll
    static void open() {
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
        cuda = CudaBackend.create();
        jvm = Backends.create("jvm");
        System.out.println("CUDA device: " + cuda.deviceDescription());
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        if (jvm != null) jvm.close();
    }

    static Tensor random(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (RND.nextGaussian());
        return Tensor.fromFloats(v, shape);
    }

    /** Graph under test: declares its inputs from the given tensors and returns its output. */
    interface Build extends BiFunction<TaskGraph, Map<String, Value>, Value> {}

    static final Map<String, Tensor> NO_INPUTS = Map.of();

    /** Runs {@code build} on CUDA with {@code activation} and on the JVM in fp32; returns the relative error. */
    static double compare(String what, DType activation, Map<String, Tensor> inputs, Build build) {
        return compare(what, activation, activation == DType.F32 ? 1e-5 : 1e-2, inputs, build);
    }

    static double compare(String what, DType activation, double tol, Map<String, Tensor> inputs, Build build) {
        Tensor expected = run(jvm, DType.F32, inputs, build);
        Tensor actual = null;
        for (int rep = 0; rep < 2; rep++) actual = run(cuda, activation, inputs, build);
        double err = TensorComparison.relativeError(actual, expected);
        System.out.printf("%-28s %-5s rel.err %.3e%n", what, activation, err);
        assertTrue(err <= tol, what + " " + activation + ": relative error " + err + " > " + tol);
        return err;
    }

    static Tensor run(Backend backend, DType activation, Map<String, Tensor> inputs, Build build) {
        TaskGraph g = new TaskGraph("test", activation);
        Map<String, Value> vals = new LinkedHashMap<>();
        inputs.forEach((name, t) -> vals.put(name, name.startsWith("w:") ? g.constant(name, t) : g.input(name, t.dtype(), t.shape())));
        g.output("out", build.apply(g, vals));
        ImmutableTaskGraph frozen = g.freeze();
        Map<String, Tensor> runtime = new LinkedHashMap<>();
        inputs.forEach((name, t) -> { if (!name.startsWith("w:")) runtime.put(name, t); });
        try (ExecutionPlan plan = backend.compile(frozen)) {
            if (plan instanceof CudaExecutionPlan c) {
                c.poison();
                c.executeByName(runtime);
                Tensor first = c.read("out");
                c.poison();
                c.executeByName(runtime);   // replayed as a CUDA graph
                Tensor second = c.read("out");
                assertTrue(TensorComparison.maxAbsError(first, second) == 0, "CUDA graph replay differs from the first run");
                return second;
            }
            plan.executeByName(runtime);
            return plan.read("out");
        }
    }

    static Tensor scaled(Tensor t, float factor) {
        for (long i = 0; i < t.numel(); i++) t.setFlat(i, t.getFlat(i) * factor);
        return t;
    }

    static Map<String, Tensor> in(Object... kv) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Tensor) kv[i + 1]);
        return m;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void elementwiseOps(DType act) {
        for (Unary.Kind k : Unary.Kind.values()) {
            compare("unary " + k, act, in("x", random(3, 5, 70)), (g, v) -> g.unary(v.get("x"), k));
        }
        for (Binary.Kind k : Binary.Kind.values()) {
            Tensor b = random(1, 5, 1);
            if (k == Binary.Kind.DIV) for (int i = 0; i < b.numel(); i++) b.setFlat(i, 1.5f + Math.abs(b.getFlat(i)));
            compare("binary " + k, act, in("a", random(3, 5, 70), "b", b), (g, v) -> g.add(new Binary(k), v.get("a"), v.get("b")));
        }
        for (Binary.Kind k : Binary.Kind.values()) {   // same shapes: the kernel without index decoding
            Tensor b = random(3, 5, 70);
            if (k == Binary.Kind.DIV) for (int i = 0; i < b.numel(); i++) b.setFlat(i, 1.5f + Math.abs(b.getFlat(i)));
            compare("binary same " + k, act, in("a", random(3, 5, 70), "b", b), (g, v) -> g.add(new Binary(k), v.get("a"), v.get("b")));
        }
        compare("binary bcast rank", act, in("a", random(2, 3, 4, 33), "w:b", random(33)), (g, v) -> g.mul(v.get("a"), v.get("w:b")));
        compare("affine", act, in("x", random(1000)), (g, v) -> g.affine(v.get("x"), 0.7f, -0.3f));
        compare("clamp", act, in("x", random(1000)), (g, v) -> g.clamp(v.get("x"), -0.5f, 0.8f));
        compare("geglu", act, in("x", random(4, 7, 96)), (g, v) -> g.geglu(v.get("x")));
        compare("cfg_combine", act, in("x", random(4, 3, 5, 5)), (g, v) -> g.cfgCombine(v.get("x"), 9f));
        compare("cast", act, in("x", random(2, 50)), (g, v) -> g.affine(g.cast(v.get("x"), DType.BF16), 1f, 0f));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void ddimStep(int predictionType) {
        Tensor coef = Tensor.fromFloats(new float[]{0.8f, 0.6f, 0.9f, 0.3f, predictionType == 0 ? 0.2f : 0f, predictionType, predictionType == 2 ? 1.0f : 0f}, 7);
        compare("ddim_step type " + predictionType, DType.F32, in("x", random(2, 4, 8, 8), "m", random(2, 4, 8, 8), "c", coef, "n", random(2, 4, 8, 8)),
                (g, v) -> g.ddimStep(v.get("x"), v.get("m"), v.get("c"), v.get("n")));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void normalizationAndLayout(DType act) {
        compare("layer_norm", act, in("x", random(6, 320), "w:g", random(320), "w:b", random(320)),
                (g, v) -> g.layerNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 1e-5f));
        compare("group_norm_silu", act, in("x", random(2, 64, 6, 10), "w:g", random(64), "w:b", random(64)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 32, 1e-6f, true));
        compare("group_norm 5d", act, in("x", random(1, 32, 3, 5, 7), "w:g", random(32), "w:b", random(32)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 8, 1e-5f, false));
        // groups large enough to be split over several blocks (5 and 11 chunks, the last one shorter)
        compare("group_norm split", act, in("x", random(2, 64, 4, 32, 40), "w:g", random(64), "w:b", random(64)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 8, 1e-5f, false));
        compare("group_norm_silu split", act, in("x", random(1, 32, 3, 61, 67), "w:g", random(32), "w:b", random(32)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 4, 1e-6f, true));
        compare("softmax", act, in("x", random(7, 333)), (g, v) -> g.softmax(v.get("x")));
        // rows held in registers (softmax_v*, -Di2vgen.cuda.softmaxRows=true): the VAE mid-block's 14,080 keys, a row of
        // 65 16-byte vectors, and a row longer than the largest such kernel holds (the three-pass kernel); values spread
        // out so that the rows peak
        Build softmax = (g, v) -> g.softmax(g.scale(v.get("x"), 1f));
        for (int[] shape : new int[][]{{5, 14080}, {9, 520}, {2, 17000}}) {
            Map<String, Tensor> rows = in("x", scaled(random(shape), 4f));
            boolean held = shape[1] <= 16384;
            withProperty("i2vgen.cuda.softmaxRows", "true", () -> {
                compare("softmax rows " + shape[1], act, rows, softmax);
                assertEquals(held, kernelsOf(act, rows, softmax).stream().anyMatch(k -> k.startsWith("softmax_v")),
                        "softmax over " + shape[1] + " values " + (held ? "not" : "") + " held in registers: " + kernelsOf(act, rows, softmax));
            });
            compare("softmax " + shape[1], act, rows, softmax);
            assertTrue(kernelsOf(act, rows, softmax).stream().noneMatch(k -> k.startsWith("softmax_v")), "softmax rows ran while off");
        }
        compare("concat", act, in("a", random(2, 3, 5), "b", random(2, 4, 5)), (g, v) -> g.concat(1, v.get("a"), v.get("b")));
        compare("slice", act, in("x", random(3, 9, 4)), (g, v) -> g.slice(v.get("x"), 1, 2, 7));
        compare("permute", act, in("x", random(2, 3, 4, 5)), (g, v) -> g.permute(v.get("x"), 0, 2, 3, 1));
        compare("upsample x2", act, in("x", random(2, 3, 5, 6)), (g, v) -> g.upsampleNearest(v.get("x"), 10, 12));
        compare("upsample odd", act, in("x", random(1, 2, 5, 6)), (g, v) -> g.upsampleNearest(v.get("x"), 7, 13));
        // the vector paths: 2x upsampling with whole output vectors (the UNet's upsamplers), and row copies in 16- and
        // 8-byte words (concat parts of 8 and 12 channels of 4x10 pixels), each checked to have run
        Map<String, Tensor> up = in("x", random(2, 3, 5, 8));
        Build x2 = (g, v) -> g.upsampleNearest(g.scale(v.get("x"), 1f), 10, 16);
        compare("upsample x2 vectors", act, up, x2);
        assertTrue(kernelsOf(act, up, x2).stream().anyMatch(k -> k.startsWith("upsample_nearest2x_v")), "2x upsampling ran element-wise");
        Map<String, Tensor> parts = in("a", random(3, 8, 4, 10), "b", random(3, 12, 4, 10), "c", random(3, 3, 3, 10));
        Build cat = (g, v) -> g.concat(1, g.scale(v.get("a"), 1f), g.scale(v.get("b"), 1f));
        compare("concat vectors", act, parts, cat);
        assertTrue(kernelsOf(act, parts, cat).stream().anyMatch(k -> k.startsWith("copy_rows_")), "the concat ran element-wise");
        Build odd = (g, v) -> g.concat(1, g.scale(g.slice(v.get("a"), 2, 1, 4), 1f), g.scale(v.get("c"), 2f));   // per image 240 and 90 values: one part in words, one element-wise
        compare("concat odd rows", act, parts, odd);
        compare("slice vectors", act, parts, (g, v) -> g.slice(g.scale(v.get("b"), 1f), 1, 4, 12));
    }

    @Test
    void embeddings() {
        Tensor ids = Tensor.fromFloats(new float[]{3, 0, 9, 4, 4, 1}, 2, 3).to(DType.I64);
        compare("embedding", DType.F32, in("w:t", random(10, 24), "ids", ids), (g, v) -> g.embedding(v.get("w:t"), v.get("ids")));
        Tensor t = Tensor.fromFloats(new float[]{999, 1, 500.5f}, 3);
        compare("timestep_embedding", DType.F32, in("t", t), (g, v) -> g.timestepEmbedding(v.get("t"), 320, true, 0f));
        compare("timestep_embedding odd", DType.F32, in("t", t), (g, v) -> g.timestepEmbedding(v.get("t"), 33, false, 1f));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void gemmsAndConvolutions(DType act) {
        compare("linear+bias", act, in("x", random(2, 37, 96), "w:w", random(80, 96), "w:b", random(80)),
                (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("matmul batched", act, in("a", random(3, 17, 40), "b", random(3, 40, 24)), (g, v) -> g.matmul(v.get("a"), v.get("b"), false, 0.5f));
        compare("matmul Bt shared", act, in("a", random(3, 17, 40), "b", random(24, 40)), (g, v) -> g.matmul(v.get("a"), v.get("b"), true, 1f));
        compare("conv2d 3x3", act, in("x", random(2, 8, 9, 11), "w:w", random(16, 8, 3, 3), "w:b", random(16)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
        // rows wider than a warp (each lane strides along ox) and padding rows/columns at both borders
        compare("conv2d 3x3 wide rows", act, in("x", random(3, 5, 20, 75), "w:w", random(7, 5, 3, 3), "w:b", random(7)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
        compare("conv2d s2 wide rows", act, in("x", random(2, 3, 12, 90), "w:w", random(4, 3, 3, 3)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, new Conv2d(2, 2, 0, 1, 0, 1)));
        compare("conv2d s2 asym", act, in("x", random(1, 4, 10, 10), "w:w", random(6, 4, 3, 3)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, new Conv2d(2, 2, 0, 1, 0, 1)));
        compare("temporal_conv", act, in("x", random(2, 8, 5, 3, 4), "w:w", random(12, 8, 3, 1, 1), "w:b", random(12)),
                (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b")));
    }

    /**
     * The convolution paths at shapes that exercise their edges: the implicit-GEMM kernel's tiles (out channels
     * over 128 with a remainder, K over several 32-wide tiles with a remainder, columns crossing image borders
     * at odd pixel counts), its element-wise weight path (K % 8 != 0), stride 2 with the VAE's asymmetric
     * padding, 1x1 as a direct GEMM, the temporal (3,1,1) kernel, and the 14x14/14 patch conv (im2col path).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void convolutionPaths(DType act) {
        for (String path : act == DType.F32 ? new String[]{"auto"} : new String[]{"igemm", "im2col"}) {
            System.setProperty("i2vgen.cuda.conv", path);
            try {
                convolutionCases(act);
            } finally {
                System.clearProperty("i2vgen.cuda.conv");
            }
        }
    }

    // ---- cuDNN 9 (each test skips where libcudnn.so.9 is absent) ----

    private static Cudnn cudnnOrSkip() {
        Assumptions.assumeTrue(cuda.cudnn().isPresent(), "cuDNN 9 (libcudnn.so.9) not installed");
        return cuda.cudnn().get();
    }

    /**
     * Runs {@code body} (compare() builds two CUDA plans) and asserts whether cuDNN planned a convolution in it:
     * {@code expected} true or false, null where either is right (TemporalConv may be lowered as GEMMs elsewhere).
     */
    private static void cudnnUse(String what, Boolean expected, Runnable body) {
        Cudnn cudnn = cuda.cudnn().orElseThrow();
        int before = cudnn.planned.get();
        body.run();
        int used = cudnn.planned.get() - before;
        System.out.printf("%-28s cuDNN plans %d%n", what, used);
        if (expected != null) assertEquals(expected, used > 0, what + ": cuDNN " + (expected ? "expected" : "not expected") + ", " + used + " cuDNN plans");
    }

    private static void withProperty(String key, String value, Runnable body) {
        String old = System.getProperty(key);
        if (value == null) System.clearProperty(key); else System.setProperty(key, value);
        try {
            body.run();
        } finally {
            if (old == null) System.clearProperty(key); else System.setProperty(key, old);
        }
    }

    /**
     * Cases forced through cuDNN (i2vgen.cuda.conv=cudnn): every conv with symmetric padding takes it, 1x1 and the
     * 14x14 patch conv included; the VAE downsampler's asymmetric padding falls back by design. Bias fused into the
     * conv (default, where cuDNN can), through cudnnAddTensor and through the channel-bias kernel.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void cudnnConvolutions(DType act) {
        Cudnn cudnn = cudnnOrSkip();
        System.out.println("cuDNN " + cudnn.version() + " from " + cudnn.libraryPath());
        withProperty("i2vgen.cuda.conv", "cudnn", () -> {
            cudnnUse("cudnn 3x3 O200 C40 odd", true, () -> compare("cudnn 3x3 O200 C40 odd", act,
                    in("x", random(3, 40, 13, 17), "w:w", random(200, 40, 3, 3), "w:b", random(200)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            cudnnUse("cudnn 3x3 C3 (K=27)", true, () -> compare("cudnn 3x3 C3 (K=27)", act,
                    in("x", random(2, 3, 21, 30), "w:w", random(130, 3, 3, 3), "w:b", random(130)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            cudnnUse("cudnn 3x3 s2 asym C32", false, () -> compare("cudnn 3x3 s2 asym C32", act,
                    in("x", random(2, 32, 18, 26), "w:w", random(48, 32, 3, 3), "w:b", random(48)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), new Conv2d(2, 2, 0, 1, 0, 1))));
            cudnnUse("cudnn 3x3 s2 pad1 C24", true, () -> compare("cudnn 3x3 s2 pad1 C24", act,
                    in("x", random(3, 24, 15, 19), "w:w", random(40, 24, 3, 3)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, Conv2d.of(2, 1))));
            cudnnUse("cudnn 1x1 C48 O136", true, () -> compare("cudnn 1x1 C48 O136", act,
                    in("x", random(3, 48, 7, 9), "w:w", random(136, 48, 1, 1), "w:b", random(136)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 0)));
            cudnnUse("cudnn 1x1 s2", true, () -> compare("cudnn 1x1 s2", act,
                    in("x", random(2, 16, 9, 11), "w:w", random(24, 16, 1, 1), "w:b", random(24)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), Conv2d.of(2, 0))));
            cudnnUse("cudnn temporal C64 F16", null, () -> compare("cudnn temporal C64 F16", act,
                    in("x", random(2, 64, 16, 5, 7), "w:w", random(136, 64, 3, 1, 1), "w:b", random(136)),
                    (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b"))));
            cudnnUse("cudnn 14x14/14 patch", true, () -> compare("cudnn 14x14/14 patch", act,
                    in("x", random(2, 3, 42, 56), "w:w", random(40, 3, 14, 14)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, Conv2d.of(14, 0))));
            cudnnUse("cudnn 3x3 C320 O640", true, () -> compare("cudnn 3x3 C320 O640", act,
                    in("x", random(2, 320, 12, 20), "w:w", random(640, 320, 3, 3), "w:b", random(640)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            for (String biasMode : new String[]{"kernel", "add"}) {
                withProperty("i2vgen.cuda.cudnnBias", biasMode, () ->
                        cudnnUse("cudnn 3x3 bias " + biasMode, true, () -> compare("cudnn 3x3 bias " + biasMode, act,
                                in("x", random(2, 64, 11, 14), "w:w", random(72, 64, 3, 3), "w:b", random(72)),
                                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1))));
            }
        });
    }

    /**
     * The default (i2vgen.cuda.conv unset = auto): cuDNN for every 3x3 conv with symmetric padding, the VAE's
     * 128-channel level and its 3-channel in/out convs included, stride 2 with padding 1 (UNet downsampler); not for
     * the VAE downsampler's asymmetric padding, 1x1 or the patch conv; =builtin never. Bias on and off, odd sizes.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void cudnnAutoChoice(DType act) {
        cudnnOrSkip();
        withProperty("i2vgen.cuda.conv", null, () -> {
            cudnnUse("auto 3x3 C40 O200 odd", true, () -> compare("auto 3x3 C40 O200 odd", act,
                    in("x", random(3, 40, 13, 17), "w:w", random(200, 40, 3, 3), "w:b", random(200)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            cudnnUse("auto 3x3 C128 O128 bias", true, () -> compare("auto 3x3 C128 O128 bias", act,
                    in("x", random(1, 128, 40, 72), "w:w", random(128, 128, 3, 3), "w:b", random(128)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            cudnnUse("auto 3x3 C128 no bias odd", true, () -> compare("auto 3x3 C128 no bias odd", act,
                    in("x", random(2, 128, 23, 31), "w:w", random(128, 128, 3, 3)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, 1, 1)));
            cudnnUse("auto 3x3 C3 O128 (conv_in)", true, () -> compare("auto 3x3 C3 O128 (conv_in)", act,
                    in("x", random(1, 3, 37, 53), "w:w", random(128, 3, 3, 3), "w:b", random(128)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            cudnnUse("auto 3x3 C128 O3 (conv_out)", true, () -> compare("auto 3x3 C128 O3 (conv_out)", act,
                    in("x", random(1, 128, 29, 45), "w:w", random(3, 128, 3, 3), "w:b", random(3)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            cudnnUse("auto 3x3 s2 pad1 C64", true, () -> compare("auto 3x3 s2 pad1 C64", act,
                    in("x", random(2, 64, 17, 22), "w:w", random(64, 64, 3, 3), "w:b", random(64)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), Conv2d.of(2, 1))));
            cudnnUse("auto 3x3 s2 asym (VAE down)", false, () -> compare("auto 3x3 s2 asym (VAE down)", act,
                    in("x", random(1, 64, 18, 26), "w:w", random(64, 64, 3, 3), "w:b", random(64)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), new Conv2d(2, 2, 0, 1, 0, 1))));
            cudnnUse("auto 1x1", false, () -> compare("auto 1x1", act,
                    in("x", random(2, 64, 9, 13), "w:w", random(96, 64, 1, 1), "w:b", random(96)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 0)));
            cudnnUse("auto 14x14/14 patch", false, () -> compare("auto 14x14/14 patch", act,
                    in("x", random(1, 3, 28, 42), "w:w", random(32, 3, 14, 14)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, Conv2d.of(14, 0))));
            cudnnUse("auto temporal C40 F16", null, () -> compare("auto temporal C40 F16", act,
                    in("x", random(2, 40, 16, 3, 5), "w:w", random(48, 40, 3, 1, 1), "w:b", random(48)),
                    (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b"))));
        });
        withProperty("i2vgen.cuda.conv", "builtin", () ->
                cudnnUse("builtin 3x3 C40 O200", false, () -> compare("builtin 3x3 C40 O200", act,
                        in("x", random(3, 40, 13, 17), "w:w", random(200, 40, 3, 3), "w:b", random(200)),
                        (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1))));
    }

    /** fp32 is the conformance path: never cuDNN, neither by default nor forced. */
    @Test
    void cudnnNeverInFp32() {
        cudnnOrSkip();
        for (String mode : new String[]{null, "cudnn"}) {
            withProperty("i2vgen.cuda.conv", mode, () ->
                    cudnnUse("fp32 3x3 (" + mode + ")", false, () -> compare("fp32 3x3 (" + mode + ")", DType.F32,
                            in("x", random(2, 16, 9, 10), "w:w", random(24, 16, 3, 3), "w:b", random(24)),
                            (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1))));
        }
    }

    /**
     * The search runs once per distinct shape (the second plan of compare() finds the cached choice), the heuristic
     * choice (i2vgen.cuda.cudnn.search=heuristic, the fallback when the Ex search fails) is correct too, and a batch
     * whose NHWC copies exceed the workspace bound is split into image groups (bound lowered to 32 MB: 2 images of
     * 7.9 MB each per call, 3 calls) with the same results.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void cudnnSearchCacheHeuristicAndGroups(DType act) {
        Cudnn cudnn = cudnnOrSkip();
        withProperty("i2vgen.cuda.conv", "cudnn", () -> {
            int s0 = cudnn.searches.get();
            cudnnUse("cudnn search once", true, () -> compare("cudnn search once", act,
                    in("x", random(3, 56, 11, 13), "w:w", random(72, 56, 3, 3), "w:b", random(72)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            assertEquals(1, cudnn.searches.get() - s0, "two plans of one new shape must search once");
            withProperty("i2vgen.cuda.cudnn.search", "heuristic", () ->
                    cudnnUse("cudnn heuristic choice", true, () -> compare("cudnn heuristic choice", act,
                            in("x", random(3, 56, 11, 13), "w:w", random(72, 56, 3, 3), "w:b", random(72)),
                            (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1))));
            withProperty("i2vgen.cuda.cudnnWorkspaceBytes", String.valueOf(32L << 20), () -> {
                var geometry = new CudnnConvolution.Geometry(6, 128, 96, 160, 128, 3, 3, 1, 1, 1, 1, 96, 160);
                assertEquals(2, CudnnConvolution.imagesPerCall(geometry, act.byteSize(), 32L << 20));
                cudnnUse("cudnn 3 groups of 2 images", true, () -> compare("cudnn 3 groups of 2 images", act,
                        in("x", random(6, 128, 96, 160), "w:w", random(128, 128, 3, 3), "w:b", random(128)),
                        (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1)));
            });
        });
    }

    /** The Ex search on buffers full of NaN (what an unwritten arena may hold) neither fails nor declines. */
    @Test
    void cudnnSearchOnNaNBuffers() {
        Cudnn cudnn = cudnnOrSkip();
        var g = new CudnnConvolution.Geometry(2, 24, 19, 23, 40, 3, 3, 1, 1, 1, 1, 19, 23);
        long x = cuda.driver.malloc(g.n() * g.xImage() * 2), w = cuda.driver.malloc(g.weights() * 2), y = cuda.driver.malloc(g.n() * g.yImage() * 2);
        long b = cuda.driver.malloc(g.o() * 2);
        try {
            cuda.driver.fill32(x, 0x7fc07fc0, g.n() * g.xImage() / 2, cuda.stream);   // NaN as two fp16 halves
            cuda.driver.fill32(w, 0x7fc07fc0, g.weights() / 2, cuda.stream);
            cuda.driver.fill32(y, 0x7fc07fc0, g.n() * g.yImage() / 2, cuda.stream);
            cuda.driver.fill32(b, 0x7fc07fc0, g.o() / 2, cuda.stream);
            cuda.driver.synchronize(cuda.stream);
            int s0 = cudnn.searches.get();
            CudnnConvolution conv = CudnnConvolution.plan(cudnn, cuda.driver, DType.F16, g, b, true, x, w, y,
                    ConvolutionLowering.CUDNN_WORKSPACE_BYTES, cuda.stream);
            assertTrue(conv != null, "cuDNN declined a plain 3x3 conv after searching on NaN inputs");
            try {
                assertEquals(1, cudnn.searches.get() - s0);
                System.out.println("cuDNN search on NaN buffers: " + conv + " " + conv.choice() + ", bias fused " + conv.biasFused());
                conv.run(x, w, b, y, cudnn.workspace(cuda.driver, ConvolutionLowering.CUDNN_WORKSPACE_BYTES), cuda.stream);
                cuda.driver.synchronize(cuda.stream);
            } finally {
                conv.close();
            }
        } finally {
            cuda.driver.free(x);
            cuda.driver.free(w);
            cuda.driver.free(y);
            cuda.driver.free(b);
        }
    }

    /**
     * Device memory while building and running a plan of cuDNN convolutions on a fresh backend (fresh cuDNN handle
     * and workspace) stays within the plan's own buffers + its weights + 1.5 GiB (the workspace bound is 1 GiB); the
     * old allocating search took 65 GiB. Used memory is polled every millisecond from a second thread.
     */
    @Test
    void cudnnPlanMemoryIsBounded() throws Exception {
        cudnnOrSkip();
        try (CudaBackend fresh = CudaBackend.create()) {
            CudaMemoryInfo info = new CudaMemoryInfo(fresh);
            Tensor x = random(4, 320, 88, 160);
            // weights scaled by ~1/sqrt(fan-in) so that three convs in a row stay within fp16's range
            Tensor w1 = scaled(random(320, 320, 3, 3), 0.02f), w2 = scaled(random(640, 320, 3, 3), 0.02f),
                    w3 = scaled(random(640, 640, 3, 3), 0.015f), b = random(640);
            TaskGraph g = new TaskGraph("cudnn memory", DType.F16);
            Value in = g.input("x", DType.F16, 4, 320, 88, 160);
            Value y = g.conv2d(in, g.constant("w1", w1), null, 1, 1);
            y = g.conv2d(y, g.constant("w2", w2), g.constant("b", b), Conv2d.of(2, 1));
            y = g.conv2d(y, g.constant("w3", w3), null, 1, 1);
            g.output("y", y);
            long weights = 2L * (w1.numel() + w2.numel() + w3.numel() + b.numel());
            long before = info.usedBytes();
            java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong(before);
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread poller = new Thread(() -> {
                while (!done.get()) {
                    peak.accumulateAndGet(info.usedBytes(), Math::max);
                    try { Thread.sleep(1); } catch (InterruptedException e) { return; }
                }
            });
            int searches0 = fresh.cudnn().map(c -> c.searches.get()).orElse(0);
            long planned;
            poller.start();
            try (CudaExecutionPlan plan = fresh.compile(g.freeze())) {
                planned = plan.plannedPeakBytes();
                plan.executeByName(Map.of("x", x));
                plan.executeByName(Map.of("x", x));   // captured and replayed
                Tensor out = plan.read("y");
                for (long i = 0; i < out.numel(); i += 997) assertTrue(Float.isFinite(out.getFlat(i)), "non-finite conv output at " + i);
            } finally {
                done.set(true);
                poller.join();
            }
            peak.accumulateAndGet(info.usedBytes(), Math::max);
            Cudnn c = fresh.cudnn().orElseThrow();
            long bound = planned + weights + (3L << 29);
            System.out.printf("cuDNN plan memory: peak +%.3f GiB (planned %.3f GiB, weights %.3f GiB, workspace %.3f GiB, %d searches); bound +%.3f GiB%n",
                    (peak.get() - before) / 1073741824.0, planned / 1073741824.0, weights / 1073741824.0,
                    c.workspaceBytes() / 1073741824.0, c.searches.get() - searches0, bound / 1073741824.0);
            assertTrue(c.planned.get() >= 3, "the three 3x3 convs should have been planned by cuDNN, got " + c.planned.get());
            assertTrue(peak.get() - before <= bound, "building and running the plan took " + (peak.get() - before) + " bytes > " + bound);
        }
    }

    private static void convolutionCases(DType act) {
        compare("conv 3x3 O200 C40 odd", act, in("x", random(3, 40, 13, 17), "w:w", random(200, 40, 3, 3), "w:b", random(200)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
        compare("conv 3x3 C3 (K=27)", act, in("x", random(2, 3, 21, 30), "w:w", random(130, 3, 3, 3), "w:b", random(130)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
        compare("conv 3x3 s2 asym C32", act, in("x", random(2, 32, 18, 26), "w:w", random(48, 32, 3, 3), "w:b", random(48)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), new Conv2d(2, 2, 0, 1, 0, 1)));
        compare("conv 3x3 s2 pad1 C24", act, in("x", random(3, 24, 15, 19), "w:w", random(40, 24, 3, 3)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, Conv2d.of(2, 1)));
        compare("conv 1x1 C48 O136", act, in("x", random(3, 48, 7, 9), "w:w", random(136, 48, 1, 1), "w:b", random(136)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 0));
        compare("conv 1x1 s2", act, in("x", random(2, 16, 9, 11), "w:w", random(24, 16, 1, 1), "w:b", random(24)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), Conv2d.of(2, 0)));
        compare("temporal_conv C64 F16", act, in("x", random(2, 64, 16, 5, 7), "w:w", random(136, 64, 3, 1, 1), "w:b", random(136)),
                (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("conv 14x14/14 patch", act, in("x", random(2, 3, 42, 56), "w:w", random(40, 3, 14, 14)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, Conv2d.of(14, 0)));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void attention(DType act) {
        compare("attention 5 heads", act, in("q", random(2, 77, 320), "k", random(2, 50, 320), "v", random(2, 50, 320)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false));
        compare("attention causal", act, in("q", random(1, 77, 128), "k", random(1, 77, 128), "v", random(1, 77, 128)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, true));
        // shapes of the model: CLIP vision (16 heads of 80, 257 tokens), temporal attention (16 frames, one-warp
        // kernel), UNet cross-attention (77 keys), CLIP text (12 heads of 64, causal), head width 128; lengths
        // that are no multiple of the tiles
        compare("attention d80 x16 heads", act, in("q", random(2, 257, 1280), "k", random(2, 257, 1280), "v", random(2, 257, 1280)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 16, (float) (1 / Math.sqrt(80)), false));
        compare("attention temporal 16", act, in("q", random(40, 16, 320), "k", random(40, 16, 320), "v", random(40, 16, 320)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false));
        if (act == DType.F32)   // the exact kernel's (batch, head) grid spills from y into z past 65,535
            compare("attention 70000 seqs", act, in("q", random(14000, 4, 320), "k", random(14000, 4, 320), "v", random(14000, 4, 320)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false));
        compare("attention cross 77 keys", act, in("q", random(2, 300, 640), "k", random(2, 77, 640), "v", random(2, 77, 640)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 10, 0.125f, false));
        compare("attention causal 12x64", act, in("q", random(2, 77, 768), "k", random(2, 77, 768), "v", random(2, 77, 768)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 12, 0.125f, true));
        compare("attention causal 200 tok", act, in("q", random(1, 200, 128), "k", random(1, 200, 128), "v", random(1, 200, 128)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, true));
        compare("attention d128 long keys", act, in("q", random(1, 130, 256), "k", random(1, 1000, 256), "v", random(1, 1000, 256)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, (float) (1 / Math.sqrt(128)), false));
        System.setProperty("i2vgen.cuda.attentionScoreBytes", "100000");   // 19 chunks of query rows
        try {
            compare("attention 1 head d512 x2", act, in("q", random(2, 700, 512), "k", random(2, 650, 512), "v", random(2, 650, 512)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 1, (float) (1 / Math.sqrt(512)), false));
        } finally {
            System.clearProperty("i2vgen.cuda.attentionScoreBytes");
        }
        compare("attention 1 head d512", act, in("q", random(1, 100, 512), "k", random(1, 100, 512), "v", random(1, 100, 512)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 1, (float) (1 / Math.sqrt(512)), false));
        // heads of at most 16 values, a thread per query (attention_small, -Di2vgen.cuda.smallHeadAttention=true) and
        // the exact kernel: the image-latent temporal encoder's 2 heads of 4 over 16 frames (from fused q/k/v
        // projections: rows 24 values apart), 3 heads of 16 under a causal mask, key and value heads of different
        // widths, and 200 keys
        Map<String, Tensor> encoder = in("x", random(300, 16, 4), "w:q", random(8, 4), "w:k", random(8, 4), "w:v", random(8, 4));
        Build twoOfFour = (g, v) -> g.attention(g.linear(v.get("x"), v.get("w:q"), null), g.linear(v.get("x"), v.get("w:k"), null),
                g.linear(v.get("x"), v.get("w:v"), null), 2, 0.5f, false);
        Map<String, Tensor> causal = in("q", random(3, 40, 48), "k", random(3, 40, 48), "v", random(3, 40, 48));
        Map<String, Tensor> widths = in("q", random(2, 30, 36), "k", random(2, 9, 36), "v", random(2, 9, 24));
        Map<String, Tensor> keys = in("q", random(2, 50, 16), "k", random(2, 200, 16), "v", random(2, 200, 16));
        for (String small : new String[]{"true", "false"}) {
            withProperty("i2vgen.cuda.smallHeadAttention", small, () -> {
                String tag = small.equals("true") ? "attention_small " : "attention ";
                compare(tag + "2 heads of 4", act, encoder, twoOfFour);
                assertEquals(small.equals("true"), kernelsOf(act, encoder, twoOfFour).contains("attention_small"), tag + "heads of 4");
                compare(tag + "3 heads of 16 causal", act, causal, (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 3, 0.25f, true));
                compare(tag + "heads of 12 and 8", act, widths, (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 3, 0.3f, false));
                compare(tag + "heads of 8, 200 keys", act, keys, (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.35f, false));
            });
        }
        // the chunked GEMM path's softmax in place, with the rows in registers (19 chunks of 650 keys)
        withProperty("i2vgen.cuda.softmaxRows", "true", () -> withProperty("i2vgen.cuda.attentionScoreBytes", "100000", () ->
                compare("attention 1 head d512 x2, softmax rows", act, in("q", random(2, 700, 512), "k", random(2, 650, 512), "v", random(2, 650, 512)),
                        (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 1, (float) (1 / Math.sqrt(512)), false))));
    }

    /**
     * Every flash kernel family (i2vgen.cuda.flashVariant; i2vgen.cuda.flash sets the warps) on every flash-attention
     * shape of the model, with the tight bounds of the tensor-core kernels (fp16 1e-3, bf16 8e-3). Extra cases for
     * the lean kernels' lazy rescale: keys whose scale rises along the sequence (the row max moves by more than the
     * rescale threshold several times, also under a causal mask) or falls (the first tile holds the max, later
     * P underflow), and a multi-block spatial shape (1100 tokens: 9 query blocks of 128, 17 full key tiles + 12).
     */
    @ParameterizedTest
    @CsvSource({"v2,8x64,F16", "v2,8x64,BF16", "v2,4x64,F16", "v3m1,8x64,F16", "v3m1,8x64,BF16", "v3m1,4x64,F16",
            "v3m2,4x64,F16", "v3m2,4x64,BF16", "v3m2,8x64,F16", "v3m2,8x64,BF16", "v4m1,4x64,F16", "v4m1,4x64,BF16",
            "v4m1,8x64,F16", "v4m2,4x64,F16", "v4m2,4x64,BF16", "v4m2,8x64,F16", "v4m2,8x64,BF16"})
    void flashAttentionVariants(String variant, String warpsByKeys, DType act) {
        double tol = act == DType.F16 ? 1e-3 : 8e-3;
        System.setProperty("i2vgen.cuda.flashVariant", variant);
        System.setProperty("i2vgen.cuda.flash", warpsByKeys);
        try {
            String tag = variant + " " + warpsByKeys + " ";
            compare(tag + "5 heads 50 keys", act, tol, in("q", random(2, 77, 320), "k", random(2, 50, 320), "v", random(2, 50, 320)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false));
            compare(tag + "causal 2x64", act, tol, in("q", random(1, 77, 128), "k", random(1, 77, 128), "v", random(1, 77, 128)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, true));
            compare(tag + "d80 x16 heads", act, tol, in("q", random(2, 257, 1280), "k", random(2, 257, 1280), "v", random(2, 257, 1280)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 16, (float) (1 / Math.sqrt(80)), false));
            compare(tag + "temporal 16", act, tol, in("q", random(40, 16, 320), "k", random(40, 16, 320), "v", random(40, 16, 320)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false));
            compare(tag + "cross 77 keys", act, tol, in("q", random(2, 300, 640), "k", random(2, 77, 640), "v", random(2, 77, 640)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 10, 0.125f, false));
            compare(tag + "causal 12x64", act, tol, in("q", random(2, 77, 768), "k", random(2, 77, 768), "v", random(2, 77, 768)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 12, 0.125f, true));
            compare(tag + "causal 200 tok", act, tol, in("q", random(1, 200, 128), "k", random(1, 200, 128), "v", random(1, 200, 128)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, true));
            compare(tag + "d128 long keys", act, tol, in("q", random(1, 130, 256), "k", random(1, 1000, 256), "v", random(1, 1000, 256)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, (float) (1 / Math.sqrt(128)), false));
            compare(tag + "spatial 5x64 1100 tok", act, tol, in("q", random(1, 1100, 320), "k", random(1, 1100, 320), "v", random(1, 1100, 320)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false));
            compare(tag + "rising keys", act, tol, in("q", random(1, 300, 128), "k", ramp(random(1, 1000, 128), 0.1f, 2.5f), "v", random(1, 1000, 128)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, false));
            compare(tag + "falling keys", act, tol, in("q", random(1, 300, 128), "k", ramp(random(1, 1000, 128), 2.5f, 0.1f), "v", random(1, 1000, 128)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, false));
            compare(tag + "causal rising keys", act, tol, in("q", random(1, 300, 128), "k", ramp(random(1, 300, 128), 0.1f, 2.5f), "v", random(1, 300, 128)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, true));
        } finally {
            System.clearProperty("i2vgen.cuda.flashVariant");
            System.clearProperty("i2vgen.cuda.flash");
        }
    }

    /** {@code t} [B, L, C] with row l scaled by from + (to - from) * l / (L - 1). */
    static Tensor ramp(Tensor t, float from, float to) {
        int len = t.shape()[1], c = t.shape()[2];
        for (long i = 0; i < t.numel(); i++) {
            int l = (int) (i / c % len);
            t.setFlat(i, t.getFlat(i) * (from + (to - from) * l / (len - 1)));
        }
        return t;
    }

    /**
     * The Hopper wgmma flash kernels (Sm90FlashAttention, flashVariant v5*: every kernel of attention_sm90.cu, with a
     * barrier per tile or mbarriers; v6*: the warp-specialised TMA kernels of attention_sm90_ws.cu; skipped off compute
     * capability 9.0) against
     * the JVM backend with the tight tensor-core bounds: the spatial key length (14,080) with 2,000 queries, level 1
     * (3,520 tokens, 5 heads), lengths around the 64/128-key tiles and 64/128/192-row blocks (33, 77, 129, 193, 257,
     * 1000; a single key), cross-attention to 77 keys, the lazy-rescale stress cases, fused q/k/v projections (strided
     * rows), and shapes the kernels must leave to the mma.sync path (causal, d = 80 and 128, 16 frames). Checks
     * that the wgmma kernel is the one that ran where it applies.
     */
    @ParameterizedTest
    @CsvSource({"v5,F16", "v5,BF16", "v5w3k128,F16", "v5w3k128,BF16", "v5w2k64,F16", "v5w2k64,BF16", "v5w3k128mb,F16",
            "v5w4k64mb,BF16", "v5w3k128mb2,F16", "v5w3k128mb2,BF16", "v5w4k64mb2,F16", "v5w4k64mb2,BF16", "v5w2k64mb2,F16",
            "v5w2k64mb2,BF16", "v6,F16", "v6,BF16", "v6w2k128,F16", "v6w2k128,BF16", "v6w2k128np,F16", "v6w2k128np,BF16",
            "v6w2k64,F16", "v6w2k64,BF16", "v6w3k64,F16", "v6w3k64,BF16"})
    void flashAttentionSm90(String variant, DType act) {
        Assumptions.assumeTrue(cuda.ccMajor == 9 && cuda.ccMinor == 0, "wgmma kernels need compute capability 9.0, not " + cuda.ccMajor + "." + cuda.ccMinor);
        double tol = act == DType.F16 ? 1e-3 : 8e-3;
        System.setProperty("i2vgen.cuda.flashVariant", variant);
        try {
            String tag = variant + " ";
            Build five = (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 5, 0.125f, false);
            Build two = (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, false);
            Map<String, Tensor> small = in("q", random(2, 77, 320), "k", random(2, 50, 320), "v", random(2, 50, 320));
            java.util.List<String> ran = kernelsOf(act, small, five);
            assertTrue(ran.stream().anyMatch(n -> n.startsWith("flash_sm90_d64")), "the wgmma kernel did not run: " + ran);
            compare(tag + "5 heads 50 keys", act, tol, small, five);
            // the spatial key length (110 tiles of 128) with 2,000 of its queries: a cheaper JVM reference
            compare(tag + "spatial 2000 q x 14080 k", act, tol, in("q", random(1, 2000, 64), "k", random(1, 14080, 64), "v", random(1, 14080, 64)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 1, 0.125f, false));
            compare(tag + "level1 5x64 3520 tok", act, tol, in("q", random(1, 3520, 320), "k", random(1, 3520, 320), "v", random(1, 3520, 320)), five);
            for (int[] lens : new int[][]{{33, 33}, {77, 77}, {129, 129}, {193, 191}, {257, 257}, {1000, 1000}, {100, 1}, {300, 65}, {64, 128}, {192, 192}})
                compare(tag + "lq " + lens[0] + " lk " + lens[1], act, tol,
                        in("q", random(2, lens[0], 128), "k", random(2, lens[1], 128), "v", random(2, lens[1], 128)), two);
            compare(tag + "cross 77 keys", act, tol, in("q", random(2, 300, 640), "k", random(2, 77, 640), "v", random(2, 77, 640)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 10, 0.125f, false));
            compare(tag + "rising keys", act, tol, in("q", random(1, 300, 128), "k", ramp(random(1, 1000, 128), 0.1f, 2.5f), "v", random(1, 1000, 128)), two);
            compare(tag + "falling keys", act, tol, in("q", random(1, 300, 128), "k", ramp(random(1, 1000, 128), 2.5f, 0.1f), "v", random(1, 1000, 128)), two);
            Map<String, Tensor> proj = in("x", random(2, 200, 128), "w:q", scaled(random(128, 128), 0.125f), "w:k", scaled(random(128, 128), 0.125f),
                    "w:v", scaled(random(128, 128), 0.125f));
            // q, k, v rounded once more (the projections' outputs): the JVM reference in fp32 drifts further
            compare(tag + "q/k/v projections", act, 1.5 * tol, proj, (g, v) -> g.attention(g.linear(v.get("x"), v.get("w:q"), null),
                    g.linear(v.get("x"), v.get("w:k"), null), g.linear(v.get("x"), v.get("w:v"), null), 2, 0.125f, false));
            // left to the mma.sync kernels
            compare(tag + "causal 2x64", act, tol, in("q", random(1, 77, 128), "k", random(1, 77, 128), "v", random(1, 77, 128)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.125f, true));
            compare(tag + "d80 x16 heads", act, tol, in("q", random(2, 257, 1280), "k", random(2, 257, 1280), "v", random(2, 257, 1280)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 16, (float) (1 / Math.sqrt(80)), false));
            compare(tag + "d128 long keys", act, tol, in("q", random(1, 130, 256), "k", random(1, 1000, 256), "v", random(1, 1000, 256)),
                    (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, (float) (1 / Math.sqrt(128)), false));
            compare(tag + "temporal 16", act, tol, in("q", random(40, 16, 320), "k", random(40, 16, 320), "v", random(40, 16, 320)), five);
        } finally {
            System.clearProperty("i2vgen.cuda.flashVariant");
        }
    }

    /** Independent of the JVM backend: float64 references for the GEMM and attention paths. */
    @Test
    void float64References() {
        int m = 45, k = 130, n = 70;
        Tensor x = random(m, k), w = random(n, k), b = random(n);
        Tensor out = run(cuda, DType.F32, in("x", x, "w:w", w, "w:b", b), (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b")));
        float[] ref = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = b.getFlat(j);
                for (int p = 0; p < k; p++) s += (double) x.getFlat(i * k + p) * w.getFlat(j * k + p);
                ref[i * n + j] = (float) s;
            }
        double e1 = TensorComparison.relativeError(out, Tensor.fromFloats(ref, m, n));
        System.out.printf("linear vs float64            rel.err %.3e%n", e1);
        assertTrue(e1 <= 1e-5, "linear vs float64: " + e1);

        int lq = 70, lk = 45, h = 2, d = 32;
        Tensor q = random(1, lq, h * d), kk = random(1, lk, h * d), vv = random(1, lk, h * d);
        Tensor att = run(cuda, DType.F32, in("q", q, "k", kk, "v", vv), (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), h, 0.2f, false));
        float[] aref = new float[lq * h * d];
        for (int hh = 0; hh < h; hh++)
            for (int i = 0; i < lq; i++) {
                double[] s = new double[lk];
                double mx = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < lk; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double) q.getFlat((long) i * h * d + hh * d + c) * kk.getFlat((long) j * h * d + hh * d + c);
                    s[j] = 0.2 * dot;
                    mx = Math.max(mx, s[j]);
                }
                for (int j = 0; j < lk; j++) { s[j] = Math.exp(s[j] - mx); sum += s[j]; }
                for (int c = 0; c < d; c++) {
                    double o = 0;
                    for (int j = 0; j < lk; j++) o += s[j] / sum * vv.getFlat((long) j * h * d + hh * d + c);
                    aref[i * h * d + hh * d + c] = (float) o;
                }
            }
        double e2 = TensorComparison.relativeError(att, Tensor.fromFloats(aref, 1, lq, h * d));
        System.out.printf("attention vs float64         rel.err %.3e%n", e2);
        assertTrue(e2 <= 1e-5, "attention vs float64: " + e2);
    }

    // ---- GEMM epilogue fusion (ResidualFusion) and the per-tap temporal convolution (GemmLowering) ----

    /** The plan of {@code build} as {@link #run} compiles it, with -Di2vgen.cuda.fuse set to {@code fuse}. */
    private static CudaExecutionPlan planWithFusion(DType activation, Map<String, Tensor> inputs, Build build, boolean fuse) {
        TaskGraph g = new TaskGraph("test", activation);
        Map<String, Value> vals = new LinkedHashMap<>();
        inputs.forEach((name, t) -> vals.put(name, name.startsWith("w:") ? g.constant(name, t) : g.input(name, t.dtype(), t.shape())));
        g.output("out", build.apply(g, vals));
        System.setProperty("i2vgen.cuda.fuse", Boolean.toString(fuse));
        try {
            return cuda.compile(g.freeze());
        } finally {
            System.clearProperty("i2vgen.cuda.fuse");
        }
    }

    /**
     * Against the JVM backend with the fusion on (default) and off, and whether the Linear's Add was fused: a fused
     * plan has one step fewer (the Add's kernel) than the same graph compiled with -Di2vgen.cuda.fuse=false.
     */
    private static void checkFusion(String what, DType act, Map<String, Tensor> inputs, Build build, boolean fused) {
        compare(what, act, inputs, build);
        System.setProperty("i2vgen.cuda.fuse", "false");
        try {
            compare(what + " (unfused)", act, inputs, build);
        } finally {
            System.clearProperty("i2vgen.cuda.fuse");
        }
        int on, off;
        try (CudaExecutionPlan a = planWithFusion(act, inputs, build, true); CudaExecutionPlan b = planWithFusion(act, inputs, build, false)) {
            on = a.stepCount();
            off = b.stepCount();
        }
        System.out.printf("%-28s %-5s steps fused %d, unfused %d%n", what, act, on, off);
        assertTrue((on == off - 1) == fused, what + ": expected " + (fused ? "" : "no ") + "fusion, steps " + on + " vs " + off + " unfused");
    }

    /**
     * Linear + residual Add as one GEMM (D = x·Wᵀ + bias + R): both operand orders, with and without bias, the residual
     * made inside the graph, a reshape view of the linear's output, the input x dead after the linear (the planner
     * must not give D its slot); refused where the residual is computed after the linear and where it broadcasts.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void linearResidualFusion(DType act) {
        Map<String, Tensor> data = in("x", random(2, 37, 96), "r", random(2, 37, 80), "w:w", random(80, 96), "w:b", random(80));
        checkFusion("linear+bias, add(y, r)", act, data, (g, v) -> g.add(g.linear(v.get("x"), v.get("w:w"), v.get("w:b")), v.get("r")), true);
        checkFusion("linear, add(r, y)", act, data, (g, v) -> g.add(v.get("r"), g.linear(v.get("x"), v.get("w:w"), null)), true);
        checkFusion("residual in graph, view", act, data, (g, v) -> {
            Value r = g.affine(v.get("r"), 0.5f, 0.25f);   // stored in the activation dtype: read by the GEMM in place
            Value y = g.linear(v.get("x"), v.get("w:w"), v.get("w:b"));
            return g.add(g.reshape(r, 74, 80), g.reshape(y, 74, 80));
        }, true);
        checkFusion("x dead after linear", act, in("x", random(6, 64), "r", random(6, 32), "w:w", random(32, 64), "w:b", random(32)),
                (g, v) -> g.add(g.linear(v.get("x"), v.get("w:w"), v.get("w:b")), v.get("r")), true);
        checkFusion("residual after linear", act, data, (g, v) -> {
            Value y = g.linear(v.get("x"), v.get("w:w"), v.get("w:b"));
            return g.add(y, g.affine(v.get("r"), 0.5f, 0.25f));
        }, false);
        checkFusion("broadcast add", act, in("x", random(2, 37, 96), "r", random(80), "w:w", random(80, 96)),
                (g, v) -> g.add(g.linear(v.get("x"), v.get("w:w"), null), v.get("r")), false);
    }

    /** A UNet transformer block's pattern (attention and GEGLU feed-forward, each residual): fused where allowed, same result. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void transformerBlockWithFusedResiduals(DType act) {
        int d = 64;
        Map<String, Tensor> data = in("t", random(2, 40, d), "w:g1", random(d), "w:b1", random(d), "w:q", random(d, d), "w:k", random(d, d),
                "w:v", random(d, d), "w:o", random(d, d), "w:bo", random(d), "w:g3", random(d), "w:b3", random(d),
                "w:f1", random(8 * d, d), "w:c1", random(8 * d), "w:f2", random(d, 4 * d), "w:c2", random(d));
        for (Tensor w : data.values()) for (long i = 0; i < w.numel(); i++) w.setFlat(i, w.getFlat(i) * 0.125f);   // keep activations O(1)
        Build block = (g, v) -> {
            Value t = v.get("t");
            Value n = g.layerNorm(t, v.get("w:g1"), v.get("w:b1"), 1e-5f);
            Value a = g.attention(g.linear(n, v.get("w:q"), null), g.linear(n, v.get("w:k"), null), g.linear(n, v.get("w:v"), null), 2, 0.125f, false);
            t = g.add(t, g.linear(a, v.get("w:o"), v.get("w:bo")));
            n = g.layerNorm(t, v.get("w:g3"), v.get("w:b3"), 1e-5f);
            return g.add(t, g.linear(g.geglu(g.linear(n, v.get("w:f1"), v.get("w:c1"))), v.get("w:f2"), v.get("w:c2")));
        };
        compare("transformer block fused", act, data, block);
        try (CudaExecutionPlan on = planWithFusion(act, data, block, true); CudaExecutionPlan off = planWithFusion(act, data, block, false)) {
            System.out.printf("transformer block %-5s steps fused %d, unfused %d%n", act, on.stepCount(), off.stepCount());
            assertTrue(on.stepCount() == off.stepCount() - 2, "both residual adds fused: steps " + on.stepCount() + " vs " + off.stepCount());
        }
    }

    /**
     * TemporalConv in diffusers' layout as GEMMs (no im2col), both paths: all taps in one GEMM then shifted and
     * summed (temporal_taps_sum, -Di2vgen.cuda.temporalStackedTaps=true) and a GEMM per tap at its frame offset (the
     * default), against the JVM backend: k = 3 at F = 1, 2, 5, 16 (the side taps cover F − 1 frames, none at F = 1),
     * k = 1, k = 5 (F = 2 drops the outer taps), odd H·W and the UNet's level 3 (11×20), with and without bias, fp32
     * within 1e-6; one weight shared by two convs; a weight given as a run-time input (repacked by a step each run,
     * staged from F32); and that the path asked for was planned.
     */
    @ParameterizedTest
    @CsvSource({"true,F32", "true,F16", "true,BF16", "false,F32", "false,F16", "false,BF16"})
    void temporalConvGemms(boolean stackedTaps, DType act) {
        System.setProperty("i2vgen.cuda.temporalStackedTaps", String.valueOf(stackedTaps));
        try {
            temporalConvGemmCases(act, stackedTaps ? "stacked " : "per-tap ");
            Map<String, Tensor> runtimeWeight = in("x", random(2, 24, 5, 3, 5), "w", random(40, 24, 3, 1, 1), "w:b", random(40));
            Build conv = (g, v) -> g.temporalConv(v.get("x"), v.get("w"), v.get("w:b"));
            double err = compare("temporal gemm weight input", act, runtimeWeight, conv);
            if (act == DType.F32) assertTrue(err <= 1e-6, "fp32 temporal conv, weight input: " + err);
            try (CudaExecutionPlan plan = planWithFusion(act, runtimeWeight, conv, true)) {
                Map<String, Tensor> runtime = new LinkedHashMap<>();
                runtimeWeight.forEach((name, t) -> { if (!name.startsWith("w:")) runtime.put(name, t); });
                plan.executeByName(runtime);
                java.util.List<String> names = plan.profile().stream().map(Map.Entry::getKey).toList();
                boolean planned = stackedTaps
                        ? names.contains("gemm temporal taps") && names.stream().anyMatch(n -> n.startsWith("temporal_taps_sum_v"))
                                && !names.contains("gemm temporal side") && !names.contains("bias_rows")
                        : names.contains("gemm temporal centre") && names.contains("gemm temporal side") && names.contains("bias_rows");
                assertTrue(planned && names.contains("repack_taps") && !names.contains("im2col"),
                        (stackedTaps ? "stacked" : "per-tap") + " GEMM path not planned: " + names);
            }
        } finally {
            System.clearProperty("i2vgen.cuda.temporalStackedTaps");
        }
    }

    private static void temporalConvGemmCases(DType act, String tag) {
        // {B, C, F, H, W, O, k}
        int[][] cases = {{2, 24, 1, 3, 5, 40, 3}, {2, 24, 2, 3, 5, 40, 3}, {1, 16, 5, 7, 9, 24, 3}, {2, 64, 16, 5, 7, 136, 3},
                {3, 32, 16, 4, 8, 48, 3}, {2, 24, 5, 3, 5, 40, 1}, {1, 8, 6, 2, 3, 12, 5}, {2, 8, 2, 3, 3, 12, 5}, {2, 40, 16, 11, 20, 40, 3}};
        for (int i = 0; i < cases.length; i++) {
            int[] c = cases[i];
            boolean bias = i % 2 == 0 || c[6] != 3;
            Map<String, Tensor> data = in("x", random(c[0], c[1], c[2], c[3], c[4]), "w:w", random(c[5], c[1], c[6], 1, 1), "w:b", random(c[5]));
            double err = compare(tag + "temporal gemm " + java.util.Arrays.toString(c) + (bias ? " bias" : ""), act, data,
                    (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), bias ? v.get("w:b") : null));
            if (act == DType.F32) assertTrue(err <= 1e-6, "fp32 temporal conv " + java.util.Arrays.toString(c) + ": " + err);
        }
        // one weight read by two convs: repacked once into a copy of its own (a weight read once is repacked over itself)
        Map<String, Tensor> shared = in("x", random(2, 24, 5, 3, 5), "w:w", random(24, 24, 3, 1, 1), "w:b", random(24));
        double errShared = compare(tag + "temporal gemm shared weight", act, shared,
                (g, v) -> g.temporalConv(g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b")), v.get("w:w"), null));
        if (act == DType.F32) assertTrue(errShared <= 1e-6, "fp32 temporal conv, shared weight: " + errShared);
    }

    /**
     * One operand a row of values repeated along the output (SVD's one-token cross-attention output [B, 1, C] against
     * [B, N, C], its frame embedding [1, F·C] against [B·S, F·C]): binary_tile_vec, both operand orders.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void binaryTileBroadcast(DType act) {
        broadcastBothOrders("binary_tile_vec", act, new int[][][]{{{2, 12, 16}, {2, 1, 16}}, {{6, 24}, {1, 24}},
                {{3, 5, 40}, {3, 1, 40}}, {{7, 2, 3, 8}, {1, 1, 3, 8}}});
        // a row of 6 values: no 16-byte vector fits, the general kernel runs
        compareOn("binary", "tile of 6", act, act == DType.F32 ? 1e-6 : 1e-2, in("a", random(4, 5, 6), "b", random(4, 1, 6)),
                (g, v) -> g.add(v.get("a"), v.get("b")));
    }

    /** One operand value per leading index ("h + temb[:, :, None, None]"): binary_rows_vec, both operand orders. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void binaryRowBroadcast(DType act) {
        broadcastBothOrders("binary_rows_vec", act, new int[][][]{{{4, 6, 8, 16}, {4, 6, 1, 1}}, {{2, 3, 4, 5, 8}, {2, 3, 4, 1, 1}},
                {{3, 40, 24}, {1}}, {{2, 5, 6, 4, 8}, {2, 1, 6, 1, 1}}, {{4, 5, 8, 16}, {1, 5, 1, 1}}});   // the resnets' temb; a broadcast in front
        // rows of 6 values (no 16-byte vector fits) and a broadcast in front keep the general kernel
        compareOn("binary", "rows of 6", act, act == DType.F32 ? 1e-6 : 1e-2, in("a", random(4, 5, 2, 3), "b", random(4, 5, 1, 1)),
                (g, v) -> g.add(v.get("a"), v.get("b")));
        compareOn("binary", "two broadcast gaps", act, act == DType.F32 ? 1e-6 : 1e-2, in("a", random(2, 3, 4, 8, 8), "b", random(2, 1, 4, 1, 8)),
                (g, v) -> g.add(v.get("a"), v.get("b")));
    }

    /**
     * Weights stay on the device between plans (ResidentWeights): a second plan from the same host tensors uploads
     * nothing, a host tensor rewritten in place is uploaded again, and a temporal-conv weight kept repacked for the
     * per-tap GEMMs is not repacked a second time by the next plan (each result checked against the JVM).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void residentWeightsAcrossPlans(DType act) {
        Tensor w = random(96, 64), b = random(96);
        Map<String, Tensor> data = in("x", random(5, 64), "w:w", w, "w:b", b);
        Build linear = (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b"));
        compare("resident linear, first plan", act, data, linear);
        long resident = cuda.residentWeights.residentBytes();
        long expectedBytes = (w.numel() + b.numel()) * act.byteSize();
        assertTrue(resident >= expectedBytes, "weights not resident after the plan closed: " + resident + " < " + expectedBytes);
        compare("resident linear, second plan", act, data, linear);
        assertTrue(cuda.residentWeights.residentBytes() == resident, "second plan uploaded its weights again: "
                + cuda.residentWeights.residentBytes() + " != " + resident);
        scaled(w, -0.5f);   // the host weight rewritten in place: the next plan must see the new values
        compare("resident linear, rewritten", act, data, linear);
        assertTrue(cuda.residentWeights.residentBytes() == resident, "the stale copy was not replaced");

        Map<String, Tensor> temporal = in("x", random(2, 24, 5, 3, 5), "w:w", random(40, 24, 3, 1, 1), "w:b", random(40));
        Build conv = (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b"));
        for (int plan = 0; plan < 3; plan++) {   // the [k, O, C] copy is made once and reused as is
            double err = compare("resident temporal conv " + plan, act, temporal, conv);
            if (act == DType.F32) assertTrue(err <= 1e-6, "fp32 temporal conv, plan " + plan + ": " + err);
        }
        String previous = System.getProperty("i2vgen.cuda.conv");
        System.setProperty("i2vgen.cuda.conv", "im2col");   // the plain layout of the same weight: its own copy
        try {
            double err = compare("resident temporal conv, im2col", act, temporal, conv);
            if (act == DType.F32) assertTrue(err <= 1e-6, "fp32 temporal conv via im2col after the repacked copy: " + err);
        } finally {
            if (previous == null) System.clearProperty("i2vgen.cuda.conv"); else System.setProperty("i2vgen.cuda.conv", previous);
        }
    }

    // ---- memory-bound kernels at vector width: permutes, GroupNorm, LayerNorm, GEGLU, binary_same ----

    /** The kernel (step) names a CUDA plan of {@code build} runs, in the profile's order: which path the lowering chose. */
    static java.util.List<String> kernelsOf(DType activation, Map<String, Tensor> inputs, Build build) {
        return java.util.List.copyOf(kernelCounts(activation, inputs, build).keySet());
    }

    /** How often a CUDA plan of {@code build} launches each kernel (step name) per run, in the profile's order. */
    static Map<String, Long> kernelCounts(DType activation, Map<String, Tensor> inputs, Build build) {
        TaskGraph g = new TaskGraph("kernels", activation);
        Map<String, Value> vals = new LinkedHashMap<>();
        inputs.forEach((name, t) -> vals.put(name, name.startsWith("w:") ? g.constant(name, t) : g.input(name, t.dtype(), t.shape())));
        g.output("out", build.apply(g, vals));
        Map<String, Tensor> runtime = new LinkedHashMap<>();
        inputs.forEach((name, t) -> { if (!name.startsWith("w:")) runtime.put(name, t); });
        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
            plan.executeByName(runtime);
            Map<String, Long> counts = new LinkedHashMap<>();
            for (var e : plan.profile()) counts.merge(e.getKey(), (long) e.getValue()[1], Long::sum);
            return counts;
        }
    }

    /** Launches per run of the kernels whose names start with {@code prefix} (and do not contain {@code except}). */
    static long launches(Map<String, Long> counts, String prefix, String except) {
        return counts.entrySet().stream().filter(e -> e.getKey().startsWith(prefix) && (except == null || !e.getKey().contains(except)))
                .mapToLong(Map.Entry::getValue).sum();
    }

    /** Every binary kind with the broadcast operand second and first (divisors kept away from 0), on {@code kernel}. */
    static void broadcastBothOrders(String kernel, DType act, int[][][] shapes) {
        double tol = act == DType.F32 ? 1e-6 : 1e-2;
        for (int[][] sh : shapes) {
            for (Binary.Kind k : Binary.Kind.values()) {
                Tensor full = random(sh[0]), part = shifted(random(sh[1]), k == Binary.Kind.DIV ? 4f : 0f);
                Tensor fullDen = k == Binary.Kind.DIV ? shifted(random(sh[0]), 4f) : full;
                String shape = java.util.Arrays.toString(sh[0]);
                compareOn(kernel, k + " " + shape, act, tol, in("a", full, "b", part), (g, v) -> g.add(new Binary(k), v.get("a"), v.get("b")));
                compareOn(kernel, k + " first " + shape, act, tol, in("a", part, "b", fullDen), (g, v) -> g.add(new Binary(k), v.get("a"), v.get("b")));
            }
        }
    }

    /** compare(), then asserts that the plan ran {@code kernel} (null: no check). */
    static double compareOn(String kernel, String what, DType act, double tol, Map<String, Tensor> inputs, Build build) {
        double err = compare(what, act, tol, inputs, build);
        if (kernel != null) {
            java.util.List<String> names = kernelsOf(act, inputs, build);
            assertTrue(names.contains(kernel), what + " " + act + ": expected kernel " + kernel + ", plan ran " + names);
        }
        return err;
    }

    static Tensor shifted(Tensor t, float by) {
        for (long i = 0; i < t.numel(); i++) t.setFlat(i, t.getFlat(i) + by);
        return t;
    }

    /**
     * Every permutation the model issues (UNet spatial/temporal transformers and temporal convs, image conditioning,
     * VAE attention, adaptive pooling), at reduced sizes that keep the extents' divisibility (H·W = 220 like the UNet's
     * 11x20 level), plus tile edges, rows spanning several 512-word segments, odd run lengths, the identity and the
     * cases that must keep the element-wise kernel. Checks the values and the kernel (with its access width) chosen.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void permutePaths(DType act) {
        boolean half = act != DType.F32;
        // {input shape}, {perm}, kernel for 2-byte activations, kernel for fp32
        Object[][] cases = {
                {new int[]{2, 3, 8, 11, 20}, new int[]{0, 2, 1, 3, 4}, "permute_rows_8", "permute_rows_16"},     // [B,F,C,h,w] → [B,C,F,h,w]
                {new int[]{2, 16, 24, 5, 8}, new int[]{0, 2, 1, 3, 4}, "permute_rows_16", "permute_rows_16"},
                {new int[]{6, 24, 11, 20}, new int[]{0, 2, 3, 1}, "permute_tiled_4", "permute_tiled_4"},         // spatial in
                {new int[]{6, 11, 20, 24}, new int[]{0, 3, 1, 2}, "permute_tiled_4", "permute_tiled_4"},         // spatial out
                {new int[]{6, 40, 16, 8}, new int[]{0, 2, 3, 1}, "permute_tiled_8", "permute_tiled_4"},
                {new int[]{2, 40, 3, 16, 8}, new int[]{0, 3, 4, 2, 1}, "permute_tiled_8", "permute_tiled_4"},    // temporal in
                {new int[]{2, 16, 8, 3, 40}, new int[]{0, 3, 4, 1, 2}, "permute_tiled_8", "permute_tiled_4"},    // temporal out
                {new int[]{2, 320, 16, 8, 20}, new int[]{0, 3, 4, 2, 1}, "permute_tiled_8", "permute_tiled_4"},  // many full tiles
                {new int[]{2, 3, 4, 11, 20}, new int[]{0, 3, 4, 1, 2}, "permute_tiled_4", "permute_tiled_4"},    // image conditioning
                {new int[]{1, 72, 130}, new int[]{0, 2, 1}, "permute_tiled_2", "permute_tiled_2"},               // VAE attention
                {new int[]{3, 150, 70}, new int[]{0, 2, 1}, "permute_tiled_2", "permute_tiled_2"},               // edge tiles both ways
                {new int[]{2, 5, 7, 9}, new int[]{0, 1, 3, 2}, "permute_tiled_1", "permute_tiled_1"},            // adaptive pooling
                {new int[]{2, 3, 4, 5000}, new int[]{0, 2, 1, 3}, "permute_rows_16", "permute_rows_16"},         // 2-3 segments a row
                {new int[]{2, 3, 4, 1001}, new int[]{0, 2, 1, 3}, "permute_rows_2", "permute_rows_4"},           // odd run
                {new int[]{7, 300}, new int[]{0, 1}, "permute_rows_8", "permute_rows_16"},                       // identity: one row
                {new int[]{4, 5, 3}, new int[]{1, 0, 2}, "permute", "permute"},                                  // 6/12-byte runs
                {new int[]{50, 3}, new int[]{1, 0}, "permute", "permute"},                                       // extent 3 < 4
        };
        for (Object[] c : cases) {
            int[] shape = (int[]) c[0], perm = (int[]) c[1];
            compareOn((String) (half ? c[2] : c[3]), "permute " + java.util.Arrays.toString(shape) + java.util.Arrays.toString(perm), act,
                    act == DType.F32 ? 0 : 1e-2, in("x", random(shape)), (g, v) -> g.permute(v.get("x"), perm));
        }
        // a permute whose input is a graph input of another dtype (staged into the activation dtype first)
        compare("permute staged input", act, act == DType.F32 ? 0 : 1e-2, in("x", random(2, 24, 11, 20).to(DType.BF16)),
                (g, v) -> g.permute(v.get("x"), 0, 2, 3, 1));
    }

    /** Random permutations of rank 3 to 6 over random extents (unit axes, odd and 16-divisible ones). */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void randomPermutes(DType act) {
        Random rnd = new Random(4242 + act.ordinal());
        int[] extents = {1, 2, 3, 4, 5, 7, 8, 16, 20, 33, 64};
        for (int n = 0; n < 30; n++) {
            int rank = 3 + rnd.nextInt(4);
            int[] shape = new int[rank];
            long numel;
            do {
                numel = 1;
                for (int i = 0; i < rank; i++) numel *= shape[i] = extents[rnd.nextInt(extents.length)];
            } while (numel > 300_000);
            int[] perm = new int[rank];
            for (int i = 0; i < rank; i++) perm[i] = i;
            for (int i = rank - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            compare("permute " + java.util.Arrays.toString(shape) + java.util.Arrays.toString(perm), act, act == DType.F32 ? 0 : 1e-2,
                    in("x", random(shape)), (g, v) -> g.permute(v.get("x"), perm));
        }
    }

    /**
     * GroupNorm through the split kernels at every access width (inner extents divisible by 8, 4, 2 and odd), one and
     * many chunks per group (the last one shorter), SiLU on and off, data with a large mean; fp32 within 1e-6 of the
     * JVM backend. Then the same shapes with -Di2vgen.cuda.vectorized=false (the earlier kernels, kept as fallback).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void groupNormPaths(DType act) {
        boolean half = act != DType.F32;
        double tol = act == DType.F32 ? 1e-6 : 1e-2;
        // {shape}, groups, silu, kernel (2-byte / fp32 activations)
        Object[][] cases = {
                {new int[]{2, 64, 4, 32, 40}, 8, false, "group_norm_stats_v8", "group_norm_stats_v4"},   // 10 chunks of 512 vectors
                {new int[]{1, 32, 4, 128, 160}, 8, true, "group_norm_stats_v8", "group_norm_stats_v4"},  // 80 / 160 chunks
                {new int[]{1, 32, 3, 61, 67}, 4, true, "group_norm_stats_v1", "group_norm_stats_v1"},    // odd inner, uneven last chunk
                {new int[]{3, 40, 11, 20}, 8, false, "group_norm_stats_v4", "group_norm_stats_v4"},      // inner 220 (UNet 11x20)
                {new int[]{2, 16, 5, 6}, 4, true, "group_norm_stats_v2", "group_norm_stats_v2"},
                {new int[]{2, 64, 6, 10}, 32, true, "group_norm_stats_v4", "group_norm_stats_v4"},
                {new int[]{8, 320, 8, 16}, 32, true, "group_norm_stats_v8", "group_norm_stats_v4"},      // per-frame, many small groups
                {new int[]{2, 64, 16, 12, 20}, 32, false, "group_norm_stats_v8", "group_norm_stats_v4"}, // [B, C, F, h, w]
        };
        for (Object[] c : cases) {
            int[] shape = (int[]) c[0];
            int groups = (Integer) c[1], ch = shape[1];
            boolean silu = (Boolean) c[2];
            String what = "group_norm " + java.util.Arrays.toString(shape) + "/" + groups + (silu ? " silu" : "");
            Map<String, Tensor> data = in("x", random(shape), "w:g", random(ch), "w:b", random(ch));
            Build gn = (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), groups, 1e-5f, silu);
            compareOn((String) (half ? c[3] : c[4]), what, act, tol, data, gn);
            withProperty("i2vgen.cuda.vectorized", "false", () -> compare(what + " legacy", act, data, gn));
        }
        // statistics of data far from zero: the per-vector exact mean and Chan's merges keep the variance accurate
        // (bf16 keeps 8 bits: at a mean of 8 its input rounding alone would exceed the 1e-2 bound, so 2 there)
        float mean = act == DType.BF16 ? 2f : 8f;
        compare("group_norm mean " + mean, act, tol, in("x", shifted(random(2, 32, 6, 40, 40), mean), "w:g", random(32), "w:b", random(32)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 8, 1e-6f, true));
    }

    /**
     * LayerNorm rows of the UNet (320 to 1280), CLIP (768, 1024), image-conditioning (4) and wider ones through the
     * warp-per-row kernels; 333 and 4096 keep the block-per-row kernel. Row counts that are no multiple of 8 (the rows a
     * block holds), data with a large mean, and the legacy path under -Di2vgen.cuda.vectorized=false.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void layerNormPaths(DType act) {
        boolean half = act != DType.F32;
        // width, kernel for 2-byte activations, kernel for fp32
        Object[][] cases = {
                {320, "layer_norm_v8_n2", "layer_norm_v4_n3"}, {640, "layer_norm_v8_n3", "layer_norm_v4_n5"},
                {768, "layer_norm_v8_n3", "layer_norm_v4_n6"}, {1024, "layer_norm_v8_n4", "layer_norm_v4_n8"},
                {1280, "layer_norm_v8_n5", "layer_norm_v4_n10"}, {2048, "layer_norm_v8_n8", "layer_norm_v4_n16"},
                {36, "layer_norm_v4_n1", "layer_norm_v4_n1"}, {4, "layer_norm_v4_n1", "layer_norm_v4_n1"},
                {1288, "layer_norm_v8_n6", "layer_norm_v4_n12"}, {330, "layer_norm_v2_n6", "layer_norm_v2_n6"},
                {333, "layer_norm", "layer_norm"}, {4096, "layer_norm", "layer_norm"},
        };
        for (Object[] c : cases) {
            int d = (Integer) c[0];
            Map<String, Tensor> data = in("x", random(3, 13, d), "w:g", random(d), "w:b", random(d));
            Build ln = (g, v) -> g.layerNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 1e-5f);
            String kernel = (String) (half ? c[1] : c[2]);
            // fp32 within 1e-6 on the warp kernels; the block-per-row fallback keeps the usual 1e-5
            compareOn(kernel, "layer_norm d=" + d, act, act != DType.F32 ? 1e-2 : kernel.equals("layer_norm") ? 1e-5 : 1e-6, data, ln);
        }
        float mean = act == DType.BF16 ? 2f : 10f;   // bf16: see groupNormPaths
        Map<String, Tensor> offset = in("x", shifted(random(37, 1280), mean), "w:g", random(1280), "w:b", random(1280));
        Build ln = (g, v) -> g.layerNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 1e-5f);
        compare("layer_norm mean " + mean, act, offset, ln);
        withProperty("i2vgen.cuda.vectorized", "false", () -> compare("layer_norm legacy", act, offset, ln));
    }

    /** GEGLU and same-shape binary ops at every access width, with tails that are no multiple of a vector. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void gegluAndBinarySamePaths(DType act) {
        boolean half = act != DType.F32;
        // {shape of x}, kernel for 2-byte activations, kernel for fp32
        Object[][] gegluCases = {
                {new int[]{5, 7, 2 * 1280}, "geglu_v8", "geglu_v4"}, {new int[]{4, 7, 96}, "geglu_v8", "geglu_v4"},
                {new int[]{3, 11, 72}, "geglu_v4", "geglu_v4"}, {new int[]{3, 5, 2 * 10}, "geglu_v2", "geglu_v2"},
                {new int[]{2, 3, 26}, "geglu", "geglu_v1"}, {new int[]{1, 2, 2 * 5120}, "geglu_v8", "geglu_v4"},
        };
        for (Object[] c : gegluCases) {
            int[] shape = (int[]) c[0];
            compareOn((String) (half ? c[1] : c[2]), "geglu " + java.util.Arrays.toString(shape), act, act == DType.F32 ? 1e-5 : 1e-2,
                    in("x", random(shape)), (g, v) -> g.geglu(v.get("x")));
        }
        withProperty("i2vgen.cuda.vectorized", "false", () -> compare("geglu legacy", act, in("x", random(4, 7, 96)), (g, v) -> g.geglu(v.get("x"))));
        int[][] shapes = {{3, 1000, 8}, {2, 4001}, {5}, {4}, {3, 7}, {2, 16, 8, 9}};
        for (int[] s : shapes) {
            for (Binary.Kind k : Binary.Kind.values()) {
                Tensor b = random(s);
                if (k == Binary.Kind.DIV) for (int i = 0; i < b.numel(); i++) b.setFlat(i, 1.5f + Math.abs(b.getFlat(i)));
                long n = Tensor.numel(s);
                String kernel = n >= (half ? 8 : 4) ? "binary_same_vec" : "binary_same";
                compareOn(k == Binary.Kind.ADD ? kernel : null, "binary same " + k + " " + java.util.Arrays.toString(s), act,
                        act == DType.F32 ? 1e-6 : 1e-2, in("a", random(s), "b", b), (g, v) -> g.add(new Binary(k), v.get("a"), v.get("b")));
            }
        }
        withProperty("i2vgen.cuda.vectorized", "false",
                () -> compare("binary same legacy", act, in("a", random(3, 77), "b", random(3, 77)), (g, v) -> g.add(v.get("a"), v.get("b"))));
    }

    // ---- fused attention projections (QkvFusion) and the timed cuBLASLt algorithm choice (CublasLt) ----

    /** The plan of {@code build} with -Di2vgen.cuda.fuseQkv set to {@code fuse}. */
    private static CudaExecutionPlan planWithQkv(DType activation, Map<String, Tensor> inputs, Build build, boolean fuse) {
        TaskGraph g = new TaskGraph("test", activation);
        Map<String, Value> vals = new LinkedHashMap<>();
        inputs.forEach((name, t) -> vals.put(name, name.startsWith("w:") ? g.constant(name, t) : g.input(name, t.dtype(), t.shape())));
        g.output("out", build.apply(g, vals));
        System.setProperty("i2vgen.cuda.fuseQkv", Boolean.toString(fuse));
        try {
            return cuda.compile(g.freeze());
        } finally {
            System.clearProperty("i2vgen.cuda.fuseQkv");
        }
    }

    /**
     * Against the JVM backend with the q/k/v fusion on and off, and that {@code removed} GEMM launches went (2 when
     * q, k, v became one GEMM, 1 for k and v): the fused plan reads q, k, v as column blocks at row stride N.
     */
    private static void checkQkv(String what, DType act, Map<String, Tensor> inputs, Build build, int removed) {
        double tol = act == DType.F32 ? 1e-5 : 1e-2;
        Tensor expected = run(jvm, DType.F32, inputs, build);
        Tensor fused = run(cuda, act, inputs, build), separate;
        System.setProperty("i2vgen.cuda.fuseQkv", "false");
        try {
            separate = run(cuda, act, inputs, build);
        } finally {
            System.clearProperty("i2vgen.cuda.fuseQkv");
        }
        double on = TensorComparison.relativeError(fused, expected), off = TensorComparison.relativeError(separate, expected);
        double between = TensorComparison.relativeError(fused, separate);
        int stepsOn, stepsOff;
        try (CudaExecutionPlan a = planWithQkv(act, inputs, build, true); CudaExecutionPlan b = planWithQkv(act, inputs, build, false)) {
            stepsOn = a.stepCount();
            stepsOff = b.stepCount();
        }
        System.out.printf("%-28s %-5s rel.err fused %.3e, separate %.3e, between %.3e; steps %d vs %d%n", what, act, on, off, between, stepsOn, stepsOff);
        // the same kernels on the same values but for the GEMM's summation order: closer to each other than to fp32
        double near = act == DType.F32 ? 1e-5 : act == DType.F16 ? 3e-3 : 1.5e-2;
        assertTrue(on <= tol && off <= tol && between <= near, what + " " + act + ": fused " + on + ", separate " + off + ", between " + between);
        assertEquals(stepsOff - removed, stepsOn, what + ": expected " + removed + " GEMM launches fewer");
    }

    private static Tensor weight(int out, int in) { return scaled(random(out, in), (float) (1 / Math.sqrt(in))); }

    /**
     * Self-attention with q, k, v from one LayerNorm'd input as one GEMM, at the model's attention shapes: UNet spatial
     * (5 heads of 64, flash v3m2 and v2), temporal (16 frames, the one-warp kernel), CLIP text (12 heads, causal,
     * biases), CLIP vision (16 heads of 80, biases); the cross-attention's k and v on the encoder state (one N = 2C
     * GEMM, q at its own stride); fp32 through the exact kernel. Each against the JVM backend on random data, NaN-
     * poisoned buffers, CUDA graph replay; the same graph with -Di2vgen.cuda.fuseQkv=false as a second reference.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void fusedProjections(DType act) {
        record Case(String name, int batch, int len, int heads, int d, boolean bias, boolean causal) {}
        Case[] cases = {new Case("spatial 5x64", 2, 300, 5, 64, false, false), new Case("temporal 16", 40, 16, 5, 64, false, false),
                new Case("clip text 12x64", 2, 77, 12, 64, true, true), new Case("clip vision 16x80", 1, 257, 16, 80, true, false)};
        for (Case c : cases) {
            int width = c.heads() * c.d();
            Map<String, Tensor> data = in("t", random(c.batch(), c.len(), width), "w:g", random(width), "w:b", random(width),
                    "w:q", weight(width, width), "w:k", weight(width, width), "w:v", weight(width, width),
                    "w:bq", random(width), "w:bk", random(width), "w:bv", random(width));
            Build block = (g, v) -> {
                Value n = g.layerNorm(v.get("t"), v.get("w:g"), v.get("w:b"), 1e-5f);
                Value q = g.linear(n, v.get("w:q"), c.bias() ? v.get("w:bq") : null);
                Value k = g.linear(n, v.get("w:k"), c.bias() ? v.get("w:bk") : null);
                Value vv = g.linear(n, v.get("w:v"), c.bias() ? v.get("w:bv") : null);
                return g.attention(q, k, vv, c.heads(), (float) (1 / Math.sqrt(c.d())), c.causal());
            };
            checkQkv("qkv " + c.name(), act, data, block, 2);
            if (act != DType.F32 && c.name().startsWith("spatial"))
                for (String variant : new String[]{"v2", "v4m2"})
                    withProperty("i2vgen.cuda.flashVariant", variant, () -> checkQkv("qkv " + c.name() + " " + variant, act, data, block, 2));
        }
        Map<String, Tensor> cross = in("x", random(2, 300, 320), "ctx", random(2, 77, 96), "w:q", weight(320, 320),
                "w:k", weight(320, 96), "w:v", weight(320, 96));
        // x and ctx through an affine first: intermediates in the activation dtype (an F32 graph input would be
        // staged once per reading Linear, and the fusion would drop one staging too)
        checkQkv("kv cross 77 keys", act, cross, (g, v) -> {
            Value x = g.affine(v.get("x"), 1f, 0f), ctx = g.affine(v.get("ctx"), 1f, 0f);
            return g.attention(g.linear(x, v.get("w:q"), null), g.linear(ctx, v.get("w:k"), null), g.linear(ctx, v.get("w:v"), null), 5, 0.125f, false);
        }, 1);
        // q also read elsewhere (a residual of it): k and v still fuse, q keeps its own dense buffer
        checkQkv("kv with q reused", act, in("x", random(1, 100, 128), "w:q", weight(128, 128), "w:k", weight(128, 128), "w:v", weight(128, 128)),
                (g, v) -> {
                    Value x = g.affine(v.get("x"), 1f, 0f);
                    Value q = g.linear(x, v.get("w:q"), null);
                    Value o = g.attention(q, g.linear(x, v.get("w:k"), null), g.linear(x, v.get("w:v"), null), 2, 0.125f, false);
                    return g.add(o, q);
                }, 1);
        // the transformer-block pattern with the residual-add fusion around it: both fusions in one plan
        int d = 64;
        Map<String, Tensor> blockData = in("t", random(2, 40, d), "w:g1", random(d), "w:b1", random(d), "w:q", weight(d, d), "w:k", weight(d, d),
                "w:v", weight(d, d), "w:o", weight(d, d), "w:bo", random(d));
        checkQkv("qkv + residual fusion", act, blockData, (g, v) -> {
            Value t = v.get("t");
            Value n = g.layerNorm(t, v.get("w:g1"), v.get("w:b1"), 1e-5f);
            Value a = g.attention(g.linear(n, v.get("w:q"), null), g.linear(n, v.get("w:k"), null), g.linear(n, v.get("w:v"), null), 2, 0.125f, false);
            return g.add(t, g.linear(a, v.get("w:o"), v.get("w:bo")));
        }, 2);
    }

    /** The Hopper wgmma attention (flashVariant v5 and v6, Sm90FlashAttention) reading fused q/k/v at row stride 3C. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void fusedProjectionsSm90(DType act) {
        Assumptions.assumeTrue(cuda.ccMajor == 9 && cuda.ccMinor == 0, "wgmma kernels need compute capability 9.0");
        Map<String, Tensor> data = in("t", random(2, 300, 320), "w:g", random(320), "w:b", random(320),
                "w:q", weight(320, 320), "w:k", weight(320, 320), "w:v", weight(320, 320));
        Build block = (g, v) -> {
            Value n = g.layerNorm(v.get("t"), v.get("w:g"), v.get("w:b"), 1e-5f);
            return g.attention(g.linear(n, v.get("w:q"), null), g.linear(n, v.get("w:k"), null), g.linear(n, v.get("w:v"), null), 5, 0.125f, false);
        };
        for (String variant : new String[]{"v5", "v6"})
            withProperty("i2vgen.cuda.flashVariant", variant, () -> checkQkv("qkv spatial 5x64 " + variant, act, data, block, 2));
    }

    /**
     * The resident concatenated q/k/v weight follows its parts: a second plan over the same host tensors reuses it,
     * and after one part is rewritten in place a new plan gets a fresh concatenation (the result changes with it).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "F32"})
    void fusedProjectionWeightsFollowTheirParts(DType act) {
        Tensor wk = weight(128, 128);
        Map<String, Tensor> data = in("x", random(1, 64, 128), "w:q", weight(128, 128), "w:k", wk, "w:v", weight(128, 128));
        Build build = (g, v) -> g.attention(g.linear(v.get("x"), v.get("w:q"), null), g.linear(v.get("x"), v.get("w:k"), null),
                g.linear(v.get("x"), v.get("w:v"), null), 2, 0.125f, false);
        compare("qkv weights, first", act, data, build);
        compare("qkv weights, cached", act, data, build);
        for (long i = 0; i < wk.numel(); i++) wk.setFlat(i, -wk.getFlat(i) * 1.5f);   // rewritten in place
        compare("qkv weights, k rewritten", act, data, build);
    }

    /**
     * The timed algorithm choice computes what the heuristic's first algorithm does: Linear (with and without bias,
     * sizes that fill the GPU and odd ones), Linear + residual Add (C = R), the fused q/k/v GEMM and the per-tap
     * temporal conv (C = D in place) with -Di2vgen.cuda.gemmSearch=false and on (default), each against the JVM
     * backend and against each other; and the search really timed fresh problems.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void gemmSearchMatchesHeuristic(DType act) {
        double tol = act == DType.F32 ? 1e-5 : 1e-2;
        record Case(String name, Map<String, Tensor> data, Build build) {}
        Case[] cases = {
                new Case("linear 4099x320x320", in("x", random(4099, 320), "w:w", weight(320, 320)),
                        (g, v) -> g.linear(v.get("x"), v.get("w:w"), null)),
                new Case("linear+bias 1031x1280x333", in("x", random(1031, 333), "w:w", weight(1280, 333), "w:b", random(1280)),
                        (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b"))),
                new Case("linear+add 2053x640x640", in("x", random(2053, 640), "r", random(2053, 640), "w:w", weight(640, 640), "w:b", random(640)),
                        (g, v) -> g.add(g.linear(v.get("x"), v.get("w:w"), v.get("w:b")), v.get("r"))),
                new Case("qkv 2x517x320", in("x", random(2, 517, 320), "w:q", weight(320, 320), "w:k", weight(320, 320), "w:v", weight(320, 320)),
                        (g, v) -> g.attention(g.linear(v.get("x"), v.get("w:q"), null), g.linear(v.get("x"), v.get("w:k"), null),
                                g.linear(v.get("x"), v.get("w:v"), null), 5, 0.125f, false)),
                new Case("temporal conv 3 taps", in("x", random(2, 40, 7, 9, 11), "w:w", scaled(random(48, 40, 3, 1, 1), 0.1f), "w:b", random(48)),
                        (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b")))};
        int[] before = cuda.cublas.searchCounts();
        for (Case c : cases) {
            Tensor expected = run(jvm, DType.F32, c.data(), c.build());
            Tensor searched = null, heuristic = null;
            for (int rep = 0; rep < 2; rep++) searched = run(cuda, act, c.data(), c.build());
            System.setProperty("i2vgen.cuda.gemmSearch", "false");
            try {
                heuristic = run(cuda, act, c.data(), c.build());
            } finally {
                System.clearProperty("i2vgen.cuda.gemmSearch");
            }
            double es = TensorComparison.relativeError(searched, expected), eh = TensorComparison.relativeError(heuristic, expected);
            double between = TensorComparison.relativeError(searched, heuristic);
            System.out.printf("%-28s %-5s searched rel.err %.3e, heuristic %.3e, between %.3e%n", "search " + c.name(), act, es, eh, between);
            assertTrue(es <= tol && eh <= tol && between <= tol, c.name() + " " + act + ": searched " + es + ", heuristic " + eh + ", between " + between);
        }
        int[] after = cuda.cublas.searchCounts();
        System.out.printf("gemm search %-5s: %d problems timed, %d chose another algorithm than the heuristic's first%n",
                act, after[0] - before[0], after[1] - before[1]);
        assertTrue(after[0] > before[0], "the search timed no GEMM");
    }

    /**
     * Channels-last kernels (forced: -Di2vgen.cuda.channelsLast=true) in chains whose middle runs NHWC: conv → GroupNorm
     * (+SiLU) → conv → scale at group widths of 2, 4 and 16 channels (one 16-byte vector spans 4, 2 or half a group),
     * many chunks, odd pixel counts and a large input mean; conv → nearest upsampling (x2 and a non-integer factor) →
     * conv; a same-shape Add of two NHWC convs. Against the JVM in fp32, the kernels checked by name; the same chains
     * on the NCHW path must agree too.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void channelsLastKernels(DType act) {
        cudnnOrSkip();
        double tol = act == DType.BF16 ? 2e-2 : 1e-2;
        // {shape}, groups, silu, mean of the norm's input
        Object[][] norms = {{new int[]{2, 64, 13, 21}, 32, true, 0f}, {new int[]{1, 128, 44, 80}, 32, true, 0f},
                {new int[]{1, 512, 11, 20}, 32, false, 0f}, {new int[]{2, 256, 9, 7}, 32, true, 0f},
                {new int[]{1, 128, 30, 50}, 32, true, act == DType.BF16 ? 2f : 8f}, {new int[]{1, 32, 5, 3}, 8, true, 0f}};
        withProperty("i2vgen.cuda.channelsLast", "true", () -> {
            for (Object[] c : norms) {
                int[] s = (int[]) c[0];
                int groups = (Integer) c[1], ch = s[1];
                boolean silu = (Boolean) c[2];
                float mean = (Float) c[3];
                String what = "nhwc conv-gn-conv " + java.util.Arrays.toString(s) + "/" + groups + (mean != 0 ? " mean " + mean : "");
                Map<String, Tensor> data = in("x", random(s), "w:w1", scaled(random(ch, ch, 3, 3), (float) (1 / Math.sqrt(9.0 * ch))),
                        "w:b1", shifted(random(ch), mean), "w:g", random(ch), "w:b", random(ch),
                        "w:w2", scaled(random(ch, ch, 3, 3), (float) (1 / Math.sqrt(9.0 * ch))), "w:b2", random(ch));
                Build chain = (g, v) -> g.scale(g.conv2d(g.groupNorm(g.conv2d(v.get("x"), v.get("w:w1"), v.get("w:b1"), 1, 1),
                        v.get("w:g"), v.get("w:b"), groups, 1e-6f, silu), v.get("w:w2"), v.get("w:b2"), 1, 1), 0.5f);
                compareOn("group_norm_nhwc_apply", what, act, tol, data, chain);
                java.util.List<String> kernels = kernelsOf(act, data, chain);
                // the bias is fused where cuDNN's algorithm allows it (not at 5x3 pixels: cudnnAddTensor there)
                assertTrue(kernels.stream().anyMatch(k -> k.startsWith("cudnn nhwc conv")) && kernels.contains("group_norm_nhwc_stats")
                        && kernels.contains("group_norm_nhwc_finalize"), what + ": " + kernels);
                Tensor nhwc = run(cuda, act, data, chain);
                Tensor[] nchw = new Tensor[1];
                withProperty("i2vgen.cuda.channelsLast", "false", () -> nchw[0] = run(cuda, act, data, chain));
                double e = TensorComparison.relativeError(nhwc, nchw[0]);
                System.out.printf("%-28s %-5s NHWC vs NCHW rel.err %.3e%n", what, act, e);
                assertTrue(e <= tol, what + ": NHWC differs from NCHW by " + e);
            }
            for (int[] up : new int[][]{{1, 64, 9, 13, 18, 26}, {2, 32, 9, 13, 20, 30}}) {
                int ch = up[1];
                String what = "nhwc upsample " + java.util.Arrays.toString(up);
                Map<String, Tensor> data = in("x", random(up[0], ch, up[2], up[3]), "w:w1", scaled(random(ch, ch, 3, 3), 0.05f), "w:b1", random(ch),
                        "w:w2", scaled(random(ch, ch, 3, 3), 0.05f), "w:b2", random(ch));
                compareOn("upsample_nearest_nhwc", what, act, tol, data, (g, v) -> g.scale(g.conv2d(g.upsampleNearest(
                        g.conv2d(v.get("x"), v.get("w:w1"), v.get("w:b1"), 1, 1), up[4], up[5]), v.get("w:w2"), v.get("w:b2"), 1, 1), 2f));
            }
            Map<String, Tensor> data = in("x", random(2, 48, 10, 12), "w:w1", scaled(random(48, 48, 3, 3), 0.05f), "w:b1", random(48),
                    "w:w2", scaled(random(48, 48, 1, 1), 0.1f), "w:b2", random(48), "w:w3", scaled(random(16, 48, 3, 3), 0.05f), "w:b3", random(16));
            Build addOfConvs = (g, v) -> {
                Value a = g.conv2d(v.get("x"), v.get("w:w1"), v.get("w:b1"), 1, 1), b = g.conv2d(v.get("x"), v.get("w:w2"), v.get("w:b2"), 1, 0);
                return g.scale(g.conv2d(g.unary(g.add(a, b), Unary.Kind.SILU), v.get("w:w3"), v.get("w:b3"), 1, 1), 1f);
            };
            compareOn(null, "nhwc add of convs", act, tol, data, addOfConvs);
            // the 1x1 conv runs NHWC; cuDNN fuses its bias or adds it in a pass of its own ("cudnn nhwc bias"): both are right
            java.util.List<String> names = kernelsOf(act, data, addOfConvs);
            assertTrue(names.stream().anyMatch(n -> n.startsWith("cudnn nhwc conv") && n.endsWith("1x1")),
                    "nhwc add of convs " + act + ": expected an NHWC cuDNN 1x1 conv, plan ran " + names);
        });
    }

    /**
     * 3x3 convs whose activations stay NCHW run as channels-last islands (permute in, cuDNN NHWC conv with the KRSC
     * weight and fused bias, permute back; ConvolutionLowering#convIsland) when forced: against the JVM in fp32 with
     * bias and without, odd sizes (11x20, 13x17), stride 2, image groups (workspace bounded to 19 MiB: 2 groups of 2),
     * a UNet-resnet-like chain (conv, temb broadcast add, GroupNorm+SiLU, conv, residual), against the NCHW path
     * (convIslands=false); fp32 never islands; then the measured (auto) decision for one shape is printed.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void convIslands(DType act) {
        if (act != DType.F32) cudnnOrSkip();
        double tol = act == DType.F32 ? 1e-5 : act == DType.BF16 ? 2e-2 : 1e-2;
        // x goes through an activation-dtype op first: a conv reading a graph input of another dtype stages it and keeps NCHW
        Build conv = (g, v) -> g.conv2d(g.scale(v.get("x"), 1f), v.get("w:w"), v.get("w:b"), 1, 1);
        Map<String, Tensor> odd = in("x", random(3, 64, 11, 20), "w:w", scaled(random(96, 64, 3, 3), 0.05f), "w:b", random(96));
        if (act == DType.F32) {
            withProperty("i2vgen.cuda.convIslands", "force", () -> {
                compare("island fp32", act, tol, odd, conv);
                assertTrue(kernelsOf(act, odd, conv).stream().noneMatch(k -> k.contains("island")), "fp32 ran an island");
            });
            return;
        }
        Map<String, Tensor> split = in("x", random(4, 64, 40, 48), "w:w", scaled(random(64, 64, 3, 3), 0.05f), "w:b", random(64));
        Map<String, Tensor> chainData = in("x", random(2, 64, 12, 20), "w:w1", scaled(random(64, 64, 3, 3), 0.05f), "w:b1", random(64),
                "w:t", random(2, 64, 1, 1), "w:g", random(64), "w:be", random(64),
                "w:w2", scaled(random(64, 64, 3, 3), 0.05f), "w:b2", random(64));
        Build chain = (g, v) -> {
            Value x = g.scale(v.get("x"), 1f);
            Value h = g.add(g.conv2d(x, v.get("w:w1"), v.get("w:b1"), 1, 1), v.get("w:t"));
            h = g.groupNorm(h, v.get("w:g"), v.get("w:be"), 32, 1e-5f, true);
            return g.scale(g.add(g.conv2d(h, v.get("w:w2"), v.get("w:b2"), 1, 1), x), 0.5f);
        };
        withProperty("i2vgen.cuda.convIslands", "force", () -> {
            compare("island 3x3 C64 O96 11x20 bias", act, tol, odd, conv);
            assertIsland("island 3x3 C64 O96 11x20 bias", act, odd, conv);
            Map<String, Tensor> noBias = in("x", random(2, 40, 13, 17), "w:w", scaled(random(200, 40, 3, 3), 0.05f));
            Build plain = (g, v) -> g.conv2d(g.scale(v.get("x"), 1f), v.get("w:w"), null, 1, 1);
            compare("island 3x3 C40 O200 13x17 no bias", act, tol, noBias, plain);
            assertIsland("island 3x3 C40 O200 13x17 no bias", act, noBias, plain);
            Map<String, Tensor> s2 = in("x", random(3, 32, 15, 19), "w:w", scaled(random(48, 32, 3, 3), 0.05f), "w:b", random(48));
            Build strided = (g, v) -> g.conv2d(g.scale(v.get("x"), 1f), v.get("w:w"), v.get("w:b"), Conv2d.of(2, 1));
            compare("island 3x3 s2 pad1 C32 O48", act, tol, s2, strided);
            assertIsland("island 3x3 s2 pad1 C32 O48", act, s2, strided);
            withProperty("i2vgen.cuda.cudnnWorkspaceBytes", Long.toString(19L << 20), () -> {
                compare("island 2 groups of 2", act, tol, split, conv);
                // a graph input read directly: staged, the usual NCHW conv (no island)
                compare("island staged input", act, tol, split, (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
                try (CudaExecutionPlan plan = compileFor(act, split, conv)) {
                    long islands = plan.profile().stream().filter(e -> e.getKey().startsWith("cudnn island conv"))
                            .mapToLong(e -> (long) e.getValue()[1]).sum();
                    assertEquals(2, islands, "expected one island conv per image group");
                }
            });
            compare("island resnet-like chain", act, tol, chainData, chain);
            assertIsland("island resnet-like chain", act, chainData, chain);
            // the same function as the NCHW path
            Tensor island = run(cuda, act, odd, conv), chainIsland = run(cuda, act, chainData, chain);
            Tensor[] nchw = new Tensor[2];
            withProperty("i2vgen.cuda.convIslands", "false", () -> {
                nchw[0] = run(cuda, act, odd, conv);
                nchw[1] = run(cuda, act, chainData, chain);
                assertTrue(kernelsOf(act, odd, conv).stream().noneMatch(k -> k.contains("island")), "convIslands=false ran an island");
            });
            double e0 = TensorComparison.relativeError(island, nchw[0]), e1 = TensorComparison.relativeError(chainIsland, nchw[1]);
            System.out.printf("%-28s %-5s island vs NCHW rel.err %.3e (conv), %.3e (chain)%n", "island", act, e0, e1);
            assertTrue(e0 <= tol && e1 <= tol, "island differs from NCHW: " + e0 + ", " + e1);
            withProperty("i2vgen.cuda.channelsLast", "false", () ->
                    assertTrue(kernelsOf(act, odd, conv).stream().noneMatch(k -> k.contains("island")), "channelsLast=false ran an island"));
        });
        // auto: the plan-build measurement decides; either way the result is right
        Map<String, Tensor> mid = in("x", random(4, 320, 44, 80), "w:w", scaled(random(320, 320, 3, 3), 0.02f), "w:b", random(320));
        withProperty("i2vgen.cuda.convIslands", null, () -> compare("island auto 4x320x44x80", act, tol, mid, conv));
        cuda.cudnn().orElseThrow().islands.forEach((k, d) -> { if (k.endsWith(" auto")) System.out.println("island decision " + k + ": " + d); });
    }

    /**
     * The islands' fusions (ResidualFusion conv pairs, ChannelsLastLowering#normBeforeIsland) on a UNet resnet at a
     * small size, laid out as the model builds it (time projection and 1x1 shortcut first, frames folded into the
     * batch, the time embedding added over [B, F, C, H, W]): with islands forced, the GroupNorms write NHWC for their
     * convs (group_norm_transposed), conv1's output transpose adds the time embedding (permute_tiled_add_rows), conv2's
     * adds the shortcut (permute_tiled_add), and no Add runs a pass of its own (the one binary kernel left is the 1x1
     * conv's bias). Against the JVM, and against the same plan without the fusions (islandFusion=false, where the
     * values are the same bits apart from the rounding order: ≤ 1e-3); then islands off (the absorbed Adds are
     * handed back), an identity shortcut, and image groups (workspace bounded: the per-group row base and offsets).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void islandFusions(DType act) {
        cudnnOrSkip();
        double tol = act == DType.BF16 ? 2e-2 : 1e-2;
        int b = 2, f = 2, c = 64, o = 96, h = 12, w = 20;
        Map<String, Tensor> data = in("x", random(b * f, c, h, w), "emb", random(b, 32), "w:pw", scaled(random(o, 32), 0.2f), "w:pb", random(o),
                "w:sw", scaled(random(o, c, 1, 1), 0.1f), "w:sb", random(o), "w:g1", random(c), "w:be1", random(c),
                "w:w1", scaled(random(o, c, 3, 3), 0.05f), "w:b1", random(o), "w:g2", random(o), "w:be2", random(o),
                "w:w2", scaled(random(o, o, 3, 3), 0.04f), "w:b2", random(o));
        Build resnet = (g, v) -> {
            Value x = g.scale(v.get("x"), 1f);
            Value proj = g.linear(v.get("emb"), v.get("w:pw"), v.get("w:pb"));
            Value shortcut = g.conv2d(x, v.get("w:sw"), v.get("w:sb"), 1, 0);
            Value t = g.conv2d(g.groupNorm(x, v.get("w:g1"), v.get("w:be1"), 32, 1e-5f, true), v.get("w:w1"), v.get("w:b1"), 1, 1);
            t = g.reshape(g.add(g.reshape(t, b, f, o, h, w), g.reshape(proj, b, 1, o, 1, 1)), b * f, o, h, w);
            t = g.conv2d(g.groupNorm(t, v.get("w:g2"), v.get("w:be2"), 32, 1e-5f, true), v.get("w:w2"), v.get("w:b2"), 1, 1);
            return g.scale(g.add(shortcut, t), 0.5f);
        };
        withProperty("i2vgen.cuda.convIslands", "force", () -> {
            compare("island fusions resnet", act, tol, data, resnet);
            Map<String, Long> names = kernelCounts(act, data, resnet);
            System.out.printf("%-28s %-5s kernels %s%n", "island fusions resnet", act, names);
            assertEquals(2, launches(names, "group_norm_transposed_", null), "transposing norms: " + names);
            assertEquals(1, launches(names, "permute_tiled_add_rows_", null), "time-embedding transposes: " + names);
            assertEquals(1, launches(names, "permute_tiled_add_", "rows"), "shortcut transposes: " + names);
            assertEquals(1, launches(names, "binary", null), "only the 1x1 conv's bias pass: " + names);
            assertEquals(0, launches(names, "group_norm_apply", null), "an apply pass of its own: " + names);
            Tensor fused = run(cuda, act, data, resnet);
            Tensor[] plain = new Tensor[1];
            withProperty("i2vgen.cuda.islandFusion", "false", () -> {
                plain[0] = run(cuda, act, data, resnet);
                java.util.List<String> off = kernelsOf(act, data, resnet);
                assertTrue(off.stream().noneMatch(n -> n.startsWith("group_norm_transposed_") || n.startsWith("permute_tiled_add")),
                        "islandFusion=false fused: " + off);
            });
            double e = TensorComparison.relativeError(fused, plain[0]);
            System.out.printf("%-28s %-5s fused vs unfused rel.err %.3e%n", "island fusions resnet", act, e);
            assertTrue(e <= 1e-3, "fused islands differ from the unfused ones by " + e);
            // identity shortcut (the residual is the block's input), image groups of 2 (workspace bounded)
            Map<String, Tensor> big = in("x", random(4, 64, 40, 48), "emb", random(2, 32), "w:pw", scaled(random(64, 32), 0.2f), "w:pb", random(64),
                    "w:g1", random(64), "w:be1", random(64), "w:w1", scaled(random(64, 64, 3, 3), 0.05f), "w:b1", random(64),
                    "w:g2", random(64), "w:be2", random(64), "w:w2", scaled(random(64, 64, 3, 3), 0.05f), "w:b2", random(64));
            Build identity = (g, v) -> {
                Value x = g.scale(v.get("x"), 1f);
                Value proj = g.linear(v.get("emb"), v.get("w:pw"), v.get("w:pb"));
                Value t = g.conv2d(g.groupNorm(x, v.get("w:g1"), v.get("w:be1"), 32, 1e-5f, true), v.get("w:w1"), v.get("w:b1"), 1, 1);
                t = g.reshape(g.add(g.reshape(t, 2, 2, 64, 40, 48), g.reshape(proj, 2, 1, 64, 1, 1)), 4, 64, 40, 48);
                t = g.conv2d(g.groupNorm(t, v.get("w:g2"), v.get("w:be2"), 32, 1e-5f, true), v.get("w:w2"), v.get("w:b2"), 1, 1);
                return g.scale(g.add(t, x), 0.5f);
            };
            compare("island fusions identity", act, tol, big, identity);
            withProperty("i2vgen.cuda.cudnnWorkspaceBytes", Long.toString(19L << 20), () -> {
                compare("island fusions 2 groups", act, tol, big, identity);
                Map<String, Long> names2 = kernelCounts(act, big, identity);
                System.out.printf("%-28s %-5s kernels %s%n", "island fusions 2 groups", act, names2);
                assertEquals(2, launches(names2, "permute_tiled_add_rows_", null), "one per image group: " + names2);
                assertEquals(0, launches(names2, "binary", null), "an Add ran a pass of its own: " + names2);
            });
        });
        // islands off: the fused convs write y into scratch and their Adds follow at once (y has no buffer of its own)
        withProperty("i2vgen.cuda.convIslands", "false", () -> {
            compare("island fusions islands off", act, tol, data, resnet);
            Map<String, Long> names = kernelCounts(act, data, resnet);
            assertEquals(0, launches(names, "cudnn island", null) + launches(names, "group_norm_transposed_", null), "islands off: " + names);
            assertEquals(3, launches(names, "binary", null), "two Adds and the 1x1 bias: " + names);
        });
    }

    /**
     * The transformers' transposes with their neighbours folded in (fp16/bf16): the spatial one's GroupNorm → {0, 2, 3, 1}
     * and the temporal one's frame-major GroupNorm (channels on axis 2) → {0, 3, 4, 1, 2} each as one
     * group_norm_transposed pass (NormTransposeFusion), and the way back, a permute followed by the residual Add, as
     * one permute_tiled_add (ResidualFusion); an 11x20-like extent (V = 4) and a permute whose output has a second
     * reader (not fused). Against the JVM, and against islandFusion=false.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void transposeFusions(DType act) {
        double tol = act == DType.BF16 ? 2e-2 : 1e-2;
        for (int[] s : new int[][]{{2, 3, 64, 8, 12}, {1, 4, 32, 11, 20}}) {
            int b = s[0], f = s[1], c = s[2], h = s[3], w = s[4], n = b * f;
            Map<String, Tensor> data = in("x", random(n, c, h, w), "w:g", random(c), "w:be", random(c),
                    "w:p", scaled(random(c, c), 0.2f), "w:pb", random(c), "w:q", scaled(random(c, c), 0.2f), "w:qb", random(c));
            Build spatial = (g, v) -> {
                Value x = g.scale(v.get("x"), 1f);
                Value t = g.reshape(g.permute(g.groupNorm(x, v.get("w:g"), v.get("w:be"), 16, 1e-6f, false), 0, 2, 3, 1), n, h * w, c);
                t = g.linear(t, v.get("w:p"), v.get("w:pb"));
                t = g.permute(g.reshape(t, n, h, w, c), 0, 3, 1, 2);
                return g.scale(g.add(t, x), 0.5f);
            };
            Build temporal = (g, v) -> {
                Value x = g.scale(v.get("x"), 1f);
                Value t = g.groupNorm(g.reshape(x, b, f, c, h, w), v.get("w:g"), v.get("w:be"), 16, 1e-6f, false, 2);
                t = g.reshape(g.permute(t, 0, 3, 4, 1, 2), b * h * w, f, c);
                t = g.linear(t, v.get("w:q"), v.get("w:qb"));
                t = g.permute(g.reshape(t, b, h, w, f, c), 0, 3, 4, 1, 2);
                return g.scale(g.add(g.reshape(t, n, c, h, w), x), 0.5f);
            };
            Build shared = (g, v) -> {   // the permute's output is read twice: no fusion on the way back
                Value x = g.scale(v.get("x"), 1f);
                Value t = g.permute(g.reshape(g.linear(g.reshape(g.permute(x, 0, 2, 3, 1), n, h * w, c), v.get("w:p"), v.get("w:pb")), n, h, w, c), 0, 3, 1, 2);
                return g.add(g.add(t, x), g.scale(t, 2f));
            };
            String at = " " + java.util.Arrays.toString(s);
            for (var e : Map.of("spatial", spatial, "temporal", temporal).entrySet()) {
                String what = "transpose fusions " + e.getKey() + at;
                compare(what, act, tol, data, e.getValue());
                Map<String, Long> k = kernelCounts(act, data, e.getValue());
                System.out.printf("%-28s %-5s kernels %s%n", what, act, k);
                assertEquals(1, launches(k, "group_norm_transposed_", null), what + ": " + k);
                assertEquals(1, launches(k, "permute_tiled_add_", null), what + ": " + k);
                assertEquals(0, launches(k, "binary", null) + launches(k, "group_norm_apply", null) + launches(k, "group_norm_frames_apply", null)
                        + launches(k, "permute_tiled_", "add") + launches(k, "permute_rows", null), what + ": " + k);
                Tensor fused = run(cuda, act, data, e.getValue());
                Tensor[] plain = new Tensor[1];
                withProperty("i2vgen.cuda.islandFusion", "false", () -> plain[0] = run(cuda, act, data, e.getValue()));
                double err = TensorComparison.relativeError(fused, plain[0]);
                System.out.printf("%-28s %-5s fused vs unfused rel.err %.3e%n", what, act, err);
                assertTrue(err <= 1e-3, what + ": fused differs from unfused by " + err);
            }
            compare("transpose fusions shared" + at, act, tol, data, shared);
            assertEquals(0, launches(kernelCounts(act, data, shared), "permute_tiled_add_", null), "a permute read twice fused its Add");
        }
    }

    /** The plan of {@code build} ran an island conv (bias fused or added by cuDNN: both are right). */
    private static void assertIsland(String what, DType act, Map<String, Tensor> inputs, Build build) {
        java.util.List<String> names = kernelsOf(act, inputs, build);
        System.out.printf("%-28s %-5s kernels %s%n", what, act, names);
        assertTrue(names.stream().anyMatch(n -> n.startsWith("cudnn island conv")) && names.stream().anyMatch(n -> n.startsWith("permute")),
                what + " " + act + ": expected an island conv between permutes, plan ran " + names);
    }

    private static CudaExecutionPlan compileFor(DType act, Map<String, Tensor> inputs, Build build) {
        TaskGraph g = new TaskGraph("island", act);
        Map<String, Value> vals = new LinkedHashMap<>();
        inputs.forEach((name, t) -> vals.put(name, name.startsWith("w:") ? g.constant(name, t) : g.input(name, t.dtype(), t.shape())));
        g.output("out", build.apply(g, vals));
        CudaExecutionPlan plan = cuda.compile(g.freeze());
        Map<String, Tensor> runtime = new LinkedHashMap<>();
        inputs.forEach((name, t) -> { if (!name.startsWith("w:")) runtime.put(name, t); });
        plan.executeByName(runtime);
        return plan;
    }

    /**
     * The decoder's structure at a small size (DecoderLikeGraph: 4 → 64 → 32 channels, 11x20 latents, mid attention,
     * 1x1 shortcut, upsampling, 3-channel conv_out, F32 in and out) with channels-last forced and by default, against
     * the JVM in fp32 and against the NCHW path; fp32 never runs NHWC. Then with cuDNN's workspace bounded to 1 MB, so
     * that cuDNN declines the convolutions: the NHWC convs take the NCHW detour and the result must not change.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void channelsLastDecoder(DType act) {
        if (act != DType.F32) cudnnOrSkip();
        double tol = act == DType.F32 ? 1e-5 : act == DType.BF16 ? 2e-2 : 1e-2;
        Map<String, Tensor> data = in("z", random(2, 4, 11, 20));
        Build decoder = (g, v) -> DecoderLikeGraph.build(g, v.get("z"), new int[]{32, 64}, 2, 8, act,
                DecoderLikeGraph.randomWeights(new Random(77)));
        if (act == DType.F32) {
            java.util.List<String> kernels = kernelsOf(act, data, decoder);
            assertTrue(kernels.stream().noneMatch(k -> k.contains("nhwc")), "fp32 ran NHWC kernels: " + kernels);
            compare("decoder-like fp32", act, tol, data, decoder);
            return;
        }
        Tensor[] out = new Tensor[3];
        withProperty("i2vgen.cuda.channelsLast", "true", () -> {
            compareOn("group_norm_nhwc_apply", "decoder-like nhwc", act, tol, data, decoder);
            out[0] = run(cuda, act, data, decoder);
            // the resnets' residual Adds fused into their convs (-Di2vgen.cuda.nhwcResidual=true, ResidualFusion's
            // channels-last pairs): in cuDNN's epilogue where it takes z, else an add right after the conv; against
            // the JVM and the plan with the Adds apart
            withProperty("i2vgen.cuda.nhwcResidual", "true", () -> {
                compare("decoder-like nhwc, adds fused", act, tol, data, decoder);
                java.util.List<String> kernels = kernelsOf(act, data, decoder);
                long inEpilogue = kernels.stream().filter(k -> k.startsWith("cudnn nhwc conv+bias+add")).count();
                System.out.println("decoder-like nhwc, adds fused: " + inEpilogue + " in cuDNN's epilogue: " + kernels);
                assertTrue(inEpilogue > 0, "cuDNN added no residual in its epilogue (the fallback adds after the conv: correct, no faster): " + kernels);
                Tensor fused = run(cuda, act, data, decoder);
                double d = TensorComparison.relativeError(fused, out[0]);
                System.out.printf("%-28s %-5s fused vs separate adds rel.err %.3e%n", "decoder-like nhwc", act, d);
                assertTrue(d <= tol, "the fused residual adds differ: " + d);
            });
        });
        withProperty("i2vgen.cuda.channelsLast", "false", () -> {
            compare("decoder-like nchw", act, tol, data, decoder);
            out[1] = run(cuda, act, data, decoder);
            assertTrue(kernelsOf(act, data, decoder).stream().noneMatch(k -> k.contains("nhwc")), "channelsLast=false ran NHWC kernels");
        });
        compare("decoder-like auto", act, tol, data, decoder);
        double e = TensorComparison.relativeError(out[0], out[1]);
        System.out.printf("%-28s %-5s NHWC vs NCHW rel.err %.3e%n", "decoder-like", act, e);
        assertTrue(e <= tol, "NHWC differs from NCHW: " + e);
        withProperty("i2vgen.cuda.channelsLast", "true", () -> withProperty("i2vgen.cuda.cudnnWorkspaceBytes", Long.toString(1L << 20), () -> {
            java.util.List<String> kernels = kernelsOf(act, data, decoder);
            System.out.println("decoder-like, cuDNN declining: " + kernels);
            assertTrue(kernels.contains("group_norm_nhwc_apply"), "the norms should still run NHWC: " + kernels);
            out[2] = run(cuda, act, data, decoder);
            double d = TensorComparison.relativeError(out[2], out[1]);
            System.out.printf("%-28s %-5s NCHW detour vs NCHW rel.err %.3e%n", "decoder-like detour", act, d);
            assertTrue(d <= tol, "the NCHW detour differs: " + d);
            // a fused conv + Add pair on the detour: the conv into scratch, then the add into the Add's result
            withProperty("i2vgen.cuda.nhwcResidual", "true", () -> {
                double f = TensorComparison.relativeError(run(cuda, act, data, decoder), out[1]);
                System.out.printf("%-28s %-5s NCHW detour, adds fused, vs NCHW rel.err %.3e%n", "decoder-like detour", act, f);
                assertTrue(f <= tol, "the NCHW detour with fused adds differs: " + f);
            });
        }));
    }

    /**
     * The frames-first TemporalConv (TemporalConvLowering: one window GEMM per output frame, K = k·C, frames with the
     * same taps batched) against the JVM backend: k = 3 at F = 1, 2, 5, 16 (F = 1 keeps only the centre tap, F = 2 has
     * no interior frame), k = 1, k = 5 (F = 2 and 3 drop outer taps), odd H·W, bias and residual in every combination
     * (C of the GEMMs: residual, bias image with batch stride 0, none), fp32 within 1e-6; a weight given at run time
     * (repacked by a step each run); the bias-image path forced off; and which steps were planned.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void temporalConvFramesFirst(DType act) {
        // {B, F, C, H, W, O, k, bias, residual}
        int[][] cases = {{2, 16, 64, 5, 7, 136, 3, 1, 1}, {2, 16, 64, 5, 7, 136, 3, 1, 0}, {2, 1, 24, 3, 5, 40, 3, 1, 0},
                {2, 2, 24, 3, 5, 40, 3, 0, 1}, {1, 5, 16, 7, 9, 24, 3, 0, 0}, {3, 16, 32, 4, 8, 48, 3, 1, 1}, {2, 5, 24, 3, 5, 40, 1, 1, 0},
                {1, 6, 8, 2, 3, 12, 5, 1, 1}, {2, 2, 8, 3, 3, 12, 5, 1, 0}, {1, 3, 8, 3, 3, 8, 5, 0, 1}, {2, 4, 40, 11, 20, 40, 3, 1, 0}};
        for (int[] c : cases) {
            boolean bias = c[7] == 1, residual = c[8] == 1;
            Map<String, Tensor> data = in("x", random(c[0], c[1], c[2], c[3], c[4]), "w:w", random(c[5], c[2], c[6], 1, 1), "w:b", random(c[5]));
            if (residual) data.put("r", random(c[0], c[1], c[5], c[3], c[4]));
            Build conv = (g, v) -> {
                Value r = residual ? g.affine(v.get("r"), 0.5f, 0.25f) : null;   // the residual made inside the graph
                if (residual && !bias) return g.add(g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), null, null), r);
                return g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), bias ? v.get("w:b") : null, r);
            };
            double err = compare("frames-first conv " + java.util.Arrays.toString(c), act, data, conv);
            if (act == DType.F32) assertTrue(err <= 1e-6, "fp32 frames-first temporal conv " + java.util.Arrays.toString(c) + ": " + err);
        }
        // the plan: window GEMMs (interior, K = 3C) and edge GEMMs (K = 2C), the bias image as C (no bias_rows pass)
        Map<String, Tensor> data = in("x", random(2, 16, 32, 4, 8), "w:w", random(48, 32, 3, 1, 1), "w:b", random(48));
        Map<String, Tensor> dataR = in("x", data.get("x"), "r", random(2, 16, 48, 4, 8), "w:w", data.get("w:w"), "w:b", data.get("w:b"));
        Build biasOnly = (g, v) -> g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), v.get("w:b"), null);
        java.util.List<String> names = kernelsOf(act, data, biasOnly);
        assertTrue(names.contains("gemm temporal window") && names.contains("gemm temporal edge") && names.contains("temporal bias image")
                && !names.contains("bias_rows") && !names.contains("permute") && !names.contains("repack_taps"), "frames-first plan: " + names);
        Build withResidual = (g, v) -> g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), v.get("w:b"), v.get("r"));
        names = kernelsOf(act, dataR, withResidual);
        assertTrue(names.contains("bias_rows") && !names.contains("temporal bias image") && names.stream().noneMatch(n -> n.startsWith("binary")),
                "with residual: " + names);
        // the bias image turned off: beta = 0 and bias_rows
        System.setProperty("i2vgen.cuda.temporalBiasImage", "false");
        try {
            compare("frames-first conv, bias_rows", act, data, biasOnly);
            names = kernelsOf(act, data, biasOnly);
            assertTrue(names.contains("bias_rows") && !names.contains("temporal bias image"), "bias image off: " + names);
        } finally {
            System.clearProperty("i2vgen.cuda.temporalBiasImage");
        }
        // a weight given at run time, staged from F32 and repacked by a step of every run
        Map<String, Tensor> runtimeWeight = in("x", random(2, 5, 24, 3, 5), "w", random(40, 24, 3, 1, 1), "w:b", random(40));
        Build fromInput = (g, v) -> g.temporalConvFramesFirst(v.get("x"), v.get("w"), v.get("w:b"), null);
        double err = compare("frames-first conv weight input", act, runtimeWeight, fromInput);
        if (act == DType.F32) assertTrue(err <= 1e-6, "fp32 frames-first conv, weight input: " + err);
        assertTrue(kernelsOf(act, runtimeWeight, fromInput).contains("temporal taps repack"), "run-time weight not repacked by a step");
        // one weight read by two convs (the resident tap-major copy is shared)
        Map<String, Tensor> shared = in("x", random(2, 5, 24, 3, 5), "w:w", random(24, 24, 3, 1, 1), "w:b", random(24));
        compare("frames-first conv shared weight", act, shared, (g, v) -> g.temporalConvFramesFirst(
                g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), v.get("w:b"), null), v.get("w:w"), null, null));
    }

    /**
     * GroupNorm with its channels on axis 2 of a frame-major video [B, F, C, h, w] (group_norm_frames_stats/apply_v{V}):
     * vector widths 8/4 (fp16) and 1 (odd h·w), one and several chunks per frame segment, one group per channel, SiLU on
     * and off, and channels on axis 3 (two leading axes folded into the segments).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void groupNormFramesFirst(DType act) {
        boolean half = act != DType.F32;
        // {shape}, groups, silu, kernel expected for 2-byte activations, for fp32
        Object[][] cases = {
                {new int[]{2, 16, 64, 5, 8}, 32, true, "group_norm_frames_stats_v8", "group_norm_frames_stats_v4"},
                {new int[]{2, 3, 16, 11, 20}, 8, true, "group_norm_frames_stats_v4", "group_norm_frames_stats_v4"},
                {new int[]{1, 2, 64, 32, 40}, 4, false, "group_norm_frames_stats_v8", "group_norm_frames_stats_v4"},   // 5 chunks a segment
                {new int[]{1, 3, 32, 61, 67}, 4, true, "group_norm_frames_stats_v1", "group_norm_frames_stats_v1"},
                {new int[]{2, 5, 8, 3, 4}, 8, false, "group_norm_frames_stats_v4", "group_norm_frames_stats_v4"},
        };
        for (Object[] c : cases) {
            int[] shape = (int[]) c[0];
            int groups = (Integer) c[1];
            boolean silu = (Boolean) c[2];
            Tensor x = shifted(random(shape), 0.5f);   // a mean to remove
            compareOn((String) (half ? c[3] : c[4]), "group_norm axis 2 " + java.util.Arrays.toString(shape), act, act == DType.F32 ? 1e-5 : 1e-2,
                    in("x", x, "w:g", random(shape[2]), "w:b", random(shape[2])),
                    (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), groups, 1e-5f, silu, 2));
        }
        compare("group_norm axis 3", act, in("x", shifted(random(2, 3, 4, 16, 10), 0.5f), "w:g", random(16), "w:b", random(16)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 4, 1e-5f, true, 3));
    }

    /**
     * A whole TemporalConvLayer-shaped chain in the frame-major form (4 × (GroupNorm axis 2 + SiLU, frames-first conv),
     * the identity added by the last conv) against the JVM, and against the permuted formulation on the GPU.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void temporalConvLayerChain(DType act) {
        int b = 2, f = 16, c = 64, h = 6, w = 10;
        Map<String, Tensor> data = in("x", random(b * f, c, h, w));
        for (int k = 1; k <= 4; k++) {
            data.put("w:g" + k, shifted(scaled(random(c), 0.2f), 1f));
            data.put("w:be" + k, scaled(random(c), 0.2f));
            data.put("w:w" + k, scaled(random(c, c, 3, 1, 1), (float) (1 / Math.sqrt(3 * c))));
            data.put("w:b" + k, scaled(random(c), 0.1f));
        }
        Build frameMajor = (g, v) -> {
            Value id = g.reshape(v.get("x"), b, f, c, h, w), u = id;
            for (int k = 1; k <= 4; k++) {
                u = g.groupNorm(u, v.get("w:g" + k), v.get("w:be" + k), 32, 1e-5f, true, 2);
                u = g.temporalConvFramesFirst(u, v.get("w:w" + k), v.get("w:b" + k), k == 4 ? id : null);
            }
            return g.reshape(u, b * f, c, h, w);
        };
        Build permuted = (g, v) -> {
            Value id = g.permute(g.reshape(v.get("x"), b, f, c, h, w), 0, 2, 1, 3, 4), u = id;
            for (int k = 1; k <= 4; k++) {
                u = g.groupNorm(u, v.get("w:g" + k), v.get("w:be" + k), 32, 1e-5f, true);
                u = g.temporalConv(u, v.get("w:w" + k), v.get("w:b" + k));
            }
            return g.reshape(g.permute(g.add(id, u), 0, 2, 1, 3, 4), b * f, c, h, w);
        };
        compare("temporal layer frame-major", act, data, frameMajor);
        Tensor a = run(cuda, act, data, frameMajor), p = run(cuda, act, data, permuted);
        double e = TensorComparison.relativeError(a, p);
        System.out.printf("%-28s %-5s frame-major vs permuted on the GPU rel.err %.3e%n", "temporal layer", act, e);
        assertTrue(e <= (act == DType.F32 ? 1e-5 : 1e-2), "frame-major layer differs from the permuted one: " + e);
        assertTrue(kernelsOf(act, data, frameMajor).stream().noneMatch(k -> k.startsWith("permute")), "frame-major layer ran a permute");
    }
}
