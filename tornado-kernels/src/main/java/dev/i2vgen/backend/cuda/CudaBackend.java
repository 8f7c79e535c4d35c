package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.SetupWork;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CUDA backend: one device's primary context and stream, kernels JIT-compiled by NVRTC (cached on
 * disk), GEMMs through cuBLASLt. Plans upload their weights once, place intermediates with the
 * {@link dev.i2vgen.graph.MemoryPlanner} in one device allocation, and replay their launches as a CUDA
 * graph after the first run. Two backends on one device share its primary context (each with its own stream);
 * {@link #withOwnContext} makes one with a context of its own, as a second GPU would have (tests of the exchange
 * between devices on one GPU). Plans of two backends exchange values through {@link CudaPlanLink}.
 */
public final class CudaBackend implements Backend {
    final CudaDriver driver;
    final Nvrtc nvrtc;
    final CublasLt cublas;
    final KernelCache kernels;
    final MemorySegment context;
    final MemorySegment stream;
    /**
     * Owns {@link #stream} and what runs there share (the cuBLASLt {@link #workspace}, cuDNN's handle and workspace):
     * held by a plan while it enqueues and waits for a run, and by a plan build while it times algorithm candidates
     * there, so that trials never interleave with runs (nor their timings with another thread's work) and never fall
     * inside a graph capture. Fair: a build waiting for a trial gets the stream between two runs of a loop.
     */
    final ReentrantLock streamLock = new ReentrantLock(true);

    /** {@code work} holding {@link #streamLock}, the context current on this thread. */
    void onStream(Runnable work) {
        onStream(() -> {
            work.run();
            return null;
        });
    }

    /** {@code work}'s result, computed holding {@link #streamLock}, the context current on this thread. */
    <T> T onStream(java.util.function.Supplier<T> work) {
        streamLock.lock();
        try {
            driver.setCurrent(context);
            return work.get();
        } finally {
            streamLock.unlock();
        }
    }
    final long workspace;
    /** Weights uploaded once and shared by every plan built from the same host tensors. */
    final ResidentWeights residentWeights;
    /** Plain weight uploads on a thread and stream of their own while plans are built; null when off ({@link WeightUploads}). */
    final WeightUploads uploads;
    /** cuBLASLt and cuDNN choices measured by earlier processes on this device ({@link AlgorithmCache}). */
    final AlgorithmCache algorithms;
    final int device, ccMajor, ccMinor, multiprocessors;
    /** Whether {@link #context} was created for this backend (destroyed on close) rather than the shared primary one. */
    final boolean ownContext;
    private final int ordinal;
    private final String description;
    private boolean closed;
    /** Loaded on the first convolution that may use it; empty when cuDNN 9 is not installed (it is optional). */
    private java.util.Optional<Cudnn> cudnn;

    CudaBackend(int ordinal, boolean ownContext) {
        driver = CudaDriver.load();
        if (ordinal < 0 || driver.deviceCount() <= ordinal) throw new CudaException("no CUDA device " + ordinal + " (" + driver.deviceCount() + " present)");
        this.ordinal = ordinal;
        this.ownContext = ownContext;
        device = driver.device(ordinal);
        context = ownContext ? driver.createContext(device) : driver.retainPrimaryContext(device);
        driver.setCurrent(context);
        ccMajor = driver.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = driver.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        multiprocessors = driver.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        stream = driver.createStream();
        nvrtc = Nvrtc.load();
        cublas = CublasLt.load();
        kernels = KernelCache.onDevice(driver, nvrtc, context, ccMajor, ccMinor, KernelCache.defaultCacheDir());
        workspace = driver.malloc(CublasLt.WORKSPACE_BYTES);
        uploads = WeightUploads.enabledByProperty() ? WeightUploads.onDevice(driver, context, ordinal) : null;
        residentWeights = new ResidentWeights(driver, uploads);
        description = driver.deviceName(device) + " (sm_" + ccMajor + ccMinor + ", " + multiprocessors + " SMs, driver "
                + driver.driverVersion() + ", NVRTC " + nvrtc.version() + ")";
        algorithms = AlgorithmCache.open(KernelCache.defaultCacheDir().resolve("algorithms"), description);
        cublas.useAlgorithmCache(algorithms);
    }

    /** Device 0. */
    public static CudaBackend create() { return new CudaBackend(0, false); }

    /** The device of this CUDA ordinal (as CUDA counts them: see CUDA_DEVICE_ORDER). */
    public static CudaBackend create(int ordinal) { return new CudaBackend(ordinal, false); }

    /**
     * The device of this ordinal in a context of its own (cuCtxCreate) instead of the primary context other backends
     * of the device share: its memory, modules and streams are apart from theirs, as on another GPU.
     */
    public static CudaBackend withOwnContext(int ordinal) { return new CudaBackend(ordinal, true); }

    /** CUDA devices the driver sees (CUDA_VISIBLE_DEVICES applied); throws a {@link CudaException} without a driver. */
    public static int deviceCount() { return CudaDriver.load().deviceCount(); }

    @Override public String name() { return "cuda"; }

    @Override public String deviceDescription() { return description + (ownContext ? ", own context" : ""); }

    /** The CUDA ordinal this backend runs on. */
    public int ordinal() { return ordinal; }

    /** Starts compiling every kernel family of {@code activation} on the compiler threads (see {@link KernelCache#prefetch}). */
    @Override
    public void prepare(DType activation) {
        ensureOpen();
        kernels.prefetch(activation);
    }

    @Override
    public CudaExecutionPlan compile(ImmutableTaskGraph graph) {
        ensureOpen();
        driver.setCurrent(context);   // on the calling thread: a plan may be built on any thread
        kernels.prefetch(graph.activation());   // the families this plan's lowering asks for compile meanwhile
        return new CudaExecutionPlan(this, graph);
    }

    /**
     * True, after an audit of what a compile shares with runs and other compiles (issue 17):
     * <ul>
     * <li>the context is made current on the compiling thread ({@link #compile}), as the kernel and upload threads do;
     * <li>a build's own device work (uploads, repacks, copies) goes to a stream of its own, synchronised before the
     *     plan is returned ({@link PlanBuildWork}); a resident weight filled there is finished before another plan
     *     can take it ({@link PlanBuildWork#finish}), and a plan fences only the uploads it needs ({@link WeightUploads});
     * <li>timed algorithm searches (cuBLASLt candidates, cuDNN FindEx and the fused-bias trial, the conv islands'
     *     timings) run on {@link #stream} under {@link #streamLock}, which runs also hold: the shared cuBLASLt and cuDNN
     *     workspaces and cuDNN's handle (never used by two threads at once: every use is a trial or a run, both under
     *     the lock) are used one at a time, the timings measure only the trials, and no trial lands in a capture.
     *     With the algorithm cache warm there are no trials, so a build ahead never waits for a run;
     * <li>cuBLASLt's handle has no per-call state (stream and workspace are arguments), so concurrent heuristic
     *     queries and plans are safe (cuBLAS's documented thread safety);
     * <li>captures use THREAD_LOCAL mode, and the driver calls of other threads that could invalidate a capture (
     *     synchronisation, cuMemAlloc/cuMemFree, streams, module loads) wait while one is open ({@link CudaDriver});
     * <li>{@link ResidentWeights} and the kernel, algorithm and cuDNN choice caches are synchronised or concurrent maps
     *     (the algorithm cache file is written only at close); two builds may search the same shape once each, the
     *     later choice kept;
     * <li>{@link WeightUploads} fences may come from two threads (each waits for an event recorded after its own wait).
     * </ul>
     * Not covered: {@link CudaPlanLink}'s copies between two backends (CFG-parallel) do not take the lock; the
     * pipelines do not build plans ahead there.
     */
    @Override
    public boolean compilesConcurrently() { return true; }

    /** Frees the idle resident copies (every layout) of {@code graph}'s constants ({@link ResidentWeights#releaseIdle}). */
    @Override
    public long releaseConstants(ImmutableTaskGraph graph) {
        ensureOpen();
        Set<Long> hosts = new HashSet<>();
        for (var v : graph.values()) {
            var root = v.root();
            if (root.kind() == dev.i2vgen.graph.Value.Kind.CONSTANT && root.constant().isContiguous())
                hosts.add(root.constant().contiguousSegment().address());
        }
        if (hosts.isEmpty()) return 0;
        driver.setCurrent(context);
        return residentWeights.releaseIdle(hosts);
    }

    @Override
    public List<SetupWork> setupWork() {
        List<SetupWork> work = new ArrayList<>();
        int threads = kernels.compilerThreads();
        String kernelWork = String.format("kernels: %d modules compiled by NVRTC to %s (%.3f s), %d read from the disk cache, loading %.3f s (%s)",
                kernels.compiled.get(), kernels.compilesCubin() ? "CUBIN" : "PTX", kernels.compileNanos.sum() / 1e9, kernels.fromDisk.get(), kernels.loadNanos.sum() / 1e9,
                threads == 0 ? "one at a time, on the plans' thread" : "on " + threads + " compiler threads"
                        + (kernels.loadsInBackground() ? ", loaded there" : ", loaded on the plans' thread"));
        Duration kernelBusy = Duration.ofNanos(kernels.imageNanos.sum() + kernels.loadNanos.sum());
        work.add(threads == 0 ? SetupWork.onCallerThread(kernelWork, kernelBusy) : new SetupWork(kernelWork, kernelBusy, Duration.ofNanos(kernels.waitNanos.sum())));
        work.add(SetupWork.onCallerThread("algorithm searches (cuBLASLt)", Duration.ofNanos(cublas.searchNanos.sum())));
        if (cudnn != null) cudnn.ifPresent(c -> work.add(SetupWork.onCallerThread("algorithm searches (cuDNN)", Duration.ofNanos(c.searchNanos.sum()))));
        long onPlanThread = residentWeights.fillNanos.sum();   // repacked copies, and every upload when the upload thread is off
        if (uploads == null) {
            work.add(SetupWork.onCallerThread("weight uploads (on the plans' thread)", Duration.ofNanos(onPlanThread)));
        } else {
            work.add(new SetupWork(String.format("weight uploads: %.2f GB on the upload thread and stream, the repacked ones on the plans' thread",
                    uploads.bytes.sum() / 1e9), Duration.ofNanos(uploads.busyNanos.sum() + onPlanThread),
                    Duration.ofNanos(uploads.waitNanos.sum() + onPlanThread)));
        }
        return work;
    }

    /** Milliseconds per repetition of {@code work} enqueued on this backend's stream, timed with events after a warm-up. */
    public double timeMillis(Runnable work, int warmup, int repetitions) {
        return onStream(() -> {   // the timing window holds only this work
            for (int i = 0; i < warmup; i++) work.run();
            MemorySegment start = driver.createEvent(), end = driver.createEvent();
            try {
                driver.synchronize(stream);
                driver.record(start, stream);
                for (int i = 0; i < repetitions; i++) work.run();
                driver.record(end, stream);
                return driver.elapsedMillis(start, end) / repetitions;
            } finally {
                driver.destroyEvent(start);
                driver.destroyEvent(end);
            }
        });
    }

    /** cuDNN 9 for this context, or empty when absent (convolutions then use the built-in kernels). */
    synchronized java.util.Optional<Cudnn> cudnn() {
        if (cudnn == null) {
            driver.setCurrent(context);
            cudnn = Cudnn.load(streamLock);
            cudnn.ifPresent(c -> c.useAlgorithmCache(algorithms));
        }
        return cudnn;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("CUDA backend is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        driver.setCurrent(context);
        driver.synchronize(stream);
        algorithms.close();
        residentWeights.close();   // waits for the uploads in flight before freeing
        if (uploads != null) uploads.close();
        kernels.close();
        cublas.close();
        if (cudnn != null) cudnn.ifPresent(Cudnn::close);
        driver.free(workspace);
        driver.destroyStream(stream);
        if (ownContext) driver.destroyContext(context); else driver.releasePrimaryContext(device);
    }
}
