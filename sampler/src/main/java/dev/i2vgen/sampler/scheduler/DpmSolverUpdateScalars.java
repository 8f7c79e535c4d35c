package dev.i2vgen.sampler.scheduler;

/**
 * The float32 scalars of one multistep DPM-Solver update from the sample x (at level s0) to level t, each computed as
 * diffusers computes it (a 0-d float32 tensor expression, every operation rounded), with the formula's signs folded
 * in (negating a float32 is exact, and acc − v equals acc + (−v) bit for bit):
 * <pre>
 *   x_t = a·x + b·m0 + c·D1 + d·D2 + noiseScale·noise
 *   order 2: D1 = inverseR0·(m0 − m1)
 *   order 3: D1_0 = inverseR0·(m0 − m1), D1_1 = inverseR1·(m1 − m2),
 *            D1 = D1_0 + d1Weight·(D1_0 − D1_1), D2 = d2Weight·(D1_0 − D1_1)
 * </pre>
 * m0, m1, m2 are the converted model outputs (x0 for the ++ variants, ε otherwise) at s0, s1, s2, newest first;
 * h = λ_t − λ_s0 is the log-SNR step, r0 = (λ_s0 − λ_s1)/h, r1 = (λ_s1 − λ_s2)/h. Scalars a term of a lower order
 * does not use are 0, as is noiseScale for the deterministic algorithms.
 */
record DpmSolverUpdateScalars(int order, float a, float b, float c, float d, float noiseScale,
                              float inverseR0, float inverseR1, float d1Weight, float d2Weight) {

    /**
     * The update of order {@code order} from schedule index {@code index} to {@code index + 1}, the levels from the
     * schedule's sigmas as diffusers' step takes them.
     */
    static DpmSolverUpdateScalars at(DpmSolverMultistepConfig config, float[] sigmas, int index, int order) {
        DpmSolverAlgorithmType algorithm = config.algorithmType();
        DpmSolverNoiseLevel t = level(config, sigmas, index + 1), s0 = level(config, sigmas, index);
        return switch (order) {
            case 1 -> firstOrder(algorithm, t, s0);
            case 2 -> secondOrder(algorithm, config.solverType(), t, s0, level(config, sigmas, index - 1));
            case 3 -> thirdOrder(algorithm, t, s0, level(config, sigmas, index - 1), level(config, sigmas, index - 2));
            default -> throw new IllegalArgumentException("DPM-Solver order must be 1, 2 or 3, got " + order);
        };
    }

    private static DpmSolverNoiseLevel level(DpmSolverMultistepConfig config, float[] sigmas, int index) {
        return DpmSolverNoiseLevel.of(sigmas[index], config.useFlowSigmas());
    }

    /** One DPM-Solver step of order 1 (DDIM for the deterministic variants). */
    static DpmSolverUpdateScalars firstOrder(DpmSolverAlgorithmType algorithm, DpmSolverNoiseLevel t, DpmSolverNoiseLevel s) {
        float h = t.lambda() - s.lambda();
        return switch (algorithm) {
            case DPMSOLVER_PLUS_PLUS -> first(t.sigma() / s.sigma(), -(t.alpha() * (exp(-h) - 1f)), 0f);
            case DPMSOLVER -> first(t.alpha() / s.alpha(), -(t.sigma() * (exp(h) - 1f)), 0f);
            case SDE_DPMSOLVER_PLUS_PLUS -> first(t.sigma() / s.sigma() * exp(-h), t.alpha() * (1f - exp(-2f * h)),
                    t.sigma() * sqrt(1f - exp(-2f * h)));
            case SDE_DPMSOLVER -> first(t.alpha() / s.alpha(), -(2f * (t.sigma() * (exp(h) - 1f))),
                    t.sigma() * sqrt(exp(2f * h) - 1f));
        };
    }

    private static DpmSolverUpdateScalars first(float a, float b, float noiseScale) {
        return new DpmSolverUpdateScalars(1, a, b, 0f, 0f, noiseScale, 0f, 0f, 0f, 0f);
    }

    /** The second-order multistep update, midpoint or heun. */
    static DpmSolverUpdateScalars secondOrder(DpmSolverAlgorithmType algorithm, DpmSolverSolverType solver,
                                              DpmSolverNoiseLevel t, DpmSolverNoiseLevel s0, DpmSolverNoiseLevel s1) {
        float h = t.lambda() - s0.lambda();
        float r0 = (s0.lambda() - s1.lambda()) / h;
        float inverseR0 = 1f / r0;
        boolean midpoint = solver == DpmSolverSolverType.MIDPOINT;
        float a, b, c, noiseScale = 0f;
        switch (algorithm) {
            case DPMSOLVER_PLUS_PLUS -> {     // a·x − b·D0 ∓ c·D1 (midpoint −, heun +)
                a = t.sigma() / s0.sigma();
                b = t.alpha() * (exp(-h) - 1f);
                c = midpoint ? -(0.5f * b) : t.alpha() * ((exp(-h) - 1f) / h + 1f);
                b = -b;
            }
            case DPMSOLVER -> {               // a·x − b·D0 − c·D1
                a = t.alpha() / s0.alpha();
                b = t.sigma() * (exp(h) - 1f);
                c = -(midpoint ? 0.5f * b : t.sigma() * ((exp(h) - 1f) / h - 1f));
                b = -b;
            }
            case SDE_DPMSOLVER_PLUS_PLUS -> { // a·x + b·D0 + c·D1 + noise term
                a = t.sigma() / s0.sigma() * exp(-h);
                b = t.alpha() * (1f - exp(-2f * h));
                c = midpoint ? 0.5f * b : t.alpha() * ((1f - exp(-2f * h)) / (-2f * h) + 1f);
                noiseScale = t.sigma() * sqrt(1f - exp(-2f * h));
            }
            case SDE_DPMSOLVER -> {           // a·x − b·D0 − c·D1 + noise term
                a = t.alpha() / s0.alpha();
                b = -(2f * (t.sigma() * (exp(h) - 1f)));
                c = -(midpoint ? t.sigma() * (exp(h) - 1f) : 2f * (t.sigma() * ((exp(h) - 1f) / h - 1f)));
                noiseScale = t.sigma() * sqrt(exp(2f * h) - 1f);
            }
            default -> throw new IllegalStateException("unhandled algorithm " + algorithm);
        }
        return new DpmSolverUpdateScalars(2, a, b, c, 0f, noiseScale, inverseR0, 0f, 0f, 0f);
    }

    /**
     * The third-order multistep update. diffusers has none for sde-dpmsolver: the scheduler refuses that step before
     * it gets here.
     */
    static DpmSolverUpdateScalars thirdOrder(DpmSolverAlgorithmType algorithm, DpmSolverNoiseLevel t,
                                             DpmSolverNoiseLevel s0, DpmSolverNoiseLevel s1, DpmSolverNoiseLevel s2) {
        float h = t.lambda() - s0.lambda();
        float r0 = (s0.lambda() - s1.lambda()) / h, r1 = (s1.lambda() - s2.lambda()) / h;
        float inverseR0 = 1f / r0, inverseR1 = 1f / r1;
        float d1Weight = r0 / (r0 + r1), d2Weight = 1f / (r0 + r1);
        float a, b, c, d, noiseScale = 0f;
        switch (algorithm) {
            case DPMSOLVER_PLUS_PLUS -> {     // a·x − b·D0 + c·D1 − d·D2
                a = t.sigma() / s0.sigma();
                b = -(t.alpha() * (exp(-h) - 1f));
                c = t.alpha() * ((exp(-h) - 1f) / h + 1f);
                d = -(t.alpha() * ((exp(-h) - 1f + h) / (h * h) - 0.5f));
            }
            case DPMSOLVER -> {               // a·x − b·D0 − c·D1 − d·D2
                a = t.alpha() / s0.alpha();
                b = -(t.sigma() * (exp(h) - 1f));
                c = -(t.sigma() * ((exp(h) - 1f) / h - 1f));
                d = -(t.sigma() * ((exp(h) - 1f - h) / (h * h) - 0.5f));
            }
            case SDE_DPMSOLVER_PLUS_PLUS -> { // a·x + b·D0 + c·D1 + d·D2 + noise term
                float twoH = 2f * h;
                a = t.sigma() / s0.sigma() * exp(-h);
                b = t.alpha() * (1f - exp(-2f * h));
                c = t.alpha() * ((1f - exp(-2f * h)) / (-2f * h) + 1f);
                d = t.alpha() * ((1f - exp(-2f * h) - twoH) / (twoH * twoH) - 0.5f);
                noiseScale = t.sigma() * sqrt(1f - exp(-2f * h));
            }
            default -> throw new IllegalArgumentException("diffusers has no third-order " + algorithm.configName() + " update");
        }
        return new DpmSolverUpdateScalars(3, a, b, c, d, noiseScale, inverseR0, inverseR1, d1Weight, d2Weight);
    }

    /**
     * The update expanded into one weight per converted model output, computed in double from the float32 scalars:
     * x_t = a·x + Σ_k weights[k]·m_k (+ noiseScale·noise), m_k the output k steps old ({@code order} weights).
     */
    double[] outputWeights() {
        double p = inverseR0, q = inverseR1;
        return switch (order) {
            case 1 -> new double[]{b};
            case 2 -> new double[]{b + (double) c * p, -(double) c * p};
            default -> {
                // D1 = (1 + w1)·p·m0 − ((1 + w1)·p + w1·q)·m1 + w1·q·m2, D2 = w2·(p·m0 − (p + q)·m1 + q·m2)
                double w1 = d1Weight, w2 = d2Weight;
                yield new double[]{
                        b + c * (1 + w1) * p + d * w2 * p,
                        -c * ((1 + w1) * p + w1 * q) - d * w2 * (p + q),
                        c * w1 * q + d * w2 * q};
            }
        };
    }

    /** torch's float32 exp of a 0-d tensor (correctly rounded, as glibc's expf). */
    private static float exp(float x) { return (float) Math.exp(x); }

    private static float sqrt(float x) { return (float) Math.sqrt(x); }
}
