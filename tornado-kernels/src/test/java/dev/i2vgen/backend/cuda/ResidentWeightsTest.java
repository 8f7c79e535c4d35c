package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.MemoryExhaustedException;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sharing, replacement and eviction rules of {@link ResidentWeights}, on a fake device memory (no GPU). */
class ResidentWeightsTest {

    /** Hands out increasing addresses, tracks live bytes, and fails beyond a capacity like cuMemAlloc would. */
    static final class FakeMemory implements ResidentWeights.DeviceMemory {
        final Map<Long, Long> live = new HashMap<>();
        final long capacity;
        long next = 0x1000;

        FakeMemory(long capacity) { this.capacity = capacity; }

        @Override
        public long malloc(long bytes) {
            if (liveBytes() + bytes > capacity) throw MemoryExhaustedException.device(bytes, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (fake)");
            long p = next;
            next += bytes + 256;
            live.put(p, bytes);
            return p;
        }

        @Override
        public void free(long pointer) {
            assertTrue(live.remove(pointer) != null, "free of a pointer that is not live: " + pointer);
        }

        long liveBytes() { return live.values().stream().mapToLong(Long::longValue).sum(); }
    }

    private static Tensor weights(int n, float seed) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = seed + i * 0.25f;
        return Tensor.fromFloats(v, n);
    }

    private static ResidentWeights.Entry acquire(ResidentWeights r, Tensor t, AtomicInteger uploads) {
        return r.acquire(t, DType.F16, "", t.numel() * 2, p -> uploads.incrementAndGet());
    }

    @Test
    void aSecondPlanReusesTheDeviceCopy() {
        FakeMemory mem = new FakeMemory(1 << 20);
        ResidentWeights r = new ResidentWeights(mem, 1 << 20);
        Tensor w = weights(1000, 1f);
        AtomicInteger uploads = new AtomicInteger();
        ResidentWeights.Entry first = acquire(r, w, uploads);
        r.release(first);
        ResidentWeights.Entry second = acquire(r, w, uploads);
        assertEquals(1, uploads.get(), "uploaded again");
        assertEquals(first.pointer, second.pointer);
        assertEquals(2000, r.residentBytes());
        r.release(second);
        r.close();
        assertEquals(0, mem.liveBytes(), "close must free everything");
    }

    @Test
    void keyIncludesDeviceTypeAndLayout() {
        ResidentWeights r = new ResidentWeights(new FakeMemory(1 << 20), 1 << 20);
        Tensor w = weights(64, 2f);
        AtomicInteger uploads = new AtomicInteger();
        ResidentWeights.Entry f16 = r.acquire(w, DType.F16, "", 128, p -> uploads.incrementAndGet());
        ResidentWeights.Entry bf16 = r.acquire(w, DType.BF16, "", 128, p -> uploads.incrementAndGet());
        ResidentWeights.Entry taps = r.acquire(w, DType.F16, "taps3", 128, p -> uploads.incrementAndGet());
        assertEquals(3, uploads.get());
        assertNotEquals(f16.pointer, bf16.pointer);
        assertNotEquals(f16.pointer, taps.pointer);
        r.close();
    }

    @Test
    void aHostTensorRewrittenInPlaceIsUploadedAgain() {
        FakeMemory mem = new FakeMemory(1 << 20);
        ResidentWeights r = new ResidentWeights(mem, 1 << 20);
        Tensor w = weights(4096, 3f);
        AtomicInteger uploads = new AtomicInteger();
        r.release(acquire(r, w, uploads));
        for (long i = 0; i < w.numel(); i++) w.setFlat(i, -w.getFlat(i));
        ResidentWeights.Entry again = acquire(r, w, uploads);
        assertEquals(2, uploads.get(), "the stale copy was reused");
        assertEquals(8192, r.residentBytes(), "the stale copy was not freed");
        // rewritten while a plan still holds it: the holder keeps its copy, the newcomer gets a private one
        for (long i = 0; i < w.numel(); i++) w.setFlat(i, w.getFlat(i) + 1);
        ResidentWeights.Entry priv = acquire(r, w, uploads);
        assertEquals(3, uploads.get());
        assertNotEquals(again.pointer, priv.pointer);
        r.release(priv);
        assertEquals(8192, mem.liveBytes(), "a private copy is freed when released");
        r.release(again);
        r.close();
    }

    @Test
    void aClosedMappingIsNotMistakenForItsSuccessor() {
        FakeMemory mem = new FakeMemory(1 << 20);
        ResidentWeights r = new ResidentWeights(mem, 1 << 20);
        AtomicInteger uploads = new AtomicInteger();
        // the same host bytes (same address, same content) seen through a mapping that was closed and a new one
        java.lang.foreign.MemorySegment backing = Arena.global().allocate(512, 16);
        try (Arena first = Arena.ofConfined()) {
            Tensor w = Tensor.wrap(backing.reinterpret(first, null), DType.F16, 256);
            r.release(acquire(r, w, uploads));
        }
        try (Arena second = Arena.ofConfined()) {
            Tensor w = Tensor.wrap(backing.reinterpret(second, null), DType.F16, 256);
            r.release(acquire(r, w, uploads));
        }
        assertEquals(2, uploads.get());
        r.close();
        assertEquals(0, mem.liveBytes());
    }

    @Test
    void idleEntriesBeyondTheBudgetGoLeastRecentlyUsedFirst() {
        FakeMemory mem = new FakeMemory(1 << 20);
        ResidentWeights r = new ResidentWeights(mem, 5000);   // room for two idle 2000-byte copies
        Tensor a = weights(1000, 1f), b = weights(1000, 2f), c = weights(1000, 3f);
        AtomicInteger uploads = new AtomicInteger();
        ResidentWeights.Entry ea = acquire(r, a, uploads), eb = acquire(r, b, uploads), ec = acquire(r, c, uploads);
        r.release(ea);
        r.release(eb);
        assertEquals(6000, r.residentBytes(), "entries in use are never trimmed");
        r.release(ec);   // three idle: a, the least recently used, goes
        assertEquals(4000, r.residentBytes());
        r.release(acquire(r, b, uploads));
        r.release(acquire(r, c, uploads));
        assertEquals(3, uploads.get(), "b and c stayed resident");
        r.release(acquire(r, a, uploads));
        assertEquals(4, uploads.get(), "a had been evicted");
        r.close();
        assertEquals(0, mem.liveBytes());
    }

    @Test
    void activationsComeBeforeIdleWeights() {
        FakeMemory mem = new FakeMemory(10_000);
        ResidentWeights r = new ResidentWeights(mem, 1 << 20);
        AtomicInteger uploads = new AtomicInteger();
        ResidentWeights.Entry held = acquire(r, weights(1000, 1f), uploads);
        r.release(acquire(r, weights(1500, 2f), uploads));   // idle, 3000 bytes
        long arena = r.mallocEvicting(6000);                  // fits only once the idle copy is gone
        assertEquals(2000, r.residentBytes());
        assertThrows(MemoryExhaustedException.class, () -> r.mallocEvicting(4000), "held weights must not be freed");
        mem.free(arena);
        r.release(held);
        r.close();
        assertEquals(0, mem.liveBytes());
    }

    @Test
    void stridedViewsGetPrivateCopies() {
        FakeMemory mem = new FakeMemory(1 << 20);
        ResidentWeights r = new ResidentWeights(mem, 1 << 20);
        Tensor view = Tensor.fromFloats(new float[64], 8, 8).permute(1, 0);
        assertFalse(view.isContiguous());
        AtomicInteger uploads = new AtomicInteger();
        ResidentWeights.Entry e = r.acquire(view, DType.F16, "", 128, p -> uploads.incrementAndGet());
        assertEquals(0, r.residentBytes(), "a view has no stable identity: not shared");
        r.release(e);
        assertEquals(0, mem.liveBytes());
        r.close();
    }
    /** A finished stage gives its weights back (every layout of them) for a plan built ahead; weights in use stay. */
    @Test
    void releasingAStagesWeightsFreesTheirIdleCopiesOnly() {
        FakeMemory mem = new FakeMemory(1 << 20);
        ResidentWeights r = new ResidentWeights(mem, 1 << 20);
        Tensor text = weights(100, 1f), shared = weights(50, 2f), unet = weights(300, 3f);
        AtomicInteger uploads = new AtomicInteger();
        ResidentWeights.Entry plain = acquire(r, text, uploads);
        ResidentWeights.Entry repacked = r.acquire(text, DType.F16, "krsc", 200, p -> uploads.incrementAndGet());
        ResidentWeights.Entry inUse = acquire(r, shared, uploads);
        ResidentWeights.Entry other = acquire(r, unet, uploads);
        r.release(plain);
        r.release(repacked);
        r.release(other);   // idle too, but not asked for
        java.util.Set<Long> hosts = java.util.Set.of(text.contiguousSegment().address(), shared.contiguousSegment().address());
        assertEquals(200 + 200, r.releaseIdle(hosts), "both layouts of the text weight; the shared one is held by a plan");
        assertEquals(100 + 600, r.residentBytes());
        ResidentWeights.Entry again = acquire(r, text, uploads);
        assertEquals(5, uploads.get(), "taken again, it is uploaded again");
        r.release(again);
        r.release(inUse);
        r.close();
    }
}
