package dev.i2vgen.model.vae;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.PendingRead;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The pipelines' VAE decode loop, shared by both VAEs: scaled latent frames [N, C, h, w] are decoded
 * {@code chunkSize} frames per graph run, with one compiled graph per chunk shape (the last chunk may be shorter),
 * kept until {@link #close}. Each VAE says what one chunk's graph is ({@link #decodeChunk}); for the temporal decoder
 * a chunk is also the group of frames it mixes, so there the chunk size is part of the result.
 */
public abstract sealed class ChunkedFrameDecoder implements AutoCloseable
        permits AutoencoderKL.FrameDecoder, AutoencoderKLTemporalDecoder.FrameDecoder {
    private final Backend backend;
    private final DType activation;
    private final String graphName;
    private final Map<String, CompiledStage> stages = new HashMap<>();

    ChunkedFrameDecoder(Backend backend, DType activation, String graphName) {
        this.backend = backend;
        this.activation = activation;
        this.graphName = graphName;
    }

    /** Adds the decode of one chunk: latents[n, C, h, w] as the UNet sees them (activation dtype) → images[n, out, H, W]. */
    abstract Value decodeChunk(TaskGraph g, Value scaledLatents);

    /**
     * Told of decoded frames as they land on the host, in order: rows {@code [from, to)} of {@code frames} (the
     * result {@link #decodeFrames} returns, [N, out_channels, H, W]) are final and will not change. Called on the
     * decoding thread, between the backend's chunks: what it does there delays the next chunk's submission, so
     * long work belongs on a thread of its own (a video encoder).
     */
    @FunctionalInterface
    public interface DecodedFrames {
        DecodedFrames NONE = (frames, from, to) -> {};

        void ready(Tensor frames, int from, int to);
    }

    /**
     * latents[B, …] in the VAE's video layout → frames[B·F, out_channels, H, W], row b·F + f, as the decoder produces
     * them (no permuted copy of the whole video; {@link #videoLayout} makes diffusers' layout when it is wanted).
     */
    public Tensor decodeVideoFrames(Tensor latents, Integer chunkSize) { return decodeVideoFrames(latents, chunkSize, DecodedFrames.NONE); }

    /** {@link #decodeVideoFrames(Tensor, Integer)}, telling {@code decoded} of each chunk's frames as they arrive. */
    public abstract Tensor decodeVideoFrames(Tensor latents, Integer chunkSize, DecodedFrames decoded);

    /** latents[B, …] in the VAE's video layout → video[B, out_channels, F, H, W] (values ≈ [−1, 1], not clamped). */
    public Tensor decodeVideo(Tensor latents, Integer chunkSize) {
        return videoLayout(decodeVideoFrames(latents, chunkSize), latents.dim(0));
    }

    /** The VAEs' one-shot convenience: decodes one video with a decoder of its own, then releases the decoder. */
    static Tensor decodeVideoOnce(ChunkedFrameDecoder decoder, Tensor latents, Integer chunkSize) {
        try (decoder) {
            return decoder.decodeVideo(latents, chunkSize);
        }
    }

    /**
     * latents[N, C, h, w] (scaled) → images[N, out_channels, H, W], {@code chunkSize} frames per graph run (null = all).
     * <p>The runs are submitted back to back and each chunk is copied into the result while the backend decodes
     * the next, so an asynchronous backend (CUDA) never waits for the host: no synchronisation between chunks
     * but the pacing of the uploads. Device memory: the chunk size bounds the activations; a chunk's decoded
     * output is kept apart until the host has copied it, one chunk in the steady state and at most the whole
     * decoded video (16 × 3 × 704 × 1280 F32 = 173 MB) while the result is still being allocated.
     */
    public Tensor decodeFrames(Tensor latents, Integer chunkSize) { return decodeFrames(latents, chunkSize, DecodedFrames.NONE); }

    /**
     * {@link #decodeFrames(Tensor, Integer)}, telling {@code decoded} of each chunk's rows once they are copied into the
     * result (in order; a chunk is copied while the backend decodes the next one, the last one after the loop).
     */
    public Tensor decodeFrames(Tensor latents, Integer chunkSize, DecodedFrames decoded) {
        requireRank(latents, 4, "VAE decode: latent frames must be [frames, channels, h, w]");
        int n = latents.dim(0);
        int chunk = chunkSize == null ? n : chunkSize;
        if (chunk < 1) throw new IllegalArgumentException("VAE decode: decode_chunk_size must be >= 1, got " + chunkSize);
        ArrayDeque<Chunk> pending = new ArrayDeque<>();
        CompletableFuture<Tensor> video = null;
        try {
            for (int start = 0; start < n; start += chunk) {
                int end = Math.min(n, start + chunk);
                Tensor part = latents.slice(0, start, end).to(DType.F32);
                CompiledStage stage = stage(part.shape());
                stage.submit(Map.of(AutoencoderKL.INPUT_LATENTS, part));
                if (video == null) video = allocateVideo(stage, n);
                PendingRead read = stage.readAsync(AutoencoderKL.OUTPUT_IMAGE);
                pending.add(new Chunk(read, start * (read.numel() / (end - start)), start, end));
                // every chunk but the newest, which the backend is decoding meanwhile. The result's allocation (its own
                // thread, ~0.1 s for 16 frames of 704x1280) is waited for here: copying only once it happened to be
                // done held every frame back to the end of the loop on a GPU, whose submits return at once
                while (pending.size() > 1) copy(pending.poll(), video.join(), decoded);
            }
            if (video == null) return null;   // no frames
            Tensor out = video.join();
            while (!pending.isEmpty()) copy(pending.poll(), out, decoded);
            return out;
        } finally {
            pending.forEach(c -> c.read().close());
        }
    }

    /** A chunk on its way to the host: frames [from, to), at element {@code offset} of the result. */
    private record Chunk(PendingRead read, long offset, int from, int to) {}

    private static void copy(Chunk c, Tensor video, DecodedFrames decoded) {
        c.read().into(video, c.offset());
        decoded.ready(video, c.from(), c.to());
    }

    /** frames[B·F, C, H, W] (batch-major) → video[B, C, F, H, W], diffusers' layout of a decoded video. */
    public static Tensor videoLayout(Tensor frames, int batch) {
        int f = frames.dim(0) / batch, oc = frames.dim(1), oh = frames.dim(2), ow = frames.dim(3);
        return frames.reshape(batch, f, oc, oh, ow).permute(0, 2, 1, 3, 4).contiguous();
    }

    /** Throws {@code what + ", got " + shape} unless t has the given rank. */
    static void requireRank(Tensor t, int rank, String what) {
        if (t.rank() != rank) throw new IllegalArgumentException(what + ", got " + Arrays.toString(t.shape()));
    }

    /**
     * The result tensor, zero-filled on a thread of its own: for 16 frames at 704x1280 that is 173 MB of page
     * faults and zeroing (0.1–0.4 s of host time), done while the backend decodes the first chunks.
     */
    private static CompletableFuture<Tensor> allocateVideo(CompiledStage stage, int frames) {
        int[] shape = stage.graph().output(AutoencoderKL.OUTPUT_IMAGE).shape();
        shape[0] = frames;
        return CompletableFuture.supplyAsync(() -> Tensor.allocate(DType.F32, shape),
                task -> Thread.ofPlatform().daemon().name("vae-video-allocation").start(task));
    }

    private CompiledStage stage(int[] shape) {
        return stages.computeIfAbsent(Arrays.toString(shape), k -> CompiledStage.compile(backend, chunkGraph(shape)));
    }

    /**
     * The graph that decodes one chunk of latent frames {@code shape} = [n, C, h, w] (F32 in, F32 images out): what
     * {@link #decodeFrames} compiles for chunks of that shape, for a caller that builds the plan elsewhere (ahead, on
     * another thread) and hands it over with {@link #adopt}.
     */
    public TaskGraph chunkGraph(int... shape) {
        requireChunkShape(shape);
        TaskGraph g = new TaskGraph(graphName + "_" + shape[0] + "x" + shape[2] + "x" + shape[3], activation);
        Value z = g.input(AutoencoderKL.INPUT_LATENTS, DType.F32, shape);
        // F32 on the device: the host read is then a plain copy (a host-side fp16 conversion of 2.7 M
        // values per 704x1280 frame cost more than the frame's GPU time)
        g.output(AutoencoderKL.OUTPUT_IMAGE, VaeBlocks.cast(g, decodeChunk(g, VaeBlocks.cast(g, z, activation)), DType.F32));
        return g;
    }

    /**
     * The chunk shapes {@link #decodeFrames} compiles for {@code frames} latent frames of [C, h, w] in chunks of
     * {@code chunkSize} (null = all at once): the full chunk, then the shorter last one if any.
     */
    public static java.util.List<int[]> chunkShapes(int frames, int channels, int h, int w, Integer chunkSize) {
        int chunk = chunkSize == null ? frames : Math.min(chunkSize, frames);
        if (frames < 1 || chunk < 1) return java.util.List.of();
        java.util.List<int[]> shapes = new java.util.ArrayList<>(java.util.List.of(new int[]{chunk, channels, h, w}));
        if (frames % chunk != 0) shapes.add(new int[]{frames % chunk, channels, h, w});
        return shapes;
    }

    /**
     * Takes {@code plan}, compiled from {@link #chunkGraph} for its input's shape, as the plan of that chunk shape: this
     * decoder owns it from here on (closes it with the others). Refused (the plan is closed) when the shape has a plan
     * already or the plan is not a chunk graph of this decoder.
     */
    public void adopt(dev.i2vgen.backend.ExecutionPlan plan) {
        try {
            var in = plan.graph().inputs().get(AutoencoderKL.INPUT_LATENTS);
            if (plan.graph().inputs().size() != 1 || in == null || !plan.graph().name().startsWith(graphName + "_")) {
                throw new IllegalArgumentException("VAE decode: plan of graph '" + plan.graph().name() + "' is not a chunk graph of "
                        + graphName + " (inputs " + plan.graph().inputs().keySet() + ")");
            }
            int[] shape = in.shape();
            requireChunkShape(shape);
            if (stages.putIfAbsent(Arrays.toString(shape), CompiledStage.of(plan)) != null) {
                throw new IllegalStateException("VAE decode: chunk shape " + Arrays.toString(shape) + " has a plan already");
            }
        } catch (RuntimeException e) {
            plan.close();
            throw e;
        }
    }

    private static void requireChunkShape(int[] shape) {
        if (shape.length != 4) throw new IllegalArgumentException("VAE decode: a chunk of latent frames is [n, C, h, w], got " + Arrays.toString(shape));
    }

    @Override
    public void close() {
        stages.values().forEach(CompiledStage::close);
        stages.clear();
    }
}
