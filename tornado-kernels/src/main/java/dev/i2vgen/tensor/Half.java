package dev.i2vgen.tensor;

/** Conversions between float and the 16-bit storage formats (round to nearest even). */
public final class Half {
    private Half() {}

    public static float f16ToFloat(short bits) { return Float.float16ToFloat(bits); }

    public static short floatToF16(float f) { return Float.floatToFloat16(f); }

    public static float bf16ToFloat(short bits) { return Float.intBitsToFloat((bits & 0xffff) << 16); }

    public static short floatToBf16(float f) {
        int b = Float.floatToRawIntBits(f);
        if ((b & 0x7fffffff) > 0x7f800000) return (short) ((b >>> 16) | 0x40); // keep NaN a (quiet) NaN
        int rounding = 0x7fff + ((b >>> 16) & 1);
        return (short) ((b + rounding) >>> 16);
    }
}
