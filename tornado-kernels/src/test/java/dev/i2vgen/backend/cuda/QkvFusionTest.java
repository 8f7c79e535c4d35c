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

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which attention projections become one GEMM, and how the memory planner sees their shared buffer (no GPU). */
class QkvFusionTest {

    private static Tensor ones(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        java.util.Arrays.fill(v, 1f);
        return Tensor.fromFloats(v, shape);
    }

    /** x [2, 40, 64] (after a LayerNorm, so it is an intermediate) → q, k, v → attention; bias on all or none. */
    private static ImmutableTaskGraph selfAttention(DType act, boolean bias, int heads) {
        TaskGraph g = new TaskGraph("self", act);
        Value t = g.input("t", DType.F32, 2, 40, 64);
        Value n = g.layerNorm(t, g.constant("g", ones(64)), g.constant("b", ones(64)), 1e-5f);
        Value q = g.linear(n, g.constant("wq", ones(64, 64)), bias ? g.constant("bq", ones(64)) : null);
        Value k = g.linear(n, g.constant("wk", ones(64, 64)), bias ? g.constant("bk", ones(64)) : null);
        Value v = g.linear(n, g.constant("wv", ones(64, 64)), bias ? g.constant("bv", ones(64)) : null);
        g.output("out", g.attention(q, k, v, heads, 0.125f, false));
        return g.freeze();
    }

    @Test
    void selfAttentionFusesAllThreeWithAndWithoutBias() {
        for (boolean bias : new boolean[]{false, true}) {
            ImmutableTaskGraph f = selfAttention(DType.F16, bias, 1);
            QkvFusion fusion = QkvFusion.plan(f, true);
            assertEquals(1, fusion.groups().size(), "bias " + bias + ": " + fusion.refusals());
            QkvFusion.Group g = fusion.groups().get(0);
            assertEquals(3, g.linears().size());
            assertArrayEquals(new int[]{0, 64, 128}, g.columns());
            assertEquals(192, g.width());
            assertEquals(80, g.rows());
            assertEquals(64, g.k());
            Task att = g.attention();
            for (int i = 0; i < 3; i++) assertEquals(i, g.memberOf(att.input(i)), "q, k, v in the attention's order");
            assertEquals(g.linears().get(0).index(), g.first());
            for (Task m : g.linears()) assertSame(g, fusion.forLinear(m.index()));
            assertSame(g, fusion.forAttention(att.index()));
            assertArrayEquals(new int[]{80, 192}, g.buffer().shape());
            assertEquals(f.values().size(), g.buffer().id(), "the buffer's id is the first past the graph's values");
        }
    }

    @Test
    void crossAttentionFusesKeysAndValues() {
        TaskGraph g = new TaskGraph("cross", DType.BF16);
        Value x = g.input("x", DType.BF16, 2, 30, 64), ctx = g.input("ctx", DType.BF16, 2, 77, 32);
        Value q = g.linear(x, g.constant("wq", ones(64, 64)), null);
        Value k = g.linear(ctx, g.constant("wk", ones(64, 32)), null);
        Value v = g.linear(ctx, g.constant("wv", ones(64, 32)), null);
        g.output("out", g.attention(q, k, v, 1, 0.125f, false));
        QkvFusion fusion = QkvFusion.plan(g.freeze(), true);
        assertEquals(1, fusion.groups().size(), fusion.refusals().toString());
        QkvFusion.Group grp = fusion.groups().get(0);
        assertEquals(2, grp.linears().size());
        assertEquals(-1, grp.memberOf(q), "q stays a buffer of its own");
        assertEquals(0, grp.memberOf(k));
        assertEquals(1, grp.memberOf(v));
        assertArrayEquals(new int[]{0, 64}, grp.columns());
        assertEquals(2 * 77, grp.rows());
    }

    @Test
    void refusesWhatCouldChangeTheResult() {
        // k also read by another task
        TaskGraph g = new TaskGraph("k used twice", DType.F16);
        Value x = g.input("x", DType.F16, 1, 20, 64);
        Value q = g.linear(x, g.constant("wq", ones(64, 64)), null);
        Value k = g.linear(x, g.constant("wk", ones(64, 64)), null);
        Value v = g.linear(x, g.constant("wv", ones(64, 64)), null);
        g.output("out", g.add(g.attention(q, k, v, 1, 0.125f, false), k));
        assertRefused(g.freeze(), "other uses");

        // q a graph output: k and v still fuse, q keeps its own buffer
        g = new TaskGraph("q output", DType.F16);
        x = g.input("x", DType.F16, 1, 20, 64);
        q = g.linear(x, g.constant("wq", ones(64, 64)), null);
        k = g.linear(x, g.constant("wk", ones(64, 64)), null);
        v = g.linear(x, g.constant("wv", ones(64, 64)), null);
        g.output("q", q);
        g.output("out", g.attention(q, k, v, 1, 0.125f, false));
        QkvFusion kv = QkvFusion.plan(g.freeze(), true);
        assertEquals(1, kv.groups().size());
        assertEquals(2, kv.groups().get(0).linears().size());

        // k and v from different inputs
        g = new TaskGraph("different inputs", DType.F16);
        x = g.input("x", DType.F16, 1, 20, 64);
        Value y = g.input("y", DType.F16, 1, 20, 64);
        q = g.linear(x, g.constant("wq", ones(64, 64)), null);
        k = g.linear(x, g.constant("wk", ones(64, 64)), null);
        v = g.linear(y, g.constant("wv", ones(64, 64)), null);
        g.output("out", g.attention(q, k, v, 1, 0.125f, false));
        assertRefused(g.freeze(), "different inputs");

        // a bias on some projections only
        g = new TaskGraph("mixed bias", DType.F16);
        x = g.input("x", DType.F16, 1, 20, 64);
        q = g.linear(x, g.constant("wq", ones(64, 64)), null);
        k = g.linear(x, g.constant("wk", ones(64, 64)), g.constant("bk", ones(64)));
        v = g.linear(x, g.constant("wv", ones(64, 64)), null);
        g.output("out", g.attention(q, k, v, 1, 0.125f, false));
        assertRefused(g.freeze(), "bias");

        // a weight given at run time
        g = new TaskGraph("input weight", DType.F16);
        x = g.input("x", DType.F16, 1, 20, 64);
        q = g.linear(x, g.constant("wq", ones(64, 64)), null);
        k = g.linear(x, g.input("wk", DType.F16, 64, 64), null);
        v = g.linear(x, g.constant("wv", ones(64, 64)), null);
        g.output("out", g.attention(q, k, v, 1, 0.125f, false));
        assertRefused(g.freeze(), "not a constant");

        // k, v not computed by linears
        g = new TaskGraph("inputs", DType.F16);
        x = g.input("x", DType.F16, 1, 20, 64);
        g.output("out", g.attention(g.linear(x, g.constant("wq", ones(64, 64)), null), x, x, 1, 0.125f, false));
        assertRefused(g.freeze(), "not computed");

        // the attention reads k through a view with other rows
        g = new TaskGraph("other rows", DType.F16);
        x = g.input("x", DType.F16, 1, 20, 64);
        q = g.linear(x, g.constant("wq", ones(32, 64)), null);
        k = g.linear(x, g.constant("wk", ones(64, 64)), null);
        v = g.linear(x, g.constant("wv", ones(64, 64)), null);
        g.output("out", g.attention(q, g.reshape(k, 1, 40, 32), g.reshape(v, 1, 40, 32), 1, 0.125f, false));
        assertRefused(g.freeze(), "other rows");

        // one head of 512 in fp16: the chunked GEMM path needs dense rows; fp32's exact kernel takes strides
        for (DType act : new DType[]{DType.F16, DType.F32}) {
            g = new TaskGraph("vae " + act, act);
            x = g.input("x", act, 1, 20, 512);
            q = g.linear(x, g.constant("wq", ones(512, 512)), null);
            k = g.linear(x, g.constant("wk", ones(512, 512)), null);
            v = g.linear(x, g.constant("wv", ones(512, 512)), null);
            g.output("out", g.attention(q, k, v, 1, 0.04f, false));
            ImmutableTaskGraph f = g.freeze();
            if (act == DType.F16) assertRefused(f, "dense rows");
            else assertEquals(1, QkvFusion.plan(f, true).groups().size());
        }
        assertTrue(QkvFusion.plan(selfAttention(DType.F16, false, 1), false).groups().isEmpty(), "disabled");
    }

    private static void assertRefused(ImmutableTaskGraph g, String reason) {
        QkvFusion f = QkvFusion.plan(g, true);
        assertTrue(f.groups().isEmpty(), g.name() + ": expected no fusion");
        String why = f.refusals().values().iterator().next();
        assertTrue(why.contains(reason), g.name() + ": refusal '" + why + "' should mention '" + reason + "'");
    }

    /**
     * The planning graph: the members' outputs own no memory, the group's buffer is live from the first member to the
     * attention and clear of everything live then (x included), the unfused graph's values keep their ids, and a
     * second plan of the same graph (the lowering's) gets a buffer with the same id.
     */
    @Test
    void planningGraphGivesTheGroupOneBuffer() {
        ImmutableTaskGraph f = selfAttention(DType.F32, true, 2);
        QkvFusion fusion = QkvFusion.plan(f, true);
        QkvFusion.Group g = fusion.groups().get(0);
        ImmutableTaskGraph planning = fusion.planningGraph();
        assertEquals(f.values().size() + 1, planning.values().size());
        for (int i = 0; i < planning.values().size(); i++) assertEquals(i, planning.values().get(i).id());
        assertEquals(f.tasks().size(), planning.tasks().size());
        MemoryPlan mp = MemoryPlanner.plan(planning, v -> v.numel() * 4);
        for (Task m : g.linears()) assertFalse(mp.hasBuffer(m.output()), "member output " + m.output() + " owns no memory");
        assertTrue(mp.hasBuffer(g.buffer()));
        int id = g.buffer().id();
        assertEquals(g.first(), mp.start()[id]);
        assertEquals(g.attention().index(), mp.end()[id]);
        Value x = g.linears().get(0).input(0);
        long bs = mp.offset(g.buffer()), be = bs + g.buffer().numel() * 4, xs = mp.offset(x), xe = xs + x.numel() * 4;
        assertFalse(bs < xe && xs < be, "the fused buffer overlaps x");
        long os = mp.offset(g.attention().output()), oe = os + g.attention().output().numel() * 4;
        assertFalse(bs < oe && os < be, "the fused buffer overlaps the attention's output");
        QkvFusion again = QkvFusion.plan(f, true);
        assertEquals(id, again.groups().get(0).buffer().id(), "deterministic ids");
        assertSame(f, QkvFusion.plan(f, false).planningGraph(), "nothing changes when disabled");

        // with the residual-add markers (ResidualFusion.planningGraph, as the CUDA plan plans memory)
        TaskGraph tg = new TaskGraph("block", DType.F32);
        Value t = tg.input("t", DType.F32, 2, 40, 64);
        Value n = tg.layerNorm(t, tg.constant("g1", ones(64)), tg.constant("b1", ones(64)), 1e-5f);
        Value a = tg.attention(tg.linear(n, tg.constant("wq", ones(64, 64)), null), tg.linear(n, tg.constant("wk", ones(64, 64)), null),
                tg.linear(n, tg.constant("wv", ones(64, 64)), null), 2, 0.125f, false);
        t = tg.add(t, tg.linear(a, tg.constant("wo", ones(64, 64)), tg.constant("bo", ones(64))));
        tg.output("out", t);
        ImmutableTaskGraph block = tg.freeze();
        ImmutableTaskGraph both = ResidualFusion.planningGraph(block, true);
        assertEquals(block.tasks().size() + 1, both.tasks().size(), "one residual marker");
        MemoryPlan bp = MemoryPlanner.plan(both, v -> v.numel() * 4);
        List<Task> linears = block.tasks().stream().filter(task -> task.op() instanceof Linear).toList();
        for (int i = 0; i < 3; i++) assertFalse(bp.hasBuffer(linears.get(i).output()));
        assertTrue(bp.hasBuffer(linears.get(3).output()), "the output projection keeps its buffer");
        QkvFusion blockFusion = QkvFusion.plan(block, true);
        assertNotNull(blockFusion.forAttention(a.id() < 0 ? -1 : blockFusion.groups().get(0).attention().index()));
        assertNull(blockFusion.forLinear(linears.get(3).index()));
    }
}
