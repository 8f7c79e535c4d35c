package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlan;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Linear;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Linear + residual Add fusion decision (no GPU): what fuses, what is refused and why. */
class GemmFusionTest {

    private static Tensor ones(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        java.util.Arrays.fill(v, 1f);
        return Tensor.fromFloats(v, shape);
    }

    /** Every buffer-owning value gets its own 1 MiB region, unless moved by {@link #at}. */
    static final class Separate implements GemmFusion.Storage {
        final Map<Integer, Long> moved = new HashMap<>();
        final Map<Integer, Boolean> typed = new HashMap<>();

        Separate at(Value v, long address) { moved.put(v.root().id(), address); return this; }

        @Override public long address(Value v) { return moved.getOrDefault(v.root().id(), (v.root().id() + 1L) << 20); }
        @Override public long bytes(Value v) { return v.numel() * 4; }
        @Override public boolean activationTyped(Value v) { return typed.getOrDefault(v.root().id(), true); }
    }

    /** Addresses from the real memory planner (F32 everywhere), constants far away: what a CUDA plan sees. */
    static GemmFusion.Storage planned(ImmutableTaskGraph g) {
        MemoryPlan plan = MemoryPlanner.plan(g, v -> v.numel() * 4);
        return new GemmFusion.Storage() {
            @Override public long address(Value v) {
                return v.root().kind() == Value.Kind.CONSTANT ? (1L << 40) + ((long) v.root().id() << 24) : 4096 + plan.offset(v);
            }
            @Override public long bytes(Value v) { return v.numel() * 4; }
            @Override public boolean activationTyped(Value v) { return true; }
        };
    }

    private static Task linearTask(ImmutableTaskGraph g, int nth) {
        return g.tasks().stream().filter(t -> t.op() instanceof Linear).skip(nth).findFirst().orElseThrow();
    }

    @Test
    void fusesBothOperandOrdersWithAndWithoutBias() {
        for (boolean mirrored : new boolean[]{false, true}) {
            for (boolean bias : new boolean[]{false, true}) {
                TaskGraph g = new TaskGraph("t", DType.F32);
                Value x = g.input("x", DType.F32, 2, 5, 16), r = g.input("r", DType.F32, 2, 5, 24);
                Value y = g.linear(x, g.constant("w", ones(24, 16)), bias ? g.constant("b", ones(24)) : null);
                g.output("out", mirrored ? g.add(r, y) : g.add(y, r));
                ImmutableTaskGraph f = g.freeze();
                GemmFusion fusion = GemmFusion.plan(f, new Separate(), true);
                GemmFusion.ResidualAdd pair = fusion.forLinear(0);
                assertNotNull(pair, "mirrored " + mirrored + " bias " + bias + ": " + fusion.refusals());
                assertSame(r, pair.residual());
                assertEquals(1, pair.add().index());
            }
        }
    }

    @Test
    void fusesThroughAReshapeViewOfTheOutput() {
        TaskGraph g = new TaskGraph("t", DType.F32);
        Value x = g.input("x", DType.F32, 10, 16), r = g.input("r", DType.F32, 2, 5, 24);
        Value y = g.linear(x, g.constant("w", ones(24, 16)), null);
        g.output("out", g.add(r, g.reshape(y, 2, 5, 24)));
        assertNotNull(GemmFusion.plan(g.freeze(), new Separate(), true).forLinear(0));
    }

    @Test
    void refusesWhatCouldChangeTheResult() {
        // two uses of the output
        TaskGraph g = new TaskGraph("t", DType.F32);
        Value x = g.input("x", DType.F32, 4, 16), r = g.input("r", DType.F32, 4, 8);
        Value y = g.linear(x, g.constant("w", ones(8, 16)), null);
        g.output("out", g.add(g.add(y, r), y));
        assertRefused(g.freeze(), "uses");

        // the output is also a graph output
        g = new TaskGraph("t", DType.F32);
        x = g.input("x", DType.F32, 4, 16);
        r = g.input("r", DType.F32, 4, 8);
        y = g.linear(x, g.constant("w", ones(8, 16)), null);
        g.output("y", y);
        g.output("out", g.add(y, r));
        assertRefused(g.freeze(), "graph output");

        // broadcasting add
        g = new TaskGraph("t", DType.F32);
        x = g.input("x", DType.F32, 4, 16);
        y = g.linear(x, g.constant("w", ones(8, 16)), null);
        g.output("out", g.add(y, g.input("r", DType.F32, 8)));
        assertRefused(g.freeze(), "broadcasts");

        // another binary op
        g = new TaskGraph("t", DType.F32);
        x = g.input("x", DType.F32, 4, 16);
        y = g.linear(x, g.constant("w", ones(8, 16)), null);
        g.output("out", g.mul(y, g.input("r", DType.F32, 4, 8)));
        assertRefused(g.freeze(), "not add");

        // y + y
        g = new TaskGraph("t", DType.F32);
        x = g.input("x", DType.F32, 4, 16);
        y = g.linear(x, g.constant("w", ones(8, 16)), null);
        g.output("out", g.add(y, y));
        assertRefused(g.freeze(), "uses");

        // the residual is computed after the linear
        g = new TaskGraph("t", DType.F32);
        x = g.input("x", DType.F32, 4, 16);
        y = g.linear(x, g.constant("w", ones(8, 16)), null);
        Value late = g.affine(g.input("z", DType.F32, 4, 8), 2f, 1f);
        g.output("out", g.add(late, y));
        assertRefused(g.freeze(), "after the linear");

        // not stored in the activation dtype
        g = new TaskGraph("t", DType.F32);
        x = g.input("x", DType.F32, 4, 16);
        y = g.linear(x, g.constant("w", ones(8, 16)), null);
        Value out = g.add(y, g.input("r", DType.F32, 4, 8));
        g.output("out", out);
        Separate s = new Separate();
        s.typed.put(out.id(), false);
        assertNull(GemmFusion.plan(g.freeze(), s, true).forLinear(0));
    }

    private static void assertRefused(ImmutableTaskGraph g, String reason) {
        GemmFusion fusion = GemmFusion.plan(g, new Separate(), true);
        assertNull(fusion.forLinear(0));
        String why = fusion.refusals().get(0);
        assertTrue(why != null && why.contains(reason), "expected a refusal mentioning '" + reason + "', got " + why);
    }

    @Test
    void addressRules() {
        TaskGraph g = new TaskGraph("t", DType.F32);
        Value x0 = g.input("x", DType.F32, 4, 16), r = g.input("r", DType.F32, 4, 8);
        Value x = g.affine(x0, 1f, 0f);
        Value w = g.constant("w", ones(8, 16));
        Value y = g.linear(x, w, null);
        Value between = g.affine(g.input("z", DType.F32, 4, 8), 1f, 0f);   // a task between the linear and the add
        Value out = g.add(y, r);
        g.output("out", out);
        g.output("between", between);
        ImmutableTaskGraph f = g.freeze();
        long d = 100L << 20;
        assertNotNull(GemmFusion.plan(f, new Separate().at(out, d), true).forLinear(1), "separate buffers fuse");
        // D in x's slot (x dies at the linear in the unfused order): the GEMM would overwrite its own input
        assertNull(GemmFusion.plan(f, new Separate().at(out, d).at(x, d), true).forLinear(1));
        assertNull(GemmFusion.plan(f, new Separate().at(out, d).at(x, d + 64), true).forLinear(1), "partial overlap with x");
        // D over a buffer that a task between the linear and the add writes
        assertNull(GemmFusion.plan(f, new Separate().at(out, d).at(between, d + 32), true).forLinear(1));
        // D equal to R: cuBLASLt's in-place C = D; a partial overlap is refused
        assertNotNull(GemmFusion.plan(f, new Separate().at(out, d).at(r, d), true).forLinear(1));
        GemmFusion partial = GemmFusion.plan(f, new Separate().at(out, d).at(r, d + 4), true);
        assertNull(partial.forLinear(1));
        assertTrue(partial.refusals().get(1).contains("partly"), partial.refusals().toString());
        // the switch
        assertTrue(GemmFusion.plan(f, new Separate(), false).fused().isEmpty());
    }

    /**
     * A UNet transformer block's residual pattern through the real memory planner: every fused pair's D is disjoint
     * from what the GEMM reads, and a graph where the planner hands D the dead input's slot is refused.
     */
    @Test
    void realMemoryPlans() {
        TaskGraph g = new TaskGraph("block", DType.F32);
        Value t = g.input("t", DType.F32, 2, 40, 64);
        Value n = g.layerNorm(t, g.constant("g1", ones(64)), g.constant("b1", ones(64)), 1e-5f);
        Value q = g.linear(n, g.constant("wq", ones(64, 64)), null);
        Value k = g.linear(n, g.constant("wk", ones(64, 64)), null);
        Value v = g.linear(n, g.constant("wv", ones(64, 64)), null);
        Value a = g.attention(q, k, v, 2, 0.125f, false);
        t = g.add(t, g.linear(a, g.constant("wo", ones(64, 64)), g.constant("bo", ones(64))));
        n = g.layerNorm(t, g.constant("g3", ones(64)), g.constant("b3", ones(64)), 1e-5f);
        Value h = g.geglu(g.linear(n, g.constant("w1", ones(512, 64)), g.constant("c1", ones(512))));
        t = g.add(t, g.linear(h, g.constant("w2", ones(64, 256)), g.constant("c2", ones(64))));
        g.output("out", t);
        ImmutableTaskGraph f = g.freeze();
        GemmFusion.Storage storage = planned(f);
        GemmFusion fusion = GemmFusion.plan(f, storage, true);
        for (GemmFusion.ResidualAdd p : fusion.fused().values()) {
            long ds = storage.address(p.add().output()), de = ds + storage.bytes(p.add().output());
            for (Value in : p.linear().inputs()) {
                if (in == null) continue;
                long s = storage.address(in);
                assertFalse(ds < s + storage.bytes(in) && s < de, "fused D overlaps " + in);
            }
        }
        assertEquals(2, fusion.fused().size() + fusion.refusals().values().stream().filter(r -> r.contains("overlaps")).count(),
                "both residual adds are either fused or refused for an overlap: " + fusion.refusals());
        assertTrue(fusion.refusals().size() >= 4, "q, k, v, the GEGLU projection are not fused: " + fusion.refusals());

        // x dies at the linear; the add result is no larger, so the planner may give it x's slot
        ImmutableTaskGraph overlap = overlapGraph();
        GemmFusion.Storage s2 = planned(overlap);
        Task lin = linearTask(overlap, 0);
        Value x = lin.input(0), out = overlap.output("out");
        boolean shared = s2.address(out) < s2.address(x) + s2.bytes(x) && s2.address(x) < s2.address(out) + s2.bytes(out);
        GemmFusion decided = GemmFusion.plan(overlap, s2, true);
        assertEquals(!shared, decided.forLinear(lin.index()) != null, "fused exactly when D does not overlap x: " + decided.refusals());
        assertTrue(shared, "the planner was expected to reuse x's slot for the add result of this graph");

        // planned as the CUDA plan does (GemmFusion.planningGraph): D is kept clear of x, so every pair fuses
        for (ImmutableTaskGraph graph : new ImmutableTaskGraph[]{f, overlap}) {
            GemmFusion.Storage s = planned(GemmFusion.planningGraph(graph, true));
            GemmFusion all = GemmFusion.plan(graph, s, true);
            long adds = graph.tasks().stream().filter(task -> task.op() instanceof dev.i2vgen.graph.ops.Binary).count();
            assertEquals(adds, all.fused().size(), graph.name() + ": " + all.refusals());
        }
        // no markers when the fusion is off (the fused q/k/v projections have their own property: QkvFusionTest)
        assertEquals(f.tasks().size(), GemmFusion.planningGraph(f, false).tasks().size(), "no markers when the fusion is off");
    }

    /** Input x [6, 64] → linear to [6, 32] → + r: x dies at the linear, and the planner puts the add result into its slot. */
    static ImmutableTaskGraph overlapGraph() {
        TaskGraph g = new TaskGraph("overlap", DType.F32);
        Value x = g.input("x", DType.F32, 6, 64);
        Value r = g.input("r", DType.F32, 6, 32);
        Value y = g.linear(x, g.constant("w", ones(32, 64)), g.constant("b", ones(32)));
        g.output("out", g.add(y, r));
        return g.freeze();
    }
}
