package dev.i2vgen.cli.bench;

import dev.i2vgen.sampler.pipeline.PipelineListener;

import java.util.Locale;

/**
 * Wall time of each pipeline stage of one generation, from the listener's stage and step calls; the first
 * denoising step is shown apart (it includes building the step's plan).
 */
public final class StageClock implements PipelineListener {
    private final java.util.LinkedHashMap<String, Long> nanos = new java.util.LinkedHashMap<>();
    private String current;
    private long mark, firstStep, steps;

    public void start() {
        nanos.clear();
        current = "setup";
        mark = System.nanoTime();
        firstStep = 0;
        steps = 0;
    }

    @Override
    public void stage(String name) {
        lap();
        current = name;
    }

    @Override
    public void step(int index, int total, double timestep) {
        if (index == 0) firstStep = System.nanoTime() - mark;
        steps = total;
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
    public double secondsPerStepAfterFirst() {
        return steps > 1 ? (nanos.getOrDefault("denoise", 0L) - firstStep) / 1e9 / (steps - 1) : Double.NaN;
    }

    public String summary() {
        StringBuilder sb = new StringBuilder();
        nanos.forEach((k, v) -> {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(String.format(Locale.ROOT, "%s %.3f s", k, v / 1e9));
            if (k.equals("denoise") && steps > 1) {
                sb.append(String.format(Locale.ROOT, " (first step %.3f s incl. plan build, then %.4f s/step)",
                        firstStep / 1e9, (v - firstStep) / 1e9 / (steps - 1)));
            }
        });
        return sb.toString();
    }
}
