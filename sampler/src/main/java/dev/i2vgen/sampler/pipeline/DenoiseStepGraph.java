package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.sampler.scheduler.StepGraph;
import dev.i2vgen.tensor.DType;

/**
 * One whole denoising step as a single graph, so the loop stays on the backend: latents x [b, C, F, h, w]
 * (loop-carried: {@link #NEXT_LATENTS} is copied back into {@link #LATENTS} between runs), the scheduler's input
 * scaling of [x, x] (guidance on) or x, the UNet, classifier-free guidance, and the scheduler's update
 * ({@link StepGraph}) in diffusers' frames-as-batch layout [b·F, C, h, w]. Inputs that do not change between steps
 * (text states, fps, image latents, image embeddings; the UNet's input names) are bound once; per step only the
 * timestep [B] and the scheduler's inputs (its numbers, noise where it draws some) move in, F32 (narrowed on the
 * backend); a multistep scheduler's history stays on the backend. The latents are stored in the activation dtype,
 * as the UNet input is. The graph also flags the first step whose new latents hold a NaN or ±Inf ({@link NonFiniteWatch}).
 */
record DenoiseStepGraph(ImmutableTaskGraph graph, StepGraph scheduler, boolean guided) {
    static final String LATENTS = "latents";
    /** Outputs: the new latents [b, C, F, h, w]; with intermediates also the raw UNet output and the guided model output [b·F, C, h, w]. */
    static final String NEXT_LATENTS = "next_latents", UNET_OUT = "unet_out", MODEL_OUTPUT = "model_output";

    /**
     * @param latentShape          [b, C, F, h, w]
     * @param textLength           tokens per prompt (77)
     * @param guidance             the guidance scale; CFG is on when {@code guided}
     * @param scheduler            the scheduler, its timesteps set
     * @param eta                  DDIM's η (ignored by other schedulers, as diffusers does)
     * @param exposeIntermediates  also output {@link #UNET_OUT} and {@link #MODEL_OUTPUT} (conformance checks)
     */
    static DenoiseStepGraph build(I2VGenXLUNet unet, int[] latentShape, int textLength, boolean guided, float guidance,
                                  Scheduler scheduler, double eta, DType activation, boolean exposeIntermediates) {
        int b = latentShape[0], c = latentShape[1], f = latentShape[2], h = latentShape[3], w = latentShape[4];
        TaskGraph g = new TaskGraph("denoise_step", activation);
        Value x = g.input(LATENTS, activation, b, c, f, h, w);
        GuidedI2VGenUNet model = new GuidedI2VGenUNet(g, unet, latentShape, textLength, guided, guidance);
        StepGraph step = scheduler.stepGraph(g, eta, b * f, c, h, w);

        // the scaling is by scalars, so it applies to the batched input as to x
        Value out = model.unetOutput(g, step.scaleModelInput(g, model.batched(g, x)));
        update(g, step, x, out, model.guide(g, out), exposeIntermediates);
        return new DenoiseStepGraph(g.freeze(), step, guided);
    }

    /**
     * The same step cut in two for CFG-parallel (guidance on): the UNet on one half of the guidance batch (batch b,
     * that half's conditioning under the UNet's input names, the timestep [b]), and the guidance and update from the
     * two halves' outputs (see {@link CfgParallelGraphs}); the same operations as {@link #build}'s, in its order.
     */
    static CfgParallelGraphs buildCfgParallel(I2VGenXLUNet unet, int[] latentShape, int textLength, float guidance,
                                              Scheduler scheduler, double eta, DType activation, boolean exposeIntermediates) {
        int b = latentShape[0], c = latentShape[1], f = latentShape[2], h = latentShape[3], w = latentShape[4];
        TaskGraph m = new TaskGraph("denoise_half", activation), u = new TaskGraph("denoise_update", activation);
        StepGraph step = scheduler.stepGraph(u, eta, b * f, c, h, w);
        Value x = m.input(CfgParallelGraphs.LATENTS, activation, b, c, f, h, w);
        GuidedI2VGenUNet half = new GuidedI2VGenUNet(m, unet, latentShape, textLength, false, 0f);
        Value halfOut = m.output(CfgParallelGraphs.HALF_OUTPUT, half.unetOutput(m, step.scaleModelInputApart(m, x)));

        Value[] halves = CfgParallelGraphs.halfInputs(u, halfOut);
        Value out = u.concat(0, halves[0], halves[1]);
        update(u, step, u.input(CfgParallelGraphs.LATENTS, activation, b, c, f, h, w), out, GuidedI2VGenUNet.combine(u, out, guidance),
                exposeIntermediates);
        return new CfgParallelGraphs(m.freeze(), u.freeze(), step);
    }

    /** The guided prediction's scheduler update of x, its outputs and the non-finite flag. */
    private static void update(TaskGraph g, StepGraph step, Value x, Value out, Value prediction, boolean exposeIntermediates) {
        int b = x.dim(0), c = x.dim(1), f = x.dim(2), h = x.dim(3), w = x.dim(4);
        Value modelOutput = framesToBatch(g, prediction);
        Value prev = step.step(g, framesToBatch(g, x), modelOutput);
        Value next = g.permute(g.reshape(prev, b, f, c, h, w), 0, 2, 1, 3, 4);
        g.output(NEXT_LATENTS, next);
        NonFiniteWatch.addTo(g, next);
        if (exposeIntermediates) {
            g.output(UNET_OUT, out);
            g.output(MODEL_OUTPUT, modelOutput);
        }
    }

    /** [b, C, F, h, w] → [b·F, C, h, w]: diffusers permutes before the scheduler step. */
    static Value framesToBatch(TaskGraph g, Value v) {
        int b = v.dim(0), c = v.dim(1), f = v.dim(2), h = v.dim(3), w = v.dim(4);
        return g.reshape(g.permute(v, 0, 2, 1, 3, 4), b * f, c, h, w);
    }
}
