package dev.i2vgen.backend;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TensorLayouts} on random shapes against a direct computation: every element located through the
 * helper's strides or row copies must land where walking the multi-index in row-major order puts it.
 */
class TensorLayoutsTest {
    private static int seed = 1;

    @RepeatedTest(30)
    void broadcastStridesLocateTheBroadcastElement() {
        Random rnd = new Random(seed++);
        int[] out = randomShape(rnd, 1 + rnd.nextInt(5));
        int rank = rnd.nextInt(out.length + 1);          // operand aligned to the last dims of the output
        int[] operand = new int[rank];
        for (int i = 0; i < rank; i++) operand[i] = rnd.nextInt(3) == 0 ? 1 : out[out.length - rank + i];
        long[] strides = TensorLayouts.broadcastStrides(operand, out.length);
        assertEquals(out.length, strides.length);
        for (long flat = 0; flat < numel(out); flat++) {
            int[] idx = unravel(flat, out);
            int[] opIdx = new int[rank];   // numpy broadcasting: a dim of 1 always reads its index 0
            for (int i = 0; i < rank; i++) opIdx[i] = operand[i] == 1 ? 0 : idx[out.length - rank + i];
            assertEquals(ravel(opIdx, operand), dot(idx, strides), () -> "at " + List.of(idx));
        }
    }

    @RepeatedTest(30)
    void permutedStridesGatherThePermutedElement() {
        Random rnd = new Random(100 + seed++);
        int[] in = randomShape(rnd, 1 + rnd.nextInt(5));
        int[] perm = randomPermutation(rnd, in.length);
        int[] outShape = new int[in.length];
        for (int i = 0; i < in.length; i++) outShape[i] = in[perm[i]];
        long[] strides = TensorLayouts.permutedStrides(in, perm);
        for (long flat = 0; flat < numel(outShape); flat++) {
            int[] idx = unravel(flat, outShape);
            int[] inIdx = new int[in.length];   // out[i0..] = in[..] with in axis perm[k] at idx[k]
            for (int k = 0; k < in.length; k++) inIdx[perm[k]] = idx[k];
            assertEquals(ravel(inIdx, in), dot(idx, strides));
        }
    }

    @RepeatedTest(30)
    void concatRowsBuildTheConcatenation() {
        Random rnd = new Random(200 + seed++);
        int[] base = randomShape(rnd, 1 + rnd.nextInt(4));
        int axis = rnd.nextInt(base.length);
        List<int[]> parts = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        int total = 0;
        for (int p = 0, n = 1 + rnd.nextInt(3); p < n; p++) {
            int[] s = base.clone();
            s[axis] = 1 + rnd.nextInt(4);
            total += s[axis];
            parts.add(s);
            data.add(randomFloats(rnd, (int) numel(s)));
        }
        int[] out = base.clone();
        out[axis] = total;
        float[] expected = new float[(int) numel(out)];
        for (long flat = 0; flat < expected.length; flat++) {
            int[] idx = unravel(flat, out);
            int p = 0;
            while (idx[axis] >= parts.get(p)[axis]) idx[axis] -= parts.get(p++)[axis];
            expected[(int) flat] = data.get(p)[(int) ravel(idx, parts.get(p))];
        }
        int givenAxis = rnd.nextBoolean() ? axis : axis - out.length;   // negative axes count from the end
        List<TensorLayouts.RowCopy> copies = TensorLayouts.concatRows(out, parts, givenAxis);
        assertEquals(parts.size(), copies.size());
        float[] actual = new float[expected.length];
        for (int p = 0; p < parts.size(); p++) apply(copies.get(p), data.get(p), actual);
        assertArrayEquals(expected, actual);
    }

    @RepeatedTest(30)
    void sliceRowsCutTheSlice() {
        Random rnd = new Random(300 + seed++);
        int[] in = randomShape(rnd, 1 + rnd.nextInt(4));
        int axis = rnd.nextInt(in.length);
        int start = rnd.nextInt(in[axis]), end = start + 1 + rnd.nextInt(in[axis] - start);
        float[] x = randomFloats(rnd, (int) numel(in));
        int[] out = in.clone();
        out[axis] = end - start;
        float[] expected = new float[(int) numel(out)];
        for (long flat = 0; flat < expected.length; flat++) {
            int[] idx = unravel(flat, out);
            idx[axis] += start;
            expected[(int) flat] = x[(int) ravel(idx, in)];
        }
        int givenAxis = rnd.nextBoolean() ? axis : axis - in.length;
        float[] actual = new float[expected.length];
        apply(TensorLayouts.sliceRows(in, givenAxis, start, end), x, actual);
        assertArrayEquals(expected, actual);
    }

    @Test
    void rowCopiesOfAConcatTileTheOutput() {
        // [2, 3+1, 5] along axis 1: rows of 15 and 5 elements, interleaved in output rows of 20
        List<TensorLayouts.RowCopy> c = TensorLayouts.concatRows(new int[]{2, 4, 5}, List.of(new int[]{2, 3, 5}, new int[]{2, 1, 5}), 1);
        assertEquals(new TensorLayouts.RowCopy(15, 0, 20, 0, 2, 15), c.get(0));
        assertEquals(new TensorLayouts.RowCopy(5, 0, 20, 15, 2, 5), c.get(1));
    }

    /** What the copy_rows kernels do. */
    private static void apply(TensorLayouts.RowCopy c, float[] src, float[] dst) {
        for (long r = 0; r < c.rows(); r++)
            for (long j = 0; j < c.length(); j++)
                dst[(int) (c.dstOffset() + r * c.dstRow() + j)] = src[(int) (c.srcOffset() + r * c.srcRow() + j)];
    }

    private static int[] randomShape(Random rnd, int rank) {
        int[] s = new int[rank];
        for (int i = 0; i < rank; i++) s[i] = 1 + rnd.nextInt(4);
        return s;
    }

    private static int[] randomPermutation(Random rnd, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static float[] randomFloats(Random rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
        return f;
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    private static int[] unravel(long flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = (int) (flat % shape[i]);
            flat /= shape[i];
        }
        return idx;
    }

    private static long ravel(int[] idx, int[] shape) {
        long flat = 0;
        for (int i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
        return flat;
    }

    private static long dot(int[] idx, long[] strides) {
        long s = 0;
        for (int i = 0; i < idx.length; i++) s += idx[i] * strides[i];
        return s;
    }

    @Test
    void rowBroadcastShapes() {
        assertEquals(new TensorLayouts.RowBroadcast(88 * 160, 32 * 320, 1),
                TensorLayouts.rowBroadcast(new int[]{32, 320, 88, 160}, new int[]{32, 320, 1, 1}));
        assertEquals(new TensorLayouts.RowBroadcast(88 * 160, 320, 16),   // the resnets' temb over [B, F, C, H, W]
                TensorLayouts.rowBroadcast(new int[]{2, 16, 320, 88, 160}, new int[]{2, 1, 320, 1, 1}));
        assertEquals(new TensorLayouts.RowBroadcast(24, 1, 1), TensorLayouts.rowBroadcast(new int[]{2, 3, 4}, new int[]{1}));
        assertEquals(new TensorLayouts.RowBroadcast(128, 5, 4), TensorLayouts.rowBroadcast(new int[]{4, 5, 8, 16}, new int[]{1, 5, 1, 1}));
        assertEquals(null, TensorLayouts.rowBroadcast(new int[]{2, 16, 32, 8, 8}, new int[]{2, 1, 32, 1, 8}), "two broadcast gaps");
        assertEquals(null, TensorLayouts.rowBroadcast(new int[]{4, 8}, new int[]{2, 4, 8}), "operand of higher rank");
        assertEquals(null, TensorLayouts.rowBroadcast(new int[]{4, 5}, new int[]{2, 5}), "not a broadcast");
    }

    /** operandIndex agrees with plain broadcasting (broadcastStrides) on every element of random shapes. */
    @Test
    void rowBroadcastIndexMatchesBroadcastStrides() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        int checked = 0;
        for (int trial = 0; trial < 400; trial++) {
            int rank = 1 + rnd.nextInt(5);
            int[] out = new int[rank], op = new int[rank - rnd.nextInt(rank)];
            for (int i = 0; i < rank; i++) out[i] = 1 + rnd.nextInt(4);
            for (int i = 0; i < op.length; i++) op[i] = rnd.nextInt(3) == 0 ? 1 : out[rank - op.length + i];
            TensorLayouts.RowBroadcast rb = TensorLayouts.rowBroadcast(out, op);
            if (rb == null) continue;
            long[] strides = TensorLayouts.broadcastStrides(op, rank);
            long n = 1;
            for (int d : out) n *= d;
            for (long flat = 0; flat < n; flat++) {
                long rest = flat, idx = 0;
                for (int d = rank - 1; d >= 0; d--) {
                    idx += (rest % out[d]) * strides[d];
                    rest /= out[d];
                }
                assertEquals(idx, rb.operandIndex(flat / rb.inner()), java.util.Arrays.toString(out) + " vs " + java.util.Arrays.toString(op) + " at " + flat);
            }
            checked++;
        }
        assertTrue(checked > 100, "too few row broadcasts among the random shapes: " + checked);
    }
}
