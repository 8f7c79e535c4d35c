package dev.i2vgen.sampler.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each option of the Euler scheduler's set_timesteps against its closed-form definition, evaluated independently
 * in double from the scheduler's training ᾱ (the stepping itself is covered by {@link EulerDiscreteStepTest}).
 */
class EulerDiscreteSchedulerFormulaTest {
    static final EulerDiscreteConfig SD = EulerDiscreteConfig.defaults()
            .withOverrides(Map.of("beta_schedule", "scaled_linear", "beta_start", 0.00085, "beta_end", 0.012));

    static EulerDiscreteScheduler scheduler(Map<String, ?> overrides) {
        return new EulerDiscreteScheduler(SD.withOverrides(overrides));
    }

    /** √((1 − ᾱ_t)/ᾱ_t) in double. */
    static double trainSigma(EulerDiscreteScheduler s, int t) {
        double a = s.alphasCumprod()[t];
        return Math.sqrt((1 - a) / a);
    }

    static void assertRelative(double expected, double actual, double tolerance, String what) {
        assertEquals(expected, actual, tolerance * Math.abs(expected), what);
    }

    static double karras(double min, double max, int i, int n) {
        double r = n == 1 ? 0 : (double) i / (n - 1);
        return Math.pow(Math.pow(max, 1 / 7.0) + r * (Math.pow(min, 1 / 7.0) - Math.pow(max, 1 / 7.0)), 7);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7, 25})
    void karrasSigmasFollowTheRhoSevenRamp(int n) {
        float[] configured = scheduler(Map.of("use_karras_sigmas", true, "sigma_min", 0.002, "sigma_max", 700.0))
                .setTimesteps(n).sigmas();
        assertEquals(n + 1, configured.length);
        for (int i = 0; i < n; i++) assertRelative(karras(0.002, 700, i, n), configured[i], 1e-6, "sigma " + i);
        assertEquals(0f, configured[n]);

        // without a configured range: the ends of the interpolated schedule (linspace(0, 999, 1) is [0])
        EulerDiscreteScheduler s = scheduler(Map.of("use_karras_sigmas", true)).setTimesteps(n);
        double max = trainSigma(s, n == 1 ? 0 : 999), min = trainSigma(s, 0);
        for (int i = 0; i < n; i++) assertRelative(karras(min, max, i, n), s.sigmas()[i], 1e-6, "schedule-range sigma " + i);
    }

    /** _sigma_to_t: the fractional t at which the piecewise-linear log σ(t) of the training schedule equals ln σ. */
    @Test
    void discreteTimestepsOfConvertedSigmasInvertTheLogSigmaInterpolation() {
        EulerDiscreteScheduler s = scheduler(Map.of("use_karras_sigmas", true)).setTimesteps(25);
        float[] sigmas = s.sigmas(), timesteps = s.timesteps();
        for (int i = 0; i < timesteps.length; i++) {
            double t = timesteps[i];
            int low = (int) Math.min(Math.floor(t), 998);
            double w = t - low;
            double logSigma = (1 - w) * Math.log(trainSigma(s, low)) + w * Math.log(trainSigma(s, low + 1));
            assertEquals(Math.log(sigmas[i]), logSigma, 2e-5, "log sigma at timestep " + t);
        }
        // a σ beyond the training range clips to its end: t = 999 above, 0 below
        float[] wide = scheduler(Map.of("use_karras_sigmas", true, "sigma_min", 0.002, "sigma_max", 700.0)).setTimesteps(5).timesteps();
        assertEquals(999f, wide[0]);
        assertEquals(0f, wide[4]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7, 25})
    void exponentialSigmasAreEvenInLogSigma(int n) {
        float[] sigmas = scheduler(Map.of("use_exponential_sigmas", true, "sigma_min", 0.002, "sigma_max", 700.0))
                .setTimesteps(n).sigmas();
        for (int i = 0; i < n; i++) {
            double r = n == 1 ? 0 : (double) i / (n - 1);
            assertRelative(Math.exp(Math.log(700) + r * (Math.log(0.002) - Math.log(700))), sigmas[i], 1e-6, "sigma " + i);
        }
        assertEquals(0f, sigmas[n]);
    }

    /** σ_i = σmin + F⁻¹(1 − i/(n−1))·(σmax − σmin) with F the Beta(0.6, 0.6) CDF, integrated numerically here. */
    @ParameterizedTest
    @ValueSource(ints = {2, 7, 25})
    void betaSigmasSitAtBetaQuantiles(int n) {
        double min = 0.1, max = 10;
        float[] sigmas = scheduler(Map.of("use_beta_sigmas", true, "sigma_min", min, "sigma_max", max)).setTimesteps(n).sigmas();
        assertRelative(max, sigmas[0], 1e-6, "first sigma");
        assertRelative(min, sigmas[n - 1], 1e-6, "last sigma");
        for (int i = 0; i < n; i++) {
            double x = (sigmas[i] - min) / (max - min);
            assertEquals(1 - (double) i / (n - 1), betaCdf(x), 2e-6, "quantile of sigma " + i);
            // Beta(0.6, 0.6) is symmetric: F⁻¹(1 − p) = 1 − F⁻¹(p)
            assertEquals(min + max, sigmas[i] + sigmas[n - 1 - i], 1e-5, "symmetry at " + i);
        }
    }

    /** The Beta(0.6, 0.6) CDF by Simpson's rule after t = sin²θ, θ = u⁵ (which make the integrand smooth). */
    static double betaCdf(double x) {
        if (x > 0.5) return 1 - betaCdf(1 - x);
        return betaPartial(Math.asin(Math.sqrt(x))) / (2 * betaPartial(Math.PI / 4));
    }

    private static double betaPartial(double theta) {
        int intervals = 4000;
        double end = Math.pow(theta, 0.2), h = end / intervals, sum = 0;
        for (int k = 0; k <= intervals; k++) {
            double u = k * h, th = Math.pow(u, 5);
            double f = 2 * Math.pow(Math.sin(th), 0.2) * Math.pow(Math.cos(th), 0.2) * 5 * Math.pow(u, 4);
            sum += f * (k == 0 || k == intervals ? 1 : k % 2 == 1 ? 4 : 2);
        }
        return sum * h / 3;
    }

    @Test
    void leadingSpacingIsMultiplesOfTheRatioPlusOffset() {
        EulerDiscreteScheduler s = scheduler(Map.of("timestep_spacing", "leading", "steps_offset", 1)).setTimesteps(7);
        float[] t = s.timesteps();
        for (int k = 0; k < 7; k++) {
            assertEquals((6 - k) * (1000 / 7) + 1, t[k], "timestep " + k);
            assertRelative(trainSigma(s, (int) t[k]), s.sigmas()[k], 1e-6, "sigma at integer timestep " + t[k]);
        }
        assertRelative(Math.sqrt(Math.pow(trainSigma(s, 853), 2) + 1), s.initNoiseSigma(), 1e-6, "leading: √(σmax² + 1)");
    }

    @Test
    void trailingSpacingEndsAtTheLastTrainingStep() {
        EulerDiscreteScheduler s = scheduler(Map.of("timestep_spacing", "trailing")).setTimesteps(7);
        // round(1000 − k·1000/7) − 1
        assertArrayEquals(new float[]{999, 856, 713, 570, 428, 285, 142}, s.timesteps());
        assertRelative(trainSigma(s, 999), s.initNoiseSigma(), 1e-6, "trailing: σmax itself");
        // numpy's arange(100, 0, −100/29) has 30 values, the last one ≈ 0, so diffusers keeps 30 timesteps ending at −1
        EulerDiscreteScheduler odd = new EulerDiscreteScheduler(EulerDiscreteConfig.defaults()
                .withOverrides(Map.of("num_train_timesteps", 100, "timestep_spacing", "trailing"))).setTimesteps(29);
        assertEquals(30, odd.timesteps().length);
        assertEquals(-1f, odd.timesteps()[29]);
        assertEquals(31, odd.sigmas().length);
        assertRelative(trainSigma(odd, 0), odd.sigmas()[29], 1e-6, "np.interp clamps t = −1 to σ(0)");
    }

    @Test
    void linspaceSpacingInterpolatesSigmasLinearly() {
        EulerDiscreteScheduler s = scheduler(Map.of()).setTimesteps(7);
        assertArrayEquals(new float[]{999, 832.5f, 666, 499.5f, 333, 166.5f, 0}, s.timesteps());
        float[] sigmas = s.sigmas();
        assertRelative((trainSigma(s, 832) + trainSigma(s, 833)) / 2, sigmas[1], 1e-6, "sigma at 832.5");
        assertRelative(trainSigma(s, 666), sigmas[2], 1e-6, "sigma at 666");
        assertEquals(sigmas[0], s.initNoiseSigma(), "linspace: σmax itself");
    }

    @Test
    void logLinearInterpolationGivesOneExtraSigma() {
        EulerDiscreteScheduler s = scheduler(Map.of("interpolation_type", "log_linear")).setTimesteps(7);
        float[] sigmas = s.sigmas();
        assertEquals(9, sigmas.length, "n + 1 log-linear sigmas, then the final one");
        assertEquals(7, s.timesteps().length);
        double top = Math.log(trainSigma(s, 999)), bottom = Math.log(trainSigma(s, 0));
        for (int i = 0; i <= 7; i++) assertRelative(Math.exp(top + i / 7.0 * (bottom - top)), sigmas[i], 1e-6, "sigma " + i);
        assertEquals(0f, sigmas[8]);
    }

    @Test
    void finalSigmaTypes() {
        EulerDiscreteScheduler zero = scheduler(Map.of()).setTimesteps(5);
        assertEquals(0f, zero.sigmas()[5]);
        EulerDiscreteScheduler min = scheduler(Map.of("final_sigmas_type", "sigma_min")).setTimesteps(5);
        assertRelative(trainSigma(min, 0), min.sigmas()[5], 1e-6, "sigma_min: the smallest training sigma");
    }

    /** Zero terminal SNR: √ᾱ shifted to end at 0 and rescaled to keep √ᾱ_0; diffusers then sets ᾱ_T to 2⁻²⁴. */
    @Test
    void zeroTerminalSnrRescale() {
        EulerDiscreteScheduler plain = scheduler(Map.of());
        EulerDiscreteScheduler rescaled = scheduler(Map.of("rescale_betas_zero_snr", true, "timestep_spacing", "trailing"));
        float[] a = plain.alphasCumprod(), r = rescaled.alphasCumprod();
        assertEquals(0x1p-24f, r[999], "ᾱ_T");
        double first = Math.sqrt(a[0]), last = Math.sqrt(a[999]);
        for (int t : new int[]{0, 1, 100, 500, 900, 998}) {
            double expected = Math.pow((Math.sqrt(a[t]) - last) * first / (first - last), 2);
            assertEquals(expected, r[t], 2e-6 * expected + 1e-9, "rescaled ᾱ at " + t);
        }
        double sigmaMax = Math.sqrt((1 - 0x1p-24) / 0x1p-24);
        assertRelative(sigmaMax, rescaled.sigmas()[0], 1e-6, "first sigma before set_timesteps");
        assertRelative(sigmaMax, rescaled.setTimesteps(10).sigmas()[0], 1e-6, "first sigma, trailing");
        assertRelative(sigmaMax, rescaled.initNoiseSigma(), 1e-6, "init noise sigma");
    }

    @Test
    void continuousTimestepsOnlyWithVPrediction() {
        Map<String, Object> continuous = Map.of("timestep_type", "continuous", "prediction_type", "v_prediction",
                "use_karras_sigmas", true);
        EulerDiscreteScheduler v = scheduler(continuous).setTimesteps(9);
        for (int i = 0; i < 9; i++) assertRelative(0.25 * Math.log(v.sigmas()[i]), v.timesteps()[i], 1e-6, "¼·ln σ at " + i);
        EulerDiscreteScheduler eps = scheduler(Map.of("timestep_type", "continuous", "use_karras_sigmas", true)).setTimesteps(9);
        assertEquals(999f, eps.timesteps()[0], "epsilon keeps discrete timesteps");
        // before set_timesteps too: all training sigmas, descending
        EulerDiscreteScheduler fresh = scheduler(continuous);
        assertEquals(1000, fresh.timesteps().length);
        assertRelative(0.25 * Math.log(trainSigma(fresh, 999)), fresh.timesteps()[0], 1e-6, "initial ¼·ln σmax");
        assertArrayEquals(new float[]{999, 998}, java.util.Arrays.copyOf(scheduler(Map.of()).timesteps(), 2));
    }

    @Test
    void customSigmasAndTimesteps() {
        EulerDiscreteScheduler s = scheduler(Map.of()).setCustomSigmas(14.6, 3.3, 0.2, 0.0);
        assertArrayEquals(new float[]{14.6f, 3.3f, 0.2f, 0f}, s.sigmas());
        assertEquals(3, s.numInferenceSteps());
        assertEquals(3, s.timesteps().length);
        EulerDiscreteScheduler t = scheduler(Map.of()).setCustomTimesteps(999, 500, 20);
        assertArrayEquals(new float[]{999, 500, 20}, t.timesteps());
        assertRelative(trainSigma(t, 500), t.sigmas()[1], 1e-6, "sigma at custom timestep 500");
        assertEquals(0f, t.sigmas()[3]);
    }

    @Test
    void setTimestepsRefusesWhatDiffusersRefuses() {
        EulerDiscreteScheduler s = scheduler(Map.of());
        assertMessage("Only one of `timesteps` or `sigmas` should be set.",
                () -> s.setTimesteps(null, new double[]{10, 5}, new double[]{1, 0}));
        assertMessage("Must pass exactly one of `num_inference_steps` or `timesteps` or `sigmas.",
                () -> s.setTimesteps(null, null, null));
        assertMessage("Can only pass one of `num_inference_steps` or `timesteps` or `sigmas`.",
                () -> s.setTimesteps(3, null, new double[]{1, 0}));
        assertMessage("Cannot set `timesteps` with `config.use_karras_sigmas = True`.",
                () -> scheduler(Map.of("use_karras_sigmas", true)).setCustomTimesteps(10, 5));
        assertMessage("Cannot set `timesteps` with `config.use_exponential_sigmas = True`.",
                () -> scheduler(Map.of("use_exponential_sigmas", true)).setCustomTimesteps(10, 5));
        assertMessage("Cannot set `timesteps` with `config.use_beta_sigmas = True`.",
                () -> scheduler(Map.of("use_beta_sigmas", true)).setCustomTimesteps(10, 5));
        assertMessage("Cannot set `timesteps` with `config.timestep_type = 'continuous'` and `config.prediction_type = 'v_prediction'`.",
                () -> scheduler(Map.of("timestep_type", "continuous", "prediction_type", "v_prediction")).setCustomTimesteps(10, 5));
        assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0));
    }

    static void assertMessage(String message, org.junit.jupiter.api.function.Executable call) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
    }

    /** The released SVD-XT scheduler: 25 Karras sigmas from 700 to 0.002, then 0; c_noise = ¼·ln σ. */
    @Test
    void releasedSvdXtSchedule() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(
                EulerDiscreteConfig.read(Path.of("src/test/resources/svd-xt-scheduler_config.json"))).setTimesteps(25);
        float[] sigmas = s.sigmas();
        assertEquals(26, sigmas.length);
        assertRelative(700, sigmas[0], 1e-6, "σmax");
        assertRelative(0.002, sigmas[24], 1e-6, "σmin");
        assertEquals(0f, sigmas[25]);
        for (int i = 0; i < 25; i++) {
            assertRelative(karras(0.002, 700, i, 25), sigmas[i], 1e-6, "sigma " + i);
            assertRelative(0.25 * Math.log(sigmas[i]), s.timesteps()[i], 1e-6, "timestep " + i);
            if (i > 0) assertTrue(sigmas[i] < sigmas[i - 1], "descending at " + i);
        }
        assertRelative(Math.sqrt(700.0 * 700.0 + 1), s.initNoiseSigma(), 1e-6, "init noise sigma (leading)");
        assertRelative(1 / Math.sqrt(700.0 * 700.0 + 1), s.scaleModelInputFactor(0), 1e-6, "c_in at σmax");
        assertEquals(1, s.order());
    }
}
