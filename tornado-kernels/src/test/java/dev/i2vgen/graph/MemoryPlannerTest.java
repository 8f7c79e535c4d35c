package dev.i2vgen.graph;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The arena planner: validity (no two live buffers overlap), closeness to the lower bound, and view lifetimes. */
class MemoryPlannerTest {

    /**
     * The true minimum for any placement is at least max over tasks of the bytes live at that task.
     * Computed here by brute force from the graph, independently of the planner's own liveness.
     */
    static long lowerBound(ImmutableTaskGraph g) {
        long best = 0;
        for (Task t : g.tasks()) {
            long live = 0;
            for (Value v : g.values()) {
                if (v.aliasOf() != null || v.kind() == Value.Kind.CONSTANT) continue;
                int produced = v.kind() == Value.Kind.INPUT ? -1 : producer(g, v);
                int lastUse = g.outputs().values().stream().anyMatch(o -> o.root() == v) ? Integer.MAX_VALUE : produced;
                for (Task u : g.tasks()) for (Value in : u.inputs()) if (in != null && in.root() == v) lastUse = Math.max(lastUse, u.index());
                if (produced <= t.index() && t.index() <= lastUse) live += MemoryPlanner.align(v.byteSize());
            }
            best = Math.max(best, live);
        }
        return best;
    }

    private static int producer(ImmutableTaskGraph g, Value v) {
        for (Task t : g.tasks()) if (t.output() == v) return t.index();
        throw new AssertionError("no producer for " + v);
    }

    /** No two buffers that are live at the same time may share a byte. */
    static void assertValid(ImmutableTaskGraph g, MemoryPlan p) {
        List<Value> owners = g.values().stream().filter(v -> p.offsets()[v.id()] >= 0).toList();
        for (Value a : owners)
            for (Value b : owners) {
                if (a == b || !p.overlapInTime(a.id(), b.id())) continue;
                long a0 = p.offsets()[a.id()], a1 = a0 + p.sizes()[a.id()], b0 = p.offsets()[b.id()], b1 = b0 + p.sizes()[b.id()];
                assertFalse(a0 < b1 && b0 < a1, a + " and " + b + " are live together and overlap in memory");
            }
        for (Value v : owners) assertTrue(p.offsets()[v.id()] + p.sizes()[v.id()] <= p.peakBytes());
    }

    @Test
    void chainOfChangingSizesStaysNearTheLowerBound() {
        TaskGraph g = new TaskGraph("chain", DType.F32);
        Value v = g.input("x", DType.F32, 1000);
        v = g.concat(0, v, v);          // 2000
        v = g.slice(v, 0, 100, 800);    // 700
        v = g.concat(0, v, v);          // 1400
        v = g.concat(0, v, v);          // 2800
        v = g.slice(v, 0, 0, 100);      // 100
        v = g.concat(0, v, v, v);       // 300
        v = g.silu(v);
        v = g.concat(0, v, v, v, v);    // 1200
        g.output("y", g.silu(v));
        ImmutableTaskGraph frozen = g.freeze();
        MemoryPlan p = MemoryPlanner.plan(frozen);
        assertValid(frozen, p);
        long lb = lowerBound(frozen);
        assertEquals(MemoryPlanner.align(1400 * 4) + MemoryPlanner.align(2800 * 4), lb, "the test's own lower bound");
        assertTrue(p.peakBytes() <= 1.25 * lb, "peak " + p.peakBytes() + " vs lower bound " + lb);
    }

    @Test
    void diamondUsesNoMoreThanTheLiveBuffers() {
        TaskGraph g = new TaskGraph("diamond", DType.F32);
        Value x = g.input("x", DType.F32, 4, 256);
        Value a = g.silu(x);
        Value b = g.gelu(x);
        Value c = g.add(a, b);
        g.output("y", g.scale(c, 2f));
        ImmutableTaskGraph frozen = g.freeze();
        MemoryPlan p = MemoryPlanner.plan(frozen);
        assertValid(frozen, p);
        // at the add: a, b and c live (x is dead) = 3 buffers; never more than that is needed
        assertEquals(3L * 4 * 256 * 4, lowerBound(frozen));
        assertTrue(p.peakBytes() <= lowerBound(frozen), "peak " + p.peakBytes());
    }

    @Test
    void reshapeViewKeepsItsRootAliveUntilTheViewsLastUse() {
        TaskGraph g = new TaskGraph("alias", DType.F32);
        Value x = g.input("x", DType.F32, 8, 16);
        Value a = g.silu(x);
        Value view = g.reshape(a, 16, 8);
        Value t = g.gelu(x);
        for (int i = 0; i < 5; i++) t = g.gelu(t);   // same-sized temporaries that would love a's slot
        Value late = g.add(g.reshape(t, 16, 8), view);
        g.output("y", late);
        ImmutableTaskGraph frozen = g.freeze();
        MemoryPlan p = MemoryPlanner.plan(frozen);
        assertValid(frozen, p);
        int lateTask = frozen.tasks().size() - 1;
        assertEquals(lateTask, p.end()[a.id()], "a must live until the view's last use");
        assertEquals(p.offset(a), p.offset(view), "a view shares its root's buffer");
        assertEquals(frozen.tasks().size(), p.end()[late.id()], "outputs stay live to the end");
    }

    @Test
    void randomGraphsArePlacedValidly() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 20; trial++) {
            TaskGraph g = new TaskGraph("random", DType.F32);
            List<Value> pool = new java.util.ArrayList<>();
            pool.add(g.input("x", DType.F32, 1 + rnd.nextInt(50), 8));
            for (int i = 0; i < 30; i++) {
                Value a = pool.get(rnd.nextInt(pool.size()));
                Value next = switch (rnd.nextInt(3)) {
                    case 0 -> g.silu(a);
                    case 1 -> g.concat(0, a, pool.get(rnd.nextInt(pool.size())));
                    default -> a.dim(0) > 1 ? g.slice(a, 0, 0, 1 + rnd.nextInt(a.dim(0) - 1)) : g.silu(a);
                };
                pool.add(next);
            }
            g.output("y", pool.get(pool.size() - 1));
            ImmutableTaskGraph frozen = g.freeze();
            MemoryPlan p = MemoryPlanner.plan(frozen);
            assertValid(frozen, p);
            assertTrue(p.peakBytes() >= lowerBound(frozen));
        }
    }
    /**
     * A graph whose tasks skip indices (a backend's planning graph drops fused tasks and keeps the others' indices):
     * an output stays live past the highest index, so a later task never takes its buffer.
     */
    @Test
    void outputsOutliveTheLastTaskIndexWhenTasksWereDropped() {
        TaskGraph g = new TaskGraph("dropped", DType.F32);
        Value x = g.input("x", DType.F32, 4, 8);
        Value early = g.silu(x);
        Value a = g.silu(x), b = g.silu(a), c = g.silu(b);
        g.output("early", early);
        g.output("late", c);
        ImmutableTaskGraph full = g.freeze();
        List<Task> kept = full.tasks().stream().filter(t -> t.index() != 1).toList();   // one task dropped, indices kept
        ImmutableTaskGraph dropped = new ImmutableTaskGraph(full.name(), full.activation(), full.values(), kept, full.inputs(), full.outputs());
        MemoryPlan p = MemoryPlanner.plan(dropped);
        int lastIndex = kept.get(kept.size() - 1).index();
        assertTrue(p.end()[early.id()] > lastIndex, "the output must stay live past task " + lastIndex + ", ends at " + p.end()[early.id()]);
        long e = p.offset(early), eEnd = e + 8 * 4 * 4;
        for (Value v : List.of(b, c)) {
            long s = p.offset(v);
            assertFalse(s < eEnd && e < s + 8 * 4 * 4, "a later task's buffer overlaps the output 'early'");
        }
    }
    /** Values that no task writes or reads (fused away in a planning graph) take no memory, however many there are. */
    @Test
    void valuesNoTaskTouchesTakeNoMemory() {
        TaskGraph g = new TaskGraph("fused away", DType.F32);
        Value x = g.input("x", DType.F32, 64, 64);
        for (int i = 0; i < 5; i++) g.silu(x);   // results nobody reads
        g.output("y", g.silu(x));
        ImmutableTaskGraph full = g.freeze();
        MemoryPlan before = MemoryPlanner.plan(full);
        List<Task> kept = List.of(full.tasks().get(full.tasks().size() - 1));   // the five tasks dropped: their outputs untouched
        ImmutableTaskGraph dropped = new ImmutableTaskGraph(full.name(), full.activation(), full.values(), kept, full.inputs(), full.outputs());
        MemoryPlan after = MemoryPlanner.plan(dropped);
        assertTrue(after.peakBytes() <= before.peakBytes(), after.peakBytes() + " > " + before.peakBytes());
        assertEquals(2L * 64 * 64 * 4, after.peakBytes(), "x and y only");
    }
}
