package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.ExecutionPlan;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph compiled for the OpenCL backend. Every value is fp32 on the device: constants in buffers of
 * their own (widened once at compile time), inputs and intermediates in one buffer placed by the
 * {@link MemoryPlanner} and passed to kernels as (buffer, element offset). Each task was lowered to
 * prepared launches ({@link OpenClTaskLowering}); a run enqueues them on the in-order queue and waits once.
 */
public final class OpenClExecutionPlan implements ExecutionPlan {
    /** A tensor on the device: a buffer and the element offset of the tensor in it. */
    record Ref(MemorySegment buffer, long offset) {}

    private final OpenClBackend backend;
    private final OpenCl cl;
    private final ImmutableTaskGraph graph;
    private final MemoryPlan memory;
    private final MemorySegment arena;
    private final Map<Integer, MemorySegment> constants = new HashMap<>();
    private final List<MemorySegment> buffers = new ArrayList<>();   // every buffer this plan owns
    private final List<OpenClLaunch> steps = new ArrayList<>();
    private final PlanChecks checks;
    private final MemorySegment[] bound;          // by input id: fp32 copies kept across runs (bind / copy)
    private final Map<Integer, OpenClLaunch> boundRounding = new HashMap<>();
    final Arena hostArena = Arena.ofShared();     // kernel arguments and launch sizes, live as long as the plan
    private boolean ran;
    private boolean closed;

    OpenClExecutionPlan(OpenClBackend backend, ImmutableTaskGraph graph) {
        this.backend = backend;
        this.cl = backend.cl;
        this.graph = graph;
        this.checks = new PlanChecks(graph);
        this.memory = MemoryPlanner.plan(graph, v -> v.numel() * 4);
        this.bound = new MemorySegment[graph.values().size()];
        try {
            String intermediates = "the intermediate buffers of graph '" + graph.name() + "'";
            if (memory.peakBytes() > backend.device.maxAllocBytes()) {
                throw MemoryExhaustedException.device(memory.peakBytes(), backend.device.name() + " allows at most "
                        + MemoryExhaustedException.bytes(backend.device.maxAllocBytes()) + " per buffer").allocating(intermediates);
            }
            try {
                this.arena = allocate(memory.peakBytes());
            } catch (MemoryExhaustedException e) {
                throw e.allocating(intermediates);
            }
            try {
                uploadConstants();
            } catch (MemoryExhaustedException e) {
                throw e.allocating("the weights of graph '" + graph.name() + "'");
            }
            OpenClTaskLowering lowering = new OpenClTaskLowering(this);
            for (Task t : graph.tasks()) {
                try {
                    lowering.lower(t);
                    DType dt = t.output().dtype();
                    if (dt == DType.F16 || dt == DType.BF16) steps.add(roundLaunch(ref(t.output()), t.output().numel(), dt));
                } catch (MemoryExhaustedException e) {
                    throw e.allocating("the buffers of task " + t.index() + " " + t.op().name() + " of graph '" + graph.name() + "'");
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("OpenCL backend cannot compile task " + t.index() + " " + t.op().name()
                            + (t.label().isEmpty() ? "" : " at " + t.label()) + " of graph " + graph.name() + ": " + e.getMessage(), e);
                }
            }
            cl.finish(backend.queue);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    // ---- storage (used by the lowering) ----

    OpenClBackend backend() { return backend; }

    /** Where a value lives (views share their root's storage). */
    Ref ref(Value v) {
        Value r = v.root();
        if (r.kind() == Value.Kind.CONSTANT) return new Ref(constants.get(r.id()), 0);
        long bytes = memory.offset(r);
        if (bytes % 4 != 0) throw new IllegalStateException("planned offset " + bytes + " of " + v + " is not a whole float");
        return new Ref(arena, bytes / 4);
    }

    /** A new device buffer owned (and released) by this plan. */
    MemorySegment allocate(long bytes) {
        MemorySegment b = cl.createBuffer(backend.context, bytes);
        buffers.add(b);
        return b;
    }

    /** A new buffer holding {@code host}'s bytes. */
    MemorySegment upload(MemorySegment host) {
        MemorySegment b = allocate(host.byteSize());
        cl.write(backend.queue, b, 0, host, host.byteSize());
        return b;
    }

    void addStep(OpenClLaunch launch) { steps.add(launch); }

    OpenClLaunch.Builder launch(String family, String kernel) {
        return new OpenClLaunch.Builder(cl, hostArena, backend.programs.program(family), kernel);
    }

    private OpenClLaunch roundLaunch(Ref target, long n, DType dtype) {
        return launch("elementwise", "round_to").buf(target).i64(n).i32(dtype == DType.F16 ? 1 : 2)
                .build(new long[]{n}, new long[]{OpenClTaskLowering.BLOCK});
    }

    private void uploadConstants() {
        for (Value v : graph.values()) {
            if (v.kind() != Value.Kind.CONSTANT || v.aliasOf() != null) continue;
            Tensor host = v.constant();
            Tensor f32 = host.dtype() == DType.F32 ? host.contiguous() : host.to(DType.F32);
            constants.put(v.id(), upload(f32.contiguousSegment()));
            cl.finish(backend.queue);   // the widened host copy may be a temporary
        }
    }

    // ---- ExecutionPlan ----

    @Override public ImmutableTaskGraph graph() { return graph; }

    @Override
    public void execute(Map<Value, Tensor> inputs) {
        ensureOpen();
        checks.checkRunInputs(inputs, id -> bound[id] != null);
        List<Tensor> staged = new ArrayList<>();   // alive until the queue is drained
        for (Value in : graph.inputs().values()) {
            Ref dst = ref(in);
            Tensor t = inputs.get(in);
            if (t == null) {
                // the planned slot may be reused by intermediates after the input's last use: refill it every run
                cl.copy(backend.queue, bound[in.id()], 0, dst.buffer(), dst.offset() * 4, in.numel() * 4);
                continue;
            }
            Tensor f32 = hostF32(in, t);
            staged.add(f32);
            cl.write(backend.queue, dst.buffer(), dst.offset() * 4, f32.contiguousSegment(), in.numel() * 4);
        }
        for (OpenClLaunch s : steps) s.run(cl, backend.queue);
        cl.finish(backend.queue);
        staged.clear();
        ran = true;
    }

    @Override
    public void bind(Value input, Tensor host) {
        ensureOpen();
        checks.checkInput(input);
        checks.checkHostTensor(input, host);
        Tensor f32 = hostF32(input, host);
        cl.write(backend.queue, boundBuffer(input), 0, f32.contiguousSegment(), input.numel() * 4);
        cl.finish(backend.queue);
    }

    @Override
    public void copy(Value output, Value input) {
        ensureOpen();
        checks.checkInput(input);
        checks.checkReadable(output);
        checks.checkCopy(output, input, ran);
        Ref src = ref(output);
        MemorySegment dst = boundBuffer(input);
        cl.copy(backend.queue, src.buffer(), src.offset() * 4, dst, 0, input.numel() * 4);
        DType dt = input.dtype();
        if (dt == DType.F16 || dt == DType.BF16) {
            boundRounding.computeIfAbsent(input.id(), id -> roundLaunch(new Ref(dst, 0), input.numel(), dt)).run(cl, backend.queue);
        }
        cl.finish(backend.queue);
    }

    /** The host tensor as fp32, rounded first to the input's precision when that is F16/BF16 (as the JVM backend stores it). */
    private static Tensor hostF32(Value in, Tensor t) {
        Tensor c = t;
        if ((in.dtype() == DType.F16 || in.dtype() == DType.BF16) && t.dtype() != in.dtype()) c = c.to(in.dtype());
        return c.dtype() == DType.F32 ? c.contiguous() : c.to(DType.F32);
    }

    private MemorySegment boundBuffer(Value input) {
        if (bound[input.id()] == null) bound[input.id()] = allocate(input.numel() * 4L);
        return bound[input.id()];
    }

    @Override
    public Tensor read(Value output) {
        ensureOpen();
        checks.checkReadable(output);
        Tensor out = Tensor.allocate(DType.F32, output.shape());
        Ref r = ref(output);
        cl.read(backend.queue, r.buffer(), r.offset() * 4, out.contiguousSegment(), output.numel() * 4);
        return out;
    }

    @Override public long plannedPeakBytes() { return memory.peakBytes(); }

    /** Kernel launches per run. */
    public int stepCount() { return steps.size(); }

    private void ensureOpen() { checks.checkOpen(closed); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            cl.finish(backend.queue);
        } catch (OpenClException ignored) {
            // a failed kernel already reported its error; release what we can
        }
        for (OpenClLaunch s : steps) cl.releaseKernel(s.kernel());
        for (OpenClLaunch s : boundRounding.values()) cl.releaseKernel(s.kernel());
        for (MemorySegment b : buffers) cl.releaseBuffer(b);
        hostArena.close();
    }
}
