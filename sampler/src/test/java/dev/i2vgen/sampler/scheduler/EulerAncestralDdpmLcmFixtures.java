package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.ThrowingConsumer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Reading the fixtures that {@code conformance/tools/make_ancestral_ddpm_lcm_fixtures.py} records from diffusers
 * (euler-ancestral.json, ddpm.json, lcm.json), shared by the three schedulers' fixture tests.
 */
final class EulerAncestralDdpmLcmFixtures {
    static final Path DIR = Path.of("src/test/resources/scheduler-fixtures");
    /** Relative error allowed per tensor: float32 rounding differences of a few ulps (torch's vectorised exp/log/sqrt). */
    static final double TENSOR_TOLERANCE = 1e-6;

    private EulerAncestralDdpmLcmFixtures() {}

    /** The fixture {@code name} (or the file named by the system property), skipping the test when it is absent. */
    static JsonNode load(String name, String property) throws IOException {
        Path file = Path.of(System.getProperty(property, DIR.resolve(name).toString()));
        assumeTrue(Files.isRegularFile(file), "no fixture at " + file.toAbsolutePath() + ": generate it with python3"
                + " conformance/tools/make_ancestral_ddpm_lcm_fixtures.py (needs torch and diffusers)");
        JsonNode fixture = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readTree(file.toFile());
        assertTrue(fixture.get("runs").size() > 0, file + " has no runs");
        return fixture;
    }

    /** One test per recorded run ({@code checkRun}) and per recorded error ({@code checkError}). */
    static List<DynamicTest> dynamicTests(JsonNode fixture, ThrowingConsumer<JsonNode> checkRun,
                                          ThrowingConsumer<JsonNode> checkError) {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode run : fixture.get("runs")) tests.add(DynamicTest.dynamicTest(runName(run), () -> checkRun.accept(run)));
        int i = 0;
        for (JsonNode error : fixture.get("errors")) {
            tests.add(DynamicTest.dynamicTest("error " + i++ + ": " + error.get("message").asText(), () -> checkError.accept(error)));
        }
        return tests;
    }

    static String runName(JsonNode run) {
        return run.get("name").asText() + " " + run.get("set_timesteps");
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    static int[] ints(JsonNode array) {
        if (array == null || array.isNull()) return null;
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            assertTrue(array.get(i).isIntegralNumber() || array.get(i).asDouble() == Math.rint(array.get(i).asDouble()),
                    "integral value expected: " + array);
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** The step's noise generator: {@code torch.Generator().manual_seed(noise_seed)}. */
    static TorchGenerator noise(JsonNode step) {
        return new TorchGenerator(step.get("noise_seed").asLong());
    }

    /**
     * ‖actual − expected‖/‖expected‖ ≤ tolerance over the finite values, after requiring NaN exactly where diffusers
     * has NaN (DDPM's fixed_large_log).
     */
    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.isNaN(expected[i]), Float.isNaN(actual[i]), what + ": NaN at " + i);
            if (Float.isNaN(expected[i])) continue;
            diff += ((double) actual[i] - expected[i]) * ((double) actual[i] - expected[i]);
            norm += (double) expected[i] * expected[i];
        }
        double err = norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
        assertTrue(err <= tolerance, what + " relative error " + err + " > " + tolerance);
    }

    /** Each value within {@code relative} of diffusers' (exactly equal where diffusers has 0). */
    static void assertEachClose(float[] expected, float[] actual, double relative, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], relative * Math.abs(expected[i]), what + " " + i);
        }
    }

    /** The recorded ᾱ_t probes ({@code {"t": value}}) against the port's alphas_cumprod. */
    static void assertAlphasCumprod(JsonNode probes, float[] alphasCumprod, double relative, String what) {
        for (Map.Entry<String, JsonNode> e : probes.properties()) {
            int t = Integer.parseInt(e.getKey());
            double expected = e.getValue().asDouble();
            assertEquals(expected, alphasCumprod[t], relative * expected, what + ": alphas_cumprod[" + t + "]");
        }
    }

    /** An error call must fail with a message that ends with diffusers' own. */
    static void assertDiffusersMessage(JsonNode error, Runnable call) {
        String message = error.get("message").asText();
        RuntimeException e = assertThrows(RuntimeException.class, call::run);
        assertTrue(e.getMessage() != null && e.getMessage().endsWith(message),
                "expected diffusers' message '" + message + "', got '" + e.getMessage() + "'");
    }
}
