package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.sampler.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * LCMScheduler against independent formulas (Luo et al. 2023): the consistency boundary condition c_skip/c_out, the
 * distillation-derived schedule, the re-noising step, strength and custom schedules.
 */
class LcmSchedulerFormulaTest {
    static final int N = 40;

    static LcmScheduler scheduler(Map<String, ?> config) {
        return new LcmScheduler(LcmConfig.fromJson(new ObjectMapper().valueToTree(config)));
    }

    static float[] randn(long seed, double scale) {
        float[] v = new TorchGenerator(seed).randn(N);
        for (int i = 0; i < N; i++) v[i] *= (float) scale;
        return v;
    }

    /**
     * c_skip = σ_d²/(s² + σ_d²), c_out = s/√(s² + σ_d²), s = 10·t, σ_d = 0.5: c_skip + c_out² = 1, and the sample is
     * kept as it is at t = 0.
     */
    @Test
    void boundaryConditionScalings() {
        LcmScheduler s = scheduler(Map.of());
        for (int t : new int[]{0, 1, 19, 259, 999}) {
            double scaled = 10.0 * t;
            double cSkip = 0.25 / (scaled * scaled + 0.25), cOut = scaled / Math.sqrt(scaled * scaled + 0.25);
            LcmBoundaryScalings c = s.boundaryScalings(t);
            assertEquals(cSkip, c.cSkip(), 1e-6 * cSkip, "c_skip at " + t);
            assertEquals(cOut, c.cOut(), 1e-6 * Math.max(cOut, 1e-30), "c_out at " + t);
            assertEquals(1.0, c.cSkip() + (double) c.cOut() * c.cOut(), 1e-6, "c_skip + c_out² = 1 at " + t);
        }
        assertEquals(new LcmBoundaryScalings(1f, 0f), s.boundaryScalings(0), "the identity at t = 0");
        LcmBoundaryScalings unscaled = scheduler(Map.of("timestep_scaling", 1.0)).boundaryScalings(1);
        assertEquals(0.25 / 1.25, unscaled.cSkip(), 1e-7, "timestep_scaling multiplies t");
    }

    /** k = T // original_steps; the distillation schedule k·i − 1; n of its indices ⌊j·len/n⌋ from the top. */
    @Test
    void scheduleFromTheDistillationTimesteps() {
        assertArrayEquals(new int[]{999, 759, 499, 259}, scheduler(Map.of()).setTimesteps(4).timestepValues(),
                "LCM's well-known 4-step schedule");
        assertArrayEquals(new int[]{999}, scheduler(Map.of()).setTimesteps(1).timestepValues());
        int[] seven = scheduler(Map.of()).setTimesteps(7).timestepValues();
        for (int j = 0; j < 7; j++) assertEquals(20 * (50 - (int) Math.floor(j * 50.0 / 7)) - 1, seven[j], "7 steps, index " + j);
        assertArrayEquals(new int[]{999, 839, 669, 499, 339, 169},
                scheduler(Map.of()).setTimesteps(6, 100, null, 1.0).timestepValues(), "original_inference_steps = 100: k = 10");
        assertArrayEquals(new int[]{89, 59, 29},
                scheduler(Map.of("num_train_timesteps", 100, "original_inference_steps", 30)).setTimesteps(3).timestepValues(),
                "T = 100, 30 original steps: k = 3, so the schedule tops out at 3·30 − 1, not T − 1");
        // strength 0.5 keeps the lower half of the distillation schedule
        assertArrayEquals(new int[]{499, 379, 259, 139}, scheduler(Map.of()).setTimesteps(4, null, null, 0.5).timestepValues());
    }

    /**
     * denoised = c_skip·x + c_out·x0; prev = √ᾱ_next·denoised + √(1 − ᾱ_next)·noise; the last step returns denoised.
     */
    @Test
    void stepRenoisesToTheNextTimestep() {
        LcmScheduler s = scheduler(Map.of()).setTimesteps(4);
        float[] ac = s.alphasCumprod();
        int[] t = s.timestepValues();
        for (int i = 0; i < 4; i++) {
            float[] x = randn(i, 1), eps = randn(10 + i, 1);
            float[] noise = new TorchGenerator(20 + i).randn(N);
            TorchGenerator g = i < 3 ? new TorchGenerator(20 + i) : null;   // the last step draws nothing
            LcmOutput out = s.stepWithDenoised(eps, i, x, g);
            double a = ac[t[i]], scaled = 10.0 * t[i];
            double cSkip = 0.25 / (scaled * scaled + 0.25), cOut = scaled / Math.sqrt(scaled * scaled + 0.25);
            double aNext = i < 3 ? ac[t[i + 1]] : a;
            for (int k = 0; k < N; k++) {
                double x0 = (x[k] - Math.sqrt(1 - a) * eps[k]) / Math.sqrt(a);
                double denoised = cSkip * x[k] + cOut * x0;
                assertEquals(denoised, out.denoised()[k], 1e-5 * (1 + Math.abs(denoised)), "denoised at " + t[i]);
                double prev = i < 3 ? Math.sqrt(aNext) * denoised + Math.sqrt(1 - aNext) * noise[k] : denoised;
                assertEquals(prev, out.prevSample()[k], 1e-5 * (1 + Math.abs(prev)), "prev at " + t[i]);
            }
            assertEquals(i + 1, s.stepIndex().orElseThrow());
        }
    }

    /** With the true ε of x_t = add_noise(x0, ε, t), the estimate is c_skip·x_t + c_out·x0 at every timestep. */
    @Test
    void exactModelGivesTheBoundaryConditionEstimate() {
        for (String p : new String[]{"epsilon", "v_prediction", "sample"}) {
            LcmScheduler s = scheduler(Map.of("prediction_type", p)).setTimesteps(4);
            float[] x0 = randn(1, 0.5), eps = randn(2, 1);
            for (int i = 0; i < 4; i++) {
                int t = s.timestepValues()[i];
                float[] xt = s.addNoise(x0, eps, t);
                float[] model = switch (p) {
                    case "epsilon" -> eps;
                    case "v_prediction" -> s.velocity(x0, eps, t);
                    default -> x0;
                };
                LcmBoundaryScalings c = s.boundaryScalings(t);
                float[] denoised = s.stepWithDenoised(model, i, xt, new TorchGenerator(i)).denoised();
                for (int k = 0; k < N; k++) {
                    assertEquals(c.cSkip() * xt[k] + c.cOut() * x0[k], denoised[k], 1e-4, p + " at t=" + t);
                }
            }
        }
    }

    /** Custom timesteps with strength: the last ⌊n·strength⌋ are kept, n stays; every step then re-noises. */
    @Test
    void customTimestepsWithStrength() {
        LcmScheduler s = scheduler(Map.of()).setTimesteps(null, null, new int[]{999, 759, 499, 259}, 0.5);
        assertArrayEquals(new int[]{499, 259}, s.timestepValues());
        assertEquals(4, s.numInferenceSteps().orElseThrow());
        float[] x = randn(1, 1), eps = randn(2, 1);
        s.stepWithDenoised(eps, 0, x, new TorchGenerator(3));
        LcmOutput last = s.stepWithDenoised(eps, 1, x, new TorchGenerator(3));
        float[] noise = new TorchGenerator(3).randn(N);
        double a = s.alphasCumprod()[259];
        for (int k = 0; k < N; k++) {
            // the "next" timestep of the last step is its own: ᾱ_next = ᾱ_t
            double expected = Math.sqrt(a) * last.denoised()[k] + Math.sqrt(1 - a) * noise[k];
            assertEquals(expected, last.prevSample()[k], 1e-5 * (1 + Math.abs(expected)));
        }
    }

    /** A negative custom timestep indexes ᾱ from the end (torch) and, as the next timestep, means ᾱ = final_alpha_cumprod. */
    @Test
    void negativeNextTimestepUsesTheFinalAlpha() {
        for (boolean one : new boolean[]{true, false}) {
            LcmScheduler s = scheduler(Map.of("set_alpha_to_one", one)).setCustomTimesteps(999, 499, -1);
            assertEquals(one ? 1.0f : s.alphasCumprod()[0], s.finalAlphaCumprod());
            float[] x = randn(1, 1), eps = randn(2, 1);
            s.stepWithDenoised(eps, 0, x, new TorchGenerator(0));
            LcmOutput out = s.stepWithDenoised(eps, 1, x, new TorchGenerator(5));
            float[] noise = new TorchGenerator(5).randn(N);
            double a = s.finalAlphaCumprod();
            for (int k = 0; k < N; k++) {
                double expected = Math.sqrt(a) * out.denoised()[k] + Math.sqrt(1 - a) * noise[k];
                assertEquals(expected, out.prevSample()[k], 1e-5 * (1 + Math.abs(expected)), "set_alpha_to_one=" + one);
            }
        }
    }

    @Test
    void stepIndexBookkeeping() {
        LcmScheduler s = scheduler(Map.of());
        assertThrows(IllegalStateException.class, () -> s.stepWithDenoised(randn(1, 1), 0, randn(2, 1), null),
                "step before set_timesteps");
        s.setTimesteps(4);
        s.stepAtTimestep(randn(1, 1), 759, randn(2, 1), new int[]{1, N}, new TorchGenerator(0));
        assertEquals(2, s.stepIndex().orElseThrow(), "the first call finds its timestep's index");
        s.setTimesteps(4).setBeginIndex(3);
        assertTrue(s.stepIndex().isEmpty());
        LcmOutput out = s.stepAtTimestep(randn(1, 1), 999, randn(2, 1), new int[]{1, N}, null);
        assertArrayEquals(out.denoised(), out.prevSample(), "begin index 3 is the last step: no noise");
        assertEquals(4, s.stepIndex().orElseThrow());
    }

    @Test
    void pythonFloatRepr() {
        assertEquals("0.5", LcmScheduler.pythonFloat(0.5));
        assertEquals("2.0", LcmScheduler.pythonFloat(2));
        assertEquals("0.06", LcmScheduler.pythonFloat(3.0 / 50));
        assertEquals("0.0001", LcmScheduler.pythonFloat(1e-4));
        assertEquals("1e-05", LcmScheduler.pythonFloat(1e-5));
        assertEquals("1.5e+16", LcmScheduler.pythonFloat(1.5e16));
        assertEquals("12345678.0", LcmScheduler.pythonFloat(12345678));
        assertEquals("0.30000000000000004", LcmScheduler.pythonFloat(0.1 + 0.2));
    }
}
