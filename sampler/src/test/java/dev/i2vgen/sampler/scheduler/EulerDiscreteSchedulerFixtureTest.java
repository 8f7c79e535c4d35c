package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The scheduler against diffusers' own outputs on a grid of configurations (every option, 1 to 25 steps, churn),
 * recorded by {@code conformance/tools/make_scheduler_fixtures.py} into {@code scheduler-fixtures/euler.json}.
 * Another recording can be checked with {@code -Di2vgen.eulerFixture=/path/to/euler.json}.
 */
class EulerDiscreteSchedulerFixtureTest {
    static final Path FIXTURE = Path.of(System.getProperty("i2vgen.eulerFixture",
            "src/test/resources/scheduler-fixtures/euler.json"));

    /**
     * Discrete timesteps derived from σ (Karras/exponential/beta, custom sigmas) interpolate between float32 log
     * sigmas, which numpy rounds within an ulp of the exact logarithm (not always to it): besides 1e-6 relative,
     * allow a millionth of the timestep range (seen: up to 1.4e-4 of 1000).
     */
    static final double TIMESTEP_RANGE_TOLERANCE = 1e-6;

    /**
     * torch's CPU sqrt (MKL) is not always correctly rounded; the zero-terminal-SNR rescale turns its 1-ulp
     * differences in √ᾱ into ~1/β larger relative differences of the betas (seen: 1.3e-6 on a sigma).
     */
    static final double ZERO_SNR_SIGMA_TOLERANCE = 5e-6;

    @TestFactory
    List<DynamicTest> matchesDiffusers() throws IOException {
        assumeTrue(Files.isRegularFile(FIXTURE), "no fixture at " + FIXTURE.toAbsolutePath() + ": generate it with"
                + " python3 conformance/tools/make_scheduler_fixtures.py --out sampler/src/test/resources/scheduler-fixtures/euler.json"
                + " (needs torch and diffusers)");
        JsonNode fixture = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readTree(FIXTURE.toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode run : fixture.get("runs")) {
            String name = run.get("name").asText() + " " + run.get("set_timesteps");
            tests.add(DynamicTest.dynamicTest(name, () -> checkRun(run, name)));
        }
        int i = 0;
        for (JsonNode error : fixture.get("errors")) {
            tests.add(DynamicTest.dynamicTest("error " + i++ + ": " + error.get("message").asText(), () -> checkError(error)));
        }
        assertFalse(tests.isEmpty(), "fixture " + FIXTURE + " has no runs");
        return tests;
    }

    private static void checkRun(JsonNode run, String name) {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(EulerDiscreteConfig.fromJson(run.get("config"), name));
        setTimesteps(s, run.get("set_timesteps"));

        float[] expectedSigmas = floats(run.get("sigmas"));
        float[] sigmas = s.sigmas();
        assertEquals(expectedSigmas.length, sigmas.length, name + ": sigma count");
        double sigmaTolerance = s.config().rescaleBetasZeroSnr() ? ZERO_SNR_SIGMA_TOLERANCE : 1e-6;
        for (int i = 0; i < sigmas.length; i++) {
            assertEquals(expectedSigmas[i], sigmas[i], sigmaTolerance * Math.abs(expectedSigmas[i]), name + ": sigma " + i);
        }
        float[] expectedTimesteps = floats(run.get("timesteps"));
        float[] timesteps = s.timesteps();
        assertEquals(expectedTimesteps.length, timesteps.length, name + ": timestep count");
        double range = s.config().numTrainTimesteps();
        for (int i = 0; i < timesteps.length; i++) {
            assertEquals(expectedTimesteps[i], timesteps[i], Math.max(1e-6 * Math.abs(expectedTimesteps[i]),
                    TIMESTEP_RANGE_TOLERANCE * range), name + ": timestep " + i);
        }
        double initSigma = run.get("init_noise_sigma").asDouble();
        assertEquals(initSigma, s.initNoiseSigma(), 1e-6 * initSigma, name + ": init_noise_sigma");

        EulerChurn churn = churn(run.get("churn"));
        for (JsonNode step : run.get("steps")) {
            // the recorded timestep itself, so that index_for_timestep sees diffusers' value
            float t = timesteps[indexOf(expectedTimesteps, (float) step.get("timestep").asDouble())];
            float[] sample = floats(step.get("sample"));
            float[] modelOutput = floats(step.get("model_output"));
            String at = name + " step at t=" + t;
            assertClose(floats(step.get("scaled_sample")), s.scaleModelInput(sample, t), at + ": scaled sample");
            assertEquals(step.get("step_index").asInt(), s.stepIndex().orElseThrow(), at + ": step index");
            EulerStepResult out = s.step(modelOutput, t, sample, churn, new TorchGenerator(step.get("noise_seed").asLong()));
            assertClose(floats(step.get("prev_sample")), out.prevSample(), at + ": prev_sample");
            assertClose(floats(step.get("pred_original_sample")), out.predOriginalSample(), at + ": pred_original_sample");
        }
    }

    private static void checkError(JsonNode error) {
        String message = error.get("message").asText();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            EulerDiscreteScheduler s = new EulerDiscreteScheduler(EulerDiscreteConfig.fromJson(error.get("config"), "fixture"));
            setTimesteps(s, error.get("set_timesteps"));
        });
        assertTrue(e.getMessage().endsWith(message), "expected diffusers' message '" + message + "', got '" + e.getMessage() + "'");
    }

    /** {@code set_timesteps(**args)}; null args: the constructor alone. */
    private static void setTimesteps(EulerDiscreteScheduler s, JsonNode args) {
        if (args == null || args.isNull()) return;
        Integer steps = args.hasNonNull("num_inference_steps") ? args.get("num_inference_steps").asInt() : null;
        s.setTimesteps(steps, doubles(args.get("timesteps")), doubles(args.get("sigmas")));
    }

    private static EulerChurn churn(JsonNode args) {
        EulerChurn d = EulerChurn.NONE;
        return new EulerChurn(args.path("s_churn").asDouble(d.sChurn()), args.path("s_tmin").asDouble(d.sTmin()),
                args.path("s_tmax").asDouble(d.sTmax()), args.path("s_noise").asDouble(d.sNoise()));
    }

    private static int indexOf(float[] values, float value) {
        for (int i = 0; i < values.length; i++) if (values[i] == value) return i;
        throw new AssertionError("timestep " + value + " is not among the recorded timesteps");
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double err = ArrayErrors.relativeError(actual, expected);
        assertTrue(err <= 1e-6, what + " relative error " + err);
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    private static double[] doubles(JsonNode array) {
        if (array == null || array.isNull()) return null;
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }
}
