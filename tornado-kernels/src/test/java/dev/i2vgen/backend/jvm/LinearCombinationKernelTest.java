package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.LinearCombinationCases;
import dev.i2vgen.backend.LinearCombinationCases.Case;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

import static dev.i2vgen.backend.jvm.OpHarness.JVM;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LinearCombination on the JVM backend: float64 references, the contract's float32 sequence, and the shape/dtype errors. */
class LinearCombinationKernelTest {

    static List<Case> cases() { return LinearCombinationCases.all(); }

    /** Each run of one compiled plan uses the coefficients bound for it. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesReferenceOnEveryRunOfOnePlan(Case c) {
        List<Tensor> outputs = c.run(JVM);
        for (int run = 0; run < outputs.size(); run++) c.check(run, outputs.get(run), "jvm");
    }

    @Test
    void coefficientsGivenWithTheRunReplaceBoundOnes() {
        TaskGraph g = new TaskGraph("rebind", DType.F32);
        Value c = g.input("c", DType.F32, 2), a = g.input("a", DType.F32, 3), b = g.input("b", DType.F32, 3);
        g.output("out", g.linearCombination(c, a, b));
        Tensor av = Tensor.fromFloats(new float[]{1, 2, 3}, 3), bv = Tensor.fromFloats(new float[]{-4, 0.5f, 8}, 3);
        try (ExecutionPlan plan = JVM.compile(g.freeze())) {
            plan.bind("c", Tensor.fromFloats(new float[]{2, 1}, 2));
            plan.executeByName(Map.of("a", av, "b", bv));
            LinearCombinationCases.assertBitsEqual(new float[]{-2, 4.5f, 14}, plan.read("out"), "bound coefficients");
            plan.executeByName(Map.of("a", av, "b", bv, "c", Tensor.fromFloats(new float[]{-1, 0.25f}, 2)));
            LinearCombinationCases.assertBitsEqual(new float[]{-2, -1.875f, -1}, plan.read("out"), "coefficients given with the run");
        }
    }

    @Test
    void rejectsMismatchedShapesAndCoefficientsNamingTheOp() {
        TaskGraph g = new TaskGraph("errors", DType.F16);
        Value a = g.input("a", DType.F16, 2, 3), b = g.input("b", DType.F32, 2, 3), wide = g.input("wide", DType.F16, 2, 4);
        Value flat = g.input("flat", DType.F16, 6), ids = g.input("ids", DType.I32, 2, 3);
        Value c2 = g.input("c2", DType.F32, 2), c3 = g.input("c3", DType.F32, 3), c2h = g.input("c2h", DType.F16, 2);
        Value c2x1 = g.input("c2x1", DType.F32, 2, 1), c9 = g.input("c9", DType.F32, 9);
        expect(() -> g.linearCombination(c2, a, wide), "term 1 has shape [2, 4] but term 0 has [2, 3]");
        expect(() -> g.linearCombination(c2, a, flat), "term 1 has shape [6] but term 0 has [2, 3]");
        expect(() -> g.linearCombination(c3, a, b), "coefficients must have shape [2]", "[3]");
        expect(() -> g.linearCombination(c2h, a, b), "coefficients must be F32", "F16");
        expect(() -> g.linearCombination(c2x1, a, b), "coefficients must have shape [2]", "[2, 1]");
        expect(() -> g.linearCombination(c2, a, ids), "term 1 must be F32, F16 or BF16, got I32");
        expect(() -> g.linearCombination(c2), "got 0 terms");
        expect(() -> g.linearCombination(c2, a, null), "term 1 is null");
        expect(() -> g.linearCombination(null, a, b), "coefficients are null");
        Value[] nine = new Value[9];
        java.util.Arrays.fill(nine, a);
        expect(() -> g.linearCombination(c9, nine), "1..8 terms, got 9");
        // a valid call on the same graph still works, in the activation dtype, whatever the terms' dtypes
        Value out = g.linearCombination(c2, a, b);
        assertTrue(out.dtype() == DType.F16 && java.util.Arrays.equals(out.shape(), new int[]{2, 3}), "output " + out);
    }

    private static void expect(Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains("linear_combination"), "the error names the op: " + e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
    }
}
