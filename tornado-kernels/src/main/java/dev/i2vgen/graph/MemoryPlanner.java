package dev.i2vgen.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Plans the intermediate buffers of a graph into one arena. Liveness runs over the task order: a
 * buffer is live from the task that writes it to the last task that reads it or any reshape view of
 * it; graph outputs stay live to the end. Offsets are assigned greedily, largest buffer first, each
 * into the lowest-waste gap left by already placed buffers whose lifetimes overlap ("greedy by size",
 * as in TFLite's arena planner), which lands close to the lower bound max_t Σ live sizes.
 * A task's output never shares memory with its inputs (both are live at that task), so kernels need
 * not be written for in-place operation.
 */
public final class MemoryPlanner {
    /** Offsets are multiples of this (a cache line, and enough for any vector load). */
    public static final long ALIGNMENT = 64;

    private MemoryPlanner() {}

    /** Plans with each value's own byte size (its dtype). */
    public static MemoryPlan plan(ImmutableTaskGraph graph) {
        return plan(graph, Value::byteSize);
    }

    /** Plans with {@code bytesOf} giving the storage a backend needs for a value (e.g. F32 everywhere). */
    public static MemoryPlan plan(ImmutableTaskGraph graph, ToLongFunction<Value> bytesOf) {
        int n = graph.values().size();
        long[] offsets = new long[n];
        long[] sizes = new long[n];
        int[] start = new int[n];
        int[] end = new int[n];
        Arrays.fill(offsets, -1);
        Arrays.fill(start, Integer.MAX_VALUE);
        Arrays.fill(end, Integer.MIN_VALUE);
        boolean[] owns = new boolean[n];
        for (Value v : graph.values()) {
            if (v.aliasOf() == null && v.kind() != Value.Kind.CONSTANT) {
                owns[v.id()] = true;
                sizes[v.id()] = align(Math.max(bytesOf.applyAsLong(v), 1));
                if (v.kind() == Value.Kind.INPUT) { start[v.id()] = -1; end[v.id()] = -1; }
            }
        }
        for (Task t : graph.tasks()) {
            int out = t.output().root().id();
            start[out] = Math.min(start[out], t.index());
            end[out] = Math.max(end[out], t.index());
            for (Value in : t.inputs()) {
                if (in == null) continue;
                int r = in.root().id();
                if (owns[r]) end[r] = Math.max(end[r], t.index());
            }
        }
        // past the last task: indices, not the count (a backend's planning graph may drop fused tasks and keep indices)
        int last = graph.tasks().size();
        for (Task t : graph.tasks()) last = Math.max(last, t.index() + 1);
        for (Value o : graph.outputs().values()) {
            int r = o.root().id();
            if (owns[r]) end[r] = last;
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!owns[i]) continue;
            if (start[i] == Integer.MAX_VALUE) {
                // never written nor read: a value a backend fused away (its planning graph has neither its producer
                // nor a reader), no storage of its own; placing each at time -1 made all of them disjoint
                if (end[i] == Integer.MIN_VALUE) { offsets[i] = 0; continue; }
                start[i] = -1;   // read but never written: keep it harmless
            }
            if (end[i] < start[i]) end[i] = start[i];
            order.add(i);
        }
        order.sort(Comparator.<Integer>comparingLong(i -> -sizes[i]).thenComparingInt(i -> start[i]));

        List<Integer> placed = new ArrayList<>();
        long peak = 0;
        for (int b : order) {
            List<Integer> conflicts = new ArrayList<>();
            for (int p : placed) if (start[p] <= end[b] && start[b] <= end[p]) conflicts.add(p);
            conflicts.sort(Comparator.comparingLong(p -> offsets[p]));
            long best = -1, bestGap = Long.MAX_VALUE, cursor = 0;
            for (int p : conflicts) {
                long gap = offsets[p] - cursor;
                if (gap >= sizes[b] && gap < bestGap) { best = cursor; bestGap = gap; }
                cursor = Math.max(cursor, offsets[p] + sizes[p]);
            }
            offsets[b] = best >= 0 ? best : cursor;
            peak = Math.max(peak, offsets[b] + sizes[b]);
            placed.add(b);
        }
        return new MemoryPlan(peak, offsets, sizes, start, end);
    }

    static long align(long bytes) { return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT; }
}
