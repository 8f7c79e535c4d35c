package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Decoded video [1, 3, F, H, W] in about [−1, 1] → frames: y = clamp(x/2 + 0.5, 0, 1), uint8 = round-half-even(255·y). */
final class FramePostprocessor {
    private FramePostprocessor() {}

    /** Float frames [F, H, W, 3] in [0, 1]. */
    static Tensor toFloatFrames(Tensor video) {
        int f = video.dim(2), h = video.dim(3), w = video.dim(4);
        Tensor hwc = video.permute(0, 2, 3, 4, 1).contiguous(); // [1, F, H, W, 3]
        float[] v = hwc.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = Math.min(Math.max(v[i] * 0.5f + 0.5f, 0f), 1f);
        return Tensor.fromFloats(v, f, h, w, 3);
    }

    static List<RgbImage> toImages(Tensor floatFrames) {
        int f = floatFrames.dim(0), h = floatFrames.dim(1), w = floatFrames.dim(2);
        float[] v = floatFrames.toFloatArray();
        List<RgbImage> out = new ArrayList<>(f);
        int size = h * w * 3;
        for (int k = 0; k < f; k++) {
            byte[] rgb = new byte[size];
            for (int i = 0; i < size; i++) rgb[i] = (byte) (int) Math.rint(v[k * size + i] * 255f);
            out.add(RgbImage.of(w, h, rgb));
        }
        return out;
    }
}
