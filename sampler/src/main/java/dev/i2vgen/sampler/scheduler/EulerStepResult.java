package dev.i2vgen.sampler.scheduler;

/**
 * The result of one Euler step.
 *
 * @param prevSample         the sample at the next sigma (the next model input before scaling)
 * @param predOriginalSample the denoised estimate x0 that the step moved towards
 */
public record EulerStepResult(float[] prevSample, float[] predOriginalSample) {}
