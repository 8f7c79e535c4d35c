package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** write → open is exact for random names (any Unicode), every dtype, random shapes including empty dims, and metadata. */
class SafetensorsRoundTripPropertyTest {

    @Property(tries = 150)
    void writeThenReadIsExact(@ForAll("names") java.util.List<String> names, @ForAll long seed) throws IOException {
        Random rng = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String name : names) {
            DType dt = DType.values()[rng.nextInt(DType.values().length)];
            int[] shape = new int[rng.nextInt(5)];
            for (int d = 0; d < shape.length; d++) shape[d] = rng.nextInt(6) == 0 ? 0 : 1 + rng.nextInt(5);
            tensors.put(name, SafetensorsTestData.random(rng, dt, shape));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        if (rng.nextBoolean()) meta.put("format", "pt");
        if (!names.isEmpty() && rng.nextBoolean()) meta.put(names.get(0), names.get(names.size() - 1));
        Path f = Files.createTempFile("roundtrip", ".safetensors");
        try {
            SafetensorsWriter.write(f, tensors, meta);
            try (SafetensorsFile file = SafetensorsFile.open(f)) {
                assertEquals(tensors.keySet(), file.names());
                assertEquals(meta, file.metadata());
                for (var e : tensors.entrySet()) {
                    Tensor back = file.get(e.getKey());
                    assertEquals(e.getValue().dtype(), back.dtype(), e.getKey());
                    assertArrayEquals(e.getValue().shape(), back.shape(), e.getKey());
                    assertArrayEquals(SafetensorsTestData.bytes(e.getValue()), SafetensorsTestData.bytes(back), e.getKey());
                }
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Provide
    Arbitrary<java.util.List<String>> names() {
        Arbitrary<String> anyUnicode = Arbitraries.strings().all().ofMinLength(1).ofMaxLength(12)
                .filter(s -> !s.equals("__metadata__"))
                // Lone surrogates cannot be written as UTF-8 JSON; real tensor names are valid Unicode.
                .filter(s -> s.equals(new String(s.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.UTF_8)));
        Arbitrary<String> dotted = Arbitraries.strings().withCharRange('a', 'z').withChars('.', '_', '0', '9')
                .ofMinLength(1).ofMaxLength(30);
        return Arbitraries.oneOf(anyUnicode, dotted).list().ofMaxSize(6).uniqueElements();
    }
}
