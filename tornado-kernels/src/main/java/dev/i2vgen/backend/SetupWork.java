package dev.i2vgen.backend;

import java.time.Duration;

/**
 * One kind of a backend's setup work so far (kernel compilation, algorithm searches, weight uploads), for
 * {@code I2VGEN_TIMINGS=1}: {@code busy} is the time spent doing it, summed over the threads that did it;
 * {@code waited} the part of the caller's time (plans being built, on the generating thread) spent doing it or
 * blocked on it. What ran on a background thread beside other work is {@code busy − waited}; work done on the
 * caller's own thread has {@code waited == busy}.
 */
public record SetupWork(String what, Duration busy, Duration waited) {
    public SetupWork {
        if (busy.isNegative() || waited.isNegative()) throw new IllegalArgumentException(what + ": negative time");
    }

    /** Work done on the caller's thread: nothing of it overlapped anything else. */
    public static SetupWork onCallerThread(String what, Duration busy) { return new SetupWork(what, busy, busy); }

    /** Whether some of it ran on other threads (busy ≠ waited). */
    public boolean inBackground() { return !busy.equals(waited); }
}
