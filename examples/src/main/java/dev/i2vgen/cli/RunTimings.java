package dev.i2vgen.cli;

import dev.i2vgen.backend.SetupWork;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where one {@code generate} run's wall-clock time went, from process start to the written video, printed when
 * {@code I2VGEN_TIMINGS=1}: JVM start, the checks, the pipeline's load, each pipeline stage, the video encoding, and
 * the backend's setup work inside those stages (kernel compilation, algorithm searches, weight uploads), and for work
 * done on other threads how much of it overlapped the stages ("busy" thread time against the time waited for it).
 */
final class RunTimings {
    /** When the JVM handed control to our code: class initialisation of the entry point's package, close enough. */
    private static final long MAIN_NANOS = System.nanoTime();
    private static final Instant MAIN_INSTANT = Instant.now();

    private final boolean enabled;
    private final Map<String, Long> phases = new LinkedHashMap<>();
    /** Work done on threads of its own beside the phases (the video encoder). */
    private final List<SetupWork> beside = new ArrayList<>();
    private String current;
    private long currentStart;

    RunTimings(boolean enabled) {
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

    /** Records work that ran on a thread of its own beside the phases: {@code busy} its time, {@code waited} the phases' wait for it. */
    void beside(String what, Duration busy, Duration waited) { beside.add(new SetupWork(what, busy, waited)); }

    /**
     * Seconds from the process's start to {@code mark}, a {@link System#nanoTime} reading of this process. On Linux
     * from /proc: the process's start in clock ticks since boot against the uptime, both to 10 ms. {@link
     * ProcessHandle}'s start instant adds the boot time, which Linux gives in whole seconds, so its figure was off by up
     * to a second, the same for every run on one machine (0.27 s on one GPU machine, 1.07 s on the next for the same
     * JVM start). Elsewhere that start instant; NaN when neither is known.
     */
    static double secondsFromProcessStartTo(long mark) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String uptime = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"));
            long nowNanos = System.nanoTime();
            double age = Double.parseDouble(uptime.trim().split("\\s+")[0]) - startTicks(stat) / (double) USER_HZ;
            return age - (nowNanos - mark) / 1e9;
        } catch (java.io.IOException | RuntimeException e) {   // not Linux, or /proc not readable
            return ProcessHandle.current().info().startInstant()
                    .map(start -> Duration.between(start, MAIN_INSTANT).toNanos() / 1e9).orElse(Double.NaN);
        }
    }

    /** The clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture the JDK runs on). */
    private static final int USER_HZ = 100;

    /** Field 22 of a /proc/PID/stat line: the process's start, in clock ticks after boot (the name in field 2 may hold spaces and parentheses). */
    static long startTicks(String stat) {
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Long.parseLong(after[19]);   // field 3 (the state) is after[0]
    }

    /** Ends the last phase and prints the table to {@code err}; {@code setup}: the backend's setup work. */
    void print(PrintWriter err, List<SetupWork> setup) {
        long now = System.nanoTime();
        end(now);
        if (!enabled) return;
        err.println("Timings (I2VGEN_TIMINGS=1), wall clock:");
        double jvm = secondsFromProcessStartTo(MAIN_NANOS);
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
            err.println("  inside the stages above, the backend's and the pipeline's setup (busy: thread time summed over threads; waited: the stages' time in it):");
            setup.forEach(w -> err.println("    " + w.what() + ": " + amounts(w)));
        }
        if (!beside.isEmpty()) {
            err.println("  beside the stages, on threads of their own:");
            beside.forEach(w -> err.println("    " + w.what() + ": " + amounts(w)));
        }
        err.flush();
    }

    /** "1.234 s", or for work done (partly) on other threads "1.234 s busy, 0.100 s waited (1.134 s overlapped)". */
    static String amounts(SetupWork w) {
        double busy = w.busy().toNanos() / 1e9, waited = w.waited().toNanos() / 1e9;
        if (!w.inBackground()) return String.format(java.util.Locale.ROOT, "%.3f s", busy);
        return String.format(java.util.Locale.ROOT, "%.3f s busy, %.3f s waited (%.3f s overlapped)", busy, waited, Math.max(0, busy - waited));
    }
}
