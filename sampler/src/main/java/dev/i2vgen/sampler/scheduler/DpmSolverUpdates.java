package dev.i2vgen.sampler.scheduler;

/**
 * The multistep DPM-Solver updates from the current sample x (at level s0) to level t, in float32 operation by
 * operation as diffusers' tensor code: every scalar coefficient is a float32 0-d tensor expression, each tensor term
 * is coefficient × tensor, and the terms are summed left to right. h = λ_t − λ_s0 is the log-SNR step.
 *
 * <p>m0, m1, m2 are the converted model outputs (x0 for the ++ variants, ε otherwise) at s0, s1, s2, newest first;
 * {@code noise} is the standard normal draw of the stochastic variants (ignored by the others).
 */
final class DpmSolverUpdates {
    private DpmSolverUpdates() {}

    /** One DPM-Solver step of order 1 (DDIM for the deterministic variants). */
    static float[] firstOrder(DpmSolverAlgorithmType algorithm, DpmSolverNoiseLevel t, DpmSolverNoiseLevel s,
                              float[] m, float[] x, float[] noise) {
        float h = t.lambda() - s.lambda();
        int n = x.length;
        float[] out = new float[n];
        switch (algorithm) {
            case DPMSOLVER_PLUS_PLUS -> {
                float a = t.sigma() / s.sigma(), b = t.alpha() * (exp(-h) - 1f);
                for (int i = 0; i < n; i++) out[i] = a * x[i] - b * m[i];
            }
            case DPMSOLVER -> {
                float a = t.alpha() / s.alpha(), b = t.sigma() * (exp(h) - 1f);
                for (int i = 0; i < n; i++) out[i] = a * x[i] - b * m[i];
            }
            case SDE_DPMSOLVER_PLUS_PLUS -> {
                float a = t.sigma() / s.sigma() * exp(-h), b = t.alpha() * (1f - exp(-2f * h));
                float c = t.sigma() * sqrt(1f - exp(-2f * h));
                for (int i = 0; i < n; i++) out[i] = a * x[i] + b * m[i] + c * noise[i];
            }
            case SDE_DPMSOLVER -> {
                float a = t.alpha() / s.alpha(), b = 2f * (t.sigma() * (exp(h) - 1f));
                float c = t.sigma() * sqrt(exp(2f * h) - 1f);
                for (int i = 0; i < n; i++) out[i] = a * x[i] - b * m[i] + c * noise[i];
            }
        }
        return out;
    }

    /** The second-order multistep update: D1 = (m0 − m1)/r0 with r0 = h_0/h, h_0 = λ_s0 − λ_s1. */
    static float[] secondOrder(DpmSolverAlgorithmType algorithm, DpmSolverSolverType solver, DpmSolverNoiseLevel t,
                               DpmSolverNoiseLevel s0, DpmSolverNoiseLevel s1, float[] m0, float[] m1, float[] x,
                               float[] noise) {
        float h = t.lambda() - s0.lambda();
        float r0 = (s0.lambda() - s1.lambda()) / h;
        float inverseR0 = 1f / r0;
        boolean midpoint = solver == DpmSolverSolverType.MIDPOINT;
        float a, b, c, noiseScale = 0f;
        // x_t = a·x ∓ b·D0 ∓ c·D1 (+ noiseScale·noise); signs per algorithm as in the papers' formulas
        float sign0, sign1;
        switch (algorithm) {
            case DPMSOLVER_PLUS_PLUS -> {
                a = t.sigma() / s0.sigma();
                b = t.alpha() * (exp(-h) - 1f);
                c = midpoint ? 0.5f * b : t.alpha() * ((exp(-h) - 1f) / h + 1f);
                sign0 = -1f;
                sign1 = midpoint ? -1f : 1f;
            }
            case DPMSOLVER -> {
                a = t.alpha() / s0.alpha();
                b = t.sigma() * (exp(h) - 1f);
                c = midpoint ? 0.5f * b : t.sigma() * ((exp(h) - 1f) / h - 1f);
                sign0 = -1f;
                sign1 = -1f;
            }
            case SDE_DPMSOLVER_PLUS_PLUS -> {
                a = t.sigma() / s0.sigma() * exp(-h);
                b = t.alpha() * (1f - exp(-2f * h));
                c = midpoint ? 0.5f * b : t.alpha() * ((1f - exp(-2f * h)) / (-2f * h) + 1f);
                noiseScale = t.sigma() * sqrt(1f - exp(-2f * h));
                sign0 = 1f;
                sign1 = 1f;
            }
            case SDE_DPMSOLVER -> {
                a = t.alpha() / s0.alpha();
                b = 2f * (t.sigma() * (exp(h) - 1f));
                c = midpoint ? t.sigma() * (exp(h) - 1f) : 2f * (t.sigma() * ((exp(h) - 1f) / h - 1f));
                noiseScale = t.sigma() * sqrt(exp(2f * h) - 1f);
                sign0 = -1f;
                sign1 = -1f;
            }
            default -> throw new IllegalStateException("unhandled algorithm " + algorithm);
        }
        int n = x.length;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float d1 = inverseR0 * (m0[i] - m1[i]);
            float v = addOrSub(addOrSub(a * x[i], sign0, b * m0[i]), sign1, c * d1);
            out[i] = algorithm.stochastic() ? v + noiseScale * noise[i] : v;
        }
        return out;
    }

    /**
     * The third-order multistep update (D1 and D2 from the last three outputs). diffusers has none for
     * sde-dpmsolver: the scheduler refuses that step before it gets here.
     */
    static float[] thirdOrder(DpmSolverAlgorithmType algorithm, DpmSolverNoiseLevel t, DpmSolverNoiseLevel s0,
                              DpmSolverNoiseLevel s1, DpmSolverNoiseLevel s2, float[] m0, float[] m1, float[] m2,
                              float[] x, float[] noise) {
        float h = t.lambda() - s0.lambda();
        float r0 = (s0.lambda() - s1.lambda()) / h, r1 = (s1.lambda() - s2.lambda()) / h;
        float inverseR0 = 1f / r0, inverseR1 = 1f / r1;
        float d1Weight = r0 / (r0 + r1), d2Weight = 1f / (r0 + r1);
        float a, b, c, d, noiseScale = 0f, sign1;
        switch (algorithm) {
            case DPMSOLVER_PLUS_PLUS -> {     // a·x − b·D0 + c·D1 − d·D2
                a = t.sigma() / s0.sigma();
                b = t.alpha() * (exp(-h) - 1f);
                c = t.alpha() * ((exp(-h) - 1f) / h + 1f);
                d = t.alpha() * ((exp(-h) - 1f + h) / (h * h) - 0.5f);
                sign1 = 1f;
            }
            case DPMSOLVER -> {               // a·x − b·D0 − c·D1 − d·D2
                a = t.alpha() / s0.alpha();
                b = t.sigma() * (exp(h) - 1f);
                c = t.sigma() * ((exp(h) - 1f) / h - 1f);
                d = t.sigma() * ((exp(h) - 1f - h) / (h * h) - 0.5f);
                sign1 = -1f;
            }
            case SDE_DPMSOLVER_PLUS_PLUS -> { // a·x + b·D0 + c·D1 + d·D2 + noise term
                float twoH = 2f * h;
                a = t.sigma() / s0.sigma() * exp(-h);
                b = t.alpha() * (1f - exp(-2f * h));
                c = t.alpha() * ((1f - exp(-2f * h)) / (-2f * h) + 1f);
                d = t.alpha() * ((1f - exp(-2f * h) - twoH) / (twoH * twoH) - 0.5f);
                noiseScale = t.sigma() * sqrt(1f - exp(-2f * h));
                sign1 = 1f;
            }
            default -> throw new IllegalArgumentException("diffusers has no third-order " + algorithm.configName() + " update");
        }
        boolean plus = algorithm == DpmSolverAlgorithmType.SDE_DPMSOLVER_PLUS_PLUS;
        int n = x.length;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float d10 = inverseR0 * (m0[i] - m1[i]);
            float d11 = inverseR1 * (m1[i] - m2[i]);
            float d1 = d10 + d1Weight * (d10 - d11);
            float d2 = d2Weight * (d10 - d11);
            float v = plus ? a * x[i] + b * m0[i] : a * x[i] - b * m0[i];
            v = addOrSub(v, sign1, c * d1);
            v = plus ? v + d * d2 : v - d * d2;
            out[i] = plus ? v + noiseScale * noise[i] : v;
        }
        return out;
    }

    /** acc + term or acc − term (one rounding, as torch's add/sub). */
    private static float addOrSub(float acc, float sign, float term) {
        return sign > 0 ? acc + term : acc - term;
    }

    /** torch's float32 exp of a 0-d tensor (correctly rounded, as glibc's expf). */
    static float exp(float x) { return (float) Math.exp(x); }

    static float sqrt(float x) { return (float) Math.sqrt(x); }
}
