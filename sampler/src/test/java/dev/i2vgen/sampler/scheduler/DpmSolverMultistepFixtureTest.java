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
 * The scheduler against diffusers' own outputs: whole sampling runs on a grid of configurations (every option,
 * orders 1 to 3, the sde variants with torch-seeded noise, 1 to 30 steps) and diffusers' errors, recorded by
 * {@code conformance/tools/make_dpmsolver_fixtures.py} into {@code scheduler-fixtures/dpmsolver.json}. Each step
 * gets diffusers' previous prev_sample as its sample, so that every step is checked on its own. Another recording
 * can be checked with {@code -Di2vgen.dpmSolverFixture=/path/to/dpmsolver.json}.
 */
class DpmSolverMultistepFixtureTest {
    static final Path FIXTURE = Path.of(System.getProperty("i2vgen.dpmSolverFixture",
            "src/test/resources/scheduler-fixtures/dpmsolver.json"));

    /**
     * Against the correctly rounded recording (diffusers with torch's log/exp/sqrt rounded correctly, as Java's):
     * the port repeats diffusers' float32 operations in diffusers' order, so the results agree to the last bit in
     * practice; this allows one ulp here and there (rare double-rounding differences of the float64 evaluation).
     * Tolerances are ‖java − diffusers‖ / ‖diffusers‖ per tensor, and per value for sigmas.
     */
    static final double EXACT_TOLERANCE = 1e-7;

    /**
     * The same where the betas come from torch.linspace (linear and scaled_linear schedules): the shared
     * {@link NoiseSchedule#torchLinspace} rounds start + step·i after the product, while torch 2.13's CPU kernel
     * fuses them (one rounding, an FMA), so about a quarter of the betas differ by an ulp (≤ 1e-7 relative on σ).
     * Measured: ≤ 8.1e-7 over the fixture's steps.
     */
    static final double LINSPACE_BETAS_TOLERANCE = 1e-6;

    /**
     * Against diffusers as it ran: torch's CPU log, exp and sqrt (MKL's vector math, 0-d tensors included) are not
     * correctly rounded (on the fixture's machine 8%, 1.3% and 16% of float32 arguments come out an ulp away), and
     * which arguments depends on the CPU's code path. A step uses h = λ_t − λ_s, differences of logs |λ| ≈ 1–10 with
     * h ≈ 0.1–1, and its terms cancel, so those ulps grow: measured ≤ 1.8e-6 (≤ 6.7e-6 with zero terminal SNR).
     */
    static final double MKL_STEP_TOLERANCE = 1e-5;

    /**
     * A step also inherits the relative difference of the sigmas it uses (see {@link #sigmaTolerance}), amplified
     * through h and the multistep ratios. Measured: the largest step error, 6.8e-5 (I2VGen-XL with Karras sigmas,
     * whose σ_min is 1.4e-3 off), and 5.4e-5 (I2VGen-XL third-order SDE, at a σ 1.1e-5 off) stay within
     * MKL_STEP_TOLERANCE + 10 × the sigma difference.
     */
    static final double SIGMA_SENSITIVITY = 10;

    @TestFactory
    List<DynamicTest> matchesDiffusers() throws IOException {
        assumeTrue(Files.isRegularFile(FIXTURE), "no fixture at " + FIXTURE.toAbsolutePath() + ": generate it with"
                + " python3 conformance/tools/make_dpmsolver_fixtures.py (needs torch, diffusers and scipy)");
        JsonNode fixture = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readTree(FIXTURE.toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode run : fixture.get("runs")) {
            String name = run.get("name").asText() + " " + run.get("set_timesteps");
            tests.add(DynamicTest.dynamicTest(name, () -> checkRun(run, name)));
        }
        int i = 0;
        for (JsonNode error : fixture.get("errors")) {
            String name = "error " + i++ + " (" + error.get("stage").asText() + "): " + error.get("type").asText()
                    + " " + error.get("message").asText();
            tests.add(DynamicTest.dynamicTest(name, () -> checkError(error)));
        }
        assertTrue(fixture.get("runs").size() >= 50 && fixture.get("errors").size() >= 20, "fixture " + FIXTURE + " is incomplete");
        return tests;
    }

    /**
     * Checks a run twice: strictly against diffusers with correctly rounded log/exp/sqrt (the port's arithmetic,
     * operation by operation), then against diffusers as it ran, within the bounds MKL's rounding explains.
     */
    private static void checkRun(JsonNode run, String name) {
        replay(run, name + " [correctly rounded]", true);
        replay(run, name, false);
    }

    private static void replay(JsonNode run, String name, boolean correctlyRounded) {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(DpmSolverMultistepConfig.fromJson(run.get("config"), name));
        for (JsonNode call : run.get("set_timesteps")) setTimesteps(s, call);
        DpmSolverMultistepConfig c = s.config();
        boolean linspaceBetas = c.trainedBetas() == null && c.betaSchedule() != BetaSchedule.SQUAREDCOS_CAP_V2;
        double exact = linspaceBetas ? LINSPACE_BETAS_TOLERANCE : EXACT_TOLERANCE;

        assertArrayEquals(ints(pick(run, "timesteps", correctlyRounded)), s.discreteTimesteps(), name + ": timesteps");
        float[] expectedSigmas = floats(pick(run, "sigmas", correctlyRounded));
        float[] sigmas = s.sigmas();
        assertEquals(expectedSigmas.length, sigmas.length, name + ": sigma count");
        for (int i = 0; i < sigmas.length; i++) {
            double tolerance = correctlyRounded ? exact : sigmaTolerance(s, expectedSigmas[i]);
            assertEquals(expectedSigmas[i], sigmas[i], tolerance * Math.abs(expectedSigmas[i]), name + ": sigma " + i);
        }
        assertEquals(run.get("init_noise_sigma").asDouble(), s.initNoiseSigma(), name + ": init_noise_sigma");
        assertEquals(run.get("flow_shift").asDouble(), s.flowShift(), 1e-15, name + ": flow_shift");

        int begin = run.path("begin_index").asInt(0);
        if (run.has("begin_index")) s.setBeginIndex(begin);
        if (run.has("add_noise")) {
            JsonNode a = run.get("add_noise");
            float[] noisy = s.addNoise(floats(a.get("original")), floats(a.get("noise")), a.get("timestep").asInt());
            int at = s.indexForTimestep(a.get("timestep").asInt());
            double tolerance = correctlyRounded ? exact : MKL_STEP_TOLERANCE + SIGMA_SENSITIVITY * sigmaDifference(sigmas, expectedSigmas, at);
            assertClose(floats(pick(a, "noisy", correctlyRounded)), noisy, tolerance, name + ": add_noise");
        }

        int[] shape = ints(run.get("shape")), modelShape = ints(run.get("model_shape"));
        float[] sample = floats(run.get("sample"));
        JsonNode steps = run.get("steps");
        assertEquals(s.numInferenceSteps() - begin, steps.size(), name + ": recorded steps");
        for (int i = 0; i < steps.size(); i++) {
            JsonNode step = steps.get(i);
            int index = begin + i;
            String at = name + " step " + index + " (order " + s.updateOrder(index) + ")";
            assertSame(sample, s.scaleModelInput(sample, index), at + ": DPM-Solver does not scale the input");
            TorchGenerator generator = step.has("noise_seed") ? new TorchGenerator(step.get("noise_seed").asLong()) : null;
            float[] varianceNoise = step.has("variance_noise") ? floats(step.get("variance_noise")) : null;
            float[] prev = s.step(floats(step.get("model_output")), modelShape, index, sample, shape, generator, varianceNoise);
            float[] expected = floats(pick(step, "prev_sample", correctlyRounded));
            double tolerance = correctlyRounded ? exact
                    : MKL_STEP_TOLERANCE + SIGMA_SENSITIVITY * sigmaDifference(sigmas, expectedSigmas, index);
            assertClose(expected, prev, tolerance, at + ": prev_sample");
            assertEquals(index + 1, s.stepIndex().orElseThrow(), at + ": step index");
            sample = expected;
        }
    }

    /**
     * Relative tolerance of a sigma against diffusers as it ran. Without zero terminal SNR diffusers' MKL sqrt
     * ({@code ** 0.5}) is within an ulp. The zero-terminal-SNR rescale takes MKL's sqrt of ᾱ, whose ulp differences
     * reach σ = √((1 − ᾱ)/ᾱ) amplified by 1/(1 − ᾱ): measured ≤ 7.1·2⁻²⁴/(1 − ᾱ) near t = 0 (I2VGen-XL's σ_min is
     * 1.4e-3 off) and ≤ 32·2⁻²⁴ elsewhere; this allows 2⁻²⁴·(64 + 16/(1 − ᾱ)). Karras, exponential, beta and Lu
     * sigmas span [σ_min, σ_max] and carry σ_min's difference.
     */
    static double sigmaTolerance(DpmSolverMultistepScheduler s, float sigma) {
        DpmSolverMultistepConfig c = s.config();
        if (!c.rescaleBetasZeroSnr()) return 1e-6;
        if (sigma == 0) return 0; // the final σ = 0 is exact
        double reference = sigma;
        if (c.useKarrasSigmas() || c.useExponentialSigmas() || c.useBetaSigmas() || c.useLuLambdas()) {
            float a0 = s.alphasCumprod()[0];
            reference = Math.min(sigma, Math.sqrt((1 - a0) / a0));
        }
        double oneMinusAlphaBar = reference * reference / (1 + reference * reference);
        return 0x1p-24 * (64 + 16 / oneMinusAlphaBar);
    }

    /** The largest relative difference of the sigmas step {@code index} uses (σ[index − 2] … σ[index + 1]). */
    static double sigmaDifference(float[] sigmas, float[] expected, int index) {
        double max = 0;
        for (int j = Math.max(0, index - 2); j <= index + 1; j++) {
            if (expected[j] != 0) max = Math.max(max, Math.abs((double) sigmas[j] - expected[j]) / Math.abs(expected[j]));
        }
        return max;
    }

    /** The correctly rounded recording of {@code key} where it differs, else the plain one. */
    private static JsonNode pick(JsonNode node, String key, boolean correctlyRounded) {
        return correctlyRounded && node.has(key + "_cr") ? node.get(key + "_cr") : node.get(key);
    }

    /**
     * Replays the erroneous configuration or call sequence: the port must refuse it no later than diffusers fails,
     * with diffusers' message where diffusers raises a ValueError or NotImplementedError with one, else with an
     * explanation that says what the fixture lists under "mentions".
     */
    private static void checkError(JsonNode error) {
        int diffusersStage = stage(error.get("stage").asText(), error.path("step").asInt(0));
        int[] portStage = {0};
        RuntimeException e = assertThrows(RuntimeException.class, () -> {
            DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(DpmSolverMultistepConfig.fromJson(error.get("config"), "fixture"));
            portStage[0] = 1;
            JsonNode calls = error.get("set_timesteps");
            if (calls != null && !calls.isNull()) for (JsonNode call : calls) setTimesteps(s, call);
            int[] shape = error.has("shape") ? ints(error.get("shape")) : new int[]{1, 3, 2, 2};
            TorchGenerator inputs = new TorchGenerator(99);
            float[] sample = inputs.randn(shape);
            int steps = Math.max(1, s.numInferenceSteps());
            for (int i = 0; i < steps; i++) {
                portStage[0] = 2 + i;
                s.scaleModelInput(sample, i);
                sample = s.step(inputs.randn(shape), shape, i, sample, shape, new TorchGenerator(i), null);
            }
        }, "diffusers fails here");
        assertTrue(e instanceof IllegalArgumentException || e instanceof IllegalStateException, "unexpected " + e);
        assertTrue(portStage[0] <= diffusersStage, "the port fails at stage " + portStage[0] + ", after diffusers ("
                + diffusersStage + "): " + e);
        String type = error.get("type").asText();
        if (type.equals("ValueError") || type.equals("NotImplementedError")) {
            String message = error.get("message").asText();
            assertTrue(e.getMessage().contains(message), "expected diffusers' message '" + message + "', got '" + e.getMessage() + "'");
        } else {
            assertFalse(error.path("mentions").isEmpty(), "the fixture must say what the port's message explains");
            for (JsonNode mention : error.get("mentions")) {
                assertTrue(e.getMessage().contains(mention.asText()), "expected '" + mention.asText() + "' in '" + e.getMessage() + "'");
            }
        }
    }

    /** 0 constructor, 1 set_timesteps, 2 + i the loop's step i. */
    private static int stage(String name, int step) {
        return switch (name) {
            case "constructor" -> 0;
            case "set_timesteps" -> 1;
            case "step" -> 2 + step;
            default -> throw new AssertionError("unknown stage " + name);
        };
    }

    private static void setTimesteps(DpmSolverMultistepScheduler s, JsonNode call) {
        Integer steps = call.hasNonNull("num_inference_steps") ? call.get("num_inference_steps").asInt() : null;
        Double mu = call.hasNonNull("mu") ? call.get("mu").asDouble() : null;
        s.setTimesteps(steps, mu, call.hasNonNull("timesteps") ? ints(call.get("timesteps")) : null);
    }

    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        double err = ArrayErrors.relativeError(actual, expected);
        assertTrue(err <= tolerance, what + " relative error " + err);
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
