package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlan;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Geglu;
import dev.i2vgen.graph.ops.Linear;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which Linear → Geglu pairs run as one kernel (no GPU), why others do not, and how the memory planner sees them. */
class GegluFusionTest {

    private static Tensor ones(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        java.util.Arrays.fill(v, 1f);
        return Tensor.fromFloats(v, shape);
    }

    /**
     * diffusers' FeedForward with GEGLU on x [2, 37, k] (74 rows): {@code between} turns the projection's output into
     * the Geglu's input (identity: the model's graph), then net.2 back to k channels.
     */
    private static ImmutableTaskGraph feedForward(DType act, int k, int half, boolean bias, BiFunction<TaskGraph, Value, Value> between) {
        TaskGraph g = new TaskGraph("ff", act);
        Value x = g.input("x", act, 2, 37, k);
        Value y = g.linear(x, g.constant("proj.weight", ones(2 * half, k)), bias ? g.constant("proj.bias", ones(2 * half)) : null);
        Value h = g.geglu(between.apply(g, y));
        g.output("out", g.linear(h, g.constant("net2.weight", ones(k, half)), g.constant("net2.bias", ones(k))));
        return g.freeze();
    }

    private static ImmutableTaskGraph feedForward(DType act, int k, int half) {
        return feedForward(act, k, half, true, (g, y) -> y);
    }

    private static Task first(ImmutableTaskGraph g, Class<?> op) {
        return g.tasks().stream().filter(t -> op.isInstance(t.op())).findFirst().orElseThrow();
    }

    @Test
    void fusesTheFeedForwardProjectionInFp16AndBf16() {
        for (DType act : new DType[]{DType.F16, DType.BF16}) {
            for (boolean bias : new boolean[]{true, false}) {
                ImmutableTaskGraph g = feedForward(act, 128, 192, bias, (t, y) -> y);
                GegluFusion fusion = GegluFusion.of(g, true);
                Task linear = first(g, Linear.class), geglu = first(g, Geglu.class);
                GegluFusion.Pair pair = fusion.forLinear(linear.index());
                assertNotNull(pair, act + " bias " + bias + ": " + fusion.refusals());
                assertSame(pair, fusion.forGeglu(geglu.index()));
                assertEquals(74, pair.rows());
                assertEquals(128, pair.k());
                assertEquals(192, pair.half());
                assertEquals(1, fusion.pairs().size(), "net.2 feeds no Geglu");
            }
        }
    }

    @Test
    void fusesThroughAViewWithTheSameRows() {
        ImmutableTaskGraph g = feedForward(DType.F16, 64, 64, true, (t, y) -> t.reshape(y, 74, 128));
        assertNotNull(GegluFusion.of(g, true).forLinear(first(g, Linear.class).index()));
    }

    /** Above the largest K fused (640 by default: measured slower than cuBLASLt + the pass at 1280) the pair is refused. */
    @Test
    void leavesLargeKToCublasUnlessTheLimitIsRaised() {
        assertRefused(feedForward(DType.F16, 1280, 64), "K = 1280 is above 640");
        assertEquals(1, GegluFusion.of(feedForward(DType.F16, 640, 64), true).pairs().size(), "K = 640 is fused");
        String before = System.getProperty("i2vgen.cuda.gegluFusionMaxK");
        System.setProperty("i2vgen.cuda.gegluFusionMaxK", "1280");
        try {
            assertEquals(1, GegluFusion.of(feedForward(DType.F16, 1280, 64), true).pairs().size());
        } finally {
            if (before == null) System.clearProperty("i2vgen.cuda.gegluFusionMaxK");
            else System.setProperty("i2vgen.cuda.gegluFusionMaxK", before);
        }
    }

    @Test
    void refusesWhatTheKernelCannotTake() {
        assertRefused(feedForward(DType.F32, 64, 64), "fp16/bf16 only");
        assertRefused(feedForward(DType.F16, 72, 64), "K = 72");
        assertRefused(feedForward(DType.F16, 64, 96), "I = 96");
        // the Geglu splits other rows than the Linear wrote: [74, 128] read as [148, 64]
        TaskGraph g = new TaskGraph("ff", DType.F16);
        Value x = g.input("x", DType.F16, 74, 64);
        g.output("out", g.geglu(g.reshape(g.linear(x, g.constant("w", ones(128, 64)), null), 148, 64)));
        assertRefused(g.freeze(), "other rows");
        // a weight that is not a constant (given at run time)
        g = new TaskGraph("ff", DType.F16);
        x = g.input("x", DType.F16, 74, 64);
        g.output("out", g.geglu(g.linear(x, g.input("w", DType.F16, 128, 64), null)));
        assertRefused(g.freeze(), "weight is not a constant");
        // a bias given at run time
        g = new TaskGraph("ff", DType.F16);
        x = g.input("x", DType.F16, 74, 64);
        g.output("out", g.geglu(g.linear(x, g.constant("w", ones(128, 64)), g.input("b", DType.F16, 128))));
        assertRefused(g.freeze(), "bias is not a constant");
        // x stored in another dtype than the activations
        g = new TaskGraph("ff", DType.F16);
        x = g.input("x", DType.F32, 74, 64);
        g.output("out", g.geglu(g.linear(x, g.constant("w", ones(128, 64)), null)));
        assertRefused(g.freeze(), "not the activation dtype");
    }

    @Test
    void leavesALinearWhoseOutputIsAlsoUsedElsewhere() {
        TaskGraph g = new TaskGraph("ff", DType.F16);
        Value x = g.input("x", DType.F16, 74, 64);
        Value y = g.linear(x, g.constant("w", ones(128, 64)), null);
        g.output("out", g.geglu(y));
        g.output("projection", y);   // a graph output: must be written
        ImmutableTaskGraph f = g.freeze();
        GegluFusion fusion = GegluFusion.of(f, true);
        assertTrue(fusion.pairs().isEmpty());
        g = new TaskGraph("ff", DType.F16);
        x = g.input("x", DType.F16, 74, 64);
        y = g.linear(x, g.constant("w", ones(128, 64)), null);
        g.output("out", g.add(g.geglu(y), g.slice(y, 1, 0, 64)));   // read twice
        assertTrue(GegluFusion.of(g.freeze(), true).pairs().isEmpty());
    }

    @Test
    void nothingFusesWhenDisabled() {
        GegluFusion fusion = GegluFusion.of(feedForward(DType.F16, 64, 64), false);
        assertTrue(fusion.pairs().isEmpty());
        assertTrue(fusion.refusals().isEmpty());
    }

    @Test
    void thePlannerGivesTheProjectionNoMemory() {
        ImmutableTaskGraph g = feedForward(DType.F16, 128, 256);
        GegluFusion fusion = GegluFusion.of(g, true);
        Task linear = first(g, Linear.class), geglu = first(g, Geglu.class);
        ImmutableTaskGraph planning = fusion.planningGraph(g);
        assertEquals(g.tasks().size() - 1, planning.tasks().size(), "the geglu task is gone");
        Task written = planning.tasks().stream().filter(t -> t.index() == linear.index()).findFirst().orElseThrow();
        assertSame(geglu.output(), written.output(), "the linear writes the geglu's output");
        MemoryPlan fused = MemoryPlanner.plan(planning), unfused = MemoryPlanner.plan(g);
        Value y = linear.output(), x = linear.input(0), out = geglu.output();
        assertEquals(Integer.MAX_VALUE, fused.start()[y.id()], "the [M, 2I] projection is neither written nor read");
        long yBytes = y.byteSize();
        assertTrue(fused.peakBytes() + yBytes / 2 <= unfused.peakBytes(),
                "peak " + fused.peakBytes() + " vs " + unfused.peakBytes() + " unfused (projection " + yBytes + " bytes)");
        // x and the fused kernel's output are live at the same task, so they never share bytes
        long xs = fused.offset(x), os = fused.offset(out);
        assertTrue(xs + x.byteSize() <= os || os + out.byteSize() <= xs, "x and the output overlap");
    }

    /**
     * A UNet transformer block's feed-forward (LayerNorm'd input, GEGLU, net.2 + residual Add): with the CUDA plan's
     * planning graphs composed, the net.2 Linear + Add pair still fuses on the final placement, addressing the fused
     * projection where GemmLowering does (the Geglu's output).
     */
    @Test
    void composesWithTheResidualFusion() {
        TaskGraph g = new TaskGraph("block", DType.F16);
        Value x = g.input("x", DType.F16, 2, 37, 64);
        Value n = g.layerNorm(x, g.constant("ln.w", ones(64)), g.constant("ln.b", ones(64)), 1e-5f);
        Value y = g.linear(n, g.constant("proj.weight", ones(256, 64)), g.constant("proj.bias", ones(256)));
        Value h = g.geglu(y);
        g.output("out", g.add(x, g.linear(h, g.constant("net2.weight", ones(64, 128)), g.constant("net2.bias", ones(64)))));
        ImmutableTaskGraph graph = g.freeze();
        GegluFusion geglu = GegluFusion.of(graph, true);
        assertEquals(1, geglu.pairs().size());
        ImmutableTaskGraph planning = geglu.planningGraph(ResidualFusion.planningGraph(QkvFusion.plan(graph, true), graph, true, false));
        MemoryPlan plan = MemoryPlanner.plan(planning, v -> v.numel() * 2);
        ResidualFusion residuals = ResidualFusion.plan(graph, new ResidualFusion.Storage() {
            private Value held(Value v) { return v.root() == y.root() ? h : v; }
            @Override public long address(Value v) {
                return v.root().kind() == Value.Kind.CONSTANT ? (1L << 40) + ((long) v.root().id() << 24) : 4096 + plan.offset(held(v));
            }
            @Override public long bytes(Value v) { return held(v).numel() * 2; }
            @Override public boolean activationTyped(Value v) { return true; }
        }, true);
        assertEquals(1, residuals.fused().size(), "net.2 + add: " + residuals.refusals());
        assertFalse(residuals.fused().containsKey(first(graph, Linear.class).index()), "the projection is GegluFusion's");
    }

    private static void assertRefused(ImmutableTaskGraph g, String reason) {
        GegluFusion fusion = GegluFusion.of(g, true);
        int linear = first(g, Linear.class).index();
        assertNull(fusion.forLinear(linear));
        String why = fusion.refusals().get(linear);
        assertNotNull(why, "no reason recorded for refusing (" + reason + ")");
        assertTrue(why.contains(reason), "expected a reason containing '" + reason + "', got: " + why);
    }
}
