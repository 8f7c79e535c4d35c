package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.scheduler.StepGraph;

/**
 * A guided denoising step cut in two for CFG-parallel ({@link CfgParallelLoop}), the same two graphs for both devices:
 * <ul>
 *   <li>{@link #halfModel}: the model on one half of the guidance batch (batch b): inputs {@link #LATENTS}, the
 *       scheduler's input scaling (declared by {@link StepGraph#scaleModelInputApart}), the timestep and the model's
 *       conditioning under its own input names, bound per device (the unconditional half on the first, the conditional
 *       half on the second); output {@link #HALF_OUTPUT};</li>
 *   <li>{@link #guidedUpdate}: inputs {@link #LATENTS}, {@link #UNCOND} and {@link #COND} (the two halves' outputs, one
 *       computed here and one received), the scheduler's inputs and whatever the guidance reads; it concatenates the
 *       halves in the one-device graph's order, guides and steps exactly as the one-device step graph does, and outputs
 *       {@link #NEXT_LATENTS} with the non-finite flag ({@link NonFiniteWatch}); with intermediates also {@link #UNET_OUT}
 *       (both halves, [uncond, cond]) and {@link #MODEL_OUTPUT}, under the one-device graph's names.</li>
 * </ul>
 * Each device runs both with the same numbers, so their latents stay identical and only the model output crosses.
 */
record CfgParallelGraphs(ImmutableTaskGraph halfModel, ImmutableTaskGraph guidedUpdate, StepGraph scheduler) {
    static final String LATENTS = DenoiseStepGraph.LATENTS, NEXT_LATENTS = DenoiseStepGraph.NEXT_LATENTS,
            UNET_OUT = DenoiseStepGraph.UNET_OUT, MODEL_OUTPUT = DenoiseStepGraph.MODEL_OUTPUT;
    static final String HALF_OUTPUT = "half_out", UNCOND = "uncond_out", COND = "cond_out";

    /** The update graph's inputs for the two halves, shaped and typed as the model's output {@code half}. */
    static Value[] halfInputs(TaskGraph update, Value half) {
        return new Value[]{update.input(UNCOND, half.dtype(), half.shape()), update.input(COND, half.dtype(), half.shape())};
    }
}
