package dev.i2vgen.backend.jvm;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Element access to the JVM backend's buffers, which are all F32, little-endian (like safetensors),
 * addressed by element index. Buffers may be unaligned (memory-mapped weights).
 */
public final class F32 {
    private F32() {}

    public static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    public static final int LANES = SPECIES.length();

    public static float get(MemorySegment s, long i) { return s.getAtIndex(LAYOUT, i); }

    public static void set(MemorySegment s, long i, float v) { s.setAtIndex(LAYOUT, i, v); }

    public static FloatVector load(MemorySegment s, long i) { return FloatVector.fromMemorySegment(SPECIES, s, i * 4, ORDER); }

    public static void store(FloatVector v, MemorySegment s, long i) { v.intoMemorySegment(s, i * 4, ORDER); }

    /** Copies {@code n} floats. */
    public static void copy(MemorySegment src, long srcIndex, MemorySegment dst, long dstIndex, long n) {
        MemorySegment.copy(src, srcIndex * 4, dst, dstIndex * 4, n * 4);
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }
}
