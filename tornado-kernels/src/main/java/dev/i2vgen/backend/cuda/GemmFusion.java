package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Binary;
import dev.i2vgen.graph.ops.Linear;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides which Linear + residual Add pairs run as one cuBLASLt GEMM, D = x·Wᵀ + bias + R (beta = 1, C = R), with
 * the Add lowered as nothing: the linear's output y is never written, saving the element-wise pass over y, R and
 * D. Pure graph and address logic (no CUDA), so it is unit-tested on the JVM.
 *
 * <p>A pair is fused only when the result cannot change:
 * <ul>
 * <li>y's only use is one operand of a Binary ADD, y is no graph output, and both operands have the Add's
 *     element count (no broadcasting; a reshape view of y counts as y);</li>
 * <li>the other operand R is an input, a constant or produced before the Linear (the GEMM reads it early);</li>
 * <li>y and D are stored in the activation dtype (the GEMM writes it; R may be staged like any operand);</li>
 * <li>D's bytes are disjoint from every buffer that a task from the Linear up to just before the Add reads or
 *     writes (x, W, bias, and anything between): the memory planner lets D reuse buffers that die before the
 *     Add (x's, typically), but the fused GEMM writes D already at the Linear. R may be D exactly (cuBLASLt's
 *     in-place case) but must not overlap it partly.</li>
 * </ul>
 */
final class GemmFusion {

    /** Where values live: device addresses in a CUDA plan, any consistent numbering in tests. */
    interface Storage {
        /** Start of the bytes holding {@code v} (its root's buffer for views). */
        long address(Value v);

        /** Bytes of {@code v} as stored. */
        long bytes(Value v);

        /** Whether {@code v} is stored in the graph's activation dtype. */
        boolean activationTyped(Value v);
    }

    /** A Linear whose output feeds only {@code add}; {@code residual} is the Add's other operand. */
    record ResidualAdd(Task linear, Task add, Value residual) {}

    private final ImmutableTaskGraph graph;
    private final Storage storage;
    private final Map<Integer, List<Task>> readers = new HashMap<>();   // root id → one entry per input reference
    private final Map<Integer, Integer> producer = new HashMap<>();     // root id → index of the task writing it
    private final Map<Integer, ResidualAdd> byLinear = new LinkedHashMap<>();
    private final Map<Integer, String> refusals = new LinkedHashMap<>();

    private GemmFusion(ImmutableTaskGraph graph, Storage storage, boolean enabled) {
        this.graph = graph;
        this.storage = storage;
        if (!enabled) return;
        for (Task t : graph.tasks()) {
            producer.putIfAbsent(t.output().root().id(), t.index());
            for (Value in : t.inputs()) if (in != null) readers.computeIfAbsent(in.root().id(), k -> new ArrayList<>()).add(t);
        }
        for (Value o : graph.outputs().values()) readers.computeIfAbsent(o.root().id(), k -> new ArrayList<>()).add(null);
        for (Task t : graph.tasks()) {
            if (!(t.op() instanceof Linear)) continue;
            String why = refusal(t);
            if (why != null) refusals.put(t.index(), why);
        }
    }

    /** Plans the fusions of {@code graph} with its buffers placed as {@code storage} says; none when {@code enabled} is false. */
    static GemmFusion plan(ImmutableTaskGraph graph, Storage storage, boolean enabled) {
        return new GemmFusion(graph, storage, enabled);
    }

    /**
     * The graph the memory planner should place buffers for: {@code graph} plus, for every pair that passes the
     * checks that need no addresses, a task-less marker writing the Add's result at the Linear's index. The planner
     * then keeps D live from the Linear on, so D no longer gets the slot of x (dead after the Linear in the
     * unfused order, and otherwise the usual reason to refuse) or of anything used before the Add.
     * The markers are never lowered; the address checks of {@link #plan} still run on the final placement.
     * Fused attention projections ({@link QkvFusion}, its own property) are planned in the same graph: one buffer
     * per group instead of the q, k, v outputs.
     */
    static ImmutableTaskGraph planningGraph(ImmutableTaskGraph graph, boolean enabled) {
        ImmutableTaskGraph base = QkvFusion.plan(graph, QkvFusion.enabledByProperty()).planningGraph();
        if (!enabled) return base;
        GemmFusion structural = new GemmFusion(graph, null, true);
        if (structural.byLinear.isEmpty()) return base;
        List<Task> tasks = new ArrayList<>(base.tasks());
        for (ResidualAdd f : structural.byLinear.values())
            tasks.add(new Task(f.linear().index(), f.add().op(), List.of(), f.add().output(), f.add().label()));
        return new ImmutableTaskGraph(graph.name(), graph.activation(), base.values(), List.copyOf(tasks), graph.inputs(), graph.outputs());
    }

    /** -Di2vgen.cuda.fuse=false turns the fusion off (A/B runs). */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.cuda.fuse")); }

    /** The fused pair whose Linear is task {@code index}, or null. */
    ResidualAdd forLinear(int index) { return byLinear.get(index); }

    /** Every fused pair, by Linear task index. */
    Map<Integer, ResidualAdd> fused() { return java.util.Collections.unmodifiableMap(byLinear); }

    /** Why each Linear that was looked at was not fused (tests, logs). */
    Map<Integer, String> refusals() { return java.util.Collections.unmodifiableMap(refusals); }

    /** Null when {@code linear} fuses (and records it); otherwise the reason it does not. */
    private String refusal(Task linear) {
        Value y = linear.output();
        List<Task> uses = readers.getOrDefault(y.root().id(), List.of());
        if (uses.size() != 1 || uses.get(0) == null) return "output has " + uses.size() + " uses (or is a graph output)";
        Task add = uses.get(0);
        if (!(add.op() instanceof Binary b) || b.kind() != Binary.Kind.ADD) return "its use is " + add.op().name() + ", not add";
        Value p = add.input(0), q = add.input(1), d = add.output();
        if (p.numel() != d.numel() || q.numel() != d.numel()) return "the add broadcasts";
        Value r = p.root() == y.root() ? q : p;
        if (r.root() == y.root()) return "both add operands are the linear's output";
        if (r.root().kind() == Value.Kind.INTERMEDIATE) {
            Integer made = producer.get(r.root().id());
            if (made == null || made >= linear.index()) return "the residual is produced after the linear";
        }
        if (storage == null) {   // planningGraph: the address-free checks only
            byLinear.put(linear.index(), new ResidualAdd(linear, add, r));
            return null;
        }
        if (!storage.activationTyped(y) || !storage.activationTyped(d)) return "output or add result not in the activation dtype";
        long dStart = storage.address(d), dEnd = dStart + storage.bytes(d);
        long rStart = storage.address(r), rEnd = rStart + storage.bytes(r);
        if (!(rStart == dStart && rEnd == dEnd) && overlaps(dStart, dEnd, rStart, rEnd)) return "the residual partly overlaps the add result";
        // D is written at the Linear instead of at the Add: nothing touched in between may share its bytes
        for (int i = linear.index(); i < add.index(); i++) {
            Task t = graph.tasks().get(i);
            List<Value> touched = new ArrayList<>(t.inputs());
            if (t != linear) touched.add(t.output());
            for (Value v : touched) {
                if (v == null) continue;   // (an R equal to D that is read in between is refused here too)
                long s = storage.address(v);
                if (overlaps(dStart, dEnd, s, s + storage.bytes(v)))
                    return "the add result's buffer overlaps " + v + " used by task " + t.index() + " (" + t.op().name() + ")";
            }
        }
        byLinear.put(linear.index(), new ResidualAdd(linear, add, r));
        return null;
    }

    private static boolean overlaps(long aStart, long aEnd, long bStart, long bEnd) {
        return aStart < bEnd && bStart < aEnd;
    }
}
