package dev.i2vgen.sampler.scheduler;

import org.apache.commons.statistics.distribution.BetaDistribution;

/**
 * The sigma-schedule conversions diffusers' schedulers share (Karras, exponential, beta; first written for EulerDiscreteScheduler) and
 * {@code _sigma_to_t}, in the numpy dtypes diffusers gets: the conversions are float64; {@code _sigma_to_t} mixes
 * float32 and float64 following NumPy 2's promotion rules (NEP 50).
 */
final class SigmaSchedules {
    /** ρ of Karras et al. (2022), fixed in diffusers. */
    static final double KARRAS_RHO = 7.0;
    /** The Beta(α, β) shape diffusers uses for beta sigmas ("Beta Sampling is All You Need"). */
    static final double BETA_ALPHA = 0.6;
    static final double BETA_BETA = 0.6;

    private static final BetaDistribution BETA = BetaDistribution.of(BETA_ALPHA, BETA_BETA);

    private SigmaSchedules() {}

    /** σ_i = (σmax^{1/ρ} + r_i·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ with r = linspace(0, 1, n). */
    static double[] karras(double sigmaMin, double sigmaMax, int n) {
        double[] ramp = NumpyMath.linspace(0, 1, n);
        double minInvRho = Math.pow(sigmaMin, 1 / KARRAS_RHO);
        double maxInvRho = Math.pow(sigmaMax, 1 / KARRAS_RHO);
        double[] sigmas = new double[n];
        for (int i = 0; i < n; i++) sigmas[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), KARRAS_RHO);
        return sigmas;
    }

    /** σ_i = exp(linspace(ln σmax, ln σmin, n)). */
    static double[] exponential(double sigmaMin, double sigmaMax, int n) {
        if (!(sigmaMin > 0) || !(sigmaMax > 0)) throw new IllegalArgumentException("exponential sigmas take logarithms:"
                + " sigma_min and sigma_max must be > 0, got " + sigmaMin + " and " + sigmaMax);
        double[] logs = NumpyMath.linspace(Math.log(sigmaMax), Math.log(sigmaMin), n);
        double[] sigmas = new double[n];
        for (int i = 0; i < n; i++) sigmas[i] = Math.exp(logs[i]);
        return sigmas;
    }

    /** σ_i = σmin + F⁻¹(1 − r_i)·(σmax − σmin), F the Beta(0.6, 0.6) distribution function, r = linspace(0, 1, n). */
    static double[] beta(double sigmaMin, double sigmaMax, int n) {
        double[] ramp = NumpyMath.linspace(0, 1, n);
        double[] sigmas = new double[n];
        for (int i = 0; i < n; i++) {
            double ppf = BETA.inverseCumulativeProbability(1 - ramp[i]);
            sigmas[i] = sigmaMin + ppf * (sigmaMax - sigmaMin);
        }
        return sigmas;
    }

    /**
     * Lu et al.'s uniform-logSNR spacing as diffusers' {@code _convert_to_lu} computes it (a Karras ramp with ρ = 1):
     * v_i = vmax + r_i·(vmin − vmax), r = linspace(0, 1, n). diffusers feeds it log σ (= −λ) endpoints.
     */
    static double[] lu(double min, double max, int n) {
        double[] ramp = NumpyMath.linspace(0, 1, n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = max + ramp[i] * (min - max);
        return out;
    }

    /**
     * Flow-matching sigmas with a timestep shift, as diffusers' multistep schedulers build them (float64): s = 1 − a
     * for a = linspace(1, 1/T, n + 1), shifted to shift·s/(1 + (shift − 1)·s), descending, without the final 0.
     */
    static double[] flowMatching(int numTrainTimesteps, int n, double shift) {
        double[] alphas = NumpyMath.linspace(1, 1.0 / numTrainTimesteps, n + 1);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 1.0 - alphas[n - i];
            out[i] = shift * s / (1 + (shift - 1) * s);
        }
        return out;
    }

    /**
     * diffusers' {@code _sigma_to_t}: the fractional training timestep whose log σ, linearly interpolated between the
     * two neighbouring training log sigmas, equals ln σ.
     *
     * @param sigma          the sigma (a float32 value when {@code float32Sigma})
     * @param float32Sigma   whether diffusers passes a numpy float32 (custom sigmas) rather than a float64 (conversions):
     *                       it decides which differences numpy evaluates in float32
     * @param logTrainSigmas np.log of the float32 training sigmas, ascending in t
     */
    static double sigmaToT(double sigma, boolean float32Sigma, float[] logTrainSigmas) {
        int lastLow = logTrainSigmas.length - 2;
        if (float32Sigma) {
            float logSigma = NumpyMath.logFloat32(Math.max((float) sigma, (float) 1e-10));
            int low = Math.min(lastIndexAtOrBelow(logSigma, logTrainSigmas), lastLow);
            float lo = logTrainSigmas[low], hi = logTrainSigmas[low + 1];
            float w = clip01((lo - logSigma) / (lo - hi));
            // (1 − w) is float32; multiplying by the int64 index promotes to float64
            return (double) (1 - w) * low + (double) w * (low + 1);
        }
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = Math.min(lastIndexAtOrBelow(logSigma, logTrainSigmas), lastLow);
        float lo = logTrainSigmas[low], hi = logTrainSigmas[low + 1];
        // float32 minus float64 scalar is float64; float32 minus float32 stays float32
        double w = clip01(((double) lo - logSigma) / (double) (lo - hi));
        return (1 - w) * low + w * (low + 1);
    }

    /**
     * {@code cumsum(logSigma − logs ≥ 0).argmax()}: the last index whose log sigma is ≤ logSigma (the logs ascend),
     * or 0 when there is none.
     */
    private static int lastIndexAtOrBelow(double logSigma, float[] logs) {
        int last = 0;
        for (int i = 0; i < logs.length; i++) if (logSigma - logs[i] >= 0) last = i;
        return last;
    }

    private static float clip01(float w) {
        return Float.isNaN(w) ? w : Math.min(Math.max(w, 0f), 1f);
    }

    private static double clip01(double w) {
        return Double.isNaN(w) ? w : Math.min(Math.max(w, 0.0), 1.0);
    }
}
