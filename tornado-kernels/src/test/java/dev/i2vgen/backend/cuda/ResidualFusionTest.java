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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Linear + residual Add fusion decision (no GPU): what fuses, what is refused and why. */
class ResidualFusionTest {

    private static Tensor ones(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        java.util.Arrays.fill(v, 1f);
        return Tensor.fromFloats(v, shape);
    }

    /** Every buffer-owning value gets its own 1 MiB region, unless moved by {@link #at}. */
    static final class Separate implements ResidualFusion.Storage {
        final Map<Integer, Long> moved = new HashMap<>();
        final Map<Integer, Boolean> typed = new HashMap<>();

        Separate at(Value v, long address) { moved.put(v.root().id(), address); return this; }

        @Override public long address(Value v) { return moved.getOrDefault(v.root().id(), (v.root().id() + 1L) << 20); }
        @Override public long bytes(Value v) { return v.numel() * 4; }
        @Override public boolean activationTyped(Value v) { return typed.getOrDefault(v.root().id(), true); }
    }

    /** Addresses from the real memory planner (F32 everywhere), constants far away: what a CUDA plan sees. */
    static ResidualFusion.Storage planned(ImmutableTaskGraph g) {
        MemoryPlan plan = MemoryPlanner.plan(g, v -> v.numel() * 4);
        return new ResidualFusion.Storage() {
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
                ResidualFusion fusion = ResidualFusion.plan(f, new Separate(), true);
                ResidualFusion.ResidualAdd pair = fusion.forProducer(0);
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
        assertNotNull(ResidualFusion.plan(g.freeze(), new Separate(), true).forProducer(0));
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
        assertNull(ResidualFusion.plan(g.freeze(), s, true).forProducer(0));
    }

    private static void assertRefused(ImmutableTaskGraph g, String reason) {
        ResidualFusion fusion = ResidualFusion.plan(g, new Separate(), true);
        assertNull(fusion.forProducer(0));
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
        assertNotNull(ResidualFusion.plan(f, new Separate().at(out, d), true).forProducer(1), "separate buffers fuse");
        // D in x's slot (x dies at the linear in the unfused order): the GEMM would overwrite its own input
        assertNull(ResidualFusion.plan(f, new Separate().at(out, d).at(x, d), true).forProducer(1));
        assertNull(ResidualFusion.plan(f, new Separate().at(out, d).at(x, d + 64), true).forProducer(1), "partial overlap with x");
        // D over a buffer that a task between the linear and the add writes
        assertNull(ResidualFusion.plan(f, new Separate().at(out, d).at(between, d + 32), true).forProducer(1));
        // D equal to R: cuBLASLt's in-place C = D; a partial overlap is refused
        assertNotNull(ResidualFusion.plan(f, new Separate().at(out, d).at(r, d), true).forProducer(1));
        ResidualFusion partial = ResidualFusion.plan(f, new Separate().at(out, d).at(r, d + 4), true);
        assertNull(partial.forProducer(1));
        assertTrue(partial.refusals().get(1).contains("partly"), partial.refusals().toString());
        // the switch
        assertTrue(ResidualFusion.plan(f, new Separate(), false).fused().isEmpty());
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
        ResidualFusion.Storage storage = planned(f);
        ResidualFusion fusion = ResidualFusion.plan(f, storage, true);
        for (ResidualFusion.ResidualAdd p : fusion.fused().values()) {
            long ds = storage.address(p.add().output()), de = ds + storage.bytes(p.add().output());
            for (Value in : p.producer().inputs()) {
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
        ResidualFusion.Storage s2 = planned(overlap);
        Task lin = linearTask(overlap, 0);
        Value x = lin.input(0), out = overlap.output("out");
        boolean shared = s2.address(out) < s2.address(x) + s2.bytes(x) && s2.address(x) < s2.address(out) + s2.bytes(out);
        ResidualFusion decided = ResidualFusion.plan(overlap, s2, true);
        assertEquals(!shared, decided.forProducer(lin.index()) != null, "fused exactly when D does not overlap x: " + decided.refusals());
        assertTrue(shared, "the planner was expected to reuse x's slot for the add result of this graph");

        // planned as the CUDA plan does (ResidualFusion.planningGraph): D is kept clear of x, so every pair fuses
        for (ImmutableTaskGraph graph : new ImmutableTaskGraph[]{f, overlap}) {
            ResidualFusion.Storage s = planned(ResidualFusion.planningGraph(graph, true));
            ResidualFusion all = ResidualFusion.plan(graph, s, true);
            long adds = graph.tasks().stream().filter(task -> task.op() instanceof dev.i2vgen.graph.ops.Binary).count();
            assertEquals(adds, all.fused().size(), graph.name() + ": " + all.refusals());
        }
        // no markers when the fusion is off (the fused q/k/v projections have their own property: QkvFusionTest)
        assertEquals(f.tasks().size(), ResidualFusion.planningGraph(f, false).tasks().size(), "no markers when the fusion is off");
    }

    /**
     * The VAE decoder's structure (DecoderLikeGraph) under its channels-last assignment: every resnet's residual Add
     * fuses into the channels-last conv that produces one of its operands (conv2, or the 1x1 shortcut where that is
     * computed last), only with the assignment given; the planning graph drops those Adds and has the conv write the
     * Add's result, and on the planner's real placement of that graph every pair passes the address rules.
     */
    @Test
    void channelsLastConvPairs() {
        TaskGraph g = new TaskGraph("decoder", DType.F16);
        Value z = g.input("z", DType.F32, 1, 4, 11, 20);
        g.output("image", DecoderLikeGraph.build(g, z, new int[]{32, 64}, 2, 8, DType.F16, shape -> Tensor.allocate(DType.F16, shape)));
        ImmutableTaskGraph graph = g.freeze();
        ChannelsLastPlan nhwc = ChannelsLastPlan.assign(graph, DType.F16, true);
        assertFalse(nhwc.isEmpty(), nhwc.toString());
        java.util.Set<Value> convOutputs = new java.util.HashSet<>();
        for (Task t : graph.tasks()) if (t.op() instanceof dev.i2vgen.graph.ops.Conv2d) convOutputs.add(t.output());
        List<Task> resnetAdds = graph.tasks().stream().filter(t -> t.op() instanceof dev.i2vgen.graph.ops.Binary && nhwc.runs(t)
                && (convOutputs.contains(t.input(0)) || convOutputs.contains(t.input(1)))).toList();
        assertEquals(6, resnetAdds.size(), "2 mid-block and 2 x 2 resnet adds: " + resnetAdds);

        assertTrue(ResidualFusion.plan(graph, new Separate(), true, false).fused().values().stream()
                .noneMatch(f -> f.producer().op() instanceof dev.i2vgen.graph.ops.Conv2d), "conv pairs without the assignment");
        ResidualFusion fusion = ResidualFusion.plan(graph, new Separate(), true, false, nhwc);
        for (Task add : resnetAdds) {
            ResidualFusion.ResidualAdd pair = fusion.fused().values().stream().filter(f -> f.add() == add).findFirst().orElse(null);
            assertNotNull(pair, "the add " + add.index() + " did not fuse: " + fusion.refusals());
            assertTrue(pair.producer().op() instanceof dev.i2vgen.graph.ops.Conv2d && nhwc.runs(pair.producer()) && nhwc.stored(pair.residual()));
            assertNull(pair.rows());
        }
        ImmutableTaskGraph planning = ResidualFusion.planningGraph(QkvFusion.plan(graph, false), graph, true, false, nhwc);
        for (Task add : resnetAdds) {
            assertTrue(planning.tasks().stream().noneMatch(t -> t.output() == add.output() && t.op() == add.op()), "the add stays in the planning graph");
            assertTrue(planning.tasks().stream().anyMatch(t -> t.output() == add.output() && t.op() instanceof dev.i2vgen.graph.ops.Conv2d),
                    "no conv writes the add's result");
        }
        ResidualFusion placed = ResidualFusion.plan(graph, planned(planning), true, false, nhwc);
        for (Task add : resnetAdds) assertTrue(placed.fused().values().stream().anyMatch(f -> f.add() == add), "refused on the placement: " + placed.refusals());
    }

    /**
     * A UNet resnet as the model builds it (time projection and 1x1 shortcut first; frames folded into the batch):
     * conv1's Add of the time embedding over [B, F, C, H, W] fuses as a row broadcast (one value per image and channel),
     * conv2's Add of the shortcut as a full residual; only with {@code convolutions}. The same block with the shortcut
     * computed after conv2 (the model's old order) refuses conv2, and a broadcast other than per image and channel
     * (one value per pixel row) is refused. With the planning graph's markers every conv pair passes the address rules.
     */
    @Test
    void convolutionPairs() {
        ImmutableTaskGraph block = resnet(true);
        Task conv1 = convTask(block, 1), conv2 = convTask(block, 2);
        ResidualFusion linearsOnly = ResidualFusion.plan(block, new Separate(), true);
        assertNull(linearsOnly.forProducer(conv1.index()), "conv pairs need convolutions=true");
        ResidualFusion fusion = ResidualFusion.plan(block, new Separate(), true, true);
        ResidualFusion.ResidualAdd temb = fusion.forProducer(conv1.index()), res = fusion.forProducer(conv2.index());
        assertNotNull(temb, fusion.refusals().toString());
        assertNotNull(res, fusion.refusals().toString());
        assertNotNull(temb.rows());
        assertEquals(new dev.i2vgen.backend.TensorLayouts.RowBroadcast(12 * 20, 96, 2), temb.rows(), "rows of H·W, period C, repeat F");
        assertNull(res.rows());
        assertSame(convTask(block, 0).output(), res.residual(), "the shortcut conv's output");
        assertTrue(fusion.refusals().values().stream().anyMatch(r -> r.contains("broadcasts")), "the projection's Add broadcasts: " + fusion.refusals());

        ImmutableTaskGraph late = resnet(false);
        ResidualFusion lateFusion = ResidualFusion.plan(late, new Separate(), true, true);
        assertNull(lateFusion.forProducer(convTask(late, 1).index()));
        assertTrue(lateFusion.refusals().get(convTask(late, 1).index()).contains("produced after"), lateFusion.refusals().toString());

        TaskGraph g = new TaskGraph("pixel rows", DType.F16);
        Value x = g.input("x", DType.F16, 2, 8, 6, 10), r = g.input("r", DType.F16, 1, 1, 6, 1);
        Value y = g.conv2d(x, g.constant("w", ones(8, 8, 3, 3)), null, 1, 1);
        g.output("out", g.add(y, r));
        ImmutableTaskGraph pixelRows = g.freeze();
        ResidualFusion refused = ResidualFusion.plan(pixelRows, new Separate(), true, true);
        assertTrue(refused.fused().isEmpty() && refused.refusals().values().iterator().next().contains("other than per image and channel"),
                refused.refusals().toString());

        ResidualFusion.Storage planned = planned(ResidualFusion.planningGraph(block, true, true));
        // a CUDA plan uploads a constant's plain layout when asked for its address: the checks never ask for a weight's
        ResidualFusion.Storage noConstants = new ResidualFusion.Storage() {
            @Override public long address(Value v) {
                if (v.root().kind() == Value.Kind.CONSTANT && v.rank() == 4) throw new AssertionError("asked for the address of weight " + v);
                return planned.address(v);
            }
            @Override public long bytes(Value v) { return planned.bytes(v); }
            @Override public boolean activationTyped(Value v) { return true; }
        };
        ResidualFusion all = ResidualFusion.plan(block, noConstants, true, true);
        assertNotNull(all.forProducer(conv1.index()), all.refusals().toString());
        assertNotNull(all.forProducer(conv2.index()), all.refusals().toString());
    }

    /**
     * A spatial transformer's ends: GroupNorm → {0, 2, 3, 1} is a NormTransposeFusion pair, and the way back, a
     * permute whose output only the residual Add reads, a ResidualFusion pair (with {@code convolutions}). In the
     * planning graph the norm writes the permute's output and the permute is gone, the last permute writes the Add's
     * result (reading R) and the Add is gone: the norm's and the permute's own outputs are never written. Planned that
     * way, the address checks pass; a permute read twice is no pair, and a norm whose permute is a residual pair's
     * producer is left alone.
     */
    @Test
    void transposePairsAndTheirPlanningGraph() {
        int n = 4, c = 32, h = 8, w = 12;
        TaskGraph g = new TaskGraph("transformer ends", DType.F16);
        Value x = g.input("x", DType.F16, n, c, h, w);
        Value norm = g.groupNorm(x, g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, false);
        Value tokens = g.reshape(g.permute(norm, 0, 2, 3, 1), n, h * w, c);
        Value proj = g.linear(tokens, g.constant("w", ones(c, c)), g.constant("pb", ones(c)));
        Value back = g.permute(g.reshape(proj, n, h, w, c), 0, 3, 1, 2);
        g.output("out", g.add(back, x));
        ImmutableTaskGraph f = g.freeze();
        Task normTask = f.tasks().stream().filter(t -> t.op() instanceof dev.i2vgen.graph.ops.GroupNorm).findFirst().orElseThrow();
        List<Task> permutes = f.tasks().stream().filter(t -> t.op() instanceof dev.i2vgen.graph.ops.Permute).toList();
        Task add = f.tasks().get(f.tasks().size() - 1);

        ResidualFusion structural = ResidualFusion.plan(f, new Separate(), true, true);
        assertNotNull(structural.forProducer(permutes.get(1).index()), structural.refusals().toString());
        assertNull(ResidualFusion.plan(f, new Separate(), true, false).forProducer(permutes.get(1).index()), "permute pairs need convolutions=true");
        java.util.Set<Integer> producers = ResidualFusion.structuralProducers(f, true, true);
        NormTransposeFusion norms = NormTransposeFusion.of(f, true, producers);
        assertEquals(1, norms.size());
        assertEquals(1, norms.forNorm(normTask.index()).frames());
        assertSame(permutes.get(0), norms.forPermute(permutes.get(0).index()).permute());
        assertNull(NormTransposeFusion.of(f, false, producers).forNorm(normTask.index()));
        assertEquals(0, NormTransposeFusion.of(f, true, java.util.Set.of(permutes.get(0).index())).size(), "a residual pair's permute takes no norm");

        ImmutableTaskGraph planning = norms.planningGraph(ResidualFusion.planningGraph(f, true, true));
        assertEquals(f.tasks().size() - 2, planning.tasks().size(), "the first permute and the Add are gone");
        assertTrue(planning.tasks().stream().anyMatch(t -> t.index() == normTask.index() && t.output() == permutes.get(0).output()));
        assertTrue(planning.tasks().stream().anyMatch(t -> t.index() == permutes.get(1).index() && t.output() == add.output()
                && t.inputs().contains(x)), "the last permute writes the sum and reads the residual");
        MemoryPlan memory = MemoryPlanner.plan(planning, v -> v.numel() * 2);
        assertTrue(memory.peakBytes() < MemoryPlanner.plan(f, v -> v.numel() * 2).peakBytes() + 1, "no more memory than unfused");
        ResidualFusion placed = ResidualFusion.plan(f, planned(planning), true, true);
        assertNotNull(placed.forProducer(permutes.get(1).index()), placed.refusals().toString());

        TaskGraph g2 = new TaskGraph("read twice", DType.F16);
        Value x2 = g2.input("x", DType.F16, n, c, h, w);
        Value t2 = g2.permute(g2.reshape(g2.input("p", DType.F16, n, h * w, c), n, h, w, c), 0, 3, 1, 2);
        g2.output("out", g2.add(g2.add(t2, x2), t2));
        assertTrue(ResidualFusion.plan(g2.freeze(), new Separate(), true, true).fused().isEmpty());
    }

    /** The resnet of {@link #convolutionPairs}: shortcut before the norms ({@code shortcutFirst}) or after conv2. */
    static ImmutableTaskGraph resnet(boolean shortcutFirst) {
        int b = 2, f = 2, c = 64, o = 96, h = 12, w = 20;
        TaskGraph g = new TaskGraph("resnet", DType.F16);
        Value x = g.input("x", DType.F16, b * f, c, h, w), emb = g.input("emb", DType.F16, b, 32);
        Value proj = g.linear(emb, g.constant("pw", ones(o, 32)), g.constant("pb", ones(o)));
        Value shortcut = shortcutFirst ? g.conv2d(x, g.constant("sw", ones(o, c, 1, 1)), g.constant("sb", ones(o)), 1, 0) : null;
        Value t = g.conv2d(g.groupNorm(x, g.constant("g1", ones(c)), g.constant("b1", ones(c)), 32, 1e-5f, true),
                g.constant("w1", ones(o, c, 3, 3)), g.constant("c1", ones(o)), 1, 1);
        t = g.reshape(g.add(g.reshape(t, b, f, o, h, w), g.reshape(proj, b, 1, o, 1, 1)), b * f, o, h, w);
        t = g.conv2d(g.groupNorm(t, g.constant("g2", ones(o)), g.constant("b2", ones(o)), 32, 1e-5f, true),
                g.constant("w2", ones(o, o, 3, 3)), g.constant("c2", ones(o)), 1, 1);
        if (!shortcutFirst) shortcut = g.conv2d(x, g.constant("sw", ones(o, c, 1, 1)), g.constant("sb", ones(o)), 1, 0);
        g.output("out", g.add(shortcut, t));
        return g.freeze();
    }

    /** The {@code nth} Conv2d task of {@code g}; with the shortcut first: 0 shortcut, 1 conv1, 2 conv2 (else 0 conv1, 1 conv2, 2 shortcut). */
    private static Task convTask(ImmutableTaskGraph g, int nth) {
        return g.tasks().stream().filter(t -> t.op() instanceof dev.i2vgen.graph.ops.Conv2d).skip(nth).findFirst().orElseThrow();
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
