package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

/**
 * diffusers' {@code AutoencoderKL}: image → posterior moments (encoder + quant_conv) and latents →
 * image (post_quant_conv + decoder). Graph methods add tasks; the runners compile on a given backend.
 */
public final class AutoencoderKL {
    public static final String INPUT_IMAGE = "image";
    public static final String INPUT_LATENTS = "latents";
    public static final String OUTPUT_MEAN = "mean";
    public static final String OUTPUT_LOGVAR = "logvar";
    public static final String OUTPUT_IMAGE = "sample";

    private final VaeConfig config;
    private final Weights weights;

    public AutoencoderKL(VaeConfig config, TensorSource source) {
        this.config = config;
        this.weights = new Weights(source);
    }

    public VaeConfig config() { return config; }

    public double scalingFactor() { return config.scalingFactor(); }

    /** Posterior moments as graph values: mean and logvar (clamped to [−30, 20]), each [N, latent, h, w]. */
    public record Moments(Value mean, Value logvar) {}

    /** Adds the encoder for image[N, in_channels, H, W] (values in [−1, 1]). */
    public Moments encode(TaskGraph g, Value image) {
        return VaePosterior.moments(g, weights, config, image);
    }

    /** Adds the decoder for z[N, latent, h, w] — the latents already divided by the scaling factor (vae.decode). */
    public Value decode(TaskGraph g, Value z) {
        VaeBlocks.checkChannels(z, config.latentChannels(), "latents");
        if (config.usePostQuantConv()) {
            try (var s = g.scope("vae.post_quant_conv")) {
                int lat = config.latentChannels();
                z = VaeBlocks.conv(g, weights.at("post_quant_conv"), z, lat, lat, 1, Conv2d.of(1, 0));
            }
        }
        return VaeDecoder.apply(g, weights.at("decoder"), config, z);
    }

    /** Adds latents / scaling_factor followed by {@link #decode}: what the pipeline does with denoised latents. */
    public Value decodeScaledLatents(TaskGraph g, Value latents) {
        return decode(g, g.scale(latents, (float) (1.0 / config.scalingFactor())));
    }

    // ---- runners ----

    /** Convenience: encodes image[N, C, H, W] once and returns the posterior on the host. */
    public LatentDistribution encode(Backend backend, Tensor image, DType activation) {
        return VaePosterior.encode(backend, weights, config, image, activation);
    }

    /** A decoder of scaled latent frames on one backend, compiling one graph per chunk size and reusing it. */
    public FrameDecoder frameDecoder(Backend backend, DType activation) { return new FrameDecoder(backend, activation); }

    /**
     * Convenience: the pipeline's decode of latents[B, C, F, h, w] (scaled as the UNet sees them) in
     * chunks of {@code chunkSize} frames (null = all frames at once) → video[B, out_channels, F, H, W].
     */
    public Tensor decodeVideo(Backend backend, Tensor latents, Integer chunkSize, DType activation) {
        return ChunkedFrameDecoder.decodeVideoOnce(frameDecoder(backend, activation), latents, chunkSize);
    }

    /** Decodes frames chunk by chunk; frames are independent for the 2-D VAE, so chunking does not change results. */
    public final class FrameDecoder extends ChunkedFrameDecoder {
        private FrameDecoder(Backend backend, DType activation) {
            super(backend, activation, "vae_decoder");
        }

        @Override
        Value decodeChunk(TaskGraph g, Value scaledLatents) { return decodeScaledLatents(g, scaledLatents); }

        /** latents[B, C, F, h, w] (diffusers' layout) → frames[B·F, out_channels, H, W], batch-major. */
        @Override
        public Tensor decodeVideoFrames(Tensor latents, Integer chunkSize, DecodedFrames decoded) {
            requireRank(latents, 5, "VAE decode: latents must be [batch, channels, frames, h, w]");
            int b = latents.dim(0), c = latents.dim(1), f = latents.dim(2), h = latents.dim(3), w = latents.dim(4);
            return decodeFrames(latents.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w), chunkSize, decoded);
        }
    }
}
