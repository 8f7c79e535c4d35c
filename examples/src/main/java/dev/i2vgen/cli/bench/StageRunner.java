package dev.i2vgen.cli.bench;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.tensor.Tensor;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * What every benchmark stage shares, whatever the model: compile a stage (untimed, its peak memory counts), time
 * its runs (median after warm-up), release it, print the line as soon as it is measured and add the report rows
 * with diffusers' figure beside ours; random inputs from one seeded source.
 */
public final class StageRunner {
    private static final double GIB = 1024.0 * 1024 * 1024;

    private final Optional<PeakMemorySampler> memory;
    private final DiffusersAnchor anchor;
    private final BenchReport report;
    private final PrintWriter out;
    private final int warmup, repeats;
    private final SplittableRandom random = new SplittableRandom(1);
    private double peakGib = 0;

    /** @param anchor diffusers' figures for this model, or null (nothing to compare with, e.g. the demo model) */
    public StageRunner(Optional<PeakMemorySampler> memory, DiffusersAnchor anchor, BenchReport report, PrintWriter out,
                       int warmup, int repeats) {
        this.memory = memory;
        this.anchor = anchor;
        this.report = report;
        this.out = out;
        this.warmup = warmup;
        this.repeats = repeats;
    }

    public BenchReport report() { return report; }

    public PrintWriter out() { return out; }

    /** A compiled stage and one run of it; closing releases its device memory. */
    public record Timed(AutoCloseable resource, Runnable run) implements AutoCloseable {
        @Override
        public void close() throws Exception { resource.close(); }
    }

    /** Compiles a stage for {@link #time}. */
    @FunctionalInterface
    public interface StageFactory {
        Timed build();
    }

    /**
     * Compiles a stage, times it, closes it, and adds a row for the time and, where diffusers has a figure for that
     * stage's memory ({@code anchorPeakKey}), one for its peak memory. Returns the median seconds.
     */
    public double time(String key, String what, String anchorKey, Double target, String anchorPeakKey, StageFactory factory) {
        announce(key);
        resetPeak();
        double seconds;
        try (Timed t = factory.build()) {
            seconds = StageTimer.medianSeconds(t.run(), warmup, repeats);
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(key + ": " + e.getMessage(), e);
        }
        Double peak = peakSinceReset();
        done(seconds, peak);
        report.add(new BenchRow(key, what, seconds, "s", figure(anchorKey), anchor == null ? null : target));
        var peaks = report.header().withObject("/peak_gib_per_stage");
        if (peak == null) peaks.putNull(key); else peaks.put(key, peak);
        if (anchorPeakKey != null) {
            report.add(new BenchRow(key + "_peak_memory", "device memory during " + key, peak, "GiB", figure(anchorPeakKey), null));
        }
        return seconds;
    }

    /** One generation of the pipeline being timed: {@code steps} denoising steps, reporting to {@code listener}. */
    @FunctionalInterface
    public interface Generation {
        void run(int steps, PipelineListener listener);
    }

    /**
     * Times whole generations of {@code steps} steps (the median of {@code repeats}) after one untimed 1-step run that
     * compiles every stage's kernels, prints the last run's time per stage, and adds the rows
     * "pipeline_&lt;steps&gt;_steps" and "peak_memory_pipeline". Figures and targets are passed as they apply: a null
     * {@code anchorKey} or target where this run is not comparable with diffusers'.
     *
     * @param video the generated video's size in the row's description, "FxHxW"
     */
    public void timePipeline(int steps, int repeats, String video, Generation generation, String anchorKey, Double target,
                             String anchorPeakKey, Double peakTarget) {
        timePipeline("pipeline", "whole pipeline", steps, repeats, video, generation, anchorKey, target, anchorPeakKey, peakTarget);
    }

    /**
     * {@link #timePipeline(int, int, String, Generation, String, Double, String, Double)} under another row name
     * ({@code name}_N_steps, peak_memory_{@code name}), e.g. I4VGen's whole video beside the plain one.
     */
    public void timePipeline(String name, String description, int steps, int repeats, String video, Generation generation,
                             String anchorKey, Double target, String anchorPeakKey, Double peakTarget) {
        String key = name + "_" + steps + "_steps";
        announce(key);
        generation.run(1, PipelineListener.NONE);   // warm-up: compiles (and caches) every stage's kernels
        resetPeak();
        StageClock clock = new StageClock();
        double s = StageTimer.medianSeconds(() -> {
            clock.start();
            generation.run(steps, clock);
            clock.stop();
        }, 0, repeats);
        report.add(new BenchRow(key, description + ", " + steps + " steps, " + video, s, "s", figure(anchorKey), target));
        Double peak = peakSinceReset();
        done(s, peak);
        out.println("    last run by stage: " + clock.summary());
        report.header().put(name + "_stages_last_run", clock.summary());
        report.add(new BenchRow("peak_memory_" + name, "device memory during the " + description, peak, "GiB", figure(anchorPeakKey), peakTarget));
    }

    /** diffusers' figure under {@code key}, or null (no anchor, no key, or no such figure). */
    public Double figure(String key) {
        return anchor == null || key == null ? null : anchor.figure(key);
    }

    public boolean hasAnchor() { return anchor != null; }

    public void resetPeak() { memory.ifPresent(PeakMemorySampler::reset); }

    /** The peak device memory since {@link #resetPeak} in GiB (null without a sampler); also kept as the run's maximum. */
    public Double peakSinceReset() {
        Double peak = memory.map(m -> m.peakBytes() / GIB).orElse(null);
        if (peak != null) peakGib = Math.max(peakGib, peak);
        return peak;
    }

    /** The largest peak of any stage (null without a sampler). */
    public Double peakOfAllStages() { return memory.isPresent() ? peakGib : null; }

    public void announce(String key) {
        out.printf("  %s ...", key);
        out.flush();
    }

    /** Ends the announce line as soon as a stage is measured, so a run cut short still shows what it got. */
    public void done(double seconds, Double peak) {
        out.printf(" %.4f s%s%n", seconds, peak == null ? "" : String.format(Locale.ROOT, ", peak %.2f GiB", peak));
        out.flush();
    }

    public Tensor gaussian(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian();
        return Tensor.fromFloats(v, shape);
    }

    public RgbImage randomImage(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) random.nextInt(256);
        return RgbImage.of(width, height, rgb);
    }
}
