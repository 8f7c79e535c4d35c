package dev.i2vgen.cli.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

class StageClockTest {

    /** I4VGen's two loops report steps out of one total (31 + 40 = 71): each stage's time per step uses its own count. */
    @Test
    void stepsCountPerStageNotByTheListenersTotal() throws InterruptedException {
        StageClock clock = new StageClock();
        clock.start();
        clock.stage("ni-vsds");
        for (int i = 0; i < 3; i++) clock.step(i, 7, 0);
        clock.stage("denoise");
        for (int i = 0; i < 4; i++) {
            Thread.sleep(20);
            clock.step(3 + i, 7, 0);   // the regeneration's steps continue the listener's count
        }
        clock.stop();
        double perStep = clock.secondsPerStepAfterFirst();
        // 3 steps of ≥ 20 ms after the first; dividing by the listener's total (6 after the first) would give ~10 ms
        assertTrue(perStep >= 0.018 && perStep < 0.5, "s/step " + perStep);
        String summary = clock.summary();
        assertTrue(summary.contains("denoise") && summary.contains("(4 steps:") && summary.contains("(3 steps:"), summary);
    }
}
