package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.GroupNorm;
import dev.i2vgen.graph.ops.LayerNorm;

/**
 * LayerNorm and GroupNorm launches. LayerNorm: one warp per row with the row in registers (read once), vectors of up
 * to 16 bytes. GroupNorm: always the split statistics + apply pair, the group cut into chunks so that all groups
 * together give about a full wave of blocks, vectors of up to 16 bytes when the channel's extent allows. Where
 * neither applies (odd rows, rows over 64 values per lane, {@code -Di2vgen.cuda.vectorized=false}) the earlier
 * one-block-per-row / per-group kernels run.
 */
final class NormalizationLowering {
    /** NV (vectors per lane) of the layer_norm_v{V}_n{NV} kernels in normalization.cu; only V·NV ≤ 64 exist. */
    static final int[] LAYER_NORM_NV = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16};
    private static final int MAX_VALUES_PER_LANE = 64;
    private static final int ROWS_PER_BLOCK = 8;         // warps of a layer_norm_v block
    private static final int GN_BLOCK = 256;
    private static final int GN_BLOCKS_PER_SM = 8;       // 8 x 256 threads: a full SM, one wave over the GPU
    private static final long GN_MIN_CHUNK_VECTORS = 512; // 2 vectors per thread at least
    private static final int GN_MAX_CHUNKS = 4096;
    /** NV (vectors per thread) of the softmax_v{V}_n{NV} kernels in normalization.cu; only V·NV ≤ 64 exist. */
    static final int[] SOFTMAX_NV = {1, 2, 4, 8, 16};
    private static final int SOFTMAX_BLOCK = 256;        // normalization.cu's SOFTMAX_BLOCK

    private NormalizationLowering() {}

    static void layerNorm(TaskLowering tl, Task t, LayerNorm ln) {
        Value out = t.output();
        long d = out.dim(-1), rows = out.numel() / d;
        long x = tl.operand(t.input(0)), g = tl.operand(t.input(1)), b = tl.operand(t.input(2)), y = tl.ptr(out);
        if (VectorAccess.enabled()) {
            int v = VectorAccess.width(tl.act.byteSize(), d, x, g, b, y);
            int nv = v >= 2 ? vectorsPerLane(d / v, v) : 0;
            long blocks = VectorAccess.ceilDiv(rows, ROWS_PER_BLOCK);
            if (nv > 0 && blocks <= Integer.MAX_VALUE) {
                tl.launch("normalization", "layer_norm_v" + v + "_n" + nv, (int) blocks, 1, 32 * ROWS_PER_BLOCK, 0,
                        tl.args().ptr(x).ptr(g).ptr(b).ptr(y).i64(rows).i32((int) d).f32(ln.eps()));
                return;
            }
        }
        tl.launch("normalization", "layer_norm", (int) rows, 1, TaskLowering.reductionBlock(d), 0,
                tl.args().ptr(x).ptr(g).ptr(b).ptr(y).i64(d).f32(ln.eps()));
    }

    /**
     * y = softmax of each of the {@code rows} rows of {@code d} values of x (y may be x): the row in registers,
     * read once ({@code softmax_v{V}_n{NV}}), where a kernel holds it, with -Di2vgen.cuda.softmaxRows=true (opt-in
     * until it has run on a GPU: notes section 24); else the three-pass {@code softmax}.
     */
    static void softmax(TaskLowering tl, long x, long y, long rows, long d) {
        if (VectorAccess.enabled() && "true".equals(System.getProperty("i2vgen.cuda.softmaxRows")) && rows <= Integer.MAX_VALUE) {
            int v = VectorAccess.width(tl.act.byteSize(), d, x, y);
            int nv = v >= 2 ? softmaxVectorsPerThread(d / v, v) : 0;
            if (nv > 0) {
                tl.launch("normalization", "softmax_v" + v + "_n" + nv, (int) rows, 1, SOFTMAX_BLOCK, 0, tl.args().ptr(x).ptr(y).i32((int) d));
                return;
            }
        }
        if (rows > Integer.MAX_VALUE) throw new IllegalArgumentException("softmax over " + rows + " rows: too many for one grid");
        tl.launch("normalization", "softmax", (int) rows, 1, TaskLowering.reductionBlock(d), 0, tl.args().ptr(x).ptr(y).i64(d));
    }

    /** The smallest NV of {@link #SOFTMAX_NV} whose kernel holds {@code vectors} vectors of {@code v} values per row, or 0. */
    static int softmaxVectorsPerThread(long vectors, int v) {
        for (int nv : SOFTMAX_NV) if (v * nv <= MAX_VALUES_PER_LANE && (long) SOFTMAX_BLOCK * nv >= vectors) return nv;
        return 0;
    }

    /** The smallest NV with a kernel that holds {@code vectors} per row in one warp, or 0. */
    static int vectorsPerLane(long vectors, int v) {
        for (int nv : LAYER_NORM_NV) if (v * nv <= MAX_VALUES_PER_LANE && 32L * nv >= vectors) return nv;
        return 0;
    }

    static void groupNorm(TaskLowering tl, Task t, GroupNorm gn) {
        Value out = t.output();
        int n = out.dim(0), c = out.dim(1), groups = gn.groups();
        long inner = out.numel() / ((long) n * c);
        long len = c / groups * inner;
        int all = n * groups;
        long x = tl.operand(t.input(0)), gamma = tl.operand(t.input(1)), beta = tl.operand(t.input(2)), y = tl.ptr(out);
        if (VectorAccess.enabled()) {
            int v = VectorAccess.width(tl.act.byteSize(), inner, x, y);
            long lenV = len / v;
            long perV = chunkVectors(lenV, all, tl.backend.multiprocessors);
            long chunks = VectorAccess.ceilDiv(lenV, perV);
            if (lenV <= Integer.MAX_VALUE && all * chunks <= Integer.MAX_VALUE) {
                int grid = (int) (all * chunks);
                long partials = tl.scratch.take(all * chunks * 3 * 4);
                tl.launch("normalization", "group_norm_stats_v" + v, grid, 1, GN_BLOCK, 0,
                        tl.args().ptr(x).ptr(partials).i64(len).i64(perV * v).i32((int) chunks));
                tl.launch("normalization", "group_norm_apply_v" + v, grid, 1, GN_BLOCK, 0,
                        tl.args().ptr(x).ptr(gamma).ptr(beta).ptr(y).ptr(partials).i32(c).i32(groups).i64(inner).f32(gn.eps())
                                .i32(gn.silu() ? 1 : 0).i32((int) chunks).i64(perV * v));
                return;
            }
        }
        // enough blocks for the whole GPU (>= 1024), chunks of at least 8,192 elements
        int chunks = (int) Math.max(1, Math.min(Math.min(len / 8192, 256), (1024 + (long) all - 1) / all));
        if (chunks > 1) {
            long partials = tl.scratch.take((long) all * chunks * 3 * 4);
            tl.launch("normalization", "group_norm_partial", all * chunks, 1, 256, 0,
                    tl.args().ptr(x).ptr(partials).i64(len).i32(chunks));
            tl.launch("normalization", "group_norm_apply", all * chunks, 1, 256, 0,
                    tl.args().ptr(x).ptr(gamma).ptr(beta).ptr(y).ptr(partials)
                            .i32(c).i32(groups).i64(inner).f32(gn.eps()).i32(gn.silu() ? 1 : 0).i32(chunks));
        } else {
            tl.launch("normalization", "group_norm", all, 1, TaskLowering.reductionBlock(len), 0,
                    tl.args().ptr(x).ptr(gamma).ptr(beta).ptr(y)
                            .i32(c).i32(groups).i64(inner).f32(gn.eps()).i32(gn.silu() ? 1 : 0));
        }
    }

    /**
     * GroupNorm(+SiLU) of x written permuted by {@code perm} into y, in one pass: the split statistics pass of
     * {@link #groupNorm} (channels on axis 1: NCHW x, the conv islands' and spatial transformers' inputs) or of
     * {@link #groupNormFrames} (axis 2: frame-major [B, F, C, h, w], the temporal transformers' inputs, {@code frames}
     * = F), one warp per group merging its chunks into (mean, 1/std), and the tiled transpose that normalises as it
     * moves the values (layout.cu group_norm_transposed; the caller checked that the permute is one of its
     * transposes with the channels as its output-contiguous axis).
     */
    static void groupNormTransposed(TaskLowering tl, Task t, GroupNorm gn, long x, long y, int[] perm, int frames) {
        Value out = t.output();
        int axis = gn.channelAxis(), images = out.dim(0), c = out.dim(axis), groups = gn.groups(), all = images * groups;
        long inner = out.numel() / ((long) images * frames * c), seg = c / groups * inner;
        int v = VectorAccess.enabled() ? VectorAccess.width(tl.act.byteSize(), inner, x) : 1;
        long segV = seg / v;
        long perV = chunkVectors(segV, all * frames, tl.backend.multiprocessors);
        long cpf = VectorAccess.ceilDiv(segV, perV), chunks = frames * cpf;
        if (segV > Integer.MAX_VALUE || all * chunks > Integer.MAX_VALUE)
            throw new IllegalArgumentException("group norm over " + java.util.Arrays.toString(out.shape()) + " exceeds the kernels' 32-bit block counts");
        long partials = tl.scratch.take(all * chunks * 3 * 4);
        long stats = tl.scratch.take((long) all * 2 * 4);
        if (axis == 1) {
            tl.launch("normalization", "group_norm_stats_v" + v, (int) (all * chunks), 1, GN_BLOCK, 0,
                    tl.args().ptr(x).ptr(partials).i64(seg).i64(perV * v).i32((int) chunks));
        } else {
            tl.launch("normalization", "group_norm_frames_stats_v" + v, (int) (all * chunks), 1, GN_BLOCK, 0,
                    tl.args().ptr(x).ptr(partials).i32(groups).i64(seg).i32(frames).i64((long) c * inner).i64(perV * v).i32((int) cpf));
        }
        tl.launch("normalization", "group_norm_statistics", (int) VectorAccess.ceilDiv(32L * all, GN_BLOCK), 1, GN_BLOCK, 0,
                tl.args().ptr(partials).ptr(stats).i32(all).i32((int) chunks).f32(gn.eps()));
        TiledTransposes.groupNormTransposed(tl, x, out.shape(), perm, c, frames, y, stats, tl.operand(t.input(1)), tl.operand(t.input(2)),
                groups, gn.silu());
    }

    /**
     * GroupNorm(+SiLU) of channels-last x[N, H, W, C] into y (ChannelsLastPlan checked: C a multiple of the 16-byte
     * vector, 256 divisible by C / vector, fewer than 2^31 elements per image): per-chunk group statistics (a thread per
     * channel vector walking pixels), their merge into per-(image, channel) scale and shift, and the apply pass. Chunks:
     * about GN_BLOCKS_PER_SM blocks per SM over all images, at least 4 pixels per thread row.
     */
    static void groupNormChannelsLast(TaskLowering tl, Task t, GroupNorm gn, long x, long y) {
        Value out = t.output();
        int n = out.dim(0), c = out.dim(1), groups = gn.groups(), pixels = out.dim(2) * out.dim(3);
        int vector = VectorAccess.MAX_BYTES / tl.act.byteSize(), rows = GN_BLOCK / (c / vector);
        long wanted = VectorAccess.ceilDiv((long) GN_BLOCKS_PER_SM * tl.backend.multiprocessors, n);
        int chunks = (int) Math.max(1, Math.min(Math.min(wanted, pixels / (4L * rows)), GN_MAX_CHUNKS));
        int per = (int) VectorAccess.ceilDiv(pixels, chunks);
        chunks = (int) VectorAccess.ceilDiv(pixels, per);
        long gamma = tl.operand(t.input(1)), beta = tl.operand(t.input(2));
        long partials = tl.scratch.take((long) n * chunks * groups * 3 * 4);
        long scaleShift = tl.scratch.take(2L * n * c * 4);
        tl.launch("normalization", "group_norm_nhwc_stats", n * chunks, 1, GN_BLOCK, 0,
                tl.args().ptr(x).ptr(partials).i32(pixels).i32(c).i32(groups).i32(per).i32(chunks));
        tl.launch("normalization", "group_norm_nhwc_finalize", (int) VectorAccess.ceilDiv(32L * n * groups, GN_BLOCK), 1, GN_BLOCK, 0,
                tl.args().ptr(partials).ptr(gamma).ptr(beta).ptr(scaleShift).i32(n).i32(c).i32(groups).i32(chunks).f32(gn.eps()));
        tl.launch("normalization", "group_norm_nhwc_apply", TaskLowering.grid(out.numel() / vector), 1, GN_BLOCK, 0,
                tl.args().ptr(x).ptr(scaleShift).ptr(y).i32(n).i32(pixels).i32(c).i32(gn.silu() ? 1 : 0));
    }

    /**
     * Vectors per chunk: as many chunks per group as give all groups together GN_BLOCKS_PER_SM blocks per SM (one
     * full wave, every SM busy to the end), but at least GN_MIN_CHUNK_VECTORS per chunk; the last chunk may be shorter.
     */
    static long chunkVectors(long lenV, int groups, int multiprocessors) {
        long wanted = VectorAccess.ceilDiv((long) GN_BLOCKS_PER_SM * multiprocessors, groups);
        long chunks = Math.max(1, Math.min(Math.min(wanted, lenV / GN_MIN_CHUNK_VECTORS), GN_MAX_CHUNKS));
        return VectorAccess.ceilDiv(lenV, chunks);
    }

    /**
     * GroupNorm with the channels on a later axis ({@link GroupNorm#channelAxis()} ≥ 2: TemporalConvLayer's frame-major
     * [B, F, C, h, w]): normalization.cu group_norm_frames_stats/apply_v{V}, the split pair over a group's F segments
     * (C/G · h · w contiguous values each, at a stride of C · h · w), each cut into chunks so that all segments together
     * give about a full wave of blocks. V = 1 where no vector width fits (or -Di2vgen.cuda.vectorized=false).
     */
    static void groupNormFrames(TaskLowering tl, Task t, GroupNorm gn) {
        Value out = t.output();
        int axis = gn.channelAxis(), images = out.dim(0), c = out.dim(axis), groups = gn.groups();
        long frames = 1;
        for (int i = 1; i < axis; i++) frames *= out.dim(i);
        long inner = out.numel() / ((long) images * frames * c);
        long seg = c / groups * inner, frameStride = (long) c * inner, segments = (long) images * groups * frames;
        long x = tl.operand(t.input(0)), gamma = tl.operand(t.input(1)), beta = tl.operand(t.input(2)), y = tl.ptr(out);
        int v = VectorAccess.enabled() ? VectorAccess.width(tl.act.byteSize(), inner, x, y) : 1;
        long segV = seg / v;
        long perV = chunkVectors(segV, (int) Math.min(segments, Integer.MAX_VALUE), tl.backend.multiprocessors);
        long cpf = VectorAccess.ceilDiv(segV, perV), blocks = segments * cpf;
        if (frames * cpf > Integer.MAX_VALUE || blocks > Integer.MAX_VALUE || segV > Integer.MAX_VALUE)
            throw new IllegalArgumentException("group norm over " + java.util.Arrays.toString(out.shape()) + " exceeds the kernels' 32-bit block counts");
        long partials = tl.scratch.take(blocks * 3 * 4);
        tl.launch("normalization", "group_norm_frames_stats_v" + v, (int) blocks, 1, GN_BLOCK, 0,
                tl.args().ptr(x).ptr(partials).i32(groups).i64(seg).i32((int) frames).i64(frameStride).i64(perV * v).i32((int) cpf));
        tl.launch("normalization", "group_norm_frames_apply_v" + v, (int) blocks, 1, GN_BLOCK, 0,
                tl.args().ptr(x).ptr(gamma).ptr(beta).ptr(y).ptr(partials).i32(groups).i64(inner).i64(seg).i32((int) frames)
                        .i64(frameStride).f32(gn.eps()).i32(gn.silu() ? 1 : 0).i64(perV * v).i32((int) cpf));
    }
}
