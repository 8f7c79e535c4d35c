package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Logger;

/**
 * Weight uploads done beside plan building: a plan being built asks for a constant's device copy and goes on
 * lowering (waiting for kernels, searching algorithms) while threads of this backend convert or repack the host
 * tensor if needed and copy it, on a stream of their own ({@code -Di2vgen.cuda.backgroundUploads=false}: every
 * upload on the plan's thread and stream, as before).
 * <p>Ordering, by construction: the copies are enqueued on the upload stream by the upload threads alone, into
 * buffers no two pending uploads share (a buffer is freed, and so reused, only after {@link #drain}). {@link #fence}
 * blocks until every upload submitted so far is enqueued, then makes the given stream wait on the device for all the
 * upload stream holds (an event): work enqueued on that stream afterwards sees every such weight. A plan fences
 * before its first run (at the end of its construction) and before any kernel that reads a constant while the plan
 * is built (a repack). The copies read pageable host memory, which the driver has taken when the call returns; a
 * converted or repacked temporary is kept until its copy is done. A failed upload makes every later fence fail: no
 * plan can run with a weight that did not arrive.
 * <p>Freeing: a buffer an upload may still be writing must not be freed (and reused) before the copy lands, so a free
 * {@link #drain}s first where {@link #mayBeWriting} says so. A plan's construction ends with a fence and a
 * synchronisation of its stream, after which the uploads it covered are complete ({@link #settled}): freeing the
 * weights of a finished stage then waits for nothing, even while another thread's plan uploads gigabytes.
 */
final class WeightUploads implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WeightUploads.class.getName());

    /** The device side: one upload stream (a fake in the unit test). */
    interface UploadStream {
        /** Makes the backend's context current on the calling thread. */
        void makeCurrent();

        /** Enqueues a host → device copy; returns once the host bytes are taken (pageable memory). */
        void copy(long pointer, MemorySegment host, long bytes);

        /** Blocks until every copy enqueued so far is done. */
        void synchronize();

        /** Makes {@code consumer} wait, on the device, for every copy enqueued so far (the host does not wait). */
        void orderBefore(MemorySegment consumer);

        void close();
    }

    private final UploadStream uploads;
    private final ExecutorService threads;
    private long submitted;                 // guarded by this
    /** Numbers of the uploads submitted and not yet enqueued (or failed). */
    private final java.util.TreeSet<Long> inFlight = new java.util.TreeSet<>();   // guarded by this
    /** Target pointer → the number of its upload, until an upload at least that late is known complete. */
    private final java.util.concurrent.ConcurrentSkipListMap<Long, Long> unsettled = new java.util.concurrent.ConcurrentSkipListMap<>();
    private Throwable failure;              // guarded by this
    /** Thread time of the upload threads (conversions, repacks, copies), and the time plan builders spent blocked in fences. */
    final LongAdder busyNanos = new LongAdder(), waitNanos = new LongAdder();
    final LongAdder bytes = new LongAdder();

    /**
     * @param threads upload threads: each converts or repacks its tensor on the host in parallel with the others (a
     *                strided repack runs at a fraction of memory speed); their copies share the one stream
     */
    WeightUploads(UploadStream uploads, String threadName, int threads) {
        this.uploads = uploads;
        this.threads = Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon().name(threadName + "-", 0).factory());
    }

    /**
     * On {@code context}: a stream of its own, ordered before a plan's stream by an event. {@code
     * -Di2vgen.cuda.uploadDelayMs=N} (a check on a GPU, not a setting) holds each copy back N ms, so that a read the
     * fences do not order would see memory not yet written and fail the conformance tests.
     */
    static WeightUploads onDevice(CudaDriver driver, MemorySegment context, int ordinal) {
        MemorySegment stream = driver.createStream(), event = driver.createOrderingEvent();
        long delayMs = Long.getLong("i2vgen.cuda.uploadDelayMs", 0);
        return new WeightUploads(new UploadStream() {
            @Override public void makeCurrent() { driver.setCurrent(context); }

            @Override
            public void copy(long pointer, MemorySegment host, long bytes) {
                if (delayMs > 0) {
                    try {
                        Thread.sleep(delayMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                driver.copyToDevice(pointer, host, bytes, stream);
            }

            @Override public void synchronize() { driver.synchronize(stream); }

            @Override
            public void orderBefore(MemorySegment consumer) {
                driver.record(event, stream);
                driver.streamWait(consumer, event);   // waits for the record just made: all the copies enqueued before it
            }

            @Override
            public void close() {
                try {
                    driver.synchronize(stream);
                } finally {
                    driver.destroyEvent(event);
                    driver.destroyStream(stream);
                }
            }
        }, "cuda-weight-upload-" + ordinal, Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 4)));
    }

    /** Whether plans upload their constants here ({@code -Di2vgen.cuda.backgroundUploads}, on by default). */
    static boolean enabledByProperty() { return !"false".equals(System.getProperty("i2vgen.cuda.backgroundUploads")); }

    /**
     * Queues the copy of {@code host} (a tensor or a strided view: a repack) as {@code type}, made contiguous and
     * converted on an upload thread where needed, to {@code pointer}, a device buffer of at least its size that
     * nothing reads before a {@link #fence}. Answers the upload's number (uploads are numbered as submitted).
     */
    long submit(Tensor host, DType type, long pointer) {
        long number;
        synchronized (this) {
            if (failure != null) throw failed();
            number = ++submitted;
            inFlight.add(number);
        }
        unsettled.put(pointer, number);
        threads.execute(() -> {
            long t0 = System.nanoTime();
            Throwable problem = null;
            try {
                if (poisoned()) return;   // after a failure nothing more is copied
                uploads.makeCurrent();
                Tensor converted = host.dtype() == type ? host.contiguous() : host.to(type);
                uploads.copy(pointer, converted.contiguousSegment(), converted.byteSize());
                // a temporary must outlive its copy; the mapped host tensor lives as long as the weights
                if (converted != host) uploads.synchronize();
                bytes.add(converted.byteSize());
            } catch (Throwable t) {
                problem = t;
            } finally {
                busyNanos.add(System.nanoTime() - t0);
                synchronized (this) {
                    if (problem != null && failure == null) failure = problem;
                    inFlight.remove(number);
                    notifyAll();
                }
            }
        });
        return number;
    }

    private synchronized boolean poisoned() { return failure != null; }

    /** {@link #fence(MemorySegment, long)} for every upload submitted so far. */
    long fence(MemorySegment consumer) {
        long upTo;
        synchronized (this) {
            upTo = submitted;
        }
        return fence(consumer, upTo);
    }

    /**
     * Makes {@code consumer} (a plan's stream) wait, on the device, for the uploads numbered up to {@code upTo} (a plan's
     * own and those of the resident weights it took from other plans, {@link #latestInto}); blocks the calling thread
     * only until they are enqueued, not for uploads other threads' plans submitted later (a plan built ahead uploads
     * gigabytes meanwhile). Throws the failure of any upload. Answers {@code upTo}, for {@link #settled} once the
     * consumer is synchronised. Two threads may fence at once: each waits for the upload stream's latest event,
     * recorded after its own wait for the enqueueing, so at least as late.
     */
    long fence(MemorySegment consumer, long upTo) {
        long t0 = System.nanoTime();
        try {
            awaitEnqueued(upTo);
            uploads.orderBefore(consumer);
            return upTo;
        } finally {
            waitNanos.add(System.nanoTime() - t0);
        }
    }

    /** The uploads up to {@code covered} are complete (a stream that fenced them was synchronised): their buffers may be freed at once. */
    void settled(long covered) { unsettled.values().removeIf(n -> n <= covered); }

    /** Whether an upload into {@code pointer} may still be in flight (then a free must {@link #drain} first). */
    boolean mayBeWriting(long pointer) { return unsettled.containsKey(pointer); }

    /**
     * The latest upload into [pointer, pointer + bytes) that may still be in flight (0: none): what a plan taking that
     * resident weight from another plan must fence ({@link #fence(MemorySegment, long)}); a weight assembled from
     * several parts (a fused projection) had one upload per part.
     */
    long latestInto(long pointer, long bytes) {
        long latest = 0;
        for (long n : unsettled.subMap(pointer, pointer + Math.max(bytes, 1)).values()) latest = Math.max(latest, n);
        return latest;
    }

    /** Waits until every upload submitted so far has reached the device (before memory is freed); failures are not thrown. */
    void drain() {
        long covered;
        synchronized (this) {
            covered = submitted;
        }
        try {
            awaitEnqueued(covered);
        } catch (CudaException e) {
            covered = -1;   // the upload failed: nothing of it is in flight
        }
        uploads.synchronize();
        if (covered >= 0) settled(covered);
    }

    /** Waits until the uploads numbered up to {@code upTo} are enqueued (or failed); throws a failure of any upload. */
    private void awaitEnqueued(long upTo) {
        boolean interrupted = false;
        synchronized (this) {
            while (!inFlight.isEmpty() && inFlight.first() <= upTo) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;   // the device order must hold: wait on
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            if (failure != null) throw failed();
        }
    }

    private CudaException failed() {
        return new CudaException("a weight upload failed, so no plan of this backend may run: " + failure, failure);
    }

    /** Lets the queued uploads finish, then releases the stream. */
    @Override
    public void close() {
        threads.shutdown();
        try {
            if (!threads.awaitTermination(5, TimeUnit.MINUTES)) LOG.warning("weight uploads still running at close");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        uploads.close();
    }
}
