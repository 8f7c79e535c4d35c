package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.tensor.Tensor;

/**
 * The UNet's image-latent input: frame 0 is the VAE latent of the input image (× scaling factor),
 * frame k ≥ 1 is the constant k/(F−1) on every channel and pixel (the frame-position mask).
 */
final class ImageLatentConditioning {
    private ImageLatentConditioning() {}

    /** z[1, C, h, w] (already scaled) → [1, C, F, h, w]. */
    static Tensor build(Tensor z, int frames) {
        int c = z.dim(1), h = z.dim(2), w = z.dim(3);
        float[] src = z.toFloatArray();
        float[] out = new float[c * frames * h * w];
        int plane = h * w;
        for (int ch = 0; ch < c; ch++) {
            System.arraycopy(src, ch * plane, out, (ch * frames) * plane, plane);
            for (int k = 1; k < frames; k++) {
                java.util.Arrays.fill(out, (ch * frames + k) * plane, (ch * frames + k + 1) * plane, (float) k / (frames - 1));
            }
        }
        return Tensor.fromFloats(out, 1, c, frames, h, w);
    }
}
