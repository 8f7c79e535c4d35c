package dev.i2vgen.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.I2VGenXLPipeline;
import dev.i2vgen.sampler.pipeline.SvdGenerationRequest;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * I2VGen-XL with the scheduler swapped as diffusers users swap it ({@code pipe.scheduler =
 * Cls.from_config(pipe.scheduler.config, **overrides)}), from the seed alone, against diffusers' run of the same swap
 * (conformance/tools/make_reference_case.py --scheduler): the initial latents, every step's sample, model output and
 * result (fp32: relative error ≤ 1e-4) and the frames within ±1. Each case names its scheduler in case.json.
 */
class SchedulerConformanceTest {
    /** The cases recorded with a swapped scheduler (the tiny checkpoint, 8 steps; LCM 4). */
    static List<String> cases() {
        return List.of("tiny-dpmpp", "tiny-dpmpp-sde3", "tiny-euler-ancestral", "tiny-unipc",
                "tiny-euler", "tiny-ddpm", "tiny-lcm");
    }

    @ParameterizedTest
    @MethodSource("cases")
    void swappedSchedulerMatchesDiffusers(String caseName) throws Exception {
        check(caseName, "jvm");
    }

    /** The same on an NVIDIA GPU, fp32: skipped, with the reason, where CUDA is not available. */
    @ParameterizedTest
    @MethodSource("cases")
    void swappedSchedulerMatchesDiffusersOnCuda(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        check(caseName, "cuda");
    }

    private static void check(String caseName, String backendName) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = Backends.create(backendName);
             I2VGenXLPipeline pipeline = I2VGenXLPipeline.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            GenerationRequest req = GenerationRequest.builder(ref.prompt(), ImageLoader.read(ref.inputImage()))
                    .negativePrompt(ref.negativePrompt()).height(ref.height()).width(ref.width())
                    .numFrames(ref.numFrames()).steps(ref.steps()).guidance(ref.guidance()).fps(ref.fps())
                    .seed(ref.seed()).decodeChunkSize(ref.decodeChunkSize())
                    .scheduler(SchedulerSpec.parse(specText(ref))).build();
            PipelineConformanceTest.assertRunMatches(caseName, backendName, DType.F32,
                    PipelineConformanceTest.STAGE_TOLERANCE, 1, ref, 3 * ref.steps() + 2, listener -> pipeline.generate(req, listener));
        }
    }

    /** Stable Video Diffusion on the svd-tiny checkpoint with Euler ancestral and DPM-Solver++ (4 steps). */
    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny-ancestral", "svd-tiny-dpmpp"})
    void swappedSchedulerMatchesDiffusersForSvd(String caseName) throws Exception {
        checkSvd(caseName, "jvm");
    }

    @ParameterizedTest
    @ValueSource(strings = {"svd-tiny-ancestral", "svd-tiny-dpmpp"})
    void swappedSchedulerMatchesDiffusersForSvdOnCuda(String caseName) throws Exception {
        PipelineConformanceTest.assumeBackend("cuda");
        checkSvd(caseName, "cuda");
    }

    private static void checkSvd(String caseName, String backendName) throws Exception {
        try (ReferenceCase ref = ReferenceCase.bundled(caseName); Backend backend = Backends.create(backendName);
             VideoPipeline pipeline = VideoPipelines.fromPretrained(ref.checkpoint(), backend, DType.F32)) {
            SvdGenerationRequest req = SvdPipelineConformanceTest.request(ref);
            PipelineConformanceTest.assertRunMatches(caseName, backendName, DType.F32,
                    PipelineConformanceTest.STAGE_TOLERANCE, 1, ref, 4 * ref.steps() + 3, listener -> pipeline.generate(req, listener));
        }
    }

    /**
     * The scheduler a case swapped in, as {@code --scheduler} text NAME:key=value,… (strings bare, other values as
     * JSON), or null for the checkpoint's: {"scheduler": {"class", "overrides"}} in the I2VGen-XL cases,
     * {"swap_scheduler": {"name", "overrides"}} in the SVD ones (whose "scheduler" is the checkpoint's config).
     */
    static String specText(ReferenceCase ref) {
        JsonNode s = ref.json().get("swap_scheduler");
        String name = s != null ? s.get("name").textValue() : null;
        if (s == null && ref.json().has("scheduler") && ref.json().get("scheduler").has("class")) {
            s = ref.json().get("scheduler");
            name = s.get("class").textValue();
        }
        if (s == null) return null;
        List<String> items = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : s.get("overrides").properties()) {
            items.add(e.getKey() + "=" + (e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString()));
        }
        return name + (items.isEmpty() ? "" : ":" + String.join(",", items));
    }
}
