package dev.i2vgen.cli.bench;

import java.util.Arrays;

/** Wall-clock timing of a stage: untimed warm-up runs, then the median of timed repeats. */
public final class StageTimer {
    private StageTimer() {}

    /**
     * Median seconds of {@code repeats} runs after {@code warmup} runs. Each stage returns only after its result
     * is read back to the host, so the device work is complete when the clock stops.
     */
    public static double medianSeconds(Runnable stage, int warmup, int repeats) {
        if (warmup < 0 || repeats < 1) throw new IllegalArgumentException("warmup must be >= 0 and repeats >= 1, got " + warmup + " and " + repeats);
        for (int i = 0; i < warmup; i++) stage.run();
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long s = System.nanoTime();
            stage.run();
            t[i] = (System.nanoTime() - s) / 1e9;
        }
        return median(t);
    }

    /** The median (mean of the middle two for an even count). */
    public static double median(double[] values) {
        if (values.length == 0) throw new IllegalArgumentException("median of no values");
        double[] t = values.clone();
        Arrays.sort(t);
        int n = t.length;
        return n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    }
}
