package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.CollapsedPermute;
import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.ops.Permute;

/**
 * The fast permutes of {@code layout.cu}, chosen from {@link CollapsedPermute}'s plan: a row copy when the innermost
 * run stays contiguous (16-byte words where the run allows), else a batched transpose through 64 x 64 shared-memory
 * tiles with up to 16-byte accesses on both sides. Where neither fits (runs under 16 bytes, transposed extents
 * under 4) TaskLowering keeps the element-wise {@code permute} kernel.
 */
final class PermuteLowering {
    private static final int MAX_RANK = 8;       // Permutation / TransposeBatch in layout.cu
    private static final int TILE = 64;          // PT in layout.cu
    private static final int WARPS = 8;          // permute_rows: one warp per (row, segment)
    private static final int SEGMENT_WORDS = 512; // PR_SEG in layout.cu
    private static final int MAX_GRID = 1 << 20; // both kernels stride over their work beyond this

    private PermuteLowering() {}

    /** Lowers {@code p} with a fast kernel reading {@code src} and returns true, or returns false having added nothing. */
    static boolean fast(TaskLowering tl, Task t, Permute p, long src) {
        if (!VectorAccess.enabled()) return false;
        long dst = tl.ptr(t.output());
        int es = tl.act.byteSize();
        switch (CollapsedPermute.plan(t.input(0).shape(), p.perm())) {
            case CollapsedPermute.Rows r when r.length() * es >= 16 -> rows(tl, r, es, src, dst);
            case CollapsedPermute.Transpose tr when tr.a() >= 4 && tr.b() >= 4 -> transpose(tl, tr, es, src, dst);
            default -> { return false; }
        }
        return true;
    }

    private static void rows(TaskLowering tl, CollapsedPermute.Rows r, int es, long src, long dst) {
        long bytes = r.length() * es;
        int word = VectorAccess.width(1, bytes, src, dst);   // 2..16 bytes: es >= 2 and planned buffers are 64-byte aligned
        long words = bytes / word;
        long items = r.rows() * VectorAccess.ceilDiv(words, SEGMENT_WORDS);
        int blocks = (int) Math.min(VectorAccess.ceilDiv(items, WARPS), MAX_GRID);
        tl.launch("layout", "permute_rows_" + word, blocks, 1, 32 * WARPS, 0,
                tl.args().ptr(src).ptr(dst).i64(r.rows()).i64(words)
                        .rankedStruct(MAX_RANK, r.batchDims().length, r.batchDims(), r.batchInStrides()));
    }

    private static void transpose(TaskLowering tl, CollapsedPermute.Transpose tr, int es, long src, long dst) {
        int v = VectorAccess.width(es, gcd(tr.a(), tr.b()), src, dst);
        long batches = 1;
        for (long d : tr.batchDims()) batches *= d;
        long tiles = batches * VectorAccess.ceilDiv(tr.a(), TILE) * VectorAccess.ceilDiv(tr.b(), TILE);
        tl.launch("layout", "permute_tiled_" + v, (int) Math.min(tiles, MAX_GRID), 1, 256, 0,
                tl.args().ptr(src).ptr(dst).i64(tr.a()).i64(tr.b()).i64(tr.inStrideB()).i64(tr.outStrideA())
                        .rankedStruct(MAX_RANK, tr.batchDims().length, tr.batchDims(), tr.batchInStrides(), tr.batchOutStrides()));
    }

    private static long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }
}
