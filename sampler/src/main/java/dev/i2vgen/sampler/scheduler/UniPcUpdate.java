package dev.i2vgen.sampler.scheduler;

import java.util.Arrays;

/**
 * One UniPC update from sigma s0 to sigma t, as diffusers' {@code multistep_uni_p_bh_update} (the predictor UniP)
 * and {@code multistep_uni_c_bh_update} (the corrector UniC) compute it: the same scalars for both, every one a
 * float32 0-d tensor operation rounded in diffusers' order, then element-wise float32 updates of the sample.
 *
 * <p>With h = λ_t − λ_s0 and ĥ = −h on x0 (h on ε), the first-order update is
 * x_t = (σ_t/σ_s0)·x − α_t·(e^ĥ − 1)·m0 (x0) or (α_t/α_s0)·x − σ_t·(e^ĥ − 1)·m0 (ε); the higher-order terms add
 * −α_t·B(ĥ)·Σ ρ_k·D_k (σ_t for ε), where D_k = (m_k − m0)/r_k are the divided differences of the earlier model
 * outputs at relative log-SNR positions r_k = (λ_sk − λ_s0)/h, and ρ solves the order conditions R·ρ = b with
 * R_ik = r_k^(i−1) and b_i = i!·ĥ·φ_{i+1}(ĥ)/B(ĥ), i = 1 … p, where φ_1(h) = (e^h − 1)/h and
 * φ_{k+1}(h) = (φ_k(h) − 1/k!)/h (diffusers' recurrence on ĥ·φ_{k+1}).
 *
 * @param order  p: the predictor uses p − 1 earlier outputs, the corrector p − 1 earlier ones plus the new one
 * @param rks    r_1 … r_{p−1} (the trailing 1 of diffusers' list is implicit)
 * @param r      R, p×p, rows r^0, r^1, …, r^{p−1} of (r_1 … r_{p−1}, 1)
 * @param b      b, p values
 */
record UniPcUpdate(int order, boolean predictX0, float alphaT, float sigmaT, float alphaS0, float sigmaS0,
                   float hPhi1, float bH, float[] rks, float[][] r, float[] b) {

    /**
     * The scalars of the update from {@code sigmas[s0]} to {@code sigmas[t]} using the sigmas {@code s0 − 1 …
     * s0 − (order − 1)} of the earlier model outputs.
     */
    static UniPcUpdate of(float[] sigmas, int t, int s0, int order, boolean flowSigmas, boolean predictX0,
                          UniPcSolverType solverType) {
        UniPcAlphaSigma at = UniPcAlphaSigma.of(sigmas[t], flowSigmas);
        UniPcAlphaSigma as0 = UniPcAlphaSigma.of(sigmas[s0], flowSigmas);
        float lambdaS0 = as0.lambda();
        float h = at.lambda() - lambdaS0;
        float[] rks = new float[order - 1];
        for (int k = 1; k < order; k++) {
            rks[k - 1] = (UniPcAlphaSigma.of(sigmas[s0 - k], flowSigmas).lambda() - lambdaS0) / h;
        }
        float hh = predictX0 ? -h : h;
        float hPhi1 = (float) Math.expm1(hh);
        float hPhiK = hPhi1 / hh - 1.0f;
        float bH = switch (solverType) {
            case BH1 -> hh;
            case BH2 -> (float) Math.expm1(hh);
        };
        float[][] r = new float[order][order];
        float[] b = new float[order];
        long factorial = 1;
        for (int i = 1; i <= order; i++) {
            for (int k = 0; k < order; k++) r[i - 1][k] = power(k < order - 1 ? rks[k] : 1.0f, i - 1);
            // torch casts the Python int factorial and the Python float 1/factorial to float32 scalars
            b[i - 1] = hPhiK * (float) factorial / bH;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - (float) (1.0 / factorial);
        }
        return new UniPcUpdate(order, predictX0, at.alpha(), at.sigma(), as0.alpha(), as0.sigma(), hPhi1, bH, rks, r, b);
    }

    /**
     * torch.pow(float32, int): 1 for exponent 0, the value for 1, x·x and x·x·x for 2 and 3, else pow rounded
     * once to float32.
     */
    static float power(float x, int exponent) {
        return switch (exponent) {
            case 0 -> 1.0f;
            case 1 -> x;
            case 2 -> x * x;
            case 3 -> x * x * x;
            default -> (float) Math.pow(x, exponent);
        };
    }

    /** UniP's ρ: none for order 1, ½ for order 2 (diffusers' shortcut), else the solution of R[:−1,:−1]·ρ = b[:−1]. */
    float[] predictorRhos() {
        if (order == 1) return new float[0];
        if (order == 2) return new float[]{0.5f};
        float[][] a = new float[order - 1][];
        for (int i = 0; i < order - 1; i++) a[i] = Arrays.copyOf(r[i], order - 1);
        return UniPcLinearSolve.solve(a, Arrays.copyOf(b, order - 1));
    }

    /** UniC's ρ: ½ for order 1 (diffusers' shortcut), else the solution of R·ρ = b; the last one weighs the new output. */
    float[] correctorRhos() {
        if (order == 1) return new float[]{0.5f};
        return UniPcLinearSolve.solve(r, b);
    }

    /** D_k = (m_k − m0)/r_k for the earlier outputs {@code earlier[k − 1]} = m_k, k = 1 … p − 1. */
    float[][] differences(float[][] earlier, float[] m0) {
        float[][] d = new float[order - 1][];
        for (int k = 0; k < order - 1; k++) {
            float[] mk = earlier[k];
            float rk = rks[k];
            float[] dk = new float[m0.length];
            for (int j = 0; j < dk.length; j++) dk[j] = (mk[j] - m0[j]) / rk;
            d[k] = dk;
        }
        return d;
    }

    /** The predictor's x_t from x with the latest output m0, earlier differences D and ρ = {@link #predictorRhos()}. */
    float[] predict(float[] x, float[] m0, float[][] d, float[] rhos) {
        float[] out = firstOrder(x, m0);
        float scale = higherOrderScale();
        if (d.length == 0) {
            // diffusers subtracts scale·0 (a Python 0): NaN when B(h) is infinite (bh1 onto σ = 0)
            float zero = scale * 0.0f;
            for (int j = 0; j < out.length; j++) out[j] = out[j] - zero;
            return out;
        }
        for (int j = 0; j < out.length; j++) out[j] = out[j] - scale * weightedSum(rhos, d, j);
        return out;
    }

    /**
     * The corrector's refined x_t from the previous sample x, the previous latest output m0, earlier differences D,
     * ρ = {@link #correctorRhos()} and the model output at the new sample, {@code mT}.
     */
    float[] correct(float[] x, float[] m0, float[][] d, float[] rhos, float[] mT) {
        float[] out = firstOrder(x, m0);
        float scale = higherOrderScale();
        float rhoT = rhos[order - 1];
        for (int j = 0; j < out.length; j++) {
            float corr = d.length == 0 ? 0.0f : weightedSum(rhos, d, j);
            out[j] = out[j] - scale * (corr + rhoT * (mT[j] - m0[j]));
        }
        return out;
    }

    /** (σ_t/σ_s0)·x − (α_t·(e^ĥ − 1))·m0 on x0, (α_t/α_s0)·x − (σ_t·(e^ĥ − 1))·m0 on ε. */
    private float[] firstOrder(float[] x, float[] m0) {
        float ratio = predictX0 ? sigmaT / sigmaS0 : alphaT / alphaS0;
        float m0Scale = (predictX0 ? alphaT : sigmaT) * hPhi1;
        float[] out = new float[x.length];
        for (int j = 0; j < out.length; j++) out[j] = ratio * x[j] - m0Scale * m0[j];
        return out;
    }

    private float higherOrderScale() {
        return (predictX0 ? alphaT : sigmaT) * bH;
    }

    /** torch.einsum("k,bkc...->bc...") of ρ with the differences: a float32 sum over ascending k, no FMA. */
    private static float weightedSum(float[] rhos, float[][] d, int j) {
        float s = rhos[0] * d[0][j];
        for (int k = 1; k < d.length; k++) s += rhos[k] * d[k][j];
        return s;
    }
}
