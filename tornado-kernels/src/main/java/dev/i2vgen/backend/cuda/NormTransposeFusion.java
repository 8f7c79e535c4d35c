package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.GroupNorm;
import dev.i2vgen.graph.ops.Permute;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GroupNorm → Permute pairs that run as one pass: the norm's apply writes straight into the permute's output
 * (layout.cu group_norm_transposed), and the permute is lowered as nothing. The transformers' inputs: the spatial
 * one's GN over [N, C, h, w] then {0, 2, 3, 1} to tokens, the temporal one's frame-major GN over [B, F, C, h, w]
 * (channels on axis 2) then {0, 3, 4, 1, 2} to one sequence of frames per pixel. Pure graph logic (unit-tested on
 * the JVM); the memory planner sees the norm writing the permute's output ({@link #planningGraph}), so the norm's own
 * output, never written, costs nothing.
 *
 * <p>A pair needs: the norm's output read only by the permute, as that very value (no view), and no graph output;
 * both extents of the transpose at least 4 (the tiled kernels); the norm's gamma and beta given. Only where
 * {@link ResidualFusion#transposesFuse} allows (fp16/bf16, vectorized kernels, -Di2vgen.cuda.islandFusion).
 */
final class NormTransposeFusion {
    private static final int[] TOKENS = {0, 2, 3, 1};             // [N, C, h, w] → [N, h, w, C]
    private static final int[] FRAME_SEQUENCES = {0, 3, 4, 1, 2}; // [B, F, C, h, w] → [B, h, w, F, C]

    /** {@code norm}'s output is {@code permute}'s input; {@code frames} images share one norm statistic (F or 1). */
    record Pair(Task norm, Task permute, int frames) {}

    private final Map<Integer, Pair> byNorm = new HashMap<>(), byPermute = new HashMap<>();

    private NormTransposeFusion(ImmutableTaskGraph graph, boolean enabled, java.util.Set<Integer> otherwiseFused) {
        if (!enabled) return;
        Map<Integer, List<Task>> readers = new HashMap<>();
        for (Task t : graph.tasks())
            for (Value in : t.inputs()) if (in != null) readers.computeIfAbsent(in.root().id(), k -> new ArrayList<>()).add(t);
        for (Value o : graph.outputs().values()) readers.computeIfAbsent(o.root().id(), k -> new ArrayList<>()).add(null);
        for (Task t : graph.tasks()) {
            if (!(t.op() instanceof GroupNorm gn) || t.input(1) == null || t.input(2) == null) continue;
            Value y = t.output();
            List<Task> uses = readers.getOrDefault(y.root().id(), List.of());
            if (uses.size() != 1 || uses.get(0) == null || !(uses.get(0).op() instanceof Permute p) || uses.get(0).input(0) != y
                    || otherwiseFused.contains(uses.get(0).index())) continue;
            int[] perm = p.perm();
            int frames;
            if (gn.channelAxis() == 1 && y.rank() == 4 && Arrays.equals(perm, TOKENS)) frames = 1;
            else if (gn.channelAxis() == 2 && y.rank() == 5 && Arrays.equals(perm, FRAME_SEQUENCES)) frames = y.dim(1);
            else continue;
            if (!ResidualFusion.tiled(y.shape(), perm)) continue;
            Pair pair = new Pair(t, uses.get(0), frames);
            byNorm.put(t.index(), pair);
            byPermute.put(uses.get(0).index(), pair);
        }
    }

    /**
     * The pairs of {@code graph}; none when {@code enabled} is false. A permute in {@code otherwiseFused} (the producer
     * of a ResidualFusion pair, which writes the Add's result itself) takes no norm.
     */
    static NormTransposeFusion of(ImmutableTaskGraph graph, boolean enabled, java.util.Set<Integer> otherwiseFused) {
        return new NormTransposeFusion(graph, enabled, otherwiseFused);
    }

    /** The pair whose GroupNorm is task {@code index}, or null. */
    Pair forNorm(int index) { return byNorm.get(index); }

    /** The pair whose Permute is task {@code index} (lowered as nothing), or null. */
    Pair forPermute(int index) { return byPermute.get(index); }

    int size() { return byNorm.size(); }

    /**
     * {@code planning} (the graph as the memory planner sees it so far) with each pair's norm writing its permute's
     * output and the permute dropped.
     */
    ImmutableTaskGraph planningGraph(ImmutableTaskGraph planning) {
        if (byNorm.isEmpty()) return planning;
        List<Task> tasks = new ArrayList<>();
        for (Task t : planning.tasks()) {
            Pair asPermute = byPermute.get(t.index()), asNorm = byNorm.get(t.index());
            if (asPermute != null && t.output() == asPermute.permute().output()) continue;
            if (asNorm != null && t.output() == asNorm.norm().output()) {
                tasks.add(new Task(t.index(), t.op(), t.inputs(), asNorm.permute().output(), t.label()));
                continue;
            }
            tasks.add(t);
        }
        return new ImmutableTaskGraph(planning.name(), planning.activation(), planning.values(), List.copyOf(tasks),
                planning.inputs(), planning.outputs());
    }
}
