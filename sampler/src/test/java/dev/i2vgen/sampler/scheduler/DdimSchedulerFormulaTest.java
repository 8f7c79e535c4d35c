package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Every option against an independent double-precision evaluation of the DDIM formulas on random data. */
class DdimSchedulerFormulaTest {

    private static DdimConfig config(String json) {
        try {
            return DdimConfig.fromJson(new ObjectMapper().readTree(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
    }

    private static double[] doubleBetas(BetaSchedule schedule, int n, double b0, double b1) {
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            double f = (double) i / (n - 1);
            b[i] = switch (schedule) {
                case LINEAR -> b0 + f * (b1 - b0);
                case SCALED_LINEAR -> Math.pow(Math.sqrt(b0) + f * (Math.sqrt(b1) - Math.sqrt(b0)), 2);
                case SQUAREDCOS_CAP_V2 -> Math.min(1 - Math.pow(Math.cos(((i + 1.0) / n + 0.008) / 1.008 * Math.PI / 2), 2)
                        / Math.pow(Math.cos(((double) i / n + 0.008) / 1.008 * Math.PI / 2), 2), 0.999);
            };
        }
        return b;
    }

    private static double[] doubleCumprod(double[] betas) {
        double[] a = new double[betas.length];
        double acc = 1;
        for (int i = 0; i < a.length; i++) a[i] = acc *= (1 - betas[i]);
        return a;
    }

    @ParameterizedTest
    @EnumSource(BetaSchedule.class)
    void betaSchedules(BetaSchedule schedule) {
        for (boolean rescale : new boolean[]{false, true}) {
            DdimScheduler s = new DdimScheduler(config("{\"beta_schedule\":\"" + schedule.configName() + "\",\"beta_start\":0.00085,"
                    + "\"beta_end\":0.012,\"rescale_betas_zero_snr\":" + rescale + "}"));
            double[] betas = doubleBetas(schedule, 1000, 0.00085, 0.012);
            double[] cum = doubleCumprod(betas);
            if (rescale) {
                // Lin et al. Algorithm 1 on √ᾱ, written directly on ᾱ
                double s0 = Math.sqrt(cum[0]), sT = Math.sqrt(cum[999]);
                for (int i = 0; i < 1000; i++) cum[i] = Math.pow((Math.sqrt(cum[i]) - sT) * s0 / (s0 - sT), 2);
            } else {
                float[] fb = s.betas();
                for (int i = 0; i < 1000; i++) assertEquals(betas[i], fb[i], 2e-6 * betas[i], schedule + " beta " + i);
            }
            float[] a = s.alphasCumprod();
            for (int i = 0; i < 1000; i++) assertEquals(cum[i], a[i], 2e-6, schedule + " rescale=" + rescale + " alphas_cumprod " + i);
            if (rescale) assertEquals(0f, a[999]);
        }
    }

    @Test
    void trainedBetasOverrideTheSchedule() {
        double[] b = new double[10];
        Random r = new Random(3);
        for (int i = 0; i < 10; i++) b[i] = 0.001 + 0.05 * r.nextDouble();
        DdimScheduler s = new DdimScheduler(config("{\"num_train_timesteps\":10,\"beta_schedule\":\"squaredcos_cap_v2\",\"trained_betas\":"
                + Arrays.toString(b) + "}"));
        double[] cum = doubleCumprod(b);
        float[] a = s.alphasCumprod();
        for (int i = 0; i < 10; i++) assertEquals(cum[i], a[i], 1e-6 * cum[i]);
    }

    @Test
    void timestepSpacings() {
        for (int n : new int[]{1, 2, 3, 7, 10, 25, 50, 333, 999, 1000}) {
            int[] leading = new DdimScheduler(config("{\"steps_offset\":1}")).setTimesteps(n).timesteps();
            int[] trailing = new DdimScheduler(config("{\"timestep_spacing\":\"trailing\"}")).setTimesteps(n).timesteps();
            int[] linspace = new DdimScheduler(config("{\"timestep_spacing\":\"linspace\"}")).setTimesteps(n).timesteps();
            assertEquals(n, leading.length);
            assertEquals(n, trailing.length, "trailing length for " + n);
            assertEquals(n, linspace.length);
            for (int k = 0; k < n; k++) {
                assertEquals((n - 1 - k) * (1000 / n) + 1, leading[k], "leading " + n + "/" + k);
                assertEquals((int) Math.rint(1000 - k * 1000.0 / n) - 1, trailing[k], "trailing " + n + "/" + k);
                double lin = n == 1 ? 0 : (n - 1 - k) * 999.0 / (n - 1);
                assertEquals((int) Math.rint(lin), linspace[k], "linspace " + n + "/" + k);
            }
        }
        assertArrayEquals(new int[]{999, 666, 332}, new DdimScheduler(config("{\"timestep_spacing\":\"trailing\"}")).setTimesteps(3).timesteps());
    }

    @Test
    void tooManyStepsUsesDiffusersMessage() {
        DdimScheduler s = new DdimScheduler(DdimConfig.defaults());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001));
        assertEquals("`num_inference_steps`: 1001 cannot be larger than `self.config.train_timesteps`: 1000 as the unet"
                + " model trained with this scheduler can only handle maximal 1000 timesteps.", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0));
        IllegalStateException notSet = assertThrows(IllegalStateException.class, () -> s.step(new float[1], 1, new float[1], 0, null));
        assertTrue(notSet.getMessage().contains("set_timesteps"));
        s.setTimesteps(10);
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[1], 1000, new float[1], 0, null));
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[2], 901, new float[1], 0, null));
    }

    /** The independent DDIM update in double; returns {prev, x0}. */
    private static double[][] expectedStep(PredictionType type, double aT, double aPrev, float[] m, float[] x, double eta,
                                           float[] noise, double clip, boolean clippedEps) {
        int n = x.length;
        double[] prev = new double[n], x0 = new double[n];
        double var = (1 - aPrev) / (1 - aT) * (1 - aT / aPrev);
        double sigma = eta * Math.sqrt(var);
        for (int i = 0; i < n; i++) {
            double e;
            switch (type) {
                case EPSILON -> { x0[i] = (x[i] - Math.sqrt(1 - aT) * m[i]) / Math.sqrt(aT); e = m[i]; }
                case SAMPLE -> { x0[i] = m[i]; e = (x[i] - Math.sqrt(aT) * m[i]) / Math.sqrt(1 - aT); }
                default -> { x0[i] = Math.sqrt(aT) * x[i] - Math.sqrt(1 - aT) * m[i]; e = Math.sqrt(aT) * m[i] + Math.sqrt(1 - aT) * x[i]; }
            }
            if (clip > 0) x0[i] = Math.max(-clip, Math.min(clip, x0[i]));
            if (clippedEps) e = (x[i] - Math.sqrt(aT) * x0[i]) / Math.sqrt(1 - aT);
            prev[i] = Math.sqrt(aPrev) * x0[i] + Math.sqrt(1 - aPrev - sigma * sigma) * e + (noise == null ? 0 : sigma * noise[i]);
        }
        return new double[][]{prev, x0};
    }

    private static float[] random(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            num += Math.pow(expected[i] - actual[i], 2);
            den += expected[i] * expected[i];
        }
        double rel = Math.sqrt(num / den);
        assertTrue(rel <= tol, what + ": relative error " + rel);
    }

    @ParameterizedTest
    @EnumSource(PredictionType.class)
    void predictionTypesDeterministicAndWithEta(PredictionType type) {
        Random r = new Random(type.ordinal() + 11);
        DdimScheduler s = new DdimScheduler(config("{\"beta_schedule\":\"scaled_linear\",\"beta_start\":0.00085,\"beta_end\":0.012,"
                + "\"clip_sample\":false,\"steps_offset\":1,\"prediction_type\":\"" + type.configName() + "\"}")).setTimesteps(20);
        float[] a = s.alphasCumprod();
        for (int t : s.timesteps()) {
            float[] m = random(r, 300, 1), x = random(r, 300, 1);
            int prevT = t - 50;
            double aPrev = prevT >= 0 ? a[prevT] : 1.0;
            DdimOutput out = s.step(m, t, x, new int[]{3, 100}, 0f, false, null, null);
            double[][] exp = expectedStep(type, a[t], aPrev, m, x, 0, null, 0, false);
            assertClose(exp[0], out.prevSample(), 1e-6, type + " prev t=" + t);
            assertClose(exp[1], out.predOriginalSample(), 1e-6, type + " x0 t=" + t);
            // η > 0: the noise is randn(shape) from the generator
            long seed = r.nextLong();
            float[] noise = new TorchGenerator(seed).randn(3, 100);
            DdimOutput noisy = s.step(m, t, x, new int[]{3, 100}, 0.7f, false, new TorchGenerator(seed), null);
            assertClose(expectedStep(type, a[t], aPrev, m, x, 0.7f, noise, 0, false)[0], noisy.prevSample(), 1e-6, type + " η t=" + t);
            assertArrayEquals(noisy.prevSample(), s.step(m, t, x, new int[]{3, 100}, 0.7f, false, null, noise).prevSample());
        }
    }

    @Test
    void varianceFormula() {
        DdimScheduler s = new DdimScheduler(DdimConfig.defaults()).setTimesteps(50);
        float[] a = s.alphasCumprod();
        for (int t : s.timesteps()) {
            double aPrev = t - 20 >= 0 ? a[t - 20] : 1.0;
            double var = (1 - aPrev) / (1 - a[t]) * (1 - a[t] / aPrev);
            // float32 like diffusers: 1 − ᾱ_t/ᾱ_prev cancels for small t, hence 1e-5
            assertEquals(var, s.variance(t), 1e-5 * var, "variance t=" + t);
            assertEquals(0.5 * Math.sqrt(var), s.stdDev(t, 0.5f), 1e-5 * Math.sqrt(var));
        }
    }

    @Test
    void etaNeedsExactlyOneNoiseSource() {
        DdimScheduler s = new DdimScheduler(DdimConfig.defaults()).setTimesteps(10);
        float[] v = new float[32];
        assertThrows(IllegalArgumentException.class, () -> s.step(v, 901, v, new int[]{32}, 1f, false, new TorchGenerator(1), v));
        assertThrows(IllegalArgumentException.class, () -> s.step(v, 901, v, new int[]{32}, 1f, false, null, null));
    }

    @Test
    void clipSampleKeepsTheModelsEpsilonUnlessAsked() {
        Random r = new Random(21);
        DdimScheduler s = new DdimScheduler(config("{\"clip_sample\":true,\"clip_sample_range\":0.5}")).setTimesteps(10);
        float[] a = s.alphasCumprod();
        float[] m = random(r, 200, 1), x = random(r, 200, 3);
        for (boolean clippedEps : new boolean[]{false, true}) {
            DdimOutput out = s.step(m, 501, x, new int[]{200}, 0f, clippedEps, null, null);
            double[][] exp = expectedStep(PredictionType.EPSILON, a[501], a[401], m, x, 0, null, 0.5, clippedEps);
            assertClose(exp[0], out.prevSample(), 1e-6, "prev clippedEps=" + clippedEps);
            assertClose(exp[1], out.predOriginalSample(), 1e-6, "x0");
            for (float v : out.predOriginalSample()) assertTrue(Math.abs(v) <= 0.5f);
        }
        // the graph op's update with its clip range reproduces the default step (ε not recomputed)
        float[] c = DdimStep.coefficients(s, 501, 0f);
        assertEquals(0.5f, c[6]);
        double[] viaGraph = new double[200];
        for (int i = 0; i < 200; i++) {
            double x0 = Math.max(-c[6], Math.min(c[6], (x[i] - c[1] * m[i]) / c[0]));
            viaGraph[i] = c[2] * x0 + c[3] * m[i];
        }
        assertClose(viaGraph, s.step(m, 501, x, new int[]{200}, 0f, false, null, null).prevSample(), 1e-6, "graph op with clipping");
    }

    @Test
    void dynamicThresholdingPerBatchItem() {
        Random r = new Random(8);
        DdimScheduler s = new DdimScheduler(config("{\"thresholding\":true,\"sample_max_value\":2.5,\"prediction_type\":\"sample\","
                + "\"dynamic_thresholding_ratio\":0.9}")).setTimesteps(10);
        int batch = 3, n = 157;
        float[] m = random(r, batch * n, 2), x = random(r, batch * n, 1);
        float[] x0 = s.step(m, 701, x, new int[]{batch, 1, n}, 0f, false, null, null).predOriginalSample();
        for (int b = 0; b < batch; b++) {
            double[] abs = new double[n];
            for (int i = 0; i < n; i++) abs[i] = Math.abs(m[b * n + i]);
            Arrays.sort(abs);
            double rank = 0.9 * (n - 1);
            int lo = (int) Math.floor(rank);
            double q = abs[lo] + (rank - lo) * (abs[Math.min(lo + 1, n - 1)] - abs[lo]);
            double th = Math.min(Math.max(q, 1), 2.5);
            for (int i = 0; i < n; i++) {
                double e = Math.max(-th, Math.min(th, m[b * n + i])) / th;
                assertEquals(e, x0[b * n + i], 1e-6, "item " + b + " element " + i);
            }
        }
        assertThrows(IllegalStateException.class, () -> s.step(m, 701, x, 0f, null));
        assertThrows(UnsupportedOperationException.class, () -> DdimStep.coefficients(s, 701, 0f));
    }

    /** The graph op's update (its javadoc) evaluated from the 7 coefficients reproduces step(). */
    @ParameterizedTest
    @EnumSource(PredictionType.class)
    void graphCoefficientsReproduceTheStep(PredictionType type) {
        Random r = new Random(40 + type.ordinal());
        DdimScheduler s = new DdimScheduler(config("{\"beta_schedule\":\"squaredcos_cap_v2\",\"clip_sample\":false,"
                + "\"prediction_type\":\"" + type.configName() + "\",\"steps_offset\":1}")).setTimesteps(7);
        for (int t : s.timesteps()) {
            float[] m = random(r, 64, 1), x = random(r, 64, 1), noise = random(r, 64, 1);
            float[] c = DdimStep.coefficients(s, t, 0.3f);
            assertEquals(7, c.length);
            assertEquals(type.graphCode(), (int) c[5]);
            assertTrue(c[6] <= 0, "no clipping");
            double[] viaGraph = new double[64];
            for (int i = 0; i < 64; i++) {
                double x0, e;
                switch ((int) c[5]) {
                    case 0 -> { x0 = (x[i] - c[1] * m[i]) / c[0]; e = m[i]; }
                    case 2 -> { x0 = m[i]; e = (x[i] - c[0] * x0) / c[1]; }
                    default -> { x0 = c[0] * x[i] - c[1] * m[i]; e = c[0] * m[i] + c[1] * x[i]; }
                }
                viaGraph[i] = c[2] * x0 + c[3] * e + c[4] * noise[i];
            }
            assertClose(viaGraph, s.step(m, t, x, new int[]{64}, 0.3f, false, null, noise).prevSample(), 1e-6, type + " t=" + t);
            assertTrue(DdimStep.of(s, t, 0.3f).needsNoise());
            assertFalse(DdimStep.of(s, t, 0f).needsNoise());
        }
    }

    @Test
    void addNoiseAndVelocity() {
        Random r = new Random(2);
        DdimScheduler s = new DdimScheduler(DdimConfig.defaults());
        float[] x0 = random(r, 50, 1), eps = random(r, 50, 1);
        double a = s.alphaCumprod(400);
        float[] noisy = s.addNoise(x0, eps, 400), v = s.velocity(x0, eps, 400);
        for (int i = 0; i < 50; i++) {
            assertEquals(Math.sqrt(a) * x0[i] + Math.sqrt(1 - a) * eps[i], noisy[i], 1e-6);
            assertEquals(Math.sqrt(a) * eps[i] - Math.sqrt(1 - a) * x0[i], v[i], 1e-6);
        }
    }

    @Test
    void configDefaultsAndErrors() throws Exception {
        assertEquals(DdimConfig.defaults(), config("{\"_class_name\":\"DDIMScheduler\",\"trained_betas\":null}"));
        DdimConfig released = DdimConfig.read(java.nio.file.Path.of("src/test/resources/i2vgen-xl-scheduler_config.json"));
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, released.betaSchedule());
        assertEquals(PredictionType.V_PREDICTION, released.predictionType());
        assertTrue(released.rescaleBetasZeroSnr());
        assertFalse(released.clipSample());
        assertEquals(1, released.stepsOffset());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config("{\"steps_offset\":\"one\"}"));
        assertTrue(e.getMessage().contains("steps_offset"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("{\"beta_schedule\":\"sigmoid\"}"));
        assertTrue(e.getMessage().contains("sigmoid"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("{\"prediction_type\":\"flow\"}"));
        assertTrue(e.getMessage().contains("flow"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("{\"num_train_timesteps\":3,\"trained_betas\":[0.1,0.2]}"));
        assertTrue(e.getMessage().contains("trained_betas"), e.getMessage());
    }
}
