package dev.i2vgen.backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A permutation of a contiguous tensor reduced to the copy it really is: size-1 axes dropped and input axes that stay
 * adjacent and in order in the output merged into one. The UNet's {@code [B, F, C, H, W] → [B, C, F, H, W]} then is a
 * copy of H·W-element rows ({@link Rows}), and {@code [N, C, H, W] → [N, H, W, C]} a batched 2-D transpose of
 * C × H·W matrices ({@link Transpose}), so device backends can use a row-copy or a tiled-transpose kernel instead of
 * decoding a rank-n index per element.
 */
public final class CollapsedPermute {
    private CollapsedPermute() {}

    /** The input's collapsed dims and the permutation of them (output axis i is collapsed input axis perm[i]). */
    public record Collapsed(long[] inDims, int[] perm) {
        @Override public String toString() { return "Collapsed" + Arrays.toString(inDims) + " perm " + Arrays.toString(perm); }
    }

    /** How to move the elements: one of {@link Rows} or {@link Transpose}. */
    public sealed interface Plan permits Rows, Transpose {}

    /**
     * The output is {@code rows} rows of {@code length} elements, each a contiguous run of the input too. Row r (the
     * row-major multi-index over {@code batchDims}, the output's dims before the run) starts in the input at
     * Σ index·{@code batchInStrides}. An identity permutation is one row.
     */
    public record Rows(long rows, long length, long[] batchDims, long[] batchInStrides) implements Plan {
        @Override public String toString() {
            return "Rows[" + rows + " x " + length + ", batch " + Arrays.toString(batchDims) + " in " + Arrays.toString(batchInStrides) + "]";
        }
    }

    /**
     * A batched 2-D transpose: axis A is the input's contiguous axis (extent {@code a}, stride {@code outStrideA} in the
     * output), axis B the output's contiguous axis (extent {@code b}, stride {@code inStrideB} in the input). The other
     * output axes, in output order, are batch axes with their strides in both tensors: element (batch, i, j) moves from
     * {@code in[Σ batch·batchInStrides + i + j·inStrideB]} to {@code out[Σ batch·batchOutStrides + i·outStrideA + j]}.
     */
    public record Transpose(long a, long b, long inStrideB, long outStrideA,
                            long[] batchDims, long[] batchInStrides, long[] batchOutStrides) implements Plan {
        @Override public String toString() {
            return "Transpose[a " + a + ", b " + b + ", inStrideB " + inStrideB + ", outStrideA " + outStrideA + ", batch "
                    + Arrays.toString(batchDims) + " in " + Arrays.toString(batchInStrides) + " out " + Arrays.toString(batchOutStrides) + "]";
        }
    }

    /** Drops size-1 axes and merges input axes that stay adjacent and in order; at least one axis remains. */
    public static Collapsed collapse(int[] inShape, int[] perm) {
        if (perm.length != inShape.length) throw new IllegalArgumentException("permutation " + Arrays.toString(perm) + " for rank " + inShape.length);
        int[] renumber = new int[inShape.length];          // input axis → index among the kept (non-unit) axes
        int kept = 0;
        for (int i = 0; i < inShape.length; i++) renumber[i] = inShape[i] == 1 ? -1 : kept++;
        if (kept == 0) return new Collapsed(new long[]{1}, new int[]{0});
        int[] order = new int[kept];                       // the kept axes in output order
        int k = 0;
        for (int p : perm) if (renumber[p] >= 0) order[k++] = renumber[p];
        long[] keptDims = new long[kept];
        for (int i = 0; i < inShape.length; i++) if (renumber[i] >= 0) keptDims[renumber[i]] = inShape[i];
        // groups of output-adjacent axes that are consecutive in the input: [first kept axis, last kept axis]
        List<int[]> groups = new ArrayList<>();
        for (int i = 0; i < kept; i++) {
            if (i > 0 && order[i] == order[i - 1] + 1) groups.getLast()[1] = order[i];
            else groups.add(new int[]{order[i], order[i]});
        }
        int m = groups.size();
        // collapsed input axis of a group = its rank by first input axis
        Integer[] byInput = new Integer[m];
        for (int g = 0; g < m; g++) byInput[g] = g;
        Arrays.sort(byInput, (p, q) -> Integer.compare(groups.get(p)[0], groups.get(q)[0]));
        long[] inDims = new long[m];
        int[] collapsedPerm = new int[m];
        for (int r = 0; r < m; r++) {
            int[] g = groups.get(byInput[r]);
            long d = 1;
            for (int a = g[0]; a <= g[1]; a++) d *= keptDims[a];
            inDims[r] = d;
            collapsedPerm[byInput[r]] = r;
        }
        return new Collapsed(inDims, collapsedPerm);
    }

    /** The row copy or batched transpose that performs {@code perm} on a contiguous input of {@code inShape}. */
    public static Plan plan(int[] inShape, int[] perm) {
        Collapsed c = collapse(inShape, perm);
        int m = c.perm().length;
        long[] inStrides = contiguous(c.inDims());
        long[] outDims = new long[m];
        for (int i = 0; i < m; i++) outDims[i] = c.inDims()[c.perm()[i]];
        long[] outStrides = contiguous(outDims);
        if (c.perm()[m - 1] == m - 1) {
            long[] dims = Arrays.copyOf(outDims, m - 1), strides = new long[m - 1];
            long rows = 1;
            for (int i = 0; i < m - 1; i++) {
                strides[i] = inStrides[c.perm()[i]];
                rows *= dims[i];
            }
            return new Rows(rows, outDims[m - 1], dims, strides);
        }
        int axisA = 0;
        while (c.perm()[axisA] != m - 1) axisA++;
        long[] dims = new long[m - 2], in = new long[m - 2], out = new long[m - 2];
        for (int i = 0, k = 0; i < m - 1; i++) {
            if (i == axisA) continue;
            dims[k] = outDims[i];
            in[k] = inStrides[c.perm()[i]];
            out[k++] = outStrides[i];
        }
        return new Transpose(outDims[axisA], outDims[m - 1], inStrides[c.perm()[m - 1]], outStrides[axisA], dims, in, out);
    }

    private static long[] contiguous(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }
}
