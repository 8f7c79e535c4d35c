package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.function.Supplier;

/**
 * Refuses a scheduler configuration whose own arithmetic breaks down: some option combinations make diffusers' step
 * divide by zero or multiply 0 by ∞ (UniPC's bh1 update onto σ = 0, DDPM's fixed_large_log variance, …), and diffusers
 * then returns NaN latents, i.e. a black video after the whole run. One run of the host scheduler over a few random
 * values finds that in microseconds, before any model work, whichever scheduler and option causes it.
 */
public final class FiniteScheduleCheck {
    private static final int PROBE = 16;

    private FiniteScheduleCheck() {}

    /**
     * Runs {@code steps} steps of a fresh scheduler from {@code make} on random samples and model outputs (standard
     * normal, the sample scaled by init_noise_sigma) and throws if any result is NaN or infinite.
     *
     * @param what named in the error (e.g. the scheduler spec)
     * @throws IllegalArgumentException naming the step, its timestep and the scheduler's class
     */
    public static void requireFinite(Supplier<Scheduler> make, int steps, String what) {
        Scheduler s = make.get().setTimesteps(steps);
        TorchGenerator g = new TorchGenerator(0);
        float[] x = g.randn(PROBE);
        float sigma = s.initNoiseSigma();
        for (int i = 0; i < PROBE; i++) x[i] *= sigma;
        float[] timesteps = s.timesteps();
        for (int i = 0; i < timesteps.length; i++) {
            s.scaleModelInput(x, i);
            x = s.step(g.randn(PROBE), i, x, new int[]{1, 1, PROBE}, 0.0, g);
            for (float v : x) {
                if (!Float.isFinite(v)) throw new IllegalArgumentException(what + ": step " + i + " of " + timesteps.length
                        + " (timestep " + timesteps[i] + ") gives " + v + " for any input: diffusers' " + s.className()
                        + " computes the same with these options and would return a black video."
                        + (i == timesteps.length - 1 ? " The last step goes to σ = 0 here; options that avoid that"
                        + " update (e.g. final_sigmas_type=sigma_min, or solver_type=bh2 for UniPC) fix it." : "")
                        + " Choose other options or another scheduler.");
            }
        }
    }
}
