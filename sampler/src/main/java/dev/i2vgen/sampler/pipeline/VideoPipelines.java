package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.tensor.DType;

import java.nio.file.Path;

/**
 * Loads whichever pipeline a diffusers checkpoint folder holds, by {@code model_index.json}'s {@code _class_name}:
 * <pre>{@code
 * try (VideoPipeline pipe = VideoPipelines.fromPretrained(dir, backend, DType.F16)) {
 *     GeneratedVideo v = pipe.generate(request, PipelineListener.NONE);   // a GenerationRequest or an SvdGenerationRequest
 * }}</pre>
 */
public final class VideoPipelines {
    private VideoPipelines() {}

    /** The pipeline class of a checkpoint folder, checked to be one this library runs (before any weights are read). */
    public static String pipelineClass(Path dir) {
        return CheckpointFolder.open(dir).layout().className();
    }

    /** Validates the folder and builds its pipeline on {@code backend} computing in {@code dtype}. */
    public static VideoPipeline fromPretrained(Path dir, Backend backend, DType dtype) {
        return switch (CheckpointFolder.open(dir).layout()) {
            case I2VGEN_XL -> I2VGenXLPipeline.fromPretrained(dir, backend, dtype);
            case STABLE_VIDEO_DIFFUSION -> StableVideoDiffusionPipeline.fromPretrained(dir, backend, dtype);
        };
    }
}
