package dev.i2vgen.sampler.scheduler;

/**
 * The result of one LCM step.
 *
 * @param prevSample the next model input: the denoised sample re-noised to the next timestep (the denoised sample
 *                   itself after the last step)
 * @param denoised   the consistency model's estimate c_skip·x_t + c_out·x0 of the clean sample
 */
public record LcmOutput(float[] prevSample, float[] denoised) {}
