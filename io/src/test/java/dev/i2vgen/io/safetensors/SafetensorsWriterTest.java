package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsWriterTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsEveryDtypeWithMetadata() {
        Random rng = new Random(42);
        Map<String, Tensor> in = new LinkedHashMap<>();
        // Odd sizes so that a wrong alignment/ordering rule would show up in the offsets.
        in.put("f32", SafetensorsTestData.random(rng, DType.F32, 3, 5));
        in.put("f16", SafetensorsTestData.random(rng, DType.F16, 7));
        in.put("bf16", SafetensorsTestData.random(rng, DType.BF16, 2, 3, 1));
        in.put("i64", SafetensorsTestData.random(rng, DType.I64, 5));
        in.put("i32", SafetensorsTestData.random(rng, DType.I32, 1, 3));
        in.put("u8", SafetensorsTestData.random(rng, DType.U8, 9));
        in.put("bool", SafetensorsTestData.random(rng, DType.BOOL, 3, 3));
        in.put("scalar", SafetensorsTestData.random(rng, DType.F32));
        in.put("empty", Tensor.allocate(DType.F16, 0, 4));
        Map<String, String> meta = Map.of("format", "pt", "note", "ünïcode ✓");
        Path file = tmp.resolve("all.safetensors");
        SafetensorsWriter.write(file, in, meta);

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(in.keySet(), f.names());
            assertEquals(meta, f.metadata());
            for (var e : in.entrySet()) {
                Tensor got = f.get(e.getKey());
                assertEquals(e.getValue().dtype(), got.dtype(), e.getKey());
                assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                assertArrayEquals(SafetensorsTestData.bytes(e.getValue()), SafetensorsTestData.bytes(got), e.getKey());
                // Every tensor starts aligned to its element size (data section is 8-aligned).
                assertEquals(0, f.entry(e.getKey()).begin() % e.getValue().dtype().byteSize(), e.getKey());
            }
        }
    }

    @Test
    void headerIsPaddedWithSpacesToEightBytes() throws IOException {
        Random rng = new Random(1);
        for (int nameLen = 1; nameLen <= 9; nameLen++) {
            Path file = tmp.resolve("pad" + nameLen + ".safetensors");
            new SafetensorsWriter().put("x".repeat(nameLen), SafetensorsTestData.random(rng, DType.U8, 3)).write(file);
            byte[] all = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, n % 8, "header length " + n);
            String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.startsWith("{"), header);
            String json = header.stripTrailing();
            assertTrue(json.endsWith("}"), header);
            String padding = header.substring(json.length());
            assertTrue(padding.length() < 8 && padding.chars().allMatch(c -> c == ' '), "padding '" + padding + "'");
            assertEquals(8 + n + 3, all.length);
        }
    }

    @Test
    void writesStridedViewsInLogicalOrderExactly() {
        Random rng = new Random(7);
        Tensor base = SafetensorsTestData.random(rng, DType.I64, 3, 4);
        Tensor transposed = base.permute(1, 0);
        Tensor sliced = SafetensorsTestData.random(rng, DType.F32, 5, 6).slice(1, 2, 5);
        Path file = tmp.resolve("views.safetensors");
        new SafetensorsWriter().put("t", transposed).put("s", sliced).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor t = f.get("t");
            assertArrayEquals(new int[]{4, 3}, t.shape());
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 3; j++) {
                    long expected = base.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, (j * 4L + i) * 8);
                    long got = t.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, (i * 3L + j) * 8);
                    assertEquals(expected, got, "[" + i + "," + j + "]");
                }
            }
            float[] s = f.get("s").toFloatArray();
            float[] e = sliced.toFloatArray();
            assertArrayEquals(e, s);
        }
    }

    @Test
    void replacesAtomicallyAndLeavesNoTempFiles() throws IOException {
        Random rng = new Random(3);
        Path file = tmp.resolve("w.safetensors");
        new SafetensorsWriter().put("a", SafetensorsTestData.random(rng, DType.F32, 4)).write(file);
        Tensor second = SafetensorsTestData.random(rng, DType.F32, 2);
        new SafetensorsWriter().put("b", second).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(java.util.Set.of("b"), f.names());
            assertArrayEquals(second.toFloatArray(), f.get("b").toFloatArray());
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(file), s.toList());
        }
    }

    @Test
    void rejectsBadNames() {
        Tensor t = Tensor.fromFloats(new float[]{1, 2}, 2);
        var w = new SafetensorsWriter().put("a", t);
        assertThrows(IllegalArgumentException.class, () -> w.put("a", t));
        assertThrows(IllegalArgumentException.class, () -> w.put("__metadata__", t));
        assertThrows(IllegalArgumentException.class, () -> w.put("", t));
    }

    @Test
    void tensorsAreZeroCopySlicesOfTheMapping() {
        Random rng = new Random(11);
        Path file = tmp.resolve("zc.safetensors");
        new SafetensorsWriter().put("a", SafetensorsTestData.random(rng, DType.F32, 16))
                .put("b", SafetensorsTestData.random(rng, DType.F32, 8)).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor a = f.get("a"), b = f.get("b");
            assertTrue(a.segment().isMapped(), "tensor segment should be a slice of the file mapping");
            assertTrue(b.segment().isMapped());
            // Same mapping: the distance between the segments equals the distance of their offsets.
            assertEquals(f.entry("b").begin() - f.entry("a").begin(), b.segment().address() - a.segment().address());
            // And the bytes are the file's bytes at 8 + header + begin.
            assertEquals(64, a.segment().byteSize());
            assertFalse(Arrays.equals(new byte[64], SafetensorsTestData.bytes(a)));
        }
    }
}
