package dev.i2vgen.sampler.scheduler;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * UniPC against formulas and properties worked out independently of diffusers' code: DDIM as its first-order
 * case, exact trajectories, the order of accuracy on an ODE with a known solution, the B(h) coefficients and the
 * sigma schedules in closed form, and the bookkeeping of orders, corrector and history.
 */
class UniPcMultistepFormulaTest {
    static final Map<String, Object> SD = Map.of("beta_schedule", "scaled_linear", "beta_start", 0.00085, "beta_end", 0.012);
    static final int[] SHAPE = {1, 2, 3};

    static UniPcMultistepScheduler scheduler(Map<String, ?> overrides) {
        return new UniPcMultistepScheduler(UniPcMultistepConfig.defaults().withOverrides(overrides));
    }

    static Map<String, Object> with(Map<String, ?> base, Object... keyValues) {
        Map<String, Object> m = new HashMap<>(base);
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    static float[] gaussian(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    /** (α, σ) of x = α·x0 + σ·ε at a schedule sigma, in double. */
    static double[] alphaSigma(double sigma, boolean flow) {
        if (flow) return new double[]{1 - sigma, sigma};
        double alpha = 1 / Math.sqrt(sigma * sigma + 1);
        return new double[]{alpha, sigma * alpha};
    }

    /**
     * With ε-prediction, order 1 and no corrector, UniPC is DDIM (η = 0): (σ_t/σ_s)·x − α_t·(e^{−h} − 1)·x0
     * = α_t·x0 + σ_t·(x − α_s·x0)/σ_s. Checked against this repository's DdimScheduler on the same trailing
     * timesteps (999, 899, … 99, then ᾱ = 1), for both the x0 and the ε form of the update.
     */
    @Test
    void firstOrderWithoutCorrectorIsDdim() {
        List<Integer> all = IntStream.range(0, 20).boxed().toList();
        DdimScheduler ddim = new DdimScheduler(new DdimConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, false, true, 0,
                PredictionType.EPSILON, false, 0.995, 1.0, 1.0, TimestepSpacing.TRAILING, false)).setTimesteps(10);
        for (boolean predictX0 : new boolean[]{true, false}) {
            UniPcMultistepScheduler unipc = scheduler(Map.of("solver_order", 1, "timestep_spacing", "trailing",
                    "disable_corrector", all, "predict_x0", predictX0)).setTimesteps(10);
            long[] t = unipc.integerTimesteps();
            Random r = new Random(3);
            for (int i = 0; i < 10; i++) {
                assertEquals(ddim.timesteps()[i], t[i], "the same timesteps");
                float[] sample = gaussian(r, 6, 1.0), eps = gaussian(r, 6, 1.0);
                float[] expected = ddim.step(eps, (int) t[i], sample, 0f, null);
                float[] actual = unipc.stepAtTimestep(eps, t[i], sample, SHAPE);
                if (!predictX0 && i == 9) {
                    // diffusers' ε form onto σ = 0: (α_t/α_s)·x − σ_t·(e^h − 1)·ε with σ_t = 0, e^h = ∞ gives NaN
                    for (float v : actual) assertTrue(Float.isNaN(v), "NaN as in diffusers, got " + v);
                    continue;
                }
                double err = ArrayErrors.relativeError(actual, expected);
                assertTrue(err <= 1e-6, "predict_x0=" + predictX0 + " step " + i + ": " + err);
            }
        }
    }

    /**
     * A model that always returns the true ε of one fixed (x0, ε) pair keeps every order, both B(h), both update
     * forms and flow sigmas exactly on the trajectory α_t·x0 + σ_t·ε: the differences D_k vanish, so the higher
     * orders and the corrector add nothing.
     */
    @Test
    void exactModelStaysOnItsTrajectory() {
        Random r = new Random(11);
        float[] x0 = gaussian(r, 6, 0.7), eps = gaussian(r, 6, 1.0);
        List<Map<String, Object>> configs = new ArrayList<>();
        for (int order = 1; order <= 4; order++) {
            for (String solver : new String[]{"bh1", "bh2"}) {
                for (boolean predictX0 : new boolean[]{true, false}) {
                    configs.add(with(SD, "solver_order", order, "solver_type", solver, "predict_x0", predictX0,
                            "final_sigmas_type", "sigma_min"));
                }
            }
        }
        // flow_prediction: x0 = x − σ·v needs no division by α = 1 − σ ≈ 1e-6 at the first flow sigma
        configs.add(Map.of("use_flow_sigmas", true, "flow_shift", 3.0, "solver_order", 3, "final_sigmas_type", "sigma_min",
                "prediction_type", "flow_prediction"));
        configs.add(with(SD, "use_karras_sigmas", true, "solver_order", 3, "prediction_type", "v_prediction"));
        for (Map<String, Object> config : configs) {
            UniPcMultistepScheduler s = scheduler(config).setTimesteps(12);
            boolean flow = s.config().useFlowSigmas();
            float[] sigmas = s.sigmas();
            float[] x = onTrajectory(x0, eps, sigmas[0], flow);
            for (int i = 0; i < 12; i++) {
                double[] as = alphaSigma(sigmas[i], flow);
                float[] model = new float[6];
                for (int j = 0; j < 6; j++) {
                    model[j] = switch (s.config().predictionType()) {
                        case V_PREDICTION -> (float) (as[0] * eps[j] - as[1] * x0[j]);
                        case FLOW_PREDICTION -> eps[j] - x0[j];
                        default -> eps[j];
                    };
                }
                x = s.stepAtTimestep(model, s.integerTimesteps()[i], x, SHAPE);
                float[] expected = onTrajectory(x0, eps, sigmas[i + 1], flow);
                double err = ArrayErrors.relativeError(x, expected);
                assertTrue(err < 2e-5, config + " step " + i + ": " + err);
            }
        }
    }

    static float[] onTrajectory(float[] x0, float[] eps, double sigma, boolean flow) {
        double[] as = alphaSigma(sigma, flow);
        float[] x = new float[x0.length];
        for (int j = 0; j < x.length; j++) x[j] = (float) (as[0] * x0[j] + as[1] * eps[j]);
        return x;
    }

    /**
     * UniPC-p is of order p + 1 (UniC raises UniP's p by one). For data ~ N(0, s²) the probability-flow ODE has the
     * closed-form solution x_σ = √(α²s² + σ²)·z and the ideal denoiser x0 = α·s²·x/(α²s² + σ²); doubling the steps
     * (20 → 40, Karras sigmas) must cut the error by about 2^(p+1).
     */
    @Test
    void convergesWithOrderSolverOrderPlusOne() {
        double[][] minRatio = {{3.0, 6.0, 10.0}, {3.0, 6.0, 16.0}};   // x0 update, ε update; orders 1..3
        for (int form = 0; form < 2; form++) {
            for (int order = 1; order <= 3; order++) {
                for (String solver : new String[]{"bh1", "bh2"}) {
                    Map<String, Object> config = with(SD, "solver_order", order, "solver_type", solver,
                            "predict_x0", form == 0, "prediction_type", "sample", "use_karras_sigmas", true,
                            "final_sigmas_type", "sigma_min");
                    double coarse = gaussianOdeError(config, 20), fine = gaussianOdeError(config, 40);
                    assertTrue(coarse / fine > minRatio[form][order - 1], config + ": error " + coarse + " at 20 steps, "
                            + fine + " at 40: ratio " + coarse / fine);
                }
            }
        }
    }

    static double gaussianOdeError(Map<String, Object> config, int steps) {
        double s2 = 0.25;
        float[] z = {1.3f, -0.7f, 0.4f, 2.0f, -1.1f, 0.05f};
        UniPcMultistepScheduler s = scheduler(config).setTimesteps(steps);
        float[] sigmas = s.sigmas();
        float[] x = scaled(z, marginalStd(sigmas[0], s2));
        for (int i = 0; i < steps; i++) {
            double[] as = alphaSigma(sigmas[i], false);
            float[] denoised = scaled(x, as[0] * s2 / (as[0] * as[0] * s2 + as[1] * as[1]));
            x = s.stepAtTimestep(denoised, s.integerTimesteps()[i], x, SHAPE);
        }
        return ArrayErrors.relativeError(x, scaled(z, marginalStd(sigmas[steps], s2)));
    }

    static double marginalStd(double sigma, double s2) {
        double[] as = alphaSigma(sigma, false);
        return Math.sqrt(as[0] * as[0] * s2 + as[1] * as[1]);
    }

    static float[] scaled(float[] v, double k) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] * k);
        return out;
    }

    /**
     * The coefficients of one update against closed forms in double: B(h) = ĥ (bh1) or e^ĥ − 1 (bh2) with ĥ = −h on
     * x0, b_i = i!·ĥ·φ_{i+1}(ĥ)/B(ĥ) with φ_1(h) = (e^h − 1)/h, φ_{k+1} = (φ_k − 1/k!)/h, and R = the
     * Vandermonde rows of (r_1 … r_{p−1}, 1), r_k = (λ_{s_k} − λ_s0)/h.
     */
    @Test
    void bhCoefficientsMatchClosedForms() {
        float[] sigmas = {14.6f, 6.0f, 3.1f, 1.7f, 0.9f, 0.4f};
        for (UniPcSolverType type : UniPcSolverType.values()) {
            for (boolean predictX0 : new boolean[]{true, false}) {
                UniPcUpdate u = UniPcUpdate.of(sigmas, 4, 3, 4, false, predictX0, type);
                double lambdaS0 = lambda(sigmas[3]);
                double h = lambda(sigmas[4]) - lambdaS0;
                double hh = predictX0 ? -h : h;
                double bh = type == UniPcSolverType.BH1 ? hh : Math.expm1(hh);
                assertEquals(bh, u.bH(), 1e-5 * Math.abs(bh), type + " B(h)");
                assertEquals(Math.expm1(hh), u.hPhi1(), 1e-5 * Math.abs(hh), "h·φ_1");
                double phi = Math.expm1(hh) / hh, factorial = 1;   // φ_1, 0!
                for (int i = 1; i <= 4; i++) {
                    factorial *= i;
                    phi = (phi - 1 / factorial) / hh;   // φ_{i+1} = (φ_i − 1/i!)/ĥ
                    double expected = factorial * hh * phi / bh;
                    // the float32 recurrence cancels: it loses about (i + 1)/|ĥ| ≈ 5–8 per level (measured 1e-7 … 3e-5)
                    double tolerance = 1e-7 * Math.pow(8, i);
                    assertEquals(expected, u.b()[i - 1], tolerance * Math.abs(expected), type + " x0=" + predictX0 + " b_" + i);
                }
                double[] rk = new double[4];
                for (int k = 1; k < 4; k++) rk[k - 1] = (lambda(sigmas[3 - k]) - lambdaS0) / h;
                rk[3] = 1;
                for (int i = 0; i < 4; i++) {
                    for (int k = 0; k < 4; k++) {
                        double expected = Math.pow(rk[k], i);
                        assertEquals(expected, u.r()[i][k], 1e-5 * Math.max(1, Math.abs(expected)), "R[" + i + "][" + k + "]");
                    }
                }
            }
        }
    }

    static double lambda(double sigma) {
        double[] as = alphaSigma(sigma, false);
        return Math.log(as[0]) - Math.log(as[1]);
    }

    /** diffusers' order-1 corrector and order-2 predictor use ρ = ½: the small-step limit of b_1 for either B(h). */
    @Test
    void halfIsTheSmallStepLimitOfB1() {
        for (UniPcSolverType type : UniPcSolverType.values()) {
            UniPcUpdate u = UniPcUpdate.of(new float[]{1.0f, 0.99f}, 1, 0, 1, false, true, type);
            assertEquals(0.5, u.b()[0], 5e-3, type + ": b_1 for h → 0");
            assertArrayEquals(new float[]{0.5f}, u.correctorRhos(), "order-1 UniC");
            assertArrayEquals(new float[]{0.5f}, UniPcUpdate.of(new float[]{3f, 2f, 1f}, 2, 1, 2, false, true, type).predictorRhos(),
                    "order-2 UniP");
        }
    }

    /** torch.pow's integer exponents: exact products up to 3, one rounding of pow beyond. */
    @Test
    void integerPowersRoundAsTorch() {
        float x = -0.7f;
        assertEquals(1f, UniPcUpdate.power(Float.NaN, 0));
        assertEquals(x, UniPcUpdate.power(x, 1));
        assertEquals(x * x, UniPcUpdate.power(x, 2));
        assertEquals(x * x * x, UniPcUpdate.power(x, 3));
        assertEquals((float) Math.pow(x, 5), UniPcUpdate.power(x, 5));
    }

    /** Karras et al.'s ρ = 7 ramp between the training extremes (or sigma_min/sigma_max), then the final sigma. */
    @Test
    void karrasSigmasFollowTheRamp() {
        UniPcMultistepScheduler s = scheduler(with(SD, "use_karras_sigmas", true)).setTimesteps(8);
        float[] train = new UniPcMultistepScheduler(UniPcMultistepConfig.defaults().withOverrides(SD)).sigmas();
        checkKarras(s.sigmas(), train[0], train[train.length - 1], 8);
        assertEquals(0f, s.sigmas()[8], "final sigma zero");
        long[] t = s.integerTimesteps();
        assertEquals(999, t[0]);
        for (int i = 1; i < t.length; i++) assertTrue(t[i] <= t[i - 1], "timesteps descend");

        UniPcMultistepScheduler ranged = scheduler(with(SD, "use_karras_sigmas", true, "sigma_min", 0.03,
                "sigma_max", 14.0, "final_sigmas_type", "sigma_min")).setTimesteps(5);
        checkKarras(ranged.sigmas(), 0.03, 14.0, 5);
        assertEquals(ranged.sigmas()[4], ranged.sigmas()[5], "sigma_min repeats the last Karras sigma");
    }

    static void checkKarras(float[] sigmas, double min, double max, int n) {
        for (int i = 0; i < n; i++) {
            double ramp = (double) i / (n - 1);
            double expected = Math.pow(Math.pow(max, 1 / 7.0) + ramp * (Math.pow(min, 1 / 7.0) - Math.pow(max, 1 / 7.0)), 7);
            assertEquals(expected, sigmas[i], 1e-6 * expected, "Karras sigma " + i);
        }
    }

    /** Flow sigmas: linspace(1, 1/T) shifted by s·σ/(1 + (s − 1)·σ), the first nudged below 1, timesteps ⌊σ·T⌋. */
    @Test
    void flowSigmasAndTheirShifts() {
        UniPcMultistepScheduler s = scheduler(Map.of("use_flow_sigmas", true, "flow_shift", 3.0)).setTimesteps(4);
        float[] sigmas = s.sigmas();
        double[] base = {1, 1 - 0.999 / 4, 1 - 2 * 0.999 / 4, 1 - 3 * 0.999 / 4};
        for (int i = 0; i < 4; i++) {
            double expected = i == 0 ? 1 - 1e-6 : 3 * base[i] / (1 + 2 * base[i]);
            assertEquals(expected, sigmas[i], 1e-6, "flow sigma " + i);
            assertEquals((long) Math.floor((float) expected * 1000.0), s.integerTimesteps()[i], 1, "timestep " + i);
        }
        assertEquals(0f, sigmas[4]);

        double mu = 0.8;
        float[] exponential = scheduler(Map.of("use_flow_sigmas", true, "use_dynamic_shifting", true)).setTimesteps(4, mu).sigmas();
        float[] linear = scheduler(Map.of("use_flow_sigmas", true, "use_dynamic_shifting", true, "time_shift_type", "linear"))
                .setTimesteps(4, mu).sigmas();
        for (int i = 1; i < 4; i++) {
            assertEquals(Math.exp(mu) / (Math.exp(mu) + 1 / base[i] - 1), exponential[i], 1e-6, "exponential shift " + i);
            assertEquals(mu / (mu + 1 / base[i] - 1), linear[i], 1e-6, "linear shift " + i);
        }
        float[] terminal = scheduler(Map.of("use_flow_sigmas", true, "shift_terminal", 0.1)).setTimesteps(5).sigmas();
        assertEquals(0.1f, terminal[4], 1e-7, "shift_terminal is the last step's sigma");

        float[] custom = scheduler(Map.of("use_flow_sigmas", true)).setTimesteps(null, new double[]{0.9, 0.5, 0.2}, null).sigmas();
        assertArrayEquals(new float[]{0.9f, 0.5f, 0.2f, 0f}, custom, "custom sigmas, unshifted, then zero");
    }

    /** lower_order_final lowers the order over the last steps; the warm-up raises it one step at a time. */
    @Test
    void ordersWarmUpAndLowerAtTheEnd() {
        assertArrayEquals(new int[]{1, 2, 3, 3, 2, 1}, orders(Map.of("solver_order", 3), 6));
        assertArrayEquals(new int[]{1, 2, 3, 3, 3, 3}, orders(Map.of("solver_order", 3, "lower_order_final", false,
                "final_sigmas_type", "sigma_min"), 6));
        assertArrayEquals(new int[]{1, 1}, orders(Map.of("solver_order", 3), 2));
        assertArrayEquals(new int[]{1, 2, 2, 2, 1}, orders(Map.of(), 5));
    }

    static int[] orders(Map<String, ?> config, int steps) {
        UniPcMultistepScheduler s = scheduler(config).setTimesteps(steps);
        int[] out = new int[steps];
        Random r = new Random(1);
        float[] x = gaussian(r, 6, 1);
        for (int i = 0; i < steps; i++) {
            x = s.stepAtTimestep(gaussian(r, 6, 1), s.integerTimesteps()[i], x, SHAPE);
            out[i] = s.lastPredictorOrder();
        }
        return out;
    }

    /** disable_corrector = [k]: the step after step k takes its sample as given, as a run without any corrector does. */
    @Test
    void disabledCorrectorLeavesThatSampleAlone() {
        float[][] corrected = run(with(SD, "solver_order", 3), 6);
        float[][] skip2 = run(with(SD, "solver_order", 3, "disable_corrector", List.of(2)), 6);
        float[][] none = run(with(SD, "solver_order", 3, "disable_corrector", List.of(0, 1, 2, 3, 4, 5)), 6);
        for (int i = 0; i < 3; i++) assertArrayEquals(corrected[i], skip2[i], "steps 0–2 are unaffected, step " + i);
        assertArrayEquals(none[3], skip2[3], "step 3 is not corrected");
        assertFalse(Arrays.equals(corrected[3], skip2[3]), "while the corrector changes it otherwise");
        assertFalse(Arrays.equals(none[1], corrected[1]), "the corrector acts from step 1 on");
        assertArrayEquals(none[0], corrected[0], "never on the first step");
    }

    /** Each step's output from fixed inputs (not chained, so that runs differ only by the scheduler's own state). */
    static float[][] run(Map<String, ?> config, int steps) {
        UniPcMultistepScheduler s = scheduler(config).setTimesteps(steps);
        Random r = new Random(5);
        float[][] out = new float[steps][];
        for (int i = 0; i < steps; i++) out[i] = s.stepAtTimestep(gaussian(r, 6, 1), s.integerTimesteps()[i], gaussian(r, 6, 1), SHAPE);
        return out;
    }

    /** setTimesteps clears the history: a second run repeats the first; the Scheduler view is the same scheduler. */
    @Test
    void schedulerInterfaceAndReset() {
        UniPcMultistepScheduler s = scheduler(with(SD, "solver_order", 3));
        Scheduler view = s;
        assertEquals("UniPCMultistepScheduler", view.className());
        assertEquals(1f, view.initNoiseSigma());
        float[][] first = run(with(SD, "solver_order", 3), 5);
        for (int repeat = 0; repeat < 2; repeat++) {
            view.setTimesteps(5);
            Random r = new Random(5);
            for (int i = 0; i < 5; i++) {
                float[] model = gaussian(r, 6, 1), sample = gaussian(r, 6, 1);
                assertSame(sample, view.scaleModelInput(sample, i), "no input scaling");
                assertArrayEquals(first[i], view.step(model, i, sample, null), "run " + repeat + " step " + i);
            }
        }
        s.setTimesteps(5);
        Random r = new Random(5);
        for (int i = 0; i < 5; i++) {
            float[] model = gaussian(r, 6, 1), sample = gaussian(r, 6, 1);
            assertArrayEquals(first[i], s.step(model, sample, SHAPE), "step at the current index, step " + i);
        }
        assertEquals(5, view.timesteps().length);
        assertEquals(5, s.integerTimesteps().length);
        for (int i = 0; i < 5; i++) assertEquals((float) s.integerTimesteps()[i], view.timesteps()[i]);
    }

    /** diffusers' index_for_timestep: the second of repeated timesteps, the last index for an absent one. */
    @Test
    void indexForTimestep() {
        UniPcMultistepScheduler s = scheduler(with(SD, "prediction_type", "v_prediction", "use_karras_sigmas", true,
                "sigma_min", 0.002, "sigma_max", 700.0, "timestep_spacing", "leading", "steps_offset", 1)).setTimesteps(6);
        long[] t = s.integerTimesteps();
        assertEquals(t[0], t[1], "sigma_max beyond the training sigmas repeats timestep 999");
        assertEquals(1, s.indexForTimestep(t[0]));
        assertEquals(5, s.indexForTimestep(123456));
        assertEquals(3, s.indexForTimestep(t[3]));
    }

    /** add_noise: α_t·x0 + σ_t·ε at the timestep's sigma (α, σ from the VP or flow sigma). */
    @Test
    void addNoiseAtTheTimestepsSigma() {
        float[] x0 = {1f, -2f, 0.5f}, eps = {0.3f, 0.1f, -1f};
        for (Map<String, Object> config : List.of(with(SD), Map.<String, Object>of("use_flow_sigmas", true, "flow_shift", 2.0))) {
            UniPcMultistepScheduler s = scheduler(config).setTimesteps(5);
            long t = s.integerTimesteps()[2];
            double[] as = alphaSigma(s.sigmas()[2], s.config().useFlowSigmas());
            float[] noisy = s.addNoise(x0, eps, t);
            for (int i = 0; i < 3; i++) assertEquals(as[0] * x0[i] + as[1] * eps[i], noisy[i], 1e-6, config + " value " + i);
            s.setBeginIndex(4);
            double[] atBegin = alphaSigma(s.sigmas()[4], s.config().useFlowSigmas());
            assertEquals(atBegin[0] * x0[0] + atBegin[1] * eps[0], s.addNoise(x0, eps, t)[0], 1e-6, "the begin index wins");
        }
    }

    /** Thresholding with sample_max_value 1 clips x0 to [−1, 1] when every |x0| exceeds 1. */
    @Test
    void thresholdingClipsThePredictedSample() {
        Map<String, Object> base = Map.of("prediction_type", "sample", "solver_order", 2);
        UniPcMultistepScheduler thresholded = scheduler(with(base, "thresholding", true)).setTimesteps(4);
        UniPcMultistepScheduler clipped = scheduler(base).setTimesteps(4);
        Random r = new Random(9);
        int[] shape = {2, 3};
        for (int i = 0; i < 4; i++) {
            float[] model = new float[6], clip = new float[6];
            for (int j = 0; j < 6; j++) {
                model[j] = (float) ((1.5 + r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
                clip[j] = Math.signum(model[j]);
            }
            float[] sample = gaussian(r, 6, 1);
            long t = thresholded.integerTimesteps()[i];
            assertArrayEquals(clipped.stepAtTimestep(clip, t, sample, shape), thresholded.stepAtTimestep(model, t, sample, shape), "step " + i);
        }
    }
}
