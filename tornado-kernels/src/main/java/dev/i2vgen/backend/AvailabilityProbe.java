package dev.i2vgen.backend;

import java.util.function.Supplier;

/**
 * A {@link BackendProvider}'s availability check, run once per JVM (loading native libraries and asking the
 * driver for devices is slow and its answer does not change): "" when usable, else what is missing.
 * A probe that throws is not remembered, so the next call tries again.
 */
public final class AvailabilityProbe {
    private final Supplier<String> probe;
    private volatile String reason;   // null until probed; "" when available

    public AvailabilityProbe(Supplier<String> probe) { this.probe = probe; }

    /** "" when the backend is usable, else why not. */
    public String reason() {
        String r = reason;
        if (r != null) return r;
        synchronized (this) {
            if (reason == null) reason = probe.get();
            return reason;
        }
    }
}
