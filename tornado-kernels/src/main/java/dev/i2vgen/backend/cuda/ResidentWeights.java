package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.MemoryExhaustedException;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.logging.Logger;

/**
 * Weights kept on the device across plans: the pipeline compiles each stage per generation, and without this every
 * generation would upload ~5 GB of weights again. A constant is identified by its host bytes (address, size, dtype;
 * the entry keeps the host segment reachable, so the address cannot be reused while cached, and a mapping closed
 * since is detected) plus the device dtype and a layout tag (a weight kept repacked for a kernel is another entry).
 * A sampled fingerprint of the host bytes catches a host tensor rewritten in place between compiles.
 * Entries in use by a live plan are never freed; idle ones stay resident, least recently used first out, while
 * their total is within {@link #idleBudgetBytes} (property i2vgen.cuda.residentWeightsBytes, default 8 GiB), and
 * all of them go when a plan's activations do not fit ({@link #evictIdle}).
 */
final class ResidentWeights implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ResidentWeights.class.getName());
    private static final int FINGERPRINT_SAMPLES = 64;

    private record Key(long address, long bytes, DType hostType, DType deviceType, String layout) {}

    /** One device copy; {@code users} counts live plans holding it. */
    static final class Entry {
        private final Key key;
        private final MemorySegment host;
        private final long fingerprint;
        final long pointer;
        final long bytes;
        private int users;

        private Entry(Key key, MemorySegment host, long fingerprint, long pointer, long bytes) {
            this.key = key;
            this.host = host;
            this.fingerprint = fingerprint;
            this.pointer = pointer;
            this.bytes = bytes;
        }
    }

    /** Fills a fresh device buffer of the entry's size (upload, conversion, repack). */
    @FunctionalInterface
    interface Initializer {
        void fill(long pointer);
    }

    /** Device allocations (cuMemAlloc / cuMemFree; a fake in the unit test). */
    interface DeviceMemory {
        /** Throws {@link MemoryExhaustedException} when the device is out of memory. */
        long malloc(long bytes);

        void free(long pointer);
    }

    private final DeviceMemory driver;
    /** Thread time filling device copies: uploads, conversions, repacks (I2VGEN_TIMINGS=1). */
    final java.util.concurrent.atomic.LongAdder fillNanos = new java.util.concurrent.atomic.LongAdder();
    private final long idleBudgetBytes;
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);   // access order = LRU

    /** On the device; {@code uploads} (null: none) may still be copying into a buffer, so a free waits for them first. */
    ResidentWeights(CudaDriver driver, WeightUploads uploads) {
        this(new DeviceMemory() {
            @Override public long malloc(long bytes) { return driver.malloc(bytes); }

            @Override
            public void free(long pointer) {
                if (uploads != null && uploads.mayBeWriting(pointer)) uploads.drain();
                driver.free(pointer);
            }
        }, Long.getLong("i2vgen.cuda.residentWeightsBytes", 8L << 30));
    }

    ResidentWeights(DeviceMemory memory, long idleBudgetBytes) {
        this.driver = memory;
        this.idleBudgetBytes = idleBudgetBytes;
    }

    /**
     * The device copy of {@code host} as {@code deviceType} in {@code layout} ("" = as on the host), made by
     * {@code init} on a miss; the caller must {@link #release} it when its plan closes.
     */
    synchronized Entry acquire(Tensor host, DType deviceType, String layout, long deviceBytes, Initializer init) {
        if (!host.isContiguous()) return privateCopy(deviceBytes, init);   // a strided view: not shared
        MemorySegment seg = host.contiguousSegment();
        Key key = new Key(seg.address(), seg.byteSize(), host.dtype(), deviceType, layout);
        long print = fingerprint(seg);
        Entry e = entries.get(key);
        if (e != null && (!e.host.scope().isAlive() || e.fingerprint != print)) {
            if (e.users > 0) return privateCopy(deviceBytes, init);   // rewritten under a live plan
            entries.remove(key);
            driver.free(e.pointer);
            e = null;
        }
        if (e == null) {
            e = new Entry(key, seg, print, filled(deviceBytes, init), deviceBytes);
            entries.put(key, e);
        }
        e.users++;
        return e;
    }

    private Entry privateCopy(long bytes, Initializer init) {
        return new Entry(null, null, 0, filled(bytes, init), bytes);
    }

    private long filled(long bytes, Initializer init) {
        long p = mallocEvicting(bytes);
        long t0 = System.nanoTime();
        try {
            init.fill(p);
            fillNanos.add(System.nanoTime() - t0);
        } catch (RuntimeException ex) {
            driver.free(p);
            throw ex;
        }
        return p;
    }

    /** Drops one plan's hold; a private (unshared) copy is freed at once, a shared one stays resident while idle. */
    synchronized void release(Entry e) {
        if (e.key == null || entries.get(e.key) != e) {
            driver.free(e.pointer);
            return;
        }
        e.users--;
        trimIdle(idleBudgetBytes);
    }

    /** Frees idle entries until their total is at most {@code budget}, least recently used first. */
    private void trimIdle(long budget) {
        long idle = 0;
        for (Entry e : entries.values()) if (e.users == 0) idle += e.bytes;
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext() && idle > budget; ) {
            Entry e = it.next();
            if (e.users > 0) continue;
            it.remove();
            driver.free(e.pointer);
            idle -= e.bytes;
        }
    }

    /** Frees every idle entry: a plan's activations come before weights no plan uses right now. */
    synchronized void evictIdle() { trimIdle(0); }

    /**
     * Frees the idle entries (every layout) of the host tensors at {@code hostAddresses} (their segments' addresses),
     * and answers the bytes freed: a stage that will not run again gives its weights' room to a plan built ahead
     * ({@link CudaBackend#releaseConstants}). Entries a live plan holds stay.
     */
    synchronized long releaseIdle(java.util.Set<Long> hostAddresses) {
        long freed = 0;
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.users > 0 || !hostAddresses.contains(e.key.address())) continue;
            it.remove();
            driver.free(e.pointer);
            freed += e.bytes;
        }
        return freed;
    }

    /** cuMemAlloc, retried once after freeing the idle weights. */
    long mallocEvicting(long bytes) {
        try {
            return driver.malloc(bytes);
        } catch (MemoryExhaustedException e) {
            evictIdle();
            return driver.malloc(bytes);
        }
    }

    synchronized long residentBytes() {
        long sum = 0;
        for (Entry e : entries.values()) sum += e.bytes;
        return sum;
    }

    /** A cheap content check: FINGERPRINT_SAMPLES longs spread over the bytes, mixed with their positions. */
    private static long fingerprint(MemorySegment seg) {
        long n = seg.byteSize() / 8, h = seg.byteSize();
        if (n == 0) {
            for (long i = 0; i < seg.byteSize(); i++) h = h * 31 + seg.get(ValueLayout.JAVA_BYTE, i);
            return h;
        }
        for (int s = 0; s < FINGERPRINT_SAMPLES; s++) {
            long i = n * s / FINGERPRINT_SAMPLES;
            h = (h ^ seg.get(ValueLayout.JAVA_LONG_UNALIGNED, i * 8)) * 0x9E3779B97F4A7C15L + i;
        }
        return h ^ seg.get(ValueLayout.JAVA_LONG_UNALIGNED, (n - 1) * 8);
    }

    @Override
    public synchronized void close() {
        List<Entry> all = new ArrayList<>(entries.values());
        entries.clear();
        for (Entry e : all) {
            if (e.users > 0) LOG.warning("resident weight freed while a plan still holds it (plans must close first)");
            driver.free(e.pointer);
        }
    }
}
