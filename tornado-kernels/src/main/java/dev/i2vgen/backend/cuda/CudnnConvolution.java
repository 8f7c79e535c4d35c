package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One cuDNN forward convolution y[N, O, OH, OW] = x[N, C, H, W] ⋆ w[O, C, kh, kw] (cross-correlation, symmetric
 * zero padding, NCHW, fp32 accumulation), planned once: descriptors, and the algorithm measured fastest by
 * {@code cudnnFindConvolutionForwardAlgorithm} among those whose workspace fits (the heuristic of
 * {@code cudnnGetConvolutionForwardAlgorithm_v7} when the search fails). The search runs outside any stream
 * capture, at plan build (no choice when only algorithms much slower than the fastest fit); {@link #run} is a plain launch on the given stream, so it can be captured.
 */
final class CudnnConvolution implements AutoCloseable {
    /** The algorithm chosen for one shape, its math type and workspace. */
    record Choice(int algo, int mathType, long workspaceBytes, float searchMillis) {}

    /** How much slower than cuDNN's fastest algorithm the one within the workspace bound may be. */
    private static final float SLOWDOWN_LIMIT = 1.5f;

    private final Cudnn cudnn;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment xDesc, wDesc, yDesc, convDesc, alpha, beta;
    private final Choice choice;
    private final String what;

    private CudnnConvolution(Cudnn cudnn, String what, MemorySegment xDesc, MemorySegment wDesc, MemorySegment yDesc,
                             MemorySegment convDesc, Choice choice) {
        this.cudnn = cudnn;
        this.what = what;
        this.xDesc = xDesc;
        this.wDesc = wDesc;
        this.yDesc = yDesc;
        this.convDesc = convDesc;
        this.choice = choice;
        alpha = arena.allocate(JAVA_FLOAT);
        alpha.set(JAVA_FLOAT, 0, 1f);
        beta = arena.allocate(JAVA_FLOAT);
        beta.set(JAVA_FLOAT, 0, 0f);
    }

    /**
     * Plans the convolution, or answers null when cuDNN has no algorithm for it within {@code maxWorkspace} bytes.
     * {@code stream} is where the algorithm search runs (not capturing).
     */
    static CudnnConvolution plan(Cudnn cudnn, DType type, int n, int c, int h, int w, int o, int kh, int kw,
                                 int strideH, int strideW, int padH, int padW, int oh, int ow,
                                 long maxWorkspace, MemorySegment stream) {
        String what = "cuDNN conv " + type + " x[" + n + "," + c + "," + h + "," + w + "] w[" + o + "," + c + "," + kh + "," + kw
                + "] stride " + strideH + "x" + strideW + " pad " + padH + "x" + padW;
        int dt = Cudnn.dataType(type);
        MemorySegment x = tensor(cudnn, dt, n, c, h, w), y = tensor(cudnn, dt, n, o, oh, ow);
        MemorySegment wd = created(cudnn, cudnn.createFilter, "cudnnCreateFilterDescriptor");
        cudnn.check(CudaDriver.call(cudnn.setFilter4d, wd, dt, Cudnn.FORMAT_NCHW, o, c, kh, kw), "cudnnSetFilter4dDescriptor for " + what);
        MemorySegment cd = created(cudnn, cudnn.createConv, "cudnnCreateConvolutionDescriptor");
        // fp16/bf16 data with fp32 accumulation (what PyTorch asks for too)
        cudnn.check(CudaDriver.call(cudnn.setConv2d, cd, padH, padW, strideH, strideW, 1, 1, Cudnn.CROSS_CORRELATION,
                Cudnn.DATA_FLOAT), "cudnnSetConvolution2dDescriptor for " + what);
        cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, Cudnn.TENSOR_OP_MATH), "cudnnSetConvolutionMathType for " + what);
        String key = what + " ws " + maxWorkspace;
        Choice choice = cudnn.choices.get(key);
        if (choice == null) {
            cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
            choice = choose(cudnn, x, wd, cd, y, maxWorkspace);
            if (choice != null) cudnn.choices.put(key, choice);
        }
        CudnnConvolution conv = new CudnnConvolution(cudnn, what, x, wd, y, cd, choice);
        if (choice == null) {
            conv.close();
            return null;
        }
        cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, choice.mathType()), "cudnnSetConvolutionMathType for " + what);
        return conv;
    }

    private static MemorySegment tensor(Cudnn cudnn, int dt, int n, int c, int h, int w) {
        MemorySegment d = created(cudnn, cudnn.createTensor, "cudnnCreateTensorDescriptor");
        cudnn.check(CudaDriver.call(cudnn.setTensor4d, d, Cudnn.FORMAT_NCHW, dt, n, c, h, w),
                "cudnnSetTensor4dDescriptor [" + n + "," + c + "," + h + "," + w + "]");
        return d;
    }

    private static MemorySegment created(Cudnn cudnn, java.lang.invoke.MethodHandle create, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment holder = a.allocate(ADDRESS);
            cudnn.check(CudaDriver.call(create, holder), what);
            return holder.get(ADDRESS, 0);
        }
    }

    /** Fastest measured algorithm within the workspace bound; the heuristic ranking when measuring fails. */
    private static Choice choose(Cudnn cudnn, MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y, long maxWorkspace) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment perf = a.allocate(Cudnn.PERF_BYTES * Cudnn.MAX_ALGOS, 8);
            MemorySegment count = a.allocate(JAVA_INT);
            boolean measured = true;
            int rc = CudaDriver.call(cudnn.findForward, cudnn.handle, x, w, conv, y, Cudnn.MAX_ALGOS, count, perf);
            if (rc != 0) {   // e.g. no memory left for the search's own buffers
                measured = false;
                cudnn.check(CudaDriver.call(cudnn.heuristicForward, cudnn.handle, x, w, conv, y, Cudnn.MAX_ALGOS, count, perf),
                        "cudnnGetConvolutionForwardAlgorithm_v7");
            }
            MemorySegment size = a.allocate(JAVA_LONG);
            float fastest = Float.MAX_VALUE;   // over all algorithms, whatever their workspace
            for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                if (perf.get(JAVA_INT, i * Cudnn.PERF_BYTES + Cudnn.PERF_STATUS) == 0) fastest = Math.min(fastest, perf.get(JAVA_FLOAT, i * Cudnn.PERF_BYTES + Cudnn.PERF_TIME));
            }
            for (int i = 0; i < count.get(JAVA_INT, 0); i++) {   // results come fastest (or most promising) first
                long base = i * Cudnn.PERF_BYTES;
                if (perf.get(JAVA_INT, base + Cudnn.PERF_STATUS) != 0) continue;
                int algo = perf.get(JAVA_INT, base + Cudnn.PERF_ALGO);
                int math = perf.get(JAVA_INT, base + Cudnn.PERF_MATH);
                cudnn.check(CudaDriver.call(cudnn.setConvMath, conv, math), "cudnnSetConvolutionMathType");
                if (CudaDriver.call(cudnn.workspaceSize, cudnn.handle, x, w, conv, y, algo, size) != 0) continue;
                long bytes = Math.max(size.get(JAVA_LONG, 0), perf.get(JAVA_LONG, base + Cudnn.PERF_MEMORY));
                if (bytes > maxWorkspace) continue;
                // the fast algorithms transpose to NHWC in the workspace; when only a slow one fits (measured 25 vs
                // 190 TFLOP/s), the built-in paths are better: no choice
                if (measured && perf.get(JAVA_FLOAT, base + Cudnn.PERF_TIME) > SLOWDOWN_LIMIT * fastest) return null;
                return new Choice(algo, math, bytes, measured ? perf.get(JAVA_FLOAT, base + Cudnn.PERF_TIME) : Float.NaN);
            }
            return null;
        }
    }

    Choice choice() { return choice; }

    /** y = conv(x, w) on {@code stream}; {@code workspace} holds at least {@link Choice#workspaceBytes()}. */
    void run(long x, long weight, long y, long workspace, MemorySegment stream) {
        cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
        cudnn.check(CudaDriver.call(cudnn.forward, cudnn.handle, alpha, xDesc, MemorySegment.ofAddress(x), wDesc,
                MemorySegment.ofAddress(weight), convDesc, choice.algo(), MemorySegment.ofAddress(workspace),
                choice.workspaceBytes(), beta, yDesc, MemorySegment.ofAddress(y)), "cudnnConvolutionForward for " + what);
    }

    @Override
    public String toString() { return what + (choice == null ? "" : " algo " + choice.algo()); }

    @Override
    public void close() {
        CudaDriver.call(cudnn.destroyTensor, xDesc);
        CudaDriver.call(cudnn.destroyTensor, yDesc);
        CudaDriver.call(cudnn.destroyFilter, wDesc);
        CudaDriver.call(cudnn.destroyConv, convDesc);
        arena.close();
    }
}
