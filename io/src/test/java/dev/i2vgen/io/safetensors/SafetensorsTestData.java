package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Random tensors and hand-made safetensors bytes for the tests. */
final class SafetensorsTestData {
    private SafetensorsTestData() {}

    /** A tensor of {@code dtype} filled with random bytes (BOOL: random 0/1), so every bit pattern is exercised. */
    static Tensor random(Random rng, DType dtype, int... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        MemorySegment s = t.contiguousSegment();
        for (long i = 0; i < s.byteSize(); i++) {
            byte b = dtype == DType.BOOL ? (byte) rng.nextInt(2) : (byte) rng.nextInt(256);
            s.set(ValueLayout.JAVA_BYTE, i, b);
        }
        return t;
    }

    static byte[] bytes(Tensor t) {
        return t.contiguous().contiguousSegment().toArray(ValueLayout.JAVA_BYTE);
    }

    /** Writes {@code <len><header JSON><data>} with the header length given explicitly (may lie). */
    static Path rawFile(Path file, long declaredHeaderLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLength).put(h);
        Files.write(file, b.array());
        return file;
    }

    /** A well-formed file: the header length is the real one. */
    static Path rawFile(Path file, String header, int dataBytes) throws IOException {
        return rawFile(file, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }
}
