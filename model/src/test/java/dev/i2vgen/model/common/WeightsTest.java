package dev.i2vgen.model.common;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.io.safetensors.SafetensorsFile;
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

/** A weight lookup checks what the model expects: floating-point data, not integers of the same byte size. */
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
            var e = assertThrows(IllegalArgumentException.class, () -> w.at("b").get(g, "weight", 2, 2));
            assertEquals(f + ": tensor 'b.weight' has dtype I32, the model expects floating-point weights (F32, F16, BF16 or F64)", e.getMessage());
        }
    }
}
