package dev.i2vgen.backend.jvm;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Half;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Host tensors into F32 buffers, and results rounded to a 16-bit storage precision. */
final class HostTransfer {
    private HostTransfer() {}

    private static final ValueLayout.OfShort BITS = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(F32.ORDER);

    /** Copies {@code t} (any dtype, any strides) into {@code dst} as contiguous F32. */
    static void toF32(Tensor t, MemorySegment dst) {
        long n = t.numel();
        if (t.dtype() == DType.F32 && t.isContiguous()) {
            MemorySegment.copy(t.contiguousSegment(), 0, dst, 0, n * 4);
            return;
        }
        if ((t.dtype() == DType.F16 || t.dtype() == DType.BF16) && t.isContiguous()) {
            MemorySegment src = t.contiguousSegment();
            boolean f16 = t.dtype() == DType.F16;
            Parallel.forLongRange(n, 1 << 16, (a, b) -> {
                for (long i = a; i < b; i++) {
                    short bits = src.getAtIndex(BITS, i);
                    F32.set(dst, i, f16 ? Half.f16ToFloat(bits) : Half.bf16ToFloat(bits));
                }
            });
            return;
        }
        for (long i = 0; i < n; i++) F32.set(dst, i, t.getFlat(i));
    }

    /** Rounds every value in place to F16 or BF16 precision (the graph's storage type). */
    static void roundTo(DType dt, MemorySegment s, long n) {
        Parallel.forLongRange(n, 1 << 15, (a, b) -> {
            for (long i = a; i < b; i++) {
                float x = F32.get(s, i);
                F32.set(s, i, dt == DType.F16 ? Half.f16ToFloat(Half.floatToF16(x)) : Half.bf16ToFloat(Half.floatToBf16(x)));
            }
        });
    }
}
