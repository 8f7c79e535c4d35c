package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.PendingRead;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A plan's reads in flight ({@link CudaExecutionPlan#readAsync}). Each holds the device address of a captured
 * output, as F32, and an event recorded on the plan's stream after the work that wrote it. An F32 output is left in
 * the plan's arena until the plan enqueues more work there: {@link #detachAll} (called first by every path that
 * writes the arena) copies it to a pooled staging buffer of its own, on the stream, so the next run need not wait for
 * the host. {@link Read#into} waits for the event only and copies to the host on a second stream, so it never waits
 * for runs queued after the captured one: the host copy of run i overlaps the device work of run i + 1.
 */
final class CudaPendingReads {
    private final CudaExecutionPlan plan;
    private final CudaDriver driver;
    private final CudaBackend backend;
    private final List<Read> open = new ArrayList<>();
    /** By byte size: staging buffers no read uses now (allocated through the plan, freed when it closes). */
    private final Map<Long, ArrayDeque<Long>> freeStaging = new HashMap<>();
    private MemorySegment copyStream;
    private boolean closed;

    CudaPendingReads(CudaExecutionPlan plan, CudaBackend backend) {
        this.plan = plan;
        this.backend = backend;
        this.driver = backend.driver;
    }

    /** Captures {@code output} of the work enqueued so far (the caller checked it is readable and made the context current). */
    PendingRead start(Value output, long pointer, DType storage) {
        long n = output.numel();
        Read r;
        if (storage == DType.F32) {
            r = new Read(pointer, false, n);
        } else {
            // the host wants F32: convert on the device now, into the read's own buffer
            long staging = takeStaging(n * 4);
            plan.deviceCopy(pointer, storage, staging, DType.F32, n);
            r = new Read(staging, true, n);
        }
        driver.record(r.event, backend.stream);
        open.add(r);
        return r;
    }

    /** Moves every read still pointing into the arena to a staging buffer, before the plan overwrites the arena. */
    void detachAll() {
        for (Read r : open) {
            if (r.staged) continue;
            long staging = takeStaging(r.numel * 4);
            plan.deviceCopy(r.src, DType.F32, staging, DType.F32, r.numel);
            r.src = staging;
            r.staged = true;
            driver.record(r.event, backend.stream);   // into() now waits for the copy (and so for the run before it)
        }
    }

    /** The plan closes: open reads become unusable; staging buffers are freed with the plan's other allocations. */
    void close() {
        if (closed) return;
        closed = true;
        for (Read r : open) {
            r.done = true;
            destroyEvent(r.event);
        }
        open.clear();
        if (copyStream != null) {
            try {
                driver.destroyStream(copyStream);
            } catch (CudaException e) {
                // the plan's close reports stream errors; the memory goes with the context
            }
            copyStream = null;
        }
    }

    private long takeStaging(long bytes) {
        ArrayDeque<Long> free = freeStaging.get(bytes);
        return free == null || free.isEmpty() ? plan.allocateExtra(bytes) : free.pop();
    }

    private void destroyEvent(MemorySegment e) {
        try {
            driver.destroyEvent(e);
        } catch (CudaException ex) {
            // an error of earlier work surfaced here: the read's into() or the plan's close reports it
        }
    }

    /** One captured output. */
    final class Read implements PendingRead {
        final MemorySegment event = driver.createEvent();
        final long numel;
        long src;
        boolean staged;
        boolean done;

        Read(long src, boolean staged, long numel) {
            this.src = src;
            this.staged = staged;
            this.numel = numel;
        }

        @Override public long numel() { return numel; }

        @Override
        public void into(Tensor dest, long offset) {
            if (closed) throw new IllegalStateException("pending read: its execution plan " + plan.graph().name() + " is closed");
            if (done) throw new IllegalStateException("pending read already copied or closed");
            PendingRead.checkTarget(dest, offset, numel);
            driver.setCurrent(backend.context);
            try {
                driver.waitFor(event);
                if (copyStream == null) copyStream = driver.createStream();
                long bytes = numel * 4;
                MemorySegment target = dest.contiguousSegment().asSlice(offset * 4, bytes);
                if (target.isNative()) {
                    driver.copyToHost(target, src, bytes, copyStream);
                    driver.synchronize(copyStream);
                } else {
                    // a heap-backed tensor cannot be handed to the driver: through a native temporary
                    Tensor tmp = Tensor.allocate(DType.F32, (int) numel);
                    driver.copyToHost(tmp.contiguousSegment(), src, bytes, copyStream);
                    driver.synchronize(copyStream);
                    MemorySegment.copy(tmp.contiguousSegment(), 0, target, 0, bytes);
                }
            } finally {
                release();
            }
        }

        @Override
        public void close() {
            if (!done && !closed) release();
        }

        private void release() {
            done = true;
            open.remove(this);
            destroyEvent(event);
            // later work reusing the buffer is ordered after any device copy into it (same stream); the host copy
            // from it, if any, has finished (synchronised above)
            if (staged) freeStaging.computeIfAbsent(numel * 4, k -> new ArrayDeque<>()).push(src);
        }
    }
}
