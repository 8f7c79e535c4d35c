package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.jcodec.codecs.h264.H264Encoder;
import org.jcodec.common.model.Picture;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Compiles jcodec's H.264 encoder before the first real frame: in a fresh process its first frames run interpreted
 * and cost ~0.2 s each at 1280×704 (an IDR ~0.25 s) against ~0.05 s once the JIT has compiled them, so the frames of a
 * video arriving right after the pipeline's last step would be encoded at the slow speed while everything else waits
 * (1.3–1.5 s after the last frame on the H100 machine, issue 17). Throwaway frames of the video's size (moving,
 * textured, noisy: the intra, motion-search and entropy paths the real ones take) are encoded by a few throwaway
 * encoders on a low-priority daemon thread of its own while the GPU is still denoising. Once per process: the compiled
 * code is shared. {@code -Di2vgen.video.warmUp=false} turns it off (A/B runs).
 */
final class Mp4EncoderWarmUp {
    /**
     * Encoders (each starts with an IDR frame, which takes the intra paths) and frames each (the rest P frames). The
     * JIT needs about 30 frames: after 12 (three encoders of four, session 10) the next frames still took 141 ms each
     * here against 147 ms cold, after 32 they took 48 ms (1280×704, 2 cores; the warm-up itself 3.8 s, while the GPU denoises).
     */
    static final int ENCODERS = 4, FRAMES_EACH = 8;
    private static final AtomicBoolean STARTED = new AtomicBoolean();

    private Mp4EncoderWarmUp() {}

    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.video.warmUp")); }

    /** Starts the warm-up unless it has started before (or is switched off); returns at once. */
    static void startOnce(int width, int height) {
        if (!enabledByProperty() || !STARTED.compareAndSet(false, true)) return;
        Thread.ofPlatform().daemon().priority(Thread.MIN_PRIORITY).name("mp4-encoder-warm-up").start(() -> encodeThrowaway(width, height));
    }

    /** Encodes the throwaway frames and drops them; any failure is ignored (the real frames raise their own). */
    static void encodeThrowaway(int width, int height) {
        try {
            for (int e = 0; e < ENCODERS; e++) {
                H264Encoder encoder = H264Encoder.createH264Encoder();
                for (int f = 0; f < FRAMES_EACH; f++) {
                    Picture picture = LimitedRangeYuv.toPicture(syntheticFrame(width, height, e * FRAMES_EACH + f));
                    encoder.encodeFrame(picture, ByteBuffer.allocate(encoder.estimateBufferSize(picture)));
                }
            }
        } catch (RuntimeException ignored) {
            // a warm-up only: the video's own frames go through the same code and report their own failures
        }
    }

    /** A diagonal texture shifted by {@code index} pixels a frame, with noise: neither flat nor pure noise. */
    static RgbImage syntheticFrame(int width, int height, int index) {
        byte[] rgb = new byte[width * height * 3];
        SplittableRandom noise = new SplittableRandom(index);
        for (int y = 0, i = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int base = ((x + 2 * index) * 3 + y * 2) & 255;
                for (int c = 0; c < 3; c++) rgb[i++] = (byte) Math.clamp(base + 40 * c - 40 + noise.nextInt(24), 0, 255);
            }
        }
        return RgbImage.of(width, height, rgb);
    }
}
