package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.GroupNorm;
import dev.i2vgen.graph.ops.Permute;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which GroupNorm → Permute pairs run as one transposing pass (no GPU), and how the memory planner sees them. */
class NormTransposeFusionTest {

    private static Tensor ones(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        java.util.Arrays.fill(v, 1f);
        return Tensor.fromFloats(v, shape);
    }

    /** x [B·F, C, h, w] → (norm, then whatever {@code tail} does with it) → output. */
    private static ImmutableTaskGraph graph(Function<TaskGraph, Value> tail) {
        TaskGraph g = new TaskGraph("t", DType.F16);
        g.output("out", tail.apply(g));
        return g.freeze();
    }

    private static Task first(ImmutableTaskGraph g, Class<?> op) {
        return g.tasks().stream().filter(t -> op.isInstance(t.op())).findFirst().orElseThrow();
    }

    @Test
    void frameMajorNormBeforeTheFrameSequencesPermute() {
        int b = 2, f = 3, c = 32, h = 8, w = 12;
        ImmutableTaskGraph temporal = graph(g -> {
            Value x = g.input("x", DType.F16, b, f, c, h, w);
            Value t = g.groupNorm(x, g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, false, 2);
            return g.reshape(g.permute(t, 0, 3, 4, 1, 2), b * h * w, f, c);
        });
        NormTransposeFusion fusion = NormTransposeFusion.of(temporal, true, Set.of());
        NormTransposeFusion.Pair pair = fusion.forNorm(first(temporal, GroupNorm.class).index());
        assertNotNull(pair);
        assertEquals(f, pair.frames(), "one statistic per video over its frames");
        assertNotNull(fusion.forPermute(first(temporal, Permute.class).index()));
        ImmutableTaskGraph planning = fusion.planningGraph(temporal);
        assertEquals(1, planning.tasks().size(), "the norm writes the permute's output; the permute is gone");
        assertEquals(first(temporal, Permute.class).output(), planning.tasks().get(0).output());
        assertTrue(MemoryPlanner.plan(planning).peakBytes() <= MemoryPlanner.plan(temporal).peakBytes());
    }

    @Test
    void refusesWhatTheTransposingNormCannotWrite() {
        int n = 4, c = 32, h = 8, w = 12;
        // the permute reads a reshape view of the norm, not the norm itself
        ImmutableTaskGraph viewed = graph(g -> {
            Value t = g.groupNorm(g.input("x", DType.F16, n, c, h, w), g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, false);
            return g.permute(g.reshape(t, n, c, h * w), 0, 2, 1);
        });
        // the norm's output has a second reader
        ImmutableTaskGraph shared = graph(g -> {
            Value t = g.groupNorm(g.input("x", DType.F16, n, c, h, w), g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, false);
            return g.add(g.permute(t, 0, 2, 3, 1), g.permute(t, 0, 2, 3, 1));
        });
        // a permutation that does not put the channels last
        ImmutableTaskGraph otherPerm = graph(g -> {
            Value t = g.groupNorm(g.input("x", DType.F16, n, c, h, w), g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, false);
            return g.permute(t, 0, 1, 3, 2);
        });
        // a transposed extent under 4 (the tiled kernels' minimum)
        ImmutableTaskGraph narrow = graph(g -> {
            Value t = g.groupNorm(g.input("x", DType.F16, n, c, 1, 3), g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, false);
            return g.permute(t, 0, 2, 3, 1);
        });
        for (ImmutableTaskGraph g : new ImmutableTaskGraph[]{viewed, shared, otherPerm, narrow})
            assertEquals(0, NormTransposeFusion.of(g, true, Set.of()).size(), g.tasks().toString());
        ImmutableTaskGraph plain = graph(g -> {
            Value t = g.groupNorm(g.input("x", DType.F16, n, c, h, w), g.constant("g", ones(c)), g.constant("b", ones(c)), 8, 1e-6f, true);
            return g.permute(t, 0, 2, 3, 1);
        });
        assertEquals(1, NormTransposeFusion.of(plain, true, Set.of()).size());
        assertNull(NormTransposeFusion.of(plain, false, Set.of()).forNorm(first(plain, GroupNorm.class).index()), "off when disabled");
    }
}
