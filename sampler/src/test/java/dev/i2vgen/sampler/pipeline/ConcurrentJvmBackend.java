package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.PendingRead;
import dev.i2vgen.backend.PlanLink;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The JVM backend as a backend that says it compiles beside running plans (its compile is: per-plan state and a
 * concurrent cache of widened weights), so that the pipelines build plans ahead on it; it records every compile (the
 * graph and the thread), counts the plans it opened and closed, answers {@code released} bytes for each
 * {@link #releaseConstants} call, and throws {@link #failing}'s error for the graphs it names.
 */
final class ConcurrentJvmBackend implements Backend {
    /** One compile: the graph's name, its fingerprint ({@link #fingerprint}) and the thread that compiled it. */
    /** A compile: the graph, its structure, the thread it ran on and that thread's {@link dev.i2vgen.backend.BuildUrgency}. */
    record Compile(String graph, String fingerprint, String thread, int urgency) {}

    private final Backend jvm = Backends.create("jvm");
    private final long released;
    private final List<Compile> compiles = new ArrayList<>();   // guarded by itself
    final AtomicInteger opened = new AtomicInteger(), closed = new AtomicInteger();
    /** Called at the start of each compile, on the compiling thread (tests synchronise with builds ahead). */
    volatile Consumer<ImmutableTaskGraph> onCompile = g -> {};
    /** The error to throw for a graph (null: compile it). */
    volatile Function<ImmutableTaskGraph, RuntimeException> failing = g -> null;

    ConcurrentJvmBackend(long released) { this.released = released; }

    @Override public String name() { return "jvm"; }

    @Override public String deviceDescription() { return jvm.deviceDescription() + ", compiling concurrently (test)"; }

    @Override public boolean compilesConcurrently() { return true; }

    @Override public long releaseConstants(ImmutableTaskGraph graph) { return released; }

    @Override
    public ExecutionPlan compile(ImmutableTaskGraph graph) {
        onCompile.accept(graph);
        RuntimeException failure = failing.apply(graph);
        if (failure != null) throw failure;
        ExecutionPlan plan = new CountedPlan(jvm.compile(graph));
        synchronized (compiles) {
            compiles.add(new Compile(graph.name(), fingerprint(graph), Thread.currentThread().getName(), dev.i2vgen.backend.BuildUrgency.current()));
        }
        opened.incrementAndGet();
        return plan;
    }

    List<Compile> compiles() {
        synchronized (compiles) {
            return List.copyOf(compiles);
        }
    }

    void clearCompiles() {
        synchronized (compiles) {
            compiles.clear();
        }
    }

    /**
     * The graph's structure: its name, every task's op, label and output (shape, dtype), its inputs by id and the
     * constants' contents (hashed: some are made afresh by each build, e.g. a scheduler's coefficients).
     */
    static String fingerprint(ImmutableTaskGraph g) {
        StringBuilder sb = new StringBuilder(g.name()).append(' ').append(g.activation());
        for (Task t : g.tasks()) {
            sb.append('\n').append(t.index()).append(' ').append(t.op().name()).append(' ').append(t.label()).append(" -> ")
                    .append(describe(t.output()));
            for (Value in : t.inputs()) sb.append(" <- ").append(in == null ? "-" : describe(in));
        }
        g.inputs().forEach((name, v) -> sb.append("\ninput ").append(name).append(' ').append(describe(v)));
        g.outputs().forEach((name, v) -> sb.append("\noutput ").append(name).append(' ').append(describe(v)));
        return sb.toString();
    }

    private static String describe(Value v) {
        Value root = v.root();
        String where = root.kind() == Value.Kind.CONSTANT ? "#" + Arrays.hashCode(root.constant().toFloatArray()) : "";
        return v.id() + ":" + v.kind() + Arrays.toString(v.shape()) + v.dtype() + where;
    }

    @Override
    public void close() { jvm.close(); }

    /** Counts its close (once). */
    private final class CountedPlan implements ExecutionPlan {
        private final ExecutionPlan plan;
        private final AtomicBoolean done = new AtomicBoolean();

        CountedPlan(ExecutionPlan plan) { this.plan = plan; }

        @Override public ImmutableTaskGraph graph() { return plan.graph(); }

        @Override public void execute(Map<Value, Tensor> inputs) { plan.execute(inputs); }

        @Override public void bind(Value input, Tensor host) { plan.bind(input, host); }

        @Override public void copy(Value output, Value input) { plan.copy(output, input); }

        @Override public Tensor read(Value output) { return plan.read(output); }

        @Override public void submit(Map<Value, Tensor> inputs) { plan.submit(inputs); }

        @Override public PendingRead readAsync(Value output) { return plan.readAsync(output); }

        @Override public PlanLink linkTo(Value output, ExecutionPlan target, Value input) { return plan.linkTo(output, target, input); }

        @Override public long plannedPeakBytes() { return plan.plannedPeakBytes(); }

        @Override
        public void close() {
            if (done.compareAndSet(false, true)) closed.incrementAndGet();
            plan.close();
        }
    }
}
