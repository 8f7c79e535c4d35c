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
 * staging buffer. Convolutions: {@link ConvolutionLowering}; attention: {@link AttentionLowering}.
 */
final class TaskLowering {
    static final int BLOCK = 256;
    private static final int MAX_RANK = 8;

    final CudaExecutionPlan plan;
    final CudaBackend backend;
    final DType act;
    final TaskScratch scratch;
    private final ConvolutionLowering convolutions;
    private final AttentionLowering attentions;
    private final GemmLowering gemms;
    private final ChannelsLastLowering channelsLast;   // NHWC activations where cuDNN gains (ChannelsLastPlan)

    TaskLowering(CudaExecutionPlan plan) {
        this.plan = plan;
        this.backend = plan.backend();
        this.act = plan.activation();
        this.scratch = new TaskScratch(plan::allocateExtra);
        this.convolutions = new ConvolutionLowering(this);
        this.attentions = new AttentionLowering(this);
        this.gemms = new GemmLowering(this);
        this.channelsLast = new ChannelsLastLowering(this);
    }

    void lower(Task t) {
        scratch.beginTask();
        if (gemms.absorbed(t)) return;   // an Add already computed by its Linear's GEMM or conv island (ResidualFusion)
        if (plan.geglu.forGeglu(t.index()) != null) return;   // computed by its Linear's kernel (GegluFusion)
        if (channelsLast.lower(t)) return;   // converts inputs of the other layout; lowers NHWC conv/norm/upsample
        Value out = t.output();
        switch (t.op()) {
            case Unary u -> elementwise("unary", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), u.kind().ordinal()});
            case Affine a -> elementwise("affine", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), a.scale(), a.shift()});
            case Clamp c -> elementwise("clamp", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), c.min(), c.max()});
            case Binary b -> binary(t, b);
            case Geglu g -> geglu(t);
            case CfgCombine c -> elementwise("cfg_combine", t, new Object[]{operand(t.input(0)), ptr(out), out.numel(), c.guidance()});
            case DdimStep d -> {
                Value coef = t.input(2);
                long noise = t.input(3) == null ? 0 : operand(t.input(3));
                elementwise("ddim_step", t, new Object[]{operand(t.input(0)), operand(t.input(1)), ptr(coef), dtypeCode(coef),
                        noise, ptr(out), out.numel()});
            }
            case LinearCombination lc -> LinearCombinationLowering.lower(this, t);
            case NonFiniteFlag f -> nonFiniteFlag(t);
            case Cast c -> convert(t.input(0), ptr(t.input(0)), ptr(out), plan.storageType(out), out.numel());
            case LayerNorm ln -> NormalizationLowering.layerNorm(this, t, ln);
            case GroupNorm gn when gn.channelAxis() != 1 -> NormalizationLowering.groupNormFrames(this, t, gn);
            case GroupNorm gn -> NormalizationLowering.groupNorm(this, t, gn);
            case Softmax s -> NormalizationLowering.softmax(this, operand(t.input(0)), ptr(out), out.numel() / out.dim(-1), out.dim(-1));
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
                if (upsample2x(x, out, u)) break;
                launch("layout", "upsample_nearest", grid(out.numel()), 1, BLOCK, 0,
                        args().ptr(operand(x)).ptr(ptr(out)).i64((long) x.dim(0) * x.dim(1)).i32(x.dim(2)).i32(x.dim(3)).i32(u.outH()).i32(u.outW()));
            }
            case Linear l -> gemms.linear(t);
            case MatMul mm -> {
                Value a = t.input(0), b = t.input(1);
                int m = a.dim(-2), k = a.dim(-1), n = mm.transposeB() ? b.dim(-2) : b.dim(-1);
                int batch = (int) (a.numel() / ((long) m * k));
                gemm("matmul", m, n, k, mm.transposeB(), (long) m * k, b.rank() == 2 ? 0 : (long) k * n, (long) m * n, batch, mm.alpha(),
                        operand(a), operand(b), ptr(out), 0);
            }
            case Conv2d c -> {
                Value x = t.input(0), w = t.input(1);
                convolutions.conv(operand(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), operand(w), w.dim(0), w.dim(2), w.dim(3),
                        c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3),
                        t.input(2) == null ? 0 : operand(t.input(2)), ptr(out));
            }
            case TemporalConv tc when tc.framesFirst() -> TemporalConvLowering.lower(this, t);   // window GEMMs, K = k·C
            case TemporalConv tc -> {
                if (gemms.temporalConv(t)) break;   // per-tap GEMMs, no im2col (GemmLowering)
                // otherwise a (k x 1) 2-D convolution over [B, C, F, H*W]
                Value x = t.input(0), w = t.input(1);
                int k = w.dim(2), pad = (k - 1) / 2, hw = x.dim(3) * x.dim(4);
                convolutions.conv(operand(x), x.dim(0), x.dim(1), x.dim(2), hw, operand(w), w.dim(0), k, 1, 1, 1, pad, 0, x.dim(2), hw,
                        t.input(2) == null ? 0 : operand(t.input(2)), ptr(out));
            }
            case Attention a -> attentions.attention(t, a);
            default -> throw new UnsupportedOperationException("op " + t.op().name() + " (" + t.op().getClass().getSimpleName() + ") has no CUDA kernel");
        }
        Task add = channelsLast.takePendingAdd();   // a fused conv that ran no island wrote y into scratch: its Add now
        if (add != null) binary(add, (Binary) add.op());
    }

    // ---- helpers ----

    GemmLowering gemms() { return gemms; }

    /** The value's device buffer, or during a task the layout-converted copy ChannelsLastLowering made for it. */
    long ptr(Value v) {
        long s = channelsLast == null ? 0 : channelsLast.substitute(v);
        return s != 0 ? s : plan.pointer(v);
    }

    KernelLaunch.Args args() { return new KernelLaunch.Args(plan.hostArena); }

    static int grid(long n) { return (int) Math.max(1, Math.min((n + BLOCK - 1) / BLOCK, 65536L * 4)); }

    static int reductionBlock(long len) { return len >= 4096 ? 1024 : len >= 512 ? 256 : 128; }

    static int dtypeCode(DType t) {
        return switch (t) {
            case F32 -> 0; case F16 -> 1; case BF16 -> 2; case F64 -> 3; case I64 -> 4;
            case I32 -> 5; case I16 -> 6; case I8 -> 7; case U8, BOOL -> 8;
        };
    }

    private int dtypeCode(Value v) { return dtypeCode(plan.storageType(v)); }

    /** The value's pointer in the activation dtype: itself, or a staging copy converted before each run. */
    long operand(Value v) {
        long converted = channelsLast == null ? 0 : channelsLast.substitute(v);
        if (converted != 0) return converted;   // a layout-converted copy: already in the activation dtype
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

    void launch(String family, String kernel, int gx, int gy, int block, int shared, KernelLaunch.Args a) {
        MemorySegment f = backend.kernels.function(family, kernel, act);
        KernelLaunch l = KernelLaunch.of(kernel, f, gx, gy, block, shared, a);
        plan.addStep(kernel, stream -> l.run(backend.driver, stream));
    }

    void launchBlock2d(String family, String kernel, int gx, int bx, int by, KernelLaunch.Args a) {
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

    /**
     * Two launches of elementwise.cu: the previous flag copied, then x scanned in its storage dtype (staging it into
     * the activation dtype could overflow a finite F32 tensor into a false alarm).
     */
    private void nonFiniteFlag(Task t) {
        Value x = t.input(0);
        long previous = ptr(t.input(1)), step = ptr(t.input(2)), flag = ptr(t.output());
        launch("elementwise", "nonfinite_flag_seed", 1, 1, 32, 0, args().ptr(previous).ptr(flag));
        launch("elementwise", "nonfinite_flag_scan", grid(x.numel()), 1, BLOCK, 0,
                args().ptr(ptr(x)).i32(dtypeCode(x)).i64(x.numel()).ptr(previous).ptr(step).ptr(flag));
    }

    private void binary(Task t, Binary b) {
        Value x = t.input(0), y = t.input(1), out = t.output();
        int rank = out.rank();
        if (rank > MAX_RANK) throw new IllegalArgumentException("rank " + rank + " > " + MAX_RANK);
        if (x.numel() == out.numel() && y.numel() == out.numel()) {   // no broadcasting: skip the index decoding
            binarySame(b.kind(), operand(x), operand(y), ptr(out), out.numel());
            return;
        }
        if (binaryRows(x, y, out, b)) return;
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) dims[i] = out.dim(i);
        launch("elementwise", "binary", grid(out.numel()), 1, BLOCK, 0,
                args().ptr(operand(x)).ptr(operand(y)).ptr(ptr(out)).i64(out.numel()).i32(b.kind().ordinal())
                        .rankedStruct(MAX_RANK, rank, dims, TensorLayouts.broadcastStrides(x.shape(), rank), TensorLayouts.broadcastStrides(y.shape(), rank)));
    }

    /** out = a (kind) b over {@code n} activation values of the same shape; out may be a or b (element by element). */
    void binarySame(Binary.Kind kind, long a, long b, long out, long n) {
        int vec = VectorAccess.MAX_BYTES / act.byteSize();
        if (VectorAccess.enabled() && n >= vec && VectorAccess.width(act.byteSize(), vec, a, b, out) == vec) {
            launch("elementwise", "binary_same_vec", grid(n / vec), 1, BLOCK, 0,   // 16 bytes per access
                    args().ptr(a).ptr(b).ptr(out).i64(n).i32(kind.ordinal()));
        } else {
            launch("elementwise", "binary_same", grid(n), 1, BLOCK, 0, args().ptr(a).ptr(b).ptr(out).i64(n).i32(kind.ordinal()));
        }
    }

    /**
     * One operand shaped like the output, the other one value per row of it ([N, C, 1, 1] against [N, C, H, W], or
     * the resnets' [B, 1, C, 1, 1] against [B, F, C, H, W]; TensorLayouts.RowBroadcast): binary_rows_vec, 16-byte
     * vectors along each row; false when the shapes or alignment do not fit.
     */
    private boolean binaryRows(Value x, Value y, Value out, Binary b) {
        if (!VectorAccess.enabled()) return false;
        boolean xFull = x.numel() == out.numel();
        Value full = xFull ? x : y, rowsOperand = xFull ? y : x;
        if (full.numel() != out.numel()) return false;
        TensorLayouts.RowBroadcast rows = TensorLayouts.rowBroadcast(out.shape(), rowsOperand.shape());
        int vec = VectorAccess.MAX_BYTES / act.byteSize();
        if (rows != null && rows.inner() == 1 && rows.period() % vec == 0) return binaryTile(full, rowsOperand, out, b, rows, xFull);
        if (rows == null || rows.inner() % vec != 0) return false;
        long a = operand(full), s = operand(rowsOperand), o = ptr(out);
        if (VectorAccess.width(act.byteSize(), rows.inner(), a, o) != vec) return false;
        launch("elementwise", "binary_rows_vec", grid(out.numel() / vec), 1, BLOCK, 0,
                args().ptr(a).ptr(s).ptr(o).i64(out.numel()).i64(rows.inner()).i64(rows.period()).i64(rows.repeat())
                        .i32(b.kind().ordinal()).i32(xFull ? 0 : 1));
        return true;
    }

    /**
     * The operand a row of {@code period} values repeated along the output (inner 1: [B, 1, C] against [B, N, C], the
     * frame embedding [1, F·C] against [B·S, F·C]): binary_tile_vec reads a 16-byte vector of each operand per step.
     */
    private boolean binaryTile(Value full, Value tile, Value out, Binary b, TensorLayouts.RowBroadcast rows, boolean xFull) {
        int vec = VectorAccess.MAX_BYTES / act.byteSize();
        long a = operand(full), s = operand(tile), o = ptr(out);
        if (VectorAccess.width(act.byteSize(), vec, a, s, o) != vec) return false;
        launch("elementwise", "binary_tile_vec", grid(out.numel() / vec), 1, BLOCK, 0,
                args().ptr(a).ptr(s).ptr(o).i64(out.numel()).i64(rows.period()).i64(rows.repeat())
                        .i32(b.kind().ordinal()).i32(xFull ? 0 : 1));
        return true;
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

    /**
     * Nearest upsampling by exactly 2 with vectors of V outputs (layout.cu upsample_nearest2x_v{V}); false where the
     * scale is not 2, the output rows or pointers do not fit whole vectors, or the vectors exceed 32-bit counts.
     */
    private boolean upsample2x(Value x, Value out, UpsampleNearest u) {
        if (!VectorAccess.enabled() || u.outH() != 2 * x.dim(2) || u.outW() != 2 * x.dim(3)) return false;
        long src = operand(x), dst = ptr(out);
        int es = act.byteSize(), v = VectorAccess.width(es, u.outW(), dst);
        if (v < 2 || src % ((long) v / 2 * es) != 0) return false;
        long total = out.numel() / v;
        if (total >= 1L << 32) return false;
        launch("layout", "upsample_nearest2x_v" + v, grid(total), 1, BLOCK, 0, args().ptr(src).ptr(dst).i32((int) total)
                .i32(u.outW() / v).i32(u.outH()).i32(x.dim(3)));
        return true;
    }

    /**
     * One concat part or slice: 16- or 8-byte words with one grid row per tensor row (layout.cu copy_rows_{16,8}) where
     * every offset, row length and base allows, else element by element.
     */
    private void copyRows(long src, long dst, TensorLayouts.RowCopy r) {
        int es = act.byteSize();
        for (int bytes : new int[]{16, 8}) {
            long w = bytes / es;
            if (!VectorAccess.enabled() || r.rows() > 65535 || (src | dst) % bytes != 0 || r.srcRow() % w != 0 || r.srcOffset() % w != 0
                    || r.dstRow() % w != 0 || r.dstOffset() % w != 0 || r.length() % w != 0) continue;
            long words = r.length() / w;
            int gx = (int) Math.max(1, Math.min(VectorAccess.ceilDiv(words, BLOCK),
                    VectorAccess.ceilDiv(2048L * backend.multiprocessors, (long) BLOCK * r.rows())));
            launch("layout", "copy_rows_" + bytes, gx, (int) r.rows(), BLOCK, 0,
                    args().ptr(src).i64(r.srcRow()).i64(r.srcOffset()).ptr(dst).i64(r.dstRow()).i64(r.dstOffset()).i64(words));
            return;
        }
        copyRowsScalar(src, dst, r);
    }

    private void copyRowsScalar(long src, long dst, TensorLayouts.RowCopy r) {
        launch("layout", "copy_rows", grid(r.rows() * r.length()), 1, BLOCK, 0,
                args().ptr(src).i64(r.srcRow()).i64(r.srcOffset()).ptr(dst).i64(r.dstRow()).i64(r.dstOffset()).i64(r.rows()).i64(r.length()));
    }

    private void permute(Task t, Permute p) {
        Value x = t.input(0), out = t.output();
        int rank = out.rank();
        if (rank > MAX_RANK) throw new IllegalArgumentException("rank " + rank + " > " + MAX_RANK);
        long src = operand(x);
        ResidualFusion.ResidualAdd sum = gemms.fusedTranspose(t);
        if (sum != null) {   // the Add of the residual in the same pass, into the Add's result (ResidualFusion)
            var step = TiledTransposes.permuteAddStep(this, src, x.shape(), p.perm(), ptr(sum.add().output()), operand(sum.residual()));
            plan.addStep(step.getKey(), step.getValue());
            return;
        }
        if (PermuteLowering.fast(this, t, p, src)) return;   // row copy or tiled transpose
        long[] strides = TensorLayouts.permutedStrides(x.shape(), p.perm());
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) dims[i] = out.dim(i);
        launch("layout", "permute", grid(out.numel()), 1, BLOCK, 0,
                args().ptr(src).ptr(ptr(out)).i64(out.numel()).rankedStruct(MAX_RANK, rank, dims, strides));
    }

    private void geglu(Task t) {
        Value out = t.output();
        long d = out.dim(-1);
        geglu(operand(t.input(0)), ptr(out), out.numel() / d, d);
    }

    /** GEGLU of x [rows, 2d] into y [rows, d]: vectors of up to 16 bytes when the half-row width allows, else element-wise. */
    void geglu(long x, long y, long rows, long d) {
        int v = VectorAccess.width(act.byteSize(), d, x, y);
        if (VectorAccess.enabled() && v * act.byteSize() >= 4 && rows * (d / v) <= Integer.MAX_VALUE) {   // geglu_v{V}: 4 bytes up
            launch("elementwise", "geglu_v" + v, grid(rows * (d / v)), 1, BLOCK, 0,
                    args().ptr(x).ptr(y).i64(rows * (d / v)).i32((int) (d / v)));
            return;
        }
        launch("elementwise", "geglu", grid(rows * d), 1, BLOCK, 0, args().ptr(x).ptr(y).i64(rows).i64(d));
    }

    void gemm(String what, int m, int n, int k, boolean transposeB, long strideA, long strideB, long strideC, int batch,
                      float alpha, long a, long b, long c, long bias) {
        CublasLt.Gemm g = backend.cublas.plan(act, m, n, k, transposeB, strideA, strideB, strideC, batch, alpha, a, b, c, bias);
        plan.addResource(g);
        plan.addStep("gemm " + what, stream -> g.run(backend.workspace, stream));
    }

}
