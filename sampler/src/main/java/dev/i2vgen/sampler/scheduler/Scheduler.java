package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

/**
 * A diffusers scheduler, whichever one runs: what a sampling loop calls. On the host it computes in float32 as
 * diffusers does: call {@link #setTimesteps}, then for i = 0, 1, … {@link #scaleModelInput} and {@link #step} in
 * order (multistep schedulers keep their history between steps; {@code setTimesteps} clears it). Pipelines put the
 * same update into their denoising-step graph with {@link #stepGraph}, so it runs on the device.
 */
public interface Scheduler {
    /** diffusers' class name, e.g. "DPMSolverMultistepScheduler". */
    String className();

    /** {@code set_timesteps(num_inference_steps)}; resets the step index and any multistep history. */
    Scheduler setTimesteps(int numInferenceSteps);

    /** The timesteps the model receives, in sampling order ({@code scheduler.timesteps} as float32 values). */
    float[] timesteps();

    /** {@code init_noise_sigma}: the initial latents are standard normal noise times this. */
    float initNoiseSigma();

    /** {@code scale_model_input(sample, timesteps[stepIndex])} (the sample itself where the scheduler does not scale). */
    float[] scaleModelInput(float[] sample, int stepIndex);

    /**
     * {@code step(model_output, timesteps[stepIndex], sample, generator=…).prev_sample}; a stochastic scheduler draws
     * its noise from {@code generator} in diffusers' order (null only for deterministic configurations).
     */
    float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator);

    /**
     * {@link #step(float[], int, float[], TorchGenerator)} for a sample of this shape ([batch, channels, …]: dynamic
     * thresholding works per batch item), with DDIM's η where the scheduler takes one ({@link #acceptsEta}).
     */
    default float[] step(float[] modelOutput, int stepIndex, float[] sample, int[] sampleShape, double eta,
                         TorchGenerator generator) {
        return step(modelOutput, stepIndex, sample, generator);
    }

    /**
     * Whether the step takes diffusers' {@code eta} (DDIM): pipelines pass their η only to such schedulers, as
     * diffusers' {@code prepare_extra_step_kwargs} does.
     */
    default boolean acceptsEta() { return false; }

    /**
     * Whether diffusers finds this scheduler's first step from its timestep ({@code _init_step_index} with
     * {@code index_for_timestep}, which takes the second occurrence of a repeated timestep): such a schedule that
     * starts with a repeated timestep makes diffusers skip a step and fail at the end, so runs refuse it.
     */
    default boolean locatesFirstStepByTimestep() { return false; }

    /**
     * Whether {@link #stepGraph} can express this configuration; where not (dynamic thresholding takes a quantile per
     * batch item), pipelines step on the host with {@link #step(float[], int, float[], int[], double, TorchGenerator)}.
     */
    default boolean stepsOnDevice() { return true; }

    /**
     * This scheduler's update for the current schedule as tasks of {@code g}: declares its inputs there. Call after
     * {@link #setTimesteps}; the result reads the scheduler's schedule, not its host-side step state.
     *
     * @param eta         DDIM's η (ignored by schedulers that take none)
     * @param sampleShape the shape of the sample and model output the step sees (diffusers' layout for the pipeline)
     * @throws UnsupportedOperationException where {@link #stepsOnDevice} is false
     */
    StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape);
}
