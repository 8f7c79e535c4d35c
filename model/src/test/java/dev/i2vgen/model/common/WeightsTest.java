package dev.i2vgen.model.common;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.io.safetensors.SafetensorsWriter;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A weight lookup checks what the model expects: floating-point data, not integers of the same byte size, and the
 * config's shape; the error names the file holding the tensor, the shard of a sharded checkpoint.
 */
class WeightsTest {
    @TempDir Path dir;

    /** A file with F32 weights "a.weight" and "b.weight" [2, 2], then "b.weight" relabelled I32 in the header (same size). */
    private Path withRelabelledTensor() throws IOException {
        Path f = dir.resolve("model.safetensors");
        new SafetensorsWriter().put("a.weight", Tensor.fromFloats(new float[]{1, 2, 3, 4}, 2, 2))
                .put("b.weight", Tensor.fromFloats(new float[]{1, 2, 3, 4}, 2, 2)).write(f);
        byte[] bytes = Files.readAllBytes(f);
        String header = new String(bytes, 8, (int) java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(),
                StandardCharsets.UTF_8);
        int b = header.indexOf("\"b.weight\"");
        int dtype = header.indexOf("\"F32\"", b);
        System.arraycopy("\"I32\"".getBytes(StandardCharsets.UTF_8), 0, bytes, 8 + dtype, 5);
        return Files.write(f, bytes);
    }

    @Test
    void integerDataWhereTheModelExpectsWeightsIsRefused() throws IOException {
        Path f = withRelabelledTensor();
        try (SafetensorsFile file = SafetensorsFile.open(f)) {
            assertEquals(DType.I32, file.entry("b.weight").dtype());
            Weights w = new Weights(file);
            TaskGraph g = new TaskGraph("test", DType.F32);
            w.at("a").get(g, "weight", 2, 2);
            var e = assertThrows(Weights.WeightMismatchException.class, () -> w.at("b").get(g, "weight", 2, 2));
            assertEquals(f + ": tensor 'b.weight' has dtype I32, the model expects floating-point weights (F32, F16, BF16 or F64)", e.getMessage());
        }
    }

    @Test
    void aShardedCheckpointsMismatchNamesTheShardNotTheIndex() throws IOException {
        Path shard2 = withRelabelledTensor();   // holds a.weight (F32) and b.weight (I32)
        Path shard1 = dir.resolve("model-00001-of-00002.safetensors");
        new SafetensorsWriter().put("c.weight", Tensor.fromFloats(new float[]{1, 2, 3}, 3)).write(shard1);
        Path index = Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"c.weight\": \""
                + shard1.getFileName() + "\", \"a.weight\": \"model.safetensors\", \"b.weight\": \"model.safetensors\"}}");
        try (SafetensorsSource source = SafetensorsSource.open(index)) {
            Weights w = new Weights(source);
            TaskGraph g = new TaskGraph("test", DType.F32);
            var dtype = assertThrows(Weights.WeightMismatchException.class, () -> w.at("b").get(g, "weight", 2, 2));
            assertEquals(shard2 + ": tensor 'b.weight' has dtype I32, the model expects floating-point weights (F32, F16, BF16 or F64)",
                    dtype.getMessage());
            var shape = assertThrows(Weights.WeightMismatchException.class, () -> w.at("c").get(g, "weight", 4));
            assertEquals(shard1 + ": tensor 'c.weight' has shape [3], the config expects [4]", shape.getMessage());
            var missing = assertThrows(Weights.MissingWeightException.class, () -> w.at("d").get(g, "weight"));
            assertTrue(missing.getMessage().startsWith(index + ": missing tensor 'd.weight'"), "no shard holds it: " + missing.getMessage());
        }
    }
}
