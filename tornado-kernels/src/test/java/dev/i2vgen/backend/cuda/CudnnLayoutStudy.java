package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The VAE decoder's 3x3 convolutions (one 704x1280 frame, fp16) straight through our cuDNN binding, NCHW against NHWC
 * tensors (KRSC filters): every algorithm cudnnFindConvolutionForwardAlgorithmEx reports, with 1 GiB and 4 GiB
 * workspace bounds, then event timings of the best ones (plain and with the bias fused), and a sampled check of both
 * layouts' outputs against a float64 reference on the host. Ends with the per-frame totals per layout and the cost of
 * NCHW↔NHWC permutes of the largest tensors. Used by {@link CudaBenchmarkTest#vaeConvLayoutStudy}.
 */
final class CudnnLayoutStudy {
    /** {channels in, out, h, w, convolutions of this shape per decoded frame}. */
    static final int[][] DECODER_SHAPES = {{4, 512, 88, 160, 1}, {512, 512, 88, 160, 10}, {512, 512, 176, 320, 7},
            {512, 512, 352, 640, 1}, {512, 256, 352, 640, 1}, {256, 256, 352, 640, 5}, {256, 256, 704, 1280, 1},
            {256, 128, 704, 1280, 1}, {128, 128, 704, 1280, 5}, {128, 3, 704, 1280, 1}, {512, 256, 352, 640, -1},
            {256, 128, 704, 1280, -1}};   // -1: the 1x1 shortcut convs (kernel 1), once per frame each
    private static final long[] BOUNDS = {1L << 30, 4L << 30};

    private final CudaBackend cuda;
    private final Cudnn cudnn;
    private final SplittableRandom rnd = new SplittableRandom(29);
    private final List<String> table = new ArrayList<>();

    CudnnLayoutStudy(CudaBackend cuda, Cudnn cudnn) {
        this.cuda = cuda;
        this.cudnn = cudnn;
    }

    /** Runs the study, prints BENCH lines and the final table; answers {NCHW, NHWC} ms per frame (best per shape). */
    double[] run() {
        long workspace = cuda.driver.malloc(BOUNDS[BOUNDS.length - 1]);
        double[] frame = new double[2];
        double flopsFrame = 0;
        try {
            for (int[] s : DECODER_SHAPES) {
                int k = s[4] < 0 ? 1 : 3, count = Math.abs(s[4]);
                double flops = 2.0 * s[1] * s[0] * k * k * s[2] * s[3];
                flopsFrame += flops * count;
                double[] best = shape(s[0], s[1], s[2], s[3], k, flops, workspace);
                for (int l = 0; l < 2; l++) frame[l] += best[l] * count;
                table.add(String.format("| %d→%d %s %dx%d | x%d | %.1f GFLOP | NCHW %.3f ms (%.0f TFLOP/s) | NHWC %.3f ms (%.0f TFLOP/s) |",
                        s[0], s[1], k == 1 ? "1x1" : "3x3", s[2], s[3], count, flops / 1e9, best[0], flops / best[0] / 1e9,
                        best[1], flops / best[1] / 1e9));
            }
        } finally {
            cuda.driver.synchronize(cuda.stream);
            cuda.driver.free(workspace);
        }
        permutes();
        System.out.println("BENCH layout-study table (best algorithm per shape and layout, bias fused where cuDNN allows):");
        table.forEach(t -> System.out.println("BENCH " + t));
        System.out.printf("BENCH layout-study per frame: %.1f GFLOP; NCHW %.3f ms (%.0f TFLOP/s), NHWC %.3f ms (%.0f TFLOP/s)%n",
                flopsFrame / 1e9, frame[0], flopsFrame / frame[0] / 1e9, frame[1], flopsFrame / frame[1] / 1e9);
        return frame;
    }

    /** One shape: both layouts, both bounds; answers the best timed ms {NCHW, NHWC} (bias fused where possible). */
    private double[] shape(int c, int o, int h, int w, int k, double flops, long workspace) {
        int pad = (k - 1) / 2;
        long xn = (long) c * h * w, yn = (long) o * h * w, wn = (long) o * c * k * k;
        float[] x = halves(xn), wt = halves(wn), bias = halves(o);
        long[] dx = new long[2], dw = new long[2], dy = new long[2];
        long db = cuda.driver.malloc(2L * o);
        double[] best = {Double.MAX_VALUE, Double.MAX_VALUE};
        String name = c + "→" + o + " " + k + "x" + k + " " + h + "x" + w;
        try (Arena a = Arena.ofConfined()) {
            upload(a, db, bias, null);
            for (int l = 0; l < 2; l++) {
                dx[l] = cuda.driver.malloc(2 * xn);
                dw[l] = cuda.driver.malloc(2 * wn);
                dy[l] = cuda.driver.malloc(2 * yn);
                // NHWC: x[p][c] from x[c][p]; KRSC: w[o][r][s][c] from w[o][c][r][s]
                upload(a, dx[l], x, l == 0 ? null : new int[]{c, h * w});
                upload(a, dw[l], wt, l == 0 ? null : new int[]{o, c, k * k});
            }
            for (int layoutIndex = 0; layoutIndex < 2; layoutIndex++) {
                final int l = layoutIndex;
                int format = l == 0 ? Cudnn.FORMAT_NCHW : Cudnn.FORMAT_NHWC;
                String layout = l == 0 ? "NCHW" : "NHWC";
                MemorySegment xd = tensor(format, 1, c, h, w), yd = tensor(format, 1, o, h, w), bd = tensor(format, 1, o, 1, 1);
                MemorySegment wd = created(cudnn.createFilter);
                cudnn.check(CudaDriver.call(cudnn.setFilter4d, wd, Cudnn.DATA_HALF, format, o, c, k, k), "cudnnSetFilter4dDescriptor");
                MemorySegment cd = created(cudnn.createConv);
                cudnn.check(CudaDriver.call(cudnn.setConv2d, cd, pad, pad, 1, 1, 1, 1, Cudnn.CROSS_CORRELATION, Cudnn.DATA_FLOAT), "setConv2d");
                cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, Cudnn.TENSOR_OP_MATH), "setConvMath");
                MemorySegment act = created(cudnn.createActivation);
                cudnn.check(CudaDriver.call(cudnn.setActivation, act, Cudnn.ACTIVATION_IDENTITY, Cudnn.NOT_PROPAGATE_NAN, 0.0), "setActivation");
                MemorySegment one = a.allocate(JAVA_FLOAT), zero = a.allocate(JAVA_FLOAT);
                one.set(JAVA_FLOAT, 0, 1f);
                zero.set(JAVA_FLOAT, 0, 0f);
                try {
                    cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, cuda.stream), "cudnnSetStream");
                    List<int[]> timedAlgos = new ArrayList<>();   // {algo, math}
                    for (long bound : BOUNDS) {
                        MemorySegment perf = a.allocate(Cudnn.PERF_BYTES * Cudnn.MAX_ALGOS, 8), count = a.allocate(JAVA_INT);
                        cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, Cudnn.TENSOR_OP_MATH), "setConvMath");
                        int rc = CudaDriver.call(cudnn.findForwardEx, cudnn.handle, xd, MemorySegment.ofAddress(dx[l]), wd,
                                MemorySegment.ofAddress(dw[l]), cd, yd, MemorySegment.ofAddress(dy[l]), Cudnn.MAX_ALGOS, count, perf,
                                MemorySegment.ofAddress(workspace), bound);
                        if (rc != 0) {
                            System.out.printf("BENCH layout %s %s ws %d MiB: FindEx status %d%n", name, layout, bound >> 20, rc);
                            continue;
                        }
                        for (int i = 0; i < Math.min(count.get(JAVA_INT, 0), Cudnn.MAX_ALGOS); i++) {
                            long base = i * Cudnn.PERF_BYTES;
                            int algo = perf.get(JAVA_INT, base + Cudnn.PERF_ALGO), status = perf.get(JAVA_INT, base + Cudnn.PERF_STATUS);
                            int math = perf.get(JAVA_INT, base + Cudnn.PERF_MATH);
                            float ms = perf.get(JAVA_FLOAT, base + Cudnn.PERF_TIME);
                            long mem = perf.get(JAVA_LONG, base + Cudnn.PERF_MEMORY);
                            System.out.printf("BENCH layout %s %s ws %4d MiB: algo %d math %d status %d %8.3f ms %6.0f TFLOP/s ws %7.1f MiB%n",
                                    name, layout, bound >> 20, algo, math, status, ms, status == 0 ? flops / ms / 1e9 : 0, mem / 1048576.0);
                            if (status == 0 && timedAlgos.stream().noneMatch(t -> t[0] == algo && t[1] == math) && timedAlgos.size() < 4)
                                timedAlgos.add(new int[]{algo, math, (int) Math.min(Integer.MAX_VALUE, mem >> 20)});
                        }
                    }
                    MemorySegment size = a.allocate(JAVA_LONG);
                    boolean checked = false;
                    for (int[] t : timedAlgos) {
                        int algo = t[0];
                        cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, t[1]), "setConvMath");
                        cudnn.check(CudaDriver.call(cudnn.workspaceSize, cudnn.handle, xd, wd, cd, yd, algo, size), "workspaceSize");
                        long bytes = size.get(JAVA_LONG, 0);
                        if (bytes > BOUNDS[BOUNDS.length - 1]) continue;
                        Runnable plain = () -> cudnn.check(CudaDriver.call(cudnn.forward, cudnn.handle, one, xd, MemorySegment.ofAddress(dx[l]), wd,
                                MemorySegment.ofAddress(dw[l]), cd, algo, MemorySegment.ofAddress(workspace), bytes, zero, yd,
                                MemorySegment.ofAddress(dy[l])), "cudnnConvolutionForward");
                        double ms = cuda.timeMillis(plain, 2, 10);
                        double fusedMs = Double.NaN;
                        Runnable fused = () -> cudnn.check(CudaDriver.call(cudnn.biasActivationForward.orElseThrow(), cudnn.handle, one, xd,
                                MemorySegment.ofAddress(dx[l]), wd, MemorySegment.ofAddress(dw[l]), cd, algo, MemorySegment.ofAddress(workspace),
                                bytes, zero, yd, MemorySegment.ofAddress(dy[l]), bd, MemorySegment.ofAddress(db), act, yd,
                                MemorySegment.ofAddress(dy[l])), "cudnnConvolutionBiasActivationForward");
                        if (algo == Cudnn.ALGO_IMPLICIT_PRECOMP_GEMM && cudnn.biasActivationForward.isPresent()) {
                            try {
                                fusedMs = cuda.timeMillis(fused, 2, 10);
                            } catch (CudaException e) {
                                System.out.printf("BENCH layout %s %s algo %d: bias not fused: %s%n", name, layout, algo, e.getMessage());
                            }
                        }
                        double err = Double.NaN;
                        if (!checked) {   // the first (fastest by FindEx) algorithm: sampled outputs against float64
                            cuda.driver.fill32(dy[l], 0x7fc07fc0, yn / 2, cuda.stream);   // NaN-poisoned (fp16 NaN pairs)
                            boolean withBias = !Double.isNaN(fusedMs);
                            (withBias ? fused : plain).run();
                            err = check(a, dy[l], l == 1, x, wt, withBias ? bias : null, c, o, h, w, k);
                            checked = true;
                            assertTrue(err <= 2e-2, name + " " + layout + " algo " + algo + " sampled rel.err " + err);
                        }
                        System.out.printf("BENCH layout %s %s timed algo %d math %d ws %7.1f MiB: %8.3f ms %6.0f TFLOP/s, bias fused %8.3f ms%s%n",
                                name, layout, algo, t[1], bytes / 1048576.0, ms, flops / ms / 1e9, fusedMs,
                                Double.isNaN(err) ? "" : String.format(", sampled rel.err %.2e", err));
                        best[l] = Math.min(best[l], Double.isNaN(fusedMs) ? ms : fusedMs);
                    }
                } finally {
                    cuda.driver.synchronize(cuda.stream);
                    CudaDriver.call(cudnn.destroyTensor, xd);
                    CudaDriver.call(cudnn.destroyTensor, yd);
                    CudaDriver.call(cudnn.destroyTensor, bd);
                    CudaDriver.call(cudnn.destroyFilter, wd);
                    CudaDriver.call(cudnn.destroyConv, cd);
                    CudaDriver.call(cudnn.destroyActivation, act);
                }
            }
        } finally {
            cuda.driver.synchronize(cuda.stream);
            for (int l = 0; l < 2; l++) {
                cuda.driver.free(dx[l]);
                cuda.driver.free(dw[l]);
                cuda.driver.free(dy[l]);
            }
            cuda.driver.free(db);
        }
        System.out.printf("BENCH layout %s best: NCHW %.3f ms, NHWC %.3f ms (%.2fx)%n", name, best[0], best[1], best[0] / best[1]);
        return best;
    }

    /** Uniform values in [-1, 1) rounded to fp16, so the host reference sees exactly what the device does. */
    private float[] halves(long n) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = Float.float16ToFloat(Float.floatToFloat16((float) (rnd.nextDouble() * 2 - 1)));
        return v;
    }

    /** Uploads v as fp16; with {@code inner = {outer, rows, cols}} or {rows, cols} the last two axes are transposed. */
    private void upload(Arena a, long dst, float[] v, int[] transpose) {
        MemorySegment host = a.allocate(2L * v.length, 16);
        if (transpose == null) {
            for (int i = 0; i < v.length; i++) host.set(JAVA_SHORT, 2L * i, Float.floatToFloat16(v[i]));
        } else {
            int outer = transpose.length == 3 ? transpose[0] : 1;
            int rows = transpose[transpose.length - 2], cols = transpose[transpose.length - 1];
            for (int b = 0; b < outer; b++)
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < cols; q++) {
                        long from = ((long) b * rows + r) * cols + q, to = ((long) b * cols + q) * rows + r;
                        host.set(JAVA_SHORT, 2 * to, Float.floatToFloat16(v[(int) from]));
                    }
        }
        cuda.driver.copyToDevice(dst, host, host.byteSize(), cuda.stream);
        cuda.driver.synchronize(cuda.stream);
    }

    /** ‖y − ref‖ / ‖ref‖ over 512 sampled outputs (float64 reference; NaN or unwritten outputs fail). */
    private double check(Arena a, long dy, boolean nhwc, float[] x, float[] wt, float[] bias, int c, int o, int h, int w, int k) {
        long yn = (long) o * h * w;
        MemorySegment y = a.allocate(2 * yn, 16);
        cuda.driver.copyToHost(y, dy, 2 * yn, cuda.stream);
        cuda.driver.synchronize(cuda.stream);
        int pad = (k - 1) / 2;
        double num = 0, den = 0;
        for (int i = 0; i < 512; i++) {
            int oc = rnd.nextInt(o), py = i < 8 ? (i & 1) * (h - 1) : rnd.nextInt(h), px = i < 8 ? (i >> 1 & 1) * (w - 1) : rnd.nextInt(w);
            double ref = bias == null ? 0 : bias[oc];
            for (int ic = 0; ic < c; ic++)
                for (int r = 0; r < k; r++)
                    for (int s = 0; s < k; s++) {
                        int iy = py + r - pad, ix = px + s - pad;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        ref += (double) x[(ic * h + iy) * w + ix] * wt[((oc * c + ic) * k + r) * k + s];
                    }
            long at = nhwc ? ((long) py * w + px) * o + oc : ((long) oc * h + py) * w + px;
            double got = Float.float16ToFloat(y.get(JAVA_SHORT, 2 * at));
            if (Double.isNaN(got)) return Double.POSITIVE_INFINITY;
            num += (got - ref) * (got - ref);
            den += ref * ref;
        }
        return Math.sqrt(num / den);
    }

    /** NCHW → NHWC and back for the largest decoder tensors, through the backend's own permute lowering. */
    private void permutes() {
        int[][] shapes = {{1, 256, 704, 1280}, {1, 128, 704, 1280}, {1, 512, 352, 640}, {1, 512, 88, 160}};
        for (int[] s : shapes) {
            for (int dir = 0; dir < 2; dir++) {
                int[] in = dir == 0 ? s : new int[]{s[0], s[2], s[3], s[1]};
                int[] perm = dir == 0 ? new int[]{0, 2, 3, 1} : new int[]{0, 3, 1, 2};
                TaskGraph g = new TaskGraph("permute", DType.F16);
                Value xv = g.input("x", DType.F16, in);
                g.output("y", g.permute(xv, perm));
                float[] v = new float[(int) Tensor.numel(in)];
                for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextDouble() * 2 - 1);
                try (CudaExecutionPlan plan = cuda.compile(g.freeze())) {
                    plan.executeByName(Map.of("x", Tensor.fromFloats(v, in).to(DType.F16)));
                    double ms = cuda.timeMillis(plan::enqueueTasks, 3, 20);
                    double bytes = 2.0 * 2 * v.length;
                    String kernels = String.join("+", plan.profile().stream().map(Map.Entry::getKey).toList());
                    System.out.printf("BENCH layout permute %s %s: %.3f ms, %.0f GB/s [%s]%n", java.util.Arrays.toString(in),
                            dir == 0 ? "NCHW→NHWC" : "NHWC→NCHW", ms, bytes / ms / 1e6, kernels);
                    table.add(String.format("| permute %s %s | %.3f ms |", java.util.Arrays.toString(in), dir == 0 ? "→NHWC" : "→NCHW", ms));
                }
            }
        }
    }

    private MemorySegment tensor(int format, int n, int c, int h, int w) {
        MemorySegment d = created(cudnn.createTensor);
        cudnn.check(CudaDriver.call(cudnn.setTensor4d, d, format, Cudnn.DATA_HALF, n, c, h, w), "cudnnSetTensor4dDescriptor");
        return d;
    }

    private MemorySegment created(java.lang.invoke.MethodHandle create) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment holder = a.allocate(java.lang.foreign.ValueLayout.ADDRESS);
            cudnn.check(CudaDriver.call(create, holder), "create descriptor");
            return holder.get(java.lang.foreign.ValueLayout.ADDRESS, 0);
        }
    }
}
