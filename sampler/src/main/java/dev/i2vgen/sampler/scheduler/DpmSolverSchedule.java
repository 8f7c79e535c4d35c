package dev.i2vgen.sampler.scheduler;

/**
 * What DPMSolverMultistepScheduler's {@code set_timesteps} produces: the integer timesteps the model sees and the
 * float32 sigmas (one more: the final sigma), computed in numpy's float64 as diffusers does and rounded once.
 *
 * @param timesteps training timesteps, in sampling order (diffusers' int64 tensor)
 * @param sigmas    σ per timestep plus the final σ (0, or the smallest training σ with final_sigmas_type sigma_min)
 */
record DpmSolverSchedule(int[] timesteps, float[] sigmas) {

    /** The training schedule's values that set_timesteps reads, ascending in t. */
    record Training(float[] sigmas, float[] logSigmas, float[] lambdas) {}

    /** {@code set_timesteps(n)}, with the flow shift in force (the config's, or e^mu after a dynamic shift). */
    static DpmSolverSchedule spaced(DpmSolverMultistepConfig config, Training training, int n, double flowShift) {
        int trainSteps = config.numTrainTimesteps();
        int lastTimestep = trainSteps - clippedCount(training.lambdas(), config.lambdaMinClipped());
        int[] spaced = spacedTimesteps(config, lastTimestep, n);

        double[] sigmas;
        double[] timesteps;
        boolean roundTimesteps = config.betaSchedule() != BetaSchedule.SQUAREDCOS_CAP_V2;
        float[] train = training.sigmas();
        // the conversions' range: the training extremes, unless a config file carried sigma_min / sigma_max
        double low = config.sigmaMin() != null ? config.sigmaMin() : train[0];
        double high = config.sigmaMax() != null ? config.sigmaMax() : train[train.length - 1];
        if (config.useKarrasSigmas()) {
            sigmas = SigmaSchedules.karras(low, high, n);
            timesteps = sigmaToT(sigmas, training, roundTimesteps);
        } else if (config.useLuLambdas()) {
            float[] logs = training.logSigmas();
            double[] lambdas = SigmaSchedules.lu(logs[0], logs[logs.length - 1], n);
            sigmas = new double[n];
            for (int i = 0; i < n; i++) sigmas[i] = Math.exp(lambdas[i]);
            timesteps = sigmaToT(sigmas, training, roundTimesteps);
        } else if (config.useExponentialSigmas()) {
            sigmas = SigmaSchedules.exponential(low, high, n);
            timesteps = sigmaToT(sigmas, training, false);
        } else if (config.useBetaSigmas()) {
            sigmas = SigmaSchedules.beta(low, high, n);
            timesteps = sigmaToT(sigmas, training, false);
        } else if (config.useFlowSigmas()) {
            sigmas = SigmaSchedules.flowMatching(trainSteps, n, flowShift);
            timesteps = new double[n];
            for (int i = 0; i < n; i++) timesteps[i] = sigmas[i] * trainSteps;
        } else {
            return interpolated(config, training, spaced);
        }
        int[] ints = new int[timesteps.length];
        for (int i = 0; i < ints.length; i++) ints[i] = (int) timesteps[i]; // int64 cast: truncation
        return withFinalSigma(config, training, sigmas, ints);
    }

    /** {@code set_timesteps(timesteps=...)}: sigmas interpolated at the given training timesteps. */
    static DpmSolverSchedule custom(DpmSolverMultistepConfig config, Training training, int[] timesteps) {
        return interpolated(config, training, timesteps.clone());
    }

    private static DpmSolverSchedule interpolated(DpmSolverMultistepConfig config, Training training, int[] timesteps) {
        float[] at = new float[timesteps.length];
        for (int i = 0; i < at.length; i++) at[i] = timesteps[i];
        return withFinalSigma(config, training, NumpyMath.interpAtIndices(at, training.sigmas()), timesteps);
    }

    private static DpmSolverSchedule withFinalSigma(DpmSolverMultistepConfig config, Training training,
                                                    double[] sigmas, int[] timesteps) {
        float[] out = new float[sigmas.length + 1];
        for (int i = 0; i < sigmas.length; i++) out[i] = (float) sigmas[i];
        out[sigmas.length] = config.finalSigmasType() == FinalSigmasType.SIGMA_MIN ? training.sigmas()[0] : 0f;
        return new DpmSolverSchedule(timesteps, out);
    }

    /**
     * How many training timesteps lambda_min_clipped removes from the noisy end: torch.searchsorted (left) of the
     * threshold, cast to float32 as torch casts a Python scalar, in λ reversed (ascending).
     */
    static int clippedCount(float[] lambdas, double lambdaMinClipped) {
        float threshold = (float) lambdaMinClipped;
        int n = lambdas.length, lo = 0, hi = n;
        while (lo < hi) {               // torch's lower bound; element j of the reversed λ is lambdas[n − 1 − j]
            int mid = lo + ((hi - lo) >> 1);
            if (!(lambdas[n - 1 - mid] >= threshold)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** The spacing's timesteps over [0, lastTimestep) (trailing may give another count: numpy's arange length). */
    private static int[] spacedTimesteps(DpmSolverMultistepConfig config, int lastTimestep, int n) {
        switch (config.timestepSpacing()) {
            case LINSPACE -> {          // linspace over n + 1 points, reversed, without the 0
                double[] up = NumpyMath.linspace(0, lastTimestep - 1, n + 1);
                int[] t = new int[n];
                for (int i = 0; i < n; i++) t[i] = (int) Math.rint(up[n - i]);
                return t;
            }
            case LEADING -> {           // multiples of lastTimestep // (n + 1), without the 0, plus the offset
                int ratio = Math.floorDiv(lastTimestep, n + 1);
                int[] t = new int[n];
                for (int i = 0; i < n; i++) t[i] = (n - i) * ratio + config.stepsOffset();
                return t;
            }
            case TRAILING -> {          // note: the step is T/n even where lambda_min_clipped shortened the range
                double[] down = NumpyMath.arange(lastTimestep, 0, -((double) config.numTrainTimesteps() / n));
                int[] t = new int[down.length];
                for (int i = 0; i < t.length; i++) t[i] = (int) Math.rint(down[i]) - 1;
                return t;
            }
            default -> throw new IllegalStateException("unhandled timestep spacing " + config.timestepSpacing());
        }
    }

    /** {@code _sigma_to_t} of float64 sigmas, rounded half to even where diffusers rounds. */
    private static double[] sigmaToT(double[] sigmas, Training training, boolean round) {
        double[] t = new double[sigmas.length];
        for (int i = 0; i < t.length; i++) {
            double v = SigmaSchedules.sigmaToT(sigmas[i], false, training.logSigmas());
            t[i] = round ? Math.rint(v) : v;
        }
        return t;
    }
}
