package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Decoded frames in about [−1, 1] → y = clamp(x/2 + 0.5, 0, 1) as float frames [F, H, W, 3], and 8-bit frames
 * uint8 = round-half-even(255·y) as diffusers' "pil" output.
 */
final class FramePostprocessor {
    private FramePostprocessor() {}

    /** Both outputs of one generation. */
    record Frames(List<RgbImage> images, Tensor floats) {}

    /**
     * From the decoder's frame-major output [F, 3, H, W] (contiguous): each frame is read once, in place, frames in
     * parallel (a 16 × 704 × 1280 video is 43 M values; permuted copies of it took seconds).
     */
    static Frames fromFrameMajor(Tensor frames) {
        int[] s = frames.shape();
        if (s.length != 4 || s[1] != 3) throw new IllegalArgumentException("frames must be [F, 3, H, W], got " + Arrays.toString(s));
        Tensor c = frames.contiguous();
        int f = s[0], h = s[2], w = s[3], plane = h * w;
        float[] floats = new float[f * plane * 3];
        RgbImage[] images = new RgbImage[f];
        IntStream.range(0, f).parallel().forEach(k -> {
            float[] v = c.slice(0, k, k + 1).toFloatArray();   // a contiguous view [1, 3, H, W]
            byte[] rgb = new byte[plane * 3];
            int base = k * plane * 3;
            for (int p = 0; p < plane; p++) {
                for (int ch = 0; ch < 3; ch++) {
                    float y = v[ch * plane + p] * 0.5f + 0.5f;   // = x/2 + 0.5 exactly
                    float unit = Math.min(Math.max(y, 0f), 1f);  // NaN stays NaN here, as torch.clamp keeps it ...
                    floats[base + p * 3 + ch] = unit;
                    rgb[p * 3 + ch] = (byte) (Float.isNaN(y) ? 0 : (int) Math.rint(unit * 255f));   // ... and uint8 makes it 0
                }
            }
            images[k] = RgbImage.of(w, h, rgb);
        });
        return new Frames(List.of(images), Tensor.fromFloats(floats, f, h, w, 3));
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
}
