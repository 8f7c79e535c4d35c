package dev.i2vgen.sampler.pipeline;

/**
 * An image-to-video pipeline loaded from a diffusers checkpoint folder ({@link VideoPipelines#fromPretrained}); each
 * model family takes its own request type and refuses the other's with an error naming both.
 */
public sealed interface VideoPipeline extends AutoCloseable permits I2VGenXLPipeline, StableVideoDiffusionPipeline {
    /** diffusers' pipeline class this implements ({@code model_index.json}'s {@code _class_name}). */
    String pipelineClass();

    GeneratedVideo generate(VideoRequest request, PipelineListener listener);

    /**
     * The pipeline's own setup work so far, beside its backend's ({@link dev.i2vgen.backend.Backend#setupWork}): the plans
     * it built ahead of their stages ({@link PlansAhead}), their build time and what the stages waited for them.
     */
    default java.util.List<dev.i2vgen.backend.SetupWork> setupWork() { return java.util.List.of(); }

    /** Releases the weight mappings the pipeline opened. */
    @Override void close();
}
