package dev.i2vgen.cli;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.concurrent.Futures;
import dev.i2vgen.tensor.DType;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A run's backends started on a thread of their own while the main thread checks the request and the checkpoint
 * (issue 17: a CUDA context, its libraries and the first kernel compiles take ~0.5–0.7 s on an H100, which the
 * checks' ~0.4 s can hide). The checks still decide first: their error is the one the user sees, and a start whose
 * run fails its checks is closed as soon as it is done ({@link #close}), without delaying the error.
 * {@code -Di2vgen.backend.earlyStart=false}: the backends start when {@link #join} asks, on the caller's thread.
 */
final class BackendStart implements AutoCloseable {
    private final Supplier<DeviceBackends> opener;
    private final DType dtype;
    private final CompletableFuture<DeviceBackends> started;   // null: not started early
    private boolean taken, closed;                               // guarded by this
    private volatile long busyNanos, waitedNanos;

    /** {@code opener} opens the backends (on the start's thread when {@code early}, else in {@link #join}). */
    BackendStart(Supplier<DeviceBackends> opener, DType dtype, boolean early) {
        this.opener = opener;
        this.dtype = dtype;
        this.started = early ? new CompletableFuture<>() : null;
        if (early) {
            Thread.ofPlatform().daemon().name("backend-start").start(() -> {
                try {
                    started.complete(open());
                } catch (Throwable t) {
                    started.completeExceptionally(t);
                }
            });
        }
    }

    /** Starts {@code device} (on {@code ordinals}; empty: its default device) for {@code dtype} beside the caller. */
    static BackendStart begin(String device, List<Integer> ordinals, DType dtype) {
        List<Integer> devices = List.copyOf(ordinals);
        return new BackendStart(() -> DeviceBackends.open(device, devices), dtype, enabledByProperty());
    }

    /** On unless {@code -Di2vgen.backend.earlyStart=false}. */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.backend.earlyStart")); }

    /** Opens the backends and starts their kernel compilation for the run's dtype (on other threads). */
    private DeviceBackends open() {
        long t0 = System.nanoTime();
        DeviceBackends backends = opener.get();
        try {
            for (Backend b : backends.backends()) b.prepare(dtype);
        } catch (RuntimeException | Error e) {
            backends.close();
            throw e;
        } finally {
            busyNanos = System.nanoTime() - t0;
        }
        synchronized (this) {
            if (closed) {   // the run failed its checks meanwhile: nobody will take these
                backends.close();
                throw new IllegalStateException("the run ended before its backends started");
            }
        }
        return backends;
    }

    /**
     * The started backends, now the caller's: waits for the start (or starts them here, when not started early);
     * throws the start's failure as it was thrown.
     */
    DeviceBackends join() {
        synchronized (this) {
            if (taken || closed) throw new IllegalStateException("the backends of this run were taken or closed");
            taken = true;
        }
        if (started == null) return open();
        long t0 = System.nanoTime();
        try {
            return Futures.join(started);
        } finally {
            waitedNanos = System.nanoTime() - t0;
        }
    }

    /** Whether the backends were started beside the checks, and how long that took on their thread. */
    boolean early() { return started != null; }

    Duration startTime() { return Duration.ofNanos(busyNanos); }

    /** How long {@link #join} waited for the early start. */
    Duration waited() { return Duration.ofNanos(waitedNanos); }

    /** Unless taken: the backends are closed once started (by their thread, if still starting), their failure ignored. */
    @Override
    public void close() {
        synchronized (this) {
            if (taken || closed) return;
            closed = true;
        }
        if (started != null) started.thenAccept(DeviceBackends::close);   // done now, or when the start ends
    }
}
