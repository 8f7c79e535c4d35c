package dev.i2vgen.cli.bench;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.cuda.CudaBackend;
import dev.i2vgen.backend.cuda.CudaMemoryInfo;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Peak device memory of a benchmark: a daemon thread polls "bytes in use" every few milliseconds, and the peak
 * is reported above the baseline taken at start (the backend's context and workspace already exist then), so it
 * compares with PyTorch's {@code max_memory_allocated}. Polling can miss a spike shorter than the interval; our
 * backends allocate a plan's weights and intermediate arena when it is compiled and hold them while it runs, so
 * the level is flat during a stage.
 */
public final class PeakMemorySampler implements AutoCloseable {
    private final LongSupplier usedBytes;
    private final long baseline;
    private final AtomicLong peak = new AtomicLong();
    private final Thread poller;
    private volatile boolean running = true;

    public PeakMemorySampler(LongSupplier usedBytes, long intervalMillis) {
        if (intervalMillis < 1) throw new IllegalArgumentException("intervalMillis must be >= 1, got " + intervalMillis);
        this.usedBytes = usedBytes;
        this.baseline = usedBytes.getAsLong();
        peak.set(baseline);
        poller = Thread.ofPlatform().daemon().name("device-memory-sampler").start(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** A sampler for backends that can report device memory in use (CUDA); empty for the others (JVM). */
    public static Optional<PeakMemorySampler> forBackend(Backend backend) {
        if (backend instanceof CudaBackend cuda) {
            CudaMemoryInfo info = new CudaMemoryInfo(cuda);
            return Optional.of(new PeakMemorySampler(info::usedBytes, 2));
        }
        return Optional.empty();
    }

    private void sample() {
        long now = usedBytes.getAsLong();
        peak.accumulateAndGet(now, Math::max);
    }

    /** Starts a new peak at the current level (before a stage). */
    public void reset() {
        peak.set(usedBytes.getAsLong());
    }

    /** The highest level seen since the last {@link #reset()} (or start), minus the baseline. */
    public long peakBytes() {
        sample();
        return Math.max(0, peak.get() - baseline);
    }

    @Override
    public void close() {
        running = false;
        poller.interrupt();
        try {
            poller.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
