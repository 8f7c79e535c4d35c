package dev.i2vgen.cli.bench;

import dev.i2vgen.sampler.pipeline.PipelineListener;

import java.util.Locale;

/**
 * Wall time of each pipeline stage of one generation, from the listener's stage and step calls; in a stage with
 * steps the first is shown apart (it includes building the step's plan). Steps count per stage: I4VGen's NI-VSDS
 * loop and its regeneration each have their own (their listener totals cover both).
 */
public final class StageClock implements PipelineListener {
    private final java.util.LinkedHashMap<String, Long> nanos = new java.util.LinkedHashMap<>();
    /** Per stage with steps: {nanoseconds from the stage's start to its first step call, step calls}. */
    private final java.util.HashMap<String, long[]> steps = new java.util.HashMap<>();
    private String current;
    private long mark;

    public void start() {
        nanos.clear();
        steps.clear();
        current = "setup";
        mark = System.nanoTime();
    }

    @Override
    public void stage(String name) {
        lap();
        current = name;
    }

    @Override
    public void step(int index, int total, double timestep) {
        if (current == null) return;
        long[] s = steps.computeIfAbsent(current, k -> new long[2]);
        if (s[1]++ == 0) s[0] = System.nanoTime() - mark;
    }

    public void stop() { lap(); current = null; }

    private void lap() {
        long now = System.nanoTime();
        if (current != null) nanos.merge(current, now - mark, Long::sum);
        mark = now;
    }

    /** Seconds spent in {@code stage} by the last generation (0 if it had no such stage). */
    public double seconds(String stage) { return nanos.getOrDefault(stage, 0L) / 1e9; }

    /** The denoising loop's seconds per step after the first (which includes building the step's plans); NaN with one step. */
    public double secondsPerStepAfterFirst() { return secondsPerStepAfterFirst("denoise", nanos.getOrDefault("denoise", 0L)); }

    private double secondsPerStepAfterFirst(String stage, long stageNanos) {
        long[] s = steps.get(stage);
        return s != null && s[1] > 1 ? (stageNanos - s[0]) / 1e9 / (s[1] - 1) : Double.NaN;
    }

    public String summary() {
        StringBuilder sb = new StringBuilder();
        nanos.forEach((k, v) -> {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(String.format(Locale.ROOT, "%s %.3f s", k, v / 1e9));
            long[] s = steps.get(k);
            if (s != null && s[1] > 1) {
                sb.append(String.format(Locale.ROOT, " (%d steps: the first %.3f s incl. plan build, then %.4f s/step)",
                        s[1], s[0] / 1e9, secondsPerStepAfterFirst(k, v)));
            }
        });
        return sb.toString();
    }
}
