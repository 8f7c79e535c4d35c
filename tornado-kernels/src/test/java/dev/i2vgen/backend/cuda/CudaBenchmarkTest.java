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
            for (DType act : new DType[]{DType.F32, DType.F16}) {
                int batch = 2, len = 14080, heads = 5, d = 64;
                TaskGraph g = new TaskGraph("attention", act);
                Value q = g.input("q", act, batch, len, heads * d);
                Value kk = g.input("k", act, batch, len, heads * d);
                Value v = g.input("v", act, batch, len, heads * d);
                g.output("o", g.attention(q, kk, v, heads, 0.125f, false));
                try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                    plan.executeByName(Map.of("q", random(rnd, batch, len, heads * d), "k", random(rnd, batch, len, heads * d),
                            "v", random(rnd, batch, len, heads * d)));
                    Tensor o = plan.read("o");
                    for (int i = 0; i < 1000; i++) assertTrue(Float.isFinite(o.getFlat(i * 7919L % o.numel())), "non-finite attention output");
                    double ms = cuda.timeMillis(plan::enqueueTasks, 1, 5);
                    double flops = 4.0 * batch * heads * (double) len * len * d;
                    System.out.printf("BENCH attention %s B=%d L=%d H=%d D=%d: %.2f ms, %.1f TFLOP/s (%.2f ms per frame)%n",
                            act, batch, len, heads, d, ms, flops / (ms * 1e-3) / 1e12, ms / batch);
                }
            }
        }
    }
}
