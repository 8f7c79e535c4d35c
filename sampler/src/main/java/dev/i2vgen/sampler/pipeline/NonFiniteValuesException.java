package dev.i2vgen.sampler.pipeline;

import java.util.List;

/**
 * A run's numbers went NaN or infinite: the pipeline stops with this instead of turning them into a black video.
 * The one-line message names the stage, what held the values, the denoising step where the latents went bad (with
 * its timestep) and what to try.
 */
public final class NonFiniteValuesException extends RuntimeException {
    private final String stage;
    private final String subject;
    private final int step;
    private final int steps;
    private final double timestep;
    private final List<String> hints;

    /**
     * @param stage    the pipeline stage ("encode prompt", "denoise", "ni-vsds", "decode", ...)
     * @param subject  what held the values ("the latents", "the decoded frames", ...)
     * @param step     the 1-based denoising step, or 0 where the stage has no steps
     * @param steps    the steps of the schedule (ignored when {@code step} is 0)
     * @param timestep the step's timestep (ignored when {@code step} is 0)
     * @param hints    what to try, most likely first
     */
    public NonFiniteValuesException(String stage, String subject, int step, int steps, double timestep, List<String> hints) {
        super(message(stage, subject, step, steps, timestep, hints));
        this.stage = stage;
        this.subject = subject;
        this.step = step;
        this.steps = steps;
        this.timestep = timestep;
        this.hints = List.copyOf(hints);
    }

    /** Values of a stage without steps (conditioning, decoding). */
    public NonFiniteValuesException(String stage, String subject, List<String> hints) {
        this(stage, subject, 0, 0, Double.NaN, hints);
    }

    private static String message(String stage, String subject, int step, int steps, double timestep, List<String> hints) {
        StringBuilder m = new StringBuilder(stage).append(": ").append(subject).append(" became NaN or infinite");
        if (step > 0) {
            String t = timestep == Math.rint(timestep) && Math.abs(timestep) < 1e9 ? Long.toString((long) timestep) : Double.toString(timestep);
            m.append(" at step ").append(step).append(" of ").append(steps).append(" (timestep ").append(t).append(")");
        }
        if (!hints.isEmpty()) m.append("; try: ").append(String.join("; ", hints));
        return m.toString();
    }

    public String stage() { return stage; }

    public String subject() { return subject; }

    /** The 1-based denoising step where the values went bad; 0 where the stage has no steps. */
    public int step() { return step; }

    public int steps() { return steps; }

    /** The timestep of {@link #step()}; NaN where the stage has no steps. */
    public double timestep() { return timestep; }

    public List<String> hints() { return hints; }
}
