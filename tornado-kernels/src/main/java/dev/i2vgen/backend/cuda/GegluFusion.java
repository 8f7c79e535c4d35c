package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Geglu;
import dev.i2vgen.graph.ops.Linear;
import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Linear → GEGLU pairs (diffusers' feed-forward {@code net.0}: proj, then value half × GELU(gate half)) that run as one
 * kernel: the GEMM computes the value and the gate tiles of each output tile and applies the activation in its
 * epilogue ({@link Sm90GegluGemm}, geglu_sm90.cu), so the Linear's [M, 2I] output is never written nor read. The
 * Geglu task is lowered as nothing; the memory planner sees the Linear writing the Geglu's output
 * ({@link #planningGraph}), so the [M, 2I] buffer takes no memory. Pure graph logic (unit-tested on the JVM); whether
 * the device can run it (compute capability 9.0) is the caller's {@code enabled}.
 *
 * <p>A pair needs: the Linear's output y read only by the Geglu, as y itself or a reshape view with y's rows, and no
 * graph output; fp16/bf16 activations, x, y and the Geglu's output stored in the activation dtype; a constant weight
 * [2I, K] (all of its root) and a constant bias or none; K a multiple of {@value Sm90GegluGemm#BK} and I of
 * {@value Sm90GegluGemm#BN} (the kernel's tiles); M and the tile count within the kernel's 32-bit indices. The other fusions
 * never claim such a Linear (its output feeds no Add and no attention), so the pairs are disjoint from theirs.
 */
final class GegluFusion {
    /** The Linear whose output only {@code geglu} reads; x is [M, K], the weight [2I, K]. */
    record Pair(Task linear, Task geglu, long rows, int k, int half) {}

    private final Map<Integer, Pair> byLinear = new LinkedHashMap<>(), byGeglu = new HashMap<>();
    private final Map<Integer, String> refusals = new LinkedHashMap<>();

    private GegluFusion(ImmutableTaskGraph graph, boolean enabled, int maxK) {
        if (!enabled) return;
        Map<Integer, List<Task>> readers = new HashMap<>();   // root id → one entry per input reference (null: graph output)
        for (Task t : graph.tasks())
            for (Value in : t.inputs()) if (in != null) readers.computeIfAbsent(in.root().id(), k -> new ArrayList<>()).add(t);
        for (Value o : graph.outputs().values()) readers.computeIfAbsent(o.root().id(), k -> new ArrayList<>()).add(null);
        for (Task t : graph.tasks()) {
            if (!(t.op() instanceof Linear)) continue;
            List<Task> uses = readers.getOrDefault(t.output().root().id(), List.of());
            if (uses.size() != 1 || uses.get(0) == null || !(uses.get(0).op() instanceof Geglu)) continue;   // not a GEGLU projection
            Task geglu = uses.get(0);
            String why = refusal(graph.activation(), t, geglu, maxK);
            if (why != null) {
                refusals.put(t.index(), why);
                continue;
            }
            Value x = t.input(0);
            int k = x.dim(-1), half = t.input(1).dim(0) / 2;
            Pair pair = new Pair(t, geglu, x.numel() / k, k, half);
            byLinear.put(t.index(), pair);
            byGeglu.put(geglu.index(), pair);
        }
    }

    /**
     * The pairs of {@code graph}; none when {@code enabled} is false (the property, or a device that cannot run them);
     * none whose K exceeds {@link #maxKByProperty}.
     */
    static GegluFusion of(ImmutableTaskGraph graph, boolean enabled) { return new GegluFusion(graph, enabled, maxKByProperty()); }

    /**
     * The largest K fused ({@code -Di2vgen.cuda.gegluFusionMaxK}, 640 by default): in the H100 profiles of session 11 the
     * fused kernel beat cuBLASLt + the GEGLU pass at K = 320, 512 and 640 (by 1.2–3.1 ms per five calls) and lost at
     * K = 1280 (levels 2–3: 7.28 against 6.18 ms per five calls, where the [M, 2I] projection is only 0.58 GB).
     */
    static int maxKByProperty() { return Integer.getInteger("i2vgen.cuda.gegluFusionMaxK", 640); }

    /**
     * On by default ({@code -Di2vgen.cuda.gegluFusion=false} turns it off): on the H100 (session 11, one call) the UNet
     * step took 0.4260 s against 0.4351 s unfused and its peak memory 9.32 GiB against 11.90 GiB (the [M, 2I]
     * projection is never stored), and the conformance cases passed with it (docs/cuda-performance-notes.md, section 23).
     */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.cuda.gegluFusion")); }

    /** Null when Linear {@code linear}, read only by {@code geglu}, fuses with it; otherwise why not. */
    private static String refusal(DType act, Task linear, Task geglu, int maxK) {
        if (act != DType.F16 && act != DType.BF16) return "activations in " + act + ": the kernel is fp16/bf16 only";
        Value x = linear.input(0), w = linear.input(1), b = linear.input(2), y = linear.output(), in = geglu.input(0), out = geglu.output();
        if (in.dim(-1) != y.dim(-1) || in.numel() != y.numel()) return "the geglu reads the linear's output with other rows";
        for (Value v : new Value[]{x, y, out})
            if (v.root().dtype() != act) return v + " is stored in " + v.root().dtype() + ", not the activation dtype";
        if (w.root().kind() != Value.Kind.CONSTANT || w.root().numel() != w.numel()) return "the weight is not a constant";
        if (b != null && (b.root().kind() != Value.Kind.CONSTANT || b.root().numel() != b.numel())) return "the bias is not a constant";
        int k = x.dim(-1), n = w.dim(0);
        if (k % Sm90GegluGemm.BK != 0) return "K = " + k + " is not a multiple of " + Sm90GegluGemm.BK;
        if (k > maxK) return "K = " + k + " is above " + maxK + ", where cuBLASLt and the GEGLU pass are faster (-Di2vgen.cuda.gegluFusionMaxK)";
        if (n % (2 * Sm90GegluGemm.BN) != 0) return "I = " + n / 2 + " is not a multiple of " + Sm90GegluGemm.BN;
        long rows = x.numel() / k;
        if (rows > Integer.MAX_VALUE - Sm90GegluGemm.BM || Sm90GegluGemm.tiles(rows, n / 2) > Integer.MAX_VALUE)
            return rows + " rows are too many for the kernel's 32-bit row and tile indices";
        return null;
    }

    /** The pair whose Linear is task {@code index} (lowered as the fused kernel), or null. */
    Pair forLinear(int index) { return byLinear.get(index); }

    /** The pair whose Geglu is task {@code index} (lowered as nothing), or null. */
    Pair forGeglu(int index) { return byGeglu.get(index); }

    /** Every pair, by Linear task index. */
    Map<Integer, Pair> pairs() { return Collections.unmodifiableMap(byLinear); }

    /** Why each Linear feeding a Geglu was not fused (tests, logs). */
    Map<Integer, String> refusals() { return Collections.unmodifiableMap(refusals); }

    /**
     * {@code planning} (the graph as the memory planner sees it so far) with each pair's Linear writing its Geglu's
     * output and the Geglu dropped: the Linear's own output is then neither written nor read and takes no memory.
     */
    ImmutableTaskGraph planningGraph(ImmutableTaskGraph planning) {
        if (byLinear.isEmpty()) return planning;
        List<Task> tasks = new ArrayList<>();
        for (Task t : planning.tasks()) {
            Pair asGeglu = byGeglu.get(t.index()), asLinear = byLinear.get(t.index());
            if (asGeglu != null && t.output() == asGeglu.geglu().output()) continue;
            if (asLinear != null && t.output() == asLinear.linear().output()) {
                tasks.add(new Task(t.index(), t.op(), t.inputs(), asLinear.geglu().output(), t.label()));
                continue;
            }
            tasks.add(t);
        }
        return new ImmutableTaskGraph(planning.name(), planning.activation(), planning.values(), List.copyOf(tasks),
                planning.inputs(), planning.outputs());
    }
}
