package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.PendingRead;
import dev.i2vgen.backend.PlanLink;
import dev.i2vgen.backend.PlanChecks;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.MemoryPlan;
import dev.i2vgen.graph.MemoryPlanner;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.MemoryExhaustedException;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * A graph compiled for the CUDA backend. Storage: floating weights are converted once to the
 * activation dtype and uploaded; inputs and intermediates live in one device allocation placed by the
 * {@link MemoryPlanner}; each value keeps its declared dtype. Every task was lowered to prepared kernel
 * launches and cuBLASLt calls ({@link TaskLowering}); from the second run on they are replayed as one
 * CUDA graph (disable with {@code -Di2vgen.cuda.graphs=false}).
 * <p>Threads: a plan may be built while other plans of the backend run on another thread (plans built ahead,
 * {@link CudaBackend#compilesConcurrently}). What the build enqueues on the device goes to a stream of its own
 * ({@link PlanBuildWork}), finished before the constructor returns, except the timed trials of the algorithm
 * searches, which run on the backend's stream under {@link CudaBackend#streamLock} (they share its workspaces and
 * would time another thread's work). Running a plan holds that lock while it enqueues and waits, so a trial never
 * interleaves with a run, nor falls inside a graph capture.
 */
public final class CudaExecutionPlan implements ExecutionPlan {
    private static final Logger LOG = Logger.getLogger(CudaExecutionPlan.class.getName());

    /** One enqueued piece of work. */
    interface Step { void run(MemorySegment stream); }

    private final CudaBackend backend;
    private final CudaDriver driver;
    private final ImmutableTaskGraph graph;
    private final PlanChecks checks;
    private final MemoryPlan memory;
    private final long arena;                     // device base of planned buffers
    /** By constant id and layout tag: the resident device copies this plan holds (uploaded on first use). */
    private final Map<String, ResidentWeights.Entry> constants = new HashMap<>();
    private final List<Long> extraAllocations = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();
    final Arena hostArena = Arena.ofShared();     // kernel argument blocks, live as long as the plan
    private final List<Step> steps = new ArrayList<>();
    private final List<String> stepNames = new ArrayList<>();
    /** The task each step was lowered from (op and output shape), for the detailed profile. */
    private final List<String> stepTasks = new ArrayList<>();
    private String loweringTask = "";
    private final boolean useGraphs = !"false".equals(System.getProperty("i2vgen.cuda.graphs"));
    private MemorySegment[] cudaGraph;            // {graph, exec} once captured
    /** What this plan's construction enqueues (uploads, repacks, copies) on a stream of its own; made first. */
    private PlanBuildWork build;
    private final long[] bound;                   // by input id: device copies kept across runs (bind / copy), input dtype
    private final long[] boundStaging;            // by input id: F32 upload buffers of bound inputs with a narrower dtype
    private final Map<String, KernelLaunch> copies = new HashMap<>();
    /** Outputs captured by readAsync and not yet copied to the host. */
    private final CudaPendingReads pendingReads;
    private int runs;
    private boolean closed;
    /** Which activations are stored channels-last (the VAE decoder's; fixed before memory planning). */
    final ChannelsLastPlan channelsLast;
    /** Whether conv/permute + Add pairs fuse in this plan (ResidualFusion#transposesFuse, fixed before memory planning). */
    final boolean transposesFuse;
    /** The channels-last assignment whose conv + Add pairs fuse (ResidualFusion#channelsLastPairs), or null. */
    final ChannelsLastPlan channelsLastPairs;
    /** GroupNorm → Permute pairs lowered as one pass (fixed before memory planning). */
    final NormTransposeFusion normTransposes;
    /** Attention projections computed as one GEMM per attention (fixed before memory planning; the lowerings share it). */
    final QkvFusion projections;
    /** Linear → Geglu pairs computed by one kernel, the Linear's output never stored (fixed before memory planning). */
    final GegluFusion geglu;

    CudaExecutionPlan(CudaBackend backend, ImmutableTaskGraph graph) {
        this.backend = backend;
        this.driver = backend.driver;
        this.graph = graph;
        this.checks = new PlanChecks(graph);
        this.pendingReads = new CudaPendingReads(this, backend);
        // fused Linear/Conv2d + Add pairs write the Add's result at the producer: the planner must know (ResidualFusion)
        // and GroupNorm → Permute pairs write the permute's output at the norm (NormTransposeFusion)
        this.channelsLast = ChannelsLastPlan.planOrNone(graph, activation(), () -> backend.cudnn().isPresent());
        this.transposesFuse = ResidualFusion.transposesFuse(activation(), channelsLast);
        this.channelsLastPairs = ResidualFusion.channelsLastPairs(channelsLast);
        boolean residuals = ResidualFusion.enabledByProperty();
        this.normTransposes = NormTransposeFusion.of(graph, transposesFuse, ResidualFusion.structuralProducers(graph, residuals, transposesFuse));
        this.projections = QkvFusion.plan(graph, QkvFusion.enabledByProperty());
        // and a Linear fused with its Geglu writes the Geglu's output (GegluFusion): its own [M, 2I] output gets no memory
        this.geglu = GegluFusion.of(graph, GegluFusion.enabledByProperty() && Sm90GegluGemm.supported(backend, activation()));
        this.memory = MemoryPlanner.plan(geglu.planningGraph(normTransposes.planningGraph(
                        ResidualFusion.planningGraph(projections, graph, residuals, transposesFuse, channelsLastPairs))),
                v -> v.numel() * storageType(v).byteSize());
        this.bound = new long[graph.values().size()];
        this.boundStaging = new long[graph.values().size()];
        try {
            build = new PlanBuildWork(backend, graph.name());
            try {
                this.arena = backend.residentWeights.mallocEvicting(memory.peakBytes());
            } catch (MemoryExhaustedException e) {
                throw e.allocating("the intermediate buffers of graph '" + graph.name() + "'");
            }
            TaskLowering lowering = new TaskLowering(this);
            for (Task t : graph.tasks()) {
                try {
                    loweringTask = t.op().name() + " " + Arrays.toString(t.output().shape());
                    lowering.lower(t);
                } catch (MemoryExhaustedException e) {   // weights, workspaces: said as such, not as a compile failure
                    throw e.allocating("the weights and workspaces of task " + t.index() + " " + t.op().name()
                            + (t.label().isEmpty() ? "" : " at " + t.label()) + " of graph '" + graph.name() + "'");
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("CUDA backend cannot compile task " + t.index() + " " + t.op().name()
                            + (t.label().isEmpty() ? "" : " at " + t.label()) + " of graph " + graph.name() + ": " + e.getMessage(), e);
                }
            }
            build.complete();   // every run comes after the weights uploaded in the background and the build's work
        } catch (RuntimeException e) {
            if (build != null) abandonBuild();
            close();
            throw e;
        }
    }

    /** A construction that failed part-way: its enqueued work ends before its buffers go. */
    private void abandonBuild() {
        try {
            build.abandon();
        } catch (CudaException e) {
            LOG.warning("build stream error while closing " + graph.name() + ": " + e.getMessage());
        }
    }

    // ---- storage ----

    DType activation() { return graph.activation(); }

    /** The dtype a value is stored in on the device: floating weights in the activation dtype, everything else as declared. */
    DType storageType(Value v) {
        Value r = v.root();
        if (r.kind() == Value.Kind.CONSTANT && r.dtype().isFloating()) return graph.activation();
        return r.dtype();
    }

    /** The device address of a value's data (views share their root's buffer). */
    long pointer(Value v) {
        Value r = v.root();
        if (r.kind() == Value.Kind.CONSTANT) return constantPointer(r, "", r.numel() * storageType(r).byteSize(), this::uploadInBackground);
        return arena + memory.offset(r);
    }

    long allocateExtra(long bytes) {
        long p = backend.residentWeights.mallocEvicting(bytes);
        extraAllocations.add(p);
        return p;
    }

    void addStep(Step s) { addStep("step", s); }

    /** A step with the name its time is reported under by {@link #profile()} (kernel name, "gemm linear", ...). */
    void addStep(String name, Step s) {
        steps.add(s);
        stepNames.add(name);
        stepTasks.add(loweringTask);
    }

    /**
     * Runs every step once on its own between two events (no CUDA graph) and returns the milliseconds spent per
     * step name and the number of such steps, largest total first: where the time of a run goes.
     */
    public java.util.List<java.util.Map.Entry<String, double[]>> profile() { return profile(false); }

    /** As {@link #profile()}; {@code byTask} splits each step name by the op and output shape it was lowered from. */
    public java.util.List<java.util.Map.Entry<String, double[]>> profile(boolean byTask) {
        ensureOpen();
        return backend.onStream(() -> profileLocked(byTask));
    }

    private java.util.List<java.util.Map.Entry<String, double[]>> profileLocked(boolean byTask) {
        pendingReads.detachAll();
        java.util.Map<String, double[]> byName = new java.util.HashMap<>();
        MemorySegment start = driver.createEvent(), end = driver.createEvent();
        try {
            for (int i = 0; i < steps.size(); i++) {
                driver.record(start, backend.stream);
                steps.get(i).run(backend.stream);
                driver.record(end, backend.stream);
                driver.synchronize(backend.stream);
                String key = byTask ? stepNames.get(i) + " | " + stepTasks.get(i) : stepNames.get(i);
                double[] acc = byName.computeIfAbsent(key, k -> new double[2]);
                acc[0] += driver.elapsedMillis(start, end);
                acc[1]++;
            }
        } finally {
            driver.destroyEvent(start);
            driver.destroyEvent(end);
        }
        java.util.List<java.util.Map.Entry<String, double[]>> list = new ArrayList<>(byName.entrySet());
        list.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
        return list;
    }

    void addResource(AutoCloseable r) { resources.add(r); }

    CudaBackend backend() { return backend; }

    /**
     * The device copy of constant {@code root} in {@code layout} ("" = its host layout in the storage dtype), shared
     * with other plans of the backend through {@link ResidentWeights}; {@code init} fills a fresh copy on a miss: by
     * the upload threads ({@link #uploadInBackground}, ordered by the fences), or on the build stream, then finished
     * ({@link PlanBuildWork#finish}) before it returns, since another thread's plan may take the copy next.
     */
    long constantPointer(Value root, String layout, long bytes, java.util.function.BiConsumer<Value, Long> init) {
        String key = root.id() + "/" + layout;
        ResidentWeights.Entry e = constants.get(key);
        if (e == null) {
            boolean[] filledHere = {false};
            e = backend.residentWeights.acquire(root.constant(), storageType(root), layout, bytes, p -> {
                filledHere[0] = true;
                init.accept(root, p);
            });
            constants.put(key, e);
            if (!filledHere[0]) build().takesResident(e);
        }
        return e.pointer;
    }

    /** The construction's device work: during the constructor (lowerings), and the uploads of constants read later. */
    PlanBuildWork build() { return build; }

    /** Uploads a constant in the storage dtype (converted on the host if its dtype differs). */
    void upload(Value root, long pointer) { build().upload(root.constant(), storageType(root), pointer); }

    /** As {@link #upload}, on the backend's upload threads where it has them ({@link PlanBuildWork#uploadInBackground}). */
    void uploadInBackground(Value root, long pointer) { build().uploadInBackground(root.constant(), storageType(root), pointer); }

    // ---- ExecutionPlan ----

    @Override public ImmutableTaskGraph graph() { return graph; }

    @Override
    public void execute(Map<Value, Tensor> inputs) { run(inputs, true); }

    /** As execute, without waiting for the run: the next call that needs its results waits (read, readAsync's into). */
    @Override
    public void submit(Map<Value, Tensor> inputs) { run(inputs, false); }

    private void run(Map<Value, Tensor> inputs, boolean wait) { backend.onStream(() -> runLocked(inputs, wait)); }

    private void runLocked(Map<Value, Tensor> inputs, boolean wait) {
        ensureOpen();
        for (Value given : inputs.keySet()) checks.checkInput(given);
        for (Value in : graph.inputs().values()) {
            Tensor t = inputs.get(in);
            checks.checkGivenOrBound(in, t, bound[in.id()] != 0);
            if (t != null) checkShape(in, t);
        }
        pendingReads.detachAll();   // outputs captured by readAsync leave the arena before this run overwrites it
        for (Value in : graph.inputs().values()) {
            Tensor t = inputs.get(in);
            if (t == null) {
                // the planned slot may be reused by intermediates after the input's last use: refill it every run
                deviceCopy(bound[in.id()], in.dtype(), pointer(in), in.dtype(), in.numel());
                continue;
            }
            Tensor c = t.dtype() == in.dtype() ? t.contiguous() : t.to(in.dtype());
            driver.copyToDevice(pointer(in), c.contiguousSegment(), c.byteSize(), backend.stream);
            // pageable host memory may be a temporary: execute waits for the copy. submit does not: a copy from
            // pageable memory returns only once the driver has taken the bytes (CUDA's "API synchronization
            // behavior"), and waiting here would also wait for the previous run, stalling a submit loop
            if (wait) driver.synchronize(backend.stream);
        }
        enqueueTasks();
        if (wait) driver.synchronize(backend.stream);
        runs++;
        if (runs == Integer.getInteger("i2vgen.cuda.profile", -1)) logProfile();
    }

    @Override
    public void bind(Value input, Tensor host) { backend.onStream(() -> bindLocked(input, host)); }

    private void bindLocked(Value input, Tensor host) {
        ensureOpen();
        checks.checkInput(input);
        checkShape(input, host);
        checks.checkHostDtype(input, host);
        Tensor c = host.contiguous();
        long target = boundBuffer(input);
        if (c.dtype() == input.dtype()) {
            driver.copyToDevice(target, c.contiguousSegment(), c.byteSize(), backend.stream);
        } else {
            // F32 on the wire, converted by a kernel: no per-element work on the host
            if (boundStaging[input.id()] == 0) boundStaging[input.id()] = allocateExtra(input.numel() * 4L);
            driver.copyToDevice(boundStaging[input.id()], c.contiguousSegment(), c.byteSize(), backend.stream);
            deviceCopy(boundStaging[input.id()], DType.F32, target, input.dtype(), input.numel());
        }
        driver.synchronize(backend.stream);   // the host tensor may be a temporary
    }

    @Override
    public void copy(Value output, Value input) {
        ensureOpen();
        checks.checkInput(input);
        if (!graph.outputs().containsValue(output)) {
            throw new IllegalArgumentException("graph " + graph.name() + ": " + output + " is not a graph output; its buffer is reused");
        }
        checks.checkCopy(output, input, runs != 0);
        backend.onStream(() -> {
            // enqueued on the plan's stream, so it lands before the next run and after the last one
            deviceCopy(pointer(output), storageType(output), boundBuffer(input), input.dtype(), input.numel());
        });
    }

    /**
     * A link to a plan of any backend: device to device where the target is a CUDA plan ({@link CudaPlanLink}: the same
     * stream, another stream of the same context, a peer copy, or pinned host staging), else through the host.
     */
    @Override
    public PlanLink linkTo(Value output, ExecutionPlan target, Value input) {
        ensureOpen();
        if (target instanceof CudaExecutionPlan cuda) return CudaPlanLink.open(this, output, cuda, input, CudaPlanLink.Route.choose(backend, cuda.backend));
        return ExecutionPlan.super.linkTo(output, target, input);
    }

    /** Where {@code output} of the last run lies, for a link (checked: a graph output, after a run). */
    long linkSource(Value output, Value input) {
        ensureOpen();
        checks.checkCopy(output, input, runs != 0);
        return pointer(output);
    }

    /** The binding of {@code input} a link writes (allocated on first use: the input then counts as bound). */
    long linkTarget(Value input) {
        ensureOpen();
        return boundBuffer(input);
    }

    private long boundBuffer(Value input) {
        if (bound[input.id()] == 0) bound[input.id()] = allocateExtra(input.numel() * input.dtype().byteSize());
        return bound[input.id()];
    }

    /** Enqueues a device-side copy with dtype conversion (the {@code convert} kernel); launches are cached per pair. */
    void deviceCopy(long src, DType from, long dst, DType to, long n) {
        String key = src + ":" + from + ">" + dst + ":" + to + "#" + n;
        KernelLaunch l = copies.get(key);
        if (l == null) {
            MemorySegment f = backend.kernels.function("elementwise", "convert", activation());
            int grid = (int) Math.max(1, Math.min((n + 255) / 256, 65536L * 4));
            l = KernelLaunch.of("convert", f, grid, 1, 256, 0, new KernelLaunch.Args(hostArena)
                    .ptr(src).i32(TaskLowering.dtypeCode(from)).ptr(dst).i32(TaskLowering.dtypeCode(to)).i64(n));
            copies.put(key, l);
        }
        l.run(driver, backend.stream);
    }

    private void checkShape(Value in, Tensor t) {
        if (!Arrays.equals(t.shape(), in.shape())) {
            throw new IllegalArgumentException("graph " + graph.name() + ": input '" + in.name() + "' must have shape "
                    + Arrays.toString(in.shape()) + ", got " + Arrays.toString(t.shape()));
        }
    }

    /** With -Di2vgen.cuda.profile=N: after the N-th run, the time per step name on standard error (benchmarks). */
    private void logProfile() {
        // -Di2vgen.cuda.profileDetail=true: rows per step name, op and output shape (where a kernel's time comes from)
        boolean detail = Boolean.getBoolean("i2vgen.cuda.profileDetail");
        var rows = profile(detail);
        double total = rows.stream().mapToDouble(e -> e.getValue()[0]).sum();
        StringBuilder sb = new StringBuilder(String.format("PROFILE %s: %d steps, %.3f ms with a sync per step%n", graph.name(), steps.size(), total));
        for (var e : rows.subList(0, Math.min(detail ? 120 : 25, rows.size())))
            sb.append(String.format("PROFILE %-40s %6d x %10.3f ms %5.1f %%%n", e.getKey(), (long) e.getValue()[1], e.getValue()[0], 100 * e.getValue()[0] / total));
        System.err.print(sb);
    }

    /** Enqueues all tasks (no input copies, no synchronisation): replays the CUDA graph when one was captured. */
    public void enqueueTasks() { backend.onStream(this::enqueueTasksLocked); }

    private void enqueueTasksLocked() {
        pendingReads.detachAll();   // nothing to do unless readAsync captured an output still in the arena
        if (cudaGraph != null) {
            driver.launchGraph(cudaGraph[1], backend.stream);
            return;
        }
        if (useGraphs && runs >= 1) {
            try {
                driver.beginCapture(backend.stream);
                try {
                    for (Step s : steps) s.run(backend.stream);
                } catch (RuntimeException e) {
                    driver.abandonCapture(backend.stream);   // the stream leaves capture mode: the fallback below runs
                    throw e;
                }
                cudaGraph = driver.endCaptureAndInstantiate(backend.stream);
                driver.launchGraph(cudaGraph[1], backend.stream);
                return;
            } catch (CudaException e) {
                LOG.warning("CUDA graph capture failed for " + graph.name() + ", running launches one by one: " + e.getMessage());
                cudaGraph = null;
                runs = -1_000_000;   // do not try again
            }
        }
        for (Step s : steps) s.run(backend.stream);
    }

    /** Fills every planned buffer with a NaN pattern (tests: proves each output element is written). */
    public void poison() {
        backend.onStream(() -> {
            pendingReads.detachAll();
            driver.fill32(arena, 0x7fc07fc0, Math.max(1, memory.peakBytes() / 4), backend.stream);   // NaN as f32, f16 and bf16
            driver.synchronize(backend.stream);
        });
    }

    @Override
    public Tensor read(Value output) {
        ensureOpen();
        checks.checkReadable(output);   // as the other backends: only graph outputs keep their buffers
        DType type = storageType(output);
        Tensor host = Tensor.allocate(type, output.shape());
        backend.onStream(() -> {
            driver.copyToHost(host.contiguousSegment(), pointer(output), host.byteSize(), backend.stream);
            driver.synchronize(backend.stream);
        });
        return type == DType.F32 ? host : host.to(DType.F32);
    }

    @Override
    public PendingRead readAsync(Value output) {
        ensureOpen();
        checks.checkReadable(output);
        return backend.onStream(() -> pendingReads.start(output, pointer(output), storageType(output)));
    }

    @Override public long plannedPeakBytes() { return memory.peakBytes(); }

    /** Kernel launches and GEMM calls per run. */
    public int stepCount() { return steps.size(); }

    private void ensureOpen() { checks.checkOpen(closed); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        driver.setCurrent(backend.context);
        backend.onStream(() -> {   // its runs and any trial of its build are on the backend's stream
            try {
                driver.synchronize(backend.stream);
            } catch (CudaException e) {
                LOG.warning("stream error while closing " + graph.name() + ": " + e.getMessage());
            }
        });
        if (cudaGraph != null) driver.destroyGraph(cudaGraph[0], cudaGraph[1]);
        pendingReads.close();
        for (AutoCloseable r : resources) {
            try { r.close(); } catch (Exception e) { LOG.warning("closing " + r + ": " + e); }
        }
        for (long p : extraAllocations) driver.free(p);
        for (ResidentWeights.Entry e : constants.values()) backend.residentWeights.release(e);
        constants.clear();
        if (arena != 0) driver.free(arena);
        hostArena.close();
    }
}
