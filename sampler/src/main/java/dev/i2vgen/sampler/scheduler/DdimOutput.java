package dev.i2vgen.sampler.scheduler;

/**
 * The result of one DDIM step.
 *
 * @param prevSample          x_{t−1}, the next model input
 * @param predOriginalSample  the predicted clean sample x0 (after clipping / thresholding)
 */
public record DdimOutput(float[] prevSample, float[] predOriginalSample) {}
