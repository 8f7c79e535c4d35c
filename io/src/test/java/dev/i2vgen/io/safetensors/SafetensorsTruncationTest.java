package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A mapped file that shrinks under the process is recognised and named (reading it would only say "unsafe memory access"). */
class SafetensorsTruncationTest {
    @TempDir Path dir;

    private Path weights(String name) {
        Path file = dir.resolve(name);
        SafetensorsWriter.write(file, Map.of("w", SafetensorsTestData.random(new Random(1), DType.F32, 256, 64)), Map.of());
        return file;
    }

    @Test
    void aFileTruncatedWhileMappedIsNamedWithBothSizes() throws Exception {
        Path file = weights("model.safetensors");
        long size = Files.size(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.truncation().isEmpty(), "whole file");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) { ch.truncate(100); }
            SafetensorsFormatException e = f.truncation().orElseThrow();
            assertEquals(file, e.file());
            assertEquals("was truncated to 100 bytes while mapped (" + size + " bytes when opened): the file changed under"
                    + " the running process; restore it and run again", e.problem());
            // what the truncation does to a reader of the mapping, which the error above explains
            Tensor w = f.get("w");
            assertThrows(InternalError.class, w::toFloatArray);
        }
    }

    @Test
    void aFileReplacedByRenameOrRemovedKeepsItsMappingAndIsNotBlamed() throws Exception {
        Path file = weights("model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Path smaller = dir.resolve("smaller");
            Files.writeString(smaller, "x");
            Files.move(smaller, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            f.get("w").toFloatArray();   // the old inode is still mapped
            // the path now names a shorter file, but the mapping is intact; only a failure makes callers ask
            assertTrue(f.truncation().isPresent(), "the path is shorter than the mapping");
            Files.delete(file);
            assertTrue(f.truncation().isEmpty(), "a removed file cannot be the one truncated");
        }
    }

    @Test
    void aShardedSourceNamesTheTruncatedShard() throws Exception {
        Path a = weights("a.safetensors"), b = dir.resolve("b.safetensors");
        SafetensorsWriter.write(b, Map.of("v", SafetensorsTestData.random(new Random(2), DType.F32, 128)), Map.of());
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\": {\"w\": \"a.safetensors\", \"v\": \"b.safetensors\"}}");
        try (SafetensorsSource s = SafetensorsSource.open(index)) {
            try (FileChannel ch = FileChannel.open(b, StandardOpenOption.WRITE)) { ch.truncate(10); }
            assertEquals(b, s.truncation().orElseThrow().file());
            assertTrue(Files.size(a) > 0);
        }
    }
}
