package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.i2vgen.sampler.scheduler.EulerAncestralDdpmLcmFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * EulerAncestralDiscreteScheduler against diffusers' own outputs (every option, 1 to 29 steps, the first three steps
 * and the last), recorded by {@code conformance/tools/make_ancestral_ddpm_lcm_fixtures.py} into
 * {@code scheduler-fixtures/euler-ancestral.json}; {@code -Di2vgen.eulerAncestralFixture=/path} checks another recording.
 * Each run is replayed through diffusers' timestep API (all steps in order, so that the step index evolves as in
 * diffusers) and, for the recorded steps, through the {@link Scheduler} index API of a second instance.
 */
class EulerAncestralDiscreteSchedulerFixtureTest {
    /**
     * torch's CPU sqrt (MKL's vsSqrt) is not correctly rounded (±1 ulp for ~20% of inputs on this host), and the
     * zero-terminal-SNR rescale amplifies its errors in √ᾱ: with a correctly rounded sqrt, ᾱ_t lands up to 11 ulps
     * (cosine schedule) from diffusers' (measured with a numpy emulation of the port), and σ = √((1 − ᾱ)/ᾱ) moves
     * by Δᾱ/(2ᾱ(1 − ᾱ)) relative, 1.4e-3 at σ_1 of the cosine schedule. Zero-SNR sigmas therefore get this budget
     * of ᾱ ulps, propagated to σ (and at least {@link #ZERO_SNR_SIGMA_FLOOR}).
     */
    static final int ZERO_SNR_ALPHA_ULPS = 16;
    static final double ZERO_SNR_SIGMA_FLOOR = 5e-6;
    /**
     * The step outputs of zero-SNR runs: σ's relative error is large only where σ ≪ 1, where σ scales a small term
     * of the output (measured: at most 5.1e-6 for the I2VGen-XL config, 2e-7 for the SD-like one).
     */
    static final double ZERO_SNR_STEP_TOLERANCE = 2e-5;

    /** The relative tolerance of σ under zero-SNR rescaling: {@link #ZERO_SNR_ALPHA_ULPS} ulps of ᾱ = 1/(1 + σ²). */
    static double zeroSnrSigmaTolerance(float sigma) {
        if (sigma == 0) return 0;
        float alpha = 1.0f / (1.0f + sigma * sigma);
        double fromAlpha = ZERO_SNR_ALPHA_ULPS * Math.ulp(alpha) / (2.0 * alpha * (1.0 - alpha));
        return Math.max(ZERO_SNR_SIGMA_FLOOR, fromAlpha);
    }

    @TestFactory
    List<DynamicTest> matchesDiffusers() throws IOException {
        JsonNode fixture = load("euler-ancestral.json", "i2vgen.eulerAncestralFixture");
        return dynamicTests(fixture, EulerAncestralDiscreteSchedulerFixtureTest::checkRun, EulerAncestralDiscreteSchedulerFixtureTest::checkError);
    }

    private static EulerAncestralDiscreteScheduler scheduler(JsonNode run) {
        EulerAncestralDiscreteScheduler s = new EulerAncestralDiscreteScheduler(
                EulerAncestralDiscreteConfig.fromJson(run.get("config"), "fixture"));
        JsonNode args = run.get("set_timesteps");
        if (args != null && !args.isNull()) s.setTimesteps(args.get("num_inference_steps").asInt());
        return s;
    }

    private static void checkRun(JsonNode run) {
        String name = runName(run);
        EulerAncestralDiscreteScheduler s = scheduler(run);
        boolean zeroSnr = s.config().rescaleBetasZeroSnr();
        float[] expectedSigmas = floats(run.get("sigmas")), sigmas = s.sigmas();
        double[] sigmaTolerance = new double[expectedSigmas.length];
        for (int i = 0; i < sigmaTolerance.length; i++) {
            sigmaTolerance[i] = zeroSnr ? zeroSnrSigmaTolerance(expectedSigmas[i]) : 1e-6;
        }
        assertAlphasCumprod(run.get("alphas_cumprod"), s.alphasCumprod(), zeroSnr ? ZERO_SNR_SIGMA_FLOOR : 1e-6, name);
        assertEachClose(floats(run.get("timesteps")), s.timesteps(), 0, name + ": timestep");
        assertEquals(expectedSigmas.length, sigmas.length, name + ": sigma count");
        for (int i = 0; i < sigmas.length; i++) {
            assertEquals(expectedSigmas[i], sigmas[i], sigmaTolerance[i] * expectedSigmas[i], name + ": sigma " + i);
        }
        double initSigma = run.get("init_noise_sigma").asDouble();
        assertEquals(initSigma, s.initNoiseSigma(), sigmaTolerance[0] * initSigma, name + ": init_noise_sigma");

        // the recorded steps; the others run on zeros so that diffusers' step index advances the same way
        Map<Integer, JsonNode> recorded = new HashMap<>();
        for (JsonNode step : run.get("steps")) recorded.put(step.get("index").asInt(), step);
        int last = recorded.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
        float[] timesteps = s.timesteps();
        int n = floats(run.get("steps").get(0).get("sample")).length;
        EulerAncestralDiscreteScheduler byIndex = scheduler(run);
        for (int i = 0; i <= last; i++) {
            JsonNode step = recorded.get(i);
            if (step == null) {
                s.scaleModelInputAtTimestep(new float[n], timesteps[i]);
                s.stepAtTimestep(new float[n], timesteps[i], new float[n], new TorchGenerator(i));
                continue;
            }
            String at = name + " step " + i + " (t=" + timesteps[i] + ")";
            double tolerance = zeroSnr ? ZERO_SNR_STEP_TOLERANCE : TENSOR_TOLERANCE;
            assertEquals((float) step.get("timestep").asDouble(), timesteps[i], at + ": timestep");
            float[] sample = floats(step.get("sample")), model = floats(step.get("model_output"));
            float[] scaled = floats(step.get("scaled_sample"));
            float[] prev = floats(step.get("prev_sample")), x0 = floats(step.get("x0"));

            assertClose(scaled, s.scaleModelInputAtTimestep(sample, timesteps[i]), tolerance, at + ": scaled sample");
            EulerStepResult out = s.stepAtTimestep(model, timesteps[i], sample, noise(step));
            assertClose(prev, out.prevSample(), tolerance, at + ": prev_sample");
            assertClose(x0, out.predOriginalSample(), tolerance, at + ": pred_original_sample");
            assertEquals(step.get("step_index_after").asInt(), s.stepIndex().orElseThrow(), at + ": step index");

            Scheduler api = byIndex;
            assertClose(scaled, api.scaleModelInput(sample, i), tolerance, at + ": scaled sample by index");
            assertClose(prev, api.step(model, i, sample, noise(step)), tolerance, at + ": prev_sample by index");
        }
    }

    private static void checkError(JsonNode error) {
        assertDiffusersMessage(error, () -> {
            EulerAncestralDiscreteScheduler s = scheduler(error);
            if (error.get("step").asBoolean()) s.step(new float[6], 0, new float[6], new TorchGenerator(0));
        });
    }
}
