package dev.i2vgen.conformance;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.SvdGenerationRequest;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
                .decodeChunkSize(ref.decodeChunkSize()).seed(ref.seed()).build();
    }

    static void check(String caseName, String backendName, DType dtype, double tolerance, int frameTolerance) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = Backends.create(backendName);
             VideoPipeline pipeline = VideoPipelines.fromPretrained(ref.checkpoint(), backend, dtype)) {
            Map<String, Tensor> seen = new LinkedHashMap<>();
            GeneratedVideo video = pipeline.generate(request(ref), new PipelineListener() {
                @Override public boolean wantsTensors() { return true; }

                @Override public void tensor(String name, Tensor value) { seen.put(name, value); }
            });
            List<String> failures = new ArrayList<>();
            StringBuilder report = new StringBuilder(caseName + " on " + backendName + " " + dtype + ", relative error per stage:\n");
            int compared = 0;
            for (Map.Entry<String, Tensor> e : seen.entrySet()) {
                if (!ref.has(e.getKey())) continue;
                Tensor expected = ref.tensor(e.getKey());
                compared++;
                if (e.getValue().numel() != expected.numel()) {
                    failures.add(e.getKey() + ": " + e.getValue() + " vs reference " + expected);
                    continue;
                }
                double err = TensorComparison.relativeError(e.getValue(), expected);
                report.append(String.format("  %-32s %.2e%n", e.getKey(), err));
                if (!(err <= tolerance)) failures.add(String.format("%s: relative error %.3g > %.0e", e.getKey(), err, tolerance));
            }
            int expectedStages = 10 + 6 * ref.steps();
            assertTrue(compared >= expectedStages, "too few stages compared: " + compared + " of " + seen.keySet());
            if (dtype != DType.F32) {
                double framesErr = TensorComparison.relativeError(seen.get("frames_float"), ref.tensor("frames_float"));
                if (!(framesErr <= PipelineConformanceTest.REDUCED_PRECISION_FRAMES)) {
                    failures.add(String.format("frames_float: relative error %.3g > %.0e", framesErr, PipelineConformanceTest.REDUCED_PRECISION_FRAMES));
                }
            }
            System.out.print(report);
            if (!failures.isEmpty()) fail(caseName + ": " + String.join("\n", failures));
            int maxDiff = ReferenceFrames.maxDifference(video.frames(), ref.tensor("frames_uint8"));
            assertTrue(maxDiff <= frameTolerance, caseName + ": frames differ from frames_uint8 by up to " + maxDiff);
        }
    }
}
