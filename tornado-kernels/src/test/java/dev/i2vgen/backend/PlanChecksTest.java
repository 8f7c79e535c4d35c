package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The shared {@link ExecutionPlan} argument checks: what passes, and the exact message of what does not. */
class PlanChecksTest {
    private final Random rnd = new Random(11);
    private final TaskGraph builder = new TaskGraph("g", DType.F16);
    private final Value x = builder.input("x", DType.F16, 2, 3);
    private final Value s = builder.input("s", DType.F32, 3);
    private final Value w = builder.constant("w", random(2, 3));
    private final Value hidden = builder.mul(builder.add(x, s), w);
    private final Value out = builder.output("out", builder.silu(hidden));
    private final ImmutableTaskGraph graph = builder.freeze();
    private final PlanChecks checks = new PlanChecks(graph);

    @Test
    void onlyThisGraphsInputsAreInputs() {
        assertDoesNotThrow(() -> checks.checkInput(x));
        assertDoesNotThrow(() -> checks.checkInput(s));
        assertMessage(IllegalArgumentException.class, "graph g: " + hidden + " is not an input of this graph", () -> checks.checkInput(hidden));
        TaskGraph other = new TaskGraph("h", DType.F16);
        Value foreign = other.input("x", DType.F16, 2, 3);
        assertMessage(IllegalArgumentException.class, "graph g: " + foreign + " is not an input of this graph", () -> checks.checkInput(foreign));
    }

    @Test
    void hostTensorsNeedTheInputsShapeAndItsDtypeOrF32() {
        assertDoesNotThrow(() -> checks.checkHostTensor(x, random(2, 3)));
        assertDoesNotThrow(() -> checks.checkHostTensor(x, random(2, 3).to(DType.F16)));
        assertMessage(IllegalArgumentException.class, "graph g: input 'x' expects shape [2, 3], got [3, 2]",
                () -> checks.checkHostTensor(x, random(3, 2)));
        assertMessage(IllegalArgumentException.class, "graph g: input 'x' expects dtype F16 (or F32), got BF16",
                () -> checks.checkHostTensor(x, random(2, 3).to(DType.BF16)));
        assertMessage(IllegalArgumentException.class, "graph g: input 's' expects dtype F32 (or F32), got F16",
                () -> checks.checkHostDtype(s, random(3).to(DType.F16)));
    }

    @Test
    void anInputLeftOutMustBeBound() {
        assertDoesNotThrow(() -> checks.checkGivenOrBound(x, random(2, 3), false));
        assertDoesNotThrow(() -> checks.checkGivenOrBound(x, null, true));
        assertMessage(IllegalArgumentException.class, "graph g: input 'x' was neither given nor bound",
                () -> checks.checkGivenOrBound(x, null, false));
    }

    @Test
    void onlyOutputsInputsAndConstantsAreReadable() {
        for (Value v : new Value[]{out, x, s, w}) assertDoesNotThrow(() -> checks.checkReadable(v));
        assertMessage(IllegalArgumentException.class, "graph g: " + hidden
                + " is not a graph output; its buffer is reused after its last use. Mark it with TaskGraph.output(...)",
                () -> checks.checkReadable(hidden));
        TaskGraph other = new TaskGraph("h", DType.F16);
        for (int i = 0; i < 9; i++) other.input("i" + i, DType.F16, 1);   // ids past the end of g's values
        Value beyond = other.input("late", DType.F16, 1), sameId = new TaskGraph("k", DType.F16).input("x", DType.F16, 2, 3);
        assertMessage(IllegalArgumentException.class, "graph g: " + beyond + " does not belong to this graph", () -> checks.checkReadable(beyond));
        assertMessage(IllegalArgumentException.class, "graph g: " + sameId + " does not belong to this graph", () -> checks.checkReadable(sameId));
    }

    @Test
    void copiesNeedARunAndEqualShapes() {
        assertDoesNotThrow(() -> checks.checkCopy(out, x, true));
        assertMessage(IllegalStateException.class, "graph g: copy(" + out + ", " + x + ") before the first run", () -> checks.checkCopy(out, x, false));
        assertMessage(IllegalArgumentException.class, "graph g: cannot copy " + out + " into input 's': shape [2, 3] differs from [3]",
                () -> checks.checkCopy(out, s, true));
    }

    @Test
    void aClosedPlanRefusesWork() {
        assertDoesNotThrow(() -> checks.checkOpen(false));
        assertMessage(IllegalStateException.class, "execution plan of g is closed", () -> checks.checkOpen(true));
    }

    private static void assertMessage(Class<? extends RuntimeException> type, String message, Executable call) {
        assertEquals(message, assertThrows(type, call).getMessage());
    }

    private Tensor random(int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
        return Tensor.fromFloats(f, shape);
    }
}
