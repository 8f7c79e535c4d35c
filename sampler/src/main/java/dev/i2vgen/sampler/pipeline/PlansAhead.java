package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BuildUrgency;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.MemoryExhaustedException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The execution plans of one generation's later stages, built ahead on threads of their own while the earlier stages
 * run (issue 17: building a plan is seconds of host work — lowering, library plan objects, weight uploads — during
 * which the device would wait). A stage then takes its plan ({@link #take}) instead of compiling it. Only when the run
 * allows it, plans built ahead are not switched off ({@code -Di2vgen.pipeline.planAhead=false}, {@link #enabledByProperty}) and the backend compiles beside running plans
 * ({@link Backend#compilesConcurrently}); otherwise every plan is built when its stage takes it, on the caller's thread,
 * as before. Either way the graphs and plans are the same: only when they are built changes.
 * <p>Ownership: a plan taken belongs to the caller. {@link #close} cancels the builds not started, waits for those in
 * flight (a compile cannot be stopped half-way) and closes every plan nobody took, so that a failing or cancelled run
 * leaks none. A build's failure is thrown by {@link #take}, as it was thrown; one that nobody takes is only logged, never
 * put in place of the error the caller sees. A build ahead that ran out of memory (the earlier stages' buffers were
 * still there) is built again by its stage, as it would have been without building ahead.
 * <p>Device memory: a plan built ahead holds its buffers earlier than the stage would. A pipeline gives back the
 * weights of each stage it has finished ({@link #release}: {@link Backend#releaseConstants}), and builds ahead a plan
 * that is not the run's largest only where its estimated memory fits in what was released ({@link #fitsReleased}).
 */
final class PlansAhead implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PlansAhead.class.getName());

    /** A plan's spec (its graph and what the stage needs besides, e.g. the scheduler's step graph) and its plan. */
    record Built<S>(S spec, ExecutionPlan plan) {}

    private enum State { QUEUED, BUILDING, READY, FAILED, TAKEN, DROPPED }

    /** One plan of the run, started by {@link #start}. */
    static final class Ahead<S> {
        private final String stage;
        private final Supplier<S> specs;
        private final Function<S, ImmutableTaskGraph> graphOf;
        private final Predicate<S> worthAhead;
        // guarded by the PlansAhead
        private State state = State.QUEUED;
        private S spec;
        private ExecutionPlan plan;   // null when READY: the spec is built, the plan is not (not worth building ahead)
        private Throwable failure;
        private long busyNanos;

        private Ahead(String stage, Supplier<S> specs, Function<S, ImmutableTaskGraph> graphOf, Predicate<S> worthAhead) {
            this.stage = stage;
            this.specs = specs;
            this.graphOf = graphOf;
            this.worthAhead = worthAhead;
        }
    }

    private final Backend backend;
    private final boolean active;
    private final AheadPlanTimes times;
    private final List<Ahead<?>> started = new ArrayList<>();   // guarded by this
    private boolean closed;                                      // guarded by this
    private final AtomicLong released = new AtomicLong();

    private PlansAhead(Backend backend, boolean active, AheadPlanTimes times) {
        this.backend = backend;
        this.active = active;
        this.times = times;
    }

    /**
     * Whether plans are built ahead: on unless {@code -Di2vgen.pipeline.planAhead=false}. On the H100 (session 11) it
     * shortened the warm start to MP4 by 0.9–2.0 s in three A/B pairs, gave the same coded video, and the CUDA
     * conformance cases (fp32, fp16, bf16) passed with it.
     */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.pipeline.planAhead")); }

    /**
     * The plans of one run on {@code backend}, built ahead where {@code runAllows} (the run's path has no loop of its
     * own that compiles elsewhere), the property is on and the backend can compile concurrently.
     */
    static PlansAhead forRun(Backend backend, boolean runAllows, AheadPlanTimes times) {
        return new PlansAhead(backend, runAllows && enabledByProperty() && backend.compilesConcurrently(), times);
    }

    /** Whether this run builds plans ahead (else every plan is built when taken). */
    boolean active() { return active; }

    /** {@link #start(String, Supplier, Function, Predicate)}, always worth building ahead. */
    <S> Ahead<S> start(String stage, Supplier<S> spec, Function<S, ImmutableTaskGraph> graphOf) {
        return start(stage, spec, graphOf, s -> true);
    }

    /**
     * Starts building the plan of {@code stage} on a thread of its own when active: {@code spec} (building the graph, on
     * that thread), then, where {@code worthAhead} says so, the backend's compile of {@code graphOf(spec)}. Inactive,
     * nothing happens until {@link #take}. What {@code spec} reads must not change before it is taken. Start the plans in
     * the order their stages run: the backend serves a build's queued work after the running stage's and after the
     * builds started before it ({@link BuildUrgency}).
     */
    <S> Ahead<S> start(String stage, Supplier<S> spec, Function<S, ImmutableTaskGraph> graphOf, Predicate<S> worthAhead) {
        Ahead<S> a = new Ahead<>(stage, spec, graphOf, worthAhead);
        int rank;
        synchronized (this) {
            if (closed) throw new IllegalStateException("the plans of this run are closed");
            started.add(a);
            rank = started.size();
        }
        if (active) {
            try {
                // the backend serves the builds' queued work (weight uploads) after the running stage's, in start order
                Thread.ofPlatform().daemon().name("plan-ahead-" + stage.replace(' ', '-'))
                        .start(() -> BuildUrgency.ahead(rank, () -> { build(a); return null; }));
            } catch (RuntimeException | OutOfMemoryError e) {   // no thread: the stage builds it when it takes it
                LOG.log(System.Logger.Level.DEBUG, "no thread to build the plan of '" + stage + "' ahead", e);
            }
        }
        return a;
    }

    private <S> void build(Ahead<S> a) {
        synchronized (this) {
            if (a.state != State.QUEUED) return;   // taken (built by the stage itself) or cancelled meanwhile
            a.state = State.BUILDING;
        }
        long t0 = System.nanoTime();
        S spec = null;
        ExecutionPlan plan = null;
        Throwable failure = null;
        try {
            spec = a.specs.get();
            if (a.worthAhead.test(spec)) plan = backend.compile(a.graphOf.apply(spec));
        } catch (Throwable t) {   // thrown by take, as it was
            failure = t;
        }
        synchronized (this) {
            a.spec = spec;
            a.plan = plan;
            a.failure = failure;
            a.busyNanos = System.nanoTime() - t0;
            a.state = failure != null ? State.FAILED : State.READY;
            notifyAll();
        }
    }

    /**
     * The plan of {@code a}'s stage, now the caller's: waits for its build when it is in flight, builds it here when it
     * was not started (inactive, or its thread not yet running) or not worth building ahead; throws the build's
     * failure as it was thrown.
     */
    <S> Built<S> take(Ahead<S> a) {
        long t0 = System.nanoTime();
        S spec;
        ExecutionPlan plan;
        long aheadNanos = 0;
        synchronized (this) {
            if (closed || !started.contains(a)) throw new IllegalStateException("the plan of '" + a.stage + "' is not this run's to take");
            if (a.state == State.TAKEN || a.state == State.DROPPED) throw new IllegalStateException("the plan of '" + a.stage + "' was taken");
            awaitWhile(() -> a.state == State.BUILDING);
            if (a.state == State.FAILED && !(a.failure instanceof MemoryExhaustedException)) {
                a.state = State.DROPPED;
                throw rethrown(a.failure);
            }
            if (a.state == State.FAILED) {   // built again below, now that the earlier stages' memory is gone
                LOG.log(System.Logger.Level.DEBUG, "the plan of '" + a.stage + "' had no memory ahead of its stage; built now", a.failure);
                a.failure = null;
                a.state = State.QUEUED;
            }
            boolean here = a.state == State.QUEUED;
            a.state = State.TAKEN;   // from here the caller owns what there is (a QUEUED build's thread finds it taken)
            spec = a.spec;   // null unless built ahead (a build out of memory leaves its graph)
            plan = here ? null : a.plan;
            if (plan != null) aheadNanos = a.busyNanos;
        }
        if (plan == null) {   // built here, on the caller's thread, as without building ahead
            try {
                if (spec == null) spec = a.specs.get();
                plan = backend.compile(a.graphOf.apply(spec));
            } catch (RuntimeException | Error e) {
                synchronized (this) {
                    a.state = State.DROPPED;
                }
                throw e;
            }
        }
        long waited = System.nanoTime() - t0;
        if (active) times.record(a.stage, aheadNanos != 0, aheadNanos != 0 ? aheadNanos : waited, waited);
        return new Built<>(spec, plan);
    }

    /** Waits, holding this monitor, while {@code building}; an interrupt is kept for later (each plan must get an owner). */
    private void awaitWhile(java.util.function.BooleanSupplier building) {
        boolean interrupted = false;
        while (building.getAsBoolean()) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static RuntimeException rethrown(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);   // a spec or compile declares no checked exception
    }

    /**
     * Gives back what the backend keeps of {@code graph}'s constants (a stage this run has finished and will not run
     * again), when plans are built ahead: its room then serves a plan built ahead ({@link #fitsReleased}).
     */
    void release(ImmutableTaskGraph graph) {
        if (active) released.addAndGet(backend.releaseConstants(graph));
    }

    /**
     * Whether {@code graph}'s estimated device memory ({@link #estimatedBytes}) fits in what this run released: a plan
     * that is not the run's largest (the decoder's beside the UNet's) is built ahead only then, so that the device's
     * peak does not rise.
     */
    boolean fitsReleased(ImmutableTaskGraph graph) {
        return estimatedBytes(graph) <= released.get();
    }

    /** Bytes released so far ({@link #release}). */
    long releasedBytes() { return released.get(); }

    /**
     * A backend-neutral estimate of a plan's device memory: the planned intermediates of the graph in each value's
     * own dtype ({@link MemoryPlanner}) plus its constants. The CUDA backend's fusions only drop buffers; it stores
     * floating weights in the activation dtype, never wider than the checkpoint's for the pipelines' precisions.
     */
    static long estimatedBytes(ImmutableTaskGraph graph) {
        long constants = 0;
        Set<Integer> seen = new HashSet<>();
        for (Value v : graph.values()) {
            Value root = v.root();
            if (root.kind() == Value.Kind.CONSTANT && seen.add(root.id())) constants += root.byteSize();
        }
        return MemoryPlanner.plan(graph).peakBytes() + constants;
    }

    /**
     * Cancels the builds not started, waits for those in flight and closes every plan nobody took. Never throws for a
     * build: its failure was not needed, or another error is already on its way to the caller (logged).
     */
    @Override
    public void close() {
        List<Ahead<?>> untaken = new ArrayList<>();
        synchronized (this) {
            if (closed) return;
            closed = true;
            for (Ahead<?> a : started) if (a.state == State.QUEUED) a.state = State.DROPPED;
            awaitWhile(() -> started.stream().anyMatch(a -> a.state == State.BUILDING));
            for (Ahead<?> a : started) {
                if (a.state == State.READY || a.state == State.FAILED) untaken.add(a);
            }
        }
        for (Ahead<?> a : untaken) {
            synchronized (this) {
                a.state = State.DROPPED;
            }
            if (a.failure != null) {
                LOG.log(System.Logger.Level.DEBUG, "the plan of '" + a.stage + "' failed while built ahead and was not needed", a.failure);
            } else if (a.plan != null) {
                try {
                    a.plan.close();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "closing the unused plan of '" + a.stage + "': " + e.getMessage(), e);
                }
            }
        }
    }
}
