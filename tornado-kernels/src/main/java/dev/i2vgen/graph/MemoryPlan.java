package dev.i2vgen.graph;

/**
 * Where each buffer-owning value (a graph INPUT or a task output that is not a reshape view) lives in
 * one arena, and when it is live. Arrays are indexed by {@link Value#id()}; values without a buffer of
 * their own (constants, reshape views) have offset −1 — use {@link #offset(Value)}, which follows views.
 * Lifetimes are task indices: an input starts at −1, a graph output ends past the last task. A value that no task
 * writes or reads (one a backend's planning graph fused away) has offset 0 and no bytes of its own: nothing may write it.
 */
public record MemoryPlan(long peakBytes, long[] offsets, long[] sizes, int[] start, int[] end) {

    /** Byte offset of the buffer that holds {@code v} (its root's buffer for reshape views). */
    public long offset(Value v) {
        long o = offsets[v.root().id()];
        if (o < 0) throw new IllegalArgumentException("value " + v + " has no planned buffer (it is a " + v.root().kind() + ")");
        return o;
    }

    public boolean hasBuffer(Value v) { return offsets[v.root().id()] >= 0; }

    /** Whether the buffers of values {@code a} and {@code b} (roots) are live at the same time. */
    public boolean overlapInTime(int a, int b) { return start[a] <= end[b] && start[b] <= end[a]; }
}
