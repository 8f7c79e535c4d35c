package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

/**
 * diffusers' {@code AutoencoderKLTemporalDecoder}, Stable Video Diffusion's VAE: the AutoencoderKL encoder (+ quant_conv)
 * and a decoder that mixes the frames of a video ({@link TemporalVaeDecoder}; no post_quant_conv). The decoder sees
 * frames in the batch, frame-major (N = B·numFrames), and its result depends on which frames are decoded together:
 * the pipeline decodes chunks of frames, each chunk one "video" of its own length.
 */
public final class AutoencoderKLTemporalDecoder {
    private final TemporalVaeConfig config;
    private final Weights weights;

    public AutoencoderKLTemporalDecoder(TemporalVaeConfig config, TensorSource source) {
        this.config = config;
        this.weights = new Weights(source);
    }

    public TemporalVaeConfig config() { return config; }

    public double scalingFactor() { return config.scalingFactor(); }

    /** Adds the encoder for image[N, in_channels, H, W] (values in [−1, 1]); the pipeline uses the mean (mode()). */
    public AutoencoderKL.Moments encode(TaskGraph g, Value image) {
        return VaePosterior.moments(g, weights, config.vae(), image);
    }

    /**
     * Adds the decoder for z[N = B·numFrames, latent, h, w], frame-major and already divided by the scaling factor
     * (vae.decode(z, num_frames)) → [N, out_channels, H, W]. The temporal layers mix the numFrames frames of each of
     * the B videos.
     */
    public Value decode(TaskGraph g, Value z, int numFrames) {
        VaeBlocks.checkChannels(z, config.latentChannels(), "latents");
        if (numFrames < 1 || z.dim(0) % numFrames != 0) {
            throw new IllegalArgumentException("temporal VAE decode: " + z.dim(0) + " latent frames are not a multiple of num_frames "
                    + numFrames);
        }
        return TemporalVaeDecoder.apply(g, weights.at("decoder"), config.vae(), z, new Video(z.dim(0) / numFrames, numFrames));
    }

    /** Adds latents / scaling_factor followed by {@link #decode}: what the pipeline does with denoised latents. */
    public Value decodeScaledLatents(TaskGraph g, Value latents, int numFrames) {
        return decode(g, g.scale(latents, (float) (1.0 / config.scalingFactor())), numFrames);
    }

    // ---- runners ----

    /** Convenience: encodes image[N, C, H, W] once and returns the posterior on the host. */
    public LatentDistribution encode(Backend backend, Tensor image, DType activation) {
        return VaePosterior.encode(backend, weights, config.vae(), image, activation);
    }

    /** A decoder of scaled latent frames on one backend, compiling one graph per chunk length and reusing it. */
    public FrameDecoder frameDecoder(Backend backend, DType activation) { return new FrameDecoder(backend, activation); }

    /**
     * Convenience: the pipeline's decode_latents of latents[B, F, C, h, w] (SVD's layout, scaled as the UNet sees
     * them) in chunks of {@code chunkSize} frames (null = all at once) → video[B, out_channels, F, H, W].
     */
    public Tensor decodeVideo(Backend backend, Tensor latents, Integer chunkSize, DType activation) {
        return ChunkedFrameDecoder.decodeVideoOnce(frameDecoder(backend, activation), latents, chunkSize);
    }

    /**
     * Decodes latent frames chunk by chunk like diffusers' SVD pipeline: the frames are flattened over the batch and
     * each chunk is decoded as one video of its own length (num_frames = the chunk's length), so the chunk size changes
     * the result (frames mix only within a chunk) and, with several videos, a chunk may span two of them, as in
     * diffusers.
     */
    public final class FrameDecoder extends ChunkedFrameDecoder {
        private FrameDecoder(Backend backend, DType activation) {
            super(backend, activation, "vae_temporal_decoder");
        }

        @Override
        Value decodeChunk(TaskGraph g, Value scaledLatents) {
            return decodeScaledLatents(g, scaledLatents, scaledLatents.dim(0));
        }

        /** latents[B, F, C, h, w] (SVD's layout) → frames[B·F, out_channels, H, W], frame-major (a free reshape, then {@link #decodeFrames}). */
        @Override
        public Tensor decodeVideoFrames(Tensor latents, Integer chunkSize, DecodedFrames decoded) {
            requireRank(latents, 5, "temporal VAE decode: latents must be [batch, frames, channels, h, w]");
            int b = latents.dim(0), f = latents.dim(1), c = latents.dim(2), h = latents.dim(3), w = latents.dim(4);
            return decodeFrames(latents.reshape(b * f, c, h, w), chunkSize, decoded);
        }
    }
}
