package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.tensor.DType;

/**
 * I2VGen-XL's UNet with classifier-free guidance as tasks of a graph, for every graph that asks it for a prediction
 * (the denoising step, I4VGen's NI-VSDS iteration): declares the conditioning inputs under the UNet's input names
 * (text states, fps, image latents, image embeddings: bound once per run) and the timestep [B], and predicts
 * u + g·(c − u) from one batched call on [x, x] (or the plain output without guidance).
 */
final class GuidedI2VGenUNet {
    private final I2VGenXLUNet unet;
    private final boolean guided;
    private final float guidance;
    private final Value timestep, text, fps, imageLatents, imageEmbeddings;

    /**
     * @param latentShape [b, C, F, h, w]
     * @param textLength  tokens per prompt (77)
     */
    GuidedI2VGenUNet(TaskGraph g, I2VGenXLUNet unet, int[] latentShape, int textLength, boolean guided, float guidance) {
        int b = latentShape[0], c = latentShape[1], f = latentShape[2], h = latentShape[3], w = latentShape[4];
        int batch = guided ? 2 * b : b, d = unet.config().crossAttentionDim();
        DType activation = g.activation();
        this.unet = unet;
        this.guided = guided;
        this.guidance = guidance;
        this.timestep = g.input(I2VGenXLUNet.TIMESTEP, DType.F32, batch);
        this.text = g.input(I2VGenXLUNet.ENCODER_HIDDEN_STATES, activation, batch, textLength, d);
        this.fps = g.input(I2VGenXLUNet.FPS, DType.F32, batch);
        this.imageLatents = g.input(I2VGenXLUNet.IMAGE_LATENTS, activation, batch, c, f, h, w);
        this.imageEmbeddings = g.input(I2VGenXLUNet.IMAGE_EMBEDDINGS, activation, batch, 1, d);
    }

    /** (unconditional, conditional) halves, as the text states are ordered. */
    Value batched(TaskGraph g, Value x) { return guided ? g.concat(0, x, x) : x; }

    /** The raw UNet output on {@code input} (already batched and scaled): [B, C, F, h, w]. */
    Value unetOutput(TaskGraph g, Value input) {
        try (var s = g.scope("unet")) {
            return unet.forward(g, input, timestep, text, fps, imageLatents, imageEmbeddings, false);
        }
    }

    /** Classifier-free guidance of a raw output: [b, C, F, h, w]. */
    Value guide(TaskGraph g, Value out) { return guided ? combine(g, out, guidance) : out; }

    /** u + g·(c − u) of a raw output [2b, C, F, h, w] holding (unconditional, conditional): [b, C, F, h, w]. */
    static Value combine(TaskGraph g, Value out, float guidance) { return g.cfgCombine(out, guidance); }

    boolean guided() { return guided; }
}
