package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link UniPcStepGraph} against the host {@link UniPcMultistepScheduler} (itself checked against diffusers), through
 * {@link StepGraphCheck}: whole runs over a grid of the options that change the update, for several step counts.
 */
class UniPcStepGraphTest {
    static final int[] SHAPE = {2, 4, 3, 5};
    static final int[] STEP_COUNTS = {1, 2, 3, 8, 25};
    /** Relative to the largest |x_next|: the graph rounds once per linear combination where diffusers rounds per op. */
    static final double TOLERANCE = 2e-5;
    static final Path I2VGEN_XL = Path.of("src/test/resources/i2vgen-xl-scheduler_config.json");
    static final Map<String, Object> SD = Map.of("beta_schedule", "scaled_linear", "beta_start", 0.00085, "beta_end", 0.012);

    /** I2VGen-XL's scheduler config read as UniPC (DDIM keys ignored): v_prediction, zero SNR, leading, bh2, order 2. */
    static UniPcMultistepConfig i2vgenXl() { return UniPcMultistepConfig.read(I2VGEN_XL); }

    static UniPcMultistepConfig sd(Map<String, ?> overrides) {
        return UniPcMultistepConfig.defaults().withOverrides(SD).withOverrides(overrides);
    }

    /** Runs the config at every step count of {@link #STEP_COUNTS}. */
    static void matchesHostAtEveryStepCount(String what, UniPcMultistepConfig config) {
        for (int steps : STEP_COUNTS) {
            StepGraphCheck.assertMatchesHost(what + ", " + steps + " steps", () -> new UniPcMultistepScheduler(config),
                    steps, 0.0, TOLERANCE, SHAPE);
        }
    }

    @Test
    void i2vgenXlConfigWithUniPcDefaults() {
        UniPcMultistepConfig c = i2vgenXl();
        assertEquals(UniPcSolverType.BH2, c.solverType());
        assertEquals(2, c.solverOrder());
        matchesHostAtEveryStepCount("I2VGen-XL", c);
        matchesHostAtEveryStepCount("I2VGen-XL, trailing", c.withOverrides(Map.of("timestep_spacing", "trailing")));
    }

    @Test
    void epsilonConfigsLikeStableDiffusion() {
        matchesHostAtEveryStepCount("SD epsilon", sd(Map.of()));
        matchesHostAtEveryStepCount("SD epsilon, Karras sigmas", sd(Map.of("use_karras_sigmas", true)));
        matchesHostAtEveryStepCount("SD epsilon, exponential sigmas", sd(Map.of("use_exponential_sigmas", true)));
        matchesHostAtEveryStepCount("SD epsilon, beta sigmas", sd(Map.of("use_beta_sigmas", true)));
        matchesHostAtEveryStepCount("SD epsilon, leading, sigma_min",
                sd(Map.of("timestep_spacing", "leading", "steps_offset", 1, "final_sigmas_type", "sigma_min")));
    }

    /**
     * Solver types and orders. bh1, the ε form and lower_order_final = false need final_sigmas_type = sigma_min: onto
     * σ = 0 diffusers itself gives NaN or ±∞ there (see {@link UniPcMultistepScheduler}), so no finite result to match.
     */
    @Test
    void solverTypesAndOrders() {
        Map<String, Object> sigmaMin = Map.of("final_sigmas_type", "sigma_min");
        matchesHostAtEveryStepCount("bh1 order 3", sd(sigmaMin).withOverrides(
                Map.of("solver_type", "bh1", "solver_order", 3)));
        matchesHostAtEveryStepCount("bh2 order 3", sd(Map.of("solver_order", 3)));
        matchesHostAtEveryStepCount("order 1", sd(Map.of("solver_order", 1)));
        matchesHostAtEveryStepCount("bh1 order 2, Karras", sd(sigmaMin).withOverrides(
                Map.of("solver_type", "bh1", "use_karras_sigmas", true)));
        // 8 terms in the corrector (one task), then 9: a chain of two tasks
        matchesHostAtEveryStepCount("order 5", sd(Map.of("solver_order", 5)));
        matchesHostAtEveryStepCount("order 6", sd(Map.of("solver_order", 6)));
    }

    @Test
    void lowerOrderFinalOffWith25Steps() {
        UniPcMultistepConfig c = sd(Map.of("lower_order_final", false, "final_sigmas_type", "sigma_min", "solver_order", 3));
        StepGraphCheck.assertMatchesHost("lower_order_final false, order 3",
                () -> new UniPcMultistepScheduler(c), 25, 0.0, TOLERANCE, SHAPE);
        UniPcMultistepConfig i2v = i2vgenXl().withOverrides(Map.of("lower_order_final", false, "final_sigmas_type", "sigma_min"));
        StepGraphCheck.assertMatchesHost("I2VGen-XL, lower_order_final false",
                () -> new UniPcMultistepScheduler(i2v), 25, 0.0, TOLERANCE, SHAPE);
    }

    @Test
    void noiseFormOfTheUpdate() {
        Map<String, Object> epsForm = Map.of("predict_x0", false, "final_sigmas_type", "sigma_min");
        matchesHostAtEveryStepCount("predict_x0 false, epsilon", sd(epsForm));
        matchesHostAtEveryStepCount("predict_x0 false, sample",
                sd(epsForm).withOverrides(Map.of("prediction_type", "sample")));
        matchesHostAtEveryStepCount("predict_x0 false, I2VGen-XL (v_prediction)", i2vgenXl().withOverrides(epsForm));
        matchesHostAtEveryStepCount("predict_x0 false, bh1 order 3",
                sd(epsForm).withOverrides(Map.of("solver_type", "bh1", "solver_order", 3)));
    }

    @Test
    void predictionTypesAndFlowSigmas() {
        matchesHostAtEveryStepCount("sample prediction", sd(Map.of("prediction_type", "sample")));
        matchesHostAtEveryStepCount("v_prediction", sd(Map.of("prediction_type", "v_prediction")));
        matchesHostAtEveryStepCount("flow sigmas, flow_prediction, shift 3", sd(Map.of(
                "use_flow_sigmas", true, "prediction_type", "flow_prediction", "flow_shift", 3.0)));
        matchesHostAtEveryStepCount("flow sigmas, Karras, sigma_min", sd(Map.of(
                "use_flow_sigmas", true, "prediction_type", "flow_prediction", "use_karras_sigmas", true,
                "final_sigmas_type", "sigma_min")));
    }

    @Test
    void disabledCorrector() {
        matchesHostAtEveryStepCount("disable_corrector [0, 1]", sd(Map.of("disable_corrector", List.of(0, 1))));
        matchesHostAtEveryStepCount("I2VGen-XL, disable_corrector [0, 1], order 3",
                i2vgenXl().withOverrides(Map.of("disable_corrector", List.of(0, 1), "solver_order", 3)));
        matchesHostAtEveryStepCount("disable_corrector [2, 5, 23]", sd(Map.of("disable_corrector", List.of(2, 5, 23))));
    }

    /**
     * bh1 onto σ = 0: diffusers' last step subtracts B·0 with B infinite and gives NaN; so does the host port, and the
     * graph's last step carries that NaN in the sample's weight (the earlier steps stay finite).
     */
    @Test
    void reproducesDiffusersNaNOntoZeroSigma() {
        UniPcMultistepConfig c = sd(Map.of("solver_type", "bh1"));
        UniPcMultistepScheduler host = new UniPcMultistepScheduler(c).setTimesteps(3);
        StepGraph sg = new UniPcMultistepScheduler(c).setTimesteps(3).stepGraph(new TaskGraph("nan", DType.F32), 0.0, SHAPE);
        TorchGenerator data = new TorchGenerator(8);
        float[] sample = data.randn(120);
        for (int i = 0; i < 3; i++) {
            sample = host.step(data.randn(120), i, sample, SHAPE, 0.0, null);
            float[] predictor = sg.inputs(i, null).get(UniPcStepGraph.PREDICT).toFloatArray();
            boolean last = i == 2;
            assertEquals(last, Float.isNaN(sample[0]), "host NaN at step " + i);
            assertEquals(last, Float.isNaN(predictor[0]), "graph's sample weight NaN at step " + i);
        }
    }

    /** A run that starts at the begin index (image-to-image): no corrector and a fresh warm-up there, as diffusers. */
    @Test
    void runFromBeginIndex() {
        UniPcMultistepConfig c = sd(Map.of("solver_order", 3));
        runAgainstHost(c, 12, 4, DType.F32, TOLERANCE);
        StepGraph sg = new UniPcMultistepScheduler(c).setTimesteps(12).setBeginIndex(4)
                .stepGraph(new TaskGraph("unipc_begin", DType.F32), 0.0, SHAPE);
        assertThrows(IllegalArgumentException.class, () -> sg.inputs(3, null), "a step before the run's first");
    }

    /**
     * In an fp16 or bf16 graph the history and last_sample are stored in that dtype (the combinations still run in
     * float32): the run stays within that dtype's rounding of the host's float32 one.
     */
    @Test
    void halfPrecisionGraphs() {
        UniPcMultistepConfig c = i2vgenXl().withOverrides(Map.of("solver_order", 3));
        runAgainstHost(c, 25, 0, DType.F16, 4e-3);
        runAgainstHost(c, 25, 0, DType.BF16, 3e-2);
    }

    /**
     * Steps {@code begin}..{@code steps − 1} of the graph in {@code activation} on the JVM backend against the host,
     * each step from the host's previous sample (so that half-precision rounding does not accumulate), within
     * {@code tolerance} relative to the largest |x_next|.
     */
    private static void runAgainstHost(UniPcMultistepConfig c, int steps, int begin, DType activation, double tolerance) {
        int n = Math.toIntExact(Tensor.numel(SHAPE));
        UniPcMultistepScheduler host = new UniPcMultistepScheduler(c).setTimesteps(steps);
        UniPcMultistepScheduler device = new UniPcMultistepScheduler(c).setTimesteps(steps);
        if (begin > 0) {
            host.setBeginIndex(begin);
            device.setBeginIndex(begin);
        }
        TaskGraph g = new TaskGraph("unipc_run", activation);
        Value x = g.input("x", activation, SHAPE), m = g.input("m", activation, SHAPE);
        StepGraph sg = device.stepGraph(g, 0.0, SHAPE);
        g.output("next", sg.step(g, x, m));
        TorchGenerator data = new TorchGenerator(5);
        float[] sample = data.randn(n);
        try (Backend backend = Backends.create("jvm"); ExecutionPlan plan = backend.compile(g.freeze())) {
            sg.initialState().forEach(plan::bind);
            for (int i = begin; i < steps; i++) {
                float[] modelOutput = data.randn(n);
                Map<String, Tensor> in = new HashMap<>(sg.inputs(i, null));
                in.put("x", Tensor.fromFloats(sample, SHAPE));
                in.put("m", Tensor.fromFloats(modelOutput, SHAPE));
                plan.executeByName(in);
                float[] expected = host.step(modelOutput, i, sample, SHAPE, 0.0, null);
                float[] actual = plan.read("next").toFloatArray();
                double err = 0;
                for (int j = 0; j < n; j++) err = Math.max(err, Math.abs(actual[j] - expected[j]));
                double rel = err / maxAbs(expected);
                assertTrue(rel <= tolerance, activation + " step " + i + ": relative error " + rel);
                sg.afterStep(plan, i);
                sample = expected;
            }
        }
    }

    /** UniPC draws no noise: building the inputs leaves the generator's stream where it was. */
    @Test
    void drawsNoNoise() {
        UniPcMultistepScheduler s = new UniPcMultistepScheduler(i2vgenXl()).setTimesteps(8);
        StepGraph sg = s.stepGraph(new TaskGraph("unipc_noise", DType.F32), 0.0, SHAPE);
        TorchGenerator used = new TorchGenerator(42);
        for (int i = 0; i < 8; i++) sg.inputs(i, used);
        assertArrayEquals(new TorchGenerator(42).randn(16), used.randn(16));
    }

    /** Every name the step graph adds carries the "unipc." prefix, so it cannot clash with the pipeline's. */
    @Test
    void namesArePrefixed() {
        TaskGraph g = new TaskGraph("unipc_names", DType.F32);
        Value x = g.input("latents", DType.F32, SHAPE), m = g.input("noise_pred", DType.F32, SHAPE);
        StepGraph sg = new UniPcMultistepScheduler(sd(Map.of("solver_order", 6))).setTimesteps(8).stepGraph(g, 0.0, SHAPE);
        g.output("next_latents", sg.step(g, x, m));
        ImmutableTaskGraph frozen = g.freeze();
        List<String> own = List.of("latents", "noise_pred", "next_latents");
        for (String name : frozen.inputs().keySet()) assertTrue(own.contains(name) || name.startsWith("unipc."), name);
        for (String name : frozen.outputs().keySet()) assertTrue(own.contains(name) || name.startsWith("unipc."), name);
        for (String name : sg.inputs(3, null).keySet()) assertTrue(frozen.inputs().containsKey(name), name);
        for (String name : sg.initialState().keySet()) assertTrue(frozen.inputs().containsKey(name), name);
    }

    /** Dynamic thresholding of x0 stays on the host; diffusers does not threshold the ε form, which runs on the device. */
    @Test
    void thresholdingStaysOnTheHost() {
        UniPcMultistepScheduler thresholded = new UniPcMultistepScheduler(sd(Map.of("thresholding", true))).setTimesteps(8);
        assertFalse(thresholded.stepsOnDevice());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> thresholded.stepGraph(new TaskGraph("t", DType.F32), 0.0, SHAPE));
        assertTrue(e.getMessage().contains("thresholding"), e.getMessage());

        UniPcMultistepConfig epsForm = sd(Map.of("thresholding", true, "predict_x0", false, "final_sigmas_type", "sigma_min"));
        assertTrue(new UniPcMultistepScheduler(epsForm).stepsOnDevice());
        StepGraphCheck.assertMatchesHost("thresholding with predict_x0 false", () -> new UniPcMultistepScheduler(epsForm),
                8, 0.0, TOLERANCE, SHAPE);
        assertTrue(new UniPcMultistepScheduler(sd(Map.of())).stepsOnDevice());
    }

    /** The host step with the sample's shape thresholds per batch item, as the shape-aware step does. */
    @Test
    void hostStepWithShapeThresholdsPerBatchItem() {
        UniPcMultistepConfig c = sd(Map.of("thresholding", true, "sample_max_value", 1.5));
        UniPcMultistepScheduler viaInterface = new UniPcMultistepScheduler(c).setTimesteps(6);
        UniPcMultistepScheduler direct = new UniPcMultistepScheduler(c).setTimesteps(6);
        UniPcMultistepScheduler unthresholded = new UniPcMultistepScheduler(
                c.withOverrides(Map.of("thresholding", false))).setTimesteps(6);
        TorchGenerator data = new TorchGenerator(3);
        float[] sample = data.randn(120);
        boolean thresholdMattered = false;
        for (int i = 0; i < 6; i++) {
            float[] modelOutput = data.randn(120);
            float[] expected = direct.step(modelOutput, sample, SHAPE);
            assertArrayEquals(expected, viaInterface.step(modelOutput, i, sample, SHAPE, 0.0, null), "step " + i);
            float[] plain = unthresholded.step(modelOutput, i, sample, null);
            thresholdMattered |= !Arrays.equals(plain, expected);
            sample = expected;
        }
        assertTrue(thresholdMattered, "the thresholded run must differ from the plain one, or this test shows nothing");
        assertThrows(IllegalArgumentException.class, () -> new UniPcMultistepScheduler(c).setTimesteps(6)
                .step(new float[120], 6, new float[120], SHAPE, 0.0, null));
    }

    @Test
    void refusesWhatItCannotBuild() {
        UniPcMultistepScheduler unset = new UniPcMultistepScheduler(sd(Map.of()));
        assertThrows(IllegalStateException.class, () -> unset.stepGraph(new TaskGraph("u", DType.F32), 0.0, SHAPE));
        UniPcMultistepScheduler flowEps = new UniPcMultistepScheduler(sd(Map.of("use_flow_sigmas", true,
                "prediction_type", "flow_prediction", "predict_x0", false))).setTimesteps(4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> flowEps.stepGraph(new TaskGraph("f", DType.F32), 0.0, SHAPE));
        assertTrue(e.getMessage().contains("flow_prediction"), e.getMessage());
        UniPcMultistepScheduler ok = new UniPcMultistepScheduler(sd(Map.of())).setTimesteps(4);
        assertThrows(IllegalArgumentException.class, () -> ok.stepGraph(new TaskGraph("s", DType.F32), 0.0));
        StepGraph sg = ok.stepGraph(new TaskGraph("r", DType.F32), 0.0, SHAPE);
        assertThrows(IllegalArgumentException.class, () -> sg.inputs(4, null));
    }

    private static float maxAbs(float[] v) {
        float m = 0;
        for (float f : v) m = Math.max(m, Math.abs(f));
        return m;
    }
}
