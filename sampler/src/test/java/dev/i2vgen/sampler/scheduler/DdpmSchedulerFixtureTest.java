package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static dev.i2vgen.sampler.scheduler.EulerAncestralDdpmLcmFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * DDPMScheduler against diffusers' own outputs (every beta schedule, variance type, prediction type, spacing,
 * clipping and thresholding, custom timesteps; the first three steps and the last), recorded by
 * {@code conformance/tools/make_ancestral_ddpm_lcm_fixtures.py} into {@code scheduler-fixtures/ddpm.json};
 * {@code -Di2vgen.ddpmFixture=/path} checks another recording. DDPM keeps no step state, so each recorded step is
 * checked on its own, through diffusers' timestep API with the sample's shape and, where the sample is one batch item
 * as the {@link Scheduler} API assumes, through the index API.
 */
class DdpmSchedulerFixtureTest {
    /**
     * Zero-SNR rescaling runs through torch's sqrt, which (MKL's vsSqrt) is not correctly rounded: ᾱ differs from a
     * correctly rounded port by a few ulps (see EulerAncestralDiscreteSchedulerFixtureTest), which the step
     * coefficients (1 − ᾱ_prev)/(1 − ᾱ_t) amplify where ᾱ ≈ 1 (measured ≤ 2.6e-6 on these fixtures, at t = 1).
     */
    static final double ZERO_SNR_TOLERANCE = 1e-5;

    @TestFactory
    List<DynamicTest> matchesDiffusers() throws IOException {
        JsonNode fixture = load("ddpm.json", "i2vgen.ddpmFixture");
        return dynamicTests(fixture, DdpmSchedulerFixtureTest::checkRun, DdpmSchedulerFixtureTest::checkError);
    }

    private static DdpmScheduler scheduler(JsonNode run) {
        DdpmScheduler s = new DdpmScheduler(DdpmConfig.fromJson(run.get("config"), "fixture"));
        JsonNode args = run.get("set_timesteps");
        if (args != null && !args.isNull()) {
            Integer steps = args.hasNonNull("num_inference_steps") ? args.get("num_inference_steps").asInt() : null;
            s.setTimesteps(steps, ints(args.get("timesteps")));
        }
        return s;
    }

    private static void checkRun(JsonNode run) {
        String name = runName(run);
        DdpmScheduler s = scheduler(run);
        double tolerance = s.config().rescaleBetasZeroSnr() ? ZERO_SNR_TOLERANCE : TENSOR_TOLERANCE;
        assertAlphasCumprod(run.get("alphas_cumprod"), s.alphasCumprod(), tolerance, name);
        assertArrayEquals(ints(run.get("timesteps")), s.timestepValues(), name + ": timesteps");
        assertEquals(1.0f, s.initNoiseSigma(), name + ": init_noise_sigma");

        int[] shape = ints(run.get("shape"));
        boolean oneItemEquivalent = shape[0] == 1 || !(s.config().thresholding() || s.config().varianceType().learned());
        for (JsonNode step : run.get("steps")) {
            int i = step.get("index").asInt();
            int t = s.timestepValues()[i];
            String at = name + " step " + i + " (t=" + t + ")";
            assertEquals(step.get("timestep").asInt(), t, at + ": timestep");
            float[] sample = floats(step.get("sample")), model = floats(step.get("model_output"));
            float[] prev = floats(step.get("prev_sample")), x0 = floats(step.get("x0"));

            assertClose(floats(step.get("scaled_sample")), s.scaleModelInput(sample, i), 0, at + ": scale_model_input");
            DdpmOutput out = s.stepAtTimestep(model, t, sample, shape, noise(step));
            assertClose(prev, out.prevSample(), tolerance, at + ": prev_sample");
            assertClose(x0, out.predOriginalSample(), tolerance, at + ": pred_original_sample");
            if (oneItemEquivalent) {
                Scheduler api = s;
                assertClose(prev, api.step(model, i, sample, noise(step)), tolerance, at + ": prev_sample by index");
            }
        }
    }

    private static void checkError(JsonNode error) {
        assertDiffusersMessage(error, () -> {
            DdpmScheduler s = scheduler(error);
            if (error.get("step").asBoolean()) s.step(new float[6], 0, new float[6], new TorchGenerator(0));
        });
    }
}
