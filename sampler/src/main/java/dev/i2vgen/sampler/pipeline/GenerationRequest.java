package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;

/**
 * The arguments of one video generation, named and defaulted as diffusers' {@code I2VGenXLPipeline.__call__}
 * (one prompt, one image, one video). {@code negativePrompt} null = "" when guidance is on;
 * {@code seed} null = a random seed; {@code decodeChunkSize} null = all frames in one VAE call;
 * {@code clipSkip} null = the text encoder's last layer (the pipeline's default is 1: the penultimate).
 */
public record GenerationRequest(String prompt, String negativePrompt, RgbImage image, int height, int width,
                                int numFrames, int steps, double guidance, int fps, double eta, Long seed,
                                Integer decodeChunkSize, Integer clipSkip) implements VideoRequest {

    /** diffusers' defaults: 704×1280, 16 frames, 50 steps, guidance 9, 16 fps, η 0, decode chunk 1, clip_skip 1. */
    public static GenerationRequest defaults(String prompt, RgbImage image) {
        return new GenerationRequest(prompt, null, image, 704, 1280, 16, 50, 9.0, 16, 0.0, null, 1, 1);
    }

    /** Checks in diffusers' order, with its messages where it has one. */
    public GenerationRequest {
        if (height % 8 != 0 || width % 8 != 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException("`height` and `width` have to be divisible by 8 but are " + height + " and " + width + ".");
        }
        if (prompt == null) throw new IllegalArgumentException("Provide either `prompt` or `prompt_embeds`. Cannot leave both `prompt` and `prompt_embeds` undefined.");
        if (image == null) throw new IllegalArgumentException("`image` has to be an image, got null");
        if (numFrames < 1) throw new IllegalArgumentException("num_frames must be >= 1, got " + numFrames);
        if (steps < 1) throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + steps);
        if (!Double.isFinite(guidance)) throw new IllegalArgumentException("guidance_scale must be finite, got " + guidance);
        if (fps < 1) throw new IllegalArgumentException("target_fps must be >= 1, got " + fps);
        if (!(eta >= 0)) throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        if (decodeChunkSize != null && decodeChunkSize < 1) throw new IllegalArgumentException("decode_chunk_size must be >= 1 or null, got " + decodeChunkSize);
        if (clipSkip != null && clipSkip < 0) throw new IllegalArgumentException("clip_skip must be >= 0 or null, got " + clipSkip);
    }

    /** Classifier-free guidance is on only when the scale is above 1, as in diffusers. */
    public boolean classifierFreeGuidance() { return guidance > 1.0; }
}
