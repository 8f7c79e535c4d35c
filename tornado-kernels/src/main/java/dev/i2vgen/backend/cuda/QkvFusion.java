package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Attention;
import dev.i2vgen.graph.ops.Linear;
import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides which attention projections run as one GEMM: the to_q / to_k / to_v Linears of a self-attention (one
 * input x) become one GEMM with N = Nq + Nk + Nv into a [M, N] buffer, and the attention reads q, k, v as column
 * blocks of it at row stride N (attention.cu's ld arguments); for a cross-attention, to_k and to_v on the same
 * encoder state become one N = Nk + Nv GEMM. x is read once instead of three times, and an N = 320 projection
 * (under-filled on the H100) becomes an N = 960 one. Pure graph logic (no CUDA): unit-tested on the JVM.
 *
 * <p>A group is formed only when the result cannot change:
 * <ul>
 * <li>k and v both come from Linears on one input (same root, same shape), q joins when its Linear reads it too;</li>
 * <li>each member's output is read by this attention alone, once, is no graph output, and the attention reads it
 *     with rows of the Linear's width (the output itself or a reshape view keeping the last axis);</li>
 * <li>the weights (and biases: all members have one or none) are constants, so the concatenated weight is made
 *     once at plan build; outputs are in the activation dtype;</li>
 * <li>the attention path reads strided rows ({@link AttentionLowering#readsStridedRows}).</li>
 * </ul>
 *
 * <p>Memory: the members' outputs get no buffers of their own; {@link #planningGraph} gives the planner one value of
 * shape [M, N] per group, written by every member Linear (so it is live from the first, where the fused GEMM runs)
 * and read by the attention. Such values need ids past the graph's own (the planner indexes by id, and
 * {@link Value}'s constructor is the graph package's): a scratch {@link TaskGraph} numbers placeholders up to the
 * graph's size, then the group buffers. The construction is deterministic, so the lowering, which plans the same
 * graph again, gets buffers with the same ids and finds them in the memory plan.
 */
final class QkvFusion {
    /** -Di2vgen.cuda.fuseQkv=false keeps three projections (A/B runs); independent of i2vgen.cuda.fuse. */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.cuda.fuseQkv")); }

    /**
     * One fused projection: {@code linears} in the attention's input order (q, k, v or k, v), {@code columns} the
     * first column of each member in {@code buffer} [rows, width], {@code first} the lowest task index among them
     * (where the GEMM runs).
     */
    record Group(Task attention, List<Task> linears, int[] columns, int width, long rows, int k, Value buffer, int first) {
        /** The member whose output is (a view of) {@code v}, or -1. */
        int memberOf(Value v) {
            for (int i = 0; i < linears.size(); i++) if (linears.get(i).output().root() == v.root()) return i;
            return -1;
        }
    }

    /** A value with a chosen shape and no inputs: the planner's stand-in for one group's [M, N] buffer. */
    private record Buffer(int[] shape) implements Op {
        public String name() { return "fused projections"; }

        public int[] outputShape(List<Value> inputs) { return shape.clone(); }
    }

    private final ImmutableTaskGraph graph;
    private final List<Group> groups = new ArrayList<>();
    private final Map<Integer, Group> byLinear = new HashMap<>();
    private final Map<Integer, Group> byAttention = new HashMap<>();
    private final Map<Integer, String> refusals = new LinkedHashMap<>();
    private final List<Value> placeholders = new ArrayList<>();

    private QkvFusion(ImmutableTaskGraph graph, boolean enabled) {
        this.graph = graph;
        if (!enabled) return;
        Map<Integer, List<Task>> readers = new HashMap<>();   // root id → one entry per input reference (null: graph output)
        Map<Integer, Task> producer = new HashMap<>();
        for (Task t : graph.tasks()) {
            producer.putIfAbsent(t.output().root().id(), t);
            for (Value in : t.inputs()) if (in != null) readers.computeIfAbsent(in.root().id(), k -> new ArrayList<>()).add(t);
        }
        for (Value o : graph.outputs().values()) readers.computeIfAbsent(o.root().id(), k -> new ArrayList<>()).add(null);
        List<List<Task>> found = new ArrayList<>();   // per fused attention: the attention, then its members
        for (Task t : graph.tasks()) {
            if (!(t.op() instanceof Attention a)) continue;
            List<Task> members = new ArrayList<>();
            String why = refusal(t, a, readers, producer, members);
            if (why != null) {
                refusals.put(t.index(), why);
                continue;
            }
            members.add(0, t);
            found.add(members);
        }
        if (found.isEmpty()) return;
        // placeholders numbered 0 .. n-1 (views: they own no memory), then one buffer per group from id n on
        TaskGraph ids = new TaskGraph(graph.name() + "-fused-projections", graph.activation());
        int n = graph.values().size();
        Value first = ids.add(new Buffer(new int[]{1}));
        placeholders.add(first);
        for (int i = 1; i < n; i++) placeholders.add(ids.reshape(first, 1));
        for (List<Task> entry : found) {
            Task att = entry.get(0);
            List<Task> members = entry.subList(1, entry.size());
            int width = 0;
            int[] columns = new int[members.size()];
            for (int i = 0; i < members.size(); i++) {
                columns[i] = width;
                width += members.get(i).input(1).dim(0);
            }
            Value x = members.get(0).input(0);
            int k = x.dim(-1);
            long rows = x.numel() / k;
            Value buffer = ids.add(new Buffer(new int[]{(int) rows, width}));
            if (buffer.id() != n + groups.size()) throw new IllegalStateException("fused projection buffer ids out of step");
            int firstIndex = members.stream().mapToInt(Task::index).min().orElseThrow();
            Group g = new Group(att, List.copyOf(members), columns, width, rows, k, buffer, firstIndex);
            groups.add(g);
            byAttention.put(att.index(), g);
            for (Task m : members) byLinear.put(m.index(), g);
        }
    }

    /** The groups of {@code graph} (none when {@code enabled} is false). */
    static QkvFusion plan(ImmutableTaskGraph graph, boolean enabled) { return new QkvFusion(graph, enabled); }

    /** Null when attention {@code t} gets a fused projection (and fills {@code members}); otherwise why not. */
    private String refusal(Task t, Attention a, Map<Integer, List<Task>> readers, Map<Integer, Task> producer, List<Task> members) {
        Value q = t.input(0), k = t.input(1), v = t.input(2);
        int dk = q.dim(2) / a.heads(), dv = v.dim(2) / a.heads();
        if (!AttentionLowering.readsStridedRows(graph.activation(), a.heads(), dk, dv)) return "this attention path needs dense rows";
        Task[] linears = new Task[3];
        Value[] in = {q, k, v};
        String[] names = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            Task p = producer.get(in[i].root().id());
            String why = p == null ? "not computed by a task" : projectionRefusal(p, in[i], t, readers);
            if (why != null) {
                if (i == 0) continue;   // q may stay separate (cross-attention)
                return names[i] + ": " + why;
            }
            linears[i] = p;
        }
        Value xk = linears[1].input(0);
        if (!sameInput(xk, linears[2].input(0))) return "k and v are projections of different inputs";
        boolean withQ = linears[0] != null && sameInput(linears[0].input(0), xk);
        List<Task> chosen = withQ ? List.of(linears[0], linears[1], linears[2]) : List.of(linears[1], linears[2]);
        long biased = chosen.stream().filter(m -> m.input(2) != null).count();
        if (biased != 0 && biased != chosen.size()) return "some projections have a bias and some do not";
        long width = chosen.stream().mapToLong(m -> m.input(1).dim(0)).sum();
        long rows = xk.numel() / xk.dim(-1);
        if (rows > Integer.MAX_VALUE || width > Integer.MAX_VALUE) return "the fused output is too large";
        members.addAll(chosen);
        return null;
    }

    /** Null when Linear {@code p} producing attention operand {@code used} can be a member; otherwise why not. */
    private String projectionRefusal(Task p, Value used, Task attention, Map<Integer, List<Task>> readers) {
        if (!(p.op() instanceof Linear)) return "computed by " + p.op().name() + ", not a linear";
        Value y = p.output();
        List<Task> uses = readers.getOrDefault(y.root().id(), List.of());
        if (uses.size() != 1 || uses.get(0) != attention) return "the projection has other uses (or is a graph output)";
        if (used.dim(-1) != y.dim(-1) || used.numel() != y.numel()) return "the attention reads it with other rows";
        if (y.dtype() != graph.activation()) return "stored in " + y.dtype() + ", not the activation dtype";
        Value w = p.input(1), b = p.input(2);
        if (w.root().kind() != Value.Kind.CONSTANT || w.root().numel() != w.numel()) return "the weight is not a constant";
        if (b != null && (b.root().kind() != Value.Kind.CONSTANT || b.root().numel() != b.numel())) return "the bias is not a constant";
        return null;
    }

    private static boolean sameInput(Value a, Value b) {
        return a.root() == b.root() && a.numel() == b.numel() && a.dim(-1) == b.dim(-1);
    }

    /**
     * The graph the memory planner should place buffers for: the members' outputs own no memory (placeholders with
     * their ids), each group's buffer is written by its member Linears and read by its attention. {@code graph}
     * itself when nothing fuses. Never lowered.
     */
    ImmutableTaskGraph planningGraph() {
        if (groups.isEmpty()) return graph;
        List<Value> values = new ArrayList<>(graph.values());
        List<Task> tasks = new ArrayList<>(graph.tasks());
        for (Group g : groups) {
            for (Task m : g.linears()) {
                int id = m.output().root().id();
                values.set(id, placeholders.get(id));
                tasks.set(m.index(), new Task(m.index(), m.op(), m.inputs(), g.buffer(), m.label()));
            }
            Task a = g.attention();
            List<Value> ins = new ArrayList<>(a.inputs());
            for (int i = 0; i < ins.size(); i++) if (g.memberOf(ins.get(i)) >= 0) ins.set(i, g.buffer());
            tasks.set(a.index(), new Task(a.index(), a.op(), List.copyOf(ins), a.output(), a.label()));
        }
        for (Group g : groups) values.add(g.buffer());
        return new ImmutableTaskGraph(graph.name(), graph.activation(), List.copyOf(values), List.copyOf(tasks), graph.inputs(), graph.outputs());
    }

    /** The group whose member is Linear task {@code index}, or null. */
    Group forLinear(int index) { return byLinear.get(index); }

    /** The group feeding attention task {@code index}, or null. */
    Group forAttention(int index) { return byAttention.get(index); }

    List<Group> groups() { return Collections.unmodifiableList(groups); }

    /** Why each attention looked at got no fused projection (tests, logs). */
    Map<Integer, String> refusals() { return Collections.unmodifiableMap(refusals); }
}
