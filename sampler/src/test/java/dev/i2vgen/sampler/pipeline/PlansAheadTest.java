package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.SetupWork;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PlansAhead} on its own: where plans are built, who owns them, what a failure does, the memory accounting. */
@org.junit.jupiter.api.extension.ExtendWith(PlanAheadSwitchedOn.class)
class PlansAheadTest {
    private final ConcurrentJvmBackend backend = new ConcurrentJvmBackend(0);
    private final AheadPlanTimes times = new AheadPlanTimes();

    @AfterEach
    void closeBackend() { backend.close(); }

    /** x[n] (F32) → 2x, or x times a constant [n] (the same intermediates, plus the constant). */
    private static ImmutableTaskGraph graph(String name, int n, boolean constant) {
        TaskGraph g = new TaskGraph(name, DType.F32);
        Value x = g.input("x", DType.F32, n);
        g.output("y", constant ? g.mul(x, g.constant("c", Tensor.fromFloats(new float[n], n))) : g.scale(x, 2f));
        return g.freeze();
    }

    @Test
    void aPlanIsBuiltOnAThreadOfItsOwnAndTakenByTheStage() throws Exception {
        CountDownLatch building = new CountDownLatch(1);
        backend.onCompile = g -> building.countDown();
        try (PlansAhead plans = PlansAhead.forRun(backend, true, times)) {
            assertTrue(plans.active());
            var ahead = plans.start("decode", () -> graph("g", 8, false), g -> g);
            assertTrue(building.await(10, TimeUnit.SECONDS));   // (taken before its thread starts, the stage would build it)
            PlansAhead.Built<ImmutableTaskGraph> built = plans.take(ahead);
            try (var plan = built.plan()) {
                assertSame(built.spec(), plan.graph(), "the spec's graph is the plan's");
                assertEquals("plan-ahead-decode", backend.compiles().getFirst().thread());
                assertThrows(IllegalStateException.class, () -> plans.take(ahead), "a plan is taken once");
            }
        }
        assertEquals(1, backend.opened.get());
        assertEquals(1, backend.closed.get());
        List<SetupWork> work = times.setupWork();
        assertEquals(1, work.size());
        assertTrue(work.getFirst().what().contains("'decode' built ahead"), work.getFirst().what());
    }

    /** The backend serves the builds' queued work (weight uploads) in the order of their stages, after the running stage's. */
    @Test
    void plansBuiltAheadAreRankedInTheOrderTheyWereStarted() throws Exception {
        CountDownLatch building = new CountDownLatch(3);
        backend.onCompile = g -> building.countDown();
        try (PlansAhead plans = PlansAhead.forRun(backend, true, times)) {
            var image = plans.start("encode image", () -> graph("image", 8, false), g -> g);
            var step = plans.start("denoise", () -> graph("step", 8, false), g -> g);
            var decode = plans.start("decode", () -> graph("decode", 8, false), g -> g);
            assertTrue(building.await(10, TimeUnit.SECONDS), "each built on its own thread, none by the takes below");
            for (var a : List.of(image, step, decode)) plans.take(a).plan().close();
        }
        java.util.Map<String, Integer> ranks = new java.util.HashMap<>();
        for (var c : backend.compiles()) ranks.put(c.graph(), c.urgency());
        assertEquals(java.util.Map.of("image", 1, "step", 2, "decode", 3), ranks, backend.compiles().toString());
    }

    @Test
    void switchedOffOrOnABackendThatCannotEveryPlanIsBuiltWhenTaken() {
        System.setProperty("i2vgen.pipeline.planAhead", "false");   // PlanAheadSwitchedOn restores it after the test
        try (ConcurrentJvmBackend releasing = new ConcurrentJvmBackend(1000);
             PlansAhead plans = PlansAhead.forRun(releasing, true, times)) {
            assertFalse(plans.active());
            var ahead = plans.start("decode", () -> graph("g", 8, false), g -> g);
            assertEquals(List.of(), releasing.compiles(), "nothing built before the stage takes it");
            plans.take(ahead).plan().close();
            assertEquals(Thread.currentThread().getName(), releasing.compiles().getFirst().thread());
            assertEquals(0, releasing.compiles().getFirst().urgency(), "built for the stage about to run");
            plans.release(graph("done", 8, true));
            assertEquals(0, plans.releasedBytes(), "no weights given back when no plan is built ahead");
        }
        System.setProperty("i2vgen.pipeline.planAhead", "true");
        try (PlansAhead plans = PlansAhead.forRun(backend, false, times)) {   // a run path that compiles elsewhere
            assertFalse(plans.active());
        }
        assertEquals(List.of(), times.setupWork(), "no plan built ahead, none reported");
    }

    @Test
    void closingWaitsForABuildInFlightAndClosesWhatNobodyTook() throws Exception {
        CountDownLatch building = new CountDownLatch(1), proceed = new CountDownLatch(1);
        backend.onCompile = g -> {
            building.countDown();
            Latches.await(proceed, 10, "timed out");
        };
        PlansAhead plans = PlansAhead.forRun(backend, true, times);
        plans.start("denoise", () -> graph("unet", 8, false), g -> g);
        assertTrue(building.await(10, TimeUnit.SECONDS));
        Thread closer = Thread.ofPlatform().start(plans::close);
        closer.join(200);
        assertTrue(closer.isAlive(), "close waits for the compile in flight");
        proceed.countDown();
        closer.join(10_000);
        assertFalse(closer.isAlive());
        assertEquals(1, backend.opened.get());
        assertEquals(1, backend.closed.get(), "the plan nobody took is closed");
    }

    @Test
    void aFailedBuildIsThrownByTakeAsItWasAndNeverByClose() {
        RuntimeException boom = new IllegalStateException("no memory for the decoder");
        backend.failing = g -> g.name().equals("decoder") ? boom : null;
        try (PlansAhead plans = PlansAhead.forRun(backend, true, times)) {
            var decoder = plans.start("decode", () -> graph("decoder", 8, false), g -> g);
            assertSame(boom, assertThrows(IllegalStateException.class, () -> plans.take(decoder)));
        }
        AtomicReference<Throwable> fromClose = new AtomicReference<>();
        PlansAhead plans = PlansAhead.forRun(backend, true, times);
        plans.start("decode", () -> graph("decoder", 8, false), g -> g);
        var other = plans.start("encode image", () -> graph("clip", 8, false), g -> g);
        plans.take(other).plan().close();
        try {
            plans.close();   // the decoder's failure was not needed: not thrown over anything
        } catch (Throwable t) {
            fromClose.set(t);
        }
        assertEquals(null, fromClose.get());
        assertEquals(backend.opened.get(), backend.closed.get());
    }

    @Test
    void aPlanIsBuiltAheadOnlyWhereItsMemoryFitsWhatTheRunReleased() {
        ImmutableTaskGraph small = graph("small", 250, false), large = graph("large", 250, true);
        assertEquals(250 * 4, PlansAhead.estimatedBytes(large) - PlansAhead.estimatedBytes(small), "constants are counted");
        long perRelease = PlansAhead.estimatedBytes(small) + 500;   // what the backend frees per stage given back
        try (ConcurrentJvmBackend releasing = new ConcurrentJvmBackend(perRelease);
             PlansAhead plans = PlansAhead.forRun(releasing, true, times)) {
            assertFalse(plans.fitsReleased(small), "nothing released yet");
            plans.release(graph("text encoder", 8, true));
            assertEquals(perRelease, plans.releasedBytes());
            assertTrue(plans.fitsReleased(small));
            assertFalse(plans.fitsReleased(large), "500 bytes of room, 1000 bytes of constants more");

            var notAhead = plans.start("decode", () -> large, g -> g, plans::fitsReleased);
            try (var plan = plans.take(notAhead).plan()) {
                assertSame(large, plan.graph());
                assertEquals(Thread.currentThread().getName(), releasing.compiles().getFirst().thread(), "built by the stage itself");
            }
        }
        assertNotEquals(List.of(), times.setupWork());
        assertTrue(times.setupWork().getFirst().what().contains("built by the stage itself, not ahead"));
    }

    @Test
    void onUnlessSwitchedOff() {
        System.clearProperty("i2vgen.pipeline.planAhead");   // restored after the test
        try (PlansAhead plans = PlansAhead.forRun(backend, true, times)) {
            assertTrue(plans.active(), "plans are built ahead by default");
        }
        System.setProperty("i2vgen.pipeline.planAhead", "false");
        try (PlansAhead plans = PlansAhead.forRun(backend, true, times)) {
            assertFalse(plans.active(), "-Di2vgen.pipeline.planAhead=false switches it off");
        }
    }
}
