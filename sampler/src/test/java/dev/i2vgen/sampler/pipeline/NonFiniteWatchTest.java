package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link NonFiniteWatch} on a loop shaped like the pipelines' (latents carried on the backend, the flag read only
 * after the loop): x ← c_i·x with per-step factors that overflow float32 at a chosen step, which the exception must
 * name with its timestep.
 */
class NonFiniteWatchTest {
    static final float[] TIMESTEPS = {750, 500, 250, 0};

    @Test
    void namesTheFirstStepWhoseLatentsOverflowed() {
        // 1e20 → 1e40 overflows at the second step (index 1); the later steps (0·Inf = NaN, then finite) keep step 2
        NonFiniteValuesException e = assertThrows(NonFiniteValuesException.class, () -> loop(1e20f, 1e20f, 0f, 1f));
        assertEquals(2, e.step());
        assertEquals(4, e.steps());
        assertEquals(500, e.timestep());
        assertEquals("denoise: the latents became NaN or infinite at step 2 of 4 (timestep 500); try: a hint", e.getMessage());
    }

    @Test
    void aLoopThatStaysFiniteIsNotFlagged() {
        assertEquals(3e30f, loop(1e10f, 1e10f, 1e10f, 3f), 1e25f);
    }

    @Test
    void hostTensorsAreCheckedWhereTheyAre() {
        Tensor finite = Tensor.fromFloats(new float[]{1, -2, 3e38f}, 3);
        NonFiniteWatch.requireFinite(finite, "decode", "the decoded frames", List.of());
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            Tensor t = Tensor.fromFloats(new float[]{1, bad, 3}, 3);
            var e = assertThrows(NonFiniteValuesException.class, () -> NonFiniteWatch.requireFinite(t, "decode", "the decoded frames", List.of()));
            assertEquals("decode: the decoded frames became NaN or infinite", e.getMessage());
            assertThrows(NonFiniteValuesException.class, () -> NonFiniteWatch.requireFinite(t.to(DType.F16), "decode", "x", List.of()));
            assertThrows(NonFiniteValuesException.class, () -> NonFiniteWatch.requireFinite(t.reshape(3, 1).permute(1, 0), "decode", "x", List.of()));
        }
    }

    /** x = 1 times each factor in turn, in a graph run once per step; returns x[0] after the loop. */
    private static float loop(float... factors) {
        TaskGraph g = new TaskGraph("loop", DType.F32);
        Value x = g.input("x", DType.F32, 2, 3), c = g.input("c", DType.F32, 1);
        Value next = g.output("next", g.linearCombination(c, x));
        NonFiniteWatch.addTo(g, next);
        try (Backend jvm = Backends.create("jvm"); ExecutionPlan plan = jvm.compile(g.freeze())) {
            plan.bind("x", Tensor.fromFloats(new float[]{1, 1, 1, 1, 1, 1}, 2, 3));
            NonFiniteWatch watch = new NonFiniteWatch(plan, "denoise", "the latents", TIMESTEPS.length, i -> TIMESTEPS[i], List.of("a hint"));
            for (int i = 0; i < factors.length; i++) {
                Map<Value, Tensor> in = new HashMap<>();
                in.put(plan.graph().input("c"), Tensor.fromFloats(new float[]{factors[i]}, 1));
                watch.step(in, i);
                plan.execute(in);
                plan.copy("next", "x");
                watch.carry();
            }
            watch.check();
            return plan.read("next").getFlat(0);
        }
    }
}
