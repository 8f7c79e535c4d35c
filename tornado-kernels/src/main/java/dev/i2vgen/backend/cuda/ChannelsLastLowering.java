package dev.i2vgen.backend.cuda;

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
 * here; a convolution cuDNN declines in NHWC runs the NCHW path between two conversions instead. In a graph without
 * channels-last values (the UNet) the conv islands and the transposes' fusions lower instead ({@link IslandLowering}).
 */
final class ChannelsLastLowering {
    private static final Logger LOG = Logger.getLogger(ChannelsLastLowering.class.getName());
    private static final int[] TO_NHWC = TiledTransposes.TO_NHWC, TO_NCHW = TiledTransposes.TO_NCHW;

    private final TaskLowering tl;
    private final ConvolutionLowering convolutions;
    private final ChannelsLastPlan layouts;
    private final Map<Integer, Long> substitutes = new HashMap<>();   // root id → its copy for the current task
    private boolean nested;                                           // inside the NCHW detour's own lowering
    private final IslandLowering islands;                             // the NCHW graphs' conv islands and transposes

    ChannelsLastLowering(TaskLowering tl) {
        this.tl = tl;
        this.convolutions = new ConvolutionLowering(tl);
        ChannelsLastPlan p = tl.plan.channelsLast;   // fixed before memory planning (ResidualFusion's NHWC pairs)
        this.layouts = p;
        this.islands = new IslandLowering(tl, this, convolutions);
        if (!p.isEmpty()) LOG.info("channels-last activations in " + tl.plan.graph().name() + ": " + p);
        else LOG.fine(() -> "channels-last activations in " + tl.plan.graph().name() + ": " + layouts);
    }

    ChannelsLastPlan layouts() { return layouts; }

    /** From here to the end of the current task, {@link TaskLowering#ptr} hands out {@code pointer} for {@code v} (IslandLowering). */
    void substitute(Value v, long pointer) { substitutes.put(v.root().id(), pointer); }

    /** The Add to lower right after the current task (IslandLowering#takePendingAdd), or null. */
    Task takePendingAdd() { return islands.takePendingAdd(); }

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
        if (layouts.isEmpty()) return islands.lower(t);
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
        if (!runs) return islands.island(t);
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
     * The conv on NHWC data; with a fused Add (ResidualFusion: y has no buffer of its own) it writes the Add's result,
     * the residual added by cuDNN's epilogue or right after. False when cuDNN declines: {@link #detour} then.
     */
    private boolean conv(Task t, Conv2d c) {
        Value x = t.input(0), w = t.input(1), out = t.output();
        long bias = t.input(2) == null ? 0 : tl.operand(t.input(2));
        ResidualFusion.ResidualAdd sum = tl.gemms().fusedTranspose(t);
        return convolutions.cudnnConvChannelsLast(w, tl.operand(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2),
                w.dim(3), c.strideH(), c.strideW(), c.padTop(), c.padLeft(), out.dim(2), out.dim(3), bias,
                sum == null ? tl.ptr(out) : tl.ptr(sum.add().output()), sum == null ? 0 : tl.operand(sum.residual()));
    }

    /**
     * x (NHWC) → NCHW, the task's usual NCHW lowering into an NCHW buffer, → NHWC output (a fused Add's result: the
     * conversion into scratch, then the add). Buffers of its own (the nested lowering starts a new task scratch); only
     * when cuDNN declines an NHWC shape, which no model shape does.
     */
    private void detour(Task t) {
        Value x = t.input(0), out = t.output();
        LOG.info("channels-last " + t.op().name() + " " + java.util.Arrays.toString(out.shape()) + " takes the NCHW path between conversions");
        long xNchw = tl.plan.allocateExtra(bytes(x)), yNchw = tl.plan.allocateExtra(bytes(out));
        convert(tl.operand(x), nhwcShape(x.shape()), TO_NCHW, xNchw);
        ResidualFusion.ResidualAdd sum = tl.gemms().fusedTranspose(t);
        long y = sum == null ? tl.plan.pointer(out) : tl.plan.allocateExtra(bytes(out));
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
        if (sum != null)
            tl.binarySame(dev.i2vgen.graph.ops.Binary.Kind.ADD, y, tl.operand(sum.residual()), tl.plan.pointer(sum.add().output()), out.numel());
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
    private long convert(long src, int[] shape, int[] perm, long dst) { return TiledTransposes.permute(tl, src, shape, perm, dst); }

    private long bytes(Value v) { return v.numel() * tl.act.byteSize(); }

    /** [N, C, H, W] → the NHWC buffer's own shape [N, H, W, C]. */
    private static int[] nhwcShape(int[] nchw) { return new int[]{nchw[0], nchw[2], nchw[3], nchw[1]}; }

}
