package dev.i2vgen.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RunTimings}' measure of the JVM's start: from the process's start to a mark, not off by the boot time's rounding. */
class RunTimingsTest {
    @Test
    void theStartTicksAreField22EvenWhenTheCommandNameHoldsSpacesAndParentheses() {
        String stat = "3368 (my (odd) cmd) R 3324 3324 22782 0 -1 4194304 123 0 0 0 0 0 0 0 20 0 1 0 6025850 3133440 394 18446744073709551615";
        assertEquals(6025850L, RunTimings.startTicks(stat));
    }

    @Test
    void theProcessAgeAtAMarkAgreesWithTheJvmsOwnClock() throws Exception {
        long mark = System.nanoTime();
        double atMark = RunTimings.secondsFromProcessStartTo(mark);
        Thread.sleep(300);
        double later = RunTimings.secondsFromProcessStartTo(mark);
        assertTrue(atMark > 0, "the process started before this test: " + atMark);
        assertEquals(atMark, later, 0.05, "the same mark gives the same age, to /proc's 10 ms");
        // the JVM's own start (after the process's exec) lies within the process's life, up to the mark
        long jvmUptimeMillis = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
        double jvmAgeAtMark = jvmUptimeMillis / 1e3 - Duration.ofNanos(System.nanoTime() - mark).toNanos() / 1e9;
        assertTrue(atMark >= jvmAgeAtMark - 0.05 && atMark <= jvmAgeAtMark + 1.0,
                "process age " + atMark + " s against the JVM's " + jvmAgeAtMark + " s at the mark");
    }
}
