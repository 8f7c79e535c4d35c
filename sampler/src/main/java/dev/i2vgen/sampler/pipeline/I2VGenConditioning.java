package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.tensor.Tensor;

/**
 * What conditions every I2VGen-XL UNet call of a run, made once: text states [B, 77, D], fps [B], image latents
 * [B, C, F, h, w] and image embeddings [B, 1, D] (B = 2 with guidance: unconditional half first).
 */
record I2VGenConditioning(Tensor text, Tensor fps, Tensor imageLatents, Tensor imageEmbeddings) {

    /** Binds them to a plan's inputs of the UNet's names ({@link GuidedI2VGenUNet}), resident for every run. */
    void bindTo(ExecutionPlan plan) {
        plan.bind(I2VGenXLUNet.ENCODER_HIDDEN_STATES, text);
        plan.bind(I2VGenXLUNet.FPS, fps);
        plan.bind(I2VGenXLUNet.IMAGE_LATENTS, imageLatents);
        plan.bind(I2VGenXLUNet.IMAGE_EMBEDDINGS, imageEmbeddings);
    }

    int batch() { return text.dim(0); }

    /** Batch item {@code i} of every tensor (CFG-parallel: 0 the unconditional half, 1 the conditional one). */
    I2VGenConditioning half(int i) {
        return new I2VGenConditioning(item(text, i), item(fps, i), item(imageLatents, i), item(imageEmbeddings, i));
    }

    private static Tensor item(Tensor t, int i) { return t.slice(0, i, i + 1).contiguous(); }

    int textLength() { return text.dim(1); }

    /** I4VGen's static video: the image's latent (frame 0 of the first batch item) repeated over the F frames. */
    Tensor staticVideo() {
        int c = imageLatents.dim(1), f = imageLatents.dim(2), h = imageLatents.dim(3), w = imageLatents.dim(4), plane = h * w;
        float[] all = imageLatents.toFloatArray(), out = new float[c * f * plane];
        for (int ch = 0; ch < c; ch++) {
            for (int k = 0; k < f; k++) System.arraycopy(all, ch * f * plane, out, (ch * f + k) * plane, plane);
        }
        return Tensor.fromFloats(out, 1, c, f, h, w);
    }
}
