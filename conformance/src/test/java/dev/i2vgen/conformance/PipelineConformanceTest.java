package dev.i2vgen.conformance;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.I2VGenXLPipeline;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole pipeline from the case's seed (no injected tensors) against diffusers: every recorded
 * intermediate under its reference name (fp32: relative error ≤ 1e-4 per stage) and the final
 * frames within ±1 of {@code frames_uint8}.
 */
class PipelineConformanceTest {
    static final double STAGE_TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void generateMatchesDiffusers(String caseName) throws Exception {
        check(caseName, "jvm", DType.F32, STAGE_TOLERANCE, 1);
    }

    /** The same on an NVIDIA GPU, fp32 (TF32 off): skipped, with the reason, where CUDA is not available. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void generateMatchesDiffusersOnCuda(String caseName) throws Exception {
        assumeBackend("cuda");
        check(caseName, "cuda", DType.F32, STAGE_TOLERANCE, 1);
    }

    /** The same on an OpenCL device (PoCL on CPUs in CI), fp32: skipped, with the reason, where no OpenCL device is available. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void generateMatchesDiffusersOnOpenCl(String caseName) throws Exception {
        assumeBackend("opencl");
        check(caseName, "opencl", DType.F32, STAGE_TOLERANCE, 1);
    }

    /**
     * fp16 and bf16 compute on the GPU, end to end: rounding errors compound over the steps (and guidance
     * multiplies them), so the per-stage errors are reported and the final float frames must stay within a
     * relative error of 5e-2; the ≤ 1e-2 per-stage check from recorded inputs is {@link StageConformanceTest}.
     */
    @ParameterizedTest
    @CsvSource({"tiny,F16", "tiny,BF16", "tiny-noguidance,F16"})
    void reducedPrecisionOnCudaStaysClose(String caseName, DType dtype) throws Exception {
        assumeBackend("cuda");
        check(caseName, "cuda", dtype, Double.POSITIVE_INFINITY, Integer.MAX_VALUE);
    }

    static final double REDUCED_PRECISION_FRAMES = 5e-2;

    static void assumeBackend(String name) {
        BackendProvider p = Backends.provider(name);
        Assumptions.assumeTrue(p.isAvailable(), () -> "skipped: backend " + name + " not available here (" + p.unavailableReason() + ")");
    }

    static void check(String caseName, String backendName, DType dtype, double tolerance, int frameTolerance) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = Backends.create(backendName);
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, dtype)) {
            GenerationRequest req = GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage()))
                    .negativePrompt(ref.negativePrompt()).height(ref.height()).width(ref.width()).numFrames(ref.numFrames())
                    .steps(ref.steps()).guidance(ref.guidance()).fps(ref.fps()).seed(ref.seed())
                    .decodeChunkSize(ref.decodeChunkSize()).build();
            assertRunMatches(caseName, backendName, dtype, tolerance, frameTolerance, ref, 15,
                    listener -> pipeline.generate(req, listener));
        }
    }

    /**
     * Runs {@code generate} with every intermediate recorded, then: each one the case recorded too within
     * {@code tolerance} (at least {@code minStages} of them), for reduced precision the float frames within
     * {@link #REDUCED_PRECISION_FRAMES}, and the 8-bit frames within {@code frameTolerance} of {@code frames_uint8}.
     */
    static void assertRunMatches(String caseName, String backendName, DType dtype, double tolerance, int frameTolerance,
                                 ReferenceCase ref, int minStages, Function<PipelineListener, GeneratedVideo> generate) {
        Map<String, Tensor> seen = new LinkedHashMap<>();
        GeneratedVideo video = generate.apply(new PipelineListener() {
            @Override public boolean wantsTensors() { return true; }

            @Override public void tensor(String name, Tensor value) { seen.put(name, value); }
        });

        StageReport report = new StageReport(caseName + " on " + backendName + " " + dtype + ", relative error per stage:", tolerance);
        int compared = report.checkRecorded(seen, ref);
        assertTrue(compared >= minStages, "too few stages compared: " + compared + " of " + seen.keySet());
        if (dtype != DType.F32) {
            report.bound("frames_float", seen.get("frames_float"), ref.tensor("frames_float"), REDUCED_PRECISION_FRAMES);
        }
        report.assertPassed(caseName);

        int maxDiff = ReferenceFrames.maxDifference(video.frames(), ref.tensor("frames_uint8"));
        assertTrue(maxDiff <= frameTolerance, caseName + ": frames differ from frames_uint8 by up to " + maxDiff);
    }
}
