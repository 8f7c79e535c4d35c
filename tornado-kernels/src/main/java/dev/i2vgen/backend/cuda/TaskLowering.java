package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.TensorLayouts;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.*;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Turns each task into prepared kernel launches or cuBLASLt calls on fixed device pointers. Kernels
 * read and write the activation dtype; an operand stored in another dtype is first converted into a
 * staging buffer. Convolutions: see {@link #conv} (cuDNN or implicit GEMM on tensor cores in fp16/bf16, im2col + GEMM otherwise).
 */
final class TaskLowering {
    private static final int BLOCK = 256;
    private static final int MAX_RANK = 8;
    private static final long IM2COL_CHUNK_BYTES = 256L << 20;
    private static final int ATT_WARPS = 8, ATT_TILE = 32, ATT_MAX_DV = 512;
    private static final String FLASH_WIDE = "8x64";   // measured best of 4x64/8x64/4x128/8x128 (docs/cuda-performance-notes.md)
    private static final java.util.Set<Integer> FLASH_HEAD_DIMS = java.util.Set.of(64, 80, 128);
    /** Bound on the score scratch of the chunked GEMM attention (property for tests that want many chunks). */
    private static long scoreChunkBytes() { return Long.getLong("i2vgen.cuda.attentionScoreBytes", 128L << 20); }

    private final CudaExecutionPlan plan;
    private final CudaBackend backend;
    private final DType act;
    private final TaskScratch scratch;

    TaskLowering(CudaExecutionPlan plan) {
        this.plan = plan;
        this.backend = plan.backend();
        this.act = plan.activation();
        this.scratch = new TaskScratch(plan::allocateExtra);
    }

    void lower(Task t) {
        scratch.beginTask();
        Value out = t.output();
        switch (t.op()) {
            case Unary u -> elementwise("unary", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), u.kind().ordinal()});
            case Affine a -> elementwise("affine", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), a.scale(), a.shift()});
            case Clamp c -> elementwise("clamp", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), c.min(), c.max()});
            case Binary b -> binary(t, b);
            case Geglu g -> {
                long d = out.dim(-1);
                elementwise("geglu", t, new Object[]{operand(t.input(0)), ptr(out), out.numel() / d, d});
            }
            case CfgCombine c -> elementwise("cfg_combine", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), c.guidance()});
            case DdimStep d -> {
                Value coef = t.input(2);
                long noise = t.input(3) == null ? 0 : operand(t.input(3));
                elementwise("ddim_step", t, new Object[]{operand(t.input(0)), operand(t.input(1)), ptr(coef), dtypeCode(coef),
                        noise, ptr(out), out.numel()});
            }
            case Cast c -> convert(t.input(0), ptr(t.input(0)), ptr(out), plan.storageType(out), out.numel());
            case LayerNorm ln -> {
                long d = out.dim(-1);
                launch("normalization", "layer_norm", (int) (out.numel() / d), 1, reductionBlock(d), 0,
                        args().ptr(operand(t.input(0))).ptr(operand(t.input(1))).ptr(operand(t.input(2))).ptr(ptr(out)).i64(d).f32(ln.eps()));
            }
            case GroupNorm gn -> {
                int n = out.dim(0), c = out.dim(1);
                long inner = out.numel() / ((long) n * c);
                long len = c / gn.groups() * inner;
                // enough blocks for the whole GPU (>= 1024), chunks of at least 8,192 elements
                int chunks = (int) Math.max(1, Math.min(Math.min(len / 8192, 256), (1024 + (long) n * gn.groups() - 1) / ((long) n * gn.groups())));
                if (chunks > 1) {
                    long partials = scratch.take((long) n * gn.groups() * chunks * 3 * 4);
                    long xp = operand(t.input(0));
                    launch("normalization", "group_norm_partial", n * gn.groups() * chunks, 1, 256, 0,
                            args().ptr(xp).ptr(partials).i64(len).i32(chunks));
                    launch("normalization", "group_norm_apply", n * gn.groups() * chunks, 1, 256, 0,
                            args().ptr(xp).ptr(operand(t.input(1))).ptr(operand(t.input(2))).ptr(ptr(out)).ptr(partials)
                                    .i32(c).i32(gn.groups()).i64(inner).f32(gn.eps()).i32(gn.silu() ? 1 : 0).i32(chunks));
                } else {
                    launch("normalization", "group_norm", n * gn.groups(), 1, reductionBlock(len), 0,
                            args().ptr(operand(t.input(0))).ptr(operand(t.input(1))).ptr(operand(t.input(2))).ptr(ptr(out))
                                    .i32(c).i32(gn.groups()).i64(inner).f32(gn.eps()).i32(gn.silu() ? 1 : 0));
                }
            }
            case Softmax s -> {
                long d = out.dim(-1);
                launch("normalization", "softmax", (int) (out.numel() / d), 1, reductionBlock(d), 0,
                        args().ptr(operand(t.input(0))).ptr(ptr(out)).i64(d));
            }
            case TimestepEmbedding te -> launch("layout", "timestep_embedding", grid(out.numel()), 1, BLOCK, 0,
                    args().ptr(ptr(t.input(0))).i32(dtypeCode(t.input(0))).ptr(ptr(out)).i32(out.dim(0)).i32(te.dim())
                            .i32(te.flipSinToCos() ? 1 : 0).f32(te.downscaleFreqShift()).f32(te.scale()).f32((float) Math.log(te.maxPeriod())));
            case Embedding e -> {
                Value table = t.input(0), ids = t.input(1);
                long d = table.dim(1);
                launch("layout", "embedding", grid(out.numel()), 1, BLOCK, 0,
                        args().ptr(operand(table)).ptr(ptr(ids)).i32(dtypeCode(ids)).ptr(ptr(out)).i64(ids.numel()).i64(table.dim(0)).i64(d));
            }
            case Concat c -> concat(t, c);
            case Slice s -> slice(t, s);
            case Permute p -> permute(t, p);
            case UpsampleNearest u -> {
                Value x = t.input(0);
                launch("layout", "upsample_nearest", grid(out.numel()), 1, BLOCK, 0,
                        args().ptr(operand(x)).ptr(ptr(out)).i64((long) x.dim(0) * x.dim(1)).i32(x.dim(2)).i32(x.dim(3)).i32(u.outH()).i32(u.outW()));
            }
            case Linear l -> {
                Value x = t.input(0), w = t.input(1);
                int k = x.dim(-1), n = w.dim(0);
                int m = (int) (x.numel() / k);
                long bias = t.input(2) == null ? 0 : operand(t.input(2));
                gemm("linear", m, n, k, true, 0, 0, 0, 1, 1f, operand(x), operand(w), ptr(out), bias);
            }
            case MatMul mm -> {
                Value a = t.input(0), b = t.input(1);
                int m = a.dim(-2), k = a.dim(-1), n = mm.transposeB() ? b.dim(-2) : b.dim(-1);
                int batch = (int) (a.numel() / ((long) m * k));
                gemm("matmul", m, n, k, mm.transposeB(), (long) m * k, b.rank() == 2 ? 0 : (long) k * n, (long) m * n, batch, mm.alpha(),
                        operand(a), operand(b), ptr(out), 0);
            }
            case Conv2d c -> {
                Value x = t.input(0), w = t.input(1);
                conv(operand(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), operand(w), w.dim(0), w.dim(2), w.dim(3),
                        c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3),
                        t.input(2) == null ? 0 : operand(t.input(2)), ptr(out));
            }
            case TemporalConv tc -> {
                // a (k x 1) 2-D convolution over [B, C, F, H*W]
                Value x = t.input(0), w = t.input(1);
                int k = w.dim(2), pad = (k - 1) / 2, hw = x.dim(3) * x.dim(4);
                conv(operand(x), x.dim(0), x.dim(1), x.dim(2), hw, operand(w), w.dim(0), k, 1, 1, 1, pad, 0, x.dim(2), hw,
                        t.input(2) == null ? 0 : operand(t.input(2)), ptr(out));
            }
            case Attention a -> attention(t, a);
            default -> throw new UnsupportedOperationException("op " + t.op().name() + " (" + t.op().getClass().getSimpleName() + ") has no CUDA kernel");
        }
    }

    // ---- helpers ----

    private long ptr(Value v) { return plan.pointer(v); }

    private KernelLaunch.Args args() { return new KernelLaunch.Args(plan.hostArena); }

    private static int grid(long n) { return (int) Math.max(1, Math.min((n + BLOCK - 1) / BLOCK, 65536L * 4)); }

    private static int reductionBlock(long len) { return len >= 4096 ? 1024 : len >= 512 ? 256 : 128; }

    static int dtypeCode(DType t) {
        return switch (t) {
            case F32 -> 0; case F16 -> 1; case BF16 -> 2; case F64 -> 3; case I64 -> 4;
            case I32 -> 5; case I16 -> 6; case I8 -> 7; case U8, BOOL -> 8;
        };
    }

    private int dtypeCode(Value v) { return dtypeCode(plan.storageType(v)); }

    /** The value's pointer in the activation dtype: itself, or a staging copy converted before each run. */
    private long operand(Value v) {
        DType type = plan.storageType(v);
        if (type == act) return ptr(v);
        long staged = scratch.take(v.numel() * act.byteSize());
        convert(v, ptr(v), staged, act, v.numel());
        return staged;
    }

    private void convert(Value from, long src, long dst, DType target, long n) {
        launch("elementwise", "convert", grid(n), 1, BLOCK, 0,
                args().ptr(src).i32(dtypeCode(from)).ptr(dst).i32(dtypeCode(target)).i64(n));
    }

    private void launch(String family, String kernel, int gx, int gy, int block, int shared, KernelLaunch.Args a) {
        MemorySegment f = backend.kernels.function(family, kernel, act);
        KernelLaunch l = KernelLaunch.of(kernel, f, gx, gy, block, shared, a);
        plan.addStep(kernel, stream -> l.run(backend.driver, stream));
    }

    private void launchBlock2d(String family, String kernel, int gx, int bx, int by, KernelLaunch.Args a) {
        MemorySegment f = backend.kernels.function(family, kernel, act);
        KernelLaunch l = KernelLaunch.of(kernel, f, gx, 1, 1, bx, by, 0, a);
        plan.addStep(kernel, stream -> l.run(backend.driver, stream));
    }

    /** Grid-stride element-wise launch; the last argument before the scalars is the element count (args[2] or later). */
    private void elementwise(String kernel, Task t, Object[] values) {
        KernelLaunch.Args a = args();
        for (Object o : values) {
            switch (o) {
                case Long l -> a.i64(l);
                case Integer i -> a.i32(i);
                case Float f -> a.f32(f);
                default -> throw new IllegalStateException("argument " + o);
            }
        }
        launch("elementwise", kernel, grid(t.output().numel()), 1, BLOCK, 0, a);
    }

    private void binary(Task t, Binary b) {
        Value x = t.input(0), y = t.input(1), out = t.output();
        int rank = out.rank();
        if (rank > MAX_RANK) throw new IllegalArgumentException("rank " + rank + " > " + MAX_RANK);
        if (x.numel() == out.numel() && y.numel() == out.numel()) {   // no broadcasting: skip the index decoding
            launch("elementwise", "binary_same", grid(out.numel()), 1, BLOCK, 0,
                    args().ptr(operand(x)).ptr(operand(y)).ptr(ptr(out)).i64(out.numel()).i32(b.kind().ordinal()));
            return;
        }
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) dims[i] = out.dim(i);
        launch("elementwise", "binary", grid(out.numel()), 1, BLOCK, 0,
                args().ptr(operand(x)).ptr(operand(y)).ptr(ptr(out)).i64(out.numel()).i32(b.kind().ordinal())
                        .rankedStruct(MAX_RANK, rank, dims, TensorLayouts.broadcastStrides(x.shape(), rank), TensorLayouts.broadcastStrides(y.shape(), rank)));
    }

    private void concat(Task t, Concat c) {
        List<Value> parts = t.inputs();
        List<TensorLayouts.RowCopy> rows = TensorLayouts.concatRows(t.output().shape(), parts.stream().map(Value::shape).toList(), c.axis());
        for (int i = 0; i < parts.size(); i++) copyRows(operand(parts.get(i)), ptr(t.output()), rows.get(i));
    }

    private void slice(Task t, Slice s) {
        Value x = t.input(0);
        copyRows(operand(x), ptr(t.output()), TensorLayouts.sliceRows(x.shape(), s.axis(), s.start(), s.end()));
    }

    private void copyRows(long src, long dst, TensorLayouts.RowCopy r) {
        launch("layout", "copy_rows", grid(r.rows() * r.length()), 1, BLOCK, 0,
                args().ptr(src).i64(r.srcRow()).i64(r.srcOffset()).ptr(dst).i64(r.dstRow()).i64(r.dstOffset()).i64(r.rows()).i64(r.length()));
    }

    private void permute(Task t, Permute p) {
        Value x = t.input(0), out = t.output();
        int rank = out.rank();
        if (rank > MAX_RANK) throw new IllegalArgumentException("rank " + rank + " > " + MAX_RANK);
        long[] strides = TensorLayouts.permutedStrides(x.shape(), p.perm());
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) dims[i] = out.dim(i);
        launch("layout", "permute", grid(out.numel()), 1, BLOCK, 0,
                args().ptr(operand(x)).ptr(ptr(out)).i64(out.numel()).rankedStruct(MAX_RANK, rank, dims, strides));
    }

    private void gemm(String what, int m, int n, int k, boolean transposeB, long strideA, long strideB, long strideC, int batch,
                      float alpha, long a, long b, long c, long bias) {
        CublasLt.Gemm g = backend.cublas.plan(act, m, n, k, transposeB, strideA, strideB, strideC, batch, alpha, a, b, c, bias);
        plan.addResource(g);
        plan.addStep("gemm " + what, stream -> g.run(backend.workspace, stream));
    }

    /** Kernel sizes with an implicit-GEMM instantiation in conv.cu (conv_igemm_k{kh}x{kw}). */
    private static final java.util.Set<String> IGEMM_KERNELS = java.util.Set.of("3x3", "3x1", "1x1");

    /**
     * Bound on a cuDNN algorithm's workspace (taken from the task scratch). Its fast fp16 algorithms transpose x and y
     * to NHWC there: 576 MB at the UNet's 32 x 320 x 88x160 (at 256 MB only a 25 TFLOP/s algorithm fitted).
     */
    private static final long CUDNN_WORKSPACE_BYTES = 1L << 30;

    /**
     * Convolution strategy: in fp16/bf16, cuDNN 9 (when installed) where {@link #preferCudnn} says it measured
     * faster and the padding is symmetric (cuDNN cannot pad only right/bottom); a 1x1 stride-1 unpadded conv is a
     * plain batched GEMM on x itself (no im2col); in fp16/bf16 the other sizes in {@link #IGEMM_KERNELS} take the
     * implicit-GEMM tensor-core kernel with the bias fused; everything else (and fp32, whose results must match the
     * JVM reference closely) im2col + GEMM. The property i2vgen.cuda.conv=cudnn forces cuDNN wherever it applies,
     * =builtin the auto choice without cuDNN, =im2col the old path, =igemm the implicit GEMM wherever it applies
     * (benchmarks and tests); =auto lets {@link #preferCudnn} and {@link #preferImplicitGemm} decide; unset = builtin.
     */
    private void conv(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                      int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        // cuDNN is opt-in (=cudnn or =auto) until a whole-model A/B shows it helps: each conv measured 1.6–2.1x faster,
        // but the UNet step and the VAE decode were not faster in the runs so far (docs/cuda-performance-notes.md §4).
        String mode = System.getProperty("i2vgen.cuda.conv", "builtin");
        if ((mode.equals("cudnn") || (mode.equals("auto") && preferCudnn(images, c, oh, ow, o, kh, kw)))
                && cudnnConv(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out)) return;
        if (mode.equals("cudnn") || mode.equals("builtin")) mode = "auto";   // where cuDNN does not apply, or =builtin: auto without cuDNN
        boolean im2colOnly = mode.equals("im2col")
                || (mode.equals("auto") && !preferImplicitGemm(images, c, oh, ow, o, kh, kw));
        if (!im2colOnly && kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padT == 0 && padL == 0 && oh == h && ow == w) {
            long pixels = (long) h * w;
            if (pixels < Integer.MAX_VALUE) {
                gemm("conv 1x1", o, (int) pixels, c, false, 0, c * pixels, o * pixels, images, 1f, weight, x, out, 0);
                if (bias != 0) biasChannel(out, bias, (long) images * o * pixels, o, pixels);
                return;
            }
        }
        long columns = (long) images * oh * ow, perImage = (long) c * h * w;
        if (!im2colOnly && act != DType.F32 && IGEMM_KERNELS.contains(kh + "x" + kw)
                && columns < Integer.MAX_VALUE - 128 && perImage < Integer.MAX_VALUE && (long) c * kh * kw < Integer.MAX_VALUE
                && h < (1 << 20) && padT <= kh && padL <= kw) {   // the kernel's 32-bit offsets and row sentinel
            implicitGemmConv(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
            return;
        }
        im2colConv(x, images, c, h, w, weight, o, kh, kw, strideH, strideW, padT, padL, oh, ow, bias, out);
    }

    /**
     * Where cuDNN 9.14 measured faster than the built-in paths on the H100 (docs/cuda-performance-notes.md, cuDNN
     * section): 3x3 convs with more than 128 input channels, 1.6–2.1x (UNet 320/640/1280 ch, VAE 256/512 ch). The
     * temporal (3,1,1) conv was mixed (+10 % at 320 ch, −4 % at 1280 ch) and the 128-channel full-resolution VAE
     * conv was not measured: those keep the built-in paths, as does 1x1 (a plain GEMM already).
     */
    private static boolean preferCudnn(int images, int c, int oh, int ow, int o, int kh, int kw) {
        return kh == 3 && kw == 3 && c > 128;
    }

    /**
     * The convolution through cuDNN, bias by the channel-bias kernel; false (nothing planned) when it does not
     * apply: fp32 (kept on the exact path for conformance), cuDNN absent, asymmetric padding, operands not
     * 16-byte aligned, or no algorithm within {@link #CUDNN_WORKSPACE_BYTES}.
     */
    private boolean cudnnConv(long x, int images, int c, int h, int w, long weight, int o, int kh, int kw,
                              int strideH, int strideW, int padT, int padL, int oh, int ow, long bias, long out) {
        if (act == DType.F32) return false;
        boolean symmetric = oh == (h + 2 * padT - kh) / strideH + 1 && ow == (w + 2 * padL - kw) / strideW + 1;
        if (!symmetric || ((x | weight | out) & 15) != 0) return false;
        var cudnn = backend.cudnn();
        if (cudnn.isEmpty()) return false;
        CudnnConvolution conv = CudnnConvolution.plan(cudnn.get(), act, images, c, h, w, o, kh, kw, strideH, strideW,
                padT, padL, oh, ow, CUDNN_WORKSPACE_BYTES, backend.stream);
        if (conv == null) return false;
        plan.addResource(conv);
        long workspace = scratch.take(conv.choice().workspaceBytes());
        plan.addStep("cudnn conv " + kh + "x" + kw, stream -> conv.run(x, weight, out, workspace, stream));
        if (bias != 0) biasChannel(out, bias, (long) images * o * oh * ow, o, (long) oh * ow);
        return true;
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
        launch("conv", "conv_igemm_k" + kh + "x" + kw, (int) ((columns + 127) / 128), (o + 127) / 128, 256, 0,
                args().ptr(x).ptr(weight).ptr(bias).ptr(out).i32(images).i32(c).i32(h).i32(w).i32(o)
                        .i32(strideH).i32(strideW).i32(padT).i32(padL).i32(oh).i32(ow).i32(vecWeights));
    }

    private void biasChannel(long out, long bias, long n, long channels, long pixels) {
        launch("elementwise", "bias_channel", grid(n), 1, BLOCK, 0, args().ptr(out).ptr(bias).i64(n).i64(channels).i64(pixels));
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
            launchBlock2d("layout", "im2col", (int) Math.max(1, Math.min((rows + 7) / 8, 1 << 20)), 32, 8,
                    args().ptr(x + (long) n0 * c * h * w * es).ptr(col).i32(count).i32(c).i32(h).i32(w).i32(kh).i32(kw)
                            .i32(strideH).i32(strideW).i32(padT).i32(padL).i32(oh).i32(ow));
            gemm(kh * kw == 1 ? "conv 1x1" : kw == 1 ? "temporal conv" : "conv " + kh + "x" + kw, o, (int) pixels, (int) kdim, false, 0, kdim * pixels, o * pixels, count, 1f,
                    weight, col, out + (long) n0 * o * pixels * es, 0);
        }
        if (bias != 0) biasChannel(out, bias, (long) images * o * pixels, o, pixels);
    }

    /**
     * fp16/bf16: the tensor-core flash kernel for head widths 64/80/128, a chunked GEMM path for one wide
     * head (the VAE mid-block: 512), else (and always in fp32, for conformance) the exact fp32 kernel.
     */
    private void attention(Task t, Attention a) {
        Value q = t.input(0), k = t.input(1), v = t.input(2), out = t.output();
        int heads = a.heads(), dk = q.dim(2) / heads, dv = v.dim(2) / heads;
        int lq = q.dim(1), lk = k.dim(1), batch = q.dim(0);
        long qp = operand(q), kp = operand(k), vp = operand(v), op = ptr(out);
        boolean lowPrecision = act != DType.F32;
        if (lowPrecision && dk == dv && FLASH_HEAD_DIMS.contains(dk) && (heads * dk) % 8 == 0
                && ((qp | kp | vp | op) & 15) == 0) {
            flashAttention(qp, kp, vp, op, batch, lq, lk, heads, dk, a);
            return;
        }
        if (lowPrecision && heads == 1 && !a.causal() && dk > 128) {
            chunkedGemmAttention(qp, kp, vp, op, batch, lq, lk, dk, dv, a.scale());
            return;
        }
        if (dv > ATT_MAX_DV) throw new IllegalArgumentException("head width " + dv + " > " + ATT_MAX_DV + " is not supported by the attention kernel");
        int shared = (ATT_TILE * (dk + 1) + ATT_TILE * dv + ATT_WARPS * dk) * 4;
        MemorySegment f = backend.kernels.function("attention", "attention", act);
        if (shared > 48 * 1024) backend.driver.setMaxDynamicSharedMemory(f, shared);
        int bh = batch * heads, gy = Math.min(bh, 65535), gz = (bh + gy - 1) / gy;
        KernelLaunch l = KernelLaunch.of("attention", f, (lq + ATT_WARPS - 1) / ATT_WARPS, gy, gz, ATT_WARPS * 32, shared,
                args().ptr(qp).ptr(kp).ptr(vp).ptr(op).i32(lq).i32(lk).i32(heads).i32(dk).i32(dv)
                        .f32(a.scale()).i32(a.causal() ? 1 : 0).i32(batch));
        plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }

    /**
     * Short query sequences (the temporal attention's 16 frames) take one warp with 16-key tiles, long ones
     * {@link #FLASH_WIDE} (warps x key tile; the property i2vgen.cuda.flash, e.g. "4x64", overrides it for benchmarks).
     */
    private void flashAttention(long q, long k, long v, long out, int batch, int lq, int lk, int heads, int d, Attention a) {
        boolean narrow = lq <= 32;
        String[] wide = System.getProperty("i2vgen.cuda.flash", FLASH_WIDE).split("x");
        int warps = narrow ? 1 : Integer.parseInt(wide[0]), keyTile = narrow ? 16 : Integer.parseInt(wide[1]);
        if (d != 64 && keyTile > 64) keyTile = 64;   // 128-key tiles are built for d = 64 only
        int rows = 16 * warps;
        long blocks = (long) batch * heads * ((lq + rows - 1) / rows);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("attention grid of " + blocks + " blocks is too large");
        int shared = (rows + 4 * keyTile) * (d + 8) * 2;
        String name = "flash_attention_d" + d + "_w" + warps + "_k" + keyTile;
        MemorySegment f = backend.kernels.function("attention", name, act);
        if (shared > 48 * 1024) backend.driver.setMaxDynamicSharedMemory(f, shared);
        KernelLaunch l = KernelLaunch.of(name, f, (int) blocks, 1, warps * 32, shared,
                args().ptr(q).ptr(k).ptr(v).ptr(out).i32(lq).i32(lk).i32(heads)
                        .f32((float) (a.scale() / Math.log(2))).i32(a.causal() ? 1 : 0));
        plan.addStep(l.name(), stream -> l.run(backend.driver, stream));
    }

    /**
     * One head wider than the flash kernel's registers allow: per chunk of query rows (all batches at once),
     * S = scale·Q Kᵀ by cuBLASLt into a bounded scratch, softmax in place, O = S V. The whole Lq × Lk score
     * matrix never exists: the scratch holds at most scoreChunkBytes().
     */
    private void chunkedGemmAttention(long q, long k, long v, long out, int batch, int lq, int lk, int dk, int dv, float scale) {
        int es = act.byteSize();
        long perRow = (long) batch * lk * es;
        int chunk = (int) Math.max(1, Math.min(lq, scoreChunkBytes() / perRow));
        long scores = scratch.take(perRow * chunk);
        for (int q0 = 0; q0 < lq; q0 += chunk) {
            int rows = Math.min(chunk, lq - q0);
            gemm("attention scores", rows, lk, dk, true, (long) lq * dk, (long) lk * dk, (long) rows * lk, batch, scale,
                    q + (long) q0 * dk * es, k, scores, 0);
            launch("normalization", "softmax", batch * rows, 1, reductionBlock(lk), 0, args().ptr(scores).ptr(scores).i64(lk));
            gemm("attention values", rows, dv, lk, false, (long) rows * lk, (long) lk * dv, (long) lq * dv, batch, 1f,
                    scores, v, out + (long) q0 * dv * es, 0);
        }
    }
}
