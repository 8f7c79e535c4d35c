package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The scheduler's state and call contract: step order, history, noise, shapes, and the runs it refuses. */
class DpmSolverMultistepSchedulerTest {
    static DpmSolverMultistepScheduler scheduler(Map<String, ?> overrides) {
        return new DpmSolverMultistepScheduler(DpmSolverMultistepConfig.defaults().withOverrides(overrides));
    }

    static DpmSolverMultistepScheduler i2vgenXl(Map<String, ?> overrides) {
        return new DpmSolverMultistepScheduler(DpmSolverMultistepConfig.read(DpmSolverMultistepConfigTest.I2VGEN_XL)
                .withOverrides(overrides));
    }

    /** A whole run with random model outputs; returns the final sample. */
    static float[] run(DpmSolverMultistepScheduler s, int first, long seed) {
        TorchGenerator g = new TorchGenerator(seed);
        float[] x = g.randn(1, 4, 2, 3);
        for (int i = first; i < s.numInferenceSteps(); i++) {
            x = s.step(g.randn(1, 4, 2, 3), i, s.scaleModelInput(x, i), new TorchGenerator(seed + i));
        }
        return x;
    }

    @Test
    void beforeSetTimestepsItListsTheTrainingSchedule() {
        DpmSolverMultistepScheduler s = scheduler(Map.of());
        assertEquals("DPMSolverMultistepScheduler", s.className());
        assertEquals(1, s.order());
        assertEquals(1f, s.initNoiseSigma());
        assertEquals(0, s.numInferenceSteps());
        assertEquals(1000, s.timesteps().length);
        assertEquals(999f, s.timesteps()[0]);
        float[] sigmas = s.sigmas();
        assertTrue(sigmas[0] < sigmas[999], "training sigmas, ascending in t");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.step(new float[3], 0, new float[3], null));
        assertEquals("Number of inference steps is 'None', you need to run 'set_timesteps' after creating the scheduler", e.getMessage());
    }

    /**
     * I2VGEN-XL's zero-SNR schedule with Karras sigmas: from 5 steps on, the largest sigmas all map to timestep 998.
     * diffusers then starts at the repeated timestep's second index and fails with an IndexError on the last step;
     * the port refuses before the first model call, and runs where diffusers runs (3 steps, or a begin index).
     */
    @Test
    void zeroSnrWithKarrasSigmasIsRefusedWhereDiffusersFails() {
        DpmSolverMultistepScheduler s = i2vgenXl(Map.of("use_karras_sigmas", true)).setTimesteps(25);
        int[] t = s.discreteTimesteps();
        assertEquals(998, t[0]);
        assertEquals(t[0], t[1], "the first timestep repeats");
        float[] x = new float[24];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.scaleModelInput(x, 0));
        for (String why : new String[]{"timestep 998 occurs at schedule indices [0, 1, 2, 3, 4, 5, 6]", "index_for_timestep",
                "IndexError", "rescale_betas_zero_snr and use_karras_sigmas", "setBeginIndex(0)"}) {
            assertTrue(e.getMessage().contains(why), "'" + why + "' in " + e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[24], 0, x, null));
        assertTrue(s.stepIndex().isEmpty(), "a refused step changes nothing");

        assertTrue(finite(run(i2vgenXl(Map.of("use_karras_sigmas", true)).setTimesteps(3), 0, 1)), "3 steps run");
        DpmSolverMultistepScheduler begun = i2vgenXl(Map.of("use_karras_sigmas", true)).setTimesteps(25).setBeginIndex(0);
        assertTrue(finite(run(begun, 0, 1)), "with a begin index diffusers runs all 25 steps too");
        assertEquals(25, begun.stepIndex().orElseThrow());
    }

    @Test
    void stepsRunInOrderAndSetTimestepsStartsAgain() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("solver_order", 3)).setTimesteps(6);
        float[] x = new TorchGenerator(1).randn(6), m = new TorchGenerator(2).randn(6);
        float[] first = s.step(m, 0, x, null);
        IllegalArgumentException skip = assertThrows(IllegalArgumentException.class, () -> s.step(m, 2, x, null));
        assertTrue(skip.getMessage().contains("the next step is 1"), skip.getMessage());
        for (int i = 1; i < 6; i++) s.step(m, i, x, null);
        assertThrows(IllegalArgumentException.class, () -> s.step(m, 6, x, null), "past the end");
        assertEquals(3, s.updateOrder(0), "the history stays until setTimesteps");
        s.setTimesteps(6);
        assertEquals(1, s.updateOrder(0));
        assertArrayEquals(first, s.step(m, 0, x, null), "the same first step after a restart");
    }

    /** Like diffusers, a run may start mid-schedule (image-to-image): the first step's timestep fixes the index. */
    @Test
    void aRunMayStartWhereItsTimestepIs() {
        DpmSolverMultistepScheduler s = scheduler(Map.of()).setTimesteps(10);
        assertTrue(finite(run(s, 4, 2)));
        assertEquals(10, s.stepIndex().orElseThrow());
        DpmSolverMultistepScheduler begun = scheduler(Map.of()).setTimesteps(10).setBeginIndex(4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> begun.scaleModelInput(new float[2], 3));
        assertTrue(e.getMessage().contains("begins at index 4"), e.getMessage());
    }

    @Test
    void warmUpOrdersFollowDiffusersRules() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("solver_order", 3)).setTimesteps(8);
        int[] orders = new int[8];
        float[] x = new float[4];
        for (int i = 0; i < 8; i++) {
            orders[i] = s.updateOrder(i);
            x = s.step(new float[4], i, x, null);
        }
        // warm-up 1, 2; then 3; lower_order_final under 15 steps: 2 then 1
        assertArrayEquals(new int[]{1, 2, 3, 3, 3, 3, 2, 1}, orders);
        DpmSolverMultistepScheduler order4 = scheduler(Map.of("solver_order", 4)).setTimesteps(20);
        DpmSolverMultistepScheduler order3 = scheduler(Map.of("solver_order", 3)).setTimesteps(20);
        assertArrayEquals(run(order3, 0, 3), run(order4, 0, 3), "diffusers runs solver_order 4 as 3");
    }

    /** diffusers has no third-order sde-dpmsolver update: refused where diffusers fails (step 2), fine below. */
    @Test
    void thirdOrderSdeDpmSolverIsRefusedWhereDiffusersFails() {
        Map<String, Object> sde3 = Map.of("algorithm_type", "sde-dpmsolver", "solver_order", 3, "final_sigmas_type", "sigma_min");
        DpmSolverMultistepScheduler s = scheduler(sde3).setTimesteps(8);
        TorchGenerator g = new TorchGenerator(4);
        float[] x = g.randn(6);
        x = s.step(g.randn(6), 0, x, g);
        x = s.step(g.randn(6), 1, x, g);
        float[] last = x;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.scaleModelInput(last, 2));
        assertTrue(e.getMessage().contains("third-order sde-dpmsolver"), e.getMessage());
        assertTrue(finite(run(scheduler(sde3).setTimesteps(4), 0, 5)), "4 steps never reach third order");
    }

    @Test
    void stochasticStepsDrawRandnOfTheSampleShape() {
        int[] shape = {1, 4, 2, 3};
        float[] x = new TorchGenerator(1).randn(shape), m = new TorchGenerator(2).randn(shape);
        DpmSolverMultistepScheduler a = scheduler(Map.of("algorithm_type", "sde-dpmsolver++")).setTimesteps(5);
        DpmSolverMultistepScheduler b = scheduler(Map.of("algorithm_type", "sde-dpmsolver++")).setTimesteps(5);
        float[] fromGenerator = a.step(m, 0, x, new TorchGenerator(77));
        float[] fromNoise = b.step(m, shape, 0, x, shape, null, new TorchGenerator(77).randn(shape));
        assertArrayEquals(fromNoise, fromGenerator);
        DpmSolverMultistepScheduler c = scheduler(Map.of("algorithm_type", "sde-dpmsolver++")).setTimesteps(5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.step(m, 0, x, null));
        assertTrue(e.getMessage().contains("TorchGenerator"), e.getMessage());

        TorchGenerator unused = new TorchGenerator(5);
        scheduler(Map.of()).setTimesteps(5).step(m, 0, x, unused);
        assertEquals(new TorchGenerator(5).nextUnsigned32(), unused.nextUnsigned32(), "deterministic variants draw nothing");
    }

    @Test
    void learnedVarianceKeepsTheFirstThreeChannels() {
        int[] model = {2, 6, 2}, sample = {2, 3, 2};
        float[] out = new TorchGenerator(3).randn(model), x = new TorchGenerator(4).randn(sample);
        float[] mean = new float[12];
        for (int b = 0; b < 2; b++) System.arraycopy(out, b * 12, mean, b * 6, 6);
        float[] learned = scheduler(Map.of("variance_type", "learned")).setTimesteps(4).step(out, model, 0, x, sample, null, null);
        float[] plain = scheduler(Map.of()).setTimesteps(4).step(mean, sample, 0, x, sample, null, null);
        assertArrayEquals(plain, learned);
        assertThrows(IllegalStateException.class, () -> scheduler(Map.of("variance_type", "learned")).setTimesteps(4)
                .step(out, 0, x, null), "the flat-array step cannot slice channels");
        IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class, () -> scheduler(Map.of())
                .setTimesteps(4).step(out, model, 0, x, sample, null, null));
        assertTrue(mismatch.getMessage().contains("[2, 6, 2] does not match the sample's [2, 3, 2]"), mismatch.getMessage());
    }

    @Test
    void thresholdingWorksPerBatchItemOfAnImageShapedSample() {
        DpmSolverMultistepScheduler s = scheduler(Map.of("thresholding", true, "prediction_type", "sample")).setTimesteps(3);
        assertThrows(IllegalStateException.class, () -> s.step(new float[6], 0, new float[6], null));
        IllegalArgumentException flat = assertThrows(IllegalArgumentException.class,
                () -> s.step(new float[6], new int[]{2, 3}, 0, new float[6], new int[]{2, 3}, null, null));
        assertTrue(flat.getMessage().contains("at least 3 dimensions"), flat.getMessage());
        // a predicted x0 beyond ±1 is clipped to ±1 (s clamps to sample_max_value = 1): the last step lands on it
        DpmSolverMultistepScheduler one = scheduler(Map.of("thresholding", true, "prediction_type", "sample")).setTimesteps(1);
        float[] x0 = {3f, -0.5f, 0.25f, -7f};
        float[] prev = one.step(x0, new int[]{1, 2, 2}, 0, new float[4], new int[]{1, 2, 2}, null, null);
        assertArrayEquals(new float[]{1f, -0.5f, 0.25f, -1f}, prev);
    }

    @Test
    void dynamicShiftingReplacesTheFlowShiftForGood() {
        Map<String, Object> flow = Map.of("use_flow_sigmas", true, "use_dynamic_shifting", true, "prediction_type", "flow_prediction");
        DpmSolverMultistepScheduler s = scheduler(flow).setTimesteps(5, 0.7);
        assertEquals(Math.exp(0.7), s.flowShift());
        s.setTimesteps(8);
        assertEquals(Math.exp(0.7), s.flowShift(), "diffusers overwrote config.flow_shift");
        DpmSolverMultistepScheduler fixed = new DpmSolverMultistepScheduler(DpmSolverMultistepConfig.defaults()
                .withOverrides(Map.of("use_flow_sigmas", true, "prediction_type", "flow_prediction", "flow_shift", Math.exp(0.7))))
                .setTimesteps(8);
        assertArrayEquals(fixed.sigmas(), s.sigmas());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> scheduler(Map.of("use_flow_sigmas", true)).setTimesteps(5, 0.5));
        assertTrue(e.getMessage().contains("use_dynamic_shifting"), e.getMessage());
    }

    @Test
    void customTimestepsInterpolateTheTrainingSigmas() {
        DpmSolverMultistepScheduler s = scheduler(Map.of()).setCustomTimesteps(999, 600, 250, 31);
        assertEquals(4, s.numInferenceSteps());
        float[] training = scheduler(Map.of()).sigmas();
        assertArrayEquals(new float[]{training[999], training[600], training[250], training[31], 0f}, s.sigmas());
        for (String option : new String[]{"use_karras_sigmas", "use_lu_lambdas", "use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> scheduler(Map.of(option, true)).setCustomTimesteps(10, 5));
            assertTrue(e.getMessage().contains(option), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> scheduler(Map.of()).setTimesteps(3, null, new int[]{10, 5}));
        assertThrows(IllegalArgumentException.class, () -> scheduler(Map.of()).setTimesteps(null, null, null));
        assertThrows(IllegalArgumentException.class, () -> scheduler(Map.of()).setTimesteps(0));
    }

    @Test
    void indexForTimestepFollowsDiffusers() {
        DpmSolverMultistepScheduler s = scheduler(Map.of()).setCustomTimesteps(900, 700, 700, 100);
        assertEquals(0, s.indexForTimestep(900));
        assertEquals(2, s.indexForTimestep(700), "the second occurrence");
        assertEquals(3, s.indexForTimestep(555), "absent: the last index");
        assertThrows(IllegalArgumentException.class, () -> s.setBeginIndex(4));
    }

    private static boolean finite(float[] values) {
        return Arrays.stream(box(values)).allMatch(v -> Float.isFinite(v));
    }

    private static Float[] box(float[] values) {
        Float[] out = new Float[values.length];
        for (int i = 0; i < values.length; i++) out[i] = values[i];
        return out;
    }
}
