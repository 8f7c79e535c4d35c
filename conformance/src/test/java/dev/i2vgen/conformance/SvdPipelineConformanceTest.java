package dev.i2vgen.conformance;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.pipeline.SvdGenerationRequest;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

/**
 * Stable Video Diffusion from the case's seed alone (nothing injected) against diffusers' StableVideoDiffusionPipeline:
 * every recorded intermediate under its reference name (fp32: relative error ≤ 1e-4) and the frames within ±1 of
 * {@code frames_uint8}, loaded through {@link VideoPipelines} (model_index.json picks the pipeline).
 */
class SvdPipelineConformanceTest {
    static final List<String> CASES = List.of("svd-tiny", "svd-tiny-chunked", "svd-tiny-fp16", "svd-tiny-14");

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked", "svd-tiny-fp16", "svd-tiny-14"})
    void generateMatchesDiffusers(String caseName) throws Exception {
        check(caseName, "jvm", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }

    /** The same on an NVIDIA GPU, fp32 (TF32 off): skipped, with the reason, where CUDA is not available. */
    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked", "svd-tiny-fp16", "svd-tiny-14"})
    void generateMatchesDiffusersOnCuda(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        check(caseName, "cuda", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }

    /** The same on an OpenCL device (PoCL on CPUs in CI), fp32: skipped, with the reason, where no OpenCL device is available. */
    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny", "svd-tiny-chunked", "svd-tiny-fp16", "svd-tiny-14"})
    void generateMatchesDiffusersOnOpenCl(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("opencl");
        check(caseName, "opencl", DType.F32, PipelineConformanceTest.STAGE_TOLERANCE, 1);
    }

    /** fp16/bf16 end to end on the GPU: per-stage errors reported, final float frames within 5e-2 (see PipelineConformanceTest). */
    @ParameterizedTest
    @CsvSource({"svd-tiny,F16", "svd-tiny,BF16", "svd-tiny-fp16,F16"})
    void reducedPrecisionOnCudaStaysClose(String caseName, DType dtype) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        check(caseName, "cuda", dtype, Double.POSITIVE_INFINITY, Integer.MAX_VALUE);
    }

    static SvdGenerationRequest request(ReferenceCase ref) throws Exception {
        var j = ref.json();
        return SvdGenerationRequest.builder(ImageLoader.read(ref.inputImage())).height(ref.height()).width(ref.width())
                .numFrames(j.get("num_frames").isNull() ? null : ref.numFrames()).steps(ref.steps())
                .minGuidance(j.get("min_guidance").asDouble()).maxGuidance(j.get("max_guidance").asDouble()).fps(ref.fps())
                .motionBucketId(j.get("motion_bucket_id").asInt()).noiseAugStrength(j.get("noise_aug_strength").asDouble())
                .decodeChunkSize(ref.decodeChunkSize()).seed(ref.seed())
                .scheduler(SchedulerConformanceTest.specText(ref) == null ? null : SchedulerSpec.parse(SchedulerConformanceTest.specText(ref)))
                .build();
    }

    static void check(String caseName, String backendName, DType dtype, double tolerance, int frameTolerance) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = Backends.create(backendName);
             VideoPipeline pipeline = VideoPipelines.fromPretrained(ref.checkpoint(), backend, dtype)) {
            SvdGenerationRequest req = request(ref);
            PipelineConformanceTest.assertRunMatches(caseName, backendName, dtype, tolerance, frameTolerance, ref,
                    9 + 6 * ref.steps(), listener -> pipeline.generate(req, listener));
        }
    }
}
