package dev.i2vgen.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where one {@code generate} run's wall-clock time went, from process start to the written video, printed when
 * {@code I2VGEN_TIMINGS=1}: JVM start, the checks, the pipeline's load, each pipeline stage, the video encoding, and
 * the backend's setup work inside those stages (kernel compilation, algorithm searches, weight uploads).
 */
final class RunTimings {
    /** When the JVM handed control to our code: class initialisation of the entry point's package, close enough. */
    private static final long MAIN_NANOS = System.nanoTime();
    private static final Instant MAIN_INSTANT = Instant.now();

    private final boolean enabled;
    private final Map<String, Long> phases = new LinkedHashMap<>();
    private String current;
    private long currentStart;

    private RunTimings(boolean enabled) {
        this.enabled = enabled;
    }

    /** Called first thing in main: initialises the clock above. */
    static void markProcessEntry() {}

    static RunTimings fromEnvironment() {
        return new RunTimings("1".equals(System.getenv("I2VGEN_TIMINGS")));
    }

    /** Ends the running phase and starts {@code phase} (a phase named twice accumulates). */
    void begin(String phase) {
        long now = System.nanoTime();
        end(now);
        current = phase;
        currentStart = now;
    }

    private void end(long now) {
        if (current != null) phases.merge(current, now - currentStart, Long::sum);
        current = null;
    }

    /** Ends the last phase and prints the table to {@code err}; {@code setup}: the backend's setup times. */
    void print(PrintWriter err, Map<String, Duration> setup) {
        long now = System.nanoTime();
        end(now);
        if (!enabled) return;
        err.println("Timings (I2VGEN_TIMINGS=1), wall clock:");
        double jvm = ProcessHandle.current().info().startInstant()
                .map(start -> Duration.between(start, MAIN_INSTANT).toNanos() / 1e9).orElse(Double.NaN);
        err.printf("  %-48s %8.3f s%n", "JVM start, to our first class", jvm);
        double sum = 0;
        for (var p : phases.entrySet()) {
            err.printf("  %-48s %8.3f s%n", p.getKey(), p.getValue() / 1e9);
            sum += p.getValue() / 1e9;
        }
        double total = (now - MAIN_NANOS) / 1e9 + (Double.isNaN(jvm) ? 0 : jvm);
        err.printf("  %-48s %8.3f s%n", "other (option parsing, JVM exit not counted)", (now - MAIN_NANOS) / 1e9 - sum);
        err.printf("  %-48s %8.3f s%n", "total, process start to video written", total);
        if (!setup.isEmpty()) {
            err.println("  inside the stages above, the backend's setup:");
            setup.forEach((k, v) -> err.printf("    %-46s %8.3f s%n", k, v.toNanos() / 1e9));
        }
        err.flush();
    }
}
