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
 * LCMScheduler against diffusers' own outputs (beta schedules, prediction types, clipping, thresholding,
 * original_inference_steps in the config and per call, strength, custom timesteps, timestep_scaling; the first three
 * steps and the last), recorded by {@code conformance/tools/make_ancestral_ddpm_lcm_fixtures.py} into
 * {@code scheduler-fixtures/lcm.json}; {@code -Di2vgen.lcmFixture=/path} checks another recording. Each run is replayed
 * through diffusers' timestep API (all steps in order: the step index decides where noise is added) and, for the
 * recorded steps of one-batch-item runs, through the {@link Scheduler} index API of a second instance.
 */
class LcmSchedulerFixtureTest {
    @TestFactory
    List<DynamicTest> matchesDiffusers() throws IOException {
        JsonNode fixture = load("lcm.json", "i2vgen.lcmFixture");
        return dynamicTests(fixture, LcmSchedulerFixtureTest::checkRun, LcmSchedulerFixtureTest::checkError);
    }

    private static LcmScheduler scheduler(JsonNode run) {
        LcmScheduler s = new LcmScheduler(LcmConfig.fromJson(run.get("config"), "fixture"));
        JsonNode args = run.get("set_timesteps");
        if (args != null && !args.isNull()) {
            s.setTimesteps(args.hasNonNull("num_inference_steps") ? args.get("num_inference_steps").asInt() : null,
                    args.hasNonNull("original_inference_steps") ? args.get("original_inference_steps").asInt() : null,
                    ints(args.get("timesteps")), args.path("strength").asDouble(1.0));
        }
        return s;
    }

    private static void checkRun(JsonNode run) {
        String name = runName(run);
        LcmScheduler s = scheduler(run);
        // zero-SNR runs too: ᾱ differs from torch's by a few ulps (MKL's sqrt, see DdpmSchedulerFixtureTest), but
        // LCM's timesteps (k·i − 1, at least 19 by default) stay clear of t ≈ 0, where DDPM's coefficients amplify it
        double tolerance = TENSOR_TOLERANCE;
        assertAlphasCumprod(run.get("alphas_cumprod"), s.alphasCumprod(), tolerance, name);
        assertArrayEquals(ints(run.get("timesteps")), s.timestepValues(), name + ": timesteps");
        assertEquals(run.get("num_inference_steps").asInt(), s.numInferenceSteps().orElseThrow(), name + ": num_inference_steps");
        assertEquals(1.0f, s.initNoiseSigma(), name + ": init_noise_sigma");

        int[] shape = ints(run.get("shape"));
        boolean oneItemEquivalent = shape[0] == 1 || !s.config().thresholding();
        Map<Integer, JsonNode> recorded = new HashMap<>();
        for (JsonNode step : run.get("steps")) recorded.put(step.get("index").asInt(), step);
        int last = recorded.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
        int[] timesteps = s.timestepValues();
        int n = floats(run.get("steps").get(0).get("sample")).length;
        LcmScheduler byIndex = scheduler(run);
        for (int i = 0; i <= last; i++) {
            JsonNode step = recorded.get(i);
            if (step == null) {
                s.stepAtTimestep(new float[n], timesteps[i], new float[n], shape, new TorchGenerator(i));
                continue;
            }
            String at = name + " step " + i + " (t=" + timesteps[i] + ")";
            assertEquals(step.get("timestep").asInt(), timesteps[i], at + ": timestep");
            float[] sample = floats(step.get("sample")), model = floats(step.get("model_output"));
            float[] prev = floats(step.get("prev_sample")), denoised = floats(step.get("x0"));

            assertClose(floats(step.get("scaled_sample")), s.scaleModelInput(sample, i), 0, at + ": scale_model_input");
            LcmOutput out = s.stepAtTimestep(model, timesteps[i], sample, shape, noise(step));
            assertClose(prev, out.prevSample(), tolerance, at + ": prev_sample");
            assertClose(denoised, out.denoised(), tolerance, at + ": denoised");
            assertEquals(step.get("step_index_after").asInt(), s.stepIndex().orElseThrow(), at + ": step index");
            if (oneItemEquivalent) {
                Scheduler api = byIndex;
                assertClose(prev, api.step(model, i, sample, noise(step)), tolerance, at + ": prev_sample by index");
            }
        }
    }

    private static void checkError(JsonNode error) {
        assertDiffusersMessage(error, () -> {
            LcmScheduler s = new LcmScheduler(LcmConfig.fromJson(error.get("config"), "fixture"));
            JsonNode args = error.get("set_timesteps");
            if (args != null && !args.isNull()) {
                s.setTimesteps(args.hasNonNull("num_inference_steps") ? args.get("num_inference_steps").asInt() : null,
                        args.hasNonNull("original_inference_steps") ? args.get("original_inference_steps").asInt() : null,
                        ints(args.get("timesteps")), args.path("strength").asDouble(1.0));
            }
            if (error.get("step").asBoolean()) {
                s.stepAtTimestep(new float[6], 999, new float[6], new int[]{2, 3}, new TorchGenerator(0));
            }
        });
    }
}
