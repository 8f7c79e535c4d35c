package dev.i2vgen.backend.jvm;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * F32 views of weights, shared by all plans of one backend: F32 contiguous tensors are used where
 * they lie (mmap'd safetensors stay zero-copy); F16/BF16 (or strided) tensors are widened once into
 * off-heap memory owned by the backend, so compiling several graphs over the same weights (text
 * encoder, UNet, VAE; or one graph per resolution) does not widen them again.
 */
final class WidenedConstants implements AutoCloseable {
    /** Identifies a weight by where its bytes are, not by which Tensor object wraps them. */
    private record Key(long address, long byteOffset, DType dtype, long numel) {}

    private final Arena arena = Arena.ofShared();
    /** The source is held so that its memory (and so its address) cannot be reused while cached. */
    private record Entry(Tensor source, MemorySegment f32) {}

    private final ConcurrentHashMap<Key, Entry> widened = new ConcurrentHashMap<>();

    MemorySegment f32(Tensor t) {
        if (t.dtype() == DType.F32 && t.isContiguous()) return t.contiguousSegment();
        if (!t.isContiguous()) return widen(t);
        Key key = new Key(t.segment().address(), t.offset() * t.dtype().byteSize(), t.dtype(), t.numel());
        // a closed source (e.g. a closed safetensors file) may have had its address reused: widen again
        return widened.compute(key, (k, e) -> e != null && e.source().segment().scope().isAlive() ? e : new Entry(t, widen(t))).f32();
    }

    private MemorySegment widen(Tensor t) {
        MemorySegment copy;
        synchronized (arena) {
            copy = arena.allocate(Math.max(t.numel() * 4, 4), 64);
        }
        HostTransfer.toF32(t, copy);
        return copy;
    }

    long widenedBytes() { return widened.values().stream().mapToLong(e -> e.f32().byteSize()).sum(); }

    @Override
    public void close() {
        widened.clear();
        arena.close();
    }
}
