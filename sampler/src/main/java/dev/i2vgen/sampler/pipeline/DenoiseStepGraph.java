package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.tensor.DType;

/**
 * One whole denoising step as a single graph, so the loop stays on the backend: latents x [b, C, F, h, w]
 * (loop-carried: {@link #NEXT_LATENTS} is copied back into {@link #LATENTS} between runs), the UNet on
 * [x, x] when guidance is on, classifier-free guidance, and the DDIM update in the scheduler's frames-as-batch
 * layout [b·F, C, h, w]. Inputs that do not change between steps (text states, fps, image latents, image
 * embeddings; the UNet's input names) are bound once; per step only the timestep [B], the 7 DDIM coefficients
 * and, for η &gt; 0, the η-noise [b·F, C, h, w] move in, all F32 (narrowed on the backend).
 * The latents are stored in the activation dtype, as the UNet input is.
 */
record DenoiseStepGraph(ImmutableTaskGraph graph, boolean guided, boolean takesNoise) {
    static final String LATENTS = "latents", COEFFICIENTS = "ddim_coefficients", NOISE = "eta_noise";
    /** Outputs: the new latents [b, C, F, h, w]; with intermediates also the raw UNet output and the guided model output [b·F, C, h, w]. */
    static final String NEXT_LATENTS = "next_latents", UNET_OUT = "unet_out", MODEL_OUTPUT = "model_output";

    /**
     * @param latentShape          [b, C, F, h, w]
     * @param textLength           tokens per prompt (77)
     * @param guidance             the guidance scale; CFG is on when {@code guided}
     * @param takesNoise           whether the step adds η-noise (η &gt; 0)
     * @param exposeIntermediates  also output {@link #UNET_OUT} and {@link #MODEL_OUTPUT} (conformance checks)
     */
    static DenoiseStepGraph build(I2VGenXLUNet unet, int[] latentShape, int textLength, boolean guided, float guidance,
                                  boolean takesNoise, DType activation, boolean exposeIntermediates) {
        int b = latentShape[0], c = latentShape[1], f = latentShape[2], h = latentShape[3], w = latentShape[4];
        int batch = guided ? 2 * b : b, d = unet.config().crossAttentionDim();
        TaskGraph g = new TaskGraph("denoise_step", activation);
        Value x = g.input(LATENTS, activation, b, c, f, h, w);
        Value timestep = g.input(I2VGenXLUNet.TIMESTEP, DType.F32, batch);
        Value text = g.input(I2VGenXLUNet.ENCODER_HIDDEN_STATES, activation, batch, textLength, d);
        Value fps = g.input(I2VGenXLUNet.FPS, DType.F32, batch);
        Value imageLatents = g.input(I2VGenXLUNet.IMAGE_LATENTS, activation, batch, c, f, h, w);
        Value imageEmbeddings = g.input(I2VGenXLUNet.IMAGE_EMBEDDINGS, activation, batch, 1, d);
        Value coefficients = g.input(COEFFICIENTS, DType.F32, 7);
        Value noise = takesNoise ? g.input(NOISE, DType.F32, b * f, c, h, w) : null;

        Value sample = guided ? g.concat(0, x, x) : x;   // (unconditional, conditional) halves, as the text states
        Value out;
        try (var s = g.scope("unet")) {
            out = unet.forward(g, sample, timestep, text, fps, imageLatents, imageEmbeddings, false);
        }
        Value prediction = guided ? g.cfgCombine(out, guidance) : out;
        Value modelOutput = framesToBatch(g, prediction);
        Value prev = g.ddimStep(framesToBatch(g, x), modelOutput, coefficients, noise);
        Value next = g.permute(g.reshape(prev, b, f, c, h, w), 0, 2, 1, 3, 4);
        g.output(NEXT_LATENTS, next);
        if (exposeIntermediates) {
            g.output(UNET_OUT, out);
            g.output(MODEL_OUTPUT, modelOutput);
        }
        return new DenoiseStepGraph(g.freeze(), guided, takesNoise);
    }

    /** [b, C, F, h, w] → [b·F, C, h, w]: diffusers permutes before the scheduler step. */
    private static Value framesToBatch(TaskGraph g, Value v) {
        int b = v.dim(0), c = v.dim(1), f = v.dim(2), h = v.dim(3), w = v.dim(4);
        return g.reshape(g.permute(v, 0, 2, 1, 3, 4), b * f, c, h, w);
    }
}
