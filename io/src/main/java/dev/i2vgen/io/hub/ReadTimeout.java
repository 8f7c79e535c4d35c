package dev.i2vgen.io.hub;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Ends a download that stalls: the JDK's HTTP client times out waiting for an answer, but a body that stops arriving
 * blocks its reader for good. While open, this interrupts the reading thread once no byte came for the timeout
 * (its blocked read then fails with an IOException, and the download is resumed like after a cut connection).
 */
final class ReadTimeout implements AutoCloseable {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "i2vgen-hub-read-timeout");
        t.setDaemon(true);
        return t;
    });

    private final Thread reader = Thread.currentThread();
    private final long timeoutNanos;
    private final ScheduledFuture<?> check;
    private volatile long lastProgress = System.nanoTime();
    private boolean fired;
    private boolean closed;

    private ReadTimeout(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
        long period = Math.max(10, timeout.toMillis() / 4);
        this.check = TIMER.scheduleAtFixedRate(this::check, period, period, TimeUnit.MILLISECONDS);
    }

    /** Watches the calling thread's reads for {@code timeout} without progress. */
    static ReadTimeout start(Duration timeout) { return new ReadTimeout(timeout); }

    /** Bytes arrived. */
    void progress() { lastProgress = System.nanoTime(); }

    /** Whether the reader was interrupted for a stall. */
    synchronized boolean fired() { return fired; }

    private synchronized void check() {
        if (closed || fired || System.nanoTime() - lastProgress < timeoutNanos) return;
        fired = true;
        reader.interrupt();
    }

    /** Stops watching; clears the interrupt this sent, so the thread goes on (to retry) uninterrupted. */
    @Override
    public synchronized void close() {
        closed = true;
        check.cancel(false);
        if (fired && Thread.currentThread() == reader) Thread.interrupted();
    }
}
