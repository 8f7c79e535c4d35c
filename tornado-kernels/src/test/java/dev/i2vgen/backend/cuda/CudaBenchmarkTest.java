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
    private static Tensor uniform(Random rnd, int... shape) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(rnd.nextLong());
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 4 - 2);
        return Tensor.fromFloats(v, shape);
    }

    @Test
    void gemmAndAttentionThroughput() {
        Assumptions.assumeTrue(Boolean.getBoolean("i2vgen.cuda.bench"), "benchmarks run only with -Di2vgen.cuda.bench=true");
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
        Random rnd = new Random(7);
        try (CudaBackend cuda = CudaBackend.create()) {
            System.out.println("device: " + cuda.deviceDescription());
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
                    if (!variant.equals("default")) System.setProperty("i2vgen.cuda.flash", variant);
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
                    }
                    }
                }
            }
        }
    }

    /**
     * Convolutions at the UNet's shapes (32 frames = 2 x 16 with CFG; 3x3 at the three resolutions, the temporal
     * (3,1,1) conv) and the VAE decoder's (one frame, 512/256/128 channels up to 704x1280): the implicit-GEMM
     * tensor-core kernel and cuDNN 9 (when installed) against the im2col + cuBLASLt path, whose output they must match
     * (rel. error ≤ 1e-2).
     */
    @Test
    void convolutionThroughput() {
        Assumptions.assumeTrue(Boolean.getBoolean("i2vgen.cuda.bench"), "benchmarks run only with -Di2vgen.cuda.bench=true");
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
        Random rnd = new Random(11);
        // {images, channels in, out, h, w, kernel h, kernel w}; kernel w = 0 marks a TemporalConv over 16 frames
        int[][] shapes = {{32, 320, 320, 88, 160, 3, 3}, {32, 640, 640, 44, 80, 3, 3}, {32, 1280, 1280, 22, 40, 3, 3},
                {2, 320, 320, 88, 160, 3, 0}, {2, 1280, 1280, 22, 40, 3, 0},
                {1, 512, 512, 176, 320, 3, 3}, {1, 256, 256, 352, 640, 3, 3}, {1, 128, 128, 704, 1280, 3, 3},
                {32, 640, 320, 88, 160, 1, 1}, {2, 640, 640, 44, 80, 3, 0}, {1, 256, 128, 704, 1280, 3, 3},
                {1, 512, 512, 88, 160, 3, 3}, {1, 512, 256, 352, 640, 3, 3}};
        try (CudaBackend cuda = CudaBackend.create()) {
            System.out.println("device: " + cuda.deviceDescription());
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
}
