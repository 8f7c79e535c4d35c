package dev.i2vgen.sampler.pipeline;

/** The arguments of one generation, one record per model family: {@link GenerationRequest} (I2VGen-XL), {@link SvdGenerationRequest}. */
public sealed interface VideoRequest permits GenerationRequest, SvdGenerationRequest {
    /** The seed, or null for a random one. */
    Long seed();

    /** The scheduler to swap in ({@code Cls.from_config(checkpoint config, **overrides)}), or null for the checkpoint's. */
    dev.i2vgen.sampler.scheduler.SchedulerSpec scheduler();
}
