package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.node.ObjectNode;
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

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DDPMScheduler's step graph ({@link X0UpdateStepGraph}) against its host step ({@link StepGraphCheck}) over every option that changes
 * the update: prediction type, clip_sample and its range, the fixed variance types, the timestep spacings, and the
 * I2VGen-XL, SVD and SD-like configs read as from_config reads them; plus where the noise is drawn and which
 * configurations stay on the host.
 */
class DdpmStepGraphTest {
    static final int[] SHAPE = {2, 4, 3, 5};
    static final int N = 2 * 4 * 3 * 5;
    static final int[] STEP_COUNTS = {1, 2, 3, 8, 25};
    static final double TOLERANCE = 2e-5;
    /** I2VGen-XL's DDIMScheduler config: clip_sample false, v_prediction, zero SNR, squaredcos_cap_v2, leading, offset 1. */
    static final Path I2VGEN = Path.of("../conformance/cases/tiny/checkpoint/scheduler/scheduler_config.json");
    /** SVD's EulerDiscreteScheduler config: scaled_linear, v_prediction, leading, offset 1 (DDPM keeps those keys). */
    static final Path SVD = Path.of("../conformance/cases/svd-tiny/checkpoint/scheduler/scheduler_config.json");

    private static double worst;

    @AfterAll
    static void report() {
        System.out.println("DdpmStepGraphTest: worst device/host difference " + worst + " (relative to max |host|)");
    }

    /** {@code base} with some keys replaced, read back as from_config does. */
    static DdpmConfig variant(DdpmConfig base, Consumer<ObjectNode> edit) {
        ObjectNode json = base.toJson();
        edit.accept(json);
        return DdpmConfig.fromJson(json);
    }

    static void assertGraphMatchesHost(String what, DdpmConfig config) {
        for (int steps : STEP_COUNTS) {
            double err = StepGraphCheck.assertMatchesHost(what + ", " + steps + " steps", () -> new DdpmScheduler(config),
                    steps, 0.0, TOLERANCE, SHAPE);
            worst = Math.max(worst, err);
        }
    }

    @Test
    void classDefaultsClipAndPredictEpsilon() {
        DdpmConfig defaults = DdpmConfig.defaults();
        assertTrue(defaults.clipSample());
        assertEquals(PredictionType.EPSILON, defaults.predictionType());
        assertGraphMatchesHost("DDPMScheduler()", defaults);
    }

    @Test
    void everyPredictionTypeClipAndFixedVarianceType() {
        for (PredictionType prediction : PredictionType.values()) {
            for (boolean clip : new boolean[]{true, false}) {
                for (DdpmVarianceType variance : DdpmVarianceType.values()) {
                    if (variance.learned() || variance == DdpmVarianceType.FIXED_LARGE_LOG) continue;
                    DdpmConfig c = variant(DdpmConfig.defaults(), j -> {
                        j.put("prediction_type", prediction.configName());
                        j.put("clip_sample", clip);
                        j.put("variance_type", variance.configName());
                    });
                    assertGraphMatchesHost(c.toString(), c);
                }
            }
        }
    }

    @Test
    void clipSampleRangeIsTheClampBound() {
        for (double range : new double[]{0.25, 3.0}) {
            DdpmConfig c = variant(DdpmConfig.defaults(), j -> j.put("clip_sample_range", range));
            assertGraphMatchesHost(c.toString(), c);
        }
    }

    @Test
    void everyTimestepSpacing() {
        for (TimestepSpacing spacing : TimestepSpacing.values()) {
            for (int offset : new int[]{0, 1}) {
                DdpmConfig c = variant(DdpmConfig.defaults(), j -> {
                    j.put("timestep_spacing", spacing.configName());
                    j.put("steps_offset", offset);
                });
                assertGraphMatchesHost(c.toString(), c);
            }
        }
    }

    @Test
    void i2vgenXlConfig() {
        DdpmConfig i2vgen = DdpmConfig.read(I2VGEN);
        assertFalse(i2vgen.clipSample());
        assertEquals(PredictionType.V_PREDICTION, i2vgen.predictionType());
        assertTrue(i2vgen.rescaleBetasZeroSnr());
        assertEquals(DdpmBetaSchedule.SQUAREDCOS_CAP_V2, i2vgen.betaSchedule());
        assertEquals(1, i2vgen.stepsOffset());
        for (DdpmVarianceType variance : new DdpmVarianceType[]{DdpmVarianceType.FIXED_SMALL, DdpmVarianceType.FIXED_LARGE}) {
            DdpmConfig c = variant(i2vgen, j -> j.put("variance_type", variance.configName()));
            assertGraphMatchesHost("I2VGen-XL " + c, c);
        }
        // zero SNR reaches ᾱ = 0 at t = 999 with trailing spacing
        DdpmConfig trailing = variant(i2vgen, j -> j.put("timestep_spacing", "trailing"));
        assertGraphMatchesHost("I2VGen-XL trailing " + trailing, trailing);
    }

    @Test
    void svdConfigKeepsTheKeysDdpmKnows() {
        DdpmConfig svd = DdpmConfig.read(SVD);
        assertEquals(DdpmBetaSchedule.SCALED_LINEAR, svd.betaSchedule());
        assertEquals(PredictionType.V_PREDICTION, svd.predictionType());
        assertEquals(1, svd.stepsOffset());
        assertTrue(svd.clipSample(), "an Euler config has no clip_sample: DDPM's default");
        assertGraphMatchesHost("SVD " + svd, svd);
    }

    @Test
    void stableDiffusionLikeEpsilonConfig() {
        DdpmConfig sd = variant(DdpmConfig.defaults(), j -> {
            j.put("beta_schedule", "scaled_linear");
            j.put("beta_start", 0.00085);
            j.put("beta_end", 0.012);
            j.put("clip_sample", false);
            j.put("steps_offset", 1);
        });
        assertGraphMatchesHost("SD-like " + sd, sd);
    }

    /** diffusers takes √(ln β_t) for fixed_large_log: NaN for every β_t &lt; 1, on the device as on the host. */
    @Test
    void fixedLargeLogIsNanAsInDiffusers() {
        DdpmConfig c = variant(DdpmConfig.defaults(), j -> j.put("variance_type", "fixed_large_log"));
        DdpmScheduler host = new DdpmScheduler(c).setTimesteps(2), device = new DdpmScheduler(c).setTimesteps(2);
        assertArrayEquals(new int[]{500, 0}, host.timestepValues());
        TorchGenerator data = new TorchGenerator(5);
        float[] x = data.randn(N), m = data.randn(N);
        float[] expected = host.step(m, 0, x, SHAPE, 0.0, new TorchGenerator(6));
        float[] actual = runOneStep(device, 0, x, m, new TorchGenerator(6));
        for (int i = 0; i < N; i++) {
            assertTrue(Float.isNaN(expected[i]), "host at " + i);
            assertTrue(Float.isNaN(actual[i]), "device at " + i);
        }
        // the last step (t = 0) adds no noise, so its σ never reaches the result
        float[] last = runOneStep(device, 1, x, m, null);
        assertArrayEquals(host.step(m, 1, x, SHAPE, 0.0, null), last, 2e-5f);
    }

    /** The device draws exactly the host's noise: nothing at t = 0, nothing more after the last step. */
    @Test
    void noiseIsDrawnOnlyWhereDiffusersDrawsIt() {
        DdpmConfig i2vgen = DdpmConfig.read(I2VGEN);
        for (DdpmConfig c : new DdpmConfig[]{DdpmConfig.defaults(), i2vgen}) {
            for (int steps : STEP_COUNTS) {
                DdpmScheduler host = new DdpmScheduler(c).setTimesteps(steps), device = new DdpmScheduler(c).setTimesteps(steps);
                StepGraph graph = device.stepGraph(new TaskGraph("ddpm", DType.F32), 0.0, SHAPE);
                TorchGenerator hostNoise = new TorchGenerator(3), deviceNoise = new TorchGenerator(3), data = new TorchGenerator(4);
                float[] x = data.randn(N);
                for (int i = 0; i < steps; i++) {
                    x = host.step(data.randn(N), i, x, SHAPE, 0.0, hostNoise);
                    graph.inputs(i, deviceNoise);
                }
                assertArrayEquals(hostNoise.randn(8), deviceNoise.randn(8), c + ", " + steps + " steps");
            }
        }
        // one step at t = 0 draws nothing: no noise input, no generator needed
        StepGraph single = new DdpmScheduler(DdpmConfig.defaults()).setTimesteps(1)
                .stepGraph(new TaskGraph("ddpm", DType.F32), 0.0, SHAPE);
        assertEquals(Map.of("ddpm.x0_coefficients", 2, "ddpm.step_coefficients", 2), sizes(single.inputs(0, null)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DdpmScheduler(i2vgen)
                .setTimesteps(1).stepGraph(new TaskGraph("ddpm", DType.F32), 0.0, SHAPE).inputs(0, null));
        assertTrue(e.getMessage().contains("DDPMScheduler's step at index 0 (t=1) draws noise"), e.getMessage());
    }

    @Test
    void thresholdingAndLearnedVarianceStepOnTheHost() {
        assertTrue(new DdpmScheduler(DdpmConfig.defaults()).stepsOnDevice());
        DdpmScheduler thresholding = new DdpmScheduler(variant(DdpmConfig.defaults(), j -> j.put("thresholding", true)))
                .setTimesteps(4);
        assertFalse(thresholding.stepsOnDevice());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> thresholding.stepGraph(new TaskGraph("ddpm", DType.F32), 0.0, SHAPE));
        assertTrue(e.getMessage().contains("thresholding"), e.getMessage());
        for (String learned : new String[]{"learned", "learned_range"}) {
            DdpmScheduler s = new DdpmScheduler(variant(DdpmConfig.defaults(), j -> j.put("variance_type", learned)))
                    .setTimesteps(4);
            assertFalse(s.stepsOnDevice());
            e = assertThrows(UnsupportedOperationException.class, () -> s.stepGraph(new TaskGraph("ddpm", DType.F32), 0.0, SHAPE));
            assertTrue(e.getMessage().contains("variance_type='" + learned + "'"), e.getMessage());
        }
    }

    /** The interface's shape-aware step thresholds per batch item and splits a learned variance per item, as diffusers. */
    @Test
    void hostStepWithShapeThresholdsPerBatchItem() {
        DdpmConfig c = variant(DdpmConfig.defaults(), j -> {
            j.put("thresholding", true);
            j.put("sample_max_value", 1000.0);   // above every quantile here: s is the quantile itself
        });
        TorchGenerator data = new TorchGenerator(11);
        float[] x = data.randn(N), m = data.randn(N);
        for (int i = N / 2; i < N; i++) m[i] *= 4f;   // the second item's quantile differs from the first's
        DdpmScheduler s = new DdpmScheduler(c).setTimesteps(4);
        int t = s.timestepValues()[1];
        float[] expected = s.stepAtTimestep(m, t, x, SHAPE, new TorchGenerator(1)).prevSample();
        assertArrayEquals(expected, s.step(m, 1, x, SHAPE, 0.0, new TorchGenerator(1)));
        assertFalse(Arrays.equals(expected, s.step(m, 1, x, new TorchGenerator(1))),
                "one batch item of all values thresholds differently");

        DdpmScheduler learned = new DdpmScheduler(variant(DdpmConfig.defaults(), j -> j.put("variance_type", "learned_range")))
                .setTimesteps(4);
        float[] withVariance = data.randn(2 * N);
        assertArrayEquals(learned.stepAtTimestep(withVariance, t, x, SHAPE, new TorchGenerator(2)).prevSample(),
                learned.step(withVariance, 1, x, SHAPE, 0.0, new TorchGenerator(2)));
    }

    static Map<String, Integer> sizes(Map<String, Tensor> inputs) {
        Map<String, Integer> sizes = new HashMap<>();
        inputs.forEach((k, v) -> sizes.put(k, (int) v.numel()));
        return sizes;
    }

    /** Step {@code stepIndex} of {@code scheduler}'s step graph alone, in float32 on the JVM backend. */
    static float[] runOneStep(Scheduler scheduler, int stepIndex, float[] x, float[] m, TorchGenerator generator) {
        TaskGraph g = new TaskGraph("one_step", DType.F32);
        Value xIn = g.input("x", DType.F32, SHAPE), mIn = g.input("m", DType.F32, SHAPE);
        StepGraph sg = scheduler.stepGraph(g, 0.0, SHAPE);
        g.output("next", sg.step(g, xIn, mIn));
        try (Backend backend = Backends.create("jvm"); ExecutionPlan plan = backend.compile(g.freeze())) {
            Map<Value, Tensor> in = new HashMap<>();
            in.put(plan.graph().input("x"), Tensor.fromFloats(x, SHAPE));
            in.put(plan.graph().input("m"), Tensor.fromFloats(m, SHAPE));
            sg.inputs(stepIndex, generator).forEach((k, v) -> in.put(plan.graph().input(k), v));
            plan.execute(in);
            return plan.read("next").toFloatArray();
        }
    }
}
