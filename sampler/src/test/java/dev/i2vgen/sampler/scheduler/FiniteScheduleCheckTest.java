package dev.i2vgen.sampler.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Option combinations whose arithmetic breaks down in diffusers (NaN latents, a black video) are refused before any
 * model work; every scheduler's usual configuration on the I2VGen-XL and SVD-XT configs passes.
 */
class FiniteScheduleCheckTest {
    static final CheckpointScheduler I2VGEN = CheckpointScheduler.read(Path.of("src/test/resources/i2vgen-xl-scheduler_config.json"));
    static final CheckpointScheduler SVD = CheckpointScheduler.read(Path.of("src/test/resources/svd-xt-scheduler_config.json"));

    @Test
    void everySchedulerWithItsDefaultsRunsFinite() {
        for (String name : Schedulers.CLASS_NAMES) {
            for (int steps : new int[]{1, 3, 8, 25, 50}) {
                SchedulerSpec spec = SchedulerSpec.parse(name);
                assertDoesNotThrow(() -> I2VGEN.forRun(spec, steps, 0.0), name + " on I2VGen-XL, " + steps + " steps");
                // SVD-XT's Karras sigmas up to 700 map several steps to timestep 999: diffusers' multistep solvers fail there
                if (!name.equals("DPMSolverMultistepScheduler") && !name.equals("UniPCMultistepScheduler")) {
                    assertDoesNotThrow(() -> SVD.forRun(spec, steps, 0.0), name + " on SVD-XT, " + steps + " steps");
                }
            }
        }
    }

    /** What diffusers 0.40 computes for these: NaN on the last step (bh1 onto σ = 0) or on every noisy step (√ln β). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "UniPCMultistepScheduler:solver_type=bh1|8|step 7 of 8",
            "UniPCMultistepScheduler:solver_type=bh1,solver_order=3|25|step 24 of 25",
            "DDPMScheduler:variance_type=fixed_large_log|8|step 0 of 8"})
    void brokenCombinationsAreRefusedWithTheStep(String spec, int steps, String where) {
        var e = assertThrows(IllegalArgumentException.class, () -> I2VGEN.forRun(SchedulerSpec.parse(spec), steps, 0.0));
        assertTrue(e.getMessage().contains(where) && e.getMessage().contains("black video")
                && e.getMessage().startsWith("scheduler '" + spec + "'"), e.getMessage());
    }

    @Test
    void theSameOptionsWithAFinalSigmaAboveZeroPass() {
        assertDoesNotThrow(() -> I2VGEN.forRun(SchedulerSpec.parse(
                "UniPCMultistepScheduler:solver_type=bh1,final_sigmas_type=sigma_min"), 8, 0.0));
    }

    /** diffusers 0.40 fails with an IndexError on its last step here: refused when the run is set up. */
    @Test
    void dpmSolverWithKarrasSigmasOnTheZeroSnrScheduleIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> I2VGEN.forRun(SchedulerSpec.parse(
                "DPMSolverMultistepScheduler:use_karras_sigmas=true"), 25, 0.0));
        assertTrue(e.getMessage().contains("index_for_timestep"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"DPMSolverMultistepScheduler", "UniPCMultistepScheduler"})
    void multistepSolversOnTheSvdConfigAreRefusedForTheSameReason(String name) {
        var e = assertThrows(IllegalArgumentException.class, () -> SVD.forRun(SchedulerSpec.parse(name), 25, 0.0));
        assertTrue(e.getMessage().contains("index_for_timestep"), e.getMessage());
        assertDoesNotThrow(() -> SVD.forRun(SchedulerSpec.parse(name + ":use_karras_sigmas=false"), 25, 0.0));
    }

    @Test
    void etaIsRefusedWhereTheStepTakesNone() {
        var e = assertThrows(IllegalArgumentException.class, () -> I2VGEN.forRun(SchedulerSpec.parse("EulerDiscreteScheduler"), 8, 0.5));
        assertTrue(e.getMessage().contains("takes no eta"), e.getMessage());
        assertDoesNotThrow(() -> I2VGEN.forRun(null, 8, 0.5));   // the checkpoint's DDIM takes it
    }
}
