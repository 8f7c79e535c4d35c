package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DPMSolverMultistepScheduler's step graph against its host step ({@link StepGraphCheck}) over every option that
 * changes the update, on I2VGen-XL's scheduler config (zero-SNR v-prediction) and an SD-like ε config, and the runs
 * it must refuse when the graph is built, before any model call.
 */
class DpmSolverStepGraphTest {
    static final Path I2VGEN_XL = Path.of("../conformance/cases/tiny/checkpoint/scheduler/scheduler_config.json");
    static final int[] SHAPE = {2, 4, 3, 5};
    /** Relative to the largest |x_next|: the graph computes D and x_next as fused float32 sums with weights rounded once. */
    static final double TOLERANCE = 2e-5;
    private static double worst;

    /** diffusers' I2VGen-XL scheduler config (a DDIMScheduler file: its DDIM keys are ignored as from_config does). */
    static DpmSolverMultistepConfig i2vgenXl(Map<String, ?> overrides) {
        return DpmSolverMultistepConfig.read(I2VGEN_XL).withOverrides(overrides);
    }

    /** Stable Diffusion's training schedule with ε-prediction and leading spacing. */
    static DpmSolverMultistepConfig sdLike(Map<String, ?> overrides) {
        DpmSolverMultistepConfig sd = DpmSolverMultistepConfig.defaults().withOverrides(Map.of("beta_schedule",
                "scaled_linear", "beta_start", 0.00085, "beta_end", 0.012, "steps_offset", 1, "timestep_spacing", "leading"));
        return sd.withOverrides(overrides);
    }

    record Case(String name, DpmSolverMultistepConfig config, int steps) {
        @Override
        public String toString() { return name + ", " + steps + " steps"; }
    }

    static List<Case> grid() {
        List<Case> cases = new ArrayList<>();
        int[] all = {1, 2, 3, 8, 25}, some = {3, 8, 25};
        add(cases, "I2VGen-XL DPM++ 2M (defaults)", i2vgenXl(Map.of()), all);
        add(cases, "SD ε DPM++ 2M (defaults)", sdLike(Map.of()), all);
        add(cases, "I2VGen-XL sde-dpmsolver++ order 3", i2vgenXl(Map.of("algorithm_type", "sde-dpmsolver++", "solver_order", 3)), all);
        add(cases, "SD ε sde-dpmsolver++ order 3", sdLike(Map.of("algorithm_type", "sde-dpmsolver++", "solver_order", 3)), all);
        add(cases, "SD ε sde-dpmsolver++ heun", sdLike(Map.of("algorithm_type", "sde-dpmsolver++", "solver_type", "heun")), some);
        add(cases, "SD ε dpmsolver order 3 heun", sdLike(Map.of("algorithm_type", "dpmsolver", "solver_order", 3,
                "solver_type", "heun", "final_sigmas_type", "sigma_min")), all);
        add(cases, "I2VGen-XL dpmsolver order 3 heun", i2vgenXl(Map.of("algorithm_type", "dpmsolver", "solver_order", 3,
                "solver_type", "heun", "final_sigmas_type", "sigma_min")), some);
        add(cases, "SD ε dpmsolver order 2 midpoint", sdLike(Map.of("algorithm_type", "dpmsolver", "final_sigmas_type", "sigma_min")), some);
        add(cases, "SD ε DPM++ order 3 to the end", sdLike(Map.of("solver_order", 3, "lower_order_final", false,
                "final_sigmas_type", "sigma_min")), some);
        add(cases, "I2VGen-XL DPM++ order 3 heun", i2vgenXl(Map.of("solver_order", 3, "solver_type", "heun")), some);
        add(cases, "SD ε DPM++ heun", sdLike(Map.of("solver_type", "heun")), some);
        add(cases, "SD ε DPM++ order 1", sdLike(Map.of("solver_order", 1)), some);
        add(cases, "SD ε sde-dpmsolver midpoint", sdLike(Map.of("algorithm_type", "sde-dpmsolver", "final_sigmas_type", "sigma_min")), some);
        add(cases, "I2VGen-XL sde-dpmsolver heun", i2vgenXl(Map.of("algorithm_type", "sde-dpmsolver", "solver_type", "heun",
                "final_sigmas_type", "sigma_min")), some);
        // lower_order_final keeps the last two steps below third order: 4 steps is the longest such run
        add(cases, "SD ε sde-dpmsolver order 3", sdLike(Map.of("algorithm_type", "sde-dpmsolver", "solver_order", 3,
                "final_sigmas_type", "sigma_min")), new int[]{1, 2, 3, 4});
        add(cases, "SD ε euler_at_final", sdLike(Map.of("euler_at_final", true, "final_sigmas_type", "sigma_min")), new int[]{8, 25});
        add(cases, "I2VGen-XL euler_at_final order 3", i2vgenXl(Map.of("euler_at_final", true, "solver_order", 3,
                "final_sigmas_type", "sigma_min")), new int[]{8, 25});
        add(cases, "SD ε final_sigmas_type sigma_min", sdLike(Map.of("final_sigmas_type", "sigma_min")), some);
        add(cases, "I2VGen-XL final_sigmas_type sigma_min", i2vgenXl(Map.of("final_sigmas_type", "sigma_min")), some);
        add(cases, "SD ε final_sigmas_type zero, no lower_order_final", sdLike(Map.of("lower_order_final", false,
                "solver_order", 3)), new int[]{8, 25});
        add(cases, "SD ε use_karras_sigmas", sdLike(Map.of("use_karras_sigmas", true)), all);
        add(cases, "SD ε use_karras_sigmas sde-dpmsolver++ order 3", sdLike(Map.of("use_karras_sigmas", true,
                "algorithm_type", "sde-dpmsolver++", "solver_order", 3)), some);
        add(cases, "I2VGen-XL use_karras_sigmas (runs at 3 steps)", i2vgenXl(Map.of("use_karras_sigmas", true)), new int[]{3});
        add(cases, "SD ε use_exponential_sigmas", sdLike(Map.of("use_exponential_sigmas", true)), some);
        add(cases, "SD ε use_beta_sigmas", sdLike(Map.of("use_beta_sigmas", true)), some);
        add(cases, "SD ε use_lu_lambdas", sdLike(Map.of("use_lu_lambdas", true)), all);
        add(cases, "SD ε use_lu_lambdas order 3", sdLike(Map.of("use_lu_lambdas", true, "solver_order", 3)), some);
        add(cases, "flow sigmas, flow_prediction", sdLike(Map.of("use_flow_sigmas", true, "flow_shift", 3.0,
                "prediction_type", "flow_prediction")), some);
        add(cases, "flow sigmas, flow_prediction, sde-dpmsolver++", sdLike(Map.of("use_flow_sigmas", true,
                "prediction_type", "flow_prediction", "algorithm_type", "sde-dpmsolver++")), some);
        for (String algorithm : new String[]{"dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver"}) {
            for (String prediction : new String[]{"sample", "v_prediction"}) {
                add(cases, "SD " + prediction + " " + algorithm, sdLike(Map.of("prediction_type", prediction,
                        "algorithm_type", algorithm, "final_sigmas_type", "sigma_min")), new int[]{8});
            }
        }
        add(cases, "I2VGen-XL trailing spacing", i2vgenXl(Map.of("timestep_spacing", "trailing")), some);
        add(cases, "SD ε lambda_min_clipped", sdLike(Map.of("lambda_min_clipped", -5.1)), new int[]{25});
        // the variance channels are never sliced off for a prediction type other than ε
        add(cases, "I2VGen-XL variance_type learned_range", i2vgenXl(Map.of("variance_type", "learned_range")), some);
        return cases;
    }

    private static void add(List<Case> cases, String name, DpmSolverMultistepConfig config, int[] steps) {
        for (int n : steps) cases.add(new Case(name, config, n));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void matchesTheHostStep(Case c) {
        double err = StepGraphCheck.assertMatchesHost(c.toString(), () -> new DpmSolverMultistepScheduler(c.config()),
                c.steps(), 0.0, TOLERANCE, SHAPE);
        synchronized (DpmSolverStepGraphTest.class) { worst = Math.max(worst, err); }
    }

    @AfterAll
    static void reportWorst() {
        System.out.println("DpmSolverStepGraphTest: worst relative error against the host step " + worst);
    }

    @Test
    void ordersFollowTheWarmUpAndTheFinalSteps() {
        assertArrayEquals(new int[]{1, 2, 3, 3, 3, 3, 2, 1}, orders(sdLike(Map.of("solver_order", 3)), 8), "lower_order_final");
        assertArrayEquals(new int[]{1, 2, 3, 3, 3, 3, 3, 3}, orders(sdLike(Map.of("solver_order", 3,
                "lower_order_final", false, "final_sigmas_type", "sigma_min")), 8));
        assertArrayEquals(new int[]{1, 2, 3, 3, 3, 3, 3, 1}, orders(sdLike(Map.of("solver_order", 3,
                "lower_order_final", false)), 8), "final_sigmas_type zero");
        int[] euler = orders(sdLike(Map.of("euler_at_final", true, "final_sigmas_type", "sigma_min")), 20);
        assertEquals(1, euler[19], "euler_at_final");
        assertEquals(2, euler[18], "20 steps: lower_order_final does not apply");
    }

    private static int[] orders(DpmSolverMultistepConfig config, int steps) {
        DpmSolverStepGraph sg = (DpmSolverStepGraph) graph(new DpmSolverMultistepScheduler(config).setTimesteps(steps));
        return IntStream.range(0, steps).map(sg::order).toArray();
    }

    private static StepGraph graph(Scheduler s) {
        return s.stepGraph(new TaskGraph("dpm_step", DType.F32), 0.0, SHAPE);
    }

    /**
     * I2VGen-XL's zero-SNR schedule with Karras sigmas repeats its first timestep from 5 steps on; diffusers then
     * fails on the last step. The graph is refused when built, so a pipeline refuses before the first model call.
     */
    @Test
    void karrasSigmasOnZeroSnrAreRefusedWhenTheGraphIsBuilt() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(i2vgenXl(Map.of("use_karras_sigmas", true))).setTimesteps(25);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> graph(s));
        for (String why : new String[]{"index_for_timestep", "IndexError", "rescale_betas_zero_snr and use_karras_sigmas"}) {
            assertTrue(e.getMessage().contains(why), "'" + why + "' in " + e.getMessage());
        }
        assertNotNull(graph(s.setBeginIndex(0)), "with a begin index diffusers runs, and so does the graph");
    }

    @Test
    void thirdOrderSdeDpmSolverIsRefusedWhenTheGraphIsBuilt() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(sdLike(Map.of("algorithm_type", "sde-dpmsolver",
                "solver_order", 3, "final_sigmas_type", "sigma_min"))).setTimesteps(5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> graph(s));
        assertTrue(e.getMessage().contains("step 2 would be a third-order sde-dpmsolver update"), e.getMessage());
    }

    @Test
    void thresholdingStepsOnTheHost() {
        DpmSolverMultistepConfig config = sdLike(Map.of("thresholding", true, "sample_max_value", 1.5));
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(config).setTimesteps(4);
        assertFalse(s.stepsOnDevice());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> graph(s));
        assertTrue(e.getMessage().contains("thresholding"), e.getMessage());
        assertTrue(new DpmSolverMultistepScheduler(sdLike(Map.of())).stepsOnDevice());

        // the interface's host step thresholds per batch item, as the shape-aware step does
        DpmSolverMultistepScheduler shapeAware = new DpmSolverMultistepScheduler(config).setTimesteps(4);
        TorchGenerator data = new TorchGenerator(3);
        float[] x = data.randn(SHAPE), y = x.clone();
        for (int i = 0; i < 4; i++) {
            float[] m = data.randn(SHAPE);
            x = s.step(m, i, x, SHAPE, 0.0, null);
            y = shapeAware.step(m, SHAPE, i, y, SHAPE, null, null);
            assertArrayEquals(y, x, "step " + i);
        }
    }

    @Test
    void learnedVarianceEpsilonStepsOnTheHost() {
        DpmSolverMultistepConfig config = sdLike(Map.of("variance_type", "learned"));
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(config).setTimesteps(3);
        assertFalse(s.stepsOnDevice());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> graph(s));
        assertTrue(e.getMessage().contains("variance_type 'learned'"), e.getMessage());

        // a 6-channel output for a 3-channel sample: the host step keeps its first 3 channels
        int[] sample = {2, 3, 3, 5}, output = {2, 6, 3, 5};
        DpmSolverMultistepScheduler shapeAware = new DpmSolverMultistepScheduler(config).setTimesteps(3);
        TorchGenerator data = new TorchGenerator(4);
        float[] x = data.randn(sample), y = x.clone();
        for (int i = 0; i < 3; i++) {
            float[] m = data.randn(output);
            x = s.step(m, i, x, sample, 0.0, null);
            y = shapeAware.step(m, output, i, y, sample, null, null);
            assertArrayEquals(y, x, "step " + i);
        }
    }

    @Test
    void noiseIsDrawnEveryStepForTheSdeVariantsOnly() {
        int n = Arrays.stream(SHAPE).reduce(1, (a, b) -> a * b);
        StepGraph deterministic = graph(new DpmSolverMultistepScheduler(sdLike(Map.of())).setTimesteps(4));
        TorchGenerator untouched = new TorchGenerator(7);
        for (int i = 0; i < 4; i++) {
            Map<String, Tensor> in = deterministic.inputs(i, untouched);
            assertFalse(in.containsKey(DpmSolverStepGraph.NOISE));
            assertTrue(in.keySet().stream().allMatch(k -> k.startsWith("dpm.")), in.keySet().toString());
        }
        assertArrayEquals(new TorchGenerator(7).randn(n), untouched.randn(n), "no draw for dpmsolver++");

        StepGraph sde = graph(new DpmSolverMultistepScheduler(sdLike(Map.of("algorithm_type", "sde-dpmsolver++"))).setTimesteps(4));
        TorchGenerator drawn = new TorchGenerator(7), expected = new TorchGenerator(7);
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(expected.randn(SHAPE), sde.inputs(i, drawn).get(DpmSolverStepGraph.NOISE).toFloatArray(), "step " + i);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sde.inputs(0, null));
        assertTrue(e.getMessage().contains("TorchGenerator"), e.getMessage());
    }

    /**
     * In an fp16 graph the history slots and D are fp16 (as diffusers' model outputs of an fp16 pipeline) and the
     * noise stays F32: a third-order SDE run stays within fp16 rounding of the host's float32 run.
     */
    @Test
    void runsInAnFp16Graph() {
        DpmSolverMultistepConfig config = sdLike(Map.of("algorithm_type", "sde-dpmsolver++", "solver_order", 3));
        DpmSolverMultistepScheduler host = new DpmSolverMultistepScheduler(config).setTimesteps(8);
        TaskGraph g = new TaskGraph("dpm_fp16", DType.F16);
        Value x = g.input("x", DType.F16, SHAPE), m = g.input("m", DType.F16, SHAPE);
        StepGraph sg = new DpmSolverMultistepScheduler(config).setTimesteps(8).stepGraph(g, 0.0, SHAPE);
        g.output("next", sg.step(g, x, m));
        TorchGenerator data = new TorchGenerator(5), hostNoise = new TorchGenerator(6), deviceNoise = new TorchGenerator(6);
        float[] sample = data.randn(SHAPE);
        double worstHere = 0;
        try (Backend backend = Backends.create("jvm"); ExecutionPlan plan = backend.compile(g.freeze())) {
            plan.bind("x", Tensor.fromFloats(sample, SHAPE).to(DType.F16));
            sg.initialState().forEach(plan::bind);
            for (int i = 0; i < 8; i++) {
                float[] modelOutput = data.randn(SHAPE);
                Map<Value, Tensor> in = new HashMap<>();
                in.put(plan.graph().input("m"), Tensor.fromFloats(modelOutput, SHAPE).to(DType.F16));
                sg.inputs(i, deviceNoise).forEach((k, v) -> in.put(plan.graph().input(k), v));
                plan.execute(in);
                sample = host.step(modelOutput, i, sample, SHAPE, 0.0, hostNoise);
                float[] device = plan.read("next").toFloatArray();
                double scale = 0, err = 0;
                for (int j = 0; j < sample.length; j++) {
                    scale = Math.max(scale, Math.abs(sample[j]));
                    err = Math.max(err, Math.abs(device[j] - sample[j]));
                }
                worstHere = Math.max(worstHere, err / scale);
                plan.copy("next", "x");
                sg.afterStep(plan, i);
            }
        }
        assertTrue(worstHere < 5e-3, "fp16 graph vs float32 host: " + worstHere);
    }

    @Test
    void historyHasOneSlotPerAgeTheScheduleReads() {
        assertEquals(Map.of(), graph(new DpmSolverMultistepScheduler(sdLike(Map.of("solver_order", 3))).setTimesteps(1)).initialState(),
                "one step: first order only");
        assertEquals(2, graph(new DpmSolverMultistepScheduler(sdLike(Map.of("solver_order", 3))).setTimesteps(8)).initialState().size());
        assertEquals(1, graph(new DpmSolverMultistepScheduler(sdLike(Map.of())).setTimesteps(8)).initialState().size());
    }
}
