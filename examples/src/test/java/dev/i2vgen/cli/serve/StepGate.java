package dev.i2vgen.cli.serve;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The tests' {@link JobHooks}: holds the next job that reaches step 1 until released (a running job that stays
 * running, for a full queue or a cancellation without sleeps), or makes the next job fail there.
 */
final class StepGate implements JobHooks {
    private final AtomicReference<CountDownLatch> hold = new AtomicReference<>();
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private final BlockingQueue<String> held = new LinkedBlockingQueue<>();

    /** The next job to finish its first step waits there until {@link #release}. */
    void holdNext() { hold.set(new CountDownLatch(1)); }

    /** The next job to finish its first step fails there with {@code e}. */
    void failNext(RuntimeException e) { failure.set(e); }

    /** Waits for the held job to arrive at its first step; returns its id. */
    String awaitHeld() throws InterruptedException {
        String id = held.poll(5, TimeUnit.MINUTES);
        if (id == null) throw new AssertionError("no job reached its first step within 5 minutes");
        return id;
    }

    /** Lets the held job go on. */
    void release() {
        CountDownLatch latch = hold.getAndSet(null);
        if (latch != null) latch.countDown();
    }

    @Override
    public void afterStep(String jobId, int step, int total) {
        if (step != 1) return;
        RuntimeException e = failure.getAndSet(null);
        if (e != null) throw e;
        CountDownLatch latch = hold.get();
        if (latch == null) return;
        held.add(jobId);
        try {
            if (!latch.await(5, TimeUnit.MINUTES)) throw new AssertionError("job " + jobId + " was held for 5 minutes");
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }
}
