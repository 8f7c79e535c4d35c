package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.PlanChecks;
import dev.i2vgen.backend.jvm.kernels.KernelBinder;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlan;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.HostMemory;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A graph compiled for the JVM: every value resolved to an F32 buffer (constants in place or widened
 * once per backend, inputs and intermediates in one planned arena), and every task bound to its kernel as a
 * ready-to-run closure, so {@link #execute} only copies inputs in and replays the closures.
 * Run one plan at a time: kernels already use every core, and the GEMM keeps per-thread scratch.
 */
final class JvmExecutionPlan implements ExecutionPlan {
    private final ImmutableTaskGraph graph;
    private final Arena arena = Arena.ofShared();
    private final MemoryPlan memoryPlan;
    private final MemorySegment[] buffers;   // by value id (views share their root's segment)
    private final List<Runnable> steps = new ArrayList<>();
    private final PlanChecks checks;
    private final MemorySegment[] bound;     // by input id: values kept across runs (bind / copy), F32 rounded to the input's dtype
    private boolean ran;
    private boolean closed;

    JvmExecutionPlan(ImmutableTaskGraph graph, WidenedConstants constants) {
        this.graph = graph;
        this.checks = new PlanChecks(graph);
        this.memoryPlan = MemoryPlanner.plan(graph, v -> v.numel() * 4);
        MemorySegment pool;
        try {
            pool = HostMemory.allocate(arena, Math.max(memoryPlan.peakBytes(), 64), MemoryPlanner.ALIGNMENT,
                    () -> "the intermediate buffers of graph '" + graph.name() + "'");
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        buffers = new MemorySegment[graph.values().size()];
        bound = new MemorySegment[graph.values().size()];
        for (Value v : graph.values()) {
            Value root = v.root();
            long bytes = v.numel() * 4;
            if (root.kind() == Value.Kind.CONSTANT) {
                if (buffers[root.id()] == null) buffers[root.id()] = constants.f32(root.constant());
                buffers[v.id()] = buffers[root.id()].asSlice(0, bytes);
            } else {
                buffers[v.id()] = pool.asSlice(memoryPlan.offset(v), bytes);
            }
        }
        KernelBinder binder = new KernelBinder(v -> buffers[v.id()]);
        for (Task t : graph.tasks()) {
            String where = "graph " + graph.name() + ", task " + t.index() + " (" + t.op().name()
                    + (t.label().isEmpty() ? "" : " at " + t.label()) + ")";
            Runnable kernel;
            try {
                kernel = binder.bind(t);
            } catch (RuntimeException e) {
                arena.close();
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
            DType dt = t.output().dtype();
            if (dt == DType.F16 || dt == DType.BF16) {
                MemorySegment out = buffers[t.output().id()];
                long n = t.output().numel();
                Runnable compute = kernel;
                kernel = () -> { compute.run(); HostTransfer.roundTo(dt, out, n); };
            }
            Runnable run = kernel;  // errors raised while running name the task
            steps.add(() -> {
                try {
                    run.run();
                } catch (IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException e) {
                    throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
                }
            });
        }
    }

    public ImmutableTaskGraph graph() { return graph; }

    public void execute(Map<Value, Tensor> inputs) {
        checkOpen();
        for (Value given : inputs.keySet()) checks.checkInput(given);
        for (Value in : graph.inputs().values()) {
            Tensor t = inputs.get(in);
            if (t == null && bound[in.id()] == null) {
                throw new IllegalArgumentException("graph " + graph.name() + ": input '" + in.name() + "' " + in
                        + " was neither given nor bound (given: " + inputs.keySet() + ")");
            }
            if (t != null) checks.checkHostTensor(in, t);
        }
        for (Value in : graph.inputs().values()) {
            MemorySegment dst = buffers[in.id()];
            Tensor t = inputs.get(in);
            if (t == null) {
                // the planned slot may be reused by intermediates after the input's last use: refill it every run
                MemorySegment.copy(bound[in.id()], 0, dst, 0, in.numel() * 4);
                continue;
            }
            HostTransfer.toF32(t, dst);
            roundToStorage(in, dst);
        }
        for (Runnable step : steps) step.run();
        ran = true;
    }

    public void bind(Value input, Tensor host) {
        checkOpen();
        checks.checkInput(input);
        checks.checkHostTensor(input, host);
        MemorySegment dst = boundBuffer(input);
        HostTransfer.toF32(host, dst);
        roundToStorage(input, dst);
    }

    public void copy(Value output, Value input) {
        checkOpen();
        checks.checkInput(input);
        checks.checkReadable(output);
        checks.checkCopy(output, input, ran);
        MemorySegment dst = boundBuffer(input);
        MemorySegment.copy(buffers[output.id()], 0, dst, 0, input.numel() * 4);
        roundToStorage(input, dst);
    }

    /** An input declared F16/BF16 holds values of that precision, whatever precision the host gave. */
    private static void roundToStorage(Value input, MemorySegment f32) {
        if (input.dtype() == DType.F16 || input.dtype() == DType.BF16) HostTransfer.roundTo(input.dtype(), f32, input.numel());
    }

    private MemorySegment boundBuffer(Value input) {
        if (bound[input.id()] == null) bound[input.id()] = arena.allocate(input.numel() * 4L, 64);
        return bound[input.id()];
    }

    public Tensor read(Value output) {
        checkOpen();
        checks.checkReadable(output);
        Tensor out = Tensor.allocate(DType.F32, output.shape());
        MemorySegment.copy(buffers[output.id()], 0, out.contiguousSegment(), 0, output.numel() * 4);
        return out;
    }

    public long plannedPeakBytes() { return memoryPlan.peakBytes(); }

    /** The buffer plan (for tests and profiling). */
    MemoryPlan memoryPlan() { return memoryPlan; }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("execution plan for graph " + graph.name() + " is closed");
    }

    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
