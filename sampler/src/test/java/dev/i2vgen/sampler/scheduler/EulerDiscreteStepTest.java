package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The Euler step: each prediction type and the churn against their formulas; the coefficient form; the step index. */
class EulerDiscreteStepTest {
    static final int N = 40;

    static EulerDiscreteScheduler scheduler(PredictionType prediction, int steps) {
        return new EulerDiscreteScheduler(EulerDiscreteSchedulerFormulaTest.SD.withOverrides(
                Map.of("prediction_type", prediction.configName(), "use_karras_sigmas", true))).setTimesteps(steps);
    }

    static float[] randn(long seed, double scale) {
        float[] v = new TorchGenerator(seed).randn(N);
        for (int i = 0; i < N; i++) v[i] *= (float) scale;
        return v;
    }

    /** x0 and prev in double from the prediction type's definition, with σ̂ = σ (no churn). */
    static double[][] expectedStep(PredictionType p, double sigma, double sigmaNext, float[] x, float[] m) {
        double[] x0 = new double[N], prev = new double[N];
        for (int i = 0; i < N; i++) {
            x0[i] = switch (p) {
                case EPSILON -> x[i] - sigma * m[i];
                case SAMPLE -> m[i];
                case V_PREDICTION -> m[i] * (-sigma / Math.sqrt(sigma * sigma + 1)) + x[i] / (sigma * sigma + 1);
            };
            prev[i] = x[i] + (x[i] - x0[i]) / sigma * (sigmaNext - sigma);
        }
        return new double[][]{x0, prev};
    }

    // delegates rather than a static import: the double[] overload below would hide an imported one
    static double relativeError(float[] actual, float[] expected) {
        return ArrayErrors.relativeError(actual, expected);
    }

    static double relativeError(float[] actual, double[] expected) {
        double num = 0, den = 0;
        for (int i = 0; i < actual.length; i++) {
            num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            den += expected[i] * expected[i];
        }
        return Math.sqrt(num / den);
    }

    @ParameterizedTest
    @EnumSource(PredictionType.class)
    void everyStepFollowsThePredictionTypesFormula(PredictionType p) {
        EulerDiscreteScheduler s = scheduler(p, 10);
        float[] sigmas = s.sigmas();
        for (int k = 0; k < 10; k++) {
            float[] x = randn(10 + k, Math.sqrt(sigmas[k] * sigmas[k] + 1)), m = randn(50 + k, 1);
            double[][] expected = expectedStep(p, sigmas[k], sigmas[k + 1], x, m);
            EulerStepResult out = s.step(m, x);
            assertTrue(relativeError(out.predOriginalSample(), expected[0]) < 1e-5, p + " x0 at step " + k);
            assertTrue(relativeError(out.prevSample(), expected[1]) < 1e-5, p + " prev at step " + k);
        }
        assertEquals(10, s.stepIndex().orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> s.step(randn(1, 1), randn(2, 1)), "no step left");
    }

    /** γ = min(s_churn/(len(σ) − 1), √2 − 1) within [s_tmin, s_tmax]; the noise comes from the generator only then. */
    @Test
    void churnRaisesSigmaWithGeneratorNoise() {
        EulerDiscreteScheduler s = scheduler(PredictionType.EPSILON, 10);
        float[] sigmas = s.sigmas();
        float[] x = randn(1, 5), m = randn(2, 1);
        for (double churn : new double[]{1.0, 80.0}) {
            for (int k : new int[]{0, 4, 9}) {
                EulerChurn args = EulerChurn.of(churn).withNoise(1.003);
                double gamma = Math.min(churn / 10, Math.sqrt(2) - 1);
                double sigmaHat = sigmas[k] * (1 + gamma);
                float[] noise = new TorchGenerator(77).randn(N);
                double[] prev = new double[N];
                for (int i = 0; i < N; i++) {
                    double churned = x[i] + noise[i] * 1.003 * Math.sqrt(sigmaHat * sigmaHat - sigmas[k] * sigmas[k]);
                    prev[i] = churned + m[i] * (sigmas[k + 1] - sigmaHat);
                }
                EulerStepCoefficients c = s.coefficients(k, args);
                assertTrue(c.needsNoise());
                assertEquals(sigmaHat, c.sigmaHat(), 1e-6 * sigmaHat, "σ̂ at step " + k);
                float[] actual = new EulerDiscreteScheduler(s.config()).setTimesteps(10).setBeginIndex(k)
                        .step(m, x, args, new TorchGenerator(77)).prevSample();
                assertTrue(relativeError(actual, prev) < 1e-5, "churn " + churn + " step " + k);
            }
        }
        // outside the window: no churn, and the generator is left untouched
        EulerChurn window = EulerChurn.of(1.0).withWindow(sigmas[5], sigmas[2]);
        assertFalse(s.coefficients(1, window).needsNoise());
        assertTrue(s.coefficients(2, window).needsNoise(), "s_tmax is inclusive");
        assertTrue(s.coefficients(5, window).needsNoise(), "s_tmin is inclusive");
        assertFalse(s.coefficients(6, window).needsNoise());
        TorchGenerator g = new TorchGenerator(5);
        new EulerDiscreteScheduler(s.config()).setTimesteps(10).setBeginIndex(1).step(m, x, window, g);
        assertArrayEquals(new TorchGenerator(5).randn(3), g.randn(3), "no draw outside the window");
        new EulerDiscreteScheduler(s.config()).setTimesteps(10).setBeginIndex(2).step(m, x, window, g.manualSeed(5));
        TorchGenerator advanced = new TorchGenerator(5);
        advanced.randn(N);
        assertArrayEquals(advanced.randn(3), g.randn(3), "one randn(sample.shape) inside the window");
        // s_noise = 0 adds nothing but diffusers still draws the noise
        EulerStepCoefficients silent = s.coefficients(3, EulerChurn.of(1.0).withNoise(0));
        assertTrue(silent.needsNoise());
        assertEquals(0f, silent.c());
        assertThrows(IllegalArgumentException.class, () -> new EulerDiscreteScheduler(s.config()).setTimesteps(10)
                .step(m, x, EulerChurn.of(1.0), null), "churn without a generator");
    }

    /** The device form a·x + b·m + c·noise against the host step, for every prediction type, with and without churn. */
    @ParameterizedTest
    @EnumSource(PredictionType.class)
    void coefficientFormMatchesHostStep(PredictionType p) {
        for (EulerChurn churn : new EulerChurn[]{EulerChurn.NONE, EulerChurn.of(2.0).withNoise(1.003),
                EulerChurn.of(40).withWindow(0.5, 5)}) {
            EulerDiscreteScheduler host = scheduler(p, 25);
            float[] sigmas = host.sigmas();
            for (int k = 0; k < 25; k++) {
                float[] x = randn(100 + k, Math.sqrt(sigmas[k] * sigmas[k] + 1)), m = randn(200 + k, 1);
                EulerStepCoefficients c = host.coefficients(k, churn);
                assertEquals(k, host.stepIndex().orElse(k), "coefficients leave the step index alone");
                float[] noise = c.needsNoise() ? new TorchGenerator(300 + k).randn(N) : null;
                float[] expected = host.step(m, x, churn, new TorchGenerator(300 + k)).prevSample();
                double err = relativeError(c.apply(x, m, noise), expected);
                assertTrue(err <= 1e-6, p + " " + churn + " step " + k + ": relative error " + err);
            }
        }
    }

    /** Where a step cancels most of the sample (σ 700 → 0.002), the forms agree to about an ulp of the sample. */
    @Test
    void coefficientFormOnAHugeStep() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(EulerDiscreteSchedulerFormulaTest.SD.withOverrides(Map.of(
                "prediction_type", "v_prediction", "use_karras_sigmas", true, "sigma_min", 0.002, "sigma_max", 700.0)))
                .setTimesteps(2);
        float[] x = randn(1, 700), m = randn(2, 1);
        float[] linear = s.coefficients(0, EulerChurn.NONE).apply(x, m, null);
        float[] host = s.step(m, x).prevSample();
        double distance = relativeError(linear, host) * ArrayErrors.norm(host);
        assertTrue(distance <= 2 * 0x1p-24 * ArrayErrors.norm(x), "distance " + distance);
    }

    @Test
    void scaleModelInputDividesBySqrtSigmaSquaredPlusOne() {
        EulerDiscreteScheduler s = scheduler(PredictionType.EPSILON, 5);
        float[] x = randn(3, 10);
        float sigma = s.sigmas()[0];
        float divisor = (float) Math.sqrt(sigma * sigma + 1f);
        float[] scaled = s.scaleModelInput(x);
        for (int i = 0; i < N; i++) assertEquals(x[i] / divisor, scaled[i], "element " + i);
        assertEquals(divisor, s.scaleModelInputDivisor(0));
        assertEquals(1f / divisor, s.scaleModelInputFactor(0));
        assertEquals(0, s.stepIndex().orElseThrow(), "scale_model_input initialises the step index");
    }

    /** index_for_timestep picks the second of repeated timesteps; set_begin_index overrides; set_timesteps resets. */
    @Test
    void stepIndexBookkeeping() {
        EulerDiscreteScheduler s = EulerDiscreteSchedulerFormulaTest.scheduler(Map.of()).setCustomTimesteps(999, 999, 500, 20);
        assertTrue(s.stepIndex().isEmpty());
        assertEquals(1, s.indexForTimestep(999));
        assertEquals(2, s.indexForTimestep(500));
        assertThrows(IllegalArgumentException.class, () -> s.indexForTimestep(123));
        s.scaleModelInput(randn(1, 1), 999);
        assertEquals(1, s.stepIndex().orElseThrow(), "a repeated first timestep starts at its second index");
        s.step(randn(2, 1), 999, randn(1, 1), EulerChurn.NONE, null);
        assertEquals(2, s.stepIndex().orElseThrow());

        s.setCustomTimesteps(999, 500, 20).setBeginIndex(1);
        assertTrue(s.stepIndex().isEmpty(), "set_timesteps resets the step index");
        s.step(randn(2, 1), 999, randn(1, 1), EulerChurn.NONE, null);
        assertEquals(2, s.stepIndex().orElseThrow(), "the begin index wins over the timestep");
        s.setTimesteps(4);
        assertTrue(s.beginIndex().isEmpty(), "set_timesteps resets the begin index");
    }

    @Test
    void addNoiseScalesTheNoiseBySigma() {
        EulerDiscreteScheduler s = scheduler(PredictionType.EPSILON, 5);
        float[] x = randn(1, 1), noise = randn(2, 1);
        float t = s.timesteps()[2], sigma = s.sigmas()[2];
        float[] noisy = s.addNoise(x, noise, t);
        for (int i = 0; i < N; i++) assertEquals(x[i] + noise[i] * sigma, noisy[i], "element " + i);
        assertTrue(relativeError(noisy, x) > 0.1, "noise was added");
    }
}
