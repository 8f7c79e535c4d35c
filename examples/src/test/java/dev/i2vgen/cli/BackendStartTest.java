package dev.i2vgen.cli;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link BackendStart}: the device started beside the run's checks, who owns it, and what a failed check or start does. */
class BackendStartTest {
    /** Counts its opening and closing; records the thread and dtype of {@code prepare}. */
    static final class FakeBackend implements Backend {
        final AtomicInteger closed = new AtomicInteger();
        final AtomicReference<String> preparedOn = new AtomicReference<>();
        volatile DType prepared;

        @Override public String name() { return "fake"; }

        @Override public String deviceDescription() { return "fake device"; }

        @Override public ExecutionPlan compile(ImmutableTaskGraph graph) { throw new UnsupportedOperationException(); }

        @Override
        public void prepare(DType activation) {
            prepared = activation;
            preparedOn.set(Thread.currentThread().getName());
        }

        @Override public void close() { closed.incrementAndGet(); }
    }

    private final FakeBackend backend = new FakeBackend();
    private final AtomicInteger opened = new AtomicInteger();

    private DeviceBackends open(CountDownLatch release) {
        try {
            if (release != null && !release.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        opened.incrementAndGet();
        return DeviceBackends.of("fake", List.of(backend));
    }

    @Test
    void startedOnAThreadOfItsOwnAndTakenByTheRun() {
        CountDownLatch release = new CountDownLatch(1);
        try (BackendStart start = new BackendStart(() -> open(release), DType.F16, true)) {
            assertTrue(start.early());
            assertEquals(0, opened.get(), "the caller goes on with its checks meanwhile");
            release.countDown();
            DeviceBackends backends = assertTimeoutPreemptively(Duration.ofSeconds(20), start::join);
            assertSame(backend, backends.first());
            assertEquals(DType.F16, backend.prepared, "kernel compilation started for the run's dtype");
            assertEquals("backend-start", backend.preparedOn.get());
            assertThrows(IllegalStateException.class, start::join, "taken once");
        }
        assertEquals(0, backend.closed.get(), "the run owns what it took: closing the start leaves it open");
    }

    @Test
    void aRunThatFailsItsChecksClosesTheBackendsOnceStartedWithoutWaitingForThem() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        BackendStart start = new BackendStart(() -> open(release), DType.F32, true);
        assertTimeoutPreemptively(Duration.ofSeconds(5), start::close, "the check's error is not delayed by the start");
        assertEquals(0, backend.closed.get());
        release.countDown();
        for (int i = 0; i < 200 && backend.closed.get() == 0; i++) Thread.sleep(25);
        assertEquals(1, opened.get());
        assertEquals(1, backend.closed.get(), "closed by its own thread once started, exactly once");
        assertThrows(IllegalStateException.class, start::join);
    }

    @Test
    void aStartThatFailsThrowsItsErrorFromJoinAsItWasThrown() {
        var problem = new CliErrors.BadInputException("--devices: there is no CUDA device 3");
        try (BackendStart start = new BackendStart(() -> { throw problem; }, DType.F16, true)) {
            assertSame(problem, assertThrows(CliErrors.BadInputException.class, start::join));
        }
    }

    @Test
    void switchedOffTheBackendsStartWhenJoinAsks() {
        try (BackendStart start = new BackendStart(() -> open(null), DType.BF16, false)) {
            assertEquals(0, opened.get(), "nothing before join");
            start.join();
            assertEquals(Thread.currentThread().getName(), backend.preparedOn.get());
        }
        assertEquals(0, backend.closed.get());
    }
}
