package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.logging.Logger;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One cuDNN forward convolution y[N, O, OH, OW] = x[N, C, H, W] ⋆ w[O, C, kh, kw] (cross-correlation, symmetric
 * zero padding, NCHW, or NHWC tensors with a KRSC filter for the channels-last activations of {@link ChannelsLastPlan};
 * fp32 accumulation), planned once: descriptors, and the algorithm measured fastest by
 * {@code cudnnFindConvolutionForwardAlgorithmEx} on the plan's own x, w and y and the backend's capped workspace
 * (the heuristic of {@code cudnnGetConvolutionForwardAlgorithm_v7} when the search fails). The images are split
 * into equal groups, one {@code cudnnConvolutionForward} call each, so that cuDNN's fast algorithms (which copy x
 * and y to NHWC in the workspace) fit the bound. The search runs only in {@link #plan}, i.e. while a plan is being
 * lowered, never inside a stream capture; {@link #run} is plain launches on the given stream, so it can be captured.
 */
final class CudnnConvolution implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CudnnConvolution.class.getName());

    /** The algorithm chosen for one per-call shape, its math type and workspace; cuDNN's time for it (NaN if not measured). */
    record Choice(int algo, int mathType, long workspaceBytes, float millis, float searchMillis) {
        /** As {@link AlgorithmCache} stores it. */
        String format() { return algo + " " + mathType + " " + workspaceBytes + " " + millis + " " + searchMillis; }

        static Optional<Choice> parse(String s) {
            if (s.equals("none")) return Optional.empty();
            String[] f = s.split(" ");
            return Optional.of(new Choice(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Long.parseLong(f[2]),
                    Float.parseFloat(f[3]), Float.parseFloat(f[4])));
        }
    }

    /** A convolution's shape: NCHW input, O filters of kh x kw, stride, symmetric padding, output size. */
    record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int strideH, int strideW, int padH, int padW,
                    int oh, int ow) {
        long xImage() { return (long) c * h * w; }
        long yImage() { return (long) o * oh * ow; }
        long weights() { return (long) o * c * kh * kw; }
        double flops() { return 2.0 * n * yImage() * c * kh * kw; }
    }

    /** Margin kept free in the workspace beside the NHWC copies (filter copy, alignment, cuDNN's own small buffers). */
    static final long WORKSPACE_MARGIN = 16L << 20;

    private final Cudnn cudnn;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment xDesc, wDesc, yDesc, convDesc, biasDesc, one, zero;
    private MemorySegment activationDesc = MemorySegment.NULL;   // identity: set when the bias is fused into the conv
    private String key = "";                     // the search key: trials are remembered under it
    private boolean residualAdded;               // the epilogue adds z as well (alpha2 = 1): addResidual
    private final Choice choice;
    private final int calls;                     // cudnnConvolutionForward calls per run, over consecutive image groups
    private final long xGroupBytes, yGroupBytes; // byte distance between consecutive groups
    private final String what;

    private CudnnConvolution(Cudnn cudnn, String what, MemorySegment xDesc, MemorySegment wDesc, MemorySegment yDesc,
                             MemorySegment convDesc, MemorySegment biasDesc, Choice choice, int calls,
                             long xGroupBytes, long yGroupBytes) {
        this.cudnn = cudnn;
        this.what = what;
        this.xDesc = xDesc;
        this.wDesc = wDesc;
        this.yDesc = yDesc;
        this.convDesc = convDesc;
        this.biasDesc = biasDesc;
        this.choice = choice;
        this.calls = calls;
        this.xGroupBytes = xGroupBytes;
        this.yGroupBytes = yGroupBytes;
        one = arena.allocate(JAVA_FLOAT);   // fp16/bf16/fp32 data all take float scaling factors
        one.set(JAVA_FLOAT, 0, 1f);
        zero = arena.allocate(JAVA_FLOAT);
        zero.set(JAVA_FLOAT, 0, 0f);
    }

    /**
     * Images per cuDNN call: the largest divisor of N whose x and y (the NHWC copies of the fast algorithms) plus the
     * filter fit {@code maxWorkspace}, whose element counts stay below 2^31 (the legacy API's int sizes) and whose
     * group offsets keep 16-byte alignment; 0 when not even one image fits.
     */
    static int imagesPerCall(Geometry g, int elementBytes, long maxWorkspace) {
        long perImage = (g.xImage() + g.yImage()) * elementBytes;
        long room = maxWorkspace - 2 * g.weights() * elementBytes - WORKSPACE_MARGIN;
        long limit = Math.min(g.n(), Math.min(room / perImage, (Integer.MAX_VALUE - 1L) / Math.max(g.xImage(), g.yImage())));
        for (long d = limit; d >= 1; d--) {
            if (g.n() % d != 0) continue;
            boolean aligned = d == g.n() || ((d * g.xImage() * elementBytes) % 16 == 0 && (d * g.yImage() * elementBytes) % 16 == 0);
            if (aligned) return (int) d;
        }
        return 0;
    }

    /**
     * Plans the convolution on the given device pointers, or answers null when cuDNN should not take it: not even
     * one image fits the workspace bound, no algorithm fits, or the workspace cannot be allocated. The first plan
     * of a shape searches: {@code cudnnFindConvolutionForwardAlgorithmEx} times the algorithms on x, w and y
     * themselves (y is overwritten, harmless while the plan is built; x may hold anything, NaN included: the trials
     * only compute and time, nothing depends on the values) in the backend's workspace, on {@code stream}, which is
     * not capturing. A non-zero {@code bias} gets a [1, O, 1, 1] descriptor: added by {@link #addBias}, or with
     * {@code fuseBias} in the convolution's epilogue ({@code cudnnConvolutionBiasActivationForward}, identity
     * activation) where cuDNN supports that: the chosen algorithm is IMPLICIT_PRECOMP_GEMM (the only one it allows
     * with identity) and one trial call on these buffers at plan time succeeds (see {@link #biasFused()}).
     */
    static CudnnConvolution plan(Cudnn cudnn, CudaDriver driver, DType type, Geometry g, long bias, boolean fuseBias,
                                 long x, long weight, long y, long maxWorkspace, MemorySegment stream) {
        return plan(cudnn, driver, type, g, bias, fuseBias, x, weight, y, maxWorkspace, stream, false);
    }

    /**
     * As {@link #plan(Cudnn, CudaDriver, DType, Geometry, long, boolean, long, long, long, long, MemorySegment)}, with
     * {@code channelsLast}: x and y are NHWC ([N, H, W, C], image after image as in NCHW) and the weight is KRSC
     * ([O, kh, kw, C]); cuDNN's fast algorithms then need no transposes of their own (1.2–2.8x faster at the VAE
     * decoder's shapes, docs/cuda-performance-notes.md section 12). Searched and cached apart from the NCHW shape.
     */
    static CudnnConvolution plan(Cudnn cudnn, CudaDriver driver, DType type, Geometry g, long bias, boolean fuseBias,
                                 long x, long weight, long y, long maxWorkspace, MemorySegment stream, boolean channelsLast) {
        int es = type.byteSize();
        int format = channelsLast ? Cudnn.FORMAT_NHWC : Cudnn.FORMAT_NCHW;
        int group = imagesPerCall(g, es, maxWorkspace);
        if (group == 0) return null;
        String what = "cuDNN conv " + type + " x[" + group + "," + g.c() + "," + g.h() + "," + g.w() + "] w[" + g.o() + "," + g.c()
                + "," + g.kh() + "," + g.kw() + "] stride " + g.strideH() + "x" + g.strideW() + " pad " + g.padH() + "x" + g.padW()
                + (channelsLast ? " NHWC" : "");
        String search = System.getProperty("i2vgen.cuda.cudnn.search", "find");   // =heuristic: no timed trials (A/B, tests)
        String key = what + " ws " + maxWorkspace + " " + search;
        Optional<Choice> cached = cudnn.knownChoice(key);
        if (cached != null && cached.isEmpty()) return null;   // declined before: no descriptors, no second search
        int dt = Cudnn.dataType(type);
        MemorySegment xd = tensor(cudnn, format, dt, group, g.c(), g.h(), g.w()), yd = tensor(cudnn, format, dt, group, g.o(), g.oh(), g.ow());
        MemorySegment wd = created(cudnn, cudnn.createFilter, "cudnnCreateFilterDescriptor");
        cudnn.check(CudaDriver.call(cudnn.setFilter4d, wd, dt, format, g.o(), g.c(), g.kh(), g.kw()), "cudnnSetFilter4dDescriptor for " + what);
        MemorySegment cd = created(cudnn, cudnn.createConv, "cudnnCreateConvolutionDescriptor");
        // fp16/bf16 data with fp32 accumulation (what PyTorch asks for too)
        cudnn.check(CudaDriver.call(cudnn.setConv2d, cd, g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1, Cudnn.CROSS_CORRELATION,
                Cudnn.DATA_FLOAT), "cudnnSetConvolution2dDescriptor for " + what);
        cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, Cudnn.TENSOR_OP_MATH), "cudnnSetConvolutionMathType for " + what);
        MemorySegment bd = bias != 0 ? tensor(cudnn, format, dt, 1, g.o(), 1, 1) : MemorySegment.NULL;
        CudnnConvolution conv;
        Choice choice;
        long workspace = workspaceOrNone(cudnn, driver, maxWorkspace, what);
        if (cached != null) {
            choice = cached.get();
        } else if (workspace == 0) {
            choice = null;
        } else {
            // the trials run on the backend's stream, in its workspace, with its handle: one at a time, between runs
            choice = SearchOnce.knownOrSearched(cudnn.streamLock(), () -> cudnn.knownChoice(key), () -> Optional.ofNullable(search(cudnn, key,
                    what, xd, x, wd, weight, cd, yd, y, workspace, maxWorkspace, stream, search.equals("heuristic")))).orElse(null);
        }
        int calls = g.n() / group;
        conv = new CudnnConvolution(cudnn, what + (calls > 1 ? " x" + calls + " calls" : ""), xd, wd, yd, cd, bd, choice, calls,
                (long) group * g.xImage() * es, (long) group * g.yImage() * es);
        conv.key = key;
        if (choice == null || workspace == 0) {
            conv.close();
            return null;
        }
        cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, choice.mathType()), "cudnnSetConvolutionMathType for " + what);
        if (bias != 0 && fuseBias && choice.algo() == Cudnn.ALGO_IMPLICIT_PRECOMP_GEMM && cudnn.biasActivationForward.isPresent()) {
            MemorySegment ad = created(cudnn, cudnn.createActivation, "cudnnCreateActivationDescriptor");
            cudnn.check(CudaDriver.call(cudnn.setActivation, ad, Cudnn.ACTIVATION_IDENTITY, Cudnn.NOT_PROPAGATE_NAN, 0.0),
                    "cudnnSetActivationDescriptor");
            conv.activationDesc = ad;
            // once per shape, a trial call as the search above: cuDNN answers NOT_SUPPORTED for what it cannot fuse
            boolean fusable = SearchOnce.knownOrSearched(cudnn.streamLock(), () -> cudnn.knownFusedBias(key), () -> {
                cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
                int rc = conv.fused(x, weight, bias, y, 0, workspace, 0);
                if (rc == 0) driver.synchronize(stream);
                else LOG.info(what + ": bias not fused (cuDNN status " + rc + "), added by cudnnAddTensor");
                cudnn.rememberFusedBias(key, rc == 0);
                return rc == 0;
            });
            if (!fusable) {
                CudaDriver.call(cudnn.destroyActivation, ad);
                conv.activationDesc = MemorySegment.NULL;
            }
        }
        cudnn.planned.incrementAndGet();
        return conv;
    }

    /** cuDNN's shared workspace, or 0 when the device has no room for it (the built-in paths need none). */
    private static long workspaceOrNone(Cudnn cudnn, CudaDriver driver, long maxWorkspace, String what) {
        try {
            return cudnn.workspace(driver, maxWorkspace);
        } catch (CudaException e) {
            LOG.warning("no device memory for the cuDNN workspace (" + e.getMessage() + "): " + what + " uses the built-in path");
            return 0;
        }
    }

    /** The timed search of {@link #plan} (under the stream lock), remembered for the shape; null when no algorithm fits. */
    private static Choice search(Cudnn cudnn, String key, String what, MemorySegment xd, long x, MemorySegment wd, long weight,
                                 MemorySegment cd, MemorySegment yd, long y, long workspace, long maxWorkspace,
                                 MemorySegment stream, boolean heuristicOnly) {
        cudnn.searches.incrementAndGet();
        long t0 = System.nanoTime();
        Choice choice = choose(cudnn, xd, x, wd, weight, cd, yd, y, workspace, maxWorkspace, stream, heuristicOnly);
        float searchMs = (System.nanoTime() - t0) / 1e6f;
        cudnn.searchNanos.add(System.nanoTime() - t0);
        if (choice != null) choice = new Choice(choice.algo(), choice.mathType(), choice.workspaceBytes(), choice.millis(), searchMs);
        cudnn.rememberChoice(key, Optional.ofNullable(choice));
        LOG.fine(() -> what + ": " + (cudnn.choices.get(key).map(Object::toString).orElse("no algorithm within the workspace")));
        return choice;
    }

    private static MemorySegment tensor(Cudnn cudnn, int format, int dt, int n, int c, int h, int w) {
        MemorySegment d = created(cudnn, cudnn.createTensor, "cudnnCreateTensorDescriptor");
        cudnn.check(CudaDriver.call(cudnn.setTensor4d, d, format, dt, n, c, h, w),
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

    /**
     * Fastest measured algorithm within the workspace (the Ex search only runs those that fit {@code workspaceBytes}
     * and reports them fastest first); the heuristic ranking when measuring fails or {@code heuristicOnly}.
     */
    private static Choice choose(Cudnn cudnn, MemorySegment xd, long x, MemorySegment wd, long w, MemorySegment cd,
                                 MemorySegment yd, long y, long workspace, long workspaceBytes, MemorySegment stream,
                                 boolean heuristicOnly) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment perf = a.allocate(Cudnn.PERF_BYTES * Cudnn.MAX_ALGOS, 8);
            MemorySegment count = a.allocate(JAVA_INT);
            boolean measured = false;
            if (!heuristicOnly) {
                cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
                int rc = CudaDriver.call(cudnn.findForwardEx, cudnn.handle, xd, MemorySegment.ofAddress(x), wd,
                        MemorySegment.ofAddress(w), cd, yd, MemorySegment.ofAddress(y), Cudnn.MAX_ALGOS, count, perf,
                        MemorySegment.ofAddress(workspace), workspaceBytes);
                measured = rc == 0;
                if (!measured) LOG.info("cudnnFindConvolutionForwardAlgorithmEx failed with status " + rc + ": heuristic choice");
            }
            if (!measured) {
                count.set(JAVA_INT, 0, 0);
                cudnn.check(CudaDriver.call(cudnn.heuristicForward, cudnn.handle, xd, wd, cd, yd, Cudnn.MAX_ALGOS, count, perf),
                        "cudnnGetConvolutionForwardAlgorithm_v7");
            }
            MemorySegment size = a.allocate(JAVA_LONG);
            int n = Math.min(count.get(JAVA_INT, 0), Cudnn.MAX_ALGOS);
            for (int i = 0; i < n; i++) {   // fastest (or most promising) first
                long base = i * Cudnn.PERF_BYTES;
                if (perf.get(JAVA_INT, base + Cudnn.PERF_STATUS) != 0) continue;
                int algo = perf.get(JAVA_INT, base + Cudnn.PERF_ALGO);
                int math = perf.get(JAVA_INT, base + Cudnn.PERF_MATH);
                cudnn.check(CudaDriver.call(cudnn.setConvMath, cd, math), "cudnnSetConvolutionMathType");
                if (CudaDriver.call(cudnn.workspaceSize, cudnn.handle, xd, wd, cd, yd, algo, size) != 0) continue;
                long bytes = Math.max(size.get(JAVA_LONG, 0), perf.get(JAVA_LONG, base + Cudnn.PERF_MEMORY));
                if (bytes > workspaceBytes) continue;
                return new Choice(algo, math, bytes, measured ? perf.get(JAVA_FLOAT, base + Cudnn.PERF_TIME) : Float.NaN, Float.NaN);
            }
            return null;
        }
    }

    Choice choice() { return choice; }

    /** cudnnConvolutionForward calls per run (images split into groups that fit the workspace). */
    int calls() { return calls; }

    /** Whether {@link #run} adds the bias itself (in the convolution's epilogue); otherwise {@link #addBias} does. */
    boolean biasFused() { return !activationDesc.equals(MemorySegment.NULL); }

    /**
     * Whether the epilogue adds a residual z (laid out like y, disjoint from it) as well: y = conv(x, w) + bias + z in
     * the fused-bias call (alpha2 = 1), so only where {@link #biasFused()}; decided by one trial call per shape on
     * these buffers, as for the bias (y is written, z read). Once true, {@link #run(long, long, long, long, long, long,
     * MemorySegment)} must be given z.
     */
    boolean addResidual(CudaDriver driver, long x, long weight, long bias, long y, long z, long workspace, MemorySegment stream) {
        if (!biasFused() || z == 0) return false;
        residualAdded = SearchOnce.knownOrSearched(cudnn.streamLock(), () -> cudnn.knownFusedBias(key + " +z"), () -> {
            cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
            int rc = fused(x, weight, bias, y, z, workspace, 0);
            if (rc == 0) driver.synchronize(stream);
            else LOG.info(what + ": residual not added in the epilogue (cuDNN status " + rc + ")");
            cudnn.rememberFusedBias(key + " +z", rc == 0);
            return rc == 0;
        });
        return residualAdded;
    }

    /**
     * y = conv(x, w) (+ bias when {@link #biasFused()}) on {@code stream}, one call per image group; {@code workspace}
     * holds {@link Choice#workspaceBytes()}.
     */
    void run(long x, long weight, long bias, long y, long workspace, MemorySegment stream) {
        run(x, weight, bias, y, 0, workspace, stream);
    }

    /** {@link #run(long, long, long, long, long, MemorySegment)}, + z where {@link #addResidual} said so. */
    void run(long x, long weight, long bias, long y, long z, long workspace, MemorySegment stream) {
        if (residualAdded && z == 0) throw new IllegalStateException(what + " was planned to add a residual: none given");
        cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
        for (int i = 0; i < calls; i++) {
            if (biasFused()) {
                cudnn.check(fused(x, weight, bias, y, residualAdded ? z : 0, workspace, i), "cudnnConvolutionBiasActivationForward for " + what);
                continue;
            }
            cudnn.check(CudaDriver.call(cudnn.forward, cudnn.handle, one, xDesc, MemorySegment.ofAddress(x + i * xGroupBytes), wDesc,
                    MemorySegment.ofAddress(weight), convDesc, choice.algo(), MemorySegment.ofAddress(workspace),
                    choice.workspaceBytes(), zero, yDesc, MemorySegment.ofAddress(y + i * yGroupBytes)), "cudnnConvolutionForward for " + what);
        }
    }

    /**
     * y = identity(1 * conv(x, w) + alpha2 * z + bias) for image group {@code group}: alpha2 = 1 with a residual z,
     * else 0 with z = y itself (cuDNN does not read it); answers cuDNN's status.
     */
    private int fused(long x, long weight, long bias, long y, long z, long workspace, int group) {
        MemorySegment yg = MemorySegment.ofAddress(y + group * yGroupBytes);
        MemorySegment zg = z == 0 ? yg : MemorySegment.ofAddress(z + group * yGroupBytes);
        return CudaDriver.call(cudnn.biasActivationForward.orElseThrow(), cudnn.handle, one, xDesc,
                MemorySegment.ofAddress(x + group * xGroupBytes), wDesc, MemorySegment.ofAddress(weight), convDesc, choice.algo(),
                MemorySegment.ofAddress(workspace), choice.workspaceBytes(), z == 0 ? zero : one, yDesc, zg, biasDesc,
                MemorySegment.ofAddress(bias), activationDesc, yDesc, yg);
    }

    /** y += bias[O] broadcast over images and pixels (cudnnAddTensor), on {@code stream}; planned with {@code bias}. */
    void addBias(long bias, long y, MemorySegment stream) {
        if (biasDesc.equals(MemorySegment.NULL)) throw new IllegalStateException(what + " was planned without a bias");
        cudnn.check(CudaDriver.call(cudnn.setStream, cudnn.handle, stream), "cudnnSetStream");
        for (int i = 0; i < calls; i++) {
            cudnn.check(CudaDriver.call(cudnn.addTensor, cudnn.handle, one, biasDesc, MemorySegment.ofAddress(bias), one, yDesc,
                    MemorySegment.ofAddress(y + i * yGroupBytes)), "cudnnAddTensor for the bias of " + what);
        }
    }

    @Override
    public String toString() { return what + (choice == null ? "" : " algo " + choice.algo()); }

    @Override
    public void close() {
        CudaDriver.call(cudnn.destroyTensor, xDesc);
        CudaDriver.call(cudnn.destroyTensor, yDesc);
        if (!biasDesc.equals(MemorySegment.NULL)) CudaDriver.call(cudnn.destroyTensor, biasDesc);
        if (biasFused()) CudaDriver.call(cudnn.destroyActivation, activationDesc);
        CudaDriver.call(cudnn.destroyFilter, wDesc);
        CudaDriver.call(cudnn.destroyConv, convDesc);
        arena.close();
    }
}
