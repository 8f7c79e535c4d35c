package dev.i2vgen.sampler.scheduler;

/**
 * The beta schedules of diffusers' DDPMScheduler ({@code beta_schedule}): the three that every scheduler has, plus
 * DDPM's own {@code sigmoid} (GeoDiff) and {@code laplace}.
 */
public enum DdpmBetaSchedule {
    LINEAR("linear", BetaSchedule.LINEAR),
    SCALED_LINEAR("scaled_linear", BetaSchedule.SCALED_LINEAR),
    SQUAREDCOS_CAP_V2("squaredcos_cap_v2", BetaSchedule.SQUAREDCOS_CAP_V2),
    /** β = sigmoid(linspace(−6, 6, T))·(beta_end − beta_start) + beta_start, torch float32. */
    SIGMOID("sigmoid", null),
    /**
     * The Laplace ᾱ(τ) of betas_for_alpha_bar (λ = −½·sign(½ − τ)·ln(1 − 2|½ − τ| + 10⁻⁶)), β capped at 0.999.
     */
    LAPLACE("laplace", null);

    /** diffusers' max_beta of betas_for_alpha_bar. */
    private static final double MAX_BETA = 0.999;

    private final String configName;
    private final BetaSchedule shared;

    DdpmBetaSchedule(String configName, BetaSchedule shared) {
        this.configName = configName;
        this.shared = shared;
    }

    public String configName() { return configName; }

    /**
     * The float32 betas of a DDPM config: {@code trained} (if not null) or this schedule over {@code n} steps,
     * zero-terminal-SNR rescaled if asked (diffusers' constructor order).
     */
    float[] betas(int n, double betaStart, double betaEnd, double[] trained, boolean rescaleBetasZeroSnr) {
        if (trained != null || shared != null) {
            return NoiseSchedule.betas(n, betaStart, betaEnd, shared != null ? shared : BetaSchedule.LINEAR, trained,
                    rescaleBetasZeroSnr);
        }
        float[] betas = this == SIGMOID ? sigmoidBetas(n, betaStart, betaEnd) : laplaceBetas(n);
        return rescaleBetasZeroSnr ? NoiseSchedule.rescaleZeroTerminalSnr(betas) : betas;
    }

    /** torch float32: sigmoid as 1/(1 + e^(−x)), the Python scalars rounded to float as torch does for a float tensor. */
    private static float[] sigmoidBetas(int n, double betaStart, double betaEnd) {
        float[] x = NoiseSchedule.torchLinspace(-6, 6, n);
        float range = (float) (betaEnd - betaStart), start = (float) betaStart;
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            float sigmoid = 1.0f / (1.0f + (float) Math.exp(-x[i]));
            betas[i] = sigmoid * range + start;
        }
        return betas;
    }

    /** β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999) in Python floats, stored float32. */
    private static float[] laplaceBetas(int n) {
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            betas[i] = (float) Math.min(1 - laplaceAlphaBar(t2) / laplaceAlphaBar(t1), MAX_BETA);
        }
        return betas;
    }

    /** √(snr/(1 + snr)) with snr = e^λ: the Laplace schedule's ᾱ at τ ∈ [0, 1]. */
    private static double laplaceAlphaBar(double t) {
        double lambda = -0.5 * Math.copySign(1.0, 0.5 - t) * Math.log(1 - 2 * Math.abs(0.5 - t) + 1e-6);
        double snr = Math.exp(lambda);
        return Math.sqrt(snr / (1 + snr));
    }
}
