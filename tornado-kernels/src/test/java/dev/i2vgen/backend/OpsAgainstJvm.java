package dev.i2vgen.backend;

import dev.i2vgen.backend.Backend;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The op checks every device backend runs against the JVM backend on the same random data (fp32 relative error
 * ≤ 1e-5, data movement exact): element-wise ops, the DDIM step, norms and layouts, embeddings, GEMMs and
 * convolutions, F16/BF16 weights (widened at upload) and activations (rounded as the JVM rounds), attention, and a
 * plan run again, with bindings and a device-side copy. A backend's test class extends this, opens {@link #device} in its own {@code @BeforeAll} (skipping
 * with the reason where the device is unusable) and adds its backend's own cases. Sizes are small and odd (PoCL on
 * two CPU cores in CI).
 */
public abstract class OpsAgainstJvm {
    protected static Backend device;
    protected static Backend jvm;
    protected static final Random RND = new Random(20251123);

    @BeforeAll
    static void openJvm() {
        jvm = Backends.create("jvm");
    }

    @AfterAll
    static void closeBoth() {
        if (device != null) device.close();
        if (jvm != null) jvm.close();
        device = null;
        jvm = null;
    }

    protected static Tensor random(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) RND.nextGaussian();
        return Tensor.fromFloats(v, shape);
    }

    protected interface Build extends BiFunction<TaskGraph, Map<String, Value>, Value> {}

    /** Runs {@code build} on the device and on the JVM with the same activation dtype; checks and returns the relative error. */
    protected static double compare(String what, DType activation, double tolerance, Map<String, Tensor> inputs, Build build) {
        Tensor expected = run(jvm, activation, inputs, build);
        Tensor actual = run(device, activation, inputs, build);
        double err = TensorComparison.relativeError(actual, expected);
        System.out.printf("%-30s %-5s rel.err %.3e%n", what, activation, err);
        assertTrue(err <= tolerance, what + " " + activation + ": relative error " + err + " > " + tolerance);
        return err;
    }

    protected static double compare(String what, Map<String, Tensor> inputs, Build build) { return compare(what, DType.F32, 1e-5, inputs, build); }

    /** Exact: data movement must not change a bit. */
    protected static void exact(String what, Map<String, Tensor> inputs, Build build) {
        Tensor expected = run(jvm, DType.F32, inputs, build);
        Tensor actual = run(device, DType.F32, inputs, build);
        assertEquals(0.0, TensorComparison.maxAbsError(actual, expected), what + " must be exact");
    }

    protected static Tensor run(Backend backend, DType activation, Map<String, Tensor> inputs, Build build) {
        TaskGraph g = new TaskGraph("test", activation);
        Map<String, Value> vals = new LinkedHashMap<>();
        inputs.forEach((name, t) -> vals.put(name, name.startsWith("w:") ? g.constant(name, t) : g.input(name, t.dtype(), t.shape())));
        g.output("out", build.apply(g, vals));
        ImmutableTaskGraph frozen = g.freeze();
        Map<String, Tensor> runtime = new LinkedHashMap<>();
        inputs.forEach((name, t) -> { if (!name.startsWith("w:")) runtime.put(name, t); });
        try (ExecutionPlan plan = backend.compile(frozen)) {
            plan.executeByName(runtime);
            return plan.read("out");
        }
    }

    protected static Map<String, Tensor> in(Object... kv) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Tensor) kv[i + 1]);
        return m;
    }

    @Test
    void elementwiseOps() {
        for (Unary.Kind k : Unary.Kind.values()) compare("unary " + k, in("x", random(3, 5, 17)), (g, v) -> g.unary(v.get("x"), k));
        for (Binary.Kind k : Binary.Kind.values()) {
            Tensor b = random(1, 5, 1);
            if (k == Binary.Kind.DIV) for (int i = 0; i < b.numel(); i++) b.setFlat(i, 1.5f + Math.abs(b.getFlat(i)));
            compare("binary bcast " + k, in("a", random(3, 5, 17), "b", b), (g, v) -> g.add(new Binary(k), v.get("a"), v.get("b")));
        }
        compare("binary rank bcast", in("a", random(2, 3, 4, 13), "w:b", random(13)), (g, v) -> g.mul(v.get("a"), v.get("w:b")));
        compare("binary both bcast", in("a", random(3, 1, 7), "b", random(5, 1)), (g, v) -> g.sub(v.get("a"), v.get("b")));
        compare("affine", in("x", random(1001)), (g, v) -> g.affine(v.get("x"), 0.7f, -0.3f));
        compare("clamp", in("x", random(1001)), (g, v) -> g.clamp(v.get("x"), -0.5f, 0.8f));
        compare("geglu", in("x", random(4, 7, 38)), (g, v) -> g.geglu(v.get("x")));
        compare("cfg_combine", in("x", random(4, 3, 5, 5)), (g, v) -> g.cfgCombine(v.get("x"), 9f));
        exact("cast bf16", in("x", random(2, 51)), (g, v) -> g.affine(g.cast(v.get("x"), DType.BF16), 1f, 0f));
        exact("cast f16", in("x", random(2, 51)), (g, v) -> g.affine(g.cast(v.get("x"), DType.F16), 1f, 0f));
        exact("cast i32", in("x", random(2, 51)), (g, v) -> g.affine(g.cast(g.affine(v.get("x"), 10f, 0f), DType.I32), 1f, 0f));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void ddimStep(int predictionType) {
        Tensor coef = Tensor.fromFloats(new float[]{0.8f, 0.6f, 0.9f, 0.3f, predictionType == 0 ? 0.2f : 0f, predictionType,
                predictionType == 2 ? 1.0f : 0f}, 7);
        compare("ddim_step type " + predictionType, in("x", random(2, 4, 8, 8), "m", random(2, 4, 8, 8), "c", coef, "n", random(2, 4, 8, 8)),
                (g, v) -> g.ddimStep(v.get("x"), v.get("m"), v.get("c"), v.get("n")));
        compare("ddim_step no noise " + predictionType, in("x", random(2, 3, 5), "m", random(2, 3, 5), "c", coef),
                (g, v) -> g.ddimStep(v.get("x"), v.get("m"), v.get("c"), null));
    }

    @Test
    void normalizationAndLayout() {
        compare("layer_norm", in("x", random(6, 97), "w:g", random(97), "w:b", random(97)),
                (g, v) -> g.layerNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 1e-5f));
        compare("group_norm_silu", in("x", random(2, 16, 6, 10), "w:g", random(16), "w:b", random(16)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 4, 1e-6f, true));
        compare("group_norm 5d", in("x", random(1, 12, 3, 5, 7), "w:g", random(12), "w:b", random(12)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 3, 1e-5f, false));
        compare("group_norm_silu axis 2", in("x", random(2, 5, 12, 3, 7), "w:g", random(12), "w:b", random(12)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 4, 1e-5f, true, 2));
        compare("group_norm axis 2 = 1 group/ch", in("x", random(1, 16, 8, 2, 3), "w:g", random(8), "w:b", random(8)),
                (g, v) -> g.groupNorm(v.get("x"), v.get("w:g"), v.get("w:b"), 8, 1e-5f, false, 2));
        compare("softmax", in("x", random(7, 133)), (g, v) -> g.softmax(v.get("x")));
        exact("concat", in("a", random(2, 3, 5), "b", random(2, 4, 5), "c", random(2, 1, 5)), (g, v) -> g.concat(1, v.get("a"), v.get("b"), v.get("c")));
        exact("concat last", in("a", random(2, 3, 5), "b", random(2, 3, 2)), (g, v) -> g.concat(-1, v.get("a"), v.get("b")));
        exact("slice", in("x", random(3, 9, 4)), (g, v) -> g.slice(v.get("x"), 1, 2, 7));
        exact("permute", in("x", random(2, 3, 4, 5)), (g, v) -> g.permute(v.get("x"), 0, 2, 3, 1));
        exact("upsample x2", in("x", random(2, 3, 5, 6)), (g, v) -> g.upsampleNearest(v.get("x"), 10, 12));
        exact("upsample odd", in("x", random(1, 2, 5, 6)), (g, v) -> g.upsampleNearest(v.get("x"), 7, 13));
    }

    @Test
    void embeddings() {
        Tensor ids = Tensor.fromFloats(new float[]{3, 0, 9, 4, 4, 1}, 2, 3).to(DType.I64);
        exact("embedding", in("w:t", random(10, 24), "ids", ids), (g, v) -> g.embedding(v.get("w:t"), v.get("ids")));
        Tensor t = Tensor.fromFloats(new float[]{999, 1, 500.5f}, 3);
        compare("timestep_embedding", in("t", t), (g, v) -> g.timestepEmbedding(v.get("t"), 320, true, 0f));
        compare("timestep_embedding odd", in("t", t), (g, v) -> g.timestepEmbedding(v.get("t"), 33, false, 1f));
    }

    @Test
    void gemmsAndConvolutions() {
        compare("linear+bias", in("x", random(2, 37, 45), "w:w", random(29, 45), "w:b", random(29)),
                (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("linear no bias", in("x", random(5, 16), "w:w", random(33, 16)), (g, v) -> g.linear(v.get("x"), v.get("w:w"), null));
        compare("matmul batched", in("a", random(3, 17, 40), "b", random(3, 40, 23)), (g, v) -> g.matmul(v.get("a"), v.get("b"), false, 0.5f));
        compare("matmul Bt shared", in("a", random(3, 17, 40), "b", random(23, 40)), (g, v) -> g.matmul(v.get("a"), v.get("b"), true, 1f));
        compare("matmul Bt batched", in("a", random(2, 19, 21), "b", random(2, 18, 21)), (g, v) -> g.matmul(v.get("a"), v.get("b"), true, 0.25f));
        compare("linear K=300 (many tiles)", in("x", random(3, 300), "w:w", random(40, 300), "w:b", random(40)),
                (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("conv2d 3x3", in("x", random(2, 5, 9, 11), "w:w", random(7, 5, 3, 3), "w:b", random(7)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), 1, 1));
        compare("conv2d s2 asym", in("x", random(2, 4, 10, 13), "w:w", random(6, 4, 3, 3), "w:b", random(6)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), new Conv2d(2, 2, 0, 1, 0, 1)));
        compare("conv2d 1x1", in("x", random(2, 6, 5, 7), "w:w", random(9, 6, 1, 1)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, 1, 0));
        compare("conv 14x14/14 patch", in("x", random(2, 3, 28, 42), "w:w", random(10, 3, 14, 14), "w:b", random(10)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), v.get("w:b"), Conv2d.of(14, 0)));
        compare("temporal_conv", in("x", random(2, 6, 5, 3, 4), "w:w", random(8, 6, 3, 1, 1), "w:b", random(8)),
                (g, v) -> g.temporalConv(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("temporal_conv frames-first", in("x", random(2, 5, 6, 3, 4), "w:w", random(8, 6, 3, 1, 1), "w:b", random(8)),
                (g, v) -> g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), v.get("w:b"), null));
        compare("temporal_conv frames-first + r", in("x", random(2, 16, 6, 2, 3), "w:w", random(6, 6, 3, 1, 1), "w:b", random(6),
                        "r", random(2, 16, 6, 2, 3)),
                (g, v) -> g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), v.get("w:b"), v.get("r")));
        compare("temporal_conv frames-first F=1", in("x", random(2, 1, 4, 3, 3), "w:w", random(5, 4, 3, 1, 1)),
                (g, v) -> g.temporalConvFramesFirst(v.get("x"), v.get("w:w"), null, null));
    }

    @Test
    void attention() {
        compare("attention 3 heads Lq!=Lk", in("q", random(2, 37, 48), "k", random(2, 50, 48), "v", random(2, 50, 48)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 3, 0.25f, false));
        compare("attention causal 2 heads", in("q", random(1, 45, 32), "k", random(1, 45, 32), "v", random(1, 45, 32)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.25f, true));
        compare("attention dk!=dv", in("q", random(3, 5, 24), "k", random(3, 70, 24), "v", random(3, 70, 40)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 4, 0.3f, false));
        compare("attention 1 head d128", in("q", random(1, 20, 128), "k", random(1, 33, 128), "v", random(1, 33, 128)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 1, (float) (1 / Math.sqrt(128)), false));
    }

    /** One plan run twice with new inputs, then with bindings and a device-side copy (a loop-carried state). */
    @Test
    void runsTwiceAndBindsAndCopies() {
        TaskGraph g = new TaskGraph("loop", DType.F32);
        Value x = g.input("x", DType.F32, 3, 7), w = g.constant("w", random(7, 7)), s = g.input("s", DType.F32, 3, 7);
        Value y = g.add(g.linear(x, w, null), s);
        g.output("y", y);
        ImmutableTaskGraph frozen = g.freeze();
        try (ExecutionPlan a = device.compile(frozen); ExecutionPlan b = jvm.compile(frozen)) {
            for (int run = 0; run < 2; run++) {
                Map<String, Tensor> inputs = Map.of("x", random(3, 7), "s", random(3, 7));
                a.executeByName(inputs);
                b.executeByName(inputs);
                assertTrue(TensorComparison.relativeError(a.read("y"), b.read("y")) <= 1e-5, "run " + run);
            }
            Tensor s0 = random(3, 7), x0 = random(3, 7);
            for (ExecutionPlan p : new ExecutionPlan[]{a, b}) {
                p.bind("s", s0);
                p.bind("x", x0);
                p.execute();
                for (int step = 0; step < 3; step++) {
                    p.copy("y", "x");   // x ← y on the device
                    p.execute();
                }
            }
            double err = TensorComparison.relativeError(a.read("y"), b.read("y"));
            System.out.printf("bind/copy loop rel.err %.3e%n", err);
            assertTrue(err <= 1e-5, "bind/copy loop: " + err);
            assertThrows(IllegalArgumentException.class, () -> a.bind("x", random(2, 7)));
        }
    }

    /** Weights stored in F16/BF16 are widened to fp32 at upload: same result as the JVM's widening. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void narrowWeights(String dtype) {
        DType w = DType.valueOf(dtype);
        compare("linear " + w + " weights", in("x", random(3, 20), "w:w", random(11, 20).to(w), "w:b", random(11).to(w)),
                (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("conv " + w + " weights", in("x", random(1, 3, 6, 7), "w:w", random(4, 3, 3, 3).to(w)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, 1, 1));
    }

    /** F16/BF16 activation graphs: every value rounded like the JVM backend rounds it. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void narrowActivations(String dtype) {
        DType act = DType.valueOf(dtype);
        compare("linear+gelu " + act, act, 1e-2, in("x", random(3, 20), "w:w", random(11, 20), "w:b", random(11)),
                (g, v) -> g.unary(g.linear(v.get("x"), v.get("w:w"), v.get("w:b")), Unary.Kind.GELU));
    }
}
