package dev.i2vgen.io.image;

import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;

/**
 * Conversions between {@link RgbImage} and the pipeline's float32 image tensors {@code [1,3,H,W]}
 * (channel order R,G,B), with the same float32 arithmetic as diffusers / numpy so results match
 * the reference bit for bit.
 */
public final class ImageTensors {
    private ImageTensors() {}

    /** {@code [1,3,H,W]} with {@code v/255} in [0,1] (the CLIP input before mean/std normalisation). */
    public static Tensor toUnitRange(RgbImage image) {
        return toTensor(image, false);
    }

    /** {@code [1,3,H,W]} with {@code 2·(v/255) − 1} in [−1,1] (the VAE encoder input). */
    public static Tensor toSignedUnitRange(RgbImage image) {
        return toTensor(image, true);
    }

    /**
     * A decoded frame {@code [3,H,W]} or {@code [1,3,H,W]} in [−1,1] → 8-bit RGB as diffusers'
     * post-processing: {@code clamp(x/2 + 0.5, 0, 1)·255}, rounded half to even.
     */
    public static RgbImage fromSignedUnitRange(Tensor frame) {
        return fromTensor(frame, true);
    }

    /** A frame {@code [3,H,W]} or {@code [1,3,H,W]} in [0,1] → 8-bit RGB: {@code clamp(x,0,1)·255}, rounded half to even. */
    public static RgbImage fromUnitRange(Tensor frame) {
        return fromTensor(frame, false);
    }

    private static Tensor toTensor(RgbImage image, boolean signed) {
        int w = image.width(), h = image.height(), plane = w * h;
        byte[] rgb = image.data();
        float[] out = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float x = (rgb[p * 3 + c] & 0xFF) / 255.0f;
                out[c * plane + p] = signed ? 2.0f * x - 1.0f : x;
            }
        }
        return Tensor.fromFloats(out, 1, 3, h, w);
    }

    private static RgbImage fromTensor(Tensor frame, boolean signed) {
        int[] s = frame.shape();
        boolean ok = (s.length == 3 && s[0] == 3) || (s.length == 4 && s[0] == 1 && s[1] == 3);
        if (!ok) {
            throw new IllegalArgumentException("frame tensor must have shape [3,H,W] or [1,3,H,W], got " + Arrays.toString(s));
        }
        int h = s[s.length - 2], w = s[s.length - 1], plane = w * h;
        float[] v = frame.toFloatArray();
        byte[] rgb = new byte[3 * plane];
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < plane; p++) {
                float x = v[c * plane + p];
                if (signed) x = x / 2.0f + 0.5f;
                // NaN would survive min/max; map it to 0 (torch.clamp keeps NaN, numpy's uint8 cast then gives 0 too).
                x = Float.isNaN(x) ? 0.0f : Math.min(Math.max(x, 0.0f), 1.0f);
                rgb[p * 3 + c] = (byte) (int) Math.rint(x * 255.0f);
            }
        }
        return RgbImage.adopt(w, h, rgb);
    }
}
