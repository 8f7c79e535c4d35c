package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;

/**
 * The arguments of one Stable Video Diffusion generation, named and defaulted as diffusers'
 * {@code StableVideoDiffusionPipeline.__call__} (one image, one video). Build with {@link #builder(RgbImage)}:
 * <pre>{@code SvdGenerationRequest.builder(image).numFrames(25).steps(25).seed(42L).decodeChunkSize(8).build()}</pre>
 *
 * @param numFrames        null = the UNet's {@code num_frames} (14 for img2vid, 25 for img2vid-xt)
 * @param minGuidance      guidance of the first frame; the scale rises linearly to {@code maxGuidance} at the last
 *                         frame; classifier-free guidance is on iff {@code maxGuidance > 1}
 * @param fps              the frame-rate condition (the UNet receives fps − 1) and the video's rate
 * @param motionBucketId   the amount of motion the UNet is asked for
 * @param noiseAugStrength noise added to the conditioning image before VAE encoding (also a UNet condition)
 * @param decodeChunkSize  frames per VAE decode call, null = all frames at once; the temporal decoder mixes frames
 *                         only within a chunk, so this changes the result
 * @param seed             null = a random seed; the same seed draws the same noise as {@code torch.manual_seed(seed)}
 * @param scheduler        null = the checkpoint's scheduler (EulerDiscreteScheduler for the released models), else
 *                         that class from the checkpoint's scheduler config with the spec's overrides
 */
public record SvdGenerationRequest(RgbImage image, int height, int width, Integer numFrames, int steps,
                                   double minGuidance, double maxGuidance, int fps, int motionBucketId,
                                   double noiseAugStrength, Integer decodeChunkSize, Long seed,
                                   SchedulerSpec scheduler) implements VideoRequest {

    /** Checks in diffusers' order, with its messages where it has one; a refusal is an {@link InvalidRequestException}. */
    public SvdGenerationRequest {
        if (image == null) throw new InvalidRequestException("`image` has to be of type `PIL.Image.Image` or `torch.Tensor` but is null");
        if (height <= 0 || width <= 0 || height % 8 != 0 || width % 8 != 0) {
            throw new InvalidRequestException("`height` and `width` have to be divisible by 8 but are " + height + " and " + width + ".");
        }
        if (numFrames != null && numFrames < 1) throw new InvalidRequestException("num_frames must be >= 1, got " + numFrames);
        if (steps < 1) throw new InvalidRequestException("num_inference_steps must be >= 1, got " + steps);
        if (!Double.isFinite(minGuidance) || !Double.isFinite(maxGuidance)) {
            throw new InvalidRequestException("min_guidance_scale and max_guidance_scale must be finite, got " + minGuidance + " and " + maxGuidance);
        }
        if (fps < 1) throw new InvalidRequestException("fps must be >= 1, got " + fps + " (the UNet is conditioned on fps - 1)");
        if (motionBucketId < 0) throw new InvalidRequestException("motion_bucket_id must be >= 0, got " + motionBucketId);
        if (!(noiseAugStrength >= 0) || !Double.isFinite(noiseAugStrength)) {
            throw new InvalidRequestException("noise_aug_strength must be a finite number >= 0, got " + noiseAugStrength);
        }
        if (decodeChunkSize != null && decodeChunkSize < 1) throw new InvalidRequestException("decode_chunk_size must be >= 1 or null, got " + decodeChunkSize);
    }

    /** Classifier-free guidance is on iff the largest per-frame scale is above 1, as in diffusers. */
    public boolean classifierFreeGuidance() { return Math.max(minGuidance, maxGuidance) > 1.0; }

    /** A builder with diffusers' defaults: 576×1024, the UNet's frames, 25 steps, guidance 1 → 3, fps 7, motion 127, augmentation 0.02. */
    public static Builder builder(RgbImage image) { return new Builder(image); }

    /** Named options with diffusers' defaults. */
    public static final class Builder {
        private final RgbImage image;
        private int height = 576, width = 1024, steps = 25, fps = 7, motionBucketId = 127;
        private Integer numFrames, decodeChunkSize;
        private double minGuidance = 1.0, maxGuidance = 3.0, noiseAugStrength = 0.02;
        private Long seed;
        private SchedulerSpec scheduler;

        private Builder(RgbImage image) { this.image = image; }

        public Builder height(int v) { height = v; return this; }
        public Builder width(int v) { width = v; return this; }
        public Builder numFrames(Integer v) { numFrames = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder minGuidance(double v) { minGuidance = v; return this; }
        public Builder maxGuidance(double v) { maxGuidance = v; return this; }
        public Builder fps(int v) { fps = v; return this; }
        public Builder motionBucketId(int v) { motionBucketId = v; return this; }
        public Builder noiseAugStrength(double v) { noiseAugStrength = v; return this; }
        public Builder decodeChunkSize(Integer v) { decodeChunkSize = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder scheduler(SchedulerSpec v) { scheduler = v; return this; }

        public SvdGenerationRequest build() {
            return new SvdGenerationRequest(image, height, width, numFrames, steps, minGuidance, maxGuidance, fps,
                    motionBucketId, noiseAugStrength, decodeChunkSize, seed, scheduler);
        }
    }
}
