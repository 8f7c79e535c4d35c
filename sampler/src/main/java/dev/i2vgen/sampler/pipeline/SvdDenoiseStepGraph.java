package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.svd.SpatioTemporalUNet;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.sampler.scheduler.StepGraph;
import dev.i2vgen.tensor.DType;

/**
 * One whole Stable Video Diffusion denoising step as a single graph, so the loop stays on the backend: latents
 * x [b, F, 4, h, w] (loop-carried: {@link #NEXT_LATENTS} is copied back into {@link #LATENTS} between runs), [x, x]
 * when guidance is on, the scheduler's input scaling, the image latents concatenated on channels, the UNet, per-frame
 * guidance u + g_f·(c − u), and the scheduler's update ({@link StepGraph}; for the released Euler scheduler, diffusers'
 * float32 operations in their order in an fp32 graph). Bound once: the image latents, context and added time ids
 * (the UNet's input names) and the per-frame guidance; per step only the timestep [B] and the scheduler's inputs
 * (its numbers, noise where it draws some) move in; a multistep scheduler's history stays on the backend. The graph
 * also flags the first step whose new latents hold a NaN or ±Inf ({@link NonFiniteWatch}).
 */
record SvdDenoiseStepGraph(ImmutableTaskGraph graph, StepGraph scheduler, boolean guided) {
    static final String LATENTS = "latents", IMAGE_LATENTS = "image_latents", GUIDANCE = "guidance_per_frame";
    /** Outputs: the new latents; with intermediates also the raw UNet output and the guided model output. */
    static final String NEXT_LATENTS = "next_latents", UNET_OUT = "unet_out", MODEL_OUTPUT = "model_output";

    /**
     * @param latentShape         [b, F, C, h, w]
     * @param contextLength       tokens of the context (1: the CLIP image embedding)
     * @param scheduler           the scheduler, its timesteps set
     * @param exposeIntermediates also output {@link #UNET_OUT} and {@link #MODEL_OUTPUT} (conformance checks)
     */
    static SvdDenoiseStepGraph build(SpatioTemporalUNet unet, int[] latentShape, int contextLength, boolean guided,
                                     Scheduler scheduler, DType activation, boolean exposeIntermediates) {
        int b = latentShape[0], f = latentShape[1], c = latentShape[2], h = latentShape[3], w = latentShape[4];
        int batch = guided ? 2 * b : b;
        TaskGraph g = new TaskGraph("svd_denoise_step", activation);
        Value x = g.input(LATENTS, activation, b, f, c, h, w);
        Value imageLatents = g.input(IMAGE_LATENTS, activation, batch, f, c, h, w);
        Value timestep = g.input(SpatioTemporalUNet.TIMESTEP, DType.F32, batch);
        Value context = g.input(SpatioTemporalUNet.ENCODER_HIDDEN_STATES, activation, batch, contextLength, unet.config().contextDim());
        Value ids = g.input(SpatioTemporalUNet.ADDED_TIME_IDS, DType.F32, batch, 3);
        Value guidance = guided ? g.input(GUIDANCE, activation, 1, f, 1, 1, 1) : null;
        StepGraph update = scheduler.stepGraph(g, 0.0, latentShape);

        Value sample = update.scaleModelInput(g, guided ? g.concat(0, x, x) : x);   // (unconditional, conditional)
        Value out;
        try (var s = g.scope("unet")) {
            out = unet.forward(g, g.concat(2, sample, imageLatents), timestep, context, ids);
        }
        Value modelOutput = out;
        if (guided) {
            Value uncond = g.slice(out, 0, 0, b), cond = g.slice(out, 0, b, 2 * b);
            modelOutput = g.add(uncond, g.mul(guidance, g.sub(cond, uncond)));
        }
        Value next = g.output(NEXT_LATENTS, update.step(g, x, modelOutput));
        NonFiniteWatch.addTo(g, next);
        if (exposeIntermediates) {
            g.output(UNET_OUT, out);
            g.output(MODEL_OUTPUT, modelOutput);
        }
        return new SvdDenoiseStepGraph(g.freeze(), update, guided);
    }
}
