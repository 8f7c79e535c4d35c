package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DDPMScheduler against independent formulas (Ho et al. 2020): the posterior variance and mean, the variance types,
 * the beta schedules, the spacings, x0 recovery from the forward process, clipping and thresholding.
 */
class DdpmSchedulerFormulaTest {
    static final int N = 40;

    static DdpmScheduler scheduler(Map<String, ?> config) {
        return new DdpmScheduler(DdpmConfig.fromJson(new ObjectMapper().valueToTree(config)));
    }

    static Map<String, Object> with(Map<String, ?> base, Object... keyValues) {
        Map<String, Object> m = new HashMap<>(base);
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    static float[] randn(long seed, double scale) {
        float[] v = new TorchGenerator(seed).randn(N);
        for (int i = 0; i < N; i++) v[i] *= (float) scale;
        return v;
    }

    /** ᾱ in double from the betas. */
    static double[] alphaBar(float[] betas) {
        double[] out = new double[betas.length];
        double p = 1;
        for (int i = 0; i < betas.length; i++) out[i] = p *= 1 - (double) betas[i];
        return out;
    }

    /**
     * Before set_timesteps the chain is every training step: β_t is the training β and
     * β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t.
     */
    @Test
    void posteriorVarianceOfTheFullChain() {
        DdpmScheduler s = scheduler(Map.of());
        float[] betas = s.betas();
        double[] a = alphaBar(betas);
        for (int t : new int[]{1, 2, 10, 100, 500, 999}) {
            assertEquals(t - 1, s.previousTimestep(t));
            assertEquals(betas[t], s.currentBeta(t), 2e-3 * betas[t], "β_" + t);  // 1 − ᾱ_t/ᾱ_{t−1} in float32
            double posterior = (1 - a[t - 1]) / (1 - a[t]) * betas[t];
            assertEquals(posterior, s.posteriorVariance(t), 2e-3 * posterior, "β̃_" + t);
            assertTrue(s.posteriorVariance(t) < s.currentBeta(t), "β̃ < β");
        }
        // t = 0: ᾱ_prev = 1, so β̃_0 = 0, clamped to 1e-20 for the logarithms
        assertEquals((float) 1e-20, s.posteriorVariance(0));
    }

    /** After set_timesteps β_t spans the skipped steps: 1 − ᾱ_t/ᾱ_prev with prev the next scheduled timestep. */
    @Test
    void skippedStepsAndTheirPosteriorMean() {
        DdpmScheduler s = scheduler(Map.of("clip_sample", false)).setTimesteps(10);
        assertArrayEquals(new int[]{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}, s.timestepValues());
        float[] ac = s.alphasCumprod();
        for (int i = 0; i < 10; i++) {
            int t = s.timestepValues()[i];
            int prevT = i < 9 ? s.timestepValues()[i + 1] : -1;
            assertEquals(prevT, s.previousTimestep(t));
            double aT = ac[t], aPrev = prevT >= 0 ? ac[prevT] : 1.0;
            double beta = 1 - aT / aPrev;
            float[] x = randn(i, 1), eps = randn(100 + i, 1);
            float[] noise = new TorchGenerator(200 + i).randn(N);
            DdpmOutput out = s.stepWithPrediction(eps, i, x, new TorchGenerator(200 + i));
            double c0 = Math.sqrt(aPrev) * beta / (1 - aT), c1 = Math.sqrt(aT / aPrev) * (1 - aPrev) / (1 - aT);
            double std = t > 0 ? Math.sqrt(Math.max((1 - aPrev) / (1 - aT) * beta, 1e-20)) : 0;
            for (int k = 0; k < N; k++) {
                double x0 = (x[k] - Math.sqrt(1 - aT) * eps[k]) / Math.sqrt(aT);
                assertEquals(x0, out.predOriginalSample()[k], 1e-5 * (1 + Math.abs(x0)), "x0 at " + t);
                double mean = c0 * x0 + c1 * x[k];
                assertEquals(mean + std * noise[k], out.prevSample()[k], 2e-5 * (1 + Math.abs(mean)), "prev at " + t);
            }
        }
    }

    /**
     * x_t = √ᾱ·x0 + √(1 − ᾱ)·ε (add_noise); the true ε, v = √ᾱ·ε − √(1 − ᾱ)·x0 (get_velocity) or x0 recover x0.
     */
    @Test
    void everyPredictionTypeRecoversX0FromTheForwardProcess() {
        for (String p : new String[]{"epsilon", "v_prediction", "sample"}) {
            DdpmScheduler s = scheduler(Map.of("prediction_type", p, "clip_sample", false)).setTimesteps(20);
            float[] x0 = randn(1, 0.5), eps = randn(2, 1);
            for (int i : new int[]{0, 7, 19}) {
                int t = s.timestepValues()[i];
                float[] xt = s.addNoise(x0, eps, t);
                double a = s.alphasCumprod()[t];
                for (int k = 0; k < N; k++) assertEquals(Math.sqrt(a) * x0[k] + Math.sqrt(1 - a) * eps[k], xt[k], 1e-6);
                float[] model = switch (p) {
                    case "epsilon" -> eps;
                    case "v_prediction" -> s.velocity(x0, eps, t);
                    default -> x0;
                };
                float[] recovered = s.stepWithPrediction(model, i, xt, new TorchGenerator(3)).predOriginalSample();
                for (int k = 0; k < N; k++) assertEquals(x0[k], recovered[k], p.equals("epsilon") ? 2e-4 : 1e-5, p + " at t=" + t);
            }
        }
    }

    /**
     * The variance types against their definitions: fixed_small √β̃, fixed_small_log exp(½ ln β̃) (the same),
     * fixed_large √β, fixed_large_log NaN (diffusers' √ ln β), learned √v, learned_range exp(½(f ln β + (1−f) ln β̃))
     * with f = (v + 1)/2, which is √β at v = 1 and √β̃ at v = −1.
     */
    @Test
    void varianceTypes() {
        Map<String, Object> base = Map.of("clip_sample", false);
        int i = 3;
        float[] x = randn(1, 1), eps = randn(2, 1), noise = new TorchGenerator(9).randn(N);
        DdpmScheduler reference = scheduler(base).setTimesteps(10);
        int t = reference.timestepValues()[i];
        double small = Math.sqrt(reference.posteriorVariance(t)), large = Math.sqrt(reference.currentBeta(t));
        float[] mean = reference.stepWithPrediction(eps, i, x, new TorchGenerator(9)).prevSample();
        for (int k = 0; k < N; k++) mean[k] -= (float) small * noise[k];

        assertNoiseScale(scheduler(with(base, "variance_type", "fixed_small_log")), eps, x, mean, noise, small, "fixed_small_log");
        assertNoiseScale(scheduler(with(base, "variance_type", "fixed_large")), eps, x, mean, noise, large, "fixed_large");
        float[] nan = scheduler(with(base, "variance_type", "fixed_large_log")).setTimesteps(10)
                .stepWithPrediction(eps, i, x, new TorchGenerator(9)).prevSample();
        for (float v : nan) assertTrue(Float.isNaN(v), "fixed_large_log: √ of a negative log, as diffusers");

        float[] withVariance = new float[2 * N];
        System.arraycopy(eps, 0, withVariance, 0, N);
        for (int k = 0; k < N; k++) withVariance[N + k] = 0.04f;
        assertNoiseScale(scheduler(with(base, "variance_type", "learned")), withVariance, x, mean, noise, 0.2, "learned");
        for (int k = 0; k < N; k++) withVariance[N + k] = 1f;
        DdpmScheduler learnedRange = scheduler(with(base, "variance_type", "learned_range"));
        assertNoiseScale(learnedRange, withVariance, x, mean, noise, large, "learned_range v=1");
        for (int k = 0; k < N; k++) withVariance[N + k] = -1f;
        assertNoiseScale(learnedRange, withVariance, x, mean, noise, small, "learned_range v=-1");

        DdpmScheduler learned = scheduler(with(base, "variance_type", "learned")).setTimesteps(10);
        assertThrows(IllegalArgumentException.class, () -> learned.step(eps, i, x, new TorchGenerator(9)),
                "a learned variance needs the model's variance channels");
        assertEquals(x.length, learned.step(eps, 9, x, null).length, "not at t = 0, where no noise is added");
    }

    private static void assertNoiseScale(DdpmScheduler s, float[] model, float[] x, float[] mean, float[] noise,
                                         double std, String what) {
        float[] prev = s.setTimesteps(10).stepWithPrediction(model, 3, x, new TorchGenerator(9)).prevSample();
        for (int k = 0; k < N; k++) assertEquals(mean[k] + std * noise[k], prev[k], 1e-5 * (1 + Math.abs(prev[k])), what + " " + k);
    }

    /** The learned variance is split along dimension 1, per batch item. */
    @Test
    void learnedVarianceSplitsChannelsPerBatchItem() {
        DdpmScheduler s = scheduler(Map.of("variance_type", "learned", "clip_sample", false, "prediction_type", "sample"))
                .setTimesteps(10);
        int batch = 2, half = 6;  // sample [2, 3, 2]; model [2, 6, 2]
        float[] sample = new float[batch * half], model = new float[2 * batch * half];
        for (int b = 0; b < batch; b++) {
            for (int k = 0; k < half; k++) {
                model[2 * b * half + k] = 10 * b + k;         // the prediction: x0
                model[2 * b * half + half + k] = 0.25f;       // the variance: std 0.5
            }
        }
        DdpmOutput out = s.stepAtTimestep(model, 900, sample, new int[]{batch, 3, 2}, new TorchGenerator(1));
        for (int b = 0; b < batch; b++) {
            for (int k = 0; k < half; k++) assertEquals(10 * b + k, out.predOriginalSample()[b * half + k]);
        }
    }

    @Test
    void clippingAndThresholding() {
        float[] big = new float[N];
        for (int k = 0; k < N; k++) big[k] = (k - N / 2) * 0.1f;  // −2.0 … 1.9
        DdpmScheduler clip = scheduler(Map.of("prediction_type", "sample", "clip_sample_range", 0.5)).setTimesteps(5);
        float[] x0 = clip.stepWithPrediction(big, 0, new float[N], new TorchGenerator(0)).predOriginalSample();
        for (int k = 0; k < N; k++) assertEquals(Math.max(-0.5f, Math.min(0.5f, big[k])), x0[k]);

        // per item: s = clamp(quantile(|x0|, 0.9), 1, 1.5), x0 ← clamp(x0, −s, s)/s
        DdpmScheduler threshold = scheduler(Map.of("prediction_type", "sample", "thresholding", true,
                "dynamic_thresholding_ratio", 0.9, "sample_max_value", 1.5)).setTimesteps(5);
        float[] model = new float[2 * N];
        for (int k = 0; k < N; k++) {
            model[k] = big[k];             // |x0| quantile ≈ 1.8 → s = 1.5
            model[N + k] = big[k] * 0.25f; // all |x0| ≤ 0.5 → s = 1
        }
        float[] out = threshold.stepAtTimestep(model, threshold.timestepValues()[0], new float[2 * N], new int[]{2, N},
                new TorchGenerator(0)).predOriginalSample();
        for (int k = 0; k < N; k++) {
            assertEquals(Math.max(-1.5f, Math.min(1.5f, big[k])) / 1.5f, out[k], 1e-6, "item 0 scaled by s = 1.5");
            assertEquals(big[k] * 0.25f, out[N + k], 1e-6, "item 1 untouched (s = 1)");
        }
    }

    @Test
    void spacings() {
        assertArrayEquals(new int[]{852, 710, 568, 426, 284, 142, 0},
                scheduler(Map.of()).setTimesteps(7).timestepValues(), "leading: k·(T // n)");
        assertArrayEquals(new int[]{853, 711, 569, 427, 285, 143, 1},
                scheduler(Map.of("steps_offset", 1)).setTimesteps(7).timestepValues(), "leading + steps_offset");
        assertArrayEquals(new int[]{999, 856, 713, 570, 428, 285, 142},
                scheduler(Map.of("timestep_spacing", "trailing")).setTimesteps(7).timestepValues(), "trailing");
        // 999·k/6 = 0, 166.5, 333, 499.5, …: numpy rounds half to even
        assertArrayEquals(new int[]{999, 832, 666, 500, 333, 166, 0},
                scheduler(Map.of("timestep_spacing", "linspace")).setTimesteps(7).timestepValues(), "linspace");
    }

    /** sigmoid: β = σ(x)·(end − start) + start over x = −6 … 6; laplace: β from ᾱ(τ) = √(e^λ/(1 + e^λ)). */
    @Test
    void sigmoidAndLaplaceBetas() {
        float[] sigmoid = scheduler(Map.of("beta_schedule", "sigmoid")).betas();
        for (int i = 0; i < 1000; i += 111) {
            double x = -6 + 12.0 * i / 999;
            double expected = 1 / (1 + Math.exp(-x)) * (0.02 - 0.0001) + 0.0001;
            assertEquals(expected, sigmoid[i], 1e-6 * expected, "sigmoid β_" + i);
        }
        float[] laplace = scheduler(Map.of("beta_schedule", "laplace", "num_train_timesteps", 100)).betas();
        for (int i = 0; i < 100; i += 9) {
            double expected = Math.min(1 - laplaceAlphaBar((i + 1) / 100.0) / laplaceAlphaBar(i / 100.0), 0.999);
            assertEquals(expected, laplace[i], 1e-6 * expected, "laplace β_" + i);
        }
    }

    private static double laplaceAlphaBar(double t) {
        double lambda = t < 0.5 ? -0.5 * Math.log(2 * t + 1e-6) : 0.5 * Math.log(2 - 2 * t + 1e-6);
        return Math.sqrt(1 / (1 + Math.exp(-lambda)));
    }

    @Test
    void noNoiseAtTimestepZero() {
        DdpmScheduler s = scheduler(Map.of()).setTimesteps(4);
        TorchGenerator g = new TorchGenerator(4);
        s.step(randn(1, 1), 3, randn(2, 1), g);   // t = 0
        assertArrayEquals(new TorchGenerator(4).randn(N), g.randn(N), "the generator was not used");
        assertThrows(IllegalArgumentException.class, () -> s.step(randn(1, 1), 0, randn(2, 1), null));
    }

    @Test
    void customTimesteps() {
        DdpmScheduler s = scheduler(Map.of()).setTimesteps(5);
        s.setCustomTimesteps(700, 300, 0);
        assertTrue(s.customTimesteps());
        assertEquals(5, s.numInferenceSteps().orElseThrow(), "custom timesteps leave num_inference_steps, as diffusers");
        assertEquals(300, s.previousTimestep(700));
        assertEquals(-1, s.previousTimestep(0));
        assertThrows(IllegalArgumentException.class, () -> s.previousTimestep(500));
        assertThrows(IllegalArgumentException.class, () -> s.setCustomTimesteps());
        assertThrows(IllegalArgumentException.class, () -> s.setCustomTimesteps(10, -1001), "beyond torch's index range");
        assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(null, null));
    }
}
