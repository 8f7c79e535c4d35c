package dev.i2vgen.sampler.scheduler;

/**
 * The consistency-model boundary condition of LCM at a discrete timestep t, with s = t·timestep_scaling and
 * σ_data = 0.5: c_skip = σ_data²/(s² + σ_data²) and c_out = s/√(s² + σ_data²), so that c_skip = 1, c_out = 0 at t = 0.
 *
 * @param cSkip weight of the noisy sample x_t
 * @param cOut  weight of the predicted x0
 */
public record LcmBoundaryScalings(float cSkip, float cOut) {}
