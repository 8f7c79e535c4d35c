package dev.i2vgen.sampler.scheduler;

import java.util.Arrays;

/**
 * What UniPCMultistepScheduler's {@code set_timesteps} produces: the float32 sigmas (one per step plus the final
 * one) and the int64 timesteps the model receives. Computed in numpy's float64 (float32 where diffusers' arrays are),
 * cast at the end as diffusers does: sigmas to float32, timesteps to int64 by truncation (C's cast), so flow and
 * exponential/beta timesteps are floored, Karras ones rounded first.
 */
record UniPcSchedule(float[] sigmas, long[] timesteps) {

    /** The flow branch nudges a first sigma of 1 down by this, so that log α = log(1 − σ) stays finite. */
    static final double FLOW_SIGMA_EPS = 1e-6;

    /**
     * @param trainSigmas    √((1 − ᾱ)/ᾱ) per training timestep, float32, ascending in t
     * @param logTrainSigmas np.log of them (float32)
     * @param steps          num_inference_steps (ignored when {@code customSigmas} is given)
     * @param customSigmas   set_timesteps' {@code sigmas} (flow sigmas without the final one), or null
     * @param mu             set_timesteps' {@code mu} for dynamic shifting, or null
     */
    static UniPcSchedule compute(UniPcMultistepConfig c, float[] trainSigmas, float[] logTrainSigmas, int steps,
                                 double[] customSigmas, Double mu) {
        if (c.useDynamicShifting() && mu == null) throw new IllegalArgumentException(
                "`mu` must be passed when `use_dynamic_shifting` is set to be `True`");
        if (customSigmas != null) {
            if (!c.useFlowSigmas()) throw new IllegalArgumentException("Passing `sigmas` is only supported when"
                    + " `use_flow_sigmas=True`. Please set `use_flow_sigmas=True` during scheduler initialization.");
            if (customSigmas.length < 1) throw new IllegalArgumentException("sigmas must not be empty");
            steps = customSigmas.length;
        }
        if (steps < 1) throw new IllegalArgumentException("num_inference_steps must be ≥ 1, got " + steps);
        long[] spaced = spacedTimesteps(c, steps);

        if (c.useKarrasSigmas() || c.useExponentialSigmas() || c.useBetaSigmas()) {
            return converted(c, trainSigmas, logTrainSigmas, steps, customSigmas);
        }
        if (c.useFlowSigmas()) return flow(c, steps, customSigmas, mu);

        double[] stepSigmas = NumpyMath.interpAtIndices(toFloat(spaced), trainSigmas);
        // sigma_min: the first training sigma (a float32 torch scalar)
        double last = c.finalSigmasType() == FinalSigmasType.SIGMA_MIN ? trainSigmas[0] : 0.0;
        return new UniPcSchedule(withFinal(stepSigmas, last), spaced);
    }

    /** The timesteps of the config's spacing; trailing may give n+1 of them (numpy's arange length). */
    static long[] spacedTimesteps(UniPcMultistepConfig c, int n) {
        int trainSteps = c.numTrainTimesteps();
        switch (c.timestepSpacing()) {
            case LINSPACE -> {
                // n+1 points from 0 to T−1, rounded, descending, the trailing 0 dropped
                double[] up = NumpyMath.linspace(0, trainSteps - 1, n + 1);
                long[] t = new long[n];
                for (int i = 0; i < n; i++) t[i] = (long) Math.rint(up[n - i]);
                return t;
            }
            case LEADING -> {
                long ratio = trainSteps / (n + 1);
                long[] t = new long[n];
                for (int i = 0; i < n; i++) t[i] = (n - i) * ratio + c.stepsOffset();
                return t;
            }
            case TRAILING -> {
                double[] down = NumpyMath.arange(trainSteps, 0, -((double) trainSteps / n));
                long[] t = new long[down.length];
                for (int i = 0; i < t.length; i++) t[i] = (long) Math.rint(down[i]) - 1;
                return t;
            }
            default -> throw new IllegalStateException("unhandled timestep spacing " + c.timestepSpacing());
        }
    }

    /**
     * Karras / exponential / beta sigmas from the training sigmas (or, with flow sigmas, from custom ones), over
     * [sigma_min, sigma_max] (the config's, else the ends of the flipped input, as diffusers takes them).
     */
    private static UniPcSchedule converted(UniPcMultistepConfig c, float[] trainSigmas, float[] logTrainSigmas,
                                           int n, double[] customSigmas) {
        // diffusers flips its input, then reads sigma_max from the front and sigma_min from the back
        double first, lastOfFlipped;
        if (customSigmas != null) {
            first = customSigmas[customSigmas.length - 1];
            lastOfFlipped = customSigmas[0];
        } else {
            first = trainSigmas[trainSigmas.length - 1];
            lastOfFlipped = trainSigmas[0];
        }
        double min = c.sigmaMin() != null ? c.sigmaMin() : lastOfFlipped;
        double max = c.sigmaMax() != null ? c.sigmaMax() : first;
        double[] sigmas;
        double[] t = new double[n];
        if (c.useKarrasSigmas()) {
            sigmas = SigmaSchedules.karras(min, max, n);
            if (c.useFlowSigmas()) {
                for (int i = 0; i < n; i++) {
                    sigmas[i] = sigmas[i] / (sigmas[i] + 1);
                    t[i] = sigmas[i] * c.numTrainTimesteps();
                }
            } else {
                for (int i = 0; i < n; i++) t[i] = Math.rint(sigmaToT(sigmas[i], customSigmas, logTrainSigmas));
            }
        } else {
            sigmas = c.useExponentialSigmas() ? SigmaSchedules.exponential(min, max, n) : SigmaSchedules.beta(min, max, n);
            for (int i = 0; i < n; i++) t[i] = sigmaToT(sigmas[i], customSigmas, logTrainSigmas);
        }
        double last = c.finalSigmasType() == FinalSigmasType.SIGMA_MIN ? sigmas[n - 1] : 0.0;
        return new UniPcSchedule(withFinal(sigmas, last), truncate(t));
    }

    /** _sigma_to_t against np.log of the input sigmas: the float32 training ones, or float64 custom ones. */
    private static double sigmaToT(double sigma, double[] customSigmas, float[] logTrainSigmas) {
        if (customSigmas == null) return SigmaSchedules.sigmaToT(sigma, false, logTrainSigmas);
        double[] logs = new double[customSigmas.length];
        for (int i = 0; i < logs.length; i++) logs[i] = Math.log(customSigmas[i]);
        return sigmaToT(sigma, logs);
    }

    /**
     * diffusers' {@code _sigma_to_t} with float64 log sigmas (custom flow sigmas under Karras/exponential/beta, a path
     * {@link SigmaSchedules#sigmaToT} does not cover): interpolate the index between the last log sigma ≤ ln σ and the next.
     */
    static double sigmaToT(double sigma, double[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
        low = Math.min(low, logSigmas.length - 2);
        if (low < 0) throw new IllegalArgumentException("_sigma_to_t needs at least 2 sigmas, got " + logSigmas.length);
        double lo = logSigmas[low], hi = logSigmas[low + 1];
        double w = (lo - logSigma) / (lo - hi);
        if (!Double.isNaN(w)) w = Math.min(Math.max(w, 0.0), 1.0);
        return (1 - w) * low + w * (low + 1);
    }

    /** Flow-matching sigmas: 1 → 1/T, shifted (flow_shift, or μ with dynamic shifting), optionally stretched. */
    private static UniPcSchedule flow(UniPcMultistepConfig c, int n, double[] customSigmas, Double mu) {
        int trainSteps = c.numTrainTimesteps();
        double[] sigmas;
        if (customSigmas != null) {
            sigmas = customSigmas.clone();
        } else {
            double[] all = NumpyMath.linspace(1, 1.0 / trainSteps, n + 1);
            sigmas = Arrays.copyOf(all, n);
        }
        if (c.useDynamicShifting()) {
            for (int i = 0; i < sigmas.length; i++) sigmas[i] = timeShift(c.timeShiftType(), mu, sigmas[i]);
        } else {
            double shift = c.flowShift();
            for (int i = 0; i < sigmas.length; i++) sigmas[i] = shift * sigmas[i] / (1 + (shift - 1) * sigmas[i]);
        }
        // diffusers tests the value's truth: 0.0 means no stretching
        if (c.shiftTerminal() != null && c.shiftTerminal() != 0.0) stretchToTerminal(sigmas, c.shiftTerminal());
        if (Math.abs(sigmas[0] - 1) < FLOW_SIGMA_EPS) sigmas[0] -= FLOW_SIGMA_EPS;
        double[] t = new double[sigmas.length];
        for (int i = 0; i < t.length; i++) t[i] = sigmas[i] * trainSteps;
        double last = c.finalSigmasType() == FinalSigmasType.SIGMA_MIN ? sigmas[sigmas.length - 1] : 0.0;
        return new UniPcSchedule(withFinal(sigmas, last), truncate(t));
    }

    /** time_shift(μ, 1, σ): the shift of a flow sigma by μ (its exponent 1.0 leaves (1/σ − 1) unchanged). */
    static double timeShift(UniPcTimeShiftType type, double mu, double sigma) {
        double odds = 1 / sigma - 1;
        return switch (type) {
            case EXPONENTIAL -> Math.exp(mu) / (Math.exp(mu) + odds);
            case LINEAR -> mu / (mu + odds);
        };
    }

    /** stretch_shift_to_terminal: scale 1 − σ so that the last sigma becomes {@code terminal}. */
    static void stretchToTerminal(double[] sigmas, double terminal) {
        double scale = (1 - sigmas[sigmas.length - 1]) / (1 - terminal);
        for (int i = 0; i < sigmas.length; i++) sigmas[i] = 1 - ((1 - sigmas[i]) / scale);
    }

    private static float[] withFinal(double[] sigmas, double last) {
        float[] out = new float[sigmas.length + 1];
        for (int i = 0; i < sigmas.length; i++) out[i] = (float) sigmas[i];
        out[sigmas.length] = (float) last;
        return out;
    }

    /** torch's float64 → int64 cast: toward zero. */
    private static long[] truncate(double[] t) {
        long[] out = new long[t.length];
        for (int i = 0; i < t.length; i++) out[i] = (long) t[i];
        return out;
    }

    private static float[] toFloat(long[] t) {
        float[] out = new float[t.length];
        for (int i = 0; i < t.length; i++) out[i] = t[i];
        return out;
    }
}
