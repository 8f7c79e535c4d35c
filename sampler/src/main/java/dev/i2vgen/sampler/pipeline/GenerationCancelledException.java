package dev.i2vgen.sampler.pipeline;

/**
 * A generation stopped because its {@link PipelineListener#cancelled()} said so. The pipeline throws it at the next
 * check (before a stage, after a denoising step), after closing the plans it had built, so their device memory is
 * released; the pipeline itself stays usable for the next request.
 */
public final class GenerationCancelledException extends RuntimeException {
    public GenerationCancelledException(String message) { super(message); }
}
