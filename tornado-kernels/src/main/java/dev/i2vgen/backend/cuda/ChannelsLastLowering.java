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
        if (layouts.isEmpty()) return island(t);
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

    /** An NCHW Conv2d as a channels-last island where that measured faster (ConvolutionLowering#convIsland). */
    private boolean island(Task t) {
        if (!(t.op() instanceof Conv2d c) || tl.act == dev.i2vgen.tensor.DType.F32) return false;
        Value x = t.input(0), w = t.input(1), out = t.output();
        if (w.dim(2) != 3 || w.dim(3) != 3 || (substitute(x) == 0 && tl.plan.storageType(x) != tl.act)) return false;   // no staging twice
        long bias = t.input(2) == null ? 0 : tl.operand(t.input(2));
        return convolutions.convIsland(w, tl.operand(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3),
                c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3), bias, tl.ptr(out));
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
        int es = tl.act.byteSize();
        long n = 1;
        for (int d : shape) n *= d;
        String kernel;
        int grid, block;
        KernelLaunch.Args args;
        if (VectorAccess.enabled() && CollapsedPermute.plan(shape, perm) instanceof CollapsedPermute.Transpose tr && tr.a() >= 4 && tr.b() >= 4) {
            int v = VectorAccess.width(es, gcd(tr.a(), tr.b()), src, dst);
            long batches = 1;
            for (long d : tr.batchDims()) batches *= d;
            long tiles = batches * VectorAccess.ceilDiv(tr.a(), TILE) * VectorAccess.ceilDiv(tr.b(), TILE);
            kernel = "permute_tiled_" + v;
            grid = (int) Math.min(tiles, MAX_GRID);
            block = 256;
            args = tl.args().ptr(src).ptr(dst).i64(tr.a()).i64(tr.b()).i64(tr.inStrideB()).i64(tr.outStrideA())
                    .rankedStruct(MAX_RANK, tr.batchDims().length, tr.batchDims(), tr.batchInStrides(), tr.batchOutStrides());
        } else {
            long[] dims = new long[shape.length];
            for (int i = 0; i < shape.length; i++) dims[i] = shape[perm[i]];
            kernel = "permute";
            grid = TaskLowering.grid(n);
            block = TaskLowering.BLOCK;
            args = tl.args().ptr(src).ptr(dst).i64(n).rankedStruct(MAX_RANK, shape.length, dims, TensorLayouts.permutedStrides(shape, perm));
        }
        KernelLaunch l = KernelLaunch.of(kernel, tl.backend.kernels.function("layout", kernel, tl.act), grid, 1, block, 0, args);
        CudaDriver driver = tl.backend.driver;
        return Map.entry(kernel, stream -> l.run(driver, stream));
    }

    private long bytes(Value v) { return v.numel() * tl.act.byteSize(); }

    /** [N, C, H, W] → the NHWC buffer's own shape [N, H, W, C]. */
    private static int[] nhwcShape(int[] nchw) { return new int[]{nchw[0], nchw[2], nchw[3], nchw[1]}; }

    private static long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }
}
