package dev.i2vgen.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.I2VGenXLPipeline;
import dev.i2vgen.sampler.pipeline.I4VGenOptions;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.stream.StreamSupport;

/**
 * I4VGen on I2VGen-XL from the seed alone against the Python reference on diffusers' components
 * (conformance/tools/make_i4vgen_reference_case.py): ε*, the static video, every NI-VSDS iteration (z_t, the guided
 * v, z), the decoded NI-VSDS result, the regeneration noise and start latents, every regeneration step and the frames
 * (fp32: relative error ≤ 1e-4 per stage, frames ±1). Cases: defaults (p_ni 0.6, λ 1, p_re 0.8), step sizes 10, 10, 1
 * with p_re 1.0, and η 0.5 with p_ni 0.4.
 */
class I4VGenConformanceTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-i4vgen", "tiny-i4vgen-steps", "tiny-i4vgen-eta"})
    void i4vgenMatchesTheReference(String caseName) throws Exception {
        check(caseName, "jvm", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-i4vgen", "tiny-i4vgen-steps", "tiny-i4vgen-eta"})
    void i4vgenMatchesTheReferenceOnOpenCl(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("opencl");
        check(caseName, "opencl", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-i4vgen", "tiny-i4vgen-steps", "tiny-i4vgen-eta"})
    void i4vgenMatchesTheReferenceOnCuda(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        check(caseName, "cuda", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }

    /** fp16/bf16 on the GPU: stages reported, float frames within the reduced-precision bound (PipelineConformanceTest). */
    @ParameterizedTest
    @CsvSource({"tiny-i4vgen,F16", "tiny-i4vgen,BF16"})
    void reducedPrecisionOnCudaStaysClose(String caseName, DType dtype) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        check(caseName, "cuda", dtype, Double.POSITIVE_INFINITY, Integer.MAX_VALUE);
    }

    static GenerationRequest request(ReferenceCase ref) throws Exception {
        JsonNode o = ref.json().get("i4vgen");
        double[] stepSizes = StreamSupport.stream(o.get("step_sizes").spliterator(), false).mapToDouble(JsonNode::asDouble).toArray();
        I4VGenOptions options = new I4VGenOptions(o.get("ni_vsds_fraction").asDouble(), stepSizes,
                o.get("regeneration_strength").asDouble(), true);
        return GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage())).negativePrompt(ref.negativePrompt())
                .height(ref.height()).width(ref.width()).numFrames(ref.numFrames()).steps(ref.steps())
                .guidance(ref.guidance()).fps(ref.fps()).eta(ref.json().get("eta").asDouble()).seed(ref.seed())
                .decodeChunkSize(ref.decodeChunkSize()).i4vgen(options).build();
    }

    private static void check(String caseName, String backendName, DType dtype, double tolerance, int frameTolerance) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = Backends.create(backendName);
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, dtype)) {
            GenerationRequest req = request(ref);
            int iterations = ref.json().get("i4vgen").get("ni_vsds_iterations").asInt();
            int regenerated = ref.steps() - ref.json().get("i4vgen").get("regeneration_start_index").asInt();
            PipelineConformanceTest.assertRunMatches(caseName, backendName, dtype, tolerance, frameTolerance, ref,
                    3 * iterations + 3 * regenerated + 6, listener -> pipeline.generate(req, listener));
        }
    }
}
