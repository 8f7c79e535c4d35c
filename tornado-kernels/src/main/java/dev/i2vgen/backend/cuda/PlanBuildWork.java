package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * What a {@link CudaExecutionPlan}'s construction enqueues on the device, apart from runs: its weight uploads (on the
 * backend's upload threads, or here), repacks and copies into buffers no other plan uses yet, on a stream of its own.
 * A plan may be built on any thread while other plans run on the backend's stream (plans built ahead, {@link
 * CudaBackend#compilesConcurrently}), so the build never enqueues there, except the timed trials of the algorithm
 * searches (under {@link CudaBackend#streamLock}). {@link #complete} ends it before the plan is returned.
 */
final class PlanBuildWork {
    private final CudaBackend backend;
    private final CudaDriver driver;
    private final String graphName;
    private MemorySegment stream;   // null once complete
    /**
     * The background uploads ({@link WeightUploads}) the plan's weights need: its own, and those of the resident weights
     * it took from other plans while still in flight. Its fences wait for these alone.
     */
    private final WeightUploads.Needs uploadsNeeded = new WeightUploads.Needs();

    PlanBuildWork(CudaBackend backend, String graphName) {
        this.backend = backend;
        this.driver = backend.driver;
        this.graphName = graphName;
        this.stream = driver.createStream();
    }

    /** The build's stream, for lowering-time work only (a step runs on the stream it is given). */
    MemorySegment stream() {
        if (stream == null) throw new IllegalStateException("graph " + graphName + ": the plan is built, no build stream");
        return stream;
    }

    /**
     * Waits for the work enqueued on the build stream so far: a resident weight filled there is shared with plans built
     * on other threads, which must see it complete.
     */
    void finish() { driver.synchronize(stream()); }

    /** Copies {@code host} as {@code type} now (converted on the host where needed), on the build stream. */
    void upload(Tensor host, DType type, long pointer) {
        Tensor converted = host.dtype() == type ? host.contiguous() : host.to(type);
        // after construction (a constant first read by the plan's read, under the stream lock) the backend's stream
        MemorySegment s = stream != null ? stream : backend.stream;
        driver.copyToDevice(pointer, converted.contiguousSegment(), converted.byteSize(), s);
        driver.synchronize(s);   // the host copy may be a temporary
    }

    /**
     * As {@link #upload}, by the backend's upload threads when it has them ({@link WeightUploads}): for a copy nothing
     * reads while the plan is built, unless after {@link #fenceUploads} (runs come after {@link #complete}'s fence).
     */
    void uploadInBackground(Tensor host, DType type, long pointer) {
        if (backend.uploads == null) {
            upload(host, type, pointer);
            return;
        }
        uploadsNeeded.add(backend.uploads.submit(host, type, pointer));
    }

    /** A resident weight taken from another plan: its copy may still be on its way, the fences must cover it too. */
    void takesResident(ResidentWeights.Entry e) {
        if (backend.uploads != null) uploadsNeeded.addAll(backend.uploads.uploadsInto(e.pointer, e.bytes));
    }

    /**
     * Makes the build stream wait for the weights the plan needs that were uploaded in the background: before a kernel
     * reads one at plan build, and at the end; answers the uploads covered ({@link WeightUploads#fence(MemorySegment, WeightUploads.Needs)}).
     */
    WeightUploads.Covered fenceUploads() {
        return backend.uploads != null ? backend.uploads.fence(stream(), uploadsNeeded) : WeightUploads.Covered.NONE;
    }

    /** The end of a construction: every run comes after the weights and after everything the build enqueued. */
    void complete() {
        WeightUploads.Covered uploaded = fenceUploads();
        driver.synchronize(stream);
        if (backend.uploads != null) backend.uploads.settled(uploaded);
        driver.destroyStream(stream);
        stream = null;
    }

    /** A construction that failed part-way: its enqueued work ends before its buffers are freed. */
    void abandon() {
        if (stream == null) return;
        try {
            driver.synchronize(stream);
            driver.destroyStream(stream);
        } finally {
            stream = null;
        }
    }
}
