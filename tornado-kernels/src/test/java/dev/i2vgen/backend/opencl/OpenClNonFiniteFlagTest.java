package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.NonFiniteFlagCases;
import dev.i2vgen.backend.NonFiniteFlagCases.Case;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/**
 * NonFiniteFlag on the OpenCL device: the first step whose x held a NaN or ±Inf, kept across runs of one plan.
 * Skips with the reason when no OpenCL device is usable.
 */
class OpenClNonFiniteFlagTest {
    static OpenClBackend cl;

    @BeforeAll
    static void open() {
        BackendProvider p = Backends.provider("opencl");
        Assumptions.assumeTrue(p.isAvailable(), "OpenCL backend unavailable: " + p.unavailableReason());
        cl = OpenClBackend.create();
    }

    @AfterAll
    static void close() {
        if (cl != null) cl.close();
    }

    static List<Case> cases() { return NonFiniteFlagCases.all(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void flagsTheFirstStepWithANonFiniteValue(Case c) {
        c.check(cl, p -> {}, "opencl");
    }
}
