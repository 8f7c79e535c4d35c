package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.logging.Logger;

/**
 * Lowers Conv2d and TemporalConv: cuDNN, the implicit-GEMM tensor-core kernel (conv.cu), a plain GEMM for 1x1,
 * or im2col + cuBLASLt; see {@link #conv} for the choice. cuDNN's algorithm is searched at lowering time, on the
 * plan's own buffers (the activation arena and the weights exist before tasks are lowered) and in one workspace per
 * backend bounded by {@link #CUDNN_WORKSPACE_BYTES}: building a plan costs at most that bound beyond the plan's
 * buffers (the old allocating search took the device to 65 GiB), and the search runs once per distinct shape.
 */
final class ConvolutionLowering {
    private static final Logger LOG = Logger.getLogger(ConvolutionLowering.class.getName());
    private static final long IM2COL_CHUNK_BYTES = 256L << 20;

    private final TaskLowering base;
    private final CudaExecutionPlan plan;
    private final CudaBackend backend;
    private final DType act;
    private final TaskScratch scratch;

    ConvolutionLowering(TaskLowering base) {
        this.base = base;
        this.plan = base.plan;
        this.backend = base.backend;
        this.act = base.act;
        this.scratch = base.scratch;
    }

    /** Kernel sizes with an implicit-GEMM instantiation in conv.cu (conv_igemm_k{kh}x{kw}). */
    private static final java.util.Set<String> IGEMM_KERNELS = java.util.Set.of("3x3", "3x1", "1x1");

    /**
     * Bound on cuDNN's workspace: one buffer of this size per backend ({@link Cudnn#workspace}), shared by the search
     * and every cuDNN convolution of every plan (they all run on one stream). Its fast fp16 algorithms transpose x
     * and y to NHWC there: 576 MB at the UNet's 32 x 320 x 88x160, 922 MB at the VAE's 256-channel 704x1280 conv (at
     * 256 MB only a 25 TFLOP/s algorithm fitted). Larger batches are split into image groups that fit
     * ({@link CudnnConvolution#imagesPerCall}). Tests lower it with i2vgen.cuda.cudnnWorkspaceBytes to exercise the split.
     */
    static final long CUDNN_WORKSPACE_BYTES = 1L << 30;

    private static long cudnnWorkspaceBytes() { return Long.getLong("i2vgen.cuda.cudnnWorkspaceBytes", CUDNN_WORKSPACE_BYTES); }

    /**
     * Convolution strategy: in fp16/bf16, cuDNN 9 (when installed) where {@link #preferCudnn} says so and the padding
     * is symmetric (cuDNN cannot pad only right/bottom: the VAE's downsampler falls back); a 1x1 stride-1 unpadded
     * conv is a plain batched GEMM on x itself (no im2col); in fp16/bf16 the other sizes in {@link #IGEMM_KERNELS}
     * take the implicit-GEMM tensor-core kernel with the bias fused; everything else (and fp32, whose results must
     * match the JVM reference closely: never cuDNN) im2col + GEMM. The property i2vgen.cuda.conv: unset or =auto
     * lets {@link #preferCudnn} and {@link #preferImplicitGemm} decide; =builtin is auto without cuDNN (the
     * default before cuDNN, for A/B runs); =cudnn forces cuDNN wherever it applies, =im2col the old path, =igemm the
     * implicit GEMM wherever it applies (benchmarks and tests). Without cuDNN installed auto silently is builtin
     * (one INFO line when the backend first looks for the library). i2vgen.cuda.cudnnBias: see {@link #cudnnConv}.
     */
    void conv(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                      int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        // cuDNN is the default since its search allocates nothing beyond the capped workspace: 1.6–3.0x per conv,
        // UNet step −15 %, VAE decode −9 … −21 % in a same-jar A/B (docs/cuda-performance-notes.md §7).
        String mode = System.getProperty("i2vgen.cuda.conv", "auto");
        if ((mode.equals("cudnn") || (mode.equals("auto") && preferCudnn(images, c, oh, ow, o, kh, kw)))
                && cudnnConv(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out)) return;
        if (mode.equals("cudnn") || mode.equals("builtin")) mode = "auto";   // where cuDNN does not apply, or =builtin: auto without cuDNN
        // the 1x1 GEMM applies in every mode but =im2col (auto sent 1x1 through im2col before: a plain copy, 6 ms a UNet step)
        boolean im2colOnly = mode.equals("im2col");
        if (!im2colOnly && kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padT == 0 && padL == 0 && oh == h && ow == w) {
            long pixels = (long) h * w;
            if (pixels < Integer.MAX_VALUE) {
                base.gemm("conv 1x1", o, (int) pixels, c, false, 0, c * pixels, o * pixels, images, 1f, weight, x, out, 0);
                if (bias != 0) biasChannel(out, bias, (long) images * o * pixels, o, pixels);
                return;
            }
        }
        long columns = (long) images * oh * ow, perImage = (long) c * h * w;
        boolean implicitGemm = !im2colOnly && (mode.equals("igemm") || preferImplicitGemm(images, c, oh, ow, o, kh, kw));
        if (implicitGemm && act != DType.F32 && IGEMM_KERNELS.contains(kh + "x" + kw)
                && columns < Integer.MAX_VALUE - 128 && perImage < Integer.MAX_VALUE && (long) c * kh * kw < Integer.MAX_VALUE
                && h < (1 << 20) && padT <= kh && padL <= kw) {   // the kernel's 32-bit offsets and row sentinel
            implicitGemmConv(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
            return;
        }
        im2colConv(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
    }

    /**
     * Where auto takes cuDNN: every 3x3 conv (with the bias fused, on the H100: UNet 320/640/1280 ch 2.1–2.3x faster
     * than im2col + cuBLASLt, VAE 256/512 ch 1.6–3.0x, the VAE's 128-channel 704x1280 level 2.0x over the implicit
     * GEMM; only the VAE's 4-channel conv_in is 13 µs slower), and the temporal (3,1) conv when it reaches this class
     * (TaskLowering lowers TemporalConv as GEMMs itself; cuDNN measured +10 % at 320 ch, −4 % at 1280 ch against
     * im2col). 1x1 stays a plain GEMM, other kernel sizes (the 14x14 patch conv) keep the built-in paths.
     */
    private static boolean preferCudnn(int images, int c, int oh, int ow, int o, int kh, int kw) {
        return kh == 3 && (kw == 3 || kw == 1);
    }

    /**
     * The convolution through cuDNN, the bias in its epilogue where cuDNN can fuse it (13 % faster than a separate
     * add at the UNet's 320-channel conv), else by cudnnAddTensor (i2vgen.cuda.cudnnBias=add forces that, =kernel
     * our channel-bias kernel); false (nothing planned) when it does not apply: fp32 (kept on the exact path for
     * conformance), cuDNN absent, asymmetric padding (symmetric padding gives a different output size, or the same results when the
     * extra row/column is never read), operands not 16-byte aligned, or no algorithm within
     * {@link #CUDNN_WORKSPACE_BYTES}. The search runs here, at lowering time (never during graph capture), on x,
     * weight and out themselves: the plan's arena and weights are allocated before tasks are lowered, and nothing
     * has run yet, so overwriting out is harmless. A batch whose NHWC copies exceed the bound runs as several calls.
     */
    private boolean cudnnConv(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                              int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        CudnnConvolution conv = planCudnn(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
        if (conv == null) return false;
        addCudnnSteps(conv, x, weight, bias, out, (long) images * o * oh * ow, o, (long) oh * ow, kh, kw);
        return true;
    }

    /** {@link #cudnnConv}'s plan (the search runs here), or null where cuDNN does not apply; adds no step. */
    private CudnnConvolution planCudnn(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                                       int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        if (act == DType.F32) return null;
        boolean symmetric = oh == (h + 2 * padT - kh) / strideH + 1 && ow == (w + 2 * padL - kw) / strideW + 1;
        if (!symmetric || ((x | weight | out | bias) & 15) != 0) return null;
        var cudnn = backend.cudnn();
        if (cudnn.isEmpty()) return null;
        // bias: fused into the conv where cuDNN can (default), =add cudnnAddTensor, =kernel our bias_channel kernel
        String biasMode = System.getProperty("i2vgen.cuda.cudnnBias", "fused");
        long cudnnBias = biasMode.equals("kernel") ? 0 : bias;
        var g = new CudnnConvolution.Geometry(images, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow);
        return CudnnConvolution.plan(cudnn.get(), backend.driver, act, g, cudnnBias, biasMode.equals("fused"),
                x, weight, out, cudnnWorkspaceBytes(), backend.stream);
    }

    /** The steps of a conv planned by {@link #planCudnn}: the conv (bias fused), else cuDNN's or our bias pass. */
    private void addCudnnSteps(CudnnConvolution conv, long x, long weight, long bias, long out, long n, int o, long pixels, int kh, int kw) {
        plan.addResource(conv);
        long cudnnBias = "kernel".equals(System.getProperty("i2vgen.cuda.cudnnBias")) ? 0 : bias;
        long workspace = backend.cudnn().orElseThrow().workspace(backend.driver, cudnnWorkspaceBytes());
        plan.addStep(conv.biasFused() ? "cudnn conv+bias " + kh + "x" + kw : "cudnn conv " + kh + "x" + kw,
                stream -> conv.run(x, weight, cudnnBias, out, workspace, stream));
        if (cudnnBias != 0 && !conv.biasFused()) plan.addStep("cudnn bias", stream -> conv.addBias(bias, out, stream));
        else if (cudnnBias == 0 && bias != 0) biasChannel(out, bias, n, o, pixels);
    }

    /**
     * What the island's output transpose adds as it writes {@code d} instead of the conv's own output
     * (ResidualFusion's conv + Add pairs): {@code residual}, laid out like d, or one value of {@code rows} per
     * (image, channel) row picked by {@code broadcast}.
     */
    record IslandEpilogue(long d, long residual, long rows, dev.i2vgen.backend.TensorLayouts.RowBroadcast broadcast) {}

    /**
     * Whether a 3x3 Conv2d whose activations stay NCHW (no {@link ChannelsLastPlan} chain took it) runs as an NHWC
     * island ({@link ConvIsland}): both cuDNN plans are searched and both variants timed as they will run, on this
     * plan's buffers, at the first plan that asks for the shape (cached per shape, dtype and whether x arrives NHWC,
     * {@code nhwcInput}: then the island has no input permute to pay; never during a capture). Adds no step. Null where no island applies: i2vgen.cuda.convIslands=false (A/B),
     * channelsLast=false, i2vgen.cuda.conv other than auto, fp32, a non-constant weight, no cuDNN, unaligned
     * operands, a workspace too small for one image, or a shape cuDNN's NCHW search declines; =force makes every
     * island that cuDNN can plan win (tests).
     */
    ConvIsland islandDecision(dev.i2vgen.graph.Value weight, long x, boolean nhwcInput, int images, int c, int h, int w, int o, int kh, int kw,
                              int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        String mode = System.getProperty("i2vgen.cuda.convIslands", "auto");
        dev.i2vgen.graph.Value root = weight.root();
        if (mode.equals("false") || act == DType.F32 || "false".equals(System.getProperty("i2vgen.cuda.channelsLast"))
                || !System.getProperty("i2vgen.cuda.conv", "auto").equals("auto") || kh != 3 || kw != 3
                || root.kind() != dev.i2vgen.graph.Value.Kind.CONSTANT || root.numel() != weight.numel() || root.rank() != 4
                || System.getProperty("i2vgen.cuda.cudnnBias") != null) return null;
        var cudnnOpt = backend.cudnn();
        if (cudnnOpt.isEmpty() || ((x | out | bias) & 15) != 0) return null;
        Cudnn cudnn = cudnnOpt.get();
        int es = act.byteSize();
        var g = new CudnnConvolution.Geometry(images, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow);
        long bound = cudnnWorkspaceBytes();
        String key = act + " " + g + " ws " + bound + (nhwcInput ? " nhwc input " : " ") + mode;
        ConvIsland known = cudnn.knownIsland(key);
        if (known != null) return known;
        int group = ConvIsland.imagesPerGroup(g, es, bound);
        if (group == 0) return null;
        // the timings run on the backend's stream and in cuDNN's shared workspace: one at a time, between runs (this
        // is the compiling thread, whose context is current)
        return SearchOnce.knownOrSearched(backend.streamLock, () -> cudnn.knownIsland(key), () -> {
            // times both layouts on a temporary weight (values do not change the timing), so that only the winner's
            // weight copy (NCHW or KRSC) is ever uploaded; freed right after (the timing synchronises), not task scratch,
            // whose growth would stay allocated with the plan
            long searchWeight = backend.residentWeights.mallocEvicting(root.numel() * es);
            try {
                return timeIsland(key, mode, g, group, x, nhwcInput, searchWeight, bias, out);
            } finally {
                backend.driver.synchronize(backend.stream);   // nothing may still read it
                backend.driver.free(searchWeight);
            }
        });
    }

    /** {@link #islandDecision}'s search and timing on {@code searchWeight}; caches and returns the decision (null: no NCHW plan). */
    private ConvIsland timeIsland(String key, String mode, CudnnConvolution.Geometry g, int group, long x, boolean nhwcInput, long searchWeight,
                                  long bias, long out) {
        Cudnn cudnn = backend.cudnn().orElseThrow();
        int es = act.byteSize(), images = g.n(), c = g.c(), h = g.h(), w = g.w(), o = g.o(), kh = g.kh(), kw = g.kw();
        int strideH = g.strideH(), strideW = g.strideW(), padT = g.padH(), padL = g.padW(), oh = g.oh(), ow = g.ow();
        long bound = cudnnWorkspaceBytes();
        CudnnConvolution nchw = planCudnn(x, images, c, h, w, searchWeight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
        if (nchw == null) return null;
        long xBytes = ConvIsland.align((long) group * g.xImage() * es), yBytes = ConvIsland.align((long) group * g.yImage() * es);
        long convBound = (bound - xBytes - yBytes) / 256 * 256;
        long workspace = cudnn.workspace(backend.driver, bound);
        long islandX = workspace + convBound, islandY = islandX + xBytes;
        var gg = new CudnnConvolution.Geometry(group, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow);
        CudnnConvolution nhwc;
        try {
            nhwc = CudnnConvolution.plan(cudnn, backend.driver, act, gg, bias, true, islandX, searchWeight, islandY, convBound,
                    backend.stream, true);
        } catch (CudaException e) {   // a descriptor cuDNN rejects in NHWC: the NCHW conv stays
            LOG.info("no channels-last island for " + g + ": " + e.getMessage());
            nhwc = null;
        }
        int groups = images / group;
        float estimate = nhwc == null ? Float.NaN
                : nhwc.choice().millis() * nhwc.calls() * groups + ConvIsland.permuteMillis(g, es, groups);
        float nchwMs = Float.NaN, islandMs = Float.NaN;
        try {
            if (nhwc != null) {
                // both variants as they will run (bias epilogue and permutes included), on these buffers, now: FindEx's
                // NCHW time leaves out 10–20 % that the fused-bias call costs (H100, notes §14)
                try {
                    nchwMs = timeSteps(cudnnSteps(nchw, x, searchWeight, bias, out, workspace));
                    islandMs = timeSteps(islandSteps(nhwc, g, group, x, nhwcInput, searchWeight, bias, out, null, islandX, islandY, workspace));
                } catch (CudaException e) {
                    LOG.info("timing the channels-last island of " + g + " failed: " + e.getMessage());
                }
            }
        } finally {
            nchw.close();
            if (nhwc != null) nhwc.close();
        }
        boolean island = nhwc != null && (mode.equals("force") || ConvIsland.wins(nchwMs, islandMs));
        ConvIsland decision = new ConvIsland(island, group, nchwMs, islandMs, estimate);
        cudnn.rememberIsland(key, decision);
        LOG.fine(() -> "conv " + act + " " + g + ": " + decision);
        return decision;
    }

    /**
     * The 3x3 Conv2d as an NHWC island where {@link #islandDecision} chose one: per image group, x → NHWC in the tail
     * of the cuDNN workspace (or read in place when {@code nhwcInput}: its producer, a GroupNorm, already wrote the
     * buffer channels-last), cuDNN's NHWC conv (KRSC weight, bias fused) into the tail, → NCHW into out, or with an
     * {@code epilogue} into its d with the residual added. Adds the steps and answers true; false (no step added)
     * where the decision is NCHW or none, or cuDNN declines the NHWC plan now: the caller's usual lowering then runs.
     */
    boolean convIsland(dev.i2vgen.graph.Value weight, long x, boolean nhwcInput, int images, int c, int h, int w, int o, int kh, int kw,
                       int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out, IslandEpilogue epilogue) {
        ConvIsland decision = islandDecision(weight, x, nhwcInput, images, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
        if (decision == null || !decision.island()) return false;   // NCHW measured faster: the usual path (its search is cached)
        Cudnn cudnn = backend.cudnn().orElseThrow();
        int es = act.byteSize(), group = decision.imagesPerGroup();
        dev.i2vgen.graph.Value root = weight.root();
        var g = new CudnnConvolution.Geometry(images, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow);
        long bound = cudnnWorkspaceBytes();
        long krsc = plan.constantPointer(root, "krsc", root.numel() * es, this::uploadKrsc);
        long xBytes = ConvIsland.align((long) group * g.xImage() * es), yBytes = ConvIsland.align((long) group * g.yImage() * es);
        long convBound = (bound - xBytes - yBytes) / 256 * 256;
        long workspace = cudnn.workspace(backend.driver, bound);
        long islandX = workspace + convBound, islandY = islandX + xBytes;   // the tail: disjoint from the conv's [0, convBound)
        var gg = new CudnnConvolution.Geometry(group, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow);
        CudnnConvolution conv;
        try {
            conv = CudnnConvolution.plan(cudnn, backend.driver, act, gg, bias, true, islandX, krsc, islandY, convBound, backend.stream, true);
        } catch (CudaException e) {
            conv = null;
        }
        if (conv == null) return false;   // cuDNN declined the NHWC shape this time (workspace): the usual path
        plan.addResource(conv);
        for (var step : islandSteps(conv, g, group, x, nhwcInput, krsc, bias, out, epilogue, islandX, islandY, workspace))
            plan.addStep(step.getKey(), step.getValue());
        return true;
    }

    /** The NCHW cuDNN conv's steps with the bias fused or added by cuDNN (convIsland excludes =kernel), not added. */
    private static java.util.List<java.util.Map.Entry<String, CudaExecutionPlan.Step>> cudnnSteps(CudnnConvolution conv, long x,
                                                                                                long weight, long bias, long out, long workspace) {
        var steps = new java.util.ArrayList<java.util.Map.Entry<String, CudaExecutionPlan.Step>>();
        steps.add(java.util.Map.entry("cudnn conv", stream -> conv.run(x, weight, bias, out, workspace, stream)));
        if (bias != 0 && !conv.biasFused()) steps.add(java.util.Map.entry("cudnn bias", stream -> conv.addBias(bias, out, stream)));
        return steps;
    }

    /**
     * The island's steps, not added: per image group, x → NHWC into the workspace tail (none when {@code nhwcInput}:
     * the group's NHWC slice of x is read in place), the NHWC conv (bias fused or cudnnAddTensor), → NCHW into out, or
     * with an {@code epilogue} into its d with the residual or the rows added in the same pass.
     */
    private java.util.List<java.util.Map.Entry<String, CudaExecutionPlan.Step>> islandSteps(CudnnConvolution conv,
            CudnnConvolution.Geometry g, int group, long x, boolean nhwcInput, long krsc, long bias, long out, IslandEpilogue epilogue,
            long islandX, long islandY, long workspace) {
        int es = act.byteSize();
        var steps = new java.util.ArrayList<java.util.Map.Entry<String, CudaExecutionPlan.Step>>();
        for (int i = 0; i < g.n() / group; i++) {
            long xi = x + (long) i * group * g.xImage() * es, yOffset = (long) i * group * g.yImage() * es;
            long convX = nhwcInput ? xi : islandX;
            if (!nhwcInput) steps.add(TiledTransposes.permuteStep(base, xi, new int[]{group, g.c(), g.h(), g.w()}, TiledTransposes.TO_NHWC, islandX));
            steps.add(java.util.Map.entry(conv.biasFused() ? "cudnn island conv+bias 3x3" : "cudnn island conv 3x3",
                    stream -> conv.run(convX, krsc, bias, islandY, workspace, stream)));
            if (bias != 0 && !conv.biasFused()) steps.add(java.util.Map.entry("cudnn island bias", stream -> conv.addBias(bias, islandY, stream)));
            int[] nhwcShape = {group, g.oh(), g.ow(), g.o()};
            if (epilogue == null) {
                steps.add(TiledTransposes.permuteStep(base, islandY, nhwcShape, TiledTransposes.TO_NCHW, out + yOffset));
            } else if (epilogue.broadcast() == null) {
                steps.add(TiledTransposes.transposeAddStep(base, islandY, nhwcShape, epilogue.d() + yOffset, epilogue.residual() + yOffset));
            } else {
                var b = epilogue.broadcast();
                steps.add(TiledTransposes.transposeAddRowsStep(base, islandY, nhwcShape, epilogue.d() + yOffset, epilogue.rows(),
                        (long) i * group * g.o(), b.period(), b.repeat()));
            }
        }
        return steps;
    }

    /**
     * Milliseconds of {@code steps} on the backend's stream, the best of 3 after a warm-up (events around each run),
     * at plan build, the stream lock held ({@link #islandDecision}): nothing is capturing or running there, and the
     * buffers' values do not matter (out is rewritten by every run).
     */
    private float timeSteps(java.util.List<java.util.Map.Entry<String, CudaExecutionPlan.Step>> steps) {
        CudaDriver driver = backend.driver;
        MemorySegment stream = backend.stream;
        MemorySegment start = driver.createEvent(), end = driver.createEvent();
        try {
            for (var s : steps) s.getValue().run(stream);
            float best = Float.MAX_VALUE;
            for (int r = 0; r < 3; r++) {
                driver.record(start, stream);
                for (var s : steps) s.getValue().run(stream);
                driver.record(end, stream);
                driver.synchronize(stream);
                best = Math.min(best, driver.elapsedMillis(start, end));
            }
            return best;
        } finally {
            driver.destroyEvent(start);
            driver.destroyEvent(end);
        }
    }

    /**
     * The convolution on channels-last x and out ([N, H, W, C] and [N, OH, OW, O], {@link ChannelsLastPlan}): cuDNN with
     * NHWC descriptors and a KRSC copy of the constant {@code weight} (uploaded once per backend under the layout tag
     * "krsc", shared like every resident weight), the bias fused where cuDNN can, else cudnnAddTensor (a [1, O, 1, 1]
     * bias is the same bytes in either layout). A non-zero {@code residual} (NHWC like out, disjoint from it:
     * ResidualFusion's conv + Add pairs) is added too: in the same epilogue where cuDNN can (alpha2 = 1), else by an
     * in-place add after it. False, having added no step, when cuDNN declines (the caller then runs the NCHW path
     * between two conversions). At the VAE decoder's shapes 1.2–2.8x faster than NCHW (notes section 12).
     */
    boolean cudnnConvChannelsLast(dev.i2vgen.graph.Value weight, long x, int images, int c, int h, int w, int o, int kh, int kw,
                                  int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out, long residual) {
        var cudnn = backend.cudnn();
        if (act == DType.F32 || cudnn.isEmpty() || ((x | out | bias | residual) & 15) != 0) return false;
        dev.i2vgen.graph.Value root = weight.root();
        long krsc = plan.constantPointer(root, "krsc", root.numel() * act.byteSize(), this::uploadKrsc);
        // the bias: fused, or cudnnAddTensor with i2vgen.cuda.cudnnBias=add (bias_channel is NCHW-only: =kernel adds too)
        boolean fuse = !"add".equals(System.getProperty("i2vgen.cuda.cudnnBias"));
        var g = new CudnnConvolution.Geometry(images, c, h, w, o, kh, kw, strideH, strideW, padT, padL, oh, ow);
        long bound = cudnnWorkspaceBytes();
        CudnnConvolution conv = CudnnConvolution.plan(cudnn.get(), backend.driver, act, g, bias, fuse, x, krsc, out, bound,
                backend.stream, true);
        if (conv == null) return false;
        plan.addResource(conv);
        long workspace = cudnn.get().workspace(backend.driver, bound);
        boolean added = residual != 0 && conv.addResidual(backend.driver, x, krsc, bias, out, residual, workspace, backend.stream);
        plan.addStep((added ? "cudnn nhwc conv+bias+add " : conv.biasFused() ? "cudnn nhwc conv+bias " : "cudnn nhwc conv ") + kh + "x" + kw,
                stream -> conv.run(x, krsc, bias, out, residual, workspace, stream));
        if (bias != 0 && !conv.biasFused()) plan.addStep("cudnn nhwc bias", stream -> conv.addBias(bias, out, stream));
        if (residual != 0 && !added) base.binarySame(dev.i2vgen.graph.ops.Binary.Kind.ADD, out, residual, out, (long) images * o * oh * ow);
        return true;
    }

    /**
     * weight[O, C, kh, kw] on the host → [O, kh, kw, C] in the storage dtype on the device (cuDNN's NHWC filter): the
     * host repack (a strided copy, seconds for the UNet's 3×3 convs) runs on the upload thread where there is one.
     */
    private void uploadKrsc(dev.i2vgen.graph.Value root, long pointer) {
        plan.build().uploadInBackground(root.constant().permute(0, 2, 3, 1), plan.storageType(root), pointer);
    }

    /**
     * Where the implicit GEMM measured faster than im2col + cuBLASLt (docs/cuda-performance-notes.md, section 3):
     * 3x3 convs with at most 128 input channels (the VAE's 704x1280 level: 2.09 vs 2.75 ms, and its im2col
     * scratch would be 2 GB per image). With more channels cuBLASLt's GEMM outruns this mma.sync kernel
     * (120–150 vs 190–375 TFLOP/s), so those keep im2col (at the cost of a larger scratch; =igemm bounds it).
     */
    private static boolean preferImplicitGemm(int images, int c, int oh, int ow, int o, int kh, int kw) {
        return kh == 3 && kw == 3 && c <= 128;
    }

    /** conv.cu: one launch over all images, 128 out channels x 128 output pixels per block. */
    private void implicitGemmConv(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                                  int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        long columns = (long) images * oh * ow;
        int kdim = c * kh * kw;
        int vecWeights = kdim % 8 == 0 && (weight & 15) == 0 ? 1 : 0;   // 16-byte weight row chunks
        base.launch("conv", "conv_igemm_k" + kh + "x" + kw, (int) ((columns + 127) / 128), (o + 127) / 128, 256, 0,
                base.args().ptr(x).ptr(weight).ptr(bias).ptr(out).i32(images).i32(c).i32(h).i32(w).i32(o)
                        .i32(strideH).i32(strideW).i32(padT).i32(padL).i32(oh).i32(ow).i32(vecWeights));
    }

    /**
     * out[n, c, p] += bias[c]: binary_rows_vec (16-byte vectors; bias[c] is row (n·C + c)'s value with period C and
     * repeat N) where the rows and pointers allow (the 1x1 convs' 0.53 ms pass at 32 x 320 x 88x160 ran at 1.1 TB/s
     * in the scalar kernel), else the element-wise bias_channel.
     */
    private void biasChannel(long out, long bias, long n, long channels, long pixels) {
        int vec = VectorAccess.MAX_BYTES / act.byteSize();
        if (VectorAccess.enabled() && pixels % vec == 0 && VectorAccess.width(act.byteSize(), pixels, out) == vec) {
            long images = n / (channels * pixels);
            base.launch("elementwise", "binary_rows_vec", TaskLowering.grid(n / vec), 1, TaskLowering.BLOCK, 0,
                    base.args().ptr(out).ptr(bias).ptr(out).i64(n).i64(pixels).i64(channels).i64(images)
                            .i32(dev.i2vgen.graph.ops.Binary.Kind.ADD.ordinal()).i32(0));
            return;
        }
        base.launch("elementwise", "bias_channel", TaskLowering.grid(n), 1, TaskLowering.BLOCK, 0, base.args().ptr(out).ptr(bias).i64(n).i64(channels).i64(pixels));
    }

    /** im2col over chunks of images, then per chunk a batched GEMM out[n] = W[O, C·kh·kw] · col[n], then the bias. */
    private void im2colConv(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                            int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        long kdim = (long) c * kh * kw, pixels = (long) oh * ow;
        long perImage = kdim * pixels * act.byteSize();
        int chunk = (int) Math.max(1, Math.min(images, IM2COL_CHUNK_BYTES / Math.max(1, perImage)));
        if (kdim * pixels >= Integer.MAX_VALUE) throw new IllegalArgumentException("convolution of " + kdim * pixels + " im2col elements per image exceeds the 32-bit kernel indices");
        long col = scratch.take(perImage * chunk);
        int es = act.byteSize();
        for (int n0 = 0; n0 < images; n0 += chunk) {
            int count = Math.min(chunk, images - n0);
            long rows = count * kdim * oh;
            base.launchBlock2d("layout", "im2col", (int) Math.max(1, Math.min((rows + 7) / 8, 1 << 20)), 32, 8,
                    base.args().ptr(x + (long) n0 * c * h * w * es).ptr(col).i32(count).i32(c).i32(h).i32(w).i32(kh).i32(kw)
                            .i32(strideH).i32(strideW).i32(padT).i32(padL).i32(oh).i32(ow));
            base.gemm(kh * kw == 1 ? "conv 1x1" : kw == 1 ? "temporal conv" : "conv " + kh + "x" + kw, o, (int) pixels, (int) kdim, false, 0, kdim * pixels, o * pixels, count, 1f,
                    weight, col, out + (long) n0 * o * pixels * es, 0);
        }
        if (bias != 0) biasChannel(out, bias, (long) images * o * pixels, o, pixels);
    }
}
