package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static dev.i2vgen.sampler.scheduler.DdpmStepGraphTest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * LCMScheduler's step graph ({@link X0UpdateStepGraph}) against its host step ({@link StepGraphCheck}) over every option that changes
 * the update: prediction type, clip_sample and its range, timestep_scaling, original_inference_steps, set_alpha_to_one
 * (custom timesteps below 0), and the I2VGen-XL, SVD and SD-like configs read as from_config reads them; plus where
 * the noise is drawn and which configurations stay on the host.
 */
class LcmStepGraphTest {
    private static double worst;

    @AfterAll
    static void report() {
        System.out.println("LcmStepGraphTest: worst device/host difference " + worst + " (relative to max |host|)");
    }

    static LcmConfig variant(LcmConfig base, Consumer<ObjectNode> edit) {
        ObjectNode json = base.toJson();
        edit.accept(json);
        return LcmConfig.fromJson(json);
    }

    static void assertGraphMatchesHost(String what, LcmConfig config) {
        for (int steps : STEP_COUNTS) {
            if (steps > config.originalInferenceSteps()) continue;   // set_timesteps refuses it
            double err = StepGraphCheck.assertMatchesHost(what + ", " + steps + " steps", () -> new LcmScheduler(config),
                    steps, 0.0, TOLERANCE, SHAPE);
            worst = Math.max(worst, err);
        }
    }

    @Test
    void classDefaultsPredictEpsilonWithoutClipping() {
        LcmConfig defaults = LcmConfig.defaults();
        assertFalse(defaults.clipSample(), "diffusers' LCMScheduler defaults clip_sample to False");
        assertEquals(PredictionType.EPSILON, defaults.predictionType());
        assertGraphMatchesHost("LCMScheduler()", defaults);
    }

    @Test
    void everyPredictionTypeAndClip() {
        for (PredictionType prediction : PredictionType.values()) {
            for (boolean clip : new boolean[]{true, false}) {
                LcmConfig c = variant(LcmConfig.defaults(), j -> {
                    j.put("prediction_type", prediction.configName());
                    j.put("clip_sample", clip);
                });
                assertGraphMatchesHost(c.toString(), c);
            }
        }
        LcmConfig range = variant(LcmConfig.defaults(), j -> {
            j.put("clip_sample", true);
            j.put("clip_sample_range", 0.25);
        });
        assertGraphMatchesHost(range.toString(), range);
    }

    @Test
    void timestepScalingAndOriginalInferenceSteps() {
        for (double scaling : new double[]{10.0, 1.0, 0.05}) {
            for (int original : new int[]{50, 25, 8}) {
                LcmConfig c = variant(LcmConfig.defaults(), j -> {
                    j.put("timestep_scaling", scaling);
                    j.put("original_inference_steps", original);
                });
                assertGraphMatchesHost(c.toString(), c);
            }
        }
    }

    @Test
    void i2vgenXlConfig() {
        LcmConfig i2vgen = LcmConfig.read(I2VGEN);
        assertFalse(i2vgen.clipSample());
        assertEquals(PredictionType.V_PREDICTION, i2vgen.predictionType());
        assertTrue(i2vgen.rescaleBetasZeroSnr());
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, i2vgen.betaSchedule());
        // the distillation schedule reaches t = 999, where zero SNR makes ᾱ = 0
        assertEquals(999, new LcmScheduler(i2vgen).setTimesteps(1).timestepValues()[0]);
        assertGraphMatchesHost("I2VGen-XL " + i2vgen, i2vgen);
    }

    @Test
    void svdConfigKeepsTheKeysLcmKnows() {
        LcmConfig svd = LcmConfig.read(SVD);
        assertEquals(BetaSchedule.SCALED_LINEAR, svd.betaSchedule());
        assertEquals(PredictionType.V_PREDICTION, svd.predictionType());
        assertEquals(50, svd.originalInferenceSteps(), "an Euler config has no original_inference_steps: LCM's default");
        assertGraphMatchesHost("SVD " + svd, svd);
    }

    @Test
    void stableDiffusionLikeEpsilonConfig() {
        LcmConfig sd = variant(LcmConfig.defaults(), j -> {
            j.put("steps_offset", 1);
            j.put("set_alpha_to_one", false);
        });
        assertGraphMatchesHost("SD-like " + sd, sd);
    }

    /**
     * Custom timesteps: a step that moves below t = 0 re-noises to final_alpha_cumprod (set_alpha_to_one), and a
     * schedule cut by strength re-noises on every step, its last included (diffusers compares with the uncut count).
     */
    @Test
    void customTimestepsSetAlphaToOneAndStrength() {
        for (boolean alphaToOne : new boolean[]{true, false}) {
            LcmConfig c = variant(LcmConfig.defaults(), j -> j.put("set_alpha_to_one", alphaToOne));
            assertCustomRunMatchesHost(c.toString() + " to t = -1", () -> new LcmScheduler(c).setCustomTimesteps(999, 499, -1), 3);
        }
        LcmConfig d = LcmConfig.defaults();
        assertCustomRunMatchesHost("strength 0.5", () -> new LcmScheduler(d).setTimesteps(null, null, new int[]{999, 759, 499, 259}, 0.5), 2);
    }

    private static void assertCustomRunMatchesHost(String what, Supplier<LcmScheduler> make, int steps) {
        LcmScheduler host = make.get(), device = make.get();
        assertEquals(steps, host.timestepValues().length, what);
        TorchGenerator data = new TorchGenerator(21), hostNoise = new TorchGenerator(22), deviceNoise = new TorchGenerator(22);
        float[] x = data.randn(N);
        for (int i = 0; i < steps; i++) {
            float[] m = data.randn(N);
            float[] actual = runOneStep(device, i, x, m, deviceNoise);
            x = host.step(m, i, x, SHAPE, 0.0, hostNoise);
            assertArrayEquals(x, actual, (float) (TOLERANCE * max(x)), what + ", step " + i);
        }
        assertArrayEquals(hostNoise.randn(8), deviceNoise.randn(8), what + ": the same noise drawn");
    }

    /** The device draws exactly the host's noise: nothing on the last step, nothing more after it. */
    @Test
    void noiseIsDrawnOnlyWhereDiffusersDrawsIt() {
        for (LcmConfig c : new LcmConfig[]{LcmConfig.defaults(), LcmConfig.read(I2VGEN)}) {
            for (int steps : STEP_COUNTS) {
                LcmScheduler host = new LcmScheduler(c).setTimesteps(steps), device = new LcmScheduler(c).setTimesteps(steps);
                StepGraph graph = device.stepGraph(new TaskGraph("lcm", DType.F32), 0.0, SHAPE);
                TorchGenerator hostNoise = new TorchGenerator(3), deviceNoise = new TorchGenerator(3), data = new TorchGenerator(4);
                float[] x = data.randn(N);
                for (int i = 0; i < steps; i++) {
                    x = host.step(data.randn(N), i, x, SHAPE, 0.0, hostNoise);
                    graph.inputs(i, i == steps - 1 ? null : deviceNoise);
                }
                assertArrayEquals(hostNoise.randn(8), deviceNoise.randn(8), c + ", " + steps + " steps");
            }
        }
        // one step never re-noises: no noise input
        StepGraph single = new LcmScheduler(LcmConfig.defaults()).setTimesteps(1)
                .stepGraph(new TaskGraph("lcm", DType.F32), 0.0, SHAPE);
        assertEquals(Map.of("lcm.x0_coefficients", 2, "lcm.step_coefficients", 2), sizes(single.inputs(0, null)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LcmScheduler(LcmConfig.defaults())
                .setTimesteps(2).stepGraph(new TaskGraph("lcm", DType.F32), 0.0, SHAPE).inputs(0, null));
        assertTrue(e.getMessage().contains("LCMScheduler's step at index 0 (t=999) draws noise"), e.getMessage());
    }

    @Test
    void thresholdingStepsOnTheHostAndTheGraphNeedsASchedule() {
        assertTrue(new LcmScheduler(LcmConfig.defaults()).stepsOnDevice());
        LcmScheduler thresholding = new LcmScheduler(variant(LcmConfig.defaults(), j -> j.put("thresholding", true)))
                .setTimesteps(4);
        assertFalse(thresholding.stepsOnDevice());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> thresholding.stepGraph(new TaskGraph("lcm", DType.F32), 0.0, SHAPE));
        assertTrue(e.getMessage().contains("thresholding"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> new LcmScheduler(LcmConfig.defaults())
                .stepGraph(new TaskGraph("lcm", DType.F32), 0.0, SHAPE));
    }

    /** The interface's shape-aware step thresholds per batch item, as diffusers. */
    @Test
    void hostStepWithShapeThresholdsPerBatchItem() {
        LcmConfig c = variant(LcmConfig.defaults(), j -> {
            j.put("thresholding", true);
            j.put("sample_max_value", 1000.0);   // above every quantile here: s is the quantile itself
        });
        TorchGenerator data = new TorchGenerator(11);
        float[] x = data.randn(N), m = data.randn(N);
        for (int i = N / 2; i < N; i++) m[i] *= 4f;   // the second item's quantile differs from the first's
        LcmScheduler byTimestep = new LcmScheduler(c).setTimesteps(4);
        float[] expected = byTimestep.stepAtTimestep(m, byTimestep.timestepValues()[0], x, SHAPE, new TorchGenerator(1)).prevSample();
        assertArrayEquals(expected, new LcmScheduler(c).setTimesteps(4).step(m, 0, x, SHAPE, 0.0, new TorchGenerator(1)));
        assertFalse(Arrays.equals(expected, new LcmScheduler(c).setTimesteps(4).step(m, 0, x, new TorchGenerator(1))),
                "one batch item of all values thresholds differently");
    }

    private static double max(float[] v) {
        double m = 0;
        for (float f : v) m = Math.max(m, Math.abs(f));
        return m;
    }
}
