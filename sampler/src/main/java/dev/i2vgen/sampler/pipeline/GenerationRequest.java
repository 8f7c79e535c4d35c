package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;

/**
 * The arguments of one video generation, named and defaulted as diffusers' {@code I2VGenXLPipeline.__call__}
 * (one prompt, one image, one video). {@code negativePrompt} null = "" when guidance is on;
 * {@code seed} null = a random seed; {@code decodeChunkSize} null = all frames in one VAE call;
 * {@code clipSkip} null = the text encoder's last layer (the pipeline's default is 1: the penultimate);
 * {@code scheduler} null = the checkpoint's scheduler, else that class built from the checkpoint's scheduler config
 * with the spec's overrides (diffusers' {@code pipe.scheduler = Cls.from_config(pipe.scheduler.config, ...)});
 * {@code i4vgen} null = the plain pipeline, else I4VGen with these options ({@link I4VGenOptions}).
 * Build with {@link #builder(String, RgbImage)}:
 * <pre>{@code GenerationRequest.builder(prompt, image).steps(25).seed(42L)
 *     .scheduler(SchedulerSpec.parse("DPMSolverMultistepScheduler")).build()}</pre>
 */
public record GenerationRequest(String prompt, String negativePrompt, RgbImage image, int height, int width,
                                int numFrames, int steps, double guidance, int fps, double eta, Long seed,
                                Integer decodeChunkSize, Integer clipSkip, SchedulerSpec scheduler,
                                I4VGenOptions i4vgen) implements VideoRequest {

    /** diffusers' defaults: 704×1280, 16 frames, 50 steps, guidance 9, 16 fps, η 0, decode chunk 1, clip_skip 1. */
    public static GenerationRequest defaults(String prompt, RgbImage image) {
        return builder(prompt, image).build();
    }

    /** A builder with diffusers' defaults ({@link #defaults}). */
    public static Builder builder(String prompt, RgbImage image) { return new Builder(prompt, image); }

    /** Checks in diffusers' order, with its messages where it has one; a refusal is an {@link InvalidRequestException}. */
    public GenerationRequest {
        if (height % 8 != 0 || width % 8 != 0 || height <= 0 || width <= 0) {
            throw new InvalidRequestException("`height` and `width` have to be divisible by 8 but are " + height + " and " + width + ".");
        }
        if (prompt == null) throw new InvalidRequestException("Provide either `prompt` or `prompt_embeds`. Cannot leave both `prompt` and `prompt_embeds` undefined.");
        if (image == null) throw new InvalidRequestException("`image` has to be an image, got null");
        if (numFrames < 1) throw new InvalidRequestException("num_frames must be >= 1, got " + numFrames);
        if (steps < 1) throw new InvalidRequestException("num_inference_steps must be >= 1, got " + steps);
        if (!Double.isFinite(guidance)) throw new InvalidRequestException("guidance_scale must be finite, got " + guidance);
        if (fps < 1) throw new InvalidRequestException("target_fps must be >= 1, got " + fps);
        if (!(eta >= 0)) throw new InvalidRequestException("eta must be >= 0, got " + eta);
        if (decodeChunkSize != null && decodeChunkSize < 1) throw new InvalidRequestException("decode_chunk_size must be >= 1 or null, got " + decodeChunkSize);
        if (clipSkip != null && clipSkip < 0) throw new InvalidRequestException("clip_skip must be >= 0 or null, got " + clipSkip);
    }

    /** Classifier-free guidance is on only when the scale is above 1, as in diffusers. */
    public boolean classifierFreeGuidance() { return guidance > 1.0; }

    /** Named options with diffusers' defaults. */
    public static final class Builder {
        private final String prompt;
        private final RgbImage image;
        private String negativePrompt;
        private int height = 704, width = 1280, numFrames = 16, steps = 50, fps = 16;
        private double guidance = 9.0, eta = 0.0;
        private Long seed;
        private Integer decodeChunkSize = 1, clipSkip = 1;
        private SchedulerSpec scheduler;
        private I4VGenOptions i4vgen;

        private Builder(String prompt, RgbImage image) {
            this.prompt = prompt;
            this.image = image;
        }

        public Builder negativePrompt(String v) { negativePrompt = v; return this; }
        public Builder height(int v) { height = v; return this; }
        public Builder width(int v) { width = v; return this; }
        public Builder numFrames(int v) { numFrames = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder guidance(double v) { guidance = v; return this; }
        public Builder fps(int v) { fps = v; return this; }
        public Builder eta(double v) { eta = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder decodeChunkSize(Integer v) { decodeChunkSize = v; return this; }
        public Builder clipSkip(Integer v) { clipSkip = v; return this; }
        public Builder scheduler(SchedulerSpec v) { scheduler = v; return this; }
        public Builder i4vgen(I4VGenOptions v) { i4vgen = v; return this; }

        public GenerationRequest build() {
            return new GenerationRequest(prompt, negativePrompt, image, height, width, numFrames, steps, guidance, fps,
                    eta, seed, decodeChunkSize, clipSkip, scheduler, i4vgen);
        }
    }
}
