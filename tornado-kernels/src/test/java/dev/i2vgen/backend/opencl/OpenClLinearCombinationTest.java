package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.LinearCombinationCases;
import dev.i2vgen.backend.LinearCombinationCases.Case;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LinearCombination on the OpenCL device against the JVM backend: the same float32 operations in the same order, so
 * every run of one plan (coefficients rebound in between) must agree bit for bit, and with the float64 reference.
 * Skips with the reason when no OpenCL device is usable.
 */
class OpenClLinearCombinationTest {
    static OpenClBackend cl;
    static Backend jvm;

    @BeforeAll
    static void open() {
        BackendProvider p = Backends.provider("opencl");
        Assumptions.assumeTrue(p.isAvailable(), "OpenCL backend unavailable: " + p.unavailableReason());
        cl = OpenClBackend.create();
        jvm = Backends.create("jvm");
    }

    @AfterAll
    static void close() {
        if (cl != null) cl.close();
        if (jvm != null) jvm.close();
    }

    static List<Case> cases() { return LinearCombinationCases.all(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void agreesWithTheJvmBitForBit(Case c) {
        List<Tensor> expected = c.run(jvm), actual = c.run(cl);
        assertEquals(expected.size(), actual.size());
        for (int run = 0; run < actual.size(); run++) {
            LinearCombinationCases.assertBitsEqual(expected.get(run), actual.get(run), "opencl vs jvm, " + c + " run " + run);
            c.check(run, actual.get(run), "opencl");
        }
    }
}
