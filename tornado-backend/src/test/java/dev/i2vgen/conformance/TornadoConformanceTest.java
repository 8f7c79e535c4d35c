package dev.i2vgen.conformance;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The I2VGen-XL conformance cases on the TornadoVM backend, fp32, with the conformance module's own checks: each
 * stage from the recorded inputs (relative error ≤ 1e-4), then the whole pipeline from the case's seed (every
 * intermediate ≤ 1e-4, frames ±1). Skipped, with the reason, where TornadoVM is not on this JVM.
 */
class TornadoConformanceTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void everyStageFromRecordedInputs(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("tornado");
        StageConformanceTest.checkEveryStage(caseName, "tornado", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void generateMatchesDiffusers(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("tornado");
        PipelineConformanceTest.check(caseName, "tornado", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }
}
