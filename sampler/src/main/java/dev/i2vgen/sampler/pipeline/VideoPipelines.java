package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.tensor.DType;

import java.nio.file.Path;
import java.util.List;

/**
 * Loads whichever pipeline a diffusers checkpoint folder holds, by {@code model_index.json}'s {@code _class_name}:
 * <pre>{@code
 * try (VideoPipeline pipe = VideoPipelines.fromPretrained(dir, backend, DType.F16)) {
 *     GeneratedVideo v = pipe.generate(request, PipelineListener.NONE);   // a GenerationRequest or an SvdGenerationRequest
 * }}</pre>
 */
public final class VideoPipelines {
    /** The pipeline classes this library runs. */
    public static final List<String> SUPPORTED = List.of("I2VGenXLPipeline", "StableVideoDiffusionPipeline");

    private VideoPipelines() {}

    /** The pipeline class of a checkpoint folder, checked to be one this library runs (before any weights are read). */
    public static String pipelineClass(Path dir) {
        CheckpointFolder ckpt = CheckpointFolder.open(dir);
        String cls = ckpt.pipelineClass();
        if (cls == null || !SUPPORTED.contains(cls)) {
            throw new CheckpointException(ckpt.modelIndexFile(), (cls == null ? "has no _class_name" : "names pipeline '" + cls + "'")
                    + "; supported: " + String.join(", ", SUPPORTED));
        }
        return cls;
    }

    /** Validates the folder and builds its pipeline on {@code backend} computing in {@code dtype}. */
    public static VideoPipeline fromPretrained(Path dir, Backend backend, DType dtype) {
        return switch (pipelineClass(dir)) {
            case "I2VGenXLPipeline" -> I2VGenXLPipeline.fromPretrained(dir, backend, dtype);
            case "StableVideoDiffusionPipeline" -> StableVideoDiffusionPipeline.fromPretrained(dir, backend, dtype);
            default -> throw new IllegalStateException("unreachable: " + SUPPORTED);
        };
    }
}
