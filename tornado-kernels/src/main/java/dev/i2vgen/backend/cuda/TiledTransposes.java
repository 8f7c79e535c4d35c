package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.CollapsedPermute;
import dev.i2vgen.backend.TensorLayouts;

import java.util.Map;

/**
 * Host side of layout.cu's batched tiled transpose family (permute_tiled_body): plain permutes, and the transposes that
 * carry a neighbour's arithmetic (a GroupNorm applied as values load, a residual or per-row Add as they store). Each
 * launch uses V values per access, the widest that the extents and pointers allow; where the permute is no batched
 * 2-D transpose with both extents at least 4, the element-wise permute.
 */
final class TiledTransposes {
    private static final int MAX_RANK = 8;         // Permutation / TransposeBatch in layout.cu
    private static final int TILE = 64;            // PT in layout.cu
    private static final int MAX_GRID = 1 << 20;   // permute_tiled strides over its tiles beyond this
    static final int[] TO_NHWC = {0, 2, 3, 1}, TO_NCHW = {0, 3, 1, 2};

    private TiledTransposes() {}

    /** dst = src (of {@code shape}) permuted by {@code perm}, added to the plan; answers dst. */
    static long permute(TaskLowering tl, long src, int[] shape, int[] perm, long dst) {
        Map.Entry<String, CudaExecutionPlan.Step> s = permuteStep(tl, src, shape, perm, dst);
        tl.plan.addStep(s.getKey(), s.getValue());
        return dst;
    }

    /** The permute's launch and step name, not added to the plan (ConvolutionLowering times islands with it). */
    static Map.Entry<String, CudaExecutionPlan.Step> permuteStep(TaskLowering tl, long src, int[] shape, int[] perm, long dst) {
        var tiled = tiledStep(tl, "permute_tiled_", src, shape, perm, dst, a -> {});
        if (tiled != null) return tiled;
        long n = 1;
        for (int d : shape) n *= d;
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[perm[i]];
        KernelLaunch.Args args = tl.args().ptr(src).ptr(dst).i64(n).rankedStruct(MAX_RANK, shape.length, dims, TensorLayouts.permutedStrides(shape, perm));
        return step(tl, "permute", TaskLowering.grid(n), TaskLowering.BLOCK, args);
    }

    /** Whether {@code shape} permuted by {@code perm} is a batched transpose the tiled kernels take (both extents ≥ 4). */
    static boolean tiled(int[] shape, int[] perm) {
        return VectorAccess.enabled() && CollapsedPermute.plan(shape, perm) instanceof CollapsedPermute.Transpose tr && tr.a() >= 4 && tr.b() >= 4;
    }

    /**
     * NHWC {@code src} ([N, H, W, C]) → NCHW {@code dst} with {@code residual} (laid out like dst) added: layout.cu
     * permute_tiled_add (the island's output transpose absorbing the resnet's shortcut Add). Caller checks {@link #tiled}.
     */
    static Map.Entry<String, CudaExecutionPlan.Step> transposeAddStep(TaskLowering tl, long src, int[] nhwcShape, long dst, long residual) {
        return permuteAddStep(tl, src, nhwcShape, TO_NCHW, dst, residual);
    }

    /**
     * NHWC {@code src} → NCHW {@code dst} plus one value of {@code rows} per (image, channel) row, counted from
     * {@code rowBase} (TensorLayouts.RowBroadcast's period and repeat): permute_tiled_add_rows (the island's output
     * transpose absorbing the resnet's time-embedding Add). Caller checks {@link #tiled}.
     */
    static Map.Entry<String, CudaExecutionPlan.Step> transposeAddRowsStep(TaskLowering tl, long src, int[] nhwcShape, long dst,
                                                                         long rows, long rowBase, long period, long repeat) {
        return tiledStep(tl, "permute_tiled_add_rows_", src, nhwcShape, TO_NCHW, dst, a -> a.ptr(rows).i64(rowBase).i64(period).i64(repeat));
    }

    /**
     * GroupNorm(+SiLU) of NCHW {@code x} written NHWC into {@code y}, from per-group (mean, 1/std) {@code stats}
     * (normalization.cu group_norm_statistics): layout.cu group_norm_transposed, the conv island's input transpose
     * and the norm's apply pass in one. Caller checks {@link #tiled}.
     */
    static void groupNormTransposed(TaskLowering tl, long x, int[] shape, int[] perm, int channels, int frames, long y, long stats,
                                    long gamma, long beta, int groups, boolean silu) {
        var s = tiledStep(tl, "group_norm_transposed_", x, shape, perm, y,
                a -> a.ptr(stats).ptr(gamma).ptr(beta).i32(channels / groups).i32(groups).i32(silu ? 1 : 0).i32(frames));
        tl.plan.addStep(s.getKey(), s.getValue());
    }

    /** {@code src} of {@code shape} permuted by {@code perm} into {@code dst} with {@code residual} (laid out like dst) added. */
    static Map.Entry<String, CudaExecutionPlan.Step> permuteAddStep(TaskLowering tl, long src, int[] shape, int[] perm, long dst, long residual) {
        return tiledStep(tl, "permute_tiled_add_", src, shape, perm, dst, a -> a.ptr(residual), residual);
    }

    /**
     * A launch of the batched tiled transpose family {@code prefix}{V} (layout.cu permute_tiled_body: V values per
     * access, the widest that the extents and every pointer in {@code aligned} allow) with {@code extra} arguments
     * after the transpose's own; null when the permute is no such transpose.
     */
    private static Map.Entry<String, CudaExecutionPlan.Step> tiledStep(TaskLowering tl, String prefix, long src, int[] shape, int[] perm,
                                                                       long dst, java.util.function.Consumer<KernelLaunch.Args> extra, long... aligned) {
        if (!tiled(shape, perm)) return null;
        var tr = (CollapsedPermute.Transpose) CollapsedPermute.plan(shape, perm);
        long[] pointers = java.util.Arrays.copyOf(new long[]{src, dst}, 2 + aligned.length);
        System.arraycopy(aligned, 0, pointers, 2, aligned.length);
        int v = VectorAccess.width(tl.act.byteSize(), gcd(tr.a(), tr.b()), pointers);
        long batches = 1;
        for (long d : tr.batchDims()) batches *= d;
        long tiles = batches * VectorAccess.ceilDiv(tr.a(), TILE) * VectorAccess.ceilDiv(tr.b(), TILE);
        KernelLaunch.Args args = tl.args().ptr(src).ptr(dst).i64(tr.a()).i64(tr.b()).i64(tr.inStrideB()).i64(tr.outStrideA())
                .rankedStruct(MAX_RANK, tr.batchDims().length, tr.batchDims(), tr.batchInStrides(), tr.batchOutStrides());
        extra.accept(args);
        return step(tl, prefix + v, (int) Math.min(tiles, MAX_GRID), 256, args);
    }

    private static Map.Entry<String, CudaExecutionPlan.Step> step(TaskLowering tl, String kernel, int grid, int block, KernelLaunch.Args args) {
        KernelLaunch l = KernelLaunch.of(kernel, tl.backend.kernels.function("layout", kernel, tl.act), grid, 1, block, 0, args);
        CudaDriver driver = tl.backend.driver;
        return Map.entry(kernel, stream -> l.run(driver, stream));
    }

    private static long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }
}
