package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Timings on the GPU (only with {@code -Di2vgen.cuda.bench=true}): cuBLASLt GEMMs at the UNet's
 * 704×1280 size (14,080 tokens) and the fused attention kernel at 14,080 tokens, 5 heads of 64.
 * Times are CUDA-event means over replays of a captured CUDA graph after warm-up.
 */
class CudaBenchmarkTest {

    private static Tensor random(Random rnd, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        return Tensor.fromFloats(v, shape);
    }

    /** Uniform in [-2, 2): cheap enough for the 144 M-element inputs of the 32-frame attention. */
    /** o = attention(q[batch, lq, heads·d], k, v[batch, lk, heads·d]) with the usual 1/sqrt(d) scale, as one frozen graph. */
    static dev.i2vgen.graph.ImmutableTaskGraph attentionGraph(DType act, int batch, int lq, int lk, int heads, int d) {
        TaskGraph g = new TaskGraph("attention", act);
        Value qv = g.input("q", act, batch, lq, heads * d);
        Value kv = g.input("k", act, batch, lk, heads * d);
        Value vv = g.input("v", act, batch, lk, heads * d);
        g.output("o", g.attention(qv, kv, vv, heads, (float) (1 / Math.sqrt(d)), false));
        return g.freeze();
    }

    /** Benchmarks run only with -Di2vgen.cuda.bench=true on a machine with a CUDA device; skipped (with why) elsewhere. */
    static void assumeBenchmarkDevice() {
        Assumptions.assumeTrue(Boolean.getBoolean("i2vgen.cuda.bench"), "benchmarks run only with -Di2vgen.cuda.bench=true");
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
    }

    /** A fresh backend, its device named on standard output (the benchmark logs say what they ran on). */
    static CudaBackend benchmarkBackend() {
        CudaBackend cuda = CudaBackend.create();
        System.out.println("device: " + cuda.deviceDescription());
        return cuda;
    }

    private static Tensor uniform(Random rnd, int... shape) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(rnd.nextLong());
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 4 - 2);
        return Tensor.fromFloats(v, shape);
    }

    @Test
    void gemmAndAttentionThroughput() {
        assumeBenchmarkDevice();
        Random rnd = new Random(7);
        try (CudaBackend cuda = benchmarkBackend()) {
            int[][] gemms = {{14080, 2880, 320}, {14080, 320, 2880}, {8192, 8192, 8192}};
            for (DType act : new DType[]{DType.F16, DType.BF16, DType.F32}) {
                for (int[] s : gemms) {
                    int m = s[0], n = s[1], k = s[2];
                    if (act == DType.F32 && m == 8192) continue;
                    TaskGraph g = new TaskGraph("gemm", act);
                    Value x = g.input("x", DType.F32, m, k);
                    Value w = g.constant("w", random(rnd, n, k));
                    g.output("y", g.linear(g.cast(x, act), w, null));
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        plan.executeByName(Map.of("x", random(rnd, m, k)));
                        double ms = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                        double tflops = 2.0 * m * n * k / (ms * 1e-3) / 1e12;
                        System.out.printf("BENCH gemm %s M=%d N=%d K=%d: %.3f ms (incl. cast of x), %.1f TFLOP/s%n", act, m, n, k, ms, tflops);
                    }
                }
            }
            // {batch, length, heads, head width}: spatial self-attention of 32 frames (2 x 16, CFG), the temporal
            // attention (16 frames, 2 x 88 x 160 sequences), the VAE mid-block (one head of 512, one frame)
            Map<String, Tensor[]> inputs = new java.util.HashMap<>();
            int[][] attentions = {{32, 14080, 5, 64}, {28160, 16, 5, 64}, {1, 14080, 1, 512}};
            for (DType act : new DType[]{DType.F16, DType.BF16, DType.F32}) {
                for (int[] s : attentions) {
                    if (act == DType.F32 && s[0] != 32) continue;   // the exact fp32 kernel: only the spatial case, 2 frames
                    int batch = act == DType.F32 ? 2 : s[0], len = s[1], heads = s[2], d = s[3];
                    Tensor[] qkv = inputs.computeIfAbsent(batch + "x" + len + "x" + heads * d,
                            key -> new Tensor[]{uniform(rnd, batch, len, heads * d), uniform(rnd, batch, len, heads * d), uniform(rnd, batch, len, heads * d)});
                    TaskGraph g = new TaskGraph("attention", act);
                    Value q = g.input("q", act, batch, len, heads * d);
                    Value kk = g.input("k", act, batch, len, heads * d);
                    Value v = g.input("v", act, batch, len, heads * d);
                    g.output("o", g.attention(q, kk, v, heads, (float) (1 / Math.sqrt(d)), false));
                    String[] variants = act != DType.F32 && s[0] == 32 ? new String[]{"4x64", "8x64", "4x128", "8x128"} : new String[]{"default"};
                    for (String variant : variants) {
                    if (!variant.equals("default")) {   // the v2 block shapes (flashAttentionVariants times v3/v4)
                        System.setProperty("i2vgen.cuda.flash", variant);
                        System.setProperty("i2vgen.cuda.flashVariant", "v2");
                    }
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        plan.executeByName(Map.of("q", qkv[0], "k", qkv[1], "v", qkv[2]));
                        Tensor o = plan.read("o");
                        for (int i = 0; i < 1000; i++) assertTrue(Float.isFinite(o.getFlat(i * 7919L % o.numel())), "non-finite attention output");
                        double ms = cuda.timeMillis(plan::enqueueTasks, 2, act == DType.F32 ? 3 : 10);
                        double flops = 4.0 * batch * heads * (double) len * len * d;
                        System.out.printf("BENCH attention %s B=%d L=%d H=%d D=%d (%s): %.3f ms, %.1f TFLOP/s%n",
                                act, batch, len, heads, d, variant, ms, flops / (ms * 1e-3) / 1e12);
                    } finally {
                        System.clearProperty("i2vgen.cuda.flash");
                        System.clearProperty("i2vgen.cuda.flashVariant");
                    }
                    }
                }
            }
        }
    }

    /**
     * The flash kernel families (i2vgen.cuda.flashVariant x warps) at the UNet's first-level attention shapes with CFG:
     * spatial self-attention 32 x 14,080 tokens x 5 heads of 64 and the cross-attention to 77 text tokens. Prints ms,
     * TFLOP/s (4 B H Lq Lk D), the q/k/v/o bytes and the K/V bytes re-read per query block, and checks each variant's
     * output against v2's (both carry their own rounding: fp16 <= 2e-3, bf16 <= 1.6e-2).
     */
    @Test
    void flashAttentionVariants() {
        assumeBenchmarkDevice();
        Random rnd = new Random(13);
        String[][] variants = {{"v2", "8x64"}, {"v3m1", "8x64"}, {"v3m2", "4x64"}, {"v3m2", "8x64"}, {"v4m1", "4x64"},
                {"v4m2", "4x64"}, {"v4m2", "8x64"}};
        int[][] shapes = {{32, 14080, 14080, 5, 64}, {32, 14080, 77, 5, 64}};   // {batch, Lq, Lk, heads, d}
        try (CudaBackend cuda = benchmarkBackend()) {
            for (int[] s : shapes) {
                int batch = s[0], lq = s[1], lk = s[2], heads = s[3], d = s[4];
                Tensor q = uniform(rnd, batch, lq, heads * d), k = uniform(rnd, batch, lk, heads * d), v = uniform(rnd, batch, lk, heads * d);
                double flops = 4.0 * batch * heads * (double) lq * lk * d;
                double bytes = 2.0 * 2 * ((double) batch * lq * heads * d + (double) batch * lk * heads * d);
                for (DType act : new DType[]{DType.F16, DType.BF16}) {
                    var frozen = attentionGraph(act, batch, lq, lk, heads, d);
                    Tensor reference = null;
                    for (String[] variant : variants) {
                        System.setProperty("i2vgen.cuda.flashVariant", variant[0]);
                        System.setProperty("i2vgen.cuda.flash", variant[1]);
                        try (CudaExecutionPlan plan = cuda.compile(frozen)) {
                            plan.executeByName(Map.of("q", q, "k", k, "v", v));
                            Tensor o = plan.read("o");
                            double err = 0;
                            if (reference == null) reference = o;
                            else err = dev.i2vgen.tensor.TensorComparison.relativeError(o, reference);
                            double ms = cuda.timeMillis(plan::enqueueTasks, 2, 10);
                            int rows = 16 * Integer.parseInt(variant[1].split("x")[0]) * (variant[0].endsWith("m2") ? 2 : 1);
                            double kvReads = 2.0 * 2 * batch * heads * Math.ceil((double) lq / rows) * lk * d;
                            System.out.printf("BENCH flash %s %s %s B=%d Lq=%d Lk=%d H=%d D=%d: %.3f ms, %.1f TFLOP/s, %.2f GFLOP, q/k/v/o %.0f MB, K/V re-reads %.1f GB, vs v2 rel.err %.2e%n",
                                    act, variant[0], variant[1], batch, lq, lk, heads, d, ms, flops / (ms * 1e-3) / 1e12, flops / 1e9,
                                    bytes / 1e6, kvReads / 1e9, err);
                            assertTrue(err <= (act == DType.F16 ? 2e-3 : 1.6e-2), variant[0] + " " + variant[1] + " differs from v2: " + err);
                        } finally {
                            System.clearProperty("i2vgen.cuda.flashVariant");
                            System.clearProperty("i2vgen.cuda.flash");
                        }
                    }
                }
            }
        }
    }

    /**
     * The Hopper wgmma flash kernels (flashVariant v5w{warpgroups}k{key tile}[mb|mb2] and the warp-specialised
     * v6w{consumer warpgroups}k{key tile}[np], Sm90FlashAttention; the list in
     * i2vgen.bench.flash90, the first taken as the reference) against the mma.sync
     * default v3m2 at the UNet's d = 64 attention shapes with CFG (32 sequences): spatial self-attention at level 0
     * (14,080 tokens, 5 heads), level 1 (3,520, 10 heads), levels 2 and 3 (880 and 220 tokens, 20 heads), and the
     * cross-attention to 77 text tokens. Prints ms, TFLOP/s (4 B H Lq Lk D), the q/k/v/o bytes, the error against
     * v3m2 (both carry their own rounding: fp16 <= 2e-3, bf16 <= 1.6e-2), v3m2 timed twice (first and last: the
     * spread), and a table of the speed-ups last. Skips off compute capability 9.0.
     */
    @Test
    void flashAttentionSm90() {
        assumeBenchmarkDevice();
        Random rnd = new Random(17);
        String[] variants = System.getProperty("i2vgen.bench.flash90", "v3m2,v5w3k128,v5w2k64,v5w3k128mb,v5w4k64mb,v5w3k128mb2,v5w4k64mb2,v5w2k64mb2,v5,v6w2k128,v6w2k128np,v6w2k64,v6w3k64,v6,v3m2").split(",");
        // {batch, Lq, Lk, heads}; i2vgen.bench.flash90.shapes = "BxLqxLkxH,..." and .dtypes = "F16,BF16" narrow the run,
        // .reps sets the graph replays timed (10; more for the short launches of the small shapes)
        int[][] shapes = java.util.Arrays.stream(System.getProperty("i2vgen.bench.flash90.shapes", "32x14080x14080x5,32x3520x3520x10,32x14080x77x5,32x880x880x20,32x220x220x20")
                .split(",")).map(x -> java.util.Arrays.stream(x.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
        DType[] dtypes = java.util.Arrays.stream(System.getProperty("i2vgen.bench.flash90.dtypes", "F16,BF16").split(",")).map(DType::valueOf).toArray(DType[]::new);
        StringBuilder table = new StringBuilder();
        java.util.List<String> failures = new java.util.ArrayList<>();
        try (CudaBackend cuda = benchmarkBackend()) {
            Assumptions.assumeTrue(cuda.ccMajor == 9 && cuda.ccMinor == 0, "wgmma kernels need compute capability 9.0");
            for (int[] s : shapes) {
                int batch = s[0], lq = s[1], lk = s[2], heads = s[3], d = 64;
                Tensor q = uniform(rnd, batch, lq, heads * d), k = uniform(rnd, batch, lk, heads * d), v = uniform(rnd, batch, lk, heads * d);
                double flops = 4.0 * batch * heads * (double) lq * lk * d;
                double bytes = 2.0 * 2 * ((double) batch * lq * heads * d + (double) batch * lk * heads * d);
                for (DType act : dtypes) {
                    var frozen = attentionGraph(act, batch, lq, lk, heads, d);
                    Tensor reference = null;
                    double base = 0;
                    table.append(String.format("%-5s Lq=%-5d Lk=%-5d H=%-2d", act, lq, lk, heads));
                    for (String variant : variants) {
                        System.setProperty("i2vgen.cuda.flashVariant", variant);
                        try (CudaExecutionPlan plan = cuda.compile(frozen)) {
                            plan.poison();
                            plan.executeByName(Map.of("q", q, "k", k, "v", v));
                            Tensor o = plan.read("o");
                            for (long i = 0; i < o.numel(); i += 997) assertTrue(Float.isFinite(o.getFlat(i)), variant + ": non-finite output at " + i);
                            double err = 0;
                            if (reference == null) reference = o;
                            else err = dev.i2vgen.tensor.TensorComparison.relativeError(o, reference);
                            double ms = cuda.timeMillis(plan::enqueueTasks, 2, Integer.getInteger("i2vgen.bench.flash90.reps", 10));
                            if (base == 0) base = ms;
                            System.out.printf("BENCH flash90 %s %-8s B=%d Lq=%d Lk=%d H=%d D=%d: %.3f ms, %.1f TFLOP/s, %.2f GFLOP, q/k/v/o %.0f MB, vs v3m2 rel.err %.2e, speed-up %.2fx%n",
                                    act, variant, batch, lq, lk, heads, d, ms, flops / (ms * 1e-3) / 1e12, flops / 1e9, bytes / 1e6, err, base / ms);
                            table.append(String.format(" | %s %.3f ms %.0f TF %.2fx", variant, ms, flops / (ms * 1e-3) / 1e12, base / ms));
                            if (err > (act == DType.F16 ? 2e-3 : 1.6e-2)) failures.add(act + " " + variant + " Lq=" + lq + " Lk=" + lk + ": rel.err " + err);
                        } finally {
                            System.clearProperty("i2vgen.cuda.flashVariant");
                        }
                    }
                    table.append('\n');
                }
            }
        }
        System.out.print("FLASH90 TABLE\n" + table);
        assertTrue(failures.isEmpty(), "differ from v3m2: " + failures);   // after the table: every timing is printed
    }

    /**
     * Convolutions at the UNet's shapes (32 frames = 2 x 16 with CFG; 3x3 at the three resolutions, the temporal
     * (3,1,1) conv) and the VAE decoder's (one frame, 512/256/128 channels up to 704x1280): the implicit-GEMM
     * tensor-core kernel and cuDNN 9 (when installed) against the im2col + cuBLASLt path, whose output they must match
     * (rel. error ≤ 1e-2).
     */
    @Test
    void convolutionThroughput() {
        assumeBenchmarkDevice();
        Random rnd = new Random(11);
        // {images, channels in, out, h, w, kernel h, kernel w}; kernel w = 0 marks a TemporalConv over 16 frames
        int[][] shapes = {{32, 320, 320, 88, 160, 3, 3}, {32, 640, 640, 44, 80, 3, 3}, {32, 1280, 1280, 22, 40, 3, 3},
                {2, 320, 320, 88, 160, 3, 0}, {2, 1280, 1280, 22, 40, 3, 0},
                {1, 512, 512, 176, 320, 3, 3}, {1, 256, 256, 352, 640, 3, 3}, {1, 128, 128, 704, 1280, 3, 3},
                {32, 640, 320, 88, 160, 1, 1}, {2, 640, 640, 44, 80, 3, 0}, {1, 256, 128, 704, 1280, 3, 3},
                {1, 512, 512, 88, 160, 3, 3}, {1, 512, 256, 352, 640, 3, 3}};
        try (CudaBackend cuda = benchmarkBackend()) {
            for (DType act : new DType[]{DType.F16, DType.BF16}) {
                for (int[] s : shapes) {
                    if (act == DType.BF16 && s[0] != 32) continue;   // bf16: the UNet shapes only
                    boolean temporal = s[6] == 0;
                    int[] xs = temporal ? new int[]{s[0], s[1], 16, s[3], s[4]} : new int[]{s[0], s[1], s[3], s[4]};
                    int[] ws = temporal ? new int[]{s[2], s[1], 3, 1, 1} : new int[]{s[2], s[1], s[5], s[6]};
                    Tensor x = uniform(rnd, xs), w = uniform(rnd, ws), b = uniform(rnd, s[2]);
                    double flops = 2.0 * Tensor.numel(xs) / s[1] * s[2] * s[1] * s[5] * (temporal ? 1 : s[6]);
                    String[] paths = s[1] <= 128 ? new String[]{"im2col", "igemm", "cudnn"} : new String[]{"im2col", "cudnn"};
                    Tensor[] results = new Tensor[paths.length];
                    for (int i = 0; i < paths.length; i++) {
                        System.setProperty("i2vgen.cuda.conv", paths[i]);
                        TaskGraph g = new TaskGraph("conv", act);
                        Value xv = g.input("x", act, xs);
                        Value y = temporal ? g.temporalConv(xv, g.constant("w", w), g.constant("b", b))
                                : g.conv2d(xv, g.constant("w", w), g.constant("b", b), 1, (s[5] - 1) / 2);
                        g.output("y", y);
                        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                            plan.executeByName(Map.of("x", x));
                            results[i] = plan.read("y");
                            double ms = cuda.timeMillis(plan::enqueueTasks, 2, 10);
                            System.out.printf("BENCH conv %s %s %s: %.3f ms, %.1f TFLOP/s%n", act, paths[i],
                                    java.util.Arrays.toString(s), ms, flops / (ms * 1e-3) / 1e12);
                        } finally {
                            System.clearProperty("i2vgen.cuda.conv");
                        }
                    }
                    double err = 0;
                    for (int i = 1; i < paths.length; i++) {
                        double e = dev.i2vgen.tensor.TensorComparison.relativeError(results[i], results[0]);
                        System.out.printf("BENCH conv %s %s %s vs im2col rel.err %.3e%n", act, java.util.Arrays.toString(s), paths[i], e);
                        err = Math.max(err, e);
                    }
                    assertTrue(err <= 1e-2, "implicit GEMM or cuDNN differs from im2col + GEMM: " + err);
                }
            }
            cuda.cudnn().ifPresent(c -> c.choices.forEach((k, v) -> System.out.println("BENCH cudnn choice " + k + " -> " + v)));
        }
    }

    /**
     * cuDNN (the default auto choice, bias fused into the conv; and with cudnnAddTensor or the channel-bias kernel) against the built-in
     * paths (i2vgen.cuda.conv=builtin: im2col + cuBLASLt, implicit GEMM at ≤ 128 ch) per conv, bias included, at the
     * UNet's shapes (32 frames = 2 x 16 with CFG, 3x3 at the three resolutions, the temporal (3,1,1) conv) and every
     * 3x3 conv shape of the VAE decoder at 704x1280 (one frame), with FLOPs, bytes (x + w + y once) and their ratio;
     * the plan's build time includes the one algorithm search per shape. Results must agree (rel. error ≤ 1e-2).
     */
    @Test
    void cudnnVersusBuiltin() {
        assumeBenchmarkDevice();
        Random rnd = new Random(13);
        // {images, channels in, out, h, w, kernel h, kernel w}; kernel w = 0 marks a TemporalConv over 16 frames
        int[][] shapes = {{32, 320, 320, 88, 160, 3, 3}, {32, 640, 640, 44, 80, 3, 3}, {32, 1280, 1280, 22, 40, 3, 3},
                {2, 320, 320, 88, 160, 3, 0}, {2, 1280, 1280, 22, 40, 3, 0},
                {1, 4, 512, 88, 160, 3, 3}, {1, 512, 512, 88, 160, 3, 3}, {1, 512, 512, 176, 320, 3, 3},
                {1, 512, 256, 352, 640, 3, 3}, {1, 256, 256, 352, 640, 3, 3}, {1, 256, 256, 704, 1280, 3, 3},
                {1, 256, 128, 704, 1280, 3, 3}, {1, 128, 128, 704, 1280, 3, 3}, {1, 128, 3, 704, 1280, 3, 3}};
        String[][] paths = {{"builtin", null}, {"auto", "kernel"}, {"auto", "add"}, {"auto", null}};
        try (CudaBackend cuda = benchmarkBackend()) {
            cuda.cudnn().ifPresentOrElse(c -> System.out.println("cuDNN " + c.version() + " from " + c.libraryPath()),
                    () -> System.out.println("cuDNN not installed: only the built-in paths"));
            for (DType act : new DType[]{DType.F16, DType.BF16}) {
                for (int[] s : shapes) {
                    if (act == DType.BF16 && !(s[0] == 32 && s[1] == 320) && !(s[1] == 128 && s[2] == 128)) continue;   // bf16: two shapes
                    boolean temporal = s[6] == 0;
                    int[] xs = temporal ? new int[]{s[0], s[1], 16, s[3], s[4]} : new int[]{s[0], s[1], s[3], s[4]};
                    int[] ws = temporal ? new int[]{s[2], s[1], 3, 1, 1} : new int[]{s[2], s[1], s[5], s[6]};
                    Tensor x = uniform(rnd, xs).to(act), w = uniform(rnd, ws), b = uniform(rnd, s[2]);
                    long outputs = Tensor.numel(xs) / s[1] * s[2];
                    double flops = 2.0 * outputs * s[1] * s[5] * (temporal ? 1 : s[6]);
                    double bytes = (double) act.byteSize() * (Tensor.numel(xs) + Tensor.numel(ws) + outputs);
                    String shape = java.util.Arrays.toString(s);
                    System.out.printf("BENCH cudnn-vs-builtin %s %s: %.1f GFLOP, %.1f MB, %.0f FLOP/byte%n", act, shape, flops / 1e9, bytes / 1e6, flops / bytes);
                    Tensor[] results = new Tensor[paths.length];
                    int usable = cuda.cudnn().isPresent() ? paths.length : 1;
                    for (int i = 0; i < usable; i++) {
                        String name = paths[i][1] == null ? paths[i][0] : paths[i][0] + "+bias-" + paths[i][1];
                        System.setProperty("i2vgen.cuda.conv", paths[i][0]);
                        if (paths[i][1] != null) System.setProperty("i2vgen.cuda.cudnnBias", paths[i][1]);
                        TaskGraph g = new TaskGraph("conv", act);
                        Value xv = g.input("x", act, xs);
                        Value y = temporal ? g.temporalConv(xv, g.constant("w", w), g.constant("b", b))
                                : g.conv2d(xv, g.constant("w", w), g.constant("b", b), 1, (s[5] - 1) / 2);
                        g.output("y", y);
                        long t0 = System.nanoTime();
                        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                            double buildMs = (System.nanoTime() - t0) / 1e6;
                            plan.executeByName(Map.of("x", x));
                            results[i] = plan.read("y");
                            double ms = cuda.timeMillis(plan::enqueueTasks, 2, 10);
                            System.out.printf("BENCH cudnn-vs-builtin %s %s %-20s %8.3f ms %6.1f TFLOP/s %6.0f GB/s (build %.0f ms, %d steps)%n",
                                    act, shape, name, ms, flops / (ms * 1e-3) / 1e12, bytes / (ms * 1e-3) / 1e9, buildMs, plan.stepCount());
                        } finally {
                            System.clearProperty("i2vgen.cuda.conv");
                            System.clearProperty("i2vgen.cuda.cudnnBias");
                        }
                    }
                    double err = 0;
                    for (int i = 1; i < usable; i++) {
                        double e = dev.i2vgen.tensor.TensorComparison.relativeError(results[i], results[0]);
                        System.out.printf("BENCH cudnn-vs-builtin %s %s path %d vs builtin rel.err %.3e%n", act, shape, i, e);
                        err = Math.max(err, e);
                    }
                    assertTrue(err <= 1e-2, "cuDNN differs from the built-in path: " + err);
                }
            }
            cuda.cudnn().ifPresent(c -> c.choices.forEach((k, v) -> System.out.println("BENCH cudnn choice " + k + " -> " + v)));
        }
    }

    /**
     * The UNet's 3x3 conv shapes (32 images: CFG x 16 frames; resnet, concatenated up-block inputs, upsampler and
     * downsampler convs), fp16 (and one bf16), bias fused: cuDNN NCHW (convIslands=false) against the channels-last
     * island (forced: permute, NHWC conv, permute) and the default, whose plan-build measurement (FindEx times +
     * computed permutes, ConvIsland) is printed with its choice. CUDA-graph replays, median of 10; island vs NCHW
     * rel.err on random data; the island's per-step profile (permutes vs conv).
     */
    @Test
    void convIslandUnetShapes() {
        assumeBenchmarkDevice();
        Random rnd = new Random(29);
        // {images, channels in, out, h, w, stride}: out size h/stride x w/stride
        int[][] shapes = {{32, 320, 320, 88, 160, 1}, {32, 640, 640, 44, 80, 1}, {32, 1280, 1280, 22, 40, 1}, {32, 1280, 1280, 11, 20, 1},
                {32, 960, 320, 88, 160, 1}, {32, 640, 320, 88, 160, 1}, {32, 1920, 640, 44, 80, 1}, {32, 2560, 1280, 22, 40, 1},
                {32, 2560, 1280, 11, 20, 1}, {32, 320, 640, 44, 80, 1}, {32, 640, 640, 88, 160, 1}, {32, 1280, 1280, 44, 80, 1},
                {32, 320, 320, 88, 160, 2}, {32, 4, 320, 88, 160, 1}};
        String[][] paths = {{"nchw", "false"}, {"island", "force"}, {"auto", null}};
        StringBuilder table = new StringBuilder();
        try (CudaBackend cuda = CudaBackend.create()) {
            Assumptions.assumeTrue(cuda.cudnn().isPresent(), "cuDNN not installed");
            Cudnn cudnn = cuda.cudnn().get();
            System.out.println("device: " + cuda.deviceDescription() + ", cuDNN " + cudnn.version());
            for (DType act : new DType[]{DType.F16, DType.BF16}) {
                for (int[] s : shapes) {
                    if (act == DType.BF16 && !(s[1] == 320 && s[2] == 320 && s[5] == 1)) continue;
                    int oh = s[3] / s[5], ow = s[4] / s[5];
                    int[] xs = {s[0], s[1], s[3], s[4]};
                    Tensor x = uniform(rnd, xs).to(act), w = uniform(rnd, s[2], s[1], 3, 3), b = uniform(rnd, s[2]);
                    double outputs = (double) s[0] * s[2] * oh * ow;
                    double flops = 2.0 * outputs * s[1] * 9;
                    double bytes = (double) act.byteSize() * (Tensor.numel(xs) + (double) s[2] * s[1] * 9 + outputs);
                    double permuteBytes = 2.0 * act.byteSize() * (Tensor.numel(xs) + outputs);
                    String shape = java.util.Arrays.toString(s);
                    System.out.printf("BENCH conv-island %s %s: %.1f GFLOP, %.1f MB, %.0f FLOP/byte, permutes move %.1f MB%n",
                            act, shape, flops / 1e9, bytes / 1e6, flops / bytes, permuteBytes / 1e6);
                    Tensor[] results = new Tensor[paths.length];
                    double[] ms = new double[paths.length];
                    for (int i = 0; i < paths.length; i++) {
                        if (paths[i][1] == null) System.clearProperty("i2vgen.cuda.convIslands");
                        else System.setProperty("i2vgen.cuda.convIslands", paths[i][1]);
                        TaskGraph g = new TaskGraph("conv", act);
                        Value xv = g.input("x", act, xs);
                        g.output("y", g.conv2d(xv, g.constant("w", w), g.constant("b", b), s[5], 1));
                        long t0 = System.nanoTime();
                        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                            double buildMs = (System.nanoTime() - t0) / 1e6;
                            plan.executeByName(Map.of("x", x));
                            results[i] = plan.read("y");
                            ms[i] = cuda.timeMillis(plan::enqueueTasks, 2, 10);
                            System.out.printf("BENCH conv-island %s %s %-7s %8.3f ms %6.1f TFLOP/s (build %.0f ms, %d steps)%n",
                                    act, shape, paths[i][0], ms[i], flops / (ms[i] * 1e-3) / 1e12, buildMs, plan.stepCount());
                            if (i == 1) plan.profile().forEach(e -> System.out.printf("BENCH conv-island %s %s   step %-28s %d x %8.3f ms%n",
                                    act, shape, e.getKey(), (int) e.getValue()[1], e.getValue()[0]));
                        } finally {
                            System.clearProperty("i2vgen.cuda.convIslands");
                        }
                    }
                    double e = dev.i2vgen.tensor.TensorComparison.relativeError(results[1], results[0]);
                    var geometry = new CudnnConvolution.Geometry(s[0], s[1], s[3], s[4], s[2], 3, 3, s[5], s[5], 1, 1, oh, ow);
                    ConvIsland decision = cudnn.islands.get(act + " " + geometry + " ws " + ConvolutionLowering.CUDNN_WORKSPACE_BYTES + " auto");
                    String line = String.format("%-5s %-28s nchw %7.3f  island %7.3f (%5.2fx)  auto %7.3f  choice %s  rel.err %.1e",
                            act, shape, ms[0], ms[1], ms[0] / ms[1], ms[2], decision, e);
                    System.out.println("BENCH conv-island " + line);
                    table.append("TABLE ").append(line).append('\n');
                    assertTrue(e <= 1e-2, "island differs from NCHW: " + e);
                }
            }
        }
        System.out.print(table);
    }

    /**
     * The temporal (3,1,1) conv at the UNet's shapes (2 videos x 16 frames, 320 ch at 88x160, 640 at 44x80, 1280 at
     * 22x40, bias included): per-tap GEMMs (default) against im2col + GEMM (i2vgen.cuda.conv=im2col); and the
     * attention-output and feed-forward-output Linears with their residual Add, fused (default) against
     * i2vgen.cuda.fuse=false, at 32 frames x 14,080 tokens. FLOPs, the bytes each path must move at least, and the
     * effective rates; the two paths must agree (rel. error ≤ 1e-2).
     */
    @Test
    void temporalConvAndFusedLinear() {
        assumeBenchmarkDevice();
        Random rnd = new Random(17);
        try (CudaBackend cuda = benchmarkBackend()) {
            int[][] convs = {{2, 320, 88, 160}, {2, 640, 44, 80}, {2, 1280, 22, 40}};   // {videos, channels, h, w}, 16 frames, k = 3
            for (DType act : new DType[]{DType.F16, DType.BF16}) {
                for (int[] s : convs) {
                    int[] xs = {s[0], s[1], 16, s[2], s[3]};
                    Tensor x = uniform(rnd, xs).to(act), w = uniform(rnd, s[1], s[1], 3, 1, 1), b = uniform(rnd, s[1]);
                    double elems = Tensor.numel(xs), es = act.byteSize();
                    double flops = 2.0 * elems * s[1] * 3 * 15 / 16;   // the side taps skip one of the 16 frames
                    // per-tap GEMMs: centre x + y, each side tap x + y read + y write, bias y read + write; im2col: x read,
                    // 3x written and read back, y written, bias y read + write
                    double direct = es * elems * (2 + 2 * 3 + 2), im2col = es * elems * (1 + 3 + 3 + 1 + 2);
                    String shape = java.util.Arrays.toString(xs);
                    System.out.printf("BENCH temporal %s %s: %.1f GFLOP; bytes at least: per-tap %.0f MB, im2col %.0f MB%n",
                            act, shape, flops / 1e9, direct / 1e6, im2col / 1e6);
                    Tensor[] results = new Tensor[2];
                    String[] paths = {"im2col", null};
                    for (int i = 0; i < 2; i++) {
                        if (paths[i] != null) System.setProperty("i2vgen.cuda.conv", paths[i]);
                        TaskGraph g = new TaskGraph("temporal", act);
                        g.output("y", g.temporalConv(g.input("x", act, xs), g.constant("w", w), g.constant("b", b)));
                        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                            plan.executeByName(Map.of("x", x));
                            results[i] = plan.read("y");
                            double ms = cuda.timeMillis(plan::enqueueTasks, 2, 10);
                            double bytes = i == 0 ? im2col : direct;
                            System.out.printf("BENCH temporal %s %s %-8s %8.3f ms %6.1f TFLOP/s %6.0f GB/s (%d steps)%n", act, shape,
                                    paths[i] == null ? "per-tap" : paths[i], ms, flops / (ms * 1e-3) / 1e12, bytes / (ms * 1e-3) / 1e9, plan.stepCount());
                        } finally {
                            System.clearProperty("i2vgen.cuda.conv");
                        }
                    }
                    double err = dev.i2vgen.tensor.TensorComparison.relativeError(results[1], results[0]);
                    System.out.printf("BENCH temporal %s %s per-tap vs im2col rel.err %.3e%n", act, shape, err);
                    assertTrue(err <= 1e-2, "per-tap temporal conv differs from im2col: " + err);
                }
            }
            int tokens = 32 * 14080;
            int[][] linears = {{320, 320}, {1280, 320}};   // {K, N}: attention to_out (inner 320), feed-forward out (GEGLU 1280)
            for (DType act : new DType[]{DType.F16, DType.BF16}) {
                for (int[] s : linears) {
                    int k = s[0], n = s[1];
                    Tensor x = uniform(rnd, tokens, k).to(act), r = uniform(rnd, tokens, n).to(act), w = uniform(rnd, n, k), b = uniform(rnd, n);
                    double flops = 2.0 * tokens * n * k, es = act.byteSize();
                    double fusedBytes = es * ((double) tokens * k + 2.0 * tokens * n), unfusedBytes = es * ((double) tokens * k + 4.0 * tokens * n);
                    Tensor[] results = new Tensor[2];
                    for (int i = 0; i < 2; i++) {
                        boolean fuse = i == 0;
                        System.setProperty("i2vgen.cuda.fuse", Boolean.toString(fuse));
                        TaskGraph g = new TaskGraph("linear+add", act);
                        // x comes from a task (as the attention output does), so it is dead after the linear
                        Value xv = g.affine(g.input("x", act, tokens, k), 1f, 0f);
                        g.output("y", g.add(g.linear(xv, g.constant("w", w), g.constant("b", b)), g.input("r", act, tokens, n)));
                        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                            plan.executeByName(Map.of("x", x, "r", r));
                            results[i] = plan.read("y");
                            // the affine copy of x is timed apart and subtracted
                            double all = cuda.timeMillis(plan::enqueueTasks, 2, 10);
                            double bytes = fuse ? fusedBytes : unfusedBytes;
                            System.out.printf("BENCH linear+add %s M=%d N=%d K=%d %-7s %8.3f ms incl. x copy (%d steps); GEMM part: %.1f GFLOP, at least %.0f MB%n",
                                    act, tokens, n, k, fuse ? "fused" : "unfused", all, plan.stepCount(), flops / 1e9, bytes / 1e6);
                        } finally {
                            System.clearProperty("i2vgen.cuda.fuse");
                        }
                    }
                    TaskGraph g = new TaskGraph("copy", act);
                    g.output("y", g.affine(g.input("x", act, tokens, k), 1f, 0f));
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        plan.executeByName(Map.of("x", x));
                        System.out.printf("BENCH linear+add %s M=%d K=%d x copy alone %8.3f ms%n", act, tokens, k, cuda.timeMillis(plan::enqueueTasks, 2, 10));
                    }
                    double err = dev.i2vgen.tensor.TensorComparison.relativeError(results[0], results[1]);
                    System.out.printf("BENCH linear+add %s K=%d fused vs unfused rel.err %.3e%n", act, k, err);
                    assertTrue(err <= 1e-2, "fused linear+add differs: " + err);
                }
            }
        }
    }

    /**
     * The memory-bound kernels at the UNet's fp16 shapes (CFG batch 2 x 16 frames, 88x160 latents; the VAE decoder's
     * GroupNorms at 704x1280): the vectorised kernels against the earlier ones (-Di2vgen.cuda.vectorized=false), whose
     * output they must match. Prints ms and GB/s over the byte floor (each input read once, the output written once);
     * the split GroupNorm reads x twice, so its ceiling is 2/3 of the floor rate when x does not fit in L2.
     */
    /**
     * The VAE decoder's convolution shapes through cuDNN, NCHW against NHWC (KRSC filters): every algorithm the Ex search
     * reports with 1 and 4 GiB workspace bounds, event timings of the best, sampled float64 checks of both layouts,
     * per-frame totals and the NCHW↔NHWC permutes of the largest tensors ({@link CudnnLayoutStudy}).
     */
    @Test
    void vaeConvLayoutStudy() {
        assumeBenchmarkDevice();
        try (CudaBackend cuda = benchmarkBackend()) {
            Assumptions.assumeTrue(cuda.cudnn().isPresent(), "cuDNN not installed");
            System.out.println("cuDNN " + cuda.cudnn().get().version());
            new CudnnLayoutStudy(cuda, cuda.cudnn().get()).run();
        }
    }

    /**
     * The VAE decoder's graph structure at full size (DecoderLikeGraph: block channels 128/256/512/512, 3 resnets per up
     * block, 88x160 latents → one 704x1280 frame; 8 frames too), fp16, random weights: NCHW (i2vgen.cuda.channelsLast=
     * false, the path before) against the channels-last default, CUDA-graph replays timed with events, the per-kernel
     * profile of each, and the two outputs compared (rel. error ≤ 1e-2). FLOPs: the convs' 8.5 TFLOP per frame.
     */
    @Test
    void vaeDecoderChannelsLast() {
        assumeBenchmarkDevice();
        Random rnd = new Random(17);
        try (CudaBackend cuda = benchmarkBackend()) {
            for (int frames : new int[]{1, 8}) {
                Tensor z = uniform(rnd, frames, 4, 88, 160);
                Tensor[] out = new Tensor[2];
                double[] ms = new double[2];
                String[] modes = {"false", "auto"};
                for (int m = 0; m < 2; m++) {
                    System.setProperty("i2vgen.cuda.channelsLast", modes[m]);
                    TaskGraph g = new TaskGraph("vae_decoder_like_" + frames, DType.F16);
                    Value zv = g.input("z", DType.F32, frames, 4, 88, 160);
                    g.output("image", DecoderLikeGraph.build(g, zv, new int[]{128, 256, 512, 512}, 3, 32, DType.F16,
                            DecoderLikeGraph.randomWeights(new Random(23))));
                    long t0 = System.nanoTime();
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        double buildMs = (System.nanoTime() - t0) / 1e6;
                        plan.executeByName(Map.of("z", z));
                        out[m] = plan.read("image");
                        ms[m] = cuda.timeMillis(plan::enqueueTasks, 2, frames == 1 ? 10 : 3);
                        System.out.printf("BENCH vae-decoder %d frame(s) channelsLast=%-5s %8.3f ms per run, %7.3f ms per frame (build %.0f ms, %d steps)%n",
                                frames, modes[m], ms[m], ms[m] / frames, buildMs, plan.stepCount());
                        if (frames == 1) {
                            double total = 0;
                            var prof = plan.profile();
                            for (var e : prof) total += e.getValue()[0];
                            System.out.printf("BENCH vae-decoder profile channelsLast=%s: %.3f ms with a sync per step%n", modes[m], total);
                            for (var e : prof.subList(0, Math.min(14, prof.size())))
                                System.out.printf("BENCH vae-decoder   %-5s %-28s %3.0f x %8.3f ms%n", modes[m], e.getKey(), e.getValue()[1], e.getValue()[0]);
                            var byTask = plan.profile(true);   // per shape (a sync per step adds ~50 µs of host time to each)
                            for (var e : byTask.subList(0, Math.min(24, byTask.size())))
                                System.out.printf("BENCH vae-decoder   %-5s %-62s %3.0f x %8.3f ms%n", modes[m], e.getKey(), e.getValue()[1], e.getValue()[0]);
                        }
                    } finally {
                        System.clearProperty("i2vgen.cuda.channelsLast");
                    }
                }
                double err = dev.i2vgen.tensor.TensorComparison.relativeError(out[1], out[0]);
                System.out.printf("BENCH vae-decoder %d frame(s): NCHW %.3f ms, channels-last %.3f ms per frame (%.2fx), rel.err %.3e%n",
                        frames, ms[0] / frames, ms[1] / frames, ms[0] / ms[1], err);
                assertTrue(err <= 1e-2, "channels-last decoder differs from NCHW: " + err);
            }
            cuda.cudnn().ifPresent(c -> c.choices.forEach((k, v) -> System.out.println("BENCH cudnn choice " + k + " -> " + v)));
        }
    }

    @Test
    void memoryBoundKernels() {
        assumeBenchmarkDevice();
        Random rnd = new Random(13);
        DType act = DType.F16;
        record Case(String name, int[] shape, int inputs, java.util.function.BiFunction<TaskGraph, Value[], Value> build, double floorBytes) {}
        java.util.function.BiFunction<int[], Integer, Double> bytes = (s, passes) -> (double) Tensor.numel(s) * act.byteSize() * passes;
        java.util.List<Case> cases = new java.util.ArrayList<>();
        int[][][] permutes = {
                {{32, 320, 88, 160}, {0, 2, 3, 1}},       // SpatialTransformer in, level 1
                {{32, 88, 160, 320}, {0, 3, 1, 2}},       // SpatialTransformer out
                {{32, 1280, 11, 20}, {0, 2, 3, 1}},       // level 4 (H·W = 220: 8-byte accesses)
                {{2, 16, 320, 88, 160}, {0, 2, 1, 3, 4}}, // [B, F, C, H, W] → [B, C, F, H, W]: row copy
                {{2, 320, 16, 88, 160}, {0, 3, 4, 2, 1}}, // TemporalTransformer in
                {{2, 88, 160, 16, 320}, {0, 3, 4, 1, 2}}, // TemporalTransformer out
                {{1, 512, 14080}, {0, 2, 1}}};            // VAE mid-block attention
        for (int[][] c : permutes)
            cases.add(new Case("permute " + java.util.Arrays.toString(c[0]) + java.util.Arrays.toString(c[1]), c[0], 1,
                    (g, x) -> g.permute(x[0], c[1]), bytes.apply(c[0], 2)));
        Object[][] norms = {   // shape, groups, silu
                {new int[]{32, 320, 88, 160}, 32, true}, {new int[]{2, 320, 16, 88, 160}, 32, false},
                {new int[]{32, 1280, 11, 20}, 32, true}, {new int[]{2, 1280, 16, 11, 20}, 32, false},
                {new int[]{1, 128, 704, 1280}, 32, true}, {new int[]{1, 256, 352, 640}, 32, true}};
        for (Object[] c : norms) {
            int[] s = (int[]) c[0];
            int groups = (Integer) c[1];
            boolean silu = (Boolean) c[2];
            Tensor gamma = random(rnd, s[1]), beta = random(rnd, s[1]);
            cases.add(new Case("group_norm " + java.util.Arrays.toString(s) + (silu ? " silu" : ""), s, 1,
                    (g, x) -> g.groupNorm(x[0], g.constant("g", gamma), g.constant("b", beta), groups, 1e-6f, silu), bytes.apply(s, 2)));
        }
        for (int[] s : new int[][]{{450560, 320}, {112640, 640}, {28160, 1280}, {154, 1024}}) {
            Tensor gamma = random(rnd, s[1]), beta = random(rnd, s[1]);
            cases.add(new Case("layer_norm " + java.util.Arrays.toString(s), s, 1,
                    (g, x) -> g.layerNorm(x[0], g.constant("g", gamma), g.constant("b", beta), 1e-5f), bytes.apply(s, 2)));
        }
        for (int[] s : new int[][]{{56320, 2560}, {28160, 10240}})   // level 1 (4 of its 32 frames), level 3
            cases.add(new Case("geglu " + java.util.Arrays.toString(s), s, 1, (g, x) -> g.geglu(x[0]), bytes.apply(s, 1) * 1.5));
        int[] res = {32, 320, 88, 160};
        cases.add(new Case("add same " + java.util.Arrays.toString(res), res, 2, (g, x) -> g.add(x[0], x[1]), bytes.apply(res, 3)));
        try (CudaBackend cuda = benchmarkBackend()) {
            for (Case c : cases) {
                Map<String, Tensor> in = new java.util.LinkedHashMap<>();
                for (int i = 0; i < c.inputs(); i++) in.put("x" + i, uniform(rnd, c.shape()).to(act));
                Tensor[] out = new Tensor[2];
                double[] ms = new double[2];
                String[] paths = {"false", "true"};
                for (int k = 0; k < 2; k++) {
                    System.setProperty("i2vgen.cuda.vectorized", paths[k]);
                    TaskGraph g = new TaskGraph("mem", act);
                    Value[] xs = new Value[c.inputs()];
                    for (int i = 0; i < xs.length; i++) xs[i] = g.input("x" + i, act, c.shape());
                    g.output("y", c.build().apply(g, xs));
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        plan.executeByName(in);
                        out[k] = plan.read("y");
                        ms[k] = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                        String kernels = String.join("+", plan.profile().stream().map(Map.Entry::getKey).toList());
                        System.out.printf("BENCH mem %-44s %-10s %8.3f ms %7.0f GB/s of the %6.0f MB floor (%3.0f%% of 3 TB/s) [%s]%n", c.name(),
                                k == 0 ? "earlier" : "vectorised", ms[k], c.floorBytes() / (ms[k] * 1e-3) / 1e9, c.floorBytes() / 1e6,
                                c.floorBytes() / (ms[k] * 1e-3) / 3e12 * 100, kernels);
                    } finally {
                        System.clearProperty("i2vgen.cuda.vectorized");
                    }
                }
                double err = dev.i2vgen.tensor.TensorComparison.relativeError(out[1], out[0]);
                System.out.printf("BENCH mem %-44s speed-up %.2fx, vectorised vs earlier rel.err %.3e%n", c.name(), ms[0] / ms[1], err);
                assertTrue(err <= (c.name().startsWith("permute") ? 0 : 1e-2), c.name() + ": vectorised kernels differ from the earlier ones: " + err);
            }
        }
    }

    /**
     * The VAE decode loop's host side (FrameDecoder, one frame per run): 16 runs of a graph that writes one
     * 3x704x1280 F32 frame (10.8 MB to the host per run) from a 5 KB input, (a) as the old loop did it, execute +
     * read + copy into the video, (b) submit + readAsync, the previous run's PendingRead copied into the video while
     * the device computes the next, (c) the device time alone (event-timed replays). Two device times per frame:
     * ~0.5 ms (the copy dominates) and ~5 ms (the copy should vanish under the device work). Expected: (b) ≈
     * max(c, copy) per frame + one copy at the end, (a) ≈ c + copy + host copy. (b) must equal (a) bit for bit.
     */
    @Test
    void decodeLoopHostOverlap() {
        assumeBenchmarkDevice();
        int frames = 16, c = 3, h = 704, w = 1280;
        long frameBytes = 4L * c * h * w;
        Random rnd = new Random(23);
        Tensor[] inputs = new Tensor[frames];
        for (int f = 0; f < frames; f++) inputs[f] = uniform(rnd, w);
        StringBuilder table = new StringBuilder();
        try (CudaBackend cuda = benchmarkBackend()) {
            long a0 = System.nanoTime();
            Tensor oldVideo = Tensor.allocate(DType.F32, frames, c, h, w);
            double allocMs = (System.nanoTime() - a0) / 1e6;
            Tensor newVideo = Tensor.allocate(DType.F32, frames, c, h, w);
            for (int depth : new int[]{40, 400}) {
                TaskGraph g = new TaskGraph("decode_loop", DType.F16);
                Value s = g.input("s", DType.F32, w);
                Value y = g.add(g.constant("base", uniform(rnd, c, h, w)), g.cast(s, DType.F16));
                for (int i = 0; i < depth; i++) y = g.unary(g.affine(y, 0.9f, 0.05f), dev.i2vgen.graph.ops.Unary.Kind.TANH);
                Value out = g.output("frame", g.cast(y, DType.F32));
                try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                    Value sv = plan.graph().input("s");
                    double[] oldMs = new double[4], newMs = new double[4];
                    for (int rep = 0; rep < 4; rep++) {   // rep 0 warms up (graph capture, first-touch of the videos)
                        long t0 = System.nanoTime();
                        for (int f = 0; f < frames; f++) {
                            plan.execute(Map.of(sv, inputs[f]));
                            Tensor img = plan.read(out);
                            java.lang.foreign.MemorySegment.copy(img.contiguousSegment(), 0, oldVideo.contiguousSegment(), f * frameBytes, frameBytes);
                        }
                        oldMs[rep] = (System.nanoTime() - t0) / 1e6 / frames;
                        newVideo.contiguousSegment().fill((byte) 0xff);   // NaN: every frame must be written
                        t0 = System.nanoTime();
                        dev.i2vgen.backend.PendingRead previous = null;
                        for (int f = 0; f < frames; f++) {
                            plan.submit(Map.of(sv, inputs[f]));
                            dev.i2vgen.backend.PendingRead read = plan.readAsync(out);
                            if (previous != null) previous.into(newVideo, (f - 1) * (frameBytes / 4));
                            previous = read;
                        }
                        previous.into(newVideo, (frames - 1) * (frameBytes / 4));
                        newMs[rep] = (System.nanoTime() - t0) / 1e6 / frames;
                        long mismatch = oldVideo.contiguousSegment().mismatch(newVideo.contiguousSegment());
                        assertTrue(mismatch == -1, "depth " + depth + ": submit + readAsync differs from execute + read at byte " + mismatch);
                    }
                    double deviceMs = cuda.timeMillis(plan::enqueueTasks, 2, frames);
                    double oldMed = median3(oldMs), newMed = median3(newMs);
                    System.out.printf("BENCH decode loop, %d elementwise passes/frame, %.1f MB F32 to the host per frame: device %.3f ms/frame, "
                                    + "execute+read+copy %.3f ms/frame (runs %.3f %.3f %.3f), submit+readAsync %.3f ms/frame (runs %.3f %.3f %.3f)%n",
                            2 * depth, frameBytes / 1e6, deviceMs, oldMed, oldMs[1], oldMs[2], oldMs[3], newMed, newMs[1], newMs[2], newMs[3]);
                    table.append(String.format("BENCH   passes %4d: device %7.3f  old %7.3f  new %7.3f  ms/frame; host part old %6.3f new %6.3f%n",
                            2 * depth, deviceMs, oldMed, newMed, oldMed - deviceMs, newMed - deviceMs));
                }
            }
            System.out.printf("BENCH allocating the 16-frame F32 video (%.0f MB, zero-filled): %.1f ms%n", frames * frameBytes / 1e6, allocMs);
            System.out.print(table);
        }
    }

    private static double median3(double[] runs) {
        double[] v = {runs[1], runs[2], runs[3]};
        java.util.Arrays.sort(v);
        return v[1];
    }

    /**
     * The UNet's attention projections (fp16): M = 450,560 / 112,640 / 28,160 tokens at C = 320 / 640 / 1280 (the
     * spatial and temporal transformers of the three levels), K = N = C per projection. Q/K/V as three GEMMs
     * (N = C, x read three times) against one fused GEMM (N = 3C, x once), each with cuBLASLt's first heuristic
     * algorithm (-Di2vgen.cuda.gemmSearch=false) and with the timed choice; then the whole temporal self-attention
     * (16 frames, 28,160 sequences: q/k/v projections + attention) with -Di2vgen.cuda.fuseQkv on and off, where the
     * attention reads q, k, v at row stride 3C. Prints ms, TFLOP/s and GB/s of the byte model (x, W read once, the
     * outputs written once) and a table last.
     */
    @Test
    void projectionGemms() {
        assumeBenchmarkDevice();
        Random rnd = new Random(23);
        int[][] shapes = {{450560, 320}, {112640, 640}, {28160, 1280}};
        StringBuilder table = new StringBuilder();
        try (CudaBackend cuda = benchmarkBackend()) {
            DType act = DType.F16;
            for (int[] s : shapes) {
                int m = s[0], c = s[1];
                Tensor x = uniform(rnd, m, c);
                float scale = (float) (1 / Math.sqrt(c));
                Tensor wq = scaledUniform(rnd, scale, c, c), wk = scaledUniform(rnd, scale, c, c), wv = scaledUniform(rnd, scale, c, c);
                Tensor wqkv = Tensor.allocate(DType.F32, 3 * c, c);
                long cc = (long) c * c;
                for (long i = 0; i < cc; i++) {
                    wqkv.setFlat(i, wq.getFlat(i));
                    wqkv.setFlat(cc + i, wk.getFlat(i));
                    wqkv.setFlat(2 * cc + i, wv.getFlat(i));
                }
                double flops = 2.0 * m * (3.0 * c) * c;
                double bytesSeparate = 2.0 * 3 * ((double) m * c + cc + (double) m * c), bytesFused = 2.0 * ((double) m * c + 3 * cc + 3.0 * m * c);
                double[] ms = new double[4], again = new double[4];   // each plan timed twice: the spread
                Tensor[] outs = new Tensor[4];
                for (int variant = 0; variant < 4; variant++) {
                    boolean fused = variant >= 2, search = variant % 2 == 1;
                    TaskGraph g = new TaskGraph("projections", act);
                    Value xv = g.input("x", act, m, c);
                    if (fused) {
                        g.output("qkv", g.linear(xv, g.constant("wqkv", wqkv), null));
                    } else {
                        g.output("q", g.linear(xv, g.constant("wq", wq), null));
                        g.output("k", g.linear(xv, g.constant("wk", wk), null));
                        g.output("v", g.linear(xv, g.constant("wv", wv), null));
                    }
                    System.setProperty("i2vgen.cuda.gemmSearch", Boolean.toString(search));
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        plan.executeByName(Map.of("x", x));
                        outs[variant] = plan.read(fused ? "qkv" : "v");   // before timing (reruns do not copy x in again)
                        ms[variant] = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                        again[variant] = cuda.timeMillis(plan::enqueueTasks, 1, 20);
                    } finally {
                        System.clearProperty("i2vgen.cuda.gemmSearch");
                    }
                    double bytes = fused ? bytesFused : bytesSeparate;
                    System.out.printf("BENCH projections M=%d C=%d %s %s: %.3f ms (again %.3f), %.1f TFLOP/s, %.0f GB/s%n", m, c,
                            fused ? "fused N=3C" : "3 x N=C  ", search ? "searched " : "heuristic", ms[variant], again[variant],
                            flops / (ms[variant] * 1e-3) / 1e12, bytes / (ms[variant] * 1e-3) / 1e9);
                }
                // the fused output's v columns against the separate v (same products, other summation order)
                double worst = 0, ref = 0;
                for (int i = 0; i < 4096; i++) {
                    long row = (long) (i * 7919L % m);
                    int col = (int) (i * 31L % c);
                    float a = outs[3].getFlat(row * 3 * c + 2L * c + col), b = outs[1].getFlat(row * c + col);
                    assertTrue(Float.isFinite(a) && Float.isFinite(b), "non-finite projection output");
                    worst = Math.max(worst, Math.abs(a - b));
                    ref = Math.max(ref, Math.abs(b));
                }
                assertTrue(worst <= 4e-3 * Math.max(1, ref), "fused v columns differ from the separate v: " + worst + " (max |v| " + ref + ")");
                table.append(String.format("BENCH   M=%6d C=%4d  3 GEMMs %.3f|%.3f / %.3f|%.3f ms (heuristic / searched, each timed twice)   "
                        + "fused %.3f|%.3f / %.3f|%.3f ms   fused searched vs 3 heuristic: %.2fx%n", m, c, ms[0], again[0], ms[1], again[1],
                        ms[2], again[2], ms[3], again[3], Math.min(ms[0], again[0]) / Math.min(ms[3], again[3])));
            }
            // the temporal self-attention block: 28,160 sequences of 16 frames, 5 heads of 64 (q/k/v projections + attention)
            int seqs = 28160, frames = 16, c = 320;
            Tensor x = uniform(rnd, seqs, frames, c);
            float scale = (float) (1 / Math.sqrt(c));
            Tensor wq = scaledUniform(rnd, scale, c, c), wk = scaledUniform(rnd, scale, c, c), wv = scaledUniform(rnd, scale, c, c);
            double[] blockMs = new double[2];
            Tensor[] blockOut = new Tensor[2];
            for (int fuse = 0; fuse < 2; fuse++) {
                TaskGraph g = new TaskGraph("temporal attention", act);
                Value xv = g.input("x", act, seqs, frames, c);
                Value q = g.linear(xv, g.constant("wq", wq), null), k = g.linear(xv, g.constant("wk", wk), null), v = g.linear(xv, g.constant("wv", wv), null);
                g.output("o", g.attention(q, k, v, 5, 0.125f, false));
                System.setProperty("i2vgen.cuda.fuseQkv", Boolean.toString(fuse == 1));
                try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                    plan.executeByName(Map.of("x", x));
                    blockOut[fuse] = plan.read("o");   // before timing (reruns do not copy x in again)
                    blockMs[fuse] = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                    System.out.printf("BENCH temporal self-attention block %d x %d x %d, q/k/v %s: %.3f ms, %d steps%n", seqs, frames, c,
                            fuse == 1 ? "fused (strided attention)" : "separate", blockMs[fuse], plan.stepCount());
                } finally {
                    System.clearProperty("i2vgen.cuda.fuseQkv");
                }
            }
            double err = dev.i2vgen.tensor.TensorComparison.relativeError(blockOut[1], blockOut[0]);
            assertTrue(err <= 3e-3, "fused temporal attention block differs from the separate one: rel.err " + err);
            table.append(String.format("BENCH   temporal self-attention block 28160x16x320: separate %.3f ms, fused %.3f ms (%.2fx), rel.err between %.2e%n",
                    blockMs[0], blockMs[1], blockMs[0] / blockMs[1], err));
            int[] counts = cuda.cublas.searchCounts();
            table.append(String.format("BENCH   gemm search: %d problems timed, %d chose another algorithm than the heuristic's first%n", counts[0], counts[1]));
            System.out.print(table);
        }
    }

    private static Tensor scaledUniform(Random rnd, float scale, int... shape) {
        Tensor t = uniform(rnd, shape);
        for (long i = 0; i < t.numel(); i++) t.setFlat(i, t.getFlat(i) * scale);
        return t;
    }

    /**
     * The temporal conv layer frame-major (TemporalConvLayer: 4 × (GroupNorm axis 2 + SiLU, frames-first window-GEMM
     * conv), identity added by the last conv, no permutes) against the permuted formulation it replaced (permute to
     * [B, C, F, h, w], 4 × (GroupNorm + SiLU, per-tap conv), add, permute back), whole chains and single convs, fp16, at
     * the UNet's four levels (2 videos × 16 frames). FLOPs, the fewest bytes each form must move, times (each timed
     * twice), the new chain's per-step profile, and the two chains' agreement (rel. error ≤ 1e-2).
     */
    @Test
    void temporalConvLayerFrameMajor() {
        assumeBenchmarkDevice();
        Random rnd = new Random(23);
        DType act = DType.F16;
        int b = 2, f = 16;
        int[][] levels = {{320, 88, 160}, {640, 44, 80}, {1280, 22, 40}, {1280, 11, 20}};   // {channels, h, w}
        StringBuilder table = new StringBuilder();
        java.util.List<String> failures = new java.util.ArrayList<>();
        try (CudaBackend cuda = benchmarkBackend()) {
            for (int[] l : levels) {
                int c = l[0], h = l[1], w = l[2];
                long hw = (long) h * w;
                double elems = (double) b * f * c * hw, es = act.byteSize(), pass = elems * es;
                double convFlops = 2.0 * c * c * hw * b * (3 * f - 2);   // every output frame's taps that exist
                Tensor x = uniform(rnd, b * f, c, h, w).to(act);
                Tensor[] gamma = new Tensor[4], beta = new Tensor[4], wt = new Tensor[4], bias = new Tensor[4];
                for (int k = 0; k < 4; k++) {
                    gamma[k] = scaledUniform(rnd, 0.1f, c);
                    for (long i = 0; i < c; i++) gamma[k].setFlat(i, gamma[k].getFlat(i) + 1f);
                    beta[k] = scaledUniform(rnd, 0.1f, c);
                    wt[k] = scaledUniform(rnd, (float) (0.5 / Math.sqrt(3 * c)), c, c, 3, 1, 1);
                    bias[k] = scaledUniform(rnd, 0.05f, c);
                }
                String shape = "[" + b + ", " + f + ", " + c + ", " + h + ", " + w + "]";
                System.out.printf("BENCH tconv %s: conv %.1f GFLOP; bytes at least per conv: window %.0f MB (x + y), per-tap %.0f MB "
                                + "(10 passes); per layer: frame-major %.0f MB (23 passes), permuted %.0f MB (59 passes); %.0f FLOP/byte (window conv)%n",
                        shape, convFlops / 1e9, 2 * pass / 1e6, 10 * pass / 1e6, 23 * pass / 1e6, 59 * pass / 1e6, convFlops / (2 * pass));
                double[] ms = new double[5];
                Tensor[] chains = new Tensor[2];
                // 0: layer frame-major, 1: layer permuted, 2: conv window, 3: conv per-tap, 4: conv window with bias_rows (no bias image)
                for (int variant = 0; variant < 5; variant++) {
                    if (variant == 4) System.setProperty("i2vgen.cuda.temporalBiasImage", "false");
                    TaskGraph g = new TaskGraph("tconv", act);
                    Value in;
                    if (variant < 2) {
                        in = g.input("x", act, b * f, c, h, w);
                        Value id = g.reshape(in, b, f, c, h, w);
                        if (variant == 1) id = g.permute(id, 0, 2, 1, 3, 4);
                        Value u = id;
                        for (int k = 0; k < 4; k++) {
                            Value gm = g.constant("g" + k, gamma[k]), bt = g.constant("be" + k, beta[k]);
                            Value wk = g.constant("w" + k, wt[k]), bk = g.constant("b" + k, bias[k]);
                            if (variant == 0) {
                                u = g.groupNorm(u, gm, bt, 32, 1e-5f, true, 2);
                                u = g.temporalConvFramesFirst(u, wk, bk, k == 3 ? id : null);
                            } else {
                                u = g.groupNorm(u, gm, bt, 32, 1e-5f, true);
                                u = g.temporalConv(u, wk, bk);
                            }
                        }
                        if (variant == 1) u = g.permute(g.add(id, u), 0, 2, 1, 3, 4);
                        g.output("y", g.reshape(u, b * f, c, h, w));
                    } else {
                        // one conv: the frame-major window GEMMs on [B, F, C, h, w], the per-tap GEMMs on [B, C, F, h, w]
                        in = g.input("x", act, b * f, c, h, w);
                        boolean window = variant != 3;
                        Value v = g.reshape(in, window ? new int[]{b, f, c, h, w} : new int[]{b, c, f, h, w});
                        g.output("y", window ? g.temporalConvFramesFirst(v, g.constant("w0", wt[0]), g.constant("b0", bias[0]), null)
                                : g.temporalConv(v, g.constant("w0", wt[0]), g.constant("b0", bias[0])));
                    }
                    try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                        plan.executeByName(Map.of("x", x));
                        if (variant < 2) chains[variant] = plan.read("y");
                        double first = cuda.timeMillis(plan::enqueueTasks, 3, 20), again = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                        ms[variant] = Math.min(first, again);
                        String[] names = {"layer frame-major", "layer permuted", "conv window", "conv per-tap", "conv window+bias_rows"};
                        double bytes = (variant == 0 ? 23 : variant == 1 ? 59 : variant == 3 ? 10 : variant == 2 ? 2 : 4) * pass;
                        System.out.printf("BENCH tconv %s %-17s %8.3f ms (again %8.3f) %6.0f GB/s of its floor bytes%s (%d steps)%n", shape,
                                names[variant], first, again, bytes / (ms[variant] * 1e-3) / 1e9,
                                variant >= 2 ? String.format(", %6.1f TFLOP/s", convFlops / (ms[variant] * 1e-3) / 1e12) : "", plan.stepCount());
                        if (variant == 0) {
                            for (var e : plan.profile()) System.out.printf("BENCH tconv %s   profile %-32s %3.0f x %8.3f ms%n", shape, e.getKey(),
                                    e.getValue()[1], e.getValue()[0]);
                        }
                    } finally {
                        System.clearProperty("i2vgen.cuda.temporalBiasImage");
                    }
                }
                double err = dev.i2vgen.tensor.TensorComparison.relativeError(chains[0], chains[1]);
                System.out.printf("BENCH tconv %s frame-major vs permuted layer rel.err %.3e%n", shape, err);
                table.append(String.format("BENCH   %-22s layer %7.3f -> %7.3f ms (%.2fx)   conv %7.3f -> %7.3f ms (%.2fx; with bias_rows %7.3f)   rel.err %.1e%n",
                        shape, ms[1], ms[0], ms[1] / ms[0], ms[3], ms[2], ms[3] / ms[2], ms[4], err));
                if (!(err <= 1e-2)) failures.add(shape + ": " + err);
            }
        }
        System.out.print("BENCH tconv summary (permuted -> frame-major), fp16:\n" + table);
        assertTrue(failures.isEmpty(), "frame-major layer differs from the permuted one: " + failures);
    }

    /**
     * The feed-forward projection + GEGLU of each UNet level with CFG (x [M, K] · W [2I, K]ᵀ + b, then GEGLU): the fused
     * Hopper kernel (-Di2vgen.cuda.gegluFusion=true, GegluFusion) against cuBLASLt's GEMM + the GEGLU pass, fp16 and
     * bf16, each plan timed twice (the spread); TFLOP/s on the GEMM's 4·M·K·I. The unfused plan's profile splits its time
     * into the GEMM and the pass. Outputs of the two agree (sampled; fp16 ≤ 4e-3, bf16 ≤ 2e-2 of the largest value).
     */
    @Test
    void gegluFeedForwardProjection() {
        assumeBenchmarkDevice();
        Random rnd = new Random(29);
        // {M, K, I}: levels 0-2 (10 feed-forwards each per step), transformer_in (1), the mid block (2)
        int[][] shapes = {{450_560, 320, 1280}, {450_560, 512, 2048}, {112_640, 640, 2560}, {28_160, 1280, 5120}, {7_040, 1280, 5120}};
        StringBuilder table = new StringBuilder();
        try (CudaBackend cuda = benchmarkBackend()) {
            Assumptions.assumeTrue(cuda.ccMajor == 9 && cuda.ccMinor == 0, "the fused GEGLU kernel needs compute capability 9.0");
            for (DType act : new DType[]{DType.F16, DType.BF16}) {
                for (int[] s : shapes) {
                    int m = s[0], k = s[1], half = s[2];
                    Tensor x = uniform(rnd, m, k), w = scaledUniform(rnd, (float) (1 / Math.sqrt(k)), 2 * half, k), b = scaledUniform(rnd, 0.5f, 2 * half);
                    double flops = 4.0 * m * k * half;
                    double[] ms = new double[2], again = new double[2];
                    Tensor[] outs = new Tensor[2];
                    for (int fused = 0; fused < 2; fused++) {
                        TaskGraph g = new TaskGraph("geglu", act);
                        g.output("out", g.geglu(g.linear(g.input("x", act, m, k), g.constant("w", w), g.constant("b", b))));
                        System.setProperty("i2vgen.cuda.gegluFusion", Boolean.toString(fused == 1));
                        System.setProperty("i2vgen.cuda.gegluFusionMaxK", "65536");   // the kernel at every K, for the comparison
                        try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                            plan.executeByName(Map.of("x", x));
                            // read before timing: enqueueTasks reruns without copying x in again, and the arena may
                            // reuse x's slot for the output (session 8's and 9's "non-finite" outputs were that)
                            outs[fused] = plan.read("out");
                            ms[fused] = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                            again[fused] = cuda.timeMillis(plan::enqueueTasks, 1, 20);
                            System.out.printf("BENCH geglu %s M=%d K=%d I=%d %s: %.3f ms (again %.3f), %.1f TFLOP/s, planned %.2f GiB%n", act, m, k, half,
                                    fused == 1 ? "fused          " : "GEMM + GEGLU   ", ms[fused], again[fused], flops / (ms[fused] * 1e-3) / 1e12,
                                    plan.plannedPeakBytes() / (double) (1L << 30));
                            if (fused == 0) for (var e : plan.profile()) System.out.printf("BENCH geglu   profile %-24s %8.3f ms%n", e.getKey(), e.getValue()[0]);
                        } finally {
                            System.clearProperty("i2vgen.cuda.gegluFusion");
                            System.clearProperty("i2vgen.cuda.gegluFusionMaxK");
                        }
                    }
                    // every element of both: a non-finite one is named by plan, row and column, with how many there are
                    // (session 8 saw one at level 0 without knowing which plan, where or how many)
                    for (int p = 0; p < 2; p++) {
                        long bad = 0, first = -1;
                        for (long at = 0, n = outs[p].numel(); at < n; at++) {
                            if (!Float.isFinite(outs[p].getFlat(at)) && bad++ == 0) first = at;
                        }
                        assertEquals(0, bad, String.format("%s %s M=%d K=%d I=%d: %d non-finite outputs, the first at row %d column %d (tile row %d, tile column %d)",
                                p == 1 ? "fused" : "GEMM + GEGLU", act, m, k, half, bad, first / half, first % half, first / half / 128, first % half / 64));
                    }
                    double worst = 0, ref = 0;
                    for (int i = 0; i < 4096; i++) {
                        long at = i * 7919L % outs[0].numel();
                        float u = outs[0].getFlat(at), f = outs[1].getFlat(at);
                        worst = Math.max(worst, Math.abs(u - f));
                        ref = Math.max(ref, Math.abs(u));
                    }
                    assertTrue(worst <= (act == DType.F16 ? 4e-3 : 2e-2) * Math.max(1, ref), "fused differs from GEMM + GEGLU by " + worst + " (max " + ref + ")");
                    table.append(String.format("BENCH   %-4s M=%7d K=%4d I=%4d  GEMM + GEGLU %.3f|%.3f ms  fused %.3f|%.3f ms (%.0f TFLOP/s)  saved %.3f ms%n",
                            act, m, k, half, ms[0], again[0], ms[1], again[1], flops / (ms[1] * 1e-3) / 1e12, Math.min(ms[0], again[0]) - Math.min(ms[1], again[1])));
                }
            }
        }
        System.out.print("BENCH geglu summary (each plan timed twice):\n" + table);
    }
}
