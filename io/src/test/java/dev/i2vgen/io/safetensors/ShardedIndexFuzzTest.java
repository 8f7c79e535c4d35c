package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.DType;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Mutated shard index JSON next to two valid shards: opening succeeds, or fails with {@link SafetensorsFormatException}
 * naming the index (the shards are intact), or an IllegalArgumentException whose message names the index; never NPE,
 * ClassCastException or anything else.
 */
class ShardedIndexFuzzTest {
    private static final String VALID = "{\"metadata\": {\"total_size\": 40}, \"weight_map\": "
            + "{\"a.weight\": \"m-00001-of-00002.safetensors\", \"b.weight\": \"m-00002-of-00002.safetensors\"}}";
    /** JSON fragments spliced in place of a value or key: wrong types, hostile paths, control characters. */
    private static final String[] FRAGMENTS = {"null", "1", "-1", "[]", "{}", "true", "\"\"", "\"../x.safetensors\"",
            "\"/etc/passwd\"", "\"\\u0000\"", "\"m-00002-of-00002.safetensors\"", "\"m-00001-of-00002.safetensors\"",
            "\"nope.safetensors\"", "[\"m-00001-of-00002.safetensors\"]", "\"a\\u0000b\"", "\".\"", "\"\\\\\"", "{\"x\": 1}"};

    @Property(tries = 250)
    void mutatedIndexOpensOrFailsNamingTheIndex(@ForAll long seed) throws IOException {
        Random rng = new Random(seed);
        Path dir = Files.createTempDirectory("sharded");
        try {
            new SafetensorsWriter().put("a.weight", SafetensorsTestData.random(rng, DType.F32, 2, 3)).write(dir.resolve("m-00001-of-00002.safetensors"));
            new SafetensorsWriter().put("b.weight", SafetensorsTestData.random(rng, DType.F16, 2)).write(dir.resolve("m-00002-of-00002.safetensors"));
            Path index = dir.resolve("m.safetensors.index.json");
            Files.writeString(index, mutate(VALID, rng), StandardCharsets.UTF_8);
            try (ShardedSafetensors s = ShardedSafetensors.open(index)) {
                for (String name : s.names()) assertNotNull(s.get(name).dtype());
            } catch (SafetensorsFormatException e) {
                assertEquals(index, e.file(), e.getMessage());
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage() != null && e.getMessage().contains(index.toString()), e.toString());
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    private static String mutate(String json, Random rng) {
        StringBuilder sb = new StringBuilder(json);
        int edits = 1 + rng.nextInt(3);
        for (int i = 0; i < edits; i++) {
            switch (rng.nextInt(4)) {
                case 0 -> { // replace a quoted string (a key or a value) by a fragment
                    int q = json.indexOf('"', rng.nextInt(json.length()));
                    if (q < 0) break;
                    int end = sb.indexOf("\"", q + 1);
                    if (end > q && end < sb.length()) sb.replace(q, end + 1, FRAGMENTS[rng.nextInt(FRAGMENTS.length)]);
                }
                case 1 -> sb.deleteCharAt(rng.nextInt(sb.length()));
                case 2 -> sb.insert(rng.nextInt(sb.length() + 1), "{}[]\",:0\\ n".charAt(rng.nextInt(11)));
                default -> sb.setLength(rng.nextInt(sb.length()));
            }
            if (sb.isEmpty()) break;
        }
        return sb.toString();
    }
}
