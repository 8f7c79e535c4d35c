package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The scheduler against diffusers' own outputs on a grid of configurations (every option; orders 1–6, bh1 and bh2,
 * whole sampling runs of 1 to 29 steps), recorded by {@code conformance/tools/make_unipc_fixtures.py} into
 * {@code scheduler-fixtures/unipc.json}. Each step gets diffusers' own sample (the previous prev_sample), so every
 * step is checked from the same inputs while the multistep history is the port's own. Another recording can be
 * checked with {@code -Di2vgen.unipcFixture=/path/to/unipc.json}.
 *
 * <p>Tolerances. torch's CPU sqrt, log and expm1 (MKL VML) are not always correctly rounded, and torch.linspace
 * fuses a multiply-add; the port rounds those correctly and computes betas with {@link NoiseSchedule}'s two
 * roundings. The generator therefore also replays every run through diffusers with the port's rounding of exactly
 * those operations: each step must match that replay to 1e-6 (on the committed recording it is bit-identical, all
 * 621 steps), and diffusers itself to 1e-6 plus the step's recorded "floor", how far the replay moved diffusers' own
 * result. The floor is 0 to 1e-6 for most steps; it grows where a last-bit change is amplified: x0 = (x − σ·ε)/α
 * at σ ≈ 157 (7e-6), a beta-sigma step from σ = 19 straight to 0.01 (4e-5), the ill-conditioned order-5 and
 * order-6 systems (5e-6, 6e-5). Beta and exponential timesteps floor an interpolated value, which such a last-bit
 * difference can move across an integer: the replay's timesteps are then recorded too, and the port must give those.
 */
class UniPcMultistepFixtureTest {
    static final Path FIXTURE = Path.of(System.getProperty("i2vgen.unipcFixture",
            "src/test/resources/scheduler-fixtures/unipc.json"));

    static JsonNode fixture() throws IOException {
        assumeTrue(Files.isRegularFile(FIXTURE), "no fixture at " + FIXTURE.toAbsolutePath() + ": generate it with"
                + " python3 conformance/tools/make_unipc_fixtures.py (needs torch and diffusers)");
        return JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readTree(FIXTURE.toFile());
    }

    @TestFactory
    List<DynamicTest> matchesDiffusers() throws IOException {
        JsonNode fixture = fixture();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode run : fixture.get("runs")) {
            String name = run.get("name").asText() + " " + run.get("set_timesteps");
            tests.add(DynamicTest.dynamicTest(name, () -> checkRun(run, name)));
        }
        int i = 0;
        for (JsonNode add : fixture.get("add_noise")) {
            tests.add(DynamicTest.dynamicTest("add_noise " + i++ + " " + add.get("config"), () -> checkAddNoise(add)));
        }
        i = 0;
        for (JsonNode error : fixture.get("errors")) {
            tests.add(DynamicTest.dynamicTest("error " + i++ + ": " + error.get("message").asText(), () -> checkError(error)));
        }
        assertTrue(fixture.get("runs").size() > 50, "fixture " + FIXTURE + " has too few runs");
        return tests;
    }

    static UniPcMultistepScheduler build(JsonNode config, JsonNode setArgs, String source) {
        UniPcMultistepScheduler s = new UniPcMultistepScheduler(UniPcMultistepConfig.fromJson(config, source));
        if (setArgs != null && !setArgs.isNull()) {
            Integer steps = setArgs.hasNonNull("num_inference_steps") ? setArgs.get("num_inference_steps").asInt() : null;
            Double mu = setArgs.hasNonNull("mu") ? setArgs.get("mu").asDouble() : null;
            s.setTimesteps(steps, doubles(setArgs.get("sigmas")), mu);
        }
        return s;
    }

    private static void checkRun(JsonNode run, String name) {
        UniPcMultistepScheduler s = build(run.get("config"), run.get("set_timesteps"), name);
        float[] expectedSigmas = floats(run.get("sigmas"));
        float[] sigmas = s.sigmas();
        assertEquals(expectedSigmas.length, sigmas.length, name + ": sigma count");
        double sigmaTolerance = 1e-6 + run.get("sigma_floor").asDouble();
        for (int i = 0; i < sigmas.length; i++) {
            assertEquals(expectedSigmas[i], sigmas[i], sigmaTolerance * Math.abs(expectedSigmas[i]), name + ": sigma " + i);
        }
        long[] timesteps = s.integerTimesteps();
        // σ → t floors its interpolated value: a last-bit difference of a sigma can move it across an integer
        if (!Arrays.equals(longs(run.get("timesteps")), timesteps) && run.has("timesteps_port_rounding")) {
            assertArrayEquals(longs(run.get("timesteps_port_rounding")), timesteps, name + ": timesteps (port rounding)");
        } else {
            assertArrayEquals(longs(run.get("timesteps")), timesteps, name + ": timesteps");
        }
        assertEquals(run.get("init_noise_sigma").asDouble(), s.initNoiseSigma(), name + ": init_noise_sigma");

        int[] shape = ints(run.get("shape"));
        float[] sample = floats(run.get("sample"));
        if (run.has("begin_index")) {
            s.setBeginIndex(run.get("begin_index").asInt());
            JsonNode add = run.get("add_noise");
            assertClose(floats(add.get("result")), s.addNoise(floats(add.get("original")), floats(add.get("noise")),
                    timesteps[run.get("begin_index").asInt()]), 1e-6, name + ": add_noise");
        }
        for (JsonNode step : run.get("steps")) {
            int index = step.get("step_index").asInt();
            String at = name + " step " + index;
            float[] prev = s.stepAtTimestep(floats(step.get("model_output")), timesteps[index], sample, shape);
            assertEquals(index + 1, s.stepIndex().orElseThrow(), at + ": step index");
            assertEquals(step.get("order").asInt(), s.lastPredictorOrder(), at + ": predictor order");
            float[] expected = floats(step.get("prev_sample"));
            // the port's arithmetic: diffusers rerun with the port's rounding of sqrt, log, expm1 and linspace
            JsonNode portRounding = step.get("prev_sample_port_rounding");
            assertClose(portRounding == null ? expected : floats(portRounding), prev, 1e-6, at + ": prev_sample (port rounding)");
            // diffusers itself: 1e-6 plus how far those last-bit differences move diffusers' own result
            assertClose(expected, prev, 1e-6 + step.get("floor").asDouble(), at + ": prev_sample");
            sample = expected;
        }
    }

    private static void checkAddNoise(JsonNode add) {
        UniPcMultistepScheduler s = build(add.get("config"), add.get("set_timesteps"), "add_noise");
        assertClose(floats(add.get("result")), s.addNoise(floats(add.get("original")), floats(add.get("noise")),
                add.get("timestep").asLong()), 1e-6, "add_noise " + add.get("config"));
    }

    /** diffusers' error, raised by the same call: the constructor, set_timesteps or the n-th step. */
    private static void checkError(JsonNode error) {
        String message = error.get("message").asText();
        int steps = error.get("steps").asInt();
        RuntimeException e = assertThrows(RuntimeException.class, () -> {
            UniPcMultistepScheduler s = build(error.get("config"), error.get("set_timesteps"), "fixture");
            int[] shape = {1, 2, 3};
            for (int i = 0; i < steps; i++) {
                float[] model = new float[6], sample = new float[6];
                Arrays.fill(model, 0.1f * i);
                Arrays.fill(sample, 1f);
                s.stepAtTimestep(model, s.numInferenceSteps() == 0 ? 999 : s.integerTimesteps()[i], sample, shape);
            }
        });
        assertTrue(e.getMessage().endsWith(message), "expected diffusers' message '" + message + "', got '" + e.getMessage() + "'");
    }

    /** ‖actual − expected‖/‖expected‖ ≤ tolerance over the finite values, which must sit where diffusers' do (NaN and ±∞ alike). */
    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        List<Float> e = new ArrayList<>(), a = new ArrayList<>();
        for (int i = 0; i < expected.length; i++) {
            if (Float.isFinite(expected[i])) {
                e.add(expected[i]);
                a.add(actual[i]);
            } else {
                assertEquals(expected[i], actual[i], what + ": non-finite value " + i);
            }
        }
        float[] ef = new float[e.size()], af = new float[a.size()];
        for (int i = 0; i < ef.length; i++) {
            ef[i] = e.get(i);
            af[i] = a.get(i);
        }
        if (ef.length == 0) return;
        double err = ArrayErrors.relativeError(af, ef);
        assertTrue(err <= tolerance, what + " relative error " + err + " > " + tolerance);
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    static double[] doubles(JsonNode array) {
        if (array == null || array.isNull()) return null;
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
