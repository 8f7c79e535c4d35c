package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The scheduler against formulas derived independently of diffusers' code: the exact solution of the diffusion ODE
 * x_t = (σ_t/σ_s)·x_s + σ_t·∫ e^λ x0(λ) dλ (data prediction) or x_t = (α_t/α_s)·x_s − α_t·∫ e^{−λ} ε(λ) dλ (noise
 * prediction), which each DPM-Solver order integrates exactly for predictions of matching polynomial degree in λ;
 * DDIM; and the sigma schedules' defining properties. Evaluated in double from the scheduler's float32 sigmas.
 */
class DpmSolverMultistepFormulaTest {
    /** float32 arithmetic against double formulas: a few ulps of the terms, which are of the result's size here. */
    static final double FLOAT_TOLERANCE = 2e-5;

    static DpmSolverMultistepScheduler scheduler(Map<String, ?> overrides, int steps) {
        return new DpmSolverMultistepScheduler(DpmSolverMultistepConfig.defaults().withOverrides(overrides)).setTimesteps(steps);
    }

    /** α, σ_t and λ of a VP schedule sigma, in double. */
    record Level(double alpha, double sigma, double lambda) {
        static Level of(float s) {
            double alpha = 1 / Math.sqrt(1 + (double) s * s);
            return new Level(alpha, s * alpha, -Math.log(s));
        }
    }

    @Test
    void lambdaIsLogAlphaMinusLogSigma() {
        for (float s : new float[]{0.002f, 0.0292f, 1f, 14.6f, 157.4f, 4096f}) {
            DpmSolverNoiseLevel l = DpmSolverNoiseLevel.of(s, false);
            assertEquals(1.0, (double) l.alpha() * l.alpha() + (double) l.sigma() * l.sigma(), 1e-6, "α² + σ² at " + s);
            assertEquals(s, l.sigma() / l.alpha(), 1e-6 * s, "σ/α at " + s);
            assertEquals(-Math.log(s), l.lambda(), 1e-6 * Math.max(1, Math.abs(Math.log(s))), "λ = ln α − ln σ = −ln s at " + s);
        }
        DpmSolverNoiseLevel flow = DpmSolverNoiseLevel.of(0.25f, true);
        assertEquals(0.75f, flow.alpha());
        assertEquals(0.25f, flow.sigma());
        assertEquals(Math.log(3), flow.lambda(), 1e-6);
        assertEquals(Float.POSITIVE_INFINITY, DpmSolverNoiseLevel.of(0f, false).lambda(), "σ = 0 is infinite SNR");
    }

    /** DPM-Solver++ of order 1 is DDIM (η = 0): x_t = α_t·x0 + σ_t·ε with x0 = (x − σ_s·ε)/α_s. */
    @Test
    void firstOrderDataPredictionIsDdim() throws Exception {
        int steps = 10;
        DpmSolverMultistepScheduler dpm = scheduler(Map.of("solver_order", 1, "timestep_spacing", "trailing"), steps);
        DdimScheduler ddim = new DdimScheduler(DdimConfig.fromJson(new ObjectMapper().readTree(
                "{\"timestep_spacing\": \"trailing\", \"clip_sample\": false, \"set_alpha_to_one\": true}"))).setTimesteps(steps);
        assertArrayEquals(ddim.timesteps(), dpm.discreteTimesteps(), "trailing timesteps agree");
        TorchGenerator g = new TorchGenerator(7);
        for (int i = 0; i < steps; i++) {
            float[] x = g.randn(2, 4, 3), eps = g.randn(2, 4, 3);
            float[] expected = ddim.step(eps, ddim.timesteps()[i], x, 0f, null);
            float[] actual = dpm.step(eps, i, x, null);
            assertTrue(ArrayErrors.relativeError(actual, expected) < FLOAT_TOLERANCE, "step " + i + ": "
                    + ArrayErrors.relativeError(actual, expected));
        }
    }

    /** Every order and variant of DPM-Solver++ integrates a constant data prediction exactly: it ends on x0. */
    @Test
    void constantDataPredictionIsIntegratedExactly() {
        TorchGenerator g = new TorchGenerator(3);
        float[] x0 = g.randn(24), eps = g.randn(24);
        for (String solver : new String[]{"midpoint", "heun"}) {
            for (int order = 1; order <= 3; order++) {
                DpmSolverMultistepScheduler s = scheduler(Map.of("solver_order", order, "solver_type", solver,
                        "prediction_type", "sample", "lower_order_final", false), 12);
                float[] sigmas = s.sigmas();
                float[] x = new float[x0.length];
                Level first = Level.of(sigmas[0]);
                for (int k = 0; k < x.length; k++) x[k] = (float) (first.alpha * x0[k] + first.sigma * eps[k]);
                for (int i = 0; i < s.numInferenceSteps(); i++) {
                    x = s.step(x0, i, x, null);
                    // on the exact trajectory α·x0 + σ·ε at every step
                    float[] exact = new float[x.length];
                    float next = sigmas[i + 1];
                    Level l = next == 0 ? new Level(1, 0, Double.POSITIVE_INFINITY) : Level.of(next);
                    for (int k = 0; k < x.length; k++) exact[k] = (float) (l.alpha * x0[k] + l.sigma * eps[k]);
                    assertTrue(ArrayErrors.relativeError(x, exact) < FLOAT_TOLERANCE, solver + " order " + order
                            + " step " + i + ": " + ArrayErrors.relativeError(x, exact));
                }
                assertTrue(ArrayErrors.relativeError(x, x0) < FLOAT_TOLERANCE, "ends on x0");
            }
        }
    }

    /**
     * For x0(λ) = c0 + c1·λ the exact step is (σ_t/σ_s)·x + α_t(1 − e^{−h})·x0(λ_s) + α_t(h − 1 + e^{−h})·c1.
     * The Heun form of 2M and 3M reproduce it once they have the history; the midpoint form does not.
     */
    @Test
    void linearDataPredictionIsExactForHeunAndThirdOrder() {
        assertTrue(maxLinearDataError("heun", 2) < FLOAT_TOLERANCE, "2M heun");
        assertTrue(maxLinearDataError("midpoint", 3) < FLOAT_TOLERANCE, "3M");
        assertTrue(maxLinearDataError("midpoint", 2) > 100 * FLOAT_TOLERANCE, "2M midpoint is only second order");
    }

    private static double maxLinearDataError(String solver, int order) {
        DpmSolverMultistepScheduler s = scheduler(Map.of("solver_order", order, "solver_type", solver,
                "prediction_type", "sample", "lower_order_final", false, "final_sigmas_type", "sigma_min"), 10);
        TorchGenerator g = new TorchGenerator(11);
        float[] c0 = g.randn(20), c1 = g.randn(20);
        float[] sigmas = s.sigmas();
        double worst = 0;
        for (int i = 0; i < s.numInferenceSteps(); i++) {
            Level from = Level.of(sigmas[i]), to = Level.of(sigmas[i + 1]);
            float[] x = g.randn(20);
            float[] x0 = new float[20];
            for (int k = 0; k < 20; k++) x0[k] = (float) (c0[k] + c1[k] * from.lambda);
            float[] actual = s.step(x0, i, x, null);
            double h = to.lambda - from.lambda, e = Math.exp(-h);
            float[] exact = new float[20];
            for (int k = 0; k < 20; k++) {
                exact[k] = (float) (to.sigma / from.sigma * x[k] + to.alpha * (1 - e) * x0[k] + to.alpha * (h - 1 + e) * c1[k]);
            }
            if (i >= order - 1) worst = Math.max(worst, ArrayErrors.relativeError(actual, exact));
        }
        return worst;
    }

    /**
     * DPM-Solver (noise prediction) with ε(λ) = e0 + e1·λ: the exact step is
     * (α_t/α_s)·x − σ_t(e^h − 1)·ε(λ_s) − σ_t(e^h − 1 − h)·e1, which the Heun form of 2M reproduces.
     */
    @Test
    void linearNoisePredictionIsExactForHeun() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("algorithm_type", "dpmsolver", "solver_type", "heun",
                "lower_order_final", false, "final_sigmas_type", "sigma_min"), 8);
        TorchGenerator g = new TorchGenerator(5);
        float[] e0 = g.randn(20), e1 = g.randn(20);
        float[] sigmas = s.sigmas();
        for (int i = 0; i < s.numInferenceSteps(); i++) {
            Level from = Level.of(sigmas[i]), to = Level.of(sigmas[i + 1]);
            float[] x = g.randn(20), eps = new float[20];
            for (int k = 0; k < 20; k++) eps[k] = (float) (e0[k] + e1[k] * from.lambda);
            float[] actual = s.step(eps, i, x, null);
            double h = to.lambda - from.lambda, e = Math.exp(h);
            float[] exact = new float[20];
            for (int k = 0; k < 20; k++) {
                exact[k] = (float) (to.alpha / from.alpha * x[k] - to.sigma * (e - 1) * eps[k] - to.sigma * (e - 1 - h) * e1[k]);
            }
            if (i >= 1) assertTrue(ArrayErrors.relativeError(actual, exact) < FLOAT_TOLERANCE, "step " + i + ": "
                    + ArrayErrors.relativeError(actual, exact));
        }
    }

    /**
     * SDE-DPM-Solver++ of order 1 from x = α_s·x0 + σ_s·ε keeps the marginal: α_t·x0 + σ_t(e^{−h}·ε + √(1 − e^{−2h})·n)
     * for the variance noise n.
     */
    @Test
    void stochasticFirstOrderKeepsTheMarginal() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("algorithm_type", "sde-dpmsolver++", "solver_order", 1,
                "prediction_type", "sample"), 6);
        TorchGenerator g = new TorchGenerator(9);
        float[] x0 = g.randn(16), eps = g.randn(16);
        float[] sigmas = s.sigmas();
        for (int i = 0; i < s.numInferenceSteps() - 1; i++) {
            Level from = Level.of(sigmas[i]), to = Level.of(sigmas[i + 1]);
            float[] x = new float[16], noise = g.randn(16), exact = new float[16];
            for (int k = 0; k < 16; k++) x[k] = (float) (from.alpha * x0[k] + from.sigma * eps[k]);
            double e = Math.exp(-(to.lambda - from.lambda));
            for (int k = 0; k < 16; k++) {
                exact[k] = (float) (to.alpha * x0[k] + to.sigma * (e * eps[k] + Math.sqrt(1 - e * e) * noise[k]));
            }
            float[] actual = s.step(x0, new int[]{16}, i, x, new int[]{16}, null, noise);
            assertTrue(ArrayErrors.relativeError(actual, exact) < FLOAT_TOLERANCE, "step " + i);
        }
    }

    /** Karras: σ^{1/7} evenly spaced from the largest to the smallest training σ. */
    @Test
    void karrasSigmasFollowTheRhoRamp() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("use_karras_sigmas", true, "beta_schedule", "scaled_linear",
                "beta_start", 0.00085, "beta_end", 0.012), 9);
        float[] a = s.alphasCumprod();
        double max = Math.sqrt((1 - a[a.length - 1]) / a[a.length - 1]), min = Math.sqrt((1 - a[0]) / a[0]);
        float[] sigmas = s.sigmas();
        for (int i = 0; i < 9; i++) {
            double r = i / 8.0;
            double expected = Math.pow(Math.pow(max, 1 / 7.0) + r * (Math.pow(min, 1 / 7.0) - Math.pow(max, 1 / 7.0)), 7);
            assertEquals(expected, sigmas[i], 2e-7 * expected, "σ_" + i);
        }
        assertEquals(0f, sigmas[9], "final σ");
    }

    /** Lu's lambdas and exponential sigmas: ln σ evenly spaced between the training extremes. */
    @Test
    void luAndExponentialSigmasAreEvenInLogSigma() {
        for (String option : new String[]{"use_lu_lambdas", "use_exponential_sigmas"}) {
            DpmSolverMultistepScheduler s = scheduler(Map.of(option, true), 7);
            float[] a = s.alphasCumprod();
            double max = Math.log(Math.sqrt((1 - a[a.length - 1]) / a[a.length - 1])), min = Math.log(Math.sqrt((1 - a[0]) / a[0]));
            float[] sigmas = s.sigmas();
            for (int i = 0; i < 7; i++) {
                assertEquals(max + i / 6.0 * (min - max), Math.log(sigmas[i]), 1e-6, option + " ln σ_" + i);
            }
        }
    }

    /** Flow sigmas: s = 1 − a for a = 1/T … 1 (from the noisy end), shifted to shift·s/(1 + (shift − 1)·s); timesteps ⌊σ·T⌋. */
    @Test
    void flowSigmasAreShiftedLinearTimes() {
        double shift = 3.0;
        int steps = 10, trainSteps = 1000;
        DpmSolverMultistepScheduler s = scheduler(Map.of("use_flow_sigmas", true, "flow_shift", shift,
                "prediction_type", "flow_prediction"), steps);
        float[] sigmas = s.sigmas();
        int[] timesteps = s.discreteTimesteps();
        for (int i = 0; i < steps; i++) {
            double t = (double) (steps - i) / steps * (1 - 1.0 / trainSteps);  // 1 − a, from the noisy end
            double expected = shift * t / (1 + (shift - 1) * t);
            assertEquals(expected, sigmas[i], 1e-7, "σ_" + i);
            assertEquals((int) (expected * trainSteps), timesteps[i], 1, "timestep " + i);
        }
        DpmSolverNoiseLevel l = DpmSolverNoiseLevel.of(sigmas[3], true);
        assertEquals(1f - sigmas[3], l.alpha(), "flow α = 1 − σ");
    }

    /** lambda_min_clipped drops the training steps whose λ lies below it; linspace spacing then ends below them. */
    @Test
    void lambdaMinClippedShortensTheRange() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("beta_schedule", "squaredcos_cap_v2", "lambda_min_clipped", -5.1), 10);
        int below = 0;
        for (float l : s.trainingLambdas()) if (l < -5.1f) below++;
        assertTrue(below > 0, "the cosine schedule reaches λ < −5.1");
        int last = 1000 - below;
        // linspace(0, last − 1, 11), rounded and reversed, without its 0
        assertEquals(last - 1, s.discreteTimesteps()[0], "first timestep");
        assertEquals(Math.rint((last - 1) * 9 / 10.0), s.discreteTimesteps()[1], "second timestep");
        assertTrue(s.trainingLambdas()[s.discreteTimesteps()[0]] >= -5.1f, "no timestep with clipped λ");
    }

    /** add_noise is the forward process at the timestep's level: α·x0 + σ·n. */
    @Test
    void addNoiseIsTheForwardProcess() {
        DpmSolverMultistepScheduler s = scheduler(Map.of(), 10);
        float[] a = s.alphasCumprod();
        int t = s.discreteTimesteps()[4];
        float[] x0 = {1f, -2f, 0.5f}, n = {0.3f, 0.1f, -1f};
        float[] noisy = s.addNoise(x0, n, t);
        for (int k = 0; k < 3; k++) assertEquals(Math.sqrt(a[t]) * x0[k] + Math.sqrt(1 - a[t]) * n[k], noisy[k], 1e-6);
    }
}
