package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The TMA tensor map (a driver CUtensorMap) of one attention operand for the warp-specialised Hopper kernels
 * (attention_sm90_ws.cu): row {@code r} of sequence {@code b}, head {@code h} starts {@code (b * len + r) * ld + h * 64}
 * elements after {@code base}, seen as the 4-D tensor {64 dims, heads, len rows, batch} (innermost first) so that a box
 * {64, 1, boxRows, 1} is {@code boxRows} rows of one head, and rows past {@code len} read as zeros (never the next
 * sequence's). Shared memory gets the 128-byte swizzle the wgmma descriptors declare (one 64-element fp16/bf16 row is
 * one 128-byte swizzle row).
 *
 * @param base    device address of row 0 of sequence 0, head 0 (16-byte aligned)
 * @param batch   sequences
 * @param len     rows per sequence
 * @param heads   heads per row (64 elements each)
 * @param ld      elements between consecutive rows (a multiple of 8, at least heads * 64)
 * @param boxRows rows per copy (1..256)
 * @param dtype   F16 or BF16
 */
record HeadRowsTensorMap(long base, int batch, int len, int heads, int ld, int boxRows, DType dtype) {
    static final int HEAD_WIDTH = 64;
    /** CUtensorMap: 16 opaque 64-bit words. */
    static final int BYTES = 128;
    private static final int CU_TENSOR_MAP_DATA_TYPE_FLOAT16 = 6, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 = 9;
    private static final int CU_TENSOR_MAP_SWIZZLE_128B = 3, CU_TENSOR_MAP_L2_PROMOTION_L2_128B = 2;

    HeadRowsTensorMap {
        if (dtype != DType.F16 && dtype != DType.BF16) throw new IllegalArgumentException("dtype must be F16 or BF16, not " + dtype);
        if ((base & 15) != 0) throw new IllegalArgumentException("base 0x" + Long.toHexString(base) + " is not 16-byte aligned");
        if (batch < 1 || len < 1 || heads < 1)
            throw new IllegalArgumentException("batch, len and heads must be positive, not " + batch + ", " + len + ", " + heads);
        if (ld % 8 != 0 || ld < heads * HEAD_WIDTH)
            throw new IllegalArgumentException("ld must be a multiple of 8 and at least heads * 64 = " + heads * HEAD_WIDTH + ", not " + ld);
        if (boxRows < 1 || boxRows > 256) throw new IllegalArgumentException("boxRows must be in 1..256, not " + boxRows);
        if (2L * ld * len >= 1L << 40) throw new IllegalArgumentException("a sequence of " + len + " rows of " + ld + " elements is too large for TMA");
    }

    /** Extents, innermost first: {64, heads, len, batch}. */
    long[] dims() { return new long[]{HEAD_WIDTH, heads, len, batch}; }

    /** Byte strides of dimensions 1..3: a head, a row, a sequence. */
    long[] strides() {
        long row = 2L * ld;
        return new long[]{2L * HEAD_WIDTH, row, row * len};
    }

    /** Elements per copy in each dimension: one head's 64 elements of {@code boxRows} rows of one sequence. */
    int[] box() { return new int[]{HEAD_WIDTH, 1, boxRows, 1}; }

    /** The encoded map, {@link #BYTES} bytes in {@code arena}. */
    MemorySegment encode(CudaDriver driver, Arena arena) {
        MemorySegment map = arena.allocate(BYTES, 128);
        driver.encodeTiledTensorMap(map, dtype == DType.F16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, base,
                dims(), strides(), box(), CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
        return map;
    }
}
