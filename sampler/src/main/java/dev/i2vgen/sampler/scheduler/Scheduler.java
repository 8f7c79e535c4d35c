package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.sampler.random.TorchGenerator;

/**
 * A diffusers scheduler on the host, computing in float32 as diffusers does: what a sampling loop calls, whichever
 * scheduler runs. Call {@link #setTimesteps}, then for i = 0, 1, … {@link #scaleModelInput} and {@link #step} in order
 * (multistep schedulers keep their history between steps; {@code setTimesteps} clears it).
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
}
