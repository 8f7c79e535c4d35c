package dev.i2vgen.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A host tensor: an off-heap {@link MemorySegment} seen through a dtype, a shape and element strides.
 * Views (reshape of contiguous data, permute, slice) share the segment; nothing is copied until
 * {@link #contiguous()} or {@link #to(DType)} is asked for. Data is little-endian, as in safetensors.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    /** Computed once: the element accessors ask for every element. */
    private final boolean contiguous;

    private Tensor(MemorySegment data, DType dtype, int[] shape, long[] strides, long offset) {
        this.data = data;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.contiguous = Arrays.equals(strides, contiguousStrides(shape)) || numel(shape) <= 1;
    }

    /** A contiguous view of {@code data} (which must hold exactly numel × itemsize bytes or more). */
    public static Tensor wrap(MemorySegment data, DType dtype, int... shape) {
        long need = numel(shape) * dtype.byteSize();
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is too small for "
                    + dtype + Arrays.toString(shape) + " (" + need + " bytes)");
        }
        return new Tensor(data, dtype, shape.clone(), contiguousStrides(shape), 0);
    }

    /** A new zero-filled contiguous tensor, freed by the garbage collector. */
    public static Tensor allocate(DType dtype, int... shape) {
        long bytes = numel(shape) * dtype.byteSize();
        return wrap(HostMemory.allocate(Arena.ofAuto(), Math.max(bytes, 1), 64, () -> "a tensor " + dtype + Arrays.toString(shape)), dtype, shape);
    }

    public static Tensor fromFloats(float[] values, int... shape) {
        if (values.length != numel(shape)) {
            throw new IllegalArgumentException(values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        Tensor t = allocate(DType.F32, shape);
        MemorySegment.copy(values, 0, t.data, F32, 0, values.length);
        return t;
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    public static long[] contiguousStrides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    public DType dtype() { return dtype; }

    public int[] shape() { return shape.clone(); }

    public int dim(int axis) { return shape[axis < 0 ? shape.length + axis : axis]; }

    public int rank() { return shape.length; }

    public long[] strides() { return strides.clone(); }

    /** Offset of element [0,…,0] in elements from the start of {@link #segment()}. */
    public long offset() { return offset; }

    /** The whole backing segment (views share it; use {@link #offset()} and {@link #strides()}). */
    public MemorySegment segment() { return data; }

    public long numel() { return numel(shape); }

    public long byteSize() { return numel() * dtype.byteSize(); }

    public boolean isContiguous() {
        return contiguous;
    }

    /** The bytes of a contiguous tensor, exactly numel × itemsize long. */
    public MemorySegment contiguousSegment() {
        if (!isContiguous()) throw new IllegalStateException("tensor is not contiguous; call contiguous() first");
        return data.asSlice(offset * dtype.byteSize(), byteSize());
    }

    // ---- element access (slow path: tests, small host-side work) ----

    private long elementIndex(long flat) {
        if (isContiguous()) return offset + flat;
        long idx = offset;
        for (int i = shape.length - 1; i >= 0; i--) {
            long c = flat % shape[i];
            flat /= shape[i];
            idx += c * strides[i];
        }
        return idx;
    }

    /** Element at row-major position {@code flat} of the logical shape, converted to float. */
    public float getFlat(long flat) {
        long e = elementIndex(flat);
        return readAsFloat(e);
    }

    public void setFlat(long flat, float v) {
        long e = elementIndex(flat);
        writeFromFloat(e, v);
    }

    public float get(int... index) {
        if (index.length != shape.length) throw new IllegalArgumentException("index rank " + index.length + " != " + shape.length);
        long e = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) throw new IndexOutOfBoundsException(Arrays.toString(index) + " in " + Arrays.toString(shape));
            e += index[i] * strides[i];
        }
        return readAsFloat(e);
    }

    private float readAsFloat(long e) {
        return switch (dtype) {
            case F32 -> data.get(F32, e * 4);
            case F16 -> Half.f16ToFloat(data.get(I16, e * 2));
            case BF16 -> Half.bf16ToFloat(data.get(I16, e * 2));
            case F64 -> (float) data.get(F64, e * 8);
            case I64 -> (float) data.get(I64, e * 8);
            case I32 -> (float) data.get(I32, e * 4);
            case I16 -> data.get(I16, e * 2);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, e);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, e) & 0xff;
        };
    }

    private void writeFromFloat(long e, float v) {
        switch (dtype) {
            case F32 -> data.set(F32, e * 4, v);
            case F16 -> data.set(I16, e * 2, Half.floatToF16(v));
            case BF16 -> data.set(I16, e * 2, Half.floatToBf16(v));
            case F64 -> data.set(F64, e * 8, v);
            case I64 -> data.set(I64, e * 8, (long) v);
            case I32 -> data.set(I32, e * 4, (int) v);
            case I16 -> data.set(I16, e * 2, (short) v);
            case I8, U8, BOOL -> data.set(ValueLayout.JAVA_BYTE, e, (byte) v);
        }
    }

    /** All elements in row-major order as floats (converting from the storage dtype). */
    public float[] toFloatArray() {
        float[] out = HostMemory.floats(numel(), () -> "a float copy of tensor " + dtype + Arrays.toString(shape));
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(data, F32, offset * 4, out, 0, out.length);
            return out;
        }
        for (int i = 0; i < out.length; i++) out[i] = getFlat(i);
        return out;
    }

    // ---- views and copies ----

    /** A view with a new shape; requires contiguous data (one dimension may be -1). */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one -1 allowed in " + Arrays.toString(newShape));
                infer = i;
            } else known *= s[i];
        }
        if (infer >= 0) s[infer] = (int) (numel() / Math.max(known, 1));
        if (numel(s) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        Tensor base = isContiguous() ? this : contiguous();
        return new Tensor(base.data, dtype, s, contiguousStrides(s), base.offset);
    }

    /** A view with permuted axes: result axis i is this tensor's axis perm[i]. */
    public Tensor permute(int... perm) {
        if (perm.length != shape.length) throw new IllegalArgumentException("permutation " + Arrays.toString(perm) + " for rank " + shape.length);
        int[] s = new int[perm.length];
        long[] st = new long[perm.length];
        boolean[] seen = new boolean[perm.length];
        for (int i = 0; i < perm.length; i++) {
            if (seen[perm[i]]) throw new IllegalArgumentException("not a permutation: " + Arrays.toString(perm));
            seen[perm[i]] = true;
            s[i] = shape[perm[i]];
            st[i] = strides[perm[i]];
        }
        return new Tensor(data, dtype, s, st, offset);
    }

    /** A view of [start, end) along {@code axis}. */
    public Tensor slice(int axis, int start, int end) {
        if (axis < 0) axis += shape.length;
        if (start < 0 || end > shape[axis] || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + "," + end + ") of axis " + axis + " with size " + shape[axis]);
        }
        int[] s = shape.clone();
        s[axis] = end - start;
        return new Tensor(data, dtype, s, strides.clone(), offset + start * strides[axis]);
    }

    /** This tensor if contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        if (isContiguous()) return this;
        return to(dtype);
    }

    /** A contiguous copy converted to {@code target}. */
    public Tensor to(DType target) {
        Tensor out = allocate(target, shape);
        if (target == dtype && isContiguous()) {
            MemorySegment.copy(data, offset * dtype.byteSize(), out.data, 0, byteSize());
            return out;
        }
        long n = numel();
        if (contiguous) {   // no index decoding: element i of both is at its flat position; large ones over the common
            // pool (a 0.6 G-element fp16 read-back converted on one thread took ~10 s)
            int parts = n < (1 << 20) ? 1 : 4 * Runtime.getRuntime().availableProcessors();
            java.util.stream.IntStream.range(0, parts).parallel().forEach(p -> {
                for (long i = n * p / parts, end = n * (p + 1) / parts; i < end; i++) out.writeFromFloat(i, readAsFloat(offset + i));
            });
            return out;
        }
        if (n == 0) return out;
        // strided: walk the source with an odometer over the outer dimensions, the innermost one as a tight loop
        // (a division per dimension per element made permuted copies of decoded videos take seconds); large
        // copies are split into row ranges over the common pool
        long rows = n / shape[shape.length - 1];
        int parts = n < (1 << 20) ? 1 : (int) Math.min(rows, 4L * Runtime.getRuntime().availableProcessors());
        if (parts == 1) {
            copyRows(out, 0, rows);
        } else {
            java.util.stream.IntStream.range(0, parts).parallel()
                    .forEach(p -> copyRows(out, rows * p / parts, rows * (p + 1) / parts));
        }
        return out;
    }

    /** Rows [from, to) of the logical shape (innermost dimension = one row) into the contiguous {@code out}. */
    private void copyRows(Tensor out, long from, long to) {
        int r = shape.length, inner = shape[r - 1];
        long innerStride = strides[r - 1], src = offset, dst = from * inner;
        int[] idx = new int[r];
        long rest = from;
        for (int d = r - 2; d >= 0; d--) {   // the start row's multi-index, once per range
            idx[d] = (int) (rest % shape[d]);
            rest /= shape[d];
            src += idx[d] * strides[d];
        }
        for (long row = from; row < to; row++) {
            long e = src;
            for (int j = 0; j < inner; j++, e += innerStride) out.writeFromFloat(dst++, readAsFloat(e));
            for (int d = r - 2; d >= 0; d--) {
                src += strides[d];
                if (++idx[d] < shape[d]) break;
                src -= (long) shape[d] * strides[d];
                idx[d] = 0;
            }
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + (isContiguous() ? "" : " (strided)");
    }
}
