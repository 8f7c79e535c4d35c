package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.TensorLayouts;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Binary;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.Linear;
import dev.i2vgen.graph.ops.Permute;
import dev.i2vgen.backend.CollapsedPermute;
import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides which producer + residual Add pairs run as one step, with the Add lowered as nothing: a Linear as one
 * cuBLASLt GEMM, D = x·Wᵀ + bias + R (beta = 1, C = R); a 3x3 Conv2d (with {@code convolutions}) as a channels-last
 * island whose output transpose adds R as it writes D ({@link ConvolutionLowering#convIsland}); a Conv2d that runs
 * channels-last ({@link ChannelsLastPlan}, the VAE decoder) as one cuDNN call adding R in its epilogue, its Add and R
 * channels-last too ({@link ConvolutionLowering#cudnnConvChannelsLast}). The producer's output
 * y is never written, saving the element-wise pass over y, R and D. Pure graph and address logic (no CUDA), so it is
 * unit-tested on the JVM. A lowering that cannot take a pair after all hands its Add back (it is then lowered at its
 * own place, which the checks below keep valid).
 *
 * <p>A pair is fused only when the result cannot change:
 * <ul>
 * <li>y's only use is one operand of a Binary ADD, y is no graph output, and both operands have the Add's
 *     element count (no broadcasting; a reshape view of y counts as y); a convolution's R may instead hold one value
 *     per output row of the Add (per image and channel: TensorLayouts.RowBroadcast with rows of the conv's H·W, the
 *     resnets' "conv1 + time embedding");</li>
 * <li>the other operand R is an input, a constant or produced before the producer (the fused step reads it early);</li>
 * <li>y and D are stored in the activation dtype (the GEMM writes it; R may be staged like any operand);</li>
 * <li>D's bytes are disjoint from every buffer that a task from the producer up to just before the Add reads or
 *     writes (x, W, bias, and anything between): the memory planner lets D reuse buffers that die before the
 *     Add (x's, typically), but the fused step writes D already at the producer. R may be D exactly (cuBLASLt's
 *     in-place case, element-wise in the transpose) but must not overlap it partly.</li>
 * </ul>
 */
final class ResidualFusion {

    /** Where values live: device addresses in a CUDA plan, any consistent numbering in tests. */
    interface Storage {
        /** Start of the bytes holding {@code v} (its root's buffer for views). */
        long address(Value v);

        /** Bytes of {@code v} as stored. */
        long bytes(Value v);

        /** Whether {@code v} is stored in the graph's activation dtype. */
        boolean activationTyped(Value v);
    }

    /**
     * A Linear, Conv2d or Permute ({@code producer}) whose output feeds only {@code add}; {@code residual} is the
     * Add's other operand; {@code rows} its row broadcast when it holds one value per (image, channel), else null.
     */
    record ResidualAdd(Task producer, Task add, Value residual, TensorLayouts.RowBroadcast rows) {}

    private final ImmutableTaskGraph graph;
    private final Storage storage;
    private final Map<Integer, List<Task>> readers = new HashMap<>();   // root id → one entry per input reference
    private final Map<Integer, Integer> producer = new HashMap<>();     // root id → index of the task writing it
    private final Map<Integer, ResidualAdd> byProducer = new LinkedHashMap<>();
    private final Map<Integer, String> refusals = new LinkedHashMap<>();
    private final boolean convolutions;
    private final ChannelsLastPlan nhwc;   // the graph's channels-last assignment, or null

    private ResidualFusion(ImmutableTaskGraph graph, Storage storage, boolean enabled, boolean convolutions, ChannelsLastPlan nhwc) {
        this.graph = graph;
        this.storage = storage;
        this.convolutions = convolutions;
        this.nhwc = nhwc == null || nhwc.isEmpty() ? null : nhwc;
        if (!enabled) return;
        for (Task t : graph.tasks()) {
            producer.putIfAbsent(t.output().root().id(), t.index());
            for (Value in : t.inputs()) if (in != null) readers.computeIfAbsent(in.root().id(), k -> new ArrayList<>()).add(t);
        }
        for (Value o : graph.outputs().values()) readers.computeIfAbsent(o.root().id(), k -> new ArrayList<>()).add(null);
        for (Task t : graph.tasks()) {
            if (!(t.op() instanceof Linear) && !(convolutions && (islandShaped(t) || tiledPermute(t))) && !nhwcConv(t)) continue;
            String why = refusal(t);
            if (why == null) continue;
            refusals.put(t.index(), why);
            // planningGraph placed this pair without y: only the address checks can refuse it here, and they hold by
            // construction there, so a refusal means the placement is not the planning graph's
            if (storage != null && writesSum(t) && structuralPair(t)) throw new IllegalStateException(
                    "task " + t.index() + " (" + t.op().name() + ") was planned fused with its add, but " + why);
        }
    }

    /**
     * Plans the fusions of {@code graph} with its buffers placed as {@code storage} says; none when {@code enabled} is
     * false; convolution pairs only with {@code convolutions}.
     */
    static ResidualFusion plan(ImmutableTaskGraph graph, Storage storage, boolean enabled, boolean convolutions) {
        return plan(graph, storage, enabled, convolutions, null);
    }

    /** As {@link #plan(ImmutableTaskGraph, Storage, boolean, boolean)}, with channels-last conv pairs under {@code nhwc}. */
    static ResidualFusion plan(ImmutableTaskGraph graph, Storage storage, boolean enabled, boolean convolutions, ChannelsLastPlan nhwc) {
        return new ResidualFusion(graph, storage, enabled, convolutions, nhwc);
    }

    /** Linear pairs only (tests and graphs without islands). */
    static ResidualFusion plan(ImmutableTaskGraph graph, Storage storage, boolean enabled) {
        return plan(graph, storage, enabled, false);
    }

    /**
     * Whether conv and permute pairs may fuse in a CUDA plan of {@code graph}: fp16/bf16 (fp32 keeps its exact NCHW
     * paths), vectorized kernels, -Di2vgen.cuda.islandFusion not false, and no channels-last assignment
     * (ChannelsLastPlan's NHWC chains, the VAE decoder, lower their convs and adds themselves).
     */
    static boolean transposesFuse(DType act, ChannelsLastPlan channelsLast) {
        return act != DType.F32 && VectorAccess.enabled() && islandFusionByProperty() && channelsLast.isEmpty();
    }

    /**
     * The channels-last assignment whose conv + Add pairs may fuse in a CUDA plan ({@link ChannelsLastPlan}, the VAE
     * decoder's) with -Di2vgen.cuda.nhwcResidual=true (opt-in until it has run on a GPU: notes section 24), else null.
     */
    static ChannelsLastPlan channelsLastPairs(ChannelsLastPlan channelsLast) {
        return !"true".equals(System.getProperty("i2vgen.cuda.nhwcResidual")) || channelsLast.isEmpty() ? null : channelsLast;
    }

    /** -Di2vgen.cuda.islandFusion=false: no Add or GroupNorm is folded into a transpose (A/B runs). */
    static boolean islandFusionByProperty() { return !"false".equals(System.getProperty("i2vgen.cuda.islandFusion")); }

    /** A Conv2d that may run as an island: 3x3 with a constant 4-D weight, a rank-4 output. */
    static boolean islandShaped(Task t) {
        if (!(t.op() instanceof Conv2d)) return false;
        Value w = t.input(1);
        return w != null && w.rank() == 4 && w.dim(2) == 3 && w.dim(3) == 3 && w.root().kind() == Value.Kind.CONSTANT
                && t.output().rank() == 4;
    }

    /** A Permute that layout.cu's tiled transposes run (a batched 2-D transpose, both extents at least 4). */
    static boolean tiledPermute(Task t) {
        return t.op() instanceof Permute p && tiled(t.input(0).shape(), p.perm());
    }

    static boolean tiled(int[] shape, int[] perm) {
        return CollapsedPermute.plan(shape, perm) instanceof CollapsedPermute.Transpose tr && tr.a() >= 4 && tr.b() >= 4;
    }

    /** Pairs whose producer writes D itself (a conv island or a transpose): planned without y, see {@link #planningGraph}. */
    private static boolean writesSum(Task producer) { return !(producer.op() instanceof Linear); }

    /**
     * The graph the memory planner should place buffers for: {@code graph} with, for every pair that passes the checks
     * that need no addresses, D written at the producer. A Linear pair gets a task-less marker writing D at the
     * Linear's index (never lowered): the planner then keeps D live from the Linear on, so D no longer gets the slot of
     * x (dead after the Linear in the unfused order, and otherwise the usual reason to refuse) or of anything used
     * before the Add; y keeps its buffer, for a GEMM cuBLASLt cannot fuse. A conv or permute pair's producer writes D
     * in place of y, reading R, and its Add is dropped: y is never written (the planner gives it a harmless slot) and
     * the fused pair costs no memory; the lowering of such a pair never writes y (a conv that runs no island writes
     * a scratch copy and adds from there, {@link IslandLowering#island}). The address checks of {@link #plan}
     * still run on the final placement. Fused attention projections ({@link QkvFusion}, its own property) are planned
     * in the same graph: one buffer per group instead of the q, k, v outputs.
     */
    static ImmutableTaskGraph planningGraph(ImmutableTaskGraph graph, boolean enabled, boolean convolutions) {
        return planningGraph(QkvFusion.plan(graph, QkvFusion.enabledByProperty()), graph, enabled, convolutions);
    }

    /** {@link #planningGraph(ImmutableTaskGraph, boolean, boolean)} on top of {@code projections}' planning graph. */
    static ImmutableTaskGraph planningGraph(QkvFusion projections, ImmutableTaskGraph graph, boolean enabled, boolean convolutions) {
        return planningGraph(projections, graph, enabled, convolutions, null);
    }

    /** The same, with channels-last conv pairs under {@code nhwc} (null: none). */
    static ImmutableTaskGraph planningGraph(QkvFusion projections, ImmutableTaskGraph graph, boolean enabled, boolean convolutions,
                                            ChannelsLastPlan nhwc) {
        ImmutableTaskGraph base = projections.planningGraph();
        if (!enabled) return base;
        ResidualFusion structural = new ResidualFusion(graph, null, true, convolutions, nhwc);
        if (structural.byProducer.isEmpty()) return base;
        Map<Integer, ResidualAdd> sums = new HashMap<>(), byAdd = new HashMap<>();
        List<Task> tasks = new ArrayList<>();
        for (ResidualAdd f : structural.byProducer.values()) {
            if (writesSum(f.producer())) {
                sums.put(f.producer().index(), f);
                byAdd.put(f.add().index(), f);
            } else {
                tasks.add(new Task(f.producer().index(), f.add().op(), List.of(), f.add().output(), f.add().label()));
            }
        }
        List<Task> all = new ArrayList<>();
        for (Task t : base.tasks()) {
            ResidualAdd a = byAdd.get(t.index());
            if (a != null && t.output() == a.add().output()) continue;
            ResidualAdd f = sums.get(t.index());
            if (f == null || t.output() != f.producer().output()) {
                all.add(t);
                continue;
            }
            List<Value> inputs = new ArrayList<>(t.inputs());
            inputs.add(f.residual());
            all.add(new Task(t.index(), t.op(), inputs, f.add().output(), t.label()));
        }
        all.addAll(tasks);
        return new ImmutableTaskGraph(graph.name(), graph.activation(), base.values(), List.copyOf(all), graph.inputs(), graph.outputs());
    }

    /** -Di2vgen.cuda.fuse=false turns the fusion off (A/B runs). */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.cuda.fuse")); }

    /** Task indices of the producers of every pair that passes the address-free checks. */
    static java.util.Set<Integer> structuralProducers(ImmutableTaskGraph graph, boolean enabled, boolean convolutions) {
        if (!enabled) return java.util.Set.of();
        return java.util.Set.copyOf(new ResidualFusion(graph, null, true, convolutions, null).byProducer.keySet());
    }

    /** Linear pairs only. */
    static ImmutableTaskGraph planningGraph(ImmutableTaskGraph graph, boolean enabled) {
        return planningGraph(graph, enabled, false);
    }

    /** The fused pair whose producer (Linear or Conv2d) is task {@code index}, or null. */
    ResidualAdd forProducer(int index) { return byProducer.get(index); }

    /** Every fused pair, by Linear task index. */
    Map<Integer, ResidualAdd> fused() { return java.util.Collections.unmodifiableMap(byProducer); }

    /** Why each Linear that was looked at was not fused (tests, logs). */
    Map<Integer, String> refusals() { return java.util.Collections.unmodifiableMap(refusals); }

    /** Whether {@code t}'s pair passes the address-free checks (what planningGraph planned). */
    private boolean structuralPair(Task t) {
        return new ResidualFusion(graph, null, true, convolutions, nhwc).byProducer.containsKey(t.index());
    }

    /** A Conv2d that runs channels-last: it fuses with an Add that runs channels-last on a channels-last residual. */
    private boolean nhwcConv(Task t) { return nhwc != null && t.op() instanceof Conv2d && nhwc.runs(t); }

    /** Null when {@code producing} (a Linear, Conv2d or Permute) fuses (and records it); otherwise the reason it does not. */
    private String refusal(Task producing) {
        Value y = producing.output();
        List<Task> uses = readers.getOrDefault(y.root().id(), List.of());
        if (uses.size() != 1 || uses.get(0) == null) return "output has " + uses.size() + " uses (or is a graph output)";
        Task add = uses.get(0);
        if (!(add.op() instanceof Binary b) || b.kind() != Binary.Kind.ADD) return "its use is " + add.op().name() + ", not add";
        Value p = add.input(0), q = add.input(1), d = add.output();
        Value r = p.root() == y.root() ? q : p;
        if (r.root() == y.root()) return "both add operands are the linear's output";
        TensorLayouts.RowBroadcast rows = null;
        if (y.numel() != d.numel() || r.numel() != d.numel()) {
            if (!(producing.op() instanceof Conv2d) || y.numel() != d.numel()) return "the add broadcasts";
            rows = TensorLayouts.rowBroadcast(d.shape(), r.shape());
            if (rows == null || rows.inner() != (long) y.dim(2) * y.dim(3)) return "the add broadcasts other than per image and channel";
        }
        if (nhwcConv(producing) && (rows != null || !nhwc.runs(add) || !nhwc.stored(r)))
            return "a channels-last conv whose add or residual is not channels-last";
        if (r.root().kind() == Value.Kind.INTERMEDIATE) {
            Integer made = producer.get(r.root().id());
            if (made == null || made >= producing.index()) return "the residual is produced after the linear";
        }
        if (storage == null) {   // planningGraph: the address-free checks only
            byProducer.put(producing.index(), new ResidualAdd(producing, add, r, rows));
            return null;
        }
        if (!storage.activationTyped(y) || !storage.activationTyped(d)) return "output or add result not in the activation dtype";
        long dStart = storage.address(d), dEnd = dStart + storage.bytes(d);
        long rStart = storage.address(r), rEnd = rStart + storage.bytes(r);
        if (!(rStart == dStart && rEnd == dEnd) && overlaps(dStart, dEnd, rStart, rEnd)) return "the residual partly overlaps the add result";
        // D is written at the Linear instead of at the Add: nothing touched in between may share its bytes
        for (int i = producing.index(); i < add.index(); i++) {
            Task t = graph.tasks().get(i);
            List<Value> touched = new ArrayList<>(t.inputs());
            if (t != producing) touched.add(t.output());
            for (Value v : touched) {
                // constants never share the arena with D, and asking a CUDA plan for a constant's address uploads its
                // plain layout (a conv island holds only its KRSC copy); an R equal to D read in between is refused here
                if (v == null || v.root().kind() == Value.Kind.CONSTANT) continue;
                long s = storage.address(v);
                if (overlaps(dStart, dEnd, s, s + storage.bytes(v)))
                    return "the add result's buffer overlaps " + v + " used by task " + t.index() + " (" + t.op().name() + ")";
            }
        }
        byProducer.put(producing.index(), new ResidualAdd(producing, add, r, rows));
        return null;
    }

    private static boolean overlaps(long aStart, long aEnd, long bStart, long bEnd) {
        return aStart < bEnd && bStart < aEnd;
    }
}
