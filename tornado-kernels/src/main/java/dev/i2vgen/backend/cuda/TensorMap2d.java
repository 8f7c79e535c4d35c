package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

/**
 * What a 2-D TMA descriptor describes ({@link CudaDriver#tensorMap}): a row-major matrix of {@code rows} rows of
 * {@code cols} 16-bit elements, {@code rowBytes} apart, at device address {@code address}, loaded in boxes of
 * {@code boxCols} × {@code boxRows} elements with the 128-byte swizzle. The compact constructor applies the driver's
 * rules for cuTensorMapEncodeTiled (CUDA driver API, "Tensor Map Object Management"), so a bad shape is an exception
 * naming the rule here, not CUDA_ERROR_INVALID_VALUE from the driver. Enum values are those of cuda.h.
 */
record TensorMap2d(int dataType, long address, long cols, long rows, long rowBytes, int boxCols, int boxRows) {
    static final int DESCRIPTOR_BYTES = 128;
    static final int DATA_TYPE_FLOAT16 = 6, DATA_TYPE_BFLOAT16 = 9;   // CUtensorMapDataType
    static final int SWIZZLE_128B = 3;                                // CUtensorMapSwizzle
    static final int L2_PROMOTION_256B = 3;                           // CUtensorMapL2promotion
    private static final int ELEMENT_BYTES = 2, SWIZZLE_SPAN = 128;

    TensorMap2d {
        if (dataType != DATA_TYPE_FLOAT16 && dataType != DATA_TYPE_BFLOAT16) throw new IllegalArgumentException("TMA data type " + dataType + ": fp16 or bf16 only");
        if (address == 0 || address % 16 != 0) throw new IllegalArgumentException("TMA base address 0x" + Long.toHexString(address) + " is not 16-byte aligned");
        if (cols < 1 || rows < 1 || cols > 1L << 32 || rows > 1L << 32) throw new IllegalArgumentException("TMA extents " + cols + " x " + rows + " must be in 1 .. 2^32");
        if (rowBytes % 16 != 0 || rowBytes < cols * ELEMENT_BYTES || rowBytes >= 1L << 40)
            throw new IllegalArgumentException("TMA row stride " + rowBytes + " bytes must be a multiple of 16, hold a row of " + cols + " elements and be under 2^40");
        if (boxCols < 1 || boxRows < 1 || boxCols > 256 || boxRows > 256) throw new IllegalArgumentException("TMA box " + boxCols + " x " + boxRows + " must be in 1 .. 256");
        if ((boxCols * ELEMENT_BYTES) % 16 != 0 || boxCols * ELEMENT_BYTES > SWIZZLE_SPAN)
            throw new IllegalArgumentException("TMA box rows of " + boxCols * ELEMENT_BYTES + " bytes must be a multiple of 16 and at most the 128-byte swizzle span");
    }

    /** The descriptor of {@code rows} × {@code cols} values of {@code type} (fp16 or bf16) stored densely at {@code address}. */
    static TensorMap2d dense(DType type, long address, long cols, long rows, int boxCols, int boxRows) {
        int code = switch (type) {
            case F16 -> DATA_TYPE_FLOAT16;
            case BF16 -> DATA_TYPE_BFLOAT16;
            default -> throw new IllegalArgumentException("TMA loads here are fp16 or bf16, not " + type);
        };
        return new TensorMap2d(code, address, cols, rows, cols * ELEMENT_BYTES, boxCols, boxRows);
    }

    /** Bytes one box delivers to shared memory (the transaction count the kernel expects). */
    int boxBytes() { return boxCols * boxRows * ELEMENT_BYTES; }

    @Override
    public String toString() {
        return (dataType == DATA_TYPE_FLOAT16 ? "f16" : "bf16") + " " + rows + " x " + cols + " at 0x" + Long.toHexString(address)
                + ", rows " + rowBytes + " B apart, box " + boxRows + " x " + boxCols;
    }
}
