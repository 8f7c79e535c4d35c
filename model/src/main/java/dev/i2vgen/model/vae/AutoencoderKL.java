package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.PendingRead;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

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
        checkChannels(image, config.inChannels(), "image");
        int lat = config.latentChannels();
        Value moments = VaeEncoder.apply(g, weights.at("encoder"), config, image);
        try (var s = g.scope("vae.quant_conv")) {
            if (config.useQuantConv()) {
                moments = VaeBlocks.conv(g, weights.at("quant_conv"), moments, 2 * lat, 2 * lat, 1, Conv2d.of(1, 0));
            }
            Value mean = g.slice(moments, 1, 0, lat);
            Value logvar = g.clamp(g.slice(moments, 1, lat, 2 * lat), -30f, 20f);
            return new Moments(mean, logvar);
        }
    }

    /** Adds the decoder for z[N, latent, h, w] — the latents already divided by the scaling factor (vae.decode). */
    public Value decode(TaskGraph g, Value z) {
        checkChannels(z, config.latentChannels(), "latents");
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
        TaskGraph g = new TaskGraph("vae_encoder", activation);
        Value x = g.input(INPUT_IMAGE, DType.F32, image.shape());
        Moments m = encode(g, castTo(g, x, activation));
        g.output(OUTPUT_MEAN, m.mean());
        g.output(OUTPUT_LOGVAR, m.logvar());
        try (CompiledStage stage = CompiledStage.compile(backend, g)) {
            Map<String, Tensor> out = stage.run(Map.of(INPUT_IMAGE, image));
            return new LatentDistribution(out.get(OUTPUT_MEAN), out.get(OUTPUT_LOGVAR));
        }
    }

    /** A decoder of scaled latent frames on one backend, compiling one graph per chunk size and reusing it. */
    public FrameDecoder frameDecoder(Backend backend, DType activation) { return new FrameDecoder(backend, activation); }

    /**
     * Convenience: the pipeline's decode of latents[B, C, F, h, w] (scaled as the UNet sees them) in
     * chunks of {@code chunkSize} frames (null = all frames at once) → video[B, out_channels, F, H, W].
     */
    public Tensor decodeVideo(Backend backend, Tensor latents, Integer chunkSize, DType activation) {
        try (FrameDecoder d = frameDecoder(backend, activation)) {
            return d.decodeVideo(latents, chunkSize);
        }
    }

    /** Decodes frames chunk by chunk; frames are independent for the 2-D VAE, so chunking does not change results. */
    public final class FrameDecoder implements AutoCloseable {
        private final Backend backend;
        private final DType activation;
        private final Map<String, CompiledStage> stages = new HashMap<>();

        private FrameDecoder(Backend backend, DType activation) {
            this.backend = backend;
            this.activation = activation;
        }

        /** latents[B, C, F, h, w] → video[B, out_channels, F, H, W] (values ≈ [−1, 1], not clamped). */
        public Tensor decodeVideo(Tensor latents, Integer chunkSize) {
            return videoLayout(decodeVideoFrames(latents, chunkSize), latents.dim(0));
        }

        /**
         * latents[B, C, F, h, w] → frames[B·F, out_channels, H, W], batch-major, as the decoder produces them (no
         * permuted copy of the whole video; {@link #videoLayout} makes diffusers' layout when it is wanted).
         */
        public Tensor decodeVideoFrames(Tensor latents, Integer chunkSize) {
            if (latents.rank() != 5) {
                throw new IllegalArgumentException("VAE decode: latents must be [batch, channels, frames, h, w], got "
                        + Arrays.toString(latents.shape()));
            }
            int b = latents.dim(0), c = latents.dim(1), f = latents.dim(2), h = latents.dim(3), w = latents.dim(4);
            return decodeFrames(latents.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w), chunkSize);
        }

        /** frames[B·F, C, H, W] (batch-major) → video[B, C, F, H, W]. */
        public static Tensor videoLayout(Tensor frames, int batch) {
            int f = frames.dim(0) / batch, oc = frames.dim(1), oh = frames.dim(2), ow = frames.dim(3);
            return frames.reshape(batch, f, oc, oh, ow).permute(0, 2, 1, 3, 4).contiguous();
        }

        /**
         * latents[N, C, h, w] (scaled) → images[N, out_channels, H, W], {@code chunkSize} frames per graph run.
         * <p>The runs are submitted back to back and each chunk is copied into the result while the backend decodes
         * the next, so an asynchronous backend (CUDA) never waits for the host: no synchronisation between chunks
         * but the pacing of the uploads. Device memory: the chunk size bounds the activations; a chunk's decoded
         * output is kept apart until the host has copied it, one chunk in the steady state and at most the whole
         * decoded video (16 × 3 × 704 × 1280 F32 = 173 MB) while the result is still being allocated.
         */
        public Tensor decodeFrames(Tensor latents, Integer chunkSize) {
            if (latents.rank() != 4) {
                throw new IllegalArgumentException("VAE decode: latent frames must be [frames, channels, h, w], got "
                        + Arrays.toString(latents.shape()));
            }
            int n = latents.dim(0);
            int chunk = chunkSize == null ? n : chunkSize;
            if (chunk < 1) throw new IllegalArgumentException("VAE decode: decode_chunk_size must be >= 1, got " + chunkSize);
            record Chunk(PendingRead read, long offset) {}
            ArrayDeque<Chunk> decoded = new ArrayDeque<>();
            CompletableFuture<Tensor> video = null;
            try {
                for (int start = 0; start < n; start += chunk) {
                    int end = Math.min(n, start + chunk);
                    Tensor part = latents.slice(0, start, end).to(DType.F32);
                    CompiledStage stage = stage(part.shape());
                    stage.submit(Map.of(INPUT_LATENTS, part));
                    if (video == null) video = allocateVideo(stage, n);
                    PendingRead read = stage.readAsync(OUTPUT_IMAGE);
                    decoded.add(new Chunk(read, start * (read.numel() / (end - start))));
                    // every chunk but the newest, which the backend is decoding meanwhile
                    if (video.isDone()) {
                        while (decoded.size() > 1) {
                            Chunk c = decoded.poll();
                            c.read().into(video.join(), c.offset());
                        }
                    }
                }
                if (video == null) return null;   // no frames
                Tensor out = video.join();
                while (!decoded.isEmpty()) {
                    Chunk c = decoded.poll();
                    c.read().into(out, c.offset());
                }
                return out;
            } finally {
                decoded.forEach(c -> c.read().close());
            }
        }

        /**
         * The result tensor, zero-filled on a thread of its own: for 16 frames at 704x1280 that is 173 MB of page
         * faults and zeroing (0.1–0.4 s of host time), done while the backend decodes the first chunks.
         */
        private static CompletableFuture<Tensor> allocateVideo(CompiledStage stage, int frames) {
            int[] shape = stage.graph().output(OUTPUT_IMAGE).shape();
            shape[0] = frames;
            return CompletableFuture.supplyAsync(() -> Tensor.allocate(DType.F32, shape),
                    task -> Thread.ofPlatform().daemon().name("vae-video-allocation").start(task));
        }

        private CompiledStage stage(int[] shape) {
            return stages.computeIfAbsent(Arrays.toString(shape), k -> {
                TaskGraph g = new TaskGraph("vae_decoder_" + shape[0] + "x" + shape[2] + "x" + shape[3], activation);
                Value z = g.input(INPUT_LATENTS, DType.F32, shape);
                // F32 on the device: the host read is then a plain copy (a host-side fp16 conversion of 2.7 M
                // values per 704x1280 frame cost more than the frame's GPU time)
                g.output(OUTPUT_IMAGE, castTo(g, decodeScaledLatents(g, castTo(g, z, activation)), DType.F32));
                return CompiledStage.compile(backend, g);
            });
        }

        @Override
        public void close() {
            stages.values().forEach(CompiledStage::close);
            stages.clear();
        }
    }

    private static void checkChannels(Value x, int channels, String what) {
        if (x.rank() != 4 || x.dim(1) != channels) {
            throw new IllegalArgumentException("VAE: " + what + " must be [N, " + channels + ", H, W], got " + Arrays.toString(x.shape()));
        }
    }

    private static Value castTo(TaskGraph g, Value x, DType activation) {
        return x.dtype() == activation ? x : g.cast(x, activation);
    }
}
