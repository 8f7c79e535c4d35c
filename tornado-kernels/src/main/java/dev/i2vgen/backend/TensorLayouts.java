package dev.i2vgen.backend;

import dev.i2vgen.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Index arithmetic that device backends hand to their layout kernels: broadcast strides, permuted strides, and
 * concat/slice as copies of equal-length rows. Backend-neutral so that every backend lowers these ops the same way.
 */
public final class TensorLayouts {
    private TensorLayouts() {}

    /**
     * One strided block copy: for each of {@code rows} rows r, {@code length} contiguous elements from
     * {@code src[srcOffset + r·srcRow ...]} to {@code dst[dstOffset + r·dstRow ...]} (the {@code copy_rows} kernels).
     */
    public record RowCopy(long srcRow, long srcOffset, long dstRow, long dstOffset, long rows, long length) {}

    /**
     * An operand that broadcasts against an output as one value per row of {@code inner} output values, the row's
     * value at index (row / (period·repeat))·period + row % period: right-aligned to the output, its dims are the
     * output's (leading part), then ones ({@code repeat} = their output extent), then the output's again
     * ({@code period}), then ones ({@code inner}). [N, C, 1, 1] against [N, C, H, W]: repeat 1, period N·C (every
     * row its own value); [B, 1, C, 1, 1] against [B, F, C, H, W]: period C, repeat F, inner H·W.
     */
    public record RowBroadcast(long inner, long period, long repeat) {
        /** The operand element that output row {@code row} uses. */
        public long operandIndex(long row) { return (row / (period * repeat)) * period + row % period; }
    }

    /** The {@link RowBroadcast} of {@code operand} against {@code out}, or null for any other broadcast. */
    public static RowBroadcast rowBroadcast(int[] out, int[] operand) {
        int rank = out.length, off = rank - operand.length;
        if (off < 0) return null;
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = i < off ? 1 : operand[i - off];
        int last = -1;   // the last dim where the operand is not 1: everything after it is the row
        for (int i = 0; i < rank; i++) if (d[i] != 1) last = i;
        long inner = 1;
        for (int i = last + 1; i < rank; i++) inner *= out[i];
        // walking left from `last`: the period part (operand = output), then the repeat part (operand 1), then the
        // leading part (operand = output again); an output extent of 1 fits any part
        int i = last;
        long period = 1, repeat = 1, lead = 1;
        while (i >= 0 && d[i] == out[i]) period *= out[i--];
        while (i >= 0 && d[i] == 1) repeat *= out[i--];
        while (i >= 0 && d[i] == out[i]) lead *= out[i--];
        if (i >= 0) return null;
        return new RowBroadcast(inner, period * (repeat == 1 ? lead : 1), repeat);
    }

    /** Element strides of a tensor of {@code shape} aligned (right to left) to an output of {@code rank} dims, 0 where it broadcasts. */
    public static long[] broadcastStrides(int[] shape, int rank) {
        long[] s = new long[rank];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            int o = rank - shape.length + i;
            s[o] = shape[i] == 1 ? 0 : acc;
            acc *= shape[i];
        }
        return s;
    }

    /** Strides into a contiguous input of {@code inShape} for each output axis of its permutation by {@code perm}. */
    public static long[] permutedStrides(int[] inShape, int[] perm) {
        long[] inStrides = Tensor.contiguousStrides(inShape);
        long[] strides = new long[perm.length];
        for (int i = 0; i < perm.length; i++) strides[i] = inStrides[perm[i]];
        return strides;
    }

    /** Concat along {@code axis} (negative counts from the end): one row copy per part, in order, into the output. */
    public static List<RowCopy> concatRows(int[] outShape, List<int[]> partShapes, int axis) {
        int ax = axis < 0 ? axis + outShape.length : axis;
        long outer = outer(outShape, ax), inner = inner(outShape, ax);
        long offset = 0, outRow = outShape[ax] * inner;
        List<RowCopy> copies = new ArrayList<>(partShapes.size());
        for (int[] part : partShapes) {
            long len = part[ax] * inner;
            copies.add(new RowCopy(len, 0, outRow, offset, outer, len));
            offset += len;
        }
        return copies;
    }

    /** Slice [start, end) along {@code axis} (negative counts from the end) of a contiguous input, as one row copy. */
    public static RowCopy sliceRows(int[] inShape, int axis, int start, int end) {
        int ax = axis < 0 ? axis + inShape.length : axis;
        long outer = outer(inShape, ax), inner = inner(inShape, ax);
        long len = (long) (end - start) * inner;
        return new RowCopy(inShape[ax] * inner, start * inner, len, 0, outer, len);
    }

    /** Product of the dims before {@code axis}. */
    private static long outer(int[] shape, int axis) {
        long outer = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        return outer;
    }

    /** Product of the dims after {@code axis}. */
    private static long inner(int[] shape, int axis) {
        long inner = 1;
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        return inner;
    }
}
