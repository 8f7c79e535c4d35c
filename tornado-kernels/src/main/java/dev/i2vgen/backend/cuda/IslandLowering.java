package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.GroupNorm;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Lowers the NCHW graphs' (the UNet's) layout work around its transposes: 3x3 convs as channels-last islands (permute
 * in, cuDNN NHWC, permute out; {@link ConvolutionLowering#convIsland}), a GroupNorm written NHWC for its island or into
 * its permute's output ({@link NormTransposeFusion}), and a fused residual Add written by the island's output transpose
 * ({@link ResidualFusion}). Where an island does not run after all, its inputs and outputs go back to the plain layout
 * through the substitutes of {@link ChannelsLastLowering}.
 */
final class IslandLowering {
    private static final int[] TO_NHWC = TiledTransposes.TO_NHWC, TO_NCHW = TiledTransposes.TO_NCHW;

    private final TaskLowering tl;
    private final ChannelsLastLowering layouts;
    private final ConvolutionLowering convolutions;
    private final Map<Integer, Task> soleReader = new HashMap<>();   // root id → the one task reading it (absent: none, several, or a graph output)
    private final Set<Integer> transposedNorms = new HashSet<>();   // GroupNorm outputs written NHWC for an island
    private Task pendingAdd;                                         // see takePendingAdd

    IslandLowering(TaskLowering tl, ChannelsLastLowering layouts, ConvolutionLowering convolutions) {
        this.tl = tl;
        this.layouts = layouts;
        this.convolutions = convolutions;
        Map<Integer, Integer> reads = new HashMap<>();
        for (Task t : tl.plan.graph().tasks())
            for (Value in : t.inputs()) if (in != null && reads.merge(in.root().id(), 1, Integer::sum) == 1) soleReader.put(in.root().id(), t);
        for (Value o : tl.plan.graph().outputs().values()) reads.merge(o.root().id(), 1, Integer::sum);
        reads.forEach((id, n) -> { if (n != 1) soleReader.remove(id); });
    }

    /** Lowers {@code t} when it is one of the tasks above (true); false leaves it to TaskLowering. */
    boolean lower(Task t) {
        return island(t) || normIntoPermute(t) || normBeforeIsland(t) || absorbedPermute(t);
    }

    /**
     * An NCHW Conv2d as a channels-last island where that measured faster (ConvolutionLowering#convIsland), reading
     * its input in place when {@link #normBeforeIsland} wrote it NHWC and writing its fused Add's result
     * (ResidualFusion) through the output transpose. Where no island runs, an NHWC input is converted back for the
     * usual lowering, and a fused conv (whose y has no buffer of its own) writes y into scratch with its Add lowered
     * right after it ({@link #takePendingAdd}).
     */
    boolean island(Task t) {
        if (!(t.op() instanceof Conv2d c)) return false;
        ResidualFusion.ResidualAdd fused = tl.gemms().fusedTranspose(t);
        boolean nhwcInput = transposedNorms.contains(t.input(0).root().id());
        boolean done = tl.act != dev.i2vgen.tensor.DType.F32 && islandConv(t, c, nhwcInput, fused);
        if (!done) {
            Value x = t.input(0), y = t.output();
            if (nhwcInput) layouts.substitute(x, TiledTransposes.permute(tl, tl.ptr(x), new int[]{x.dim(0), x.dim(2), x.dim(3), x.dim(1)}, TO_NCHW, tl.scratch.take(bytes(x))));
            if (fused != null) {   // y has no buffer of its own (ResidualFusion#planningGraph): a scratch copy, the Add at once
                layouts.substitute(y, tl.scratch.take(bytes(y)));
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
        if (w.dim(2) != 3 || w.dim(3) != 3 || (layouts.substitute(x) == 0 && tl.plan.storageType(x) != tl.act)) return false;   // no staging twice
        long bias = t.input(2) == null ? 0 : tl.operand(t.input(2));
        ConvolutionLowering.IslandEpilogue epilogue = null;
        if (fused != null && TiledTransposes.tiled(new int[]{x.dim(0), out.dim(2), out.dim(3), out.dim(1)}, TO_NCHW)) {
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
    private boolean absorbedPermute(Task t) { return tl.plan.normTransposes.forPermute(t.index()) != null; }

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
                || !TiledTransposes.tiled(out.shape(), TO_NHWC) || (tl.ptr(out) & 15) != 0) return false;
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

    private long bytes(Value v) { return v.numel() * tl.act.byteSize(); }
}
