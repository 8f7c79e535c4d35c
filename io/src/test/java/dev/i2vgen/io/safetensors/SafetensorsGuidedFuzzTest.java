package dev.i2vgen.io.safetensors;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing (Jazzer) of the safetensors reader: whatever the bytes, a file opens with every tensor a
 * view of exactly its bytes, or fails with {@link SafetensorsFormatException} naming the file in one line. Anything
 * else (NullPointerException, an index out of bounds, OutOfMemoryError from a header claiming huge sizes, …) is a
 * finding. Normal test runs replay the seeds below and the files in {@code SafetensorsGuidedFuzzTestInputs/<method>}
 * (past findings); {@code JAZZER_FUZZ=1} fuzzes one target for its {@code maxDuration} ({@code .ci/fuzz}).
 */
class SafetensorsGuidedFuzzTest {
    @TempDir static Path dir;

    /** Valid files written by {@link SafetensorsWriter}: every dtype, scalars, empty tensors, metadata. */
    static Stream<byte[]> validFiles() throws IOException {
        Random rng = new Random(14);
        Stream.Builder<byte[]> seeds = Stream.builder();
        seeds.add(written(new SafetensorsWriter()));
        seeds.add(written(new SafetensorsWriter().put("w", SafetensorsTestData.random(rng, DType.F32, 2, 3)).metadata("format", "pt")));
        SafetensorsWriter all = new SafetensorsWriter();
        for (DType dt : DType.values()) all.put("t." + dt, SafetensorsTestData.random(rng, dt, 2));
        seeds.add(written(all));
        seeds.add(written(new SafetensorsWriter().put("scalar", SafetensorsTestData.random(rng, DType.I64))
                .put("empty", SafetensorsTestData.random(rng, DType.F16, 0, 4)).put("b", SafetensorsTestData.random(rng, DType.BF16, 1, 1, 3))));
        return seeds.build();
    }

    @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"", "\"BF16\"",
            "\"F64\"", "\"I64\"", "\"I32\"", "\"I16\"", "\"I8\"", "\"U8\"", "\"BOOL\"", "2147483647", "4294967296",
            "9223372036854775807", "-1", "null"})
    @MethodSource("validFiles")
    @FuzzTest(maxDuration = "45s")
    void fileOpensOrFailsNamingIt(byte[] bytes) throws IOException {
        Path file = Files.write(dir.resolve("fuzz.safetensors"), bytes);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                SafetensorsFile.Entry e = f.entry(name);
                Tensor t = f.get(name);
                assertEquals(e.end() - e.begin(), t.byteSize(), name);
                if (t.byteSize() > 0) t.contiguousSegment().get(ValueLayout.JAVA_BYTE, t.byteSize() - 1); // inside the mapping
            }
        } catch (SafetensorsFormatException e) {
            assertNamesFileInOneLine(e, file);
        }
    }

    /** Index texts over two real shards: a complete map, a partial one, one with metadata. */
    static Stream<byte[]> shardIndexes() {
        return Stream.of(
                "{\"metadata\":{\"total_size\":24},\"weight_map\":{\"a.w\":\"a.safetensors\",\"b.w\":\"b.safetensors\"}}",
                "{\"weight_map\":{\"b.w\":\"b.safetensors\"}}",
                "{\"weight_map\":{\"a.w\":\"a.safetensors\",\"a.v\":\"a.safetensors\"}}"
        ).map(s -> s.getBytes(StandardCharsets.UTF_8));
    }

    @DictionaryEntries({"\"weight_map\"", "\"metadata\"", "\"a.safetensors\"", "\"b.safetensors\"", "\"a.w\"", "\"b.w\"",
            "\"../\"", "\"/\"", "\"model.safetensors.index.json\"", "null"})
    @MethodSource("shardIndexes")
    @FuzzTest(maxDuration = "45s")
    void shardIndexOpensOrFailsNamingIt(byte[] bytes) throws IOException {
        Path folder = dir.resolve("sharded");
        if (!Files.isDirectory(folder)) {
            Files.createDirectory(folder);
            Random rng = new Random(15);
            new SafetensorsWriter().put("a.w", SafetensorsTestData.random(rng, DType.F32, 2)).write(folder.resolve("a.safetensors"));
            new SafetensorsWriter().put("b.w", SafetensorsTestData.random(rng, DType.F16, 2, 2)).write(folder.resolve("b.safetensors"));
        }
        Path index = Files.write(folder.resolve("model.safetensors.index.json"), bytes);
        try (SafetensorsSource s = SafetensorsSource.open(index)) {
            for (String name : s.names()) assertTrue(s.contains(name) && s.get(name) != null, name);
        } catch (SafetensorsFormatException e) {
            assertTrue(e.file().toAbsolutePath().startsWith(folder.toAbsolutePath()), e.getMessage());
            assertNamesFileInOneLine(e, e.file());
        }
    }

    private static void assertNamesFileInOneLine(SafetensorsFormatException e, Path file) {
        assertTrue(e.getMessage().startsWith(file + ": ") || e.getMessage().startsWith(file + ", tensor '"), e.getMessage());
        assertFalse(e.problem().isBlank(), e.getMessage());
        assertFalse(e.problem().contains("\n"), "one line: " + e.getMessage());
    }

    private static byte[] written(SafetensorsWriter w) throws IOException {
        Path f = Files.createTempFile(dir, "seed", ".safetensors");
        w.write(f);
        byte[] bytes = Files.readAllBytes(f);
        Files.delete(f);
        return bytes;
    }
}
