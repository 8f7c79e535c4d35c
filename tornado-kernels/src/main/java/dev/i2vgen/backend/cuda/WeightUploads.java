package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.BuildUrgency;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Logger;

/**
 * Weight uploads done beside plan building: a plan being built asks for a constant's device copy and goes on
 * lowering (waiting for kernels, searching algorithms) while threads of this backend convert or repack the host
 * tensor if needed and copy it, on a stream of their own ({@code -Di2vgen.cuda.backgroundUploads=false}: every
 * upload on the plan's thread and stream, as before).
 * <p>Ordering, by construction: the copies are enqueued on the upload stream by the upload threads alone, into
 * buffers no two pending uploads share (a buffer is freed, and so reused, only after {@link #drain}). A plan's {@link
 * #fence} blocks until the uploads it needs are enqueued, then makes the plan's stream wait on the device for all the
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
        // a priority queue (Jobs by urgency): an upload submitted for the stage about to run overtakes queued ones
        this.threads = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new PriorityBlockingQueue<>(),
                Thread.ofPlatform().daemon().name(threadName + "-", 0).factory());
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
     * nothing reads before a {@link #fence}. Answers the upload's number (uploads are numbered as submitted). Queued
     * uploads are taken by urgency ({@link BuildUrgency} of the submitting thread: a stage about to run before plans
     * built ahead, those in the order of their stages), then in the order submitted.
     */
    long submit(Tensor host, DType type, long pointer) {
        long number;
        synchronized (this) {
            if (failure != null) throw failed();
            number = ++submitted;
            inFlight.add(number);
        }
        unsettled.put(pointer, number);
        threads.execute(new Job(BuildUrgency.current(), number, () -> {
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
        }));
        return number;
    }

    /** A queued upload: the more urgent first, then the earlier submitted. */
    private record Job(int urgency, long number, Runnable work) implements Runnable, Comparable<Job> {
        @Override public void run() { work.run(); }

        @Override
        public int compareTo(Job o) {
            return urgency != o.urgency ? Integer.compare(urgency, o.urgency) : Long.compare(number, o.number);
        }
    }

    private synchronized boolean poisoned() { return failure != null; }

    /**
     * The uploads one plan's fences wait for: its own and those into the resident weights it took from other plans
     * while still in flight. Used by the plan's building thread only.
     */
    static final class Needs {
        private final java.util.TreeSet<Long> pending = new java.util.TreeSet<>();

        void add(long number) { pending.add(number); }

        void addAll(java.util.Collection<Long> numbers) { pending.addAll(numbers); }
    }

    /**
     * The uploads a fence's event covers: those enqueued on the upload stream before it was recorded, i.e. numbered up to
     * {@code upTo} and not among {@code notYet} (still queued or copying then; urgency reorders the queue).
     */
    record Covered(long upTo, java.util.Set<Long> notYet) {
        static final Covered NONE = new Covered(0, java.util.Set.of());

        boolean covers(long number) { return number <= upTo && !notYet.contains(number); }
    }

    /** {@link #fence(MemorySegment, Needs)} for every upload submitted so far. */
    Covered fence(MemorySegment consumer) {
        long t0 = System.nanoTime();
        try {
            long upTo;
            synchronized (this) {
                upTo = submitted;
            }
            awaitEnqueued(upTo);
            return orderBefore(consumer);
        } finally {
            waitNanos.add(System.nanoTime() - t0);
        }
    }

    /**
     * Makes {@code consumer} (a plan's stream) wait, on the device, for the uploads {@code needs} names (a plan's own and
     * those of the resident weights it took from other plans, {@link #uploadsInto}); blocks the calling thread only until
     * these are enqueued, not for uploads other threads' plans submitted before or after them (a plan built ahead uploads
     * gigabytes meanwhile). Throws the failure of any upload. Answers what the event covers, for {@link #settled} once
     * the consumer is synchronised. Two threads may fence at once: each waits for the upload stream's latest event,
     * recorded after its own wait for the enqueueing, so at least as late.
     */
    Covered fence(MemorySegment consumer, Needs needs) {
        long t0 = System.nanoTime();
        try {
            awaitWhile(() -> {
                needs.pending.removeIf(n -> !inFlight.contains(n));
                return !needs.pending.isEmpty() && failure == null;
            });
            return orderBefore(consumer);
        } finally {
            waitNanos.add(System.nanoTime() - t0);
        }
    }

    /** Records the upload stream's event for {@code consumer}, after noting what it covers (a copy enqueued later may be covered too). */
    private Covered orderBefore(MemorySegment consumer) {
        Covered covered;
        synchronized (this) {
            covered = new Covered(submitted, java.util.Set.copyOf(inFlight));
        }
        uploads.orderBefore(consumer);
        return covered;
    }

    /** The uploads {@code covered} names are complete (a stream that fenced them was synchronised): their buffers may be freed at once. */
    void settled(Covered covered) { unsettled.values().removeIf(covered::covers); }

    /** Whether an upload into {@code pointer} may still be in flight (then a free must {@link #drain} first). */
    boolean mayBeWriting(long pointer) { return unsettled.containsKey(pointer); }

    /**
     * The uploads into [pointer, pointer + bytes) that may still be in flight (none: empty): what a plan taking that
     * resident weight from another plan must fence ({@link #fence(MemorySegment, Needs)}); a weight assembled from
     * several parts (a fused projection) had one upload per part.
     */
    java.util.List<Long> uploadsInto(long pointer, long bytes) {
        return java.util.List.copyOf(unsettled.subMap(pointer, pointer + Math.max(bytes, 1)).values());
    }

    /** Waits until every upload submitted so far has reached the device (before memory is freed); failures are not thrown. */
    void drain() {
        long upTo;
        synchronized (this) {
            upTo = submitted;
        }
        boolean failed = false;
        try {
            awaitEnqueued(upTo);
        } catch (CudaException e) {
            failed = true;   // the upload failed: nothing of it is in flight
        }
        uploads.synchronize();
        if (!failed) settled(new Covered(upTo, java.util.Set.of()));
    }

    /** Waits until the uploads numbered up to {@code upTo} are enqueued (or failed); throws a failure of any upload. */
    private void awaitEnqueued(long upTo) {
        awaitWhile(() -> !inFlight.isEmpty() && inFlight.first() <= upTo);
    }

    /** Waits (on this monitor, which every upload's end notifies) while {@code pending}; then throws a failure of any upload. */
    private synchronized void awaitWhile(java.util.function.BooleanSupplier pending) {
        boolean interrupted = false;
        while (pending.getAsBoolean()) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;   // the device order must hold: wait on
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure != null) throw failed();
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
