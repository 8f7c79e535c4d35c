package dev.i2vgen.sampler.pipeline;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Waiting on a latch from code that may not throw checked exceptions (listeners, backend hooks) in the plan-ahead tests. */
final class Latches {
    private Latches() {}

    /** Waits up to {@code seconds} for {@code latch}; an {@link IllegalStateException} saying {@code what} when it never opens. */
    static void await(CountDownLatch latch, int seconds, String what) {
        try {
            if (!latch.await(seconds, TimeUnit.SECONDS)) throw new IllegalStateException(what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
