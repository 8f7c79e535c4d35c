package dev.i2vgen.io.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ShardedSafetensorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final Map<String, Tensor> all = new LinkedHashMap<>();
    private final Map<String, String> weightMap = new LinkedHashMap<>();

    @BeforeEach
    void twoShards() {
        Random rng = new Random(2024);
        Map<String, Tensor> first = Map.of(
                "conv_in.weight", SafetensorsTestData.random(rng, DType.F32, 4, 3, 3, 3),
                "conv_in.bias", SafetensorsTestData.random(rng, DType.F32, 4));
        Map<String, Tensor> second = Map.of(
                "conv_out.weight", SafetensorsTestData.random(rng, DType.F16, 3, 4, 3, 3),
                "steps", SafetensorsTestData.random(rng, DType.I64, 2));
        SafetensorsWriter.write(tmp.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
        SafetensorsWriter.write(tmp.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        first.forEach((k, v) -> { all.put(k, v); weightMap.put(k, "model-00001-of-00002.safetensors"); });
        second.forEach((k, v) -> { all.put(k, v); weightMap.put(k, "model-00002-of-00002.safetensors"); });
    }

    private Path index(Map<String, String> map) throws IOException {
        Path p = tmp.resolve("model.safetensors.index.json");
        JSON.writeValue(p.toFile(), Map.of("metadata", Map.of("total_size", 1234), "weight_map", map));
        return p;
    }

    @Test
    void readsEveryTensorFromItsShard() throws IOException {
        Path idx = index(weightMap);
        try (SafetensorsSource s = SafetensorsSource.open(idx)) {
            ShardedSafetensors sharded = assertInstanceOf(ShardedSafetensors.class, s);
            assertEquals(all.keySet(), s.names());
            assertEquals(2, s.files().size());
            assertEquals("1234", s.metadata().get("total_size"));
            for (var e : all.entrySet()) {
                assertTrue(s.contains(e.getKey()));
                Tensor got = s.get(e.getKey());
                assertEquals(e.getValue().dtype(), got.dtype());
                assertArrayEquals(SafetensorsTestData.bytes(e.getValue()), SafetensorsTestData.bytes(got), e.getKey());
                assertEquals(tmp.resolve(weightMap.get(e.getKey())), sharded.shardOf(e.getKey()).path().toAbsolutePath());
                // an error about the tensor names the shard holding it, not the index
                assertEquals(sharded.shardOf(e.getKey()).path().toString(), s.description(e.getKey()));
            }
            assertEquals(idx.toString(), s.description("nope"), "a tensor no shard holds: the index");
            var missing = assertThrows(SafetensorsFormatException.class, () -> s.get("nope"));
            assertTrue(missing.getMessage().contains(idx.toString()) && missing.getMessage().contains("'nope'"), missing.getMessage());
        }
    }

    @Test
    void singleFileOpensAsSafetensorsFile() {
        try (SafetensorsSource s = SafetensorsSource.open(tmp.resolve("model-00001-of-00002.safetensors"))) {
            assertInstanceOf(SafetensorsFile.class, s);
            assertEquals(List.of(tmp.resolve("model-00001-of-00002.safetensors")), s.files());
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Files.delete(tmp.resolve("model-00002-of-00002.safetensors"));
        Path idx = index(weightMap);
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsSource.open(idx));
        assertTrue(e.getMessage().contains(idx.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void tensorMappedToAShardThatLacksIt() throws IOException {
        Map<String, String> wrong = new LinkedHashMap<>(weightMap);
        wrong.put("conv_out.weight", "model-00001-of-00002.safetensors");
        Path idx = index(wrong);
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsSource.open(idx));
        assertEquals("conv_out.weight", e.tensor());
        assertTrue(e.getMessage().contains(idx.toString()) && e.getMessage().contains("model-00001-of-00002.safetensors"), e.getMessage());
    }

    @Test
    void malformedIndexes() throws IOException {
        Path noMap = tmp.resolve("a.safetensors.index.json");
        Files.writeString(noMap, "{\"metadata\": {}}");
        var e1 = assertThrows(SafetensorsFormatException.class, () -> SafetensorsSource.open(noMap));
        assertTrue(e1.getMessage().contains(noMap.toString()) && e1.getMessage().contains("weight_map"), e1.getMessage());

        Path notJson = tmp.resolve("b.safetensors.index.json");
        Files.writeString(notJson, "{\"weight_map\": ");
        var e2 = assertThrows(SafetensorsFormatException.class, () -> SafetensorsSource.open(notJson));
        assertTrue(e2.getMessage().contains(notJson.toString()), e2.getMessage());

        Path escaping = index(Map.of("x", "../outside.safetensors"));
        var e3 = assertThrows(SafetensorsFormatException.class, () -> SafetensorsSource.open(escaping));
        assertTrue(e3.getMessage().contains("outside the index folder"), e3.getMessage());
    }
}
