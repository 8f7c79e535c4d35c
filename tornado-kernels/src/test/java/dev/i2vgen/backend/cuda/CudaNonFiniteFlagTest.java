package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.NonFiniteFlagCases;
import dev.i2vgen.backend.NonFiniteFlagCases.Case;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/**
 * NonFiniteFlag on the GPU: the first step whose x held a NaN or ±Inf, kept across runs of one plan. The planned
 * buffers are poisoned with NaN before each run (the flag must be written every run), and runs after the first
 * replay a CUDA graph (which must read the new step index and the carried flag from the device). Skips with the
 * reason when no CUDA device is usable.
 */
class CudaNonFiniteFlagTest {
    static CudaBackend cuda;

    @BeforeAll
    static void open() {
        BackendProvider p = new CudaBackendProvider();
        Assumptions.assumeTrue(p.isAvailable(), "CUDA backend unavailable: " + p.unavailableReason());
        cuda = CudaBackend.create();
        System.out.println("CUDA device: " + cuda.deviceDescription());
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
    }

    static List<Case> cases() { return NonFiniteFlagCases.all(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void flagsTheFirstStepWithANonFiniteValue(Case c) {
        c.check(cuda, plan -> ((CudaExecutionPlan) plan).poison(), "cuda");
    }
}
