package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.model.vae.ChunkedFrameDecoder;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Decoded frames in about [−1, 1] → y = clamp(x/2 + 0.5, 0, 1) as float frames [F, H, W, 3], and 8-bit frames
 * uint8 = round-half-even(255·y) as diffusers' "pil" output: for a whole decoded video, or chunk by chunk as the
 * decoder hands frames over ({@link Streamed}), with the same values either way.
 */
final class FramePostprocessor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FramePostprocessor() {}

    /** Both outputs of one generation. */
    record Frames(List<RgbImage> images, Tensor floats) {}

    /** From the decoder's frame-major output [F, 3, H, W]. */
    static Frames fromFrameMajor(Tensor frames) {
        Streamed all = new Streamed(Streamed.NO_FRAME_LISTENER, rows -> {});
        return all.frames(frames);
    }

    /** The decoded video in diffusers' layout [1, 3, F, H, W] → the same two outputs. */
    static Frames fromVideo(Tensor video) {
        if (video.rank() != 5 || video.dim(0) != 1) {
            throw new IllegalArgumentException("video must be [1, 3, F, H, W], got " + Arrays.toString(video.shape()));
        }
        return fromFrameMajor(video.reshape(video.dim(1), video.dim(2), video.dim(3), video.dim(4)).permute(1, 0, 2, 3));
    }

    /** 8-bit frames from the decoded video [1, 3, F, H, W]. */
    static List<RgbImage> toImages(Tensor video) { return fromVideo(video).images(); }

    /** Float frames [F, H, W, 3] in [0, 1] from the decoded video [1, 3, F, H, W]. */
    static Tensor toFloatFrames(Tensor video) { return fromVideo(video).floats(); }

    /** Receives each 8-bit frame once it is final: index, total, frame. */
    @FunctionalInterface
    interface FrameListener {
        void frame(int index, int total, RgbImage frame);
    }

    /**
     * The post-processing of a video whose frames arrive in order from the decode loop
     * ({@link ChunkedFrameDecoder.DecodedFrames}): each chunk's rows are checked ({@code check}, the pipeline's
     * non-finite check), converted (rows of the chunk in parallel) and told to {@code listener} frame by frame, so a
     * video encoder can start on frame 0 while the backend decodes frame 1. {@link #frames} completes the outputs.
     */
    static final class Streamed implements ChunkedFrameDecoder.DecodedFrames {
        static final FrameListener NO_FRAME_LISTENER = (index, total, frame) -> {};

        private final FrameListener listener;
        private final Consumer<Tensor> check;
        private int count = -1, height, width;
        private float[] floats;
        private RgbImage[] images;
        private int done;

        Streamed(FrameListener listener, Consumer<Tensor> check) {
            this.listener = listener;
            this.check = check;
        }

        @Override
        public void ready(Tensor frames, int from, int to) {
            if (count < 0) start(frames);
            else if (frames.dim(0) != count) throw new IllegalArgumentException("frames of another video: " + Arrays.toString(frames.shape()));
            if (from != done || to <= from || to > count) {
                throw new IllegalStateException("decoded frames [" + from + ", " + to + ") out of order: " + done + " of " + count + " done");
            }
            Tensor rows = frames.slice(0, from, to);
            check.accept(rows);
            convert(rows.dtype() == DType.F32 && rows.isContiguous() ? rows : rows.to(DType.F32), from, to);
            done = to;
            for (int k = from; k < to; k++) listener.frame(k, count, images[k]);
        }

        /** The outputs for the decoder's result [F, 3, H, W]; rows it never handed over are converted now. */
        Frames frames(Tensor decoded) {
            if (decoded == null) throw new IllegalArgumentException("no decoded frames");
            if (count < 0) start(decoded);
            if (done < count) ready(decoded, done, count);
            return new Frames(List.of(images), Tensor.fromFloats(floats, count, height, width, 3));
        }

        private void start(Tensor frames) {
            int[] s = frames.shape();
            if (s.length != 4 || s[1] != 3) throw new IllegalArgumentException("frames must be [F, 3, H, W], got " + Arrays.toString(s));
            count = s[0];
            height = s[2];
            width = s[3];
            floats = new float[Math.multiplyExact(Math.multiplyExact(count, height * width), 3)];
            images = new RgbImage[count];
        }

        /** Rows [from, to) of the video, given as a contiguous F32 tensor of those rows, each image row in parallel. */
        private void convert(Tensor rows, int from, int to) {
            int h = height, w = width, plane = h * w;
            MemorySegment v = rows.contiguousSegment();
            byte[][] rgb = new byte[to - from][plane * 3];
            IntStream.range(0, (to - from) * h).parallel().forEach(r -> {
                int k = r / h, y = r % h;
                byte[] out = rgb[k];
                int base = (from + k) * plane * 3;
                for (int p = y * w; p < (y + 1) * w; p++) {
                    for (int ch = 0; ch < 3; ch++) {
                        float x = v.getAtIndex(F32, ((long) k * 3 + ch) * plane + p);
                        float yv = x * 0.5f + 0.5f;                   // = x/2 + 0.5 exactly
                        float unit = Math.min(Math.max(yv, 0f), 1f);  // NaN stays NaN here, as torch.clamp keeps it ...
                        floats[base + p * 3 + ch] = unit;
                        out[p * 3 + ch] = (byte) (Float.isNaN(yv) ? 0 : (int) Math.rint(unit * 255f));   // ... and uint8 makes it 0
                    }
                }
            });
            for (int k = from; k < to; k++) images[k] = RgbImage.of(w, h, rgb[k - from]);
        }
    }
}
