package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.LinearCombinationCases;
import dev.i2vgen.backend.LinearCombinationCases.Case;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LinearCombination on the GPU against the JVM backend, bit for bit: the same float32 operations in the same order.
 * One plan per case, buffers poisoned with NaN before each run, the coefficients rebound between runs (the second
 * run is replayed as a CUDA graph, which must read the new coefficients from the device). Skips with the reason
 * when no CUDA device is usable.
 */
class CudaLinearCombinationTest {
    static CudaBackend cuda;
    static Backend jvm;

    @BeforeAll
    static void open() {
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
        cuda = CudaBackend.create();
        jvm = Backends.create("jvm");
        System.out.println("CUDA device: " + cuda.deviceDescription());
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        if (jvm != null) jvm.close();
    }

    static List<Case> cases() { return LinearCombinationCases.all(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void agreesWithTheJvmBitForBit(Case c) {
        List<Tensor> expected = c.run(jvm);
        List<Tensor> actual = c.run(cuda, plan -> ((CudaExecutionPlan) plan).poison());
        assertEquals(expected.size(), actual.size());
        for (int run = 0; run < actual.size(); run++) {
            LinearCombinationCases.assertBitsEqual(expected.get(run), actual.get(run), "cuda vs jvm, " + c + " run " + run);
            c.check(run, actual.get(run), "cuda");
        }
    }

    /** Terms all in the activation dtype take the 16-byte kernel; a term of another dtype the per-term-dtype one. */
    @Test
    void vectorKernelOnlyWhereEveryTermIsInTheActivationDtype() {
        for (Case c : cases()) {
            boolean allActivation = c.terms().stream().allMatch(t -> t.host().dtype() == c.activation());
            List<String> kernels = kernels(c);
            String expected = allActivation ? "linear_combination_vec" : "linear_combination";
            assertEquals(List.of(expected), kernels.stream().filter(k -> k.startsWith("linear_combination")).toList(), c + ": " + kernels);
        }
    }

    /** The step names of one run of {@code c}'s plan. */
    private static List<String> kernels(Case c) {
        Map<String, Tensor> inputs = new java.util.LinkedHashMap<>();
        for (LinearCombinationCases.Term t : c.terms()) if (!t.constant()) inputs.put(t.name(), t.host());
        try (CudaExecutionPlan plan = cuda.compile(c.graph())) {
            if (!c.constantCoefficients()) plan.bind("c", Tensor.fromFloats(c.coefficientRuns().get(0).clone(), c.terms().size()));
            plan.executeByName(inputs);
            List<String> names = new ArrayList<>();
            for (var e : plan.profile()) names.add(e.getKey());
            assertTrue(!names.isEmpty(), c + ": no steps");
            return names;
        }
    }
}
