package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.NonFiniteFlagCases;
import dev.i2vgen.backend.NonFiniteFlagCases.Case;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static dev.i2vgen.backend.jvm.OpHarness.JVM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NonFiniteFlag on the JVM backend: the first bad step of a loop kept across runs, and the op's input errors. */
class NonFiniteFlagKernelTest {

    static List<Case> cases() { return NonFiniteFlagCases.all(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void flagsTheFirstStepWithANonFiniteValue(Case c) {
        c.check(JVM, p -> {}, "jvm");
    }

    /** The cases can fail: every planted case expects a flag, and the clean ones none. */
    @Test
    void casesPlantWhatTheyExpect() {
        for (Case c : cases()) {
            float last = c.expected().getLast();
            assertEquals(c.name().startsWith("all finite") || c.name().startsWith("large F32"), last == 0, c + ": " + c.expected());
        }
    }

    @Test
    void theFlagIsF32InAnyGraphAndTheInputsAreChecked() {
        TaskGraph g = new TaskGraph("errors", DType.F16);
        Value x = g.input("x", DType.F16, 2, 3), ids = g.input("ids", DType.I32, 2, 3);
        Value prev = g.input("prev", DType.F32, 1), step = g.input("step", DType.F32, 1);
        Value prevHalf = g.input("prevHalf", DType.F16, 1), wide = g.input("wide", DType.F32, 2), square = g.input("square", DType.F32, 1, 1);
        expect(() -> g.nonFiniteFlag(ids, prev, step), "x must be F32, F16 or BF16, got I32");
        expect(() -> g.nonFiniteFlag(x, prevHalf, step), "the previous flag must be F32 [1], got F16 [1]");
        expect(() -> g.nonFiniteFlag(x, prev, wide), "the step index must be F32 [1], got F32 [2]");
        expect(() -> g.nonFiniteFlag(x, square, step), "the previous flag must be F32 [1], got F32 [1, 1]");
        expect(() -> g.nonFiniteFlag(x, prev, null), "got 2 inputs");
        expect(() -> g.nonFiniteFlag(x, null, step), "must all be given");
        Value flag = g.nonFiniteFlag(x, prev, step);
        assertEquals(DType.F32, flag.dtype(), "a step index must stay exact");
        assertArrayEquals(new int[]{1}, flag.shape());
    }

    private static void expect(Executable call, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains("nonfinite_flag") && e.getMessage().contains(part), "'" + part + "' missing from: " + e.getMessage());
    }
}
