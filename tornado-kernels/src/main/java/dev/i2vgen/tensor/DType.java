package dev.i2vgen.tensor;

/** Element types. Floating types are storage formats; kernels accumulate in F32. */
public enum DType {
    F32(4, true), F16(2, true), BF16(2, true), F64(8, true),
    I64(8, false), I32(4, false), I16(2, false), I8(1, false), U8(1, false), BOOL(1, false);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    public int byteSize() { return byteSize; }

    public boolean isFloating() { return floating; }

    /** The safetensors spelling ("F32", "BF16", ...), which is also {@link #name()}. */
    public String safetensorsName() { return name(); }

    /** Parses a safetensors dtype string; null if unknown (callers name the file and tensor in the error). */
    public static DType fromSafetensors(String s) {
        for (DType d : values()) if (d.name().equals(s)) return d;
        return null;
    }

    /** Parses a user-facing precision name: fp32, fp16, bf16 (also f32/float32/half/bfloat16). */
    public static DType fromPrecision(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "f32", "float32", "float" -> F32;
            case "fp16", "f16", "float16", "half" -> F16;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException("unknown precision '" + s + "': expected fp32, fp16 or bf16");
        };
    }
}
