package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.ImageTensors;
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

    /** 8-bit frames as diffusers' "pil" output, from the decoded video [1, 3, F, H, W]. */
    static List<RgbImage> toImages(Tensor video) {
        int f = video.dim(2), h = video.dim(3), w = video.dim(4);
        List<RgbImage> out = new ArrayList<>(f);
        for (int k = 0; k < f; k++) {
            out.add(ImageTensors.fromSignedUnitRange(video.slice(2, k, k + 1).contiguous().reshape(3, h, w)));
        }
        return out;
    }
}
