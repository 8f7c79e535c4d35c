package dev.i2vgen.backend;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CollapsedPermute}: executing its plan element by element (what the row-copy and tiled-transpose kernels do)
 * must write every output element exactly once with the element the permutation puts there; and the permutations the
 * model issues must collapse to the fast cases.
 */
class CollapsedPermuteTest {
    private static int seed = 1;

    @RepeatedTest(200)
    void planMovesEveryElementWhereThePermutationPutsIt() {
        Random rnd = new Random(seed++);
        int rank = 1 + rnd.nextInt(6);
        int[] in = new int[rank];
        for (int i = 0; i < rank; i++) in[i] = rnd.nextInt(4) == 0 ? 1 : 1 + rnd.nextInt(5);
        int[] perm = randomPermutation(rnd, rank);
        check(in, perm);
    }

    @Test
    void modelPermutationsCollapseToRowCopiesOrTransposes() {
        // TemporalTransformer / TemporalConvLayer / UNet in-out: [B, F, C, H, W] → [B, C, F, H, W]: rows of H·W
        assertRows(new int[]{2, 16, 320, 88, 160}, new int[]{0, 2, 1, 3, 4}, 2 * 320 * 16, 14080,
                new long[]{2, 320, 16}, new long[]{16 * 320 * 14080L, 14080, 320 * 14080});
        // SpatialTransformer in: [N, C, H, W] → [N, H, W, C]
        assertTranspose(new int[]{32, 320, 88, 160}, new int[]{0, 2, 3, 1}, 14080, 320, 14080, 320,
                new long[]{32}, new long[]{320 * 14080L}, new long[]{320 * 14080L});
        // SpatialTransformer out: [N, H, W, C] → [N, C, H, W]
        assertTranspose(new int[]{32, 11, 20, 1280}, new int[]{0, 3, 1, 2}, 1280, 220, 1280, 220,
                new long[]{32}, new long[]{220 * 1280L}, new long[]{220 * 1280L});
        // TemporalTransformer: [B, C, F, H, W] → [B, H, W, F, C]: transpose C ↔ H·W with F as a batch axis in the middle
        assertTranspose(new int[]{2, 320, 16, 88, 160}, new int[]{0, 3, 4, 2, 1}, 14080, 320, 16 * 14080, 16 * 320,
                new long[]{2, 16}, new long[]{320 * 16 * 14080L, 14080}, new long[]{14080 * 16 * 320L, 320});
        // and back: [B, H, W, F, C] → [B, F, C, H, W]: F·C merges into one axis
        assertTranspose(new int[]{2, 88, 160, 16, 320}, new int[]{0, 3, 4, 1, 2}, 16 * 320, 14080, 16 * 320, 14080,
                new long[]{2}, new long[]{14080 * 16 * 320L}, new long[]{14080 * 16 * 320L});
        // VAE attention / CLIP patches: [N, C, HW] → [N, HW, C]; AdaptiveAvgPool: [N, C, H, W] → [N, C, W, H]
        assertTranspose(new int[]{1, 512, 14080}, new int[]{0, 2, 1}, 14080, 512, 14080, 512, new long[0], new long[0], new long[0]);
        assertTranspose(new int[]{2, 4, 11, 20}, new int[]{0, 1, 3, 2}, 20, 11, 20, 11,
                new long[]{8}, new long[]{220}, new long[]{220});
        int[][][] model = {
                {{2, 16, 320, 88, 160}, {0, 2, 1, 3, 4}}, {{32, 320, 88, 160}, {0, 2, 3, 1}}, {{32, 88, 160, 320}, {0, 3, 1, 2}},
                {{2, 320, 16, 88, 160}, {0, 3, 4, 2, 1}}, {{2, 88, 160, 16, 320}, {0, 3, 4, 1, 2}}, {{1, 512, 14080}, {0, 2, 1}},
                {{2, 4, 16, 88, 160}, {0, 2, 1, 3, 4}}, {{2, 16, 4, 88, 160}, {0, 3, 4, 1, 2}}, {{32, 4, 88, 160}, {0, 2, 3, 1}}};
        for (int[][] c : model) {
            CollapsedPermute.Plan p = CollapsedPermute.plan(c[0], c[1]);
            boolean fast = p instanceof CollapsedPermute.Rows r ? r.length() >= 32 : ((CollapsedPermute.Transpose) p).a() >= 4 && ((CollapsedPermute.Transpose) p).b() >= 4;
            assertTrue(fast, Arrays.toString(c[0]) + " " + Arrays.toString(c[1]) + " → " + p);
        }
    }

    @Test
    void collapseDropsUnitAxesAndMergesAdjacentOnes() {
        CollapsedPermute.Collapsed c = CollapsedPermute.collapse(new int[]{2, 1, 3, 4, 5}, new int[]{1, 0, 3, 4, 2});
        assertArrayEquals(new long[]{2, 3, 20}, c.inDims());
        assertArrayEquals(new int[]{0, 2, 1}, c.perm());
        CollapsedPermute.Collapsed id = CollapsedPermute.collapse(new int[]{2, 3, 4}, new int[]{0, 1, 2});
        assertArrayEquals(new long[]{24}, id.inDims());
        CollapsedPermute.Collapsed ones = CollapsedPermute.collapse(new int[]{1, 1}, new int[]{1, 0});
        assertArrayEquals(new long[]{1}, ones.inDims());
        // the identity (and any permutation of unit axes) is one row
        CollapsedPermute.Rows r = assertInstanceOf(CollapsedPermute.Rows.class, CollapsedPermute.plan(new int[]{3, 1, 5}, new int[]{1, 0, 2}));
        assertEquals(1, r.rows());
        assertEquals(15, r.length());
    }

    private static void assertRows(int[] in, int[] perm, long rows, long length, long[] dims, long[] strides) {
        CollapsedPermute.Rows r = assertInstanceOf(CollapsedPermute.Rows.class, CollapsedPermute.plan(in, perm));
        assertEquals(rows, r.rows());
        assertEquals(length, r.length());
        assertArrayEquals(dims, r.batchDims());
        assertArrayEquals(strides, r.batchInStrides());
    }

    private static void assertTranspose(int[] in, int[] perm, long a, long b, long inStrideB, long outStrideA,
                                        long[] dims, long[] inStrides, long[] outStrides) {
        CollapsedPermute.Transpose t = assertInstanceOf(CollapsedPermute.Transpose.class, CollapsedPermute.plan(in, perm));
        assertEquals(a, t.a(), "a");
        assertEquals(b, t.b(), "b");
        assertEquals(inStrideB, t.inStrideB(), "inStrideB");
        assertEquals(outStrideA, t.outStrideA(), "outStrideA");
        assertArrayEquals(dims, t.batchDims(), "batch dims");
        assertArrayEquals(inStrides, t.batchInStrides(), "batch in strides");
        assertArrayEquals(outStrides, t.batchOutStrides(), "batch out strides");
    }

    /** Runs the plan like the kernels do and compares with the permutation computed per output multi-index. */
    private static void check(int[] in, int[] perm) {
        int n = (int) dev.i2vgen.tensor.Tensor.numel(in);
        int[] outShape = new int[in.length];
        for (int i = 0; i < in.length; i++) outShape[i] = in[perm[i]];
        long[] strides = TensorLayouts.permutedStrides(in, perm);
        int[] expected = new int[n];   // the input flat index each output element comes from
        for (int o = 0; o < n; o++) {
            long rest = o, src = 0;
            for (int d = outShape.length - 1; d >= 0; d--) {
                src += rest % outShape[d] * strides[d];
                rest /= outShape[d];
            }
            expected[o] = (int) src;
        }
        int[] actual = new int[n];
        Arrays.fill(actual, -1);
        String what = Arrays.toString(in) + " perm " + Arrays.toString(perm);
        CollapsedPermute.Plan plan = CollapsedPermute.plan(in, perm);
        switch (plan) {
            case CollapsedPermute.Rows r -> {
                assertEquals(n, r.rows() * r.length(), what);
                for (long row = 0; row < r.rows(); row++) {
                    long src = offset(row, r.batchDims(), r.batchInStrides());
                    for (long j = 0; j < r.length(); j++) write(actual, row * r.length() + j, src + j, what);
                }
            }
            case CollapsedPermute.Transpose t -> {
                long batches = 1;
                for (long d : t.batchDims()) batches *= d;
                assertEquals(n, batches * t.a() * t.b(), what);
                for (long bi = 0; bi < batches; bi++) {
                    long inOff = offset(bi, t.batchDims(), t.batchInStrides()), outOff = offset(bi, t.batchDims(), t.batchOutStrides());
                    for (long i = 0; i < t.a(); i++)
                        for (long j = 0; j < t.b(); j++) write(actual, outOff + i * t.outStrideA() + j, inOff + i + j * t.inStrideB(), what);
                }
            }
        }
        assertArrayEquals(expected, actual, what + " → " + plan);
    }

    private static void write(int[] out, long dst, long src, String what) {
        assertTrue(dst >= 0 && dst < out.length && out[(int) dst] == -1, what + ": output " + dst + " written twice or out of range");
        out[(int) dst] = (int) src;
    }

    /** Σ index·strides for the row-major multi-index of {@code flat} over {@code dims}. */
    private static long offset(long flat, long[] dims, long[] strides) {
        long off = 0;
        for (int d = dims.length - 1; d >= 0; d--) {
            off += flat % dims[d] * strides[d];
            flat /= dims[d];
        }
        return off;
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
}
