package dev.i2vgen.tensor;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Tensor#to} and {@link Tensor#contiguous} on views: every element where {@link Tensor#get} says it is. */
class TensorCopyTest {
    private static final SplittableRandom RND = new SplittableRandom(7);

    private static Tensor random(int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) RND.nextGaussian();
        return Tensor.fromFloats(v, shape);
    }

    /** The reference: element by element through the multi-index accessor. */
    private static float[] byIndex(Tensor t) {
        int[] shape = t.shape();
        float[] out = new float[(int) t.numel()];
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.get(idx);
            for (int d = shape.length - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
        }
        return out;
    }

    @RepeatedTest(20)
    void permutedAndSlicedViewsCopyEveryElement() {
        int rank = 2 + RND.nextInt(4);
        int[] shape = new int[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1 + RND.nextInt(6);
        Tensor t = random(shape);
        int[] perm = new int[rank];
        for (int i = 0; i < rank; i++) perm[i] = i;
        for (int i = rank - 1; i > 0; i--) {
            int j = RND.nextInt(i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        Tensor view = t.permute(perm);
        int axis = RND.nextInt(rank);
        if (view.dim(axis) > 1) view = view.slice(axis, 1, view.dim(axis));
        float[] expected = byIndex(view);
        assertArrayEquals(expected, view.contiguous().toFloatArray(), "contiguous() of " + view);
        Tensor half = view.to(DType.F16);
        assertTrue(half.isContiguous());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Half.f16ToFloat(Half.floatToF16(expected[i])), half.getFlat(i), "F16 copy element " + i);
        }
    }

    @Test
    void largeContiguousConversionsConvertEveryElement() {
        // > 1 M elements: converted in parallel ranges; an odd count so the ranges do not split evenly
        Tensor t = random(4, 349_527);
        Tensor half = t.to(DType.F16), bf16 = t.to(DType.BF16), back = half.to(DType.F32);
        for (long i = 0; i < t.numel(); i++) {
            float v = t.getFlat(i);
            assertEquals(Half.f16ToFloat(Half.floatToF16(v)), back.getFlat(i), "F16 round trip element " + i);
            assertEquals(Half.bf16ToFloat(Half.floatToBf16(v)), bf16.getFlat(i), "BF16 element " + i);
        }
        Tensor offsetView = t.slice(0, 1, 4);   // contiguous with an offset into its storage, also > 1 M elements
        float[] expected = byIndex(offsetView), got = offsetView.to(DType.F16).to(DType.F32).toFloatArray();
        for (int i = 0; i < expected.length; i++) expected[i] = Half.f16ToFloat(Half.floatToF16(expected[i]));
        assertArrayEquals(expected, got);
    }

    @Test
    void videoLayoutPermuteMatchesIndexing() {
        Tensor frames = random(2, 3, 4, 5, 6);   // [B, C, F, H, W] → [B, F, H, W, C], the frame post-processing layout
        Tensor hwc = frames.permute(0, 2, 3, 4, 1);
        assertArrayEquals(byIndex(hwc), hwc.contiguous().toFloatArray());
        Tensor large = random(4, 3, 301, 299).permute(0, 2, 3, 1).slice(1, 1, 300);   // > 1 M elements: copied in parallel
        assertArrayEquals(byIndex(large), large.contiguous().toFloatArray());
        Tensor one = random(1, 7).permute(1, 0);   // a view whose inner dimension has extent 1
        assertArrayEquals(byIndex(one), one.contiguous().toFloatArray());
    }
}
