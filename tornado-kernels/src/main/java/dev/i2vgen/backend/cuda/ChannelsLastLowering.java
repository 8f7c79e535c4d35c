package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.CollapsedPermute;
import dev.i2vgen.backend.TensorLayouts;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.GroupNorm;
import dev.i2vgen.graph.ops.UpsampleNearest;

import java.util.HashMap;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Lowers tasks under a {@link ChannelsLastPlan}. Before each task: an input stored in the other layout than the task
 * runs in is converted into the task's scratch and {@link TaskLowering#ptr} hands out that copy for the rest of the
 * task (a "substitute"), so the unchanged lowerings of element-wise and NCHW ops just work. Channels-last Conv2d
 * (cuDNN NHWC), GroupNorm ({@code group_norm_nhwc_*}) and UpsampleNearest ({@code upsample_nearest_nhwc}) are lowered
 * here; a convolution cuDNN declines in NHWC runs the NCHW path between two conversions instead.
 */
final class ChannelsLastLowering {
    private static final Logger LOG = Logger.getLogger(ChannelsLastLowering.class.getName());
    private static final int MAX_RANK = 8;         // Permutation / TransposeBatch in layout.cu
    private static final int TILE = 64;            // PT in layout.cu
    private static final int MAX_GRID = 1 << 20;   // permute_tiled strides over its tiles beyond this
    static final int[] TO_NHWC = {0, 2, 3, 1}, TO_NCHW = {0, 3, 1, 2};

    private final TaskLowering tl;
    private final ConvolutionLowering convolutions;
    private final ChannelsLastPlan layouts;
    private final Map<Integer, Long> substitutes = new HashMap<>();   // root id → its copy for the current task
    private boolean nested;                                           // inside the NCHW detour's own lowering
    private final Map<Integer, Task> soleReader = new HashMap<>();    // root id → the one task reading it (absent: none, several, or a graph output)
    private final java.util.Set<Integer> transposedNorms = new java.util.HashSet<>();   // GroupNorm outputs written NHWC for an island
    private Task pendingAdd;                                          // see takePendingAdd

    ChannelsLastLowering(TaskLowering tl) {
        this.tl = tl;
        this.convolutions = new ConvolutionLowering(tl);
        ChannelsLastPlan p;
        try {
            p = ChannelsLastPlan.plan(tl.plan.graph(), tl.act, () -> tl.backend.cudnn().isPresent());
        } catch (RuntimeException e) {   // never fatal: the plan only makes things faster
            p = ChannelsLastPlan.none("planning failed: " + e);
        }
        this.layouts = p;
        Map<Integer, Integer> reads = new HashMap<>();
        for (Task t : tl.plan.graph().tasks())
            for (Value in : t.inputs()) if (in != null && reads.merge(in.root().id(), 1, Integer::sum) == 1) soleReader.put(in.root().id(), t);
        for (Value o : tl.plan.graph().outputs().values()) reads.merge(o.root().id(), 1, Integer::sum);
        reads.forEach((id, n) -> { if (n != 1) soleReader.remove(id); });
        if (!p.isEmpty()) LOG.info("channels-last activations in " + tl.plan.graph().name() + ": " + p);
        else LOG.fine(() -> "channels-last activations in " + tl.plan.graph().name() + ": " + layouts);
    }

    ChannelsLastPlan layouts() { return layouts; }

    /** The pointer {@link TaskLowering#ptr} should hand out for {@code v} in the current task, or 0 for its own buffer. */
    long substitute(Value v) {
        if (substitutes.isEmpty()) return 0;
        Long p = substitutes.get(v.root().id());
        return p == null ? 0 : p;
    }

    /**
     * Prepares {@code t}'s inputs in the layout it runs in, and lowers it when it is a channels-last Conv2d, GroupNorm
     * or UpsampleNearest (true); false leaves the task to TaskLowering, with the substitutes in place.
     */
    boolean lower(Task t) {
        if (nested) return false;   // the detour's own lowering: its substitutes stay
        substitutes.clear();
        if (layouts.isEmpty()) return island(t) || normIntoPermute(t) || normBeforeIsland(t) || absorbedPermute(t);
        boolean runs = layouts.runs(t);
        for (int i = 0; i < t.inputs().size(); i++) {
            Value in = t.input(i);
            if (in == null || substitutes.containsKey(in.root().id())) continue;
            boolean isNhwc = layouts.stored(in);
            if (!runs && isNhwc) {
                substitutes.put(in.root().id(), convert(tl.ptr(in), nhwcShape(in.shape()), TO_NCHW, tl.scratch.take(bytes(in))));
            } else if (runs && !isNhwc && ChannelsLastPlan.layoutInput(t, i)) {
                long src = tl.operand(in);   // in the activation dtype (staged if stored otherwise)
                substitutes.put(in.root().id(), convert(src, in.shape(), TO_NHWC, tl.scratch.take(bytes(in))));
            }
        }
        if (!runs) return island(t);
        switch (t.op()) {
            case Conv2d c -> {
                if (!conv(t, c)) detour(t);
                return true;
            }
            case GroupNorm gn -> {
                NormalizationLowering.groupNormChannelsLast(tl, t, gn, tl.operand(t.input(0)), tl.ptr(t.output()));
                return true;
            }
            case UpsampleNearest u -> {
                upsample(t, u);
                return true;
            }
            default -> {
                return false;   // same-shape element-wise: the same kernels, on NHWC bytes
            }
        }
    }

    /**
     * An NCHW Conv2d as a channels-last island where that measured faster (ConvolutionLowering#convIsland), reading
     * its input in place when {@link #normBeforeIsland} wrote it NHWC and writing its fused Add's result
     * (ResidualFusion) through the output transpose. Where no island runs, a fused Add is handed back to be lowered
     * at its own place, and an NHWC input is converted back for the usual lowering.
     */
    private boolean island(Task t) {
        if (!(t.op() instanceof Conv2d c)) return false;
        ResidualFusion.ResidualAdd fused = tl.gemms().fusedTranspose(t);
        boolean nhwcInput = transposedNorms.contains(t.input(0).root().id());
        boolean done = tl.act != dev.i2vgen.tensor.DType.F32 && islandConv(t, c, nhwcInput, fused);
        if (!done) {
            Value x = t.input(0), y = t.output();
            if (nhwcInput) substitutes.put(x.root().id(), convert(tl.ptr(x), nhwcShape(x.shape()), TO_NCHW, tl.scratch.take(bytes(x))));
            if (fused != null) {   // y has no buffer of its own (ResidualFusion#planningGraph): a scratch copy, the Add at once
                substitutes.put(y.root().id(), tl.scratch.take(bytes(y)));
                pendingAdd = fused.add();
            }
        }
        return done;
    }

    /** The Add to lower right after the current task (its producer wrote y into scratch), or null; clears it. */
    Task takePendingAdd() {
        Task a = pendingAdd;
        pendingAdd = null;
        return a;
    }

    private boolean islandConv(Task t, Conv2d c, boolean nhwcInput, ResidualFusion.ResidualAdd fused) {
        Value x = t.input(0), w = t.input(1), out = t.output();
        if (w.dim(2) != 3 || w.dim(3) != 3 || (substitute(x) == 0 && tl.plan.storageType(x) != tl.act)) return false;   // no staging twice
        long bias = t.input(2) == null ? 0 : tl.operand(t.input(2));
        ConvolutionLowering.IslandEpilogue epilogue = null;
        if (fused != null && tiled(new int[]{x.dim(0), out.dim(2), out.dim(3), out.dim(1)}, TO_NCHW)) {
            Value r = fused.residual();
            long rp = tl.operand(r);
            long d = tl.ptr(fused.add().output());
            if (((d | rp) & 15) == 0)   // the transposes' 16-byte accesses (never otherwise in the planned arena)
                epilogue = fused.rows() == null ? new ConvolutionLowering.IslandEpilogue(d, rp, 0, null)
                        : new ConvolutionLowering.IslandEpilogue(d, 0, rp, fused.rows());
        }
        if (fused != null && epilogue == null) return false;   // y must not be written: the fallback (scratch + Add)
        long yOrSum = fused != null ? epilogue.d() : tl.ptr(out);   // the decision's timing writes here at plan build
        return convolutions.convIsland(w, nhwcInput ? tl.ptr(x) : tl.operand(x), nhwcInput, x.dim(0), x.dim(1), x.dim(2), x.dim(3),
                w.dim(0), w.dim(2), w.dim(3), c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3), bias, yOrSum, epilogue);
    }

    /**
     * A GroupNorm of a {@link NormTransposeFusion} pair: written straight into its permute's output (the permute is
     * then lowered as nothing, {@link #absorbedPermute}).
     */
    private boolean normIntoPermute(Task t) {
        NormTransposeFusion.Pair pair = tl.plan.normTransposes.forNorm(t.index());
        if (pair == null) return false;
        var p = (dev.i2vgen.graph.ops.Permute) pair.permute().op();
        NormalizationLowering.groupNormTransposed(tl, t, (GroupNorm) t.op(), tl.operand(t.input(0)), tl.ptr(pair.permute().output()),
                p.perm(), pair.frames());
        return true;
    }

    /** Whether {@code t} is a permute whose GroupNorm already wrote its output. */
    boolean absorbedPermute(Task t) { return tl.plan.normTransposes.forPermute(t.index()) != null; }

    /**
     * A GroupNorm(+SiLU) over NCHW whose only reader is a Conv2d that runs as an island (decided here, ahead of the
     * conv: ConvolutionLowering#islandDecision): lowered as the statistics pass plus one transposing apply that
     * writes its buffer NHWC, so the island reads it in place (the apply pass and the island's input permute become
     * one pass). False where that does not apply (the usual GroupNorm lowering then runs).
     */
    private boolean normBeforeIsland(Task t) {
        if (!(t.op() instanceof GroupNorm gn) || gn.channelAxis() != 1 || tl.act == dev.i2vgen.tensor.DType.F32
                || !tl.plan.transposesFuse || t.input(1) == null || t.input(2) == null) return false;
        Value out = t.output(), x = t.input(0);
        Task conv = soleReader.get(out.root().id());
        if (conv == null || !(conv.op() instanceof Conv2d c) || conv.input(0) != out || out.aliasOf() != null || out.rank() != 4
                || out.kind() != Value.Kind.INTERMEDIATE || tl.plan.storageType(out) != tl.act || !ResidualFusion.islandShaped(conv)
                || !tiled(out.shape(), TO_NHWC) || (tl.ptr(out) & 15) != 0) return false;
        Value w = conv.input(1), y = conv.output();
        Value b = conv.input(2);
        if (b != null && tl.plan.storageType(b) != tl.act) return false;   // the decision's timing reads the bias in place
        ResidualFusion.ResidualAdd sum = tl.gemms().fusedTranspose(conv);   // then y has no buffer: time into D
        long target = sum != null ? tl.ptr(sum.add().output()) : tl.ptr(y);
        ConvIsland decision = convolutions.islandDecision(w, tl.ptr(out), true, out.dim(0), out.dim(1), out.dim(2), out.dim(3), w.dim(0), w.dim(2),
                w.dim(3), c.strideH(), c.strideW(), c.padTop(), c.padLeft(), y.dim(2), y.dim(3), b == null ? 0 : tl.ptr(b), target);
        if (decision == null || !decision.island()) return false;
        NormalizationLowering.groupNormTransposed(tl, t, gn, tl.operand(x), tl.ptr(out), TO_NHWC, 1);
        transposedNorms.add(out.root().id());
        return true;
    }

    private boolean conv(Task t, Conv2d c) {
        Value x = t.input(0), w = t.input(1), out = t.output();
        long bias = t.input(2) == null ? 0 : tl.operand(t.input(2));
        return convolutions.cudnnConvChannelsLast(w, tl.operand(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2),
                w.dim(3), c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3), bias, tl.ptr(out));
    }

    /**
     * x (NHWC) → NCHW, the task's usual NCHW lowering into an NCHW buffer, → NHWC output. Buffers of its own (the
     * nested lowering starts a new task scratch); only when cuDNN declines an NHWC shape, which no model shape does.
     */
    private void detour(Task t) {
        Value x = t.input(0), out = t.output();
        LOG.info("channels-last " + t.op().name() + " " + java.util.Arrays.toString(out.shape()) + " takes the NCHW path between conversions");
        long xNchw = tl.plan.allocateExtra(bytes(x)), yNchw = tl.plan.allocateExtra(bytes(out));
        convert(tl.operand(x), nhwcShape(x.shape()), TO_NCHW, xNchw);
        long y = tl.plan.pointer(out);
        nested = true;
        try {
            substitutes.clear();
            substitutes.put(x.root().id(), xNchw);
            substitutes.put(out.root().id(), yNchw);
            tl.lower(t);   // back through TaskLowering: this hook stands aside while nested
        } finally {
            nested = false;
            substitutes.clear();
        }
        convert(yNchw, out.shape(), TO_NHWC, y);
    }

    /** Nearest upsampling of NHWC x into NHWC y: one 16-byte vector of channels per thread and step. */
    private void upsample(Task t, UpsampleNearest u) {
        Value x = t.input(0), out = t.output();
        int vector = 16 / tl.act.byteSize(), cols = x.dim(1) / vector;
        long vectors = out.numel() / vector;
        tl.launch("layout", "upsample_nearest_nhwc", TaskLowering.grid(vectors), 1, TaskLowering.BLOCK, 0,
                tl.args().ptr(tl.operand(x)).ptr(tl.ptr(out)).i32(x.dim(0)).i32(x.dim(2)).i32(x.dim(3)).i32(u.outH()).i32(u.outW()).i32(cols));
    }

    /**
     * dst = src (of {@code shape}) permuted by {@code perm}: the batched tiled transpose of layout.cu (16-byte accesses
     * where the extents allow), or the element-wise permute where a transposed extent is under 4 (3-channel images).
     * Answers dst.
     */
    private long convert(long src, int[] shape, int[] perm, long dst) { return permute(tl, src, shape, perm, dst); }

    /** {@link #convert} for any lowering (the conv islands of ConvolutionLowering): adds the permute to the plan. */
    static long permute(TaskLowering tl, long src, int[] shape, int[] perm, long dst) {
        Map.Entry<String, CudaExecutionPlan.Step> s = permuteStep(tl, src, shape, perm, dst);
        tl.plan.addStep(s.getKey(), s.getValue());
        return dst;
    }

    /** The permute's launch and step name, not added to the plan (ConvolutionLowering times islands with it). */
    static Map.Entry<String, CudaExecutionPlan.Step> permuteStep(TaskLowering tl, long src, int[] shape, int[] perm, long dst) {
        var tiled = tiledStep(tl, "permute_tiled_", src, shape, perm, dst, a -> {});
        if (tiled != null) return tiled;
        long n = 1;
        for (int d : shape) n *= d;
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[perm[i]];
        KernelLaunch.Args args = tl.args().ptr(src).ptr(dst).i64(n).rankedStruct(MAX_RANK, shape.length, dims, TensorLayouts.permutedStrides(shape, perm));
        return step(tl, "permute", TaskLowering.grid(n), TaskLowering.BLOCK, args);
    }

    /** Whether {@code shape} permuted by {@code perm} is a batched transpose the tiled kernels take (both extents ≥ 4). */
    static boolean tiled(int[] shape, int[] perm) {
        return VectorAccess.enabled() && CollapsedPermute.plan(shape, perm) instanceof CollapsedPermute.Transpose tr && tr.a() >= 4 && tr.b() >= 4;
    }

    /**
     * NHWC {@code src} ([N, H, W, C]) → NCHW {@code dst} with {@code residual} (laid out like dst) added: layout.cu
     * permute_tiled_add (the island's output transpose absorbing the resnet's shortcut Add). Caller checks {@link #tiled}.
     */
    static Map.Entry<String, CudaExecutionPlan.Step> transposeAddStep(TaskLowering tl, long src, int[] nhwcShape, long dst, long residual) {
        return permuteAddStep(tl, src, nhwcShape, TO_NCHW, dst, residual);
    }

    /**
     * NHWC {@code src} → NCHW {@code dst} plus one value of {@code rows} per (image, channel) row, counted from
     * {@code rowBase} (TensorLayouts.RowBroadcast's period and repeat): permute_tiled_add_rows (the island's output
     * transpose absorbing the resnet's time-embedding Add). Caller checks {@link #tiled}.
     */
    static Map.Entry<String, CudaExecutionPlan.Step> transposeAddRowsStep(TaskLowering tl, long src, int[] nhwcShape, long dst,
                                                                         long rows, long rowBase, long period, long repeat) {
        return tiledStep(tl, "permute_tiled_add_rows_", src, nhwcShape, TO_NCHW, dst, a -> a.ptr(rows).i64(rowBase).i64(period).i64(repeat));
    }

    /**
     * GroupNorm(+SiLU) of NCHW {@code x} written NHWC into {@code y}, from per-group (mean, 1/std) {@code stats}
     * (normalization.cu group_norm_statistics): layout.cu group_norm_transposed, the conv island's input transpose
     * and the norm's apply pass in one. Caller checks {@link #tiled}.
     */
    static void groupNormTransposed(TaskLowering tl, long x, int[] shape, int[] perm, int channels, int frames, long y, long stats,
                                    long gamma, long beta, int groups, boolean silu) {
        var s = tiledStep(tl, "group_norm_transposed_", x, shape, perm, y,
                a -> a.ptr(stats).ptr(gamma).ptr(beta).i32(channels / groups).i32(groups).i32(silu ? 1 : 0).i32(frames));
        tl.plan.addStep(s.getKey(), s.getValue());
    }

    /** {@code src} of {@code shape} permuted by {@code perm} into {@code dst} with {@code residual} (laid out like dst) added. */
    static Map.Entry<String, CudaExecutionPlan.Step> permuteAddStep(TaskLowering tl, long src, int[] shape, int[] perm, long dst, long residual) {
        return tiledStep(tl, "permute_tiled_add_", src, shape, perm, dst, a -> a.ptr(residual), residual);
    }

    /**
     * A launch of the batched tiled transpose family {@code prefix}{V} (layout.cu permute_tiled_body: V values per
     * access, the widest that the extents and every pointer in {@code aligned} allow) with {@code extra} arguments
     * after the transpose's own; null when the permute is no such transpose.
     */
    private static Map.Entry<String, CudaExecutionPlan.Step> tiledStep(TaskLowering tl, String prefix, long src, int[] shape, int[] perm,
                                                                       long dst, java.util.function.Consumer<KernelLaunch.Args> extra, long... aligned) {
        if (!tiled(shape, perm)) return null;
        var tr = (CollapsedPermute.Transpose) CollapsedPermute.plan(shape, perm);
        long[] pointers = java.util.Arrays.copyOf(new long[]{src, dst}, 2 + aligned.length);
        System.arraycopy(aligned, 0, pointers, 2, aligned.length);
        int v = VectorAccess.width(tl.act.byteSize(), gcd(tr.a(), tr.b()), pointers);
        long batches = 1;
        for (long d : tr.batchDims()) batches *= d;
        long tiles = batches * VectorAccess.ceilDiv(tr.a(), TILE) * VectorAccess.ceilDiv(tr.b(), TILE);
        KernelLaunch.Args args = tl.args().ptr(src).ptr(dst).i64(tr.a()).i64(tr.b()).i64(tr.inStrideB()).i64(tr.outStrideA())
                .rankedStruct(MAX_RANK, tr.batchDims().length, tr.batchDims(), tr.batchInStrides(), tr.batchOutStrides());
        extra.accept(args);
        return step(tl, prefix + v, (int) Math.min(tiles, MAX_GRID), 256, args);
    }

    private static Map.Entry<String, CudaExecutionPlan.Step> step(TaskLowering tl, String kernel, int grid, int block, KernelLaunch.Args args) {
        KernelLaunch l = KernelLaunch.of(kernel, tl.backend.kernels.function("layout", kernel, tl.act), grid, 1, block, 0, args);
        CudaDriver driver = tl.backend.driver;
        return Map.entry(kernel, stream -> l.run(driver, stream));
    }

    private long bytes(Value v) { return v.numel() * tl.act.byteSize(); }

    /** [N, C, H, W] → the NHWC buffer's own shape [N, H, W, C]. */
    private static int[] nhwcShape(int[] nchw) { return new int[]{nchw[0], nchw[2], nchw[3], nchw[1]}; }

    private static long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }
}
