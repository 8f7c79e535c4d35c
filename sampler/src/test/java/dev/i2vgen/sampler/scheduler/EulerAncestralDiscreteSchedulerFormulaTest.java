package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** EulerAncestralDiscreteScheduler against independent formulas: the schedule, σ_up/σ_down, the step, the bookkeeping. */
class EulerAncestralDiscreteSchedulerFormulaTest {
    static final int N = 48;

    static EulerAncestralDiscreteScheduler scheduler(Map<String, ?> config) {
        return new EulerAncestralDiscreteScheduler(EulerAncestralDiscreteConfig.fromJson(new ObjectMapper().valueToTree(config)));
    }

    static float[] randn(long seed, double scale) {
        float[] v = new TorchGenerator(seed).randn(N);
        for (int i = 0; i < N; i++) v[i] *= (float) scale;
        return v;
    }

    /**
     * σ_t = √((1 − ᾱ_t)/ᾱ_t) in double from the float32 ᾱ_t (from the betas instead, 1 − ᾱ would differ by the float
     * rounding of ᾱ ≈ 1: 1e-4 relative at t = 0).
     */
    static double trainSigma(EulerAncestralDiscreteScheduler s, int t) {
        double cumprod = 1;
        float[] betas = s.betas();
        for (int i = 0; i <= t; i++) cumprod *= 1 - (double) betas[i];
        float alpha = s.alphasCumprod()[t];
        assertEquals(cumprod, alpha, 1e-6 * cumprod, "ᾱ_" + t + " is the product of 1 − β");
        return Math.sqrt((1 - (double) alpha) / alpha);
    }

    @Test
    void spacingsAndInterpolatedSigmas() {
        EulerAncestralDiscreteScheduler linspace = scheduler(Map.of()).setTimesteps(7);
        float[] t = linspace.timesteps(), sigmas = linspace.sigmas();
        assertEquals(8, sigmas.length);
        assertEquals(0f, sigmas[7], "the schedule ends at σ = 0");
        for (int i = 0; i < 7; i++) {
            double exact = 999.0 * (6 - i) / 6;  // linspace keeps fractional timesteps (166.5, 499.5, …)
            assertEquals((float) exact, t[i], "linspace timestep " + i);
            int low = (int) Math.floor(exact);
            double w = exact - low;
            double expected = low == 999 ? trainSigma(linspace, 999)
                    : (1 - w) * trainSigma(linspace, low) + w * trainSigma(linspace, low + 1);
            assertEquals(expected, sigmas[i], 2e-6 * expected, "σ linearly interpolated at t = " + exact);
        }
        assertEquals(sigmas[0], linspace.initNoiseSigma(), "linspace: init_noise_sigma is σ_max");

        EulerAncestralDiscreteScheduler leading = scheduler(Map.of("timestep_spacing", "leading", "steps_offset", 1)).setTimesteps(7);
        for (int i = 0; i < 7; i++) assertEquals((6 - i) * (1000 / 7) + 1, leading.timesteps()[i], "leading timestep " + i);
        float max = leading.sigmas()[0];
        assertEquals(Math.sqrt(max * (double) max + 1), leading.initNoiseSigma(), 1e-6 * max, "leading: √(σ_max² + 1)");

        EulerAncestralDiscreteScheduler trailing = scheduler(Map.of("timestep_spacing", "trailing")).setTimesteps(7);
        for (int i = 0; i < 7; i++) assertEquals(Math.rint(1000 - i * 1000.0 / 7) - 1, trailing.timesteps()[i], "trailing " + i);
    }

    /** σ_up = σ_next·√(σ² − σ_next²)/σ, σ_down = √(σ_next² − σ_up²): the variances add up to σ_next². */
    @Test
    void ancestralSigmasSplitTheNextVariance() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of("beta_schedule", "scaled_linear", "beta_start", 0.00085,
                "beta_end", 0.012)).setTimesteps(10);
        float[] sigmas = s.sigmas();
        for (int i = 0; i < 10; i++) {
            double from = sigmas[i], to = sigmas[i + 1];
            double up = to * Math.sqrt(from * from - to * to) / from;
            double down = Math.sqrt(to * to - up * up);
            assertEquals(up, s.sigmaUp(i), 1e-6 * from, "σ_up at " + i);
            assertEquals(down, s.sigmaDown(i), 1e-6 * from, "σ_down at " + i);
            double total = (double) s.sigmaUp(i) * s.sigmaUp(i) + (double) s.sigmaDown(i) * s.sigmaDown(i);
            assertEquals(to * to, total, 1e-5 * from * from, "σ_up² + σ_down² = σ_next² at " + i);
            assertTrue(s.sigmaDown(i) <= to && s.sigmaUp(i) <= to, "both at most σ_next");
        }
        assertEquals(0f, s.sigmaUp(9), "the last step adds no noise");
        assertEquals(0f, s.sigmaDown(9), "and lands on σ = 0");
    }

    /**
     * ε-prediction: prev = x + ε·(σ_down − σ) + noise·σ_up with the generator's noise; v-prediction:
     * x0 = x/(σ² + 1) − σv/√(σ² + 1).
     */
    @Test
    void stepsFollowTheirFormulas() {
        for (String prediction : new String[]{"epsilon", "v_prediction"}) {
            EulerAncestralDiscreteScheduler s = scheduler(Map.of("prediction_type", prediction)).setTimesteps(8);
            float[] sigmas = s.sigmas();
            for (int i = 0; i < 8; i++) {
                double sigma = sigmas[i];
                float[] x = randn(10 + i, Math.sqrt(sigma * sigma + 1)), m = randn(40 + i, 1);
                float[] noise = new TorchGenerator(90 + i).randn(N);
                EulerStepResult out = s.stepWithPrediction(m, i, x, new TorchGenerator(90 + i));
                for (int k = 0; k < N; k++) {
                    double x0 = prediction.equals("epsilon") ? x[k] - sigma * m[k]
                            : x[k] / (sigma * sigma + 1) - sigma * m[k] / Math.sqrt(sigma * sigma + 1);
                    double prev = x[k] + (x[k] - x0) / sigma * (s.sigmaDown(i) - sigma) + noise[k] * (double) s.sigmaUp(i);
                    assertEquals(x0, out.predOriginalSample()[k], 2e-6 * (Math.abs(x0) + sigma), prediction + " x0 " + i);
                    assertEquals(prev, out.prevSample()[k], 2e-6 * (Math.abs(prev) + sigma), prediction + " prev " + i);
                }
                assertEquals(i + 1, s.stepIndex().orElseThrow());
            }
        }
    }

    /**
     * With the exact denoiser of data x0 = 0 (ε = x/σ) a step maps N(0, σ²) to N(0, σ_down²) and adds σ_up noise:
     * the result is N(0, σ_next²), the marginal of the next step.
     */
    @Test
    void exactDenoiserKeepsTheMarginals() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of()).setTimesteps(6);
        float[] sigmas = s.sigmas();
        int n = 200_000;
        for (int i = 0; i < 5; i++) {
            float[] x = new TorchGenerator(7 + i).randn(n);
            float[] eps = x.clone();
            for (int k = 0; k < n; k++) x[k] *= sigmas[i];
            float[] prev = s.step(eps, i, x, new TorchGenerator(1000 + i));
            double sumSquares = 0;
            for (float v : prev) sumSquares += (double) v * v;
            double std = Math.sqrt(sumSquares / n);
            assertEquals(sigmas[i + 1], std, 0.01 * sigmas[i + 1], "std after step " + i);
        }
    }

    @Test
    void scaleModelInputDividesBySqrtSigmaSquaredPlusOne() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of()).setTimesteps(5);
        float[] x = randn(3, 10);
        for (int i = 0; i < 5; i++) {
            double sigma = s.sigmas()[i];
            float[] scaled = s.scaleModelInput(x, i);
            for (int k = 0; k < N; k++) assertEquals(x[k] / Math.sqrt(sigma * sigma + 1), scaled[k], 1e-6 * Math.abs(x[k]));
            assertEquals(i, s.stepIndex().orElseThrow(), "the index form sets the step index");
        }
    }

    /** index_for_timestep on first use, then +1 per step; set_begin_index wins; set_timesteps resets both. */
    @Test
    void stepIndexBookkeeping() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of("timestep_spacing", "leading")).setTimesteps(4);
        float[] t = s.timesteps();
        assertTrue(s.stepIndex().isEmpty());
        assertEquals(2, s.indexForTimestep(t[2]));
        assertThrows(IllegalArgumentException.class, () -> s.indexForTimestep(3.5f));
        s.scaleModelInputAtTimestep(randn(1, 1), t[1]);
        assertEquals(1, s.stepIndex().orElseThrow(), "scale_model_input initialises the index from its timestep");
        s.stepAtTimestep(randn(2, 1), t[1], randn(3, 1), new TorchGenerator(0));
        assertEquals(2, s.stepIndex().orElseThrow());
        s.stepAtTimestep(randn(2, 1), 12345f, randn(3, 1), new TorchGenerator(0));
        assertEquals(3, s.stepIndex().orElseThrow(), "once set, the index ignores the timestep (as diffusers)");

        s.setTimesteps(4).setBeginIndex(2);
        assertTrue(s.stepIndex().isEmpty(), "set_timesteps resets the step index");
        s.stepAtTimestep(randn(2, 1), t[0], randn(3, 1), new TorchGenerator(0));
        assertEquals(3, s.stepIndex().orElseThrow(), "the begin index wins over the timestep");
        s.setTimesteps(4);
        assertTrue(s.beginIndex().isEmpty(), "set_timesteps resets the begin index");
        assertThrows(IllegalArgumentException.class, () -> s.step(randn(2, 1), 4, randn(3, 1), new TorchGenerator(0)),
                "no step after the last");
    }

    @Test
    void everyStepDrawsNoiseIncludingTheLast() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of()).setTimesteps(3);
        TorchGenerator g = new TorchGenerator(5);
        float[] x = randn(1, 1);
        for (int i = 0; i < 3; i++) x = s.step(randn(2 + i, 1), i, x, g);
        float[] next = g.randn(N);
        TorchGenerator expected = new TorchGenerator(5);
        for (int i = 0; i < 3; i++) expected.randn(N);
        assertArrayEquals(expected.randn(N), next, "three draws of randn(sample.length), the last step's included");
        assertThrows(IllegalArgumentException.class, () -> s.step(randn(2, 1), 0, randn(3, 1), null), "noise needs a generator");
    }

    @Test
    void samplePredictionIsRefusedAsInDiffusers() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of("prediction_type", "sample")).setTimesteps(3);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> s.step(randn(1, 1), 0, randn(2, 1), new TorchGenerator(0)));
        assertTrue(e.getMessage().endsWith("prediction_type not implemented yet: sample"), e.getMessage());
    }

    @Test
    void addNoiseScalesByTheTimestepsSigma() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of("timestep_spacing", "trailing")).setTimesteps(5);
        float[] x = randn(1, 1), noise = randn(2, 1);
        float sigma = s.sigmas()[3];
        float[] noisy = s.addNoise(x, noise, s.timesteps()[3]);
        for (int k = 0; k < N; k++) assertEquals(x[k] + noise[k] * sigma, noisy[k]);
    }

    /** Zero terminal SNR: ᾱ_T is fp16's smallest subnormal, so σ_max = √(2²⁴ − 1) stays finite. */
    @Test
    void zeroTerminalSnrKeepsSigmaMaxFinite() {
        EulerAncestralDiscreteScheduler s = scheduler(Map.of("rescale_betas_zero_snr", true, "timestep_spacing", "trailing"))
                .setTimesteps(4);
        assertEquals(0x1p-24f, s.alphasCumprod()[999]);
        assertEquals(Math.sqrt((1 - 0x1p-24) / 0x1p-24), s.sigmas()[0], 1e-3);
        assertEquals(s.sigmas()[0], s.initNoiseSigma());
    }
}
