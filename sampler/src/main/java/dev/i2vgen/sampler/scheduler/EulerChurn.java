package dev.i2vgen.sampler.scheduler;

/**
 * The stochasticity arguments of diffusers' {@code EulerDiscreteScheduler.step} (Karras et al.'s "churn"): at steps
 * whose σ lies in [sTmin, sTmax] (compared in float32, as torch does), σ is raised to σ̂ = σ·(1 + γ) with
 * γ = min(sChurn / (len(sigmas) − 1), √2 − 1), adding fresh noise of scale sNoise·√(σ̂² − σ²).
 *
 * @param sChurn amount of churn (diffusers' s_churn, default 0: deterministic)
 * @param sTmin  smallest σ that gets churn (s_tmin, default 0)
 * @param sTmax  largest σ that gets churn (s_tmax, default +∞)
 * @param sNoise scale of the added noise (s_noise, default 1)
 */
public record EulerChurn(double sChurn, double sTmin, double sTmax, double sNoise) {
    /** diffusers' defaults: no churn. */
    public static final EulerChurn NONE = new EulerChurn(0.0, 0.0, Double.POSITIVE_INFINITY, 1.0);

    public EulerChurn {
        if (Double.isNaN(sChurn) || Double.isNaN(sTmin) || Double.isNaN(sTmax) || Double.isNaN(sNoise)) {
            throw new IllegalArgumentException("churn arguments must not be NaN: s_churn=" + sChurn + ", s_tmin=" + sTmin
                    + ", s_tmax=" + sTmax + ", s_noise=" + sNoise);
        }
    }

    /** {@code sChurn} with the other arguments at diffusers' defaults. */
    public static EulerChurn of(double sChurn) {
        return NONE.withChurn(sChurn);
    }

    public EulerChurn withChurn(double sChurn) { return new EulerChurn(sChurn, sTmin, sTmax, sNoise); }

    public EulerChurn withWindow(double sTmin, double sTmax) { return new EulerChurn(sChurn, sTmin, sTmax, sNoise); }

    public EulerChurn withNoise(double sNoise) { return new EulerChurn(sChurn, sTmin, sTmax, sNoise); }

    /**
     * γ of the step at {@code sigma} (a float32 schedule value) in a schedule of {@code sigmaCount} sigmas (the final
     * one included): Python float arithmetic; 0 outside the σ window.
     */
    double gamma(float sigma, int sigmaCount) {
        boolean inWindow = (float) sTmin <= sigma && sigma <= (float) sTmax;
        if (!inWindow) return 0.0;
        double proportional = sChurn / (sigmaCount - 1);
        double cap = Math.sqrt(2.0) - 1;
        return cap < proportional ? cap : proportional;
    }
}
