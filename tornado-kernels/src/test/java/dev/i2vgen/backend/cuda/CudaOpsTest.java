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
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

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
        Tensor expected = run(jvm, DType.F32, inputs, build);
        Tensor actual = null;
        for (int rep = 0; rep < 2; rep++) actual = run(cuda, activation, inputs, build);
        double err = TensorComparison.relativeError(actual, expected);
        double tol = activation == DType.F32 ? 1e-5 : 1e-2;
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
        compare("concat", act, in("a", random(2, 3, 5), "b", random(2, 4, 5)), (g, v) -> g.concat(1, v.get("a"), v.get("b")));
        compare("slice", act, in("x", random(3, 9, 4)), (g, v) -> g.slice(v.get("x"), 1, 2, 7));
        compare("permute", act, in("x", random(2, 3, 4, 5)), (g, v) -> g.permute(v.get("x"), 0, 2, 3, 1));
        compare("upsample x2", act, in("x", random(2, 3, 5, 6)), (g, v) -> g.upsampleNearest(v.get("x"), 10, 12));
        compare("upsample odd", act, in("x", random(1, 2, 5, 6)), (g, v) -> g.upsampleNearest(v.get("x"), 7, 13));
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

    /**
     * The same cases forced through cuDNN 9 (skipped where libcudnn.so.9 is absent); the asymmetric-padding case
     * falls back to the built-in path by design. Fails if no convolution was actually planned by cuDNN.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void cudnnConvolutions(DType act) {
        Assumptions.assumeTrue(cuda.cudnn().isPresent(), "cuDNN 9 (libcudnn.so.9) not installed");
        Cudnn cudnn = cuda.cudnn().get();
        System.out.println("cuDNN " + cudnn.version() + " from " + cudnn.libraryPath());
        long before = cudnn.choices.keySet().stream().filter(k -> k.contains(" " + act + " ")).count();
        System.setProperty("i2vgen.cuda.conv", "cudnn");
        try {
            convolutionCases(act);
            compare("cudnn conv 3x3 C320 O640", act, in("x", random(2, 320, 12, 20), "w:w", random(640, 320, 3, 3), "w:b", random(640)),
                    (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
        } finally {
            System.clearProperty("i2vgen.cuda.conv");
        }
        long after = cudnn.choices.keySet().stream().filter(k -> k.contains(" " + act + " ")).count();
        assertTrue(after >= before + 8, "expected at least 8 new cuDNN convolution plans for " + act + ", got " + (after - before));
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
}
