package dev.i2vgen.backend.tornado;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.PlanChecks;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlan;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * A frozen graph on TornadoVM: one {@link TornadoExecutionPlan}, built once and reused for every run. Intermediates
 * (and the inputs' slots) live in one fp32 arena placed by the {@link MemoryPlanner}; weights in arrays of their own,
 * widened to fp32 on the host; values declared F16/BF16 are rounded to that precision after the task that writes
 * them (as the JVM backend stores them). The tasks are split by layer scope ({@link LayerScopes}) into TornadoVM task graphs:
 * the first copies the inputs (transferred every run) into the arena, each later one transfers its weights and
 * parameters once ({@code FIRST_EXECUTION}) and takes the arena from the graph before it on the device
 * ({@code consumeFromDevice}), leaving it there for the next ({@code persistOnDevice}). A run executes the graphs in
 * order; {@link #read} copies one output's range of the arena to the host.
 * <p>Differences from the other backends: {@link #bind} keeps the value on the host and it is transferred with the
 * inputs on every run, and {@link #copy} goes through the host (TornadoVM plans cannot pick a source at run time).
 */
final class TornadoGraphPlan implements ExecutionPlan {
    private static final AtomicLong SERIAL = new AtomicLong();

    private final ImmutableTaskGraph graph;
    private final PlanChecks checks;
    private final MemoryPlan memory;
    private final FloatArray arena;
    private final Map<Integer, FloatArray> constants = new HashMap<>();
    private final Map<Integer, FloatArray> staging = new HashMap<>();   // by input id: this run's (or the bound) value
    private final boolean[] bound;
    private final List<String> graphNames = new ArrayList<>();
    private final TornadoExecutionPlan plan;
    private final int taskCount;
    private TornadoExecutionResult last;
    private boolean ran;
    private boolean closed;

    TornadoGraphPlan(TornadoBackend backend, ImmutableTaskGraph graph) {
        this.graph = graph;
        this.checks = new PlanChecks(graph);
        this.memory = MemoryPlanner.plan(graph, v -> v.numel() * 4);
        this.bound = new boolean[graph.values().size()];
        long arenaFloats = memory.peakBytes() / 4;
        this.arena = new FloatArray(TaskLowering.checkedInt(Math.max(1, arenaFloats), "the activation arena of graph '" + graph.name() + "' (floats)"));
        for (Value v : graph.values()) {
            if (v.aliasOf() != null) continue;
            if (v.kind() == Value.Kind.CONSTANT) constants.put(v.id(), widened(v));
        }
        for (Value in : graph.inputs().values()) staging.put(in.id(), new FloatArray(TaskLowering.checkedInt(Math.max(1, in.numel()), "input " + in)));

        String prefix = "i2vgen" + SERIAL.incrementAndGet() + "_";
        GridScheduler grids = new GridScheduler();
        List<TaskGraph> graphs = new ArrayList<>();
        if (!graph.inputs().isEmpty()) graphs.add(inputGraph(prefix + "inputs", grids));
        TaskLowering lowering = new TaskLowering(this::slot);
        int tasks = 0;
        for (List<Task> group : LayerScopes.split(graph.tasks())) {
            List<KernelLaunch> launches = new ArrayList<>();
            for (Task t : group) {
                try {
                    launches.addAll(lowering.lower(t));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("TornadoVM backend cannot compile task " + t.index() + " " + t.op().name()
                            + (t.label().isEmpty() ? "" : " at " + t.label()) + " of graph " + graph.name() + ": " + e.getMessage(), e);
                }
            }
            String scope = LayerScopes.scopeOf(group.getFirst().label()).replaceAll("[^A-Za-z0-9]", "_");
            for (List<KernelLaunch> part : LayerScopes.withinNodeBudget(launches)) {
                String name = prefix + graphs.size() + "_" + scope;
                graphs.add(layerGraph(name, graphs.isEmpty() ? null : graphNames.getLast(), part, grids));
                tasks += part.size();
            }
        }
        this.taskCount = tasks;
        if (graphs.isEmpty()) {
            this.plan = null;
            return;
        }
        TornadoExecutionPlan p = new TornadoExecutionPlan(graphs.stream().map(TaskGraph::snapshot).toArray(uk.ac.manchester.tornado.api.ImmutableTaskGraph[]::new));
        p.withGridScheduler(grids);
        p.withDevice(backend.device());
        // accurate math: no -cl-fast-relaxed-math (its NaN/Inf assumptions and approximations) nor -cl-mad-enable
        p.withCompilerFlags(TornadoVMBackendType.OPENCL, TornadoBackend.OPENCL_FLAGS);
        this.plan = p;
    }

    private static FloatArray widened(Value v) {
        Tensor host = v.constant();
        Tensor f32 = host.dtype() == DType.F32 ? host.contiguous() : host.to(DType.F32);
        FloatArray a = new FloatArray(TaskLowering.checkedInt(Math.max(1, v.numel()), "weight " + v));
        MemorySegment.copy(f32.contiguousSegment(), 0, a.getSegment(), 0, v.numel() * 4);
        return a;
    }

    private TensorSlot slot(Value v) {
        Value r = v.root();
        if (r.kind() == Value.Kind.CONSTANT) return new TensorSlot(constants.get(r.id()), 0);
        long bytes = memory.offset(r);
        if (bytes % 4 != 0) throw new IllegalStateException("planned offset " + bytes + " of " + v + " is not a whole float");
        return new TensorSlot(arena, TaskLowering.checkedInt(bytes / 4, "arena offset of " + v));
    }

    /** Transfers the staged inputs (every run) and copies each into its planned slot of the arena. */
    private TaskGraph inputGraph(String name, GridScheduler grids) {
        TaskGraph g = new TaskGraph(name).transferToDevice(DataTransferMode.FIRST_EXECUTION, arena);
        g.transferToDevice(DataTransferMode.EVERY_EXECUTION, staging.values().toArray());
        List<KernelLaunch> copies = new ArrayList<>();
        for (Value in : graph.inputs().values()) {
            copies.add(TaskLowering.copy(staging.get(in.id()), slot(in), TaskLowering.checkedInt(in.numel(), "input " + in)));
        }
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, copies.stream().flatMap(l -> l.deviceData().stream()).toArray());
        addLaunches(g, name, copies, grids);
        graphNames.add(name);
        return g.persistOnDevice(arena);
    }

    /** A layer scope's tasks: the arena from the previous graph (or allocated here, for the first), weights once. */
    private TaskGraph layerGraph(String name, String previous, List<KernelLaunch> launches, GridScheduler grids) {
        TaskGraph g = new TaskGraph(name);
        if (previous == null) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, arena);
        else g.consumeFromDevice(previous, arena);
        Set<Object> once = Collections.newSetFromMap(new IdentityHashMap<>());
        for (KernelLaunch l : launches) for (Object o : l.deviceData()) if (o != arena) once.add(o);
        if (!once.isEmpty()) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, once.toArray());
        addLaunches(g, name, launches, grids);
        graphNames.add(name);
        return g.persistOnDevice(arena);
    }

    private static void addLaunches(TaskGraph g, String graphName, List<KernelLaunch> launches, GridScheduler grids) {
        for (int i = 0; i < launches.size(); i++) {
            KernelLaunch l = launches.get(i);
            String id = "t" + i + "_" + l.kernel();
            l.adder().addTo(g, id);
            grids.addWorkerGrid(graphName + "." + id, l.grid());
        }
    }

    // ---- ExecutionPlan ----

    @Override public ImmutableTaskGraph graph() { return graph; }

    @Override
    public void execute(Map<Value, Tensor> inputs) {
        ensureOpen();
        checks.checkRunInputs(inputs, id -> bound[id]);
        for (Value in : graph.inputs().values()) {
            Tensor t = inputs.get(in);
            if (t != null) stage(in, t);
        }
        if (plan != null) {
            try {
                for (int i = 0; i < graphNames.size(); i++) last = plan.withGraph(i).execute();
            } catch (RuntimeException e) {
                throw new IllegalStateException("TornadoVM failed running graph '" + graph.name() + "': " + e.getMessage(), e);
            }
        }
        ran = true;
    }

    @Override
    public void bind(Value input, Tensor host) {
        ensureOpen();
        checks.checkInput(input);
        checks.checkHostTensor(input, host);
        stage(input, host);
        bound[input.id()] = true;
    }

    @Override
    public void copy(Value output, Value input) {
        ensureOpen();
        checks.checkInput(input);
        checks.checkReadable(output);
        checks.checkCopy(output, input, ran);
        stage(input, read(output));
        bound[input.id()] = true;
    }

    /** The host tensor into the input's staging array as fp32, rounded first to the input's precision when that is F16/BF16. */
    private void stage(Value in, Tensor t) {
        Tensor c = t;
        if ((in.dtype() == DType.F16 || in.dtype() == DType.BF16) && t.dtype() != in.dtype()) c = c.to(in.dtype());
        Tensor f32 = c.dtype() == DType.F32 ? c.contiguous() : c.to(DType.F32);
        MemorySegment.copy(f32.contiguousSegment(), 0, staging.get(in.id()).getSegment(), 0, in.numel() * 4);
    }

    @Override
    public Tensor read(Value output) {
        ensureOpen();
        checks.checkReadable(output);
        Tensor out = Tensor.allocate(DType.F32, output.shape());
        TensorSlot s = slot(output);
        long n = output.numel();
        if (s.array() == arena && n > 0 && last != null) {
            last.transferToHost(new DataRange(arena).withOffset(s.offset()).withSize(n));
        }
        MemorySegment.copy(s.array().getSegment(), (long) s.offset() * 4, out.contiguousSegment(), 0, n * 4);
        return out;
    }

    @Override public long plannedPeakBytes() { return memory.peakBytes(); }

    /** TornadoVM task graphs per run (the input transfer and one per layer scope). */
    int graphCount() { return graphNames.size(); }

    /** Kernel tasks per run. */
    int taskCount() { return taskCount; }

    private void ensureOpen() { checks.checkOpen(closed); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (plan != null) {
            try {
                plan.freeDeviceMemory();
                plan.close();
            } catch (Exception ignored) {
                // a failed run already reported its error; the device memory goes with the TornadoVM context
            }
        }
    }
}
