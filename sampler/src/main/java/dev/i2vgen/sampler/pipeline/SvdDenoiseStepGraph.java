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
        Value modelOutput = guided ? guide(g, g.slice(out, 0, 0, b), g.slice(out, 0, b, 2 * b), guidance) : out;
        step(g, update, x, out, modelOutput, exposeIntermediates);
        return new SvdDenoiseStepGraph(g.freeze(), update, guided);
    }

    /**
     * The same step cut in two for CFG-parallel (guidance on): the UNet on one half of the guidance batch (batch b,
     * that half's image latents, context and added time ids under the usual input names, the timestep [b]), and the
     * per-frame guidance and update from the two halves' outputs (see {@link CfgParallelGraphs}); the same operations
     * as {@link #build}'s, in its order.
     */
    static CfgParallelGraphs buildCfgParallel(SpatioTemporalUNet unet, int[] latentShape, int contextLength, Scheduler scheduler,
                                              DType activation, boolean exposeIntermediates) {
        int b = latentShape[0], f = latentShape[1], c = latentShape[2], h = latentShape[3], w = latentShape[4];
        TaskGraph m = new TaskGraph("svd_denoise_half", activation), u = new TaskGraph("svd_denoise_update", activation);
        StepGraph update = scheduler.stepGraph(u, 0.0, latentShape);
        Value x = m.input(CfgParallelGraphs.LATENTS, activation, b, f, c, h, w);
        Value imageLatents = m.input(IMAGE_LATENTS, activation, b, f, c, h, w);
        Value timestep = m.input(SpatioTemporalUNet.TIMESTEP, DType.F32, b);
        Value context = m.input(SpatioTemporalUNet.ENCODER_HIDDEN_STATES, activation, b, contextLength, unet.config().contextDim());
        Value ids = m.input(SpatioTemporalUNet.ADDED_TIME_IDS, DType.F32, b, 3);
        Value halfOut;
        try (var s = m.scope("unet")) {
            halfOut = unet.forward(m, m.concat(2, update.scaleModelInputApart(m, x), imageLatents), timestep, context, ids);
        }
        m.output(CfgParallelGraphs.HALF_OUTPUT, halfOut);

        Value[] halves = CfgParallelGraphs.halfInputs(u, halfOut);
        Value guidance = u.input(GUIDANCE, activation, 1, f, 1, 1, 1);
        Value modelOutput = guide(u, halves[0], halves[1], guidance);
        Value out = exposeIntermediates ? u.concat(0, halves[0], halves[1]) : null;
        step(u, update, u.input(CfgParallelGraphs.LATENTS, activation, b, f, c, h, w), out, modelOutput, exposeIntermediates);
        return new CfgParallelGraphs(m.freeze(), u.freeze(), update);
    }

    /** Per-frame classifier-free guidance u + g_f·(c − u). */
    private static Value guide(TaskGraph g, Value uncond, Value cond, Value guidance) {
        return g.add(uncond, g.mul(guidance, g.sub(cond, uncond)));
    }

    /** The scheduler's update of x, its outputs and the non-finite flag. */
    private static void step(TaskGraph g, StepGraph update, Value x, Value out, Value modelOutput, boolean exposeIntermediates) {
        Value next = g.output(NEXT_LATENTS, update.step(g, x, modelOutput));
        NonFiniteWatch.addTo(g, next);
        if (exposeIntermediates) {
            g.output(UNET_OUT, out);
            g.output(MODEL_OUTPUT, modelOutput);
        }
    }
}
