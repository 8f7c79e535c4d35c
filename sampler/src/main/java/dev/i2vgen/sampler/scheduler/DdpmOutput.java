package dev.i2vgen.sampler.scheduler;

/**
 * The result of one DDPM step.
 *
 * @param prevSample         x_{t−1}, the next model input
 * @param predOriginalSample the predicted clean sample x0 (after clipping / thresholding)
 */
public record DdpmOutput(float[] prevSample, float[] predOriginalSample) {}
